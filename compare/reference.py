"""Reference gradients of the shared network: HIPS autograd, finite differences, complex step.

All three differentiate ``network.objective`` itself, run in another array namespace:

- ``AUTOGRAD_OPS`` over ``autograd.numpy``: HIPS autograd's reverse mode, an implementation
  written by other people, differentiates the very same composition of layers and cost;
- ``COMPLEX_OPS``: a NumPy namespace whose every function is analytic (complex-safe), so that
  the cost can be evaluated at p + ih e_k for the complex step;
- ``network_numerical_grad``: finite differences (or the complex step) for every parameter,
  batched. Moving one entry of W_l or b_l changes one row of Z_l only, so the layers below l are
  computed once; for l < L the change of that row reaches Z_{l+1} as a rank-one update
  W_{l+1}[:, i] (a'_i - a_i); many perturbations are then carried through the remaining layers
  at once as a stack (B, n, m).

The two namespaces are built from the activation registry (``network.activations``): each
activation's ``formula`` runs on the namespace's math, ``AUTOGRAD_MATH`` or ``COMPLEX_MATH``.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import autograd
import autograd.numpy as anp
import numpy as np

from .. import network
from ..network import NetworkSpec
from .fdpolicy import combine, default_steps, offsets

__all__ = [
    "AUTOGRAD_OPS",
    "AUTOGRAD_MATH",
    "COMPLEX_OPS",
    "COMPLEX_MATH",
    "loss_and_grads",
    "network_numerical_grad",
    "REFERENCE_METHODS",
]


# -- HIPS autograd ------------------------------------------------------------------------------
def _ag_logsumexp(z):
    top = anp.max(z, axis=-2, keepdims=True)  # the shift cancels in the derivative
    return top + anp.log(anp.sum(anp.exp(z - top), axis=-2, keepdims=True))


def _ag_sigmoid(z):
    return anp.exp(-anp.logaddexp(0.0, -z))  # exp(-softplus(-z)): stable both ways


AUTOGRAD_MATH = SimpleNamespace(
    exp=anp.exp,
    expm1=anp.expm1,
    # tanh(z) = 2 sigmoid(2z) - 1: autograd's own tanh VJP divides by cosh(z)^2, which
    # overflows (with a warning) for |z| > 355
    tanh=lambda z: 2.0 * _ag_sigmoid(2.0 * z) - 1.0,
    sigmoid=_ag_sigmoid,
    softplus=lambda z: anp.logaddexp(0.0, z),
    where=anp.where,
    positive=lambda z: z > 0,  # derivative 0 at 0 (relu), as everywhere in backproof
    sum=anp.sum,
    logsumexp=_ag_logsumexp,
)
"""The activations' math namespace over ``autograd.numpy``, with its functions in forms whose
derivatives autograd computes without overflow."""

AUTOGRAD_OPS = network.Ops(
    "autograd",
    affine=lambda W, A, b: anp.matmul(W, A) + b,
    logsumexp=_ag_logsumexp,
    sum=anp.sum,
    form_of=lambda act: functools.partial(act.formula, xp=AUTOGRAD_MATH),
)


def loss_and_grads(spec: NetworkSpec, params, X, Y, *, check: bool = True):
    """``(J, grads)`` of ``network.objective`` by HIPS autograd, keyed like ``params``."""
    if check:
        network.check_spec(spec)
        params = network.check_params(spec, params)
        X, Y = network.check_data(spec, X, Y)
    J, grads = autograd.value_and_grad(lambda p: network.objective(spec, p, X, Y, AUTOGRAD_OPS))(
        dict(params)
    )
    return float(J), {k: np.asarray(grads[k], dtype=spec.dtype) for k in params}


# -- analytic (complex-safe) NumPy ---------------------------------------------------------------
def _split(z, positive, negative):
    """``positive(z)`` where Re z >= 0 and ``negative(z)`` elsewhere, each on its own entries only
    (so neither branch ever sees the inputs that would overflow it)."""
    out = np.empty_like(z)
    pos = np.real(z) >= 0
    out[pos] = positive(z[pos])
    out[~pos] = negative(z[~pos])
    return out


def _c_logsumexp(z):
    top = np.max(np.real(z), axis=-2, keepdims=True)
    return top + np.log(np.sum(np.exp(z - top), axis=-2, keepdims=True))


COMPLEX_MATH = SimpleNamespace(
    exp=np.exp,
    expm1=np.expm1,
    tanh=np.tanh,
    sigmoid=lambda z: _split(
        z, lambda p: 1 / (1 + np.exp(-p)), lambda q: np.exp(q) / (1 + np.exp(q))
    ),
    softplus=lambda z: _split(z, lambda p: p + np.log1p(np.exp(-p)), lambda q: np.log1p(np.exp(q))),
    where=np.where,
    positive=lambda z: np.real(z) > 0,
    sum=np.sum,
    logsumexp=_c_logsumexp,
)
"""The activations' math namespace over complex NumPy: every function analytic, so that
f(x + ih) = f(x) + ih f'(x) + O(h^2), and none overflowing for large real parts."""

