"""Classical baselines: known answers on toy problems, tuning that never looks at validation, input checks."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from qrnn_core.data import LorenzConfig, load_lorenz
from qrnn_study.chapters.baselines import best_pair, export_table, verdict
from qrnn_study.classical import (
    BEST,
    MATCHED,
    BaselineConfig,
    Candidate,
    EchoStateNetwork,
    LinearRegression,
    Split,
    gru_parameters,
    gru_predict,
    lagged,
    linear_candidates,
    mlp_parameters,
    rmse_scores,
    run_baselines,
    select,
    split,
    train_gru,
)

TINY = BaselineConfig(
    windows=(2, 4),
    mlp_widths=(4,),
    mlp_steps=20,
    gru_widths=(2, 5),
    gru_max_epochs=2,
    esn_units=(20, 71),
    esn_leaks=(1.0,),
    esn_radii=(0.9,),
    esn_input_scales=(1.0,),
    esn_ridges=(1e-4, 1e-2),
    esn_washout=10,
)


def test_linear_regression_recovers_a_known_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    coef, intercept = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]]), np.array([0.25, -1.0])
    model = LinearRegression().fit(x, x @ coef + intercept)
    np.testing.assert_allclose(model.coef[:-1], coef, atol=1e-10)
    np.testing.assert_allclose(model.coef[-1], intercept, atol=1e-10)
    assert model.n_parameters == 8


def test_lagged_pads_with_the_first_value_and_orders_oldest_first():
    np.testing.assert_array_equal(lagged(np.array([1.0, 2.0, 3.0]), 2), [[1, 1], [1, 2], [2, 3]])


def test_rmse_scores_of_a_known_error():
    scores = rmse_scores(np.zeros((4, 2)), np.column_stack([np.full(4, 3.0), np.full(4, 4.0)]))
    assert scores == {"rmse_y": 3.0, "rmse_z": 4.0, "rmse_mean": 3.5}


def _delay_problem(delay: int, n: int = 600) -> Split:
    """Targets are x three steps back (y) and its double (z): a window of delay + 1 values is needed."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, n + delay)
    y = np.column_stack([x[:-delay], 2 * x[:-delay]]) + rng.normal(0, 0.01, (n, 2))
    x = x[delay:]
    cut = int(0.8 * n)
    empty = np.zeros((0, 4))
    return Split(x[:cut], y[:cut], x[cut:], y[cut:], x[cut:], y[cut:], empty, empty, empty, empty)


def test_tuning_finds_the_known_window_length():
    """y_t = x_{t-3}: every window shorter than 4 misses it, so the held-out tail picks window 4."""
    candidates = linear_candidates(_delay_problem(3), BaselineConfig(), windows=(1, 2, 3, 4))
    chosen = select(candidates, target=10)
    assert (
        chosen[BEST].hyper == {"window": 4} and chosen[BEST].held_out < 0.1
    )  # edge padding costs the first steps of the tail
    assert all(c.held_out > 0.2 for c in candidates if c.hyper["window"] < 4)
    assert chosen[MATCHED].hyper == {"window": 4}  # 10 parameters = 2 (4 + 1)


def test_select_separates_the_parameter_matched_and_the_best_choice():
    cands = [
        Candidate("x", {"k": k}, p, h) for k, (p, h) in enumerate([(140, 0.3), (150, 0.2), (900, 0.1), (20, 0.05)])
    ]
    chosen = select(cands, target=144)
    assert chosen[MATCHED].hyper == {"k": 1} and chosen[BEST].hyper == {"k": 3}
    with pytest.raises(ValueError, match="candidate"):
        select([])


def test_parameter_counts_match_the_models():
    from qrnn_study.classical import GRURegressor

    assert gru_parameters(5) == GRURegressor(5).n_parameters == 132
    assert mlp_parameters(16, 7) == 16 * 7 + 7 + 7 * 2 + 2


