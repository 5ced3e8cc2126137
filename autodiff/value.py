"""Value: a scalar that records the operations applied to it (micrograd's surface, on a tape).

``Value(data)`` has ``.data`` and ``.grad``; ``+ - * /`` with numbers on either side, ``**`` by
a number, unary ``-``, ``.exp()``, ``.log()`` and one method per elementwise activation of the
registry (``.relu()``, ``.tanh()``, ``.sigmoid()``, ``.softplus()``, ``.gelu()``, ...) record a
node; ``.backward()`` fills ``.grad`` of every node the result depends on, as micrograd does
(leaves accumulate over calls).

Unlike micrograd, a node keeps no closure: it holds its primitive (from the scalar registry),
its arguments and its tape stamp in ``__slots__``, so nodes form no reference cycles and the
garbage collector has little to do; and backward walks the tape instead of recursing, so a chain
of a million operations is fine. Numbers mixed into an operation are kept as constants rather
than wrapped in new nodes. Scalar primitives follow the same VJP contract as tensor ones
(``autodiff.registry``): one VJP per argument.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from operator import add, attrgetter, mul, neg, sub, truediv
from types import SimpleNamespace

from ..network.activations import REGISTRY, Activation
from .registry import SCALAR_PRIMITIVES, Primitive, defvjp, register
from .tape import next_stamp, reverse_tape

__all__ = ["Value", "scalar_primitive", "SCALAR_ACTIVATIONS", "MATH", "exp", "expm1", "log"]


def _raw(x):
    return x.data if type(x) is Value else x


def _record(prim, data, a, b=None):
    """A new node: ``prim``'s output ``data``, computed from ``a`` (and ``b``, for a binary
    primitive; None marks a unary one)."""
    out = Value.__new__(Value)
    out.data = data
    out.grad = 0.0
    out._prim = prim
    out._a = a
    out._b = b
    out._seq = next_stamp()
    return out


class ScalarPrimitive(Primitive):
    """A primitive on Python floats: called on numbers it returns a number; called with a
    ``Value`` among its arguments it records a node."""

    __slots__ = ()

    def __call__(self, *args):
        if not any(type(a) is Value for a in args):
            return self.forward(*args)
        if len(args) > 2:
            raise TypeError(
                f"scalar primitive {self.name!r}: a Value node holds one or two arguments, "
                f"got {len(args)}"
            )
        return _record(self, self.forward(*[_raw(a) for a in args]), *args)


def scalar_primitive(forward: Callable, *, name: str | None = None) -> ScalarPrimitive:
    """Make ``forward`` (a function on floats) a differentiable operation on ``Value``s and
    register it; returns the callable primitive (give it VJPs with ``defvjp``)."""
    return register(SCALAR_PRIMITIVES, ScalarPrimitive(name or forward.__name__, forward))


# -- the primitives of arithmetic: forward on floats, one VJP per argument -----------------------
ADD = defvjp(scalar_primitive(add, name="+"), lambda g, ans, a, b: g, lambda g, ans, a, b: g)
SUB = defvjp(scalar_primitive(sub, name="-"), lambda g, ans, a, b: g, lambda g, ans, a, b: -g)
MUL = defvjp(
    scalar_primitive(mul, name="*"), lambda g, ans, a, b: g * b, lambda g, ans, a, b: g * a
)
DIV = defvjp(
    scalar_primitive(truediv, name="/"),
    lambda g, ans, a, b: g / b,
    lambda g, ans, a, b: -g * ans / b,  # d(a/b)/db = -a/b^2 = -ans/b
)
POW = defvjp(
    scalar_primitive(lambda a, p: a**p, name="**"),
    lambda g, ans, a, p: g * p * a ** (p - 1),
    None,  # the exponent is a number, not differentiated
)
NEG = defvjp(scalar_primitive(neg, name="neg"), lambda g, ans, a: -g)
exp = defvjp(scalar_primitive(math.exp, name="exp"), lambda g, ans, a: g * ans)
expm1 = defvjp(scalar_primitive(math.expm1, name="expm1"), lambda g, ans, a: g * (ans + 1))
log = defvjp(scalar_primitive(math.log, name="log"), lambda g, ans, a: g / a)


def _is_number(x) -> bool:
    """A constant a Value may meet: a real number (NumPy's too), not an array or a Tensor."""
    if isinstance(x, numbers.Real):
        return True
    if hasattr(x, "shape") or hasattr(x, "__array__"):
        raise TypeError(
            f"a Value combines with numbers and Values only, got {type(x).__name__}: for "
            "arrays use Tensor, or an object array of Values (np.frompyfunc(Value, 1, 1))"
        )
    return False


def _binary_method(prim: Primitive, reflected: bool = False):
    """``Value.__op__`` (or ``__rop__``) for a binary primitive: one call per node recorded."""
    forward = prim.forward

    def method(self, other):
        if type(other) is Value:
            o = other.data
        elif type(other) is float or _is_number(other):
            o = other
        else:
            return NotImplemented
        out = Value.__new__(Value)
        if reflected:
            out.data = forward(o, self.data)
            out._a, out._b = other, self
        else:
            out.data = forward(self.data, o)
            out._a, out._b = self, other
        out.grad = 0.0
        out._prim = prim
        out._seq = next_stamp()
        return out

    return method


def _unary_method(prim: Primitive):
    """``Value.op()`` for a unary primitive."""
    forward = prim.forward

    def method(self):
        return _record(prim, forward(self.data), self)

    method.__name__ = prim.name
    return method


class Value:
    """A scalar node of the graph."""

    # the one or two arguments live in two slots rather than a tuple: a tuple per node would
    # double the objects the garbage collector tracks, and its collections would cost more than
    # the arithmetic (``autodiff.tape.reverse_tape`` reads the slots directly)
    __slots__ = ("data", "grad", "_prim", "_a", "_b", "_seq", "_label")
    requires_grad = True  # every Value takes part in differentiation

    def __init__(self, data, _children=(), _op="", label: str = ""):
        # _children and _op are accepted for micrograd compatibility and ignored: only
        # operations record nodes
        if isinstance(data, Value):
            data = data.data
        self.data = data
        self.grad = 0.0
        self._prim = None
        self._a = self._b = None
        self._seq = next_stamp()
        if label:
            self.label = label

    @property
    def label(self) -> str:
        """The name drawings show for this node ('' when none was given)."""
        return getattr(self, "_label", "")  # unset on recorded nodes until someone names them

    @label.setter
    def label(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"label must be a string, got {type(text).__name__} {text!r}")
        self._label = text

    @property
    def _args(self) -> tuple:
        """The arguments of the operation that made this node: Values or number constants."""
        if self._prim is None:
            return ()
        return (self._a,) if self._b is None else (self._a, self._b)

    _walk_args = attrgetter("_a", "_b")  # for the tape's walk: a tuple without a Python call

    # micrograd's view of the graph
    @property
    def _prev(self) -> set:
        return {a for a in self._args if type(a) is Value}

    @property
    def _op(self) -> str:
        return "" if self._prim is None else self._prim.name

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- recording ------------------------------------------------------------------------------
    __add__ = _binary_method(ADD)
    __radd__ = _binary_method(ADD, reflected=True)
    __sub__ = _binary_method(SUB)
    __rsub__ = _binary_method(SUB, reflected=True)
    __mul__ = _binary_method(MUL)
    __rmul__ = _binary_method(MUL, reflected=True)
    __truediv__ = _binary_method(DIV)
    __rtruediv__ = _binary_method(DIV, reflected=True)
    __neg__ = _unary_method(NEG)
    exp = _unary_method(exp)
    expm1 = _unary_method(expm1)
    log = _unary_method(log)
    # the activations' methods (.relu(), .tanh(), ...) are added from the registry below

    def __pow__(self, p):
        if isinstance(p, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number")
        return _record(POW, POW.forward(self.data, p), self, p)

    # comparisons look at the data only (used to pick a branch, never differentiated)
    def __lt__(self, other):
        return self.data < _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)

    __hash__ = object.__hash__

    def __float__(self) -> float:
        return float(self.data)

    # -- reverse mode ---------------------------------------------------------------------------
    def backward(self, create_graph: bool = False):
        """Set ``self.grad = 1`` and d(self)/d(node) as ``.grad`` of every node ``self`` depends
        on, walking the tape from the latest node to the earliest. Leaves (Values made by the
        user) accumulate over calls, as in micrograd; intermediate nodes start from zero.

        With ``create_graph=True`` the gradients are themselves Values recorded on the tape, so
        they can be differentiated again.
        """
        nodes, _ = reverse_tape(self)
        for node in nodes:
            node.grad = 0.0  # an intermediate's gradient belongs to this backward pass alone
        if create_graph:
            self.grad = Value(1.0)
            _chain_recording(nodes)
        else:
            self.grad = 1.0
            _chain(nodes)


def _chain(nodes: list) -> None:
    """The chain rule over ``nodes`` (latest first) on floats: each node's VJPs, one per
    argument that is a Value, add into that argument's ``.grad``. The inner loop of scalar mode,
    so written out for one and two arguments."""
    for node in nodes:
        a, b, vjps, g, ans = node._a, node._b, node._prim.vjps, node.grad, node.data
        if b is None:  # a unary operation: its argument is a Value
            a.grad += vjps[0](g, ans, a.data)
            continue
        if type(a) is Value:
            if type(b) is Value:
                av, bv = a.data, b.data
                a.grad += vjps[0](g, ans, av, bv)
                b.grad += vjps[1](g, ans, av, bv)
            else:
                a.grad += vjps[0](g, ans, a.data, b)
        else:
            b.grad += vjps[1](g, ans, a, b.data)


def _chain_recording(nodes: list) -> None:
    """``_chain`` on Values: the VJPs record, so the gradients can be differentiated again."""
    for node in nodes:
        g, vjps = node.grad, node._prim.vjps
        for i, a in enumerate(node._args):
            if type(a) is Value:
                a.grad = a.grad + vjps[i](g, node, *node._args)


# -- the activations, from their registry entries ------------------------------------------------
def _dual(prim: Primitive):
    """``prim`` on a Value (recording), its float forward on a number."""
    forward = prim.forward
    return lambda x: prim(x) if type(x) is Value else forward(x)


MATH = SimpleNamespace(
    exp=_dual(exp),
    expm1=_dual(expm1),
    where=lambda cond, a, b: a if cond else b,
    positive=lambda x: x > 0,  # a Value compares its data
)
"""The math namespace over floats and Values (elementwise functions only): what the scalar
activations' VJPs run on. Its tanh, sigmoid and softplus are the activations', added below."""


def _activation_primitive(act: Activation) -> ScalarPrimitive:
    """One elementwise activation on floats: its scalar forward and its registry VJP on
    ``MATH``, with x = the output or the input as declared."""
    vjp, forward, xp = act.vjp, act.scalar or act.forward_scalar, MATH
    prim = scalar_primitive(forward, name=act.name)
    if act.from_output:
        return defvjp(prim, lambda g, ans, a: vjp(g, ans, xp))
    return defvjp(prim, lambda g, ans, a: vjp(g, a, xp))


SCALAR_ACTIVATIONS = {
    name: _activation_primitive(act) for name, act in REGISTRY.items() if act.elementwise
}
"""One scalar primitive per elementwise activation, by name; each is also a Value method."""
MATH.tanh, MATH.sigmoid, MATH.softplus = (
    _dual(SCALAR_ACTIVATIONS[name]) for name in ("tanh", "sigmoid", "softplus")
)

for _name, _prim in SCALAR_ACTIVATIONS.items():
    setattr(Value, _name, _unary_method(_prim))
