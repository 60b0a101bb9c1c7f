"""Closed-form readout: the output layer Linear(M -> K) fitted by ridge regression.

The features are a model's exact per-step readout distributions on the training
windows (steps before ``washout`` left out, as in the training loss); the ridge
strength is chosen on the held-out tail of the training pool (the last ``holdout``
fraction of the windows, by time; windows overlapping it are dropped from the fitting
part), then the readout is refitted on fitting part and tail together with that
strength. The validation sequence is never used to choose anything.

Used for the random-reservoir ablation (input layer frozen at its seeded random
initialisation) and to refit the readout of a trained QRNN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .checks import check_int, check_number
from .model import QRNN

# Ridge strengths tried (the penalty is alpha * n * ||W||^2, n the rows fitted).
DEFAULT_ALPHAS: tuple[float, ...] = tuple(10.0**k for k in range(-9, 1))


@dataclass(frozen=True)
class RidgeFit:
    """A fitted readout: ``weight`` (K, M), ``bias`` (K,), the chosen ``alpha`` and the held-out RMSE per alpha."""

    weight: np.ndarray
    bias: np.ndarray
    alpha: float
    held_out_rmse: float
    scores: dict[float, float] = field(default_factory=dict)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predictions (..., K) for features (..., M)."""
        return np.asarray(features, float) @ self.weight.T + self.bias


def fit_ridge(features: np.ndarray, targets: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression ``targets ~ features @ W.T + b`` with the intercept ``b`` not penalised.

    Args:
        features: (n, M) rows.
        targets: (n, K) rows.
        alpha: ridge strength >= 0; the penalty is ``alpha * n * ||W||^2``.

    Returns:
        ``W`` (K, M) and ``b`` (K,), in float64 (least squares on the augmented system, so
        collinear features, such as distributions that sum to 1, are fine).
    """
    x, y = np.asarray(features, float), np.asarray(targets, float)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"features (n, M) and targets (n, K) with the same n >= 1 expected, got {x.shape}, {y.shape}")
    check_number("alpha", alpha, 0.0)
    mean_x, mean_y = x.mean(axis=0), y.mean(axis=0)
    design = np.vstack([x - mean_x, np.sqrt(alpha * len(x)) * np.eye(x.shape[1])])
    rhs = np.vstack([y - mean_y, np.zeros((x.shape[1], y.shape[1]))])
    weight = np.linalg.lstsq(design, rhs, rcond=None)[0].T
    return weight, mean_y - weight @ mean_x


def _rmse_mean(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over the K targets of each target's RMSE."""
    return float(np.sqrt(np.mean((pred - target) ** 2, axis=0)).mean())


def tune_ridge(
    fit: tuple[np.ndarray, np.ndarray],
    tail: tuple[np.ndarray, np.ndarray],
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
) -> RidgeFit:
    """Choose alpha by the held-out tail's mean RMSE, then refit on fitting part and tail together.

    Args:
        fit: (features, targets) rows to fit on while choosing.
        tail: (features, targets) held-out rows the choice is scored on.
        alphas: the ridge strengths tried (ties: the first).
    """
    if not alphas:
        raise ValueError("alphas must list at least one ridge strength")
    scores = {}
    for alpha in alphas:
        weight, bias = fit_ridge(*fit, alpha)
        scores[float(alpha)] = _rmse_mean(np.asarray(tail[0], float) @ weight.T + bias, np.asarray(tail[1], float))
    best = min(scores, key=lambda alpha: scores[alpha])
    weight, bias = fit_ridge(np.vstack([fit[0], tail[0]]), np.vstack([fit[1], tail[1]]), best)
    return RidgeFit(weight, bias, best, scores[best], scores)


def holdout_split(starts: np.ndarray, span: int, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the fitting windows and the held-out tail windows of a training pool.

    Args:
        starts: each window's first step in the series (increasing).
        span: steps a window's inputs and targets cover (``seq_len + horizon``).
        holdout: fraction of the windows, the last ones, held out (0.05 to 0.5).

    Returns:
        ``(fit, tail)``: the tail is the last ``round(holdout * N)`` windows; the fitting part
        the windows whose targets end before the tail's first window starts.
    """
    starts = np.asarray(starts)
    check_number("holdout", holdout, 0.05, 0.5)
    check_int("span", span, 1)
    n_tail = max(1, int(round(holdout * len(starts))))
    if n_tail >= len(starts):
        raise ValueError(f"{len(starts)} window(s) cannot be split into a fitting part and a held-out tail")
    first_tail = starts[-n_tail]
    fit = np.flatnonzero(starts + span <= first_tail)
    if len(fit) == 0:
        raise ValueError(f"no window ends before the held-out tail starts (step {first_tail}); use more windows")
    return fit, np.arange(len(starts) - n_tail, len(starts))


def distributions(model: QRNN, inputs: torch.Tensor) -> np.ndarray:
    """A model's exact per-step readout distributions (B, T, M) for features (B, T, F), without gradients.

    Raises:
        ValueError: the model samples shots (``config.shots`` is not ``None``).
    """
    if model.config.shots is not None:
        raise ValueError(
            f"the ridge readout fits exact distributions; the model samples {model.config.shots} shots "
            "(build it with shots=None)"
        )
    with torch.no_grad():
        features = torch.as_tensor(inputs).to(model.input_layer.weight)
        return model.quantum_layer(features).to(torch.float64).cpu().numpy()


def refit_readout(
    model: QRNN,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    starts: np.ndarray,
    span: int,
    washout: int,
    holdout: float = 0.2,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
) -> RidgeFit:
    """Fit ``model.output_layer`` by ridge on its exact distributions of the training windows (in place).

    Args:
        model: a :class:`qrnn_core.model.QRNN` with ``shots=None``; its input layer is not changed.
        inputs: training windows' features (N, T, F).
        targets: their targets (N, T, K).
        starts: each window's first step in the series (``LorenzData.train_starts`` of the windows used).
        span: steps a window covers (``seq_len + horizon``).
        washout: first steps of each window left out of the fit, as in the training loss.
        holdout: fraction of the windows (the last ones) held out to choose the ridge strength.
        alphas: the ridge strengths tried.

    Returns:
        The :class:`RidgeFit` now in ``model.output_layer``.
    """
    values = np.asarray(torch.as_tensor(targets), float)
    check_int("washout", washout, 0, values.shape[1] - 1)
    probs = distributions(model, inputs)[:, washout:]
    values = values[:, washout:]
    fit, tail = holdout_split(starts, span, holdout)

    def rows(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return probs[index].reshape(-1, probs.shape[-1]), values[index].reshape(-1, values.shape[-1])

    result = tune_ridge(rows(fit), rows(tail), alphas)
    with torch.no_grad():
        layer = model.output_layer
        layer.weight.copy_(torch.as_tensor(result.weight).to(layer.weight))
        layer.bias.copy_(torch.as_tensor(result.bias).to(layer.bias))
    return result
