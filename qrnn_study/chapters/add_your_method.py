"""The add-your-method chapter: a newly registered estimator trained beside SPSA."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..study import StudyRun
from ..style import EPOCH_AXIS, RMSE_AXIS, TEXT_WIDTH, legend_outside, method_color
from .accuracy import plot_training

CHAPTER = "add_your_method"


@dataclass(frozen=True)
class Outputs:
    """The folder of the demonstration runs (one run folder per method inside)."""

    runs: str = "runs"


OUTPUTS = Outputs()


def compare_runs_figure(runs: list[StudyRun], block: int = 10) -> Figure:
    """Training (left) and validation mean RMSE per epoch (right) of several runs, one colour per method."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.4), layout="constrained")
    for run in runs:
        color = method_color(run.method)
        plot_training(left, run, block, color=color)
        if run.complete:
            right.plot(run.epochs["epoch"], run.epochs["val_rmse_mean"], marker="o", color=color, label=run.label)
    left.set_title("training")
    right.set(xlabel=EPOCH_AXIS, ylabel=f"validation {RMSE_AXIS}\n(mean of y and z)", title="validation")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend_outside(fig)
    return fig
