"""QRNN execution on Qiskit Aer: shots with real mid-circuit measurement, or exact.

``"aer"`` runs the measured circuit of :func:`qrnn_core.circuit.build_circuit` and
turns its joint counts into per-step frequencies. ``"aer-exact"`` replaces every
measurement by ``save_probabilities`` (followed by the same reset) under the
density-matrix method. Either way the circuit is transpiled once per shape and all
parameter sets run in a single Aer call, on one OpenMP thread (:data:`THREAD_CAP`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit_aer import AerSimulator

from .circuit import angles_per_step, build_circuit, circuit_parameters, readout_qubits

BASIS_GATES = ["rz", "rx", "ry", "cx", "measure", "reset"]
# Every Aer run of this package uses one OpenMP thread. Loaded after torch, Aer runs its OpenMP code on
# torch's libgomp, and its threads live on in Aer's job thread; libgomp then manages more threads than
# there are cores and stops spinning at torch's barriers, which made a multi-threaded torch simulator
# about 3x slower for the rest of the process (issue 21). `make bench` checks this and times Aer both ways.
THREAD_CAP = {"max_parallel_threads": 1}


def gpu_available() -> bool:
    """Whether this Qiskit Aer build can run on a GPU (``qiskit-aer-gpu``)."""
    return "GPU" in AerSimulator().available_devices()


def new_simulator(capped: bool = True, **options) -> AerSimulator:
    """An ``AerSimulator`` with ``options``, on one OpenMP thread (:data:`THREAD_CAP`) unless ``capped`` is False.

    Args:
        capped: limit Aer to one thread, so that it leaves a multi-threaded torch at its speed.
        **options: further ``AerSimulator`` options (``method``, ``device``, ...).

    Returns:
        The simulator.
    """
    return AerSimulator(**(THREAD_CAP if capped else {}), **options)


@lru_cache(maxsize=8)
def _simulator(method: str, device: str) -> AerSimulator:
    return new_simulator(method=method, device=device)


def _exact_circuit(measured: QuantumCircuit, n_qubits: int) -> QuantumCircuit:
    """The QRNN circuit with each step's measurement replaced by ``save_probabilities``."""
    qc = QuantumCircuit(*measured.qregs, name=measured.name + "_exact")
    readout = [qc.qubits[q] for q in readout_qubits(n_qubits)]
    step = 0
    for inst in measured.data:
        name = inst.operation.name
        if name == "measure":
            continue
        if name == "reset" and inst.qubits[0] == readout[0]:
            qc.save_probabilities(readout, label=f"p{step}")
            step += 1
        qc.append(inst.operation, inst.qubits)
    return qc


@lru_cache(maxsize=32)
def _transpiled(n_qubits: int, steps: int, repeat_blocks: int, exact: bool, device: str) -> tuple:
    """Transpile one circuit shape once; return it with its parameters in (step, angle) order."""
    # Aer ignores the bound angle of a parameterized CRX (and RXX) under ``parameter_binds``
    # with the statevector method, so every circuit is lowered to RZ/RX/RY/CX first.
    compiled = transpile(build_circuit(n_qubits, steps, repeat_blocks), basis_gates=BASIS_GATES, optimization_level=0)
    if exact:
        compiled = _exact_circuit(compiled, n_qubits)
    method = "density_matrix" if exact else "automatic"
    return compiled, circuit_parameters(compiled, steps, n_qubits), method


def _step_frequencies(counts: dict[str, int], steps: int, outcomes: int, shots: int) -> np.ndarray:
    """Per-step outcome frequencies from joint counts (registers ``c{T-1} ... c0``)."""
    freq = np.zeros((steps, outcomes))
    for key, hits in counts.items():
        for t, bits in enumerate(reversed(key.split())):
            freq[t, int(bits, 2)] += hits
    return freq / shots


def aer_probabilities(
    angles: np.ndarray,
    n_qubits: int,
    repeat_blocks: int = 1,
    shots: int | None = 1024,
    seed: int | None = None,
    device: str = "CPU",
) -> np.ndarray:
    """Per-step readout distributions (B, T, 2**(n/2)) from Qiskit Aer, one call for all B.

    ``shots=None`` gives exact distributions (density matrix + ``save_probabilities``);
    an integer runs the measured circuit with that many shots.
    """
    batch, steps, n_angles = angles.shape
    assert n_angles == angles_per_step(n_qubits)
    exact = shots is None
    compiled, params, method = _transpiled(n_qubits, steps, repeat_blocks, exact, device)
    values = angles.reshape(batch, steps * n_angles)
    binds = [{p: values[:, j].tolist() for j, p in enumerate(params)}]
    options = {} if exact else {"shots": shots}
    if seed is not None:
        options["seed_simulator"] = int(seed)
    result = _simulator(method, device).run([compiled], parameter_binds=binds, **options).result()
    if not result.success:
        raise RuntimeError(f"Qiskit Aer run failed: {result.status}")
    outcomes = 2 ** (n_qubits // 2)
    out = np.empty((batch, steps, outcomes))
    for b in range(batch):
        if shots is None:
            data = result.data(b)
            out[b] = [data[f"p{t}"] for t in range(steps)]
        else:
            out[b] = _step_frequencies(result.get_counts(b), steps, outcomes, shots)
    return out
