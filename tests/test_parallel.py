"""compkit.parallel: pieces of work in forked processes, results in the items' order, as in one process."""
from __future__ import annotations

import os

import pytest

from compkit import parallel


def test_processes_from_the_argument_the_environment_or_the_cores(monkeypatch) -> None:
    monkeypatch.delenv("COMPKIT_PROCESSES", raising=False)
    assert parallel.processes(3) == 3
    assert parallel.processes(0) == 1
    assert parallel.processes() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("COMPKIT_PROCESSES", "1")
    assert parallel.processes() == 1


def test_fork_map_keeps_the_order_and_sees_the_parents_data() -> None:
    big = list(range(1000))  # read by the workers without being sent to them
    got = parallel.fork_map(lambda i: (os.getpid(), sum(big[:i])), range(7), 2)
    assert [s for _, s in got] == [sum(range(i)) for i in range(7)]
    assert parallel.fork_map(lambda i: i * i, [3], 2) == [9]  # one item: here
    assert parallel.fork_map(lambda i: i * i, [], 2) == []


def test_fork_map_raises_a_workers_error() -> None:
    def fail(i: int) -> int:
        if i == 2:
            raise ValueError("piece 2 failed")
        return i

    with pytest.raises(ValueError, match="piece 2 failed"):
        parallel.fork_map(fail, range(4), 2)
    assert parallel._TASK is None  # the next call starts clean
