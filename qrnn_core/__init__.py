"""qrnn-study: a reproducible study of training quantum recurrent neural networks."""

from .backends import backend_names
from .circuit import angles_per_step, build_circuit
from .simulate import simulate

__all__ = ["angles_per_step", "backend_names", "build_circuit", "simulate"]
__version__ = "0.1.0"
