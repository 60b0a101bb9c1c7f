"""How much the Lorenz trajectory matters: the same models on trajectories from different initial conditions.

The QRNN runs are the sweep ``trajectories`` (``configs/<profile>/sweeps/trajectories.yaml``:
one run per method and data seed) plus, for the default trajectory, the profile's main run
of each method when it matches the sweep's settings (cut to the sweep's epochs: training
is deterministic epoch by epoch, so its first epochs are what the shorter run gives).
The classical baselines are refit on every trajectory with the hyper-parameters tuned on
the default trajectory's held-out tail by the baselines chapter (not re-tuned per trajectory).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qrnn_core.data import DEFAULT_DATA_SEED, LorenzConfig, load_lorenz

from .. import study
from ..classical import BaselineConfig, run_baselines
from ..study import StudyRun, settings_key
from ..style import METHOD_COLORS, REPORTED, TEXT_WIDTH, legend_outside, method_color, plain_log_ticks
from .shots_and_seeds import seed_table

CHAPTER = "trajectories"


@dataclass(frozen=True)
class Outputs:
    """The trajectories chapter's tables: every model on every trajectory (``table``), spread across
    trajectories and seeds."""

    table: str = "trajectories.csv"
    vs_seeds: str = "trajectories_vs_seeds.csv"
    spread: str = "spread.csv"


OUTPUTS = Outputs()


SWEEP = "trajectories"


COLUMNS = ["trajectory", "model", "best_epoch", "rmse_y", "rmse_z", "rmse_mean"]


def trajectory_of(params: dict) -> int:
    """The data seed of a run's trajectory (the default one's when unset)."""
    return DEFAULT_DATA_SEED if params.get("data_seed") is None else int(params["data_seed"])


def best_within(run: StudyRun, epochs: int) -> dict:
    """The best epoch (lowest validation mean RMSE) among epochs 1..``epochs`` and its scores."""
    table = run.epochs[(run.epochs["epoch"] >= 1) & (run.epochs["epoch"] <= epochs)]
    if table.empty:
        raise ValueError(f"run {run.name} has no trained epoch within the first {epochs}")
    best = table.loc[table["val_rmse_mean"].idxmin()]
    return {
        "best_epoch": int(best["epoch"]),
        "rmse_y": float(best["val_rmse_y"]),
        "rmse_z": float(best["val_rmse_z"]),
        "rmse_mean": float(best["val_rmse_mean"]),
    }


def qrnn_table(runs: list[StudyRun], sweep: str = SWEEP) -> pd.DataFrame:
    """Best validation RMSE of every complete QRNN run of ``sweep``, one row per trajectory and model.

    A complete main run (no sweep) with a case's :func:`qrnn_study.study.settings_key` (all but the data seed), on the
    default trajectory, with at least the case's epochs, is that case's default-trajectory run
    unless the sweep has one itself. Columns: :data:`COLUMNS` and ``run``.
    """
    members = [run for run in runs if run.params.get("sweep") == sweep and run.complete]
    rows, cases = [], {}
    for run in members:
        cases.setdefault(
            run.label,
            {
                "key": settings_key(run, "data_seed"),
                "epochs": run.params["epochs"],
                "trajectories": set(),
            },
        )["trajectories"].add(trajectory_of(run.params))
        rows.append(
            {
                "trajectory": trajectory_of(run.params),
                "model": f"QRNN, {run.label}",
                **best_within(run, run.params["epochs"]),
                "run": run.name,
            }
        )
    for label, case in cases.items():
        if DEFAULT_DATA_SEED in case["trajectories"]:
            continue
        for run in runs:
            if (
                run.params.get("sweep") is None
                and run.complete
                and trajectory_of(run.params) == DEFAULT_DATA_SEED
                and run.params.get("data_path") is None
                and run.params["epochs"] >= case["epochs"]
                and settings_key(run, "data_seed") == case["key"]
            ):
                rows.append(
                    {
                        "trajectory": DEFAULT_DATA_SEED,
                        "model": f"QRNN, {label}",
                        **best_within(run, case["epochs"]),
                        "run": run.name,
                    }
                )
                break
    return pd.DataFrame(rows, columns=[*COLUMNS, "run"]).sort_values(["model", "trajectory"], ignore_index=True)


def baseline_table(
    trajectories: list[int], config: BaselineConfig, tuned: pd.DataFrame, val_steps: int | None = None
) -> pd.DataFrame:
    """Every classical baseline, refit with the ``tuned`` choices on each trajectory (data seed).

    Columns: :data:`COLUMNS` (``best_epoch`` empty) and ``parameters``.
    """
    rows = []
    for trajectory in trajectories:
        data = load_lorenz(LorenzConfig(data_seed=int(trajectory)))
        table, _ = run_baselines(data, config, tuned=tuned, val_steps=val_steps)
        for _, row in table.iterrows():
            rows.append(
                {
                    "trajectory": int(trajectory),
                    "model": f"{row['family']}, {row['choice']}",
                    "best_epoch": None,
                    "rmse_y": row["rmse_y"],
                    "rmse_z": row["rmse_z"],
                    "rmse_mean": row["rmse_mean"],
                    "parameters": row["parameters"],
                }
            )
    return pd.DataFrame(rows, columns=[*COLUMNS, "parameters"])


def spread(table: pd.DataFrame, reported: dict[str, float]) -> pd.DataFrame:
    """Per model: how many trajectories, median, min, max and standard deviation of the best mean RMSE,
    and for each reported value the share of trajectories whose best RMSE is at or below it."""
    rows = []
    for model, part in table.groupby("model", sort=False):
        values = part["rmse_mean"].to_numpy(dtype=float)
        row = {
            "model": model,
            "trajectories": len(values),
            "median": np.median(values),
            "min": values.min(),
            "max": values.max(),
            "sd": values.std(ddof=1) if len(values) > 1 else np.nan,
        }
        for label, value in reported.items():
            row[f"share <= {label} ({value:.4f})"] = float(np.mean(values <= value))
        rows.append(row)
    return pd.DataFrame(rows)


def seeds_best(runs: list[StudyRun], epochs: int, sweep: str = "seeds") -> pd.DataFrame:
    """Best validation mean RMSE within the first ``epochs`` of each run of the seeds sweep (default trajectory).

    Columns: model (``QRNN, <variant>``), seed, rmse_mean.
    """
    frame = seed_table(runs, sweep)
    frame = frame[(frame["epoch"] >= 1) & (frame["epoch"] <= epochs)]
    if frame.empty:
        return pd.DataFrame(columns=["model", "seed", "rmse_mean"])
    best = frame.groupby(["variant", "seed"], as_index=False)["rmse_mean"].min()
    return pd.DataFrame({"model": "QRNN, " + best["variant"], "seed": best["seed"], "rmse_mean": best["rmse_mean"]})


def spread_comparison(trajectories: pd.DataFrame, seeds: pd.DataFrame) -> pd.DataFrame:
    """Spread (standard deviation and range) of the best mean RMSE across trajectories and across seeds, per model."""
    rows = []
    for model, part in trajectories.groupby("model", sort=False):
        row = {"model": model}
        for what, values in (
            ("trajectories", part["rmse_mean"]),
            ("seeds", seeds.loc[seeds["model"] == model, "rmse_mean"]),
        ):
            values = values.to_numpy(dtype=float)
            row[f"{what}: n"] = len(values)
            row[f"{what}: sd"] = values.std(ddof=1) if len(values) > 1 else np.nan
            row[f"{what}: range"] = values.max() - values.min() if len(values) else np.nan
        row["sd ratio (trajectories / seeds)"] = (
            row["trajectories: sd"] / row["seeds: sd"] if row["seeds: sd"] else np.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def findings(spread_table: pd.DataFrame, comparison: pd.DataFrame, reported: dict[str, float]) -> str:
    """The chapter's findings in words, from its tables."""
    parts = []
    for _, row in spread_table[spread_table["model"].str.startswith("QRNN")].iterrows():
        shares = ", ".join(
            f"{row[f'share <= {label} ({value:.4f})']:.0%} at or below {label} ({value:.4f})"
            for label, value in reported.items()
        )
        parts.append(
            f"{row['model']}: best mean RMSE {row['min']:.4f} to {row['max']:.4f} over {row['trajectories']} "
            f"trajectories (median {row['median']:.4f}); {shares}."
        )
    for _, row in comparison[comparison["model"].str.startswith("QRNN")].iterrows():
        if row["seeds: n"] > 1 and row["trajectories: n"] > 1:
            bigger = "larger" if row["trajectories: sd"] > row["seeds: sd"] else "smaller"
            parts.append(
                f"{row['model']}: the spread across trajectories (sd {row['trajectories: sd']:.4f}) is {bigger} "
                f"than across training seeds (sd {row['seeds: sd']:.4f}, {int(row['seeds: n'])} seeds)."
            )
        else:
            parts.append(f"{row['model']}: too few seeds or trajectories with results to compare their spreads.")
    return " ".join(parts) if parts else "No QRNN run of the trajectories sweep has a result in this profile."


