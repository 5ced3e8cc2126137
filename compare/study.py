"""The default study: the article's network on a built-in data set, every gradient proved.

The study computes and trains; ``compare.plots`` only draws the numbers it is handed. Each
picture gets a caption that names the network, the data and the learning rate and says what
the reader should see (``run_study(...)["captions"]``).

The computations behind the pictures:

- ``step_sweep``: the error of forward, central and Richardson differences at each step h;
- ``taylor_remainders``: |f(x + h v) − f(x) − h ⟨g, v⟩| for a ladder of h, and its slope;
- ``layer_grad_norms``: ‖dJ/dW_l‖ for each layer at each epoch of training;
- ``catalog_layer_errors``: for each wrong derivation of ``compare.mutants.CATALOG``, the
  relative error of its gradient, layer by layer, against autograd.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from .. import manual, network
from ..network import NetworkSpec
from . import fdpolicy, plots, reference
from .network_check import compare_network

__all__ = [
    "DEFAULT_STUDY",
    "run_study",
    "study_to_dict",
    "StepSweep",
    "step_sweep",
    "TaylorTest",
    "taylor_remainders",
    "layer_grad_norms",
    "CatalogErrors",
    "catalog_layer_errors",
    "deeper",
]

DEFAULT_STUDY = {
    "dims": [2, 8, 1],
    "data": "moons",
    "m": 200,
    "epochs": 2000,
    "lr": 2.0,
    "norm_epochs": 400,
}


# -- the computations ------------------------------------------------------------------------
@dataclass
class StepSweep:
    """Errors |estimate − exact| of df/dx[index] for each step h, by three formulas."""

    steps: np.ndarray
    forward: np.ndarray
    central: np.ndarray
    richardson: np.ndarray
    f0: float  # f at x, which sets the size of the round-off: about eps |f0| / h
    exact: float
    classic_steps: dict  # method -> the fixed step numerical_grad uses for this entry
    ladder: np.ndarray  # the steps check_grad's verdicts try for this entry

    def __getitem__(self, key):  # sweep["central"], as the older dict form
        return getattr(self, key)


def step_sweep(f, x: np.ndarray, index: tuple, exact: float, steps=None) -> StepSweep:
    """Forward (f(x+h) − f(x))/h, central (f(x+h) − f(x−h))/2h and Richardson
    (4 D(h/2) − D(h))/3 for each h; their errors against ``exact``."""
    steps = np.logspace(np.log10(0.5), -14, 44) if steps is None else np.asarray(steps, np.float64)
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
    eps = float(np.finfo(np.float64).eps)
    x_entry = np.array([x0])
    classic = {
        m: float(fdpolicy.default_steps(x_entry, m, eps)[0]) for m in ("central", "richardson")
    }
    ladder = fdpolicy.ladder_steps(max(abs(float(x0)), 1.0))
    return StepSweep(
        steps,
        np.array(forward),
        np.array(central),
        np.array(richardson),
        f0,
        float(exact),
        classic,
        ladder,
    )


@dataclass
class TaylorTest:
    """Remainders |f(x + h v) − f(x) − h ⟨g, v⟩| for each h and the slope fitted on log-log axes."""

    h: np.ndarray
    remainder: np.ndarray
    slope: float

    def __getitem__(self, key):  # result["slope"], as the older dict form
        return getattr(self, key)


def taylor_remainders(f, grad, x, direction=None, hs=None, seed: int = 0) -> TaylorTest:
    """With the true gradient the remainder is O(h²) (slope 2); with a wrong one, O(h) (slope 1).

    ``x``, ``grad`` and ``direction`` are dicts of arrays (or arrays). The direction defaults to
    standard normal entries drawn with ``numpy.random.default_rng(seed)``, every parameter at once.
    """
    is_dict = isinstance(x, dict)
    xs = x if is_dict else {"x": x}
    gs = grad if is_dict else {"x": grad}
    if direction is None:
        rng = np.random.default_rng(seed)
        vs = {k: rng.standard_normal(np.shape(v)) for k, v in xs.items()}
    else:
        vs = direction if is_dict else {"x": direction}
    hs = np.logspace(-1, -5, 9) if hs is None else np.asarray(hs)
    call = (lambda d: f(d)) if is_dict else (lambda d: f(d["x"]))
    f0 = float(call(xs))
    gv = sum(float(np.sum(gs[k] * vs[k])) for k in xs)
    rem = np.array([abs(float(call({k: xs[k] + h * vs[k] for k in xs})) - f0 - h * gv) for h in hs])
    small = np.argsort(hs)[:5]  # the slope is an asymptote: fit the five smallest steps
    small = small[rem[small] > 0]
    slope = float("nan")
    if small.size > 1:
        slope = float(np.polyfit(np.log(hs[small]), np.log(rem[small]), 1)[0])
    return TaylorTest(hs, rem, slope)


def layer_grad_norms(spec, X, Y, loss_and_grads, epochs: int, lr: float) -> np.ndarray:
    """‖dJ/dW_l‖ (Frobenius) for each layer l at each epoch of training: shape (epochs, L)."""
    norms = []

    def record(epoch, params, grads):
        norms.append([float(np.linalg.norm(grads[f"W{l}"])) for l in range(1, spec.n_layers + 1)])

    X, Y = network.check_data(spec, X, Y)
    with np.errstate(over="ignore", invalid="ignore"):  # a divergence raises FloatingPointError
        network.gradient_descent(
            lambda p: loss_and_grads(spec, p, X, Y),
            network.init_params(spec),
            epochs,
            lr,
            progress=False,
            callback=record,
        )
    return np.array(norms)


@dataclass
class CatalogErrors:
    """``errors[i, l-1]`` = ‖g_l − r_l‖ / ‖r_l‖ for mutant i and layer l, where g_l stacks the
    mutant's dW_l and db_l and r_l autograd's. NaN where the layer does not exist; ``marks``
    names the cells that have no number ("missing", "shape", "non-finite")."""

    names: list[str]
    networks: list[str]
    errors: np.ndarray
    marks: dict[tuple[int, int], str]


def catalog_layer_errors(catalog=None) -> CatalogErrors:
    """Run each wrong derivation once on its own problem and measure it, layer by layer."""
    from .mutants import CATALOG, L2, mutant_problem

    catalog = CATALOG if catalog is None else catalog
    n_layers = max(m.spec.n_layers for m in catalog)
    errors = np.full((len(catalog), n_layers), np.nan)
    marks = {}
    for i, mutant in enumerate(catalog):
        spec, params, X, Y = mutant_problem(mutant)
        right = reference.loss_and_grads(spec, params, X, Y)[1]
        if mutant.name == "missing_regularisation":  # its cost adds (L2/2) ||W_l||^2
            right = {k: g + L2 * params[k] if k[0] == "W" else g for k, g in right.items()}
        with np.errstate(all="ignore"):
            wrong = mutant.grads(spec, params, X, Y)
        for l in range(1, spec.n_layers + 1):
            errors[i, l - 1], mark = _layer_error(wrong, right, l)
            if mark:
                marks[(i, l - 1)] = mark
    networks = ["-".join(map(str, m.spec.layer_dims)) for m in catalog]
    return CatalogErrors([m.name for m in catalog], networks, errors, marks)


def _layer_error(wrong: dict, right: dict, l: int) -> tuple[float, str]:
    keys = (f"W{l}", f"b{l}")
    r = np.concatenate([np.ravel(right[k]) for k in keys])
    if any(k not in wrong for k in keys):
        return 1.0, "missing"
    if any(np.shape(wrong[k]) != np.shape(right[k]) for k in keys):
        return np.nan, "shape"
    g = np.concatenate([np.ravel(wrong[k]) for k in keys])
    if not np.all(np.isfinite(g)):
        return np.nan, "non-finite"
    return float(np.linalg.norm(g - r) / np.linalg.norm(r)), ""


def deeper(spec: NetworkSpec, hidden_layers: int = 3) -> NetworkSpec:
    """``spec`` itself when it has ``hidden_layers`` hidden layers or more; otherwise the same
    network with its (first) hidden layer repeated — same sizes, activations, loss, dtype — so
    that gradients have layers to vanish through. A network with no hidden layer gets sigmoid
    layers of 8 units."""
    dims, acts = list(spec.layer_dims), list(spec.activations)
    if len(dims) - 2 >= hidden_layers:
        return spec
    width, act = (dims[1], acts[0]) if len(dims) > 2 else (8, "sigmoid")
    return spec.replace(
        layer_dims=[dims[0], *[width] * hidden_layers, dims[-1]],
        activations=[act] * hidden_layers + [acts[-1]],
    )


# -- the study ---------------------------------------------------------------------------------
def _context(spec: NetworkSpec, data: str, m: int, lr: float) -> str:
    dims = "-".join(map(str, spec.layer_dims))
    return (
        f"Network {dims} ({', '.join(spec.activations)}), {spec.loss} loss, {spec.init} init, "
        f"seed {spec.seed}; data: {data}, {m} examples; learning rate {lr:g}."
    )


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
    norm_epochs: int = 400,
    data_name: str | None = None,
) -> dict:
    """Compare every implementation with every reference at the start of training, train with
    manual and the engine from the same start, and draw the pictures into ``out_dir``.

    Returns a dict: the comparison (``NetworkComparison``), final cost and accuracy of each
    training run, the Taylor-test slopes, the written plot paths with their captions and the
    timings.
    """
    t_start = time.perf_counter()
    X, Y = network.check_data(spec, X, Y)
    params = network.init_params(spec)
    comparison = compare_network(spec, X, Y, params, epochs=epochs, lr=lr, progress=progress)
    finals = {}
    for run in comparison.training:
        finals[run.implementation] = {
            # the cost of the final parameters (history[-1] is the cost before the last step)
            "final_cost": network.cost(spec, run.params, X, Y),
            "accuracy": network.accuracy(spec, run.params, X, Y),
        }
        if not np.isfinite(finals[run.implementation]["final_cost"]):
            raise FloatingPointError(
                f"the cost of {run.implementation}'s trained parameters is "
                f"{finals[run.implementation]['final_cost']}; lower lr (now {lr})"
            )

    result = {
        "comparison": comparison,
        "training": finals,
        "plots": {},
        "captions": {},
        "taylor_slopes": {},
    }
    if make_plots:
        data = data_name or f"{X.shape[0]} features"
        _draw_all(result, spec, params, X, Y, lr, epochs, norm_epochs, data, os.fspath(out_dir))
    result["seconds"] = time.perf_counter() - t_start
    return result


def _draw_all(result, spec, params, X, Y, lr, epochs, norm_epochs, data, out):
    """Compute each picture's numbers, then hand them to ``plots`` with a caption."""
    context = _context(spec, data, X.shape[1], lr)
    os.makedirs(out, exist_ok=True)
    paths, captions = result["plots"], result["captions"]
    dims = "-".join(map(str, spec.layer_dims))
    comparison = result["comparison"]

    def draw(name, plot, *args, title, see, context=context, **options):
        caption = f"{context} {see}"
        path = os.path.join(out, f"{name}.png")
        paths[name] = plot(*args, path, title=title, caption=caption, **options)
        captions[name] = caption

    histories = {r.implementation: r.history for r in comparison.training}
    if histories:
        draw(
            "cost_histories",
            plots.plot_cost_histories,
            histories,
            title=f"{dims} network: the cost during {epochs} epochs, two implementations",
            see="What to see: the hand-derived backprop (manual) and the autodiff engine (tensor) "
            "start from the same weights and their cost curves lie on top of each other (largest "
            f"difference {comparison.training_max_diff:.1e}).",
        )

    errors, tolerances, passed = _param_errors(comparison)
    draw(
        "param_errors",
        plots.plot_param_errors,
        errors,
        list(spec.param_shapes()),
        tolerances,
        passed=passed,
        title=f"{dims} network: gradient error per parameter, before training",
        see="What to see: every bar lies far below its tolerance line (a hatched bar is one "
        "whose verdict is not pass); a mark at the bottom "
        "means the two gradients are bit for bit equal (autograd against itself always is). "
        "Errors are max|g − ref| over the parameter divided by the largest |ref| entry of the "
        "whole gradient.",
    )

    L = spec.n_layers
    key, index = f"W{L}", (0, 0)
    exact = reference.loss_and_grads(spec, params, X, Y, check=False)[1][key][index]

    def cost_of(w):
        return network.objective(spec, {**params, key: w}, X, Y)

    draw(
        "step_sweep",
        plots.plot_step_sweep,
        step_sweep(cost_of, params[key], index, float(exact)),
        title=f"{dims} network: finite differences of dJ/d{key}[0,0] against the step h",
        see="What to see: the V of finite differences. Right of the minimum the truncation "
        "error falls as h (forward), h² (central) and h⁴ (Richardson), parallel to the grey "
        "guides; left of it round-off grows as eps·|J|/h. Dotted verticals: numerical_grad's fixed "
        "steps; shaded: the ladder of steps check_grad's verdicts try. "
        "Before training (the learning rate plays no part).",
    )

    m = X.shape[1]
    grads = manual.loss_and_grads(spec, params, X, Y, check=False)[1]
    wrong = {k: v * m for k, v in grads.items()}

    def objective(p):
        return network.objective(spec, p, X, Y)

    taylor = {
        "manual (right)": taylor_remainders(objective, grads, params),
        "manual × m (the 1/m forgotten)": taylor_remainders(objective, wrong, params),
    }
    result["taylor_slopes"] = {k: v.slope for k, v in taylor.items()}
    draw(
        "taylor_test",
        plots.plot_taylor_test,
        taylor,
        title=f"{dims} network: Taylor test of the gradient at the initial weights",
        see="v is one random direction in all parameters at once (standard normal entries, "
        "seed 0). What to see: with the right gradient the remainder falls as h² (slope 2); "
        "with the 1/m forgotten it falls only as h (slope 1).",
    )

    deep = deeper(spec)
    deep_dims = "-".join(map(str, deep.layer_dims))
    norms = {}
    for init in ("article", "xavier"):
        norms[init] = layer_grad_norms(
            deep.replace(init=init, activations=deep.activations),
            X,
            Y,
            lambda s, p, X_, Y_: manual.loss_and_grads(s, p, X_, Y_, check=False),
            norm_epochs,
            lr,
        )
    result["layer_norms_first_epoch"] = {k: v[0].tolist() for k, v in norms.items()}
    shrink = {k: v[0, 0] / v[0, -1] for k, v in norms.items()}  # first layer over last
    made = "the study's network" if deep == spec else f"the study's {dims} made deeper"
    draw(
        "layer_grad_norms",
        plots.plot_layer_grad_norms,
        norms,
        title=f"vanishing gradients: per-layer gradient norms of {deep_dims} ({made})",
        context=_context(deep, data, X.shape[1], lr).replace(f", {deep.init} init", ""),
        see=f"Trained {norm_epochs} epochs from each initialisation. What to see: vanishing "
        f"gradients. With the article's 0.01 initialisation ‖dJ/dW_1‖ starts at "
        f"{shrink['article']:.0e} times ‖dJ/dW_{deep.n_layers}‖, since each layer down "
        "multiplies by W_lᵀ (entries about 0.01) and by the activation's slope (at most 1/4 "
        f"for sigmoid), and training stalls; with xavier weights the ratio is "
        f"{shrink['xavier']:.0e}.",
    )

    catalog = catalog_layer_errors()
    result["catalog_errors"] = {
        n: row.tolist() for n, row in zip(catalog.names, catalog.errors, strict=True)
    }
    draw(
        "catalog_heatmap",
        plots.plot_catalog_heatmap,
        catalog,
        title="where each wrong derivation enters: relative error per layer",
        context="Networks: each mistake's own, in brackets (sigmoid hidden layers unless the "
        "mistake needs another), on 40 random examples (compare/mutants.py); no training, so "
        "no learning rate.",
        see="Each row is a classic hand-derivation mistake; each cell is ‖g_l − r_l‖/‖r_l‖, "
        "g_l the mistake's dW_l and db_l together, r_l autograd's. What to see: where the "
        "error enters. A wrong activation derivative leaves the layers above it exact (about "
        "1e-16, rounding) and spoils every layer below; a mistake at the output spoils every "
        "layer; 'shape' and 'missing' are caught before any number is compared.",
    )


