"""compkit.explorer: knobs, designs that stay valid policies, the readout, and saving a design."""
from __future__ import annotations

from pathlib import Path

import pytest

from compkit import explorer
from compkit.engine import evaluate
from compkit.policy import load_policy


def test_knobs_cover_the_controls_analysts_move(policy) -> None:
    names = [k.name for k in explorer.knobs(policy)]
    assert len(names) == len(set(names))
    for expected in ("weight of performance", "insurance: rate of tier 1", "insurance: tier 1 up to",
                     "funds: rate", "loans: 元 per 10,000", "bonus curve: payout at composite 100",
                     "gate: minimum composite", "cap: times annual base", "merit budget (share of base payroll)"):
        assert expected in names


def test_design_renormalises_weights(policy) -> None:
    # performance 0.60 -> 0.80 with ability 0.25 and attitude 0.15: sum 1.20 -> 0.80/1.2, 0.25/1.2, 0.15/1.2
    d = explorer.design(policy, {"weight of performance": 0.80})
    cats = d.scorecard.categories
    assert cats["performance"] == pytest.approx(0.8 / 1.2, abs=1e-6)
    assert cats["ability"] == pytest.approx(0.25 / 1.2, abs=1e-6)
    assert sum(cats.values()) == pytest.approx(1.0, abs=1e-12)


def test_design_sets_values_and_rejects_unknown_knobs(policy) -> None:
    d = explorer.design(policy, {"insurance: tier 1 up to": 1_500_000, "cap: times annual base": 2.0})
    assert [c.path for c in policy.diff(d)] == ["commission.products[insurance].tiers[0].upto",
                                                "commission.cap.times_annual_base"]
    with pytest.raises(KeyError, match="unknown knob"):
        explorer.design(policy, {"gold: rate": 0.1})


def test_readout_matches_the_engine(tiny, policy) -> None:
    d = explorer.design(policy, {"insurance: tier 1 up to": 1_500_000})
    r = explorer.readout(policy, d, tiny)
    before = evaluate(policy, tiny).summary["employer_cost"].sum()
    after = evaluate(d, tiny).summary["employer_cost"].sum()
    total = r.cost.set_index("component").loc["total"]
    # E1's 1.2M of insurance is now all in the first tier: 12,000 instead of 13,000 -> -1,000
    assert total["change"] == pytest.approx(after - before) == pytest.approx(-1_000.0)
    assert "改动了 1 项设置。" in r.text  # the policy's language, Chinese
    # the same readout in English: E1's -1,000 of the 4 managers' cost, median change 0 (three unchanged)
    english = explorer.readout(policy, d, tiny, lang="en").text
    assert english.startswith("1 setting(s) changed. Total employer cost ")
    assert "the median change is +0 CNY." in english


def test_knob_labels_in_the_readers_language(policy) -> None:
    """A knob's name is the design's key in every language; its label says it in words (Chinese by default)."""
    zh = {k.name: k.label for k in explorer.knobs(policy)}
    assert zh["insurance: tier 1 up to"] == "代理保险：第1档上限"
    assert zh["weight of performance"] == "业绩的权重"
    assert zh["bonus curve: payout at composite 120"] == "奖金曲线：综合得分 120 时的奖金倍数"
    en = {k.name: k.label for k in explorer.knobs(policy, "en")}
    assert en["insurance: tier 1 up to"] == "Bancassurance: tier 1 up to" and set(en) == set(zh)
    # a design may name a knob by its label too
    assert explorer.design(policy, {"代理保险：第1档上限": 1_500_000}) == \
        explorer.design(policy, {"insurance: tier 1 up to": 1_500_000})
    table = explorer.values_table(policy)
    assert {"group", "knob", "name", "value"} <= set(table.columns) and "门槛与封顶" in set(table["group"])


def test_save_design_writes_a_loadable_policy(policy, tmp_path: Path) -> None:
    d = explorer.design(policy, {"bonus curve: payout at composite 120": 1.6})
    changes = explorer.save_design(d, policy, tmp_path / "explored.yaml", version="2026-explored")
    loaded = load_policy(tmp_path / "explored.yaml")
    assert loaded.bonus.curve[3][1] == 1.6 and loaded.version == "2026-explored"
    assert {c.path for c in changes} == {"version", "bonus.curve[3][1]"}


def test_readout_gives_each_managers_change(tiny, policy) -> None:
    d = explorer.design(policy, {"insurance: tier 1 up to": 1_500_000})
    r = explorer.readout(policy, d, tiny)
    change = r.per_person_change
    # only E1 sold insurance above the old tier-1 bound: 1,000 CNY less commission, everyone else unchanged
    assert change["E1"] == pytest.approx(-1_000.0)
    assert (change.drop("E1") == 0).all()
    assert list(r.before["employee_id"]) == ["E1", "E2", "E3", "E4"]


def test_moved_knobs_are_those_off_their_current_value(policy) -> None:
    values = {k.name: k.value for k in explorer.knobs(policy)}
    assert explorer.moved_knobs(policy, values) == {}
    values["insurance: tier 1 up to"] = 1_500_000.0
    assert explorer.moved_knobs(policy, values) == {"insurance: tier 1 up to": 1_500_000.0}


def test_controls_redraw_the_readout_and_report_a_broken_design(tiny, policy, tmp_path: Path, capsys) -> None:
    pytest.importorskip("ipywidgets")
    drawn = []

    def figure(before, after):
        import matplotlib.pyplot as plt

        drawn.append((len(before), len(after)))
        return plt.figure()

    ui = explorer.controls(policy, tiny, start={"insurance: tier 1 up to": 1_500_000}, figure=figure,
                           save_to=str(tmp_path / "x.yaml"))
    assert set(ui.sliders) == {k.name for k in explorer.knobs(policy)}
    # labels, group titles and the button in the policy's language (Chinese); English with lang="en"
    labels = [row.children[0].value for group in ui.children[0].children for row in group.children]
    assert "代理保险：第1档上限" in labels and ui.children[1].children[1].description == "另存为政策文件"
    assert ui.children[0].get_title(0) == "考核指标"
    en = explorer.controls(policy, tiny, lang="en")
    assert en.children[1].children[1].description == "Save as policy" and en.children[0].get_title(0) == "scorecard"
    assert ui.sliders["insurance: tier 1 up to"].value == 1_500_000
    ui.redraw()
    assert drawn == [(4, 4)]
    # moving a slider redraws (continuous_update is off: on letting go)
    ui.sliders["bonus curve: payout at composite 120"].value = 1.6
    assert len(drawn) == 2
    assert ui.current().bonus.curve[3][1] == 1.6  # the design follows the sliders
    assert "改动了 2 项设置。" in capsys.readouterr().out  # (outside a kernel the readout goes to stdout)
    # every weight at zero cannot be renormalised: said in words, no exception
    for name in [k.name for k in explorer.knobs(policy) if k.name.startswith("weight of") and "within" not in k.name]:
        ui.sliders[name].value = 0.0
    assert "该方案不是有效的政策：权重 performance, ability, attitude 都为零；应至少有一个大于零" in \
        capsys.readouterr().out
