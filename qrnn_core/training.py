"""Train a QRNN on the Lorenz-63 task and write a run folder (see docs/CONTRIBUTING.md).

A run folder holds ``updates.csv``, ``predictions.npz``, ``checkpoint_last.pt``,
``checkpoint_best.pt`` and, written last and atomically, ``result.json``. A folder
without ``result.json`` is an incomplete run. Everything a run needs (configuration,
memory, checkpoint, data, run folder) is checked before any work; a run that replaces
another is written in a hidden sibling folder and moved into place only once complete.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .backends import backend_names, cuda_available, uses_cuda
from .checks import check_int, check_optional_int, check_positive
from .data import DEFAULT_CACHE, DEFAULT_DATA_SEED, LorenzConfig, file_sha256, load_lorenz, source_names, window_counts
from .estimators import method_names
from .files import (
    TEMPORARY_NAME,
    check_writable,
    copy_file,
    replace_folder,
    save_npz,
    save_torch,
    write_csv,
    write_json,
)
from .model import QRNN, QRNNConfig
from .noise import resolve_noise
from .optimizers import OPTIMIZERS, GainSchedule, LayerOptimizer, check_optimizer
from .protocol import TRAIN_WINDOWS, VALIDATION_STEPS
from .provenance import provenance as build_provenance

RESULT = "result.json"
UPDATES = "updates.csv"
PREDICTIONS = "predictions.npz"
CHECKPOINT_LAST = "checkpoint_last.pt"
CHECKPOINT_BEST = "checkpoint_best.pt"
EPOCH_CHECKPOINTS = "checkpoints"  # epoch_00.pt ... : the small state at the end of every epoch (see epoch_checkpoint)
SKIP_REASON = "skipped: no CUDA device"
UPDATE_COLUMNS = ["update", "epoch", "loss", "rmse", "wall_time_s", "circuit_evaluations"]
# Fields a resumed run may change: how far to train and where the data cache lives.
RESUMABLE_CHANGES = ("epochs", "cache_dir")
# What a run folder may hold besides temporary files of interrupted writes (files.TEMPORARY_NAME).
RUN_FILES = (RESULT, UPDATES, PREDICTIONS, CHECKPOINT_LAST, CHECKPOINT_BEST, EPOCH_CHECKPOINTS)
# What a checkpoint to resume from holds (see _checkpoint; checkpoints before the data record lack "data").
CHECKPOINT_KEYS: tuple[str, ...] = (
    "config",
    "epoch",
    "model",
    "optimizer",
    "estimator",
    "model_generator",
    "shuffle_generator",
)
CHECKPOINT_KEYS += ("circuit_evaluations", "history")


def _opt(help_text: str, default: Any = None, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help_text, **extra})


@dataclass
class TrainConfig:
    """Everything that defines a training run: model, data subset and optimisation (checked when made).

    Raises:
        ValueError: a bad field, named with what is allowed.

    Example:
        >>> config = TrainConfig(method="fdsa", epochs=2)
        >>> config.model_config().method, config.data_config().seq_len
        ('fdsa', 20)
    """

    n_qubits: int = _opt("even number of qubits (half memory, half readout)", 8)
    repeat_blocks: int = _opt("repetitions of the gate block per step", 1)
    context_length: int = _opt("past inputs fed to each step", 1)
    backend: str = _opt("simulator: a name in qrnn_core.backends.REGISTRY", "torch")
    shots: int | None = _opt("shots per step (None: exact distributions)", None)
    device: str = _opt("cpu, cuda, cuda:N (torch) or gpu (aer)", "cpu")
    method: str = _opt("gradient method (a name in qrnn_core.estimators.REGISTRY)", "spsa")
    epsilon: float = _opt("perturbation size of spsa/fdsa (Spall's c under spsa-gain)", 0.1)
    spsa_samples: int = _opt("SPSA directions averaged per update", 2)
    precision: str = _opt("single or double", "single")
    freeze_input: bool = _opt(
        "ablation: keep the input layer at its seeded random initialisation (a random reservoir)", False, ablation=True
    )
    recurrence: bool = _opt("ablation: False holds the CRX staircase at angle 0 (no memory)", True, ablation=True)
    seq_len: int = _opt("steps per training sequence", 20)
    n_train: int | None = _opt(f"training sequences used, evenly spaced (None: all {TRAIN_WINDOWS})", None)
    val_length: int | None = _opt(f"first validation steps used (None: all {VALIDATION_STEPS})", None)
    epochs: int = _opt("passes over the training sequences", 10)
    validate_every: int | None = _opt(
        "also validate every this many updates inside an epoch (None: at epoch ends only); training is unchanged",
        None,
        recorded_if_set=True,
    )
    batch_size: int = _opt("sequences per weight update", 1)
    optimizer: str = _opt(f"optimizer: {', '.join(OPTIMIZERS)} (Spall's decaying gains)", "adam")
    lr: float = _opt("learning rate (Spall's a under spsa-gain)", 0.007)
    lr_input: float | None = _opt("learning rate of the input layer (None: lr)", None)
    lr_output: float | None = _opt("learning rate of the output layer (None: lr)", None)
    gain_stability: float = _opt("spsa-gain: Spall's stability constant A in a_k = a / (A + k + 1)^alpha", 0.0)
    gain_alpha: float = _opt("spsa-gain: decay exponent alpha of the step size a_k", 0.602)
    gain_gamma: float = _opt("spsa-gain: decay exponent gamma of the perturbation c_k = c / (k + 1)^gamma", 0.101)
    washout: int = _opt("first steps of each sequence left out of the loss", 5)
    seed: int = _opt("seed of the initialisation, estimator directions, shots and shuffling", 1920)
    cache_dir: str | None = _opt("directory of the Lorenz data cache (None: no cache)", str(DEFAULT_CACHE))
    data_path: str | None = _opt(
        "a series of one's own, .npy or .csv (None: the generated Lorenz series)", None, aliases=("--data",)
    )
    columns: str = _opt("columns of the data file: input, target 1, target 2", "0,1,2")
    scale: str = _opt("minmax (each column to [0, 1] over the whole series) or none", "minmax")
    data_seed: int | None = _opt("seed of the Lorenz initial condition (None: the default trajectory, 1920)", None)
    system: str | None = _opt("data source (None: lorenz, or file with --data)", None, recorded_if_set=True)
    noise: str | None = _opt(
        "device noise: a snapshot (fake_marrakesh, fake_fez, ...) or a qrnn_core.noise JSON file (None: noiseless)",
        None,
        recorded_if_set=True,
    )
    noise_scale: float = _opt("factor on every rate of --noise", 1.0, recorded_if_set=True)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field (``ValueError`` naming a bad one); ``train`` checks again, as fields may change."""
        self.model_config()
        if self.data_path is not None and self.data_seed is not None:
            raise ValueError(
                f"data_seed={self.data_seed} picks a generated Lorenz trajectory; it cannot apply to data_path"
            )
        data = self.data_config()
        self.columns = ",".join(map(str, data.columns))
        if self.data_path is None:
            for f in fields(self):
                if f.name in ("columns", "scale") and getattr(self, f.name) != f.default:
                    raise ValueError(
                        f"{f.name}={getattr(self, f.name)!r} (--{f.name}) applies to data_path (--data) only; "
                        f"the generated Lorenz series always uses {f.name} {f.default!r}"
                    )
        n_windows, n_val = window_counts(data)
        check_int("epochs", self.epochs, 0)
        check_int("batch_size", self.batch_size, 1)
        check_int("washout", self.washout, 0, self.seq_len - 1)
        check_int("seed", self.seed, 0)
        check_optional_int("n_train", self.n_train, 1, n_windows)
        check_optional_int("val_length", self.val_length, 1, n_val)
        check_optional_int("validate_every", self.validate_every, 1)
        check_positive("lr", self.lr)
        for name in ("lr_input", "lr_output"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))
        check_optimizer(self.optimizer, self.method)
        self.gain_schedule()

    def model_config(self) -> QRNNConfig:
        """The model's part of the configuration (validated by ``QRNNConfig``)."""
        names: tuple[str, ...] = ("n_qubits", "context_length", "repeat_blocks", "backend", "shots", "device", "method")
        names += ("epsilon", "spsa_samples", "precision", "freeze_input", "recurrence")
        if self.noise is None and self.noise_scale != 1.0:
            raise ValueError(f"noise_scale={self.noise_scale!r} (--noise-scale) needs a noise model (--noise)")
        noise = resolve_noise(self.noise, self.n_qubits, self.noise_scale)
        return QRNNConfig(**{name: getattr(self, name) for name in names}, noise=noise)

    def gain_schedule(self) -> GainSchedule:
        """Spall's gain schedule of the ``spsa-gain`` optimizer (validated)."""
        return GainSchedule(self.gain_stability, self.gain_alpha, self.gain_gamma)

    def data_config(self) -> LorenzConfig:
        """The Lorenz task's parameters (the paper's, with this run's sequence and context length)."""
        return LorenzConfig(
            seq_len=self.seq_len,
            context_length=self.context_length,
            data_path=self.data_path,
            columns=self.columns,
            scale=self.scale,
            data_seed=DEFAULT_DATA_SEED if self.data_seed is None else self.data_seed,
            system=self.system,
        )

    @property
    def uses_cuda(self) -> bool:
        """Whether the run asks for a CUDA device."""
        return uses_cuda(self.device)

    def to_dict(self) -> dict:
        """JSON-safe dictionary of every field; an ablation option or the data ``system`` is left out at its default.

        So a run without ablations records the configuration it recorded before those options
        existed (archived runs and their checkpoints compare equal).
        """
        values = asdict(self)
        for f in fields(self):
            if (f.metadata.get("ablation") or f.metadata.get("recorded_if_set")) and values[f.name] == f.default:
                del values[f.name]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dictionary; unknown keys are an error."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}; allowed: {', '.join(f.name for f in fields(cls))}")
        return cls(**values)


