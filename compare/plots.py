"""Pictures of the calculus, written as PNG files with matplotlib (Agg when there is no display).

- ``plot_cost_histories``: the training runs of the implementations, overlaid;
- ``plot_param_errors``: each implementation's error against each reference, per parameter;
- ``plot_step_sweep``: finite-difference error against step size, the V of truncation and
  round-off;
- ``plot_taylor_test``: |f(x + hv) - f(x) - h g.v| against h — slope 2 when g is the gradient,
  slope 1 when it is not;
- ``plot_layer_grad_norms``: per-layer gradient norms during training, the article's 0.01 init
  against xavier.

Each returns the path written and the numbers drawn, so that tests can check them.
"""

from __future__ import annotations

import os

import matplotlib

if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg"):
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import network  # noqa: E402

__all__ = [
    "plot_cost_histories",
    "plot_param_errors",
    "step_sweep",
    "plot_step_sweep",
    "taylor_remainders",
    "plot_taylor_test",
    "layer_grad_norms",
    "plot_layer_grad_norms",
]


def _save(fig, path) -> str:
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cost_histories(histories: dict, path) -> str:
    """Cost per epoch of each implementation (they should lie on top of each other)."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    styles = ["-", "--", ":", "-."]
    for i, (name, hist) in enumerate(histories.items()):
        ax.plot(np.arange(len(hist)), hist, styles[i % 4], lw=2 - 0.4 * i, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost J")
    ax.set_title("training runs from the same start")
    ax.legend()
    return _save(fig, path)


def plot_param_errors(comparison, path) -> str:
    """max |g - ref| / max |ref| per parameter, one panel per reference, log scale."""
    refs = comparison.references
    params = list(comparison.spec.param_shapes())
    impls = comparison.implementations
    fig, axes = plt.subplots(1, len(refs), figsize=(4.2 * len(refs), 3.8), squeeze=False)
    width = 0.8 / max(len(impls), 1)
    floor = 1e-18
    for ax, ref in zip(axes[0], refs):
        for k, impl in enumerate(impls):
            vals = [max(comparison.cell(impl, ref, p).rel_error, floor) for p in params]
            ax.bar(np.arange(len(params)) + k * width, vals, width, label=impl)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(params)) + width * (len(impls) - 1) / 2)
        ax.set_xticklabels(params)
        ax.set_title(f"against {ref}")
        ax.set_ylabel("max |g - ref| / max |ref| (whole gradient)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("gradient error per parameter")
    return _save(fig, path)


def step_sweep(f, x: np.ndarray, index: tuple, exact: float, steps=None) -> dict:
    """Error of the forward, central and Richardson differences of df/dx[index] at each step."""
    steps = np.logspace(-1, -14, 40) if steps is None else np.asarray(steps)
    x = np.array(x, dtype=np.float64)
    x0 = x[index]

    def at(t):
        x[index] = x0 + t
        try:
            return float(f(x))
        finally:
            x[index] = x0

    f0 = at(0.0)
    forward, central, richardson = [], [], []
    for h in steps:
        fp, fm, fp2, fm2 = at(h), at(-h), at(h / 2), at(-h / 2)
        forward.append(abs((fp - f0) / h - exact))
        d_h, d_h2 = (fp - fm) / (2 * h), (fp2 - fm2) / h
        central.append(abs(d_h - exact))
        richardson.append(abs((4 * d_h2 - d_h) / 3 - exact))
    return {
        "steps": steps,
        "forward": np.array(forward),
        "central": np.array(central),
        "richardson": np.array(richardson),
    }


def plot_step_sweep(sweep: dict, path, title: str = "finite differences against step size"):
    """The V: truncation error falls with h (slope 1, 2, 4), round-off grows as eps/h."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    floor = 1e-20
    for name in ("forward", "central", "richardson"):
        ax.loglog(sweep["steps"], np.maximum(sweep[name], floor), "o-", ms=3, label=name)
    eps = np.finfo(float).eps
    for name, power in (("central", 1 / 3), ("richardson", 1 / 4)):
        ax.axvline(eps**power, color="0.6", ls=":", lw=1)
        ax.text(
            eps**power,
            0.98,
            f" {name} default step",
            fontsize=7,
            rotation=90,
            va="top",
            color="0.4",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_xlabel("step h")
    ax.set_ylabel("|estimate - exact|")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def taylor_remainders(f, grad, x: dict, direction: dict | None = None, hs=None, seed: int = 0):
    """|f(x + h v) - f(x) - h <g, v>| for each h, and the fitted slope on log-log axes.

    With the true gradient the remainder is O(h^2) (slope 2); with a wrong one it is O(h)
    (slope 1). ``x``, ``grad`` and ``direction`` are dicts of arrays (or arrays).
    """
    is_dict = isinstance(x, dict)
    xs = x if is_dict else {"x": x}
    gs = grad if is_dict else {"x": grad}
    rng = np.random.default_rng(seed)
    vs = (
        direction
        if direction is not None
        else {k: rng.standard_normal(np.shape(v)) for k, v in xs.items()}
    )
    if not is_dict and direction is not None:
        vs = {"x": direction}
    hs = np.logspace(-1, -5, 9) if hs is None else np.asarray(hs)
    call = (lambda d: f(d)) if is_dict else (lambda d: f(d["x"]))
    f0 = float(call(xs))
    gv = sum(float(np.sum(gs[k] * vs[k])) for k in xs)
    rem = []
    for h in hs:
        moved = {k: xs[k] + h * vs[k] for k in xs}
        rem.append(abs(float(call(moved)) - f0 - h * gv))
    rem = np.array(rem)
    small = np.argsort(hs)[:5]  # the slope is an asymptote: fit the five smallest steps
    small = small[rem[small] > 0]
    slope = float("nan")
    if small.size > 1:
        slope = float(np.polyfit(np.log(hs[small]), np.log(rem[small]), 1)[0])
    return {"h": hs, "remainder": rem, "slope": slope}


def plot_taylor_test(results: dict, path) -> str:
    """Taylor remainders of several gradients (name -> ``taylor_remainders`` result)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, r in results.items():
        ax.loglog(
            r["h"],
            np.maximum(r["remainder"], 1e-300),
            "o-",
            label=f"{name} (slope {r['slope']:.2f})",
        )
    h = next(iter(results.values()))["h"]
    ref = next(iter(results.values()))["remainder"][0]
    ax.loglog(h, ref * (h / h[0]) ** 2, "k:", lw=1, label="slope 2")
    ax.loglog(h, ref * (h / h[0]), "k--", lw=1, label="slope 1")
    ax.set_xlabel("h")
    ax.set_ylabel("|f(x+hv) - f(x) - h g.v|")
    ax.set_title("Taylor test: slope 2 means the gradient is right")
    ax.legend(fontsize=8)
    return _save(fig, path)


def layer_grad_norms(spec, X, Y, loss_and_grads, epochs: int, lr: float) -> np.ndarray:
    """||dJ/dW_l|| (Frobenius) for each layer l at each epoch of training: shape (epochs, L)."""
    norms = []

    def record(epoch, params, grads):
        norms.append([float(np.linalg.norm(grads[f"W{l}"])) for l in range(1, spec.n_layers + 1)])

    X, Y = network.check_data(spec, X, Y)
    network.gradient_descent(
        lambda p: loss_and_grads(spec, p, X, Y),
        network.init_params(spec),
        epochs,
        lr,
        progress=False,
        callback=record,
    )
    return np.array(norms)


def plot_layer_grad_norms(norms: dict, path) -> str:
    """One panel per initialisation: ||dW_l|| per epoch, one line per layer (log scale)."""
    fig, axes = plt.subplots(
        1, len(norms), figsize=(5.2 * len(norms), 3.8), squeeze=False, sharey=True
    )
    for ax, (name, arr) in zip(axes[0], norms.items()):
        for l in range(arr.shape[1]):
            ax.semilogy(np.maximum(arr[:, l], 1e-300), label=f"layer {l + 1}")
        ax.set_title(f"init: {name}")
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("||dJ/dW_l||")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("gradient norms per layer during training")
    return _save(fig, path)
