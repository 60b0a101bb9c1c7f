"""The book's front page: key results read from the chapters this build ran.

Every number comes from a file the build wrote (the runtime chapter's benchmark, the
training runs, the baselines chapter's table) or from ``book/paper_reported.json``;
each row names its scale and links to the chapter it comes from.
"""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pandas as pd

from qrnn_core.estimators import method_label

from . import bench_report, study
from .tables import format_number

# The chapters the front page reads (configs/<profile>/summary.yaml declares them as depends_on).
RUNTIME_JSON = "bench.json"
# The benchmark path that executes like the paper (one Aer run with shots per sequence).
SEED_STYLE = "seed-style"
BASELINES_CSV = "baselines.csv"
NOT_BUILT = "not built"
COLUMNS = ["result", "this build", "the paper", "scale", "chapter", "chapter_href"]


def _row(result: str, ours: str, paper: str, scale: str, chapter: str, title: str) -> dict:
    return dict(zip(COLUMNS, (result, ours, paper, scale, title, f"{chapter}.html")))


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
                "runtime",
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
                "accuracy",
                "Accuracy",
            )
        )
    return rows


def baseline_rows(path: Path) -> list[dict]:
    """The best QRNN beside the best classical model, from the baselines chapter's table."""
    title = "Classical baselines"
    if not path.is_file():
        return [
            _row(
                "best QRNN and best classical model (validation RMSE, mean)",
                f"{NOT_BUILT} ({path.name} missing)",
                "—",
                "—",
                "baselines",
                title,
            )
        ]
    table = pd.read_csv(path).dropna(subset=["rmse_mean"])
    rows = []
    for kind, label in (("qrnn", "best QRNN"), ("classical", "best classical model")):
        part = table[table["kind"] == kind]
        if part.empty:
            rows.append(
                _row(
                    f"{label} (validation RMSE, mean)",
                    f"none with a result in {path.name}",
                    "—",
                    "—",
                    "baselines",
                    title,
                )
            )
            continue
        best = part.loc[part["rmse_mean"].idxmin()]
        rows.append(
            _row(
                f"{label} (validation RMSE, mean)",
                f"{best['rmse_mean']:.4f}: {best['model']} (measured)",
                "—",
                f"{int(best['parameters'])} trained parameters, {best['train_time_s']:.3g} s of training",
                "baselines",
                title,
            )
        )
    return rows


def key_results(profile: str, root: str | Path | None = None) -> pd.DataFrame:
    """The front page's table: speed-ups, reproduced accuracy, QRNN against classical models."""
    bench_json = study.chapter_data_dir(profile, "runtime", root) / RUNTIME_JSON
    if bench_json.is_file():
        rows = speedup_rows(bench_report.load_benchmark(bench_json))
    else:
        rows = [
            _row(
                "speed-up over the paper's execution",
                f"{NOT_BUILT} ({RUNTIME_JSON} missing)",
                "—",
                "—",
                "runtime",
                "Runtime",
            )
        ]
    rows += accuracy_rows(study.main_runs(study.load_profile(profile, root)), study.paper_reported(root))
    rows += baseline_rows(study.chapter_data_dir(profile, "baselines", root) / BASELINES_CSV)
    return pd.DataFrame(rows, columns=COLUMNS)


def chapter_figure(profile: str, chapter: str, number: int = 1, root: str | Path | None = None) -> tuple[bytes, str]:
    """Figure ``number`` of an executed chapter: its PNG and its caption (the Markdown shown after it)."""
    path = study.repo_root(root) / "build" / study.check_profile(profile) / "chapters" / f"{chapter}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the {chapter!r} chapter first (make runs)")
    outputs = [
        output
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    ]
    found = 0
    for i, output in enumerate(outputs):
        if "image/png" in output.get("data", {}):
            found += 1
            if found == number:
                caption = next(
                    (o["data"]["text/markdown"] for o in outputs[i + 1 :] if "text/markdown" in o.get("data", {})), ""
                )
                return base64.b64decode(output["data"]["image/png"]), caption
    raise LookupError(f"{path} shows {found} figure(s), not {number}")
