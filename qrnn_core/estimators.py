"""Gradient estimators for the quantum layer's input-layer parameters.

What is estimated is the vector-Jacobian product ``d/dtheta sum g * p(theta)`` where
``theta`` are the input layer's weight and bias, ``p`` the per-step readout
distributions and ``g = dLoss/dp``. Each shot-free or shot-based estimator works in
two stages, like PennyLane's gradient transforms:

1. :meth:`GradientEstimator.plan` lists every angle tensor it needs evaluated, as
   one ``(K, B, T, P)`` batch, together with a ``combine`` function;
2. after one batched simulator call on those points, ``combine(probs, g)`` returns
   the gradient of the weight and the bias.

``"exact"`` (autograd through the torch simulator) needs no plan and is handled by
the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .circuit import check_n_qubits, step_gates

METHODS = ("spsa", "fdsa", "param-shift", "exact")

# Shift rules: (shift, coefficient) pairs with d f/d theta = sum coef * f(theta + shift).
_TWO_TERM = ((math.pi / 2, 0.5), (-math.pi / 2, -0.5))
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
_FOUR_TERM = (
    (math.pi / 2, _C_PLUS),
    (-math.pi / 2, -_C_PLUS),
    (3 * math.pi / 2, -_C_MINUS),
    (-3 * math.pi / 2, _C_MINUS),
)
SHIFT_RULES = {"rz": _TWO_TERM, "rx": _TWO_TERM, "crx": _FOUR_TERM}


def input_angles(weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Angles of every step from the input layer: (..., P, F), (..., P), (B, T, F) -> (..., B, T, P)."""
    return torch.einsum("...pf,btf->...btp", weight, features) + bias[..., None, None, :]


@dataclass
class Plan:
    """The points an estimator needs (``angles``: (K, B, T, P)) and how to combine them."""

    angles: torch.Tensor
    combine: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

    @property
    def evaluations(self) -> int:
        """Sequence evaluations (circuit runs) the plan costs."""
        return self.angles.shape[0] * self.angles.shape[1]


