"""The book's front page: key results read from the chapters this build ran.

Every number comes from a file the build wrote (the runtime chapter's benchmark, the
training runs, the baselines chapter's table) or from ``book/paper_reported.json``;
each row names its scale and links to the chapter it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qrnn_core.estimators import (
    method_label,
)
from qrnn_core.protocol import TRAIN_WINDOWS

from .. import bench_report, study
from ..tables import format_number
from ..timing import Benchmark
from . import accuracy, baselines, gradient_quality, runtime, setup, shots_and_seeds
from . import trajectories as trajectory_chapter

CHAPTER = "summary"


@dataclass(frozen=True)
class Outputs:
    """The table the front page writes."""

    key_results: str = "key_results.csv"


OUTPUTS = Outputs()


NOT_BUILT = "not built"


COLUMNS = ["result", "this build", "the paper", "scale", "chapter", "chapter_href"]


def _row(result: str, ours: str, paper: str, scale: str, chapter: str, title: str) -> dict:
    return dict(zip(COLUMNS, (result, ours, paper, scale, title, f"{chapter}.html")))


# The benchmark path that executes like the paper (one Aer run with shots per sequence).
SEED_STYLE = "seed-style"


def speedup_rows(result: Benchmark) -> list[dict]:
    """Per method: the fastest path's speed-up over the paper's execution (``seed-style``) in one benchmark."""
    table = bench_report.update_table(result)
    config = result["config"]
    scale = (
        f"benchmark of one weight update, {config['n_qubits']} qubits, {config['steps']}-step sequences, "
        f"median of {config['repeats']} repeat(s); this build's machine"
    )
    rows = []
    for method in bench_report.methods(result):
        part = table[
            (table["method"] == method) & (table["path"] != SEED_STYLE) & table["speedup_vs_seed_style"].notna()
        ]
        paper = table[(table["method"] == method) & (table["path"] == SEED_STYLE)]["status"]
        name = method_label(method)
        if part.empty:
            reason = paper.iloc[0] if len(paper) else "not timed"
            ours = f"{reason} (the paper's execution, Qiskit Aer with shots, has no {name})"
        else:
            best = part.loc[part["speedup_vs_seed_style"].idxmax()]
            ours = (
                f"{format_number(best['speedup_vs_seed_style'], 3)}× faster ({best['path']}: {best['status']}; "
                f"the paper's execution: {paper.iloc[0]})"
            )
        rows.append(
            _row(
                f"one {name} update: our simulator against the authors' execution style, same machine",
                ours,
                "—",
                scale,
                runtime.CHAPTER,
                "Runtime",
            )
        )
    return rows


def accuracy_rows(runs: list[study.StudyRun], reported: dict, seeds: pd.DataFrame | None = None) -> list[dict]:
    """:data:`~qrnn_study.study.BEST_RMSE` of SPSA and FDSA (1024 shots), mean ± SD over the seeds sweep's seeds,
    beside the paper's best for the method; without seeds, the CPU main run's (one seed, said so)."""
    outcomes = None if seeds is None else shots_and_seeds.seed_outcomes(seeds)
    rows = []
    for method in study.REPORTED_VALIDATION:
        run = study.pick(runs, method)
        paper = study.reported_validation(reported, method)
        best_paper = paper.loc[paper["val_rmse_mean"].idxmin()]
        paper_text = f"{best_paper['val_rmse_mean']:.4f} (epoch {int(best_paper['epoch'])}, reported, one run)"
        part = _variant(outcomes, method)
        if len(part):
            epochs, n_train = _seed_scale(seeds)
            label = part["variant"].iloc[0]
            scale = f"{epochs} epochs x {n_train} sequences, seeds {', '.join(map(str, part['seed']))}"
            ours = f"{study.mean_sd(part['best_rmse'])}, best epochs {', '.join(map(str, part['best_epoch']))}"
        elif run.complete:
            value, epoch = study.best_validation(run)
            label, scale = run.label, run.scale()
            ours = f"{value:.4f} (epoch {epoch}, measured, one seed: {run.params['seed']})"
        else:
            label, scale, ours = run.label, run.scale(), run.status_text
        rows.append(_row(f"{study.BEST_RMSE}, {label}", ours, paper_text, scale, accuracy.CHAPTER, "Accuracy"))
    return rows


PAPER_SPSA_CPU, PAPER_FDSA_CPU = "SPSA (CPU, Apple M3 Max)", "FDSA (CPU, Apple M3 Max)"


def cost_ratio(spsa: study.StudyRun, fdsa: study.StudyRun, reported: dict) -> tuple[float, float]:
    """The study's one FDSA / SPSA cost ratio: (ours, the paper's), each the ratio of mean times per update on CPU.

    Ours from two complete runs' recorded timings (measured); the paper's from its reported per-update seconds.
    """
    per_update = reported["per_update_seconds"]
    return (
        fdsa.timings["mean_update_s"] / spsa.timings["mean_update_s"],
        per_update[PAPER_FDSA_CPU] / per_update[PAPER_SPSA_CPU],
    )


def cost_row(runs: list[study.StudyRun], reported: dict) -> dict:
    """The FDSA / SPSA cost of one update (measured mean time per update of the CPU main runs) beside the paper's."""
    spsa, fdsa = study.pick(runs, "spsa"), study.pick(runs, "fdsa")
    per_update = reported["per_update_seconds"]
    paper = per_update[PAPER_FDSA_CPU] / per_update[PAPER_SPSA_CPU]
    if spsa.complete and fdsa.complete:
        ours = f"{cost_ratio(spsa, fdsa, reported)[0]:.0f}× (measured)"
        scale = f"{spsa.label}, {fdsa.label}: mean time per update; {study.machine([spsa, fdsa])}"
    else:
        missing = spsa if not spsa.complete else fdsa
        ours, scale = missing.status_text, "—"
    return _row(
        "cost of one FDSA update / one SPSA update (an epoch is the same number of updates)",
        ours,
        f"{paper:.0f}× (reported per-update times on CPU)",
        scale,
        setup.CHAPTER,
        "Setup",
    )


