"""Runtime benchmark, the reporting half: the tables of a benchmark result (see :mod:`qrnn_study.timing`).

Every function takes the :class:`qrnn_study.timing.Benchmark` that :func:`qrnn_study.timing.run_benchmark`
returns (or :func:`qrnn_study.timing.load_benchmark` reads) and builds a data frame or text; the runtime
chapter draws the plots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .timing import Benchmark


def methods(result: Benchmark) -> list[str]:
    """The gradient methods the benchmark timed, in its order."""
    return list(result["config"]["methods"])


def update_table(result: Benchmark) -> pd.DataFrame:
    """Time per weight update: one row per (path, method) with status, spread and speed-up."""
    columns = [
        "path",
        "method",
        "status",
        "evaluations",
        "median_s",
        "min_s",
        "max_s",
        "speedup_vs_seed_style",
        "measured_evaluations",
        "reason",
    ]
    return pd.DataFrame(result["updates"]).reindex(columns=columns)


def epoch_table(result: Benchmark) -> pd.DataFrame:
    """Projected hours per epoch (updates plus one validation pass), methods by paths."""
    table = pd.DataFrame([r for r in result["updates"] if "median_s" in r])
    return table.pivot(index="method", columns="path", values="epoch_hours").reindex(methods(result))


def validation_table(result: Benchmark) -> pd.DataFrame:
    """Time of one validation pass per path."""
    columns = ["path", "status", "steps", "median_s", "min_s", "max_s", "reason"]
    return pd.DataFrame(result["validation"]).reindex(columns=columns)


def targets_table(result: Benchmark) -> pd.DataFrame:
    """The speed targets with their measured values."""
    return pd.DataFrame.from_dict(result["targets"], orient="index")


def aer_check_table(result: Benchmark) -> pd.DataFrame | None:
    """Torch validation pass before and after Aer runs in one process, with Aer on one thread and on its default.

    Medians over the benchmark's repeats, Aer's time per 1024-shot run and the load at the time;
    ``None`` for a benchmark written before the check existed.
    """
    check = result.get("aer_check")
    if check is None:
        return None
    rows = {}
    for key, label in (("with_cap", "on one thread (this package)"), ("without_cap", "on its default threads")):
        run = check[key]
        before, after = run["torch_before"]["median_s"], run["torch_after"]["median_s"]
        rows[label] = {
            "torch before Aer (s)": before,
            "torch after Aer (s)": after,
            "after / before": after / before,
            "Aer run (s)": run["aer_run"]["median_s"],
            "load average (1 min)": run["load_average"][0] if run["load_average"] else None,
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Aer runs")


def sweep_table(sweep: dict) -> pd.DataFrame:
    """The scaling sweep as a table (one row per axis point and method)."""
    return pd.DataFrame(sweep["rows"]).drop(columns=["times_s"])


def growth_exponents(sweep: dict) -> pd.DataFrame:
    """Log-log slope of update time against sequence length, and time ratio per 2 qubits, per method."""
    table = sweep_table(sweep)
    out = {}
    for method in table["method"].unique():
        length = table[(table["axis"] == "length") & (table["method"] == method)]
        qubits = table[(table["axis"] == "qubits") & (table["method"] == method)].sort_values("value")
        slope = np.polyfit(np.log(length["value"]), np.log(length["median_s"]), 1)[0] if len(length) > 1 else None
        ratio = float(np.exp(np.mean(np.diff(np.log(qubits["median_s"]))))) if len(qubits) > 1 else None
        out[method] = {
            "time ~ length^k, k": slope,
            "time ratio per +2 qubits": ratio,
            "evaluations per update (largest qubits)": int(qubits["evaluations"].iloc[-1]) if len(qubits) else None,
        }
    return pd.DataFrame.from_dict(out, orient="index")


def paper_epoch_table(paper: dict) -> pd.DataFrame:
    """The paper's hours per epoch: Table 1 as printed beside the authors' slides and plot script.

    A third column multiplies the reported time per update by the sequences per epoch,
    which shows which of the two FDSA assignments is consistent with Figure 1.
    """
    printed = {k.replace("2x A100", "GPU"): v for k, v in paper["per_epoch_hours_paper_table_1_as_printed"].items()}
    slides = paper["per_epoch_hours_authors_slides_and_plot_script"]
    per_update = {
        ("FDSA (GPU)" if "GPU" in k else k.split(",")[0] + ")"): v for k, v in paper["per_update_seconds"].items()
    }
    sequences = paper["sequences_per_epoch"]
    rows = sorted(set(printed) | set(slides))
    return pd.DataFrame(
        {
            "Table 1 as printed (h)": [printed.get(r) for r in rows],
            "slides / plot script (h)": [slides.get(r) for r in rows],
            f"reported s/update x {sequences} (h)": [
                per_update[r] * sequences / 3600 if r in per_update else None for r in rows
            ],
        },
        index=pd.Index(rows, name="paper row"),
    )


def update_plot_frame(result: Benchmark, paper: dict) -> pd.DataFrame:
    """Bars of the time-per-update figure: this run's measured/projected rows and the paper's reported ones."""
    rows = []
    for r in result["updates"]:
        if "median_s" not in r:
            continue
        if r["status"] == "projected":
            note = f"projected from {r['measured_evaluations']} of {r['evaluations']} evaluations"
        else:
            note = f"measured, {len(r['times_s'])} repeats"
        rows.append(
            {
                "label": f"{r['method']} · {r['path']}",
                "method": r["method"],
                "source": r["path"],
                "seconds": r["median_s"],
                "low": r["min_s"],
                "high": r["max_s"],
                "kind": r["status"],
                "note": note,
            }
        )
    for name, seconds in paper["per_update_seconds"].items():
        method = name.split(" ")[0].lower()
        rows.append(
            {
                "label": f"{method} · paper {name[name.index('(') :]}",
                "method": method,
                "source": "paper",
                "seconds": seconds,
                "low": seconds,
                "high": seconds,
                "kind": "reported",
                "note": "reported by the paper",
            }
        )
    order = {m: i for i, m in enumerate(methods(result))}
    frame = pd.DataFrame(rows)
    return frame.sort_values(["method", "seconds"], key=lambda s: s.map(order) if s.name == "method" else s)


def summary(result: Benchmark, origin: str) -> str:
    """One paragraph: where the benchmark came from, the machine, the versions and its scale."""
    p, c = result["provenance"], result["config"]
    device, versions = p["device"], p["versions"]
    load = device["load_average"]
    return (
        f"Benchmark {origin}: {device['cpu']}, {device['cores']} cores, {device['torch_threads']} torch thread(s), "
        f"GPU: {device['cuda_device'] or 'none'}; torch {versions['torch']}, qiskit {versions['qiskit']}, "
        f"qiskit-aer {versions['qiskit-aer']}; commit `{(p['git_commit'] or 'unknown')[:10]}`; "
        f"{c['n_qubits']} qubits, {c['steps']}-step sequences, {c['repeats']} timed repeats after {c['warmup']} "
        f"warm-up, seed {c['seed']}; load average at start "
        + (f"{load[0]:.1f}" if load else "unknown")
        + f" on {device['cores']} cores; the whole run took {result['wall_seconds']:.0f} s."
    )


def format_report(result: Benchmark) -> str:
    """The printed summary: update times, validation passes, epochs, targets and torch's speed after Aer runs."""

    def fmt(value: float) -> str:
        return f"{value:.4g}"

    check, lines = result.get("aer_check"), []
    if check is not None:
        lines = [
            f"\nTorch validation pass before and after Aer runs in this process ({check['torch_threads']} torch "
            f"threads): with Aer on one thread they agree within {check['tolerance']:.0%}: {check['agree']}",
            aer_check_table(result).to_string(float_format=fmt),
        ]
    with pd.option_context("display.width", 160):
        return "\n".join(
            [
                "Time per weight update (s), median over repeats; "
                "'projected' = evaluations x measured time per evaluation",
                update_table(result).drop(columns=["reason"]).to_string(index=False, float_format=fmt),
                f"\nValidation pass ({result['config']['validation_steps']} steps)",
                validation_table(result).to_string(index=False, float_format=fmt),
                "\nHours per epoch (" + result["epoch_definition"] + ")",
                epoch_table(result).to_string(float_format=fmt),
                "\nTargets",
                targets_table(result).to_string(float_format=fmt),
                *lines,
            ]
        )
