"""The report pipeline: run notebooks with papermill, convert them to HTML without code (nbconvert), write an
index page and ``manifest.json``.

``run_review`` validates the inputs first (nothing is written when the policy or data are bad), then runs
calibration, fairness and policy_review into a staging folder next to the target and moves the finished report
into place only when every notebook succeeded. When a cell fails, the executed notebooks and their HTML are
kept in ``<out>.failed/`` for diagnosis, and the error names the notebook and the cell.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compkit import __version__
from compkit._threads import Pending
from compkit.atomic import read_marker, remove_quietly, replace_folder, staging_folder
from compkit.errors import CompkitError
from compkit.fingerprint import file_sha256, path_sha256
from compkit.i18n import M_, N_, Joined
from compkit.privacy import scan_for_identifiers

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
REVIEW_NOTEBOOKS = (
    ("calibration", N_("Calibration: raters, reliability, budget and targets")),
    ("fairness", N_("Fairness: disparities, adverse impact and pay gaps")),
    ("policy_review", N_("Policy review: this year's results and next year's candidate")),
)


class ReportError(CompkitError):
    """A notebook failed while building a report."""


@dataclass(frozen=True)
class NotebookRun:
    name: str
    seconds: float
    notebook: Path
    html: Path


data_sha256 = path_sha256  # sha256 over the files of a dataset (a folder: every file, by name order; or a file)


def to_html(notebook: Path, target: Path, lang: str | None = None, title: str | None = None) -> Path:
    """Convert an executed notebook to standalone HTML with the code cells hidden; ``title`` is the page's title
    (the browser's tab, a printed page's header), by default the notebook's file name."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    target.write_text(offline_page(body, lang), encoding="utf-8")
    return target


#: the report pages' own style: Chinese fonts first, print on A4
REPORT_CSS = """<style>
body, .jp-RenderedHTMLCommon, .jp-RenderedText pre {font-family: "Noto Sans CJK SC", "Source Han Sans SC",
  "Microsoft YaHei", "PingFang SC", "SimHei", "WenQuanYi Zen Hei", system-ui, sans-serif;}
@page {size: A4; margin: 14mm;}
@media print {.jp-Cell {break-inside: avoid;} h2 {break-after: avoid;}}
</style>"""


def offline_page(body: str, lang: str | None = None) -> str:
    """A report page that needs nothing from the internet (a bank's network may reach none): the script tags
    nbconvert points at a CDN (require.js, MathJax) are removed; the page's language and fonts are set."""
    import re

    from compkit import i18n

    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r"<html([^>]*)>", f'<html lang="{i18n.resolve(lang)}">', body, count=1)
    return body.replace("</head>", REPORT_CSS + "\n</head>", 1)


def execute(name: str, parameters: dict[str, Any], folder: Path, progress: bool = True,
            lang: str | None = None, km: Any = None) -> NotebookRun:
    """Execute ``notebooks/<name>.ipynb`` with papermill into ``folder`` and convert it to HTML.

    The working directory of the kernel is ``folder``, so files a notebook writes land next to its report.
    ``km``: the manager of a kernel already started in ``folder`` (:class:`compkit.kernels.WarmKernel`), which
    runs the notebook instead of a new one (called on the thread that started it).
    Raises ReportError naming the notebook and the failing cell (the executed notebook and HTML are kept).
    """
    import papermill as pm

    from compkit import i18n

    source = NOTEBOOK_DIR / f"{name}.ipynb"
    title = i18n.gettext(lang)(dict(REVIEW_NOTEBOOKS)[name]) if name in dict(REVIEW_NOTEBOOKS) else name
    executed = folder / f"{name}.ipynb"
    page = folder / f"{name}.html"
    start = time.perf_counter()
    try:
        # the kernel starts in ``folder`` (nbclient's resources path) without papermill's cwd=, which changes
        # this whole process's working directory while the notebook runs: two notebooks run side by side
        # (_run_notebooks) would leave it in the other's folder
        # written once when it has run (or failed: papermill writes it with the error first), not again at the
        # start and end of every cell (a whole notebook's JSON each time: ~1.8 s of this process's CPU a notebook)
        pm.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name="python3",
                            progress_bar=progress, log_output=False, resources={"metadata": {"path": str(folder)}},
                            request_save_on_cell_execute=False, **({"km": km} if km is not None else {}))
    except pm.PapermillExecutionError as err:
        to_html(executed, page, lang, title)
        raise ReportError(M_("notebook {name}.ipynb failed at cell {cell} (execution count {count}): {error}: "
                             "{detail}", name=name, cell=err.cell_index, count=err.exec_count, error=err.ename,
                             detail=err.evalue)) from None
    to_html(executed, page, lang, title)
    return NotebookRun(name, time.perf_counter() - start, executed, page)


