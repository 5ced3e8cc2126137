"""Tensor primitives: each forward beside its vector-Jacobian product.

Every primitive here is the public function: it takes ndarrays, numbers or ``Tensor``s, returns
the raw NumPy result given no tensor and a tensor recorded on the tape given one. The VJPs use
these same functions, so they run on raw arrays in an ordinary backward pass and on tensors,
recording the backward pass itself, under ``create_graph=True``.

In each VJP ``g`` is dJ/d(output), ``ans`` the output, and the remaining arguments the inputs;
the result is dJ/d(that input) before any broadcasting is summed away (the tape does that). The
activations (sigmoid, tanh, relu, softplus, gelu, ...) are made from their registry entries in
``network.activations``, at the end of this module.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..network.activations import NUMPY_MATH, REGISTRY, Activation
from ..network.ops import affine as affine_kernel
from .pool import POOL
from .registry import definplace, defvjp, defvjp_argnum
from .tensor import Tensor, primitive

__all__ = [
    "add", "sub", "mul", "div", "neg", "power", "matmul", "affine",
    "exp", "expm1", "log", "sqrt", "sin", "cos", "abs",
    "sum", "mean", "max", "logsumexp", "softmax",
    "reshape", "transpose", "getitem", "broadcast_to", "concatenate", "stack",
    "where", "maximum", "minimum", "clip",
    "ACTIVATIONS", "MATH", *(name for name, act in REGISTRY.items() if act.elementwise),
]  # fmt: skip


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _shape(x):
    return np.shape(_data(x))


# -- arithmetic ------------------------------------------------------------------------------
add = defvjp(primitive(np.add, name="add"), lambda g, ans, a, b: g, lambda g, ans, a, b: g)
sub = defvjp(primitive(np.subtract, name="sub"), lambda g, ans, a, b: g, lambda g, ans, a, b: -g)
mul = defvjp(
    primitive(np.multiply, name="mul"),
    lambda g, ans, a, b: g * b,
    lambda g, ans, a, b: g * a,
)
div = defvjp(
    primitive(np.true_divide, name="div"),
    lambda g, ans, a, b: g / b,
    lambda g, ans, a, b: -g * ans / b,  # d(a/b)/db = -a/b^2 = -ans/b
)
neg = defvjp(primitive(np.negative, name="neg"), lambda g, ans, a: -g)
power = defvjp(
    primitive(np.power, name="power"),
    lambda g, ans, a, p: g * p * a ** (p - 1),  # d(a^p)/da = p a^(p-1)
    lambda g, ans, a, p: g * ans * log(a),  # d(a^p)/dp = a^p log a
)


def _product_out(a: np.ndarray, b: np.ndarray, rows: int, cols: int):
    """``out=`` for the (rows, cols) matrix product of float arrays a and b: from the pool
    when it is large enough for the pool (``POOL.out``), else None."""
    dtype = a.dtype if a.dtype == b.dtype else np.result_type(a, b)
    if dtype.kind != "f" or rows * cols * dtype.itemsize < POOL.min_bytes or not POOL.enabled:
        return None
    return POOL.take((rows, cols), dtype)


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D float arrays, written into an array from the pool when it is large.

    When the summed dimension has length 1 (a layer of one unit: W_L^T dZ_L), each entry is a
    single product a_i b_j, and the elementwise product of a column by a row computes it
    several times faster than a matrix product, whose kernels are tuned for long sums. The bits
    are the same: a product of two numbers is rounded once either way, and the matrix product
    adds it to a zero, which the ``+= 0`` repeats (it turns a product -0 into +0, and changes
    nothing else).
    """
    out = _product_out(a, b, a.shape[0], b.shape[1])
    if a.shape[1] == 1 and a.dtype == b.dtype and a.dtype.kind == "f":
        out = np.multiply(a, b, out=out)
        out += 0.0
        return out
    return np.matmul(a, b, out=out)


def _matmul_vjp_a(g, ans, a, b):
    """d(a @ b)/da contracted with g: g @ b^T (outer products for 1-D operands)."""
    if type(g) is np.ndarray and type(b) is np.ndarray and g.ndim == b.ndim == 2:
        return _product(g, b.T)  # the common case, without the primitives' dispatch
    a, b = _operand(a), _operand(b)
    if _data(b).ndim == 1:
        return g[..., None] * b if _data(a).ndim > 1 else g * b
    if _data(a).ndim == 1:
        return matmul(b, g)
    return matmul(g, transpose(b, _swap_last(_data(b).ndim)))


