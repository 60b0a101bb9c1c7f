"""Figures shared by the study's notebooks (seaborn/matplotlib).

Values of x, y and z are min-max scaled to [0, 1] ("scaled units"); the series is
sampled every dt = 0.01 Lorenz time units, so one validation step is 0.01 time units.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .circuit import build_circuit
from .data import LorenzData
from .study import METHOD_NAMES, StudyRun, reported_validation

RMSE_AXIS = "RMSE (scaled units)"
UPDATE_AXIS = "weight update (one 20-step sequence each)"
EPOCH_AXIS = "epoch (0 = untrained)"
STEP_AXIS = "validation step (dt = 0.01 time units)"
REPORTED = "reported by the paper"
TARGETS = ("y", "z")


def use_style() -> None:
    """The study's plot style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


def block_means(updates: pd.DataFrame, block: int = 10) -> pd.DataFrame:
    """Training RMSE averaged over consecutive blocks of ``block`` updates, at each block's last update."""
    groups = (updates["update"] - 1) // block
    return pd.DataFrame({"update": updates["update"].groupby(groups).max(), "rmse": updates["rmse"].groupby(groups).mean()})


def _not_run(ax: Axes, run: StudyRun) -> None:
    ax.text(0.5, 0.5, f"{run.label}:\n{run.status_text}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_training(ax: Axes, run: StudyRun, block: int = 10, color=None) -> None:
    """Training RMSE of a run, averaged over blocks of ``block`` updates."""
    if not run.complete:
        return _not_run(ax, run)
    means = block_means(run.record.updates, block)
    ax.plot(means["update"], means["rmse"], marker="." if len(means) <= 50 else None, label=run.label, color=color)
    ax.set_xlabel(UPDATE_AXIS)
    ax.set_ylabel(f"training {RMSE_AXIS}\n(mean of {block} updates)")


def plot_validation(ax: Axes, run: StudyRun, reported: dict, color=None) -> None:
    """Validation RMSE per epoch with the paper's reported mean for the method.

    Without ``color``: y, z and their mean; with it: the mean only, in that color.
    """
    if not run.complete:
        return _not_run(ax, run)
    epochs = run.epochs
    columns = ("val_rmse_y", "val_rmse_z", "val_rmse_mean") if color is None else ("val_rmse_mean",)
    for column in columns:
        ax.plot(epochs["epoch"], epochs[column], marker="o", color=color, label=f"{run.label}: {column.removeprefix('val_rmse_')}")
    paper = reported_validation(reported, run.method)
    if paper is not None:
        ax.plot(paper["epoch"], paper["val_rmse_mean"], "--", marker="x", color=color or "black",
                label=f"{METHOD_NAMES[run.method]}: mean, {REPORTED}")  # fmt: skip
    ax.set_xlabel(EPOCH_AXIS)
    ax.set_ylabel(f"validation {RMSE_AXIS}")
    ax.legend(fontsize="small")


def run_curves(run: StudyRun, reported: dict, block: int = 10) -> Figure:
    """Training and validation curves of one run, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    plot_training(left, run, block)
    plot_validation(right, run, reported)
    left.set_title(f"{run.label}: training")
    right.set_title(f"{run.label}: validation")
    return fig


def accuracy_figure(spsa: StudyRun, fdsa: StudyRun, reported: dict, block: int = 10) -> Figure:
    """The paper's Figure 2: SPSA (top), FDSA (middle), both compared (bottom); training left, validation right."""
    fig, axes = plt.subplots(3, 2, figsize=(13, 12), layout="constrained")
    colors = sns.color_palette("colorblind", 2)
    for row, run in enumerate((spsa, fdsa)):
        plot_training(axes[row, 0], run, block, color=colors[row])
        plot_validation(axes[row, 1], run, reported)
        axes[row, 0].set_title(f"{run.label}: training")
        axes[row, 1].set_title(f"{run.label}: validation")
    for run, color in zip((spsa, fdsa), colors):
        if run.complete:
            plot_training(axes[2, 0], run, block, color=color)
            plot_validation(axes[2, 1], run, reported, color=color)
    axes[2, 0].legend(fontsize="small")
    axes[2, 0].set_title("training, both methods")
    axes[2, 1].set_title("validation mean RMSE, both methods")
    return fig


def plot_predictions(axes: list[Axes], run: StudyRun, steps: int | None = None) -> None:
    """A run's best-epoch validation predictions of y and z (one axis each) against the truth."""
    if not run.complete:
        for ax in axes:
            _not_run(ax, run)
        return
    pred = run.record.predictions
    best = run.record.result["best_epoch"]
    n = len(pred["val_targets"]) if steps is None else min(steps, len(pred["val_targets"]))
    for k, (ax, name) in enumerate(zip(axes, TARGETS)):
        ax.plot(pred["val_targets"][:n, k], color="black", lw=1.2, label="ground truth")
        ax.plot(pred["val_pred_best"][:n, k], lw=1.0, label=f"prediction (epoch {best})")
        ax.set_xlabel(STEP_AXIS)
        ax.set_ylabel(f"{name} (scaled units)")
        ax.set_title(f"{run.label}: {name}")
        ax.legend(fontsize="small", loc="upper right")


def predictions_figure(runs: list[StudyRun], steps: int | None = None) -> Figure:
    """The paper's Figure 3: y (top) and z (bottom) predictions against the truth, one column per run."""
    fig, axes = plt.subplots(2, len(runs), figsize=(7 * len(runs), 7), layout="constrained", squeeze=False)
    for column, run in enumerate(runs):
        plot_predictions(list(axes[:, column]), run, steps)
    return fig


def circuit_diagram(n_qubits: int = 8, steps: int = 2) -> Figure:
    """The QRNN circuit over ``steps`` time steps, drawn by Qiskit."""
    return build_circuit(n_qubits, steps).draw("mpl", fold=-1)


def data_figure(data: LorenzData) -> Figure:
    """The scaled series against time, with the start of the validation sequence marked."""
    fig, axes = plt.subplots(3, 1, figsize=(12, 6), sharex=True, layout="constrained")
    time = np.arange(len(data.series)) * data.config.dt
    for k, (ax, name) in enumerate(zip(axes, "xyz")):
        ax.plot(time, data.series[:, k], lw=0.7)
        ax.axvline(data.val_start * data.config.dt, color="black", ls="--", lw=1)
        ax.set_ylabel(f"{name} (scaled units)")
    axes[0].set_title("training pool | validation sequence", loc="center")
    axes[-1].set_xlabel("time (Lorenz time units)")
    return fig
