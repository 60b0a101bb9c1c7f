"""Shared figures: one colour per method, axis limits that follow the data a reader cares about."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from qrnn_core.estimators import method_names
from qrnn_core.training import RunRecord
from qrnn_study import style
from qrnn_study.chapters import backend_agreement, predictions
from qrnn_study.study import StudyRun


def test_every_method_has_its_own_colour():
    colours = [style.method_color(name) for name in [*method_names(), "linear", "gru", "esn"]]
    assert len(set(colours)) == len(colours)
    assert style.method_color("SPSA") == style.method_color("spsa")
    assert style.method_color("my-new-method") == style.method_color("my-new-method")


def test_limits_follow_the_data():
    assert style.limits_of(np.array([0.0, np.nan, 1.0])) == pytest.approx((-0.1, 1.1))
    prediction = np.r_[np.linspace(0.0, 2.0, 199), -40.0]
    assert predictions.prediction_limits(np.array([0.0, 1.0]), prediction) == pytest.approx((-0.2, 2.2), abs=0.05)
    with pytest.raises(ValueError, match="finite"):
        style.limits_of(np.array([np.nan]))


def test_predictions_are_clipped_to_the_truth_and_coloured_by_method():
    t = np.linspace(0, 1, 200)
    targets = np.stack([t, 1 - t], axis=1)
    pred = targets.copy()
    pred[0] = -40.0  # one transient while the memory fills
    record = RunRecord({"status": "complete", "best_epoch": 1}, None, {"val_targets": targets, "val_pred_best": pred})
    run = StudyRun("spsa-cpu", {"method": "spsa", "run_label": "SPSA"}, Path(), record)
    fig = predictions.predictions_figure([run])
    for ax in fig.axes:
        assert ax.get_ylim() == pytest.approx((-0.1, 1.1), abs=0.01)
        assert ax.lines[1].get_color() == style.method_color("spsa")
    assert fig.get_size_inches()[0] <= style.TEXT_WIDTH
    plt.close(fig)


def test_pvalue_histograms_one_panel_per_comparison():
    rng = np.random.default_rng(0)
    fig = backend_agreement.pvalue_histograms({"aer": rng.uniform(size=30), "torch": rng.uniform(size=30)})
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "aer"
    assert sum(patch.get_height() for patch in fig.axes[0].patches) == 30
    plt.close(fig)


def _checks():
    """A validation sweep's validations: two variants, two seeds, 3 epochs of 10 updates, validated every 5."""
    import pandas as pd

    rows = []
    for variant, method in (("SPSA, 1024 shots", "spsa"), ("exact gradient", "exact")):
        for seed in (1, 2):
            for update in range(0, 31, 5):
                rmse = 0.3 - 0.01 * update + 0.0006 * update**2 + 0.01 * seed
                rows.append(
                    {
                        "variant": variant,
                        "method": method,
                        "shots": 1024 * (method == "spsa"),
                        "seed": seed,
                        "validate_every": 5,
                        "update": update,
                        "epochs_done": update / 10,
                        "rmse_y": rmse,
                        "rmse_z": rmse,
                        "rmse_mean": rmse,
                        "run": f"{method}-{seed}",
                    }
                )
    return pd.DataFrame(rows)


def test_validation_figure_caption_names_exactly_its_panels_and_the_figure_reads():
    from qrnn_study.chapters import shots_and_seeds

    checks = _checks()
    fig = shots_and_seeds.check_figure(checks)
    titles = [ax.get_title() for ax in fig.axes]
    caption = shots_and_seeds.check_figure_caption(checks)
    listed = caption.split("Panels, left to right: ")[1].rstrip(".").split("; ")
    assert [entry.split(" (")[0] for entry in listed] == titles == ["SPSA, 1024 shots", "exact gradient"]
    assert "every 5 updates" in caption and all("(2 seeds)" in entry for entry in listed)
    assert style.layout_problems(fig) == []
    outcomes = shots_and_seeds.check_outcomes(checks)
    assert outcomes["best_update"].tolist() == [10, 10, 10, 10]  # the minimum of 0.3 - 0.01 u + 0.0006 u^2 on 0, 5, ..
    assert outcomes["best_epoch"].tolist() == [1, 1, 1, 1] and outcomes["best_epochs_done"].tolist() == [1.0] * 4
    plt.close(fig)


def test_layout_check_finds_crowded_ticks_and_a_legend_on_the_data_and_passes_a_clean_figure():
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
    ax.plot(np.repeat(np.arange(10), 10), np.tile(np.arange(10), 10), ".", label="points")
    ax.legend(loc="center")
    ax.set_xticks(np.arange(10), [f"a long label {k}" for k in range(10)])
    problems = style.layout_problems(fig)
    assert any("x tick" in p and "overlap" in p for p in problems)
    assert any("legend covers" in p for p in problems)
    ax.set_xticks([0, 9], ["0", "9"])
    style.legend_outside(fig)
    assert style.layout_problems(fig) == []
    plt.close(fig)
