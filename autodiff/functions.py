"""Tensor primitives: each forward beside its vector-Jacobian product.

Every function here takes ndarrays, numbers or ``Tensor``s: given no tensor it returns the raw
NumPy result, given a tensor it returns a tensor recorded on the tape. The VJPs use these same
functions, so they run on raw arrays in an ordinary backward pass and on tensors, recording the
backward pass itself, under ``create_graph=True``.

In each VJP ``g`` is dJ/d(output), ``ans`` the output, and the remaining arguments the inputs;
the result is dJ/d(that input) before any broadcasting is summed away (the tape does that).
"""

from __future__ import annotations

import numpy as np

from ..network import ops as kernels
from .registry import TENSOR_PRIMITIVES as T
from .registry import definplace, defvjp, primitive
from .tensor import Tensor, apply

__all__ = [
    "add", "sub", "mul", "div", "neg", "power", "matmul", "affine",
    "exp", "log", "tanh", "sigmoid", "relu", "softplus",
    "sum", "mean", "max", "logsumexp", "softmax",
    "reshape", "transpose", "getitem", "broadcast_to", "where", "maximum",
]  # fmt: skip


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _shape(x):
    return np.shape(_data(x))


# -- arithmetic ------------------------------------------------------------------------------
_add = defvjp(primitive(T, "add")(np.add), lambda g, ans, a, b: g, lambda g, ans, a, b: g)
_sub = defvjp(primitive(T, "sub")(np.subtract), lambda g, ans, a, b: g, lambda g, ans, a, b: -g)
_mul = defvjp(
    primitive(T, "mul")(np.multiply),
    lambda g, ans, a, b: g * b,
    lambda g, ans, a, b: g * a,
)
_div = defvjp(
    primitive(T, "div")(np.true_divide),
    lambda g, ans, a, b: g / b,
    lambda g, ans, a, b: -g * ans / b,  # d(a/b)/db = -a/b^2 = -ans/b
)
_neg = defvjp(primitive(T, "neg")(np.negative), lambda g, ans, a: -g)


@primitive(T, "power")
def _power_fwd(a, p):
    return np.power(a, p)


defvjp(
    _power_fwd,
    lambda g, ans, a, p: g * p * a ** (p - 1),  # d(a^p)/da = p a^(p-1)
    lambda g, ans, a, p: g * ans * log(a),  # d(a^p)/dp = a^p log a
)


def _matmul_vjp_a(g, ans, a, b):
    """d(a @ b)/da contracted with g: g @ b^T (outer products for 1-D operands)."""
    if type(g) is np.ndarray and type(b) is np.ndarray and g.ndim == b.ndim == 2:
        return g @ b.T  # the common case, without the dual functions' dispatch
    if _data(b).ndim == 1:
        return g[..., None] * b if _data(a).ndim > 1 else g * b
    if _data(a).ndim == 1:
        return matmul(b, g)
    return matmul(g, transpose(b, _swap_last(_data(b).ndim)))


