"""The Lorenz-63 task: the paper's windows, scaling, caching and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from qrnn_core.data import LorenzConfig, load_lorenz


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_lorenz(LorenzConfig(), tmp_path_factory.mktemp("cache"))


def test_window_shapes(data):
    assert data.train_inputs.shape == (1384, 20, 1)
    assert data.train_targets.shape == (1384, 20, 2)
    assert data.val_inputs.shape == (1, 2969, 1)
    assert data.val_targets.shape == (1, 2969, 2)
    assert np.all(np.diff(data.train_starts) == 5)


def test_labels_one_step_ahead(data):
    s = data.series
    steps = data.train_starts[:, None] + np.arange(20)
    np.testing.assert_allclose(data.train_inputs[..., 0], s[steps, 0], rtol=1e-6)
    np.testing.assert_allclose(data.train_targets, s[steps + 1, 1:], rtol=1e-6)
    val_steps = data.val_start + np.arange(2969)
    np.testing.assert_allclose(data.val_inputs[0, :, 0], s[val_steps, 0], rtol=1e-6)
    np.testing.assert_allclose(data.val_targets[0], s[val_steps + 1, 1:], rtol=1e-6)
    assert val_steps[-1] + 1 == len(s) - 1  # the validation sequence runs to the end of the series
    assert data.train_starts[0] == 0 and data.train_starts[-1] < round(0.7 * (9900 - 20))  # first 70% of windows


def test_scaling(data):
    assert data.series.shape == (9900, 3)
    np.testing.assert_allclose(data.series.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.series.max(axis=0), 1.0, atol=1e-12)


def test_cache_hit_and_new_key(tmp_path):
    config = LorenzConfig(n_points=600)
    first = load_lorenz(config, tmp_path)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = load_lorenz(config, tmp_path)
    assert files[0].stat().st_mtime_ns == stamp  # read, not regenerated
    for name in ("series", "train_inputs", "train_targets", "val_inputs", "val_targets"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    other = load_lorenz(LorenzConfig(n_points=600, seed=7), tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    assert not np.array_equal(other.series, first.series)


@pytest.mark.parametrize(
    "kwargs, word",
    [({"n_points": 10}, "too short"), ({"dt": -0.01}, "dt"), ({"train_fraction": 1.5}, "train_fraction"),
     ({"stride": 0}, "stride"), ({"seq_len": 2.5}, "seq_len")],
)  # fmt: skip
def test_bad_config(kwargs, word):
    with pytest.raises(ValueError, match=word):
        LorenzConfig(**kwargs)