@dataclass
class RunRecord:
    """A run folder read back: the result, the per-update log and the validation predictions."""

    result: dict
    updates: pd.DataFrame | None
    predictions: dict[str, np.ndarray] | None


# ---------------------------------------------------------------- files and provenance


def data_record(config: TrainConfig) -> dict:
    """The series a run trains on: ``source`` in words and ``sha256`` of the data file (``None``: generated)."""
    sha256 = None if config.data_path is None else file_sha256(config.data_path)
    return {"source": config.data_config().source(), "sha256": sha256}


def provenance(config: TrainConfig, data: dict | None = None) -> dict:
    """Config, seed, package versions, lock hash, git commit and device of a run (see ``qrnn_core.provenance``).

    ``data`` is the run's :func:`data_record`, taken when it started (default: taken now).
    """
    data = data or data_record(config)
    extra = {"data": data}
    if config.noise is not None:
        extra["noise"] = config.model_config().to_dict()["noise"]
    return build_provenance(config.to_dict(), seed=config.seed, device=config.device) | extra


def _work_folder(out_dir: Path, overwrite: bool, resume: Path | None) -> Path:
    """The folder to write the run in, checked before any work: ``out_dir`` or a hidden sibling to swap in.

    A run is written in ``out_dir`` itself when the folder is new or empty, or holds the
    incomplete run that ``resume`` comes from (it continues there). Replacing a folder
    (``overwrite``: a complete run, or an incomplete one not resumed) writes a fresh sibling
    that :func:`_publishing` moves into place once the run is complete, so an interrupted
    run neither mixes old and new files nor loses the old run. Only a folder holding nothing
    but a run's files (:data:`RUN_FILES`) is ever replaced.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir} is a file, not a run folder")
    entries = sorted(p.name for p in out_dir.iterdir()) if out_dir.is_dir() else []
    complete = RESULT in entries
    if complete and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a complete run ({RESULT}); pass overwrite=True (--overwrite) to replace it"
        )
    in_place = resume is not None and resume.parent.resolve() == out_dir.resolve()
    if not entries or (in_place and not complete):
        check_writable(out_dir)
        return out_dir
    if not overwrite:
        hint = f"continue it with --resume {out_dir / CHECKPOINT_LAST} or " if CHECKPOINT_LAST in entries else ""
        raise FileExistsError(
            f"{out_dir} holds an incomplete run (no {RESULT}); {hint}pass overwrite=True (--overwrite) to replace it"
        )
    foreign = [name for name in entries if name not in RUN_FILES and not TEMPORARY_NAME.fullmatch(name)]
    if foreign:
        raise FileExistsError(
            f"{out_dir} holds files that are not part of a run ({', '.join(foreign)}); overwrite replaces run "
            "folders only: choose another folder"
        )
    for folder in (out_dir, out_dir.parent):
        check_writable(folder)
    target = out_dir.resolve()
    return target.with_name(f".{target.name}.new-{os.getpid()}")


@contextmanager
def _publishing(work: Path, out_dir: Path) -> Iterator[None]:
    """Write a run in ``work``; a sibling of ``out_dir`` replaces it on success and is deleted on failure.

    The folder replaced is the one ``out_dir`` resolves to (through a link, its target).
    """
    if work == out_dir:
        yield
        return
    shutil.rmtree(work, ignore_errors=True)  # left by a killed process of the same id
    try:
        yield
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    replace_folder(work, out_dir.resolve())


# ---------------------------------------------------------------- memory


def available_memory(config: TrainConfig) -> tuple[int, str]:
    """Bytes of memory free for the run now, and where the figure comes from.

    A CUDA run: the device's free memory; otherwise the machine's available memory
    (psutil if installed, else ``/proc/meminfo``, else ``os.sysconf``).
    """
    if config.uses_cuda and cuda_available():
        name = str(config.device).lower()
        device = torch.device(name) if name.startswith("cuda") else None
        return torch.cuda.mem_get_info(device)[0], f"torch.cuda.mem_get_info of {config.device}"
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return psutil.virtual_memory().available, "psutil.virtual_memory"
    meminfo = Path("/proc/meminfo")
    lines = meminfo.read_text().splitlines() if meminfo.is_file() else []
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024, "MemAvailable of /proc/meminfo"
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "os.sysconf SC_AVPHYS_PAGES"


def _bytes_text(count: int) -> str:
    value, unit = float(count), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024 or unit == "EiB":
            break
        value /= 1024
    return f"{value:.1f} {unit}" if value < 10_000 else f"{value:.3g} {unit}"


def check_memory(config: TrainConfig) -> None:
    """Refuse a run whose largest forward pass would not fit in the memory available now (nothing allocated yet).

    The passes are a training update (the batch with the gradient method's planned points,
    see :meth:`qrnn_core.model.QRNNConfig.memory_bytes`) and the validation (one sequence).

    Raises:
        ValueError: the estimate exceeds :func:`available_memory`, naming both.
    """
    n_windows, n_val = window_counts(config.data_config())
    model = config.model_config()
    batch, steps = min(config.batch_size, config.n_train or n_windows), config.seq_len
    val_steps = config.val_length or n_val
    update = (
        f"a training update ({model.sequence_evaluations(batch, steps, True)} sequence evaluations of {steps} steps)"
    )
    passes = {
        update: model.memory_bytes(batch, steps, train=True),
        f"the validation (1 sequence of {val_steps} steps)": model.memory_bytes(1, val_steps, train=False),
    }
    what, need = max(passes.items(), key=lambda item: item[1])
    limit, source = available_memory(config)
    if need > limit:
        raise ValueError(
            f"the run does not fit in memory: {what} needs about {_bytes_text(need)} (estimate at "
            f"n_qubits={config.n_qubits}, repeat_blocks={config.repeat_blocks}, precision {config.precision!r}), "
            f"but only {_bytes_text(limit)} is available ({source}); lower n_qubits, batch_size, repeat_blocks "
            "or val_length"
        )


# ---------------------------------------------------------------- evaluation


def masked_mse(pred: torch.Tensor, target: torch.Tensor, washout: int) -> torch.Tensor:
    """The training loss: mean squared error over steps >= ``washout`` of (B, T, 2) tensors."""
    return torch.mean((pred[:, washout:] - target[:, washout:]) ** 2)


def update_step(
    model: QRNN, optimizer: LayerOptimizer, inputs: torch.Tensor, targets: torch.Tensor, washout: int
) -> torch.Tensor:
    """One weight update (gains, forward, loss after ``washout``, backward, step); returns the loss.

    The trainer and the runtime benchmark (``qrnn_study.timing``) both update through it.
    """
    optimizer.begin_update()
    pred = model(inputs)
    loss = masked_mse(pred, targets.to(pred), washout)
    loss.backward()
    optimizer.step()
    return loss


def evaluate(model: QRNN, inputs: torch.Tensor, targets: torch.Tensor, washout: int = 0) -> dict:
    """RMSE of y, z and their mean on steps >= ``washout``, with the predictions (B, T, 2).

    One batched forward pass in eval mode without gradients.
    """
    was_training = model.training
    model.eval()
    with torch.no_grad():
        pred = model(inputs).to(torch.float64)
    model.train(was_training)
    err = (pred[:, washout:] - targets[:, washout:].to(torch.float64)) ** 2
    rmse = err.mean(dim=(0, 1)).sqrt()
    return {
        "rmse_y": float(rmse[0]),
        "rmse_z": float(rmse[1]),
        "rmse_mean": float(rmse.mean()),
        "predictions": pred.cpu().numpy(),
    }


# ---------------------------------------------------------------- training


@dataclass
class _Task:
    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    val_inputs: torch.Tensor
    val_targets: torch.Tensor


def _load_task(config: TrainConfig) -> _Task:
    """The training windows (evenly spaced subset if ``n_train``) and the validation prefix."""
    data = load_lorenz(config.data_config(), config.cache_dir)
    n_all = data.train_inputs.shape[0]
    keep = np.arange(n_all) if config.n_train is None else np.linspace(0, n_all - 1, config.n_train).round().astype(int)
    val_len = config.val_length or data.val_inputs.shape[1]
    return _Task(
        torch.from_numpy(data.train_inputs[keep]),
        torch.from_numpy(data.train_targets[keep]),
        torch.from_numpy(data.val_inputs[:, :val_len]),
        torch.from_numpy(data.val_targets[:, :val_len]),
    )


def _optimizer(model: QRNN, config: TrainConfig) -> LayerOptimizer:
    """The configured optimizer, with one learning rate per layer."""
    lr_input, lr_output = config.lr_input or config.lr, config.lr_output or config.lr
    return LayerOptimizer(model, config.optimizer, lr_input, lr_output, config.gain_schedule())


def _read_checkpoint(path: Path, keys: tuple[str, ...]) -> dict:
    """A checkpoint's content; ``ValueError`` "<path>: not a checkpoint of this project (<reason>)" otherwise."""
    if path.is_dir():
        raise ValueError(f"{path}: not a checkpoint of this project (a directory)")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch.load fails on foreign bytes with errors of many kinds
        first = re.split(r"(?<=\.)\s", (str(error).strip().splitlines() or [""])[0])[0]  # its first sentence
        reason = f"{type(error).__name__}: {first[:160]}"
        raise ValueError(f"{path}: not a checkpoint of this project ({reason})") from error
    if not isinstance(state, dict) or not isinstance(state.get("config"), dict):
        raise ValueError(f"{path}: not a checkpoint of this project (holds a {type(state).__name__} without a config)")
    missing = [key for key in keys if key not in state]
    if "history" in missing and "updates_done" in state:
        raise ValueError(
            f"{path}: an epoch checkpoint holds no training history; resume from {CHECKPOINT_LAST} or {CHECKPOINT_BEST}"
        )
    if missing:
        raise ValueError(f"{path}: not a checkpoint of this project (no {', '.join(missing)})")
    return state


