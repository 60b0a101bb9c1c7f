"""The device-noise chapter: would the QRNN run on the authors' device (IBM Heron ``ibm_marrakesh``)?

Everything here uses calibrated device snapshots of ``qiskit_ibm_runtime.fake_provider``
offline, through :mod:`qrnn_core.noise`: the time budget of one step, one sequence and one
epoch on the device; the agreement of the fast noisy simulator with Aer's density-matrix
reference and its cost; the validation RMSE of the profile's trained models under noise;
and how fast the memory forgets an input under the device's relaxation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from qrnn_core import torch_simulator
from qrnn_core.data import load_lorenz
from qrnn_core.estimators import EstimatorOptions, method_label, method_spec
from qrnn_core.model import QRNN
from qrnn_core.noise import NoiseModel, aer_noisy_probabilities, load_snapshot, noisy_probabilities, resolve_noise
from qrnn_core.protocol import TRAIN_WINDOWS, VALIDATION_STEPS
from qrnn_core.training import TrainConfig, epoch_checkpoint, evaluate, train

from .. import study
from ..style import RMSE_AXIS, TEXT_WIDTH, method_color

CHAPTER = "device_noise"
MICRO = 1e-6


@dataclass(frozen=True)
class Outputs:
    """The tables the device-noise chapter writes (``build/<profile>/data/device_noise/``)."""

    noise_model: str = "noise_model.csv"
    time_budget: str = "time_budget.csv"
    agreement: str = "agreement.csv"
    cost: str = "cost.csv"
    rmse: str = "rmse_under_noise.csv"
    memory: str = "memory_under_noise.csv"
    training: str = "training_under_noise.csv"
    components: str = "noise_components.csv"
    runs: str = "runs"  # folder of the runs this chapter trains (with and without noise)


OUTPUTS = Outputs()


# ---------------------------------------------------------------- the noise model and the time budget


def noise_model_table(noise: NoiseModel) -> pd.DataFrame:
    """Per QRNN qubit: role, physical qubit, T1/T2 (memory), readout errors, gate errors (depolarizing lambdas)."""
    rows = []
    crx = noise.crx_error
    for k in range(noise.n_qubits):
        memory = k % 2 == 0
        j = k // 2
        row = {
            "snapshot": noise.source,
            "qubit": k,
            "role": "memory" if memory else "readout",
            "physical qubit": None if noise.layout is None else noise.layout[k],
            "T1 (us)": noise.t1[j] / MICRO if memory else None,
            "T2 (us)": noise.t2[j] / MICRO if memory else None,
            "P(read 1 | 0)": None if memory else noise.readout_error[j][0],
            "P(read 0 | 1)": None if memory else noise.readout_error[j][1],
            "rotation layer lambda": noise.layer_error[k],
            "CRX to next lambda": crx[k] if k < len(crx) else None,
            "step duration (us)": noise.step_duration / MICRO,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _instruction_duration(backend, name: str, qubits: list[int]) -> float:
    target = backend.target
    return max(float(target[name][(q,)].duration or 0.0) for q in qubits)


def time_budget_table(
    noise: NoiseModel, backend, shots: int = 1024, steps: int = 20, reported: dict | None = None
) -> pd.DataFrame:
    """Device time of one step, one training and one validation sequence, and one SPSA and FDSA epoch.

    An epoch is ``sequences x evaluations per sequence x shots x sequence duration`` plus one
    validation pass at ``shots``; evaluations per sequence come from the method registry
    (:meth:`qrnn_core.estimators.MethodSpec.evaluations_per_sequence`). With the snapshot's
    default repetition delay each shot waits that long in addition; no other per-circuit
    overhead (compilation, queueing, data transfer) is included: we have no sourced figure.
    """
    readout = [noise.layout[k] for k in range(1, noise.n_qubits, 2)] if noise.layout else []
    measure = _instruction_duration(backend, "measure", readout) if readout else float("nan")
    reset = _instruction_duration(backend, "reset", readout) if readout else float("nan")
    step = noise.step_duration
    conf = backend.configuration() if hasattr(backend, "configuration") else None
    rep_delay = float(getattr(conf, "default_rep_delay", 0.0) or 0.0)
    t1 = np.array(noise.t1)
    rows = [
        ("one step", step / MICRO, "us", "transpiled step, snapshot's instruction durations (ALAP schedule)"),
        ("  of which measurement", measure / MICRO, "us", "longest readout qubit of the chain"),
        ("  of which reset", reset / MICRO, "us", "longest readout qubit of the chain"),
        ("  of which gates", (step - measure - reset) / MICRO, "us", "the rest of the step"),
        (f"training sequence ({steps} steps)", steps * step / MICRO, "us", ""),
        (f"validation sequence ({VALIDATION_STEPS} steps)", VALIDATION_STEPS * step * 1e3, "ms", ""),
        ("memory qubits' T1, shortest", t1.min() / MICRO, "us", ""),
        ("memory qubits' T1, longest", t1.max() / MICRO, "us", ""),
        ("training sequence / shortest T1", steps * step / t1.min(), "ratio", ""),
        ("validation sequence / shortest T1", VALIDATION_STEPS * step / t1.min(), "ratio", ""),
        ("repetition delay per shot", rep_delay / MICRO, "us", "snapshot's default_rep_delay"),
    ]
    options = EstimatorOptions(noise.n_qubits)
    n_params = 2 * (7 * noise.n_qubits - 1)
    paper_hours = (reported or {}).get("per_epoch_hours_paper_table_1_as_printed", {})
    for method in ("spsa", "fdsa"):
        evaluations = method_spec(method).evaluations_per_sequence(options, n_params, steps)
        train_shots = TRAIN_WINDOWS * evaluations * shots
        circuit = train_shots * steps * step + shots * VALIDATION_STEPS * step
        with_delay = circuit + (train_shots + shots) * rep_delay
        label = method_label(method)
        paper = next((v for k, v in paper_hours.items() if k.startswith(label) and "CPU" in k), None)
        note = f"{TRAIN_WINDOWS} sequences x {evaluations} evaluations x {shots} shots + validation"
        if paper is not None:
            note += f"; the paper's simulator epoch: {paper:g} h (CPU)"
        rows.append((f"{label} epoch on the device, circuit time", circuit / 3600, "h", note))
        rows.append((f"{label} epoch with the repetition delay", with_delay / 3600, "h", "plus one delay per shot"))
    return pd.DataFrame(rows, columns=["quantity", "value", "unit", "how"])


# ---------------------------------------------------------------- trained models under noise


def _validation(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_lorenz(config.data_config(), config.cache_dir)
    steps = config.val_length or data.val_inputs.shape[1]
    return torch.from_numpy(data.val_inputs[:, :steps]), torch.from_numpy(data.val_targets[:, :steps])


def restore(run: study.StudyRun, noise: NoiseModel | None) -> tuple[QRNN, TrainConfig]:
    """The run's model at its best epoch, simulated exactly (torch, no shots) under ``noise``."""
    config = TrainConfig.from_dict(run.config)
    path = epoch_checkpoint(run.run_dir, run.best_epoch)
    if not path.is_file():
        path = Path(run.run_dir) / "checkpoint_best.pt"
    state = torch.load(path, map_location="cpu", weights_only=False)
    model_config = replace(config.model_config(), backend="torch", shots=None, device="cpu", noise=noise)
    model = QRNN(model_config, seed=config.seed)
    model.load_state_dict(state["model"])
    return model, config


