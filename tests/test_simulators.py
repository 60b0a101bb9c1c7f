"""The circuit and the three simulators: physics, agreement, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import qrnn_core
from qrnn_core import aer_simulator, angles_per_step, build_circuit, simulate
from qrnn_core.backends import cuda_available
from qrnn_core.circuit import final_readout_rz_angles, readout_qubits


def random_angles(n_qubits: int, steps: int, batch: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, (batch, steps, angles_per_step(n_qubits)))


def test_angles_per_step():
    assert angles_per_step(8) == 55
    assert [angles_per_step(n) for n in (2, 4, 6)] == [13, 27, 41]


def test_circuit_structure():
    qc = build_circuit(8, steps=3)
    ops = qc.count_ops()
    assert ops["rz"] == 3 * 32 and ops["rx"] == 3 * 16 and ops["crx"] == 3 * 7
    assert ops["measure"] == 3 * 4 and ops["reset"] == 3 * 4
    assert qc.num_parameters == 3 * 55
    assert [len(c) for c in qc.cregs] == [4, 4, 4]
    measured = [qc.find_bit(i.qubits[0]).index for i in qc.data if i.operation.name == "measure"]
    assert measured == readout_qubits(8) * 3
    assert build_circuit(8, steps=1, repeat_blocks=2).count_ops()["crx"] == 14


@pytest.mark.parametrize("n_qubits", [2, 4, 8])
@pytest.mark.parametrize("repeat_blocks", [1, 2])
def test_torch_matches_aer_exact(n_qubits, repeat_blocks):
    steps = 20 if n_qubits == 8 else 12
    angles = random_angles(n_qubits, steps, seed=n_qubits + repeat_blocks)
    exact = simulate(angles, "aer-exact", repeat_blocks=repeat_blocks)
    fast = simulate(torch.tensor(angles), "torch", repeat_blocks=repeat_blocks, precision="double")
    assert fast.shape == (2, steps, 2 ** (n_qubits // 2))
    assert torch.max(torch.abs(fast - exact)).item() <= 1e-10
    assert torch.allclose(fast.sum(-1), torch.ones(2, steps, dtype=torch.float64), atol=1e-12)


def test_single_precision_is_close():
    angles = random_angles(8, 20)
    single = simulate(torch.tensor(angles, dtype=torch.float32), "torch")
    assert single.dtype == torch.float32
    assert torch.max(torch.abs(single.double() - simulate(angles, "torch"))).item() < 1e-5


def test_aer_shots_agree_with_exact_within_sampling_error():
    """Chi-square goodness of fit of Aer's mid-circuit-measured counts per step."""
    shots = 4000
    angles = random_angles(4, 6, batch=2, seed=11)
    exact = simulate(angles, "torch").numpy()
    freq = simulate(angles, "aer", shots=shots, seed=5).numpy()
    assert np.allclose(freq.sum(-1), 1.0)
    counts = np.rint(freq * shots)
    assert np.allclose(counts / shots, freq)
    expected = exact * shots
    chi2 = ((counts - expected) ** 2 / expected).sum()
    dof = exact.shape[0] * exact.shape[1] * (exact.shape[2] - 1)
    assert stats.chi2.sf(chi2, dof) > 1e-3
    # With these shots, no frequency is more than 5 standard errors off.
    se = np.sqrt(exact * (1 - exact) / shots) + 1e-12
    assert np.max(np.abs(freq - exact) / se) < 5


def test_torch_shots_are_seeded_frequencies():
    angles = random_angles(8, 5)
    a = simulate(angles, "torch", shots=1024, seed=3)
    b = simulate(angles, "torch", shots=1024, seed=3)
    c = simulate(angles, "torch", shots=1024, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(a.sum(-1), torch.ones_like(a.sum(-1)))
    assert torch.allclose(a * 1024, torch.round(a * 1024))


def test_aer_is_seeded():
    angles = random_angles(2, 4)
    assert torch.equal(simulate(angles, "aer", shots=256, seed=1), simulate(angles, "aer", shots=256, seed=1))


def test_aer_runs_on_one_openmp_thread():
    # Aer's OpenMP threads would slow a multi-threaded torch down for the rest of the process (issue 21).
    simulator = aer_simulator._simulator("automatic", "CPU")  # the simulator aer_probabilities runs on
    assert simulator.options.max_parallel_threads == 1
    circuit = build_circuit(2, 2)
    result = simulator.run(circuit.assign_parameters(np.zeros(circuit.num_parameters)), shots=64).result()
    assert result.metadata["parallel_experiments"] == 1 and result.results[0].metadata["parallel_shots"] == 1


@pytest.mark.parametrize("backend", ["torch", "aer-exact"])
def test_final_readout_rz_has_no_effect(backend):
    angles = random_angles(8, 6)
    changed = angles.copy()
    changed[..., final_readout_rz_angles(8)] += np.random.default_rng(1).uniform(-3, 3, (2, 6, 4))
    assert torch.max(torch.abs(simulate(angles, backend) - simulate(changed, backend))).item() < 1e-12


def test_torch_simulator_is_differentiable():
    angles = torch.tensor(random_angles(4, 5), requires_grad=True)
    (simulate(angles, "torch") * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    assert angles.grad is not None and torch.isfinite(angles.grad).all() and angles.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_qubits": 7}, ValueError, "n_qubits"),
        ({"backend": "qpu"}, ValueError, "unknown backend 'qpu'"),
        ({"shots": 0}, ValueError, "shots"),
        ({"shots": -5, "backend": "aer"}, ValueError, "-5"),
        ({"repeat_blocks": 0}, ValueError, "repeat_blocks"),
        ({"backend": "aer-exact", "shots": 100}, ValueError, "aer-exact"),
        ({"precision": "half"}, ValueError, "half"),
        ({"device": "tpu"}, ValueError, "tpu"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        simulate(random_angles(8, 2), **kwargs)


def test_bad_angles_raise_clear_errors():
    with pytest.raises(ValueError, match=r"shape \(B, T, P\)"):
        simulate(np.zeros((3, 55)))
    with pytest.raises(ValueError, match="54 angles per step"):
        simulate(np.zeros((1, 3, 54)))
    with pytest.raises(ValueError, match="n_qubits=4 needs P=27"):
        simulate(np.zeros((1, 3, 55)), n_qubits=4)
    bad = random_angles(8, 3)
    bad[0, 1, 7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        simulate(bad)
    for n in (1, 3, 0, -2):
        with pytest.raises(ValueError, match=f"got {n}"):
            build_circuit(n, steps=2)


@pytest.mark.skipif(cuda_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        simulate(random_angles(8, 2), device="cuda")
    with pytest.raises(RuntimeError, match="GPU"):
        simulate(random_angles(8, 2), backend="aer", device="gpu")


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():
    angles = torch.tensor(random_angles(8, 20, batch=4))
    gpu = simulate(angles, device="cuda", precision="double")
    assert gpu.device.type == "cuda"
    assert torch.max(torch.abs(gpu.cpu() - simulate(angles, precision="double"))).item() < 1e-10


def test_package_exports():
    assert qrnn_core.backend_names() == ("torch", "aer", "aer-exact")
