"""compkit.kernels: a notebook's kernel started ahead and warmed with the notebook's imports."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm

from compkit.kernels import WarmKernel, imports_of


def _notebook(path: Path, *cells: str, parameters: str = "x = 1") -> Path:
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(parameters)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells), nbformat.v4.new_markdown_cell("import os")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_imports_of_takes_the_top_level_imports_of_the_code_cells_once(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "n.ipynb",
                   "from __future__ import annotations\nimport numpy as np\nfrom pathlib import Path\nx = np.ones(2)",
                   "%matplotlib inline\nimport json",  # magics: not Python, the cell is skipped
                   "import numpy as np\nif x.sum():\n    import csv\nfrom compkit import i18n, money",
                   parameters="import decimal\ny = 2")  # the parameters cell: left out
    code = imports_of(nb)
    # in order, once each; the nested import (inside the if) and the markdown cell's text are not taken
    assert code == ("def _compkit_warm_up():\n"
                    "    import numpy as np\n"
                    "    from pathlib import Path\n"
                    "    from compkit import i18n, money\n"
                    "\n\ntry:\n    _compkit_warm_up()\nfinally:\n    del _compkit_warm_up\n")
    compile(code, "warm-up", "exec")
    assert imports_of(_notebook(tmp_path / "none.ipynb", "x = 2")) == ""


def test_a_notebook_on_a_warm_kernel_has_its_imports_done_and_the_outputs_of_a_fresh_kernel(tmp_path: Path) -> None:
    """The warm kernel has imported the notebook's modules before its first cell (``colorsys``, which a bare
    kernel does not import, is in sys.modules already), leaves no name behind, starts its execution counts at 1
    and runs in the folder it was given; the same notebook on a fresh kernel gives the same outputs apart from
    the module having been imported ahead."""
    nb = _notebook(tmp_path / "n.ipynb",
                   "import os, sys\nprint('colorsys' in sys.modules, os.getcwd())",
                   "print(sorted(k for k in dir() if 'warm' in k))",
                   "import colorsys\nprint(colorsys.rgb_to_hsv(0.2, 0.4, 0.4))")
    folder = tmp_path / "work"
    folder.mkdir()
    kernel = WarmKernel(nb, folder, warm=False)  # started now, warmed when asked (as the review does)
    kernel.warm()

    def run(target: Path, km=None) -> dict:  # noqa: ANN001
        pm.execute_notebook(str(nb), str(target), kernel_name="python3", progress_bar=False,
                            resources={"metadata": {"path": str(folder)}}, execution_timeout=300,
                            **({"km": km} if km is not None else {}))
        return json.loads(target.read_text(encoding="utf-8"))

    try:
        warm = kernel.submit(run, folder / "warm.ipynb").result(timeout=300)
        assert kernel.km is not None  # papermill was given the started kernel
        kernel.submit(lambda km=None: kernel.shut_down()).result(timeout=60)
        assert kernel.km is None
    finally:
        kernel.close()
    fresh = run(folder / "fresh.ipynb")

    def outputs(nb: dict) -> list:
        return [(c["execution_count"], ["".join(o.get("text", "")) for o in c["outputs"]]) for c in nb["cells"]
                if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])
                and "injected-parameters" not in c["metadata"].get("tags", [])]

    got, expected = outputs(warm), outputs(fresh)
    assert got[0] == (2, [f"True {folder}\n"]) and expected[0] == (2, [f"False {folder}\n"])
    assert got[1:] == expected[1:] == [(3, ["[]\n"]), (4, ["(0.5, 0.5, 0.4)\n"])]
