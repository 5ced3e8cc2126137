"""network/activations.py: every registry entry, checked piece by piece, and the registry's own
refusals. Parametrised from the registry, so a new entry is checked the moment it is added."""

import warnings

import autograd
import numpy as np
import pytest

from backproof import autodiff, network
from backproof.autodiff import Tensor, Value
from backproof.compare import reference
from backproof.network.activations import NUMPY_MATH, REGISTRY, Activation, register

NAMES = list(REGISTRY)
ELEMENTWISE = [n for n in NAMES if REGISTRY[n].elementwise]
# points on both sides of every kink and across the saturated tails, none exactly at a kink
Z = np.array([[-30.0, -4.0, -1.3, -0.2, 0.3, 1.1], [2.5, 6.0, 40.0, -0.7, 0.05, -0.05]])


def _x(act, z):
    """What the activation's derivative is written in: its output or its input."""
    return act.kernel(z) if act.from_output else z


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_writes_into_out_and_keeps_the_dtype(name, dtype):
    act = REGISTRY[name]
    z = Z.astype(dtype)
    want = act.kernel(z)
    assert want.dtype == np.dtype(dtype) and want.shape == z.shape
    buf = np.empty_like(z)
    assert act.kernel(z, out=buf) is buf and np.array_equal(buf, want)
    inplace = z.copy()
    act.kernel(inplace, out=inplace)
    assert np.array_equal(inplace, want)
    assert np.array_equal(z, Z.astype(dtype))  # out=None leaves z alone


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernel_takes_a_number_and_a_0d_array(name, dtype):
    """At a 0-d input NumPy's ufuncs answer with a scalar, which ``out=`` cannot write into."""
    act = REGISTRY[name]
    row = act.kernel(Z.astype(dtype)).ravel()
    for k, z in enumerate(Z.astype(dtype).ravel()):
        for given in (z, np.asarray(z)):
            got = act.kernel(given)
            assert np.ndim(got) == 0 and np.result_type(got) == np.dtype(dtype)
            assert got == row[k], (name, float(z))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_a_0d_tensor_has_the_value_and_derivative_of_the_scalar(name):
    x = Tensor(np.array(0.3), requires_grad=True)
    y = getattr(x, name)()
    y.backward()
    act = REGISTRY[name]
    assert y.data == act.kernel(np.array([0.3]))[0]
    slope = autograd.grad(lambda z: act.formula(z, reference.AUTOGRAD_MATH))(0.3)
    assert x.grad == pytest.approx(slope, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_formula_is_the_kernel(name):
    act = REGISTRY[name]
    np.testing.assert_allclose(act.formula(Z, NUMPY_MATH), act.kernel(Z), rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name", NAMES)
def test_vjp_agrees_with_autograd_and_the_complex_step(name):
    act = REGISTRY[name]
    g = np.random.default_rng(1).standard_normal(Z.shape)
    ours = act.vjp(g, _x(act, Z), NUMPY_MATH)

    def f(z):
        return autograd.numpy.sum(act.formula(z, reference.AUTOGRAD_MATH) * g)

    np.testing.assert_allclose(ours, autograd.grad(f)(Z), rtol=1e-11, atol=1e-14)
    if act.elementwise:  # the complex step gives each entry's derivative g'(z) at once
        h = 1e-30
        slope = np.imag(act.formula(Z + 1j * h, reference.COMPLEX_MATH)) / h
        np.testing.assert_allclose(ours, g * slope, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_derivative_is_caught_by_the_same_comparison(name):
    # the negative case of the check above: a derivative off by a little in one entry fails it
    act = REGISTRY[name]
    g = np.random.default_rng(1).standard_normal(Z.shape)
    wrong = np.array(act.vjp(g, _x(act, Z), NUMPY_MATH))  # a copy (linear returns g itself)
    wrong[1, 1] += 1e-9 * np.max(np.abs(wrong))

    def f(z):
        return autograd.numpy.sum(act.formula(z, reference.AUTOGRAD_MATH) * g)

    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong, autograd.grad(f)(Z), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_numpy_backward_kernel_gives_the_vjps_numbers_bit_for_bit(name, dtype):
    act = REGISTRY[name]
    z = Z.astype(dtype)
    g = np.random.default_rng(2).standard_normal(z.shape).astype(dtype)
    want = act.vjp(g, _x(act, z), NUMPY_MATH)
    assert want.dtype == np.dtype(dtype)
    for overwrite in (False, True):
        g_in, x_in = g.copy(), _x(act, z).copy()
        got = act.backward_numpy(g_in, x_in, overwrite_g=overwrite, overwrite_x=overwrite)
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, want)
        if not overwrite:
            assert np.array_equal(g_in, g) and np.array_equal(x_in, _x(act, z))


@pytest.mark.parametrize("name", NAMES)
def test_the_engine_uses_the_entry_in_both_modes(name):
    act = REGISTRY[name]
    g = np.random.default_rng(3).standard_normal(Z.shape)
    want = act.vjp(g, _x(act, Z), NUMPY_MATH)
    t = Tensor(Z, requires_grad=True)
    out = autodiff.TENSOR_OPS.activation(name)(t)
    assert out.op == name and np.array_equal(out.data, act.kernel(Z))
    out.backward(g)
    np.testing.assert_allclose(t.grad, want, rtol=1e-15, atol=0)
    if act.elementwise:  # one scalar primitive per entry
        for z, gz, w in zip(Z.flat, g.flat, want.flat):
            v = Value(float(z))
            y = getattr(v, name)()
            assert y.data == pytest.approx(float(act.kernel(np.array([z]))[0]), rel=1e-14)
            (y * gz).backward()
            # math's tanh and exp on floats, NumPy's on arrays: the last digits may differ
            assert v.grad == pytest.approx(w, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.filterwarnings("ignore:Output seems independent")  # autograd, for piecewise linear g
def test_second_derivatives_through_the_entry(name):
    # create_graph runs the entry's vjp on tensors: its own derivative must be right too
    act = REGISTRY[name]
    w = np.random.default_rng(4).standard_normal(Z.shape)
    v = np.random.default_rng(5).standard_normal(Z.shape)
    ours = autodiff.hvp(lambda z: (autodiff.TENSOR_OPS.activation(name)(z) * w).sum(), Z, v)

    def f(z):
        return autograd.numpy.sum(act.formula(z, reference.AUTOGRAD_MATH) * w)

    theirs = autograd.grad(lambda z: autograd.numpy.sum(autograd.grad(f)(z) * v))(Z)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_no_warning_even_far_out(name, dtype):
    act = REGISTRY[name]
    big = 1e30 if dtype == "float64" else 1e15
    z = np.array([[-big, -800.0, -50.0, 50.0, 800.0, big]], dtype=dtype).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = act.kernel(z)
        assert np.all(np.isfinite(a))
        if name != "gelu":  # gelu's derivative cubes z: finite for |z| < 1e100 (float64)
            assert np.all(np.isfinite(act.vjp(np.ones_like(z), _x(act, z), NUMPY_MATH)))


def test_the_network_derives_its_names_and_namespaces_from_the_registry():
    assert network.ACTIVATIONS == tuple(REGISTRY)
    for ops in (
        network.NUMPY_OPS,
        autodiff.TENSOR_OPS,
        autodiff.VALUE_OPS,
        reference.AUTOGRAD_OPS,
        reference.COMPLEX_OPS,
    ):
        for name in REGISTRY:
            assert callable(ops.activation(name)), (ops, name)
    for name in REGISTRY:
        assert name in network.activations.summaries()


def _entry(**changes):
    base = dict(
        name="cube_for_the_test",
        summary="z^3",
        kernel=lambda z, out=None: np.power(z, 3, out=out),
        from_output=False,
        vjp=lambda g, z, xp: g * 3 * z * z,
        formula=lambda z, xp: z * z * z,
    )
    return Activation(**{**base, **changes})


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(kernel=lambda z: z**3), TypeError, "cube_for_the_test.*out="),
        (dict(kernel=lambda z, out=None: z.cube()), TypeError, "cube_for_the_test.*kernel fails"),
        (dict(vjp=None), TypeError, "cube_for_the_test.*vjp"),
        (dict(formula="z**3"), TypeError, "cube_for_the_test.*formula"),
        (dict(summary=""), ValueError, "cube_for_the_test.*summary"),
        (dict(from_output="yes"), TypeError, "cube_for_the_test.*from_output"),
        (dict(name="sigmoid"), ValueError, "'sigmoid' is already registered"),
        (dict(name="not a name"), ValueError, "identifier"),
        (dict(formula=lambda z, xp: xp.cube(z)), TypeError, "cube_for_the_test.*formula fails"),
        (dict(vjp=lambda g, z, xp: 3.0), ValueError, "cube_for_the_test.*vjp gives shape"),
        (dict(formula=lambda z, xp: z * z), ValueError, "kernel and its formula disagree"),
    ],
)
def test_an_incomplete_entry_is_refused_naming_the_activation(changes, error, words):
    with pytest.raises(error, match=words):
        register(_entry(**changes))
    assert "cube_for_the_test" not in REGISTRY


