"""Knobs: one type and one policy-path syntax for every "what if this setting were x" (calibration's budget
solver, the review's sensitivity, the explorer's controls).

A path is the policy's YAML keys joined by dots, ``[x]`` selecting a list item by position or, for lists of
objects with an id, by id (the syntax of :meth:`compkit.policy.Policy.updated`), e.g.
``commission.products[insurance].tiers[0].rate``, ``bonus.curve[2][1]``, ``commission.cap.times_annual_base``.
``[*]`` selects every item of a list: ``commission.products[insurance].tiers[*].rate`` is every tier's rate.

A :class:`Knob` has one or more paths and a mode:
  set     the value at every path becomes x
  scale   every value at the paths is multiplied by x (1 = the policy as it is); a ``rate`` stays at most 1
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from compkit.errors import CompkitError
from compkit.policy import Policy

_ITEM = re.compile(r"\[([^\]]*)\]")


class KnobError(CompkitError, KeyError):
    """A what-if that names no knob of the policy, or a design no policy can have (all weights zero). A KeyError
    too, so that ``except KeyError`` around a lookup of a knob by name still catches it."""

    def __str__(self) -> str:
        return CompkitError.__str__(self)


def expand(policy: Policy, path: str) -> list[str]:
    """The concrete paths a path with ``[*]`` stands for (in list order); a path without ``[*]`` itself."""
    if "[*]" not in path:
        return [path]
    head, tail = path.split("[*]", 1)
    items = policy.get(head)
    out: list[str] = []
    for i, item in enumerate(items):
        key = item["id"] if isinstance(item, dict) and "id" in item else i
        out.extend(expand(policy, f"{head}[{key}]{tail}"))
    return out


@dataclass(frozen=True)
class Knob:
    """One setting of a policy that an analysis moves: ``paths`` (see the module docstring), ``mode`` set or
    scale, a range (``low``, ``high``) and ``step`` for controls and solvers, ``name`` for people and
    ``group`` for grouping controls, ``value`` the setting when the knob was made for a policy. ``kind``
    ``category_weight`` / ``indicator_weight``: a weight whose siblings the explorer renormalises to add up
    to 1. ``label``: the knob in words in a reader's language (the explorer's controls; ``name`` is the key a
    design uses and stays the same in every language)."""

    paths: tuple[str, ...]
    mode: Literal["set", "scale"] = "set"
    name: str = ""
    low: float = float("nan")
    high: float = float("nan")
    step: float = float("nan")
    group: str = ""
    kind: str = "value"
    value: float = float("nan")
    label: str = ""

    @property
    def path(self) -> str:
        """The knob's paths as one text (one path, or paths joined by ', ')."""
        return ", ".join(self.paths)

    def current(self, policy: Policy) -> float:
        """The current setting: the value at the first path (set), or 1.0 (scale)."""
        if self.mode == "scale":
            return 1.0
        return float(policy.get(expand(policy, self.paths[0])[0]))

    def changes(self, policy: Policy, x: float) -> dict[str, Any]:
        """The key-path changes that set the knob to ``x``."""
        out: dict[str, Any] = {}
        for path in self.paths:
            for p in expand(policy, path):
                if self.mode == "set":
                    out[p] = float(x)
                else:
                    v = float(policy.get(p)) * float(x)
                    out[p] = min(1.0, v) if p.endswith(".rate") else v
        return out

    def apply(self, policy: Policy, x: float) -> Policy:
        """A new, validated policy with the knob at ``x``."""
        return policy.updated(self.changes(policy, x))


def knob(path: str | Sequence[str], mode: Literal["set", "scale"] = "set", **kw: Any) -> Knob:
    """A Knob from one path or several (``name`` defaults to the path)."""
    paths = (path,) if isinstance(path, str) else tuple(path)
    kw.setdefault("name", ", ".join(paths))
    return Knob(paths, mode, **kw)


def product_rate_paths(policy: Policy, product: str) -> list[str]:
    """Every rate path of a commission product: its tiers' rates, its flat ``rate`` or its ``rate_per_10k``."""
    p = policy.commission.product(product)
    base = f"commission.products[{product}]"
    if p.tiers is not None:
        return [f"{base}.tiers[{i}].rate" for i in range(len(p.tiers))]
    return [f"{base}.rate" if p.rate is not None else f"{base}.rate_per_10k"]


def commission_rates(policy: Policy, product: str | None = None, **kw: Any) -> Knob:
    """A multiplier of every commission rate (of one product, or of all): tiers, flat rates, 元 per 万元."""
    products = [product] if product is not None else [p.id for p in policy.commission.products]
    paths = [path for pid in products for path in product_rate_paths(policy, pid)]
    kw.setdefault("name", f"{product} commission rate" if product else "every commission rate")
    return Knob(tuple(paths), "scale", **kw)


def bonus_curve(policy: Policy, **kw: Any) -> Knob:
    """A multiplier of every payout of the bonus curve (``bonus.curve[*][1]``)."""
    kw.setdefault("name", "bonus curve payouts")
    return Knob(("bonus.curve[*][1]",), "scale", **kw)
