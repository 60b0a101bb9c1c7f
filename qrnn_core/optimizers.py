"""Optimizers of the QRNN's two layers, chosen by configuration.

- ``"adam"`` (the default): Adam with one learning rate per layer;
- ``"sgd"``: plain gradient descent, ``theta -= lr * g``, one learning rate per layer;
- ``"spsa-gain"``: Spall's SPSA gain schedule. Update ``k`` (from 0) steps by
  ``a_k = a / (A + k + 1)^alpha`` (``a``: the layer's learning rate) and perturbs by
  ``c_k = c / (k + 1)^gamma`` (``c``: the configured ``epsilon``), which is set on the
  estimator before the update's forward pass (Spall 1998, standard alpha = 0.602,
  gamma = 0.101).

A :class:`LayerOptimizer`'s ``state_dict`` holds everything that changes while training
(the torch optimizer's state and the update counter), so a resumed run continues exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch

from .checks import check_choice, check_int, check_number, check_positive
from .estimators import method_spec
from .model import QRNN

OPTIMIZERS = ("adam", "sgd", "spsa-gain")


def check_optimizer(name: str, method: str) -> str:
    """``name`` if it is an optimizer that can train with gradient method ``method``.

    ``spsa-gain`` sets the perturbation size, so the method must use ``epsilon``.
    """
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "spsa-gain" and "epsilon" not in method_spec(method).options:
        raise ValueError(
            f"optimizer 'spsa-gain' sets the perturbation size (epsilon) of the gradient estimator; "
            f"method {method!r} has none (use adam or sgd)"
        )
    return name


@dataclass(frozen=True)
class GainSchedule:
    """Spall's decaying gains: ``a_k = a / (A + k + 1)^alpha`` and ``c_k = c / (k + 1)^gamma``."""

    stability: float = 0.0
    alpha: float = 0.602
    gamma: float = 0.101

    def __post_init__(self) -> None:
        check_number("gain_stability", self.stability, 0.0)
        check_positive("gain_alpha", self.alpha)
        check_number("gain_gamma", self.gamma, 0.0)

    def step_factor(self, k: int) -> float:
        """``a_k / a`` for update ``k`` (from 0)."""
        return 1.0 / (self.stability + k + 1) ** self.alpha

    def perturbation_factor(self, k: int) -> float:
        """``c_k / c`` for update ``k`` (from 0)."""
        return 1.0 / (k + 1) ** self.gamma


class LayerOptimizer:
    """A torch optimizer over the input and output layers (one parameter group each), plus a gain schedule.

    Use per update: :meth:`begin_update` (clears the gradients, applies the gains of this
    update), the forward and backward pass, then :meth:`step`.
    """

    def __init__(self, model: QRNN, name: str, lr_input: float, lr_output: float, gains: GainSchedule | None = None):
        self.name = check_optimizer(name, model.config.method)
        self.lrs = (check_positive("lr_input", lr_input), check_positive("lr_output", lr_output))
        self.model = model
        self.gains = (gains or GainSchedule()) if name == "spsa-gain" else None
        self.epsilon = model.config.epsilon
        self.updates = 0
        groups = [
            {"params": model.input_layer.parameters(), "lr": self.lrs[0]},
            {"params": model.output_layer.parameters(), "lr": self.lrs[1]},
        ]
        self.torch_optimizer = torch.optim.Adam(groups) if name == "adam" else torch.optim.SGD(groups)

    def begin_update(self) -> None:
        """Clear the gradients; under a gain schedule set this update's step sizes and perturbation."""
        self.torch_optimizer.zero_grad()
        if self.gains is not None:
            factor = self.gains.step_factor(self.updates)
            for group, lr in zip(self.torch_optimizer.param_groups, self.lrs):
                group["lr"] = lr * factor
            cast(Any, self.model.estimator).epsilon = self.epsilon * self.gains.perturbation_factor(self.updates)

    def step(self) -> None:
        """Apply the update with the gradients of the last backward pass."""
        self.torch_optimizer.step()
        self.updates += 1

    def state_dict(self) -> dict:
        """The torch optimizer's state and the update counter."""
        return {"name": self.name, "updates": self.updates, "torch": self.torch_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (from an optimizer of the same kind)."""
        check_choice("checkpoint optimizer", state["name"], (self.name,))
        self.updates = check_int("updates", state["updates"], 0)
        self.torch_optimizer.load_state_dict(state["torch"])
