"""The predictions chapter: validation predictions of the best epoch against the ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..study import StudyRun
from ..style import METHOD_COLORS, STEP_AXIS, TARGETS, TEXT_WIDTH, limits_of, method_color
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


def plot_predictions(axes: list[Axes], run: StudyRun, steps: int | None = None) -> None:
    """A run's best-epoch validation predictions of y and z (one axis each) against the truth.

    The y axis spans the truth's range and the prediction's central 98 % (plus a margin): a
    transient (e.g. while the recurrent memory fills) is clipped rather than flattening the rest.
    """
    if not run.complete:
        for ax in axes:
            _not_run(ax, run)
        return
    pred = run.record.predictions
    best = run.best_epoch
    n = len(pred["val_targets"]) if steps is None else min(steps, len(pred["val_targets"]))
    for k, (ax, name) in enumerate(zip(axes, TARGETS)):
        ax.plot(pred["val_targets"][:n, k], color=METHOD_COLORS["ground truth"], lw=1.2, label="ground truth")
        label = f"prediction (epoch {best})"
        ax.plot(pred["val_pred_best"][:n, k], lw=1.0, color=method_color(run.method), label=label)
        ax.set_ylim(*prediction_limits(pred["val_targets"][:n, k], pred["val_pred_best"][:n, k]))
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel(f"{name} (scaled units)")
        ax.set_title(f"{run.label}: {name}")
        ax.legend(fontsize="small", loc="best")


def predictions_figure(runs: list[StudyRun], steps: int | None = None) -> Figure:
    """The paper's Figure 3: y (top) and z (bottom) predictions against the truth, one column per run."""
    fig, axes = plt.subplots(2, len(runs), figsize=(TEXT_WIDTH, 5.5), layout="constrained", squeeze=False)
    for column, run in enumerate(runs):
        plot_predictions(list(axes[:, column]), run, steps)
    return fig
