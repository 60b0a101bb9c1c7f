"""Classical baselines on the QRNN's task, tuned on a held-out tail of the training pool.

Every model learns from the training pool only (the stretch of the series the 1384
training windows cover) and is scored, once, on every step of the validation sequence,
run in one go from a fresh start, as the QRNN is. Hyper-parameters are chosen on the
last ``holdout`` fraction of the training pool (the *held-out tail*), treated exactly
like the validation sequence (run in one go from a fresh start); the validation
sequence is never used to choose anything.

Families (each gets a *parameter-matched* row, the best held-out choice among models
with about as many trained parameters as the QRNN (144), and a *best-found* row, the
best held-out choice of all):

- ``mean``: the training targets' mean (2 parameters; nothing to tune);
- ``linear``: least squares on a delay window of the last ``L`` values of x
  (``2 (L + 1)`` parameters; ``L`` tuned);
- ``mlp``: a one-hidden-layer tanh network on the same delay window (``L`` and the width
  tuned; Adam, full batch, early stopping on the held-out loss);
- ``gru``: a one-layer GRU with a linear readout trained on the 20-step training windows
  with Adam and early stopping on the held-out windows' loss (the width tuned);
- ``esn``: an echo-state network (fixed random leaky tanh reservoir driven through the
  training pool in one go, washout, ridge readout; leak rate, spectral radius, input
  scaling, ridge and size tuned). Only the readout counts as trained parameters.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from qrnn_core.checks import add_entry, check_choice, check_int, check_number, check_positive
from qrnn_core.data import LorenzData
from qrnn_core.model import QRNNConfig


def trained_parameters(config: QRNNConfig) -> int:
    """The QRNN's trained parameters: the input layer (``n_params``) plus the linear readout with its bias."""
    return config.n_params + (config.n_outcomes + 1) * config.out_dim


QRNN_PARAMETERS = trained_parameters(QRNNConfig())  # 110 input layer + 34 output layer at the paper's size
MATCHED, BEST = "parameter-matched", "best-found"


@dataclass(frozen=True)
class BaselineConfig:
    """Search spaces and training settings of the baselines (every run seeded with ``seed``)."""

    washout: int = 5
    holdout: float = 0.2
    windows: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 71, 96, 128)
    mlp_widths: tuple[int, ...] = (16, 64)
    mlp_steps: int = 1500
    mlp_lr: float = 0.01
    gru_widths: tuple[int, ...] = (5, 16)
    gru_max_epochs: int = 60
    gru_patience: int = 6
    gru_lr: float = 0.01
    gru_batch_size: int = 32
    esn_units: tuple[int, ...] = (71, 300)
    esn_leaks: tuple[float, ...] = (0.1, 0.3, 1.0)
    esn_radii: tuple[float, ...] = (0.5, 0.9, 1.2)
    esn_input_scales: tuple[float, ...] = (0.2, 1.0)
    esn_ridges: tuple[float, ...] = (1e-8, 1e-6, 1e-4, 1e-2)
    esn_washout: int = 100
    target_parameters: int = QRNN_PARAMETERS
    seed: int = 1920

    def __post_init__(self) -> None:
        check_int("washout", self.washout, 0)
        check_number("holdout", self.holdout, 0.05, 0.5)
        for name in ("mlp_steps", "gru_max_epochs", "gru_patience", "gru_batch_size", "target_parameters"):
            check_int(name, getattr(self, name), 1)
        check_int("esn_washout", self.esn_washout, 0)
        check_int("seed", self.seed, 0)
        for name in ("mlp_lr", "gru_lr"):
            check_positive(name, getattr(self, name))
        for name in ("windows", "mlp_widths", "gru_widths", "esn_units"):
            values = tuple(getattr(self, name))
            if not values:
                raise ValueError(f"{name} must list at least one value")
            for value in values:
                check_int(name, value, 1)
            object.__setattr__(self, name, values)
        for name in ("esn_radii", "esn_input_scales", "esn_ridges"):
            values = tuple(getattr(self, name))
            if not values:
                raise ValueError(f"{name} must list at least one value")
            for value in values:
                check_positive(name, value)
            object.__setattr__(self, name, values)
        if not self.esn_leaks:
            raise ValueError("esn_leaks must list at least one value")
        for value in self.esn_leaks:
            check_number("esn_leaks", value, 1e-6, 1.0)
        object.__setattr__(self, "esn_leaks", tuple(self.esn_leaks))


