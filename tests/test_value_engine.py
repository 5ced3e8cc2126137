"""The scalar engine's fast paths: ``Value``'s operators compute their forward in their own
bodies and ``backward`` chains the derivatives of + - * / ** in its own loop, over its own walk
of the graph. They must give bit for bit the numbers of the general rule they short-cut: the
tape's walk (``autodiff.tape.reverse_tape``) and each primitive's registered VJPs."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.autodiff import Value
from backproof.autodiff.tape import reverse_tape


def bits(x: float) -> bytes:
    """The float's IEEE bytes: equal only when bit for bit equal (signed zeros, NaNs apart)."""
    return struct.pack("<d", x)


def registry_gradients(root: Value) -> dict[int, float]:
    """d(root)/d(node) by id for every node ``root`` depends on, by the general rule: the tape's
    walk, latest first, and each primitive's registered VJPs on floats, each argument's share
    added into its gradient in the order of the arguments (leaves start from their ``.grad``,
    recorded nodes from 0.0), as the engine did before its fast paths."""
    nodes, leaves = reverse_tape(root)
    grads = {id(leaf): leaf.grad for leaf in leaves}
    grads.update({id(node): 0.0 for node in nodes})
    grads[id(root)] = 1.0
    for node in nodes:
        g, args = grads[id(node)], node._args
        raw = [a.data if type(a) is Value else a for a in args]
        for i, arg in enumerate(args):
            if type(arg) is Value and node._prim.vjps[i] is not None:
                grads[id(arg)] += node._prim.vjps[i](g, node.data, *raw)
    return grads


