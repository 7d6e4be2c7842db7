"""compkit.report and the notebooks under papermill: the yearly review for another year and population, a
failing cell named with its notebook, and the explorer with another policy file."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import papermill as pm
import pytest
from conftest import BANK_2025 as POLICY_2025  # the sample's policies: the reviews run on a generated sample
from conftest import BANK_2026 as POLICY_2026
from conftest import ROOT

from compkit import report
from compkit.cli import main
from compkit.fingerprint import path_sha256
from compkit.privacy import scan_for_identifiers
from compkit.report import ReportError, run_review


@pytest.fixture(scope="module")
def small_2024(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("s2024") / "data"
    assert main(["sample", "--managers", "300", "--year", "2024", "--seed", "7", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def review_2024(small_2024: Path, tmp_path_factory) -> Path:
    """The review of the 2024 sample (50 scenarios, seed 3): its report folder."""
    out = tmp_path_factory.mktemp("review") / "reports" / "2024"
    here = os.getcwd()
    index = run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out,
                       scenarios=50, seed=3, progress=False)
    assert index == out / "index.html"
    assert os.getcwd() == here  # the notebooks run side by side in their folder; this process stays where it was
    return out


def test_review_for_another_year_and_population(small_2024: Path, review_2024: Path) -> None:
    out, index = review_2024, review_2024 / "index.html"
    for name in ("calibration", "fairness", "policy_review"):
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        assert "Traceback" not in page
        assert "data:image/png" in page  # figures render
        assert "import pandas" not in page  # no code cells
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and manifest["year"] == "2024"
    assert manifest["parameters"]["scenarios"] == 50
    # the data's sha256, worked out on a second thread while the review wrote its copy and evaluated
    assert manifest["inputs"]["data_sha256"] == path_sha256(small_2024)
    assert [n["name"] for n in manifest["notebooks"]] == ["calibration", "fairness", "policy_review"]
    # in the policy's language (zh-CN): the index, the headings and the executive summary
    assert "2024年度考核与薪酬政策评审" in index.read_text(encoding="utf-8")
    review_page = (out / "policy_review.html").read_text(encoding="utf-8")
    for shown in ("摘要", "一、成本与预算（按组成部分）", "目录", "万元"):
        assert shown in review_page, shown
    assert (out / "calibrated_policy.yaml").exists()
    # confidentiality: no raw employee id, no name, no supervisor id and no per-person table anywhere in the
    # report folder (HTML, notebooks, CSV, JSON) (issue 16, row 2)
    employees = pd.read_csv(small_2024 / "employees.csv")
    assert scan_for_identifiers(out, employees["employee_id"], employees["name"],
                                supervisor_ids=employees["supervisor_id"], head_count=len(employees)) == []
    assert not (out / "candidate_changes_by_person.csv").exists() and not (out / "calibrated_scores.csv").exists()
    groups = pd.read_csv(out / "candidate_changes_by_group.csv")
    assert (groups["n"] > 0).all() and groups.loc[groups["n"] < 5, "median_change"].isna().all()
    assert len(pd.read_csv(out / "calibrated_scores_by_region.csv")) < len(employees) / 5


def test_review_with_its_monte_carlo_on_a_dask_cluster(small_2024: Path, review_2024: Path, tmp_path: Path) -> None:
    """--scheduler: the policy review's scenarios run on a Dask cluster (here a LocalCluster of one worker
    process, reached by its TCP address from the notebook's kernel): the same report, figure for figure."""
    distributed = pytest.importorskip("dask.distributed")
    out = tmp_path / "reports" / "2024"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        assert report.reach_scheduler(cluster.scheduler_address) == 1
        run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out, scenarios=50,
                   seed=3, progress=False, scheduler=cluster.scheduler_address)
        # the scenarios ran there: the scheduler (in this process) saw the batches as tasks
        ran = cluster.scheduler.task_prefixes.get("simulate_batch")
        assert ran is not None and sum(ran.state_counts.values()) > 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["scheduler"].startswith("tcp://127.0.0.1:")
    review_nb = next(n for n in manifest["notebooks"] if n["name"] == "policy_review")
    assert review_nb["parameters"]["scheduler"] == manifest["parameters"]["scheduler"]
    # byte for byte, figures included, but for the id papermill gives the cell it injects (random in every run)
    injected = re.compile(r'(celltag_injected-parameters" id="cell-id=)[0-9a-f]+')
    pages = [injected.sub(r"\1", (folder / "policy_review.html").read_text(encoding="utf-8"))
             for folder in (out, review_2024)]
    assert pages[0] == pages[1]


