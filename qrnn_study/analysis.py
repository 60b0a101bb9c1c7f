"""Analyses beyond the paper: gradient quality, parameter-shift, seed statistics, backend agreement.

Gradient quality compares, sequence by sequence, each estimator's estimate of the
input-layer gradient of the training loss with the exact one (autograd through the
exact simulator). The estimators run through their public two-stage API
(:meth:`~qrnn_core.estimators.GradientEstimator.plan` / ``combine``): the exact
distributions of a plan's points are computed once and shot noise is then drawn from
them, ``shots`` samples per step, exactly as the torch backend does in training. The
unperturbed forward is sampled as well, so ``g = dLoss/dp`` carries shot noise too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from qrnn_core.checks import check_int, check_number
from qrnn_core.circuit import angles_per_step, final_readout_rz_angles, step_gates
from qrnn_core.data import load_lorenz
from qrnn_core.estimators import EstimatorOptions, GradientEstimator, ParameterShift, input_angles, method_spec
from qrnn_core.model import QRNN
from qrnn_core.protocol import VALIDATION_STEPS
from qrnn_core.simulate import check_shots, sample_frequencies, simulate
from qrnn_core.training import CHECKPOINT_LAST, TrainConfig, masked_mse, provenance, train

from .study import StudyRun
from .study import machine as study_machine


def machine_text() -> str:
    """This machine in words, for captions: CPU model, torch threads and cores."""
    device = provenance(TrainConfig())["device"]
    return f"{device['cpu']} ({device['torch_threads']} torch threads, {os.cpu_count()} cores), no GPU used"


# ---------------------------------------------------------------- gradient quality


def cosine_similarity(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Cosine of the angle between vectors along the last dimension (0 where one is zero)."""
    norms = estimate.norm(dim=-1) * reference.norm(dim=-1)
    dots = (estimate * reference).sum(dim=-1)
    return torch.where(norms > 0, dots / norms.clamp_min(torch.finfo(norms.dtype).tiny), torch.zeros_like(dots))