def baseline_rows(table: pd.DataFrame | None) -> list[dict]:
    """The best QRNN beside the best classical model, from the baselines chapter's table (``None``: not built)."""
    title, name = "Classical baselines", baselines.OUTPUTS.table
    if table is None:
        return [
            _row(
                "best QRNN and best classical model (validation RMSE, mean)",
                f"{NOT_BUILT} ({name} missing)",
                "—",
                "—",
                baselines.CHAPTER,
                title,
            )
        ]
    _, _, *bests = baselines.best_pair(table)
    rows = []
    for best, label in zip(bests, ("best QRNN", "best classical model")):
        if best is None:
            rows.append(
                _row(
                    f"{label} (validation RMSE, mean)",
                    f"none with a result in {name}",
                    "—",
                    "—",
                    baselines.CHAPTER,
                    title,
                )
            )
            continue
        rows.append(
            _row(
                f"{label} (validation RMSE, mean)",
                f"{best['rmse_mean']:.4f}: {best['model']} (measured)",
                "—",
                f"{int(best['parameters'])} trained parameters, {best['train_time_s']:.3g} s of training",
                baselines.CHAPTER,
                title,
            )
        )
    return rows


def key_results(profile: str, root: str | Path | None = None) -> pd.DataFrame:
    """The front page's table: speed-ups, reproduced accuracy, QRNN against classical models."""
    result = runtime.load(profile, root)
    if result is not None:
        rows = speedup_rows(result)
    else:
        rows = [
            _row(
                "speed-up over the paper's execution",
                f"{NOT_BUILT} ({runtime.OUTPUTS.bench} missing)",
                "—",
                "—",
                runtime.CHAPTER,
                "Runtime",
            )
        ]
    mains, reported = study.main_runs(study.load_profile(profile, root)), study.paper_reported(root)
    rows.insert(0, cost_row(mains, reported))
    rows += accuracy_rows(mains, reported, shots_and_seeds.load(profile, root))
    rows += baseline_rows(baselines.load(profile, root))
    return pd.DataFrame(rows, columns=COLUMNS)


