"""Figures shared by the study's notebooks (seaborn/matplotlib).

Values of x, y and z are min-max scaled to [0, 1] ("scaled units"); the series is
sampled every dt = 0.01 Lorenz time units, so one validation step is 0.01 time units.
"""

from __future__ import annotations

import zlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from qrnn_core.circuit import build_circuit
from qrnn_core.data import LorenzData
from qrnn_core.estimators import method_label

from .bench_report import sweep_table
from .study import StudyRun, reported_validation

RMSE_AXIS = "RMSE (scaled units)"
UPDATE_AXIS = "weight update (one 20-step sequence each)"
EPOCH_AXIS = "epoch (0 = untrained)"
STEP_AXIS = "validation step (dt = 0.01 time units)"
REPORTED = "reported by the paper"
TARGETS = ("y", "z")
# Width of a figure that fills the book's text column (inches at 100 dpi: about the column's pixels).
TEXT_WIDTH = 8.0
_PALETTE = sns.color_palette("colorblind", 10).as_hex()
# One colour per method across the book: gradient methods by their registry names
# (qrnn_core.estimators), classical baselines by model family, and the paper's reported values.
METHOD_COLORS = {
    "spsa": _PALETTE[0],
    "spsa-fixed": _PALETTE[3],
    "fdsa": _PALETTE[1],
    "exact": _PALETTE[2],
    "param-shift": _PALETTE[4],
    "linear": _PALETTE[7],
    "gru": _PALETTE[5],
    "esn": _PALETTE[6],
    "paper": "#7f7f7f",
    "ground truth": "#000000",
}
# Colours for methods registered later (e.g. notebooks/add_your_method.ipynb), chosen by name.
_EXTRA_COLORS = [_PALETTE[8], _PALETTE[9], "#332288", "#117733", "#882255"]


def method_color(name: str) -> str:
    """The colour of a gradient method or baseline family (case-insensitive); stable for new names too."""
    key = str(name).lower()
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


