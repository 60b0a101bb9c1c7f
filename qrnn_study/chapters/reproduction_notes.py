"""The paper's SPSA as its authors ran it (fixed directions) against proper SPSA, and the paper's own curve.

The authors' backward pass re-created its random generator from the same seed at every
update, so every update used the same two +-1 directions (``spsa-fixed``,
:class:`qrnn_core.estimators.FixedSPSA`). This module compares, at the profile's scale,
the paper's reported SPSA curve, fixed-direction SPSA and proper SPSA (1024 shots, the
default trajectory, every seed the profile has): best epoch, best validation RMSE, the
rise after the best epoch and how far the input layer moves; and it shows the lockstep
groups of the fixed-direction run's input layer beside the figures measured on the
authors' published checkpoint (``book/paper_reported.json``).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats

from qrnn_core.training import epoch_checkpoint

from ..study import StudyRun, reported_validation, settings_key
from ..style import REPORTED, TEXT_WIDTH, legend_outside, method_color

CHAPTER = "reproduction_notes"


@dataclass(frozen=True)
class Outputs:
    """The tables the reproduction notes write."""

    paper_table_1: str = "paper_table_1.csv"
    profile_scales: str = "profile_scales.csv"
    data_details: str = "data_details.csv"
    fixed_directions: str = "spsa_fixed_directions.csv"
    lockstep: str = "spsa_fixed_lockstep.csv"


OUTPUTS = Outputs()


METHODS = {"spsa": "SPSA (fresh directions every update)", "spsa-fixed": "SPSA, fixed directions (as the paper ran it)"}


PAPER_ROW = "the paper's SPSA (reported by the paper)"


AUTHORS_KEY = "spsa_fixed_directions_authors_checkpoint"


INPUT_KEYS = ("input_layer.weight", "input_layer.bias")


GROUP_NAMES = ("(+,+)", "(+,-)", "(-,+)", "(-,-)")


def variant_runs(runs: list[StudyRun], method: str) -> list[StudyRun]:
    """The profile's main CPU run of ``method`` (1024 shots) and every complete run trained like it but for the seed.

    Runs whose :func:`qrnn_study.study.settings_key` without the seed equals the main run's count as seeds
    of one variant, as in the shots-and-seeds chapter.
    """
    mains = [
        run
        for run in runs
        if run.complete
        and run.params.get("sweep") is None
        and run.method == method
        and run.params.get("shots") == 1024
        and str(run.params.get("device", "cpu")) == "cpu"
    ]
    if not mains:
        return []
    reference = settings_key(mains[0], "seed")
    return [run for run in runs if run.complete and settings_key(run, "seed") == reference]


def input_layer(run: StudyRun, epoch: int) -> np.ndarray:
    """The input layer's parameters (weight, then bias) stored at the end of ``epoch`` (0: initialisation)."""
    state = torch.load(epoch_checkpoint(run.run_dir, epoch), map_location="cpu", weights_only=False)
    return torch.cat([state["model"][key].flatten() for key in INPUT_KEYS]).double().numpy()


def directions(run: StudyRun) -> np.ndarray:
    """The fixed directions (K, n_params) a ``spsa-fixed`` run used (stored with its last epoch)."""
    last = len(run.epoch_records)
    state = torch.load(epoch_checkpoint(run.run_dir, last), map_location="cpu", weights_only=False)
    return state["estimator"]["fixed"].double().numpy()


