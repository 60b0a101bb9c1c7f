"""The book's front page: key results read from the chapters this build ran.

Every number comes from a file the build wrote (the runtime chapter's benchmark, the
training runs, the baselines chapter's table) or from ``book/paper_reported.json``;
each row names its scale and links to the chapter it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qrnn_core.estimators import (
    method_label,
)

from .. import bench_report, study
from ..tables import format_number
from . import accuracy, baselines, gradient_quality, runtime

CHAPTER = "summary"


@dataclass(frozen=True)
class Outputs:
    """The table the front page writes."""

    key_results: str = "key_results.csv"


OUTPUTS = Outputs()


NOT_BUILT = "not built"


COLUMNS = ["result", "this build", "the paper", "scale", "chapter", "chapter_href"]


def _row(result: str, ours: str, paper: str, scale: str, chapter: str, title: str) -> dict:
    return dict(zip(COLUMNS, (result, ours, paper, scale, title, f"{chapter}.html")))


# The benchmark path that executes like the paper (one Aer run with shots per sequence).
SEED_STYLE = "seed-style"


def speedup_rows(result: dict) -> list[dict]:
    """Per method: the fastest path's speed-up over the paper's execution (``seed-style``) in one benchmark."""
    table = bench_report.update_table(result)
    config = result["config"]
    scale = (
        f"benchmark of one weight update, {config['n_qubits']} qubits, {config['steps']}-step sequences, "
        f"median of {config['repeats']} repeat(s); this build's machine"
    )
    rows = []
    for method in bench_report.methods(result):
        part = table[
            (table["method"] == method) & (table["path"] != SEED_STYLE) & table["speedup_vs_seed_style"].notna()
        ]
        paper = table[(table["method"] == method) & (table["path"] == SEED_STYLE)]["status"]
        name = method_label(method)
        if part.empty:
            reason = paper.iloc[0] if len(paper) else "not timed"
            ours = f"{reason} (the paper's execution, Qiskit Aer with shots, has no {name})"
        else:
            best = part.loc[part["speedup_vs_seed_style"].idxmax()]
            ours = (
                f"{format_number(best['speedup_vs_seed_style'], 3)}× faster ({best['path']}: {best['status']}; "
                f"the paper's execution: {paper.iloc[0]})"
            )
        rows.append(
            _row(
                f"speed-up of one {name} weight update over the paper's execution",
                ours,
                "—",
                scale,
                runtime.CHAPTER,
                "Runtime",
            )
        )
    return rows


def accuracy_rows(runs: list[study.StudyRun], reported: dict) -> list[dict]:
    """Best validation mean RMSE of the SPSA and FDSA CPU runs beside the paper's best for the method."""
    rows = []
    for method in study.REPORTED_VALIDATION:
        run = study.pick(runs, method)
        paper = study.reported_validation(reported, method)
        best_paper = paper.loc[paper["val_rmse_mean"].idxmin()]
        paper_text = f"{best_paper['val_rmse_mean']:.4f} (epoch {int(best_paper['epoch'])}, reported)"
        if run.complete:
            epochs = run.epochs
            best = epochs.loc[epochs["val_rmse_mean"].idxmin()]
            ours = f"{best['val_rmse_mean']:.4f} (epoch {int(best['epoch'])}, measured)"
        else:
            ours = run.status_text
        rows.append(
            _row(
                f"best validation RMSE (mean of y and z), {run.label}",
                ours,
                paper_text,
                run.scale(),
                accuracy.CHAPTER,
                "Accuracy",
            )
        )
    return rows


def baseline_rows(table: pd.DataFrame | None) -> list[dict]:
    """The best QRNN beside the best classical model, from the baselines chapter's table (``None``: not built)."""
    title, name = "Classical baselines", baselines.OUTPUTS.table
    if table is None:
        return [
            _row(
                "best QRNN and best classical model (validation RMSE, mean)",
                f"{NOT_BUILT} ({name} missing)",
                "—",
                "—",
                baselines.CHAPTER,
                title,
            )
        ]
    _, _, *bests = baselines.best_pair(table)
    rows = []
    for best, label in zip(bests, ("best QRNN", "best classical model")):
        if best is None:
            rows.append(
                _row(
                    f"{label} (validation RMSE, mean)",
                    f"none with a result in {name}",
                    "—",
                    "—",
                    baselines.CHAPTER,
                    title,
                )
            )
            continue
        rows.append(
            _row(
                f"{label} (validation RMSE, mean)",
                f"{best['rmse_mean']:.4f}: {best['model']} (measured)",
                "—",
                f"{int(best['parameters'])} trained parameters, {best['train_time_s']:.3g} s of training",
                baselines.CHAPTER,
                title,
            )
        )
    return rows


def key_results(profile: str, root: str | Path | None = None) -> pd.DataFrame:
    """The front page's table: speed-ups, reproduced accuracy, QRNN against classical models."""
    result = runtime.load(profile, root)
    if result is not None:
        rows = speedup_rows(result)
    else:
        rows = [
            _row(
                "speed-up over the paper's execution",
                f"{NOT_BUILT} ({runtime.OUTPUTS.bench} missing)",
                "—",
                "—",
                runtime.CHAPTER,
                "Runtime",
            )
        ]
    rows += accuracy_rows(study.main_runs(study.load_profile(profile, root)), study.paper_reported(root))
    rows += baseline_rows(baselines.load(profile, root))
    return pd.DataFrame(rows, columns=COLUMNS)


def gradient_figure(profile: str, root: str | Path | None = None) -> tuple[bytes, str]:
    """The gradient-quality chapter's Figure 1 (PNG) with its caption renamed for the front page."""
    png, caption = gradient_quality.load_figure(profile, root)
    return png, caption.replace("**Figure 1.**", "**Gradient quality, Figure 1.**", 1)
