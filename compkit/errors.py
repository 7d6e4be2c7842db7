"""Errors meant for people: each names where the problem is, the value found and what was expected.

``str(error)`` is the English text (logs, tests); :meth:`CompkitError.message` gives the text in the reader's
language (the CLI prints that: ``--lang``, else the policy's ``language``, else Chinese). The parts of a message
that depend on the language are :class:`compkit.i18n.Message` objects (msgid + figures), translated whole when the
message is shown; file names, column names and values stay verbatim.
"""
from __future__ import annotations

from dataclasses import dataclass

from compkit import i18n
from compkit.i18n import N_

#: (row given, column given, value given) -> the sentence naming where the problem is, what was found and
#: what was expected (one whole sentence per case)
_WHERE = {
    (True, True, True): N_("{file}, row {row}, column '{column}': found {value}; expected {expected}"),
    (True, True, False): N_("{file}, row {row}, column '{column}'; expected {expected}"),
    (True, False, True): N_("{file}, row {row}: found {value}; expected {expected}"),
    (True, False, False): N_("{file}, row {row}; expected {expected}"),
    (False, True, True): N_("{file}, column '{column}': found {value}; expected {expected}"),
    (False, True, False): N_("{file}, column '{column}'; expected {expected}"),
    (False, False, True): N_("{file}: found {value}; expected {expected}"),
    (False, False, False): N_("{file}; expected {expected}"),
}


class CompkitError(Exception):
    """Base class of every error compkit raises on purpose (the CLI prints these without a traceback)."""

    def message(self, lang: str | None = None) -> str:
        """The error in ``lang`` (default Chinese): its :class:`~compkit.i18n.Message`'s translation, else the
        catalog's translation of the whole text, else the text as raised."""
        text = self.args[0] if self.args else ""
        return i18n.translate(text, lang) if isinstance(text, str) else str(text)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is, what was found, what was expected."""

    file: str
    row: int | None  # the row as the user sees it: line number in a CSV (header = 1), row number in Excel
    column: str | None
    value: object
    expected: str  # an i18n.Message (or plain English text, looked up in the catalog whole)

    def text(self, lang: str | None = None) -> str:
        """The problem as one sentence in ``lang`` (default Chinese; 'en' gives ``str(problem)``)."""
        key = (self.row is not None, self.column is not None, self.value is not None)
        return i18n.gettext(lang)(_WHERE[key]).format(
            file=i18n.translate(self.file, lang), row=self.row, column=self.column,
            value=None if self.value is None else repr(i18n.translate(self.value, lang) if isinstance(
                self.value, i18n.Message) else self.value), expected=i18n.translate(self.expected, lang))

    def __str__(self) -> str:
        return self.text("en")


class DataError(CompkitError):
    """Every problem found in a dataset, all reported at once."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        _ = i18n.gettext(lang)
        head = (_("{n} problem(s) in the data at {source}:") if self.source else
                _("{n} problem(s) in the data:")).format(n=len(self.problems), source=self.source)
        return head + "\n" + "\n".join(f"  - {p.text(lang)}" for p in self.problems)


class PolicyError(CompkitError):
    """A policy file that cannot be read or breaks a rule; each line names the key path and the rule."""

    def __init__(self, path: str, messages: list[str]) -> None:
        self.path = path
        self.messages = list(messages)
        super().__init__(self.message("en"))

    def message(self, lang: str | None = None) -> str:
        _ = i18n.gettext(lang)
        head = _("policy file {path}: {n} problem(s):").format(path=self.path, n=len(self.messages))
        return head + "\n" + "\n".join(f"  - {i18n.translate(m, lang)}" for m in self.messages)