COMPLEX_OPS = network.Ops(
    "complex-safe numpy",
    affine=lambda W, A, b: W @ A + b,
    logsumexp=_c_logsumexp,
    sum=lambda x: x.sum(axis=(-2, -1)),
    form_of=lambda act: functools.partial(act.formula, xp=COMPLEX_MATH),
)

_BATCHED_NUMPY = SimpleNamespace(
    **{**vars(network.NUMPY_OPS), "name": "numpy (batched)", "sum": lambda x: x.sum(axis=(-2, -1))}
)

REFERENCE_METHODS = ("central", "richardson", "complex")  # the steps: fdpolicy's


def _cost_from_layer(spec, params, Y, layer: int, Z, ops):
    """The cost of each network in the stack whose layer-``layer`` pre-activation is ``Z``."""
    L = spec.n_layers
    mse = spec.loss == "mse"
    if layer == L:
        A_L = getattr(ops, spec.activations[-1])(Z) if mse else None
        return network.loss_from_output(spec, Z, A_L, Y, ops)
    A = getattr(ops, spec.activations[layer - 1])(Z)
    Zs, As = network.forward(spec, params, A, ops, output=mse, start=layer + 1)
    return network.loss_from_output(spec, Zs[-1], As[-1], Y, ops)


def _layer_costs(spec, params, Y, cache, layer, rows, shifts, ops, chunk):
    """Costs after adding ``shifts[k]`` (shape (m,)) to row ``rows[k]`` of Z_layer, for all k."""
    Zs, As = cache
    L = spec.n_layers
    Z = Zs[layer]
    out = np.empty(len(rows), dtype=np.result_type(Z, shifts))
    for lo in range(0, len(rows), chunk):
        r = rows[lo : lo + chunk]
        new_rows = Z[r] + shifts[lo : lo + chunk]  # (B, m)
        if layer < L:
            act = getattr(ops, spec.activations[layer - 1])
            delta = act(new_rows) - As[layer][r]  # (B, m): how row r of A_layer moves
            W_next = params[f"W{layer + 1}"]
            Z_next = Zs[layer + 1][None] + W_next[:, r].T[:, :, None] * delta[:, None, :]
            out[lo : lo + chunk] = _cost_from_layer(spec, params, Y, layer + 1, Z_next, ops)
        else:
            Zb = np.repeat(Z[None], len(r), axis=0)
            Zb[np.arange(len(r)), r] = new_rows
            out[lo : lo + chunk] = _cost_from_layer(spec, params, Y, layer, Zb, ops)
    return out


