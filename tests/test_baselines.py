"""Classical baselines: known answers on toy problems and input checks."""

import numpy as np
import pytest

from qrnn_core.baselines import (
    BaselineConfig,
    EchoStateNetwork,
    LinearRegression,
    gru_predict,
    lagged,
    rmse_scores,
    train_gru,
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
    x = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(lagged(x, 2)[0], [[1, 1], [1, 2], [2, 3]])


def test_rmse_scores_of_a_known_error():
    scores = rmse_scores(np.zeros((4, 2)), np.column_stack([np.full(4, 3.0), np.full(4, 4.0)]))
    assert scores == {"rmse_y": 3.0, "rmse_z": 4.0, "rmse_mean": 3.5}


def test_gru_learns_a_delayed_copy():
    """A sequence task that needs memory: output the input of the previous step."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (128, 12, 1)).astype(np.float32)
    y = np.concatenate([np.zeros((128, 1, 1)), x[:, :-1]], axis=1).repeat(2, axis=-1).astype(np.float32)
    model = train_gru(x, y, hidden=8, epochs=60, lr=0.02, batch_size=16, washout=1, seed=0)
    error = rmse_scores(gru_predict(model, x)[:, 1:], y[:, 1:])["rmse_mean"]
    assert error < 0.25 * y.std()


def test_esn_fits_a_linear_readout_of_its_input():
    x = np.random.default_rng(2).uniform(0, 1, (64, 10))
    targets = np.stack([x, 2 * x], axis=-1)
    esn = EchoStateNetwork(30, 0.5, 1.0, 1.0, seed=0).fit(x, targets, 2, (1e-8, 1e-6), 0.2)
    assert rmse_scores(esn.predict(x)[:, 2:], targets[:, 2:])["rmse_mean"] < 0.05
    assert esn.n_parameters == 62


@pytest.mark.parametrize("field, value", [("lags", 0), ("lags", 7), ("gru_seeds", ()), ("esn_leak", 0.0), ("esn_ridges", (-1.0,))])
def test_bad_config_raises(field, value):
    with pytest.raises(ValueError, match=field):
        BaselineConfig(**{field: value})
