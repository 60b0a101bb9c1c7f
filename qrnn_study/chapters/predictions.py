"""The predictions chapter: validation predictions of the best epoch against the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..study import StudyRun
from ..style import METHOD_COLORS, STEP_AXIS, TARGETS, TEXT_WIDTH, legend_outside, limits_of, method_color
from .accuracy import _not_run

CHAPTER = "predictions"


@dataclass(frozen=True)
class Outputs:
    """The predictions chapter writes no file."""

    pass


OUTPUTS = Outputs()


def prediction_limits(truth: np.ndarray, prediction: np.ndarray, quantile: float = 0.01) -> tuple[float, float]:
    """Axis limits for predictions against the truth: the truth's range and the prediction's central range.

    Prediction values outside its ``quantile``..``1 - quantile`` range (e.g. one transient while
    the recurrent memory fills) do not stretch the axis; they are clipped.
    """
    prediction = np.asarray(prediction, dtype=float)
    finite = prediction[np.isfinite(prediction)]
    if len(finite):
        finite = finite[(finite >= np.quantile(finite, quantile)) & (finite <= np.quantile(finite, 1 - quantile))]
    return limits_of(np.concatenate([np.asarray(truth, dtype=float), finite]))


def zoom_window(run: StudyRun, window: tuple[int, int]) -> tuple[int, int]:
    """``window`` (first step, end step) clipped to the run's validation steps (the whole of a shorter series)."""
    n = len(run.record.predictions["val_targets"]) if run.complete else window[1]
    low, high = min(window[0], n), min(window[1], n)
    return (0, n) if high - low < 2 else (low, high)


def plot_predictions(
    axes: list[Axes],
    run: StudyRun,
    steps: int | None = None,
    window: tuple[int, int] | None = None,
    shade: tuple[int, int] | None = None,
) -> None:
    """A run's best-epoch validation predictions of y and z (one axis each) against the truth.

    ``window`` draws validation steps ``window[0]`` to ``window[1]`` only (a zoom); ``shade``
    marks such a window on the full series. The y axis spans the truth's range and the
    prediction's central 98 % (plus a margin): a transient (e.g. while the recurrent memory
    fills) is clipped rather than flattening the rest.
    """
    if not run.complete:
        for ax in axes:
            _not_run(ax, run)
        return
    pred = run.record.predictions
    n = len(pred["val_targets"]) if steps is None else min(steps, len(pred["val_targets"]))
    low, high = (0, n) if window is None else zoom_window(run, window)
    x = np.arange(low, high)
    for k, (ax, name) in enumerate(zip(axes, TARGETS)):
        truth, best = pred["val_targets"][low:high, k], pred["val_pred_best"][low:high, k]
        if shade is not None:
            ax.axvspan(*shade, color="0.88", zorder=0, lw=0)
        ax.plot(x, truth, color=METHOD_COLORS["ground truth"], lw=1.2, label="ground truth")
        ax.plot(x, best, lw=1.0, color=method_color(run.method), label=f"{run.label}, best epoch")
        ax.set_ylim(*prediction_limits(truth, best))
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel(f"{name} (scaled units)")
        ax.set_title(f"{run.label}, epoch {run.best_epoch}: {name}", fontsize="medium")


def predictions_figure(
    runs: list[StudyRun],
    steps: int | None = None,
    window: tuple[int, int] | None = None,
    shade: tuple[int, int] | None = None,
) -> Figure:
    """The paper's Figure 3: y (top) and z (bottom) predictions against the truth, one column per run.

    ``window``: only those validation steps (a zoom); ``shade``: mark that window. One legend
    below the panels, off the data: the ground truth and each run's colour.
    """
    fig, axes = plt.subplots(2, len(runs), figsize=(TEXT_WIDTH, 6.0), layout="constrained", squeeze=False)
    for column, run in enumerate(runs):
        plot_predictions(list(axes[:, column]), run, steps, window, shade)
    legend_outside(fig, ncols=len(runs) + 1)
    return fig
