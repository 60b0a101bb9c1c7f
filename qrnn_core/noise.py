"""Device noise of one QRNN step, and the fast noisy simulator built on the exact torch simulator.

A :class:`NoiseModel` describes what the QRNN meets per step on a device: assignment
errors of the readout qubits' measurements, the reset error of the readout qubits, T1/T2
relaxation of the memory qubits over the step's duration (mostly spent measuring and
resetting the readout qubits), and depolarizing errors of the rotation layers and of the
CRX gates. It comes from a calibrated device snapshot (:meth:`NoiseModel.from_backend`,
e.g. ``FakeMarrakesh()`` of ``qiskit_ibm_runtime.fake_provider``, which this module never
imports at import time), or by hand, and :meth:`NoiseModel.scaled` multiplies every
rate by one factor.

:func:`noisy_probabilities` (the fast path, differentiable) applies the noise as channels
around the exact Kraus recursion of :mod:`qrnn_core.torch_simulator`:

* exact: the readout assignment errors (a confusion map on each step's distribution); the
  rotation layers' depolarizing errors (a depolarizing channel commutes with any
  single-qubit unitary, so the first layer's errors move to the start of the step: onto
  the memory state and onto the readout qubits' initial state; the second layer's to its
  end: onto the memory state and, before measurement, as a flip of the readout bit); the
  relaxation of the memory qubits while the readout qubits are measured and reset
  (amplitude damping and dephasing between steps); and, with ``max_flips = n/2``, the
  readout qubits' mixed initial state (reset error and first-layer errors), by summing
  over their initial bit strings;
* lumped: each CRX's two-qubit depolarizing error becomes a single-qubit depolarizing
  error of the same strength on each of its qubits, moved to the end of the step (exact
  for the marginal of the control, which meets only its second rotation layer afterwards;
  not for the target, which goes on to control the next CRX, nor for the pair's
  correlations); with ``max_flips < n/2``, initial bit strings with more flipped readout
  qubits are dropped (weights renormalised), and at ``max_flips = 0`` each readout
  qubit's initial flip becomes a flip of its measured bit. The relaxation during the
  step's gates is lumped with that during measurement and reset (the whole step's
  duration acts between steps).

:func:`aer_noisy_probabilities` is the reference: Qiskit Aer's density-matrix simulation
of the dynamic circuit with every error where it happens (after each rotation layer and
each CRX, after each reset, on the memory qubits during each measure and reset), saving
the exact distribution before each step's measurement; the assignment error is applied
to those distributions (it is classical: it changes the record, not the state).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import torch_simulator
from .checks import check_int, check_number
from .circuit import angles_per_step, build_circuit, check_n_qubits, readout_qubits, step_gates

# Snapshot names accepted by :func:`load_snapshot`: ``fake_<device>`` of ``qiskit_ibm_runtime.fake_provider``.
SNAPSHOT_PREFIX = "fake_"
# Basis gates of one rotation layer on IBM devices: RZ RX RZ compiles to rz sx rz sx rz (two sx pulses).
SX_PER_LAYER = 2
# Two-qubit pulses of one CRX (two CX, each a CZ or ECR up to single-qubit gates).
ENTANGLERS_PER_CRX = 2


def _floats(name: str, values: Any, length: int, low: float = 0.0, high: float | None = None) -> tuple[float, ...]:
    values = tuple(values)
    if len(values) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(values)}")
    return tuple(check_number(f"{name}[{i}]", float(v), low, high) for i, v in enumerate(values))


@dataclass(frozen=True)
class NoiseModel:
    """Noise of one QRNN step on ``n_qubits`` qubits (memory qubits even, readout qubits odd).

    Attributes:
        n_qubits: qubits of the QRNN.
        readout_error: per readout qubit, ``(P(read 1 | 0), P(read 0 | 1))``.
        reset_error: per readout qubit, the probability that a reset leaves ``|1>``.
        t1: per memory qubit, T1 in seconds.
        t2: per memory qubit, T2 in seconds (at most ``2 * t1``).
        step_duration: seconds one step takes (gates, measurement and reset).
        layer_error: per qubit, the depolarizing parameter ``lambda`` of one rotation layer
            (``rho -> (1 - lambda) rho + lambda I/2``).
        crx_error: per CRX ``(k, k+1)``, ``k = 0 .. n-2``, the two-qubit depolarizing parameter.
        scale: factor on every rate (error probabilities and relaxation rates ``1/T1``, ``1/T2``).
        source: where the numbers come from (a snapshot's name or ``"by hand"``).
        layout: the physical qubits of a snapshot, QRNN qubit ``k`` on ``layout[k]``.

    Example:
        >>> model = NoiseModel.by_hand(4, readout=0.01, t1=200e-6, t2=100e-6, step_duration=5e-6)
        >>> model.scaled(2).scale, round(float(model.scaled(2).readout_matrices()[0][1, 0]), 6)
        (2.0, 0.02)
    """

    n_qubits: int
    readout_error: tuple[tuple[float, float], ...]
    reset_error: tuple[float, ...]
    t1: tuple[float, ...]
    t2: tuple[float, ...]
    step_duration: float
    layer_error: tuple[float, ...]
    crx_error: tuple[float, ...]
    scale: float = 1.0
    source: str = "by hand"
    layout: tuple[int, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        n = check_n_qubits(self.n_qubits)
        half = n // 2
        pairs = tuple(tuple(_floats(f"readout_error[{j}]", p, 2, 0.0, 0.5)) for j, p in enumerate(self.readout_error))
        if len(pairs) != half:
            raise ValueError(f"readout_error must have {half} (p01, p10) pairs, got {len(pairs)}")
        object.__setattr__(self, "readout_error", pairs)
        object.__setattr__(self, "reset_error", _floats("reset_error", self.reset_error, half, 0.0, 0.5))
        t1 = tuple(check_positive_or_inf(f"t1[{j}]", v) for j, v in enumerate(self.t1))
        t2 = tuple(check_positive_or_inf(f"t2[{j}]", v) for j, v in enumerate(self.t2))
        if len(t1) != half or len(t2) != half:
            raise ValueError(f"t1 and t2 must have {half} entries (memory qubits), got {len(t1)} and {len(t2)}")
        bad = [j for j in range(half) if t2[j] > 2 * t1[j] * (1 + 1e-12)]
        if bad:
            raise ValueError(f"t2 must be at most 2 * t1; memory qubits {bad} have t1={t1}, t2={t2}")
        object.__setattr__(self, "t1", t1)
        object.__setattr__(self, "t2", t2)
        check_number("step_duration", self.step_duration, 0.0)
        object.__setattr__(self, "layer_error", _floats("layer_error", self.layer_error, n, 0.0, 1.0))
        object.__setattr__(self, "crx_error", _floats("crx_error", self.crx_error, n - 1, 0.0, 1.0))
        check_number("scale", self.scale, 0.0)
        if self.layout is not None:
            object.__setattr__(self, "layout", tuple(check_int("layout qubit", int(q), 0) for q in self.layout))

    # ------------------------------------------------------------ construction

    @classmethod
    def by_hand(
        cls,
        n_qubits: int,
        readout: float = 0.0,
        reset: float = 0.0,
        t1: float = math.inf,
        t2: float = math.inf,
        step_duration: float = 0.0,
        layer: float = 0.0,
        crx: float = 0.0,
    ) -> NoiseModel:
        """The same rates on every qubit (``readout`` symmetric; ``t1 = t2 = inf``: no relaxation)."""
        n = check_n_qubits(n_qubits)
        half = n // 2
        return cls(
            n,
            ((readout, readout),) * half,
            (reset,) * half,
            (t1,) * half,
            (t2,) * half,
            step_duration,
            (layer,) * n,
            (crx,) * (n - 1),
        )

    @classmethod
    def zero(cls, n_qubits: int) -> NoiseModel:
        """A model with every rate zero (it must reproduce the noiseless simulators)."""
        return cls.by_hand(n_qubits)

    @classmethod
    def from_backend(
        cls, backend: Any, n_qubits: int = 8, layout: list[int] | None = None, reset_error: float | None = None
    ) -> NoiseModel:
        """The noise of a calibrated backend (a ``BackendV2``, e.g. ``FakeMarrakesh()``) on a chain of qubits.

        Args:
            backend: the backend; its target gives readout errors, T1/T2, gate errors and durations.
            n_qubits: qubits of the QRNN.
            layout: physical qubits forming a linear chain, QRNN qubit ``k`` on ``layout[k]``
                (default: :func:`best_chain`, the chain of lowest error).
            reset_error: the reset error (default: the target's reset error, or 0 where it gives none,
                as IBM's snapshots do).

        Returns:
            The model, with ``source`` the backend's name and ``layout``.
        """
        n = check_n_qubits(n_qubits)
        target = backend.target
        chain = list(layout) if layout is not None else best_chain(backend, n)
        gate2 = _entangler(target)
        for k in range(n - 1):
            if (chain[k], chain[k + 1]) not in target[gate2] and (chain[k + 1], chain[k]) not in target[gate2]:
                raise ValueError(f"layout {chain} is not a linear chain: qubits {chain[k]} and {chain[k + 1]} unlinked")
        props = backend.properties() if hasattr(backend, "properties") else None
        readout = []
        for q in chain[1::2]:
            if props is not None:
                readout.append(
                    (props.qubit_property(q)["prob_meas1_prep0"][0], props.qubit_property(q)["prob_meas0_prep1"][0])
                )
            else:
                err = _error(target, "measure", (q,))
                readout.append((err, err))
        if reset_error is None:
            resets = tuple(_error(target, "reset", (q,)) for q in chain[1::2])
        else:
            resets = (reset_error,) * (n // 2)
        t1 = [target.qubit_properties[q].t1 for q in chain[0::2]]
        t2 = [min(target.qubit_properties[q].t2, 2 * target.qubit_properties[q].t1) for q in chain[0::2]]
        sx = [_error(target, "sx", (q,)) for q in chain]
        two = [_pair_error(target, gate2, chain[k], chain[k + 1]) for k in range(n - 1)]
        return cls(
            n_qubits=n,
            readout_error=tuple(readout),
            reset_error=resets,
            t1=tuple(t1),
            t2=tuple(t2),
            step_duration=step_duration(backend, chain),
            layer_error=tuple(2 * (1 - (1 - e) ** SX_PER_LAYER) for e in sx),
            crx_error=tuple(4 / 3 * (1 - (1 - e) ** ENTANGLERS_PER_CRX) for e in two),
            source=getattr(backend, "name", type(backend).__name__),
            layout=tuple(chain),
        )

    def scaled(self, factor: float) -> NoiseModel:
        """The same model with every rate multiplied by ``factor`` (``0``: noiseless channels)."""
        return replace(self, scale=self.scale * check_number("factor", factor, 0.0))

    def to_dict(self) -> dict:
        """Every field, JSON-safe (infinite T1/T2 as ``None``)."""
        out = asdict(self)
        for key in ("t1", "t2"):
            out[key] = [None if math.isinf(v) else v for v in out[key]]
        return out

    @classmethod
    def from_dict(cls, values: dict) -> NoiseModel:
        """Inverse of :meth:`to_dict`."""
        values = dict(values)
        for key in ("t1", "t2"):
            values[key] = tuple(math.inf if v is None else v for v in values[key])
        values["readout_error"] = tuple(tuple(p) for p in values["readout_error"])
        if values.get("layout") is not None:
            values["layout"] = tuple(values["layout"])
        return cls(**values)

    # ------------------------------------------------------------ the channels' parameters (scale applied)

    def _p(self, value: float, high: float) -> float:
        return min(high, value * self.scale)

    def readout_matrices(self) -> list[np.ndarray]:
        """Per readout qubit, the assignment matrix ``A[read, true]``."""
        out = []
        for p01, p10 in self.readout_error:
            a, b = self._p(p01, 0.5), self._p(p10, 0.5)
            out.append(np.array([[1 - a, b], [a, 1 - b]]))
        return out

    def relaxation(self) -> list[tuple[float, float]]:
        """Per memory qubit, ``(gamma, coherence)`` over one step: ``gamma = 1 - exp(-t/T1)``, ``exp(-t/T2)``."""
        t = self.step_duration * self.scale
        return [(-math.expm1(-t / t1), math.exp(-t / t2)) for t1, t2 in zip(self.t1, self.t2)]

    def layer_lambdas(self) -> list[float]:
        """Per qubit, the depolarizing parameter of one rotation layer."""
        return [self._p(v, 1.0) for v in self.layer_error]

    def crx_lambdas(self) -> list[float]:
        """Per CRX, the two-qubit depolarizing parameter."""
        return [self._p(v, 1.0) for v in self.crx_error]

    def input_flip(self, first_step: bool) -> list[float]:
        """Per readout qubit, the probability that it enters a step's gates flipped to ``|1>``.

        The reset error (not before the first step) followed by the first layer's
        depolarizing error, moved before the layer (exact: the channel commutes with it).
        """
        lam = self.layer_lambdas()[1::2]
        resets = [0.0 if first_step else self._p(e, 0.5) for e in self.reset_error]
        return [q * (1 - lm) + lm / 2 for q, lm in zip(resets, lam)]

    def outcome_flip(self) -> list[float]:
        """Per readout qubit, the flip of its bit from the second layer's error and the lumped CRX errors."""
        lam, crx = self.layer_lambdas(), self.crx_lambdas()
        out = []
        for q in readout_qubits(self.n_qubits):
            flips = [lam[q] / 2] + [crx[k] / 2 for k in (q - 1, q) if 0 <= k < len(crx)]
            keep = 1.0
            for f in flips:
                keep *= 1 - 2 * f
            out.append((1 - keep) / 2)
        return out

    def memory_channels(self) -> tuple[list[tuple[np.ndarray, float]], list[tuple[np.ndarray, float]]]:
        """Per memory qubit, the channel before the first step and the channel between steps.

        Each is ``(A, c)``: populations ``(p0, p1) -> A (p0, p1)``, coherences times ``c``.
        Between steps: the second layer's depolarizing error, the lumped CRX errors, the
        relaxation, then the next step's first-layer error (moved before that layer).
        """
        lam, crx = self.layer_lambdas(), self.crx_lambdas()
        start, between = [], []
        for j, (gamma, coherence) in enumerate(self.relaxation()):
            q = 2 * j
            first = _depolarizing(lam[q])
            end = _depolarizing(lam[q])
            for k in (q - 1, q):
                if 0 <= k < len(crx):
                    end = _compose(_depolarizing(crx[k]), end)
            end = _compose((np.array([[1.0, gamma], [0.0, 1 - gamma]]), coherence), end)
            start.append(first)
            between.append(_compose(first, end))
        return start, between


def check_positive_or_inf(name: str, value: Any) -> float:
    """A number > 0, possibly ``inf`` (``None`` reads as ``inf``)."""
    if value is None or (isinstance(value, float) and math.isinf(value) and value > 0):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isnan(value):
        raise ValueError(f"{name} must be a positive number or inf, got {value!r}")
    return float(value)


def _depolarizing(lam: float) -> tuple[np.ndarray, float]:
    return np.array([[1 - lam / 2, lam / 2], [lam / 2, 1 - lam / 2]]), 1 - lam


def _compose(later: tuple[np.ndarray, float], earlier: tuple[np.ndarray, float]) -> tuple[np.ndarray, float]:
    return later[0] @ earlier[0], later[1] * earlier[1]


# ---------------------------------------------------------------- device snapshots


def _entangler(target: Any) -> str:
    for name in ("cz", "ecr", "cx"):
        if name in target.operation_names:
            return name
    raise ValueError(f"the backend has no cz, ecr or cx gate; it has {sorted(target.operation_names)}")


def _error(target: Any, name: str, qubits: tuple[int, ...]) -> float:
    if name not in target.operation_names:
        return 0.0
    props = target[name].get(qubits)
    return float(props.error) if props is not None and props.error is not None else 0.0


def _pair_error(target: Any, name: str, a: int, b: int) -> float:
    return _error(target, name, (a, b)) if (a, b) in target[name] else _error(target, name, (b, a))


def best_chain(backend: Any, n_qubits: int = 8) -> list[int]:
    """The linear chain of ``n_qubits`` coupled physical qubits with the lowest error score.

    Score: the two-qubit gates' errors along the chain, the readout errors of the readout
    positions (odd) and, for the memory positions (even), the relaxation over one
    measure and reset (``t / T1 + t / T2``). Ties go to the lexicographically first chain.
    """
    n = check_n_qubits(n_qubits)
    target = backend.target
    gate2 = _entangler(target)
    links: dict[int, set[int]] = {}
    for a, b in target[gate2]:
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
    props = target.qubit_properties
    idle = max((_duration(target, "measure", (q,)) + _duration(target, "reset", (q,))) for q in links)

    def memory_cost(q: int) -> float:
        return idle / props[q].t1 + idle / props[q].t2

    best: tuple[float, list[int]] | None = None
    for start in sorted(links):
        stack: list[tuple[int, ...]] = [(start,)]
        while stack:
            path = stack.pop()
            if len(path) == n:
                cost = sum(_pair_error(target, gate2, path[k], path[k + 1]) for k in range(n - 1))
                cost += sum(_error(target, "measure", (int(q),)) for q in path[1::2])
                cost += sum(memory_cost(int(q)) for q in path[0::2])
                if best is None or (cost, list(path)) < best:
                    best = (cost, list(path))
                continue
            stack.extend(path + (q,) for q in sorted(links[path[-1]]) if q not in path)
    if best is None:
        raise ValueError(f"the backend has no chain of {n} coupled qubits")
    return best[1]


def _duration(target: Any, name: str, qubits: tuple[int, ...]) -> float:
    props = target[name].get(qubits) if name in target.operation_names else None
    return float(props.duration) if props is not None and props.duration is not None else 0.0


def transpiled_step(backend: Any, layout: list[int], seed: int = 0) -> Any:
    """One QRNN step (random angles) transpiled for ``backend`` on ``layout`` and scheduled (ALAP)."""
    from qiskit import transpile

    qc = build_circuit(len(layout), 1)
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, len(qc.parameters))
    bound = qc.assign_parameters(dict(zip(qc.parameters, values)))
    return transpile(
        bound,
        backend=backend,
        initial_layout=list(layout),
        optimization_level=1,
        scheduling_method="alap",
        seed_transpiler=seed,
    )


def step_duration(backend: Any, layout: list[int]) -> float:
    """Seconds of one step on ``backend``: the transpiled step's duration from the target's instruction durations."""
    return float(transpiled_step(backend, layout).estimate_duration(backend.target, unit="s"))


@lru_cache(maxsize=8)
def load_snapshot(name: str) -> Any:
    """A calibrated device snapshot by name: ``"fake_marrakesh"`` -> ``FakeMarrakesh()`` (needs qiskit-ibm-runtime).

    Raises:
        ValueError: the name is not ``fake_<device>`` of ``qiskit_ibm_runtime.fake_provider``.
    """
    from qiskit_ibm_runtime import fake_provider  # type: ignore[import-untyped]

    if not isinstance(name, str) or not name.startswith(SNAPSHOT_PREFIX):
        raise ValueError(f"snapshot name must look like 'fake_marrakesh', got {name!r}")
    wanted = "fake" + name[len(SNAPSHOT_PREFIX) :].replace("_", "").lower()
    for attr in dir(fake_provider):
        if attr.lower() == wanted and attr.startswith("Fake"):
            return getattr(fake_provider, attr)()
    known = sorted(a for a in dir(fake_provider) if a.startswith("Fake") and not a.startswith("FakeProvider"))
    raise ValueError(f"unknown snapshot {name!r}; allowed: fake_<name> for {', '.join(known)}")


@lru_cache(maxsize=32)
def _snapshot_model(name: str, n_qubits: int) -> NoiseModel:
    return NoiseModel.from_backend(load_snapshot(name), n_qubits)


def resolve_noise(spec: str | dict | NoiseModel | None, n_qubits: int = 8, scale: float = 1.0) -> NoiseModel | None:
    """A noise model from a config value, scaled by ``scale``.

    Args:
        spec: ``None`` (noiseless), a snapshot name (``"fake_marrakesh"``), a JSON file of
            :meth:`NoiseModel.to_dict`, a dictionary of it, or a model.
        n_qubits: qubits of the QRNN (for snapshots).
        scale: factor on every rate.

    Example:
        >>> resolve_noise(None) is None
        True
    """
    check_number("noise_scale", scale, 0.0)
    if spec is None:
        return None
    if isinstance(spec, NoiseModel):
        model = spec
    elif isinstance(spec, dict):
        model = NoiseModel.from_dict(spec)
    elif isinstance(spec, str) and spec.endswith(".json"):
        model = NoiseModel.from_dict(json.loads(Path(spec).read_text()))
    elif isinstance(spec, str):
        model = _snapshot_model(spec, check_n_qubits(n_qubits))
    else:
        raise ValueError(f"noise must be None, a snapshot name, a .json file or a NoiseModel, got {spec!r}")
    if model.n_qubits != n_qubits:
        raise ValueError(f"noise model is for {model.n_qubits} qubits, the QRNN has n_qubits={n_qubits}")
    return model if scale == 1.0 else model.scaled(scale)


# ---------------------------------------------------------------- fast path (torch)


def input_configurations(n_readout: int, max_flips: int) -> list[tuple[int, ...]]:
    """Initial bit strings of the readout qubits with at most ``max_flips`` ones (all zeros first)."""
    configs = [tuple(0 for _ in range(n_readout))]
    for k in range(1, max_flips + 1):
        for ones in itertools.combinations(range(n_readout), k):
            configs.append(tuple(1 if j in ones else 0 for j in range(n_readout)))
    return configs


def _weights(flips: list[float], configs: list[tuple[int, ...]]) -> np.ndarray:
    w = np.array([np.prod([f if b else 1 - f for f, b in zip(flips, c)]) for c in configs])
    return w / w.sum()


def _confusion(matrices: list[np.ndarray]) -> np.ndarray:
    """The outcome map ``C[read, true]`` of all readout qubits (bit ``j`` of the outcome is readout qubit ``j``)."""
    full = np.ones((1, 1))
    for m in matrices:
        full = np.kron(m, full)
    return full


def step_confusions(noise: NoiseModel, lumped_inputs: bool) -> tuple[np.ndarray, np.ndarray]:
    """The outcome maps of the first step and of later steps: flips before measurement, then assignment."""
    out = []
    for first in (True, False):
        flips = noise.outcome_flip()
        if lumped_inputs:
            flips = [a + b - 2 * a * b for a, b in zip(flips, noise.input_flip(first))]
        mats = [a @ np.array([[1 - f, f], [f, 1 - f]]) for a, f in zip(noise.readout_matrices(), flips)]
        out.append(_confusion(mats))
    return out[0], out[1]


def memory_superoperator(channels: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """The map of per-memory-qubit channels ``(A, c)`` on ``vec(rho)`` (index ``i * D + k``), (D*D, D*D), real.

    Memory qubit ``j`` is bit ``j`` of the state's index. One dense map costs one matrix
    product per step, where applying the qubits one by one costs a handful of small
    operations each (slower for the single long validation sequence).
    """
    dim = 2 ** len(channels)
    idx = np.arange(dim * dim)
    row, col = idx // dim, idx % dim
    out = np.ones((dim * dim, dim * dim))
    for j, (a, c) in enumerate(channels):
        local = np.array([[a[0, 0], 0, 0, a[0, 1]], [0, c, 0, 0], [0, 0, c, 0], [a[1, 0], 0, 0, a[1, 1]]])
        pair = 2 * ((row >> j) & 1) + ((col >> j) & 1)
        out *= local[pair[:, None], pair[None, :]]
    return out


def apply_memory_channel(rho: torch.Tensor, transposed: torch.Tensor) -> torch.Tensor:
    """Apply a :func:`memory_superoperator`, given transposed and complex (D*D, D*D), to states (B, D, D)."""
    batch, dim, _ = rho.shape
    return torch.matmul(rho.reshape(batch, dim * dim), transposed).reshape(batch, dim, dim)


def noisy_probabilities(
    angles: torch.Tensor, noise: NoiseModel, repeat_blocks: int = 1, max_flips: int = 0
) -> torch.Tensor:
    """Per-step readout distributions (B, T, 2**(n/2)) under ``noise``: the fast, differentiable path.

    Args:
        angles: (B, T, P) angles.
        noise: the noise model (its ``n_qubits`` sets the circuit).
        repeat_blocks: must be 1 (the channels are placed for one block per step).
        max_flips: the readout qubits' initial bit strings summed over have at most this
            many ones (``n/2``: exact; cost grows with their number, ``1 + n/2`` at 1); at 0
            their flips are lumped into flips of the measured bits (cost of the noiseless path).

    Returns:
        The distributions; they sum to 1 per step.
    """
    n = noise.n_qubits
    if repeat_blocks != 1:
        raise ValueError(f"noise is modelled for repeat_blocks=1, got repeat_blocks={repeat_blocks}")
    check_int("max_flips", max_flips, 0, n // 2)
    batch, steps, n_angles = angles.shape
    if n_angles != angles_per_step(n):
        raise ValueError(
            f"angles have P={n_angles} per step but the noise model's n_qubits={n} needs {angles_per_step(n)}"
        )
    dim = 2 ** (n // 2)
    real = angles.dtype
    configs = input_configurations(n // 2, max_flips) if max_flips else [tuple([0] * (n // 2))]
    first_w = _weights(noise.input_flip(True), configs)
    later_w = _weights(noise.input_flip(False), configs)
    root = torch.tensor(np.sqrt(np.stack([first_w] + [later_w] * (steps - 1))), dtype=real, device=angles.device)
    cdtype = torch_simulator._complex_dtype(angles)
    start, between = (
        torch.tensor(memory_superoperator(c).T, dtype=cdtype, device=angles.device) for c in noise.memory_channels()
    )
    conf0, conf = (torch.tensor(c, dtype=real, device=angles.device) for c in step_confusions(noise, max_flips == 0))
    group, segment = torch_simulator._chunking(batch, steps)
    segment = max(1, segment // len(configs))
    out = []
    for part in angles.split(group):
        rho = torch_simulator._initial_state(part.shape[0], dim, torch_simulator._complex_dtype(angles), angles.device)
        rho = apply_memory_channel(rho, start)
        pieces, t0 = [], 0
        for piece in part.split(segment, dim=1):
            flat = piece.reshape(-1, n_angles)
            rows = torch.stack([torch_simulator._kraus_rows(flat, n, inputs=c) for c in configs], dim=2)
            tp = piece.shape[1]
            rows = rows.reshape(piece.shape[0], tp, dim, len(configs), dim, dim)
            rows = rows * root[t0 : t0 + tp].to(rows.dtype)[None, :, None, :, None, None]
            probs, rho = torch_simulator._recursion(
                rows.reshape(piece.shape[0], tp, dim, len(configs) * dim, dim),
                rho,
                lambda r: apply_memory_channel(r, between),
            )
            pieces.append(probs.reshape(piece.shape[0], tp, len(configs), dim).sum(2))
            t0 += tp
        out.append(torch.cat(pieces, dim=1))
    probs = torch.cat(out)
    return torch.cat([probs[:, :1] @ conf0.T, probs[:, 1:] @ conf.T], dim=1)


# ---------------------------------------------------------------- reference (Qiskit Aer)


def reference_circuit(values: np.ndarray, noise: NoiseModel) -> Any:
    """The bound dynamic circuit of one sequence (T, P) with every error where it happens, for Aer's density matrix.

    After each rotation layer a depolarizing error on each qubit, after each CRX a two-qubit
    depolarizing error on its pair; each step saves the readout qubits' exact distribution
    (label ``p{t}``) where the circuit measures, then resets them (with the reset error as
    an X after the reset) while the memory qubits relax for the step's duration.
    """
    from qiskit import QuantumCircuit
    from qiskit_aer.noise import depolarizing_error, pauli_error, thermal_relaxation_error

    n = noise.n_qubits
    steps = values.shape[0]
    qc = QuantumCircuit(n)
    readout = readout_qubits(n)
    lam, crx = noise.layer_lambdas(), noise.crx_lambdas()
    gates = step_gates(n)
    second = 4 * n - 1  # index of the second layer's first gate
    relax: list[Any] = []
    for t1, t2 in zip(noise.t1, noise.t2):
        s, dur = noise.scale, noise.step_duration
        if s == 0 or dur == 0 or (math.isinf(t1) and math.isinf(t2)):
            relax.append(None)
        else:
            relax.append(thermal_relaxation_error(t1 / s, t2 / s, dur))
    for t in range(steps):
        for i, g in enumerate(gates):
            getattr(qc, g.kind)(float(values[t, g.angle]), *g.qubits)
            if g.kind == "crx" and crx[g.qubits[0]] > 0:
                qc.append(depolarizing_error(crx[g.qubits[0]], 2).to_instruction(), list(g.qubits))
            end_of_layer = (i < 3 * n and i % 3 == 2) or (i >= second and (i - second) % 3 == 2)
            if end_of_layer and lam[g.qubits[0]] > 0:
                qc.append(depolarizing_error(lam[g.qubits[0]], 1).to_instruction(), [g.qubits[0]])
        qc.save_probabilities(readout, label=f"p{t}")
        qc.reset(readout)
        for j, q in enumerate(readout):
            e = noise._p(noise.reset_error[j], 0.5)
            if e > 0:
                qc.append(pauli_error([("X", e), ("I", 1 - e)]).to_instruction(), [q])
        for j, err in enumerate(relax):
            if err is not None:
                qc.append(err.to_instruction(), [2 * j])
    return qc.decompose(gates_to_decompose=["crx"])  # Aer's density matrix has no CRX


def aer_noisy_probabilities(angles: np.ndarray, noise: NoiseModel, repeat_blocks: int = 1) -> np.ndarray:
    """Per-step distributions (B, T, 2**(n/2)) under ``noise`` from Aer's density matrix: the reference.

    One bound circuit per sequence (:func:`reference_circuit`), all in one Aer call on one
    thread; the readout assignment error is applied to the saved distributions.
    """
    from .aer_simulator import new_simulator

    if repeat_blocks != 1:
        raise ValueError(f"noise is modelled for repeat_blocks=1, got repeat_blocks={repeat_blocks}")
    values = np.asarray(angles, dtype=float)
    batch, steps, _ = values.shape
    circuits = [reference_circuit(values[b], noise) for b in range(batch)]
    result = new_simulator(method="density_matrix").run(circuits).result()
    if not result.success:
        raise RuntimeError(f"Qiskit Aer run failed: {result.status}")
    assignment = _confusion(noise.readout_matrices())
    out = np.empty((batch, steps, 2 ** (noise.n_qubits // 2)))
    for b in range(batch):
        data = result.data(b)
        out[b] = np.array([data[f"p{t}"] for t in range(steps)]) @ assignment.T
    return out
