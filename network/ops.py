"""Array namespaces: the vocabulary the network's math is written in.

The forward pass and the cost (``network.model``) use only Python operators (``+ - * / ** @``)
and the functions of an *ops* namespace:

=============  ===========================================================
``sigmoid``    1 / (1 + exp(-z)), elementwise
``tanh``       elementwise
``relu``       max(z, 0), elementwise (derivative taken as 0 at 0)
``linear``     the identity
``softmax``    exp(z - logsumexp(z)) down each column (axis 0 of a 2-D array)
``softplus``   log(1 + exp(z)), elementwise
``logsumexp``  log(sum(exp(z))) down each column, shape (1, m)
``sum``        the sum of every entry, a scalar
``affine``     W @ A + b, a layer's pre-activation
=============  ===========================================================

``NUMPY_OPS`` below is the NumPy namespace, used by ``manual`` and as the forward kernels of the
autodiff engine's primitives. ``compare.reference`` supplies one over ``autograd.numpy``;
``autodiff`` supplies one over its ``Tensor`` and one over NumPy object arrays of ``Value``.
Every kernel here is stable for inputs of any size: no overflow, no division by zero.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

__all__ = [
    "affine",
    "sigmoid",
    "tanh",
    "relu",
    "linear",
    "softmax",
    "softplus",
    "logsumexp",
    "NUMPY_OPS",
]


def affine(W: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Z = W @ A + b, with b (n, 1) broadcast over the columns; one new array."""
    Z = W @ A
    Z += b
    return Z


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), into ``out`` when given (``out=z`` works in place).

    For z below about -709 (float64), e^-z overflows to inf and 1/(1+inf) is the correct limit
    0, so that overflow is expected and silenced; no other form is both this precise in both
    tails and this fast (four passes over the data, no temporaries).
    """
    with np.errstate(over="ignore"):
        out = np.negative(z, out=out)
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(z, out=out)


def relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, 0, out=out)


def linear(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return z


def logsumexp(z: np.ndarray) -> np.ndarray:
    """log sum_i exp(z_i) down each column, shape (1, m), shifted by the column max.

    Columns run along axis -2, so a stack of networks' outputs, shape (B, n, m), works too.
    """
    zmax = z.max(axis=-2, keepdims=True)
    return zmax + np.log(np.exp(z - zmax).sum(axis=-2, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """exp(z_i) / sum_j exp(z_j) down each column (axis -2), computed from z - max(z)."""
    e = np.exp(z - z.max(axis=-2, keepdims=True))
    e /= e.sum(axis=-2, keepdims=True)
    return e


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|), never overflows."""
    return np.logaddexp(0, z).astype(z.dtype, copy=False)


def _sum(x: np.ndarray):
    return x.sum()


NUMPY_OPS = SimpleNamespace(
    name="numpy",
    affine=affine,
    sigmoid=sigmoid,
    tanh=tanh,
    relu=relu,
    linear=linear,
    softmax=softmax,
    softplus=softplus,
    logsumexp=logsumexp,
    sum=_sum,
)
