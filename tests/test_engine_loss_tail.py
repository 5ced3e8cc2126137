"""bce's tail as one node (``autodiff.network_grads.bce_tail``) gives the bits of its four.

The tensor engine records ``softplus(z) - y z``, summed and divided by m, as one primitive
instead of a product, a difference, a sum and a division. It must change nothing but the
number of nodes: the cost and every gradient are compared bit for bit with the same network
recorded one operation at a time through ``network.objective``.
"""

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from conftest import make_problem

from backproof import autodiff, network
from backproof.autodiff import Tensor
from backproof.autodiff.network_grads import TENSOR_OPS, bce_tail
from backproof.autodiff.tape import reverse_tape
from backproof.autodiff.tensor import grads_of


def same_bits(x, y) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    return bool(np.all(x.view(f"u{x.itemsize}") == y.view(f"u{y.itemsize}")))


def one_node_at_a_time(spec, params, X, Y):
    """J and the gradients with every operation of the cost its own node."""
    leaves = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    J = network.objective(spec, leaves, X, Y, TENSOR_OPS)
    return J, dict(zip(leaves, grads_of(J, list(leaves.values()))))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims", [[3, 5, 4, 1], [2, 16, 16, 3]])
@pytest.mark.parametrize("scale", [1.0, 300.0])  # 300: logits far out, where softplus is z or 0
def test_the_fused_tail_gives_the_bits_of_the_four_nodes(dtype, dims, scale):
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=dims, dtype=dtype, m=41)
    X = (X * scale).astype(dtype)
    Y = np.random.default_rng(1).random(Y.shape).astype(dtype)  # soft labels too
    J_ref, grads_ref = one_node_at_a_time(spec, params, X, Y)
    J, grads = autodiff.loss_and_grads(spec, params, X, Y)
    assert J == float(J_ref.data)
    assert list(grads) == list(grads_ref)
    for k in grads:
        assert same_bits(grads[k], grads_ref[k]), k


def test_the_tail_is_one_node_where_it_was_four():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", m=9)
    leaves = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    Z = network.forward(spec, leaves, X, TENSOR_OPS, output=False)[0][-1]
    fused = bce_tail(TENSOR_OPS.softplus(Z), Z, Y)
    general = network.loss_from_output(spec, Z, None, Y, TENSOR_OPS)
    assert fused._prim is bce_tail
    assert len(reverse_tape(general)[0]) - len(reverse_tape(fused)[0]) == 3


def test_its_gradients_are_the_formulas_and_a_wrong_one_would_show():
    rng = np.random.default_rng(2)
    sp_, z_, y = rng.random((2, 7)), rng.standard_normal((2, 7)), rng.random((2, 7))
    sp, z = Tensor(sp_, requires_grad=True), Tensor(z_, requires_grad=True)
    g_sp, g_z = grads_of(bce_tail(sp, z, y), [sp, z])
    theirs = autograd.grad(lambda s, t: anp.sum(s - y * t) / 7, argnum=(0, 1))(sp_, z_)
    np.testing.assert_allclose(g_sp, theirs[0], rtol=1e-15)
    np.testing.assert_allclose(g_z, theirs[1], rtol=1e-15)
    assert not np.allclose(g_z, -theirs[1])  # the sign of y z's gradient is seen


def test_second_derivatives_run_through_the_tail():
    """With create_graph the tail's VJPs record, so a Hessian-vector product goes through it:
    the same first derivatives as the four nodes, and H v = sigmoid'(z) v / m, of v's sign."""
    rng = np.random.default_rng(3)
    z = Tensor(rng.standard_normal((1, 5)), requires_grad=True)
    y = rng.random((1, 5))
    fused = bce_tail(TENSOR_OPS.softplus(z), z, y)
    general = autodiff.primitives.sum(TENSOR_OPS.softplus(z) - y * z) / 5
    (g_fused,) = grads_of(fused, [z], create_graph=True)
    (g_general,) = grads_of(general, [z], create_graph=True)
    assert isinstance(g_fused, Tensor)
    assert same_bits(g_fused.data, g_general.data)
    v = rng.standard_normal((1, 5))
    (h_fused,) = grads_of(autodiff.primitives.sum(g_fused * v), [z])
    (h_general,) = grads_of(autodiff.primitives.sum(g_general * v), [z])
    np.testing.assert_allclose(h_fused, h_general, rtol=1e-14)
    assert np.array_equal(h_fused > 0, v > 0)  # sigmoid' > 0: the curvature is softplus's
