"""Errors meant for people: each names where the problem is, the value found and what was expected."""
from __future__ import annotations

from dataclasses import dataclass


class CompkitError(Exception):
    """Base class of every error compkit raises on purpose (the CLI prints these without a traceback)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is, what was found, what was expected."""

    file: str
    row: int | None  # the row as the user sees it: line number in a CSV (header = 1), row number in Excel
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        value = "" if self.value is None else f": found {self.value!r}"
        return f"{where}{value}; expected {self.expected}"


class DataError(CompkitError):
    """Every problem found in a dataset, all reported at once."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in the data" + (f" at {source}" if source else "")
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class PolicyError(CompkitError):
    """A policy file that cannot be read or breaks a rule; each line names the key path and the rule."""

    def __init__(self, path: str, messages: list[str]) -> None:
        self.path = path
        self.messages = list(messages)
        super().__init__(f"policy file {path}: {len(self.messages)} problem(s):\n"
                         + "\n".join(f"  - {m}" for m in self.messages))
