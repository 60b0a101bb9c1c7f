"""Plot style shared by the chapters: axis labels, one colour per method, limits, the seaborn theme.

Values of x, y and z are min-max scaled to [0, 1] ("scaled units"); the series is
sampled every dt = 0.01 Lorenz time units, so one validation step is 0.01 time units.
"""

from __future__ import annotations

import html
import zlib
from itertools import combinations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

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


def legend_outside(fig: Figure, ncols: int | None = None, loc: str = "outside lower center") -> None:
    """One legend for the whole figure, outside its panels (below by default) and off the data, from every
    panel's labelled artists (each label once); the panels' own legends are removed. The figure needs
    ``layout="constrained"``."""
    entries: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if entries:
        columns = ncols or min(len(entries), 3)
        fig.legend(list(entries.values()), list(entries), loc=loc, ncols=columns, fontsize="small")


# The class of the warning :func:`show` prints above a figure whose layout check fails (the browser test looks for it).
LAYOUT_PROBLEM_CLASS = "qrnn-layout-problem"


def plain_log_ticks(axis: Axis) -> None:
    """Log-scale ticks at 1, 2 and 5 times powers of ten, written as plain numbers; no minor tick labels."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _drawn_ticks(axis: Axis) -> list[Text]:
    """The tick labels an axis draws: those of ticks inside its view interval (others keep stale positions)."""
    low, high = sorted(axis.get_view_interval())
    pad = 1e-9 * max(abs(low), abs(high), 1.0)
    return [
        tick.label1
        for tick in axis.get_major_ticks() + axis.get_minor_ticks()
        if low - pad <= tick.get_loc() <= high + pad
    ]


def _texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every visible, non-empty label of a figure: axis labels, titles, tick labels, legend entries, figure texts."""
    found = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"panel {k + 1}"
        found += [
            (f"{where} x label", ax.xaxis.label),
            (f"{where} y label", ax.yaxis.label),
            (f"{where} title", ax.title),
        ]
        found += [(f"{where} x tick", t) for t in _drawn_ticks(ax.xaxis)]
        found += [(f"{where} y tick", t) for t in _drawn_ticks(ax.yaxis)]
        if ax.get_legend() is not None:
            found += [(f"{where} legend", t) for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        found += [("figure legend", t) for t in legend.get_texts()]
    found += [("figure text", t) for t in fig.texts]  # suptitle, supxlabel and supylabel among them
    return [(name, t) for name, t in found if t.get_visible() and t.get_text().strip()]


def layout_problems(fig: Figure) -> list[str]:
    """What would make a drawn figure hard to read: two labels that overlap, or a legend that covers plotted data.

    Text boxes are the renderer's (shrunk by one pixel, so labels that merely touch pass).
    A legend covers data when a point of a plotted line (3 points or more) or scatter lies
    inside its box.

    Example:
        >>> fig, ax = plt.subplots(figsize=(2, 2))
        >>> _ = ax.set_xticks(range(40))
        >>> any("overlap" in p for p in layout_problems(fig))
        True
        >>> _ = ax.plot(np.repeat(range(10), 10), np.tile(range(10), 10), ".", label="points everywhere")
        >>> _ = ax.legend(loc="upper left")
        >>> any("legend covers" in p for p in layout_problems(fig))
        True
        >>> plt.close(fig)
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(name, t.get_text(), t.get_window_extent(renderer).padded(-1.0)) for name, t in _texts(fig)]
    problems = [
        f"{a} {ta!r} and {b} {tb!r} overlap"
        for (a, ta, box_a), (b, tb, box_b) in combinations(boxes, 2)
        if box_a.width > 0 and box_b.width > 0 and box_a.overlaps(box_b) and not (a == b and "legend" in a)
    ]
    for k, ax in enumerate(fig.axes):
        legends = [legend for legend in (ax.get_legend(), *fig.legends) if legend is not None]
        points = [line.get_transform().transform(line.get_xydata()) for line in ax.lines if len(line.get_xydata()) >= 3]
        points += [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections if len(c.get_offsets())]
        if not points or not legends:
            continue
        xy = np.concatenate(points)
        xy = xy[np.isfinite(xy).all(axis=1)]
        for legend in legends:
            box = legend.get_window_extent(renderer)
            inside = int(((xy >= [box.x0, box.y0]) & (xy <= [box.x1, box.y1])).all(axis=1).sum())
            if inside:
                problems.append(f"the legend covers {inside} plotted point(s) of panel {k + 1}")
    return problems


def show(fig: Figure | None = None) -> None:
    """Show ``fig`` (default: every open figure) after :func:`layout_problems`: any problem is printed above it,
    in an element of class :data:`LAYOUT_PROBLEM_CLASS`, so the page says so and the browser test fails."""
    from IPython.display import HTML, display

    for figure in [fig] if fig is not None else [plt.figure(n) for n in plt.get_fignums()]:
        problems = layout_problems(figure)
        if problems:
            text = html.escape("; ".join(problems))
            display(HTML(f'<p class="{LAYOUT_PROBLEM_CLASS}"><b>Layout check failed:</b> {text}</p>'))
    plt.show()
