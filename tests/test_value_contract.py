"""Value, micrograd's scalar: every operator on either side of a number, its gradients and
second derivatives, the activations by name, comparisons and the messages for what it refuses."""

import math
import operator

import numpy as np
import pytest

from backproof import autodiff
from backproof.autodiff import Value
from backproof.autodiff.graph import graph_boxes
from backproof.autodiff.value import MATH, SCALAR_ACTIVATIONS

# (name, f(a, b), df/da, df/db, d2f/da2, d2f/db2) at a = 3, b = -2
A, B = 3.0, -2.0
BINARY = [
    ("+", lambda a, b: a + b, 1.0, 1.0, 0.0, 0.0),
    ("-", lambda a, b: a - b, 1.0, -1.0, 0.0, 0.0),
    ("*", lambda a, b: a * b, B, A, 0.0, 0.0),
    ("/", lambda a, b: a / b, 1 / B, -A / B**2, 0.0, 2 * A / B**3),
]


@pytest.mark.parametrize("name, f, da, db, daa, dbb", BINARY, ids=[b[0] for b in BINARY])
def test_a_binary_operator_with_a_value_or_a_number_on_either_side(name, f, da, db, daa, dbb):
    expected = f(A, B)
    a, b = Value(A), Value(B)
    out = f(a, b)
    assert out.data == expected and out._op == name and out._prev == {a, b}
    out.backward()
    assert (a.grad, b.grad) == (pytest.approx(da, rel=1e-15), pytest.approx(db, rel=1e-15))
    for number in (B, np.float64(B), int(B)):  # the number on the right
        a = Value(A)
        out = f(a, number)
        assert out.data == expected and out._prev == {a}
        out.backward()
        assert a.grad == pytest.approx(da, rel=1e-15)
    b = Value(B)
    out = f(A, b)  # the number on the left: the reflected operator
    assert out.data == expected and out._op == name
    out.backward()
    assert b.grad == pytest.approx(db, rel=1e-15)
    # second derivatives, by recording the backward pass
    for which, d1, d2 in (("a", da, daa), ("b", db, dbb)):
        x = Value(A if which == "a" else B)
        out = f(x, B) if which == "a" else f(A, x)
        out.backward(create_graph=True)
        first = x.grad
        assert isinstance(first, Value) and first.data == pytest.approx(d1, rel=1e-15)
        x.grad = 0.0
        first.backward()
        assert x.grad == pytest.approx(d2, rel=1e-15, abs=1e-15)


def test_powers_negation_and_the_elementary_functions():
    x = Value(1.5)
    y = x**3
    assert y.data == 1.5**3 and y._op == "**"
    y.backward()
    assert x.grad == pytest.approx(3 * 1.5**2, rel=1e-15)
    x = Value(4.0)
    (x**-0.5).backward()
    assert x.grad == pytest.approx(-0.5 * 4.0**-1.5, rel=1e-15)
    x = Value(2.0)
    y = -x
    assert y.data == -2.0 and y._op == "neg"
    y.backward()
    assert x.grad == -1.0
    for method, f, df in (
        ("exp", math.exp, math.exp),
        ("expm1", math.expm1, math.exp),
        ("log", math.log, lambda v: 1 / v),
    ):
        x = Value(0.7)
        y = getattr(x, method)()
        assert y.data == f(0.7) and y._op == method
        y.backward()
        assert x.grad == pytest.approx(df(0.7), rel=1e-15), method
    x = Value(0.7)
    x.expm1().backward(create_graph=True)
    g = x.grad
    x.grad = 0.0
    g.backward()
    assert x.grad == pytest.approx(math.exp(0.7), rel=1e-15)  # (e^x - 1)'' = e^x
    with pytest.raises(TypeError) as info:
        Value(2.0) ** Value(3.0)
    assert str(info.value) == "Value ** Value is not supported: the exponent must be a number"


