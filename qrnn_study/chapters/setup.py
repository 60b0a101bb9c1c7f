"""The setup chapter: the data, the runs' configurations, provenance and cost."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qrnn_core.data import LorenzData
from qrnn_core.protocol import TRAIN_WINDOWS

from ..study import StudyRun
from ..style import TEXT_WIDTH

CHAPTER = "setup"


@dataclass(frozen=True)
class Outputs:
    """The tables the setup chapter writes."""

    data: str = "data.csv"
    runs: str = "run_configurations.csv"
    provenance: str = "provenance.csv"
    cost: str = "cost.csv"


OUTPUTS = Outputs()


def data_figure(data: LorenzData) -> Figure:
    """The scaled series against time, with the start of the validation sequence marked."""
    fig, axes = plt.subplots(3, 1, figsize=(TEXT_WIDTH, 5.5), sharex=True, layout="constrained")
    time = np.arange(len(data.series)) * data.config.dt
    for k, (ax, name) in enumerate(zip(axes, "xyz")):
        ax.plot(time, data.series[:, k], lw=0.7)
        ax.axvline(data.val_start * data.config.dt, color="black", ls="--", lw=1)
        ax.set_ylabel(name)
    axes[0].set_title("training pool | validation sequence", loc="center")
    axes[-1].set_xlabel("time (Lorenz time units)")
    fig.supylabel("scaled units (min-max to [0, 1])", fontsize="medium")
    return fig


def cost_table(runs: list[StudyRun]) -> pd.DataFrame:
    """What each training run cost on this machine: measured per update, projected per paper epoch.

    The projection is ``TRAIN_WINDOWS x`` (1384) the measured mean update time plus one measured
    validation; it is labelled as projected wherever shown.
    """
    rows = []
    for run in runs:
        row = {"run": run.label}
        if run.complete:
            timings = run.timings
            updates = run.record.updates
            evaluations = updates["circuit_evaluations"].mean() if len(updates) else float("nan")
            projected = (
                TRAIN_WINDOWS * timings["mean_update_s"] + timings["mean_validation_s"]
                if len(updates)
                else float("nan")
            )
            row |= {
                "updates": len(updates),
                "sequence evaluations per update": float(evaluations),
                "mean time per update, s (measured)": timings["mean_update_s"],
                "validation pass, s (measured)": timings["mean_validation_s"],
                "whole run, s (measured)": timings["total_s"],
                f"{TRAIN_WINDOWS}-sequence epoch, min (projected)": projected / 60,
            }
        else:
            row |= {"updates": run.status_text}
        rows.append(row)
    return pd.DataFrame(rows).set_index("run")


def provenance_table(runs: list[StudyRun]) -> pd.DataFrame:
    """Package versions, commit, device and creation time of every run, one row per run."""
    rows = []
    for run in runs:
        if run.record is None:
            rows.append({"run": run.label, "status": run.status_text})
            continue
        p = run.provenance
        device = p["device"]
        rows.append(
            {
                "run": run.label,
                "status": run.status if run.complete else run.status_text,
                "CPU": device["cpu"],
                "torch threads": device["torch_threads"],
                "CUDA device": device.get("cuda_device") or "none",
                **{k: v or "" for k, v in p["versions"].items()},
                "git commit": (p.get("git_commit") or "unknown")[:10],
                "created": p["created"],
            }
        )
    return pd.DataFrame(rows).set_index("run").fillna("")
