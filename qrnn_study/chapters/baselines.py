"""The baselines chapter: classical models against the QRNN on the same task."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qrnn_core import files
from qrnn_core.training import TrainConfig

from .. import study
from ..classical import MATCHED, BaselineConfig, trained_parameters, tuned_choices
from ..style import METHOD_COLORS, STEP_AXIS, TARGETS, TEXT_WIDTH, legend_outside, limits_of, method_color

CHAPTER = "baselines"


@dataclass(frozen=True)
class Outputs:
    """The baselines chapter's files: the comparison other chapters read (``table``), the tuned choices
    (``tuned``) and its shown tables."""

    table: str = "baselines.csv"
    tuned: str = "tuned.json"
    shown: str = "baselines_table.csv"
    esn_fit: str = "esn_fit.csv"


OUTPUTS = Outputs()


def qrnn_rows(runs: list) -> pd.DataFrame:
    """One row per configured QRNN run (``study.StudyRun``): its best epoch's validation RMSE.

    A run without a complete result gets its status text (e.g. "not run here") in place
    of numbers. ``validation steps`` says how much of the validation sequence it scored.
    """
    rows = []
    for run in runs:
        row = {"model": f"QRNN, {run.label}", "family": "qrnn"}
        if not run.complete:
            rows.append(row | {"status": run.status_text})
            continue
        epochs = run.epoch_records
        best = min(epochs, key=lambda e: e["val_rmse_mean"]) if epochs else None
        scores = (
            run.initial_validation if best is None else {k: best[f"val_{k}"] for k in ("rmse_y", "rmse_z", "rmse_mean")}
        )
        config = TrainConfig.from_dict(
            {k: v for k, v in run.config.items() if k in TrainConfig.__dataclass_fields__} | {"device": "cpu"}
        )
        rows.append(
            row
            | scores
            | {
                "parameters": trained_parameters(config.model_config()),
                "train_time_s": run.timings["total_s"],
                "best epoch": 0 if best is None else best["epoch"],
                "validation steps": len(run.record.predictions["val_targets"]) if run.record.predictions else None,
                "status": "complete",
            }
        )
    return pd.DataFrame(rows)


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``baselines.csv``.

    model, kind (classical | qrnn), parameters, rmse_y, rmse_z, rmse_mean, train_time_s.
    """
    out = table.assign(kind=np.where(table["family"] == "qrnn", "qrnn", "classical"))
    out["parameters"] = out["parameters"].astype("Int64")
    return out[["model", "kind", "parameters", "rmse_y", "rmse_z", "rmse_mean", "train_time_s"]]


def best_pair(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None, pd.Series | None]:
    """The one reading of "best QRNN against best classical model" that every page uses.

    ``table`` is the chapter's comparison (:func:`export_table`'s ``kind`` column) or the table
    before export (its ``family`` column, ``qrnn`` for QRNN rows). Returns the QRNN rows and the
    classical rows with a validation result, and the row of each with the lowest validation mean
    RMSE (``None`` for a kind without rows).
    """
    is_qrnn = table["kind"] == "qrnn" if "kind" in table else table["family"] == "qrnn"
    scored = table["rmse_mean"].notna()
    qrnn, classical = table[is_qrnn & scored], table[~is_qrnn & scored]
    best = [None if part.empty else part.loc[part["rmse_mean"].idxmin()] for part in (qrnn, classical)]
    return qrnn, classical, best[0], best[1]


def verdict(table: pd.DataFrame) -> str:
    """Where the best QRNN stands against the classical rows, in words, from the table's numbers."""
    qrnn, base, q, b = best_pair(table)
    if q is None:
        return "No QRNN run of this profile has a result, so there is nothing to compare with (QRNN: not run)."
    better = base[base["rmse_mean"] < q["rmse_mean"]]
    matched = base[base["choice"].str.contains(MATCHED)]
    matched_better = matched[matched["rmse_mean"] < q["rmse_mean"]]
    text = (
        f"The best QRNN ({q['model']}, {int(q['parameters'])} parameters) reaches a validation mean RMSE of "
        f"{q['rmse_mean']:.4f}. The best classical model "
        f"({b['model']}, {b['hyperparameters'] or 'no hyper-parameters'}) "
        f"reaches {b['rmse_mean']:.4f}"
    )
    if b["rmse_mean"] < q["rmse_mean"]:
        text += f", {q['rmse_mean'] / b['rmse_mean']:.1f} times lower. "
    else:
        text += f": the QRNN is lower by {b['rmse_mean'] - q['rmse_mean']:.4f}. "
    text += (
        f"{len(better)} of the {len(base)} classical rows beat the best QRNN, {len(matched_better)} of the "
        f"{len(matched)} parameter-matched ones"
        + (f" ({', '.join(matched_better['model'])})" if len(matched_better) else "")
        + f". On y: best QRNN {qrnn['rmse_y'].min():.4f}, best classical {base['rmse_y'].min():.4f}; on z: best QRNN "
        f"{qrnn['rmse_z'].min():.4f}, best classical {base['rmse_z'].min():.4f}."
    )
    return text


def load_tuned(profile: str, root: str | Path | None = None) -> tuple[BaselineConfig, pd.DataFrame]:
    """The baseline settings and choices the baselines chapter tuned (its ``tuned.json``)."""
    path = study.chapter_file(profile, CHAPTER, OUTPUTS.tuned, root)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the baselines chapter writes it; run it first (make runs PROFILE={profile})"
        )
    stored = json.loads(path.read_text())
    return BaselineConfig(**stored["config"]), pd.DataFrame(stored["choices"])


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
    legend_outside(fig)
    return fig


def load(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """The chapter's comparison (:attr:`Outputs.table`: :func:`export_table`'s columns), or ``None`` if not written."""
    return study.read_output(profile, CHAPTER, OUTPUTS.table, root)


def write(profile: str, table: pd.DataFrame, config: BaselineConfig, root: str | Path | None = None) -> None:
    """Write the comparison (QRNN and classical rows) and the tuned choices the trajectories chapter refits."""
    out = study.chapter_data_dir(profile, CHAPTER, root)
    files.write_csv(out / OUTPUTS.table, export_table(table))
    tuned = table[table["family"] != "qrnn"]
    files.write_json(out / OUTPUTS.tuned, {"config": dataclasses.asdict(config), "choices": tuned_choices(tuned)})