def spread_figure(table: pd.DataFrame, reported: dict[str, float], compare: pd.DataFrame | None = None) -> Figure:
    """Best validation mean RMSE per model (one row each, log scale), one dot per trajectory (and per training
    seed, if given); a bar at the median over trajectories.

    Colours: QRNN rows by their method (``QRNN, SPSA ...``), classical rows by family (first word).

    ``table``: columns model, trajectory, rmse_mean; ``reported``: label -> a value reported by
    the paper, drawn as a horizontal line; ``compare``: columns model, seed, rmse_mean (the same
    models across training seeds on one trajectory), drawn beside in hollow markers.
    """
    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 1.2 + 0.45 * len(models)), layout="constrained")
    seeds_labelled = False
    for i, model in enumerate(models):
        values = table.loc[table["model"] == model, "rmse_mean"].to_numpy(dtype=float)
        color = method_color(model.removeprefix("QRNN, ").split()[0].split(",")[0])
        label = "across trajectories" if i == 0 else None
        ax.scatter(values, np.full(len(values), i - 0.12), color=color, s=22, zorder=3, label=label)
        ax.plot([np.median(values)] * 2, [i - 0.3, i + 0.06], color=color, lw=2)
        if compare is not None and (compare["model"] == model).any():
            seeds = compare.loc[compare["model"] == model, "rmse_mean"].to_numpy(dtype=float)
            label = None if seeds_labelled else "across training seeds (default trajectory)"
            y = np.full(len(seeds), i + 0.12)
            ax.scatter(seeds, y, facecolors="none", edgecolors=color, s=22, zorder=3, label=label)
            seeds_labelled = True
    for k, (label, value) in enumerate(reported.items()):
        ax.axvline(value, color=METHOD_COLORS["paper"], ls=("--", ":")[k % 2], lw=1, label=f"{label}, {REPORTED}")
    ax.set_yticks(range(len(models)), models, fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("best validation mean RMSE (scaled units, log scale)")
    legend_outside(fig, ncols=2)
    return fig


def load(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """Every model on every trajectory (:attr:`Outputs.table`, :data:`COLUMNS`), or ``None`` if not written."""
    return study.read_output(profile, CHAPTER, OUTPUTS.table, root)


def load_comparison(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """Spread across trajectories beside spread across seeds (:attr:`Outputs.vs_seeds`), or ``None``."""
    return study.read_output(profile, CHAPTER, OUTPUTS.vs_seeds, root)


def paper_bests(reported: dict) -> dict[str, float]:
    """The paper's best validation mean RMSE per method, labelled for this chapter's figure and tables (reported)."""
    return {f"paper's {method.upper()} best": value for method, value in study.paper_best(reported).items()}
