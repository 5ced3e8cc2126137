"""The article's functions, written fresh with its names and data flow, and corrected.

The article builds a network of sigmoid layers trained with binary cross-entropy. Its printed
code does not run as written; ``docs/article-errata.md`` lists each defect and how this module
avoids it. The data flow is the article's: a parameter dict ``{'W1', 'b1', ...}``, a list of
per-layer caches ``((A_prev, W, b), Z)`` and a gradient dict keyed ``'dW1', 'db1', 'dA0', ...``.

These functions are for reading. ``manual.general`` (``manual.loss_and_grads``) holds the same
calculus for every activation and loss, and the faster form of the step that performance
measurements use.
"""

from __future__ import annotations

import numpy as np

from .. import network
from ..network.ops import NUMPY_OPS as nops

__all__ = [
    "init_params",
    "sigmoid",
    "forward_prop",
    "cost_function",
    "linear_backward",
    "one_layer_backward",
    "backprop",
    "update_parameters",
    "train_article",
]


def init_params(layer_dims, seed: int = 3) -> dict[str, np.ndarray]:
    """W_l ~ N(0,1) x 0.01 of shape (n_l, n_{l-1}) and b_l = 0 of shape (n_l, 1).

    The article seeds NumPy's global state with 3; here a ``numpy.random.Generator`` seeded with
    ``seed`` draws the weights, so nothing else in the program changes them.
    """
    return network.init_params(network.NetworkSpec(layer_dims, seed=seed))


def sigmoid(Z: np.ndarray):
    """A = 1 / (1 + e^-Z), and Z as the activation cache: returns ``(A, Z)``."""
    return nops.sigmoid(Z), Z


def forward_prop(X: np.ndarray, params: dict):
    """Z_l = W_l A_{l-1} + b_l, A_l = sigmoid(Z_l) for l = 1..L; returns ``(A_L, caches)``.

    ``caches[l-1] = ((A_{l-1}, W_l, b_l), Z_l)``: what layer l's backward step needs.
    """
    A = X
    caches = []
    L = len(params) // 2
    for l in range(1, L + 1):
        A_prev, W, b = A, params[f"W{l}"], params[f"b{l}"]
        Z = W @ A_prev + b
        A, activation_cache = sigmoid(Z)
        caches.append(((A_prev, W, b), activation_cache))
    return A, caches


def cost_function(A: np.ndarray, Y: np.ndarray) -> float:
    """J = -(1/m) sum[Y log A + (1-Y) log(1-A)], a float.

    Outputs that saturate to exactly 0 or 1 are kept a rounding step away from them so that the
    logarithms stay finite; ``network.cost`` computes the same J from the logits, exactly.
    """
    m = Y.shape[1]
    eps = np.finfo(A.dtype).eps
    A = np.clip(A, eps / 2, 1 - eps / 2)
    return float(-(np.sum(Y * np.log(A)) + np.sum((1 - Y) * np.log1p(-A))) / m)


def linear_backward(dZ: np.ndarray, linear_cache):
    """From dJ/dZ_l (already carrying the 1/m of the mean) to the layer's gradients:

    dW_l = dZ_l A_{l-1}^T,  db_l = sum_j dZ_l[:, j],  dA_{l-1} = W_l^T dZ_l.
    """
    A_prev, W, _b = linear_cache
    dW = dZ @ A_prev.T
    db = dZ.sum(axis=1, keepdims=True)
    dA_prev = W.T @ dZ
    return dA_prev, dW, db


def one_layer_backward(dA: np.ndarray, cache):
    """One sigmoid layer backward, taking the article's ``dA``: returns ``(dA_prev, dW, db)``.

    As in the article, ``dA`` is the derivative of the *summed* loss m·J — no 1/m in it — and
    the 1/m of the mean is applied to dW and db only:

        dZ = dA * s(Z) (1 - s(Z)),  dW = (1/m) dZ A_prev^T,  db = (1/m) sum_j dZ[:, j],
        dA_prev = W^T dZ   (again without the 1/m, ready for the layer below).

    So the article's own ``backprop`` (with its ``dAL = -(Y/AL - (1-Y)/(1-AL))``) can call this
    function unchanged. ``linear_backward`` is the other convention: its dZ carries the 1/m.
    """
    linear_cache, Z = cache
    A, _ = sigmoid(Z)
    dZ = dA * A * (1 - A)
    dA_prev, dW_sum, db_sum = linear_backward(dZ, linear_cache)
    m = dZ.shape[1]
    return dA_prev, dW_sum / m, db_sum / m


def backprop(AL: np.ndarray, Y: np.ndarray, caches) -> dict[str, np.ndarray]:
    """Gradients of the mean binary cross-entropy, keyed as in the article.

    At the last layer the two factors dA_L = -(Y/A_L - (1-Y)/(1-A_L)) and
    dA_L/dZ_L = A_L (1 - A_L) cancel to dZ_L = A_L - Y; the fused form is used because the
    unfused one divides by zero when an output saturates. Keys: ``dW{l}``, ``db{l}`` for
    l = 1..L (dJ/dW_l, dJ/db_l) and ``dA{l}`` for l = 0..L-1 in the article's convention:
    the derivative of the summed loss m·J, the 1/m being applied to dW and db
    (``one_layer_backward``).
    """
    grads = {}
    L = len(caches)
    m = AL.shape[1]
    Y = Y.reshape(AL.shape)
    dZ = AL - Y
    dA_prev, dW_sum, db_sum = linear_backward(dZ, caches[L - 1][0])
    grads[f"dA{L - 1}"], grads[f"dW{L}"], grads[f"db{L}"] = dA_prev, dW_sum / m, db_sum / m
    for l in reversed(range(1, L)):
        dA_prev, dW, db = one_layer_backward(grads[f"dA{l}"], caches[l - 1])
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = dA_prev, dW, db
    return grads


def update_parameters(params: dict, grads: dict, learning_rate: float) -> dict:
    """One gradient-descent step, p <- p - learning_rate * dp, into a new dict."""
    L = len(params) // 2
    new = {}
    for l in range(1, L + 1):
        new[f"W{l}"] = params[f"W{l}"] - learning_rate * grads[f"dW{l}"]
        new[f"b{l}"] = params[f"b{l}"] - learning_rate * grads[f"db{l}"]
    return new


def train_article(X, Y, layer_dims, epochs: int, lr: float):
    """The article's ``train``: init, then for each epoch forward, cost, backprop, update.

    Returns ``(params, cost_history)`` with the cost before each update, as floats.
    """
    params = init_params(layer_dims)
    cost_history = []
    for _ in range(epochs):
        Y_hat, caches = forward_prop(X, params)
        cost_history.append(cost_function(Y_hat, Y))
        grads = backprop(Y_hat, Y, caches)
        params = update_parameters(params, grads, lr)
    return params, cost_history