def _objective(probs: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``sum_{b,t,m} g * p`` per point: (K, B, T, M), (B, T, M) -> (K,)."""
    return (probs * g).sum(dim=(1, 2, 3))


class GradientEstimator:
    """Base class: an estimator plans its points; the model evaluates them in one call."""

    name = ""

    def plan(self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator) -> Plan:
        raise NotImplementedError


class CentralDifferences(GradientEstimator):
    """Central differences along directions ``D`` (K, n_params) in parameter space.

    The estimate is ``scale * sum_k D_k (L(theta + eps D_k) - L(theta - eps D_k)) / (2 eps)``.
    """

    def __init__(self, epsilon: float):
        self.epsilon = check_epsilon(epsilon)

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        raise NotImplementedError

    def plan(self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator) -> Plan:
        n_w = weight.numel()
        directions, scale = self.directions(n_w + bias.numel(), generator, weight)
        eps = self.epsilon
        d_w = directions[:, :n_w].reshape(-1, *weight.shape)
        d_b = directions[:, n_w:]
        shifted_w = torch.cat([weight + eps * d_w, weight - eps * d_w])
        shifted_b = torch.cat([bias + eps * d_b, bias - eps * d_b])
        angles = input_angles(shifted_w, shifted_b, features)

        def combine(probs: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            plus, minus = _objective(probs, g).to(directions.dtype).chunk(2)
            grad = scale * ((plus - minus) / (2 * eps)) @ directions
            return grad[:n_w].reshape(weight.shape), grad[n_w:]

        return Plan(angles, combine)


class SPSA(CentralDifferences):
    """Simultaneous perturbation: ``spsa_samples`` Rademacher directions, averaged."""

    name = "spsa"

    def __init__(self, epsilon: float = 0.1, spsa_samples: int = 2):
        super().__init__(epsilon)
        self.spsa_samples = check_spsa_samples(spsa_samples)

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        signs = torch.randint(0, 2, (self.spsa_samples, n_params), generator=generator)
        return (2.0 * signs - 1.0).to(like), 1.0 / self.spsa_samples


class FDSA(CentralDifferences):
    """Finite differences: one central difference per input-layer parameter."""

    name = "fdsa"

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        return torch.eye(n_params).to(like), 1.0


class ParameterShift(GradientEstimator):
    """Gate-wise shift rules on every angle of every step, chained to the input layer.

    Each angle of a step sits in exactly one gate (``repeat_blocks=1``) and every step's
    distribution is linear in the state, so the two-term (RZ, RX) and four-term (CRX)
    rules give the exact derivative despite the mid-circuit measurements and resets.
    """

    name = "param-shift"

    def __init__(self, n_qubits: int, repeat_blocks: int = 1):
        if repeat_blocks != 1:
            raise ValueError(
                f"param-shift supports repeat_blocks=1 only (each angle in one gate), got {repeat_blocks}; use 'exact' or 'fdsa'"
            )
        gates = step_gates(check_n_qubits(n_qubits))
        self.angle_index = [g.angle for g in gates for _ in SHIFT_RULES[g.kind]]
        self.shifts = [s for g in gates for s, _ in SHIFT_RULES[g.kind]]
        self.coefficients = [c for g in gates for _, c in SHIFT_RULES[g.kind]]

    def plan(self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator) -> Plan:
        base = input_angles(weight, bias, features).detach()  # (B, T, P)
        steps, n_angles = base.shape[1], base.shape[2]
        n_terms = len(self.shifts)
        shift = torch.zeros(steps, n_terms, steps, n_angles, dtype=base.dtype, device=base.device)
        t_idx = torch.arange(steps, device=base.device)[:, None].expand(steps, n_terms)
        j_idx = torch.tensor(self.angle_index, device=base.device).expand(steps, n_terms)
        k_idx = torch.arange(n_terms, device=base.device).expand(steps, n_terms)
        shift[t_idx, k_idx, t_idx, j_idx] = torch.tensor(self.shifts, dtype=base.dtype, device=base.device)
        angles = base + shift.reshape(steps * n_terms, 1, steps, n_angles)
        coef = torch.tensor(self.coefficients, dtype=base.dtype, device=base.device)
        index = torch.tensor(self.angle_index, device=base.device)

        def combine(probs: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            per_seq = (probs * g).sum(dim=(2, 3)).reshape(steps, n_terms, -1).to(base.dtype)  # (T, terms, B)
            d_angles = torch.zeros(steps, n_angles, per_seq.shape[-1], dtype=base.dtype, device=base.device)
            d_angles.index_add_(1, index, per_seq * coef[None, :, None])  # (T, P, B)
            d_weight = torch.einsum("tpb,btf->pf", d_angles, features.to(base.dtype))
            return d_weight.to(weight.dtype), d_angles.sum(dim=(0, 2)).to(bias.dtype)

        return Plan(angles, combine)


def check_method(method: str) -> str:
    """Return ``method`` if known, else raise ``ValueError`` listing the choices."""
    if method not in METHODS:
        raise ValueError(f"unknown gradient method {method!r}; allowed: {', '.join(METHODS)}")
    return method


def check_epsilon(epsilon: float) -> float:
    """A finite, positive perturbation size."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"epsilon must be a positive finite number, got {epsilon!r}")
    return float(epsilon)


def check_spsa_samples(spsa_samples: int) -> int:
    """An integer number of SPSA directions >= 1."""
    if isinstance(spsa_samples, bool) or not isinstance(spsa_samples, int) or spsa_samples < 1:
        raise ValueError(f"spsa_samples must be an integer >= 1, got {spsa_samples!r}")
    return spsa_samples


def make_estimator(
    method: str, n_qubits: int, epsilon: float = 0.1, spsa_samples: int = 2, repeat_blocks: int = 1
) -> GradientEstimator | None:
    """The estimator for ``method`` (``None`` for ``"exact"``, which uses autograd)."""
    check_method(method)
    if method == "spsa":
        return SPSA(epsilon, spsa_samples)
    if method == "fdsa":
        return FDSA(epsilon)
    if method == "param-shift":
        return ParameterShift(n_qubits, repeat_blocks)
    return None