def _mean_sd(values: list[float]) -> tuple[float, float, float]:
    """Mean, sample SD and the half-width of the 95 % t-interval of the mean (NaN where n < 2)."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return float(array.mean()), float("nan"), float("nan")
    sd = float(array.std(ddof=1))
    return float(array.mean()), sd, float(stats.t.ppf(0.975, len(array) - 1) * sd / np.sqrt(len(array)))


def _epochs(run: StudyRun, epochs: int) -> pd.DataFrame:
    return run.epochs[run.epochs["epoch"].between(1, epochs)]


def comparison(runs: list[StudyRun], reported: dict) -> pd.DataFrame:
    """One row per variant: seeds, best epoch, best RMSE, rise after the best epoch, input-layer displacement.

    Every run is read over the same epochs (the fewest any compared run has). Means carry the
    sample SD and the half-width of a 95 % t-interval over seeds; the paper's row is its one run.
    """
    groups = {label: variant_runs(runs, method) for method, label in METHODS.items()}
    epochs = min((len(r.epoch_records) for rs in groups.values() for r in rs), default=0)
    paper = reported_validation(reported, "spsa")
    rows = []
    if paper is not None and epochs:
        curve = paper[paper["epoch"] <= epochs]
        best = curve.loc[curve["val_rmse_mean"].idxmin()]
        rows.append(
            {
                "variant": PAPER_ROW,
                "seeds": 1,
                "epochs compared": epochs,
                "best epoch(s)": str(int(best["epoch"])),
                "best validation RMSE": float(best["val_rmse_mean"]),
                "best RMSE, SD over seeds": float("nan"),
                "best RMSE, 95% t-interval half-width": float("nan"),
                "rise after best epoch": float(curve["val_rmse_mean"].iloc[-1] - best["val_rmse_mean"]),
                "rise, SD over seeds": float("nan"),
                "input-layer displacement (L2, last epoch)": float("nan"),
                "distinct parameter displacements": float("nan"),
            }
        )
    for label, members in groups.items():
        if not members:
            continue
        bests, rises, moves, distinct, at = [], [], [], [], []
        for run in members:
            curve = _epochs(run, epochs)
            best = curve.loc[curve["val_rmse_mean"].idxmin()]
            bests.append(float(best["val_rmse_mean"]))
            rises.append(float(curve["val_rmse_mean"].iloc[-1] - best["val_rmse_mean"]))
            at.append(int(best["epoch"]))
            moved = input_layer(run, epochs) - input_layer(run, 0)
            moves.append(float(np.linalg.norm(moved)))
            distinct.append(len(np.unique(np.round(moved, 4))))  # float32 noise is ~1e-5
        best_mean, best_sd, best_half = _mean_sd(bests)
        rise_mean, rise_sd, _ = _mean_sd(rises)
        rows.append(
            {
                "variant": label,
                "seeds": len(members),
                "epochs compared": epochs,
                "best epoch(s)": ", ".join(map(str, at)),
                "best validation RMSE": best_mean,
                "best RMSE, SD over seeds": best_sd,
                "best RMSE, 95% t-interval half-width": best_half,
                "rise after best epoch": rise_mean,
                "rise, SD over seeds": rise_sd,
                "input-layer displacement (L2, last epoch)": float(np.mean(moves)),
                "distinct parameter displacements": float(np.mean(distinct)),
            }
        )
    return pd.DataFrame(rows).set_index("variant")


def lockstep_groups(run: StudyRun, reported: dict, epoch: int = 2) -> pd.DataFrame:
    """The fixed-direction run's input-layer displacement after ``epoch`` epochs, by the signs of its two directions.

    Beside each group: the authors' published SPSA checkpoint (after epoch 2, from their
    initialisation), as measured in ``../shared/reference/protocol.md``.
    """
    signs = directions(run)
    if signs.shape[0] != 2:
        raise ValueError(f"lockstep groups need 2 fixed directions, run {run.name} has {signs.shape[0]}")
    epoch = shown_epoch([run], epoch)
    moved = input_layer(run, epoch) - input_layer(run, 0)
    index = (signs[0] < 0).astype(int) * 2 + (signs[1] < 0).astype(int)
    authors = reported.get(AUTHORS_KEY, {}).get("group_displacement", {})
    rows = []
    for k, name in enumerate(GROUP_NAMES):
        part = moved[index == k]
        rows.append(
            {
                "direction signs": name,
                "parameters": int(len(part)),
                f"mean displacement after epoch {epoch} (measured)": float(part.mean()) if len(part) else np.nan,
                "spread within the group (max - min, measured)": float(np.ptp(part)) if len(part) else np.nan,
                "authors' checkpoint after epoch 2 (reported)": authors.get(name, np.nan),
            }
        )
    return pd.DataFrame(rows).set_index("direction signs")


def shown_epoch(runs: list[StudyRun], epoch: int = 2) -> int:
    """``epoch`` (default 2, the authors' checkpoint's), or the last epoch every run in ``runs`` has if fewer."""
    return min([epoch, *(len(run.epoch_records) for run in runs)])


def verdict(table: pd.DataFrame, lockstep: pd.DataFrame | None) -> str:
    """Whether the paper's SPSA results depend on the fixed directions, computed from :func:`comparison`."""
    fixed, proper = METHODS["spsa-fixed"], METHODS["spsa"]
    if fixed not in table.index or proper not in table.index:
        return "Fixed-direction and proper SPSA were not both run in this profile: no verdict."
    f, p = table.loc[fixed], table.loc[proper]
    diff = float(f["best validation RMSE"] - p["best validation RMSE"])
    spread = np.nanmax([f["best RMSE, SD over seeds"], p["best RMSE, SD over seeds"], 0.0])
    if np.isnan(spread) or spread == 0.0 or min(f["seeds"], p["seeds"]) < 2:
        accuracy = (
            f"fixed-direction SPSA's best validation RMSE is {f['best validation RMSE']:.4f} against proper "
            f"SPSA's {p['best validation RMSE']:.4f} (difference {diff:+.4f}; too few seeds to call it)"
        )
    else:
        same = abs(diff) <= 2 * spread
        accuracy = (
            f"fixed-direction SPSA reaches a best validation RMSE of {f['best validation RMSE']:.4f} "
            f"(SD {f['best RMSE, SD over seeds']:.4f}, n = {int(f['seeds'])}) against proper SPSA's "
            f"{p['best validation RMSE']:.4f} (SD {p['best RMSE, SD over seeds']:.4f}, n = {int(p['seeds'])}): "
            + (
                "a difference within two seed SDs, so the accuracy does not depend on it"
                if same
                else f"a difference of {diff:+.4f}, more than two seed SDs, so the accuracy does depend on it"
            )
        )
    lock = ""
    if lockstep is not None:
        groups = int((lockstep["parameters"] > 0).sum())
        spread_within = float(lockstep["spread within the group (max - min, measured)"].max())
        lock = (
            f" The fixed directions confine the input layer: its {int(lockstep['parameters'].sum())} parameters "
            f"move in {groups} lockstep groups (largest spread within a group {spread_within:.2g}), "
            f"against {p['distinct parameter displacements']:.0f} distinct displacements under proper SPSA, "
            "as in the authors' checkpoint."
        )
    rises = ""
    if PAPER_ROW in table.index:
        paper_rise = table.loc[PAPER_ROW, "rise after best epoch"]
        rises = (
            f" After its best epoch the paper's SPSA curve rises by {paper_rise:.4f} by epoch "
            f"{int(f['epochs compared'])}; fixed-direction SPSA by {f['rise after best epoch']:.4f} and proper SPSA by "
            f"{p['rise after best epoch']:.4f} (means over seeds)."
        )
    return f"At this profile's scale, {accuracy}.{rises}{lock}"


