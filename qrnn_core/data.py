"""The Lorenz-63 cross-prediction task: input x, targets y and z one step ahead.

The series is integrated with a fixed-step RK4 (``dt``), a transient is discarded,
each column is min-max scaled to [0, 1], and the paper's windows are cut: 20-step
training sequences from the first ``train_fraction`` of all windows keeping every
``stride``-th, and the rest of the series as one validation sequence.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DEFAULT_CACHE = Path(os.environ.get("QRNN_DATA_CACHE", "data_cache"))


@dataclass(frozen=True)
class LorenzConfig:
    """Every parameter of the data: the system, the sampling and the windows."""

    n_points: int = 9900
    dt: float = 0.01
    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0
    transient: int = 1000
    seed: int = 1920
    train_fraction: float = 0.7
    stride: int = 5
    seq_len: int = 20
    horizon: int = 1
    context_length: int = 1

    def __post_init__(self) -> None:
        ints = {"n_points": 2, "transient": 0, "stride": 1, "seq_len": 1, "horizon": 1, "context_length": 1}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("dt", "sigma", "rho", "beta"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not 0 < self.train_fraction < 1:
            raise ValueError(f"train_fraction must lie in (0, 1), got {self.train_fraction!r}")
        if self.n_points < self.seq_len + self.horizon + self.context_length:
            raise ValueError(
                f"n_points={self.n_points} is too short for seq_len={self.seq_len}, horizon={self.horizon}, "
                f"context_length={self.context_length}"
            )

    def key(self) -> str:
        """A short hash of the parameters, naming the cache file."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class LorenzData:
    """Scaled series and the windows cut from it (float32 arrays).

    ``train_inputs`` (N, T, context_length): step ``s`` of a window starting at ``i``
    holds ``x[i+s-context_length+1 .. i+s]``; ``train_targets`` (N, T, 2) holds
    ``(y, z)[i+s+horizon]``. ``val_inputs`` (1, Tv, context_length) and
    ``val_targets`` (1, Tv, 2) are the validation sequence in one piece.
    """

    config: LorenzConfig
    series: np.ndarray
    train_inputs: np.ndarray
    train_targets: np.ndarray
    val_inputs: np.ndarray
    val_targets: np.ndarray
    train_starts: np.ndarray
    val_start: int


def lorenz_series(config: LorenzConfig) -> np.ndarray:
    """Raw (unscaled) Lorenz-63 trajectory of ``n_points`` samples, (n_points, 3)."""
    rng = np.random.default_rng(config.seed)
    state = np.array([1.0, 1.0, 1.0]) + rng.uniform(-1.0, 1.0, 3)

    def f(s: np.ndarray) -> np.ndarray:
        x, y, z = s
        return np.array([config.sigma * (y - x), x * (config.rho - z) - y, x * y - config.beta * z])

    h = config.dt
    out = np.empty((config.transient + config.n_points, 3))
    for k in range(out.shape[0]):
        out[k] = state
        k1 = f(state)
        k2 = f(state + h / 2 * k1)
        k3 = f(state + h / 2 * k2)
        k4 = f(state + h * k3)
        state = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return out[config.transient :]


def min_max_scale(series: np.ndarray) -> np.ndarray:
    """Scale each column to [0, 1]."""
    low, high = series.min(axis=0), series.max(axis=0)
    return (series - low) / (high - low)


def _context(x: np.ndarray, index: np.ndarray, context_length: int) -> np.ndarray:
    """``x[index - c + 1 .. index]`` for each entry of ``index``: shape index.shape + (c,)."""
    offsets = np.arange(-context_length + 1, 1)
    return x[index[..., None] + offsets]


def make_windows(series: np.ndarray, config: LorenzConfig) -> dict[str, np.ndarray]:
    """Cut the training windows and the validation sequence from a scaled series."""
    x, targets = series[:, 0], series[:, 1:]
    c, t_len, h = config.context_length, config.seq_len, config.horizon
    first = c - 1
    n_windows = len(series) - first - (t_len + h - 1)
    n_pool = int(round(config.train_fraction * n_windows))
    starts = first + np.arange(0, n_pool, config.stride)
    steps = starts[:, None] + np.arange(t_len)
    val_start = max(int(round(config.train_fraction * len(series))), first)
    val_steps = np.arange(val_start, len(series) - h)
    return {
        "train_inputs": _context(x, steps, c).astype(np.float32),
        "train_targets": targets[steps + h].astype(np.float32),
        "val_inputs": _context(x, val_steps, c)[None].astype(np.float32),
        "val_targets": targets[val_steps + h][None].astype(np.float32),
        "train_starts": starts,
        "val_start": np.int64(val_start),
    }


def load_lorenz(config: LorenzConfig | None = None, cache_dir: str | Path | None = DEFAULT_CACHE) -> LorenzData:
    """The task's data, read from ``cache_dir`` if a file with the same parameters exists.

    ``cache_dir=None`` disables the cache. The cache file stores the parameters it was
    made with and is written atomically.
    """
    config = config or LorenzConfig()
    path = None if cache_dir is None else Path(cache_dir) / f"lorenz_{config.key()}.npz"
    if path is not None and path.exists():
        with np.load(path) as stored:
            if json.loads(str(stored["config"])) == asdict(config):
                arrays = {k: stored[k] for k in stored.files if k != "config"}
                return _assemble(config, arrays)
    series = min_max_scale(lorenz_series(config))
    arrays = {"series": series, **make_windows(series, config)}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, config=json.dumps(asdict(config)), **arrays)
        os.replace(tmp, path)
    return _assemble(config, arrays)


def _assemble(config: LorenzConfig, arrays: dict[str, np.ndarray]) -> LorenzData:
    return LorenzData(
        config=config,
        series=arrays["series"],
        train_inputs=arrays["train_inputs"],
        train_targets=arrays["train_targets"],
        val_inputs=arrays["val_inputs"],
        val_targets=arrays["val_targets"],
        train_starts=arrays["train_starts"],
        val_start=int(arrays["val_start"]),
    )
