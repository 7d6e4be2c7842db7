"""Modules import only downward (DESIGN.md section 1): policy/data -> calculators -> engine -> analyses -> report/cli.

Every module of compkit has one layer in :data:`LAYERS` (the one table; a new module must be added to it). Imports
are read with ``ast`` from the source, every one of them: at the top, inside functions (lazy imports), under
``if TYPE_CHECKING``, absolute (``from compkit.x import y``, ``from compkit import x``, ``import compkit.x``) and
relative (``from . import x``, ``from .x import y``).

The rule, as DESIGN.md states it:
- a module may import a module of a lower layer;
- a module never imports a module of a higher layer (upward);
- a module of the analyses layer never imports another analysis (sideways: "never sideways into an analysis");
  in the other layers a module may build on a sibling (pay on compliance's deferral split, scoring on raters),
  but only one way: the sibling imports within a layer form no cycle.

Below policy/data there is a layer DESIGN.md does not name, ``helpers``: modules that know no rule of pay or
appraisal (errors, cents, atomic writes, fingerprints, languages, workbook writing, pseudonyms) and that the
policy and data modules themselves use.
"""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "compkit"

#: layer name -> (whether a module may import a sibling of its own layer, its modules); bottom first.
#: ``compkit`` is the package itself (``__init__.py``: the version and the lazy re-exports).
LAYERS: dict[str, tuple[bool, frozenset[str]]] = {
    # know no rule of pay or appraisal
    "helpers": (True, frozenset({
        "compkit", "errors", "money", "fingerprint", "atomic", "excel", "headers", "i18n", "privacy", "browser",
        "_memory", "_text", "_numtext", "parallel", "_threads", "kernels"})),
    # the policy file, the data contract, loading and the raw-data aggregations
    "policy/data": (True, frozenset({
        "policy", "knobs", "data", "contract", "aggregate", "populations", "credits", "sample", "_arrays", "_checks"})),
    # rules computed from the policy and the data alone (below the engine)
    "calculators": (True, frozenset({
        "scoring", "raters", "commission", "pay", "career", "steps", "tax", "compliance", "awards", "protection",
        "training", "voice", "meetings", "targets"})),
    # evaluate -> Outcomes, and the engine's calculators over stacked scenarios
    "engine": (True, frozenset({"engine", "scenarios", "outcome_store"})),
    # what reads Outcomes: never sideways into another analysis
    "analyses": (False, frozenset({
        "calibration", "fairness", "review", "feedback", "appeals", "supervision"})),
    # what people and programs call: reports, published documents, the explorer's controls, the command
    "report/cli": (True, frozenset({
        "report", "present", "briefs", "plots", "rules", "delivery", "explorer", "cli"})),
}


def layer_of(module: str) -> str:
    """The layer of a compkit module (``compkit`` for the package, else the file's stem)."""
    for name, (_, modules) in LAYERS.items():
        if module in modules:
            return name
    raise KeyError(module)


def _rank(layer: str) -> int:
    return list(LAYERS).index(layer)


