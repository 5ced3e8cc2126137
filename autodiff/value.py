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
from .tape import next_stamp

__all__ = ["Value", "scalar_primitive", "SCALAR_ACTIVATIONS", "MATH", "exp", "expm1", "log"]


def _raw(x):
    return x.data if type(x) is Value else x


_new = object.__new__  # a bare node: the operation that makes it fills its slots
_by_stamp = attrgetter("_seq")


def _node(prim, data, a, b=None):
    """A new node: ``prim``'s output ``data``, computed from ``a`` (and ``b``, for a binary
    primitive; None marks a unary one)."""
    out = _new(Value)
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
        return _node(self, self.forward(*[_raw(a) for a in args]), *args)


def scalar_primitive(forward: Callable, *, name: str | None = None) -> ScalarPrimitive:
    """Make ``forward`` (a function on floats) a differentiable operation on ``Value``s and
    register it; returns the callable primitive (give it VJPs with ``defvjp``)."""
    return register(SCALAR_PRIMITIVES, ScalarPrimitive(name or forward.__name__, forward))


# -- the primitives of arithmetic: forward on floats, one VJP per argument -----------------------
# ``Value``'s operators compute these forwards in their own bodies and ``_chain`` these VJPs in
# its own (a call per node would cost more than the arithmetic); the registered forms serve
# ``backward(create_graph=True)``, the drawings and anyone calling the primitive.
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
    if type(x) is int or isinstance(x, numbers.Real):
        return True
    if hasattr(x, "shape") or hasattr(x, "__array__"):
        raise TypeError(
            f"a Value combines with numbers and Values only, got {type(x).__name__}: for "
            "arrays use Tensor, or an object array of Values (np.frompyfunc(Value, 1, 1))"
        )
    return False


