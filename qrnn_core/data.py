"""The Lorenz-63 cross-prediction task (input x, targets y and z one step ahead), and the registry of data sources.

Every series comes from a registered :class:`DataSource`: ``"lorenz"`` (the default) and
``"file"`` (chosen by ``data_path``); a new generated system is one function and one
:func:`register_source` call. The Lorenz series is integrated with a fixed-step RK4
(``dt``) from an initial condition drawn with ``data_seed``, and a transient is discarded.
Each column is min-max scaled to [0, 1], and the paper's windows are cut: 20-step training
sequences from the first ``train_fraction`` of all windows keeping every ``stride``-th, and
the rest of the series as one validation sequence. A series of one's own (``data_path``:
``.npy`` or ``.csv``) replaces the integration; everything after it is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import add_entry, check_choice, check_int, check_positive
from .files import save_npz

# At the repository root (never relative to the working directory, e.g. notebooks/), or $QRNN_DATA_CACHE.
DEFAULT_CACHE = Path(os.environ.get("QRNN_DATA_CACHE", Path(__file__).resolve().parents[1] / "data_cache"))
DEFAULT_DATA_SEED = 1920
SCALES = ("minmax", "none")
FILE_SUFFIXES = (".npy", ".csv")


@dataclass(frozen=True)
class LorenzConfig:
    """Every parameter of the data: the system, the sampling and the windows."""

    n_points: int = 9900
    dt: float = 0.01
    sigma: float = 10.0
    rho: float = 28.0
    beta: float = 8.0 / 3.0
    transient: int = 1000
    data_seed: int = DEFAULT_DATA_SEED
    train_fraction: float = 0.7
    stride: int = 5
    seq_len: int = 20
    horizon: int = 1
    context_length: int = 1
    data_path: str | None = None
    columns: tuple[int, int, int] | str = (0, 1, 2)  # "0,1,2" becomes (0, 1, 2)
    scale: str = "minmax"
    system: str | None = None  # a registered data source; None: "file" with a data_path, else "lorenz"

    def __post_init__(self) -> None:
        ints = {"n_points": 2, "transient": 0, "stride": 1, "seq_len": 1, "horizon": 1, "context_length": 1}
        for name, low in ints.items():
            check_int(name, getattr(self, name), low)
        for name in ("dt", "sigma", "rho", "beta"):
            check_positive(name, getattr(self, name))
        check_int("data_seed", self.data_seed, 0)
        check_choice("scale", self.scale, SCALES)
        if self.system is not None and (self.system == "file") != (self.data_path is not None):
            raise ValueError(f"system {self.system!r} and data_path={self.data_path!r} disagree: a file is 'file'")
        data_source(self.source_name)
        if self.system in ("lorenz", "file"):  # the default for the data_path: the same data, the same cache key
            object.__setattr__(self, "system", None)
        object.__setattr__(self, "columns", parse_columns(self.columns))
        if not 0 < self.train_fraction < 1:
            raise ValueError(f"train_fraction must lie in (0, 1), got {self.train_fraction!r}")
        if self.n_points < self.seq_len + self.horizon + self.context_length:
            raise ValueError(
                f"n_points={self.n_points} is too short for seq_len={self.seq_len}, horizon={self.horizon}, "
                f"context_length={self.context_length}"
            )

    @property
    def source_name(self) -> str:
        """The registered data source the series comes from."""
        return self.system or ("file" if self.data_path is not None else "lorenz")

    def source(self) -> str:
        """The series in words: the file, or the generated trajectory and its data seed."""
        if self.data_path is not None:
            return f"file {self.data_path} (columns {','.join(map(str, self.columns))}, scale {self.scale})"
        return f"{data_source(self.source_name).label}, data seed {self.data_seed}"

    def identity(self) -> dict:
        """The parameters that define the data (``system`` only where it is set: caches made before it stay valid)."""
        return {key: value for key, value in asdict(self).items() if key != "system" or value is not None}

    def key(self) -> str:
        """A short hash of the parameters, naming the cache file."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:16]


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


