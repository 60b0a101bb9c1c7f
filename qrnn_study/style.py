"""Plot style shared by the chapters: axis labels, one colour per method, limits, the seaborn theme.

Values of x, y and z are min-max scaled to [0, 1] ("scaled units"); the series is
sampled every dt = 0.01 Lorenz time units, so one validation step is 0.01 time units.
"""

from __future__ import annotations

import zlib

import numpy as np
import seaborn as sns

from qrnn_core.estimators import method_names

RMSE_AXIS = "RMSE (scaled units)"


UPDATE_AXIS = "weight update (one 20-step sequence each)"


EPOCH_AXIS = "epoch (0 = untrained)"


STEP_AXIS = "validation step (dt = 0.01 time units)"


REPORTED = "reported by the paper"


TARGETS = ("y", "z")


# Width of a figure that fills the book's text column (inches at 100 dpi: about the column's pixels).
TEXT_WIDTH = 8.0


_PALETTE = sns.color_palette("colorblind", 10).as_hex()


# Gradient methods take their colours from the estimator registry (qrnn_core.estimators), in registration
# order: the palette slots below (spsa, fdsa, param-shift, exact, spsa-fixed, then methods registered later).
_METHOD_SLOTS = (0, 1, 4, 2, 3, 8, 9)
# Colours of what is not a gradient method: classical baselines by model family, the paper's values, the truth.
METHOD_COLORS = {
    "linear": _PALETTE[7],
    "gru": _PALETTE[5],
    "esn": _PALETTE[6],
    "paper": "#7f7f7f",
    "ground truth": "#000000",
}
# Colours for names beyond the slots (many methods registered later), chosen by name.
_EXTRA_COLORS = [_PALETTE[8], _PALETTE[9], "#332288", "#117733", "#882255"]


def method_color(name: str) -> str:
    """The colour of a gradient method or baseline family (case-insensitive); stable for new names too.

    A registered gradient method's colour follows its place in the registry, so a newly
    registered method gets its own colour; other names use :data:`METHOD_COLORS`.
    """
    key = str(name).lower()
    methods = method_names()
    if key in methods and methods.index(key) < len(_METHOD_SLOTS):
        return _PALETTE[_METHOD_SLOTS[methods.index(key)]]
    if key in METHOD_COLORS:
        return METHOD_COLORS[key]
    return _EXTRA_COLORS[zlib.crc32(key.encode()) % len(_EXTRA_COLORS)]


def limits_of(values: np.ndarray, margin: float = 0.1) -> tuple[float, float]:
    """Axis limits spanning ``values`` (NaNs ignored) plus ``margin`` of their range on each side."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        raise ValueError("limits_of needs at least one finite value")
    low, high = float(values.min()), float(values.max())
    pad = margin * (high - low) if high > low else max(abs(high), 1.0) * margin
    return low - pad, high + pad


def use_style() -> None:
    """The study's plot style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
