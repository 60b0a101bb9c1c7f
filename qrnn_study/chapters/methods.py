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


# Qiskit's gate and angle label sizes: larger than its defaults, so one step stays legible at the text column's width.
DIAGRAM_STYLE = {"fontsize": 16, "subfontsize": 11}


def circuit_diagram(n_qubits: int = 8, steps: int = 1) -> Figure:
    """The QRNN circuit over ``steps`` time steps, drawn by Qiskit on one row (every step repeats the first)."""
    return build_circuit(n_qubits, steps).draw("mpl", fold=-1, style=DIAGRAM_STYLE, initial_state=False)
