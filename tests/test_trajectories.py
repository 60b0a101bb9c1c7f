"""The trajectories chapter's tables: run selection, spreads, the comparison with seeds, and its figures."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from qrnn_core.training import RunRecord
from qrnn_study import study, style
from qrnn_study.chapters import baselines, trajectories
from qrnn_study.study import StudyRun

BASE = {
    "method": "spsa",
    "shots": 1024,
    "lr": 0.007,
    "n_train": None,
    "val_length": None,
    "backend": "torch",
    "device": "cpu",
    "epsilon": 0.1,
    "spsa_samples": 2,
    "seed": 1920,
    "run_label": "SPSA, 1024 shots",
}


def _run(name: str, params: dict, means: list[float]) -> StudyRun:
    epochs = [
        {"epoch": k + 1, "val_rmse_y": m - 0.01, "val_rmse_z": m + 0.01, "val_rmse_mean": m}
        for k, m in enumerate(means)
    ]
    result = {
        "status": "complete",
        "initial_validation": {"rmse_y": 0.3, "rmse_z": 0.3, "rmse_mean": 0.3},
        "epochs": epochs,
        # what the run trained with: its parameters but the pipeline's own (sweep) and the label
        "config": {k: v for k, v in params.items() if k not in ("sweep", "run_label")} | {"epochs": len(means)},
    }
    return StudyRun(name, params | {"epochs": len(means)}, Path(), RunRecord(result, None, None))


def test_qrnn_table_takes_sweep_runs_and_the_matching_main_run_cut_to_the_sweep_s_epochs():
    runs = [
        _run("trajectories-spsa-d1", BASE | {"data_seed": 1, "sweep": "trajectories"}, [0.20, 0.15]),
        _run("trajectories-spsa-d2", BASE | {"data_seed": 2, "sweep": "trajectories"}, [0.12, 0.18]),
        _run("spsa-cpu", BASE | {"run_label": "SPSA (CPU)"}, [0.14, 0.13, 0.05]),  # epoch 3 lies beyond the sweep's 2
        _run("spsa-lr", BASE | {"lr": 0.1}, [0.01, 0.01]),  # different settings: not the default trajectory's run
    ]
    table = trajectories.qrnn_table(runs)
    assert list(table["trajectory"]) == [1, 2, 1920]
    assert list(table["best_epoch"]) == [2, 1, 2]
    assert list(table["rmse_mean"]) == [0.15, 0.12, 0.13]
    assert set(table["model"]) == {"QRNN, SPSA, 1024 shots"}


def test_spread_and_the_paper_s_place_in_it():
    table = pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 2,
            "trajectory": [1, 2, 3, 4, 1, 2],
            "rmse_mean": [0.10, 0.12, 0.14, 0.16, 0.05, 0.07],
        }
    )
    spread = trajectories.spread(table, {"paper": 0.13}).set_index("model")
    assert spread.loc["a", "median"] == pytest.approx(0.13)
    assert spread.loc["a", "share <= paper (0.1300)"] == 0.5 and spread.loc["b", "share <= paper (0.1300)"] == 1.0
    assert spread.loc["b", "sd"] == pytest.approx(np.std([0.05, 0.07], ddof=1))


def test_spread_comparison_and_findings():
    table = pd.DataFrame({"model": ["QRNN, x"] * 3, "trajectory": [1, 2, 3], "rmse_mean": [0.10, 0.20, 0.30]})
    seeds = pd.DataFrame({"model": ["QRNN, x"] * 3, "seed": [1, 2, 3], "rmse_mean": [0.10, 0.11, 0.12]})
    comparison = trajectories.spread_comparison(table, seeds)
    row = comparison.iloc[0]
    assert row["trajectories: sd"] == pytest.approx(0.1) and row["seeds: sd"] == pytest.approx(0.01)
    assert row["sd ratio (trajectories / seeds)"] == pytest.approx(10.0)
    text = trajectories.findings(trajectories.spread(table, {"paper": 0.15}), comparison, {"paper": 0.15})
    assert "larger than across training seeds" in text and "33% at or below paper" in text


def test_figures_draw():
    table = pd.DataFrame(
        {
            "model": ["QRNN, SPSA", "QRNN, SPSA", "linear, best-found"],
            "trajectory": [1, 2, 1],
            "rmse_mean": [0.1, 0.2, 0.05],
        }
    )
    seeds = pd.DataFrame({"model": ["QRNN, SPSA"] * 2, "seed": [1, 2], "rmse_mean": [0.12, 0.13]})
    fig = trajectories.spread_figure(table, {"paper's SPSA best": 0.1142}, seeds)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["QRNN, SPSA", "linear, best-found"]
    assert style.layout_problems(fig) == []
    plt.close(fig)
    t = np.linspace(0, 1, 50)
    targets = np.stack([t, 1 - t], axis=1)
    wild = targets.copy()
    wild[0] = -40.0  # a start-up transient
    fig = baselines.baseline_predictions_figure(targets, {"gru (132 parameters)": wild}, steps=30)
    low, high = fig.axes[0].get_ylim()
    assert low > -1 and high < 2  # the axes stay on the truth's range
    plt.close(fig)


def test_paper_bests_are_the_reported_minima():
    bests = trajectories.paper_bests(study.paper_reported())
    assert round(bests["paper's SPSA best"], 4) == 0.1142 and round(bests["paper's FDSA best"], 4) == 0.1178


def test_missing_tuning_names_the_chapter(tmp_path):
    with pytest.raises(FileNotFoundError, match="baselines chapter"):
        baselines.load_tuned("smoke", tmp_path)
