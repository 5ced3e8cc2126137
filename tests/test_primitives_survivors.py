"""The primitives ``autodiff.primitives`` builds while it is imported, as a user meets them.

One primitive per registered activation (``_activation_primitive``), its forward writing into
an array from the engine's pool (``_pooled``), the elementwise ones as ``Tensor`` methods
(``_method``), and ``np.shape``/``np.ndim``/``np.size`` on tensors (``_metadata``). Each test
states what a user relies on: the primitive's name on the tape, its values and its first and
second derivatives against autograd, the dtype it keeps, when it takes its output from the pool
(``pool.stats()`` and the array handed back), and the numbers NumPy's metadata functions give.
"""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import elementwise_grad

from backproof.autodiff import TENSOR_PRIMITIVES, Tensor, pool
from backproof.autodiff import primitives as P
from backproof.network.activations import REGISTRY, Activation

ELEMENTWISE = [name for name, act in REGISTRY.items() if act.elementwise]
# the input side: no entry sits at a kink of relu, leaky_relu, elu or softsign
Z = np.array([[-1.7, -0.4, 0.3], [0.9, 2.2, -2.6]])

# each activation written with autograd's NumPy, to differentiate independently of the engine
AUTOGRAD_FORMS = {
    "sigmoid": lambda z: 1.0 / (1.0 + anp.exp(-z)),
    "tanh": anp.tanh,
    "relu": lambda z: anp.where(z > 0, z, 0.0 * z),
    "linear": lambda z: z,
    "softplus": lambda z: anp.logaddexp(0.0, z),
    "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
    "elu": lambda z: anp.where(z > 0, z, anp.exp(anp.minimum(z, 0.0)) - 1.0),
    "gelu": lambda z: 0.5 * z * (1 + anp.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "silu": lambda z: z / (1.0 + anp.exp(-z)),
    "softsign": lambda z: z / (1.0 + anp.abs(z)),
    # down each column, as the network's last layer uses it
    "softmax": lambda z: anp.exp(z) / anp.sum(anp.exp(z), axis=-2, keepdims=True),
}


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=float), requires_grad=True)