def gradient_figure(profile: str, root: str | Path | None = None) -> tuple[bytes, str]:
    """The gradient-quality chapter's Figure 1 (PNG) with its caption renamed for the front page."""
    png, caption = gradient_quality.load_figure(profile, root)
    return png, caption.replace("**Figure 1.**", "**Gradient quality, Figure 1.**", 1)


# The front page's verdict words: one per paper claim, each computed by one function below.
REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_TESTED = "reproduced", "partly reproduced", "not reproduced", "not tested"
# The paper's claim of an order of magnitude: the least per-epoch cost ratio FDSA / SPSA that reproduces it.
ORDER_OF_MAGNITUDE = 10.0


@dataclass(frozen=True)
class Verdict:
    """One paper claim, the verdict this build computed for it and the evidence, with its uncertainty and n."""

    claim: str
    verdict: str
    evidence: str

    def markdown(self) -> str:
        """The verdict as one line of the front page."""
        return f"- **{self.claim}**: **{self.verdict}**. {self.evidence}"


def _variant(outcomes: pd.DataFrame | None, method: str, shots: int | None = 1024) -> pd.DataFrame:
    """The seed outcomes of the first seeds-sweep variant of ``method`` at ``shots`` (0/None: exact); may be empty."""
    if outcomes is None or outcomes.empty:
        return pd.DataFrame(columns=["variant", "method", "shots", "best_rmse", "best_epoch", "rise", "last_rmse"])
    part = outcomes[(outcomes["method"] == method) & (outcomes["shots"] == (shots or 0))]
    return part[part["variant"] == part["variant"].iloc[0]] if len(part) else part


def _paper_spsa(outcomes: pd.DataFrame | None) -> pd.DataFrame:
    """The seeds of SPSA as the paper ran it (fixed directions, 1024 shots), else proper SPSA at 1024 shots."""
    part = _variant(outcomes, "spsa-fixed")
    return part if len(part) else _variant(outcomes, "spsa")


def _seed_scale(seeds: pd.DataFrame) -> tuple[int, int]:
    """Epochs and training sequences per epoch of the seeds sweep."""
    return int(seeds["epoch"].max()), int(seeds["n_train"].iloc[0])


def _at_scale(verdict: str, n_train: int) -> str:
    """A verdict word, qualified when the seeds trained fewer sequences per epoch than the paper."""
    return verdict if n_train == TRAIN_WINDOWS else f"{verdict} at this reduced scale"