def test_a_namespace_without_a_form_of_an_activation_fails_naming_it():
    forms = {"sigmoid": np.tanh}

    with pytest.raises(TypeError, match="'partial'.*activation 'tanh'"):
        network.Ops(
            "partial",
            affine=network.ops.affine,
            logsumexp=network.ops.logsumexp,
            sum=np.sum,
            form_of=lambda act: forms[act.name],
        )


def _sigmoid_as_written(z):
    """1 / (1 + e^-z) step by step, overflow of e^-z silenced by a ``with`` block."""
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(z))
    return np.reciprocal(e + 1.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_sigmoid_kernel_is_the_formula_bit_for_bit_out_to_the_extremes(dtype):
    info = np.finfo(dtype)
    limit = float(np.log(info.max))  # e^-z overflows for z below -limit
    tails = [-info.max, -1e30, -2 * limit, -limit - 1, -limit, -limit + 1e-3, -30.0, -1.0]
    z = np.concatenate([tails, [0.0, -0.0, info.tiny, 1e-8], -np.array(tails[::-1])])
    z = np.concatenate([z, np.random.default_rng(0).normal(scale=200.0, size=200)]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        before = np.geterr()
        got = REGISTRY["sigmoid"].kernel(z)
        in_place = z.copy()
        REGISTRY["sigmoid"].kernel(in_place, out=in_place)
        assert np.geterr() == before  # the silenced overflow does not leak out of the kernel
    want = _sigmoid_as_written(z)
    assert got.dtype == want.dtype == dtype
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    assert np.array_equal(in_place.view(np.uint8), want.view(np.uint8))
    # the extremes do reach the overflow the kernel silences
    with warnings.catch_warnings(), pytest.raises(RuntimeWarning, match="overflow"):
        warnings.simplefilter("error")
        np.exp(np.negative(z))


def test_the_sigmoid_kernel_keeps_the_callers_other_error_settings():
    with np.errstate(under="raise"), pytest.raises(FloatingPointError, match="underflow"):
        REGISTRY["sigmoid"].kernel(np.array([800.0, -1e300]))  # e^-800 underflows
    with np.errstate(over="raise"):  # only e^-z's overflow is the kernel's to silence
        assert REGISTRY["sigmoid"].kernel(np.array([-1e300]))[0] == 0.0
