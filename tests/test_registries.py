"""The extension points: a backend and a data source added by registration alone work end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qrnn_core import backends, data
from qrnn_core.backends import BackendSpec, SimulationJob, backend_names, register, run_torch, unregister
from qrnn_core.data import DataSource, LorenzConfig, load_lorenz, register_source
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.simulate import simulate
from qrnn_core.training import TrainConfig, train
from qrnn_study import timing


def _uniform(job: SimulationJob) -> torch.Tensor:
    """A toy backend that is not differentiable: every outcome equally likely."""
    batch, steps, _ = job.angles.shape
    return torch.full((batch, steps, 2 ** (job.n_qubits // 2)), 2.0 ** -(job.n_qubits // 2), dtype=torch.float64)


@pytest.fixture
def toy_backends():
    register(BackendSpec("torch-copy", "torch (a copy)", run_torch, True, True, True, ("cpu", "cuda")))
    register(BackendSpec("uniform", "uniform", _uniform, exact=True, shots=False, differentiable=False))
    yield
    unregister("torch-copy")
    unregister("uniform")


def test_a_registered_backend_runs_through_simulate_and_the_model(toy_backends):
    angles = torch.rand(2, 3, 27, dtype=torch.float64)
    assert torch.equal(simulate(angles, "torch-copy"), simulate(angles, "torch"))
    assert torch.equal(simulate(angles, "torch-copy", shots=50, seed=1), simulate(angles, "torch", shots=50, seed=1))
    features = torch.rand(2, 5, 1)
    copy = QRNN(QRNNConfig(n_qubits=4, backend="torch-copy", method="exact"), seed=3)
    original = QRNN(QRNNConfig(n_qubits=4, backend="torch", method="exact"), seed=3)
    assert torch.equal(copy(features), original(features))
    uniform = QRNN(QRNNConfig(n_qubits=4, backend="uniform", method="spsa"), seed=3)
    out = uniform.quantum_layer(features)
    assert out.shape == (2, 5, 4) and torch.allclose(out, torch.full_like(out, 0.25))


def test_capabilities_are_checked(toy_backends):
    with pytest.raises(ValueError, match="differentiable backend"):
        QRNNConfig(n_qubits=4, backend="uniform", method="exact")
    with pytest.raises(ValueError, match="backend 'uniform' computes exact distributions"):
        simulate(np.zeros((1, 2, 27)), "uniform", shots=10)
    with pytest.raises(ValueError, match="unknown backend 'qpu'; allowed: torch, aer, aer-exact, torch-copy"):
        simulate(np.zeros((1, 2, 27)), "qpu")
    with pytest.raises(ValueError, match="already registered"):
        register(BackendSpec("uniform", "again", _uniform, True, False, False))
    with pytest.raises(ValueError, match="needs shots=True and default_shots"):
        BackendSpec("noisy", "noisy", _uniform, exact=False, shots=True, differentiable=False)


def test_the_benchmark_and_the_pipeline_read_the_registry(toy_backends):
    paths = timing.execution_paths()
    assert paths["torch-copy-shots"] == ("torch-copy", timing.SHOTS, "cpu") and "uniform" in paths
    assert "uniform-shots" not in paths and "uniform-cuda" not in paths
    assert timing.path_for("torch-copy", 5, "cpu") == "torch-copy-shots"
    assert timing.method_applies("uniform", "exact").startswith("not applicable")
    assert "torch-copy" in backend_names() and backends.backend_spec("uniform").label == "uniform"


def rossler(config: LorenzConfig) -> np.ndarray:
    """A Rössler trajectory (a = b = 0.2, c = 5.7), Euler steps of ``dt``: input x, targets y and z."""
    rng = np.random.default_rng(config.data_seed)
    state = np.array([1.0, 1.0, 0.0]) + rng.uniform(-0.1, 0.1, 3)
    out = np.empty((config.transient + config.n_points, 3))
    for k in range(out.shape[0]):
        out[k] = state
        x, y, z = state
        state = state + config.dt * np.array([-y - z, x + 0.2 * y, 0.2 + z * (x - 5.7)])
    return out[config.transient :]


def test_a_registered_data_source_loads_and_caches(tmp_path):
    register_source(DataSource("rossler", "Rössler", rossler))
    try:
        config = LorenzConfig(n_points=300, system="rossler")
        first = load_lorenz(config, cache_dir=tmp_path)
        assert [p.name for p in tmp_path.iterdir()] == [f"rossler_{config.key()}.npz"]
        again = load_lorenz(config, cache_dir=tmp_path)
        assert np.array_equal(first.train_inputs, again.train_inputs) and first.series.shape == (300, 3)
        assert first.series.min() == 0.0 and first.series.max() == 1.0
        assert config.source() == "Rössler, data seed 1920"
        assert config.key() != LorenzConfig(n_points=300).key()
    finally:
        del data.SOURCES["rossler"]
    with pytest.raises(ValueError, match="unknown data source 'rossler'; allowed: lorenz, file"):
        LorenzConfig(system="rossler")


def test_a_run_trains_on_a_registered_source(tmp_path):
    register_source(DataSource("rossler", "Rössler", rossler))
    try:
        config = TrainConfig(n_qubits=2, seq_len=6, washout=1, n_train=2, val_length=8, epochs=1, system="rossler")
        config.cache_dir = str(tmp_path / "cache")
        result = train(config, tmp_path / "run", progress=False, log=None)
        assert result["status"] == "complete" and result["config"]["system"] == "rossler"
        assert result["provenance"]["data"] == {"source": "Rössler, data seed 1920", "sha256": None}
    finally:
        del data.SOURCES["rossler"]
    assert "system" not in TrainConfig().to_dict()  # runs on the default series record what they recorded before


def test_the_default_source_keeps_its_cache_key():
    """Caches written before the registry stay valid: ``system`` is left out of the key while unset."""
    config = LorenzConfig()
    assert "system" not in config.identity() and config.source_name == "lorenz"
    assert LorenzConfig(system="lorenz").key() == config.key()
