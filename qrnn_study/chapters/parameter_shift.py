"""The parameter-shift chapter: the shift rules against autograd, and each estimator's cost per update."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from qrnn_core.circuit import angles_per_step, final_readout_rz_angles, step_gates
from qrnn_core.estimators import (
    ParameterShift,
)
from qrnn_core.simulate import simulate

from .gradient_quality import EstimatorSetting

CHAPTER = "parameter_shift"


@dataclass(frozen=True)
class Outputs:
    """The tables the parameter-shift chapter writes."""

    shift_rule_check: str = "shift_rule_check.csv"
    evaluations: str = "evaluations_per_update.csv"


OUTPUTS = Outputs()


def angle_level_shift_check(angles: torch.Tensor, g: torch.Tensor, n_qubits: int) -> pd.DataFrame:
    """Compare gate-wise shift rules with autograd for every angle of one sequence, per gate type.

    ``angles`` (T, P) and a cotangent ``g`` (T, M): the derivative of ``sum g * p(angles)``
    with respect to every angle. The shift rules run through :class:`ParameterShift` with
    one-hot step features (input weight = the angles, bias 0), so its weight gradient is
    the angle gradient. Returns one row per gate kind (and one for the final readout RZ
    angles): angles compared, largest |autograd derivative|, largest |difference|.
    """
    angles = angles.detach().to(torch.float64)
    steps = angles.shape[0]
    leaf = angles.clone().requires_grad_(True)
    probs = simulate(leaf[None], "torch", n_qubits=n_qubits)[0]
    (auto,) = torch.autograd.grad((probs * g).sum(), leaf)
    features = torch.eye(steps, dtype=torch.float64)[None]
    weight, bias = angles.T.contiguous(), torch.zeros(angles.shape[1], dtype=torch.float64)
    plan = ParameterShift(n_qubits).plan(weight, bias, features, torch.Generator())
    points = simulate(plan.angles.flatten(0, 1), "torch", n_qubits=n_qubits).unflatten(0, plan.angles.shape[:2])
    shifted = plan.combine(points, g[None].to(points))[0].T  # (T, P)
    groups: dict[str, list[int]] = {}
    for gate in step_gates(n_qubits):
        groups.setdefault(gate.kind.upper(), []).append(gate.angle)
    groups["final readout RZ (zero by construction)"] = final_readout_rz_angles(n_qubits)
    rows = []
    for kind, index in groups.items():
        a, s = auto[:, index], shifted[:, index]
        rows.append(
            {
                "gate": kind,
                "angles compared": a.numel(),
                "max |autograd|": float(a.abs().max()),
                "max |shift rule|": float(s.abs().max()),
                "max |difference|": float((a - s).abs().max()),
            }
        )
    return pd.DataFrame(rows).set_index("gate")


def evaluation_counts(n_qubits: int, seq_len: int, methods: list[EstimatorSetting]) -> pd.DataFrame:
    """Sequence evaluations per update (plan points + the forward) for one sequence of ``seq_len`` steps."""
    n_angles = angles_per_step(n_qubits)
    weight, bias = torch.zeros(n_angles, 1), torch.zeros(n_angles)
    features = torch.zeros(1, seq_len, 1)
    rows = []
    for setting in methods:
        plan = setting.estimator(n_qubits).plan(weight, bias, features, torch.Generator().manual_seed(0))
        rows.append({"estimator": setting.label, "sequence evaluations per update": plan.evaluations + 1})
    return pd.DataFrame(rows).set_index("estimator")