def use_style() -> None:
    """The study's plot style."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")


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

    Without ``color``: y, z and their mean; with it: the mean only, in that color (the
    paper's values in the method's colour, dashed).
    """
    if not run.complete:
        return _not_run(ax, run)
    epochs = run.epochs
    columns = ("val_rmse_y", "val_rmse_z", "val_rmse_mean") if color is None else ("val_rmse_mean",)
    for column in columns:
        ax.plot(
            epochs["epoch"],
            epochs[column],
            marker="o",
            color=color,
            label=f"{run.label}: {column.removeprefix('val_rmse_')}",
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
    ax.legend(fontsize="small")


def run_curves(run: StudyRun, reported: dict, block: int = 10) -> Figure:
    """Training and validation curves of one run, side by side."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.4), layout="constrained")
    plot_training(left, run, block)
    plot_validation(right, run, reported)
    left.set_title(f"{run.label}: training")
    right.set_title(f"{run.label}: validation")
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
    axes[2, 0].legend(fontsize="small")
    axes[2, 0].set_title("training, both methods")
    axes[2, 1].set_title("validation mean RMSE, both methods")
    return fig


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
    best = run.record.result["best_epoch"]
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


def circuit_diagram(n_qubits: int = 8, steps: int = 2) -> Figure:
    """The QRNN circuit over ``steps`` time steps, drawn by Qiskit."""
    return build_circuit(n_qubits, steps).draw("mpl", fold=-1)


def data_figure(data: LorenzData) -> Figure:
    """The scaled series against time, with the start of the validation sequence marked."""
    fig, axes = plt.subplots(3, 1, figsize=(TEXT_WIDTH, 4.5), sharex=True, layout="constrained")
    time = np.arange(len(data.series)) * data.config.dt
    for k, (ax, name) in enumerate(zip(axes, "xyz")):
        ax.plot(time, data.series[:, k], lw=0.7)
        ax.axvline(data.val_start * data.config.dt, color="black", ls="--", lw=1)
        ax.set_ylabel(f"{name} (scaled units)")
    axes[0].set_title("training pool | validation sequence", loc="center")
    axes[-1].set_xlabel("time (Lorenz time units)")
    return fig


# ---------------------------------------------------------------- runtime benchmark (qrnn_study.timing)


def plot_update_times(frame: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Horizontal log-scale bars of seconds per update (``bench_report.update_plot_frame``).

    One colour per execution path, the paper's reported bars in grey, projected bars hatched,
    measured bars with their min-max range.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.32 * len(frame) + 1.5))
    sources = [s for s in frame["source"].unique() if s != "paper"]
    palette = dict(zip(sources, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    palette["paper"] = METHOD_COLORS["paper"]
    y = np.arange(len(frame))
    for yi, row in zip(y, frame.itertuples()):
        projected = row.kind == "projected"
        ax.barh(
            yi,
            row.seconds,
            color=palette[row.source],
            hatch="//" if projected else None,
            edgecolor="black" if projected else "white",
            linewidth=0.5,
        )
        if row.kind == "measured" and row.high > row.low:
            ax.plot([row.low, row.high], [yi, yi], color="black", linewidth=1)
        ax.text(row.seconds * 1.15, yi, f"{row.seconds:.3g} s ({row.kind})", va="center", fontsize=8)
    ax.set_yticks(y, frame["label"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=frame["seconds"].max() * 40)
    ax.set_xlabel("seconds per weight update (log scale)")
    return ax.figure


def plot_scaling(sweep: dict) -> Figure:
    """Torch update time per method against qubits and against sequence length (log y)."""
    table = sweep_table(sweep)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    config = sweep["config"]
    labels = (f"qubits (sequence length {config['steps']})", f"sequence length ({config['length_qubits']} qubits)")
    for ax, axis, label in zip(axes, ("qubits", "length"), labels):
        part = table[table["axis"] == axis]
        for method, rows in part.groupby("method", sort=False):
            ax.plot(rows["value"], rows["median_s"], marker="o", label=method, color=method_color(method))
        ax.set_xlabel(label)
        ax.set_xticks(sorted(part["value"].unique()))
        ax.set_yscale("log")
    axes[0].set_ylabel("seconds per weight update (torch, CPU)")
    axes[1].legend(title="gradient")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- seeds, cost against accuracy, gradient quality


def seed_figure(frame: pd.DataFrame) -> Figure:
    """Left: validation mean RMSE per epoch, every seed (thin) and the mean over seeds (thick), one colour per
    method, dashed for exact distributions of a shot-based method. Right: how many seeds have their best epoch where.

    ``frame``: :func:`qrnn_study.analysis.seed_table`.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    variants = list(dict.fromkeys(frame["variant"]))
    width = 0.8 / max(len(variants), 1)
    for k, variant in enumerate(variants):
        part = frame[frame["variant"] == variant]
        method = part["method"].iloc[0]
        style = "-" if part["shots"].iloc[0] or method == "exact" else "--"
        color = method_color(method)
        for _, seed_rows in part.groupby("seed"):
            left.plot(seed_rows["epoch"], seed_rows["rmse_mean"], style, color=color, lw=0.7, alpha=0.45)
        mean = part.groupby("epoch")["rmse_mean"].mean()
        seeds = part["seed"].nunique()
        left.plot(mean.index, mean.values, style, color=color, lw=2.2, marker="o", label=f"{variant} ({seeds} seeds)")
        trained = part[part["epoch"] > 0]
        best = trained.loc[trained.groupby("seed")["rmse_mean"].idxmin(), "epoch"].value_counts()
        epochs = np.arange(1, int(trained["epoch"].max()) + 1)
        right.bar(
            epochs + (k - (len(variants) - 1) / 2) * width,
            best.reindex(epochs, fill_value=0).values,
            width,
            color=color,
            hatch=None if style == "-" else "//",
            edgecolor="white",
            label=variant,
        )
    left.set(xlabel=EPOCH_AXIS, ylabel=f"validation mean {RMSE_AXIS}", xticks=np.arange(int(frame["epoch"].max()) + 1))
    right.set_xticks(np.arange(1, int(frame["epoch"].max()) + 1))
    left.set_ylim(*limits_of(frame["rmse_mean"].to_numpy()))
    left.legend(fontsize="small")
    right.set(xlabel="best epoch (lowest validation mean RMSE)", ylabel="seeds")
    right.yaxis.get_major_locator().set_params(integer=True)
    right.legend(fontsize="small")
    return fig


def cost_accuracy_figure(table: pd.DataFrame) -> Figure:
    """Validation mean RMSE after each epoch against cumulative sequence evaluations (left) and shots consumed
    (right, shot-based runs only), one line per run, one colour per method; runs of a sweep thinner.

    ``table``: :func:`qrnn_study.analysis.cost_accuracy`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), layout="constrained")
    trained = table[table["epoch"] > 0]
    labelled = set()
    for _, run in trained.groupby("run", sort=False):
        method, shots, sweep = run["method"].iloc[0], run["shots"].iloc[0], run["sweep"].iloc[0]
        key = f"{method_label(method)}, {f'{shots} shots' if shots else 'exact distributions'}"
        style = {
            "color": method_color(method),
            "ls": "-" if shots or method == "exact" else "--",
            "lw": 0.8 if sweep else 1.8,
            "alpha": 0.6 if sweep else 1.0,
            "marker": "." if sweep else "o",
        }
        label = None if key in labelled else key
        labelled.add(key)
        axes[0].plot(run["evaluations"], run["rmse_mean"], label=label, **style)
        if shots:
            axes[1].plot(run["shots_consumed"], run["rmse_mean"], **style)
    axes[0].set(xscale="log", xlabel="sequence evaluations consumed by training (log)")
    axes[1].set(xscale="log", xlabel="shots consumed by training (evaluations x steps x shots per step, log)")
    for ax in axes:
        ax.set_ylabel(f"validation mean {RMSE_AXIS}")
        if len(trained):
            ax.set_ylim(*limits_of(trained["rmse_mean"].to_numpy()))
    axes[0].legend(fontsize="small")
    return fig


def _quality_errorbars(ax: Axes, table: pd.DataFrame, x: str, label: str, color=None, marker: str = "o") -> None:
    ax.errorbar(
        table[x], table["cosine_mean"], yerr=table["cosine_sem"], marker=marker, capsize=3, label=label, color=color
    )


def quality_epsilon_figure(summary: pd.DataFrame, points: list[str], shots: list[int]) -> Figure:
    """Cosine similarity to the exact gradient against epsilon, FDSA and 2-sample SPSA; one row per shots
    setting (0 = exact distributions), one column per parameter point. ``summary``: ``analysis.epsilon_summary``."""
    fig, axes = plt.subplots(
        len(shots),
        len(points),
        figsize=(5 * len(points), 3.4 * len(shots)),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for i, s in enumerate(shots):
        for j, point in enumerate(points):
            ax = axes[i, j]
            part = summary[(summary["shots"] == s) & (summary["point"] == point)]
            for method, rows in part.groupby("method"):
                evaluations = int(rows["evaluations"].iloc[0])
                name = "FDSA" if method == "fdsa" else "SPSA, 2 samples"
                _quality_errorbars(
                    ax,
                    rows.sort_values("epsilon"),
                    "epsilon",
                    f"{name} ({evaluations} evaluations)",
                    method_color(method),
                )
            ax.set(
                xscale="log",
                xlabel="epsilon",
                ylabel="cosine similarity to the exact gradient",
                title=f"{point}\n{'exact distributions' if s == 0 else f'{s} shots per step'}",
            )
            ax.axhline(0, color="grey", lw=0.5)
    axes[0, 0].legend(fontsize="small")
    return fig


def quality_samples_figure(summary: pd.DataFrame, points: list[str], shots: list[int]) -> Figure:
    """Cosine similarity against the cost of one estimate (sequence evaluations): SPSA by number of samples as a
    line, other estimators as squares; one panel per parameter point. ``summary``: ``analysis.samples_summary``."""
    fig, axes = plt.subplots(
        1, len(points), figsize=(5 * len(points), 3.8), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, point in zip(axes[0], points):
        for s in shots:
            part = summary[(summary["point"] == point) & (summary["shots"] == s)]
            where = "exact" if s == 0 else f"{s} shots"
            spsa = part[part["method"] == "spsa"].sort_values("evaluations")
            ax.errorbar(
                spsa["evaluations"],
                spsa["cosine_mean"],
                yerr=spsa["cosine_sem"],
                capsize=3,
                label=f"SPSA, {where}",
                color=method_color("spsa"),
                marker="o" if s == 0 else "^",
                ls="-" if s == 0 else "--",
            )
            for _, row in part[part["method"] != "spsa"].iterrows():
                ax.errorbar(
                    row["evaluations"],
                    row["cosine_mean"],
                    yerr=row["cosine_sem"],
                    marker="s",
                    capsize=3,
                    label=f"{row['estimator']}, {where}",
                    color=method_color(row["method"]),
                    fillstyle="full" if s == 0 else "none",
                )
        ax.set(xscale="log", xlabel="sequence evaluations per update", ylabel="cosine similarity", title=point)
    axes[0, 0].legend(fontsize="x-small")
    return fig


def quality_shots_figure(summary: pd.DataFrame, points: list[str]) -> Figure:
    """Cosine similarity (top) and relative error (bottom) against shots per step, one column per parameter
    point, one line per estimator. ``summary``: ``analysis.shots_summary``."""
    fig, axes = plt.subplots(
        2, len(points), figsize=(5 * len(points), 6.4), squeeze=False, sharex=True, layout="constrained"
    )
    for j, point in enumerate(points):
        for estimator, part in summary[summary["point"] == point].groupby("estimator"):
            part = part[part["shots"] > 0].sort_values("shots")
            if part.empty:
                continue
            label = f"{estimator} ({int(part['evaluations'].iloc[0])} evaluations)"
            axes[0, j].errorbar(
                part["shots"], part["cosine_mean"], yerr=part["cosine_sem"], marker="o", capsize=3, label=label
            )
            mean, sem = part["relative_error_mean"].to_numpy(), part["relative_error_sem"].to_numpy()
            lower = np.minimum(sem, 0.9 * mean)  # a log axis cannot show a bar reaching zero
            axes[1, j].errorbar(part["shots"], mean, yerr=[lower, sem], marker="o", capsize=3)
        axes[0, j].set(xscale="log", ylabel="cosine similarity", title=point)
        axes[1, j].set(xscale="log", yscale="log", xlabel="shots per step", ylabel="relative error")
    shots = sorted(summary.loc[summary["shots"] > 0, "shots"].unique())
    if len(shots) == 1:  # one shot count: give the log axis a span around it
        axes[0, 0].set_xlim(shots[0] / 2, shots[0] * 2)
    axes[0, 0].legend(fontsize="x-small")
    return fig


def compare_runs_figure(runs: list[StudyRun], block: int = 10) -> Figure:
    """Training (left) and validation mean RMSE per epoch (right) of several runs, one colour per method."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.4), layout="constrained")
    for run in runs:
        color = method_color(run.method)
        plot_training(left, run, block, color=color)
        if run.complete:
            right.plot(run.epochs["epoch"], run.epochs["val_rmse_mean"], marker="o", color=color, label=run.label)
    left.legend(fontsize="small")
    left.set_title("training")
    right.set(xlabel=EPOCH_AXIS, ylabel=f"validation {RMSE_AXIS}\n(mean of y and z)", title="validation")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


# ---------------------------------------------------------------- backend agreement


def pvalue_histograms(pvalues: dict[str, np.ndarray]) -> Figure:
    """One histogram of per-step chi-square p-values per comparison, with the uniform expectation dashed."""
    fig, axes = plt.subplots(1, len(pvalues), figsize=(TEXT_WIDTH, 2.8), squeeze=False, layout="constrained")
    for ax, (name, p) in zip(axes[0], pvalues.items()):
        ax.hist(p, bins=np.linspace(0, 1, 11), edgecolor="white")
        ax.axhline(len(p) / 10, color="black", lw=0.8, ls="--")
        ax.set(title=name, xlabel="chi-square p-value per step", ylabel="steps")
    return fig


def baseline_predictions_figure(targets: np.ndarray, predictions: dict[str, np.ndarray], steps: int = 600) -> Figure:
    """Validation predictions of y (top) and z (bottom) by each named model against the truth.

    ``targets`` (Tv, 2); ``predictions``: model name -> (Tv, 2), coloured by the name's first
    word (its family; a family's second model dashed). The y axes span the truth's range:
    a transient is clipped, not allowed to flatten the rest.
    """
    n = min(steps, len(targets))
    fig, axes = plt.subplots(2, 1, figsize=(TEXT_WIDTH, 5.5), sharex=True, layout="constrained")
    for k, (ax, name) in enumerate(zip(axes, TARGETS)):
        ax.plot(targets[:n, k], color=METHOD_COLORS["ground truth"], lw=1.5, label="ground truth")
        drawn: dict[str, int] = {}
        for model, pred in predictions.items():
            family = model.split()[0]
            style = ("-", "--", ":")[drawn.get(family, 0) % 3]
            drawn[family] = drawn.get(family, 0) + 1
            ax.plot(np.asarray(pred)[:n, k], style, lw=0.9, color=method_color(family), label=model)
        ax.set_ylim(*limits_of(targets[:n, k]))
        ax.set_ylabel(f"{name} (scaled units)")
    axes[1].set_xlabel(STEP_AXIS)
    axes[0].legend(fontsize="x-small", ncol=3, loc="upper right")
    return fig


def spread_figure(table: pd.DataFrame, reported: dict[str, float], compare: pd.DataFrame | None = None) -> Figure:
    """Best validation mean RMSE per model (log scale), one dot per trajectory (and per training seed, if given).

    Colours: QRNN rows by their method (``QRNN, SPSA ...``), classical rows by family (first word).

    ``table``: columns model, trajectory, rmse_mean; ``reported``: label -> a value reported by
    the paper, drawn as a horizontal line; ``compare``: columns model, seed, rmse_mean (the same
    models across training seeds on one trajectory), drawn beside in hollow markers.
    """
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 4.2), layout="constrained")
    seeds_labelled = False
    for i, model in enumerate(models):
        values = table.loc[table["model"] == model, "rmse_mean"].to_numpy(dtype=float)
        color = method_color(model.removeprefix("QRNN, ").split()[0].split(",")[0])
        label = "across trajectories" if i == 0 else None
        ax.scatter(np.full(len(values), i - 0.12), values, color=color, s=22, zorder=3, label=label)
        ax.plot([i - 0.25, i + 0.01], [np.median(values)] * 2, color=color, lw=2)
        if compare is not None and (compare["model"] == model).any():
            seeds = compare.loc[compare["model"] == model, "rmse_mean"].to_numpy(dtype=float)
            label = None if seeds_labelled else "across training seeds (default trajectory)"
            x = np.full(len(seeds), i + 0.12)
            ax.scatter(x, seeds, facecolors="none", edgecolors=color, s=22, zorder=3, label=label)
            seeds_labelled = True
    for k, (label, value) in enumerate(reported.items()):
        ax.axhline(value, color=METHOD_COLORS["paper"], ls=("--", ":")[k % 2], lw=1, label=f"{label}, {REPORTED}")
    ax.set_xticks(range(len(models)), models, rotation=25, ha="right", fontsize="small")
    ax.set_yscale("log")
    ax.set_ylabel("best validation mean RMSE\n(scaled units, log scale)")
    ax.legend(fontsize="small")
    return fig