def test_gru_learns_a_delayed_copy_and_stops_at_its_best_held_out_epoch():
    """A sequence task that needs memory: output the input of the previous step."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (160, 12))
    y = np.concatenate([np.zeros((160, 1)), x[:, :-1]], axis=1)[..., None].repeat(2, axis=-1)
    model, epoch = train_gru(
        x[:128],
        y[:128],
        x[128:],
        y[128:],
        hidden=8,
        max_epochs=60,
        patience=60,
        lr=0.02,
        batch_size=16,
        washout=1,
        seed=0,
    )
    assert 1 <= epoch <= 60
    error = rmse_scores(gru_predict(model, x[128:])[:, 1:], y[128:, 1:])["rmse_mean"]
    assert error < 0.25 * y.std()


def test_esn_fits_a_linear_readout_of_its_input():
    x = np.random.default_rng(2).uniform(0, 1, 300)
    targets = np.stack([x, 2 * x], axis=-1)
    esn = EchoStateNetwork(30, 0.5, 1.0, 1.0, seed=0)
    esn.fit_readout(esn.states(x), targets, 1e-10)
    assert rmse_scores(esn.predict(x), targets)["rmse_mean"] < 0.05
    assert esn.n_parameters == 62


@pytest.fixture(scope="module")
def small():
    return load_lorenz(LorenzConfig(n_points=800), None)


def test_split_keeps_the_tail_out_of_fitting(small):
    s = split(small, 0.2)
    assert len(s.x_fit) + len(s.x_tail) == small.train_starts[-1] + 20 - small.train_starts[0]
    assert 0.15 < len(s.x_tail) / (len(s.x_fit) + len(s.x_tail)) < 0.25
    assert len(s.windows_fit) + len(s.windows_tail) < len(small.train_starts)  # windows across the cut are dropped
    np.testing.assert_array_equal(s.y_val, small.val_targets[0])


def test_choices_never_depend_on_the_validation_sequence(small):
    table, preds = run_baselines(small, TINY)
    assert set(table["family"]) == {"mean", "linear", "mlp", "gru", "esn"}
    assert all(len(p) == small.val_targets.shape[1] for p in preds.values())
    scrambled = dataclasses.replace(small, val_targets=small.val_targets[:, ::-1].copy())
    again, _ = run_baselines(scrambled, TINY)
    assert list(again["hyperparameters"]) == list(table["hyperparameters"])
    assert not np.allclose(again["rmse_mean"], table["rmse_mean"])
    refit, _ = run_baselines(small, TINY, tuned=table)
    assert list(refit["hyperparameters"]) == list(table["hyperparameters"])


def test_export_and_verdict_come_from_the_table():
    table = pd.DataFrame(
        [
            {
                "model": "mlp (135 parameters)",
                "family": "mlp",
                "choice": MATCHED,
                "hyperparameters": "window 16",
                "parameters": 135,
                "rmse_y": 0.02,
                "rmse_z": 0.04,
                "rmse_mean": 0.03,
                "train_time_s": 1.0,
            },
            {
                "model": "QRNN, SPSA",
                "family": "qrnn",
                "parameters": 144,
                "rmse_y": 0.1,
                "rmse_z": 0.14,
                "rmse_mean": 0.12,
                "train_time_s": 100.0,
            },
        ]
    )
    assert list(export_table(table)["kind"]) == ["classical", "qrnn"]
    text = verdict(table)
    assert (
        "0.1200" in text and "0.0300" in text and "4.0 times lower" in text and "1 of the 1 parameter-matched" in text
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("windows", ()),
        ("windows", (0,)),
        ("holdout", 0.9),
        ("esn_leaks", (0.0,)),
        ("esn_ridges", (-1.0,)),
        ("gru_widths", (2.5,)),
    ],
)
def test_bad_config_raises(field, value):
    with pytest.raises(ValueError, match=field):
        BaselineConfig(**{field: value})


def test_best_pair_is_the_one_reading_of_best_qrnn_against_best_classical():
    table = pd.DataFrame(
        {
            "model": ["QRNN, SPSA", "QRNN, FDSA", "gru (140 parameters)", "linear (4 parameters)"],
            "family": ["qrnn", "qrnn", "gru", "linear"],
            "choice": ["", "", MATCHED, BEST],
            "hyperparameters": ["", "", "width 5", "window 1"],
            "parameters": [144, 144, 140, 4],
            "rmse_y": [0.2, 0.1, 0.05, 0.3],
            "rmse_z": [0.2, 0.1, 0.05, 0.3],
            "rmse_mean": [0.2, float("nan"), 0.05, 0.3],
            "train_time_s": [1.0, 1.0, 1.0, 1.0],
        }
    )
    for shown in (table, export_table(table)):  # before export (family) and as written (kind)
        qrnn, classical, q, c = best_pair(shown)
        assert len(qrnn) == 1 and len(classical) == 2
        assert q["model"] == "QRNN, SPSA" and c["model"] == "gru (140 parameters)"
    assert "reaches 0.0500, 4.0 times lower" in verdict(table)
    assert best_pair(table[table["family"] != "qrnn"])[2] is None


def test_the_parameter_target_is_the_models_trained_parameter_count():
    from qrnn_core.model import QRNN, QRNNConfig
    from qrnn_study.classical import QRNN_PARAMETERS, trained_parameters

    for config in (QRNNConfig(), QRNNConfig(n_qubits=4)):
        assert trained_parameters(config) == sum(p.numel() for p in QRNN(config, seed=0).parameters())
    assert BaselineConfig().target_parameters == QRNN_PARAMETERS == trained_parameters(QRNNConfig())


def test_a_registered_family_is_searched_and_refit(monkeypatch):
    from qrnn_study import classical

    monkeypatch.setattr(classical, "_FAMILIES", {"linear": classical.family("linear")})
    data = load_lorenz(LorenzConfig(n_points=1500, transient=100))
    config = BaselineConfig(windows=(2, 4))
    classical.register_family(
        classical.Family(
            "linear-again",
            lambda s, c, g: [
                dataclasses.replace(x, family="linear-again") for x in classical.family("linear").search(s, c, g)
            ],
            classical.family("linear").predict,
            classical.family("linear").describe,
        )
    )
    table, predictions = run_baselines(data, config)
    assert list(dict.fromkeys(table["family"])) == ["mean", "linear", "linear-again"]
    refit, _ = run_baselines(data, config, tuned=table)
    assert refit["rmse_mean"].tolist() == pytest.approx(table["rmse_mean"].tolist())
    with pytest.raises(ValueError, match="already registered"):
        classical.register_family(classical.family("linear"))
