"""The closing pages' findings: computed from the chapters' CSVs, with known answers on constructed tables."""

from __future__ import annotations

import pandas as pd

from qrnn_core.files import write_csv
from qrnn_study import study
from qrnn_study.chapters import conclusion, discussion


def _baselines(qrnn_rmse: float) -> pd.DataFrame:
    rows = [
        ("QRNN, SPSA", "qrnn", 144, qrnn_rmse),
        ("GRU, parameter-matched", "classical", 140, 0.05),
        ("MLP, best found", "classical", 900, 0.03),
        ("ESN", "classical", 100, 0.5),
    ]
    return pd.DataFrame(
        [
            {"model": m, "kind": k, "parameters": p, "rmse_y": r, "rmse_z": r, "rmse_mean": r, "train_time_s": 1.0}
            for m, k, p, r in rows
        ]
    )


def test_baseline_findings_say_who_wins():
    lines = discussion.baseline_findings(_baselines(0.12))
    assert "the QRNN **loses**" in lines[0] and "MLP, best found" in lines[0]
    assert "2 of 3 classical models beat the best QRNN" in lines[1]
    assert "GRU, parameter-matched (140 parameters), 0.0500: it beats the QRNN" in lines[3]
    assert "the QRNN **wins**" in discussion.baseline_findings(_baselines(0.01))[0]
    assert discussion.baseline_findings(None) == [discussion.missing(discussion.BASELINES)]


def test_trajectory_findings_place_the_papers_best_and_compare_with_seeds():
    reported = study.paper_reported()
    best = study.paper_best(reported)
    assert 0.1 < best["spsa"] < best["fdsa"] < 0.13
    values = [best["spsa"] - 0.01, best["spsa"] + 0.01, best["spsa"] + 0.02, best["spsa"] + 0.03]
    table = pd.DataFrame(
        {
            "trajectory": range(4),
            "model": "QRNN, SPSA",
            "best_epoch": 2,
            "rmse_y": values,
            "rmse_z": values,
            "rmse_mean": values,
        }
    )
    comparison = pd.DataFrame(
        [{"model": "QRNN, SPSA", "trajectories: n": 4, "trajectories: sd": 0.017, "seeds: n": 5, "seeds: sd": 0.004}]
    )
    (text,) = discussion.trajectory_findings(table, comparison, reported)
    assert f"25% at or below paper's SPSA best ({best['spsa']:.4f})" in text
    assert "spread across trajectories (sd 0.0170) is larger than across training seeds (sd 0.0040, 5 seeds)" in text
    assert discussion.trajectory_findings(table, None, reported) == [
        discussion.missing(discussion.TRAJECTORIES_VS_SEEDS)
    ]


def test_conclusion_reads_the_chapters_data(tmp_path):
    (tmp_path / "configs" / "smoke" / "train").mkdir(parents=True)
    for method in ("spsa", "fdsa"):
        (tmp_path / "configs" / "smoke" / "train" / f"{method}-cpu.yaml").write_text(f"method: {method}\nepochs: 1\n")
    (tmp_path / "book").mkdir()
    reported = (study.REPO_ROOT / "book" / "paper_reported.json").read_text()
    (tmp_path / "book" / "paper_reported.json").write_text(reported)
    assert "wrote no `seeds.csv`" in conclusion.conclusion_points("smoke", tmp_path)[1]
    write_csv(study.chapter_file("smoke", *discussion.BASELINES, tmp_path), _baselines(0.12))
    assert conclusion.conclusion_points("smoke", tmp_path)[0].startswith(
        "**The QRNN against classical models: the QRNN loses.**"
    )
