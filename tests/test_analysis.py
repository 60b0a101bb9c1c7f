"""Analyses beyond the paper, checked on known answers (the chapters run in tests/test_book.py)."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from qrnn_core import circuit, training
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.training import RunRecord
from qrnn_study import intervals, study
from qrnn_study.chapters import backend_agreement, gradient_quality, parameter_shift, shots_and_seeds


def test_cosine_and_relative_error_known_answers():
    a = torch.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    b = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(gradient_quality.cosine_similarity(a, b), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(gradient_quality.cosine_similarity(-a, a)[0], torch.tensor(-1.0))
    torch.testing.assert_close(gradient_quality.relative_error(2 * b, b), torch.tensor([1.0, 1.0]))


def _small_problem():
    model = QRNN(QRNNConfig(n_qubits=4, method="exact", precision="double"), seed=3)
    gen = torch.Generator().manual_seed(0)
    features = torch.rand(2, 6, 1, generator=gen, dtype=torch.float64)
    targets = torch.rand(2, 6, 2, generator=gen, dtype=torch.float64)
    return model, features, targets


def test_exact_gradient_matches_the_model_backward():
    model, features, targets = _small_problem()
    reference = gradient_quality.exact_gradients(model, features, targets, washout=2)
    loss = torch.mean((model(features[1:])[:, 2:] - targets[1:, 2:]) ** 2)
    loss.backward()
    expected = torch.cat([model.input_layer.weight.grad.flatten(), model.input_layer.bias.grad])
    torch.testing.assert_close(reference[1], expected)


def test_unbiased_estimators_recover_the_exact_gradient():
    """FDSA at small epsilon and parameter-shift give cosine ~1 with exact distributions; shots lower it."""
    model, features, targets = _small_problem()
    settings = [gradient_quality.EstimatorSetting("fdsa", 1e-5), gradient_quality.EstimatorSetting("param-shift")]
    frame = gradient_quality.gradient_quality(model, features, targets, 2, settings, [None, 64], repeats=1, seed=0)
    exact = frame[frame["shots"] == 0]
    assert (exact["cosine"] > 1 - 1e-8).all() and (exact["relative_error"] < 1e-4).all()
    assert (frame[frame["shots"] == 64]["cosine"] < 0.999).all()
    assert set(frame["evaluations"]) == {2 * 27 * 2 + 1, 6 * (len(circuit.step_gates(4)) * 2 + 3 * 2) + 1}


def test_fidelity_statement_reports_both_estimators():
    model, features, targets = _small_problem()
    settings = [gradient_quality.EstimatorSetting("fdsa", 0.1), gradient_quality.EstimatorSetting("spsa", 0.1, 2)]
    frame = gradient_quality.gradient_quality(model, features, targets, 2, settings, [None, 1024], repeats=2, seed=0)
    text = gradient_quality.fdsa_fidelity_statement(frame, 1024, 0.1)
    assert "FDSA cosine" in text and "SPSA with 2 samples" in text


def test_shift_rules_match_autograd_per_gate():
    gen = torch.Generator().manual_seed(1)
    angles = torch.rand(3, 27, generator=gen, dtype=torch.float64) * 6
    table = parameter_shift.angle_level_shift_check(angles, torch.randn(3, 4, generator=gen, dtype=torch.float64), 4)
    assert table["max |difference|"].max() < 1e-12
    assert table.loc["final readout RZ (zero by construction)", "max |autograd|"] < 1e-12


def test_chi_square_pvalues_accept_true_and_reject_wrong_distributions():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(16), size=200)
    shots = 2048
    freq = np.stack([rng.multinomial(shots, p) for p in probs]) / shots
    assert 0.01 < np.mean(backend_agreement.chi_square_pvalues(freq, probs, shots) < 0.05) < 0.12
    wrong = np.roll(probs, 1, axis=-1)
    assert np.mean(backend_agreement.chi_square_pvalues(freq, wrong, shots) < 0.05) > 0.9


def _history(variant: str, method: str, curves: list[list[float]], seeds: list[int] | None = None) -> pd.DataFrame:
    seeds = seeds or list(range(len(curves)))
    return pd.DataFrame(
        [
            {
                "variant": variant,
                "method": method,
                "shots": 1024,
                "seed": seed,
                "epoch": epoch,
                "n_train": 10,
                "rmse_y": v,
                "rmse_z": v,
                "rmse_mean": v,
            }
            for seed, curve in zip(seeds, curves)
            for epoch, v in enumerate(curve)
        ]
    )


def test_small_sample_intervals_known_answers():
    mean, low, high = intervals.t_interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and (high - low) / 2 == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-6)
    assert intervals.t_interval(np.array([0.3])) == (0.3, -np.inf, np.inf)
    rng = np.random.default_rng(1)
    sample = rng.normal(1.0, 2.0, 400)
    _, low, high = intervals.t_interval(sample)
    assert (high - low) / 2 == pytest.approx(1.966 * sample.std(ddof=1) / 20, rel=1e-2)
    a, b = np.array([1.0, 1.1, 0.9, 1.0]), np.array([0.0, 0.1, -0.1, 0.0])
    diff, low, high = intervals.welch_interval(a, b)
    assert diff == pytest.approx(1.0) and 0.8 < low < 1.0 < high < 1.2
    sd, low, high = intervals.sd_interval(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert (
        sd == pytest.approx(np.sqrt(2.5))
        and low == pytest.approx(0.9473, rel=1e-3)
        and high == pytest.approx(4.5435, rel=1e-3)
    )
    ratio, low, high = intervals.sd_ratio_interval(2 * np.arange(5.0), np.arange(5.0))
    assert ratio == pytest.approx(2.0) and low < 2.0 < high
    assert intervals.share_interval(5, 5, one_sided=True)[1] == pytest.approx(0.05 ** (1 / 5))
    assert intervals.share_interval(0, 5, one_sided=True)[2] == pytest.approx(1 - 0.05 ** (1 / 5))
    assert intervals.share_interval(3, 3)[1] == pytest.approx(0.025 ** (1 / 3))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: intervals.t_interval(np.array([])), "non-empty"),
        (lambda: intervals.sd_interval(np.array([1.0, np.nan])), "finite"),
        (lambda: intervals.t_interval(np.ones(3), level=1.5), "level"),
        (lambda: intervals.share_interval(4, 3), "hits"),
    ],
)
def test_small_sample_intervals_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_paper_claims_on_constructed_histories():
    overfits = [[0.3, 0.10 + 0.001 * k, 0.12, 0.15, 0.18 + 0.01 * k] for k in range(5)]
    steady = [[0.3, 0.2, 0.15, 0.13, 0.12 + 0.001 * k] for k in range(5)]
    frame = pd.concat([_history("S", "spsa", overfits), _history("F", "fdsa", steady)])
    outcomes = shots_and_seeds.seed_outcomes(frame)
    s = outcomes[outcomes["variant"] == "S"]
    assert (s["best_epoch"] == 1).all() and np.allclose(s["rise"], s["last_rmse"] - s["best_rmse"])
    assert "is **supported**" in shots_and_seeds.overfitting_claim(outcomes, "S")
    assert "is **not supported**" in shots_and_seeds.overfitting_claim(outcomes, "F")
    assert "is **supported**" in shots_and_seeds.stability_claim(outcomes, "S", "F")
    assert "is **contradicted**" in shots_and_seeds.stability_claim(outcomes, "F", "S")
    flat = pd.concat([_history("A", "spsa", steady), _history("B", "fdsa", steady)])
    assert "not distinguishable" in shots_and_seeds.stability_claim(shots_and_seeds.seed_outcomes(flat), "A", "B")
    short = shots_and_seeds.seed_outcomes(frame[frame["epoch"] <= 2])
    assert "needs at least 3" in shots_and_seeds.overfitting_claim(short, "S")
    early, late = [0.3, 0.10, 0.12, 0.15, 0.18], [0.3, 0.2, 0.15, 0.10, 0.12]
    mixed = shots_and_seeds.seed_outcomes(_history("M", "spsa", [early, early, early, late, late]))
    assert "is **inconclusive: the rise after the best epoch is clear" in shots_and_seeds.overfitting_claim(mixed, "M")
    assert "needs at least 3" in shots_and_seeds.stability_claim(short, "S", "F")
    with pytest.raises(ValueError, match="variant 'X'"):
        shots_and_seeds.overfitting_claim(outcomes, "X")
    stats = shots_and_seeds.seed_statistics(outcomes).set_index(["variant", "quantity"])
    row = stats.loc[("S", "share of seeds with best epoch <= 2")]
    assert (row["estimate"], row["high"], row["seeds"], row["interval"]) == (1.0, 1.0, 5, "Clopper-Pearson")
    assert row["low"] == pytest.approx(0.025 ** (1 / 5))
    three = shots_and_seeds.seed_outcomes(_history("T", "spsa", overfits[:3]))
    assert "consistent with every seed, but 3 seeds are too few" in shots_and_seeds.overfitting_claim(three, "T")


def _run(name: str, params: dict, curve: list[float], evaluations: int = 10) -> study.StudyRun:
    config = {
        "method": params["method"],
        "shots": params.get("shots"),
        "seed": params["seed"],
        "n_train": params.get("n_train"),
        "batch_size": 1,
        "seq_len": 20,
        "lr": params.get("lr"),
        "epochs": params.get("epochs"),
    }
    epochs = [
        {
            "epoch": e,
            "val_rmse_y": v,
            "val_rmse_z": v,
            "val_rmse_mean": v,
            "train_rmse": v,
            "circuit_evaluations": evaluations,
        }
        for e, v in enumerate(curve[1:], start=1)
    ]
    result = {
        "status": "complete",
        "config": config,
        "epochs": epochs,
        "initial_validation": {"rmse_y": curve[0], "rmse_z": curve[0], "rmse_mean": curve[0]},
    }
    updates = pd.DataFrame({"epoch": [e for e in range(1, len(curve)) for _ in range(4)]})
    return study.StudyRun(name, params, Path(name), RunRecord(result, updates, None))


def test_seed_table_counts_a_matching_main_run_as_one_more_seed():
    base = {"method": "spsa", "shots": 1024, "lr": 0.007, "epochs": 2, "run_label": "SPSA, 1024 shots"}
    runs = [
        _run("seeds-spsa-s1", base | {"seed": 1, "sweep": "seeds"}, [0.3, 0.2, 0.1]),
        _run("spsa-cpu", base | {"seed": 7, "epochs": 3, "run_label": "SPSA (CPU)"}, [0.3, 0.25, 0.15, 0.12]),
        _run("spsa-other-lr", base | {"seed": 8, "epochs": 3, "lr": 0.01}, [0.3, 0.2, 0.1, 0.1]),
        _run("other-sweep", base | {"seed": 9, "sweep": "trajectories"}, [0.3, 0.2, 0.1]),
    ]
    table = shots_and_seeds.seed_table(runs)
    assert list(table.columns) == [*shots_and_seeds.SEED_COLUMNS, "train_rmse", "run"]
    assert sorted(table["seed"].unique()) == [1, 7] and set(table["variant"]) == {"SPSA, 1024 shots"}
    assert table[table["seed"] == 7]["epoch"].tolist() == [0, 1, 2]  # cut to the sweep's epochs
    assert (table["n_train"] == 4).all() and (table["shots"] == 1024).all()
    assert sorted(shots_and_seeds.seed_table(runs, include_main=False)["seed"].unique()) == [1]


def test_cost_accuracy_accumulates_evaluations_and_shots():
    runs = [
        _run("a", {"method": "spsa", "shots": 100, "seed": 1}, [0.3, 0.2, 0.1], evaluations=5),
        _run("b", {"method": "exact", "shots": None, "seed": 1}, [0.3, 0.2], evaluations=3),
    ]
    table = shots_and_seeds.cost_accuracy(runs)
    a = table[table["run"] == "a"]
    assert a["evaluations"].tolist() == [0, 5, 10] and a["shots_consumed"].tolist() == [0, 5 * 20 * 100, 10 * 20 * 100]
    b = table[table["run"] == "b"]
    assert b["evaluations"].tolist() == [0, 3] and b["shots_consumed"].isna().all() and (b["shots"] == 0).all()


def test_quality_points_and_settings(tmp_path):
    points = gradient_quality.quality_points(seed=3, pretrain_sequences=2, out_dir=tmp_path / "pretrain")
    initial, trained = points.values()
    assert list(points)[1] == "after 2 exact-gradient updates"
    assert not torch.equal(initial.input_layer.weight, trained.input_layer.weight)
    settings = gradient_quality.quality_settings(
        [0.01, 0.1], [1, 2], n_params=110, equal_cost_spsa=True, include_param_shift=True, exclude=["spsa-fixed"]
    )
    assert len(settings) == 2 + 2 + 2 + 1  # FDSA x2, 2-sample SPSA x2, SPSA with 1 and 110 samples, param-shift
    features, targets = gradient_quality.training_sample(training.TrainConfig(), 3)
    assert features.shape == (3, 20, 1) and targets.shape == (3, 20, 2) and features.dtype == torch.float64
    with pytest.raises(ValueError, match="n_sequences"):
        gradient_quality.training_sample(training.TrainConfig(), 0)


def test_quality_summaries_select_their_estimators():
    model, features, targets = _small_problem()
    S = gradient_quality.EstimatorSetting
    settings = [S("fdsa", 0.1), S("fdsa", 0.5), S("spsa", 0.1, 2), S("spsa", 0.5, 2), S("spsa", 0.1, 8)]
    frame = gradient_quality.gradient_quality(
        model, features, targets, 2, settings, [None, 64], repeats=1, seed=0
    ).assign(point="p")
    assert set(gradient_quality.epsilon_summary(frame)["estimator"]) == {s.label for s in settings[:4]}
    assert set(gradient_quality.samples_summary(frame)["spsa_samples"]) == {2, 8}
    by_shots = gradient_quality.shots_summary(frame, n_params=8)
    assert set(by_shots["estimator"]) == {S("fdsa", 0.1).label, S("spsa", 0.1, 2).label, S("spsa", 0.1, 8).label}
    assert (by_shots["estimates"] == 2).all()  # one repeat x two sequences per shots setting


def test_chapter_figures_draw_every_variant_and_run():
    import matplotlib

    matplotlib.use("Agg")

    frame = pd.concat(
        [_history("S", "spsa", [[0.3, 0.1, 0.2], [0.3, 0.2, 0.1]]), _history("E", "exact", [[0.3, 0.2, 0.1]])]
    )
    left, right = shots_and_seeds.seed_figure(frame).axes
    assert len(left.lines) == 3 + 2 and len(right.patches) == 2 * 2  # seeds + means; bars per variant and epoch
    runs = [
        _run("a", {"method": "spsa", "shots": 100, "seed": 1}, [0.3, 0.2, 0.1]),
        _run("b", {"method": "exact", "shots": None, "seed": 1}, [0.3, 0.2]),
    ]
    evaluations, shots = shots_and_seeds.cost_accuracy_figure(shots_and_seeds.cost_accuracy(runs)).axes
    assert len(evaluations.lines) == 2 and len(shots.lines) == 1  # the exact run consumes no shots
    model, features, targets = _small_problem()
    S = gradient_quality.EstimatorSetting
    settings = [S("fdsa", 0.1), S("spsa", 0.1, 2)]
    frame = gradient_quality.gradient_quality(model, features, targets, 2, settings, [None, 64], 1, 0)
    quality = pd.concat([frame.assign(point=p) for p in ("a", "b")])
    assert (
        len(
            gradient_quality.quality_epsilon_figure(gradient_quality.epsilon_summary(quality), ["a", "b"], [0, 64]).axes
        )
        == 4
    )
    assert (
        len(
            gradient_quality.quality_samples_figure(gradient_quality.samples_summary(quality), ["a", "b"], [0, 64]).axes
        )
        == 2
    )
    assert len(gradient_quality.quality_shots_figure(gradient_quality.shots_summary(quality, 8), ["a", "b"]).axes) == 4


def test_quality_settings_offer_a_newly_registered_method(monkeypatch):
    from qrnn_core import estimators

    monkeypatch.setattr(estimators, "REGISTRY", dict(estimators.REGISTRY))
    spsa = estimators.method_spec("spsa")
    estimators.register(dataclasses.replace(spsa, name="spsa-new", label="SPSA, new"))
    settings = gradient_quality.quality_settings([0.1], [2], 110, False, False)
    methods = {s.method for s in settings}
    assert "spsa-new" in methods and "param-shift" not in methods and "exact" not in methods
    assert {s.method for s in gradient_quality.quality_settings([0.1], [2], 110, False, True)} >= {"param-shift"}