@pytest.mark.parametrize("name", sorted(SCALAR_ACTIVATIONS))
def test_each_activation_is_a_method_on_values_and_a_function_on_numbers(name):
    prim = SCALAR_ACTIVATIONS[name]
    assert prim.name == name and autodiff.SCALAR_PRIMITIVES[name] is prim
    for x0 in (-0.8, 1.3):
        x = Value(x0)
        y = getattr(x, name)()
        assert y.data == prim(x0) and y._op == name
        y.backward()
        h = 1e-6
        slope = (prim(x0 + h) - prim(x0 - h)) / (2 * h)
        assert x.grad == pytest.approx(slope, rel=1e-6, abs=1e-9), name


def test_the_activations_are_the_usual_functions():
    x0 = 0.4
    s = 1 / (1 + math.exp(-x0))
    expected = {"tanh": math.tanh(x0), "sigmoid": s, "relu": x0, "linear": x0,
                "softplus": math.log1p(math.exp(x0))}  # fmt: skip
    for name, value in expected.items():
        assert getattr(Value(x0), name)().data == pytest.approx(value, rel=1e-15), name
    assert Value(-0.4).relu().data == 0.0
    assert MATH.tanh(x0) == pytest.approx(math.tanh(x0)) and MATH.sigmoid(x0) == pytest.approx(s)
    assert MATH.softplus(x0) == pytest.approx(expected["softplus"])
    assert MATH.exp(1.0) == math.e and MATH.expm1(0.0) == 0.0
    assert isinstance(MATH.tanh(Value(x0)), Value) and isinstance(MATH.exp(Value(x0)), Value)
    assert MATH.where(True, 1, 2) == 1 and MATH.where(False, 1, 2) == 2
    assert MATH.positive(Value(0.5)) and not MATH.positive(Value(0.0))
    # the VJPs run on Values too: second derivatives of the activations
    for name, d2 in (("tanh", -2 * math.tanh(x0) * (1 - math.tanh(x0) ** 2)),
                     ("sigmoid", s * (1 - s) * (1 - 2 * s))):  # fmt: skip
        x = Value(x0)
        getattr(x, name)().backward(create_graph=True)
        g = x.grad
        x.grad = 0.0
        g.backward()
        assert x.grad == pytest.approx(d2, rel=1e-12), name


def test_comparisons_float_repr_and_identity():
    a, b = Value(1.0), Value(2.0)
    assert (a < b, a > b, a <= b, a >= b) == (True, False, True, False)
    assert (a < 2, a > 0.5, a <= 1.0, a >= 1.0, a >= 1.5) == (True, True, True, True, False)
    assert (a < 1.0, a > 1.0, a < Value(1.0), a > Value(1.0)) == (False, False, False, False)
    assert float(Value(2.5)) == 2.5 and isinstance(float(Value(2)), float)
    assert repr(Value(2.5)) == "Value(data=2.5, grad=0.0)"
    c = Value(1.0)
    assert hash(a) != hash(c) and len({a, c}) == 2  # identity, not value
    copy = Value(Value(3.0))
    assert copy.data == 3.0 and type(copy.data) is float
    assert Value(1.0).label == ""  # no name unless one is given
    leaf = Value(1.0, label="x")
    assert leaf.label == "x" and (leaf * 2).label == "" and leaf._op == "" and leaf._prev == set()
    assert leaf._args == () and (-leaf)._args == (leaf,) and (leaf * 2)._args == (leaf, 2)


def test_backward_starts_intermediate_gradients_afresh_and_leaves_accumulate():
    x = Value(2.0)
    y = x * x
    z = y * 3
    z.backward()
    assert (x.grad, y.grad, z.grad) == (12.0, 3.0, 1.0)
    z.backward()
    assert (x.grad, y.grad, z.grad) == (24.0, 3.0, 1.0)  # the leaf accumulates, y does not
    z.backward(create_graph=True)
    assert isinstance(z.grad, Value) and z.grad.data == 1.0