def _check_data(path: Path, state: dict, data: dict) -> None:
    """Refuse a checkpoint trained on other data than the run's now (the data file's SHA-256 differs)."""
    saved = state.get("data", {}).get("sha256")
    if saved != data["sha256"]:
        raise ValueError(
            f"{path}: the checkpoint was trained on data with SHA-256 {saved or '(none recorded)'}, but "
            f"{data['source']} now has SHA-256 {data['sha256']}; continuing would mix two series "
            "(restore the original file or start a new run)"
        )


def _load_checkpoint(path: Path, config: TrainConfig, data: dict) -> dict:
    """Read a checkpoint and check that it belongs to a run with this configuration and data, not past ``epochs``."""
    state = _read_checkpoint(path, CHECKPOINT_KEYS)
    saved = state["config"]
    differ = [k for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES and saved.get(k) != v]
    if differ:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs {getattr(config, k)!r}" for k in differ)
        raise ValueError(
            f"checkpoint {str(path)!r} was made with a different configuration ({detail}); "
            f"only {RESUMABLE_CHANGES} may change"
        )
    _check_data(path, state, data)
    if config.epochs < state["epoch"]:
        raise ValueError(
            f"checkpoint {str(path)!r} has {state['epoch']} epochs done; epochs={config.epochs} (--epochs) must be "
            f">= {state['epoch']}"
        )
    return state


