"""Gradient estimators for the quantum layer's input-layer parameters, and their registry.

What is estimated is the vector-Jacobian product ``d/dtheta sum g * p(theta)`` where
``theta`` are the input layer's weight and bias, ``p`` the per-step readout
distributions and ``g = dLoss/dp``. Each shot-free or shot-based estimator works in
two stages, like PennyLane's gradient transforms:

1. :meth:`GradientEstimator.plan` lists every angle tensor it needs evaluated, as
   one ``(K, B, T, P)`` batch, together with a ``combine`` function;
2. after one batched simulator call on those points, ``combine(probs, g)`` returns
   the gradient of the weight and the bias.

Every gradient method is one :class:`MethodSpec` in :data:`REGISTRY`; the model, the
trainer, the command line and the analyses read it. Adding a method is one class, one
:func:`register` call and its test. ``"exact"`` (autograd through the torch simulator)
has no estimator (``factory=None``) and is handled by the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .checks import add_entry, check_choice, check_int, check_positive
from .circuit import check_n_qubits, step_gates

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


@dataclass(frozen=True)
class EstimatorOptions:
    """The settings a method's factory builds its estimator from (validated)."""

    n_qubits: int = 8
    epsilon: float = 0.1
    spsa_samples: int = 2
    repeat_blocks: int = 1

    def __post_init__(self) -> None:
        check_n_qubits(self.n_qubits)
        check_positive("epsilon", self.epsilon)
        check_int("spsa_samples", self.spsa_samples, 1)
        check_int("repeat_blocks", self.repeat_blocks, 1)


