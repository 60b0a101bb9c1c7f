"""The methods chapter: the circuit diagram."""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.figure import Figure

from qrnn_core.circuit import build_circuit

CHAPTER = "methods"


@dataclass(frozen=True)
class Outputs:
    """The methods chapter writes no file."""

    pass


OUTPUTS = Outputs()


def circuit_diagram(n_qubits: int = 8, steps: int = 2) -> Figure:
    """The QRNN circuit over ``steps`` time steps, drawn by Qiskit."""
    return build_circuit(n_qubits, steps).draw("mpl", fold=-1)
