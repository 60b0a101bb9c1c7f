"""The closing pages' findings, stated in words from the data the chapters wrote.

Every sentence is computed from a chapter's data, read through that chapter's ``load``
(seeds and cost from ``shots_and_seeds``, trajectories and baselines from their chapters,
the benchmark from ``runtime``) or from ``book/paper_reported.json``, so no number in the
discussion or the conclusion can go stale. A file a chapter did not write is reported as
missing, never replaced by a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qrnn_core.estimators import method_label

from .. import study
from ..intervals import spread
from . import baselines as baselines_chapter
from . import runtime, shots_and_seeds, summary
from . import trajectories as trajectory_chapter

CHAPTER = "discussion"


@dataclass(frozen=True)
class Outputs:
    """The discussion writes no file."""

    pass


OUTPUTS = Outputs()


# The chapter outputs the closing pages read, named by their owners: (chapter, file).
SEEDS = (shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.seeds)
COST = (shots_and_seeds.CHAPTER, shots_and_seeds.OUTPUTS.cost)
TRAJECTORIES = (trajectory_chapter.CHAPTER, trajectory_chapter.OUTPUTS.table)
TRAJECTORIES_VS_SEEDS = (trajectory_chapter.CHAPTER, trajectory_chapter.OUTPUTS.vs_seeds)
BASELINES = (baselines_chapter.CHAPTER, baselines_chapter.OUTPUTS.table)
BENCHMARK = (runtime.CHAPTER, runtime.OUTPUTS.bench)


def missing(source: tuple[str, str]) -> str:
    """What the page says in place of a finding whose data is missing."""
    return study.missing_output(*source)


def seed_findings(seeds: pd.DataFrame | None, level: float = 0.95) -> list[str]:
    """Spread of the best validation RMSE across seeds per variant, then :func:`claim_findings`."""
    if seeds is None:
        return [missing(SEEDS)]
    outcomes = shots_and_seeds.seed_outcomes(seeds)
    lines = [
        f"Across training seeds ({int(seeds['epoch'].max())} epochs of {int(seeds['n_train'].iloc[0])} sequences "
        f"each), the {study.BEST_RMSE} varies as follows (mean ± SD, then the SD's {level:.0%} chi-square interval; "
        "with 2 or 3 seeds that interval is wide, and the SD itself is a rough estimate):"
    ]
    for variant, part in outcomes.groupby("variant", sort=False):
        lines.append(f"- **{variant}**: {study.mean_sd(part['best_rmse'])}; {spread(part['best_rmse'], level)} seeds.")
    return [*lines, "", *claim_findings(seeds, level)]


def claim_findings(seeds: pd.DataFrame | None, level: float = 0.95) -> list[str]:
    """The paper's claim 1 for every SPSA variant and claim 2 for every FDSA/SPSA pair at equal shots."""
    if seeds is None:
        return [missing(SEEDS)]
    outcomes = shots_and_seeds.seed_outcomes(seeds)
    kinds = outcomes.groupby("variant", sort=False)[["method", "shots"]].first()
    spsa_like = kinds[kinds["method"].isin(["spsa", "spsa-fixed"])].index  # proper SPSA and SPSA as the paper ran it
    lines = [shots_and_seeds.overfitting_claim(outcomes, variant, level) for variant in spsa_like]
    pairs = shots_and_seeds.stability_pairs(outcomes)
    if pairs:
        lines += [shots_and_seeds.stability_claim(outcomes, s, f, level) for s, f in pairs]
    else:
        lines.append(
            "Claim 2 (FDSA is more stable than SPSA) is not tested in this profile: its seeds sweep has no "
            "FDSA variant (see the shots-and-seeds chapter for why); the `paper` profile tests it."
        )
    return lines


def trajectory_findings(
    trajectories: pd.DataFrame | None, comparison: pd.DataFrame | None, reported: dict
) -> list[str]:
    """The trajectories chapter's findings (:func:`qrnn_study.chapters.trajectories.findings`) from its data.

    The spread of each QRNN's best RMSE across trajectories, where the paper's bests fall
    in it, and the spread across seeds beside it.
    """
    if trajectories is None:
        return [missing(TRAJECTORIES)]
    if comparison is None:
        return [missing(TRAJECTORIES_VS_SEEDS)]
    paper = trajectory_chapter.paper_bests(reported)
    return [trajectory_chapter.findings(trajectory_chapter.spread(trajectories, paper), comparison, paper)]


