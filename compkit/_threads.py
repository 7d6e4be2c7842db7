"""A second thread for a step that does not depend on the one in hand (private helper; knows no rule).

numpy, pandas and Arrow let go of Python's lock in their long loops, so two such steps use two cores: loading
checks the sales table while it checks the others (as the engine's own ``background`` works out the commission
lines and the salary review while it scores). The result is the same as calling the function in place.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Pending:
    """A step started by :func:`in_background`: call it to wait for its result (its exception, if any, is raised
    then); :meth:`done` tells, without waiting, whether it has finished."""

    def __init__(self, future: Future | None = None, result: Any = None) -> None:
        self._future, self._result = future, result

    def __call__(self) -> Any:
        return self._result if self._future is None else self._future.result()

    def done(self) -> bool:
        return self._future is None or self._future.done()

    def running(self) -> bool:
        """Whether a thread is working it out now (started, not finished)."""
        return self._future is not None and self._future.running()


def in_background(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Pending:
    """Start ``fn(*args, **kwargs)`` on a second thread and return a :class:`Pending` that waits for its result
    when called (and raises its exception, if any). numpy, pandas and Arrow let go of Python's lock in their long
    loops, so two steps that do not depend on each other use two cores; the result is the same as calling ``fn``
    in place. ``COMPKIT_THREADS=1`` runs it in place (e.g. under a profiler that follows one thread)."""
    if os.environ.get("COMPKIT_THREADS") == "1":
        return Pending(result=fn(*args, **kwargs))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compkit")
    future = pool.submit(fn, *args, **kwargs)
    pool.shutdown(wait=False)
    return Pending(future)
