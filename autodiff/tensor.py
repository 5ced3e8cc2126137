"""Tensor: an ndarray that records the operations applied to it, PyTorch style.

``Tensor(data, requires_grad=False)``; ``.data`` is the ndarray, ``.grad`` the accumulated
gradient (an ndarray of the same shape, or None), ``.backward(gradient=None)`` runs reverse mode
from this tensor. Operations on tensors are primitives (``autodiff.primitives``): ``primitive``
below makes one, and calling it runs ``apply``, which records a node only when an argument
requires a gradient and recording is on; ``autodiff.tape.backpropagate`` runs the chain rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .registry import TENSOR_PRIMITIVES, Primitive, register
from .tape import RECORDING, backpropagate, next_stamp

__all__ = ["Tensor", "TensorPrimitive", "primitive", "apply", "grads_of"]


class Tensor:
    """An ndarray with a gradient. Integers and booleans are stored as float64."""

    __slots__ = (
        "data", "grad", "requires_grad", "name", "_prim", "_args", "_raw", "_kw", "_seq",
        "__weakref__",
    )  # fmt: skip
    __array_priority__ = 1000  # for code that asks the old way; __array_ufunc__ decides now

    # -- NumPy's functions on a Tensor: recorded as primitives, or refused ------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(t)``, ``np.add(a, t)``, ``a + t`` for an ndarray ``a``: the primitive of the
        same name (a Tensor); comparisons give boolean arrays; anything else a TypeError."""
        return _p.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(t)``, ``np.concatenate([t, a])``, ...: the primitive (a Tensor), the shape
        for ``np.shape``/``np.ndim``/``np.size``; anything else a TypeError."""
        return _p.array_function(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(
                "a Tensor that requires a gradient cannot become an ndarray (the operation "
                "would not be recorded); use t.data, or t.detach() for a copy off the graph"
            )
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str = ""):
        arr = data
        if type(arr) is not np.ndarray or dtype is not None or arr.dtype.kind not in "fc":
            arr = _numeric_array(data, dtype)  # a float array is taken as it is
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad must be True or False, got {requires_grad!r}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._prim = None
        self._args = ()
        self._raw = None
        self._kw = None
        self._seq = next_stamp()
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, got {type(name).__name__} {name!r}")
        self.name = name  # what drawings call this tensor

    # -- plain properties -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)

    @property
    def is_leaf(self) -> bool:
        return self._prim is None

    @property
    def op(self) -> str:
        """The name of the primitive that made this tensor ('' for a leaf)."""
        return "" if self._prim is None else self._prim.name

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, prefix="Tensor(")
        extra = f", op={self.op}" if self._prim is not None else ""
        extra += ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __float__(self) -> float:
        return float(self.data)

    def detach(self) -> Tensor:
        """The same data, cut off from the graph (no copy)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    # comparisons give plain boolean arrays: they are not differentiable
    def __lt__(self, other):
        return self.data < _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)

    __hash__ = object.__hash__

    # -- arithmetic: each operator is a primitive of ``autodiff.primitives`` ----------------------
    def __add__(self, other):
        return _p.add(self, other)

    def __radd__(self, other):
        return _p.add(other, self)

    def __sub__(self, other):
        return _p.sub(self, other)

    def __rsub__(self, other):
        return _p.sub(other, self)

    def __mul__(self, other):
        return _p.mul(self, other)

    def __rmul__(self, other):
        return _p.mul(other, self)

    def __truediv__(self, other):
        return _p.div(self, other)

    def __rtruediv__(self, other):
        return _p.div(other, self)

    def __matmul__(self, other):
        return _p.matmul(self, other)

    def __rmatmul__(self, other):
        return _p.matmul(other, self)

    def __pow__(self, p):
        return _p.power(self, p)

    def __rpow__(self, base):
        return _p.power(base, self)

    def __neg__(self):
        return _p.neg(self)

    def __getitem__(self, index):
        return _p.getitem(self, index)

    # -- functions as methods (the activations' methods are added from the registry) -----------
    def exp(self):
        return _p.exp(self)

    def log(self):
        return _p.log(self)

    def sum(self, axis=None, keepdims=False):
        return _p.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _p.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _p.max(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return _p.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis=-1):
        return _p.softmax(self, axis=axis)

    def reshape(self, *shape):
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``."""
        one = len(shape) == 1 and not np.isscalar(shape[0])
        return _p.reshape(self, shape[0] if one else shape)

    def transpose(self, *axes):
        """``t.transpose()`` reverses the axes; ``t.transpose(1, 0, 2)`` or ``((1, 0, 2))``."""
        if len(axes) == 1 and not np.isscalar(axes[0]):
            axes = axes[0]
        return _p.transpose(self, tuple(axes)) if axes else _p.transpose(self)  # drawn as .T

    @property
    def T(self):
        return _p.transpose(self)

    # -- reverse mode -----------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
        """Accumulate d(self)/d(leaf), contracted with ``gradient``, into every leaf's ``.grad``.

        ``gradient`` defaults to 1 for a tensor with one element. With ``create_graph=True`` the
        backward pass is itself recorded and the leaves' ``.grad`` are tensors that can be
        differentiated again. Unless ``retain_graph`` (or ``create_graph``) is set, the graph is
        released afterwards, so a second backward through it raises; its arrays are freed, but
        its structure stays, with every node's value and gradient, for ``to_dot`` and ``draw``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() needs a tensor that requires a gradient: create a leaf with "
                "Tensor(data, requires_grad=True) and compute from it"
            )
        if gradient is None:
            if self.data.size != 1:
                raise ValueError(
                    f"gradient must be given for a tensor of shape {self.shape}; it can be "
                    "left out only for a tensor with one element"
                )
            gradient = np.ones_like(self.data)
        else:
            gradient = np.asarray(_raw(gradient), dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(
                    f"gradient must have the shape of the tensor {self.shape}, got {gradient.shape}"
                )
        seed = Tensor(gradient) if create_graph else gradient
        release = not (retain_graph or create_graph)
        grads = backpropagate(self, seed, create_graph, release, keep_skeleton=release)
        for leaf, g in grads.items():
            if not create_graph and not g.flags.writeable:
                g = g.copy()
            leaf.grad = g if leaf.grad is None else leaf.grad + g


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _numeric_array(data, dtype) -> np.ndarray:
    """``data`` (a Tensor's data, an array, nested lists, a number) as a float or complex array;
    integers and booleans become float64."""
    if isinstance(data, Tensor):
        data = data.data
    arr = np.asarray(data, dtype=dtype)
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind not in "fc":
        raise TypeError(f"data must be numeric, got an array of dtype {arr.dtype}")
    return arr


def apply(prim: Primitive, *args, **kw):
    """Run ``prim`` on the raw data of ``args``. If no argument is a Tensor, return the raw
    result; otherwise a Tensor, recorded on the tape when an argument requires a gradient.

    A recorded node keeps its arguments (``_args``: where the gradients go, and what drawings
    show) and the raw values its forward was given (``_raw``: what its VJPs are called with),
    so that the backward pass does not unwrap them a second time."""
    raw = []
    keep = raw.append
    is_tensor = tracked = False
    for a in args:
        if type(a) is Tensor:
            keep(a.data)
            is_tensor = True
            if a.requires_grad:
                tracked = True
        else:
            keep(a)
    out = prim.forward(*raw, **kw)
    if not is_tensor:
        return out
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if out.dtype.hasobject:
        raise TypeError(
            f"{prim.name} got an argument that is neither a number, an array nor a Tensor "
            f"(such as a Value): {', '.join(type(a).__name__ for a in args)}"
        )
    t = _new_tensor(Tensor)
    t.data, t.grad, t.name, t._seq = out, None, "", next_stamp()
    if tracked and RECORDING.enabled:
        t.requires_grad = True
        t._prim, t._args, t._raw, t._kw = prim, args, raw, kw
    else:
        t.requires_grad = False
        t._prim, t._args, t._raw, t._kw = None, (), None, None
    return t


_new_tensor = Tensor.__new__


class TensorPrimitive(Primitive):
    """A primitive on arrays: called, it runs ``apply`` (raw in, raw out; a tensor in, a tensor
    out, recorded when it should be)."""

    __slots__ = ()
    __call__ = apply


def primitive(forward: Callable | None = None, *, name: str | None = None):
    """Make ``forward`` (a function on ndarrays) a differentiable operation on tensors, and
    register it under ``name`` (default: the function's name); returns the callable primitive.

    Usable as a decorator, ``@primitive`` or ``@primitive(name="cube")``; give it its
    derivatives with ``defvjp(prim, vjp_0, vjp_1, ...)`` (contract: ``autodiff.registry``).
    """
    if forward is None:
        return lambda f: primitive(f, name=name)
    if not callable(forward):
        raise TypeError(f"primitive needs a function, got {type(forward).__name__}")
    return register(TENSOR_PRIMITIVES, TensorPrimitive(name or forward.__name__, forward))


def grads_of(output: Tensor, inputs, *, create_graph: bool = False, seed=None) -> list:
    """d(output)/d(input) for each input, without touching any ``.grad`` (for the functional
    API). Inputs the output does not depend on get zeros."""
    if seed is None:
        seed = np.ones_like(output.data)
    if create_graph:
        seed = Tensor(seed)
    grads = backpropagate(output, seed, create_graph, release=not create_graph)
    out = []
    for x in inputs:
        g = grads.get(x)
        if g is None:
            g = np.zeros_like(x.data)
            if create_graph:
                g = Tensor(g)
        out.append(g)
    return out


# The primitives need the Tensor class, and Tensor's operators need the primitives: they are
# imported last, once Tensor exists, and looked up when an operator runs.
from . import primitives as _p  # noqa: E402