def _index_html(title: str, runs: list[NotebookRun], manifest: dict[str, Any], lang: str | None = None) -> str:
    """The index page (``templates/review_index.html.j2``) in ``lang``; ``title`` is the year under review."""
    from compkit import i18n

    lang = i18n.resolve(lang)
    _ = i18n.gettext(lang)
    titles = dict(REVIEW_NOTEBOOKS)
    params = manifest["parameters"]
    reports = [{"href": run.html.name, "title": _(titles.get(run.name, run.name)), "seconds": f"{run.seconds:.0f}"}
               for run in runs]
    run = [{"label": _("Policy"), "value": params["policy"]}, {"label": _("Candidate"), "value": params["candidate"]},
           {"label": _("Data"), "value": params["data"]}, {"label": "compkit", "value": manifest["compkit_version"]}]
    year = re.sub(r"^\D+", "", str(title)) or str(title)
    return i18n.render("review_index.html.j2", lang, year=year, reports=reports, run=run)


def run_review(year: str | int, policy: Path, candidate: Path, data: Path, out: Path, budget: float | None = None,
               scenarios: int = 1000, seed: int = 0, progress: bool = True, lang: str | None = None,
               private: Path | None = None, scheduler: str | None = None) -> Path:
    """The yearly review: validate inputs, run the review notebooks, write HTML, index.html and manifest.json.
    ``lang``: the language of the reports (default: the policy's ``language``).

    ``private``: a folder (outside ``reports/``) for the per-person tables the notebooks can write
    (``calibrated_scores.csv``, ``candidate_changes_by_person.csv``); without it they are not written. Before the
    report is moved into place, :func:`compkit.privacy.scan_for_identifiers` looks through it for employee ids,
    names, supervisor ids and per-person tables; if it finds any, nothing is published.

    ``scheduler``: a Dask scheduler's address (``tcp://host:8786``): the policy review's Monte Carlo runs its
    scenario batches on that cluster's workers (:func:`compkit.review.simulate` with ``client=``), with the same
    result bit for bit as on this machine. Checked before anything is written (:func:`reach_scheduler`).

    Returns the path of ``index.html``. Raises CompkitError (PolicyError, DataError, ReportError).
    """
    from compkit._memory import release_freed_memory
    from compkit._threads import in_background
    from compkit.atomic import check_output
    from compkit.data import load_dataset
    from compkit.policy import load_policy
    from compkit.privacy import refuse_reports_folder
    from compkit.review import CANDIDATE_TABLES

    policy, candidate, data = Path(policy), Path(candidate), Path(data)
    inputs = {"data": data, "policy file": policy, "candidate file": candidate}
    out = check_output(out, "review", {**inputs, "--private folder": private})
    if private is not None:
        private = refuse_reports_folder(private, "per-person review tables")
        private = check_output(private, "review-private", {**inputs, "--out folder": out}, flag="--private")
    base_policy = load_policy(policy)  # fail early, before anything is written
    candidate_policy = load_policy(candidate)
    if scheduler is not None:
        reach_scheduler(scheduler)
    dataset = load_dataset(data, policy=base_policy)
    budget = budget if budget is not None else base_policy.budget
    from compkit import i18n

    lang = i18n.resolve(lang, base_policy)
    # validated once: the notebooks read a private copy of it (pickles: fast to load, as validated), kept in a
    # private temporary folder (never in the report) and removed when they have run; sealed with a key only this
    # review and its notebooks' kernels (which inherit the environment) know
    from compkit.data import COPY_KEY

    copy_key = secrets.token_bytes(32)
    key_before = os.environ.get(COPY_KEY)
    os.environ[COPY_KEY] = copy_key.hex()  # before any kernel starts
    staging = staging_folder(out, "review")
    # the first notebooks' kernels start now (in the staging folder, where the notebooks write) while this process
    # copies and evaluates the data, and import what their notebooks import once the evaluations are done (a bare
    # kernel holds ~40 MB, one with the imports ~190 MB: not added to the evaluations' peak) (compkit.kernels)
    kernels = _Kernels(staging) if _warm_kernels() else None
    first = _batches(list(dict(REVIEW_NOTEBOOKS)))[0]
    if kernels is not None:
        kernels.start(first, warm=False)
    validated = kept = private_staging = copying = candidate_kept = None
    manifest: dict[str, Any] = {"notebooks": []}
    try:
        # the sha256 of the data for the manifest, on a second thread while this one writes the copy and
        # evaluates (hashlib and file reads let go of Python's lock: at 100,000 managers about 1 GB of CSV, 1.4 s
        # of CPU)
        data_digest = in_background(data_sha256, data)
        validated = tempfile.TemporaryDirectory(prefix="compkit-review-data-")
        # written on another thread while the first policy is evaluated (evaluate does not change the data;
        # pickling the tables' arrays lets go of Python's lock); waited for before the outcomes are keyed by it
        copying = in_background(dataset.to_private_copy, validated.name, base_policy, copy_key)
        emp = dataset.employees  # for the scan before publishing (ids, names, supervisor ids, head-count)
        # each policy evaluated once: the notebooks read these outcomes (compkit.outcome_store) instead of
        # evaluating the same policy on the same data again; private and temporary like the data copy
        kept = tempfile.TemporaryDirectory(prefix="compkit-review-outcomes-")
        # the candidate's outcomes are still being written when calibration and fairness start (neither reads
        # them): waited for before the policy review
        warm = (lambda: kernels.warm(first)) if kernels is not None else None
        candidate_kept = _keep_outcomes(kept.name, dataset, validated.name, (base_policy, candidate_policy),
                                        copied=copying, last_later=True, evaluated=warm, sensitivity_lang=lang,
                                        tables=(None, CANDIDATE_TABLES))
        if warm is not None:
            warm()
        copying()
        del dataset
        release_freed_memory()  # the freed tables' pages back to the system while the notebooks run

        parameters = {"year": str(year), "policy": str(policy.resolve()), "candidate": str(candidate.resolve()),
                      "data": str(data.resolve()), "budget": budget, "scenarios": int(scenarios),
                      "seed": int(seed), "lang": lang, "scheduler": scheduler}
        manifest = {
            "compkit_version": __version__,
            "year": str(year),
            "parameters": {"policy": str(policy), "candidate": str(candidate), "data": str(data),
                           "budget": budget, "scenarios": int(scenarios), "seed": int(seed),
                           **({"scheduler": scheduler} if scheduler is not None else {})},
            "inputs": {"policy_sha256": file_sha256(policy), "candidate_sha256": file_sha256(candidate),
                       "data_sha256": data_digest()},
            "notebooks": [],
        }
        private_staging = staging_folder(private, "review-private") if private is not None else None
        parameters["private"] = str(private_staging) if private_staging is not None else None
        runs: list[NotebookRun] = []
        started = time.perf_counter()
        wanted = {name: _parameters_for(name, {**parameters, "data": validated.name, "outcomes": kept.name})
                  for name, _ in REVIEW_NOTEBOOKS}
        waits = {"policy_review": candidate_kept} if candidate_kept is not None else {}
        for name, run in _run_notebooks(wanted, staging, progress, lang, kernels, waits):
            nb_params = wanted[name]
            runs.append(run)
            manifest["notebooks"].append({"name": name, "seconds": round(run.seconds, 1),
                                          "html": run.html.name,
                                          "parameters": _public({**_without(nb_params, "outcomes_dir"),
                                                                 "data_path": parameters["data"],
                                                                 **({"private_dir": str(private)}
                                                                    if "private_dir" in nb_params else {})})})
    except ReportError:
        remove_quietly(private_staging)
        failed = out.with_name(out.name + ".failed")
        manifest["status"] = "failed"
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if not failed.exists() or read_marker(failed) is not None:  # replaces only a failed review compkit kept
            replace_folder(staging, failed, "review-failed")
        else:  # a folder of that name compkit did not write: left alone, and nothing of this run is kept
            shutil.rmtree(staging, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        remove_quietly(private_staging)
        raise
    finally:
        for pending in (copying, candidate_kept):  # not writing into the folders removed below
            _finished(pending)
        if kernels is not None:
            kernels.close()
        for folder in (validated, kept):
            if folder is not None:
                folder.cleanup()
        if key_before is None:
            os.environ.pop(COPY_KEY, None)
        else:
            os.environ[COPY_KEY] = key_before
    hits = scan_for_identifiers(staging, emp["employee_id"], emp["name"],
                                supervisor_ids=emp["supervisor_id"].dropna() if "supervisor_id" in emp else (),
                                head_count=len(emp))
    if hits:  # nothing personal is published: the report is not moved into place
        shutil.rmtree(staging, ignore_errors=True)
        remove_quietly(private_staging)
        shown = Joined([h.message for h in hits[:5]], "; ")
        raise ReportError(M_("the report would publish personal data, so nothing was written to {out}: {found}; "
                             "and {more} more", out=str(out), found=shown, more=len(hits) - 5) if len(hits) > 5 else
                          M_("the report would publish personal data, so nothing was written to {out}: {found}",
                             out=str(out), found=shown))
    manifest["status"] = "ok"
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (staging / "index.html").write_text(_index_html(str(year), runs, manifest, lang), encoding="utf-8")
    replace_folder(staging, out, "review")  # the previous report stays whole until the new one is in place
    if private_staging is not None:
        replace_folder(private_staging, private, "review-private")
    failed = out.with_name(out.name + ".failed")
    if failed.is_dir() and (read_marker(failed) or {}).get("command") == "review-failed":
        shutil.rmtree(failed, ignore_errors=True)
    return out / "index.html"


#: the review's notebooks that run side by side, each in its own kernel, on a machine of two or more cores: at
#: 100,000 managers the calibration kernel holds about 1.7 GB and the fairness kernel 0.8 GB (each reads only the
#: tables it uses, and the budget bracket's costs are kept by the review), against about 4 GB for the policy
#: review's, which runs alone
TOGETHER = ("calibration", "fairness")


#: seconds :func:`reach_scheduler` waits for a Dask scheduler to answer
SCHEDULER_TIMEOUT = 20.0


def reach_scheduler(address: str, timeout: float | None = None) -> int:
    """Connect to the Dask scheduler at ``address`` (``tcp://host:8786``) and return how many workers it has.
    Raises ReportError naming the address when Dask is not installed, the scheduler does not answer within
    ``timeout`` seconds (default :data:`SCHEDULER_TIMEOUT`), or it has no worker (the simulation would wait for
    one forever)."""
    seconds = SCHEDULER_TIMEOUT if timeout is None else timeout
    try:
        from dask.distributed import Client
    except ImportError:
        raise ReportError(M_("--scheduler {address} needs Dask on this machine and on the cluster's workers: "
                             "pip install 'compkit[dask]'", address=address)) from None
    try:
        with Client(address, timeout=seconds) as client:
            workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise ReportError(M_("could not reach the Dask scheduler at {address} within {seconds} s: {error}",
                             address=address, seconds=f"{seconds:g}",
                             error=str(err) or type(err).__name__)) from None
    if workers == 0:
        raise ReportError(M_("the Dask scheduler at {address} has no workers: start some with "
                             "'dask worker {address}'", address=address))
    return workers


def _finished(pending: Pending | None) -> None:
    """Wait for ``pending`` (work on another thread) to end, whatever its outcome (raised elsewhere if at all)."""
    if pending is not None:
        try:
            pending()
        except BaseException:  # noqa: BLE001 - its caller has raised, or will raise, its own error
            pass


def _batches(names: list[str]) -> list[list[str]]:
    """The review's notebooks in the order they run: those of :data:`TOGETHER` as one batch (side by side) when
    :func:`compkit.parallel.processes` gives two or more, every other notebook a batch of its own."""
    from compkit.parallel import processes

    together = [n for n in names if n in TOGETHER] if processes() >= 2 else []
    batches: list[list[str]] = []
    for name in names:
        if not any(name in b for b in batches):
            batches.append(together if name in together and len(together) > 1 else [name])
    return batches


def _warm_kernels() -> bool:
    """Whether the review starts its notebooks' kernels ahead (:class:`_Kernels`): on a machine of two or more
    cores (:func:`compkit.parallel.processes`), where a kernel's start and imports overlap other work;
    ``COMPKIT_PROCESSES=1`` starts each when its notebook runs, as papermill does."""
    from compkit.parallel import processes

    return processes() >= 2


class _Kernels:
    """The review notebooks' kernels started ahead of their turn (:class:`compkit.kernels.WarmKernel`), in
    ``folder``, by notebook name: :meth:`start` a batch's while the work before it runs; :meth:`run` a notebook
    on its own (:func:`execute` with its kernel, which is then shut down); :meth:`close` shuts down any left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.kernels: dict[str, Any] = {}

    def start(self, names: list[str], warm: bool = True) -> None:
        """Start the kernels of ``names`` (not started yet), warmed at once or (``warm=False``) by :meth:`warm`."""
        from compkit.kernels import WarmKernel

        for name in names:
            if name not in self.kernels:
                self.kernels[name] = WarmKernel(NOTEBOOK_DIR / f"{name}.ipynb", self.folder, warm=warm)

    def warm(self, names: list[str]) -> None:
        """Import their notebooks' modules in the started kernels of ``names``."""
        for name in names:
            if name in self.kernels:
                self.kernels[name].warm()

    def run(self, name: str, parameters: dict[str, Any], progress: bool, lang: str | None) -> Any:
        """A Future of ``execute(name, ...)`` on the notebook's started kernel; None when none was started."""
        kernel = self.kernels.get(name)
        if kernel is None:
            return None

        def on_kernel(km: Any = None) -> NotebookRun:
            try:
                return execute(name, parameters, self.folder, progress, lang, **({"km": km} if km else {}))
            finally:
                kernel.shut_down()

        return kernel.submit(on_kernel)

    def close(self) -> None:
        for kernel in self.kernels.values():
            kernel.close()


def _run_notebooks(wanted: dict[str, dict[str, Any]], folder: Path, progress: bool, lang: str | None,
                   kernels: _Kernels | None = None, waits: dict[str, Pending] | None = None
                   ) -> Iterator[tuple[str, NotebookRun]]:
    """Run the review's notebooks (``{name: parameters}``, in order) into ``folder`` (:func:`execute`) in the
    batches of :func:`_batches`: those of :data:`TOGETHER` side by side on two threads (each notebook runs in
    its own kernel process) when :func:`compkit.parallel.processes` gives two or more (``COMPKIT_PROCESSES=1``:
    one after the other), the others one after the other. With ``kernels`` (:class:`_Kernels`), a notebook whose
    kernel was started ahead runs on it, and the next batch's kernels start while a batch runs. ``waits``: work a
    notebook needs done (a Pending by notebook name: the outcomes it reads being written), waited for (and its
    memory given back) before the notebook's batch starts. Yields
    (name, run) in the order given, each when it has run. When a notebook fails, the ones started with it are let
    finish, those before it in the order are yielded, then its failure is raised (ReportError) and the notebooks
    after it do not run: the same report, or the same failure, as one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    batches = _batches(list(wanted))
    for i, batch in enumerate(batches):
        for n in batch:
            if (waits or {}).get(n) is not None:
                waits[n]()
                from compkit._memory import release_freed_memory

                release_freed_memory()
        if kernels is not None and i + 1 < len(batches):
            kernels.start(batches[i + 1])  # warm while this batch runs (its kernels' memory is small)
        if progress:
            for n in batch:
                print(f"running {n}.ipynb ...", flush=True)
        shown = progress and len(batch) == 1  # a progress bar for a notebook that runs alone
        done: dict[str, NotebookRun | BaseException] = {}
        on_kernels = {n: kernels.run(n, wanted[n], shown, lang) for n in batch} if kernels is not None else {}
        others = [n for n in batch if on_kernels.get(n) is None]
        if len(others) == 1 and len(batch) == 1:
            try:
                done[others[0]] = execute(others[0], wanted[others[0]], folder, progress=shown, lang=lang)
            except ReportError as err:
                done[others[0]] = err
        elif others:
            with ThreadPoolExecutor(len(others), thread_name_prefix="compkit-notebook") as pool:
                futures = {n: pool.submit(execute, n, wanted[n], folder, shown, lang) for n in others}
            done.update({n: f.exception() or f.result() for n, f in futures.items()})  # every one has finished
        for n, future in on_kernels.items():
            if future is not None:
                done[n] = future.exception() or future.result()
        for name in batch:
            run = done[name]
            if isinstance(run, BaseException):
                raise run
            yield name, run


def _keep_outcomes(folder: str, dataset: Any, data_path: str, policies: tuple[Any, ...],
                   copied: Callable[[], Any] | None = None, last_later: bool = False,
                   evaluated: Callable[[], Any] | None = None,
                   sensitivity_lang: str | None = None,
                   tables: tuple[Collection[str] | None, ...] | None = None) -> Pending | None:
    """Evaluate each policy once on the validated ``dataset`` and keep the outcomes in ``folder`` for the notebooks
    (:func:`compkit.outcome_store.keep`, keyed by the copy at ``data_path``), one policy after the other in this
    process, each policy's outcomes let go once written; right after the first policy's, the costs of the first
    policy at the two ends of the calibration notebook's budget bracket (:func:`compkit.outcome_store.keep_costs`).
    The review holds the data and one evaluation at a time (at 100,000 managers about 3.7 GB), not two evaluations
    in forked processes side by side (about 6.1 GB as proportional sets; an evaluation already works on both cores
    of the project machine, so the two at once saved little time). A policy that does not evaluate is not kept:
    its notebook then evaluates it and reports the failure as before (naming the cell).

    The bracket's ends differ from the first policy only in the knob (the commission's rates): the first
    policy's evaluation keeps the stages they leave alone (:class:`compkit.engine.Kept`: the scorecard, the split
    of shared deals, the salary review, the commission lines' bases) and their costs take them back, with the
    summary alone (:func:`compkit.calibration.employer_cost`): the same costs, bit for bit, as full evaluations.
    So does the policy review's illustration of a wage bill for a first policy without one
    (:func:`compkit.review.wage_bill_illustration`), whose summary and allocation are kept
    (:data:`compkit.review.WAGE_BILL_TABLES`): the notebook reads them instead of evaluating it beside its data (at
    100,000 managers a full evaluation there, its memory on top of the kernel's). The kept stages are let go
    before the next policy's evaluation.

    Each policy's outcomes are written on a second thread (:func:`compkit._threads.in_background`; pickling
    and hashing large arrays let go of Python's lock): all but the last waited for before the bracket's costs and
    the next evaluation (one policy's outcomes held at a time, never beside an evaluation); with ``last_later``
    the last policy's writing is returned (a Pending: call it before a notebook reads them;
    until then they are not there, and a notebook would evaluate them itself) instead of waited for.
    ``copied``: called before the outcomes are first keyed by the copy (it waits for the copy to be written);
    ``evaluated``: called when the last policy has been evaluated (the memory of the evaluations is past its peak:
    the review then warms the notebooks' kernels).

    ``tables``: per policy, the tables of its evaluation kept (:func:`compkit.engine.evaluate`'s ``tables``; None:
    all), e.g. only those the policy review reads of its candidate (:data:`compkit.review.CANDIDATE_TABLES`).

    ``sensitivity_lang``: the last policy (the policy review's candidate) is evaluated keeping its stages, and once
    its outcomes are written (then not returned for later) its sensitivity in that language
    (:func:`compkit.review.sensitivity`, the notebook's call) is worked out from them (:func:`_keep_sensitivity`):
    every knob setting takes the candidate's own stages, none is evaluated in full."""
    from compkit import outcome_store
    from compkit._memory import release_freed_memory
    from compkit._threads import in_background
    from compkit.calibration import bracket_and_kept, employer_cost, without_unused_lines
    from compkit.engine import Kept, evaluate
    from compkit.review import WAGE_BILL_TABLES, wage_bill_illustration

    wanted = tables if tables is not None else (None,) * len(policies)
    key: str | None = None
    costs: dict[str, float] = {}
    writing: Pending | None = None
    for i, policy in enumerate(policies):
        # the calibration notebook's budget solve starts with the costs at the two ends of its knob's bracket
        # (its default knob: the review passes none); worked out here on the data in memory, one at a time, the
        # notebook reads them (outcome_store.kept_costs) instead of holding the data and two evaluations itself
        ends, stages = bracket_and_kept(policy) if i == 0 else ([], None)
        tornado = sensitivity_lang is not None and 0 < i == len(policies) - 1
        if tornado:
            stages = Kept()  # filled by the evaluation: the sensitivity's settings take its stages
        try:
            outcomes = evaluate(policy, dataset, kept=stages, tables=wanted[i])
        except Exception:  # noqa: BLE001 - the notebook evaluates again and fails there with its cell named
            outcomes, stages = None, None  # the bracket's ends evaluated on their own below
        if i + 1 == len(policies) and evaluated is not None:
            evaluated()
        # the policy review's illustration of a wage bill (the first policy with one sharing out its bonus): worked
        # out below from the kept stages, which a wage bill leaves alone
        illustration = None
        if i == 0 and outcomes is not None:
            try:
                illustration = wage_bill_illustration(policy, outcomes)
            except Exception:  # noqa: BLE001 - not a valid policy: the notebook fails on it and names its cell
                pass
        if i == 0:
            if copied is not None:
                copied()
            key = outcome_store.data_key(data_path)
        if outcomes is not None:
            without_unused_lines(stages)  # not held while the outcomes are written
            writing = in_background(outcome_store.keep, outcomes, folder, policy, key, wanted[i])
            del outcomes
        if writing is not None and (i + 1 < len(policies) or not last_later):
            # written before the costs: held beside their evaluations they raised the review's peak (at 100,000
            # managers 3.60 -> 4.06 GB as proportional set sizes, before the notebooks)
            writing()
            writing = None
        for end in ends:
            try:
                costs[end.fingerprint()] = employer_cost(end, dataset, stages)
            except Exception:  # noqa: BLE001 - the notebook evaluates it and reports the failure itself
                continue
        if illustration is not None and key is not None:
            try:
                outcome_store.keep(evaluate(illustration, dataset, kept=stages, tables=WAGE_BILL_TABLES), folder,
                                   illustration, key, tables=WAGE_BILL_TABLES)
            except Exception:  # noqa: BLE001 - the notebook evaluates it and reports the failure itself
                pass
        if tornado and stages is not None and stages.policy is not None and key is not None:
            if writing is not None:  # written first: the outcomes are not held beside the settings' evaluations
                writing()
                writing = None
            _keep_sensitivity(folder, dataset, policy, key, stages, sensitivity_lang)
        del stages
        if i == 0 and key is not None and writing is None:  # its outcomes written: the appeals read their summary
            _keep_appeals(folder, dataset, policy, key)
    outcome_store.keep_costs(folder, costs, key)
    release_freed_memory()  # the evaluations' memory was this process's
    return writing


#: the name the policy review's appeals are kept under (:func:`compkit.outcome_store.keep_result`)
APPEALS = "appeals"


def _keep_appeals(folder: str, dataset: Any, policy: Any, key: str) -> None:
    """Work out the policy review's appeals (``appeals.review_appeals(policy, data, before=outcomes,
    tables=("summary",))``, ``outcomes`` the policy's kept ones) on the validated ``dataset`` and keep them without
    the corrected data and the two evaluations (the notebook reads the register and the info) for the notebook
    (:data:`APPEALS`, :func:`compkit.outcome_store.kept_result`): the re-evaluation on the corrected data is made
    here, beside nothing but the data, instead of in the notebook's kernel beside everything it holds (at 100,000
    managers its largest peak after the Monte Carlo). Appeals that fail (a correction the data contract refuses)
    are not kept: the notebook works them out and reports the failure, naming its cell."""
    from dataclasses import replace

    from compkit import appeals, outcome_store

    before = outcome_store.kept(folder, policy, key, ("summary",))  # read: the summary
    if before is None:
        return
    try:
        reviewed = appeals.review_appeals(policy, dataset, before=before, tables=("summary",))
    except Exception:  # noqa: BLE001 - the notebook works them out again and names its cell
        return
    outcome_store.keep_result(folder, APPEALS, policy, key, replace(reviewed, before=None, after=None,
                                                                      corrected=None))


def sensitivity_result(lang: str) -> str:
    """The name the policy review's sensitivity in ``lang`` is kept under
    (:func:`compkit.outcome_store.keep_result`): its labels are in that language."""
    return f"sensitivity.{lang}"


def _keep_sensitivity(folder: str, dataset: Any, policy: Any, key: str, stages: Any, lang: str | None) -> None:
    """Work out the policy review's sensitivity of ``policy`` (its candidate; ``review.sensitivity(candidate, data,
    base=outcomes, lang=lang)``, ``outcomes`` the candidate's kept ones) on the validated ``dataset`` from the
    stages the candidate's evaluation kept (``stages``: no setting evaluated in full, the same costs) and keep the
    table for the notebook (:func:`sensitivity_result`): its twenty evaluations are made here, beside nothing but
    the data, instead of in the notebook's kernel beside everything it holds (at 100,000 managers its largest
    peak). A sensitivity that fails is not kept: the notebook works it out and reports the failure, naming its
    cell."""
    from compkit import outcome_store, review

    base = outcome_store.kept(folder, policy, key, ("summary",))  # its base cost
    if base is None or lang is None:
        return
    try:
        table = review.sensitivity(policy, dataset, base=base, processes=1, lang=lang, kept=stages)
    except Exception:  # noqa: BLE001 - the notebook works it out again and names its cell
        return
    outcome_store.keep_result(folder, sensitivity_result(lang), policy, key, table)


def _without(params: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != key}


def _parameters_for(name: str, p: dict[str, Any]) -> dict[str, Any]:
    """Each notebook takes the parameters of its ``parameters`` cell that the review knows."""
    common = {"policy_path": p["policy"], "data_path": p["data"], "out_dir": ".", "lang": p.get("lang")}
    if p.get("outcomes"):
        common["outcomes_dir"] = p["outcomes"]
    private = {"private_dir": p["private"]} if p.get("private") else {}
    if name == "calibration":
        return {**common, **private, "budget": p["budget"]}
    if name == "fairness":
        return common
    cluster = {"scheduler": p["scheduler"]} if p.get("scheduler") else {}
    return {**common, **private, **cluster, "year": p["year"], "candidate_path": p["candidate"],
            "budget": p["budget"], "scenarios": p["scenarios"], "seed": p["seed"]}


def _public(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters for the manifest with paths relative to the working directory where possible."""
    out = {}
    for k, v in params.items():
        if isinstance(v, str) and os.path.isabs(v):
            try:
                v = os.path.relpath(v)
            except ValueError:
                pass
        out[k] = v
    return out


def refresh_notebook(path: Path, timeout: int = 1200) -> Path:
    """Execute a notebook in place, from its own folder with its default parameters, so that its committed
    outputs are the ones nbval checks. Timing metadata and the outputs of cells tagged ``widgets`` (which hold
    random widget ids) are removed, so that the same inputs give the same file."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if "widgets" in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, str(path))
    return path