# ---------------------------------------------------------------- data: the pool, its tail, validation


@dataclass
class Split:
    """The training pool cut into a fitting part and a held-out tail, and the validation sequence.

    ``x_*`` (T,) inputs and ``y_*`` (T, 2) targets one step ahead, as contiguous stretches;
    ``windows_*`` (N, seq_len) / ``window_targets_*`` (N, seq_len, 2) the training windows
    lying wholly in the fitting part or wholly in the tail (windows across the cut are dropped).
    """

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_tail: np.ndarray
    y_tail: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    windows_fit: np.ndarray
    window_targets_fit: np.ndarray
    windows_tail: np.ndarray
    window_targets_tail: np.ndarray


def split(data: LorenzData, holdout: float) -> Split:
    """Cut the training pool of ``data`` at ``1 - holdout`` of its length (by time)."""
    check_number("holdout", holdout, 0.05, 0.5)
    series, starts, h = data.series.astype(float), data.train_starts, data.config.horizon
    seq_len = data.train_inputs.shape[1]
    steps = np.arange(starts[0], starts[-1] + seq_len)
    cut = steps[0] + int(round((1 - holdout) * len(steps)))
    fit, tail = steps[steps < cut], steps[steps >= cut]
    in_fit, in_tail = starts + seq_len + h <= cut, starts >= cut
    x_train, y_train = data.train_inputs[..., -1].astype(float), data.train_targets.astype(float)
    return Split(
        series[fit, 0],
        series[fit + h, 1:],
        series[tail, 0],
        series[tail + h, 1:],
        data.val_inputs[0, :, -1].astype(float),
        data.val_targets[0].astype(float),
        x_train[in_fit],
        y_train[in_fit],
        x_train[in_tail],
        y_train[in_tail],
    )


def rmse_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """RMSE of y, z and their mean over all rows: pred, target (..., 2)."""
    err = np.sqrt(np.mean((np.asarray(pred, float) - np.asarray(target, float)).reshape(-1, 2) ** 2, axis=0))
    return {"rmse_y": float(err[0]), "rmse_z": float(err[1]), "rmse_mean": float(err.mean())}


def _rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return rmse_scores(pred, target)["rmse_mean"]


def lagged(x: np.ndarray, lags: int) -> np.ndarray:
    """The last ``lags`` values of x at every step: (..., T) -> (..., T, lags), oldest first.

    Steps with less history repeat the sequence's first value (edge padding), as a model
    started fresh on a sequence would see it.
    """
    x = np.asarray(x, float)
    padded = np.concatenate([np.repeat(x[..., :1], lags - 1, axis=-1), x], axis=-1)
    return np.stack([padded[..., k : k + x.shape[-1]] for k in range(lags)], axis=-1)


# ---------------------------------------------------------------- models


class LinearRegression:
    """Ordinary least squares with an intercept: features (n, f) -> targets (n, k)."""

    def fit(self, features: np.ndarray, targets: np.ndarray) -> LinearRegression:
        design = np.column_stack([features, np.ones(len(features))])
        self.coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef[:-1] + self.coef[-1]

    @property
    def n_parameters(self) -> int:
        return int(self.coef.size)


