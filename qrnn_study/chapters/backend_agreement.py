"""The backend-agreement chapter: the torch simulator against Qiskit Aer."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from scipy import stats

from qrnn_core.simulate import simulate

from ..style import TEXT_WIDTH

CHAPTER = "backend_agreement"


@dataclass(frozen=True)
class Outputs:
    """The table the backend-agreement chapter writes."""

    agreement: str = "agreement.csv"


OUTPUTS = Outputs()


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


def pvalue_histograms(pvalues: dict[str, np.ndarray]) -> Figure:
    """One histogram of per-step chi-square p-values per comparison, with the uniform expectation dashed."""
    fig, axes = plt.subplots(1, len(pvalues), figsize=(TEXT_WIDTH, 2.8), squeeze=False, layout="constrained")
    for ax, (name, p) in zip(axes[0], pvalues.items()):
        ax.hist(p, bins=np.linspace(0, 1, 11), edgecolor="white")
        ax.axhline(len(p) / 10, color="black", lw=0.8, ls="--")
        ax.set(title=name, xlabel="chi-square p-value per step", ylabel="steps")
    return fig
