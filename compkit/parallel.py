"""Independent pieces of work spread over the machine's cores in forked processes (Linux).

The review's sensitivity (a full ``evaluate`` per knob setting) and the Monte Carlo's batches of scenarios are
independent of each other and read the same large inputs (the dataset, the scenario inputs). :func:`fork_map`
runs them in worker processes started by ``fork``: each worker sees the parent's data as it was (shared
copy-on-write, nothing is sent to it) and sends back only its small result (a cost, a batch's totals). The
results come back in the order of the items, and every piece is computed exactly as in one process (a scenario
draws from its own seed), so the result is identical bit for bit whatever the number of processes.

``processes``: None takes ``COMPKIT_PROCESSES`` from the environment, else the number of cores this process may
run on; 1 (or a platform without ``fork``) runs everything here, one piece after the other.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: the function and items of the running :func:`fork_map`, inherited by its forked workers
_TASK: tuple[Callable[[Any], Any], list[Any]] | None = None


def processes(requested: int | None = None) -> int:
    """The number of processes to use: ``requested``, else ``COMPKIT_PROCESSES``, else the usable cores (>= 1)."""
    if requested is None:
        env = os.environ.get("COMPKIT_PROCESSES", "").strip()
        if env:
            try:
                requested = int(env)
            except ValueError:
                requested = None
    if requested is None:
        try:
            requested = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            requested = os.cpu_count() or 1
    return max(1, int(requested))


def _run(i: int) -> Any:
    fn, items = _TASK  # type: ignore[misc]
    return fn(items[i])


def fork_map(fn: Callable[[T], R], items: Iterable[T], processes_: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, spread over :func:`processes` forked worker processes (see the module
    docstring); in this process when one process is asked for, when there is one item, or without ``fork``."""
    global _TASK
    items = list(items)
    n = min(processes(processes_), len(items))
    if n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [fn(x) for x in items]
    if _TASK is not None:  # already inside a fork_map (a worker): no pool within a pool
        return [fn(x) for x in items]
    _TASK = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(n) as pool:
            return pool.map(_run, range(len(items)), chunksize=1)
    finally:
        _TASK = None