def cost_verdict(runs: list[study.StudyRun], outcomes: pd.DataFrame | None, reported: dict) -> Verdict:
    """Claim: SPSA is about an order of magnitude cheaper per epoch than FDSA, at comparable accuracy.

    Cost: the measured mean time per update of the FDSA and SPSA CPU main runs (an epoch is the
    same number of updates for both), beside the paper's per-update times. Reproduced when the
    ratio is at least :data:`ORDER_OF_MAGNITUDE` and the two methods' :data:`~qrnn_study.study.BEST_RMSE`
    over seeds differ by no more than the larger seed SD (a tie); partly when one of the two holds.
    """
    claim = "SPSA trains about 10× faster than FDSA per epoch, at comparable accuracy"
    spsa, fdsa = study.pick(runs, "spsa"), study.pick(runs, "fdsa")
    if not (spsa.complete and fdsa.complete):
        missing = spsa if not spsa.complete else fdsa
        return Verdict(claim, NOT_TESTED, f"{missing.label}: {missing.status_text}.")
    ratio, paper = cost_ratio(spsa, fdsa, reported)
    evaluations = (
        fdsa.record.updates["circuit_evaluations"].median() / spsa.record.updates["circuit_evaluations"].median()
    )
    per_update = reported["per_update_seconds"]
    cheaper = ratio >= ORDER_OF_MAGNITUDE
    s, f = _paper_spsa(outcomes), _variant(outcomes, "fdsa")
    if len(s) and len(f):
        gap = abs(f["best_rmse"].mean() - s["best_rmse"].mean())
        tolerance = max(
            s["best_rmse"].std(ddof=1) if len(s) > 1 else 0.0, f["best_rmse"].std(ddof=1) if len(f) > 1 else 0.0
        )
        comparable = gap <= tolerance
        accuracy_text = (
            f"The {study.BEST_RMSE}: {s['variant'].iloc[0]} {study.mean_sd(s['best_rmse'])}, {f['variant'].iloc[0]} "
            f"{study.mean_sd(f['best_rmse'])}; the gap {gap:.4f} is "
            + (
                "inside the larger seed SD (comparable)."
                if comparable
                else "larger than the seed SDs (not comparable)."
            )
        )
    else:
        comparable = None
        accuracy_text = "Accuracy over seeds: the seeds sweep has no SPSA and FDSA variant at 1024 shots."
    holds = [cheaper] + ([comparable] if comparable is not None else [])
    verdict = REPRODUCED if all(holds) and len(holds) == 2 else PARTLY if any(holds) else NOT_REPRODUCED
    return Verdict(
        claim,
        verdict,
        f"One FDSA update costs {ratio:.0f}× an SPSA update on this machine (measured mean time per update of the "
        f"CPU main runs; {evaluations:.0f}× the sequence evaluations); the paper's per-update times give "
        f"{paper:.0f}× ({per_update[PAPER_FDSA_CPU]} s against {per_update[PAPER_SPSA_CPU]} "
        f"s). {accuracy_text}",
    )


OVERFITTING_VERDICTS = {"supported": REPRODUCED, "not supported": NOT_REPRODUCED}


def _within_epoch(checks: pd.DataFrame | None, method: str) -> str:
    """Where ``method``'s best falls among the validation sweep's validations inside epochs, in a sentence (or "")."""
    part = _variant(None if checks is None else shots_and_seeds.check_outcomes(checks), method)
    if part.empty:
        return ""
    return (
        f" Validated every {int(part['validate_every'].iloc[0])} updates ({part['variant'].iloc[0]}, {len(part)} "
        f"seeds, {int(part['epochs'].min())} epochs): the best comes after "
        f"{', '.join(f'{v:.2f}' for v in part['best_epochs_done'])} epochs of updates."
    )


def overfitting_verdict(seeds: pd.DataFrame | None, level: float = 0.95, checks: pd.DataFrame | None = None) -> Verdict:
    """Claim: SPSA's validation RMSE is best after about one or two epochs, then rises (overfitting).

    The rule is :func:`qrnn_study.chapters.shots_and_seeds.overfitting_verdict` on SPSA as the
    paper ran it (fixed directions, 1024 shots; proper SPSA when that variant is missing):
    supported is reproduced, not supported is not reproduced, every seed agreeing but too
    few seeds for the exact binomial bound, or an inconclusive split, is partly. ``checks``
    (the validation sweep's validations inside epochs) adds where within an epoch the best falls.
    """
    claim = "SPSA is best after about one or two epochs, then overfits"
    if seeds is None:
        return Verdict(claim, NOT_TESTED, study.missing_output(shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.seeds))
    part = _paper_spsa(shots_and_seeds.seed_outcomes(seeds))
    epochs, n_train = _seed_scale(seeds)
    if part.empty or epochs < 3:
        reason = "no SPSA variant at 1024 shots" if part.empty else f"{epochs} epoch(s) of {n_train} sequences"
        return Verdict(claim, NOT_TESTED, f"The seeds sweep has {reason}; the claim needs at least 3 epochs.")
    word = shots_and_seeds.overfitting_verdict(part, level)
    verdict = _at_scale(OVERFITTING_VERDICTS.get(word, PARTLY), n_train)
    texts = []
    proper = _variant(shots_and_seeds.seed_outcomes(seeds), "spsa")
    for variant in (part, proper) if len(proper) and proper["variant"].iloc[0] != part["variant"].iloc[0] else (part,):
        texts.append(
            f"{variant['variant'].iloc[0]}: best epoch per seed {', '.join(map(str, variant['best_epoch']))}, rise "
            f"from the best to the last epoch {study.mean_sd(variant['rise'])}, rule: "
            f"{shots_and_seeds.overfitting_verdict(variant, level)}"
        )
    return Verdict(
        claim,
        verdict,
        f"{epochs} epochs of {n_train} sequences, validated once per epoch. "
        + "; ".join(texts)
        + (
            ". The verdict is that of SPSA as the paper ran it (fixed directions)."
            if part["method"].iloc[0] == "spsa-fixed"
            else ". The seeds sweep has no SPSA with fixed directions (as the paper ran it): the verdict is proper "
            "SPSA's."
        )
        + _within_epoch(checks, part["method"].iloc[0]),
    )


