"""The front page's key results: read from the chapters' data, honest about what is missing."""

from __future__ import annotations

import base64

import nbformat
import pandas as pd
import pytest

from qrnn_study import study, summary


def benchmark(speedups: dict[str, float | None]) -> dict:
    """A benchmark result with a seed-style and a torch row per method."""
    updates = []
    for method, speedup in speedups.items():
        applicable = speedup is not None
        updates.append(
            {
                "path": "seed-style",
                "method": method,
                "status": "projected" if applicable else "not applicable",
                "speedup_vs_seed_style": 1.0 if applicable else None,
            }
        )
        updates.append({"path": "torch", "method": method, "status": "measured", "speedup_vs_seed_style": speedup})
    return {"updates": updates, "config": {"methods": list(speedups), "n_qubits": 8, "steps": 20, "repeats": 3}}


def test_speedups_take_the_fastest_path_and_say_what_was_projected():
    rows = summary.speedup_rows(benchmark({"spsa": 123.4, "fdsa": 1466.7, "exact": None}))
    assert rows[0]["this build"] == "123× faster (torch: measured; the paper's execution: projected)"
    assert rows[1]["this build"].startswith("1467× faster")
    assert rows[2]["this build"].startswith("not applicable")
    assert all(row["chapter_href"] == "runtime.html" and "8 qubits" in row["scale"] for row in rows)


def test_baselines_missing_is_not_built_and_present_gives_the_best_of_each_kind(tmp_path):
    missing = summary.baseline_rows(tmp_path / "baselines.csv")
    assert len(missing) == 1 and missing[0]["this build"].startswith(summary.NOT_BUILT)
    pd.DataFrame(
        {
            "model": ["QRNN, SPSA", "QRNN, FDSA", "GRU", "linear"],
            "kind": ["qrnn", "qrnn", "classical", "classical"],
            "parameters": [112, 112, 122, 12],
            "rmse_y": [0.1] * 4,
            "rmse_z": [0.1] * 4,
            "rmse_mean": [0.2, float("nan"), 0.05, 0.08],
            "train_time_s": [10.0, 20.0, 3.0, 0.1],
        }
    ).to_csv(tmp_path / "baselines.csv", index=False)
    qrnn, classical = summary.baseline_rows(tmp_path / "baselines.csv")
    assert qrnn["this build"] == "0.2000: QRNN, SPSA (measured)"
    assert classical["this build"] == "0.0500: GRU (measured)" and "122 trained parameters" in classical["scale"]


def test_chapter_figure_is_read_from_the_executed_chapter(tmp_path):
    png = b"\x89PNG fake"
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", {"image/png": base64.b64encode(png).decode()}),
        nbformat.v4.new_output("display_data", {"text/markdown": "**Figure 1.** Cosine."}),
    ]
    path = tmp_path / "build" / "smoke" / "chapters" / "gradient_quality.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert summary.chapter_figure("smoke", "gradient_quality", 1, tmp_path) == (png, "**Figure 1.** Cosine.")
    with pytest.raises(LookupError, match="shows 1 figure"):
        summary.chapter_figure("smoke", "gradient_quality", 2, tmp_path)
    with pytest.raises(FileNotFoundError, match="run the 'accuracy' chapter first"):
        summary.chapter_figure("smoke", "accuracy", 1, tmp_path)


def test_front_page_runs_after_the_chapters_it_reads():
    from qrnn_study import pipeline

    plan = {task.name: task for task in pipeline.build_plan("smoke", study.REPO_ROOT)}
    front = plan["chapters/summary"]
    for chapter in ("runtime", "accuracy", "baselines", "gradient_quality"):
        assert f"chapters/{chapter}" in front.deps
