"""Device noise: the noise model, the fast torch channels against Aer's density matrix, and the plumbing."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pytest
import torch

from qrnn_core import torch_simulator
from qrnn_core.aer_simulator import aer_probabilities
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.noise import NoiseModel, aer_noisy_probabilities, noisy_probabilities, resolve_noise
from qrnn_core.simulate import simulate
from qrnn_core.training import TrainConfig, build_parser

STEPS = 20
# Fast (every initial bit string, no CRX error) against the reference: equal up to rounding.
EXACT_TOL = 1e-10
# Largest per-step difference the lumped channels may make at these (device-like, 2-3x Marrakesh) rates;
# measured: about 1e-3 (CRX lumping) and 3e-3 (initial flips lumped into outcome flips).
LUMPED_TOL = 1e-2


def angles(n_qubits: int, batch: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, (batch, STEPS, 7 * n_qubits - 1))


def device_like(n_qubits: int, crx: float = 0.01) -> NoiseModel:
    return NoiseModel.by_hand(
        n_qubits, readout=0.02, reset=0.02, t1=100e-6, t2=60e-6, step_duration=6e-6, layer=0.004, crx=crx
    )


@pytest.mark.parametrize("n_qubits", [4, 6])
def test_zero_rates_reproduce_the_noiseless_simulators(n_qubits):
    a = angles(n_qubits)
    clean = torch_simulator.probabilities(torch.tensor(a), n_qubits).numpy()
    zero = NoiseModel.zero(n_qubits)
    for max_flips in (0, 1, n_qubits // 2):
        fast = noisy_probabilities(torch.tensor(a), zero, max_flips=max_flips).numpy()
        assert np.abs(fast - clean).max() < 1e-12
    assert np.abs(aer_noisy_probabilities(a, zero) - aer_probabilities(a, n_qubits, shots=None)).max() < 1e-12
    assert np.abs(noisy_probabilities(torch.tensor(a), device_like(n_qubits).scaled(0)).numpy() - clean).max() < 1e-12


@pytest.mark.parametrize("n_qubits", [4, 6])
def test_fast_equals_reference_where_every_channel_is_placed_exactly(n_qubits):
    a = angles(n_qubits, seed=1)
    noise = device_like(n_qubits, crx=0.0)
    reference = aer_noisy_probabilities(a, noise)
    fast = noisy_probabilities(torch.tensor(a), noise, max_flips=n_qubits // 2).numpy()
    assert np.abs(fast - reference).max() < EXACT_TOL
    assert np.abs(reference - torch_simulator.probabilities(torch.tensor(a), n_qubits).numpy()).max() > 1e-3


@pytest.mark.parametrize("n_qubits", [4, 6])
def test_lumped_channels_stay_close_to_the_reference(n_qubits):
    a = angles(n_qubits, seed=2)
    noise = device_like(n_qubits)
    reference = aer_noisy_probabilities(a, noise)
    for max_flips in (0, n_qubits // 2):
        fast = noisy_probabilities(torch.tensor(a), noise, max_flips=max_flips).numpy()
        assert np.abs(fast - reference).max() < LUMPED_TOL
        assert np.allclose(fast.sum(-1), 1.0)


def test_exact_gradient_through_the_noisy_channels():
    a = torch.tensor(angles(4, batch=1)[:, :6], requires_grad=True)
    noise = device_like(4)
    weights = torch.linspace(-1, 1, 4, dtype=torch.float64)
    loss = (noisy_probabilities(a, noise) * weights).sum()
    (grad,) = torch.autograd.grad(loss, a)
    h = 1e-6
    for index in [(0, 0, 3), (0, 2, 13), (0, 5, 20)]:
        shifted = [a.detach().clone() for _ in range(2)]
        shifted[0][index] += h
        shifted[1][index] -= h
        f = [float((noisy_probabilities(s, noise) * weights).sum()) for s in shifted]
        assert grad[index].item() == pytest.approx((f[0] - f[1]) / (2 * h), abs=1e-7)


def test_model_trains_through_the_noise_and_records_it():
    noise = device_like(4)
    config = QRNNConfig(n_qubits=4, method="exact", precision="double", noise=noise)
    model = QRNN(config, seed=0)
    out = model(torch.rand(2, 5, 1, dtype=torch.float64))
    out.sum().backward()
    assert model.input_layer.weight.grad is not None
    assert list(config.to_dict()["noise"]["readout_error"][0]) == [0.02, 0.02]
    assert "noise" not in QRNNConfig(n_qubits=4).to_dict()
    with pytest.raises(ValueError, match="does not model noise"):
        QRNNConfig(n_qubits=4, backend="aer", noise=noise)
    with pytest.raises(ValueError, match="noise model is for 4 qubits"):
        simulate(angles(6), noise=noise)


def test_noise_model_checks_scaling_and_round_trip():
    noise = device_like(4)
    assert NoiseModel.from_dict(noise.to_dict()) == noise
    assert NoiseModel.from_dict(NoiseModel.zero(4).to_dict()) == NoiseModel.zero(4)
    double = noise.scaled(2)
    assert double.readout_matrices()[0][1, 0] == pytest.approx(0.04)
    assert double.relaxation()[0][0] == pytest.approx(-math.expm1(-12e-6 / 100e-6))
    assert resolve_noise(noise.to_dict(), 4, 0.5).scale == 0.5
    with pytest.raises(ValueError, match="t2 must be at most 2"):
        NoiseModel.by_hand(4, t1=10e-6, t2=30e-6)
    with pytest.raises(ValueError, match="readout_error"):
        NoiseModel.by_hand(4, readout=0.7)


def test_train_config_carries_noise_only_when_set():
    assert "noise" not in TrainConfig().to_dict() and "noise_scale" not in TrainConfig().to_dict()
    args = build_parser().parse_args(["--noise", "none", "--noise-scale", "1"])
    assert args.noise is None and args.noise_scale == 1.0
    with pytest.raises(ValueError, match="noise_scale"):
        TrainConfig(noise_scale=0.5)


@pytest.mark.skipif(importlib.util.find_spec("qiskit_ibm_runtime") is None, reason="needs qiskit-ibm-runtime")
def test_marrakesh_snapshot():
    noise = resolve_noise("fake_marrakesh", 8)
    assert noise.source == "fake_marrakesh" and len(set(noise.layout)) == 8
    assert 5e-6 < noise.step_duration < 10e-6  # measure 2.6 us + reset 2.7 us + gates
    assert all(50e-6 < t < 1e-3 for t in noise.t1)
    assert resolve_noise("fake_marrakesh", 8, 2.0).scale == 2.0
    with pytest.raises(ValueError, match="unknown snapshot"):
        resolve_noise("fake_nowhere", 8)


@pytest.mark.skipif(importlib.util.find_spec("qiskit_ibm_runtime") is None, reason="needs qiskit-ibm-runtime")
def test_device_time_budget_is_sequences_evaluations_shots_and_duration():
    from qrnn_study.chapters import device_noise

    noise, backend = device_noise.snapshot_noise("fake_marrakesh", 8)
    budget = device_noise.time_budget_table(noise, backend).set_index("quantity")["value"]
    step = noise.step_duration
    spsa = (1384 * 5 * 1024 * 20 * step + 1024 * 2969 * step) / 3600
    fdsa = (1384 * 221 * 1024 * 20 * step + 1024 * 2969 * step) / 3600
    assert budget["SPSA epoch on the device, circuit time"] == pytest.approx(spsa)
    assert budget["FDSA epoch on the device, circuit time"] == pytest.approx(fdsa)
    assert budget["one step"] == pytest.approx(step * 1e6)
    assert budget["one step"] > budget["  of which measurement"] + budget["  of which reset"]


def test_parameter_shift_equals_autograd_under_noise():
    # The channels do not depend on the angles, so the shift rule stays exact under noise.
    x = torch.rand(2, 5, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    grads = {}
    for method in ("exact", "param-shift"):
        model = QRNN(QRNNConfig(n_qubits=4, method=method, precision="double", noise=device_like(4)), seed=0)
        model(x).pow(2).sum().backward()
        grads[method] = model.input_layer.weight.grad
    assert torch.allclose(grads["exact"], grads["param-shift"], atol=1e-10, rtol=0)


def test_noise_from_a_json_file_through_the_registry(tmp_path):
    noise = device_like(4)
    path = tmp_path / "noise.json"
    path.write_text(json.dumps(noise.to_dict()))
    assert resolve_noise(str(path), 4) == noise
    a = angles(4, batch=2)[:, :5]
    fast = simulate(a, "torch", noise=noise).numpy()
    reference = simulate(a, "aer-exact", noise=noise).numpy()
    assert np.abs(fast - noisy_probabilities(torch.tensor(a), noise).numpy()).max() == 0
    assert np.abs(fast - reference).max() < LUMPED_TOL
    with pytest.raises(ValueError, match="does not model noise"):
        simulate(a, "aer", noise=noise)