def _objective(probs: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``sum_{b,t,m} g * p`` per point: (K, B, T, M), (B, T, M) -> (K,)."""
    return (probs * g).sum(dim=(1, 2, 3))


class GradientEstimator:
    """Base class: an estimator plans its points; the model evaluates them in one call.

    An estimator that changes as training goes on (a counter, a running average) names
    the attributes that hold that state in ``state_attributes``: they are saved in every
    checkpoint and restored on resume.
    """

    state_attributes: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: EstimatorOptions) -> GradientEstimator:
        """The estimator for a model's :class:`EstimatorOptions`; this default uses none of them."""
        return cls()

    def plan(
        self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator
    ) -> Plan:
        """The points to evaluate and how to combine them into the weight's and the bias's gradient."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """The estimator's changing state (``state_attributes``), for checkpoints."""
        return {name: getattr(self, name) for name in self.state_attributes}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        for name in self.state_attributes:
            setattr(self, name, state[name])


class CentralDifferences(GradientEstimator):
    """Central differences along directions ``D`` (K, n_params) in parameter space.

    With ``dL_k = (L(theta + eps D_k) - L(theta - eps D_k)) / (2 eps)`` the estimate is
    ``scale * sum_k dL_k * W_k``, where the weights ``W = combination(D)`` are set by the
    subclass. The perturbation size ``epsilon`` is read at every plan, so a gain
    schedule may change it between updates.
    """

    def __init__(self, epsilon: float = 0.1):
        self.epsilon = check_positive("epsilon", epsilon)

    @classmethod
    def from_options(cls, options: EstimatorOptions) -> CentralDifferences:
        """The estimator for a model's :class:`EstimatorOptions`."""
        return cls(options.epsilon)

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The directions ``D`` (K, n_params), drawn with ``generator``, and the scale of their sum."""
        raise NotImplementedError

    def combination(self, directions: torch.Tensor) -> torch.Tensor:
        """The weights ``W`` (K, n_params) of the differences in the estimate."""
        raise NotImplementedError

    def plan(
        self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator
    ) -> Plan:
        """Plan ``2K`` shifted copies of the input layer; combine them into the estimate."""
        n_w = weight.numel()
        directions, scale = self.directions(n_w + bias.numel(), generator, weight)
        weights = self.combination(directions)
        eps = self.epsilon
        d_w = directions[:, :n_w].reshape(-1, *weight.shape)
        d_b = directions[:, n_w:]
        shifted_w = torch.cat([weight + eps * d_w, weight - eps * d_w])
        shifted_b = torch.cat([bias + eps * d_b, bias - eps * d_b])
        angles = input_angles(shifted_w, shifted_b, features)

        def combine(probs: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            plus, minus = _objective(probs, g).to(weights.dtype).chunk(2)
            grad = scale * ((plus - minus) / (2 * eps)) @ weights
            return grad[:n_w].reshape(weight.shape), grad[n_w:]

        return Plan(angles, combine)


class SPSA(CentralDifferences):
    """Simultaneous perturbation (Spall): ``spsa_samples`` random directions, averaged.

    Each sample gives ``g_i = dL / Delta_i`` (Spall's ``dL / (2 c Delta_i)``, as in
    PennyLane's ``spsa_grad``), unbiased to ``O(eps^2)`` for any symmetric distribution of
    ``Delta`` with finite inverse moments. A subclass changes the distribution by
    overriding :meth:`sample`; this class draws Rademacher (+-1) directions.
    """

    def __init__(self, epsilon: float = 0.1, spsa_samples: int = 2):
        super().__init__(epsilon)
        self.spsa_samples = check_int("spsa_samples", spsa_samples, 1)

    @classmethod
    def from_options(cls, options: EstimatorOptions) -> SPSA:
        """The estimator for a model's :class:`EstimatorOptions`."""
        return cls(options.epsilon, options.spsa_samples)

    def sample(self, shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        """Directions of ``shape`` (K, n_params): independent Rademacher signs."""
        return 2.0 * torch.randint(0, 2, shape, generator=generator) - 1.0

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        """``spsa_samples`` directions from :meth:`sample`, averaged."""
        return self.sample((self.spsa_samples, n_params), generator).to(like), 1.0 / self.spsa_samples

    def combination(self, directions: torch.Tensor) -> torch.Tensor:
        """Divide by the direction: ``W = 1 / D`` (for +-1 the same as multiplying)."""
        return 1.0 / directions


class FixedSPSA(SPSA):
    """SPSA as the paper's authors ran it: the same directions at every update.

    Their backward pass re-created its random generator from the same seed at every call
    (``np.random.default_rng(seed)`` in ``QuantumLayer.backward``), so every update used
    the same ``spsa_samples`` +-1 directions and the estimate never left their span. Here
    the directions are drawn once, at the first update, from the model's generator, and
    kept (saved in checkpoints, so a resumed run keeps them too).
    """

    state_attributes = ("fixed",)

    def __init__(self, epsilon: float = 0.1, spsa_samples: int = 2):
        super().__init__(epsilon, spsa_samples)
        self.fixed: torch.Tensor | None = None

    def sample(self, shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        """The directions drawn at the first update, every time."""
        if self.fixed is None:
            self.fixed = super().sample(shape, generator)
        return self.fixed


class FDSA(CentralDifferences):
    """Finite differences: one central difference per input-layer parameter."""

    def directions(self, n_params: int, generator: torch.Generator, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        """The coordinate axes."""
        return torch.eye(n_params).to(like), 1.0

    def combination(self, directions: torch.Tensor) -> torch.Tensor:
        """Difference ``k`` is the derivative along axis ``k``: ``W = I``."""
        return directions


class ParameterShift(GradientEstimator):
    """Gate-wise shift rules on every angle of every step, chained to the input layer.

    Each angle of a step sits in exactly one gate (``repeat_blocks=1``) and every step's
    distribution is linear in the state, so the two-term (RZ, RX) and four-term (CRX)
    rules give the exact derivative despite the mid-circuit measurements and resets.
    """

    def __init__(self, n_qubits: int, repeat_blocks: int = 1):
        if repeat_blocks != 1:
            raise ValueError(
                f"param-shift supports repeat_blocks=1 only (each angle in one gate), got {repeat_blocks}; "
                "use 'exact' or 'fdsa'"
            )
        gates = step_gates(check_n_qubits(n_qubits))
        self.angle_index = [g.angle for g in gates for _ in SHIFT_RULES[g.kind]]
        self.shifts = [s for g in gates for s, _ in SHIFT_RULES[g.kind]]
        self.coefficients = [c for g in gates for _, c in SHIFT_RULES[g.kind]]

    @classmethod
    def from_options(cls, options: EstimatorOptions) -> ParameterShift:
        """The estimator for a model's :class:`EstimatorOptions`."""
        return cls(options.n_qubits, options.repeat_blocks)

    def plan(
        self, weight: torch.Tensor, bias: torch.Tensor, features: torch.Tensor, generator: torch.Generator
    ) -> Plan:
        """Plan every shift of every angle of every step; chain the shifted derivatives to the input layer."""
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


# ---------------------------------------------------------------- the registry

# Options a method may use, and how a description names them.
OPTION_TEXT = {"epsilon": "eps {:g}", "spsa_samples": "{} samples"}
METHOD_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class MethodSpec:
    """One gradient method.

    - ``name``: the key used by configs and the command line (``[a-z0-9_-]``);
    - ``label``: how tables and figures name it;
    - ``factory``: builds the estimator from :class:`EstimatorOptions`; ``None`` means
      autograd through the exact torch simulator (needs ``backend='torch'``, no shots);
    - ``stochastic``: whether two estimates at the same point differ (random directions);
    - ``evaluations``: sequence evaluations of one update per training sequence (the
      estimator's points plus the forward pass), an int or a function of
      ``(options, n_params, steps)``;
    - ``options``: which of ``epsilon`` / ``spsa_samples`` the method uses (a method using
      ``epsilon`` reads its estimator's ``epsilon`` attribute at every plan, so a gain
      schedule may set it).
    """

    name: str
    label: str
    factory: Callable[[EstimatorOptions], GradientEstimator] | None
    stochastic: bool
    evaluations: int | Callable[[EstimatorOptions, int, int], int]
    options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not METHOD_NAME.fullmatch(self.name):
            raise ValueError(f"method name must be lower-case letters, digits, '-' and '_', got {self.name!r}")
        if not isinstance(self.label, str) or not self.label.strip():
            raise ValueError(f"method {self.name!r} needs a non-empty label, got {self.label!r}")
        if self.factory is not None and not callable(self.factory):
            raise ValueError(f"method {self.name!r}: factory must be callable or None, got {self.factory!r}")
        if not callable(self.evaluations):
            check_int(f"evaluations of method {self.name!r}", self.evaluations, 1)
        for option in self.options:
            check_choice(f"option of method {self.name!r}", option, OPTION_TEXT)

    @property
    def autograd(self) -> bool:
        """Whether the model differentiates the simulator itself (no estimator)."""
        return self.factory is None

    def build(self, options: EstimatorOptions) -> GradientEstimator | None:
        """The method's estimator (``None`` for autograd)."""
        return None if self.factory is None else self.factory(options)

    def evaluations_per_sequence(self, options: EstimatorOptions, n_params: int, steps: int) -> int:
        """Sequence evaluations one update costs per training sequence of ``steps`` steps."""
        return self.evaluations(options, n_params, steps) if callable(self.evaluations) else self.evaluations

    def describe(self, options: EstimatorOptions) -> str:
        """The label with the options the method uses, e.g. ``"SPSA (eps 0.1, 2 samples)"``."""
        used = [OPTION_TEXT[name].format(getattr(options, name)) for name in self.options]
        return f"{self.label} ({', '.join(used)})" if used else self.label


def _spsa_evaluations(options: EstimatorOptions, n_params: int, steps: int) -> int:
    return 2 * options.spsa_samples + 1


def _param_shift_evaluations(options: EstimatorOptions, n_params: int, steps: int) -> int:
    return steps * sum(len(SHIFT_RULES[g.kind]) for g in step_gates(options.n_qubits)) + 1


REGISTRY: dict[str, MethodSpec] = {}


def register(spec: MethodSpec, replace: bool = False) -> MethodSpec:
    """Add a gradient method; from then on models, training, the CLI and the analyses accept it.

    Args:
        spec: the method.
        replace: replace a method of the same name (refused otherwise).

    Returns:
        ``spec``.

    Raises:
        ValueError: ``spec`` is not a :class:`MethodSpec`, or its name is taken and ``replace`` is False.

    Example:
        >>> spec = MethodSpec("spsa-4", "SPSA, 4 samples", lambda o: SPSA(o.epsilon, 4), True, 9, ("epsilon",))
        >>> register(spec).name in method_names()
        True
        >>> del REGISTRY["spsa-4"]
    """
    return add_entry(REGISTRY, spec, MethodSpec, "gradient method", replace)


def method_names() -> tuple[str, ...]:
    """The registered methods' names, in registration order.

    Example:
        >>> method_names()[:3]
        ('spsa', 'fdsa', 'param-shift')
    """
    return tuple(REGISTRY)


def method_spec(name: str) -> MethodSpec:
    """The registered method ``name``.

    Raises:
        ValueError: no method of that name, listing the registered ones.

    Example:
        >>> spec = method_spec("fdsa")
        >>> spec.label, spec.evaluations_per_sequence(EstimatorOptions(n_qubits=8), n_params=110, steps=20)
        ('FDSA', 221)
    """
    return REGISTRY[check_choice("gradient method", name, REGISTRY)]


def method_label(name: str) -> str:
    """How tables and figures name method ``name``."""
    return method_spec(name).label


register(MethodSpec("spsa", "SPSA", SPSA.from_options, True, _spsa_evaluations, ("epsilon", "spsa_samples")))
register(MethodSpec("fdsa", "FDSA", FDSA.from_options, False, lambda o, n, t: 2 * n + 1, ("epsilon",)))
register(MethodSpec("param-shift", "parameter-shift", ParameterShift.from_options, False, _param_shift_evaluations))
register(MethodSpec("exact", "exact gradient", None, False, 1))
register(
    MethodSpec(
        "spsa-fixed",
        "SPSA, fixed directions (as the paper ran it)",
        FixedSPSA.from_options,
        True,
        _spsa_evaluations,
        ("epsilon", "spsa_samples"),
    )
)
