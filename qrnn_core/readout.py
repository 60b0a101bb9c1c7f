"""Closed-form readout: the output layer Linear(M -> K) fitted by ridge regression.

The features are a model's exact per-step readout distributions on the training
windows (steps before ``washout`` left out, as in the training loss); the ridge
strength is chosen on a held-out tail of the training pool, run like the validation
sequence (in one go from a fresh start), then the readout is refitted on windows and
tail together with that strength. The validation sequence is never used to choose
anything (``qrnn_study.classical.split`` cuts the pool as the classical baselines do).

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
    washout: int,
    tail_inputs: torch.Tensor,
    tail_targets: torch.Tensor,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
) -> RidgeFit:
    """Fit ``model.output_layer`` by ridge on its exact distributions of the training windows (in place).

    The ridge strength is chosen on the held-out tail, run like the validation sequence (in one
    go from a fresh start, every step scored); the readout is then refitted on the windows and the
    tail together.

    Args:
        model: a :class:`qrnn_core.model.QRNN` with ``shots=None``; its input layer is not changed.
        inputs: the fitting windows' features (N, T, F).
        targets: their targets (N, T, K).
        washout: first steps of each window left out of the fit, as in the training loss.
        tail_inputs: the held-out tail's features (B, Tt, F), e.g. one contiguous stretch (1, Tt, F).
        tail_targets: its targets (B, Tt, K).
        alphas: the ridge strengths tried.

    Returns:
        The :class:`RidgeFit` now in ``model.output_layer``.
    """
    fit_targets = np.asarray(torch.as_tensor(targets), float)
    check_int("washout", washout, 0, fit_targets.shape[1] - 1)
    probs = distributions(model, inputs)[:, washout:]
    tail_probs = distributions(model, tail_inputs)
    tail = np.asarray(torch.as_tensor(tail_targets), float)
    fit = (probs.reshape(-1, probs.shape[-1]), fit_targets[:, washout:].reshape(-1, fit_targets.shape[-1]))
    result = tune_ridge(fit, (tail_probs.reshape(-1, tail_probs.shape[-1]), tail.reshape(-1, tail.shape[-1])), alphas)
    with torch.no_grad():
        layer: torch.nn.Linear = model.output_layer
        layer.weight.copy_(torch.as_tensor(result.weight).to(layer.weight))
        layer.bias.copy_(torch.as_tensor(result.bias).to(layer.bias))
    return result