def _checkpoint(
    model: QRNN, optimizer: LayerOptimizer, shuffle: torch.Generator, config: TrainConfig, history: dict, data: dict
) -> dict:
    """Everything a resumed run needs: parameters, optimizer and estimator state, random generators, history.

    ``data`` (:func:`data_record`) names the series it was trained on; a resumed run must have the same.
    """
    return {
        "config": config.to_dict(),
        "data": data,
        "epoch": len(history["epochs"]),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "estimator": model.estimator.state_dict() if model.estimator is not None else {},
        "model_generator": model.generator.get_state(),
        "shuffle_generator": shuffle.get_state(),
        "circuit_evaluations": model.circuit_evaluations,
        "history": history,
    }


def epoch_checkpoint(out_dir: str | Path, epoch: int) -> Path:
    """Path of the small checkpoint written at the end of ``epoch`` (0: the untrained model).

    It holds the model, optimizer, estimator and random-generator states (no history), the
    model generator's state before that epoch's validation and the updates done so far:
    what replaying the next epoch and recomputing this epoch's validation need.
    """
    return Path(out_dir) / EPOCH_CHECKPOINTS / f"epoch_{epoch:02d}.pt"


def _run_epoch(
    model: QRNN,
    optimizer: LayerOptimizer,
    task: _Task,
    config: TrainConfig,
    shuffle: torch.Generator,
    epoch: int,
    first_update: int,
    bar: tqdm,
    checks: list[dict],
) -> list[dict]:
    """One shuffled pass over the training sequences; returns one record per update.

    With ``config.validate_every``, the validation RMSE after every such update that does not end
    the epoch is appended to ``checks`` (see :func:`_check`).
    """
    order = torch.randperm(task.train_inputs.shape[0], generator=shuffle)
    batches = order.split(config.batch_size)
    records = []
    for update, batch in enumerate(batches, start=first_update):
        start, evaluations = time.perf_counter(), model.circuit_evaluations
        loss = update_step(model, optimizer, task.train_inputs[batch], task.train_targets[batch], config.washout)
        value = loss.item()
        records.append(
            {
                "update": update,
                "epoch": epoch,
                "loss": value,
                "rmse": math.sqrt(value),
                "wall_time_s": time.perf_counter() - start,
                "circuit_evaluations": model.circuit_evaluations - evaluations,
            }
        )
        bar.update(1)
        bar.set_postfix(loss=f"{value:.4f}")
        every = config.validate_every
        if every is not None and update % every == 0 and update != first_update + len(batches) - 1:
            checks.append({"update": update, "epoch": epoch} | _check(model, task))
    return records


