"""compkit: policy modelling for the pay and performance appraisal of customer managers (客户经理).

The public API (see README.md):

    from compkit import load_policy, load_dataset, evaluate, make_sample
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# large temporaries reuse freed memory instead of fresh pages from the kernel (compkit._memory; results unchanged)
from compkit._memory import reuse_freed_memory  # noqa: E402

reuse_freed_memory()

# Names re-exported lazily so that `import compkit` stays cheap (the CLI's --help, notebooks' first cell)
# and so that a module is only imported when it is used.
_EXPORTS = {
    "Policy": "compkit.policy",
    "load_policy": "compkit.policy",
    "PolicyError": "compkit.errors",
    "DataError": "compkit.errors",
    "Dataset": "compkit.data",
    "load_dataset": "compkit.data",
    "make_sample": "compkit.sample",
    "evaluate": "compkit.engine",
    "Outcomes": "compkit.engine",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'compkit' has no attribute {name!r}")