def _one_thread(fn):
    """Run ``fn`` on one torch thread (tiny matrices: more threads only add overhead)."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapped


def mlp_parameters(window: int, width: int) -> int:
    """Trained parameters of an MLP window -> width -> 2."""
    return width * (window + 1) + 2 * (width + 1)


def matched_width(window: int, target: int = QRNN_PARAMETERS) -> int:
    """The MLP width whose parameter count on a ``window`` is closest to ``target``."""
    return max(1, int(round((target - 2) / (window + 3))))


@_one_thread
def train_mlp(
    features: np.ndarray,
    targets: np.ndarray,
    held_features: np.ndarray,
    held_targets: np.ndarray,
    width: int,
    steps: int,
    lr: float,
    seed: int,
) -> nn.Sequential:
    """Full-batch Adam on MSE; returns the weights of the lowest held-out loss (checked every 25 steps)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(features.shape[1], width), nn.Tanh(), nn.Linear(width, targets.shape[1]))
    x, y = torch.as_tensor(features, dtype=torch.float32), torch.as_tensor(targets, dtype=torch.float32)
    hx, hy = torch.as_tensor(held_features, dtype=torch.float32), torch.as_tensor(held_targets, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state = float("inf"), None
    for step in range(steps + 1):
        if step % 25 == 0 or step == steps:
            with torch.no_grad():
                loss = float(torch.mean((model(hx) - hy) ** 2))
            if loss < best:
                best, best_state = loss, {k: v.clone() for k, v in model.state_dict().items()}
        if step < steps:
            optimizer.zero_grad()
            torch.mean((model(x) - y) ** 2).backward()
            optimizer.step()
    model.load_state_dict(best_state)
    return model


def mlp_predict(model: nn.Sequential, features: np.ndarray) -> np.ndarray:
    """Predictions (n, 2) of a trained MLP."""
    with torch.no_grad():
        return model(torch.as_tensor(features, dtype=torch.float32)).numpy().astype(float)


class GRURegressor(nn.Module):
    """A one-layer GRU over the input sequence with a linear readout per step."""

    def __init__(self, hidden: int, in_dim: int = 1, out_dim: int = 2):
        super().__init__()
        self.gru = nn.GRU(in_dim, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, out_dim)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T, in_dim) -> (B, T, out_dim), starting from a zero hidden state."""
        return self.readout(self.gru(inputs)[0])

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def gru_parameters(hidden: int) -> int:
    """Trained parameters of a one-input GRU of ``hidden`` units with a 2-output readout."""
    return 3 * (hidden * (1 + hidden) + 2 * hidden) + 2 * hidden + 2


@_one_thread
def train_gru(
    inputs: np.ndarray,
    targets: np.ndarray,
    held_inputs: np.ndarray,
    held_targets: np.ndarray,
    hidden: int,
    max_epochs: int,
    patience: int,
    lr: float,
    batch_size: int,
    washout: int,
    seed: int,
) -> tuple[GRURegressor, int]:
    """Adam on MSE over steps >= ``washout`` of windows (N, T) -> (N, T, 2), with early stopping.

    Stops after ``patience`` epochs without a lower held-out loss; returns the weights of the
    best held-out epoch and that epoch.
    """
    torch.manual_seed(seed)
    model = GRURegressor(hidden)
    x, y = torch.as_tensor(inputs[..., None], dtype=torch.float32), torch.as_tensor(targets, dtype=torch.float32)
    hx, hy = (
        torch.as_tensor(held_inputs[..., None], dtype=torch.float32),
        torch.as_tensor(held_targets, dtype=torch.float32),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(seed)
    best, best_epoch, best_state = float("inf"), 0, {k: v.clone() for k, v in model.state_dict().items()}
    for epoch in range(1, max_epochs + 1):
        for batch in torch.randperm(len(x), generator=shuffle).split(batch_size):
            optimizer.zero_grad()
            torch.mean((model(x[batch])[:, washout:] - y[batch][:, washout:]) ** 2).backward()
            optimizer.step()
        with torch.no_grad():
            loss = float(torch.mean((model(hx)[:, washout:] - hy[:, washout:]) ** 2))
        if loss < best:
            best, best_epoch, best_state = loss, epoch, {k: v.clone() for k, v in model.state_dict().items()}
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    return model, best_epoch


def gru_predict(model: GRURegressor, x: np.ndarray) -> np.ndarray:
    """Predictions (..., T, 2) of a trained GRU for inputs (..., T), run in one go from a zero state."""
    x = np.asarray(x, float)
    batch = x.reshape(-1, x.shape[-1])[..., None]
    with torch.no_grad():
        pred = model(torch.as_tensor(batch, dtype=torch.float32)).numpy().astype(float)
    return pred.reshape(*x.shape, -1)


class EchoStateNetwork:
    """Leaky tanh reservoir with fixed random weights (seeded) and a ridge-regression readout."""

    def __init__(self, units: int, spectral_radius: float, input_scale: float, leak: float, seed: int):
        rng = np.random.default_rng(seed)
        w = rng.uniform(-1.0, 1.0, (units, units))
        self.w = w * spectral_radius / np.max(np.abs(np.linalg.eigvals(w)))
        self.w_in = rng.uniform(-input_scale, input_scale, units)
        self.b = rng.uniform(-input_scale, input_scale, units)
        self.leak = leak

    def states(self, x: np.ndarray) -> np.ndarray:
        """Reservoir states (..., T, units) for inputs (..., T), from a zero state."""
        x = np.asarray(x, float)
        flat = x.reshape(-1, x.shape[-1])
        h = np.zeros((flat.shape[0], self.w.shape[0]))
        out = np.empty((*flat.shape, self.w.shape[0]))
        for t in range(flat.shape[1]):
            h = (1 - self.leak) * h + self.leak * np.tanh(h @ self.w.T + flat[:, t, None] * self.w_in + self.b)
            out[:, t] = h
        return out.reshape(*x.shape, -1)

    def fit_readout(self, states: np.ndarray, targets: np.ndarray, ridge: float) -> EchoStateNetwork:
        """Ridge regression of targets (n, k) on states (n, units) with an intercept."""
        design = np.column_stack([states, np.ones(len(states))])
        gram = design.T @ design + ridge * len(states) * np.eye(design.shape[1])
        self.readout = np.linalg.solve(gram, design.T @ targets)
        return self

    def readout_of(self, states: np.ndarray) -> np.ndarray:
        return states @ self.readout[:-1] + self.readout[-1]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (..., T, 2) for inputs (..., T), run from a zero state."""
        return self.readout_of(self.states(x))

    @property
    def n_parameters(self) -> int:
        """Trained parameters only (the readout); the reservoir is fixed and random."""
        return int(self.readout.size)


