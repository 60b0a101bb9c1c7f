"""Gradient estimators against autograd on the exact float64 simulator, their costs and backends."""

from __future__ import annotations

import pytest
import torch

from qrnn_core.circuit import final_readout_rz_angles
from qrnn_core.model import QRNN, QRNNConfig


def vjp(method: str, n_qubits: int = 4, steps: int = 6, batch: int = 2, **kwargs) -> tuple[torch.Tensor, QRNN]:
    """Estimated d/dtheta sum(g * p) for the input layer (weight rows then bias), and the model."""
    model = QRNN(QRNNConfig(n_qubits=n_qubits, method=method, precision="double", **kwargs), seed=3)
    gen = torch.Generator().manual_seed(5)
    features = torch.rand(batch, steps, 1, generator=gen, dtype=torch.float64)
    g = torch.randn(batch, steps, model.config.n_outcomes, generator=gen, dtype=torch.float64)
    probs = model.quantum_layer(features)
    (probs * g.to(probs)).sum().backward()
    grad = torch.cat([model.input_layer.weight.grad.flatten(), model.input_layer.bias.grad])
    return grad.to(torch.float64), model


def relative_error(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    return float((estimate - reference).norm() / reference.norm())


@pytest.fixture(scope="module")
def exact4() -> torch.Tensor:
    return vjp("exact")[0]


def test_fdsa_matches_exact(exact4):
    assert relative_error(vjp("fdsa", epsilon=1e-4)[0], exact4) < 1e-3


def test_param_shift_matches_exact(exact4):
    assert relative_error(vjp("param-shift")[0], exact4) < 1e-4


def test_param_shift_matches_exact_8_qubits():
    reference = vjp("exact", n_qubits=8, steps=3, batch=1)[0]
    assert relative_error(vjp("param-shift", n_qubits=8, steps=3, batch=1)[0], reference) < 1e-4


def test_spsa_mean_converges_to_exact(exact4):
    estimate = vjp("spsa", spsa_samples=2000)[0]
    cosine = torch.nn.functional.cosine_similarity(estimate, exact4, dim=0)
    assert cosine > 0.95
    assert 0.8 < estimate.norm() / exact4.norm() < 1.25


@pytest.mark.parametrize("method", ["exact", "param-shift"])
def test_final_readout_rz_gets_zero_gradient(method):
    n_qubits = 4
    grad, model = vjp(method, n_qubits=n_qubits)
    n_angles = model.config.n_angles
    bias_grad = grad[n_angles:]  # d/d(bias_j) = sum over steps of d/d(angle_j)
    dead = final_readout_rz_angles(n_qubits)
    live = [j for j in range(n_angles) if j not in dead]
    assert bias_grad[dead].abs().max() < 1e-12
    assert grad[:n_angles][dead].abs().max() < 1e-12  # the weight rows of those angles too
    assert bias_grad[live].abs().max() > 1e-3


@pytest.mark.parametrize(
    "method, expected",
    [("spsa", 2 * 3 + 1), ("fdsa", 2 * 110 + 1), ("param-shift", 2 * (2 * 48 + 4 * 7) + 1), ("exact", 1)],
)
def test_evaluation_counts_8_qubits(method, expected):
    _, model = vjp(method, n_qubits=8, steps=2, batch=1, spsa_samples=3)
    assert model.circuit_evaluations == expected


@pytest.mark.parametrize("method", ["spsa", "fdsa", "param-shift"])
@pytest.mark.parametrize("backend, shots", [("torch", 4096), ("aer", 256)])
def test_estimators_with_shot_backends(method, backend, shots):
    grad, model = vjp(method, n_qubits=2, steps=3, batch=1, backend=backend, shots=shots)
    assert grad.shape == (2 * model.config.n_angles,)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert model.circuit_evaluations > 1


def test_shot_noise_estimate_tracks_exact():
    reference = vjp("exact", n_qubits=2, steps=3, batch=1)[0]
    estimate = vjp("param-shift", n_qubits=2, steps=3, batch=1, shots=200_000)[0]
    assert torch.nn.functional.cosine_similarity(estimate, reference, dim=0) > 0.95


@pytest.mark.parametrize("backend, shots", [("aer", None), ("aer-exact", None), ("torch", 1024)])
def test_exact_needs_shot_free_torch(backend, shots):
    with pytest.raises(ValueError, match="exact.*torch"):
        QRNNConfig(n_qubits=2, method="exact", backend=backend, shots=shots)
