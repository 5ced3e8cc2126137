"""Value: a scalar that records the operations applied to it (micrograd's surface, on a tape).

``Value(data)`` has ``.data`` and ``.grad``; ``+ - * /`` with numbers on either side, ``**`` by
a number, unary ``-``, ``.relu()``, ``.tanh()``, ``.exp()``, ``.log()``, ``.sigmoid()`` and
``.softplus()`` record a node; ``.backward()`` fills ``.grad`` of every node the result depends
on, as micrograd does (leaves accumulate over calls).

Unlike micrograd, a node keeps no closure: it holds its primitive (from the scalar registry),
its arguments and its tape stamp in ``__slots__``, so nodes form no reference cycles and the
garbage collector has little to do; and backward walks the tape instead of recursing, so a chain
of a million operations is fine. Numbers mixed into an operation are kept as constants rather
than wrapped in new nodes.
"""

from __future__ import annotations

import math
from operator import add, attrgetter, mul, neg, sub, truediv

from .registry import SCALAR_PRIMITIVES as S
from .registry import defvjp, primitive
from .tape import next_stamp

__all__ = ["Value"]


class Value:
    """A scalar node of the graph."""

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

    # micrograd's view of the graph
    @property
    def _prev(self) -> set:
        return {a for a in self._args if type(a) is Value}

    @property
    def _op(self) -> str:
        return "" if self._prim is None else self._prim.name

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- recording: the operators are made from the registry below, after the primitives --
    def __pow__(self, p):
        if isinstance(p, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number")
        return _binary(_POW, self, p)

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
        nodes = _reverse_tape(self)
        self.grad = Value(1.0) if create_graph else 1.0
        for node in nodes:
            a, b = node._a, node._b
            vjp = node._prim.vjps[0]
            a_is_node = type(a) is Value
            if b is None:  # a unary operation
                if create_graph:
                    (ga,) = vjp(node.grad, node, a)
                else:
                    (ga,) = vjp(node.grad, node.data, a.data)
                a.grad = a.grad + ga
                continue
            b_is_node = type(b) is Value
            if create_graph:
                ga, gb = vjp(node.grad, node, a, b)
            else:
                ga, gb = vjp(
                    node.grad, node.data, a.data if a_is_node else a, b.data if b_is_node else b
                )
            if a_is_node:
                a.grad = a.grad + ga
            if b_is_node:
                b.grad = b.grad + gb


def _reverse_tape(root: Value) -> list:
    """The recorded nodes ``root`` depends on, latest tape stamp first (each once), with their
    gradients reset to zero.

    The same walk as ``autodiff.tape.reverse_tape``, unrolled for nodes of at most two
    arguments: it is the inner loop of scalar mode.
    """
    nodes = []
    seen = {id(root)}
    stack = [root]
    pop, push, visit, keep = stack.pop, stack.append, seen.add, nodes.append
    while stack:
        node = pop()
        if node._prim is None:
            continue
        node.grad = 0.0  # an intermediate's gradient belongs to this backward pass alone
        keep(node)
        a, b = node._a, node._b
        if type(a) is Value and id(a) not in seen:
            visit(id(a))
            push(a)
        if type(b) is Value and id(b) not in seen:
            visit(id(b))
            push(b)
    nodes.sort(key=_by_stamp, reverse=True)
    return nodes


_by_stamp = attrgetter("_seq")


def _raw(x):
    return x.data if type(x) is Value else x


def _record(prim, data, a, b):
    out = Value.__new__(Value)
    out.data = data
    out.grad = 0.0
    out._prim = prim
    out._a = a
    out._b = b
    out._seq = next_stamp()
    return out


def _binary(prim, a, b):
    return _record(prim, prim.forward(_raw(a), _raw(b)), a, b)


def _binary_method(prim, reflected: bool = False):
    """``Value.__op__`` (or ``__rop__``) for a binary primitive: one call per node recorded."""
    forward = prim.forward

    def method(self, other):
        out = Value.__new__(Value)
        if reflected:
            out.data = forward(other.data if type(other) is Value else other, self.data)
            out._a, out._b = other, self
        else:
            out.data = forward(self.data, other.data if type(other) is Value else other)
            out._a, out._b = self, other
        out.grad = 0.0
        out._prim = prim
        out._seq = next_stamp()
        return out

    return method


def _unary_method(prim):
    """``Value.op()`` for a unary primitive."""
    forward = prim.forward

    def method(self):
        return _record(prim, forward(self.data), self, None)

    return method


def _sigmoid_float(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _dual(method: str, fn):
    """Apply ``fn`` to a float, or the Value method of the same name to a Value."""
    return lambda x: getattr(x, method)() if type(x) is Value else fn(x)


_sig = _dual("sigmoid", _sigmoid_float)

# Each scalar primitive: forward on floats, and one VJP returning the gradient of every
# argument, (g, ans, *args) -> tuple, written with operators so it also runs on Values.
_ADD = defvjp(primitive(S, "+")(add), lambda g, ans, a, b: (g, g))
_SUB = defvjp(primitive(S, "-")(sub), lambda g, ans, a, b: (g, -g))
_MUL = defvjp(primitive(S, "*")(mul), lambda g, ans, a, b: (g * b, g * a))
_DIV = defvjp(primitive(S, "/")(truediv), lambda g, ans, a, b: (g / b, -g * ans / b))
_POW = defvjp(
    primitive(S, "**")(lambda a, p: a**p), lambda g, ans, a, p: (g * p * a ** (p - 1), None)
)
_NEG = defvjp(primitive(S, "neg")(neg), lambda g, ans, a: (-g,))
_RELU = defvjp(
    primitive(S, "relu")(lambda a: a if a > 0 else 0.0),
    lambda g, ans, a: (g * (1.0 if _raw(a) > 0 else 0.0),),
)
_TANH = defvjp(primitive(S, "tanh")(math.tanh), lambda g, ans, a: (g * (1 - ans * ans),))
_EXP = defvjp(primitive(S, "exp")(math.exp), lambda g, ans, a: (g * ans,))
_LOG = defvjp(primitive(S, "log")(math.log), lambda g, ans, a: (g / a,))
_SIGMOID = defvjp(
    primitive(S, "sigmoid")(_sigmoid_float), lambda g, ans, a: (g * (ans * (1 - ans)),)
)
_SOFTPLUS = defvjp(
    primitive(S, "softplus")(lambda a: max(a, 0.0) + math.log1p(math.exp(-abs(a)))),
    lambda g, ans, a: (g * _sig(a),),
)

for _name, _prim in {"add": _ADD, "sub": _SUB, "mul": _MUL, "truediv": _DIV}.items():
    setattr(Value, f"__{_name}__", _binary_method(_prim))
    setattr(Value, f"__r{_name}__", _binary_method(_prim, reflected=True))
Value.__neg__ = _unary_method(_NEG)
for _prim in (_RELU, _TANH, _EXP, _LOG, _SIGMOID, _SOFTPLUS):
    setattr(Value, _prim.name, _unary_method(_prim))
