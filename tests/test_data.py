"""The Lorenz-63 task: the paper's windows, scaling, caching, data seeds, data files and input checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qrnn_core.data import LorenzConfig, file_sha256, load_lorenz, lorenz_series, read_series
from qrnn_core.training import TrainConfig, main


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
    other = load_lorenz(LorenzConfig(n_points=600, data_seed=7), tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    assert not np.array_equal(other.series, first.series)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_points": 10}, "too short"),
        ({"dt": -0.01}, "dt"),
        ({"train_fraction": 1.5}, "train_fraction"),
        ({"stride": 0}, "stride"),
        ({"seq_len": 2.5}, "seq_len"),
        ({"data_seed": -1}, "data_seed"),
        ({"scale": "zscore"}, "scale"),
        ({"columns": "0,1"}, "columns"),
        ({"columns": "0,1,1"}, "columns"),
    ],
)
def test_bad_config(kwargs, word):
    with pytest.raises(ValueError, match=word):
        LorenzConfig(**kwargs)


# ---------------------------------------------------------------- data seeds


def test_data_seeds_give_different_trajectories_and_the_same_seed_the_same_series():
    first, again = (
        lorenz_series(LorenzConfig(n_points=300, data_seed=3)),
        lorenz_series(LorenzConfig(n_points=300, data_seed=3)),
    )
    other = lorenz_series(LorenzConfig(n_points=300, data_seed=4))
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1.0  # chaotic: different initial conditions, different trajectories


def test_default_data_seed_is_today_s_series():
    """No data seed (None) in a training config means the series every run used before data seeds existed."""
    assert TrainConfig().data_config() == LorenzConfig()
    assert TrainConfig(data_seed=1920).data_config() == LorenzConfig()
    assert TrainConfig(data_seed=5).data_config().data_seed == 5
    series = lorenz_series(LorenzConfig(n_points=300))
    # pinned from the series as generated before data seeds were added (RK4 from (1, 1, 1) + U(-1, 1)^3, seed 1920)
    np.testing.assert_allclose(series[0], [-5.50515303, -2.00557292, 28.26740103], rtol=1e-7)


# ---------------------------------------------------------------- a series of one's own


def _small(tmp_path):
    """A short generated series (raw), its config and the same data generated directly."""
    config = LorenzConfig(n_points=400)
    return config, lorenz_series(config), load_lorenz(config, None)


def _assert_same_data(a, b):
    for name in ("series", "train_inputs", "train_targets", "val_inputs", "val_targets", "train_starts"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.val_start == b.val_start


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".csv-header"])
def test_file_round_trip_loads_like_the_generated_series(tmp_path, suffix):
    config, raw, generated = _small(tmp_path)
    path = tmp_path / ("series.csv" if suffix.startswith(".csv") else "series.npy")
    shuffled = np.column_stack([raw[:, 2], raw[:, 0], np.zeros(len(raw)), raw[:, 1]])  # columns z, x, junk, y
    if suffix == ".npy":
        np.save(path, shuffled)
    else:
        np.savetxt(
            path,
            shuffled,
            delimiter=",",
            fmt="%.17g",
            header="z,x,junk,y" if suffix == ".csv-header" else "",
            comments="",
        )
    from_file = load_lorenz(LorenzConfig(n_points=400, data_path=str(path), columns="1,3,0"), None)
    _assert_same_data(from_file, generated)
    unscaled = load_lorenz(LorenzConfig(data_path=str(path), columns=(1, 3, 0), scale="none"), None)
    np.testing.assert_array_equal(unscaled.series, raw)


def test_file_round_trip_trains_like_the_generated_series(tmp_path):
    np.save(tmp_path / "lorenz.npy", lorenz_series(LorenzConfig()))
    common = [
        "--epochs",
        "1",
        "--n-train",
        "2",
        "--val-length",
        "15",
        "--method",
        "exact",
        "--shots",
        "none",
        "--cache-dir",
        "none",
        "--no-progress",
    ]
    assert main([*common, "--out", str(tmp_path / "generated")]) == 0
    assert main([*common, "--data", str(tmp_path / "lorenz.npy"), "--out", str(tmp_path / "file")]) == 0
    generated, own = (json.loads((tmp_path / run / "result.json").read_text()) for run in ("generated", "file"))
    for key in ("val_rmse_y", "val_rmse_z", "train_rmse"):
        assert own["epochs"][0][key] == generated["epochs"][0][key]
    assert own["provenance"]["data"]["sha256"] == file_sha256(tmp_path / "lorenz.npy")
    assert generated["provenance"]["data"] == {"source": "Lorenz-63, data seed 1920", "sha256": None}


def _write(path, text_or_array):
    if isinstance(text_or_array, str):
        path.write_text(text_or_array)
    else:
        np.save(path, text_or_array)
    return path


GOOD = np.random.default_rng(0).uniform(size=(400, 3))


@pytest.mark.parametrize(
    "name, content, error, words",
    [
        ("missing.npy", None, FileNotFoundError, "does not exist"),
        ("broken.npy", "not an array", ValueError, "not a readable .npy"),
        ("series.txt", "1,2,3\n", ValueError, "must end in"),
        ("two.npy", GOOD[:, :2], ValueError, "at least 3"),
        ("flat.npy", GOOD[:, 0], ValueError, "2-D"),
        ("words.csv", "x,y,z\n1,2,3\n4,five,6\n", ValueError, "non-numeric"),
        ("nan.npy", np.where(np.arange(400)[:, None] == 7, np.nan, GOOD), ValueError, "NaN or inf"),
        ("inf.csv", "1,2,3\n4,inf,6\n" * 300, ValueError, "NaN or inf"),
        ("short.npy", GOOD[:20], ValueError, "too short"),
        ("constant.npy", np.column_stack([GOOD[:, :2], np.ones(400)]), ValueError, "constant"),
    ],
)
def test_bad_data_file_is_refused_before_training(tmp_path, name, content, error, words):
    path = tmp_path / name if content is None else _write(tmp_path / name, content)
    with pytest.raises(error, match=words):
        TrainConfig(data_path=str(path), n_train=1)
    assert main(["--data", str(path), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    assert not (tmp_path / "run").exists()


def test_a_data_seed_with_a_data_file_is_refused(tmp_path):
    path = _write(tmp_path / "series.npy", GOOD)
    with pytest.raises(ValueError, match="data_seed=3"):
        TrainConfig(data_path=str(path), data_seed=3, n_train=1)


def test_columns_beyond_the_file_are_refused(tmp_path):
    path = _write(tmp_path / "series.npy", GOOD)
    with pytest.raises(ValueError, match="beyond"):
        read_series(path, "0,1,3")
