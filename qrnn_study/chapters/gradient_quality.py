"""The gradient-quality chapter: each estimator's input-layer gradient against the exact one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from qrnn_core import files
from qrnn_core.checks import check_int
from qrnn_core.data import load_lorenz
from qrnn_core.estimators import (
    EstimatorOptions,
    GradientEstimator,
    input_angles,
    method_names,
    method_spec,
)
from qrnn_core.model import QRNN
from qrnn_core.simulate import check_shots, sample_frequencies, simulate
from qrnn_core.training import CHECKPOINT_LAST, TrainConfig, masked_mse, train

from .. import study
from ..style import legend_outside, method_color

CHAPTER = "gradient_quality"


@dataclass(frozen=True)
class Outputs:
    """The gradient-quality chapter's files: the epsilon table, Figure 1 with its caption (the front page
    shows them), the pretraining run."""

    epsilon: str = "epsilon.csv"
    figure: str = "epsilon.png"
    caption: str = "epsilon.md"
    pretrain: str = "pretrain"


OUTPUTS = Outputs()


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


def _noisy(probs: torch.Tensor, shots: int | None, rng: np.random.Generator) -> torch.Tensor:
    """``probs`` itself for exact distributions, else frequencies of ``shots`` samples per step."""
    return probs if shots is None else sample_frequencies(probs, shots, int(rng.integers(2**31)))


def _sequence_estimates(
    model: QRNN,
    feats: torch.Tensor,
    targs: torch.Tensor,
    washout: int,
    setting: EstimatorSetting,
    shots: list[int | None],
    repeats: int,
    generators: tuple[torch.Generator, np.random.Generator],
) -> tuple[torch.Tensor, int]:
    """One sequence's estimates, (len(shots), repeats, n_params), and the sequence evaluations of one estimate."""
    n_qubits = model.config.n_qubits
    estimator = setting.estimator(n_qubits)
    weight, bias = model.input_layer.weight.detach(), model.input_layer.bias.detach()
    generator, rng = generators
    out = torch.empty(len(shots), repeats, weight.numel() + bias.numel(), dtype=weight.dtype)
    forward = simulate(input_angles(weight, bias, feats), "torch", n_qubits=n_qubits)
    plan = None
    for r in range(repeats):
        if plan is None or method_spec(setting.method).stochastic:
            plan = estimator.plan(weight, bias, feats, generator)
            points = simulate(plan.angles.flatten(0, 1), "torch", n_qubits=n_qubits).unflatten(0, plan.angles.shape[:2])
        for i, s in enumerate(shots):
            noisy_forward, noisy_points = _noisy(forward, s, rng), _noisy(points, s, rng)
            with torch.enable_grad():
                g = _sequence_g(model, noisy_forward, targs, washout)
            d_weight, d_bias = plan.combine(noisy_points, g)
            out[i, r] = torch.cat([d_weight.flatten(), d_bias])
    return out, plan.evaluations + 1


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
    generators = (torch.Generator().manual_seed(seed), np.random.default_rng(seed))
    with torch.no_grad():
        parts = [
            _sequence_estimates(
                model, features[b : b + 1], targets[b : b + 1], washout, setting, shots, repeats, generators
            )
            for b in range(features.shape[0])
        ]
    return torch.stack([part for part, _ in parts], dim=2), parts[-1][1]


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


def quality_points(
    seed: int, pretrain_sequences: int, out_dir: str | Path, data: dict | None = None
) -> dict[str, QRNN]:
    """The parameter points the gradient-quality chapter scores estimators at, by name.

    The initial parameters (seed ``seed``) and the parameters after ``pretrain_sequences``
    exact-gradient updates (one epoch over that many evenly spaced sequences, double
    precision, validated on 50 steps), trained into ``out_dir`` (replaced) on the series
    ``data`` names (``TrainConfig`` data fields, :func:`qrnn_study.study.data_settings`; None: the default).
    """
    check_int("pretrain_sequences", pretrain_sequences, 1)
    config = TrainConfig(
        method="exact",
        precision="double",
        n_train=pretrain_sequences,
        val_length=50,
        epochs=1,
        seed=seed,
        **(data or {}),
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
    epsilons: list[float],
    spsa_samples: list[int],
    n_params: int,
    equal_cost_spsa: bool,
    include_param_shift: bool,
    exclude: tuple[str, ...] | list[str] = (),
) -> list[EstimatorSetting]:
    """The chapter's estimator grid over every registered method with an estimator (but ``exclude``).

    A method using SPSA samples gets 2 samples at every epsilon and epsilon 0.1 with every
    number of samples (and ``n_params`` samples, FDSA's cost, with ``equal_cost_spsa``); a
    method using only epsilon (FDSA) gets every epsilon; a method without options
    (parameter-shift, an exact rule whose cost grows with the gates) only with
    ``include_param_shift``. So a newly registered method appears without a change here.
    """
    S = EstimatorSetting
    settings: set[EstimatorSetting] = set()
    for name in method_names():
        spec = method_spec(name)
        if spec.factory is None or name in exclude:
            continue
        if "spsa_samples" in spec.options:
            settings |= {S(name, e, 2) for e in epsilons}
            settings |= {S(name, 0.1, m) for m in [*spsa_samples, *([n_params] if equal_cost_spsa else [])]}
        elif "epsilon" in spec.options:
            settings |= {S(name, e) for e in epsilons}
        elif include_param_shift:
            settings.add(S(name))
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


def _quality_errorbars(ax: Axes, table: pd.DataFrame, x: str, label: str, color=None, marker: str = "o") -> None:
    ax.errorbar(
        table[x], table["cosine_mean"], yerr=table["cosine_sem"], marker=marker, capsize=3, label=label, color=color
    )


