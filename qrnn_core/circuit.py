"""The QRNN circuit of the seed study: gate order, angle layout and a Qiskit builder.

One time step on ``n`` qubits (even ``n``; memory qubits are the even ones, readout
qubits the odd ones) uses ``P = 7n - 1`` angles ``a``:

1. for each qubit ``k``: ``RZ(a[3k]) RX(a[3k+1]) RZ(a[3k+2])``;
2. for ``k = 0 .. n-2``: ``CRX(a[3n+k])`` with control ``k`` and target ``k+1``;
3. the rotation layer of 1. again with angles ``a[4n-1 + 3k + j]``.

``repeat_blocks`` repeats 1-3 with the same angles. Then the readout qubits are
measured into a fresh classical register for that step and reset to ``|0>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from .checks import check_int


def check_n_qubits(n_qubits: int) -> int:
    """Return ``n_qubits`` if it is an even integer >= 2, else raise ``ValueError``."""
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 2 or n_qubits % 2:
        raise ValueError(f"n_qubits must be an even integer >= 2, got {n_qubits!r}")
    return n_qubits


def angles_per_step(n_qubits: int) -> int:
    """Number of angles one time step uses: ``6n + (n - 1)``.

    Raises:
        ValueError: ``n_qubits`` is not an even integer >= 2.

    Example:
        >>> angles_per_step(8)
        55
    """
    return 7 * check_n_qubits(n_qubits) - 1


def n_qubits_from_angles(n_angles: int) -> int:
    """Invert :func:`angles_per_step`; raise ``ValueError`` if no even ``n`` fits."""
    n, rest = divmod(n_angles + 1, 7)
    if rest or n < 2 or n % 2:
        raise ValueError(
            f"{n_angles} angles per step matches no even n_qubits >= 2 (allowed: 7n - 1 = 13, 27, 41, 55, ...)"
        )
    return n


def readout_qubits(n_qubits: int) -> list[int]:
    """The readout qubits (odd indices), measured and reset every step."""
    return list(range(1, check_n_qubits(n_qubits), 2))


@dataclass(frozen=True)
class Gate:
    """One gate of a step: its kind (``"rz"``, ``"rx"``, ``"crx"``), qubits and angle index."""

    kind: str
    qubits: tuple[int, ...]
    angle: int


def step_gates(n_qubits: int) -> list[Gate]:
    """The gates of one block of one step, in circuit order, each with its angle index."""
    n = check_n_qubits(n_qubits)
    gates: list[Gate] = []

    def rotation_layer(offset: int) -> None:
        for k in range(n):
            for j, kind in enumerate(("rz", "rx", "rz")):
                gates.append(Gate(kind, (k,), offset + 3 * k + j))

    rotation_layer(0)
    gates.extend(Gate("crx", (k, k + 1), 3 * n + k) for k in range(n - 1))
    rotation_layer(4 * n - 1)
    return gates


def crx_angles(n_qubits: int) -> list[int]:
    """Angle indices of the CRX staircase, the only gates that couple the memory to the readout qubits."""
    n = check_n_qubits(n_qubits)
    return list(range(3 * n, 4 * n - 1))


def final_readout_rz_angles(n_qubits: int) -> list[int]:
    """Angle indices of the last RZ on each readout qubit: they cannot change any outcome."""
    n = check_n_qubits(n_qubits)
    return [4 * n - 1 + 3 * k + 2 for k in readout_qubits(n)]


def build_circuit(n_qubits: int, steps: int, repeat_blocks: int = 1) -> QuantumCircuit:
    """Build the parameterized QRNN circuit with mid-circuit measurement and reset.

    Parameters are named ``a{t}`` (a ``ParameterVector`` of length ``P`` per step ``t``).
    Step ``t`` measures the readout qubits into classical register ``c{t}``: bit ``j``
    is readout qubit ``2j + 1`` (Qiskit's little-endian outcome order).

    Args:
        n_qubits: an even number of qubits (memory qubits even, readout qubits odd).
        steps: time steps.
        repeat_blocks: repetitions of the gate block per step (same angles).

    Returns:
        The circuit, with ``steps * P`` parameters.

    Raises:
        ValueError: a bad ``n_qubits``, ``steps`` or ``repeat_blocks``.

    Example:
        >>> qc = build_circuit(4, steps=2)
        >>> qc.num_qubits, len(qc.cregs), qc.num_parameters
        (4, 2, 54)
    """
    n = check_n_qubits(n_qubits)
    check_int("steps", steps, 1)
    check_int("repeat_blocks", repeat_blocks, 1)
    qreg = QuantumRegister(n, "q")
    cregs = [ClassicalRegister(n // 2, f"c{t}") for t in range(steps)]
    qc = QuantumCircuit(qreg, *cregs, name=f"qrnn_n{n}_T{steps}")
    readout = readout_qubits(n)
    gates = step_gates(n)
    for t in range(steps):
        a = ParameterVector(f"a{t}", angles_per_step(n))
        for _ in range(repeat_blocks):
            for g in gates:
                getattr(qc, g.kind)(a[g.angle], *g.qubits)
        qc.measure(readout, cregs[t])
        qc.reset(readout)
    return qc


def circuit_parameters(qc: QuantumCircuit, steps: int, n_qubits: int) -> list:
    """The circuit's parameters in (step, angle) order, for binding a flat ``T * P`` vector."""
    by_name = {p.name: p for p in qc.parameters}
    return [by_name[f"a{t}[{j}]"] for t in range(steps) for j in range(angles_per_step(n_qubits))]
