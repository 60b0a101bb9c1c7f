"""The runtime chapter: the benchmark's figures and the speed-ups the front page and the discussion quote."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .. import study
from ..bench_report import sweep_table
from ..style import METHOD_COLORS, legend_outside, method_color
from ..timing import Benchmark, load_benchmark

CHAPTER = "runtime"


@dataclass(frozen=True)
class Outputs:
    """The runtime chapter's files: the benchmark JSON (``bench``) and its tables."""

    bench: str = "bench.json"
    per_update: str = "time_per_update.csv"
    paper_hours: str = "paper_hours_per_epoch.csv"
    hours: str = "hours_per_epoch.csv"
    validation: str = "validation_pass.csv"
    targets: str = "speed_targets.csv"
    growth: str = "growth.csv"
    torch_after_aer: str = "torch_after_aer.csv"


OUTPUTS = Outputs()


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
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True, layout="constrained")
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
    legend_outside(fig, ncols=4)
    return fig


def bench_path(profile: str, root: str | Path | None = None) -> Path:
    """Where the chapter's benchmark JSON lives (:attr:`Outputs.bench`); not created."""
    return study.chapter_file(profile, CHAPTER, OUTPUTS.bench, root)


def load(profile: str, root: str | Path | None = None) -> Benchmark | None:
    """The chapter's benchmark (:func:`qrnn_study.timing.load_benchmark`), or ``None`` if not written."""
    path = bench_path(profile, root)
    return load_benchmark(path) if path.is_file() else None
