"""Value's activations built from the registry at import, its math namespace on floats and
Values, a comparison at equality; the tape's walk of any node-shaped object; and the pool that a
releasing backward pass fills, at the boundary of its smallest array."""

import math

import numpy as np
import pytest

from backproof.autodiff import Tensor, Value, pool, reverse_tape
from backproof.autodiff.graph import graph_boxes
from backproof.autodiff.value import MATH, SCALAR_ACTIVATIONS
from backproof.network.activations import REGISTRY

ELEMENTWISE = [name for name, act in REGISTRY.items() if act.elementwise]


def registry_slope(name: str, z: float) -> float:
    """dg/dz at z from the registry's NumPy backward (the manual engine's derivative)."""
    act = REGISTRY[name]
    x = act.kernel(np.array([z])) if act.from_output else np.array([z])
    return float(act.backward_numpy(np.ones(1), x)[0])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_each_activation_method_records_its_node_and_its_first_and_second_derivative(name):
    """``Value.<name>()`` is made from the registry entry at import: its value is the entry's
    scalar forward, its gradient the entry's derivative, and with ``create_graph=True`` that
    gradient is a Value whose own gradient is the second derivative."""
    act, h = REGISTRY[name], 1e-5
    assert getattr(Value, name).__name__ == name and SCALAR_ACTIVATIONS[name].name == name
    for z in (0.7, -0.45):
        x = Value(z, label="x")
        y = getattr(x, name)()
        assert type(y) is Value and y.data == act.forward_scalar(z)
        assert graph_boxes(y)[-1].formula == f"{name}(x)"
        y.backward()
        assert x.grad == pytest.approx(registry_slope(name, z), rel=1e-12, abs=1e-15)

        x = Value(z)
        getattr(x, name)().backward(create_graph=True)
        first = x.grad
        assert type(first) is Value and first.data == pytest.approx(registry_slope(name, z))
        x.grad = 0.0
        first.backward()
        second = (registry_slope(name, z + h) - registry_slope(name, z - h)) / (2 * h)
        assert x.grad == pytest.approx(second, rel=1e-6, abs=1e-9), (name, z)


def test_exp_expm1_and_log_methods_record_their_node():
    for method, f, slope in (
        ("exp", math.exp, math.exp),
        ("expm1", math.expm1, math.exp),
        ("log", math.log, lambda z: 1 / z),
    ):
        x = Value(0.3)
        y = getattr(x, method)()
        assert getattr(Value, method).__name__ == method
        assert y.data == f(0.3) and y._prev == {x} and y._op == method
        y.backward()
        assert x.grad == pytest.approx(slope(0.3), rel=1e-15)


def test_the_math_namespace_answers_a_float_for_a_float_and_records_on_a_value():
    """The activations' VJPs run on ``MATH``: on floats it must stay plain float arithmetic, on
    a Value it must record (else second derivatives would lose the path through it)."""
    for fn in (MATH.exp, MATH.expm1, MATH.tanh, MATH.sigmoid, MATH.softplus):
        assert type(fn(0.3)) is float
        x = Value(0.3)
        y = fn(x)
        assert type(y) is Value and y.data == fn(0.3) and y._prev == {x}


def test_a_value_is_not_less_than_an_equal_value_or_number():
    assert not Value(1.0) < Value(1.0) and not Value(1.0) < 1.0 and not Value(2.0) < 1.0
    assert Value(0.5) < 1.0 and Value(0.5) < Value(1.0)


class _Node:
    """The least a node needs for the tape's walk: a primitive, arguments and a stamp."""

    def __init__(self, prim, args, seq):
        self._prim, self._args, self._seq = prim, args, seq


def test_the_tape_walks_a_node_class_without_requires_grad_when_its_inputs_are_constants():
    """``requires_grad`` is asked of arguments of the node's own type only: a class that has no
    such attribute (a drawing's stand-ins, a learner's own node) can be walked when every input
    of a node is a constant."""
    root = _Node("op", (2.0, np.ones(3)), seq=7)
    assert reverse_tape(root) == ([root], [])
    leaf = _Node(None, (), seq=1)
    assert reverse_tape(leaf) == ([], [leaf])


def test_a_backward_that_meets_a_released_graph_leaves_its_own_graph_as_it_was():
    """The error comes before anything is released: the newer graph still draws with its
    input's name, and the leaves' gradients are those of the first backward alone."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.name = "x"
    y = (x * x).sum()
    y.name = "y"
    z = y * 3.0
    z.name = "z"
    before = [(box.title, box.formula, box.data) for box in graph_boxes(z)]
    y.backward()  # releases y's graph, which z's includes
    with pytest.raises(RuntimeError, match="released by an earlier backward"):
        z.backward()
    boxes = graph_boxes(z)
    assert boxes[-1].formula == "y * 3" and boxes[-1].grad == "-"
    assert [(box.title, box.formula) for box in boxes][-2:] == [
        (title, formula) for title, formula, _ in before[-2:]
    ]
    assert x.grad.tolist() == [2.0, 4.0]


def _pooled_bytes_after_a_backward(min_bytes: int, n: int = 512) -> int:
    """What the engine's pool holds after one releasing backward over arrays of ``n`` float64s
    (8 n bytes each), with ``min_bytes`` as the smallest array it keeps."""
    before = (pool.POOL.enabled, pool.POOL.max_bytes, pool.POOL.min_bytes)
    try:
        pool.configure(enabled=True, min_bytes=min_bytes, max_bytes=1 << 24)
        pool.clear()
        x = Tensor(np.linspace(-1.0, 1.0, n), requires_grad=True)
        ((x * 3.0).tanh() * x).sum().backward()
        return pool.stats()["held_bytes"]
    finally:
        pool.clear()
        pool.configure(enabled=before[0], max_bytes=before[1], min_bytes=before[2])


def test_a_released_array_of_exactly_the_pools_smallest_size_goes_to_the_pool():
    """``min_bytes`` is the smallest array the pool keeps: a released output or gradient of
    exactly that size is given back, one byte more and none is."""
    n = 512
    at_the_boundary = _pooled_bytes_after_a_backward(8 * n, n)
    assert at_the_boundary == _pooled_bytes_after_a_backward(8 * n - 1, n)
    assert at_the_boundary >= 3 * 8 * n  # the outputs of x*3 and tanh, and a gradient at least
    assert _pooled_bytes_after_a_backward(8 * n + 1, n) == 0