def test_what_a_value_refuses_and_why():
    with pytest.raises(TypeError) as info:
        Value(1.0) + np.ones(2)
    assert str(info.value) == (
        "a Value combines with numbers and Values only, got ndarray: for arrays use Tensor, "
        "or an object array of Values (np.frompyfunc(Value, 1, 1))"
    )
    with pytest.raises(TypeError):
        Value(1.0) + "a"  # NotImplemented both ways: Python's own TypeError

    class ShapeOnly:  # array-likes of other libraries: a shape, or a way to become an array
        shape = (2,)

    class ArrayOnly:
        def __array__(self, dtype=None, copy=None):
            return np.ones(2)

    for array_like in (ShapeOnly(), ArrayOnly()):
        for op, pair in (
            (operator.mul, (Value(1.0), array_like)),
            (operator.sub, (array_like, Value(1.0))),
        ):
            with pytest.raises(TypeError) as info:
                op(*pair)
            assert str(info.value).startswith(
                "a Value combines with numbers and Values only, got "
                f"{type(array_like).__name__}: for arrays use Tensor"
            )
    with pytest.raises(TypeError):
        "a" * Value(1.0) * 1.5
    with pytest.raises(TypeError) as info:
        Value(1.0, label=3)
    assert str(info.value) == "label must be a string, got int 3"
    three = autodiff.scalar_primitive(lambda a, b, c: a + b + c, name="three_for_the_test")
    try:
        assert three(1.0, 2.0, 3.0) == 6.0  # numbers: the forward alone
        with pytest.raises(TypeError) as info:
            three(Value(1.0), 2.0, 3.0)
        assert str(info.value) == (
            "scalar primitive 'three_for_the_test': a Value node holds one or two arguments, got 3"
        )
    finally:
        del autodiff.SCALAR_PRIMITIVES["three_for_the_test"]


OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_a_number_on_the_left_is_kept_as_the_operations_constant(op):
    x = Value(2.0, label="x")
    for number, text in ((3, "3"), (3.0, "3"), (0.25, "0.25")):
        y = OPERATORS[op](number, x)  # the reflected operator: the number's own NotImplemented
        assert y.data == OPERATORS[op](number, 2.0) and y.grad == 0.0
        leaf, constant, node = graph_boxes(y)
        assert (constant.kind, constant.data) == ("constant", text)
        assert node.formula == f"{text} {op} x" and node.inputs == (constant.key, leaf.key)
    for y in (x + x, x * 3, x * x, x + 3):  # a new node has no gradient yet, whatever its operator
        assert y.grad == 0.0


class _FloatsOnly:
    """A type of someone else's that combines with Python floats but knows nothing of Values."""

    def _with_a_float(self, other):
        return ("floats only", other) if type(other) is float else NotImplemented

    __add__ = __radd__ = __sub__ = __rsub__ = _with_a_float
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _with_a_float


class _KnowsValues:
    """A type of someone else's that takes a Value on either side of every operator."""

    def _with_a_value(self, other):
        return ("knows values", other) if isinstance(other, Value) else NotImplemented

    __add__ = __radd__ = __sub__ = __rsub__ = _with_a_value
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _with_a_value


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_a_value_hands_a_type_it_does_not_know_back_with_not_implemented(op):
    apply = OPERATORS[op]
    x = Value(2.0)
    # neither side knows the other: Python's TypeError, not a Value around a foreign object
    with pytest.raises(TypeError, match="unsupported operand"):
        apply(x, _FloatsOnly())
    with pytest.raises(TypeError, match="unsupported operand"):
        apply(_FloatsOnly(), x)
    # the other type knows Values: its own method answers, given the Value itself
    other = _KnowsValues()
    assert apply(x, other) == ("knows values", x)
    assert apply(other, x) == ("knows values", x)


def test_a_scalar_primitive_is_named_after_its_function_by_default():
    def twice_for_the_test(a):
        return 2 * a

    prim = autodiff.scalar_primitive(twice_for_the_test)
    try:
        assert prim.name == "twice_for_the_test" and repr(prim) == "<primitive twice_for_the_test>"
        autodiff.defvjp(prim, lambda g, ans, a: 2 * g)
        x = Value(1.5)
        y = prim(x)
        assert y.data == 3.0 and y._op == "twice_for_the_test" and y._prev == {x}
        y.backward()
        assert x.grad == 2.0
    finally:
        del autodiff.SCALAR_PRIMITIVES["twice_for_the_test"]