STABILITY_VERDICTS = {"supported": REPRODUCED, "contradicted": NOT_REPRODUCED}


def stability_verdict(seeds: pd.DataFrame | None, level: float = 0.95) -> Verdict:
    """Claim: FDSA is more stable than SPSA (it stays near its best for longer).

    The rule is :func:`qrnn_study.chapters.shots_and_seeds.stability_verdict` on FDSA and
    proper SPSA at 1024 shots: supported is reproduced, contradicted or not distinguishable
    from run-to-run variation is not reproduced, mixed is partly.
    """
    claim = "FDSA is more stable than SPSA"
    if seeds is None:
        return Verdict(claim, NOT_TESTED, study.missing_output(shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.seeds))
    outcomes = shots_and_seeds.seed_outcomes(seeds)
    pairs = shots_and_seeds.stability_pairs(outcomes)
    epochs, n_train = _seed_scale(seeds)
    if not pairs or epochs < 3:
        reason = (
            "no FDSA and SPSA variants at equal shots" if not pairs else f"{epochs} epoch(s) of {n_train} sequences"
        )
        return Verdict(claim, NOT_TESTED, f"The seeds sweep has {reason}; the claim needs at least 3 epochs.")
    spsa, fdsa = pairs[0]
    s, f = (outcomes[outcomes["variant"] == name] for name in (spsa, fdsa))
    word = shots_and_seeds.stability_verdict(
        shots_and_seeds.welch_interval(f["rise"].to_numpy(), s["rise"].to_numpy(), level),
        shots_and_seeds.sd_ratio_interval(f["last_rmse"].to_numpy(), s["last_rmse"].to_numpy(), level),
        len(f),
        len(s),
    )
    verdict = _at_scale(STABILITY_VERDICTS.get(word, PARTLY if word.startswith("mixed") else NOT_REPRODUCED), n_train)
    return Verdict(
        claim,
        verdict,
        f"Rise from the best to the last of {epochs} epochs: {fdsa} {study.mean_sd(f['rise'])}, {spsa} "
        f"{study.mean_sd(s['rise'])}; last-epoch RMSE {fdsa} {study.mean_sd(f['last_rmse'])}, {spsa} "
        f"{study.mean_sd(s['last_rmse'])}. Rule ({level:.0%} Welch and F intervals): {word}.",
    )


def gpu_verdict(runs: list[study.StudyRun]) -> Verdict:
    """Claim: FDSA per epoch on GPU against CPU (the authors' slides: 8 h on 2× A100 against 14.5 h on CPU).

    Reproduced when this build's FDSA GPU run's mean time per update is below its CPU run's;
    not tested when the GPU run was skipped (its reason is given).
    """
    claim = (
        "FDSA runs faster on GPU than on CPU (authors' slides: 8 h against 14.5 h per epoch; the paper's Table 1 "
        "prints the two the other way round)"
    )
    try:
        cpu, gpu = study.pick(runs, "fdsa", "cpu"), study.pick(runs, "fdsa", "cuda")
    except LookupError as error:
        return Verdict(claim, NOT_TESTED, f"{error}.")
    if not (cpu.complete and gpu.complete):
        missing = gpu if not gpu.complete else cpu
        return Verdict(claim, NOT_TESTED, f"{missing.label}: {missing.status_text}.")
    ratio = cpu.timings["mean_update_s"] / gpu.timings["mean_update_s"]
    return Verdict(
        claim,
        REPRODUCED if ratio > 1 else NOT_REPRODUCED,
        f"Measured mean time per update: CPU {cpu.timings['mean_update_s']:.3g} s, GPU "
        f"{gpu.timings['mean_update_s']:.3g} s ({ratio:.2f}× on the GPU; one run each, our simulator, not the "
        "paper's Aer).",
    )