def _check(model: QRNN, task: _Task) -> dict:
    """A validation inside an epoch that leaves training as it was: the shot generator and evaluation count restored.

    So a run with ``validate_every`` makes the same updates as one without it.
    """
    state, evaluations = model.generator.get_state(), model.circuit_evaluations
    scores, _, seconds = _validate(model, task)
    model.generator.set_state(state)
    model.circuit_evaluations = evaluations
    return {f"val_{key}": value for key, value in scores.items()} | {"validation_s": seconds}


def _validate(model: QRNN, task: _Task) -> tuple[dict, np.ndarray, float]:
    """Validation RMSE on every validation step, its predictions (Tv, 2) and its wall time."""
    start = time.perf_counter()
    scores = evaluate(model, task.val_inputs, task.val_targets)
    pred = scores.pop("predictions")[0]
    return scores, pred, time.perf_counter() - start


def train(
    config: TrainConfig,
    out_dir: str | Path,
    resume: str | Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
    log: Callable[[str], None] | None = tqdm.write,
) -> dict:
    """Train, validate after every epoch and write the run folder; return ``result.json``'s content.

    The validation RMSE (y, z, mean) covers ALL validation steps (no washout). ``resume`` continues
    to the parameters an uninterrupted run reaches (only ``epochs`` and ``cache_dir`` may change). All is
    checked before any work: configuration, memory (:func:`check_memory`), checkpoint, run folder.

    Args:
        config: the run.
        out_dir: the run folder.
        resume: a checkpoint to continue from.
        progress: show a progress bar.
        overwrite: replace a run already in ``out_dir``.
        log: where the per-epoch lines go (``None``: nowhere).

    Returns:
        The content of ``result.json``.

    Raises:
        ValueError: a bad configuration, a run that does not fit in memory, or a checkpoint of another run.
        FileExistsError: ``out_dir`` holds a run and ``overwrite`` is False.

    Example:
        >>> import tempfile
        >>> config = TrainConfig(n_qubits=2, seq_len=6, washout=1, n_train=2, val_length=8, epochs=1, cache_dir=None)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     result = train(config, out, progress=False, log=None)
        >>> result["status"], len(result["epochs"])
        ('complete', 1)
    """
    config.validate()
    out_dir, resume = Path(out_dir), None if resume is None else Path(resume)
    session_start = time.perf_counter()
    data = data_record(config)
    check_memory(config)
    state = None if resume is None else _load_checkpoint(resume, config, data)
    work = _work_folder(out_dir, overwrite, resume)
    with _publishing(work, out_dir):
        task = _load_task(config)
        model = QRNN(config.model_config(), seed=config.seed)
        work.mkdir(parents=True, exist_ok=True)
        for name in (UPDATES, PREDICTIONS):  # from an interrupted finish; written again at the end
            (work / name).unlink(missing_ok=True)
        optimizer = _optimizer(model, config)
        shuffle = torch.Generator().manual_seed(config.seed + 1)
        if state is None or resume is None:
            history = _untrained(work, model, optimizer, shuffle, config, task, data, log)
        else:
            history = _restore(state, model, optimizer, shuffle, work, resume)
        _train_epochs(work, model, optimizer, shuffle, config, task, history, data, progress, log, session_start)
        return _finish(work, config, task, history, data)