def test_every_activation_is_covered_here():
    assert sorted(AUTOGRAD_FORMS) == sorted(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_activation_is_a_primitive_named_after_its_entry(name):
    prim = P.ACTIVATIONS[name]
    assert repr(prim) == f"<primitive {name}>"
    assert TENSOR_PRIMITIVES[name] is prim
    out = prim(leaf(Z))
    assert out.op == name  # what the tape, repr and drawings call the node
    assert f"op={name}" in repr(out)
    np.testing.assert_allclose(out.data, AUTOGRAD_FORMS[name](Z), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(prim(Z), AUTOGRAD_FORMS[name](Z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_forward_keeps_its_kernels_name_and_docstring(name):
    """``help(prim.forward)`` shows the kernel's math, whether or not the pool wraps it."""
    kernel = REGISTRY[name].kernel
    assert P.ACTIVATIONS[name].forward.__name__ == kernel.__name__
    assert P.ACTIVATIONS[name].forward.__doc__ == kernel.__doc__


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activations_are_functions_and_tensor_methods(name):
    assert getattr(P, name) is P.ACTIVATIONS[name]
    method = getattr(Tensor, name)
    assert method.__name__ == name
    out = method(leaf(Z))
    assert out.op == name
    np.testing.assert_allclose(out.data, AUTOGRAD_FORMS[name](Z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_first_and_second_derivatives_match_autograd(name):
    """d/dz sum f(z), recorded with create_graph=True, then differentiated again: through the
    VJP on arrays (the first backward) and on tensors (the second)."""
    form = AUTOGRAD_FORMS[name]
    v = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])  # weights, so softmax's sum is not flat
    first = elementwise_grad(lambda z: anp.sum(form(z) * v))

    x = leaf(Z)
    P.sum(P.ACTIVATIONS[name](x) * v).backward()  # an ordinary backward pass
    np.testing.assert_allclose(x.grad, first(Z), rtol=1e-10, atol=1e-14)

    x = leaf(Z)
    P.sum(P.ACTIVATIONS[name](x) * v).backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.data, first(Z), rtol=1e-10, atol=1e-14)
    if not g.requires_grad:  # a derivative that does not depend on x (second derivative 0)
        assert name in ("linear", "relu", "leaky_relu")
        return
    x.grad = None
    P.sum(g * v).backward()
    second = elementwise_grad(lambda z: anp.sum(first(z) * v))
    np.testing.assert_allclose(x.grad, second(Z), rtol=1e-9, atol=1e-12)


def test_an_activation_of_its_input_never_lets_its_backward_kernel_overwrite_the_input():
    """A registry entry that needs its input Z (``from_output=False``) and has an in-place
    backward kernel (none of the shipped ones has both; a new entry may). The ordinary backward
    pass calls that kernel, but never tells it that it owns Z: Z is the caller's (here the
    leaf's data), not the tape's. The registry is read once, when ``primitives`` is imported,
    so the entry is made a primitive with the factory the import uses."""

    def half_square(z, out=None):
        return np.multiply(z, 0.5 * z, out=out)

    def backward(g, z, overwrite_g, overwrite_x):
        grad = z if overwrite_x else z.copy()  # dJ/dZ = g z, built in z's memory when allowed
        grad *= g
        return grad

    entry = Activation(
        name="half_square_of_this_test",
        summary="z^2/2; g' needs Z",
        kernel=half_square,
        from_output=False,
        vjp=lambda g, z, xp: g * z,
        formula=lambda z, xp: 0.5 * z * z,
        backward=backward,
    )
    prim = P._activation_primitive(entry)
    try:
        v = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
        x = leaf(Z)
        P.sum(prim(x) * v).backward()
        np.testing.assert_array_equal(x.data, Z)  # the input is untouched
        np.testing.assert_array_equal(x.grad, v * Z)
    finally:
        TENSOR_PRIMITIVES.pop(entry.name, None)


# -- the pool ------------------------------------------------------------------------------------
@pytest.fixture
def fresh_pool():
    """The pool on, empty, with its default smallest array (64 KiB); as it was afterwards."""
    before = pool.POOL.enabled, pool.POOL.max_bytes, pool.POOL.min_bytes
    pool.configure(enabled=True, min_bytes=64 << 10)
    pool.clear()
    yield pool.POOL
    enabled, max_bytes, min_bytes = before
    pool.clear()
    pool.configure(enabled=enabled, max_bytes=max_bytes, min_bytes=min_bytes)


def requests() -> int:
    stats = pool.stats()
    return stats["hits"] + stats["misses"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", [n for n in REGISTRY if n != "linear"])
def test_an_output_of_exactly_min_bytes_reuses_an_array_the_pool_holds(fresh_pool, name, dtype):
    rows = fresh_pool.min_bytes // np.dtype(dtype).itemsize // 64
    z = np.random.default_rng(0).normal(size=(rows, 64)).astype(dtype)
    assert z.nbytes == fresh_pool.min_bytes
    given_back = np.empty_like(z)
    fresh_pool.give(given_back)
    hits = pool.stats()["hits"]

    out = P.ACTIVATIONS[name](z)

    assert out is given_back  # the pool's memory, written in place
    assert pool.stats()["hits"] == hits + 1
    assert out.dtype == dtype
    expected = AUTOGRAD_FORMS[name](z.astype(np.float64))
    if dtype == np.float32:
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


def test_the_identity_hands_back_its_input_without_the_pool(fresh_pool):
    z = np.ones((fresh_pool.min_bytes // 8 // 64, 64))
    before = requests()
    assert P.ACTIVATIONS["linear"](z) is z
    assert requests() == before


def test_small_arrays_and_numbers_are_left_to_numpy(fresh_pool):
    """Below min_bytes (one entry short of it), and for a plain number, no pool request."""
    z = np.full(fresh_pool.min_bytes // 8 - 1, 0.5)
    before = requests()
    np.testing.assert_allclose(P.ACTIVATIONS["sigmoid"](z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    assert P.ACTIVATIONS["tanh"](0.5) == pytest.approx(np.tanh(0.5), rel=1e-15)
    assert P.relu(-2.0) == 0.0
    assert requests() == before


def test_with_the_pool_off_a_large_output_is_numpys_own(fresh_pool):
    pool.configure(enabled=False)
    z = np.full((fresh_pool.min_bytes // 8 // 64, 64), 2.0)
    before = requests()
    np.testing.assert_allclose(P.ACTIVATIONS["softplus"](z), np.logaddexp(0.0, z), rtol=1e-15)
    assert requests() == before


# -- NumPy's metadata functions on tensors -------------------------------------------------------
def test_numpy_shape_ndim_and_size_read_a_tensors_data():
    t = leaf(np.zeros((2, 3)))
    assert np.shape(t) == (2, 3)
    assert np.ndim(t) == 2
    assert np.size(t) == 6
    assert np.size(t, 1) == 3  # the axis given by position
    assert np.size(t, axis=0) == 2  # and by name