def test_review_refuses_a_scheduler_it_cannot_reach_before_writing(small_2024: Path, tmp_path: Path,
                                                                   monkeypatch, capsys) -> None:
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(report, "SCHEDULER_TIMEOUT", 2.0)
    out = tmp_path / "out"
    code = main(["review", "--year", "2024", "--policy", str(POLICY_2025), "--candidate", str(POLICY_2026),
                 "--data", str(small_2024), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9", "--lang", "en"])
    assert code == 1 and not out.exists() and [p.name for p in tmp_path.iterdir()] == []
    assert "could not reach the Dask scheduler at tcp://127.0.0.1:9 within 2 s" in capsys.readouterr().err


def test_review_with_a_private_folder_and_a_key(small_2024: Path, tmp_path: Path, monkeypatch) -> None:
    """Per-person tables go to --private only; supervisors appear under keyed pseudonyms."""
    from compkit.privacy import pseudonyms

    key = "test-key-0123456789abcdef"
    monkeypatch.setenv("COMPKIT_PSEUDONYM_KEY", key)
    out, private = tmp_path / "reports" / "2024", tmp_path / "private" / "review-2024"
    run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out, scenarios=20,
               progress=False, private=private)
    employees = pd.read_csv(small_2024 / "employees.csv")
    per = pd.read_csv(private / "candidate_changes_by_person.csv")
    assert len(per) == len(employees) and set(per["employee_id"]) == set(employees["employee_id"])
    assert (private / "calibrated_scores.csv").exists()
    assert scan_for_identifiers(out, employees["employee_id"], employees["name"],
                                supervisor_ids=employees["supervisor_id"], head_count=len(employees)) == []
    page = (out / "calibration.html").read_text(encoding="utf-8")
    codes = pseudonyms(sorted(employees["supervisor_id"].unique()), key.encode(), scope="supervisor 2024")
    assert any(c in page for c in codes)
    with pytest.raises(Exception, match="never under reports/"):
        run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out, scenarios=20,
                   progress=False, private=tmp_path / "Reports" / "p")


def test_review_refuses_to_publish_personal_data(small_2024: Path, tmp_path: Path, monkeypatch) -> None:
    """If a notebook writes a per-person table next to the report, the review publishes nothing."""
    original = report.execute

    def leaky(name, parameters, folder, progress=True, lang=None, **kw):  # noqa: ANN001 - km= of a started kernel
        run = original(name, parameters, folder, progress, lang=lang, **kw)
        if name == "policy_review":
            pd.read_csv(small_2024 / "employees.csv")[["branch", "grade"]].to_csv(folder / "leak.csv", index=False)
        return run

    monkeypatch.setattr(report, "execute", leaky)
    out = tmp_path / "r"
    with pytest.raises(ReportError, match=r"would publish personal data.*leak.csv: per-person table 300 rows"):
        run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out, scenarios=20,
                   progress=False)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == []


