"""Gradient estimators against autograd on the exact float64 simulator, their costs, backends and registry."""

from __future__ import annotations

import pytest
import torch

from qrnn_core import estimators
from qrnn_core.circuit import final_readout_rz_angles
from qrnn_core.estimators import SPSA, EstimatorOptions, MethodSpec, method_label, method_names, method_spec, register
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.simulate import simulate

BUILT_IN = ("spsa", "fdsa", "param-shift", "exact")


def vjp(method: str, n_qubits: int = 4, steps: int = 6, batch: int = 2, **kwargs) -> tuple[torch.Tensor, QRNN]:
    """Estimated d/dtheta sum(g * p) for the input layer (weight rows then bias), and the model."""
    model = QRNN(QRNNConfig(n_qubits=n_qubits, method=method, precision="double", **kwargs), seed=3)
    gen = torch.Generator().manual_seed(5)
    features = torch.rand(batch, steps, 1, generator=gen, dtype=torch.float64)
    g = torch.randn(batch, steps, model.config.n_outcomes, generator=gen, dtype=torch.float64)
    probs = model.quantum_layer(features)
    (probs * g.to(probs)).sum().backward()
    grad = torch.cat([model.input_layer.weight.grad.flatten(), model.input_layer.bias.grad])
    return grad.to(torch.float64), model