# ---------------------------------------------------------------- tuning


@dataclass
class Candidate:
    """One tried configuration of a family: its hyper-parameters, trained parameters and held-out RMSE."""

    family: str
    hyper: dict
    parameters: int
    held_out: float
    model: object = field(repr=False, default=None)
    seconds: float = 0.0


def select(candidates: list[Candidate], target: int = QRNN_PARAMETERS) -> dict[str, Candidate]:
    """The parameter-matched choice (best held-out among those closest to ``target`` parameters,
    within 25% of the closest count) and the best-found choice (best held-out of all)."""
    if not candidates:
        raise ValueError("select needs at least one candidate")
    closest = min(abs(c.parameters - target) for c in candidates)
    near = [c for c in candidates if abs(c.parameters - target) <= closest + 0.25 * target]
    return {MATCHED: min(near, key=lambda c: c.held_out), BEST: min(candidates, key=lambda c: c.held_out)}


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def linear_candidates(s: Split, config: BaselineConfig, windows: tuple[int, ...] | None = None) -> list[Candidate]:
    """Least squares on delay windows of x, one candidate per window length."""
    out = []
    for window in windows or config.windows:
        model, seconds = _timed(LinearRegression().fit, lagged(s.x_fit, window), s.y_fit)
        held = _rmse(model.predict(lagged(s.x_tail, window)), s.y_tail)
        out.append(Candidate("linear", {"window": window}, model.n_parameters, held, model, seconds))
    return out


