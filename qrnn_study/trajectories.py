"""How much the Lorenz trajectory matters: the same models on trajectories from different initial conditions.

The QRNN runs are the sweep ``trajectories`` (``configs/<profile>/sweeps/trajectories.yaml``:
one run per method and data seed) plus, for the default trajectory, the profile's main run
of each method when it matches the sweep's settings (cut to the sweep's epochs: training
is deterministic epoch by epoch, so its first epochs are what the shorter run gives).
The classical baselines are refit on every trajectory with the hyper-parameters tuned on
the default trajectory's held-out tail by the baselines chapter (not re-tuned per trajectory).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qrnn_core.data import DEFAULT_DATA_SEED, LorenzConfig, load_lorenz

from .analysis import seed_table
from .baselines import BaselineConfig, run_baselines
from .study import StudyRun, chapter_data_dir

SWEEP = "trajectories"
COLUMNS = ["trajectory", "model", "best_epoch", "rmse_y", "rmse_z", "rmse_mean"]
# Settings a main run must share with a sweep case to stand in for its default trajectory.
MATCH_KEYS = ("method", "shots", "lr", "n_train", "val_length", "backend", "device", "epsilon", "spsa_samples", "seed")


# The paper's best validation mean RMSE per method: label -> key of its per-epoch values in paper_reported.json.
PAPER_BESTS = {
    "paper's SPSA best": "validation_rmse_per_epoch_spsa",
    "paper's FDSA best": "validation_rmse_per_epoch_fdsa",
}


def paper_bests(reported: dict) -> dict[str, float]:
    """The lowest per-epoch validation mean RMSE the paper reports for SPSA and FDSA (reported, not measured)."""
    return {label: min(row[2] for row in reported[key]) for label, key in PAPER_BESTS.items()}


def load_tuned(profile: str, root: str | Path | None = None) -> tuple[BaselineConfig, pd.DataFrame]:
    """The baseline settings and choices the baselines chapter tuned (its ``tuned.json``)."""
    path = chapter_data_dir(profile, "baselines", root) / "tuned.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the baselines chapter writes it; run it first (make runs PROFILE={profile})"
        )
    stored = json.loads(path.read_text())
    return BaselineConfig(**stored["config"]), pd.DataFrame(stored["choices"])


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

    A complete main run (no sweep) matching a case of the sweep on :data:`MATCH_KEYS`, on the
    default trajectory, with at least the case's epochs, is that case's default-trajectory run
    unless the sweep has one itself. Columns: :data:`COLUMNS` and ``run``.
    """
    members = [run for run in runs if run.params.get("sweep") == sweep and run.complete]
    rows, cases = [], {}
    for run in members:
        cases.setdefault(
            run.label,
            {
                "key": tuple(run.params.get(k) for k in MATCH_KEYS),
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
                and tuple(run.params.get(k) for k in MATCH_KEYS) == case["key"]
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