def _matmul_vjp_b(g, ans, a, b):
    """d(a @ b)/db contracted with g: a^T @ g (outer products for 1-D operands)."""
    if type(g) is np.ndarray and type(a) is np.ndarray and g.ndim == a.ndim == 2:
        return _product(a.T, g)
    a, b = _operand(a), _operand(b)
    if _data(a).ndim == 1:
        return a[:, None] * g[..., None, :] if _data(b).ndim > 1 else g * a
    if _data(b).ndim == 1:
        return matmul(g, a)
    return matmul(transpose(a, _swap_last(_data(a).ndim)), g)


def _operand(x):
    """A matrix product's operand as its VJPs read it: a Tensor, or an array (a constant given
    as nested lists, ``[[1.0, 2.0]] @ t``, becomes one)."""
    return x if isinstance(x, Tensor) else np.asarray(x)


def _swap_last(ndim: int) -> tuple:
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)


matmul = defvjp(primitive(np.matmul, name="matmul"), _matmul_vjp_a, _matmul_vjp_b)


def _affine_forward(W, A, b):
    """``network.ops.affine``, with Z written into an array from the engine's pool."""
    out = None
    if type(W) is np.ndarray and type(A) is np.ndarray and W.ndim == A.ndim == 2:
        out = _product_out(W, A, W.shape[0], A.shape[1])
    return affine_kernel(W, A, b, out=out)


def _affine_vjp_b(g, ans, W, A, b):
    """dJ/db = g summed over the columns: for a bias column b (n, 1) it is done here, in one
    reduction (the tape's general ``sum_to_shape`` would do the same sum, with more steps);
    for any other shape of b the tape sums g back to it."""
    if type(g) is np.ndarray and type(b) is np.ndarray and b.ndim == g.ndim == 2:
        if b.shape[1] == 1 and g.shape[1] != 1 and b.shape[0] == g.shape[0]:
            return np.add.reduce(g, axis=1, keepdims=True)
    return g


def _affine_vjp_W(g, ans, W, A, b):
    """dJ/dW = g A^T, as for W @ A."""
    return _matmul_vjp_a(g, ans, W, A)


def _affine_vjp_A(g, ans, W, A, b):
    """dJ/dA = W^T g, as for W @ A."""
    return _matmul_vjp_b(g, ans, W, A)


# a layer's pre-activation W @ A + b in one node (and one new array), like PyTorch's addmm
affine = defvjp(
    primitive(_affine_forward, name="affine"), _affine_vjp_W, _affine_vjp_A, _affine_vjp_b
)

# -- elementwise functions -------------------------------------------------------------------
exp = defvjp(primitive(np.exp, name="exp"), lambda g, ans, a: g * ans)
expm1 = defvjp(primitive(np.expm1, name="expm1"), lambda g, ans, a: g * (ans + 1))
log = defvjp(primitive(np.log, name="log"), lambda g, ans, a: g / a)
sqrt = defvjp(primitive(np.sqrt, name="sqrt"), lambda g, ans, a: g * 0.5 / ans)
sin = defvjp(primitive(np.sin, name="sin"), lambda g, ans, a: g * cos(a))
cos = defvjp(primitive(np.cos, name="cos"), lambda g, ans, a: -(g * sin(a)))
# |a|' = sign(a), taken as 0 at 0
abs = defvjp(primitive(np.absolute, name="abs"), lambda g, ans, a: g * np.sign(_data(a)))  # noqa: A001


# -- reductions ------------------------------------------------------------------------------
def _expand(g, shape, axis, keepdims):
    """Undo a reduction's dropped axes on g so that it broadcasts against ``shape``."""
    if axis is None or keepdims:
        return g if axis is not None or keepdims else reshape(g, (1,) * len(shape))
    axes = (axis,) if np.isscalar(axis) else axis
    axes = [ax % len(shape) for ax in axes]
    new = [1 if i in axes else n for i, n in enumerate(shape)]
    return reshape(g, tuple(new))