def _param_errors(comparison):
    """Per reference and implementation, the relative error of each parameter and whether its
    verdict is "pass"; per reference the tolerance line (the largest tolerance of its cells)
    with its label."""
    params = list(comparison.spec.param_shapes())
    cells = {
        ref: {
            impl: [comparison.cell(impl, ref, p) for p in params]
            for impl in comparison.implementations
        }
        for ref in comparison.references
    }
    errors = {
        r: {i: [c.rel_error for c in row] for i, row in by.items()} for r, by in cells.items()
    }
    passed = {r: {i: [c.agree for c in row] for i, row in by.items()} for r, by in cells.items()}
    tolerances = {}
    for ref, by in cells.items():
        tolerance = max(c.tolerance for row in by.values() for c in row)
        if ref == "fd":  # an interval rule entry by entry: no single line says it all
            label = f"largest entrywise tolerance {tolerance:.0e} (check_grad's rule)"
        else:
            label = f"tolerance {tolerance:.1e} (1e4·eps: exact reference)"
        tolerances[ref] = (tolerance, label)
    return errors, tolerances, passed


def study_to_dict(result: dict) -> dict:
    """A JSON-ready form of ``run_study``'s result."""
    return {
        "comparison": result["comparison"].to_dict(),
        "training": result["training"],
        "taylor_slopes": result["taylor_slopes"],
        "layer_norms_first_epoch": result.get("layer_norms_first_epoch", {}),
        "catalog_errors": result.get("catalog_errors", {}),
        "plots": result["plots"],
        "captions": result.get("captions", {}),
        "seconds": result["seconds"],
        "ok": bool(result["comparison"].ok),
        "numpy": np.__version__,
    }