def parse_columns(columns: Any) -> tuple[int, int, int]:
    """Three distinct column indices (input, target 1, target 2) from ``"0,1,2"`` or a sequence."""
    parts = columns.split(",") if isinstance(columns, str) else columns
    try:
        values = tuple(int(str(part).strip()) for part in parts)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or len(set(values)) != 3 or min(values) < 0:
        raise ValueError(
            "columns must be three distinct column indices >= 0 such as '0,1,2' (input, target, target), "
            f"got {columns!r}"
        )
    return values


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_table(path: Path) -> np.ndarray:
    """A ``.npy`` or ``.csv`` file as a 2-D float array (CSV: header row optional)."""
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise ValueError(f"data file {str(path)!r} is not a readable .npy array: {error}") from error
        if array.ndim != 2:
            raise ValueError(
                f"data file {str(path)!r} must hold a 2-D array (rows = time steps, columns = variables), "
                f"got shape {array.shape}"
            )
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
            raise ValueError(f"data file {str(path)!r} must hold real numbers, got dtype {array.dtype}")
        return array.astype(float)
    try:
        cells = pd.read_csv(path, header=None, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(f"data file {str(path)!r} is not a readable CSV table: {error}") from error
    first = cells.iloc[0].to_numpy(dtype=str)
    try:
        first.astype(float)
    except ValueError:
        cells = cells.iloc[1:]  # a header row
    values = cells.to_numpy(dtype=str)
    try:
        return values.astype(float)
    except ValueError:
        rows, cols = np.nonzero(~np.vectorize(_is_number)(values))
        raise ValueError(
            f"data file {str(path)!r} holds a non-numeric or empty cell {values[rows[0], cols[0]]!r} "
            f"(data row {rows[0] + 1}, column {cols[0]}); every cell must be a number"
        ) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_series(path: str | Path, columns: object = (0, 1, 2)) -> np.ndarray:
    """The (input, target, target) columns of a ``.npy`` or ``.csv`` file, unscaled, (n, 3).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a directory, an
    unreadable file, fewer than 3 columns, a non-numeric cell, NaN or inf in the columns used.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"data file {str(path)!r} is a directory, not a file; give a {' or '.join(FILE_SUFFIXES)} file"
        )
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise ValueError(f"data file {str(path)!r} must end in {' or '.join(FILE_SUFFIXES)}, got {path.suffix!r}")
    table = _read_table(path)
    columns = parse_columns(columns)
    if table.shape[1] < 3:
        raise ValueError(
            f"data file {str(path)!r} has {table.shape[1]} column(s); it needs at least 3 (input and two targets)"
        )
    if max(columns) >= table.shape[1]:
        raise ValueError(
            f"columns {columns} name a column beyond the file's {table.shape[1]} (indices 0..{table.shape[1] - 1})"
        )
    series = table[:, list(columns)]
    bad = ~np.isfinite(series)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"data file {str(path)!r} holds {series[row, col]} (NaN or inf) at row {row}, column {columns[col]}; "
            "all values must be finite"
        )
    return series


def lorenz_series(config: LorenzConfig) -> np.ndarray:
    """Raw (unscaled) Lorenz-63 trajectory of ``n_points`` samples, (n_points, 3).

    The initial condition is (1, 1, 1) plus a uniform draw in [-1, 1]^3 seeded with ``data_seed``.
    """
    rng = np.random.default_rng(config.data_seed)
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
    """Scale each column to [0, 1]; a constant column is an error."""
    low, high = series.min(axis=0), series.max(axis=0)
    if np.any(high == low):
        raise ValueError(
            f"cannot min-max scale a constant column (column(s) {np.flatnonzero(high == low).tolist()}); "
            "use scale 'none'"
        )
    return (series - low) / (high - low)


def scaled_series(config: LorenzConfig) -> np.ndarray:
    """The series the windows are cut from: its source's, scaled as configured."""
    raw = data_source(config.source_name).series(config)
    return min_max_scale(raw) if config.scale == "minmax" else raw


def window_counts(config: LorenzConfig, n_rows: int | None = None) -> tuple[int, int]:
    """Training windows and validation steps a series of ``n_rows`` (default: the configured length) yields."""
    shapes = make_windows(np.zeros((n_rows or series_length(config), 3)), config)
    return shapes["train_inputs"].shape[0], shapes["val_inputs"].shape[1]


def series_length(config: LorenzConfig) -> int:
    """Rows of the series: ``n_points``, or the data file's (read, checked and scaled as configured)."""
    return config.n_points if data_source(config.source_name).generated else len(scaled_series(config))


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
    if n_pool < 1 or len(val_steps) < 1:
        raise ValueError(
            f"a series of {len(series)} rows is too short for the windows (seq_len={t_len}, horizon={h}, "
            f"context_length={c}, train_fraction={config.train_fraction}): "
            "it needs training windows and validation steps"
        )
    return {
        "train_inputs": _context(x, steps, c).astype(np.float32),
        "train_targets": targets[steps + h].astype(np.float32),
        "val_inputs": _context(x, val_steps, c)[None].astype(np.float32),
        "val_targets": targets[val_steps + h][None].astype(np.float32),
        "train_starts": starts,
        "val_start": np.int64(val_start),
    }


def load_lorenz(config: LorenzConfig | None = None, cache_dir: str | Path | None = DEFAULT_CACHE) -> LorenzData:
    """The task's data (from any registered source), read from ``cache_dir`` if a file with the same parameters exists.

    Args:
        config: the data's parameters (default: the paper's Lorenz-63 task).
        cache_dir: the cache folder; ``None`` disables the cache. A series read from a file
            is never cached. A cache file stores the parameters it was made with and is
            written atomically.

    Returns:
        The scaled series and the windows cut from it.

    Raises:
        ValueError: a data file that cannot be used, or a series too short for the windows.
        FileNotFoundError: a missing data file.

    Example:
        >>> data = load_lorenz(LorenzConfig(), cache_dir=None)
        >>> data.train_inputs.shape, data.train_targets.shape, data.val_inputs.shape
        ((1384, 20, 1), (1384, 20, 2), (1, 2969, 1))
    """
    config = config or LorenzConfig()
    path = None
    if cache_dir is not None and data_source(config.source_name).generated:
        path = Path(cache_dir) / f"{config.system or 'lorenz'}_{config.key()}.npz"
    identity = json.dumps(config.identity())
    if path is not None and path.exists():
        with np.load(path) as stored:
            if json.loads(str(stored["config"])) == json.loads(identity):
                arrays = {k: stored[k] for k in stored.files if k != "config"}
                return _assemble(config, arrays)
    series = scaled_series(config)
    arrays = {"series": series, **make_windows(series, config)}
    if path is not None:
        save_npz(path, {"config": np.array(identity), **arrays})
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


# ---------------------------------------------------------------- the registry of data sources


@dataclass(frozen=True)
class DataSource:
    """One source of series.

    Attributes:
        name: the key of :attr:`LorenzConfig.system`.
        label: how the data record and tables name it (with the data seed, for a generated one).
        series: the raw (unscaled) series (n, 3) for a config: input, target, target.
        generated: the series is computed from the config (and cached); False for files (read every time).
    """

    name: str
    label: str
    series: Callable[[LorenzConfig], np.ndarray]
    generated: bool = True


SOURCES: dict[str, DataSource] = {}


def register_source(source: DataSource, replace: bool = False) -> DataSource:
    """Add a data source; from then on ``LorenzConfig(system=name)`` and :func:`load_lorenz` accept it.

    Args:
        source: the data source.
        replace: replace a source of the same name (refused otherwise).

    Returns:
        ``source``.

    Raises:
        ValueError: ``source`` is not a :class:`DataSource`, or its name is taken and ``replace`` is False.

    Example:
        >>> def noise(config):  # any (n, 3) series: input, target, target
        ...     return np.random.default_rng(config.data_seed).random((config.n_points, 3))
        >>> register_source(DataSource("noise", "white noise", noise)).name, "noise" in source_names()
        ('noise', True)
        >>> load_lorenz(LorenzConfig(n_points=100, system="noise"), cache_dir=None).train_inputs.shape
        (12, 20, 1)
        >>> del SOURCES["noise"]
    """
    return add_entry(SOURCES, source, DataSource, "data source", replace)


def source_names() -> tuple[str, ...]:
    """The registered data sources' names, in registration order.

    Example:
        >>> source_names()
        ('lorenz', 'file')
    """
    return tuple(SOURCES)


def data_source(name: str) -> DataSource:
    """The registered data source ``name``; ``ValueError`` listing the choices otherwise.

    Example:
        >>> data_source("lorenz").label
        'Lorenz-63'
    """
    return SOURCES[check_choice("data source", name, SOURCES)]


register_source(DataSource("lorenz", "Lorenz-63", lorenz_series))
register_source(
    DataSource("file", "data file", lambda config: read_series(str(config.data_path), config.columns), False)
)