def mlp_candidates(s: Split, config: BaselineConfig, pairs: list[tuple[int, int]] | None = None) -> list[Candidate]:
    """MLPs on delay windows: every window at the width matching the QRNN's parameters and at each ``mlp_widths``."""
    if pairs is None:
        pairs = sorted(
            {(w, matched_width(w, config.target_parameters)) for w in config.windows}
            | set(itertools.product(config.windows, config.mlp_widths))
        )
    out = []
    for window, width in pairs:
        model, seconds = _timed(
            train_mlp,
            lagged(s.x_fit, window),
            s.y_fit,
            lagged(s.x_tail, window),
            s.y_tail,
            width,
            config.mlp_steps,
            config.mlp_lr,
            config.seed,
        )
        held = _rmse(mlp_predict(model, lagged(s.x_tail, window)), s.y_tail)
        out.append(
            Candidate("mlp", {"window": window, "width": width}, mlp_parameters(window, width), held, model, seconds)
        )
    return out


def gru_candidates(s: Split, config: BaselineConfig, widths: tuple[int, ...] | None = None) -> list[Candidate]:
    """GRUs of each width, early-stopped on the held-out windows; scored on the tail run in one go."""
    out = []
    for width in widths or config.gru_widths:
        (model, epoch), seconds = _timed(
            train_gru,
            s.windows_fit,
            s.window_targets_fit,
            s.windows_tail,
            s.window_targets_tail,
            width,
            config.gru_max_epochs,
            config.gru_patience,
            config.gru_lr,
            config.gru_batch_size,
            config.washout,
            config.seed,
        )
        held = _rmse(gru_predict(model, s.x_tail), s.y_tail)
        out.append(Candidate("gru", {"width": width, "epochs": epoch}, model.n_parameters, held, model, seconds))
    return out


def esn_candidates(s: Split, config: BaselineConfig, grid: list[dict] | None = None) -> list[Candidate]:
    """Echo-state networks over the grid of units x leak x spectral radius x input scaling x ridge.

    The reservoir runs through the fitting part in one go; the first ``esn_washout`` states
    are dropped before the ridge fit. The tail is run from a zero state, as validation is.
    """
    if grid is None:
        grid = [
            dict(zip(("units", "leak", "radius", "input_scale", "ridge"), values))
            for values in itertools.product(
                config.esn_units, config.esn_leaks, config.esn_radii, config.esn_input_scales, config.esn_ridges
            )
        ]
    out, reservoirs = [], {}
    for hyper in grid:
        key = (hyper["units"], hyper["radius"], hyper["input_scale"], hyper["leak"])
        start = time.perf_counter()
        if key not in reservoirs:
            esn = EchoStateNetwork(*key, seed=config.seed)
            reservoirs[key] = (esn, esn.states(s.x_fit)[config.esn_washout :], esn.states(s.x_tail))
        esn, fit_states, tail_states = reservoirs[key]
        esn = _copy_reservoir(esn).fit_readout(fit_states, s.y_fit[config.esn_washout :], hyper["ridge"])
        held = _rmse(esn.readout_of(tail_states), s.y_tail)
        out.append(Candidate("esn", dict(hyper), esn.n_parameters, held, esn, time.perf_counter() - start))
    return out


def esn_window_contrast(
    data: LorenzData, hyper: dict, config: BaselineConfig, val_steps: int | None = None
) -> dict[str, float]:
    """Validation mean RMSE of one ESN configuration fit two ways: on its states driven through the
    fitting part of the pool in one go (as here), and on the 20-step training windows each started
    from a zero state with the QRNN's washout (as the earlier version of this chapter did).

    Both apply the readout to the validation sequence run in one go; the difference shows what
    fitting on barely warmed-up states costs.
    """
    s = split(data, config.holdout)
    esn = EchoStateNetwork(hyper["units"], hyper["radius"], hyper["input_scale"], hyper["leak"], seed=config.seed)
    val_states, scored = esn.states(s.x_val)[:val_steps], s.y_val[:val_steps]
    esn.fit_readout(esn.states(s.x_fit)[config.esn_washout :], s.y_fit[config.esn_washout :], hyper["ridge"])
    in_one_go = _rmse(esn.readout_of(val_states), scored)
    windows = esn.states(s.windows_fit)[:, config.washout :]
    esn.fit_readout(
        windows.reshape(-1, windows.shape[-1]), s.window_targets_fit[:, config.washout :].reshape(-1, 2), hyper["ridge"]
    )
    return {"driven in one go": in_one_go, "on 20-step windows from zero": _rmse(esn.readout_of(val_states), scored)}