def test_a_shared_node_collects_all_its_gradient_on_every_pass():
    x = Value(1.5)
    a = x * 2.0  # used three times below
    b = a + a
    c = b * a - a / 4.0
    for _ in range(2):  # each pass starts the intermediates from zero; the leaf accumulates
        c.backward()
        assert a.grad == pytest.approx(4 * a.data - 0.25, rel=1e-15)
        assert b.grad == pytest.approx(a.data, rel=1e-15) and c.grad == 1.0
    assert x.grad == pytest.approx(2 * 2 * (4 * a.data - 0.25), rel=1e-15)
    c.backward(create_graph=True)  # the gradients become Values ...
    x.grad = 0.0
    c.backward()  # ... and an ordinary pass after it starts again from floats
    assert type(a.grad) is float and a.grad == pytest.approx(4 * a.data - 0.25, rel=1e-15)
    leaf = Value(3.0)
    leaf.backward()
    assert leaf.grad == 1.0
    y = (leaf - 1.0) * (leaf - 1.0)  # two nodes made from the same leaf, used once each
    y.backward()
    assert leaf.grad == pytest.approx(1.0 + 2 * 2.0, rel=1e-15)


def test_a_binary_primitive_of_ones_own_takes_part_in_backward():
    hypot = autodiff.defvjp(
        autodiff.scalar_primitive(math.hypot, name="hypot_for_the_test"),
        lambda g, ans, a, b: g * a / ans,
        lambda g, ans, a, b: g * b / ans,
    )
    first_only = autodiff.defvjp(
        autodiff.scalar_primitive(lambda a, k: a * k, name="scale_for_the_test"),
        lambda g, ans, a, k: g * k,
        None,  # k is not differentiated
    )
    try:
        a, b = Value(3.0), Value(4.0)
        out = hypot(a, b) * 2.0
        assert out.data == 10.0
        out.backward()
        assert (a.grad, b.grad) == (pytest.approx(1.2), pytest.approx(1.6))
        a = Value(3.0)
        hypot(a, 4.0).backward()  # a number on the right
        assert a.grad == pytest.approx(0.6)
        b = Value(4.0)
        hypot(3.0, b).backward()  # a number on the left
        assert b.grad == pytest.approx(0.8)
        x, k = Value(2.0), Value(5.0)
        first_only(x, k).backward()
        assert (x.grad, k.grad) == (5.0, 0.0)  # None: no gradient for k
        x, k = Value(2.0), Value(5.0)
        first_only(x, k).backward(create_graph=True)
        assert x.grad.data == 5.0
    finally:
        del autodiff.SCALAR_PRIMITIVES["hypot_for_the_test"]
        del autodiff.SCALAR_PRIMITIVES["scale_for_the_test"]


def test_a_binary_primitive_adds_to_gradients_from_elsewhere_in_the_graph():
    a_b_squared = autodiff.defvjp(
        autodiff.scalar_primitive(lambda a, b: a * b * b, name="a_b_squared_for_the_test"),
        lambda g, ans, a, b: g * b * b,
        lambda g, ans, a, b: g * 2.0 * a * b,  # reads both arguments
    )
    try:
        x, y = Value(2.0), Value(3.0)
        out = a_b_squared(x, y) + x * 10.0 + y * 100.0
        out.backward()
        assert (x.grad, y.grad) == (9.0 + 10.0, 12.0 + 100.0)
        x = Value(2.0)
        a_b_squared(x, x).backward()  # x on both sides: d(x^3)/dx = 3 x^2
        assert x.grad == 12.0
    finally:
        del autodiff.SCALAR_PRIMITIVES["a_b_squared_for_the_test"]
