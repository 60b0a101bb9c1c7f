"""One entry point for the three simulators, with input checks before any work starts."""

from __future__ import annotations

import numpy as np
import torch

from . import aer_simulator, torch_simulator
from .circuit import angles_per_step, check_n_qubits, n_qubits_from_angles

BACKENDS = ("torch", "aer", "aer-exact")
DEFAULT_AER_SHOTS = 1024


def check_backend(backend: str) -> str:
    """Return ``backend`` if it is known, else raise ``ValueError`` listing the choices."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    return backend


def check_shots(shots: int | None) -> int | None:
    """``None`` (exact) or a positive integer number of shots."""
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
        raise ValueError(f"shots must be None (exact) or a positive integer, got {shots!r}")
    return int(shots)


def torch_device(device: str | torch.device) -> torch.device:
    """The torch device for ``device`` ("cpu", "cuda", "cuda:N" or "gpu"); error if CUDA is missing."""
    name = str(device).lower()
    if name == "gpu":
        name = "cuda"
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}; allowed: 'cpu', 'cuda', 'cuda:N'")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {device!r} requested but no CUDA device is available (torch.cuda.is_available() is False)"
        )
    return torch.device(name)


def _aer_device(device: str | torch.device) -> str:
    name = str(device).lower()
    if name == "cpu":
        return "CPU"
    if name in ("gpu", "cuda") or name.startswith("cuda:"):
        if not aer_simulator.gpu_available():
            raise RuntimeError(
                f"device {device!r} requested for Qiskit Aer, but this Aer build has no GPU support "
                "(install qiskit-aer-gpu on a machine with CUDA)"
            )
        return "GPU"
    raise ValueError(f"unknown device {device!r} for Qiskit Aer; allowed: 'cpu', 'gpu'")


def check_angles(angles, n_qubits: int | None = None) -> tuple[torch.Tensor, int]:
    """Validate a (B, T, P) batch of angles; return it as a tensor with its qubit count."""
    tensor = angles if isinstance(angles, torch.Tensor) else torch.as_tensor(np.asarray(angles, dtype=float))
    if tensor.dim() != 3:
        raise ValueError(f"angles must have shape (B, T, P), got shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        raise ValueError(f"angles must be real floating point, got dtype {tensor.dtype}")
    if 0 in tensor.shape:
        raise ValueError(f"angles must be non-empty, got shape {tuple(tensor.shape)}")
    n_angles = tensor.shape[-1]
    if n_qubits is None:
        n_qubits = n_qubits_from_angles(n_angles)
    elif angles_per_step(check_n_qubits(n_qubits)) != n_angles:
        raise ValueError(
            f"angles have P={n_angles} per step but n_qubits={n_qubits} needs P={angles_per_step(n_qubits)}"
        )
    if not torch.isfinite(tensor.detach()).all():
        raise ValueError("angles contain NaN or infinite values")
    return tensor, n_qubits


def sample_frequencies(probs: torch.Tensor, shots: int, seed: int | None = None) -> torch.Tensor:
    """Draw ``shots`` samples per step from exact distributions; return the frequencies."""
    p = probs.detach().to("cpu", torch.float64).clamp_min(0.0).numpy()
    p = p / p.sum(-1, keepdims=True)
    counts = np.random.default_rng(seed).multinomial(shots, p)
    return torch.as_tensor(counts / shots, dtype=probs.dtype, device=probs.device)


def simulate(
    angles,
    backend: str = "torch",
    shots: int | None = None,
    device: str = "cpu",
    seed: int | None = None,
    n_qubits: int | None = None,
    repeat_blocks: int = 1,
    precision: str | None = None,
) -> torch.Tensor:
    """Per-step readout distributions (B, T, 2**(n/2)) of the QRNN for angles (B, T, P).

    backend: ``"torch"`` (exact, differentiable; ``shots`` samples from it),
    ``"aer"`` (Qiskit Aer shots with mid-circuit measurement; ``shots`` defaults to 1024)
    or ``"aer-exact"`` (Aer density matrix, exact; no shots).
    precision: ``"single"`` (complex64) or ``"double"`` (complex128) for ``"torch"``;
    by default double for float64 tensors and numpy arrays, single otherwise.
    """
    check_backend(backend)
    shots = check_shots(shots)
    tensor, n_qubits = check_angles(angles, n_qubits)
    if isinstance(repeat_blocks, bool) or not isinstance(repeat_blocks, int) or repeat_blocks < 1:
        raise ValueError(f"repeat_blocks must be an integer >= 1, got {repeat_blocks!r}")
    if precision not in (None, "single", "double"):
        raise ValueError(f"unknown precision {precision!r}; allowed: 'single', 'double'")
    if backend == "torch":
        dev = torch_device(device)
        dtype = {"single": torch.float32, "double": torch.float64, None: tensor.dtype}[precision]
        if dtype not in (torch.float32, torch.float64):
            dtype = torch.float32
        probs = torch_simulator.probabilities(tensor.to(dev, dtype), n_qubits, repeat_blocks)
        return probs if shots is None else sample_frequencies(probs, shots, seed)
    if backend == "aer-exact" and shots is not None:
        raise ValueError(
            f"backend 'aer-exact' computes exact distributions; got shots={shots} (use backend='aer' for shots)"
        )
    aer_dev = _aer_device(device)
    if backend == "aer" and shots is None:
        shots = DEFAULT_AER_SHOTS
    values = tensor.detach().to("cpu", torch.float64).numpy()
    out = aer_simulator.aer_probabilities(values, n_qubits, repeat_blocks, shots, seed, aer_dev)
    return torch.from_numpy(out)