def _train_epochs(
    work: Path,
    model: QRNN,
    optimizer: LayerOptimizer,
    shuffle: torch.Generator,
    config: TrainConfig,
    task: _Task,
    history: dict[str, Any],
    data: dict,
    progress: bool,
    log: Callable[[str], None] | None,
    session_start: float,
) -> None:
    """The epochs not done yet, each saved as it ends; the session's time (from ``session_start``) in ``history``."""
    n_batches = math.ceil(task.train_inputs.shape[0] / config.batch_size)
    done = len(history["epochs"])
    with tqdm(
        total=config.epochs * n_batches,
        initial=done * n_batches,
        disable=not progress,
        desc=f"{config.method} updates",
        unit="upd",
        dynamic_ncols=True,
    ) as bar:
        for epoch in range(done + 1, config.epochs + 1):
            best, before_validation = _train_epoch(model, optimizer, task, config, shuffle, epoch, history, bar, log)
            history["session_s"] += time.perf_counter() - session_start
            session_start = time.perf_counter()
            _save_epoch(work, model, optimizer, shuffle, config, history, data, best, before_validation)
    history["session_s"] += time.perf_counter() - session_start


def _untrained(
    work: Path,
    model: QRNN,
    optimizer: LayerOptimizer,
    shuffle: torch.Generator,
    config: TrainConfig,
    task: _Task,
    data: dict,
    log: Callable[[str], None] | None,
) -> dict[str, Any]:
    """A new run's history: the untrained model's validation (epoch 0), saved as its first checkpoint."""
    before_validation = model.generator.get_state()
    scores, pred, seconds = _validate(model, task)
    history = {
        "initial_validation": scores,
        "epochs": [],
        "updates": [],
        "validation_s": [seconds],
        "session_s": 0.0,
        "best": {"epoch": 0, "val_rmse_mean": scores["rmse_mean"], "pred": pred},
        "last_pred": pred,
    }
    if log:
        log(f"epoch 0 (untrained): {_scores_text(scores)}")
    _save_epoch(work, model, optimizer, shuffle, config, history, data, True, before_validation)
    return history


def _train_epoch(
    model: QRNN,
    optimizer: LayerOptimizer,
    task: _Task,
    config: TrainConfig,
    shuffle: torch.Generator,
    epoch: int,
    history: dict[str, Any],
    bar: tqdm,
    log: Callable[[str], None] | None,
) -> tuple[bool, torch.Tensor]:
    """One epoch's updates and validation, recorded in ``history``.

    Returns:
        Whether the epoch is the best so far, and the model generator's state before its validation.
    """
    epoch_start = time.perf_counter()
    first = len(history["updates"]) + 1
    records = _run_epoch(model, optimizer, task, config, shuffle, epoch, first, bar, history.setdefault("checks", []))
    before_validation = model.generator.get_state()
    scores, pred, seconds = _validate(model, task)
    history["updates"].extend(records)
    history["validation_s"].append(seconds)
    history["last_pred"] = pred
    history["epochs"].append(_epoch_record(epoch, records, scores, time.perf_counter() - epoch_start))
    best = history["best"]["epoch"] == 0 or scores["rmse_mean"] < history["best"]["val_rmse_mean"]
    if best:
        history["best"] = {"epoch": epoch, "val_rmse_mean": scores["rmse_mean"], "pred": pred}
    if log:
        log(f"epoch {epoch}: {_scores_text(scores)}  (train RMSE {history['epochs'][-1]['train_rmse']:.4f})")
    return best, before_validation


def _scores_text(scores: dict) -> str:
    return f"val RMSE y {scores['rmse_y']:.4f}  z {scores['rmse_z']:.4f}  mean {scores['rmse_mean']:.4f}"


def _epoch_record(epoch: int, records: list[dict], scores: dict, seconds: float) -> dict:
    return {
        "epoch": epoch,
        "val_rmse_y": scores["rmse_y"],
        "val_rmse_z": scores["rmse_z"],
        "val_rmse_mean": scores["rmse_mean"],
        "train_rmse": math.sqrt(float(np.mean([r["loss"] for r in records]))),
        "epoch_time_s": seconds,
        "circuit_evaluations": int(sum(r["circuit_evaluations"] for r in records)),
    }


def _save_epoch(
    out_dir: Path,
    model: QRNN,
    optimizer: LayerOptimizer,
    shuffle: torch.Generator,
    config: TrainConfig,
    history: dict,
    data: dict,
    best: bool,
    before_validation: torch.Tensor,
) -> None:
    """Write the epoch's small checkpoint, then ``checkpoint_last.pt`` (and ``checkpoint_best.pt`` when best)."""
    payload = _checkpoint(model, optimizer, shuffle, config, history, data)
    small = {key: value for key, value in payload.items() if key != "history"}
    small |= {"validation_generator": before_validation, "updates_done": len(history["updates"])}
    save_torch(epoch_checkpoint(out_dir, payload["epoch"]), small)
    save_torch(out_dir / CHECKPOINT_LAST, payload)
    if best:
        save_torch(out_dir / CHECKPOINT_BEST, payload)


def _restore(
    state: dict, model: QRNN, optimizer: LayerOptimizer, shuffle: torch.Generator, work: Path, resume: Path
) -> dict:
    """Load a checkpoint's states; resuming into another folder, bring its best and epoch checkpoints along.

    The epoch checkpoints up to the checkpoint's epoch are the run's own (replays need them).
    """
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if model.estimator is not None:
        model.estimator.load_state_dict(state["estimator"])
    model.generator.set_state(state["model_generator"])
    shuffle.set_state(state["shuffle_generator"])
    model.circuit_evaluations = state["circuit_evaluations"]
    source = resume.parent
    if source.resolve() != work.resolve():
        for path in (source / CHECKPOINT_BEST, *(epoch_checkpoint(source, e) for e in range(state["epoch"] + 1))):
            if path.is_file():
                copy_file(path, work / path.relative_to(source))
    return state["history"]


