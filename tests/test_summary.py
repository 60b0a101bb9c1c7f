"""The front page's key results: read from the chapters' data, honest about what is missing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from qrnn_study import plan as planning
from qrnn_study import study
from qrnn_study.chapters import baselines, gradient_quality, summary


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
    missing = summary.baseline_rows(baselines.load("smoke", tmp_path))
    assert len(missing) == 1 and missing[0]["this build"].startswith(summary.NOT_BUILT)
    assert baselines.OUTPUTS.table in missing[0]["this build"]
    table = pd.DataFrame(
        {
            "model": ["QRNN, SPSA", "QRNN, FDSA", "GRU", "linear"],
            "kind": ["qrnn", "qrnn", "classical", "classical"],
            "parameters": [112, 112, 122, 12],
            "rmse_y": [0.1] * 4,
            "rmse_z": [0.1] * 4,
            "rmse_mean": [0.2, float("nan"), 0.05, 0.08],
            "train_time_s": [10.0, 20.0, 3.0, 0.1],
        }
    )
    study.chapter_data_dir("smoke", baselines.CHAPTER, tmp_path)  # created
    table.to_csv(study.chapter_file("smoke", baselines.CHAPTER, baselines.OUTPUTS.table, tmp_path), index=False)
    qrnn, classical = summary.baseline_rows(baselines.load("smoke", tmp_path))
    assert qrnn["this build"] == "0.2000: QRNN, SPSA (measured)"
    assert classical["this build"] == "0.0500: GRU (measured)" and "122 trained parameters" in classical["scale"]


def test_front_page_shows_the_figure_the_gradient_quality_chapter_wrote(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the 'gradient_quality' chapter first"):
        summary.gradient_figure("smoke", tmp_path)
    figure = plt.figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    gradient_quality.save_figure("smoke", figure, "**Figure 1.** Cosine.", tmp_path)
    png, caption = summary.gradient_figure("smoke", tmp_path)
    assert png.startswith(b"\x89PNG") and caption == "**Gradient quality, Figure 1.** Cosine."
    plt.close(figure)


def test_front_page_runs_after_the_chapters_it_reads():
    plan = {task.name: task for task in planning.build_plan("smoke", study.REPO_ROOT)}
    front = plan["chapters/summary"]
    for chapter in (
        "runtime",
        "accuracy",
        "baselines",
        "gradient_quality",
        "shots_and_seeds",
        "trajectories",
        "device_noise",
        "ablations",
    ):
        assert f"chapters/{chapter}" in front.deps


def _seeds(variants: dict[str, tuple[str, list[list[float]]]], n_train: int = 1384) -> pd.DataFrame:
    """A seeds table: variant -> (method, per-seed validation mean RMSE of epochs 1..k)."""
    rows = []
    for variant, (method, runs) in variants.items():
        for seed, values in enumerate(runs):
            for epoch, value in enumerate([0.3, *values]):
                rows.append(
                    {
                        "variant": variant,
                        "method": method,
                        "shots": 1024,
                        "seed": seed,
                        "epoch": epoch,
                        "n_train": n_train,
                        "rmse_y": value,
                        "rmse_z": value,
                        "rmse_mean": value,
                        "run": f"{variant}-{seed}",
                    }
                )
    return pd.DataFrame(rows)


def test_mean_sd_names_n_and_says_when_there_is_no_spread():
    assert study.mean_sd([0.1, 0.2, 0.3], 2) == "0.20 ± 0.10 (n = 3 seeds)"
    assert study.mean_sd([0.1234]) == "0.1234 (n = 1 seed: no spread)"


def test_verdicts_are_computed_and_say_when_the_scale_does_not_match():
    early = [[0.12, 0.11, 0.15, 0.18], [0.11, 0.12, 0.16, 0.19], [0.115, 0.13, 0.17, 0.2]]
    early += [[0.11, 0.13, 0.16, 0.185], [0.12, 0.125, 0.15, 0.19]]
    flat = [[0.13, 0.12, 0.12, 0.121], [0.14, 0.125, 0.124, 0.125], [0.135, 0.122, 0.12, 0.122]]
    seeds = _seeds({"SPSA, 1024 shots": ("spsa", early), "FDSA, 1024 shots": ("fdsa", flat)})
    overfitting = summary.overfitting_verdict(seeds)
    assert overfitting.verdict == summary.REPRODUCED and "n = 5 seeds" in overfitting.evidence
    # Every seed agrees, but 3 seeds cannot bound the share of early bests above one half: partly.
    assert summary.overfitting_verdict(_seeds({"SPSA, 1024 shots": ("spsa", early[:3])})).verdict == summary.PARTLY
    assert summary.stability_verdict(seeds).verdict == summary.REPRODUCED
    reduced = summary.overfitting_verdict(_seeds({"SPSA, 1024 shots": ("spsa", early)}, n_train=10))
    assert reduced.verdict == f"{summary.REPRODUCED} at this reduced scale"
    assert summary.accuracy_verdict(seeds.assign(n_train=10), None, study.paper_reported()).verdict == (
        summary.NOT_TESTED
    )
    line = summary.overfitting_verdict(None).markdown()
    assert line.startswith("- **SPSA is best after") and "**not tested**" in line


def test_a_gap_inside_the_seed_sd_is_a_tie():
    table = pd.DataFrame(
        {
            "model": ["QRNN, SPSA (CPU)", "GRU", "mean"],
            "kind": ["qrnn", "classical", "classical"],
            "parameters": [144, 132, 2],
            "rmse_y": [0.1] * 3,
            "rmse_z": [0.1] * 3,
            "rmse_mean": [0.1308, 0.1303, 0.2],
            "train_time_s": [1.0] * 3,
        }
    )
    run = study.StudyRun("spsa-cpu", {"method": "spsa", "shots": 1024, "run_label": "SPSA (CPU)"}, None, None)
    seeds = _seeds({"SPSA, 1024 shots": ("spsa", [[0.13], [0.134], [0.128]])})
    verdict = summary.baseline_verdict(table, [run], seeds)
    assert verdict.verdict == "the QRNN ties" and "n = 3 seeds" in verdict.evidence
    assert summary.baseline_verdict(table.assign(rmse_mean=[0.25, 0.1303, 0.2]), [run], seeds).verdict == (
        "the QRNN loses"
    )
    assert (
        "Worse than the mean predictor (0.2000, 2 parameters): QRNN, SPSA (CPU) 0.2500."
        in summary.baseline_verdict(table.assign(rmse_mean=[0.25, 0.1303, 0.2]), [run], seeds).evidence
    )


def test_seed_figure_caption_lists_exactly_the_plotted_series():
    from qrnn_study.chapters import shots_and_seeds

    frame = _seeds({"SPSA, 1024 shots": ("spsa", [[0.2, 0.1], [0.21, 0.12]]), "FDSA, 1024 shots": ("fdsa", [[0.3]])})
    figure = shots_and_seeds.seed_figure(frame)
    plotted = figure.axes[0].get_legend_handles_labels()[1]
    caption = shots_and_seeds.seed_figure_caption(frame)
    listed = caption.split("measured: ", 1)[1].split(".", 1)[0].split("; ")
    assert listed == plotted == ["SPSA, 1024 shots (2 seeds)", "FDSA, 1024 shots (1 seed)"]
    assert "Dashed" not in caption  # no series of this figure is dashed
    exact = frame.assign(shots=0, variant="SPSA, exact distributions")
    assert "SPSA, exact distributions (2 seeds), dashed" in shots_and_seeds.seed_figure_caption(exact)
    plt.close(figure)