def accuracy_verdict(seeds: pd.DataFrame | None, trajectories: pd.DataFrame | None, reported: dict) -> Verdict:
    """The paper's best validation mean RMSE per method against ours at matched scale.

    Ours is :data:`~qrnn_study.study.BEST_RMSE`, mean ± SD over the seeds of SPSA as the paper
    ran it and of FDSA (1024 shots). Matched scale: the seeds sweep trains the paper's
    1384 sequences per epoch for at least 3 epochs. Per method, the paper's value lies within
    one combined spread (seed SD and the SPSA trajectory SD added in quadrature) of our mean,
    within two, or further: reproduced when every method is within one, partly when every method
    is within two, otherwise not reproduced.
    """
    paper = study.paper_best(reported)
    claim = f"best validation mean RMSE as the paper reports it (SPSA {paper['spsa']:.4f}, FDSA {paper['fdsa']:.4f})"
    if seeds is None:
        return Verdict(claim, NOT_TESTED, study.missing_output(shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.seeds))
    epochs, n_train = _seed_scale(seeds)
    if n_train != TRAIN_WINDOWS or epochs < 3:
        return Verdict(
            claim,
            NOT_TESTED,
            f"Not at the paper's scale: this profile's seeds train {epochs} epoch(s) of {n_train} sequences, the paper "
            f"{TRAIN_WINDOWS} sequences per epoch; the `paper` profile (the default book) compares at matched scale.",
        )
    outcomes = shots_and_seeds.seed_outcomes(seeds)
    trajectory_sd, n_trajectories = 0.0, 0
    if trajectories is not None:
        spsa_rows = trajectories[trajectories["model"].astype(str).str.contains("SPSA")]["rmse_mean"].dropna()
        n_trajectories = len(spsa_rows)
        trajectory_sd = float(spsa_rows.std(ddof=1)) if n_trajectories > 1 else 0.0
    parts, distances = [], []
    for method, part in (("spsa", _paper_spsa(outcomes)), ("fdsa", _variant(outcomes, "fdsa"))):
        if part.empty:
            continue
        values = part["best_rmse"].to_numpy()
        spread = float(np.hypot(values.std(ddof=1) if len(values) > 1 else 0.0, trajectory_sd))
        distance = abs(values.mean() - paper[method]) / spread if spread > 0 else np.inf
        distances.append(distance)
        parts.append(
            f"{part['variant'].iloc[0]} {study.mean_sd(values)} against the paper's {paper[method]:.4f} "
            f"({distance:.1f} combined spreads away)"
        )
    if not distances:
        return Verdict(claim, NOT_TESTED, "The seeds sweep has no SPSA or FDSA variant at 1024 shots.")
    verdict = REPRODUCED if max(distances) <= 1 else PARTLY if max(distances) <= 2 else NOT_REPRODUCED
    return Verdict(
        claim,
        verdict,
        f"The {study.BEST_RMSE}, {epochs} epochs of {n_train} sequences: {'; '.join(parts)}. Combined spread: the "
        f"seed SD and the SD across Lorenz trajectories of SPSA ({trajectory_sd:.4f}, n = {n_trajectories} "
        "trajectories) added in quadrature.",
    )


