"""Simulator backends and their registry, read by :func:`qrnn_core.simulate.simulate`, the model and the benchmark.

Every backend is one :class:`BackendSpec` in :data:`REGISTRY`: a function from a checked
:class:`SimulationJob` to per-step readout distributions, and its capabilities. Adding a
backend is one function, one :func:`register` call and its test (docs/CONTRIBUTING.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import aer_simulator, noise, torch_simulator
from .checks import add_entry, check_choice
from .noise import NoiseModel

DEFAULT_AER_SHOTS = 1024
BACKEND_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def cuda_available() -> bool:
    """Whether torch sees a CUDA device: the one home of this check.

    Example:
        >>> isinstance(cuda_available(), bool)
        True
    """
    return torch.cuda.is_available()


def uses_cuda(device: str | torch.device) -> bool:
    """Whether ``device`` ("cpu", "cuda", "cuda:N", "gpu") names a CUDA device.

    Example:
        >>> uses_cuda("cuda:1"), uses_cuda("gpu"), uses_cuda("cpu")
        (True, True, False)
    """
    name = str(device).lower()
    return name.startswith("cuda") or name == "gpu"


def torch_device(device: str | torch.device) -> torch.device:
    """The torch device for ``device`` ("cpu", "cuda", "cuda:N" or "gpu").

    Raises:
        ValueError: an unknown device name.
        RuntimeError: a CUDA device is asked for and :func:`cuda_available` is False.

    Example:
        >>> torch_device("cpu")
        device(type='cpu')
    """
    name = "cuda" if str(device).lower() == "gpu" else str(device).lower()
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}; allowed: 'cpu', 'cuda', 'cuda:N'")
    if name.startswith("cuda") and not cuda_available():
        raise RuntimeError(
            f"device {device!r} requested but no CUDA device is available (torch.cuda.is_available() is False)"
        )
    return torch.device(name)


def aer_device(device: str | torch.device) -> str:
    """Qiskit Aer's device ("CPU" or "GPU") for ``device``; RuntimeError if this Aer build has no GPU."""
    name = str(device).lower()
    if name == "cpu":
        return "CPU"
    if not uses_cuda(name):
        raise ValueError(f"unknown device {device!r} for Qiskit Aer; allowed: 'cpu', 'gpu'")
    if not aer_simulator.gpu_available():
        raise RuntimeError(
            f"device {device!r} requested for Qiskit Aer, but this Aer build has no GPU support "
            "(install qiskit-aer-gpu on a machine with CUDA)"
        )
    return "GPU"


@dataclass(frozen=True)
class SimulationJob:
    """What a backend computes: checked angles (B, T, P) and the settings of one :func:`simulate` call.

    ``shots`` is already resolved (``None``: exact distributions); ``precision`` is
    ``"single"``, ``"double"`` or ``None`` (follow the angles' dtype); ``noise``: device noise
    (:class:`qrnn_core.noise.NoiseModel`; ``None``: the noiseless circuit).
    """

    angles: torch.Tensor
    n_qubits: int
    repeat_blocks: int = 1
    shots: int | None = None
    device: str = "cpu"
    seed: int | None = None
    precision: str | None = None
    noise: NoiseModel | None = None


def sample_frequencies(probs: torch.Tensor, shots: int, seed: int | None = None) -> torch.Tensor:
    """Draw ``shots`` samples per step from exact distributions (..., M); return the frequencies.

    Example:
        >>> sample_frequencies(torch.tensor([[0.25, 0.75]]), shots=4, seed=0).shape
        torch.Size([1, 2])
    """
    p = probs.detach().to("cpu", torch.float64).clamp_min(0.0).numpy()
    p = p / p.sum(-1, keepdims=True)
    counts = np.random.default_rng(seed).multinomial(shots, p)
    return torch.as_tensor(counts / shots, dtype=probs.dtype, device=probs.device)


def check_shots(shots: int | None) -> int | None:
    """``None`` (exact) or a positive integer number of shots.

    Raises:
        ValueError: anything else, naming it.
    """
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
        raise ValueError(f"shots must be None (exact) or a positive integer, got {shots!r}")
    return int(shots)


def run_torch(job: SimulationJob) -> torch.Tensor:
    """The exact torch simulator (differentiable); with ``shots``, frequencies sampled from it."""
    dtype = {"single": torch.float32, "double": torch.float64, None: job.angles.dtype}[job.precision]
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float32
    angles = job.angles.to(torch_device(job.device), dtype)
    if job.noise is None:
        probs = torch_simulator.probabilities(angles, job.n_qubits, job.repeat_blocks)
    else:
        probs = noise.noisy_probabilities(angles, job.noise, job.repeat_blocks)
    return probs if job.shots is None else sample_frequencies(probs, job.shots, job.seed)