def _finish(out_dir: Path, config: TrainConfig, task: _Task, history: dict, data: dict) -> dict:
    """Write updates.csv and predictions.npz, drop epoch checkpoints past the last epoch, then result.json last."""
    for path in (out_dir / EPOCH_CHECKPOINTS).glob("epoch_*.pt"):
        if int(path.stem.split("_")[1]) > len(history["epochs"]):
            path.unlink()
    updates = pd.DataFrame(history["updates"], columns=UPDATE_COLUMNS)
    write_csv(out_dir / UPDATES, updates)
    save_npz(
        out_dir / PREDICTIONS,
        {
            "val_inputs": task.val_inputs[0, :, -1].numpy(),
            "val_targets": task.val_targets[0].numpy(),
            "val_pred_best": history["best"]["pred"],
            "val_pred_last": history["last_pred"],
        },
    )
    result = {
        "status": "complete",
        "reason": None,
        "config": config.to_dict(),
        "provenance": provenance(config, data),
        "initial_validation": history["initial_validation"],
        "epochs": history["epochs"],
        "best_epoch": history["best"]["epoch"],
        **({"validation_checks": history.get("checks", [])} if config.validate_every is not None else {}),
        "timings": {
            "total_s": history["session_s"],
            "mean_update_s": float(updates["wall_time_s"].mean()) if len(updates) else None,
            "mean_validation_s": float(np.mean(history["validation_s"])),
        },
    }
    write_json(out_dir / RESULT, result)
    return result


class DeviceUnavailableError(RuntimeError):
    """A run asks for a device (CUDA) this machine does not have."""


def run_or_skip(config: TrainConfig, out_dir: str | Path, skip_unavailable: bool = False, **kwargs) -> dict:
    """Train; a run that asks for CUDA on a machine without it raises, or with ``skip_unavailable`` is recorded skipped.

    The device is checked before anything else (before the "folder already holds a complete
    run" check), so the real reason is what the user sees.
    """
    if not (config.uses_cuda and not cuda_available()):
        return train(config, out_dir, **kwargs)
    if not skip_unavailable:
        raise DeviceUnavailableError(
            f"device {config.device!r} requested, but this machine has no CUDA device (torch {torch.__version__}); "
            "pass --skip-unavailable (skip_unavailable=True) to record the run as skipped instead"
        )
    out_dir = Path(out_dir)
    work = _work_folder(out_dir, kwargs.get("overwrite", False), None)
    result = {"status": "skipped", "reason": SKIP_REASON, "config": config.to_dict(), "provenance": provenance(config)}
    with _publishing(work, out_dir):
        write_json(work / RESULT, result)
    print(f"{SKIP_REASON}: wrote {out_dir / RESULT} with status 'skipped' (device {config.device!r})")
    return result


def _read_run_file(path: Path, read: Callable[[Path], Any]) -> Any:
    """``read(path)``, with any sign of a damaged file turned into an error naming it."""
    try:
        return read(path)
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path}: damaged or truncated ({type(error).__name__}: {error})") from error


def _read_updates(path: Path) -> pd.DataFrame:
    updates = pd.read_csv(path)
    if list(updates.columns) != UPDATE_COLUMNS:
        raise ValueError(f"columns {list(updates.columns)}, expected {UPDATE_COLUMNS}")
    return updates


