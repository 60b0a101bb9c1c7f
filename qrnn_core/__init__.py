"""qrnn-study: a reproducible study of training quantum recurrent neural networks."""

from .circuit import angles_per_step, build_circuit
from .simulate import BACKENDS, simulate

__all__ = ["BACKENDS", "angles_per_step", "build_circuit", "simulate"]
__version__ = "0.1.0"