def _copy_reservoir(esn: EchoStateNetwork) -> EchoStateNetwork:
    copy = object.__new__(EchoStateNetwork)
    copy.w, copy.w_in, copy.b, copy.leak = esn.w, esn.w_in, esn.b, esn.leak
    return copy


def _predict(candidate: Candidate, x: np.ndarray) -> np.ndarray:
    """Validation predictions (T, 2) of a fitted candidate for inputs x (T,), run in one go."""
    return family(candidate.family).predict(candidate, x)


def describe(candidate: Candidate) -> str:
    """The hyper-parameters of a choice in words."""
    return family(candidate.family).describe(candidate.hyper)


# ---------------------------------------------------------------- the registry of model families


@dataclass(frozen=True)
class Family:
    """One classical model family the baselines search.

    - ``name``: its key in tables, ``tuned.json`` and colours;
    - ``search``: ``(split, config, grid)`` -> the tried candidates, over ``grid`` (the hyper-parameters
      of earlier choices, refit without a new search) or, when ``grid`` is ``None``, the config's space;
    - ``predict``: ``(candidate, x)`` -> predictions (T, 2) of a fitted candidate, run in one go;
    - ``describe``: a choice's hyper-parameters in words.
    """

    name: str
    search: Callable[[Split, BaselineConfig, list[dict] | None], list[Candidate]]
    predict: Callable[[Candidate, np.ndarray], np.ndarray]
    describe: Callable[[dict], str]


_FAMILIES: dict[str, Family] = {}
# The reference every table starts with: the training targets' mean (nothing to search).
MEAN = "mean"


def register_family(entry: Family, replace: bool = False) -> Family:
    """Add a model family to the search; ``replace`` to redefine one (else a repeated name is a ``ValueError``)."""
    if entry.name == MEAN:
        raise ValueError(f"model family {MEAN!r} is the reference every table starts with; choose another name")
    return add_entry(_FAMILIES, entry, Family, "model family", replace)


def family_names() -> tuple[str, ...]:
    """The registered model families, in registration order (the mean reference not included)."""
    return tuple(_FAMILIES)


def family(name: str) -> Family:
    """A registered model family (``ValueError`` naming the registered ones for an unknown name)."""
    return _FAMILIES[check_choice("model family", name, _FAMILIES)]


register_family(
    Family(
        "linear",
        lambda s, config, g: linear_candidates(s, config, tuple(h["window"] for h in g) if g else None),
        lambda c, x: c.model.predict(lagged(x, c.hyper["window"])),
        lambda h: f"window {h['window']}",
    )
)
register_family(
    Family(
        "mlp",
        lambda s, config, g: mlp_candidates(s, config, [(h["window"], h["width"]) for h in g] if g else None),
        lambda c, x: mlp_predict(c.model, lagged(x, c.hyper["window"])),
        lambda h: f"window {h['window']}, width {h['width']}",
    )
)
register_family(
    Family(
        "gru",
        lambda s, config, g: gru_candidates(s, config, tuple(h["width"] for h in g) if g else None),
        lambda c, x: gru_predict(c.model, x),
        lambda h: f"width {h['width']}, early stop at epoch {h['epochs']}",
    )
)
register_family(
    Family(
        "esn",
        lambda s, config, g: esn_candidates(s, config, g or None),
        lambda c, x: c.model.predict(x),
        lambda h: (
            f"{h['units']} units, leak {h['leak']:g}, radius {h['radius']:g}, "
            f"input scale {h['input_scale']:g}, ridge {h['ridge']:g}"
        ),
    )
)


