"""Argument checks: each raises ``ValueError`` naming the bad value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool) in ``[low, high]`` (either bound optional)."""
    bad = isinstance(value, bool) or not isinstance(value, int)
    if not bad:
        bad = (low is not None and value < low) or (high is not None and value > high)
    if bad:
        if low is not None and high is not None:
            allowed = f"an integer in [{low}, {high}]"
        elif low is not None:
            allowed = f"an integer >= {low}"
        elif high is not None:
            allowed = f"an integer <= {high}"
        else:
            allowed = "an integer"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_optional_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int | None:
    """``None`` or an integer in ``[low, high]``."""
    return None if value is None else check_int(name, value, low, high)


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    """A finite number in ``[low, high]`` (either bound optional)."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        bounds = f" in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(
            f"{name} must be a finite number{bounds if (low, high) != (None, None) else ''}, got {value!r}"
        )
    return float(value)


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """One of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(str, allowed))}")
    return value


def add_entry(table: dict[str, T], entry: T, cls: type, kind: str, replace: bool = False) -> T:
    """Put ``entry`` (an object with a ``name``) in the registry ``table``: the one rule of every registry.

    Args:
        table: the registry, name -> entry.
        entry: what to register, an instance of ``cls``.
        cls: the registry's entry type.
        kind: what an entry is, in words ("backend", "gradient method", ...), for the error.
        replace: replace an entry of the same name (refused otherwise).

    Returns:
        ``entry``.

    Raises:
        ValueError: ``entry`` is not a ``cls``, or its name is taken and ``replace`` is False.

    Example:
        >>> from collections import namedtuple
        >>> Entry = namedtuple("Entry", "name")
        >>> table = {"a": Entry("a")}
        >>> add_entry(table, Entry("b"), Entry, "entry").name, list(table)
        ('b', ['a', 'b'])
        >>> add_entry(table, Entry("a"), Entry, "entry")
        Traceback (most recent call last):
        ValueError: entry 'a' is already registered; pass replace=True to replace it
    """
    if not isinstance(entry, cls):
        raise ValueError(f"a {kind} must be a {cls.__name__}, got {type(entry).__name__}")
    name: str = entry.name  # type: ignore[attr-defined]
    if name in table and not replace:
        raise ValueError(f"{kind} {name!r} is already registered; pass replace=True to replace it")
    table[name] = entry
    return entry
