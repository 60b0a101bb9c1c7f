"""The trainer: learning, exact resume, the run folder contract, refusals and the command line."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
import torch

from qrnn_core import estimators, training
from qrnn_core.backends import cuda_available
from qrnn_core.estimators import SPSA, MethodSpec, register
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.optimizers import GainSchedule, LayerOptimizer
from qrnn_core.provenance import PACKAGES
from qrnn_core.training import TrainConfig, build_parser, load_run, main, run_or_skip, train
from qrnn_study import study, style
from qrnn_study.chapters import add_your_method

SMALL = {"n_qubits": 4, "n_train": 6, "val_length": 30}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("data_cache"))


def quiet(config: TrainConfig, out_dir, **kwargs) -> dict:
    return train(config, out_dir, progress=False, log=None, **kwargs)


class DecayingSPSA(SPSA):
    """SPSA whose perturbation shrinks with every update: a stateful estimator."""

    state_attributes = ("updates",)

    def __init__(self, epsilon: float = 0.1, spsa_samples: int = 2):
        super().__init__(epsilon, spsa_samples)
        self.start, self.updates = epsilon, 0

    def plan(self, *args):
        self.epsilon = self.start / (self.updates + 1) ** 0.5
        self.updates += 1
        return super().plan(*args)


@pytest.fixture
def decaying(monkeypatch) -> str:
    """Register ``decaying-spsa`` in a private copy of the registry (gone after the test)."""
    monkeypatch.setattr(estimators, "REGISTRY", dict(estimators.REGISTRY))
    spec = MethodSpec(
        "decaying-spsa",
        "SPSA, decaying perturbation",
        DecayingSPSA.from_options,
        True,
        lambda o, n, t: 2 * o.spsa_samples + 1,
        ("epsilon", "spsa_samples"),
    )
    return register(spec).name


@pytest.mark.parametrize("method", ["spsa", "exact"])
def test_short_run_lowers_training_loss(method, cache, tmp_path):
    config = TrainConfig(method=method, n_train=16, epochs=2, val_length=20, cache_dir=cache)
    quiet(config, tmp_path)
    loss = load_run(tmp_path).updates.groupby("epoch")["loss"].mean()
    assert loss[2] < 0.8 * loss[1]  # the same 16 sequences in both epochs, 8 qubits


@pytest.mark.parametrize(
    "setting",
    [{}, {"optimizer": "sgd", "lr": 0.05}, {"optimizer": "spsa-gain", "lr": 0.2, "gain_stability": 2.0}, "decaying"],
    ids=["adam", "sgd", "spsa-gain", "stateful-estimator"],
)
def test_resume_matches_uninterrupted_run(setting, cache, tmp_path, request):
    if setting == "decaying":
        setting = {"method": request.getfixturevalue("decaying")}
    base = SMALL | {"cache_dir": cache} | setting
    straight = quiet(TrainConfig(epochs=2, **base), tmp_path / "straight")
    quiet(TrainConfig(epochs=1, **base), tmp_path / "first")
    first = tmp_path / "first" / "checkpoint_last.pt"
    resumed = quiet(TrainConfig(epochs=2, **base), tmp_path / "resumed", resume=first)
    a = torch.load(tmp_path / "straight" / "checkpoint_last.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed" / "checkpoint_last.pt", weights_only=False)
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["optimizer"]["updates"] == b["optimizer"]["updates"] == 2 * SMALL["n_train"]
    assert a["estimator"] == b["estimator"]
    assert torch.equal(a["model_generator"], b["model_generator"])
    assert torch.equal(a["shuffle_generator"], b["shuffle_generator"])
    for name in ("val_rmse_mean", "train_rmse", "circuit_evaluations"):
        assert [e[name] for e in straight["epochs"]] == [e[name] for e in resumed["epochs"]]
    u1, u2 = load_run(tmp_path / "straight").updates, load_run(tmp_path / "resumed").updates
    np.testing.assert_array_equal(u1["loss"], u2["loss"])
    assert (tmp_path / "resumed" / "checkpoint_best.pt").is_file()


def test_validation_inside_epochs_leaves_training_unchanged(cache, tmp_path):
    """validate_every adds validations after every 4th update (not at epoch ends) and changes no update or epoch."""
    base = SMALL | {"method": "spsa", "shots": 256, "epochs": 2, "cache_dir": cache}
    plain = quiet(TrainConfig(**base), tmp_path / "plain")
    checked = quiet(TrainConfig(**base, validate_every=4), tmp_path / "checked")
    np.testing.assert_array_equal(
        load_run(tmp_path / "plain").updates["loss"], load_run(tmp_path / "checked").updates["loss"]
    )
    for name in ("val_rmse_mean", "train_rmse", "circuit_evaluations"):
        assert [e[name] for e in plain["epochs"]] == [e[name] for e in checked["epochs"]]
    assert "validation_checks" not in plain and "validate_every" not in plain["config"]
    checks = checked["validation_checks"]
    assert [(c["update"], c["epoch"]) for c in checks] == [(4, 1), (8, 2)]  # 12 (an epoch end) is not repeated
    assert len({c["val_rmse_mean"] for c in checks} | {e["val_rmse_mean"] for e in checked["epochs"]}) == 4
    assert checked["config"]["validate_every"] == 4


def test_run_folder_contract(cache, tmp_path):
    result = quiet(TrainConfig(epochs=1, batch_size=4, cache_dir=cache, **SMALL), tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {"result.json", "updates.csv", "predictions.npz", "checkpoint_last.pt", "checkpoint_best.pt"} | {
        "checkpoints"
    }
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_00.pt", "epoch_01.pt"]
    newest = max(p.stat().st_mtime_ns for p in tmp_path.iterdir())
    assert (tmp_path / "result.json").stat().st_mtime_ns == newest
    stored = json.loads((tmp_path / "result.json").read_text())
    assert stored == json.loads(json.dumps(result))
    assert stored["status"] == "complete" and stored["reason"] is None and stored["best_epoch"] == 1
    epoch_keys = {"epoch", "val_rmse_y", "val_rmse_z", "val_rmse_mean", "train_rmse", "epoch_time_s"}
    assert set(stored["epochs"][0]) == epoch_keys | {"circuit_evaluations"}
    assert set(stored["timings"]) == {"total_s", "mean_update_s", "mean_validation_s"}
    prov = stored["provenance"]
    assert prov["seed"] == 1920 and prov["config"] == stored["config"]
    assert set(prov["versions"]) == {"python", *PACKAGES}
    assert "git_commit" in prov and prov["device"]["torch_threads"] >= 1
    run = load_run(tmp_path)
    assert list(run.updates.columns) == ["update", "epoch", "loss", "rmse", "wall_time_s", "circuit_evaluations"]
    assert len(run.updates) == 2  # 6 sequences in batches of 4
    assert (run.updates["circuit_evaluations"] == [4 * 5, 2 * 5]).all()  # (forward + 4 SPSA points) per sequence
    np.testing.assert_allclose(run.updates["rmse"], np.sqrt(run.updates["loss"]))
    pred = run.predictions
    assert pred["val_inputs"].shape == (30,) and pred["val_targets"].shape == (30, 2)
    assert pred["val_pred_best"].shape == pred["val_pred_last"].shape == (30, 2)
    rmse = np.sqrt(((pred["val_pred_last"] - pred["val_targets"]) ** 2).mean(axis=0))
    np.testing.assert_allclose(rmse, [stored["epochs"][0]["val_rmse_y"], stored["epochs"][0]["val_rmse_z"]], rtol=1e-5)


def test_refuses_to_overwrite_and_failed_run_leaves_no_result(cache, tmp_path, monkeypatch):
    config = TrainConfig(epochs=1, cache_dir=cache, **SMALL)
    quiet(config, tmp_path / "run")
    with pytest.raises(FileExistsError, match="overwrite"):
        quiet(config, tmp_path / "run")

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(training, "_run_epoch", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        quiet(config, tmp_path / "run", overwrite=True)
    assert load_run(tmp_path / "run").result["status"] == "complete", "the old run stays until a new one is complete"
    with pytest.raises(RuntimeError, match="simulated crash"):
        quiet(config, tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "result.json").exists()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        load_run(tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "run"], "no hidden folder is left behind"


@pytest.mark.skipif(cuda_available(), reason="tests the no-CUDA path")
def test_cuda_run_is_skipped_without_cuda(cache, tmp_path, capsys):
    result = run_or_skip(TrainConfig(device="cuda", cache_dir=cache, **SMALL), tmp_path, skip_unavailable=True)
    assert result["status"] == "skipped" and result["reason"] == "skipped: no CUDA device"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    assert load_run(tmp_path).updates is None
    assert "skipped" in capsys.readouterr().out


@pytest.mark.skipif(cuda_available(), reason="tests the no-CUDA path")
def test_cuda_request_without_cuda_fails_clearly_before_the_complete_run_check(cache, tmp_path, capsys):
    args = ["--device", "cuda", "--epochs", "0", "--n-train", "1", "--val-length", "10"]
    args += ["--cache-dir", str(cache), "--out", str(tmp_path)]
    assert main(["--device", "cpu", *args[2:]]) == 0  # a complete run in the folder
    capsys.readouterr()
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "no CUDA device" in error and "--skip-unavailable" in error and "already holds" not in error
    assert load_run(tmp_path).result["status"] == "complete", "the complete run is left alone"
    assert main([*args, "--skip-unavailable", "--overwrite"]) == 0
    assert load_run(tmp_path).result["status"] == "skipped"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "adam"}, "unknown gradient method"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"spsa_samples": 0}, "spsa_samples"),
        ({"method": "exact", "backend": "aer"}, "exact"),
        ({"lr": -0.1}, "lr"),
        ({"lr_output": 0}, "lr_output"),
        ({"washout": 20}, "washout"),
        ({"epochs": 1.5}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"n_train": 1385}, "n_train"),
        ({"val_length": 0}, "val_length"),
        ({"validate_every": 0}, "validate_every"),
        ({"n_qubits": 5}, "n_qubits"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'; allowed: adam, sgd, spsa-gain"),
        ({"optimizer": "spsa-gain", "method": "exact"}, "spsa-gain.*exact"),
        ({"gain_alpha": 0.0}, "gain_alpha"),
        ({"gain_gamma": -0.1}, "gain_gamma"),
        ({"gain_stability": -1.0}, "gain_stability"),
    ],
)
def test_bad_config_fails_before_training(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)
    config = TrainConfig(**SMALL)  # valid; then changed after construction: train checks it again
    for name, value in kwargs.items():
        setattr(config, name, value)
    with pytest.raises(ValueError, match=message):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_optimizers_follow_their_update_rules():
    torch.manual_seed(0)
    model = QRNN(QRNNConfig(n_qubits=2), seed=1)
    params = list(model.input_layer.parameters()) + list(model.output_layer.parameters())
    grads = [torch.randn_like(p) for p in params]

    def one_update(optimizer: LayerOptimizer) -> list[torch.Tensor]:
        optimizer.begin_update()
        for p, g in zip(params, grads):
            p.grad = g.clone()
        before = [p.detach().clone() for p in params]
        optimizer.step()
        return [b - p.detach() for b, p in zip(before, params)]

    sgd = LayerOptimizer(model, "sgd", 0.1, 0.2)
    for step, g, lr in zip(one_update(sgd), grads, [0.1, 0.1, 0.2, 0.2]):
        torch.testing.assert_close(step, lr * g)
    gains = GainSchedule(stability=3.0, alpha=0.602, gamma=0.101)
    spall = LayerOptimizer(model, "spsa-gain", 0.1, 0.2, gains)
    for k in range(3):
        steps = one_update(spall)
        a_k = [lr / (3.0 + k + 1) ** 0.602 for lr in (0.1, 0.1, 0.2, 0.2)]
        for step, g, a in zip(steps, grads, a_k):
            torch.testing.assert_close(step, a * g)
        assert model.estimator.epsilon == pytest.approx(0.1 / (k + 1) ** 0.101)
    assert spall.state_dict()["updates"] == 3
    adam = LayerOptimizer(model, "adam", 0.1, 0.2)
    assert isinstance(adam.torch_optimizer, torch.optim.Adam)
    assert [g["lr"] for g in adam.torch_optimizer.param_groups] == [0.1, 0.2]
    with pytest.raises(ValueError, match="checkpoint optimizer 'sgd'"):
        adam.load_state_dict(sgd.state_dict())


def test_registered_method_trains_and_is_offered(decaying, cache, tmp_path):
    assert decaying in build_parser().format_help()
    result = quiet(TrainConfig(method=decaying, epochs=1, cache_dir=cache, **SMALL), tmp_path)
    assert result["epochs"][0]["circuit_evaluations"] == SMALL["n_train"] * 5
    assert torch.load(tmp_path / "checkpoint_last.pt", weights_only=False)["estimator"] == {"updates": 6}
    run = study.run_from_folder(tmp_path, "decaying")
    assert run.complete and run.method == decaying and run.label == "decaying"
    fig = add_your_method.compare_runs_figure([run])
    training, validation = fig.axes
    assert len(training.lines) == 1 and training.lines[0].get_color() == style.method_color(decaying)
    np.testing.assert_allclose(validation.lines[0].get_ydata(), run.epochs["val_rmse_mean"])


def test_missing_checkpoint_fails_before_training(cache, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        quiet(TrainConfig(cache_dir=cache, **SMALL), tmp_path / "run", resume=tmp_path / "missing.pt")
    assert not (tmp_path / "run").exists()


def test_resume_with_other_config_is_refused(cache, tmp_path):
    quiet(TrainConfig(epochs=1, cache_dir=cache, **SMALL), tmp_path / "first")
    with pytest.raises(ValueError, match="lr"):
        resume = tmp_path / "first" / "checkpoint_last.pt"
        quiet(TrainConfig(epochs=2, lr=0.01, cache_dir=cache, **SMALL), tmp_path / "second", resume=resume)
    assert not (tmp_path / "second").exists()


def test_config_dict_round_trip():
    config = TrainConfig(method="fdsa", lr=0.001, n_train=10)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        TrainConfig.from_dict({"learning_rate": 0.1})


def test_cli_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name in [f.name for f in fields(TrainConfig)] + ["out", "resume", "overwrite", "no_progress"]:
        assert "--" + name.replace("_", "-") in text


def test_cli_bad_method_exits_nonzero(capsys, tmp_path):
    assert main(["--method", "newton", "--out", str(tmp_path / "run")]) != 0
    assert "unknown gradient method" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_trains(cache, tmp_path, capsys):
    args = ["--n-qubits", "4", "--n-train", "4", "--val-length", "10", "--epochs", "1", "--shots", "none"]
    args += ["--optimizer", "sgd", "--cache-dir", cache, "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    assert "epoch 1: val RMSE" in capsys.readouterr().out
    assert load_run(tmp_path).result["status"] == "complete"
