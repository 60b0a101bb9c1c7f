"""Exact QRNN simulation in PyTorch on the memory qubits' density matrix.

Each step measures and resets the readout qubits, so the state carried between steps
is the density matrix ``rho`` of the ``n/2`` memory qubits (``D = 2**(n/2)``). With
``K_m = <m|_R U_t |0>_R`` (a ``D x D`` block of step ``t``'s unitary) the step's
outcome distribution is ``p_t(m) = tr(K_m rho K_m^dag)`` and the next state is
``rho' = sum_m K_m rho K_m^dag``.

The Kraus operators depend only on that step's angles, so they are built for all
sequences and steps at once; only two ``D x D``-sized products run step by step.
Work is split into chunks of about :data:`CHUNK_ROWS` (sequence, step) rows so that
no temporary grows with the batch or the sequence length.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .circuit import check_n_qubits

# (sequence, step) rows per chunk: large enough to vectorize, small enough for the cache.
CHUNK_ROWS = 512
# Peak memory per (sequence, step) row of a chunk, in complex numbers times these factors (measured with
# ``ru_maxrss`` at 6 to 12 qubits, rounded up): Kraus operators (D**3 each) with the last contraction's
# temporaries; block unitaries (4**n each) with the chain's terms and the matrix power; and, with autograd,
# the Kraus operators and step products every row keeps for the backward pass.
KRAUS_COPIES, BLOCK_COPIES, GRAPH_COPIES = 3, 12, 10


def _complex_dtype(angles: torch.Tensor) -> torch.dtype:
    return torch.complex128 if angles.dtype == torch.float64 else torch.complex64


def _rx(theta: torch.Tensor) -> torch.Tensor:
    """``RX(theta)`` for a tensor of angles: shape ``theta.shape + (2, 2)``."""
    c = torch.cos(theta / 2).to(_complex_dtype(theta))
    s = -1j * torch.sin(theta / 2).to(c.dtype)
    return torch.stack([c, s, s, c], dim=-1).unflatten(-1, (2, 2))


def _zxz(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """``RZ(c) RX(b) RZ(a)`` in closed form (``c = None``: ``RX(b) RZ(a)``); shape ``a.shape + (2, 2)``."""
    cdtype = _complex_dtype(a)
    cos = torch.cos(b / 2).to(cdtype)
    sin = -1j * torch.sin(b / 2).to(cdtype)
    plus = torch.polar(torch.ones_like(a), -(a if c is None else a + c) / 2)  # e^{-i(a+c)/2}
    minus = torch.polar(torch.ones_like(a), (a if c is None else a - c) / 2)  # e^{i(a-c)/2}
    if c is None:  # RX(b) RZ(a): columns carry e^{-ia/2}, e^{+ia/2}
        return torch.stack([cos * plus, sin * minus, sin * plus, cos * minus], dim=-1).unflatten(-1, (2, 2))
    return torch.stack([cos * plus, sin * minus, sin * minus.conj(), cos * plus.conj()], dim=-1).unflatten(-1, (2, 2))


def _layer(angles: torch.Tensor, offset: int, n_qubits: int) -> torch.Tensor:
    """The fused rotations ``RZ RX RZ`` of one layer for every qubit: (N, n, 2, 2)."""
    a = angles[:, offset : offset + 3 * n_qubits].unflatten(-1, (n_qubits, 3))
    return _zxz(a[..., 0], a[..., 1], a[..., 2])


def _site_tensors(angles: torch.Tensor, n_qubits: int, inputs: tuple[int, ...] | None = None) -> torch.Tensor:
    """Local tensors ``h[j, b_in, b_out, m, i, c]`` of the memory qubits, one block, readout from ``|0>``.

    Memory qubit ``2j`` meets two readout qubits in the CRX staircase: ``CRX(2j-1, 2j)``
    rotates it by ``RX(phi_{2j-1})`` when readout qubit ``2j-1`` reads ``b_in`` = 1 in
    the computational basis, and then it controls ``CRX(2j, 2j+1)``, which leaves
    readout qubit ``2j+1`` (started in ``|0>``, rotated by its first layer) in
    ``RX(phi_{2j})^z |a>`` for its own value ``z``; that readout qubit is read as
    ``b_out`` by the next memory qubit and measured as ``m`` after its second layer.
    Hence ``K = sum_b prod_j h_j`` with a bond of size 2 between neighbouring memory
    qubits. The last RZ of each readout qubit is a phase of ``m`` alone and is left out
    (it cancels in ``K rho K^dag``). Returns (N, n/2, 2, 2, 2, 2, 2); site 0 uses only
    ``b_in = 0`` and the last site's ``b_out`` is summed (index 0 holds the sum).
    ``inputs``: the readout qubits' initial bits (default: all ``|0>``; the noise model's reset errors).
    """
    n = n_qubits
    first = _layer(angles, 0, n)
    second_angles = angles[:, 4 * n - 1 :].unflatten(-1, (n, 3))
    crx = _rx(angles[:, 3 * n : 4 * n - 1])  # (N, n-1, 2, 2)
    mem_first, mem_second = first[:, 0::2], _zxz(*second_angles[:, 0::2].unbind(-1))  # (N, J, 2, 2)
    read_second = _zxz(second_angles[:, 1::2, 0], second_angles[:, 1::2, 1])  # RX RZ, final RZ dropped
    if inputs is None:
        start = first[:, 1::2, :, 0]  # readout qubits' first layer on |0>: (N, J, 2)
    else:
        start = torch.stack([first[:, 2 * j + 1, :, bit] for j, bit in enumerate(inputs)], dim=1)
    # s[z, b]: readout amplitude b after CRX from its memory qubit with value z.
    s = torch.stack([start, torch.matmul(crx[:, 0::2], start.unsqueeze(-1)).squeeze(-1)], dim=-2)
    # c[m, b, z] = <m| second |b> s[z, b]
    c = read_second.unsqueeze(-1) * s.transpose(-1, -2).unsqueeze(-3)
    c = torch.cat([c[:, :-1], c[:, -1:].sum(dim=-2, keepdim=True).expand_as(c[:, -1:])], dim=1)
    # memory qubit before its CRX control: first layer, then RX(phi_{2j-1})^{b_in}.
    eye = torch.eye(2, dtype=first.dtype, device=first.device).expand(angles.shape[0], 1, 2, 2)
    rx_in = torch.cat([eye, crx[:, 1::2]], dim=1)  # (N, J, 2, 2); site 0 has no incoming CRX
    pre = torch.stack([mem_first, torch.matmul(rx_in, mem_first)], dim=2)  # (N, J, b_in, z, c)
    return torch.einsum("njiz,njmoz,njbzc->njbomic", mem_second, c, pre)


def _kraus_rows(angles: torch.Tensor, n_qubits: int, inputs: tuple[int, ...] | None = None) -> torch.Tensor:
    """Kraus operators of one block in row layout: angles (N, P) -> (N, D, M, D) as ``[i, m, c]``.

    Contracts the site tensors from the first memory qubit to the last; each new site's
    indices become the most significant ones, so the result is little-endian without a
    permutation and the large tensor is written in long contiguous runs. ``inputs``: see :func:`_site_tensors`.
    """
    h = _site_tensors(angles, n_qubits, inputs)
    chain = h[:, 0, 0].permute(0, 1, 3, 2, 4)  # (N, b_out, I, M, C)
    for j in range(1, h.shape[1]):
        site = h[:, j, :, :1] if j == h.shape[1] - 1 else h[:, j]  # (N, b_in, b_out, m, i, c)
        chain = torch.einsum("nbBmic,nbIMC->nBiImMcC", site, chain).flatten(2, 3).flatten(3, 4).flatten(4, 5)
    return chain[:, 0]


def _block_operator(angles: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """The full unitary of one block (rotations, CRX chain, rotations): (N, 2**n, 2**n).

    Rows and columns are ``(m, i)``: readout bits then memory bits, little-endian each.
    Used for ``repeat_blocks > 1``, where the readout qubits do not enter later blocks in ``|0>``.
    """
    n = n_qubits
    rows = angles.shape[0]
    first, second = _layer(angles, 0, n), _layer(angles, 4 * n - 1, n)
    crx = _rx(angles[:, 3 * n : 4 * n - 1])
    # Qubit k receives RX(phi_{k-1}) exactly when qubit k-1 (after its own gates) is 1:
    # pass that value along the chain as a bond of size 2.
    chain = torch.ones(rows, 1, 1, dtype=first.dtype, device=angles.device)  # (N, bond, open)
    for k in range(n):
        local = first[:, k].unsqueeze(1)  # (N, l, o, in)
        if k > 0:
            local = torch.cat([local, torch.matmul(crx[:, k - 1], first[:, k]).unsqueeze(1)], dim=1)
        site = second[:, k].transpose(1, 2)[:, None, :, :, None] * local[:, :, :, None, :]  # (N, l, o, out, in)
        site = site.reshape(rows, site.shape[1], 2, 1, -1)
        terms = [chain[:, bond, None, :, None] * site[:, bond] for bond in range(site.shape[1])]
        chain = (terms[0] if len(terms) == 1 else terms[0] + terms[1]).reshape(rows, 2, -1)
    axes = chain.sum(dim=1).reshape(rows, *[2] * (2 * n))  # (out_k, in_k) per qubit k
    readout = [2 * j + 1 for j in reversed(range(n // 2))]
    memory = [2 * j for j in reversed(range(n // 2))]
    order = [1 + 2 * k for k in readout + memory] + [2 + 2 * k for k in readout + memory]
    return axes.permute(0, *order).reshape(rows, 2**n, 2**n)


def _kraus_rows_any(angles: torch.Tensor, n_qubits: int, repeat_blocks: int) -> torch.Tensor:
    """Row-layout Kraus operators (N, D, M, D) for any ``repeat_blocks``."""
    if repeat_blocks == 1:
        return _kraus_rows(angles, n_qubits)
    dim = 2 ** (n_qubits // 2)
    step = torch.linalg.matrix_power(_block_operator(angles, n_qubits), repeat_blocks)
    return step[:, :, :dim].reshape(-1, dim, dim, dim).transpose(1, 2)


def _recursion(
    by_row: torch.Tensor, rho: torch.Tensor, between: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run steps with row-layout Kraus operators (B, T, D, M, D) from state ``rho`` (B, D, D).

    Each step is two matrix products, ``W = K rho`` with rows ``(i, m)`` and then
    ``rho' = sum_m K_m W_m^dag`` (``rho`` is Hermitian) with ``K`` and ``W`` read as ``(i, (m, j))``; the step's
    distribution is ``p(m) = Re sum_{i,j} W[i,m,j] conj(K[i,m,j])``. Returns (B, T, M)
    and the last state. ``between``: a channel applied to the state after every step (device noise).
    """
    batch, steps, dim, m_out, _ = by_row.shape
    tall = by_row.reshape(batch, steps, dim * m_out, dim).unbind(1)
    wide = by_row.reshape(batch, steps, dim, m_out * dim).unbind(1)
    kraus = torch.view_as_real(by_row).unbind(1)
    probs = []
    for t in range(steps):
        w = torch.bmm(tall[t], rho)
        probs.append((torch.view_as_real(w).view_as(kraus[t]) * kraus[t]).sum(dim=(1, 3, 4)))
        rho = torch.bmm(wide[t], w.view(batch, dim, m_out * dim).mH)
        if between is not None:
            rho = between(rho)
    return torch.stack(probs, dim=1), rho


