"""Argument checks: each raises ``ValueError`` naming the bad value and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


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
