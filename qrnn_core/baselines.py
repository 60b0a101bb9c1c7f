"""Classical baselines on the QRNN's task: the same training windows and validation sequence.

Every model sees what the QRNN sees: the scaled x of each step (and, for the windowed
linear model, the x of the steps before it), fits on the training windows' steps
>= ``washout`` and is scored on every step of the validation sequence, run in one go.

- ``mean``: predicts the training targets' mean (2 parameters);
- ``linear-x``: least squares on the current x (4 parameters);
- ``linear-window``: least squares on the last ``lags`` values of x (``2 (lags + 1)``);
- ``gru``: a GRU of ``hidden`` units and a linear readout, trained with Adam;
- ``esn``: an echo-state network (fixed random reservoir, ridge-regression readout;
  only the readout counts as trained parameters).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import LorenzData
from .model import QRNN
from .training import TrainConfig


@dataclass(frozen=True)
class BaselineConfig:
    """Hyper-parameters of the baselines (defaults sized near the QRNN's 144 parameters)."""

    washout: int = 5
    lags: int = 6
    gru_hidden: int = 5
    gru_epochs: int = 60
    gru_lr: float = 0.01
    gru_batch_size: int = 32
    gru_seeds: tuple[int, ...] = (1920, 1921, 1922)
    esn_units: int = 71
    esn_spectral_radius: float = 0.9
    esn_input_scale: float = 1.0
    esn_leak: float = 0.5
    esn_ridges: tuple[float, ...] = (1e-6, 1e-4, 1e-2, 1.0)
    esn_holdout: float = 0.2
    esn_seed: int = 1920

    def __post_init__(self) -> None:
        for name in ("lags", "gru_hidden", "gru_epochs", "gru_batch_size", "esn_units"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.washout, bool) or not isinstance(self.washout, int) or self.washout < 0:
            raise ValueError(f"washout must be an integer >= 0, got {self.washout!r}")
        if self.lags > self.washout + 1:
            raise ValueError(
                f"lags={self.lags} needs more history than the washout gives: lags must be <= washout + 1 = {self.washout + 1}"
            )
        if not self.gru_seeds:
            raise ValueError("gru_seeds must name at least one seed")
        for name in ("gru_lr", "esn_spectral_radius", "esn_input_scale"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not self.esn_ridges or not all(np.isfinite(r) and r > 0 for r in self.esn_ridges):
            raise ValueError(f"esn_ridges must be positive finite numbers, got {self.esn_ridges!r}")
        if not 0 < self.esn_holdout < 1:
            raise ValueError(f"esn_holdout must lie in (0, 1), got {self.esn_holdout!r}")
        if not 0 < self.esn_leak <= 1:
            raise ValueError(f"esn_leak must lie in (0, 1], got {self.esn_leak!r}")


def rmse_scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """RMSE of y, z and their mean over all rows: pred, target (..., 2)."""
    err = np.sqrt(np.mean((np.asarray(pred, float) - np.asarray(target, float)).reshape(-1, 2) ** 2, axis=0))
    return {"rmse_y": float(err[0]), "rmse_z": float(err[1]), "rmse_mean": float(err.mean())}


def lagged(x: np.ndarray, lags: int) -> np.ndarray:
    """The last ``lags`` values of x at every step: (N, T) -> (N, T, lags), oldest first.

    Steps with less history repeat the sequence's first value (edge padding).
    """
    padded = np.concatenate([np.repeat(x[:, :1], lags - 1, axis=1), x], axis=1)
    return np.stack([padded[:, k : k + x.shape[1]] for k in range(lags)], axis=-1)


class LinearRegression:
    """Ordinary least squares with an intercept: features (n, f) -> targets (n, k)."""

    def fit(self, features: np.ndarray, targets: np.ndarray) -> "LinearRegression":
        design = np.column_stack([features, np.ones(len(features))])
        self.coef, *_ = np.linalg.lstsq(design, targets, rcond=None)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef[:-1] + self.coef[-1]

    @property
    def n_parameters(self) -> int:
        return int(self.coef.size)


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


def train_gru(
    inputs: np.ndarray,
    targets: np.ndarray,
    hidden: int,
    epochs: int,
    lr: float,
    batch_size: int,
    washout: int,
    seed: int,
) -> GRURegressor:
    """Fit a :class:`GRURegressor` with Adam on MSE over steps >= ``washout`` (shuffled mini-batches).

    Runs on one torch thread (tiny matrices: more threads only add overhead), restored after.
    """
    torch.manual_seed(seed)
    model = GRURegressor(hidden, inputs.shape[-1], targets.shape[-1])
    x, y = torch.as_tensor(inputs, dtype=torch.float32), torch.as_tensor(targets, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(epochs):
            for batch in torch.randperm(len(x), generator=shuffle).split(batch_size):
                optimizer.zero_grad()
                loss = torch.mean((model(x[batch])[:, washout:] - y[batch][:, washout:]) ** 2)
                loss.backward()
                optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model


def gru_predict(model: GRURegressor, inputs: np.ndarray) -> np.ndarray:
    """Predictions (B, T, 2) of a trained GRU."""
    with torch.no_grad():
        return model(torch.as_tensor(inputs, dtype=torch.float32)).numpy().astype(float)


class EchoStateNetwork:
    """Leaky tanh reservoir with fixed random weights and a ridge-regression readout.

    The ridge strength is picked from ``ridges`` on the last ``holdout`` fraction of the
    training windows (never on the validation sequence), then the readout is refit on all.
    """

    def __init__(self, units: int, spectral_radius: float, input_scale: float, leak: float, seed: int):
        rng = np.random.default_rng(seed)
        w = rng.uniform(-1.0, 1.0, (units, units))
        self.w = w * spectral_radius / np.max(np.abs(np.linalg.eigvals(w)))
        self.w_in = rng.uniform(-input_scale, input_scale, units)
        self.b = rng.uniform(-input_scale, input_scale, units)
        self.leak = leak

    def states(self, x: np.ndarray) -> np.ndarray:
        """Reservoir states (N, T, units) for inputs (N, T), from a zero state."""
        h = np.zeros((x.shape[0], self.w.shape[0]))
        out = np.empty((*x.shape, self.w.shape[0]))
        for t in range(x.shape[1]):
            h = (1 - self.leak) * h + self.leak * np.tanh(h @ self.w.T + x[:, t, None] * self.w_in + self.b)
            out[:, t] = h
        return out

    @staticmethod
    def _ridge_fit(states: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
        design = np.column_stack([states, np.ones(len(states))])
        gram = design.T @ design + ridge * np.eye(design.shape[1])
        return np.linalg.solve(gram, design.T @ targets)

    def fit(self, x: np.ndarray, targets: np.ndarray, washout: int, ridges: tuple[float, ...], holdout: float) -> "EchoStateNetwork":
        """Ridge regression of targets (N, T, 2) on the states of steps >= ``washout``."""
        units = self.w.shape[0]
        states = self.states(x)[:, washout:]
        y = targets[:, washout:]
        cut = int(round((1 - holdout) * len(x)))
        held_out = {}
        for ridge in ridges:
            readout = self._ridge_fit(states[:cut].reshape(-1, units), y[:cut].reshape(-1, y.shape[-1]), ridge)
            pred = states[cut:] @ readout[:-1] + readout[-1]
            held_out[ridge] = float(np.sqrt(np.mean((pred - y[cut:]) ** 2)))
        self.ridge = min(held_out, key=held_out.get)
        self.readout = self._ridge_fit(states.reshape(-1, units), y.reshape(-1, y.shape[-1]), self.ridge)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions (N, T, 2) for inputs (N, T)."""
        s = self.states(x)
        return s @ self.readout[:-1] + self.readout[-1]

    @property
    def n_parameters(self) -> int:
        """Trained parameters only (the readout); the reservoir is fixed and random."""
        return int(self.readout.size)


def _row(name: str, pred: np.ndarray, target: np.ndarray, n_parameters: int, seconds: float, steps: int | None) -> dict:
    scores = rmse_scores(pred[:steps], target[:steps])
    return {"model": name, **scores, "parameters": n_parameters, "train_time_s": seconds, "validation steps": len(target[:steps])}


def run_baselines(
    data: LorenzData, config: BaselineConfig = BaselineConfig(), val_steps: int | None = None
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Fit every baseline on the training windows; score it on the validation sequence.

    Each model runs over the whole validation sequence in one go; the first ``val_steps``
    steps (None: all) are scored, to match QRNN runs validated on a prefix.

    Returns a table (one row per model; the GRU row is the mean over ``gru_seeds`` with
    ``rmse_mean_sd`` its standard deviation) and each model's validation predictions (Tv, 2)
    (the GRU's from its first seed).
    """
    w = config.washout
    x_train, y_train = data.train_inputs[..., -1].astype(float), data.train_targets.astype(float)
    x_val, y_val = data.val_inputs[..., -1].astype(float), data.val_targets[0].astype(float)
    if val_steps is not None and not 1 <= val_steps <= len(y_val):
        raise ValueError(f"val_steps must be None or an integer in [1, {len(y_val)}], got {val_steps!r}")
    fit_y = y_train[:, w:].reshape(-1, 2)
    rows, preds = [], {}

    start = time.perf_counter()
    mean = fit_y.mean(axis=0)
    preds["mean"] = np.broadcast_to(mean, y_val.shape)
    rows.append(_row("mean", preds["mean"], y_val, 2, time.perf_counter() - start, val_steps))

    for name, lags in (("linear-x", 1), (f"linear-window ({config.lags} lags)", config.lags)):
        start = time.perf_counter()
        model = LinearRegression().fit(lagged(x_train, lags)[:, w:].reshape(-1, lags), fit_y)
        seconds = time.perf_counter() - start
        preds[name] = model.predict(lagged(x_val, lags)[0])
        rows.append(_row(name, preds[name], y_val, model.n_parameters, seconds, val_steps))

    gru_rows = []
    for seed in config.gru_seeds:
        start = time.perf_counter()
        gru = train_gru(
            data.train_inputs, data.train_targets, config.gru_hidden, config.gru_epochs, config.gru_lr,
            config.gru_batch_size, w, seed,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        pred = gru_predict(gru, data.val_inputs)[0]
        preds.setdefault(f"gru (h={config.gru_hidden})", pred)
        gru_rows.append(_row(f"gru (h={config.gru_hidden})", pred, y_val, gru.n_parameters, seconds, val_steps))
    gru_table = pd.DataFrame(gru_rows)
    gru_row = gru_table.iloc[0].to_dict() | gru_table.mean(numeric_only=True).to_dict()
    gru_row["model"] += f", mean of {len(gru_table)} seed(s)"
    gru_row["rmse_mean_sd"] = float(gru_table["rmse_mean"].std(ddof=1)) if len(gru_table) > 1 else float("nan")
    rows.append(gru_row)

    start = time.perf_counter()
    esn = EchoStateNetwork(
        config.esn_units, config.esn_spectral_radius, config.esn_input_scale, config.esn_leak, config.esn_seed
    ).fit(x_train, y_train, w, config.esn_ridges, config.esn_holdout)
    seconds = time.perf_counter() - start
    name = f"esn ({config.esn_units} units, ridge {esn.ridge:g})"
    preds[name] = esn.predict(x_val)[0]
    rows.append(_row(name, preds[name], y_val, esn.n_parameters, seconds, val_steps))

    table = pd.DataFrame(rows)
    table["parameters"] = table["parameters"].astype(int)
    table["validation steps"] = table["validation steps"].astype(int)
    return table, preds


def qrnn_rows(runs: list) -> pd.DataFrame:
    """One row per configured QRNN run (``study.StudyRun``): its best epoch's validation RMSE.

    A run without a complete result gets its status text (e.g. "not run here") in place
    of numbers. ``validation steps`` says how much of the validation sequence it scored.
    """
    rows = []
    for run in runs:
        row = {"model": f"QRNN, {run.label}"}
        if not run.complete:
            rows.append(row | {"status": run.status_text})
            continue
        result = run.record.result
        best = min(result["epochs"], key=lambda e: e["val_rmse_mean"]) if result["epochs"] else None
        scores = result["initial_validation"] if best is None else {k: best[f"val_{k}"] for k in ("rmse_y", "rmse_z", "rmse_mean")}
        config = TrainConfig.from_dict(result["config"] | {"device": "cpu"})
        rows.append(row | scores | {
            "parameters": sum(p.numel() for p in QRNN(config.model_config(), seed=0).parameters()),
            "train_time_s": result["timings"]["total_s"],
            "best epoch": 0 if best is None else best["epoch"],
            "validation steps": len(run.record.predictions["val_targets"]) if run.record.predictions else None,
            "status": "complete",
        })  # fmt: skip
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame) -> str:
    """The comparison in words: best QRNN against the best baseline, overall and on y and z separately."""
    qrnn = table[table["model"].str.startswith("QRNN") & table["rmse_mean"].notna()]
    base = table[~table["model"].str.startswith("QRNN")]
    if qrnn.empty:
        return "No QRNN run of this profile has a result, so there is nothing to compare with (QRNN: not run)."
    parts = []
    for column, what in (("rmse_mean", "mean RMSE"), ("rmse_y", "RMSE of y"), ("rmse_z", "RMSE of z")):
        q, b = qrnn.loc[qrnn[column].idxmin()], base.loc[base[column].idxmin()]
        relation = "beats" if q[column] < b[column] else "does not beat"
        parts.append(f"{what}: best QRNN ({q['model']}) {q[column]:.4f} {relation} the best baseline ({b['model']}) {b[column]:.4f}")
    return "; ".join(parts) + "."