def rmse_table(
    runs: list[study.StudyRun], noises: dict[str, NoiseModel], scales: dict[str, list[float]]
) -> pd.DataFrame:
    """Validation RMSE of each complete run's best model under each snapshot's noise at each scale.

    Exact distributions (no shot noise), the run's validation steps, washout 0 as in training.
    """
    rows = []
    for run in runs:
        if not run.complete:
            continue
        for name, noise in noises.items():
            for scale in scales[name]:
                model, config = restore(run, noise.scaled(scale))
                inputs, targets = _validation(config)
                scores = evaluate(model, inputs, targets)
                rows.append(
                    {
                        "run": run.label,
                        "method": run.method,
                        "snapshot": name,
                        "noise scale": scale,
                        "validation steps": inputs.shape[1],
                        "rmse_y": scores["rmse_y"],
                        "rmse_z": scores["rmse_z"],
                        "rmse_mean": scores["rmse_mean"],
                        "noiseless rmse_mean (recorded)": run.epochs.set_index("epoch").loc[
                            run.best_epoch, "val_rmse_mean"
                        ],
                    }
                )
    return pd.DataFrame(rows)


def components(noise: NoiseModel) -> dict[str, NoiseModel]:
    """The noise split into its parts, each alone: readout (assignment and reset), relaxation, gate errors."""
    values = noise.to_dict()
    half, n = noise.n_qubits // 2, noise.n_qubits
    no_readout = {"readout_error": [[0.0, 0.0]] * half, "reset_error": [0.0] * half}
    no_relaxation = {"t1": [None] * half, "t2": [None] * half}
    no_gates = {"layer_error": [0.0] * n, "crx_error": [0.0] * (n - 1)}
    return {
        "all": noise,
        "readout and reset only": NoiseModel.from_dict(values | no_relaxation | no_gates),
        "relaxation only": NoiseModel.from_dict(values | no_readout | no_gates),
        "gate errors only": NoiseModel.from_dict(values | no_readout | no_relaxation),
    }