def displacement_figure(fixed: StudyRun, proper: StudyRun, epoch: int = 2) -> plt.Figure:
    """Per-parameter input-layer displacement after ``epoch`` epochs: fixed directions (by group) and proper SPSA."""
    epoch = shown_epoch([fixed, proper], epoch)
    signs = directions(fixed)
    index = (signs[0] < 0).astype(int) * 2 + (signs[1] < 0).astype(int)
    order = np.argsort(index, kind="stable")
    fig, axes = plt.subplots(1, 2, figsize=(TEXT_WIDTH, 3.2), sharey=True, layout="constrained")
    moved = input_layer(fixed, epoch) - input_layer(fixed, 0)
    for k, name in enumerate(GROUP_NAMES):
        where = np.flatnonzero(index[order] == k)
        axes[0].scatter(where, moved[order][where], s=8, label=f"signs {name}")
    axes[0].set_title(f"{fixed.label}", fontsize=9)
    other = input_layer(proper, epoch) - input_layer(proper, 0)
    axes[1].scatter(np.arange(len(other)), other[order], s=8, color=method_color("spsa"))
    axes[1].set_title(f"{proper.label}", fontsize=9)
    axes[0].set_ylabel(f"displacement after epoch {epoch}")
    fig.supxlabel("input-layer parameter (sorted by direction signs)", fontsize="medium")
    legend_outside(fig, ncols=4, loc="outside upper center")
    return fig


def curves_figure(runs: list[StudyRun], reported: dict) -> plt.Figure:
    """Validation mean RMSE per epoch: the paper's SPSA, fixed-direction SPSA and proper SPSA (every seed)."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 3.4), layout="constrained")
    for method, label in METHODS.items():
        for i, run in enumerate(variant_runs(runs, method)):
            curve = run.epochs[run.epochs["epoch"] >= 1]
            ax.plot(
                curve["epoch"],
                curve["val_rmse_mean"],
                marker="o",
                ms=3,
                lw=1.2,
                alpha=0.8,
                color=method_color(method),
                label=f"{label} ({len(variant_runs(runs, method))} seed(s))" if i == 0 else None,
            )
    paper = reported_validation(reported, "spsa")
    if paper is not None:
        ax.plot(
            paper["epoch"],
            paper["val_rmse_mean"],
            ls="--",
            marker="s",
            ms=3,
            color=method_color("paper"),
            label=f"the paper's SPSA ({REPORTED})",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation mean RMSE")
    legend_outside(fig, ncols=2)
    return fig
