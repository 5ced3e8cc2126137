"""The default study: the article's network on a built-in data set, every gradient proved."""

from __future__ import annotations

import os
import time

import numpy as np

from .. import manual, network
from ..network import NetworkSpec
from . import plots, reference
from .network_check import compare_network

__all__ = ["DEFAULT_STUDY", "run_study"]

DEFAULT_STUDY = {
    "dims": [2, 8, 1],
    "data": "moons",
    "m": 200,
    "epochs": 2000,
    "lr": 2.0,
    "norm_dims": [2, 8, 8, 1],
    "norm_epochs": 400,
}


def run_study(
    spec: NetworkSpec,
    X,
    Y,
    *,
    out_dir="backproof-out",
    epochs: int = 2000,
    lr: float = 2.0,
    make_plots: bool = True,
    progress=None,
    norm_dims=None,
    norm_epochs: int = 400,
) -> dict:
    """Compare every implementation with every reference at the start of training, train with
    manual and the engine from the same start, and draw the pictures into ``out_dir``.

    Returns a dict: the comparison (``NetworkComparison``), final cost and accuracy of each
    training run, the Taylor-test slopes, the written plot paths and the timings.
    """
    t_start = time.perf_counter()
    X, Y = network.check_data(spec, X, Y)
    params = network.init_params(spec)
    comparison = compare_network(spec, X, Y, params, epochs=epochs, lr=lr, progress=progress)
    finals = {}
    for run in comparison.training:
        finals[run.implementation] = {
            # the cost of the final parameters (history[-1] is the cost before the last step)
            "final_cost": network.cost(spec, run.params, X, Y) if run.params else float("nan"),
            "accuracy": network.accuracy(spec, run.params, X, Y) if run.params else None,
        }

    result = {"comparison": comparison, "training": finals, "plots": {}, "taylor_slopes": {}}
    if make_plots:
        out = os.fspath(out_dir)
        os.makedirs(out, exist_ok=True)
        paths = result["plots"]
        histories = {r.implementation: r.history for r in comparison.training}
        if histories:
            paths["cost_histories"] = plots.plot_cost_histories(
                histories, os.path.join(out, "cost_histories.png")
            )
        paths["param_errors"] = plots.plot_param_errors(
            comparison, os.path.join(out, "param_errors.png")
        )

        # the V of finite differences, on one weight of the last layer
        L = spec.n_layers
        key, index = f"W{L}", (0, 0)
        exact = reference.loss_and_grads(spec, params, X, Y, check=False)[1][key][index]

        def cost_of(w, key=key):
            return network.objective(spec, {**params, key: w}, X, Y)

        sweep = plots.step_sweep(cost_of, params[key], index, float(exact))
        paths["step_sweep"] = plots.plot_step_sweep(
            sweep,
            os.path.join(out, "step_sweep.png"),
            title=f"finite differences of dJ/d{key}{list(index)} against step size",
        )

        # Taylor test: the right gradient, and one with the 1/m forgotten
        m = X.shape[1]
        grads = manual.loss_and_grads(spec, params, X, Y, check=False)[1]
        wrong = {k: v * m for k, v in grads.items()}
        obj = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
        taylor = {
            "manual (right)": plots.taylor_remainders(obj, grads, params),
            "manual x m (1/m forgotten)": plots.taylor_remainders(obj, wrong, params),
        }
        result["taylor_slopes"] = {k: v["slope"] for k, v in taylor.items()}
        paths["taylor_test"] = plots.plot_taylor_test(taylor, os.path.join(out, "taylor_test.png"))

        # vanishing gradients: the article's 0.01 init against xavier, on a deeper network
        dims = list(norm_dims or [spec.layer_dims[0], 8, 8, spec.layer_dims[-1]])
        norms = {}
        for init in ("article", "xavier"):
            deep = NetworkSpec(
                dims, loss=spec.loss, init=init, seed=spec.seed, dtype=spec.dtype.name
            )
            norms[init] = plots.layer_grad_norms(
                deep,
                X,
                Y,
                lambda s, p, X_, Y_: manual.loss_and_grads(s, p, X_, Y_, check=False),
                norm_epochs,
                lr,
            )
        result["layer_norms_first_epoch"] = {k: v[0].tolist() for k, v in norms.items()}
        paths["layer_grad_norms"] = plots.plot_layer_grad_norms(
            norms, os.path.join(out, "layer_grad_norms.png")
        )
    result["seconds"] = time.perf_counter() - t_start
    return result


def study_to_dict(result: dict) -> dict:
    """A JSON-ready form of ``run_study``'s result."""
    return {
        "comparison": result["comparison"].to_dict(),
        "training": result["training"],
        "taylor_slopes": result["taylor_slopes"],
        "layer_norms_first_epoch": result.get("layer_norms_first_epoch", {}),
        "plots": result["plots"],
        "seconds": result["seconds"],
        "ok": bool(result["comparison"].ok),
        "numpy": np.__version__,
    }
