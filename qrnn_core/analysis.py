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
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from .circuit import angles_per_step, final_readout_rz_angles, step_gates
from .estimators import SPSA, ParameterShift, input_angles, make_estimator
from .model import QRNN
from .simulate import check_shots, sample_frequencies, simulate
from .training import TrainConfig, masked_mse, load_run, provenance, train


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

    @property
    def label(self) -> str:
        if self.method == "spsa":
            return f"SPSA (eps {self.epsilon:g}, {self.spsa_samples} samples)"
        if self.method == "fdsa":
            return f"FDSA (eps {self.epsilon:g})"
        return "parameter-shift"


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
    estimator = make_estimator(setting.method, n_qubits, setting.epsilon, setting.spsa_samples)
    if estimator is None:
        raise ValueError("setting.method must be an estimator (spsa, fdsa or param-shift), not 'exact'")
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
                if plan is None or isinstance(estimator, SPSA):
                    plan = estimator.plan(weight, bias, feats, generator)
                    points = simulate(plan.angles.flatten(0, 1), "torch", n_qubits=n_qubits).unflatten(0, plan.angles.shape[:2])
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
        estimates, evaluations = estimated_gradients(model, features, targets, washout, setting, shots, repeats, seed + k)
        cos = cosine_similarity(estimates, reference).numpy()
        rel = relative_error(estimates, reference).numpy()
        index = pd.MultiIndex.from_product(
            [[s or 0 for s in shots], range(repeats), range(features.shape[0])], names=["shots", "repeat", "sequence"]
        )
        frame = pd.DataFrame({"cosine": cos.ravel(), "relative_error": rel.ravel()}, index=index).reset_index()
        frames.append(frame.assign(estimator=setting.label, method=setting.method, epsilon=setting.epsilon,
                                   spsa_samples=setting.spsa_samples, evaluations=evaluations))  # fmt: skip
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
    summary = summarize_quality(rows, ["method", "spsa_samples", "shots"]).set_index(["method", "spsa_samples", "shots"])
    fdsa = summary.xs("fdsa", level="method")
    n_params = int(fdsa["evaluations"].iloc[0] - 1) // 2
    parts = []
    for s in (0, shots):
        if s not in fdsa.index.get_level_values("shots"):
            return f"no FDSA estimates at {s or 'exact'} shots and epsilon {epsilon:g}"
        f = fdsa.xs(s, level="shots").iloc[0]
        line = f"with {'exact distributions' if s == 0 else f'{s} shots per step'}: FDSA cosine {f.cosine_mean:.3f} ± {f.cosine_sem:.3f} ({int(f.evaluations)} evaluations)"
        for samples in (2, n_params):
            key = ("spsa", samples, s)
            if key in summary.index:
                p = summary.loc[key]
                line += f"; SPSA with {samples} samples {p.cosine_mean:.3f} ± {p.cosine_sem:.3f} ({int(p.evaluations)} evaluations)"
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
        rows.append({
            "gate": kind,
            "angles compared": a.numel(),
            "max |autograd|": float(a.abs().max()),
            "max |shift rule|": float(s.abs().max()),
            "max |difference|": float((a - s).abs().max()),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("gate")


def evaluation_counts(n_qubits: int, seq_len: int, methods: list[EstimatorSetting]) -> pd.DataFrame:
    """Sequence evaluations per update (plan points + the forward) for one sequence of ``seq_len`` steps."""
    n_angles = angles_per_step(n_qubits)
    weight, bias = torch.zeros(n_angles, 1), torch.zeros(n_angles)
    features = torch.zeros(1, seq_len, 1)
    rows = []
    for setting in methods:
        plan = make_estimator(setting.method, n_qubits, setting.epsilon, setting.spsa_samples).plan(
            weight, bias, features, torch.Generator().manual_seed(0)
        )
        rows.append({"estimator": setting.label, "sequence evaluations per update": plan.evaluations + 1})
    return pd.DataFrame(rows).set_index("estimator")


# ---------------------------------------------------------------- seeds


def seed_runs(
    base: dict, variants: dict[str, dict], seeds: list[int], out_root: str | Path, progress: bool = False
) -> pd.DataFrame:
    """Train every variant (``TrainConfig`` overrides of ``base``) with every seed; per-epoch results.

    Each run writes its folder ``out_root/<variant, slugged>/seed-<seed>`` (replacing an old one).
    Returns one row per run and epoch (0 = untrained): variant, seed, epoch, val_rmse_y,
    val_rmse_z, val_rmse_mean, train_rmse, plus the run's total time in seconds.
    """
    configs = {(name, seed): TrainConfig(**(base | overrides | {"seed": seed})) for name, overrides in variants.items() for seed in seeds}
    rows = []
    for (name, seed), config in configs.items():
        out_dir = Path(out_root) / re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") / f"seed-{seed}"
        train(config, out_dir, progress=progress, overwrite=True, log=None)
        result = load_run(out_dir).result
        first = result["initial_validation"]
        rows.append({"variant": name, "seed": seed, "epoch": 0, "val_rmse_y": first["rmse_y"], "val_rmse_z": first["rmse_z"],
                     "val_rmse_mean": first["rmse_mean"], "total_s": result["timings"]["total_s"]})  # fmt: skip
        for epoch in result["epochs"]:
            rows.append({"variant": name, "seed": seed, "total_s": result["timings"]["total_s"],
                         **{k: epoch[k] for k in ("epoch", "val_rmse_y", "val_rmse_z", "val_rmse_mean", "train_rmse")}})  # fmt: skip
    return pd.DataFrame(rows)


def seed_summary(frame: pd.DataFrame, column: str = "val_rmse_mean") -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum of ``column`` across seeds, per variant and epoch."""
    summary = frame.groupby(["variant", "epoch"])[column].agg(["mean", "std", "min", "max", "count"])
    return summary.rename(columns={"count": "seeds"}).reset_index()


def paper_claims(frame: pd.DataFrame, spsa: str, fdsa: str) -> list[str]:
    """Check the paper's single-run conclusions against every seed of two variants, in words.

    Claim 1, "SPSA overfits after about one epoch": per seed, the best validation epoch is
    1 or 2 and the last epoch's validation RMSE is higher than the best. Claim 2, "FDSA is
    more stable": FDSA's rise from its best to its last epoch, and its spread across seeds
    at the last epoch, are smaller than SPSA's.
    """
    trained = frame[frame["epoch"] > 0]
    last_epoch = int(trained["epoch"].max())
    per_seed = {}
    for name in (spsa, fdsa):
        runs = trained[trained["variant"] == name]
        best = runs.loc[runs.groupby("seed")["val_rmse_mean"].idxmin()].set_index("seed")
        last = runs[runs["epoch"] == runs.groupby("seed")["epoch"].transform("max")].set_index("seed")
        per_seed[name] = pd.DataFrame({"best_epoch": best["epoch"], "rise": last["val_rmse_mean"] - best["val_rmse_mean"],
                                       "last": last["val_rmse_mean"]})  # fmt: skip
    s, f = per_seed[spsa], per_seed[fdsa]
    overfit = (s["best_epoch"] <= 2) & (s["rise"] > 0)
    claims = [f"Scale: {last_epoch} epoch(s), {len(s)} seed(s) per variant."]
    if last_epoch < 2:
        claims.append("With a single epoch, neither claim can be tested: overfitting after one epoch needs at least two.")
        return claims
    claims.append(
        f"Claim 1 (SPSA overfits after about one epoch): holds for {int(overfit.sum())} of {len(s)} seeds "
        f"(best epochs {sorted(s['best_epoch'].astype(int).tolist())}; rise from best to last epoch "
        f"{s['rise'].mean():.4f} on average)."
    )
    stable_rise = f["rise"].mean() < s["rise"].mean()
    stable_spread = f["last"].std(ddof=1) < s["last"].std(ddof=1) if len(s) > 1 else None
    spread = (
        "" if stable_spread is None else
        f"; spread across seeds at the last epoch: FDSA {f['last'].std(ddof=1):.4f} vs SPSA {s['last'].std(ddof=1):.4f} "
        f"({'smaller' if stable_spread else 'not smaller'})"
    )  # fmt: skip
    claims.append(
        f"Claim 2 (FDSA more stable): mean rise from best to last epoch FDSA {f['rise'].mean():.4f} vs SPSA "
        f"{s['rise'].mean():.4f} ({'smaller' if stable_rise else 'not smaller'}){spread}. "
        f"{'Holds' if stable_rise and stable_spread is not False else 'Does not hold'} at this scale."
    )
    return claims


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
    rows = [{"comparison": "Aer exact (density matrix) vs torch", "steps": exact.shape[0] * exact.shape[1],
             "max |difference|": float(np.abs(aer_exact - exact).max())}]  # fmt: skip
    pvalues = {}
    for name, freq in samples.items():
        p = chi_square_pvalues(freq, exact, shots).ravel()
        pvalues[name] = p
        rows.append({
            "comparison": f"{name}, {shots} shots, vs torch exact",
            "steps": p.size,
            "max |difference|": float(np.abs(freq - exact).max()),
            "share of steps with p < 0.05": float(np.mean(p < 0.05)),
            "KS test of p-values vs uniform, p": float(stats.kstest(p, "uniform").pvalue),
            "Fisher combined p": float(stats.combine_pvalues(p, method="fisher").pvalue),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("comparison"), pvalues
