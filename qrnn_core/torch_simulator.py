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


def _fused_rotations(angles: torch.Tensor, offset: int, n_qubits: int, cdtype: torch.dtype) -> torch.Tensor:
    """``RZ(c) RX(b) RZ(a)`` for every qubit of one rotation layer: shape (N, n, 2, 2)."""
    a = angles[:, offset : offset + 3 * n_qubits].reshape(-1, n_qubits, 3)
    rz1 = _rotations("rz", a[..., 0], cdtype)
    rx = _rotations("rx", a[..., 1], cdtype)
    rz2 = _rotations("rz", a[..., 2], cdtype)
    return rz2 @ rx @ rz1


def _block_operator(angles: torch.Tensor, n_qubits: int, readout_from_zero: bool) -> torch.Tensor:
    """One block (rotations, CRX chain, rotations) as a chain contraction of bond dimension 2.

    In the CRX staircase, qubit ``k`` is first the target of ``CRX(k-1, k)`` and then the
    control of ``CRX(k, k+1)``, so qubit ``k`` receives ``RX(phi_{k-1})`` exactly when the
    computational-basis value of qubit ``k-1`` after its own gates is 1. Passing that value
    along the chain gives each qubit a local tensor ``W[l, o, out, in]``; contracting
    them site by site builds the operator in a handful of vectorized products.

    Returns (N, 2**n, 2**n) with rows ``(m, i)`` and columns ``(r, c)`` (readout and memory
    bits, little-endian each) or, with ``readout_from_zero``, only the ``r = 0`` columns:
    (N, 2**n, 2**(n/2)).
    """
    n = n_qubits
    rows = angles.shape[0]
    cdtype = torch.complex128 if angles.dtype == torch.float64 else torch.complex64
    first = _fused_rotations(angles, 0, n, cdtype)
    second = _fused_rotations(angles, 4 * n - 1, n, cdtype)
    crx = _rotations("rx", angles[:, 3 * n : 4 * n - 1], cdtype)
    chain = torch.ones(rows, 1, 1, dtype=cdtype, device=angles.device)  # (N, bond, open)
    for k in range(n):
        local = first[:, k].unsqueeze(1)  # (N, l, o, in)
        if k > 0:
            local = torch.cat([local, torch.matmul(crx[:, k - 1], first[:, k]).unsqueeze(1)], dim=1)
        if readout_from_zero and k % 2:
            local = local[..., :1]
        site = second[:, k].transpose(1, 2)[:, None, :, :, None] * local[:, :, :, None, :]  # (N, l, o, out, in)
        site = site.reshape(rows, site.shape[1], 2, 1, -1)
        # Sum over the bond l (size 1 or 2) by broadcasting: (N, o, open, out*in).
        terms = [chain[:, l, None, :, None] * site[:, l] for l in range(site.shape[1])]
        chain = (terms[0] if len(terms) == 1 else terms[0] + terms[1]).reshape(rows, 2, -1)
    flat = chain.sum(dim=1)
    # Open indices in site order: (out_k, in_k) per site (a fixed readout input has size 1).
    in_size = [1 if (readout_from_zero and k % 2) else 2 for k in range(n)]
    axes = flat.reshape(rows, *[d for k in range(n) for d in (2, in_size[k])])
    readout = [2 * j + 1 for j in reversed(range(n // 2))]
    memory = [2 * j for j in reversed(range(n // 2))]
    order = [1 + 2 * k for k in readout + memory] + [2 + 2 * k for k in readout + memory]
    return axes.permute(0, *order).reshape(rows, 2**n, -1)


def kraus_operators(angles: torch.Tensor, n_qubits: int, repeat_blocks: int = 1) -> torch.Tensor:
    """Kraus operators of each step: angles (..., P) -> (..., M, D, D), ``M = D = 2**(n/2)``.

    ``K[..., m, i, c] = <m|_R <i|_mem U |0>_R |c>_mem``; readout outcome ``m`` and memory
    index ``i`` are little-endian over the readout (odd) and memory (even) qubits.
    """
    n = check_n_qubits(n_qubits)
    dim = 2 ** (n // 2)
    lead = angles.shape[:-1]
    flat = angles.reshape(-1, angles.shape[-1])
    if repeat_blocks == 1:
        k_ops = _block_operator(flat, n, readout_from_zero=True)
    else:
        step = torch.linalg.matrix_power(_block_operator(flat, n, readout_from_zero=False), repeat_blocks)
        k_ops = step[:, :, :dim]
    return k_ops.reshape(*lead, dim, dim, dim)


def run_kraus(k_ops: torch.Tensor) -> torch.Tensor:
    """Per-step outcome distributions from Kraus operators (B, T, M, D, D) -> (B, T, M).

    The memory qubits start in ``|0...0>``; the recursion is differentiable. Both
    layouts the recursion multiplies with are prepared for all steps at once, so each
    step is two matrix products: ``W = K rho`` laid out as ``(i, (m, j))``, then
    ``rho' = W K^dag``. The probabilities ``p_t(m) = tr(K_m^dag K_m rho_t)`` follow
    from all the states together after the loop.
    """
    batch, steps, m_out, dim, _ = k_ops.shape
    rho = torch.zeros(batch, dim, dim, dtype=k_ops.dtype, device=k_ops.device)
    rho[:, 0, 0] = 1.0
    by_row = k_ops.transpose(2, 3).reshape(batch, steps, dim * m_out, dim)  # rows (i, m), cols k
    dagger = k_ops.conj().transpose(-1, -2).reshape(batch, steps, m_out * dim, dim)  # rows (m, j), cols l
    states = []
    for t in range(steps):
        states.append(rho)
        rho = torch.matmul(torch.matmul(by_row[:, t], rho).reshape(batch, dim, m_out * dim), dagger[:, t])
    effects = torch.matmul(k_ops.conj().transpose(-1, -2), k_ops)  # (B, T, M, D, D): K_m^dag K_m
    rhos = torch.stack(states, dim=1)  # (B, T, D, D)
    return torch.einsum("btmkl,btlk->btm", effects, rhos).real


def probabilities(angles: torch.Tensor, n_qubits: int, repeat_blocks: int = 1) -> torch.Tensor:
    """Exact per-step readout distributions: angles (B, T, P) -> (B, T, 2**(n/2))."""
    return run_kraus(kraus_operators(angles, n_qubits, repeat_blocks))
