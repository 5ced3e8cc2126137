"""The tensor primitives where the comparison with autograd does not reach: ties, bounds, axes
given every way, 1-D and batched products, second derivatives through each VJP, NumPy's own
functions on tensors, and the messages for what is not recorded."""

import sys

import numpy as np
import pytest
from conftest import peak_bytes

from backproof.autodiff import Tensor, pool
from backproof.autodiff import primitives as P


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=float), requires_grad=True)


def grad_of(f, x0):
    x = leaf(x0)
    P.sum(f(x)).backward()
    return x.grad


def second(f, x0, v=None):
    """d/dx <grad sum f(x), v>: a second derivative through the VJPs recorded as tensors."""
    x = leaf(x0)
    P.sum(f(x)).backward(create_graph=True)
    g = x.grad
    if not g.requires_grad:  # a first derivative that does not depend on x
        return np.zeros_like(x.data)
    v = np.ones_like(x.data) if v is None else v
    x.grad = None
    P.sum(g * v).backward()
    return x.grad


def test_ties_share_the_gradient_and_bounds_stop_it():
    assert grad_of(lambda x: P.max(x), [1.0, 3.0, 3.0]).tolist() == [0.0, 0.5, 0.5]
    assert grad_of(lambda x: P.max(x, axis=0), [[1.0, 5.0], [1.0, 2.0]]).tolist() == [
        [0.5, 1.0],
        [0.5, 0.0],
    ]
    assert grad_of(lambda x: P.max(x, axis=1, keepdims=True), [[2.0, 2.0, 1.0]]).tolist() == [
        [0.5, 0.5, 0.0]
    ]
    assert grad_of(lambda x: P.maximum(x, 1.0), [0.0, 1.0, 2.0]).tolist() == [0.0, 0.5, 1.0]
    assert grad_of(lambda x: P.minimum(x, 1.0), [0.0, 1.0, 2.0]).tolist() == [1.0, 0.5, 0.0]
    other = leaf([1.0, 1.0, 1.0])
    P.sum(P.maximum(leaf([0.0, 1.0, 2.0]), other)).backward()
    assert other.grad.tolist() == [1.0, 0.5, 0.0]
    other = leaf([1.0, 1.0, 1.0])
    P.sum(P.minimum(leaf([0.0, 1.0, 2.0]), other)).backward()
    assert other.grad.tolist() == [0.0, 0.5, 1.0]
    assert grad_of(lambda x: P.clip(x, -1.0, 1.0), [-2.0, -1.0, 0.0, 1.0, 2.0]).tolist() == [
        0.0, 0.0, 1.0, 0.0, 0.0,
    ]  # fmt: skip
    assert grad_of(P.abs, [-2.0, 0.0, 3.0]).tolist() == [-1.0, 0.0, 1.0]
    cond = Tensor(np.array([1.0, 0.0, 2.0]))
    b = leaf([5.0, 5.0, 5.0])
    P.sum(P.where(cond.data > 0.5, leaf([1.0, 2.0, 3.0]), b)).backward()
    assert b.grad.tolist() == [0.0, 1.0, 0.0]
    assert P.where(cond > 0.5, 1.0, 0.0).tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("axis", [0, 1, -1, (0, 2), (-1, 0), None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_send_the_gradient_back_along_any_axes(axis, keepdims):
    x0 = np.arange(24.0).reshape(2, 3, 4) / 10
    w = np.random.default_rng(0).standard_normal(np.sum(x0, axis=axis, keepdims=keepdims).shape)
    g = grad_of(lambda x: P.sum(x, axis=axis, keepdims=keepdims) * w, x0)
    np.testing.assert_allclose(
        g,
        np.broadcast_to(
            np.sum(x0 * 0, axis=axis, keepdims=True)
            + (w if keepdims or axis is None else np.expand_dims(w, axis)),
            x0.shape,
        ),
    )
    m = grad_of(lambda x: P.mean(x, axis=axis, keepdims=keepdims) * w, x0)
    count = x0.size // w.size
    np.testing.assert_allclose(m, g / count, rtol=1e-15)
    lse = grad_of(lambda x: P.logsumexp(x, axis=axis, keepdims=keepdims) * w, x0)
    soft = np.exp(x0 - np.log(np.sum(np.exp(x0), axis=axis, keepdims=True)))
    np.testing.assert_allclose(lse, g * soft, rtol=1e-12)
    assert P.logsumexp(x0, axis=axis, keepdims=keepdims).shape == w.shape


def test_logsumexp_and_softmax_of_large_numbers_stay_finite():
    big = np.array([[1000.0, 1001.0], [-1000.0, 0.0]])
    out = P.logsumexp(big, axis=1)
    np.testing.assert_allclose(out, [1001.0 + np.log1p(np.exp(-1.0)), np.log1p(np.exp(-1000.0))])
    assert P.logsumexp(big).shape == () and np.isfinite(P.logsumexp(big))
    s = P.softmax(big, axis=0)
    np.testing.assert_allclose(s.sum(axis=0), [1.0, 1.0])
    np.testing.assert_allclose(P.softmax(big).sum(axis=-1), [1.0, 1.0])
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = grad_of(lambda x: P.softmax(x, axis=0) * w, big)
    expected = s * (w - np.sum(w * s, axis=0, keepdims=True))
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-300)


def test_products_of_every_rank_and_their_second_derivatives():
    rng = np.random.default_rng(3)
    A, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    v, u = rng.standard_normal(4), rng.standard_normal(3)
    stack = rng.standard_normal((5, 3, 4))
    cases = [  # (x, other, f, dJ/dx for J = sum(f(x)))
        (v, A, lambda x: A @ x, A.T @ np.ones(3)),
        (v, B, lambda x: x @ B, B @ np.ones(2)),
        (v, v, lambda x: x @ v, v),
        (A, v, lambda x: x @ v, np.outer(np.ones(3), v)),
        (B, u, lambda x: (u @ A) @ x, np.outer(u @ A, np.ones(2))),
        (stack, B, lambda x: x @ B, np.ones((5, 3, 2)) @ B.T),
        (B, stack, lambda x: stack @ x, np.einsum("kij,kil->jl", stack, np.ones((5, 3, 2)))),
    ]
    for x0, _, f, expected in cases:
        np.testing.assert_allclose(grad_of(f, x0), expected, rtol=1e-12, atol=1e-12)
    # J = sum((x @ B)^2): H v = 2 (v @ B) B^T, through the matmul VJPs on tensors
    h = second(lambda x: (x @ B) ** 2, v, v=u[:1].repeat(4))
    np.testing.assert_allclose(h, 2 * (u[:1].repeat(4) @ B) @ B.T, rtol=1e-12)
    M = rng.standard_normal((2, 3))
    h = second(lambda x: (M @ x) ** 2, A)  # x a matrix: H 1 = 2 M^T M 1
    np.testing.assert_allclose(h, 2 * M.T @ M @ np.ones((3, 4)), rtol=1e-12)
    h = second(lambda x: (x @ M.T) ** 2, A.T.copy())
    np.testing.assert_allclose(h, 2 * np.ones((4, 3)) @ M.T @ M, rtol=1e-12)
    h = second(lambda x: (x @ v) ** 2, A)
    np.testing.assert_allclose(h, 2 * np.outer(np.ones(3) * v.sum(), v), rtol=1e-12)


def test_product_gradients_weighted_so_that_no_factor_is_one():
    rng = np.random.default_rng(8)
    u, v = rng.standard_normal(4), rng.standard_normal(4)
    B, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    batch, weights = rng.standard_normal((5, 4, 2)), rng.standard_normal((5, 3, 2))
    stack = rng.standard_normal((5, 3, 4))
    cases = [  # (x0, f, dJ/dx for J = sum(f(x)))
        (B, lambda x: (u @ x) * w, np.outer(u, w)),  # a vector times a matrix, by the matrix
        (v, lambda x: (u @ x) * 3.0, 3.0 * u),  # two vectors, by the second
        (stack, lambda x: (x @ batch) * weights, weights @ batch.transpose(0, 2, 1)),
    ]
    for x0, f, expected in cases:
        np.testing.assert_allclose(grad_of(f, x0), expected, rtol=1e-12, atol=1e-12)
    W = leaf([[1.0, 2.0], [3.0, 4.0]])
    z = P.affine(W, [[1.0, 0.0], [0.0, 2.0]], np.zeros((2, 1)))  # a nested list as A
    assert z.data.tolist() == [[1.0, 4.0], [3.0, 8.0]]


def test_affine_with_a_bias_of_any_shape():
    rng = np.random.default_rng(4)
    W, A = rng.standard_normal((3, 2)), rng.standard_normal((2, 5))
    w = rng.standard_normal((3, 5))
    summed = {  # the gradient of sum(affine(W, A, b) * w) for b of each shape: w summed to it
        (3, 1): w.sum(axis=1, keepdims=True), (3, 5): w, (1, 5): w.sum(axis=0, keepdims=True),
        (5,): w.sum(axis=0), (): w.sum(), (1, 1): w.sum(keepdims=True),
    }  # fmt: skip
    for shape, expected in summed.items():
        b = leaf(rng.standard_normal(shape))
        P.sum(P.affine(Tensor(W), Tensor(A), b) * w).backward()
        assert b.grad.shape == shape
        np.testing.assert_allclose(b.grad, expected, rtol=1e-12)
    one = leaf(rng.standard_normal((3, 1)))
    P.sum(P.affine(Tensor(W), Tensor(A[:, :1]), one) * 2.0).backward()  # one column: g itself
    assert one.grad.tolist() == [[2.0], [2.0], [2.0]]
    Wt, At = leaf(W), leaf(A)
    P.sum(P.affine(Wt, At, Tensor(np.zeros((3, 1))))).backward()
    np.testing.assert_allclose(Wt.grad, np.ones((3, 5)) @ A.T, rtol=1e-14)
    np.testing.assert_allclose(At.grad, W.T @ np.ones((3, 5)), rtol=1e-14)
    # J = sum((W A)^2): the Hessian applied to a W of ones is 2 (1 A) A^T
    h = second(lambda x: P.affine(x, Tensor(A), Tensor(np.zeros((3, 1)))) ** 2, W)
    np.testing.assert_allclose(h, 2 * (np.ones((3, 2)) @ A) @ A.T, rtol=1e-12)
    float32 = leaf(np.ones((3, 1))).data.astype(np.float32)
    b32 = Tensor(float32, requires_grad=True)
    P.sum(P.affine(Tensor(W.astype(np.float32)), Tensor(A.astype(np.float32)), b32)).backward()
    assert b32.grad.dtype == np.float32 and b32.grad.tolist() == [[5.0]] * 3


def test_shapes_joins_and_indexes_send_gradients_to_their_place():
    x0 = np.arange(24.0).reshape(2, 3, 4)
    w = np.random.default_rng(5).standard_normal((3, 4, 2))
    g = grad_of(lambda x: P.transpose(x, (1, 2, 0)) * w, x0)
    np.testing.assert_array_equal(g, np.transpose(w, (2, 0, 1)))
    w_reversed = np.random.default_rng(6).standard_normal((4, 3, 2))
    g = grad_of(lambda x: x.transpose() * w_reversed, x0)
    np.testing.assert_array_equal(g, w_reversed.T)
    assert P.reshape(x0, 24).shape == (24,) and P.reshape(x0, [4, 6]).shape == (4, 6)
    ramp = np.arange(24.0)
    g = grad_of(lambda x: P.reshape(x, (6, 4)) * ramp.reshape(6, 4), x0)
    np.testing.assert_array_equal(g, ramp.reshape(2, 3, 4))
    a, b = leaf(np.ones((2, 1))), leaf(np.ones((2, 3)))
    P.sum(P.concatenate([a, b], axis=1) * np.arange(8.0).reshape(2, 4)).backward()
    assert a.grad.tolist() == [[0.0], [4.0]] and b.grad.tolist() == [
        [1.0, 2.0, 3.0],
        [5.0, 6.0, 7.0],
    ]
    c = np.full((2, 1), 7.0)  # an array among tensors is taken as it is
    joined = P.concatenate([a, c], axis=1)
    assert joined.data.tolist() == [[1.0, 7.0], [1.0, 7.0]]
    u, v = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    P.sum(P.stack([u, v], axis=1) * np.array([[1.0, 2.0], [3.0, 4.0]])).backward()
    assert u.grad.tolist() == [1.0, 3.0] and v.grad.tolist() == [2.0, 4.0]
    g = grad_of(lambda x: x[np.array([0, 0, 2])] * np.array([1.0, 10.0, 100.0]), [1.0, 2.0, 3.0])
    assert g.tolist() == [11.0, 0.0, 100.0]  # a repeated index adds up
    h = second(lambda x: x[np.array([1, 1])] ** 2, [1.0, 2.0, 3.0])
    assert h.tolist() == [0.0, 4.0, 0.0]
    g = grad_of(lambda x: P.broadcast_to(x, (3, 2)) * np.arange(6.0).reshape(3, 2), [[1.0, 1.0]])
    assert g.tolist() == [[6.0, 9.0]]


def test_numpy_functions_on_tensors_and_what_is_refused():
    t = leaf([[1.0, -2.0], [3.0, 0.5]])
    assert np.shape(t) == (2, 2) and np.ndim(t) == 2 and np.size(t) == 4
    for func, expected_op in ((np.sum, "sum"), (np.max, "max"), (np.amax, "max"), (np.mean, "mul"),
                              (np.transpose, "transpose")):  # fmt: skip
        assert func(t).op == expected_op
    assert np.dot(t, t).op == "matmul" and np.reshape(t, (4,)).op == "reshape"
    assert np.where(t.data > 0, t, 0.0).op == "where" and np.broadcast_to(t, (3, 2, 2)).shape == (
        3,
        2,
        2,
    )
    assert np.concatenate([t, t]).shape == (4, 2) and np.stack([t, t]).shape == (2, 2, 2)
    clipped = np.clip(t, -1.0, 1.0)
    assert clipped.op == "clip" and clipped.data.tolist() == [[1.0, -1.0], [1.0, 0.5]]
    assert np.clip(t, a_min=0.0, a_max=1.0).data.tolist() == [[1.0, 0.0], [1.0, 0.5]]
    for ufunc, op in ((np.add, "add"), (np.subtract, "sub"), (np.multiply, "mul"),
                      (np.true_divide, "div"), (np.power, "power"), (np.matmul, "matmul"),
                      (np.maximum, "maximum"), (np.minimum, "minimum")):  # fmt: skip
        assert ufunc(t, t).op == op
    for ufunc, op in ((np.negative, "neg"), (np.exp, "exp"), (np.sin, "sin"), (np.cos, "cos"),
                      (np.absolute, "abs"), (np.tanh, "tanh"), (np.expm1, "expm1")):  # fmt: skip
        assert ufunc(t).op == op
    positive = Tensor(np.array([4.0]), requires_grad=True)
    assert np.sqrt(positive).op == "sqrt" and np.log(positive).op == "log"
    assert (np.less(t, 0.0).tolist(), np.equal(t, t).all()) == (
        [[False, True], [False, False]],
        True,
    )
    assert np.not_equal(t, 1.0).sum() == 3 and np.greater_equal(t, 1.0).sum() == 2
    with pytest.raises(TypeError) as info:
        np.exp(t, out=np.empty((2, 2)))
    assert str(info.value).startswith(
        "numpy.exp with ['out'] on a Tensor is not recorded on the tape; use one of "
        "['absolute', 'add',"
    )
    assert str(info.value).endswith("(without out=, where=), or apply it to t.data")
    with pytest.raises(TypeError) as info:
        np.add.reduce(t)
    assert str(info.value).startswith("numpy.add.reduce on a Tensor is not recorded on the tape")
    with pytest.raises(TypeError) as info:
        np.arctan(t)
    assert str(info.value).startswith("numpy.arctan on a Tensor is not recorded on the tape")
    with pytest.raises(TypeError) as info:
        np.sort(t)
    assert str(info.value).startswith(
        "numpy.sort on a Tensor is not recorded on the tape; use one of ['amax', 'broadcast_to',"
    )
    assert str(info.value).endswith(", or apply it to t.data")


def test_elementary_functions_and_their_second_derivatives():
    x0 = np.array([0.5, 1.5])
    for f, d1, d2 in (
        (P.exp, np.exp, np.exp),
        (P.expm1, np.exp, np.exp),
        (P.log, lambda x: 1 / x, lambda x: -1 / x**2),
        (P.sqrt, lambda x: 0.5 / np.sqrt(x), lambda x: -0.25 * x**-1.5),
        (P.sin, np.cos, lambda x: -np.sin(x)),
        (P.cos, lambda x: -np.sin(x), lambda x: -np.cos(x)),
        (lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x),
        (lambda x: 2.0**x, lambda x: 2.0**x * np.log(2.0), lambda x: 2.0**x * np.log(2.0) ** 2),
        (lambda x: 1.0 / x, lambda x: -1 / x**2, lambda x: 2 / x**3),
        (lambda x: 3.0 - x, lambda x: -np.ones_like(x), lambda x: np.zeros_like(x)),
        (P.tanh, lambda x: 1 - np.tanh(x) ** 2, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    ):
        np.testing.assert_allclose(grad_of(f, x0), d1(x0), rtol=1e-12)
        np.testing.assert_allclose(second(f, x0), d2(x0), rtol=1e-12, atol=1e-15)


def test_numpy_functions_called_with_their_defaults_differentiate_like_numpy():
    t = leaf(np.arange(6.0).reshape(2, 3))
    assert np.mean(t).shape == () and np.mean(t).item() == 2.5
    np.max(t, axis=1).sum().backward()  # no keepdims given: the rows' maxima, shape (2,)
    assert t.grad.tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    a, b = leaf(np.ones((1, 2))), leaf(np.ones((2, 2)))
    P.sum(np.concatenate([a, b]) * np.arange(6.0).reshape(3, 2)).backward()  # axis=0
    assert a.grad.tolist() == [[0.0, 1.0]] and b.grad.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    u, v = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    P.sum(np.stack([u, v]) * np.arange(6.0).reshape(2, 3)).backward()  # axis=0
    assert u.grad.tolist() == [0.0, 1.0, 2.0] and v.grad.tolist() == [3.0, 4.0, 5.0]
    below = np.clip(leaf([-1.0, 2.0]), a_min=0.0)  # numpy's own name, one bound only
    assert below.data.tolist() == [0.0, 2.0]


@pytest.fixture
def engine_pool():
    """The engine's pool, on, with its default smallest size (64 KiB); restored afterwards."""
    before = (pool.POOL.enabled, pool.POOL.min_bytes)
    pool.configure(enabled=True, min_bytes=64 << 10)
    yield pool.POOL
    pool.configure(enabled=before[0], min_bytes=before[1])


def requests() -> int:
    counts = pool.stats()
    return counts["hits"] + counts["misses"]


def affine_of(rows: int, cols: int, dtype_W=np.float64, dtype_A=np.float64) -> Tensor:
    W = Tensor(np.ones((rows, 3), dtype=dtype_W), requires_grad=True)
    A = np.ones((3, cols), dtype=dtype_A)
    return P.affine(W, A, np.zeros((rows, 1), dtype=dtype_W))


def test_a_layers_product_asks_the_pool_from_exactly_its_smallest_size(engine_pool):
    before = requests()
    affine_of(64, 127)  # 65,024 bytes: left to NumPy
    assert requests() == before
    affine_of(64, 128)  # 65,536 bytes: exactly the pool's smallest
    assert requests() == before + 1
    engine_pool.enabled = False
    affine_of(64, 128)
    assert requests() == before + 1
    engine_pool.enabled = True
    z = affine_of(64, 128, np.complex128, np.complex128)  # the pool serves float arrays only
    assert requests() == before + 1 and z.dtype == np.complex128


def test_a_product_of_two_dtypes_has_numpys_dtype_in_or_out_of_the_pool(engine_pool):
    for dtype_W, dtype_A, expected in (
        (np.float32, np.float64, np.float64),
        (np.float64, np.float32, np.float64),
        (np.float16, np.float32, np.float32),
        (np.float32, np.float16, np.float32),
    ):
        z = affine_of(128, 128, dtype_W, dtype_A)
        assert z.dtype == expected and z.data.tolist() == np.full((128, 128), 3.0).tolist()


@pytest.mark.parametrize("inner", [1, 3])  # one unit: the elementwise path; more: matmul
def test_a_large_product_is_written_into_the_memory_the_pool_holds(engine_pool, inner):
    kept = np.empty((64, 128))
    engine_pool.give(kept)
    W = Tensor(np.full((64, inner), 2.0), requires_grad=True)
    z = P.affine(W, np.ones((inner, 128)), np.zeros((64, 1)))
    assert z.data is kept  # the forward output
    assert z.data.tolist() == np.full((64, 128), 2.0 * inner).tolist()
    x = Tensor(np.ones((64, 128)), requires_grad=True)
    B = np.full((128, inner), 0.5)
    engine_pool.give(kept := np.empty((64, 128)))
    P.sum(P.matmul(x, B)).backward()  # dJ/dx = ones @ B^T, a (64, 128) product
    assert x.grad is kept and x.grad.tolist() == np.full((64, 128), 0.5 * inner).tolist()
    y = Tensor(np.ones((64, 128)), requires_grad=True)  # the second operand: C^T @ dJ/d(C y)
    engine_pool.give(kept := np.empty((64, 128)))
    P.sum(P.matmul(np.full((inner, 64), 0.25), y)).backward()
    assert y.grad is kept and y.grad.tolist() == np.full((64, 128), 0.25 * inner).tolist()


def test_a_full_sums_gradient_is_an_array_the_backward_pass_recycles(engine_pool):
    engine_pool.clear()
    x = Tensor(np.full((128, 128), 0.5), requires_grad=True)
    P.sum(x * 3.0).backward()  # the sum's VJP fills a new array with g, not a broadcast view
    # released to the pool: the product's output and the gradient the sum handed it
    assert pool.stats()["held_bytes"] == 2 * x.data.nbytes
    assert x.grad.tolist() == np.full((128, 128), 3.0).tolist()


def test_a_bound_computed_from_a_tensor_gets_no_gradient():
    x, low = leaf([-0.5, 0.25, 1.5]), leaf(0.0)
    doubled = x * 2.0  # recorded before the bound: the backward pass reaches it after the bound
    bound = low * 1.0  # a recorded node, not a leaf, that receives no gradient
    P.sum(P.clip(doubled, bound, 2.0)).backward()
    assert x.grad.tolist() == [0.0, 2.0, 0.0] and low.grad is None


def test_under_a_tracer_the_backward_pass_recycles_nothing(engine_pool):
    def watcher(frame, event, arg):
        return None

    engine_pool.clear()
    x = Tensor(np.full((128, 128), 0.5), requires_grad=True)
    y = P.sum(x * 3.0)
    before = sys.gettrace()
    sys.settrace(watcher)  # a debugger or coverage: references the counts cannot see
    try:
        y.backward()
    finally:
        sys.settrace(before)
    assert pool.stats()["held_bytes"] == 0
    assert x.grad.tolist() == np.full((128, 128), 3.0).tolist()


def test_an_ordinary_backward_through_an_activation_works_in_place(engine_pool):

    engine_pool.clear()
    x = Tensor(np.full((128, 128), 0.5), requires_grad=True)  # 128 KiB
    y = P.sum(P.tanh(x))
    _, peak = peak_bytes(y.backward)  # the sum's gradient: one new array; tanh's VJP writes into it
    assert peak < 1.5 * x.data.nbytes
    np.testing.assert_allclose(x.grad, 1 - np.tanh(0.5) ** 2, rtol=1e-15)