def network_numerical_grad(
    spec: NetworkSpec,
    params,
    X,
    Y,
    method: str = "central",
    *,
    check: bool = True,
    threads: int | None = None,
    progress=None,
):
    """Every partial derivative dJ/dp of the network's cost by ``method`` — ``"central"``,
    ``"richardson"`` or ``"complex"`` (the complex step) — moving one entry at a time.

    Returns ``(grads, errors, kinks)``: float64 dicts keyed like ``params`` with the estimates,
    each estimate's error bound, and (Richardson only) True where the steps straddle a kink.
    Steps are ``eps^(1/3)`` (central) or ``eps^(1/4)`` (Richardson) times ``max(|p|, 1)``,
    with eps of float64: a float32 network is evaluated in float64. Work is split over
    ``threads`` (default: the CPU count, at most 4) since NumPy releases the GIL.
    """
    if method not in REFERENCE_METHODS:
        raise ValueError(f"method must be one of {list(REFERENCE_METHODS)}, got {method!r}")
    if check:
        network.check_spec(spec)
        params = network.check_params(spec, params)
        X, Y = network.check_data(spec, X, Y)
    p64 = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    X64, Y64 = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    eps = float(np.finfo(np.float64).eps)
    ops = COMPLEX_OPS if method == "complex" else _BATCHED_NUMPY
    f0 = float(network.objective(spec, p64, X64, Y64))
    cache = network.forward(spec, p64, X64)
    if method == "complex":
        pc = {k: v.astype(np.complex128) for k, v in p64.items()}
        cache = network.forward(spec, pc, X64.astype(np.complex128), COMPLEX_OPS)
    m = X.shape[1]
    # the cost is a mean of per-example terms computed from the logits (bce, ce) or outputs, so
    # its rounding is that of numbers of their size, which can dwarf the cost itself
    rounding_scale = float(np.max(np.abs(np.real(cache[0][-1])))) + float(np.max(np.abs(Y64)))

    jobs = []  # (key, layer, rows, base row-shift vectors, steps)
    for l in range(1, spec.n_layers + 1):
        A_prev = cache[1][l - 1]
        n_out, n_in = p64[f"W{l}"].shape
        rows = np.repeat(np.arange(n_out), n_in)
        cols = np.tile(np.arange(n_in), n_out)
        jobs.append((f"W{l}", l, rows, lambda c, A=A_prev: A[c], cols, p64[f"W{l}"].ravel()))
        jobs.append(
            (
                f"b{l}",
                l,
                np.arange(n_out),
                lambda c, m=m: np.ones((len(c), m)),
                np.arange(n_out),
                p64[f"b{l}"].ravel(),
            )
        )

    points = offsets(method)
    results = {}
    tasks = []
    for key, layer, rows, direction, cols, values in jobs:
        steps = default_steps(values, method, eps)
        n_next = spec.layer_dims[min(layer + 1, spec.n_layers)]
        chunk = max(1, min(256, (1 << 17) // max(1, n_next * m)))
        block = max(chunk, 512)
        for lo in range(0, len(rows), block):
            tasks.append(
                (
                    key,
                    layer,
                    rows[lo : lo + block],
                    direction,
                    cols[lo : lo + block],
                    steps[lo : lo + block],
                    chunk,
                    lo,
                )
            )
        results[key] = [np.empty(len(rows)) for _ in range(3)]

    def run(task):
        key, layer, rows, direction, cols, steps, chunk, lo = task
        base = direction(cols)  # (k, m): d Z_layer[row] / d entry
        values = [
            _layer_costs(
                spec, p64, Y64, cache, layer, rows, (o * steps)[:, None] * base, ops, chunk
            )
            for o in points
        ]
        est, err, kink = combine(method, steps, f0, values, eps, rounding_scale)
        return key, lo, est, err, kink

    n_threads = threads or min(4, os.cpu_count() or 1)
    if progress is not None:
        tracker = progress(total=len(tasks))
    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        for key, lo, est, err, kink in pool.map(run, tasks):
            for arr, val in zip(results[key], (est, err, kink)):
                arr[lo : lo + len(est)] = val
            if progress is not None:
                tracker.update(1)
    if progress is not None:
        tracker.close()
    shapes = spec.param_shapes()
    grads = {k: results[k][0].reshape(shapes[k]) for k in params}
    errors = {k: results[k][1].reshape(shapes[k]) for k in params}
    kinks = {k: results[k][2].reshape(shapes[k]).astype(bool) for k in params}
    return grads, errors, kinks