def quality_epsilon_figure(summary: pd.DataFrame, points: list[str], shots: list[int]) -> Figure:
    """Cosine similarity to the exact gradient against epsilon, FDSA and 2-sample SPSA; one row per shots
    setting (0 = exact distributions), one column per parameter point. ``summary``: ``analysis.epsilon_summary``."""
    fig, axes = plt.subplots(
        len(shots),
        len(points),
        figsize=(5 * len(points), 3.4 * len(shots)),
        squeeze=False,
        sharey=True,
        layout="constrained",
    )
    for i, s in enumerate(shots):
        for j, point in enumerate(points):
            ax = axes[i, j]
            part = summary[(summary["shots"] == s) & (summary["point"] == point)]
            for method, rows in part.groupby("method"):
                evaluations = int(rows["evaluations"].iloc[0])
                name = "FDSA" if method == "fdsa" else "SPSA, 2 samples"
                _quality_errorbars(
                    ax,
                    rows.sort_values("epsilon"),
                    "epsilon",
                    f"{name} ({evaluations} evaluations)",
                    method_color(method),
                )
            ax.set(
                xscale="log",
                xlabel="epsilon",
                ylabel="cosine similarity to the exact gradient",
                title=f"{point}\n{'exact distributions' if s == 0 else f'{s} shots per step'}",
            )
            ax.axhline(0, color="grey", lw=0.5)
    legend_outside(fig)
    return fig


def quality_samples_figure(summary: pd.DataFrame, points: list[str], shots: list[int]) -> Figure:
    """Cosine similarity against the cost of one estimate (sequence evaluations): SPSA by number of samples as a
    line, other estimators as squares; one panel per parameter point. ``summary``: ``analysis.samples_summary``."""
    fig, axes = plt.subplots(
        1, len(points), figsize=(5 * len(points), 3.8), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, point in zip(axes[0], points):
        for s in shots:
            part = summary[(summary["point"] == point) & (summary["shots"] == s)]
            where = "exact" if s == 0 else f"{s} shots"
            spsa = part[part["method"] == "spsa"].sort_values("evaluations")
            ax.errorbar(
                spsa["evaluations"],
                spsa["cosine_mean"],
                yerr=spsa["cosine_sem"],
                capsize=3,
                label=f"SPSA, {where}",
                color=method_color("spsa"),
                marker="o" if s == 0 else "^",
                ls="-" if s == 0 else "--",
            )
            for _, row in part[part["method"] != "spsa"].iterrows():
                ax.errorbar(
                    row["evaluations"],
                    row["cosine_mean"],
                    yerr=row["cosine_sem"],
                    marker="s",
                    capsize=3,
                    label=f"{row['estimator']}, {where}",
                    color=method_color(row["method"]),
                    fillstyle="full" if s == 0 else "none",
                )
        ax.set(xscale="log", xlabel="sequence evaluations per update", ylabel="cosine similarity", title=point)
    legend_outside(fig)
    return fig


def quality_shots_figure(summary: pd.DataFrame, points: list[str]) -> Figure:
    """Cosine similarity (top) and relative error (bottom) against shots per step, one column per parameter
    point, one line per estimator. ``summary``: ``analysis.shots_summary``."""
    fig, axes = plt.subplots(
        2, len(points), figsize=(5 * len(points), 6.4), squeeze=False, sharex=True, layout="constrained"
    )
    for j, point in enumerate(points):
        for estimator, part in summary[summary["point"] == point].groupby("estimator"):
            part = part[part["shots"] > 0].sort_values("shots")
            if part.empty:
                continue
            label = f"{estimator} ({int(part['evaluations'].iloc[0])} evaluations)"
            axes[0, j].errorbar(
                part["shots"], part["cosine_mean"], yerr=part["cosine_sem"], marker="o", capsize=3, label=label
            )
            mean, sem = part["relative_error_mean"].to_numpy(), part["relative_error_sem"].to_numpy()
            lower = np.minimum(sem, 0.9 * mean)  # a log axis cannot show a bar reaching zero
            axes[1, j].errorbar(part["shots"], mean, yerr=[lower, sem], marker="o", capsize=3)
        axes[0, j].set(xscale="log", ylabel="cosine similarity", title=point)
        axes[1, j].set(xscale="log", yscale="log", xlabel="shots per step", ylabel="relative error")
    shots = sorted(summary.loc[summary["shots"] > 0, "shots"].unique())
    if len(shots) == 1:  # one shot count: give the log axis a span around it
        axes[0, 0].set_xlim(shots[0] / 2, shots[0] * 2)
    legend_outside(fig)
    return fig


def save_figure(profile: str, figure: Figure, caption: str, root: str | Path | None = None) -> None:
    """Write Figure 1 (:attr:`Outputs.figure`) and its caption (:attr:`Outputs.caption`), for the front page."""
    out = study.chapter_data_dir(profile, CHAPTER, root)
    files.atomic_write(out / OUTPUTS.figure, lambda path: figure.savefig(path, format="png", bbox_inches="tight"))
    files.write_text(out / OUTPUTS.caption, caption)


def load_figure(profile: str, root: str | Path | None = None) -> tuple[bytes, str]:
    """Figure 1 (PNG bytes) and its caption, as :func:`save_figure` wrote them.

    Raises:
        FileNotFoundError: the chapter has not run in this profile.
    """
    path = study.chapter_file(profile, CHAPTER, OUTPUTS.figure, root)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the {CHAPTER!r} chapter first (make runs)")
    return path.read_bytes(), study.chapter_file(profile, CHAPTER, OUTPUTS.caption, root).read_text()
