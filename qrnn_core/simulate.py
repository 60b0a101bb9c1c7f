"""One entry point for every registered simulator backend, with input checks before any work starts."""

from __future__ import annotations

import numpy as np
import torch

from .backends import SimulationJob, backend_names, backend_spec
from .backends import check_shots as check_shots  # re-exported: its home is qrnn_core.backends
from .backends import sample_frequencies as sample_frequencies  # re-exported: its home is qrnn_core.backends
from .checks import check_int
from .circuit import angles_per_step, check_n_qubits, n_qubits_from_angles
from .noise import NoiseModel


def check_angles(angles: object, n_qubits: int | None = None) -> tuple[torch.Tensor, int]:
    """Validate a (B, T, P) batch of angles; return it as a tensor with its qubit count.

    Raises:
        ValueError: wrong shape, dtype, qubit count, an empty batch, or NaN/inf values.
    """
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


def simulate(
    angles: object,
    backend: str = "torch",
    shots: int | None = None,
    device: str = "cpu",
    seed: int | None = None,
    n_qubits: int | None = None,
    repeat_blocks: int = 1,
    precision: str | None = None,
    noise: NoiseModel | None = None,
) -> torch.Tensor:
    """Per-step readout distributions (B, T, 2**(n/2)) of the QRNN for angles (B, T, P).

    Args:
        angles: a (B, T, P) tensor or array; ``P = 7n - 1`` angles per step.
        backend: a registered backend (:func:`qrnn_core.backends.backend_names`): ``"torch"``
            (exact, differentiable; ``shots`` samples from it), ``"aer"`` (Qiskit Aer shots with
            mid-circuit measurement; 1024 shots by default) or ``"aer-exact"`` (Aer density matrix).
        shots: samples per step (``None``: exact, where the backend is).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"gpu"``.
        seed: seed of the shots.
        n_qubits: the qubit count (default: inferred from ``P``).
        repeat_blocks: repetitions of the gate block per step.
        precision: ``"single"`` (complex64) or ``"double"`` (complex128) on torch; by default
            double for float64 tensors and numpy arrays, single otherwise.
        noise: device noise (:class:`qrnn_core.noise.NoiseModel`, ``n_qubits`` and ``repeat_blocks=1``
            must match) on a backend that models it (``"torch"``: the fast channels; ``"aer-exact"``:
            the reference); ``None``: the noiseless circuit.

    Returns:
        The distributions, a tensor (B, T, 2**(n/2)).

    Raises:
        ValueError: a bad argument (named, with what is allowed).
        RuntimeError: a CUDA/GPU device is asked for and missing.

    Example:
        >>> p = simulate(np.zeros((2, 3, 27)))  # 4 qubits: 2 readout qubits, 4 outcomes
        >>> tuple(p.shape), round(float(p.sum(-1).mean()), 6)
        ((2, 3, 4), 1.0)
    """
    spec = backend_spec(backend)
    shots = spec.check_shots(shots)
    tensor, n_qubits = check_angles(angles, n_qubits)
    check_int("repeat_blocks", repeat_blocks, 1)
    if precision not in (None, "single", "double"):
        raise ValueError(f"unknown precision {precision!r}; allowed: 'single', 'double'")
    if noise is not None:
        if not isinstance(noise, NoiseModel):
            raise ValueError(f"noise must be a qrnn_core.noise.NoiseModel or None, got {type(noise).__name__}")
        if not spec.noise:
            allowed = ", ".join(name for name in backend_names() if backend_spec(name).noise)
            raise ValueError(f"backend {backend!r} does not model noise; backends with noise: {allowed}")
        if noise.n_qubits != n_qubits or repeat_blocks != 1:
            raise ValueError(
                f"noise model is for {noise.n_qubits} qubits and repeat_blocks=1; got n_qubits={n_qubits}, "
                f"repeat_blocks={repeat_blocks}"
            )
    job = SimulationJob(tensor, n_qubits, repeat_blocks, shots, device, seed, precision, noise)
    return spec.run(job)