def _initial_state(batch: int, dim: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``|0...0><0...0|`` for each of ``batch`` sequences."""
    rho = torch.zeros(batch, dim, dim, dtype=dtype, device=device)
    rho[:, 0, 0] = 1.0
    return rho


def _chunking(batch: int, steps: int) -> tuple[int, int]:
    """Sequences per group and steps per segment: about :data:`CHUNK_ROWS` (sequence, step) rows a chunk."""
    group = max(1, CHUNK_ROWS // steps)
    return group, max(1, CHUNK_ROWS // min(group, batch))


def memory_bytes(
    batch: int, steps: int, n_qubits: int, repeat_blocks: int = 1, double: bool = False, graph: bool = False
) -> int:
    """Estimated peak memory (bytes) of :func:`probabilities` on angles (batch, steps, P).

    The largest chunk's Kraus operators (or block unitaries when ``repeat_blocks > 1``)
    dominate, plus the distributions of the whole call; ``graph``: autograd keeps every
    row's operators for the backward pass (see the ``*_COPIES`` factors). Python integers
    throughout, so even a hopeless size (100 qubits) is estimated without allocating anything.
    """
    n = check_n_qubits(n_qubits)
    dim = 2 ** (n // 2)
    complex_bytes = 16 if double else 8
    group, segment = _chunking(batch, steps)
    row = dim**3 if repeat_blocks == 1 else 4**n
    chunk = min(group, batch) * min(segment, steps) * (KRAUS_COPIES if repeat_blocks == 1 else BLOCK_COPIES) * row
    kept = GRAPH_COPIES * batch * steps * row if graph else 0
    return complex_bytes * (chunk + kept + batch * steps * dim)


def probabilities(angles: torch.Tensor, n_qubits: int, repeat_blocks: int = 1) -> torch.Tensor:
    """Exact per-step readout distributions: angles (B, T, P) -> (B, T, 2**(n/2)).

    Sequences are processed in groups and long sequences in segments (the state is
    carried across segments), each about :data:`CHUNK_ROWS` rows of Kraus operators.
    """
    n = check_n_qubits(n_qubits)
    batch, steps, n_angles = angles.shape
    dim = 2 ** (n // 2)
    group, segment = _chunking(batch, steps)
    out = []
    for part in angles.split(group):
        rho = _initial_state(part.shape[0], dim, _complex_dtype(angles), angles.device)
        pieces = []
        for piece in part.split(segment, dim=1):
            rows = _kraus_rows_any(piece.reshape(-1, n_angles), n, repeat_blocks)
            probs, rho = _recursion(rows.reshape(*piece.shape[:2], dim, dim, dim), rho)
            pieces.append(probs)
        out.append(torch.cat(pieces, dim=1))
    return torch.cat(out)