def _unary_method(prim: Primitive):
    """``Value.op()`` for a unary primitive."""
    forward = prim.forward

    def method(self):
        return _node(prim, forward(self.data), self)

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

    # -- recording: each operator computes its forward here and states its local derivatives,
    # which ``_chain`` applies. ``other`` is a Value or a number, kept as a constant of the node.
    # + and *, the commonest operations, build their node in place: one Python call fewer each.
    def __add__(self, other):
        """self + other; d/d(self) = d/d(other) = 1."""
        if type(other) is Value:
            data = self.data + other.data
        elif type(other) is float or _is_number(other):
            data = self.data + other
        else:
            return NotImplemented
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out._prim = ADD
        out._a = self
        out._b = other
        out._seq = next_stamp()
        return out

    def __radd__(self, other):
        """other + self, for a number ``other``; d/d(self) = 1."""
        if type(other) is float or _is_number(other):
            return _node(ADD, other + self.data, other, self)
        return NotImplemented

    def __sub__(self, other):
        """self - other; d/d(self) = 1, d/d(other) = -1."""
        if type(other) is Value:
            return _node(SUB, self.data - other.data, self, other)
        if type(other) is float or _is_number(other):
            return _node(SUB, self.data - other, self, other)
        return NotImplemented

    def __rsub__(self, other):
        """other - self, for a number ``other``; d/d(self) = -1."""
        if type(other) is float or _is_number(other):
            return _node(SUB, other - self.data, other, self)
        return NotImplemented

    def __mul__(self, other):
        """self * other; d/d(self) = other, d/d(other) = self."""
        if type(other) is Value:
            data = self.data * other.data
        elif type(other) is float or _is_number(other):
            data = self.data * other
        else:
            return NotImplemented
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out._prim = MUL
        out._a = self
        out._b = other
        out._seq = next_stamp()
        return out

    def __rmul__(self, other):
        """other * self, for a number ``other``; d/d(self) = other."""
        if type(other) is float or _is_number(other):
            return _node(MUL, other * self.data, other, self)
        return NotImplemented

    def __truediv__(self, other):
        """self / other; d/d(self) = 1/other, d/d(other) = -self/other^2 = -out/other."""
        if type(other) is Value:
            return _node(DIV, self.data / other.data, self, other)
        if type(other) is float or _is_number(other):
            return _node(DIV, self.data / other, self, other)
        return NotImplemented

    def __rtruediv__(self, other):
        """other / self, for a number ``other``; d/d(self) = -out/self."""
        if type(other) is float or _is_number(other):
            return _node(DIV, other / self.data, other, self)
        return NotImplemented

    def __pow__(self, p):
        """self ** p, for a number ``p`` (not differentiated); d/d(self) = p self^(p-1)."""
        if isinstance(p, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number")
        return _node(POW, self.data**p, self, p)

    def __neg__(self):
        """-self; d/d(self) = -1 (the registered VJP)."""
        return _node(NEG, -self.data, self)

    exp = _unary_method(exp)
    expm1 = _unary_method(expm1)
    log = _unary_method(log)
    # the activations' methods (.relu(), .tanh(), ...) are added from the registry below

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
        nodes = _recorded_latest_first(self)
        if create_graph:
            self.grad = Value(1.0)
            _chain_recording(nodes)
        else:
            self.grad = 1.0
            _chain(nodes)


def _recorded_latest_first(root: Value) -> list:
    """The recorded nodes ``root`` depends on (itself included, leaves not), latest stamp first,
    each with its gradient reset to 0.0: it belongs to this backward pass alone.

    ``autodiff.tape.reverse_tape`` for scalars, written out for a node's two argument slots: the
    inner loop of scalar mode. Depth first, each node once; then sorted by stamp, since a node is
    always stamped after the nodes it was computed from.
    """
    if root._prim is None:
        return []
    # A node found by this pass is marked by its gradient being this pass's own 0.0, one float
    # object made here and compared by identity: that is the reset, and it spares the walk a set
    # of the nodes found (a second table as large as the graph, slower to fill than the walk).
    zero = float(0)
    root.grad = zero
    nodes, stack = [root], [root]
    keep, push, pop = nodes.append, stack.append, stack.pop
    while True:  # (not ``while stack``: CPython specialises this form of loop on its first call)
        node = pop()
        a, b = node._a, node._b
        if type(a) is Value and a._prim is not None and a.grad is not zero:
            a.grad = zero
            keep(a)
            push(a)
        if type(b) is Value and b._prim is not None and b.grad is not zero:
            b.grad = zero
            keep(b)
            push(b)
        if not stack:
            break
    nodes.sort(key=_by_stamp, reverse=True)
    return nodes


def _chain(nodes: list) -> None:
    """The chain rule over ``nodes`` (latest first) on floats: each node adds its gradient g
    times its local derivatives into its arguments' ``.grad`` (constants get none).

    For c = a + b: dc/da = dc/db = 1; c = a - b: 1 and -1; c = a * b: b and a;
    c = a / b: 1/b and -a/b^2 = -c/b; c = a ** p: p a^(p-1). Every other primitive calls its
    registered VJPs. The same expressions as the registered VJPs, so the same numbers bit for bit.
    """
    for node in nodes:
        prim, g = node._prim, node.grad
        a, b = node._a, node._b
        if prim is MUL:
            if type(a) is Value:
                if type(b) is Value:
                    a.grad += g * b.data
                    b.grad += g * a.data
                else:
                    a.grad += g * b
            else:
                b.grad += g * a
        elif prim is ADD:
            if type(a) is Value:
                a.grad += g
            if type(b) is Value:
                b.grad += g
        elif prim is SUB:
            if type(a) is Value:
                a.grad += g
            if type(b) is Value:
                b.grad += -g
        elif prim is DIV:
            bd = b.data if type(b) is Value else b
            if type(a) is Value:
                a.grad += g / bd
            if type(b) is Value:
                b.grad += -g * node.data / bd
        elif prim is POW:
            a.grad += g * b * a.data ** (b - 1)
        elif b is None:  # a unary operation: its argument is a Value
            a.grad += prim.vjps[0](g, node.data, a.data)
        else:
            _chain_binary(node, prim, g, a, b)


def _chain_binary(node, prim, g, a, b) -> None:
    """``_chain`` for a binary primitive of the registry (other than arithmetic)."""
    vjps, ans = prim.vjps, node.data
    av, bv = _raw(a), _raw(b)
    if type(a) is Value and vjps[0] is not None:
        a.grad += vjps[0](g, ans, av, bv)
    if type(b) is Value and vjps[1] is not None:
        b.grad += vjps[1](g, ans, av, bv)


def _chain_recording(nodes: list) -> None:
    """``_chain`` on Values: the VJPs record, so the gradients can be differentiated again."""
    for node in nodes:
        g, vjps = node.grad, node._prim.vjps
        for i, a in enumerate(node._args):
            if type(a) is Value and vjps[i] is not None:  # None: not differentiated
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
