"""The ablation variants: a frozen input layer, the ridge readout, no recurrence, and the memory size."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qrnn_core.circuit import crx_angles
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.readout import DEFAULT_ALPHAS, fit_ridge, refit_readout, tune_ridge
from qrnn_core.simulate import simulate
from qrnn_core.training import TrainConfig, build_parser, load_run, train


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("data_cache"))


def test_frozen_input_layer_is_bit_identical_after_training(cache, tmp_path):
    config = TrainConfig(
        n_qubits=4, method="spsa", shots=None, freeze_input=True, n_train=4, val_length=20, epochs=2, cache_dir=cache
    )
    initial = QRNN(config.model_config(), seed=config.seed)
    train(config, tmp_path, progress=False, log=None)
    trained = torch.load(tmp_path / "checkpoint_last.pt", weights_only=False)["model"]
    assert torch.equal(trained["input_layer.weight"], initial.input_layer.weight)
    assert torch.equal(trained["input_layer.bias"], initial.input_layer.bias)
    assert not torch.equal(trained["output_layer.weight"], initial.output_layer.weight)  # the readout did train
    assert load_run(tmp_path).result["config"]["freeze_input"] is True
    assert config.model_config().trained_parameters == (4 + 1) * 2


def test_default_config_records_no_ablation_fields():
    """Runs without ablations keep the configuration they recorded before the options existed (the archive)."""
    assert not {"freeze_input", "recurrence"} & set(TrainConfig().to_dict())
    assert TrainConfig(recurrence=False).to_dict()["recurrence"] is False
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()
    args = build_parser().parse_args(["--recurrence", "false", "--freeze-input", "true"])
    assert (args.recurrence, args.freeze_input) == (False, True)
    with pytest.raises(ValueError, match="recurrence"):
        QRNNConfig(recurrence="no")


def test_ridge_recovers_a_known_linear_map():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(16), size=500)  # distributions: rows sum to 1
    weight, bias = rng.normal(size=(2, 16)), np.array([0.3, -0.2])
    targets = probs @ weight.T + bias
    w, b = fit_ridge(probs, targets, 0.0)
    np.testing.assert_allclose(probs @ w.T + b, targets, atol=1e-10)  # the same map on the simplex
    fit = tune_ridge((probs[:400], targets[:400]), (probs[400:], targets[400:] + 1e-3 * rng.normal(size=(100, 2))))
    assert fit.held_out_rmse < 2e-3
    np.testing.assert_allclose(fit.predict(probs), targets, atol=5e-3)
    with pytest.raises(ValueError, match="alpha"):
        fit_ridge(probs, targets, -1.0)


def test_refit_readout_sets_the_output_layer_and_keeps_the_input_layer():
    model = QRNN(QRNNConfig(n_qubits=4, method="exact", freeze_input=True), seed=2)
    inputs = torch.rand(40, 12, 1, generator=torch.Generator().manual_seed(1))
    before = model.input_layer.weight.clone()
    with torch.no_grad():
        targets = torch.stack([inputs[..., 0], 1 - inputs[..., 0]], dim=-1)
    tail = torch.rand(1, 30, 1, generator=torch.Generator().manual_seed(2))
    tail_targets = torch.cat([tail, 1 - tail], dim=-1)
    fit = refit_readout(model, inputs, targets, 2, tail, tail_targets)
    assert torch.equal(model.input_layer.weight, before)
    assert torch.allclose(model.output_layer.weight, torch.as_tensor(fit.weight).float())
    assert set(fit.scores) == {float(a) for a in DEFAULT_ALPHAS} and fit.held_out_rmse == min(fit.scores.values())
    with pytest.raises(ValueError, match="shots"):
        refit_readout(QRNN(QRNNConfig(n_qubits=4, shots=64)), inputs, targets, 2, tail, tail_targets)


def _distributions(model: QRNN, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.quantum_layer(inputs.to(model.input_layer.weight))


@pytest.mark.parametrize("backend", ["torch", "aer-exact"])
def test_without_recurrence_step_t_depends_on_its_input_only(backend):
    steps = 5 if backend == "torch" else 3
    model = QRNN(QRNNConfig(n_qubits=4, backend=backend, recurrence=False, precision="double"), seed=4)
    gen = torch.Generator().manual_seed(0)
    inputs = torch.rand(3, steps, 1, generator=gen, dtype=torch.float64)
    changed = inputs.clone()
    changed[:, :-1] = torch.rand(3, steps - 1, 1, generator=gen, dtype=torch.float64)
    first, second = _distributions(model, inputs), _distributions(model, changed)
    assert torch.max(torch.abs(first[:, -1] - second[:, -1])).item() < 1e-10
    assert torch.max(torch.abs(first[:, 0] - second[:, 0])).item() > 1e-3  # earlier steps did change
    with_memory = QRNN(QRNNConfig(n_qubits=4, backend=backend, precision="double"), seed=4)
    assert (
        torch.max(torch.abs(_distributions(with_memory, inputs)[:, -1] - _distributions(with_memory, changed)[:, -1]))
        > 1e-4
    )


def test_without_recurrence_torch_matches_aer():
    kwargs = {"n_qubits": 4, "recurrence": False, "precision": "double", "method": "spsa"}
    inputs = torch.rand(2, 4, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    fast = _distributions(QRNN(QRNNConfig(backend="torch", **kwargs), seed=5), inputs)
    exact = _distributions(QRNN(QRNNConfig(backend="aer-exact", **kwargs), seed=5), inputs)
    assert torch.max(torch.abs(fast - exact)).item() < 1e-10


@pytest.mark.parametrize("method", ["exact", "spsa", "param-shift"])
def test_without_recurrence_the_crx_parameters_are_not_trained(method):
    model = QRNN(QRNNConfig(n_qubits=4, method=method, recurrence=False, precision="double"), seed=1)
    inputs = torch.rand(2, 4, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    model(inputs).sum().backward()
    rows = crx_angles(4)
    assert torch.all(model.input_layer.weight.grad[rows] == 0) and torch.all(model.input_layer.bias.grad[rows] == 0)
    assert model.input_layer.weight.grad.abs().sum() > 0
    assert model.config.trained_parameters == (27 - 3) * 2 + 5 * 2


def test_ten_qubits_agree_with_aer():
    angles = torch.rand(1, 2, 69, generator=torch.Generator().manual_seed(10), dtype=torch.float64) * 2 * np.pi
    fast = simulate(angles, "torch", n_qubits=10)
    exact = simulate(angles, "aer-exact", n_qubits=10)
    assert fast.shape == (1, 2, 32)
    assert torch.max(torch.abs(fast - exact)).item() < 1e-10


def _rows(variant: str, n_qubits: int, method: str, values: list[float]) -> list[dict]:
    return [
        {"variant": variant, "n_qubits": n_qubits, "trained_parameters": 34, "method": method, "shots": 0, "seed": i}
        | {"rmse_y": v, "rmse_z": v, "rmse_mean": v, "fit_time_s": 1.0, "update_s": 0.01}
        for i, v in enumerate(values)
    ]


def test_chapter_verdict_is_computed_from_its_table():
    from qrnn_study.chapters import ablations

    rows = _rows(ablations.RESERVOIR, 8, "ridge", [0.15, 0.16, 0.14, 0.15])
    rows += _rows(ablations.AS_TRAINED, 8, "exact", [0.12, 0.121, 0.119])
    rows += _rows(ablations.WITH_MEMORY, 8, "exact", [0.12, 0.13])
    rows += _rows(ablations.NO_MEMORY, 8, "exact", [0.20, 0.21])
    rows += _rows(ablations.WITH_MEMORY, 4, "exact", [0.12, 0.13])
    table = ablations.build_table(rows)
    found = ablations.findings(table)
    assert found.answers["training_beats_reservoir"] == "lower"
    assert found.answers["recurrence_helps_exact"] == "lower"
    assert found.answers["more_memory_trained"] == "no clear difference"
    assert found.sentence.startswith("Ablations: training the QRNN's input layer beats a random quantum reservoir")
    summary = ablations.summarize(table)
    assert list(summary["seeds"]) == [4, 3, 2, 2, 2]
    assert summary.loc[0, "rmse_mean"] == pytest.approx(0.15)
    worse = ablations.build_table(_rows(ablations.RESERVOIR, 8, "ridge", [0.1, 0.101, 0.099, 0.1]) + rows[4:])
    assert ablations.findings(worse).answers["training_beats_reservoir"] == "higher"
