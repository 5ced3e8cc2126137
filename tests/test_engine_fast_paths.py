"""The engine's fast paths give the bits of its general paths.

Each shortcut the tensor engine takes for speed (an outer product written as an elementwise
product, the bias gradient summed inside ``affine``'s VJP, the full sum's gradient filled in
rather than broadcast, the ownership question asked once per backward pass) has a general form
it must agree with exactly: these tests compare the bits, not a tolerance.
"""

import sys

import numpy as np
import pytest
from conftest import make_problem

from backproof import autodiff, network
from backproof.autodiff import Tensor
from backproof.autodiff import primitives as P
from backproof.autodiff.tape import sum_to_shape


def same_bits(x, y) -> bool:
    """Equal shapes, dtypes and bit patterns (so -0.0 differs from +0.0, and NaNs compare)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    unsigned = f"u{x.itemsize}"
    return bool(np.all(x.view(unsigned) == y.view(unsigned)))


def test_same_bits_tells_the_sign_of_zero_and_the_dtype():
    assert same_bits(np.array([0.0, 1.5]), np.array([0.0, 1.5]))
    assert not same_bits(np.array([0.0]), np.array([-0.0]))
    assert not same_bits(np.array([1.0]), np.array([1.0], dtype=np.float32))
    assert not same_bits(np.array([1.0, 2.0]), np.array([[1.0, 2.0]]))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_product_over_one_summed_dimension_has_the_bits_of_the_matrix_product(dtype):
    rng = np.random.default_rng(0)
    for rows, cols in [(16, 1000), (1, 7), (300, 300)]:  # the last one comes from the pool
        col = rng.standard_normal((rows, 1)).astype(dtype)
        row = rng.standard_normal((1, cols)).astype(dtype)
        col[::5] = 0.0  # zeros of both signs meet negative and positive factors
        row[0, ::7] = -0.0
        assert same_bits(P._product(col, row), np.matmul(col, row))
        # as matmul's VJPs see it: W^T g for a W of one row, g b^T for a b of one column
        assert same_bits(P._matmul_vjp_b(row, None, col.T, None), np.matmul(col, row))
        assert same_bits(P._matmul_vjp_a(col, None, None, row.T), np.matmul(col, row))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_affine_sums_its_bias_gradient_as_the_tape_would(dtype):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((16, 8)).astype(dtype)
    A = rng.standard_normal((8, 1000)).astype(dtype)
    g = rng.standard_normal((16, 1000)).astype(dtype)
    b = np.zeros((16, 1), dtype)
    fused = P._affine_vjp_b(g, None, W, A, b)
    assert same_bits(fused, sum_to_shape(g, b.shape))
    # any other shape of b is left to the tape, which sums g back to it
    for other in [np.zeros(1000, dtype), np.zeros((1, 1000), dtype), np.zeros((16, 1000), dtype)]:
        assert P._affine_vjp_b(g, None, W, A, other) is g


def test_a_full_sum_and_its_gradient_match_numpy_and_the_broadcast():
    rng = np.random.default_rng(2)
    for dtype in ["float64", "float32"]:
        a = rng.standard_normal((7, 300)).astype(dtype)
        assert same_bits(P.sum(a), np.sum(a))
        assert same_bits(P.sum(a, axis=1, keepdims=True), np.sum(a, axis=1, keepdims=True))
        g = np.asarray(rng.standard_normal(), dtype=dtype)
        filled = P._sum_vjp(g, None, a)
        assert same_bits(filled, np.broadcast_to(g, a.shape))
        assert filled.flags.writeable  # a fresh array: a later VJP may work in it


def _grads_both_ways(spec, params, X, Y):
    """The gradients by an ordinary, releasing backward pass (the fast paths) and by one that
    records itself (create_graph: every VJP runs as primitives on tensors, the general path)."""
    _, fast = autodiff.loss_and_grads(spec, params, X, Y)
    leaves = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    J = network.objective(spec, leaves, X, Y, autodiff.TENSOR_OPS)
    J.backward(create_graph=True)
    return fast, {k: leaf.grad.data for k, leaf in leaves.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "pairing", [("sigmoid", "sigmoid", "bce"), ("tanh", "linear", "mse"), ("relu", "softmax", "ce")]
)
def test_the_released_backward_pass_has_the_bits_of_the_recorded_one(pairing, dtype):
    n_out = 3 if pairing[2] == "ce" else 1  # one output unit: the outer-product path
    spec, params, X, Y = make_problem(*pairing, dims=[4, 9, 6, n_out], m=40, dtype=dtype)
    fast, general = _grads_both_ways(spec, params, X, Y)
    for k in params:
        assert same_bits(fast[k], general[k]), k


def test_under_a_tracer_the_backward_pass_works_out_of_place_with_the_same_bits():
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "bce", dims=[3, 6, 5, 1], m=30)
    _, plain = autodiff.loss_and_grads(spec, params, X, Y)
    leaves = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    hidden = autodiff.sigmoid(P.affine(leaves["W1"], X, leaves["b1"]))
    kept = hidden.data
    seen = []
    previous = sys.gettrace()
    sys.settrace(lambda *args: seen.append(1))  # a tracer's frames may hold any local
    try:
        (hidden * 2.0).sum().backward()
        _, traced = autodiff.loss_and_grads(spec, params, X, Y)
    finally:
        sys.settrace(previous)
    assert seen  # the tracer did watch
    assert hidden.data is kept  # the caller's intermediate was neither overwritten nor taken
    for k in params:
        assert same_bits(traced[k], plain[k]), k
