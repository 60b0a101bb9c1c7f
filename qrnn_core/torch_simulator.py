"""Exact QRNN simulation in PyTorch on the memory qubits' density matrix.

Each step measures and resets the readout qubits, so the state carried between steps
is the density matrix ``rho`` of the ``n/2`` memory qubits (``D = 2**(n/2)``). With
``K_m = <m|_R U_t |0>_R`` (a ``D x D`` block of step ``t``'s unitary) the step's
outcome distribution is ``p_t(m) = tr(K_m rho K_m^dag)`` and the next state is
``rho' = sum_m K_m rho K_m^dag``.

The Kraus operators depend only on that step's angles, so they are built for all
sequences and steps at once; only the ``D x D`` products run step by step.
"""

from __future__ import annotations

import torch

from .circuit import check_n_qubits


def _rotations(kind: str, theta: torch.Tensor, cdtype: torch.dtype) -> torch.Tensor:
    """2 x 2 matrices of ``RZ`` or ``RX`` for a tensor of angles; shape ``theta.shape + (2, 2)``."""
    c = torch.cos(theta / 2).to(cdtype)
    s = torch.sin(theta / 2).to(cdtype)
    if kind == "rx":
        row0 = torch.stack([c, -1j * s], dim=-1)
        row1 = torch.stack([-1j * s, c], dim=-1)
    else:
        zero = torch.zeros_like(c)
        row0 = torch.stack([c - 1j * s, zero], dim=-1)
        row1 = torch.stack([zero, c + 1j * s], dim=-1)
    return torch.stack([row0, row1], dim=-2)


def _apply_1q(x: torch.Tensor, gate: torch.Tensor, qubit: int) -> torch.Tensor:
    """Apply per-row 2 x 2 ``gate`` (N, 2, 2) to ``qubit`` of ``x`` (N, 2, ..., 2, C)."""
    shape = x.shape
    n = shape[0]
    y = x.reshape(n, 2**qubit, 2, -1)
    y = torch.matmul(gate.unsqueeze(1), y)
    return y.reshape(shape)


def _apply_crx(x: torch.Tensor, gate: torch.Tensor, control: int) -> torch.Tensor:
    """Apply ``RX`` (N, 2, 2) to qubit ``control + 1`` where ``control`` is 1."""
    shape = x.shape
    n = shape[0]
    y = x.reshape(n, 2**control, 2, 2, -1)
    on = torch.matmul(gate.unsqueeze(1), y[:, :, 1])
    return torch.stack([y[:, :, 0], on], dim=2).reshape(shape)


def _fused_rotations(angles: torch.Tensor, offset: int, n_qubits: int, cdtype: torch.dtype) -> torch.Tensor:
    """``RZ(c) RX(b) RZ(a)`` for every qubit of one rotation layer: shape (N, n, 2, 2)."""
    a = angles[:, offset : offset + 3 * n_qubits].reshape(-1, n_qubits, 3)
    rz1 = _rotations("rz", a[..., 0], cdtype)
    rx = _rotations("rx", a[..., 1], cdtype)
    rz2 = _rotations("rz", a[..., 2], cdtype)
    return rz2 @ rx @ rz1


def kraus_operators(angles: torch.Tensor, n_qubits: int, repeat_blocks: int = 1) -> torch.Tensor:
    """Kraus operators of each step: angles (..., P) -> (..., M, D, D), ``M = D = 2**(n/2)``.

    ``K[..., m, i, c] = <m|_R <i|_mem U |0>_R |c>_mem``; readout outcome ``m`` and memory
    index ``i`` are little-endian over the readout (odd) and memory (even) qubits.
    """
    n = check_n_qubits(n_qubits)
    half = n // 2
    dim = 2**half
    lead = angles.shape[:-1]
    flat = angles.reshape(-1, angles.shape[-1])
    rows = flat.shape[0]
    cdtype = torch.complex128 if flat.dtype == torch.float64 else torch.complex64

    # Tensor axes: (row, q0, q1, ..., q_{n-1}, column). Reordering the qubit axes as
    # (q_{n-1}, q_{n-3}, ..., q_1, q_{n-2}, ..., q_0) gives the (m, i) little-endian layout.
    order = [2 * j + 1 for j in reversed(range(half))] + [2 * j for j in reversed(range(half))]
    to_qubit_axes = [0] + [1 + order.index(q) for q in range(n)] + [n + 1]
    start = torch.zeros(dim, dim, dim, dtype=cdtype, device=flat.device)
    start[0] = torch.eye(dim, dtype=cdtype, device=flat.device)
    x = start.reshape(1, *([2] * n), dim).permute(*to_qubit_axes).expand(rows, *([2] * n), dim).contiguous()

    first = _fused_rotations(flat, 0, n, cdtype)
    crx = _rotations("rx", flat[:, 3 * n : 4 * n - 1], cdtype)
    second = _fused_rotations(flat, 4 * n - 1, n, cdtype)
    for _ in range(repeat_blocks):
        for k in range(n):
            x = _apply_1q(x, first[:, k], k)
        for k in range(n - 1):
            x = _apply_crx(x, crx[:, k], k)
        for k in range(n):
            x = _apply_1q(x, second[:, k], k)
    to_kraus_axes = [0] + [1 + q for q in order] + [n + 1]
    k_ops = x.permute(*to_kraus_axes).reshape(rows, dim, dim, dim)
    return k_ops.reshape(*lead, dim, dim, dim)


def run_kraus(k_ops: torch.Tensor) -> torch.Tensor:
    """Per-step outcome distributions from Kraus operators (B, T, M, D, D) -> (B, T, M).

    The memory qubits start in ``|0...0>``; the recursion is differentiable.
    """
    batch, steps, m_out, dim, _ = k_ops.shape
    rho = torch.zeros(batch, dim, dim, dtype=k_ops.dtype, device=k_ops.device)
    rho[:, 0, 0] = 1.0
    stacked = k_ops.reshape(batch, steps, m_out * dim, dim)
    # K_m^dag stacked over m as rows (m, k), columns l: for rho' = sum_m (K_m rho) K_m^dag.
    dagger = k_ops.conj().transpose(-1, -2).reshape(batch, steps, m_out * dim, dim)
    probs = []
    for t in range(steps):
        a = torch.matmul(stacked[:, t], rho)  # (B, M*D, D): rows (m, i)
        probs.append((a * stacked[:, t].conj()).real.reshape(batch, m_out, -1).sum(-1))
        a = a.reshape(batch, m_out, dim, dim).transpose(1, 2).reshape(batch, dim, m_out * dim)
        rho = torch.matmul(a, dagger[:, t])
    return torch.stack(probs, dim=1)


def probabilities(angles: torch.Tensor, n_qubits: int, repeat_blocks: int = 1) -> torch.Tensor:
    """Exact per-step readout distributions: angles (B, T, P) -> (B, T, 2**(n/2))."""
    return run_kraus(kraus_operators(angles, n_qubits, repeat_blocks))