def _read_predictions(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def load_run(out_dir: str | Path) -> RunRecord:
    """Read a run folder; a folder without ``result.json`` is an incomplete run and an error.

    A complete run holds ``updates.csv`` and ``predictions.npz`` too; a skipped one only ``result.json``.

    Raises:
        FileNotFoundError: ``result.json`` is missing, or a file of a run its result says is complete.
        ValueError: a file is damaged or truncated (the message names it).
    """
    out_dir = Path(out_dir)
    path = out_dir / RESULT
    if not path.is_file():
        raise FileNotFoundError(
            f"{out_dir} has no {RESULT}: the run is incomplete (interrupted or still running) or never ran"
        )
    result = _read_run_file(path, lambda p: json.loads(p.read_text()))
    if not isinstance(result, dict) or "status" not in result:
        raise ValueError(f"{path}: damaged or truncated (no run status)")
    if result["status"] == "complete":
        for name in (UPDATES, PREDICTIONS):
            if not (out_dir / name).is_file():
                raise FileNotFoundError(
                    f"{out_dir / name}: missing, though {RESULT} says the run is complete; "
                    "the run folder is damaged: run it again (`make runs`)"
                )
    updates = _read_run_file(out_dir / UPDATES, _read_updates) if (out_dir / UPDATES).is_file() else None
    predictions = (
        _read_run_file(out_dir / PREDICTIONS, _read_predictions) if (out_dir / PREDICTIONS).is_file() else None
    )
    return RunRecord(result, updates, predictions)


# ---------------------------------------------------------------- replay (verification of a finished run)


def _restored_model(run_dir: Path, epoch: int, cache_dir: str | None) -> tuple[TrainConfig, dict, QRNN, _Task]:
    """The configuration, the small checkpoint of ``epoch`` and a model restored from it, with the task."""
    path = epoch_checkpoint(run_dir, epoch)
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no checkpoint of epoch {epoch} ({path.name}); cannot replay it")
    state = _read_checkpoint(path, ("model", "estimator"))
    config = TrainConfig.from_dict(state["config"] | {"cache_dir": cache_dir})
    _check_data(path, state, data_record(config))
    model = QRNN(config.model_config(), seed=config.seed)
    model.load_state_dict(state["model"])
    if model.estimator is not None:
        model.estimator.load_state_dict(state["estimator"])
    return config, state, model, _load_task(config)


def replay_updates(
    run_dir: str | Path, epoch: int, n_updates: int, cache_dir: str | None = str(DEFAULT_CACHE)
) -> list[float]:
    """Replay the first ``n_updates`` updates of ``epoch`` from the checkpoint at its start; return their losses.

    Under the same code and machine the losses equal the run's ``updates.csv`` bit for bit.

    Args:
        run_dir: a run folder with epoch checkpoints (``checkpoints/epoch_NN.pt``).
        epoch: the epoch to replay, 1 to the run's last.
        n_updates: how many of its updates (at most the updates of one epoch).
        cache_dir: where the Lorenz series is cached.

    Returns:
        The loss of each replayed update, in order.

    Raises:
        FileNotFoundError: the checkpoint at the start of ``epoch`` is missing.
    """
    config, state, model, task = _restored_model(Path(run_dir), epoch - 1, cache_dir)
    optimizer = _optimizer(model, config)
    optimizer.load_state_dict(state["optimizer"])
    model.generator.set_state(state["model_generator"])
    shuffle = torch.Generator()
    shuffle.set_state(state["shuffle_generator"])
    order = torch.randperm(task.train_inputs.shape[0], generator=shuffle)
    batches = order.split(config.batch_size)[:n_updates]
    return [
        update_step(model, optimizer, task.train_inputs[b], task.train_targets[b], config.washout).item()
        for b in batches
    ]


def replay_validation(run_dir: str | Path, epoch: int, cache_dir: str | None = str(DEFAULT_CACHE)) -> dict:
    """Recompute the validation RMSE of ``epoch`` (0: untrained) from the state stored at its end.

    Returns ``rmse_y``, ``rmse_z`` and ``rmse_mean`` as :func:`evaluate` does (shots drawn
    from the generator state saved before that validation, so they are the run's own).
    """
    _, state, model, task = _restored_model(Path(run_dir), epoch, cache_dir)
    model.generator.set_state(state["validation_generator"])
    scores = evaluate(model, task.val_inputs, task.val_targets)
    scores.pop("predictions")
    return scores


# ---------------------------------------------------------------- command line


def _parse_bool(text: str) -> bool:
    """``true``/``yes``/``1`` or ``false``/``no``/``0`` (any case); ``ValueError`` otherwise."""
    value = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(text.lower())
    if value is None:
        raise ValueError(f"expected true or false, got {text!r}")
    return value


def _parse_value(kind: str) -> Callable[[str], object]:
    """Converter for a field annotation such as ``"int | None"``."""
    converters: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str, "bool": _parse_bool}
    base = converters[kind.split("|")[0].strip()]
    if "None" not in kind:
        return base
    return lambda text: None if text.lower() == "none" else base(text)


def build_parser() -> argparse.ArgumentParser:
    """The ``train`` sub-command's options: every TrainConfig field plus run-folder options."""
    parser = argparse.ArgumentParser(
        prog="python -m qrnn_core train", description="Train a QRNN on Lorenz-63 cross-prediction."
    )
    for f in fields(TrainConfig):
        default = f.default if f.default is not MISSING else None
        registered = {"method": f"gradient method: {', '.join(method_names())}"}
        registered["backend"] = f"simulator: {', '.join(backend_names())}"
        registered["system"] = f"data source: {', '.join(source_names())} (None: lorenz, or file with --data)"
        text = registered.get(f.name, f.metadata["help"])
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            *f.metadata.get("aliases", ()),
            dest=f.name,
            type=_parse_value(str(f.type)),
            default=default,
            help=f"{text} (default: {default})",
        )
    parser.add_argument("--out", default=None, help="run folder (default: runs/<method>-<backend>-<timestamp>)")
    parser.add_argument("--resume", default=None, help="checkpoint to continue from (e.g. runs/x/checkpoint_last.pt)")
    parser.add_argument("--overwrite", action="store_true", help="replace a complete run already in --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="on a machine without the requested device (CUDA), write a skipped result instead of failing",
    )
    return parser


# What the command line reports as "error: ..." with exit status 2: bad input, found before any work.
BAD_INPUT = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    PermissionError,
    DeviceUnavailableError,
)


def main(argv: list[str] | None = None) -> int:
    """``python -m qrnn_core train ...``: returns 0 on success, 2 on bad input."""
    args = vars(build_parser().parse_args(argv))
    out, resume, overwrite, no_progress, skip_unavailable = (
        args.pop(k) for k in ("out", "resume", "overwrite", "no_progress", "skip_unavailable")
    )
    try:
        config = TrainConfig(**args)
        out = out or f"runs/{config.method}-{config.backend}-{datetime.now():%Y%m%d-%H%M%S}"
        options = {"resume": resume, "progress": not no_progress, "overwrite": overwrite}
        result = run_or_skip(config, out, skip_unavailable, **options)
    except BAD_INPUT as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if result["status"] == "complete":
        print(f"wrote {out} (best epoch {result['best_epoch']}, total {result['timings']['total_s']:.1f} s)")
    return 0