def tuned_choices(table: pd.DataFrame) -> list[dict]:
    """The choices of a ``run_baselines`` table as JSON-safe records (family, choice, hyper)."""
    return [{"family": r["family"], "choice": r["choice"], "hyper": r["hyper"]} for _, r in table.iterrows()]


def fixed_grids(tuned: pd.DataFrame) -> dict[str, list]:
    """Search spaces holding only the choices of an earlier tuning (a ``run_baselines`` table)."""
    grids: dict[str, list] = {name: [] for name in family_names()}
    for _, row in tuned.iterrows():
        if row["family"] != MEAN and row["hyper"] not in grids[row["family"]]:
            grids[row["family"]].append(row["hyper"])
    return grids


def _mean_row(s: Split, scored: slice) -> tuple[dict, np.ndarray]:
    """The reference row: the training targets' mean (2 parameters), and its validation predictions."""
    start = time.perf_counter()
    mean = s.y_fit.mean(axis=0)
    seconds = time.perf_counter() - start
    pred = np.broadcast_to(mean, s.y_val.shape)
    held = _rmse(np.broadcast_to(mean, s.y_tail.shape), s.y_tail)
    row = {
        "model": MEAN,
        "family": MEAN,
        "choice": MATCHED + " and " + BEST,
        "hyperparameters": "",
        "hyper": {},
        "parameters": 2,
        "held_out_rmse": held,
        **rmse_scores(pred[scored], s.y_val[scored]),
        "train_time_s": seconds,
        "tuning_time_s": seconds,
    }
    return row, pred


def _family_rows(
    entry: Family, s: Split, config: BaselineConfig, grid: list[dict] | None, scored: slice
) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Search one family, then one row (and validation predictions) per choice: parameter-matched, best-found."""
    candidates, seconds = _timed(entry.search, s, config, grid)
    chosen = select(candidates, config.target_parameters)
    same = chosen[MATCHED] is chosen[BEST]
    rows, preds = [], {}
    for choice, candidate in chosen.items():
        if same and choice == BEST:
            continue
        name = f"{entry.name} ({candidate.parameters} parameters)"
        preds[name] = _predict(candidate, s.x_val)
        rows.append(
            {
                "model": name,
                "family": entry.name,
                "choice": MATCHED + " and " + BEST if same else choice,
                "hyperparameters": describe(candidate),
                "hyper": candidate.hyper,
                "parameters": candidate.parameters,
                "held_out_rmse": candidate.held_out,
                **rmse_scores(preds[name][scored], s.y_val[scored]),
                "train_time_s": candidate.seconds,
                "tuning_time_s": seconds,
            }
        )
    return rows, preds


def run_baselines(
    data: LorenzData,
    config: BaselineConfig = BaselineConfig(),
    tuned: pd.DataFrame | None = None,
    val_steps: int | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Tune every registered family on the held-out tail, then score its choices on the validation sequence.

    ``tuned``: the table of an earlier call (e.g. on another trajectory); its choices are
    refit on this data without a new search (the GRU's early stopping still runs here).
    ``val_steps``: score the first steps only (None: all), to match QRNN runs validated on a
    prefix; every model still runs over the whole validation sequence in one go.
    Returns one row per (family, choice) -- model, family, choice, hyperparameters,
    parameters, held-out RMSE, validation rmse_y/z/mean, train_time_s (fitting the chosen
    model) and tuning_time_s (the family's whole search) -- and each row's validation
    predictions (Tv, 2), keyed by model name.
    """
    s = split(data, config.holdout)
    if val_steps is not None:
        check_int("val_steps", val_steps, 1, len(s.y_val))
    scored = slice(0, val_steps)
    grids = fixed_grids(tuned) if tuned is not None else {}
    row, pred = _mean_row(s, scored)
    rows, preds = [row], {MEAN: pred}
    for name in family_names():
        more_rows, more_preds = _family_rows(family(name), s, config, grids.get(name), scored)
        rows += more_rows
        preds |= more_preds
    return pd.DataFrame(rows), preds
