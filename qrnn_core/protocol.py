"""The paper's protocol sizes (Connerty & Stewart 2025), named once.

``TRAIN_WINDOWS`` and ``VALIDATION_STEPS`` are what :mod:`qrnn_core.data` cuts from the
default Lorenz-63 series (``tests/test_project.py`` checks that they agree).
"""

from __future__ import annotations

TRAIN_WINDOWS = 1384  # 20-step training sequences per epoch (one weight update each at batch 1)
VALIDATION_STEPS = 2969  # steps of the one validation sequence
SEQ_LEN = 20  # steps per training sequence
N_QUBITS = 8
SHOTS = 1024  # Qiskit Aer shots per circuit run
WASHOUT = 5  # first steps of each training sequence left out of the loss
LEARNING_RATE = 0.007  # Adam
