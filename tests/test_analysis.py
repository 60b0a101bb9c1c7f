"""Analyses beyond the paper, checked on known answers (the chapters run in tests/test_book.py)."""

import numpy as np
import torch

from qrnn_core import analysis
from qrnn_core.model import QRNN, QRNNConfig


def test_cosine_and_relative_error_known_answers():
    a = torch.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]])
    b = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(analysis.cosine_similarity(a, b), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(analysis.cosine_similarity(-a, a)[0], torch.tensor(-1.0))
    torch.testing.assert_close(analysis.relative_error(2 * b, b), torch.tensor([1.0, 1.0]))


def _small_problem():
    model = QRNN(QRNNConfig(n_qubits=4, method="exact", precision="double"), seed=3)
    gen = torch.Generator().manual_seed(0)
    features = torch.rand(2, 6, 1, generator=gen, dtype=torch.float64)
    targets = torch.rand(2, 6, 2, generator=gen, dtype=torch.float64)
    return model, features, targets


def test_exact_gradient_matches_the_model_backward():
    model, features, targets = _small_problem()
    reference = analysis.exact_gradients(model, features, targets, washout=2)
    loss = torch.mean((model(features[1:])[:, 2:] - targets[1:, 2:]) ** 2)
    loss.backward()
    expected = torch.cat([model.input_layer.weight.grad.flatten(), model.input_layer.bias.grad])
    torch.testing.assert_close(reference[1], expected)


def test_unbiased_estimators_recover_the_exact_gradient():
    """FDSA at small epsilon and parameter-shift give cosine ~1 with exact distributions; shots lower it."""
    model, features, targets = _small_problem()
    settings = [analysis.EstimatorSetting("fdsa", 1e-5), analysis.EstimatorSetting("param-shift")]
    frame = analysis.gradient_quality(model, features, targets, 2, settings, [None, 64], repeats=1, seed=0)
    exact = frame[frame["shots"] == 0]
    assert (exact["cosine"] > 1 - 1e-8).all() and (exact["relative_error"] < 1e-4).all()
    assert (frame[frame["shots"] == 64]["cosine"] < 0.999).all()
    assert set(frame["evaluations"]) == {2 * 27 * 2 + 1, 6 * (len(analysis.step_gates(4)) * 2 + 3 * 2) + 1}


def test_fidelity_statement_reports_both_estimators():
    model, features, targets = _small_problem()
    settings = [analysis.EstimatorSetting("fdsa", 0.1), analysis.EstimatorSetting("spsa", 0.1, 2)]
    frame = analysis.gradient_quality(model, features, targets, 2, settings, [None, 1024], repeats=2, seed=0)
    text = analysis.fdsa_fidelity_statement(frame, 1024, 0.1)
    assert "FDSA cosine" in text and "SPSA with 2 samples" in text


def test_shift_rules_match_autograd_per_gate():
    gen = torch.Generator().manual_seed(1)
    angles = torch.rand(3, 27, generator=gen, dtype=torch.float64) * 6
    table = analysis.angle_level_shift_check(angles, torch.randn(3, 4, generator=gen, dtype=torch.float64), 4)
    assert table["max |difference|"].max() < 1e-12
    assert table.loc["final readout RZ (zero by construction)", "max |autograd|"] < 1e-12


def test_chi_square_pvalues_accept_true_and_reject_wrong_distributions():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(16), size=200)
    shots = 2048
    freq = np.stack([rng.multinomial(shots, p) for p in probs]) / shots
    assert 0.01 < np.mean(analysis.chi_square_pvalues(freq, probs, shots) < 0.05) < 0.12
    wrong = np.roll(probs, 1, axis=-1)
    assert np.mean(analysis.chi_square_pvalues(freq, wrong, shots) < 0.05) > 0.9


def test_paper_claims_on_a_constructed_history():
    import pandas as pd

    rows = []
    for seed in (1, 2):
        for epoch, (s, f) in enumerate([(0.3, 0.3), (0.1, 0.2), (0.15, 0.15), (0.2, 0.14)]):
            rows += [{"variant": "S", "seed": seed, "epoch": epoch, "val_rmse_mean": s + 0.001 * seed},
                     {"variant": "F", "seed": seed, "epoch": epoch, "val_rmse_mean": f}]
    claims = analysis.paper_claims(pd.DataFrame(rows), "S", "F")
    assert "holds for 2 of 2 seeds" in claims[1]
    assert claims[2].endswith("Holds at this scale.")