def components_table(runs: list[study.StudyRun], noise: NoiseModel) -> pd.DataFrame:
    """Validation RMSE of each complete run under each part of the noise alone (exact distributions), long format.

    The chapter writes it wide (:attr:`Outputs.components`: ``run`` and one column per part, ``none`` included).
    """
    rows = []
    for run in runs:
        if not run.complete:
            continue
        for part, model_noise in ({"none": None} | components(noise)).items():
            model, config = restore(run, model_noise)
            inputs, targets = _validation(config)
            rmse = evaluate(model, inputs, targets)["rmse_mean"]
            rows.append({"run": run.label, "method": run.method, "noise": part, "rmse_mean": rmse})
    return pd.DataFrame(rows)


def rmse_figure(table: pd.DataFrame, snapshot: str, baselines: pd.DataFrame | None) -> Figure:
    """Validation mean RMSE against noise scale per run (other snapshots: crosses), classical baselines as lines."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH, 3.4), layout="constrained")
    shown = table[table["snapshot"] == snapshot]
    for run, part in shown.groupby("run", sort=False):
        ax.plot(
            part["noise scale"], part["rmse_mean"], marker="o", label=run, color=method_color(part["method"].iloc[0])
        )
    others = table[table["snapshot"] != snapshot]
    for (run, name), part in others.groupby(["run", "snapshot"], sort=False):
        color = method_color(part["method"].iloc[0])
        ax.plot(part["noise scale"], part["rmse_mean"], ls="", marker="x", ms=8, color=color, label=f"{run}, {name}")
    if baselines is not None:
        classical = baselines[baselines["kind"] == "classical"]
        for i, (_, row) in enumerate(classical.iterrows()):
            ax.axhline(row["rmse_mean"], ls=":", lw=1, color=f"C{(i + 5) % 10}", label=f"{row['model']} (baseline)")
    ax.set_xlabel(f"noise scale (1 = {snapshot})")
    ax.set_ylabel(f"validation {RMSE_AXIS}")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# ---------------------------------------------------------------- the simulators: agreement and cost


def model_angles(model: QRNN, inputs: torch.Tensor) -> np.ndarray:
    """The circuit angles (B, T, P) a model feeds its simulator for ``inputs`` (B, T, F), in double precision."""
    with torch.no_grad():
        angles = model.input_layer(inputs.to(model.input_layer.weight))
        if model.angle_mask is not None:
            angles = angles * model.angle_mask.to(angles)
    return angles.double().numpy()


def agreement_table(
    noise: NoiseModel,
    trained: tuple[QRNN, TrainConfig] | None = None,
    sequences: int = 3,
    steps: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Largest per-step difference of the fast channels from Aer's density-matrix reference.

    Cases: random angles (uniform in [-pi, pi]) and, with ``trained``, the trained model's
    angles on the first validation windows. Columns: the fast path as used (initial
    readout flips lumped), with every initial bit string summed (only the CRX lumping left),
    and the same with the CRX errors set to zero (every channel placed exactly), against the
    noise's own effect (noiseless against the reference).
    """
    rng = np.random.default_rng(seed)
    cases = {"random angles": rng.uniform(-np.pi, np.pi, (sequences, steps, 7 * noise.n_qubits - 1))}
    if trained is not None:
        inputs, _ = _validation(trained[1])
        usable = min(sequences, inputs.shape[1] // steps)
        x = inputs[:, : usable * steps].reshape(usable, steps, -1)
        cases["trained weights"] = model_angles(trained[0], x)
    exact_crx = NoiseModel.from_dict(noise.to_dict() | {"crx_error": [0.0] * (noise.n_qubits - 1)})
    rows = []
    for case, angles in cases.items():
        t = torch.from_numpy(angles)
        reference = aer_noisy_probabilities(angles, noise)
        reference_exact = aer_noisy_probabilities(angles, exact_crx)
        full = noise.n_qubits // 2
        rows.append(
            {
                "case": case,
                "sequences x steps": f"{angles.shape[0]} x {angles.shape[1]}",
                "fast (as used) vs reference": np.abs(noisy_probabilities(t, noise).numpy() - reference).max(),
                "fast, all initial bit strings": np.abs(
                    noisy_probabilities(t, noise, max_flips=full).numpy() - reference
                ).max(),
                "exact placement (no CRX error)": np.abs(
                    noisy_probabilities(t, exact_crx, max_flips=full).numpy() - reference_exact
                ).max(),
                "noiseless vs reference": np.abs(
                    torch_simulator.probabilities(t, noise.n_qubits).numpy() - reference
                ).max(),
            }
        )
    return pd.DataFrame(rows)


def best_times(calls: list, repeats: int) -> list[float]:
    """The fastest of ``repeats`` timings of each call, the calls interleaved (after one warm-up each).

    Interleaving exposes every call to the same background load on a shared machine.
    """
    for call in calls:
        call()
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for i, call in enumerate(calls):
            start = time.perf_counter()
            call()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def cost_table(
    noise: NoiseModel, batch: int = 64, steps: int = 20, val_steps: int = VALIDATION_STEPS, repeats: int = 5
) -> pd.DataFrame:
    """Seconds per forward pass of the noiseless and the noisy torch path (single precision), same process."""
    n = noise.n_qubits
    generator = torch.Generator().manual_seed(0)
    shapes = {
        f"training batch ({batch} x {steps} steps)": (batch, steps),
        f"validation (1 x {val_steps})": (1, val_steps),
    }
    rows = []
    for what, shape in shapes.items():
        angles = (torch.rand(*shape, 7 * n - 1, generator=generator) * 2 - 1) * np.pi
        clean, noisy = best_times(
            [lambda a=angles: torch_simulator.probabilities(a, n), lambda a=angles: noisy_probabilities(a, noise)],
            repeats,
        )
        rows.append({"forward pass": what, "noiseless (s)": clean, "noisy (s)": noisy, "ratio": noisy / clean})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- memory under noise


def forgetting(model: QRNN, inputs: torch.Tensor, noise: NoiseModel | None, threshold: float = 0.01) -> dict:
    """How many steps the output distributions remember a change of the first input.

    Two copies of ``inputs`` (1, T, F) differ only at step 0 (``x -> 1 - x`` in scaled
    units); the total-variation distance of their per-step distributions is followed
    until it stays below ``threshold`` times its value at step 0.
    """
    other = inputs.clone()
    other[:, 0] = 1 - other[:, 0]
    angles = torch.from_numpy(model_angles(model, torch.cat([inputs, other])))
    n = model.config.n_qubits
    probs = torch_simulator.probabilities(angles, n) if noise is None else noisy_probabilities(angles, noise)
    distance = 0.5 * (probs[0] - probs[1]).abs().sum(-1).numpy()
    above = np.nonzero(distance >= threshold * distance[0])[0]
    return {"distance at step 0": distance[0], "steps to forget": int(above.max()) + 1, "distance": distance}


def memory_table(
    run: study.StudyRun, noise: NoiseModel, scales: list[float], steps: int = 200, window: int | None = None
) -> pd.DataFrame:
    """Steps for the trained model's outputs to forget its first input, at each noise scale, beside pure relaxation.

    ``relaxation alone`` is ``T1 / step duration`` of the memory qubit with the shortest T1:
    the steps over which relaxation alone shrinks its excited population by ``1/e``. ``window``:
    the past x values the best delay-window baseline uses (:func:`useful_memory`), repeated per row.
    """
    model, config = restore(run, None)
    inputs, _ = _validation(config)
    inputs = inputs[:, :steps]
    rows = []
    for scale in scales:
        result = forgetting(model, inputs, None if scale == 0 else noise.scaled(scale))
        step = noise.step_duration
        rows.append(
            {
                "run": run.label,
                "noise scale": scale,
                "steps to forget (1 % of the first step's distance)": result["steps to forget"],
                "relaxation alone: T1 / step (steps)": min(noise.t1) / (step * scale) if scale else np.inf,
                "steps followed": inputs.shape[1],
                "best delay-window baseline's window": window,
            }
        )
    return pd.DataFrame(rows)


def useful_memory(profile: str, root: str | Path | None = None) -> int | None:
    """The delay window (past x values) of the best-found linear baseline, or ``None`` if the baselines did not run."""
    from .baselines import load_tuned

    try:
        _, choices = load_tuned(profile, root)
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    for _, row in choices.iterrows():
        if row["family"] == "linear":
            return int(row["hyper"]["window"])
    return None


# ---------------------------------------------------------------- training under noise


def training_table(
    runs: list[study.StudyRun],
    snapshot: str,
    out_dir: str | Path,
    n_train: int | None,
    epochs: int,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Train each run's configuration twice, without and with the snapshot's noise, and score both ways.

    Both trainings use the run's settings (method, shots, seed, learning rate) with ``n_train``
    sequences (``None``: the run's) and ``epochs`` epochs, so they differ only in the noise;
    each best model is then evaluated on the validation sequence without noise and under the
    noise (exact distributions). The run folders go under ``out_dir``.
    """
    noise = resolve_noise(snapshot, 8, scale)
    rows = []
    for run in runs:
        if not run.complete:
            continue
        base = TrainConfig.from_dict(run.config)
        sequences = base.n_train if n_train is None else n_train
        for noisy in (False, True):
            config = replace(
                base,
                n_train=sequences,
                epochs=epochs,
                noise=snapshot if noisy else None,
                noise_scale=scale if noisy else 1.0,
            )
            folder = Path(out_dir) / f"{run.name}-{'noisy' if noisy else 'noiseless'}"
            result = train(config, folder, progress=False, overwrite=True, log=None)
            trained = study.run_from_folder(folder, f"{run.label}, trained {'with' if noisy else 'without'} noise")
            clean_model, task_config = restore(trained, None)
            inputs, targets = _validation(task_config)
            noisy_model, _ = restore(trained, noise)
            rows.append(
                {
                    "run": run.label,
                    "method": run.method,
                    "trained with noise": noisy,
                    "sequences x epochs": f"{sequences or TRAIN_WINDOWS} x {epochs}",
                    "training time (s)": result["timings"]["total_s"],
                    "validation RMSE, noiseless": evaluate(clean_model, inputs, targets)["rmse_mean"],
                    f"validation RMSE, {snapshot} x {scale:g}": evaluate(noisy_model, inputs, targets)["rmse_mean"],
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- reading back and findings


def load(profile: str, root: str | Path | None = None) -> dict[str, pd.DataFrame | None]:
    """The chapter's tables by :class:`Outputs` field (``None`` where not written)."""
    names = [name for name in Outputs.__dataclass_fields__ if getattr(OUTPUTS, name).endswith(".csv")]
    return {name: study.read_output(profile, CHAPTER, getattr(OUTPUTS, name), root) for name in names}


def findings(profile: str, root: str | Path | None = None) -> tuple[str, str]:
    """One front-page sentence and one discussion paragraph, computed from the chapter's tables."""
    tables = load(profile, root)
    budget, rmse, cost, agreement = tables["time_budget"], tables["rmse"], tables["cost"], tables["agreement"]
    if budget is None or rmse is None:
        missing = study.missing_output(CHAPTER, OUTPUTS.time_budget if budget is None else OUTPUTS.rmse)
        return missing, missing
    value = budget.set_index("quantity")["value"]
    step_us = value["one step"]
    spsa_h = value["SPSA epoch on the device, circuit time"]
    fdsa_h = value["FDSA epoch on the device, circuit time"]
    main = rmse[(rmse["noise scale"] == 1.0)]
    snapshot = main["snapshot"].iloc[0] if len(main) else "the snapshot"
    at_one = main[main["snapshot"] == snapshot]
    ours = rmse[rmse["snapshot"] == snapshot]
    noiseless = ours[ours["noise scale"] == 0].set_index("run")["rmse_mean"].to_dict()
    recorded = ours.set_index("run")["noiseless rmse_mean (recorded)"].to_dict()
    scores = "; ".join(
        f"{r['run']} {r['rmse_mean']:.3f} (noiseless {noiseless.get(r['run'], recorded[r['run']]):.3f})"
        for _, r in at_one.iterrows()
    )
    spsa_delay = value["SPSA epoch with the repetition delay"]
    fdsa_delay = value["FDSA epoch with the repetition delay"]
    sentence = (
        f"On {snapshot}'s calibration one QRNN step takes {step_us:.1f} µs, an SPSA epoch {spsa_h:.1f} h and an "
        f"FDSA epoch {fdsa_h:.0f} h of circuit time at 1,024 shots ({spsa_delay:.1f} h and {fdsa_delay:.0f} h with "
        f"the default repetition delay); validation RMSE of the trained models under its noise: "
        f"{scores or 'no complete run'}."
    )
    parts = [sentence]
    if agreement is not None and len(agreement):
        parts.append(
            f"The fast noisy simulator agrees with Aer's density matrix to "
            f"{agreement['fast (as used) vs reference'].max():.1e} per step (every channel placed exactly: "
            f"{agreement['exact placement (no CRX error)'].max():.1e}); the noise itself moves the distributions by "
            f"up to {agreement['noiseless vs reference'].max():.1e}."
        )
    if cost is not None and len(cost):
        parts.append(f"It costs {cost['ratio'].min():.1f}-{cost['ratio'].max():.1f}x the noiseless forward pass.")
    parts_table = tables["components"]
    if parts_table is not None and len(parts_table):
        wide = parts_table.set_index("run")  # written wide: one column per part of the noise
        if {"none", "relaxation only", "all"} <= set(wide.columns):
            listed = "; ".join(
                f"{run} {row['none']:.3f} -> {row['relaxation only']:.3f} (all noise {row['all']:.3f})"
                for run, row in wide.iterrows()
            )
            parts.append(f"The memory qubits' relaxation alone moves validation RMSE as follows: {listed}.")
    memory = tables["memory"]
    if memory is not None and len(memory):
        by = memory.set_index("noise scale")
        forget = "steps to forget (1 % of the first step's distance)"
        if 0.0 in by.index and 1.0 in by.index:
            followed = int(by["steps followed"].iloc[0])
            clean, noisy = (
                f"not within {followed}"
                if by.loc[scale, forget] >= followed
                else f"within {int(by.loc[scale, forget])}"
                for scale in (0.0, 1.0)
            )
            window = by["best delay-window baseline's window"].iloc[0]
            parts.append(
                f"The trained model's outputs forget a changed first input {clean} steps without noise and "
                f"{noisy} under it (relaxation alone: T1 / step = "
                f"{by.loc[1.0, 'relaxation alone: T1 / step (steps)']:.0f} steps)"
                + (f"; the best delay-window baseline uses {int(window)} past x values." if pd.notna(window) else ".")
            )
    top = ours["noise scale"].max()
    if top > 1:
        at_top = ours[ours["noise scale"] == top]
        listed = ", ".join(f"{r['run']} {r['rmse_mean']:.3f}" for _, r in at_top.iterrows())
        parts.append(f"At {top:g} times the noise: {listed}.")
    training = tables["training"]
    if training is not None and len(training):
        noisy_column = [c for c in training.columns if c.startswith("validation RMSE, ") and "noiseless" not in c][0]
        for run, part in training.groupby("run", sort=False):
            by = part.set_index("trained with noise")[noisy_column]
            if True in by.index and False in by.index:
                size = part["sequences x epochs"].iloc[0]
                parts.append(
                    f"{run[:1].upper() + run[1:]} trained under the noise ({size} sequences x epochs) scores "
                    f"{by[True]:.3f} under it, against {by[False]:.3f} for the same training without noise."
                )
    else:
        parts.append("Training under noise was not run in this build.")
    return sentence, " ".join(parts)


def snapshot_noise(name: str, n_qubits: int) -> tuple[NoiseModel, object]:
    """A snapshot's noise model (scale 1) with its backend object."""
    return resolve_noise(name, n_qubits), load_snapshot(name)
