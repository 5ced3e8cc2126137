"""The engine's lean node layout: what the faster forms must still say and refuse."""

import math

import pytest

from backproof.autodiff import Value
from backproof.autodiff.registry import SCALAR_PRIMITIVES
from backproof.autodiff.tape import reverse_tape
from backproof.autodiff.value import scalar_primitive


def test_a_value_node_shows_its_arguments_in_order():
    a, b = Value(2.0), Value(3.0)
    assert (a - b)._args == (a, b)
    assert (5.0 - a)._args == (5.0, a)  # the reflected operation keeps the order of the math
    assert (a**3)._args == (a, 3)
    assert a.tanh()._args == (a,)
    assert a._args == () and (a * b)._prev == {a, b}


def test_a_scalar_primitive_takes_one_or_two_arguments():
    fma = scalar_primitive(lambda x, y, z: x * y + z, name="fma3")
    try:
        assert fma(2.0, 3.0, 1.0) == 7.0  # numbers alone: no node, no limit
        with pytest.raises(TypeError, match="fma3.*one or two arguments, got 3"):
            fma(Value(2.0), 3.0, 1.0)
    finally:  # leave the registry as it was, so that the test can run again in this process
        SCALAR_PRIMITIVES.pop("fma3", None)


def test_the_walk_visits_a_shared_node_once_and_latest_first():
    x = Value(0.5)
    y = x
    for _ in range(2000):  # a long chain that reuses x at every step
        y = y * x + x
    nodes, leaves = reverse_tape(y)
    assert leaves == [x]
    assert len(nodes) == len(set(map(id, nodes))) == 4000
    stamps = [n._seq for n in nodes]
    assert stamps == sorted(stamps, reverse=True)
    y.backward()
    expected = 0.0  # d/dx of y_{k+1} = y_k x + x, with y_0 = x
    value = 0.5
    for _ in range(2000):
        expected, value = expected * 0.5 + value + 1.0, value * 0.5 + 0.5
    assert math.isclose(x.grad, expected, rel_tol=1e-12)