# one step of a random expression: which operation, two operands among the nodes made so far (so
# sub-expressions are shared), and a constant for the forms that take a number
OPERATIONS = {
    "a + b": lambda a, b, c: a + b,
    "a - b": lambda a, b, c: a - b,
    "a * b": lambda a, b, c: a * b,
    "a / b": lambda a, b, c: a / b if abs(b.data) > 0.25 else a / c,
    "a + c": lambda a, b, c: a + c,
    "c + a": lambda a, b, c: c + a,
    "a - c": lambda a, b, c: a - c,
    "c - a": lambda a, b, c: c - a,
    "a * c": lambda a, b, c: a * c,
    "c * a": lambda a, b, c: c * a,
    "a / c": lambda a, b, c: a / c,
    "c / a": lambda a, b, c: c / a if abs(a.data) > 0.25 else c * a,
    "int + a": lambda a, b, c: 2 + a,
    "a * int": lambda a, b, c: a * 3,
    "a * a": lambda a, b, c: a * a,
    "a ** 2": lambda a, b, c: a**2,
    "a ** 0.5": lambda a, b, c: abs_value(a) ** 0.5,
    "-a": lambda a, b, c: -a,
    "tanh": lambda a, b, c: a.tanh(),
    "relu": lambda a, b, c: a.relu(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "exp": lambda a, b, c: (a * 0.1).exp(),
    "log": lambda a, b, c: (a * a + 1.0).log(),
}


def abs_value(a: Value) -> Value:
    return a if a.data > 0 else -a + 1e-3 if a.data == 0 else -a


constants = st.floats(-3, 3, allow_nan=False).filter(lambda c: abs(c) > 0.25)
steps = st.tuples(st.sampled_from(sorted(OPERATIONS)), st.integers(0), st.integers(0), constants)


def build(leaves: list[float], plan: list) -> tuple[list[Value], list[Value]]:
    """The leaves and every node of the expression the plan describes (the last is the output)."""
    xs = [Value(x) for x in leaves]
    made = list(xs)
    for name, i, j, c in plan:
        a, b = made[i % len(made)], made[j % len(made)]
        node = OPERATIONS[name](a, b, c)
        if math.isfinite(node.data) and abs(node.data) < 1e6:
            made.append(node)
    return xs, made


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4),
    st.lists(steps, min_size=1, max_size=40),
)
def test_backward_gives_the_registry_rule_bit_for_bit(leaves, plan):
    xs, made = build(leaves, plan)
    out = made[-1] * made[len(made) // 2] + made[0]  # several paths into the output
    expected = registry_gradients(out)
    out.backward()
    for node in made + [out]:
        if id(node) in expected:
            assert bits(node.grad) == bits(expected[id(node)]), node
        elif node._prim is not None:  # a node out's value does not depend on
            assert node.grad == 0.0
    # a second pass: the leaves accumulate from where they are, the nodes start again from 0
    expected = registry_gradients(out)
    out.backward()
    for x in xs:
        assert bits(x.grad) == bits(expected.get(id(x), x.grad))


def test_the_shares_of_a_gradient_add_up_latest_node_first():
    # the bit-for-bit comparison above can fail: the same shares added in another order give
    # another float, and the rule is one order, that of the walk (latest node first)
    x = Value(0.1)
    out = x * 0.7 + x * 1e16 + x * -1e16
    out.backward()
    assert bits(x.grad) == bits(registry_gradients(out)[id(x)])
    assert x.grad == (-1e16 + 1e16) + 0.7 == 0.7
    assert (0.7 + 1e16) + -1e16 == 0.0  # earliest first: the 0.7 is lost


@pytest.mark.parametrize(
    "make, data, args",
    [
        (lambda x: 2.0 - x, -1.0, (2.0, "x")),
        (lambda x: 2 + x, 5.0, (2, "x")),
        (lambda x: np.float64(0.5) * x, 1.5, (0.5, "x")),
        (lambda x: 6.0 / x, 2.0, (6.0, "x")),
        (lambda x: x - 2.0, 1.0, ("x", 2.0)),
        (lambda x: x / 4, 0.75, ("x", 4)),
    ],
)
def test_reflected_and_plain_operators_keep_the_order_of_the_math(make, data, args):
    x = Value(3.0)
    y = make(x)
    assert y.data == data
    assert y._args == tuple(x if a == "x" else a for a in args)
    y.backward()
    h = 1e-6
    slope = (make(Value(3.0 + h)).data - make(Value(3.0 - h)).data) / (2 * h)
    assert x.grad == pytest.approx(slope, rel=1e-7)


def test_a_node_used_twice_and_as_both_operands_gets_every_share():
    x = Value(1.5)
    y = x * x  # both operands the same node: 2x
    z = y + y * y - y / x  # y used three times, x twice
    z.backward()
    # dz/dy = 1 + 2y - 1/x; dz/dx = dz/dy * 2x + y/x^2
    dz_dy = 1 + 2 * 2.25 - 1 / 1.5
    assert y.grad == pytest.approx(dz_dy, rel=1e-15)
    assert x.grad == pytest.approx(dz_dy * 3.0 + 2.25 / 1.5**2, rel=1e-15)


def test_a_chain_of_a_hundred_thousand_nodes_backpropagates_without_recursion():
    x = Value(0.5)
    y = x
    for i in range(100_000):
        y = y + x if i % 2 else y * 0.9999
    y.backward()
    # y_{2k} = 0.9999 y_{2k-1}, then + x: dy/dx summed along the chain, written as a recurrence
    d = 1.0
    for i in range(100_000):
        d = d + 1.0 if i % 2 else d * 0.9999
    assert x.grad == pytest.approx(d, rel=1e-9)


def test_intermediate_gradients_restart_each_pass_and_unrelated_nodes_are_untouched():
    x, w = Value(2.0), Value(-1.0)
    hidden = x * w
    out = hidden.tanh() * 3.0
    other = hidden + 1.0  # made from the same node, but out does not depend on it
    other.grad = 7.0
    out.backward()
    first = (x.grad, hidden.grad)
    out.backward()
    assert hidden.grad == first[1]  # a node's gradient belongs to one pass
    assert x.grad == 2 * first[0]  # a leaf accumulates, as in micrograd
    assert other.grad == 7.0
    leaf = Value(4.0)
    leaf.backward()
    assert leaf.grad == 1.0


@pytest.mark.parametrize("bad", ["2", [1.0], None])
def test_an_operand_that_is_not_a_number_is_refused(bad):
    with pytest.raises(TypeError):
        Value(1.0) + bad
    with pytest.raises(TypeError):
        bad * Value(1.0)
