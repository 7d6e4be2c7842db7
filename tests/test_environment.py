"""The environment: pyproject.toml is the single source of the dependency list; environment.yml follows it;
the README shows the two set-up commands; CI runs the README's test command."""
from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_lists_exactly_the_pyproject_dependencies() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item)
    listed = [p for p in pip if p != "-e ."]
    assert sorted(listed) == sorted(deps), (
        f"environment.yml differs from pyproject.toml: only in pyproject {sorted(set(deps) - set(listed))}, "
        f"only in environment.yml {sorted(set(listed) - set(deps))}")
    assert "-e ." in pip  # installs compkit itself


def test_readme_and_ci_use_the_make_targets() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make review" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("test:", "review:", "lab:", "$(STAMP): pyproject.toml"):
        assert target in makefile


def test_every_notebook_has_one_parameters_cell() -> None:
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
