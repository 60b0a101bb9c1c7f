"""The QRNN model: input Linear -> quantum layer -> output Linear."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from . import torch_simulator
from .backends import backend_names, backend_spec, uses_cuda
from .checks import check_choice, check_int
from .circuit import angles_per_step, check_n_qubits, crx_angles
from .estimators import EstimatorOptions, Plan, input_angles, method_spec
from .noise import NoiseModel
from .simulate import simulate

# Rows per simulator call on the torch backend: bounds memory for large plans.
TORCH_CHUNK_ROWS = 8192


@dataclass
class QRNNConfig:
    """Everything that defines a QRNN and how its gradient is estimated (checked when made).

    Raises:
        ValueError: a bad field, or a combination the backend cannot run (e.g. the exact
            gradient on a backend that is not differentiable, or with shots).

    Example:
        >>> config = QRNNConfig(n_qubits=4, method="fdsa")
        >>> config.n_angles, config.n_outcomes, config.n_params
        (27, 4, 54)
    """

    n_qubits: int = 8
    in_dim: int = 1
    out_dim: int = 2
    context_length: int = 1
    repeat_blocks: int = 1
    backend: str = "torch"
    shots: int | None = None
    device: str = "cpu"
    method: str = "spsa"
    epsilon: float = 0.1
    spsa_samples: int = 2
    precision: str = "single"
    freeze_input: bool = False  # ablation: the input layer stays at its seeded random initialisation (a reservoir)
    recurrence: bool = True  # ablation: False holds the CRX staircase at angle 0 (no coupling between steps)
    noise: NoiseModel | None = None  # device noise (qrnn_core.noise); None: the noiseless circuit

    def __post_init__(self) -> None:
        self._check()
        if self.noise is not None:
            if not isinstance(self.noise, NoiseModel):
                raise ValueError(f"noise must be a qrnn_core.noise.NoiseModel or None, got {type(self.noise).__name__}")
            if not backend_spec(self.backend).noise:
                allowed = ", ".join(name for name in backend_names() if backend_spec(name).noise)
                raise ValueError(f"backend {self.backend!r} does not model noise; backends with noise: {allowed}")
            if self.noise.n_qubits != self.n_qubits or self.repeat_blocks != 1:
                raise ValueError(
                    f"noise model is for {self.noise.n_qubits} qubits and repeat_blocks=1; got "
                    f"n_qubits={self.n_qubits}, repeat_blocks={self.repeat_blocks}"
                )

    def _check(self) -> None:
        check_n_qubits(self.n_qubits)
        for name in ("freeze_input", "recurrence"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("in_dim", "out_dim", "context_length", "repeat_blocks"):
            check_int(name, getattr(self, name), 1)
        backend = backend_spec(self.backend)
        backend.check_shots(self.shots)
        spec = method_spec(self.method)
        check_choice("precision", self.precision, ("single", "double"))
        if spec.autograd and (not backend.differentiable or self.shots is not None):
            allowed = ", ".join(name for name in backend_names() if backend_spec(name).differentiable)
            raise ValueError(
                f"method {self.method!r} differentiates the exact simulator and needs a differentiable backend "
                f"({allowed}) with shots=None; got backend={self.backend!r}, shots={self.shots!r}"
            )
        if not uses_cuda(self.device):
            backend.resolve_device(self.device)  # CUDA availability is checked when a model is built on it
        spec.build(self.estimator_options)

    @property
    def estimator_options(self) -> EstimatorOptions:
        """What the method's factory builds its estimator from."""
        return EstimatorOptions(self.n_qubits, self.epsilon, self.spsa_samples, self.repeat_blocks)

    @property
    def n_angles(self) -> int:
        """Circuit angles per step."""
        return angles_per_step(self.n_qubits)

    @property
    def n_outcomes(self) -> int:
        """Readout outcomes per step."""
        return 2 ** (self.n_qubits // 2)

    def to_dict(self) -> dict:
        """Every field, as a dictionary (``noise`` as :meth:`NoiseModel.to_dict`, left out when there is none)."""
        values = asdict(self)
        values.pop("noise")
        return values if self.noise is None else values | {"noise": self.noise.to_dict()}

    @property
    def n_params(self) -> int:
        """Parameters of the input layer (weight and bias): what the gradient methods estimate."""
        return self.n_angles * (self.in_dim * self.context_length + 1)

    @property
    def angle_mask(self) -> torch.Tensor | None:
        """Per-angle factor (P,) applied to the input layer's output: 0 on the CRX angles without recurrence.

        ``None`` (no mask, the default) when the recurrence is on.
        """
        if self.recurrence:
            return None
        mask = torch.ones(self.n_angles)
        mask[crx_angles(self.n_qubits)] = 0.0
        return mask

    @property
    def trained_parameters(self) -> int:
        """Parameters training changes: the input layer's unmasked rows (none if frozen) and the linear readout."""
        per_angle = self.in_dim * self.context_length + 1
        angles = 0 if self.freeze_input else self.n_angles - (0 if self.recurrence else self.n_qubits - 1)
        return angles * per_angle + (self.n_outcomes + 1) * self.out_dim

    def sequence_evaluations(self, batch: int, steps: int, train: bool) -> int:
        """Sequences one forward pass evaluates: ``batch``, times the method's evaluations per sequence if ``train``."""
        if not train:
            return batch
        return batch * method_spec(self.method).evaluations_per_sequence(self.estimator_options, self.n_params, steps)

    def memory_bytes(self, batch: int, steps: int, train: bool) -> int:
        """Estimated peak memory (bytes) of one forward pass over ``batch`` sequences of ``steps`` steps.

        Args:
            batch: sequences in the pass.
            steps: steps of each sequence.
            train: a training pass: the gradient method's planned points (or autograd's graph)
                and the backward pass count too.

        Returns:
            The parameters with their gradients and two optimizer moments, the angles and
            distributions of every sequence evaluated, and the simulator's peak: on the torch
            backend :func:`qrnn_core.torch_simulator.memory_bytes` of the largest call
            (:data:`TORCH_CHUNK_ROWS` sequences; all of them under autograd), on Qiskit Aer
            one density matrix (exact) or state vector (shots) of all qubits.
        """
        real_bytes = 8 if self.precision == "double" else 4
        sequences = self.sequence_evaluations(batch, steps, train)
        parameters = 4 * real_bytes * (self.n_params + (self.n_outcomes + 1) * self.out_dim)
        arrays = 3 * real_bytes * sequences * steps * (self.n_angles + self.n_outcomes)
        if not backend_spec(self.backend).differentiable:
            return parameters + arrays + 16 * (4 if self.shots is None else 2) ** self.n_qubits
        graph = train and method_spec(self.method).autograd
        call = sequences if graph else min(sequences, TORCH_CHUNK_ROWS)
        double = self.precision == "double"
        simulator = torch_simulator.memory_bytes(call, steps, self.n_qubits, self.repeat_blocks, double, graph)
        return parameters + arrays + simulator


class _EstimatedLayer(torch.autograd.Function):
    """Quantum layer whose backward pass uses a planned estimator instead of autograd."""

    @staticmethod
    def forward(ctx, weight, bias, features, model: QRNN):
        angles = input_angles(weight, bias, features)
        assert model.estimator is not None  # the layer is applied only with an estimator
        plan = model.estimator.plan(weight, bias, features, model.generator)
        points = torch.cat([angles.unsqueeze(0), plan.angles])
        if model.angle_mask is not None:  # every planned point keeps the masked angles at 0
            points = points * model.angle_mask.to(points)
        ctx.mask = model.angle_mask
        probs = model.evaluate(points.flatten(0, 1))
        probs = probs.reshape(plan.angles.shape[0] + 1, *angles.shape[:2], -1)
        model.circuit_evaluations += plan.evaluations
        ctx.plan, ctx.points = plan, probs[1:]
        return probs[0]

    @staticmethod
    def backward(ctx, g):
        plan: Plan = ctx.plan
        d_weight, d_bias = plan.combine(ctx.points, g)
        if ctx.mask is not None:  # the masked angles' parameters are not trained
            d_weight, d_bias = d_weight * ctx.mask.to(d_weight)[:, None], d_bias * ctx.mask.to(d_bias)
        return d_weight, d_bias, None, None


class QRNN(nn.Module):
    """Quantum recurrent network: features (B, T, in_dim * context_length) -> (B, T, out_dim).

    The input layer maps each step's features to the circuit's ``P`` angles; the output
    layer maps each step's ``2**(n/2)``-outcome distribution to the targets. A forward
    pass over a batch is one batched simulator call (plus, in training, the estimator's
    points in the same call).

    Args:
        config: the model (default: ``QRNNConfig()``).
        seed: seed of the initialisation, the estimator's directions and the shots (``None``: random).

    Example:
        >>> model = QRNN(QRNNConfig(n_qubits=4), seed=0)
        >>> model(torch.rand(2, 5, 1)).shape
        torch.Size([2, 5, 2])
    """

    def __init__(self, config: QRNNConfig | None = None, seed: int | None = None):
        super().__init__()
        config = config or QRNNConfig()
        self.config = config
        self.estimator = method_spec(config.method).build(config.estimator_options)
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        self.circuit_evaluations = 0
        n_features = config.in_dim * config.context_length
        self.input_layer = nn.Linear(n_features, config.n_angles)
        self.output_layer = nn.Linear(config.n_outcomes, config.out_dim)
        self.reset_parameters()
        self.angle_mask = config.angle_mask
        if config.freeze_input:
            self.input_layer.requires_grad_(False)
        if config.precision == "double":
            self.double()
        backend = backend_spec(config.backend)
        if backend.differentiable:
            self.to(backend.resolve_device(config.device))

    def reset_parameters(self) -> None:
        """The seed study's initialisation (uniform input weights scaled by pi, output bias 0.5)."""
        c = self.config
        scale = math.pi / (c.context_length * c.repeat_blocks * c.in_dim)
        limit = 2 * math.sqrt(6 / c.n_outcomes)
        with torch.no_grad():
            self.input_layer.weight.uniform_(-scale, scale, generator=self.generator)
            self.input_layer.bias.uniform_(-scale / 2, scale / 2, generator=self.generator)
            self.output_layer.weight.uniform_(-limit, limit, generator=self.generator)
            self.output_layer.bias.fill_(0.5)

    def evaluate(self, angles: torch.Tensor) -> torch.Tensor:
        """Readout distributions for angles (N, T, P) on the configured simulator."""
        c, backend = self.config, backend_spec(self.config.backend)
        seed = None
        if backend.check_shots(c.shots) is not None:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        if not backend.differentiable:
            return simulate(
                angles.detach(), c.backend, c.shots, c.device, seed, c.n_qubits, c.repeat_blocks, noise=c.noise
            ).to(angles)
        chunks = [
            simulate(
                part,
                backend.name,
                c.shots,
                c.device,
                None if seed is None else seed + i,
                c.n_qubits,
                c.repeat_blocks,
                noise=c.noise,
            )
            for i, part in enumerate(angles.split(TORCH_CHUNK_ROWS))
        ]
        return torch.cat(chunks)

    def quantum_layer(self, features: torch.Tensor) -> torch.Tensor:
        """Per-step distributions (B, T, M) for features (B, T, F), with the configured gradient."""
        self.circuit_evaluations += features.shape[0]
        weight = self.input_layer.weight
        if self.estimator is None or not (torch.is_grad_enabled() and weight.requires_grad):
            angles = self.input_layer(features)
            return self.evaluate(angles if self.angle_mask is None else angles * self.angle_mask.to(angles))
        return _EstimatedLayer.apply(self.input_layer.weight, self.input_layer.bias, features, self)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Predictions (B, T, out_dim) for features (B, T, in_dim * context_length)."""
        if features.dim() != 3 or features.shape[-1] != self.input_layer.in_features:
            raise ValueError(
                f"features must have shape (B, T, {self.input_layer.in_features}), got {tuple(features.shape)}"
            )
        features = features.to(self.input_layer.weight)
        return self.output_layer(self.quantum_layer(features))
