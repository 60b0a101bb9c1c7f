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