def baseline_verdict(table: pd.DataFrame | None, runs: list[study.StudyRun], seeds: pd.DataFrame | None) -> Verdict:
    """The best QRNN against the best classical model, a difference inside the QRNN's seed SD called a tie.

    The QRNN's seed SD is that of the seeds-sweep variant with the best QRNN row's method and
    shots; without one the comparison is of single runs and says so.
    """
    claim = "the QRNN against classical models (not a claim of the paper)"
    if table is None:
        return Verdict(claim, NOT_TESTED, study.missing_output(baselines.CHAPTER, baselines.OUTPUTS.table))
    _, classical, q, c = baselines.best_pair(table)
    if q is None or c is None:
        return Verdict(claim, NOT_TESTED, "The baselines table has no QRNN or no classical row with a result.")
    by_label = {f"QRNN, {run.label}": run for run in runs}
    run = by_label.get(str(q["model"]))
    part = (
        _variant(shots_and_seeds.seed_outcomes(seeds), run.method, run.params.get("shots"))
        if (run is not None and seeds is not None)
        else pd.DataFrame()
    )
    sd = float(part["best_rmse"].std(ddof=1)) if len(part) > 1 else None
    gap = q["rmse_mean"] - c["rmse_mean"]
    if sd is None:
        word, spread = ("loses" if gap > 0 else "wins"), "no seed spread for this QRNN: a single-run comparison"
    else:
        word = "ties" if abs(gap) <= sd else "loses" if gap > 0 else "wins"
        spread = f"QRNN seed SD {sd:.4f}, n = {len(part)} seeds; a gap inside it is a tie"
    qrnn_rows, _, _, _ = baselines.best_pair(table)
    mean_row = classical[classical["model"].astype(str).str.startswith("mean")]
    below_mean = ""
    if len(mean_row):
        floor = float(mean_row["rmse_mean"].iloc[0])
        worse = qrnn_rows[qrnn_rows["rmse_mean"] > floor]
        if len(worse):
            below_mean = (
                f" Worse than the mean predictor ({floor:.4f}, {int(mean_row['parameters'].iloc[0])} parameters): "
                + ", ".join(f"{row['model']} {row['rmse_mean']:.4f}" for _, row in worse.iterrows())
                + "."
            )
    return Verdict(
        claim,
        f"the QRNN {word}",
        f"Best QRNN: {q['model']}, {q['rmse_mean']:.4f}, against the best classical model, {c['model']}, "
        f"{c['rmse_mean']:.4f} (validation mean "
        f"RMSE; gap {gap:+.4f}; {spread}). The QRNN's number is its best validation epoch, while the classical "
        f"models were tuned without the validation sequence: the comparison favours the QRNN.{below_mean}",
    )


def verdicts(profile: str, root: str | Path | None = None, level: float = 0.95) -> list[Verdict]:
    """The front page's verdicts, one per claim, each computed from the chapters' data through their loaders."""
    runs = study.load_profile(profile, root)
    seeds = shots_and_seeds.load(profile, root)
    outcomes = None if seeds is None else shots_and_seeds.seed_outcomes(seeds)
    reported = study.paper_reported(root)
    mains = study.main_runs(runs)
    return [
        cost_verdict(mains, outcomes, reported),
        overfitting_verdict(seeds, level, shots_and_seeds.load_checks(profile, root)),
        stability_verdict(seeds, level),
        gpu_verdict(mains),
        accuracy_verdict(seeds, trajectory_chapter.load(profile, root), reported),
        baseline_verdict(baselines.load(profile, root), mains, seeds),
    ]


def extension_lines(profile: str, root: str | Path | None = None) -> list[str]:
    """One front-page line per chapter that goes beyond the paper (device noise, ablations), from its findings."""
    from . import ablations, device_noise

    ablation = ablations.front_line(profile, root).removeprefix("Ablations: ")
    return [
        f"- **Under a device's noise** ([device noise](device_noise.html)): {device_noise.findings(profile, root)[0]}",
        f"- **What the QRNN's parts do** ([ablations](ablations.html)): {ablation}",
    ]