def relative_error(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    return float((estimate - reference).norm() / reference.norm())


@pytest.fixture(scope="module")
def exact4() -> torch.Tensor:
    return vjp("exact")[0]


@pytest.fixture
def registry(monkeypatch) -> dict:
    """A private copy of the registry: methods a test registers are gone after it."""
    copy = dict(estimators.REGISTRY)
    monkeypatch.setattr(estimators, "REGISTRY", copy)
    return copy


def test_fdsa_matches_exact(exact4):
    assert relative_error(vjp("fdsa", epsilon=1e-4)[0], exact4) < 1e-3


def test_param_shift_matches_exact(exact4):
    assert relative_error(vjp("param-shift")[0], exact4) < 1e-4


def test_param_shift_matches_exact_8_qubits():
    reference = vjp("exact", n_qubits=8, steps=3, batch=1)[0]
    assert relative_error(vjp("param-shift", n_qubits=8, steps=3, batch=1)[0], reference) < 1e-4


def test_spsa_mean_converges_to_exact(exact4):
    estimate = vjp("spsa", spsa_samples=2000)[0]
    cosine = torch.nn.functional.cosine_similarity(estimate, exact4, dim=0)
    assert cosine > 0.95
    assert 0.8 < estimate.norm() / exact4.norm() < 1.25


class TwoLevelSPSA(SPSA):
    """SPSA with symmetric directions of magnitude 1 or 2 (each with probability 1/2)."""

    def sample(self, shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
        signs = 2.0 * torch.randint(0, 2, shape, generator=generator) - 1.0
        return signs * (1.0 + torch.randint(0, 2, shape, generator=generator))


class MultiplyingTwoLevelSPSA(TwoLevelSPSA):
    """The old, biased combination (multiply by the direction): E[D_i^2] = 2.5 times the gradient."""

    def combination(self, directions: torch.Tensor) -> torch.Tensor:
        return directions


def _spsa_spec(name: str, cls: type[SPSA]) -> MethodSpec:
    return MethodSpec(name, name, cls.from_options, True, lambda o, n, t: 2 * o.spsa_samples + 1, ("epsilon",))


def test_spsa_is_unbiased_for_non_rademacher_directions(registry):
    register(_spsa_spec("two-level", TwoLevelSPSA))
    register(_spsa_spec("two-level-multiplied", MultiplyingTwoLevelSPSA))
    shape = {"n_qubits": 2, "steps": 3, "batch": 1}
    reference = vjp("exact", **shape)[0]
    estimate = vjp("two-level", epsilon=1e-2, spsa_samples=4000, **shape)[0]
    biased = vjp("two-level-multiplied", epsilon=1e-2, spsa_samples=4000, **shape)[0]  # the same directions
    assert relative_error(estimate, reference) < 0.2
    assert 0.9 < float(estimate.norm() / reference.norm()) < 1.1
    # the tolerance tells the two apart: multiplying by the direction is 2.5x too large
    assert relative_error(biased, reference) > 1.0
    assert 2.2 < float(biased @ reference / reference.norm() ** 2) < 2.8


def test_rademacher_division_equals_multiplication():
    directions = SPSA().sample((3, 7), torch.Generator().manual_seed(0))
    assert torch.equal(SPSA().combination(directions), directions)


@pytest.mark.parametrize("method", ["exact", "param-shift"])
def test_final_readout_rz_gets_zero_gradient(method):
    n_qubits = 4
    grad, model = vjp(method, n_qubits=n_qubits)
    n_angles = model.config.n_angles
    bias_grad = grad[n_angles:]  # d/d(bias_j) = sum over steps of d/d(angle_j)
    dead = final_readout_rz_angles(n_qubits)
    live = [j for j in range(n_angles) if j not in dead]
    assert bias_grad[dead].abs().max() < 1e-12
    assert grad[:n_angles][dead].abs().max() < 1e-12  # the weight rows of those angles too
    assert bias_grad[live].abs().max() > 1e-3


@pytest.mark.parametrize(
    "method, expected",
    [("spsa", 2 * 3 + 1), ("fdsa", 2 * 110 + 1), ("param-shift", 2 * (2 * 48 + 4 * 7) + 1), ("exact", 1)],
)
def test_evaluation_counts_8_qubits(method, expected):
    _, model = vjp(method, n_qubits=8, steps=2, batch=1, spsa_samples=3)
    assert model.circuit_evaluations == expected
    options = EstimatorOptions(n_qubits=8, spsa_samples=3)
    assert method_spec(method).evaluations_per_sequence(options, 110, steps=2) == expected


@pytest.mark.parametrize("method", method_names())
def test_registry_evaluations_match_the_model(method):
    steps, batch = 3, 2
    _, model = vjp(method, n_qubits=4, steps=steps, batch=batch, spsa_samples=2)
    n_params = model.input_layer.weight.numel() + model.input_layer.bias.numel()
    spec = method_spec(method)
    assert model.circuit_evaluations == batch * spec.evaluations_per_sequence(
        model.config.estimator_options, n_params, steps
    )


def _shot_noise_scale(model: QRNN, shots: int, features: torch.Tensor, g: torch.Tensor, repeats: int = 40) -> float:
    """Root-mean-square size of the shot noise of the model's estimator at its first plan.

    The plan's exact distributions are sampled ``repeats`` times with ``shots`` draws per
    step (as the torch backend does) and combined; the spread of the estimates is the noise.
    """
    weight, bias = model.input_layer.weight.detach(), model.input_layer.bias.detach()
    plan = model.estimator.plan(weight, bias, features, torch.Generator().manual_seed(11))
    points = plan.angles.flatten(0, 1)

    def estimate(shots_seed: tuple[int | None, int | None]) -> torch.Tensor:
        probs = simulate(points, "torch", shots=shots_seed[0], seed=shots_seed[1], n_qubits=2).to(weight)
        return torch.cat([part.flatten() for part in plan.combine(probs.unflatten(0, plan.angles.shape[:2]), g)])

    exact = estimate((None, None))
    noise = [estimate((shots, seed)) - exact for seed in range(repeats)]
    return float(torch.stack(noise).norm(dim=1).pow(2).mean().sqrt())


@pytest.mark.parametrize(
    "method, backend, shots",
    [("spsa", "torch", 65536), ("fdsa", "torch", 65536), ("param-shift", "torch", 65536), ("spsa", "aer", 16384)],
)
def test_shot_based_estimates_agree_with_shot_free(method, backend, shots):
    """With shots, an estimate differs from the same estimator's shot-free one (same directions) by shot noise only.

    The estimators' code does not depend on the backend; Aer (slow) is checked with the cheapest, SPSA.
    """
    shape = {"n_qubits": 2, "steps": 3, "batch": 1}
    eps = {"epsilon": 0.5} if method != "param-shift" else {}  # differences of noisy points: a large step
    free, _ = vjp(method, **shape, **eps)
    noisy, model = vjp(method, backend=backend, shots=shots, **shape, **eps)
    assert noisy.shape == free.shape == (2 * model.config.n_angles,)
    gen = torch.Generator().manual_seed(5)
    features = torch.rand(1, shape["steps"], 1, generator=gen, dtype=torch.float64)
    g = torch.randn(1, shape["steps"], model.config.n_outcomes, generator=gen, dtype=torch.float64)
    scale = _shot_noise_scale(model, shots, features, g)
    # Aer draws every step of a sequence from the same shots, so steps are correlated: allow sqrt(steps) more.
    tolerance = 4 * scale * (shape["steps"] ** 0.5 if backend == "aer" else 1.0)
    assert float((noisy - free).norm()) < tolerance
    assert tolerance < 0.5 * float(free.norm())  # a zero, halved or sign-flipped estimate would fail
    assert model.circuit_evaluations > 1


def test_shot_noise_estimate_tracks_exact():
    reference = vjp("exact", n_qubits=2, steps=3, batch=1)[0]
    estimate = vjp("param-shift", n_qubits=2, steps=3, batch=1, shots=200_000)[0]
    assert torch.nn.functional.cosine_similarity(estimate, reference, dim=0) > 0.95


@pytest.mark.parametrize("backend, shots", [("aer", None), ("aer-exact", None), ("torch", 1024)])
def test_exact_needs_shot_free_torch(backend, shots):
    with pytest.raises(ValueError, match="exact.*torch"):
        QRNNConfig(n_qubits=2, method="exact", backend=backend, shots=shots)


def test_built_in_registry():
    assert method_names()[: len(BUILT_IN)] == BUILT_IN
    assert [method_label(m) for m in BUILT_IN] == ["SPSA", "FDSA", "parameter-shift", "exact gradient"]
    assert [method_spec(m).stochastic for m in BUILT_IN] == [True, False, False, False]
    assert method_spec("exact").autograd and method_spec("exact").build(EstimatorOptions()) is None
    assert method_spec("spsa").describe(EstimatorOptions(epsilon=0.05, spsa_samples=3)) == "SPSA (eps 0.05, 3 samples)"
    with pytest.raises(ValueError, match="unknown gradient method 'newton'; allowed: spsa, fdsa"):
        method_spec("newton")


def test_register_adds_a_method_the_model_accepts(registry):
    with pytest.raises(ValueError, match="unknown gradient method"):
        QRNNConfig(method="two-level")
    register(_spsa_spec("two-level", TwoLevelSPSA))
    assert "two-level" in method_names()
    grad, model = vjp("two-level", n_qubits=2, steps=2, batch=1, spsa_samples=2)
    assert isinstance(model.estimator, TwoLevelSPSA) and model.circuit_evaluations == 5
    with pytest.raises(ValueError, match="already registered"):
        register(_spsa_spec("two-level", SPSA))
    register(_spsa_spec("two-level", SPSA), replace=True)
    assert type(QRNN(QRNNConfig(n_qubits=2, method="two-level")).estimator) is SPSA


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "Bad Name"}, "method name"),
        ({"label": " "}, "label"),
        ({"factory": 3}, "factory"),
        ({"evaluations": 0}, "evaluations"),
        ({"options": ("learning_rate",)}, "option"),
    ],
)
def test_bad_method_spec_is_refused(kwargs, message):
    fields = {"name": "mine", "label": "mine", "factory": SPSA.from_options, "stochastic": True, "evaluations": 5}
    with pytest.raises(ValueError, match=message):
        MethodSpec(**(fields | kwargs))


def test_estimator_state_round_trip():
    class Counting(SPSA):
        state_attributes = ("updates",)

        def __init__(self, epsilon: float = 0.1, spsa_samples: int = 2):
            super().__init__(epsilon, spsa_samples)
            self.updates = 0

    estimator = Counting()
    estimator.updates = 7
    other = Counting()
    other.load_state_dict(estimator.state_dict())
    assert other.updates == 7 and SPSA().state_dict() == {}