def run_aer(job: SimulationJob) -> torch.Tensor:
    """Qiskit Aer: measured circuits with ``shots``, or the density matrix when ``shots`` is None."""
    device = aer_device(job.device)
    values = job.angles.detach().to("cpu", torch.float64).numpy()
    if job.noise is not None:
        if job.shots is not None or device != "CPU":
            raise ValueError("noise runs on Qiskit Aer's density matrix on the CPU only (backend 'aer-exact', cpu)")
        return torch.from_numpy(noise.aer_noisy_probabilities(values, job.noise, job.repeat_blocks))
    out = aer_simulator.aer_probabilities(values, job.n_qubits, job.repeat_blocks, job.shots, job.seed, device)
    return torch.from_numpy(out)


@dataclass(frozen=True)
class BackendSpec:
    """One simulator backend and what it can do.

    Attributes:
        name: the key of configs and the command line (``[a-z0-9_-]``).
        label: how tables and figures name it.
        run: computes the distributions (B, T, 2**(n/2)) of a :class:`SimulationJob`.
        exact: with ``shots=None`` it returns exact distributions.
        shots: it accepts a number of shots.
        differentiable: autograd flows through ``run``; the model keeps its parameters on the
            backend's device and the exact gradient method may use it.
        devices: the kinds of device it runs on (``"cpu"``, ``"cuda"``, ``"gpu"``).
        default_shots: shots used when none are given (backends that are not exact).
        resolve_device: turns a device name into the backend's device (``ValueError`` for an
            unknown name, ``RuntimeError`` for a missing device).
        noise: ``run`` applies a :class:`qrnn_core.noise.NoiseModel` given in the job.
    """

    name: str
    label: str
    run: Callable[[SimulationJob], torch.Tensor]
    exact: bool
    shots: bool
    differentiable: bool
    devices: tuple[str, ...] = ("cpu",)
    default_shots: int | None = None
    resolve_device: Callable[[str], Any] = torch_device
    noise: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not BACKEND_NAME.fullmatch(self.name):
            raise ValueError(f"backend name must be lower-case letters, digits, '-' and '_', got {self.name!r}")
        if not callable(self.run):
            raise ValueError(f"backend {self.name!r}: run must be callable, got {self.run!r}")
        if not self.exact and (not self.shots or self.default_shots is None):
            raise ValueError(f"backend {self.name!r} is not exact: it needs shots=True and default_shots")

    def check_shots(self, shots: int | None) -> int | None:
        """The shots a call runs with: ``shots`` checked, or :attr:`default_shots` for a backend that is not exact.

        Raises:
            ValueError: ``shots`` is not None or a positive integer, or the backend takes no shots.
        """
        shots = check_shots(shots)
        if shots is not None and not self.shots:
            with_shots = ", ".join(name for name, spec in REGISTRY.items() if spec.shots)
            raise ValueError(
                f"backend {self.name!r} computes exact distributions; got shots={shots} (backends with shots: "
                f"{with_shots})"
            )
        return self.default_shots if shots is None and not self.exact else shots


REGISTRY: dict[str, BackendSpec] = {}


def register(spec: BackendSpec, replace: bool = False) -> BackendSpec:
    """Add a simulator backend; from then on :func:`~qrnn_core.simulate.simulate`, models and training accept it.

    Args:
        spec: the backend.
        replace: replace a backend of the same name (refused otherwise).

    Returns:
        ``spec``.

    Raises:
        ValueError: ``spec`` is not a :class:`BackendSpec`, or its name is taken and ``replace`` is False.

    Example:
        >>> spec = BackendSpec("torch-copy", "torch (copy)", run_torch, exact=True, shots=True, differentiable=True)
        >>> register(spec).name, "torch-copy" in backend_names()
        ('torch-copy', True)
        >>> unregister("torch-copy")
    """
    return add_entry(REGISTRY, spec, BackendSpec, "backend", replace)


def unregister(name: str) -> None:
    """Remove backend ``name`` (tests and examples register temporary ones)."""
    REGISTRY.pop(backend_spec(name).name)


def backend_names() -> tuple[str, ...]:
    """The registered backends' names, in registration order.

    Example:
        >>> backend_names()
        ('torch', 'aer', 'aer-exact')
    """
    return tuple(REGISTRY)


def backend_spec(name: str) -> BackendSpec:
    """The registered backend ``name``.

    Raises:
        ValueError: no backend of that name, listing the registered ones.

    Example:
        >>> backend_spec("aer").default_shots
        1024
    """
    return REGISTRY[check_choice("backend", name, REGISTRY)]


register(BackendSpec("torch", "torch (exact)", run_torch, True, True, True, ("cpu", "cuda"), noise=True))
register(
    BackendSpec("aer", "Qiskit Aer (shots)", run_aer, False, True, False, ("cpu", "gpu"), DEFAULT_AER_SHOTS, aer_device)
)
register(
    BackendSpec(
        "aer-exact", "Qiskit Aer (density matrix)", run_aer, True, False, False, ("cpu", "gpu"), None, aer_device, True
    )
)
