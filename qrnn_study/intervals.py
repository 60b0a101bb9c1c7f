"""Intervals over seeds: Student-t means, chi-square SDs, Welch differences, exact binomial shares."""

from __future__ import annotations

import numpy as np
from scipy import stats

from qrnn_core.checks import check_int, check_number


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its two-sided Student-t interval: ``(mean, low, high)``; infinite bounds with fewer than 2 values.

    Example:
        >>> t_interval(np.array([1.0, 2.0, 3.0]))[0]
        2.0
    """
    values = _sample(values)
    check_number("level", level, 0.5, 0.999)
    mean = float(values.mean())
    if values.size < 2:
        return mean, -np.inf, np.inf
    half = float(stats.t.ppf((1 + level) / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` and its Welch t-interval; infinite bounds if a side has < 2 values."""
    a, b = _sample(a), _sample(b)
    check_number("level", level, 0.5, 0.999)
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, -np.inf, np.inf
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof) * se)
    return diff, diff - half, diff + half


def sd_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Sample SD and its chi-square interval (normal data): ``(sd, low, high)``; ``(0, 0, inf)`` for one value."""
    values = _sample(values)
    check_number("level", level, 0.5, 0.999)
    if values.size < 2:
        return 0.0, 0.0, np.inf
    dof = values.size - 1
    sd = float(values.std(ddof=1))
    low = sd * np.sqrt(dof / stats.chi2.ppf((1 + level) / 2, dof))
    high = sd * np.sqrt(dof / stats.chi2.ppf((1 - level) / 2, dof))
    return sd, float(low), float(high)


def sd_ratio_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of sample SDs ``sd(a) / sd(b)`` and its F-distribution interval; ``(nan, 0, inf)`` when undefined."""
    a, b = _sample(a), _sample(b)
    check_number("level", level, 0.5, 0.999)
    if a.size < 2 or b.size < 2 or b.std(ddof=1) == 0.0:
        return float("nan"), 0.0, np.inf
    ratio = float(a.std(ddof=1) / b.std(ddof=1))
    da, db = a.size - 1, b.size - 1
    low = ratio / np.sqrt(stats.f.ppf((1 + level) / 2, da, db))
    high = ratio / np.sqrt(stats.f.ppf((1 - level) / 2, da, db))
    return ratio, float(low), float(high)


def share_interval(hits: int, n: int, level: float = 0.95, one_sided: bool = False) -> tuple[float, float, float]:
    """Share ``hits / n`` and its exact (Clopper-Pearson) binomial interval.

    With ``one_sided`` each bound is the one-sided ``level`` bound (the lower bound is the one
    to compare with a threshold the share should exceed, the upper one with a threshold it
    should stay below).

    Example:
        >>> round(share_interval(5, 5, one_sided=True)[1], 3)
        0.549
    """
    check_int("n", n, 1)
    check_int("hits", hits, 0, n)
    check_number("level", level, 0.5, 0.999)
    alpha = 1 - level if one_sided else (1 - level) / 2
    low = 0.0 if hits == 0 else float(stats.beta.ppf(alpha, hits, n - hits + 1))
    high = 1.0 if hits == n else float(stats.beta.ppf(1 - alpha, hits + 1, n - hits))
    return hits / n, low, high


def _sample(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"need a non-empty 1-D sample of finite numbers, got {values!r}")
    return array


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _interval(estimate: float, low: float, high: float, digits: int = 4) -> str:
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


# Below this many values the chi-square interval of an SD spans more than an order of magnitude: not shown.
MIN_FOR_SD_INTERVAL = 3


def spread(values: np.ndarray, level: float = 0.95) -> str:
    """``SD x [low, high]`` (chi-square interval over the values), range and count, in words.

    With fewer than :data:`MIN_FOR_SD_INTERVAL` values the interval is left out and the text says n is too small.

    Example:
        >>> spread(np.array([0.1, 0.3]))
        'SD 0.1414 (n = 2: too few for an interval), range 0.1000-0.3000 over 2'
    """
    values = np.asarray(values, dtype=float)
    sd = sd_interval(values, level)
    if len(values) < MIN_FOR_SD_INTERVAL:
        interval = f"(n = {len(values)}: too few for an interval)"
    else:
        interval = f"[{sd[1]:.4f}, {sd[2]:.4f}]"
    return f"SD {sd[0]:.4f} {interval}, range {values.min():.4f}-{values.max():.4f} over {len(values)}"