def _named(row: pd.Series) -> str:
    """A baselines row's model with its trained parameters (unless its name already states them)."""
    model = str(row["model"])
    return model if "parameters" in model else f"{model} ({int(row['parameters'])} parameters)"


def baseline_findings(baselines: pd.DataFrame | None) -> list[str]:
    """Best QRNN against the best classical model (mean, y and z RMSE, parameters): who wins, said plainly."""
    if baselines is None:
        return [missing(BASELINES)]
    qrnn, classical, q, c = baselines_chapter.best_pair(baselines)
    if q is None or c is None:
        return [
            f"The baselines table has {len(qrnn)} QRNN and {len(classical)} classical rows with a result: "
            "no comparison."
        ]
    verdict = "the QRNN **loses**" if c["rmse_mean"] < q["rmse_mean"] else "the QRNN **wins**"
    lines = [
        f"Best QRNN: {_named(q)}, validation mean RMSE {q['rmse_mean']:.4f} (y {q['rmse_y']:.4f}, z "
        f"{q['rmse_z']:.4f}). Best classical model: {_named(c)}, {c['rmse_mean']:.4f} (y {c['rmse_y']:.4f}, z "
        f"{c['rmse_z']:.4f}). "
        f"On the mean, {verdict} (ratio {q['rmse_mean'] / c['rmse_mean']:.2f})."
    ]
    for target in ("y", "z"):
        column = f"rmse_{target}"
        better = classical[classical[column] < q[column]]["model"].tolist()
        lines.append(
            f"On {target}: {len(better)} of {len(classical)} classical models beat the best QRNN"
            + (f" ({', '.join(map(str, better))})." if better else ".")
        )
    matched = classical[classical["parameters"] <= q["parameters"]]
    if not matched.empty:
        m = matched.loc[matched["rmse_mean"].idxmin()]
        word = "beats" if m["rmse_mean"] < q["rmse_mean"] else "does not beat"
        lines.append(
            f"With no more trained parameters than the QRNN ({int(q['parameters'])}), the best classical "
            f"model is {_named(m)}, {m['rmse_mean']:.4f}: it {word} the QRNN."
        )
    return lines


def cost_findings(cost: pd.DataFrame | None) -> list[str]:
    """Per method (main runs and seeds): its best validation mean RMSE, mean ± SD over runs, and what it took.

    Every method is summarised the same way, over all of its runs (never the best of several
    runs of one method beside a single run of another).
    """
    if cost is None:
        return [missing(COST)]
    lines = [
        f"What training consumed to reach its {study.BEST_RMSE}, per method over its runs (main run and seeds; "
        "mean ± SD, n runs):"
    ]
    for _, part in cost.groupby(["method", "shots per step"], sort=False):
        shots = int(part["shots per step"].iloc[0])
        used = f"median {part['evaluations to the best epoch'].median():,.0f} sequence evaluations"
        if shots:
            used += f", {part['shots to the best epoch'].median():,.0f} shots"
        lines.append(
            f"- **{method_label(part['method'].iloc[0])}** "
            f"({f'{shots} shots per step' if shots else 'exact distributions'}): "
            f"{study.mean_sd(part['best validation mean RMSE'], unit='runs')}, best epochs "
            f"{', '.join(str(int(e)) for e in part['best epoch'])}, after {used} to the best epoch."
        )
    return lines


def extension_findings(profile: str, root: str | Path | None = None) -> list[str]:
    """The device-noise and ablations chapters' paragraphs, from their own findings (read through their modules)."""
    from . import ablations, device_noise

    table = ablations.load(profile, root)
    ablation = (
        study.missing_output(ablations.CHAPTER, ablations.OUTPUTS.table)
        if table is None
        else ablations.findings(table).verdict
    )
    return [f"**Device noise.** {device_noise.findings(profile, root)[1]}", f"**Ablations.** {ablation}"]


def benchmark_findings(profile: str, root: str | Path | None = None) -> list[str]:
    """The benchmark's speed-up of each method's fastest path over the paper's execution, in words."""
    result = runtime.load(profile, root)
    if result is None:
        return [missing(BENCHMARK)]
    rows = summary.speedup_rows(result)
    return [f"- {row['result']}: {row['this build']}." for row in rows]