def relative_error(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``|estimate - reference| / |reference|`` along the last dimension."""
    return (estimate - reference).norm(dim=-1) / reference.norm(dim=-1)


@dataclass(frozen=True)
class EstimatorSetting:
    """One gradient estimator with its hyper-parameters."""

    method: str
    epsilon: float = 0.1
    spsa_samples: int = 2

    def options(self, n_qubits: int = 8) -> EstimatorOptions:
        """The estimator options of this setting."""
        return EstimatorOptions(n_qubits=n_qubits, epsilon=self.epsilon, spsa_samples=self.spsa_samples)

    @property
    def label(self) -> str:
        """The method's label with the options it uses, e.g. ``SPSA (eps 0.1, 2 samples)``."""
        return method_spec(self.method).describe(self.options())

    def estimator(self, n_qubits: int) -> GradientEstimator:
        """The estimator (``ValueError`` for a method without one, such as 'exact')."""
        estimator = method_spec(self.method).build(self.options(n_qubits))
        if estimator is None:
            raise ValueError(f"setting.method must be a method with an estimator, not {self.method!r} (autograd)")
        return estimator


def _sequence_g(model: QRNN, probs: torch.Tensor, targets: torch.Tensor, washout: int) -> torch.Tensor:
    """``dLoss/dp`` (1, T, M) of one sequence's training loss at distributions ``probs``."""
    probs = probs.detach().requires_grad_(True)
    loss = masked_mse(model.output_layer(probs), targets, washout)
    return torch.autograd.grad(loss, probs)[0]


def exact_gradients(model: QRNN, features: torch.Tensor, targets: torch.Tensor, washout: int) -> torch.Tensor:
    """Exact input-layer gradient (weight then bias, flattened) of each sequence's loss: (B, n_params)."""
    weight, bias = model.input_layer.weight, model.input_layer.bias
    rows = []
    for b in range(features.shape[0]):
        probs = simulate(input_angles(weight, bias, features[b : b + 1]), "torch", n_qubits=model.config.n_qubits)
        loss = masked_mse(model.output_layer(probs), targets[b : b + 1], washout)
        d_weight, d_bias = torch.autograd.grad(loss, (weight, bias))
        rows.append(torch.cat([d_weight.flatten(), d_bias]))
    return torch.stack(rows).detach()


def estimated_gradients(
    model: QRNN,
    features: torch.Tensor,
    targets: torch.Tensor,
    washout: int,
    setting: EstimatorSetting,
    shots: list[int | None],
    repeats: int,
    seed: int,
) -> tuple[torch.Tensor, int]:
    """Estimates of each sequence's input-layer gradient: (len(shots), repeats, B, n_params).

    Also returns the sequence evaluations one estimate costs (the plan's points plus the
    forward). Deterministic plans (FDSA, parameter-shift) are evaluated once; SPSA draws
    new directions for every repeat.
    """
    for s in shots:
        check_shots(s)
    n_qubits = model.config.n_qubits
    estimator = setting.estimator(n_qubits)
    weight, bias = model.input_layer.weight.detach(), model.input_layer.bias.detach()
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = torch.empty(len(shots), repeats, features.shape[0], weight.numel() + bias.numel(), dtype=weight.dtype)
    with torch.no_grad():
        for b in range(features.shape[0]):
            feats, targs = features[b : b + 1], targets[b : b + 1]
            forward = simulate(input_angles(weight, bias, feats), "torch", n_qubits=n_qubits)
            plan = None
            for r in range(repeats):
                if plan is None or method_spec(setting.method).stochastic:
                    plan = estimator.plan(weight, bias, feats, generator)
                    points = simulate(plan.angles.flatten(0, 1), "torch", n_qubits=n_qubits).unflatten(
                        0, plan.angles.shape[:2]
                    )
                for i, s in enumerate(shots):
                    noisy_forward = forward if s is None else sample_frequencies(forward, s, int(rng.integers(2**31)))
                    noisy_points = points if s is None else sample_frequencies(points, s, int(rng.integers(2**31)))
                    with torch.enable_grad():
                        g = _sequence_g(model, noisy_forward, targs, washout)
                    d_weight, d_bias = plan.combine(noisy_points, g)
                    out[i, r, b] = torch.cat([d_weight.flatten(), d_bias])
    return out, plan.evaluations + 1


def gradient_quality(
    model: QRNN,
    features: torch.Tensor,
    targets: torch.Tensor,
    washout: int,
    settings: list[EstimatorSetting],
    shots: list[int | None],
    repeats: int,
    seed: int,
) -> pd.DataFrame:
    """Cosine similarity and relative error to the exact gradient, one row per estimate.

    Columns: estimator, method, epsilon, spsa_samples, shots (0 = exact distributions),
    repeat, sequence, cosine, relative_error, evaluations (per sequence and update).
    """
    reference = exact_gradients(model, features, targets, washout)
    frames = []
    for k, setting in enumerate(settings):
        estimates, evaluations = estimated_gradients(
            model, features, targets, washout, setting, shots, repeats, seed + k
        )
        cos = cosine_similarity(estimates, reference).numpy()
        rel = relative_error(estimates, reference).numpy()
        index = pd.MultiIndex.from_product(
            [[s or 0 for s in shots], range(repeats), range(features.shape[0])], names=["shots", "repeat", "sequence"]
        )
        frame = pd.DataFrame({"cosine": cos.ravel(), "relative_error": rel.ravel()}, index=index).reset_index()
        frames.append(
            frame.assign(
                estimator=setting.label,
                method=setting.method,
                epsilon=setting.epsilon,
                spsa_samples=setting.spsa_samples,
                evaluations=evaluations,
            )
        )
    return pd.concat(frames, ignore_index=True)


def summarize_quality(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and standard error (over repeats and sequences) of cosine and relative error per group."""
    grouped = frame.groupby(by)
    summary = grouped[["cosine", "relative_error"]].agg(["mean", "sem"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary["evaluations"] = grouped["evaluations"].first()
    summary["estimates"] = grouped.size()
    return summary.reset_index()


def fdsa_fidelity_statement(frame: pd.DataFrame, shots: int = 1024, epsilon: float = 0.1) -> str:
    """Where FDSA stops being the "higher-fidelity" estimator: FDSA vs SPSA under ``shots``, in words.

    Compares FDSA (``epsilon``) with SPSA (same ``epsilon``, 2 samples, the paper's
    setting) and with SPSA at FDSA's cost (as many samples as parameters), when present,
    with exact distributions and with ``shots`` shots.
    """
    rows = frame[np.isclose(frame["epsilon"], epsilon)]
    summary = summarize_quality(rows, ["method", "spsa_samples", "shots"]).set_index(
        ["method", "spsa_samples", "shots"]
    )
    fdsa = summary.xs("fdsa", level="method")
    n_params = int(fdsa["evaluations"].iloc[0] - 1) // 2
    parts = []
    for s in (0, shots):
        if s not in fdsa.index.get_level_values("shots"):
            return f"no FDSA estimates at {s or 'exact'} shots and epsilon {epsilon:g}"
        f = fdsa.xs(s, level="shots").iloc[0]
        where = "exact distributions" if s == 0 else f"{s} shots per step"
        line = f"with {where}: FDSA cosine {f.cosine_mean:.3f} ± {f.cosine_sem:.3f} ({int(f.evaluations)} evaluations)"
        for samples in (2, n_params):
            key = ("spsa", samples, s)
            if key in summary.index:
                p = summary.loc[key]
                line += (
                    f"; SPSA with {samples} samples {p.cosine_mean:.3f} ± {p.cosine_sem:.3f} "
                    f"({int(p.evaluations)} evaluations)"
                )
        parts.append(line)
    f_shots = fdsa.xs(shots, level="shots").iloc[0]
    verdict = []
    for samples in (2, n_params):
        key = ("spsa", samples, shots)
        if key not in summary.index:
            continue
        p = summary.loc[key]
        gap = f_shots.cosine_mean - p.cosine_mean
        noise = 2 * np.hypot(f_shots.cosine_sem, p.cosine_sem)
        if gap > noise:
            word = "still gives the better gradient direction than"
        elif gap < -noise:
            word = "gives a WORSE gradient direction than"
        else:
            word = "is indistinguishable (within 2 standard errors) from"
        verdict.append(f"FDSA {word} SPSA with {samples} samples ({gap:+.3f} in cosine similarity)")
    return f"At epsilon {epsilon:g}, " + "; ".join(parts) + ". Under shot noise: " + "; ".join(verdict) + "."


def quality_points(seed: int, pretrain_sequences: int, out_dir: str | Path) -> dict[str, QRNN]:
    """The parameter points the gradient-quality chapter scores estimators at, by name.

    The initial parameters (seed ``seed``) and the parameters after ``pretrain_sequences``
    exact-gradient updates (one epoch over that many evenly spaced sequences, double
    precision, validated on 50 steps), trained into ``out_dir`` (replaced).
    """
    check_int("pretrain_sequences", pretrain_sequences, 1)
    config = TrainConfig(
        method="exact", precision="double", n_train=pretrain_sequences, val_length=50, epochs=1, seed=seed
    )
    train(config, out_dir, progress=False, overwrite=True, log=None)
    trained = QRNN(config.model_config(), seed=seed)
    trained.load_state_dict(torch.load(Path(out_dir) / CHECKPOINT_LAST, weights_only=False)["model"])
    return {
        "initial parameters": QRNN(config.model_config(), seed=seed),
        f"after {pretrain_sequences} exact-gradient updates": trained,
    }


def training_sample(config: TrainConfig, n_sequences: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_sequences`` training windows evenly spaced over the pool (double): features (B, T, C), targets (B, T, 2)."""
    data = load_lorenz(config.data_config(), config.cache_dir)
    check_int("n_sequences", n_sequences, 1, len(data.train_inputs))
    index = np.linspace(0, len(data.train_inputs) - 1, n_sequences).round().astype(int)
    return (
        torch.tensor(data.train_inputs[index], dtype=torch.float64),
        torch.tensor(data.train_targets[index], dtype=torch.float64),
    )


def quality_settings(
    epsilons: list[float], spsa_samples: list[int], n_params: int, equal_cost_spsa: bool, include_param_shift: bool
) -> list[EstimatorSetting]:
    """The chapter's estimator grid: FDSA and 2-sample SPSA at every epsilon; SPSA at epsilon 0.1 with every number
    of samples (and ``n_params`` samples, FDSA's cost, with ``equal_cost_spsa``); parameter-shift if asked."""
    S = EstimatorSetting
    settings = {S("fdsa", e) for e in epsilons} | {S("spsa", e, 2) for e in epsilons}
    settings |= {S("spsa", 0.1, m) for m in [*spsa_samples, *([n_params] if equal_cost_spsa else [])]}
    settings |= {S("param-shift")} if include_param_shift else set()
    return sorted(settings, key=lambda s: (s.method, s.epsilon, s.spsa_samples))


def epsilon_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """FDSA and 2-sample SPSA per parameter point, epsilon and shots (:func:`summarize_quality`)."""
    rows = frame[(frame["method"] == "fdsa") | ((frame["method"] == "spsa") & (frame["spsa_samples"] == 2))]
    return summarize_quality(rows, ["point", "estimator", "method", "epsilon", "shots"])


def samples_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Every estimator at epsilon 0.1 (and parameter-shift) per parameter point and shots, with its cost."""
    rows = frame[np.isclose(frame["epsilon"], 0.1) | (frame["method"] == "param-shift")]
    return summarize_quality(rows, ["point", "method", "epsilon", "spsa_samples", "shots", "estimator"])


def shots_summary(frame: pd.DataFrame, n_params: int) -> pd.DataFrame:
    """FDSA, 2-sample SPSA and ``n_params``-sample SPSA at epsilon 0.1, per parameter point, estimator and shots."""
    keep = np.isclose(frame["epsilon"], 0.1) & (
        (frame["method"] == "fdsa") | ((frame["method"] == "spsa") & frame["spsa_samples"].isin([2, n_params]))
    )
    return summarize_quality(frame[keep], ["point", "estimator", "shots"])


# ---------------------------------------------------------------- parameter-shift at the angle level


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


# ---------------------------------------------------------------- seeds

# The columns of build/<profile>/data/shots_and_seeds/seeds.csv (shots 0 = exact distributions).
SEED_COLUMNS = ["variant", "method", "shots", "seed", "epoch", "n_train", "rmse_y", "rmse_z", "rmse_mean"]
# Training settings a profile's main run may differ in and still count as one more seed of a sweep variant.
SEED_FREE_KEYS = ("seed", "epochs", "cache_dir")


def _run_rows(run: StudyRun, variant: str, epochs: int) -> list[dict]:
    """Rows of :data:`SEED_COLUMNS` (plus ``run``) for epochs 0..``epochs`` of a complete run."""
    config = run.record.result["config"]
    n_train = config["n_train"] or int(run.record.updates["epoch"].eq(1).sum()) * config["batch_size"]
    table = run.epochs[run.epochs["epoch"] <= epochs]
    return [
        {
            "variant": variant,
            "method": config["method"],
            "shots": config["shots"] or 0,
            "seed": config["seed"],
            "epoch": int(row.epoch),
            "n_train": n_train,
            "rmse_y": row.val_rmse_y,
            "rmse_z": row.val_rmse_z,
            "rmse_mean": row.val_rmse_mean,
            "run": run.name,
        }
        for row in table.itertuples()
    ]


def _variant_key(run: StudyRun) -> dict:
    """A complete run's training configuration without the settings a seed variant leaves free."""
    return {k: v for k, v in run.record.result["config"].items() if k not in SEED_FREE_KEYS}


def seed_table(runs: list[StudyRun], sweep: str = "seeds", include_main: bool = True) -> pd.DataFrame:
    """Per-epoch validation RMSE of every complete run of ``sweep``, one row per run and epoch (0 = untrained).

    A variant is a sweep case (its ``run_label``). With ``include_main``, a complete run
    of the profile outside any sweep whose training configuration equals a variant's but
    for :data:`SEED_FREE_KEYS`, whose
    seed is not yet among it and which ran at least as many epochs, counts as one more
    seed of that variant, cut to the variant's epochs (training is deterministic epoch by
    epoch, so its first epochs are what the shorter run gives). Columns: :data:`SEED_COLUMNS`
    and ``run`` (the run's name).
    """
    members = [run for run in runs if run.params.get("sweep") == sweep and run.complete]
    variants: dict[str, dict] = {}
    for run in members:
        variants.setdefault(run.label, {"key": _variant_key(run), "epochs": run.params["epochs"], "runs": []})[
            "runs"
        ].append(run)
    rows = []
    for variant, spec in variants.items():
        seeds = {run.params["seed"] for run in spec["runs"]}
        for run in spec["runs"]:
            rows += _run_rows(run, variant, spec["epochs"])
        if not include_main:
            continue
        for run in runs:
            if (
                "sweep" not in run.params
                and run.complete
                and _variant_key(run) == spec["key"]
                and run.params["seed"] not in seeds
                and run.params["epochs"] >= spec["epochs"]
            ):
                seeds.add(run.params["seed"])
                rows += _run_rows(run, variant, spec["epochs"])
    return pd.DataFrame(rows, columns=[*SEED_COLUMNS, "run"])


def seed_summary(frame: pd.DataFrame, column: str = "rmse_mean") -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum of ``column`` across seeds, per variant and epoch."""
    summary = frame.groupby(["variant", "epoch"], sort=False)[column].agg(["mean", "std", "min", "max", "count"])
    return summary.rename(columns={"count": "seeds"}).reset_index()


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its two-sided Student-t interval: ``(mean, low, high)``; infinite bounds with fewer than 2 values.

    Example:
        >>> t_interval(np.array([1.0, 2.0, 3.0]))[0]
        2.0
    """
    values = _sample(values)
    check_number("level", level, 0.5, 0.999)
    mean = float(values.mean())
    if values.size < 2:
        return mean, -np.inf, np.inf
    half = float(stats.t.ppf((1 + level) / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    return mean, mean - half, mean + half


def welch_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` and its Welch t-interval; infinite bounds if a side has < 2 values."""
    a, b = _sample(a), _sample(b)
    check_number("level", level, 0.5, 0.999)
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, -np.inf, np.inf
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(stats.t.ppf((1 + level) / 2, dof) * se)
    return diff, diff - half, diff + half


def sd_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Sample SD and its chi-square interval (normal data): ``(sd, low, high)``; ``(0, 0, inf)`` for one value."""
    values = _sample(values)
    check_number("level", level, 0.5, 0.999)
    if values.size < 2:
        return 0.0, 0.0, np.inf
    dof = values.size - 1
    sd = float(values.std(ddof=1))
    low = sd * np.sqrt(dof / stats.chi2.ppf((1 + level) / 2, dof))
    high = sd * np.sqrt(dof / stats.chi2.ppf((1 - level) / 2, dof))
    return sd, float(low), float(high)


def sd_ratio_interval(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Ratio of sample SDs ``sd(a) / sd(b)`` and its F-distribution interval; ``(nan, 0, inf)`` when undefined."""
    a, b = _sample(a), _sample(b)
    check_number("level", level, 0.5, 0.999)
    if a.size < 2 or b.size < 2 or b.std(ddof=1) == 0.0:
        return float("nan"), 0.0, np.inf
    ratio = float(a.std(ddof=1) / b.std(ddof=1))
    da, db = a.size - 1, b.size - 1
    low = ratio / np.sqrt(stats.f.ppf((1 + level) / 2, da, db))
    high = ratio / np.sqrt(stats.f.ppf((1 - level) / 2, da, db))
    return ratio, float(low), float(high)


def share_interval(hits: int, n: int, level: float = 0.95, one_sided: bool = False) -> tuple[float, float, float]:
    """Share ``hits / n`` and its exact (Clopper-Pearson) binomial interval.

    With ``one_sided`` each bound is the one-sided ``level`` bound (the lower bound is the one
    to compare with a threshold the share should exceed, the upper one with a threshold it
    should stay below).

    Example:
        >>> round(share_interval(5, 5, one_sided=True)[1], 3)
        0.549
    """
    check_int("n", n, 1)
    check_int("hits", hits, 0, n)
    check_number("level", level, 0.5, 0.999)
    alpha = 1 - level if one_sided else (1 - level) / 2
    low = 0.0 if hits == 0 else float(stats.beta.ppf(alpha, hits, n - hits + 1))
    high = 1.0 if hits == n else float(stats.beta.ppf(1 - alpha, hits + 1, n - hits))
    return hits / n, low, high


def _sample(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise ValueError(f"need a non-empty 1-D sample of finite numbers, got {values!r}")
    return array


def seed_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant and seed: best epoch (lowest validation mean RMSE, epochs >= 1), best and last RMSE, rise.

    ``rise`` = last epoch's RMSE minus the best (0 when the last epoch is the best).
    """
    trained = frame[frame["epoch"] > 0]
    rows = []
    for (variant, seed), run in trained.groupby(["variant", "seed"], sort=False):
        best = run.loc[run["rmse_mean"].idxmin()]
        last = run.loc[run["epoch"].idxmax()]
        rows.append(
            {
                "variant": variant,
                "method": best["method"],
                "shots": best["shots"],
                "seed": seed,
                "best_epoch": int(best["epoch"]),
                "best_rmse": best["rmse_mean"],
                "last_epoch": int(last["epoch"]),
                "last_rmse": last["rmse_mean"],
                "rise": last["rmse_mean"] - best["rmse_mean"],
            }
        )
    return pd.DataFrame(rows)


def _sd(values: np.ndarray) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def seed_statistics(outcomes: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Intervals across seeds of each variant's best RMSE, spread, best epoch and rise, suited to a few seeds.

    Means carry Student-t intervals, SDs chi-square intervals and shares exact binomial
    (Clopper-Pearson) intervals, all two-sided at ``level``. One row per variant and quantity:
    estimate, low, high, the interval's kind and the number of seeds.
    """
    quantities: dict[str, tuple[str, str, Callable]] = {
        "best validation mean RMSE, mean over seeds": ("best_rmse", "t", t_interval),
        "best validation mean RMSE, SD across seeds": ("best_rmse", "chi-square", sd_interval),
        "best epoch, mean over seeds": ("best_epoch", "t", t_interval),
        "share of seeds with best epoch <= 2": (
            "best_epoch",
            "Clopper-Pearson",
            lambda v, lv: share_interval(int((v <= 2).sum()), len(v), lv),
        ),
        "rise from best to last epoch, mean": ("rise", "t", t_interval),
        "share of seeds whose last epoch is worse than the best": (
            "rise",
            "Clopper-Pearson",
            lambda v, lv: share_interval(int((v > 0).sum()), len(v), lv),
        ),
        "last-epoch validation mean RMSE, SD across seeds": ("last_rmse", "chi-square", sd_interval),
    }
    rows = []
    for variant, part in outcomes.groupby("variant", sort=False):
        for name, (column, kind, interval) in quantities.items():
            estimate, low, high = interval(part[column].to_numpy(dtype=float), level)
            rows.append(
                {
                    "variant": variant,
                    "quantity": name,
                    "estimate": estimate,
                    "low": low,
                    "high": high,
                    "interval": kind,
                    "seeds": len(part),
                }
            )
    return pd.DataFrame(rows)


def _interval(estimate: float, low: float, high: float, digits: int = 4) -> str:
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def overfitting_claim(outcomes: pd.DataFrame, variant: str, level: float = 0.95) -> str:
    """The paper's claim 1 ("SPSA is best after about one or two epochs, then overfits") tested on one variant.

    Supported when the one-sided exact binomial lower bound of the share of seeds whose best
    epoch is 1 or 2 lies above one half and the t-interval of the mean rise from the best to
    the last epoch lies above zero. Not supported when the share's one-sided upper bound lies
    below one half or no seed rises. When every seed agrees with the claim but there are too
    few seeds for the bound, it says so; otherwise inconclusive, naming the unclear part.
    """
    part = outcomes[outcomes["variant"] == variant]
    if part.empty:
        raise ValueError(f"no seeds of variant {variant!r}; variants: {', '.join(outcomes['variant'].unique())}")
    last = int(part["last_epoch"].min())
    if last < 3:
        return f"**{variant}**: only {last} epoch(s) per seed; a best epoch at 1-2 followed by a rise needs at least 3."
    n, hits = len(part), int((part["best_epoch"] <= 2).sum())
    early = share_interval(hits, n, level, one_sided=True)
    rise = t_interval(part["rise"].to_numpy(), level)
    relative = rise[0] / part["best_rmse"].mean()
    if early[1] > 0.5 and rise[1] > 0:
        verdict = "supported"
    elif early[2] < 0.5 or not (part["rise"] > 0).any():
        verdict = "not supported"
    elif hits == n and (part["rise"] > 0).all():
        verdict = f"consistent with every seed, but {n} seeds are too few to bound the share above one half"
    elif rise[1] > 0:
        verdict = (
            "inconclusive: the rise after the best epoch is clear, but the share of early bests may be below one half"
        )
    else:
        verdict = "inconclusive: the seeds disagree and are too few to tell"
    counts = part["best_epoch"].value_counts().sort_index()
    return (
        f"**{variant}** ({n} seeds, {last} epochs): best epochs "
        f"{', '.join(f'{int(e)} ({k} seed(s))' for e, k in counts.items())}; {hits} of {n} seeds best at epoch 1 or 2 "
        f"(one-sided {level:.0%} exact binomial bounds {early[1]:.2f} to {early[2]:.2f}); mean rise from the best "
        f"to the last epoch {_interval(*rise)} ({relative:.1%} of the mean best RMSE; {level:.0%} t-interval). "
        f"Claim 1 (best after about one or two epochs, then overfitting) is **{verdict}** for this variant."
    )


def stability_claim(outcomes: pd.DataFrame, spsa: str, fdsa: str, level: float = 0.95) -> str:
    """The paper's claim 2 ("FDSA is more stable than SPSA") tested on two variants.

    Compares FDSA's and SPSA's mean rise from the best to the last epoch (Welch t-interval
    of the difference FDSA - SPSA) and the spread across seeds of the last epoch's RMSE (the
    F-interval of the SD ratio FDSA / SPSA). Supported when either says FDSA is more stable
    (difference below zero, ratio below one) and neither the opposite; contradicted in the
    mirror case; mixed when they disagree.
    """
    s, f = (outcomes[outcomes["variant"] == name] for name in (spsa, fdsa))
    if s.empty or f.empty:
        known = ", ".join(outcomes["variant"].unique())
        raise ValueError(f"variants {spsa!r} and {fdsa!r} both need seeds; variants: {known}")
    last = int(min(s["last_epoch"].min(), f["last_epoch"].min()))
    if last < 3:
        return (
            f"**{fdsa} against {spsa}**: only {last} epoch(s) per seed; stability after the best epoch needs at "
            f"least 3."
        )
    rise = welch_interval(f["rise"].to_numpy(), s["rise"].to_numpy(), level)
    ratio = sd_ratio_interval(f["last_rmse"].to_numpy(), s["last_rmse"].to_numpy(), level)
    below = [rise[2] < 0, ratio[2] < 1]
    above = [rise[1] > 0, ratio[1] > 1]
    if any(below) and not any(above):
        verdict = "supported"
    elif any(above) and not any(below):
        verdict = "contradicted"
    elif any(above):
        verdict = "mixed (one measure favours FDSA, the other SPSA)"
    else:
        verdict = f"not distinguishable from run-to-run variation with {len(f)} and {len(s)} seeds"
    ratio_text = "undefined" if np.isnan(ratio[0]) else _interval(*ratio, digits=2)
    return (
        f"**{fdsa} against {spsa}** ({len(f)} and {len(s)} seeds): difference FDSA - SPSA in the mean rise "
        f"from the best to the last epoch {_interval(*rise)} (Welch t-interval); ratio FDSA / SPSA of the SD across "
        f"seeds of the last epoch's RMSE {ratio_text} (F-interval). Claim 2 (FDSA is more stable than SPSA) is "
        f"**{verdict}** ({level:.0%} intervals; a negative difference or a ratio below 1 means FDSA is more stable)."
    )


def seed_caption(profile: str, frame: pd.DataFrame, runs: list[StudyRun]) -> str:
    """The scale of a seed table in words: variants, seeds, epochs, sequences, validation steps, borrowed main runs."""
    by_name = {run.name: run for run in runs}
    parts, borrowed = [], []
    for variant, part in frame.groupby("variant", sort=False):
        seeds = sorted(part["seed"].unique())
        parts.append(f"{variant}: {len(seeds)} seeds ({', '.join(map(str, seeds))})")
        for name in part["run"].unique():
            if "sweep" not in by_name[name].params:
                borrowed.append(
                    f"{by_name[name].label} (seed {by_name[name].params['seed']}, "
                    f"{by_name[name].params['epochs']} epochs)"
                )
    first = by_name[frame["run"].iloc[0]]
    epochs, n_train = int(frame["epoch"].max()), int(frame["n_train"].iloc[0])
    val = first.params.get("val_length") or f"all {VALIDATION_STEPS}"
    text = (
        f"Profile `{profile}`: {'; '.join(parts)}; {epochs} epochs of {n_train} training sequences each, "
        f"validation on {val} steps, torch simulator (shots drawn from its exact distributions). "
        f"Machine: {study_machine(runs)}."
    )
    if borrowed:
        text += (
            f" The profile's main run{'s' if len(borrowed) > 1 else ''} {', '.join(borrowed)} count as one "
            f"seed each, "
            f"cut to {epochs} epochs: training is deterministic epoch by epoch, so these epochs are what a "
            f"{epochs}-epoch run gives."
        )
    return text


def stability_text(outcomes: pd.DataFrame, runs: list[StudyRun], level: float = 0.95) -> str:
    """Claim 2 for every FDSA variant with an SPSA variant at the same shots, or why it cannot be tested here.

    Without such a pair, says so and gives the measured cost of the profile's FDSA runs (time
    per epoch of their sequences) as the reason.
    """
    kinds = outcomes.groupby("variant", sort=False)[["method", "shots"]].first()
    texts = []
    for fdsa, row in kinds[kinds["method"] == "fdsa"].iterrows():
        partners = kinds[(kinds["method"] == "spsa") & (kinds["shots"] == row["shots"])].index
        texts += [stability_claim(outcomes, spsa, fdsa, level) for spsa in partners]
    if texts:
        return "\n\n".join(texts)
    fdsa_runs = [run for run in runs if run.method == "fdsa" and run.complete]
    costs = [
        f"{run.label}: {run.record.result['epochs'][0]['epoch_time_s']:.0f} s for an epoch of "
        f"{len(run.record.updates[run.record.updates['epoch'] == 1])} sequences"
        for run in fdsa_runs
        if run.record.result["epochs"]
    ]
    cost = f" Measured cost of this profile's FDSA runs: {'; '.join(costs)}." if costs else ""
    per_update = {
        method: run.record.updates["circuit_evaluations"].median()
        for run in runs
        if run.complete and len(run.record.updates)
        for method in [run.method]
    }
    ratio = (
        f" An FDSA update costs {per_update['fdsa']:.0f} sequence evaluations against SPSA's {per_update['spsa']:.0f}."
        if {"fdsa", "spsa"} <= set(per_update)
        else ""
    )
    return (
        f"**Claim 2 (FDSA is more stable than SPSA) is not tested in this profile**: its seeds sweep has no FDSA "
        f"variant beside an SPSA one at the same shots.{ratio} Several FDSA seeds over several full epochs do not "
        f"fit this profile's time budget; the `paper` profile runs them.{cost}"
    )


def compare_variants(outcomes: pd.DataFrame, a: str, b: str, level: float = 0.95) -> str:
    """Mean best validation RMSE of variant ``a`` minus ``b`` across seeds, with its Welch t-interval, in words."""
    x, y = (outcomes.loc[outcomes["variant"] == v, "best_rmse"].to_numpy() for v in (a, b))
    if not len(x) or not len(y):
        known = ", ".join(outcomes["variant"].unique())
        raise ValueError(f"variants {a!r} and {b!r} both need seeds; variants: {known}")
    diff = welch_interval(x, y, level)
    if diff[1] > 0:
        verdict = f"{b} is better"
    elif diff[2] < 0:
        verdict = f"{a} is better"
    else:
        verdict = "the difference is within run-to-run variation"
    return (
        f"Best validation mean RMSE, **{a}** minus **{b}**: {_interval(*diff)} ({level:.0%} Welch t-interval "
        f"over {len(x)} and {len(y)} seeds): {verdict}."
    )


# ---------------------------------------------------------------- cost against accuracy


def cost_accuracy(runs: list[StudyRun]) -> pd.DataFrame:
    """Validation mean RMSE after every epoch against what the training had consumed by then.

    One row per complete run and epoch (0 = untrained, nothing consumed): ``evaluations``,
    the cumulative sequence evaluations of the updates (one evaluation = one run of the
    ``seq_len``-step circuit; validation not counted), and ``shots_consumed`` =
    evaluations x seq_len x shots per step for shot-based runs (NaN for exact
    distributions). Also run, label, method, shots (0 = exact), seed and sweep.
    """
    rows = []
    for run in runs:
        if not run.complete:
            continue
        config = run.record.result["config"]
        base = {
            "run": run.name,
            "label": run.label,
            "method": config["method"],
            "shots": config["shots"] or 0,
            "seed": config["seed"],
            "sweep": run.params.get("sweep") or "",
        }
        evaluations = np.cumsum([0] + [e["circuit_evaluations"] for e in run.record.result["epochs"]])
        for row, used in zip(run.epochs.itertuples(), evaluations):
            shots = float(used * config["seq_len"] * config["shots"]) if config["shots"] else float("nan")
            rows.append(
                base
                | {
                    "epoch": int(row.epoch),
                    "evaluations": int(used),
                    "shots_consumed": shots,
                    "rmse_mean": row.val_rmse_mean,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "run",
            "label",
            "method",
            "shots",
            "seed",
            "sweep",
            "epoch",
            "evaluations",
            "shots_consumed",
            "rmse_mean",
        ],
    )


def cost_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per run of :func:`cost_accuracy`: epochs, what the whole run consumed, its best validation RMSE and when."""
    trained = table[table["epoch"] > 0]
    rows = []
    for _, part in trained.groupby("run", sort=False):
        best = part.loc[part["rmse_mean"].idxmin()]
        last = part.loc[part["epoch"].idxmax()]
        rows.append(
            {
                "run": part["label"].iloc[0],
                "method": part["method"].iloc[0],
                "shots per step": last["shots"],
                "epochs": int(last["epoch"]),
                "sequence evaluations": int(last["evaluations"]),
                "shots consumed": last["shots_consumed"],
                "best validation mean RMSE": best["rmse_mean"],
                "best epoch": int(best["epoch"]),
                "evaluations to the best epoch": int(best["evaluations"]),
                "shots to the best epoch": best["shots_consumed"],
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- backend agreement


def chi_square_pvalues(frequencies: np.ndarray, probs: np.ndarray, shots: int, min_expected: float = 5.0) -> np.ndarray:
    """Pearson chi-square goodness-of-fit p-value of every step's counts against its exact distribution.

    frequencies, probs (..., M). Outcomes whose expected count is below ``min_expected``
    are pooled into one bin (dropped if the pool itself is below it), so the chi-square
    approximation holds. Returns p-values of shape ``probs.shape[:-1]``.
    """
    counts = np.rint(np.asarray(frequencies, float) * shots).reshape(-1, probs.shape[-1])
    expected = np.asarray(probs, float).reshape(-1, probs.shape[-1]) * shots
    pvalues = np.empty(len(counts))
    for i, (obs, exp) in enumerate(zip(counts, expected)):
        small = exp < min_expected
        obs_b, exp_b = list(obs[~small]), list(exp[~small])
        if exp[small].sum() >= min_expected:
            obs_b.append(obs[small].sum())
            exp_b.append(exp[small].sum())
        obs_b, exp_b = np.array(obs_b), np.array(exp_b)
        exp_b *= obs_b.sum() / exp_b.sum()
        pvalues[i] = stats.chisquare(obs_b, exp_b).pvalue if len(obs_b) > 1 else 1.0
    return pvalues.reshape(probs.shape[:-1])


def backend_agreement(angles: torch.Tensor, shots: int, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Torch simulator against Aer: exact deviation and shot-based goodness of fit.

    ``angles`` (B, T, P). Rows: Aer exact (density matrix) vs torch (largest absolute
    difference of any probability); Aer with mid-circuit measurement and ``shots`` shots
    vs torch's exact distributions; torch's own shot path likewise. For the shot paths:
    the share of steps with p < 0.05 (about 0.05 if the samples follow the exact
    distributions), a Kolmogorov-Smirnov test of the p-values against uniform and
    Fisher's combined p-value. Also returns the per-step p-values of each shot path.
    """
    angles = angles.to(torch.float64)
    exact = simulate(angles, "torch").numpy()
    aer_exact = simulate(angles, "aer-exact").numpy()
    samples = {
        "Aer, mid-circuit measurement": simulate(angles, "aer", shots=shots, seed=seed).numpy(),
        "torch, sampled": simulate(angles, "torch", shots=shots, seed=seed).numpy(),
    }
    rows = [
        {
            "comparison": "Aer exact (density matrix) vs torch",
            "steps": exact.shape[0] * exact.shape[1],
            "max |difference|": float(np.abs(aer_exact - exact).max()),
        }
    ]
    pvalues = {}
    for name, freq in samples.items():
        p = chi_square_pvalues(freq, exact, shots).ravel()
        pvalues[name] = p
        rows.append(
            {
                "comparison": f"{name}, {shots} shots, vs torch exact",
                "steps": p.size,
                "max |difference|": float(np.abs(freq - exact).max()),
                "share of steps with p < 0.05": float(np.mean(p < 0.05)),
                "KS test of p-values vs uniform, p": float(stats.kstest(p, "uniform").pvalue),
                "Fisher combined p": float(stats.combine_pvalues(p, method="fisher").pvalue),
            }
        )
    return pd.DataFrame(rows).set_index("comparison"), pvalues