def _matmul_vjp_b(g, ans, a, b):
    """d(a @ b)/db contracted with g: a^T @ g (outer products for 1-D operands)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and g.ndim == a.ndim == 2:
        return a.T @ g
    if _data(a).ndim == 1:
        return a[:, None] * g[..., None, :] if _data(b).ndim > 1 else g * a
    if _data(b).ndim == 1:
        return matmul(g, a)
    return matmul(transpose(a, _swap_last(_data(a).ndim)), g)


def _swap_last(ndim: int) -> tuple:
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)


_matmul = defvjp(primitive(T, "matmul")(np.matmul), _matmul_vjp_a, _matmul_vjp_b)

# a layer's pre-activation W @ A + b in one node (and one new array), like PyTorch's addmm
_affine = defvjp(
    primitive(T, "affine")(kernels.affine),
    lambda g, ans, W, A, b: _matmul_vjp_a(g, ans, W, A),
    lambda g, ans, W, A, b: _matmul_vjp_b(g, ans, W, A),
    lambda g, ans, W, A, b: g,  # the tape sums g over the columns b was broadcast to
)

# -- elementwise functions -------------------------------------------------------------------
_exp = defvjp(primitive(T, "exp")(np.exp), lambda g, ans, a: g * ans)
_log = defvjp(primitive(T, "log")(np.log), lambda g, ans, a: g / a)


def _sigmoid_vjp(g, ans, a):
    """d sigmoid(a)/da = s (1 - s), from the output s: (g s)(1 - s)."""
    return g * ans * (1 - ans)


def _tanh_vjp(g, ans, a):
    """d tanh(a)/da = 1 - tanh(a)^2, from the output t: g (1 - t^2)."""
    return g * (1 - ans * ans)


def _relu_vjp(g, ans, a):
    """d relu(a)/da = 1 where a > 0, else 0 (also at 0)."""
    return g * (_data(a) > 0)


# The same products in the same order, so bit for bit the same numbers, built in the incoming
# gradient and with the forward output as scratch space when the tape lends them (see
# ``autodiff.tensor.backpropagate``): on this machine a fresh array's first touch costs more than
# the arithmetic done on it.
def _sigmoid_vjp_inplace(g, ans, a, g_owned, ans_owned):
    if not g_owned:
        return _sigmoid_vjp(g, ans, a)
    g *= ans
    g *= np.subtract(1, ans, out=ans) if ans_owned else 1 - ans
    return g


def _tanh_vjp_inplace(g, ans, a, g_owned, ans_owned):
    if not g_owned:
        return _tanh_vjp(g, ans, a)
    if ans_owned:
        g *= np.subtract(1, np.multiply(ans, ans, out=ans), out=ans)
    else:
        g *= 1 - ans * ans
    return g


def _relu_vjp_inplace(g, ans, a, g_owned, ans_owned):
    if not g_owned:
        return _relu_vjp(g, ans, a)
    return np.multiply(g, a > 0, out=g)


_sigmoid = defvjp(primitive(T, "sigmoid")(kernels.sigmoid), _sigmoid_vjp)
_tanh = defvjp(primitive(T, "tanh")(kernels.tanh), _tanh_vjp)
_relu = defvjp(primitive(T, "relu")(kernels.relu), _relu_vjp)
definplace(_sigmoid, _sigmoid_vjp_inplace)
definplace(_tanh, _tanh_vjp_inplace)
definplace(_relu, _relu_vjp_inplace)
_softplus = defvjp(
    primitive(T, "softplus")(kernels.softplus),
    lambda g, ans, a: g * sigmoid(a),  # d log(1 + e^a)/da = sigmoid(a)
)


# -- reductions ------------------------------------------------------------------------------
def _expand(g, shape, axis, keepdims):
    """Undo a reduction's dropped axes on g so that it broadcasts against ``shape``."""
    if axis is None or keepdims:
        return g if axis is not None or keepdims else reshape(g, (1,) * len(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    axes = [ax % len(shape) for ax in axes]
    new = [1 if i in axes else n for i, n in enumerate(shape)]
    return reshape(g, tuple(new))


@primitive(T, "sum")
def _sum_fwd(a, axis=None, keepdims=False):
    return np.sum(a, axis=axis, keepdims=keepdims)


def _sum_vjp(g, ans, a, axis=None, keepdims=False):
    """Every entry of a receives g: g, with the summed axes restored, broadcast to a's shape."""
    if axis is None and type(g) is not Tensor:
        return np.broadcast_to(g, _shape(a))  # a full sum: g is a scalar
    return broadcast_to(_expand(g, _shape(a), axis, keepdims), _shape(a))


defvjp(_sum_fwd, _sum_vjp)


@primitive(T, "max")
def _max_fwd(a, axis=None, keepdims=False):
    return np.max(a, axis=axis, keepdims=keepdims)


def _max_vjp(g, ans, a, axis=None, keepdims=False):
    """The gradient goes to the entries equal to the max, shared equally between ties."""
    shape = _shape(a)
    top = np.reshape(_data(ans), np.shape(_expand(_data(ans), shape, axis, keepdims)))
    winners = _data(a) == top
    share = winners / winners.sum(axis=axis, keepdims=True)
    return _expand(g, shape, axis, keepdims) * share


defvjp(_max_fwd, _max_vjp)


@primitive(T, "logsumexp")
def _logsumexp_fwd(a, axis=None, keepdims=False):
    top = np.max(a, axis=axis, keepdims=True)
    out = top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


# d logsumexp(a)/da = softmax(a), computed from a - max(a) rather than as exp(a - ans): when
# the max is large, ans = max + log(sum) has lost the low digits that exp(a - ans) would need
defvjp(_logsumexp_fwd, lambda g, ans, a, axis=None, keepdims=False: _expand(
    g, _shape(a), axis, keepdims) * softmax(a, axis))  # fmt: skip


@primitive(T, "softmax")
def _softmax_fwd(a, axis=-1):
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


# the Jacobian of softmax along an axis is diag(s) - s s^T, so J^T g = s * (g - <g, s>)
defvjp(_softmax_fwd, lambda g, ans, a, axis=-1: ans * (g - sum(g * ans, axis=axis, keepdims=True)))

# -- shapes ----------------------------------------------------------------------------------
_reshape = defvjp(
    primitive(T, "reshape")(np.reshape), lambda g, ans, a, shape: reshape(g, _shape(a))
)
_transpose = defvjp(
    primitive(T, "transpose")(np.transpose),
    lambda g, ans, a, axes=None: transpose(g, None if axes is None else tuple(np.argsort(axes))),
)
_broadcast_to = defvjp(
    primitive(T, "broadcast_to")(np.broadcast_to),
    lambda g, ans, a, shape: g,  # the tape sums g back to a's shape
)


@primitive(T, "getitem")
def _getitem_fwd(a, index):
    return a[index]


@primitive(T, "index_add")
def _index_add_fwd(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, index, g)
    return out


defvjp(_getitem_fwd, lambda g, ans, a, index: apply(_index_add_fwd, g, index, _shape(a)))
defvjp(_index_add_fwd, lambda g, ans, h, index, shape: getitem(g, index))


# -- selection -------------------------------------------------------------------------------
@primitive(T, "where")
def _where_fwd(cond, a, b):
    return np.where(cond, a, b)


defvjp(
    _where_fwd,
    None,
    lambda g, ans, cond, a, b: where(cond, g, 0.0),
    lambda g, ans, cond, a, b: where(cond, 0.0, g),
)


@primitive(T, "maximum")
def _maximum_fwd(a, b):
    return np.maximum(a, b)


def _maximum_share(a, b):
    """1 where a wins, 1/2 on ties, 0 where b wins (so ties split the gradient evenly)."""
    a, b = _data(a), _data(b)
    return (a > b) + 0.5 * (a == b)


defvjp(
    _maximum_fwd,
    lambda g, ans, a, b: g * _maximum_share(a, b),
    lambda g, ans, a, b: g * _maximum_share(b, a),
)


# -- the public, dual functions ----------------------------------------------------------------
def add(a, b):
    return apply(_add, a, b)


def sub(a, b):
    return apply(_sub, a, b)


def mul(a, b):
    return apply(_mul, a, b)


def div(a, b):
    return apply(_div, a, b)


def neg(a):
    return apply(_neg, a)


def power(a, p):
    return apply(_power_fwd, a, p)


def matmul(a, b):
    return apply(_matmul, a, b)


def affine(W, A, b):
    """W @ A + b (b broadcast over the columns)."""
    return apply(_affine, W, A, b)


def exp(a):
    return apply(_exp, a)


def log(a):
    return apply(_log, a)


def tanh(a):
    return apply(_tanh, a)


def sigmoid(a):
    """1 / (1 + e^-a), a primitive whose VJP reuses its output: g * s (1 - s)."""
    return apply(_sigmoid, a)


def relu(a):
    """max(a, 0); its derivative is taken as 0 at 0."""
    return apply(_relu, a)


def softplus(a):
    """log(1 + e^a), computed without overflow."""
    return apply(_softplus, a)


def sum(a, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    return apply(_sum_fwd, a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    shape = _shape(a)
    axes = range(len(shape)) if axis is None else ((axis,) if np.isscalar(axis) else axis)
    count = int(np.prod([shape[ax] for ax in axes])) if shape else 1
    return sum(a, axis=axis, keepdims=keepdims) * (1.0 / count)


def max(a, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.max
    return apply(_max_fwd, a, axis=axis, keepdims=keepdims)


def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) along ``axis``, shifted by the max so that it never overflows."""
    return apply(_logsumexp_fwd, a, axis=axis, keepdims=keepdims)


def softmax(a, axis=-1):
    """exp(a) / sum(exp(a)) along ``axis``; its VJP reuses the output."""
    return apply(_softmax_fwd, a, axis=axis)


def reshape(a, shape):
    return apply(_reshape, a, tuple(shape) if not np.isscalar(shape) else (shape,))


def transpose(a, axes=None):
    return apply(_transpose, a, axes)


def broadcast_to(a, shape):
    return apply(_broadcast_to, a, tuple(shape))


def getitem(a, index):
    return apply(_getitem_fwd, a, index)


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``; ``cond`` is not differentiated."""
    return apply(_where_fwd, _data(cond), a, b)


def maximum(a, b):
    """The elementwise max; ties share the gradient equally."""
    return apply(_maximum_fwd, a, b)


# -- Tensor's operators and methods ----------------------------------------------------------
def _swap(f):
    return lambda self, other: f(other, self)


def _reshape_method(self, *shape):
    return reshape(self, shape[0] if len(shape) == 1 and not np.isscalar(shape[0]) else shape)


def _transpose_method(self, *axes):
    if len(axes) == 1 and not np.isscalar(axes[0]):
        axes = axes[0]
    return transpose(self, tuple(axes) if axes else None)


def _pow_method(self, p):
    return power(self, p)


_methods = {
    "__add__": add, "__radd__": _swap(add),
    "__sub__": sub, "__rsub__": _swap(sub),
    "__mul__": mul, "__rmul__": _swap(mul),
    "__truediv__": div, "__rtruediv__": _swap(div),
    "__matmul__": matmul, "__rmatmul__": _swap(matmul),
    "__pow__": _pow_method, "__rpow__": _swap(power),
    "__neg__": neg, "__getitem__": getitem,
    "exp": exp, "log": log, "tanh": tanh, "sigmoid": sigmoid, "relu": relu,
    "softplus": softplus, "sum": sum, "mean": mean, "max": max,
    "logsumexp": logsumexp, "softmax": softmax,
    "reshape": _reshape_method, "transpose": _transpose_method,
    "T": property(lambda self: transpose(self)),
}  # fmt: skip
for _name, _fn in _methods.items():
    setattr(Tensor, _name, _fn)