@primitive
def sum(a, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.sum
    if type(a) is np.ndarray:  # numpy.sum's own reduction, without its Python wrapper
        return np.add.reduce(a, axis=axis, keepdims=keepdims)
    return np.sum(a, axis=axis, keepdims=keepdims)


def _sum_vjp(g, ans, a, axis=None, keepdims=False):
    """Every entry of a receives g: g, with the summed axes restored, broadcast to a's shape."""
    if axis is None and not keepdims and type(g) is not Tensor:  # a full sum: g is a scalar
        full = np.empty(_shape(a), dtype=np.result_type(g))
        full.fill(g)
        return full
    return broadcast_to(_expand(g, _shape(a), axis, keepdims), _shape(a))


defvjp(sum, _sum_vjp)


def mean(a, axis=None, keepdims=False):
    """The sum over ``axis`` times 1/count (two nodes: the sum and the scaling)."""
    shape = _shape(a)
    axes = range(len(shape)) if axis is None else ((axis,) if np.isscalar(axis) else axis)
    count = int(np.prod([shape[ax] for ax in axes])) if shape else 1
    return sum(a, axis=axis, keepdims=keepdims) * (1.0 / count)


@primitive
def max(a, axis=None, keepdims=False):  # noqa: A001 - mirrors numpy.max
    return np.max(a, axis=axis, keepdims=keepdims)


def _max_vjp(g, ans, a, axis=None, keepdims=False):
    """The gradient goes to the entries equal to the max, shared equally between ties."""
    shape = _shape(a)
    top = np.reshape(_data(ans), np.shape(_expand(_data(ans), shape, axis, keepdims)))
    winners = _data(a) == top
    share = winners / winners.sum(axis=axis, keepdims=True)
    return _expand(g, shape, axis, keepdims) * share


defvjp(max, _max_vjp)


@primitive
def logsumexp(a, axis=None, keepdims=False):
    """log(sum(exp(a))) along ``axis``, shifted by the max so that it never overflows."""
    top = np.max(a, axis=axis, keepdims=True)
    out = top + np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


# d logsumexp(a)/da = softmax(a), computed from a - max(a) rather than as exp(a - ans): when
# the max is large, ans = max + log(sum) has lost the low digits that exp(a - ans) would need
defvjp(logsumexp, lambda g, ans, a, axis=None, keepdims=False: _expand(
    g, _shape(a), axis, keepdims) * softmax(a, axis))  # fmt: skip


@primitive(name="softmax_axis")  # "softmax" is the network's activation, down the columns
def softmax(a, axis=-1):
    """exp(a) / sum(exp(a)) along ``axis``; its VJP reuses the output."""
    e = np.exp(a - np.max(a, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


# the Jacobian of softmax along an axis is diag(s) - s s^T, so J^T g = s * (g - <g, s>)
defvjp(softmax, lambda g, ans, a, axis=-1: ans * (g - sum(g * ans, axis=axis, keepdims=True)))

# -- shapes ----------------------------------------------------------------------------------
_reshape = defvjp(
    primitive(np.reshape, name="reshape"), lambda g, ans, a, shape: reshape(g, _shape(a))
)
transpose = defvjp(
    primitive(np.transpose, name="transpose"),
    lambda g, ans, a, axes=None: transpose(g, None if axes is None else tuple(np.argsort(axes))),
)
_broadcast_to = defvjp(
    primitive(np.broadcast_to, name="broadcast_to"),
    lambda g, ans, a, shape: g,  # the tape sums g back to a's shape
)


def reshape(a, shape):
    """``a`` with the shape ``shape`` (a tuple, or one number)."""
    return _reshape(a, tuple(shape) if not np.isscalar(shape) else (shape,))


def broadcast_to(a, shape):
    return _broadcast_to(a, tuple(shape))


@primitive(name="concatenate")
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


def _concatenate_vjp(i, g, ans, *arrays, axis=0):
    """Argument i receives its own slice of g along ``axis``."""
    sizes = [np.shape(_data(a))[axis] for a in arrays]
    start = int(np.sum(sizes[:i]))
    index = [slice(None)] * np.ndim(_data(ans))
    index[axis] = slice(start, start + sizes[i])
    return getitem(g, tuple(index))


defvjp_argnum(_concatenate, _concatenate_vjp)


def concatenate(arrays, axis=0):
    """The arrays (tensors or not) joined along an existing ``axis``."""
    return _concatenate(*arrays, axis=axis)


@primitive(name="stack")
def _stack(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


def _stack_vjp(i, g, ans, *arrays, axis=0):
    """Argument i receives entry i of g along the new ``axis``."""
    index = [slice(None)] * np.ndim(_data(ans))
    index[axis] = i
    return getitem(g, tuple(index))


defvjp_argnum(_stack, _stack_vjp)


def stack(arrays, axis=0):
    """The arrays (tensors or not, of one shape) stacked along a new ``axis``."""
    return _stack(*arrays, axis=axis)


@primitive
def getitem(a, index):
    return a[index]


@primitive
def index_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, index, g)
    return out


defvjp(getitem, lambda g, ans, a, index: index_add(g, index, _shape(a)))
defvjp(index_add, lambda g, ans, h, index, shape: getitem(g, index))


# -- selection -------------------------------------------------------------------------------
@primitive(name="where")
def _where(cond, a, b):
    return np.where(cond, a, b)


defvjp(
    _where,
    None,
    lambda g, ans, cond, a, b: where(cond, g, 0.0),
    lambda g, ans, cond, a, b: where(cond, 0.0, g),
)


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``; ``cond`` (an array, or a tensor's data) is not
    differentiated."""
    return _where(_data(cond), a, b)


@primitive
def maximum(a, b):
    """The elementwise max; ties share the gradient equally."""
    return np.maximum(a, b)


def _maximum_share(a, b):
    """1 where a wins, 1/2 on ties, 0 where b wins (so ties split the gradient evenly)."""
    a, b = _data(a), _data(b)
    return (a > b) + 0.5 * (a == b)


defvjp(
    maximum,
    lambda g, ans, a, b: g * _maximum_share(a, b),
    lambda g, ans, a, b: g * _maximum_share(b, a),
)


@primitive
def minimum(a, b):
    """The elementwise min; ties share the gradient equally."""
    return np.minimum(a, b)


defvjp(
    minimum,
    lambda g, ans, a, b: g * _maximum_share(b, a),
    lambda g, ans, a, b: g * _maximum_share(a, b),
)


@primitive
def clip(a, lo, hi):
    """``a`` held between ``lo`` and ``hi`` (numbers or arrays, not differentiated)."""
    return np.clip(a, lo, hi)


# the gradient passes where a is strictly inside; at a bound it is 0, as in HIPS autograd
defvjp(clip, lambda g, ans, a, lo, hi: g * ((_data(a) > lo) & (_data(a) < hi)), None, None)


# -- the activations, from their registry entries ------------------------------------------------
def _pooled(kernel):
    """An activation's kernel writing its output into an array from the engine's pool (the
    identity, whose kernel returns its input, is left as it is)."""
    probe = np.zeros((1, 1))
    if kernel(probe) is probe:
        return kernel

    def forward(z):
        out = None
        if type(z) is np.ndarray and z.nbytes >= POOL.min_bytes and z.dtype.kind == "f":
            out = POOL.take(z.shape, z.dtype) if POOL.enabled else None
        return kernel(z, out=out)

    forward.__name__ = getattr(kernel, "__name__", "forward")
    forward.__doc__ = kernel.__doc__
    return forward


def _activation_primitive(act: Activation):
    """The primitive of one activation: its NumPy kernel forward, its registry VJP with x = the
    output or the input as declared, and its in-place NumPy kernel if it has one.

    The VJP runs on ``MATH`` (these primitives) when it is given tensors, to be recorded, and
    on ``NUMPY_MATH`` when it is given arrays: the same functions, computing the same bits,
    without the primitives' dispatch."""
    vjp, from_output = act.vjp, act.from_output

    if from_output:

        def activation_vjp(g, ans, a):
            return vjp(g, ans, MATH if type(g) is Tensor else NUMPY_MATH)
    else:

        def activation_vjp(g, ans, a):
            return vjp(g, a, MATH if type(g) is Tensor else NUMPY_MATH)

    prim = defvjp(primitive(_pooled(act.kernel), name=act.name), activation_vjp)
    if act.backward is not None:
        backward = act.backward

        def inplace_vjp(g, ans, a, g_owned, ans_owned):
            if from_output:
                return backward(g, ans, g_owned, ans_owned)
            return backward(g, a, g_owned, False)  # the input is not the tape's to overwrite

        definplace(prim, inplace_vjp)
    return prim


ACTIVATIONS = {name: _activation_primitive(act) for name, act in REGISTRY.items()}
"""One primitive per registered activation, by name."""
MATH = SimpleNamespace(
    exp=exp,
    expm1=expm1,
    tanh=ACTIVATIONS["tanh"],
    sigmoid=ACTIVATIONS["sigmoid"],
    softplus=ACTIVATIONS["softplus"],
    where=where,
    positive=lambda x: _data(x) > 0,
    sum=sum,
    logsumexp=lambda x: logsumexp(x, axis=-2, keepdims=True),
)
"""The math namespace (``network.activations.MATH_FUNCTIONS``) over these primitives: what the
activations' VJPs run on, on raw arrays and on tensors alike."""


def _method(prim):
    def method(self):
        return prim(self)

    method.__name__ = prim.name
    return method


# an elementwise activation is also a function of this module and a method of Tensor; softmax
# stays ``ACTIVATIONS["softmax"]``, beside the ``softmax(a, axis)`` above
ELEMENTWISE = {name: ACTIVATIONS[name] for name, act in REGISTRY.items() if act.elementwise}
for _name, _prim in ELEMENTWISE.items():
    globals()[_name] = _prim
    setattr(Tensor, _name, _method(_prim))


# -- NumPy's functions on tensors (Tensor.__array_ufunc__ and __array_function__) --------------
UFUNCS = {
    np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.negative: neg,
    np.power: power, np.matmul: matmul, np.exp: exp, np.expm1: expm1, np.log: log,
    np.sqrt: sqrt, np.sin: sin, np.cos: cos, np.absolute: abs, np.tanh: ACTIVATIONS["tanh"],
    np.maximum: maximum, np.minimum: minimum,
}  # fmt: skip
"""The ufuncs a Tensor answers with a primitive."""

_COMPARISONS = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal}


def _metadata(f):
    return lambda a, *args, **kwargs: f(_data(a), *args, **kwargs)


FUNCTIONS = {
    np.sum: sum, np.mean: mean, np.max: max, np.amax: max, np.reshape: reshape,
    np.transpose: transpose, np.where: where, np.concatenate: concatenate, np.stack: stack,
    np.clip: clip, np.broadcast_to: broadcast_to, np.dot: matmul,
    np.shape: _metadata(np.shape), np.ndim: _metadata(np.ndim), np.size: _metadata(np.size),
}  # fmt: skip
"""The NumPy functions a Tensor answers: primitives (recorded) or, for its shape, plain numbers."""


def array_ufunc(ufunc, method: str, inputs: tuple, kwargs: dict):
    """What ``Tensor.__array_ufunc__`` does: the ufunc's primitive on the inputs, or raw
    booleans for a comparison; a TypeError for anything the tape could not record."""
    if method == "__call__" and not kwargs:
        if ufunc in UFUNCS:
            return UFUNCS[ufunc](*inputs)
        if ufunc in _COMPARISONS:
            return ufunc(*[_data(x) for x in inputs])
    extra = f" with {sorted(kwargs)}" if kwargs else "" if method == "__call__" else f".{method}"
    raise TypeError(
        f"numpy.{ufunc.__name__}{extra} on a Tensor is not recorded on the tape; use one of "
        f"{sorted(u.__name__ for u in UFUNCS)} (without out=, where=), or apply it to t.data"
    )


def array_function(func, args: tuple, kwargs: dict):
    """What ``Tensor.__array_function__`` does: the function's primitive, or a TypeError."""
    if func in FUNCTIONS:
        if func is np.clip and "a_min" in kwargs:  # numpy's own names for the bounds
            kwargs = {"lo": kwargs.pop("a_min"), "hi": kwargs.pop("a_max", None), **kwargs}
        return FUNCTIONS[func](*args, **kwargs)
    raise TypeError(
        f"numpy.{func.__name__} on a Tensor is not recorded on the tape; use one of "
        f"{sorted(f.__name__ for f in FUNCTIONS)}, or apply it to t.data"
    )