def imported_modules(source: str, module: str, submodules: set[str]) -> list[tuple[str, int]]:
    """The compkit modules a module's source imports (anywhere in the file), with the line: (module, line).

    ``from compkit import x`` names a module when x is one (``submodules``), else the package ``compkit``;
    relative imports resolve against the package (compkit has no subpackages)."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "compkit":
                    found.append((parts[1] if len(parts) > 1 else "compkit", node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                target = node.module
            elif node.module and node.module.split(".")[0] == "compkit":
                parts = node.module.split(".")
                target = parts[1] if len(parts) > 1 else None
            else:
                continue
            if target:
                found.append((target.split(".")[0], node.lineno))
            else:
                for alias in node.names:
                    found.append((alias.name if alias.name in submodules else "compkit", node.lineno))
    return [(m, line) for m, line in found if m != module]


def package_sources(package: Path = PACKAGE) -> dict[str, str]:
    """Module name -> source of every module of the package (``compkit`` for ``__init__.py``)."""
    return {("compkit" if p.stem == "__init__" else p.stem): p.read_text(encoding="utf-8")
            for p in sorted(package.glob("*.py"))}


def problems(sources: dict[str, str]) -> list[str]:
    """Every breach of the layering in ``sources`` (module -> source), as sentences naming both modules and layers:
    a module without a layer, an upward import, a sideways import into a layer that allows none, a cycle of sibling
    imports within a layer."""
    out: list[str] = []
    known = {m for _, (_, modules) in LAYERS.items() for m in modules}
    for module in sorted(set(sources) - known):
        out.append(f"compkit.{module} has no layer: add it to LAYERS in tests/test_layering.py, in the lowest layer "
                   f"whose modules it may import ({', '.join(LAYERS)})")
    siblings: dict[str, graphlib.TopologicalSorter] = {name: graphlib.TopologicalSorter() for name in LAYERS}
    submodules = set(sources) - {"compkit"}
    for module in sorted(set(sources) & known):
        mine = layer_of(module)
        for target, line in imported_modules(sources[module], module, submodules):
            if target not in known:
                if target in sources:
                    continue  # reported above as a module without a layer
                out.append(f"compkit.{module} (line {line}) imports compkit.{target}, which does not exist")
                continue
            theirs = layer_of(target)
            if _rank(theirs) > _rank(mine):
                out.append(f"compkit.{module} ({mine}) imports compkit.{target} ({theirs}) at line {line}: "
                           f"upward, {theirs} is above {mine}")
            elif theirs == mine:
                if not LAYERS[mine][0]:
                    out.append(f"compkit.{module} ({mine}) imports compkit.{target} ({theirs}) at line {line}: "
                               f"sideways, a module of the {mine} layer imports no other")
                else:
                    siblings[mine].add(module, target)
    for name, graph in siblings.items():
        try:
            graph.prepare()
        except graphlib.CycleError as e:
            cycle = " -> ".join(f"compkit.{m}" for m in reversed(e.args[1]))
            out.append(f"a cycle of imports within the {name} layer: {cycle} (each imports the next); "
                       f"siblings may build on each other one way only")
    return out


def test_compkit_imports_only_downward() -> None:
    found = problems(package_sources())
    assert not found, "modules that import against the layering (DESIGN.md section 1):\n" + "\n".join(found)


def test_every_listed_module_exists() -> None:
    sources = package_sources()
    stale = sorted(m for _, (_, modules) in LAYERS.items() for m in modules if m not in sources)
    assert not stale, f"LAYERS lists modules compkit no longer has: {stale}"


# ------------------------------------------------------------------ the checker itself, on made-up modules


def test_imports_are_found_wherever_they_are_written() -> None:
    source = (
        "from __future__ import annotations\n"
        "import compkit.policy\n"                         # 2
        "from compkit import money, __version__\n"       # 3: a module and the package
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from compkit.data import Dataset\n"          # 6
        "def f():\n"
        "    from compkit.review import compare\n"        # 8: lazy
        "    from . import fairness\n"                    # 9: relative
        "    from .engine import evaluate\n"              # 10
        "    import numpy\n")
    subs = {"policy", "money", "data", "review", "fairness", "engine"}
    assert imported_modules(source, "x", subs) == [
        ("policy", 2), ("money", 3), ("compkit", 3), ("data", 6), ("review", 8), ("fairness", 9), ("engine", 10)]


def test_upward_sideways_and_cycles_are_named_with_both_layers() -> None:
    sources = {
        "money": "",
        "policy": "from compkit import money\n",                 # policy/data -> helpers: down, fine
        "commission": "from compkit.policy import Policy\n",     # calculators -> policy/data: fine
        "pay": "def f():\n    from compkit.engine import evaluate\n",  # calculators -> engine: upward (lazy)
        "engine": "from compkit import pay\n",
        "review": "from compkit.engine import evaluate\n",
        "calibration": "def g():\n    from compkit.review import simulate\n",  # analysis -> analysis: sideways
        "career": "from compkit import steps\n",                 # calculators: siblings, one way: fine
        "steps": "from compkit import career\n",                 # ... and back: a cycle
    }
    found = problems(sources)
    assert ("compkit.pay (calculators) imports compkit.engine (engine) at line 2: upward, engine is above "
            "calculators") in found
    assert ("compkit.calibration (analyses) imports compkit.review (analyses) at line 2: sideways, a module of "
            "the analyses layer imports no other") in found
    assert [p for p in found if p.startswith("a cycle of imports within the calculators layer")]
    assert len(found) == 3


def test_a_module_without_a_layer_fails_with_a_clear_message() -> None:
    found = problems({"policy": "", "shiny_new": "from compkit.policy import Policy\n"})
    assert found == ["compkit.shiny_new has no layer: add it to LAYERS in tests/test_layering.py, in the lowest "
                     "layer whose modules it may import (helpers, policy/data, calculators, engine, analyses, "
                     "report/cli)"]


@pytest.mark.parametrize("module", ["compkit", "policy", "engine", "review", "cli"])
def test_design_layers(module: str) -> None:
    # DESIGN.md section 1: policy/data at the bottom, the engine above the calculators, analyses above the engine,
    # report and cli at the top
    assert {"compkit": "helpers", "policy": "policy/data", "engine": "engine", "review": "analyses",
            "cli": "report/cli"}[module] == layer_of(module)