def test_failing_cell_is_named_and_kept(small_2024: Path, tmp_path: Path, monkeypatch) -> None:
    original = report._parameters_for

    def broken(name, p):
        params = original(name, p)
        if name == "fairness":
            params["group"] = "no_such_column"
        return params

    monkeypatch.setattr(report, "_parameters_for", broken)
    out = tmp_path / "r"
    with pytest.raises(ReportError, match=r"notebook fairness.ipynb failed at cell \d+ .*no_such_column"):
        run_review(year=2024, policy=POLICY_2025, candidate=POLICY_2026, data=small_2024, out=out, scenarios=20,
                   progress=False)
    assert not out.exists()  # nothing half-done where the report goes
    failed = tmp_path / "r.failed"
    assert (failed / "fairness.ipynb").exists() and (failed / "fairness.html").exists()
    manifest = json.loads((failed / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert [n["name"] for n in manifest["notebooks"]] == ["calibration"]  # the one before it (run beside it)


def test_review_refuses_bad_inputs_before_writing(tmp_path: Path, small_2024: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: x\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(["review", "--year", "2024", "--policy", str(bad), "--candidate", str(POLICY_2026),
                 "--data", str(small_2024), "--out", str(out)])
    assert code == 1 and not out.exists()
    assert "缺少必填的键" in capsys.readouterr().err  # the policy names no language: Chinese, the default


def test_explorer_runs_with_another_policy_file(small_2024: Path, tmp_path: Path) -> None:
    saved = tmp_path / "explored.yaml"
    pm.execute_notebook(str(ROOT / "notebooks" / "explore_incentives.ipynb"), str(tmp_path / "explore.ipynb"),
                        parameters={"policy_path": str(POLICY_2026), "data_path": str(small_2024),
                                    "changes": {"funds: rate": 0.004, "cap: times annual base": 2.0},
                                    "save_as": str(saved)},
                        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
                        execution_timeout=600)  # a cell whose reply never comes fails the test instead of hanging it
    from compkit.policy import load_policy

    design = load_policy(saved)
    assert design.commission.product("funds").rate == 0.004
    assert design.commission.cap.times_annual_base == 2.0


def test_explorer_controls_drive_the_design(small_2024: Path, tmp_path: Path) -> None:
    """Moving a slider in the kernel re-evaluates (the observer runs) and the design follows the control."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(ROOT / "notebooks" / "explore_incentives.ipynb"), as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source += f"\npolicy_path = {str(POLICY_2025)!r}\ndata_path = {str(small_2024)!r}\n"
    nb.cells.append(nbformat.v4.new_code_cell(
        'controls.sliders["cap: times annual base"].value = 2.5\n'
        'controls.sliders["funds: rate"].value = 0.004\n'
        'd = controls.current()\n'
        'print(d.commission.cap.times_annual_base, d.commission.product("funds").rate)\n'
        'print(explorer.readout(policy, d, data, base_outcomes=base_outcomes).text.split(".")[0])'))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "2.5 0.004" in text
    assert "项设置" in text  # the readout in the policy's language (Chinese): 改动了 2 项设置。


def test_each_policy_is_kept_once_as_evaluated(small_2024: Path, tmp_path: Path) -> None:
    """report._keep_outcomes evaluates the policies one after the other in the review's process and keeps each
    policy's outcomes, table for table equal to an evaluation; a policy that cannot be evaluated is not kept (its
    notebook evaluates it and names the failing cell)."""
    import secrets

    from compkit import outcome_store
    from compkit.data import load_dataset
    from compkit.engine import evaluate
    from compkit.policy import load_policy

    base, candidate = load_policy(POLICY_2025), load_policy(POLICY_2026)
    data = load_dataset(small_2024, policy=base)
    copy = tmp_path / "copy"
    data.to_private_copy(copy, base, secrets.token_bytes(32))
    broken = base.updated({"version": "broken"})
    object.__setattr__(broken, "bonus", None)  # evaluate fails on it
    # the copy waited for before the outcomes are keyed by it; the last policy's outcomes written later
    waited: list[str] = []
    writing = report._keep_outcomes(str(tmp_path / "kept"), data, str(copy), (base, broken, candidate),
                                    copied=lambda: waited.append("copy"), last_later=True)
    assert waited == ["copy"] and writing is not None
    writing()
    key = outcome_store.data_key(copy)
    for policy in (base, candidate):
        kept = outcome_store.kept(tmp_path / "kept", policy, key)
        assert kept is not None
        fresh = evaluate(policy, data)
        for name in ("summary", "commission", "indicators", "net"):
            pd.testing.assert_frame_equal(getattr(kept, name), getattr(fresh, name))
    assert outcome_store.kept(tmp_path / "kept", broken, key) is None
    # the first policy's illustration of a wage bill (the policy review's), its summary and allocation only
    from compkit.review import WAGE_BILL_TABLES, wage_bill_illustration

    shown = wage_bill_illustration(base, evaluate(base, data))
    kept = outcome_store.kept(tmp_path / "kept", shown, key, WAGE_BILL_TABLES)
    assert kept is not None and outcome_store.kept(tmp_path / "kept", shown, key) is None
    fresh = evaluate(shown, data)
    for name in WAGE_BILL_TABLES:
        pd.testing.assert_frame_equal(getattr(kept, name), getattr(fresh, name), check_exact=True)
    # and its appeals (the policy review's), without the corrected data and evaluations
    from compkit.appeals import review_appeals

    got = outcome_store.kept_result(tmp_path / "kept", report.APPEALS, base, copy)
    expected = review_appeals(base, data)
    assert got.before is None and got.after is None and got.corrected is None and len(expected.corrections)
    assert got.info == expected.info
    for name in ("register", "corrections", "diff"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), check_exact=True)
    # and the first policy's costs at its budget bracket's ends, for the calibration notebook's solve
    from compkit.calibration import bracket_policies, employer_cost

    assert outcome_store.kept_costs(tmp_path / "kept", copy) == {
        p.fingerprint(): employer_cost(p, data) for p in bracket_policies(base)}


def test_the_candidates_sensitivity_is_kept_from_its_own_stages(small_2024: Path, tmp_path: Path) -> None:
    """report._keep_outcomes(sensitivity_lang=...): the last policy (the policy review's candidate) evaluated keeping
    its stages, its outcomes written (not left for later), then its sensitivity worked out from those stages and
    kept under report.sensitivity_result(lang): the notebook's table, cost for cost, as review.sensitivity works
    it out on its own (every setting then evaluated apart from the first's kept stages)."""
    import secrets

    from compkit import outcome_store, review
    from compkit.data import load_dataset
    from compkit.engine import evaluate
    from compkit.policy import load_policy

    base, candidate = load_policy(POLICY_2025), load_policy(POLICY_2026)
    data = load_dataset(small_2024, policy=base)
    copy = tmp_path / "copy"
    data.to_private_copy(copy, base, secrets.token_bytes(32))
    writing = report._keep_outcomes(str(tmp_path / "kept"), data, str(copy), (base, candidate), last_later=True,
                                    sensitivity_lang="en", tables=(None, review.CANDIDATE_TABLES))
    assert writing is None  # written before the sensitivity
    # the candidate's tables the policy review reads, and only those, as evaluated
    key = outcome_store.data_key(copy)
    assert outcome_store.kept(tmp_path / "kept", candidate, key) is None
    after = outcome_store.kept(tmp_path / "kept", candidate, key, review.CANDIDATE_TABLES)
    fresh = evaluate(candidate, data)
    for name in review.CANDIDATE_TABLES:
        pd.testing.assert_frame_equal(getattr(after, name), getattr(fresh, name), check_exact=True)
    assert outcome_store.kept(tmp_path / "kept", base, key) is not None  # the first policy's: every table
    got = outcome_store.kept_result(tmp_path / "kept", report.sensitivity_result("en"), candidate, copy)
    pd.testing.assert_frame_equal(got, review.sensitivity(candidate, data, lang="en"), check_exact=True)
    assert outcome_store.kept_result(tmp_path / "kept", report.sensitivity_result("zh-CN"), candidate, copy) is None
    notebook = "".join("".join(c["source"]) for c in json.loads(
        (ROOT / "notebooks" / "policy_review.ipynb").read_text(encoding="utf-8"))["cells"])
    assert report.sensitivity_result("{lang}") in notebook and f'"{report.APPEALS}"' in notebook  # its names


def test_calibration_and_fairness_run_side_by_side_and_report_in_order(tmp_path: Path, monkeypatch) -> None:
    """report._run_notebooks: calibration and fairness at the same time (each in its kernel) on two cores, the
    policy review after them; runs yielded in the notebooks' order; a failure raised after the runs before it,
    with the notebooks after it not run; one process (COMPKIT_PROCESSES=1): one after the other."""
    import threading

    both = threading.Barrier(2, timeout=30)  # passed only when calibration and fairness run at once
    ran: list[str] = []
    fail: set[str] = set()

    def fake(name, params, folder, progress=True, lang=None):
        if name in report.TOGETHER and len(report.TOGETHER) == 2 and os.environ.get("COMPKIT_PROCESSES") != "1":
            both.wait()
        ran.append(name)
        if name in fail:
            raise ReportError(f"notebook {name}.ipynb failed")
        return report.NotebookRun(name, 0.0, folder / f"{name}.ipynb", folder / f"{name}.html")

    monkeypatch.setattr(report, "execute", fake)
    wanted = {name: {} for name, _ in report.REVIEW_NOTEBOOKS}
    monkeypatch.setenv("COMPKIT_PROCESSES", "2")
    # a wait for the policy review (its outcomes being written): after the batch before it, before it starts
    waits = {"policy_review": lambda: ran.append("waited")}
    got = [name for name, run in report._run_notebooks(wanted, tmp_path, False, None, waits=waits)]
    assert got == ["calibration", "fairness", "policy_review"] and ran[-2:] == ["waited", "policy_review"]
    ran.clear()
    fail.add("fairness")
    yielded = []
    with pytest.raises(ReportError, match="fairness"):
        for name, _ in report._run_notebooks(wanted, tmp_path, False, None):
            yielded.append(name)
    assert yielded == ["calibration"] and sorted(ran) == ["calibration", "fairness"]  # no policy review
    ran.clear()
    fail.add("calibration")  # both fail: the first in order is raised, after both have run
    with pytest.raises(ReportError, match="calibration"):
        list(report._run_notebooks(wanted, tmp_path, False, None))
    assert sorted(ran) == ["calibration", "fairness"]
    ran.clear()
    fail.clear()
    monkeypatch.setenv("COMPKIT_PROCESSES", "1")
    assert [n for n, _ in report._run_notebooks(wanted, tmp_path, False, None)] == ran == [
        "calibration", "fairness", "policy_review"]
