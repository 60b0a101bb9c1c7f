"""The accuracy chapter: training and validation RMSE of the main runs beside the paper's per-epoch values."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from qrnn_core.estimators import (
    method_label,
)

from .. import study
from ..study import StudyRun, reported_validation
from ..style import (
    EPOCH_AXIS,
    METHOD_COLORS,
    REPORTED,
    RMSE_AXIS,
    TEXT_WIDTH,
    UPDATE_AXIS,
    legend_outside,
    method_color,
)

CHAPTER = "accuracy"


@dataclass(frozen=True)
class Outputs:
    """The tables the accuracy chapter writes."""

    best: str = "best_validation.csv"
    per_epoch: str = "validation_per_epoch.csv"


OUTPUTS = Outputs()


def validation_table(run: StudyRun, reported: dict) -> pd.DataFrame:
    """Per-epoch validation RMSE of a run beside the paper's reported mean for its method, at the run's epochs."""
    table = run.epochs.set_index("epoch")[["val_rmse_y", "val_rmse_z", "val_rmse_mean", "train_rmse"]]
    table.columns = ["y (measured)", "z (measured)", "mean (measured)", "training RMSE (measured)"]
    paper = reported_validation(reported, run.method)
    if paper is not None:
        table = table.join(paper.set_index("epoch")["val_rmse_mean"].rename("mean (reported by the paper)"), how="left")
    table.index.name = "epoch"
    return table


def best_table(runs: list[StudyRun], reported: dict) -> pd.DataFrame:
    """:data:`~qrnn_study.study.BEST_RMSE` of each run (one seed each), beside the paper's best for the method."""
    rows = []
    for run in runs:
        paper = reported_validation(reported, run.method)
        row = {"run": run.label}
        if run.complete:
            value, epoch = study.best_validation(run)
            row |= {"best validation mean RMSE (measured)": value, "at epoch": epoch}
        else:
            row |= {"best validation mean RMSE (measured)": run.status_text, "at epoch": None}
        if paper is None:
            row |= {"best (reported by the paper)": None, "paper's epoch": None}
        else:
            i = paper["val_rmse_mean"].idxmin()
            row |= {
                "best (reported by the paper)": float(paper["val_rmse_mean"][i]),
                "paper's epoch": int(paper["epoch"][i]),
            }
        rows.append(row)
    return pd.DataFrame(rows).set_index("run")


def block_means(updates: pd.DataFrame, block: int = 10) -> pd.DataFrame:
    """Training RMSE averaged over consecutive blocks of ``block`` updates, at each block's last update."""
    groups = (updates["update"] - 1) // block
    return pd.DataFrame(
        {"update": updates["update"].groupby(groups).max(), "rmse": updates["rmse"].groupby(groups).mean()}
    )


