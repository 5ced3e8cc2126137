"""The network's math, written once: initialisation, the forward pass and the cost.

``forward`` and ``objective`` are written against an ops namespace (see ``network.ops``), so the
very same code runs on NumPy arrays, ``autograd.numpy`` arrays, the engine's tensors and NumPy
object arrays of scalar ``Value``s. ``objective`` is *the* function whose gradient every
implementation computes; ``cost`` is its checked, float-valued NumPy form.
"""

from __future__ import annotations

import numpy as np

from .ops import NUMPY_OPS
from .spec import NetworkSpec
from .validation import check_data, check_params, describe

__all__ = ["init_params", "forward", "objective", "cost", "predict", "accuracy", "check_spec"]


def check_spec(spec) -> NetworkSpec:
    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec, got {describe(spec)}")
    return spec


def init_params(spec: NetworkSpec) -> dict[str, np.ndarray]:
    """Draw ``{'W1', 'b1', ..., 'WL', 'bL'}`` from ``numpy.random.default_rng(spec.seed)``.

    - ``article``: W_l ~ N(0, 1) x 0.01, as the article does;
    - ``xavier``:  W_l ~ N(0, 1) x sqrt(1 / n_{l-1});
    - ``he``:      W_l ~ N(0, 1) x sqrt(2 / n_{l-1}).

    Biases start at zero. Weights are drawn layer by layer in float64, then cast to
    ``spec.dtype``, so a float32 network starts from the float64 one, rounded.
    """
    check_spec(spec)
    rng = np.random.default_rng(spec.seed)
    params = {}
    for l in range(1, spec.n_layers + 1):
        n_out, n_in = spec.layer_dims[l], spec.layer_dims[l - 1]
        scale = {"article": 0.01, "xavier": np.sqrt(1.0 / n_in), "he": np.sqrt(2.0 / n_in)}
        W = rng.standard_normal((n_out, n_in)) * scale[spec.init]
        params[f"W{l}"] = W.astype(spec.dtype)
        params[f"b{l}"] = np.zeros((n_out, 1), dtype=spec.dtype)
    return params


def forward(spec: NetworkSpec, params, X, ops=NUMPY_OPS, *, output: bool = True, start: int = 1):
    """Run the layers: returns ``(Zs, As)`` with ``Zs[l] = W_l @ A_{l-1} + b_l`` (``ops.affine``)
    for l = 1..L and ``As[l] = g_l(Z_l)`` for l = 0..L (``As[0] = X``; ``Zs[0]`` is None).

    With ``output=False`` the last activation is not applied (``As[L]`` is None): the bce and
    ce costs are computed from the logits Z_L directly, which is both cheaper and stable.
    With ``start=k``, ``X`` is taken to be A_{k-1} and only layers k..L run (the lists then hold
    None below k). Unchecked: callers validate first.
    """
    Zs, As = [None] * start, [None] * (start - 1) + [X]
    A = X
    L = spec.n_layers
    for l in range(start, L + 1):
        Z = ops.affine(params[f"W{l}"], A, params[f"b{l}"])
        A = getattr(ops, spec.activations[l - 1])(Z) if (l < L or output) else None
        Zs.append(Z)
        As.append(A)
    return Zs, As


def loss_from_output(spec: NetworkSpec, Z_L, A_L, Y, ops=NUMPY_OPS):
    """The cost from the last layer, in the namespace ``ops``; ``m = Y.shape[1]``.

    - bce from the logits: -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z;
    - ce from the logits:  -sum_i y_i log softmax(z)_i = sum_i y_i (logsumexp(z) - z_i);
    - mse from the output: (a - y)^2 / 2.
    """
    m = Y.shape[1]
    if spec.loss == "bce":
        return ops.sum(ops.softplus(Z_L) - Y * Z_L) / m
    if spec.loss == "ce":
        return ops.sum(Y * (ops.logsumexp(Z_L) - Z_L)) / m
    diff = A_L - Y
    return ops.sum(diff * diff) / (2 * m)


def objective(spec: NetworkSpec, params, X, Y, ops=NUMPY_OPS):
    """The cost J(params) as a scalar of the namespace ``ops`` (unchecked)."""
    Zs, As = forward(spec, params, X, ops, output=spec.loss == "mse")
    return loss_from_output(spec, Zs[-1], As[-1], Y, ops)


def cost(spec: NetworkSpec, params, X, Y) -> float:
    """J = mean over the m examples of the per-example loss, as a Python float (checked)."""
    check_spec(spec)
    params = check_params(spec, params)
    X, Y = check_data(spec, X, Y)
    return float(objective(spec, params, X, Y))


def predict(spec: NetworkSpec, params, X) -> np.ndarray:
    """The network's output A_L, shape (n_L, m) (checked)."""
    check_spec(spec)
    params = check_params(spec, params)
    from .validation import as_float_array

    X = as_float_array("X", X, ndim=2, dtype=spec.dtype)
    if X.shape[0] != spec.layer_dims[0]:
        raise ValueError(
            f"X must have shape ({spec.layer_dims[0]}, m) for layer_dims "
            f"{list(spec.layer_dims)}, got shape {X.shape}"
        )
    return forward(spec, params, X)[1][-1]


def accuracy(spec: NetworkSpec, params, X, Y) -> float:
    """Fraction of examples classified right: threshold 0.5 for one output, argmax otherwise.

    For mse on a single output the targets are rounded, so 0/1 labels work as with bce.
    """
    check_spec(spec)
    X, Y = check_data(spec, X, Y)
    A = predict(spec, params, X)
    if A.shape[0] == 1:
        return float(np.mean((A > 0.5) == (Y > 0.5)))
    return float(np.mean(A.argmax(axis=0) == Y.argmax(axis=0)))
