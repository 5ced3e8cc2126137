"""Batch gradient descent, shared by every implementation that can give ``(loss, grads)``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import numpy as np
from tqdm import tqdm

from .validation import check_nonnegative_int, check_positive_float, describe

__all__ = ["gradient_descent", "show_progress"]


def show_progress(progress: bool | None) -> bool:
    """``None`` means: a bar only when standard error is a terminal."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def gradient_descent(
    loss_and_grads: Callable,
    params: dict,
    epochs,
    lr,
    *,
    progress: bool | None = None,
    desc: str = "training",
    callback: Callable | None = None,
):
    """Run ``epochs`` full-batch steps ``p <- p - lr * dJ/dp`` from a copy of ``params``.

    ``loss_and_grads(params) -> (J, grads)``. Returns ``(params, cost_history)``, where
    ``cost_history[i]`` is J before step i (as the article records it), a list of floats.
    ``callback(epoch, params, grads)`` is called after each gradient, before the step.
    """
    if not callable(loss_and_grads):
        raise TypeError(
            "loss_and_grads must be a function params -> (J, grads), got "
            f"{describe(loss_and_grads)}"
        )
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {describe(params)}")
    epochs = check_nonnegative_int("epochs", epochs)
    lr = check_positive_float("lr", lr)
    params = {k: np.array(v, copy=True) for k, v in params.items()}
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not show_progress(progress), leave=False)
    for epoch in bar:
        J, grads = loss_and_grads(params)
        history.append(float(J))
        if callback is not None:
            callback(epoch, params, grads)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below
            for key, g in grads.items():
                p = params[key]
                p -= p.dtype.type(lr) * g
        if not np.isfinite(history[-1]):
            raise FloatingPointError(
                f"the cost became {history[-1]} at epoch {epoch}; lower lr (now {lr})"
            )
    if epochs:
        _check_finite_after_training(params, epochs, lr)
    return params, history


def _check_finite_after_training(params, epochs: int, lr: float) -> None:
    """The last step's overflow has no later cost to show it: look at the parameters."""
    for key, p in params.items():
        if not np.isfinite(p).all():
            raise FloatingPointError(
                f"parameter {key} is no longer finite after {epochs} epochs; lower lr (now {lr})"
            )