def _not_run(ax: Axes, run: StudyRun) -> None:
    ax.text(0.5, 0.5, f"{run.label}:\n{run.status_text}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_training(ax: Axes, run: StudyRun, block: int = 10, color=None) -> None:
    """Training RMSE of a run, averaged over blocks of ``block`` updates."""
    if not run.complete:
        return _not_run(ax, run)
    means = block_means(run.record.updates, block)
    ax.plot(
        means["update"],
        means["rmse"],
        marker="." if len(means) <= 50 else None,
        label=run.label,
        color=color or method_color(run.method),
    )
    ax.set_xlabel(UPDATE_AXIS)
    ax.set_ylabel(f"training {RMSE_AXIS}\n(mean of {block} updates)")


def plot_validation(ax: Axes, run: StudyRun, reported: dict, color=None) -> None:
    """Validation RMSE per epoch with the paper's reported mean for the method.

    Without ``color``: y (dotted), z (dashed) and their mean (solid), in the method's colour;
    with it: the mean only, in that colour (the paper's values in the method's colour, dashed).
    """
    if not run.complete:
        return _not_run(ax, run)
    epochs = run.epochs
    columns = ("val_rmse_y", "val_rmse_z", "val_rmse_mean") if color is None else ("val_rmse_mean",)
    styles = {"y": (":", "^"), "z": ("--", "v"), "mean": ("-", "o")}  # one colour per method: y, z by line style
    for column in columns:
        name = column.removeprefix("val_rmse_")
        line, marker = styles[name]
        ax.plot(
            epochs["epoch"],
            epochs[column],
            line,
            marker=marker,
            color=color or method_color(run.method),
            label=f"{run.label}: {name}",
        )
    paper = reported_validation(reported, run.method)
    if paper is not None:
        ax.plot(
            paper["epoch"],
            paper["val_rmse_mean"],
            "--",
            marker="x",
            color=color or METHOD_COLORS["paper"],
            label=f"{method_label(run.method)}: mean, {REPORTED}",
        )
    ax.set_xlabel(EPOCH_AXIS)
    ax.set_ylabel(f"validation {RMSE_AXIS}")


def run_curves(run: StudyRun, reported: dict, block: int = 10) -> Figure:
    """Training and validation curves of one run, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.8), layout="constrained")
    plot_training(left, run, block)
    plot_validation(right, run, reported)
    left.set_title("training", fontsize="medium")
    right.set_title("validation", fontsize="medium")
    fig.suptitle(run.label, fontsize="medium")
    legend_outside(fig, ncols=2)
    return fig


def accuracy_figure(spsa: StudyRun, fdsa: StudyRun, reported: dict, block: int = 10) -> Figure:
    """The paper's Figure 2: SPSA (top), FDSA (middle), both compared (bottom); training left, validation right."""
    fig, axes = plt.subplots(3, 2, figsize=(TEXT_WIDTH, 9), layout="constrained")
    colors = [method_color(run.method) for run in (spsa, fdsa)]
    for row, run in enumerate((spsa, fdsa)):
        plot_training(axes[row, 0], run, block, color=colors[row])
        plot_validation(axes[row, 1], run, reported)
        axes[row, 0].set_title(f"{run.label}: training")
        axes[row, 1].set_title(f"{run.label}: validation")
    for run, color in zip((spsa, fdsa), colors):
        if run.complete:
            plot_training(axes[2, 0], run, block, color=color)
            plot_validation(axes[2, 1], run, reported, color=color)
    for ax in axes[:, 0]:
        ax.set_xlabel("weight update (one sequence each)")  # UPDATE_AXIS is too wide for a third of the column
    legend_outside(fig, ncols=3)
    axes[2, 0].set_title("training, both methods")
    axes[2, 1].set_title("validation mean RMSE, both methods")
    return fig


def accuracy_caption(spsa: StudyRun, fdsa: StudyRun, block: int = 10) -> str:
    """Figure 2's caption, written from the runs :func:`accuracy_figure` draws: a run without a result is named
    with its status, never called measured."""
    rows = []
    for where, run in (("top", spsa), ("middle", fdsa)):
        state = "measured" if run.complete else run.status_text
        rows.append(f"{run.label} ({where}, {state})")
    both = [run.label for run in (spsa, fdsa) if run.complete]
    bottom = f"bottom: {' and '.join(both)} together" if both else "bottom: empty, no run has a result"
    return (
        f"**Figure 2.** RMSE diagnostics: {'; '.join(rows)}; {bottom}. Left: training RMSE, mean of blocks of "
        f"{block} updates. Right: validation RMSE per epoch (epoch 0 is the untrained model) and, dashed, the "
        "paper's per-epoch validation mean (reported by the paper, full scale: 1384 sequences per epoch, 1024 Aer "
        "shots)."
    )


def over_seeds(seeds: pd.DataFrame | None) -> str:
    """The :data:`~qrnn_study.study.BEST_RMSE` of every seeds-sweep variant as mean ± SD over seeds (with n)."""
    from . import shots_and_seeds

    if seeds is None:
        return study.missing_output(shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.seeds)
    outcomes = shots_and_seeds.seed_outcomes(seeds)
    epochs, n_train = int(seeds["epoch"].max()), int(seeds["n_train"].iloc[0])
    parts = [
        f"{variant} {study.mean_sd(part['best_rmse'])}" for variant, part in outcomes.groupby("variant", sort=False)
    ]
    return (
        f"Over training seeds ([shots and seeds](shots_and_seeds.html), {epochs} epochs of {n_train} sequences), "
        f"the {study.BEST_RMSE} is, mean ± SD: {'; '.join(parts)}. The table above shows one seed per run; these "
        "are the numbers the front page and the closing pages use."
    )
