"""Errors meant for people: each names where the problem is, the value found and what was expected.

``str(error)`` is the text in the language messages are shown in (:func:`compkit.i18n.use`: Chinese unless set;
the CLI sets ``--lang``, else the policy's ``language``); :meth:`CompkitError.message` gives the text in a given
language (``"en"``: English). The parts of a message
that depend on the language are :class:`compkit.i18n.Message` objects (msgid + figures), translated whole when the
message is shown; file names, column names and values stay verbatim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from compkit import i18n
from compkit.i18n import M_, N_

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
    """Base class of every error compkit raises on purpose (the CLI prints these without a traceback).

    ``str(error)`` is the message in the language of :func:`compkit.i18n.shown` (Chinese unless
    :func:`compkit.i18n.use` changed it; the CLI sets it from ``--lang``), ``error.message(lang)`` the message in a
    given language (``error.message("en")`` the English text); ``error.args[0]`` keeps the English text (an
    :class:`~compkit.i18n.Message`)."""

    def __str__(self) -> str:
        try:
            return self.message(i18n.shown())
        except Exception:  # noqa: BLE001 - a message that cannot be translated is still shown, in English
            return Exception.__str__(self)

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
        head = _("policy file {path}: {n} problem(s):").format(path=i18n.translate(self.path, lang),
                                                               n=len(self.messages))
        return head + "\n" + "\n".join(f"  - {i18n.translate(m, lang)}" for m in self.messages)


def listed(lines: list[Any]) -> i18n.Joined:
    """Problems one per line (each translated when shown), for a message that puts ``\\n  - `` before the first:
    ``M_("{file}:\\n  - {problems}", file=f, problems=listed(lines))``."""
    return i18n.Joined(lines, "\n  - ")


# ------------------------------------------------------------------------------------ pydantic's errors

#: pydantic's error types people meet in a policy or settings file -> our msgid for it (its English text is
#: pydantic's; the figures are the error's context). The others are shown in pydantic's words.
PYDANTIC_MESSAGES = {
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "finite_number": N_("Input should be a finite number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid tuple"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "missing": N_("required key is missing"),
    "extra_forbidden": N_("unknown key (not part of the policy format; check the spelling)"),
}

#: the ones whose text names a number of items (singular and plural in English, one sentence in Chinese)
_LENGTH_MESSAGES = {
    "too_short": (N_("{field_type} should have at least {min_length} item after validation, not {actual_length}"),
                  N_("{field_type} should have at least {min_length} items after validation, not {actual_length}")),
    "too_long": (N_("{field_type} should have at most {max_length} item after validation, not {actual_length}"),
                 N_("{field_type} should have at most {max_length} items after validation, not {actual_length}")),
}
#: the kinds of collection pydantic names in a length error
_FIELD_TYPES = (N_("List"), N_("Tuple"), N_("Dictionary"), N_("Set"), N_("Value"))
_CHOICE = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|True|False|None""")


def choices(expected: str) -> Any:
    """pydantic's list of allowed values (``'month', 'cycle_to_date' or 'b'``) as a Message: the values verbatim,
    joined in the reader's language (``'month'、'cycle_to_date' 或 'b'``); the text unchanged if it is not such
    a list."""
    items = _CHOICE.findall(expected)
    if not items:
        return expected
    if len(items) == 1:
        return expected  # one value: nothing to join
    rebuilt = ", ".join(items[:-1]) + " or " + items[-1]
    if rebuilt != expected:
        return expected
    listed = items[-2]
    for item in reversed(items[:-2]):
        listed = M_("{first}, {rest}", first=item, rest=listed)
    return M_("{choices} or {last}", choices=listed, last=items[-1])


def pydantic_message(e: dict, unknown_key: str = PYDANTIC_MESSAGES["extra_forbidden"]) -> Any:
    """The message of one pydantic error (an item of ``ValidationError.errors()``), from its type and context
    (never by rewording pydantic's English): ours when a validator raised a ValueError with an
    :class:`~compkit.i18n.Message`; a Message for the types of :data:`PYDANTIC_MESSAGES` (its English text
    pydantic's, checked) with lists of allowed values joined in the reader's language; else pydantic's words.
    ``unknown_key``: the msgid for a key the format does not have (the policy's by default)."""
    msg = e.get("msg", "").removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = e.get("type", "")
    ctx = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in (e.get("ctx") or {}).items()}
    if kind in ("value_error", "assertion_error") and isinstance(ctx.get("error"), Exception) \
            and ctx["error"].args and isinstance(ctx["error"].args[0], i18n.Message):
        return ctx["error"].args[0]
    if kind == "missing":
        return M_(PYDANTIC_MESSAGES[kind])
    if kind == "extra_forbidden":
        return M_(unknown_key)
    if kind in ("literal_error", "enum") and isinstance(ctx.get("expected"), str):
        ours: Any = M_("Input should be {expected}", expected=choices(ctx["expected"]))
    elif kind in _LENGTH_MESSAGES and {"field_type", "min_length", "max_length"} & set(ctx):
        limit = ctx.get("min_length", ctx.get("max_length"))
        msgid = _LENGTH_MESSAGES[kind][0 if limit == 1 else 1]
        ctx["field_type"] = M_(ctx.get("field_type", "Value"))
        try:
            ours = M_(msgid, **ctx)
        except (KeyError, IndexError, ValueError):
            return msg
    elif kind in PYDANTIC_MESSAGES:
        try:
            ours = M_(PYDANTIC_MESSAGES[kind], **ctx)
        except (KeyError, IndexError, ValueError):
            return msg
    else:
        return msg
    return ours if str(ours) == msg else msg
