"""The reference gradients of the shared network (``compare.reference``): HIPS autograd, and
finite differences or the complex step for every parameter, batched — each against the
definition, in every method, for every pairing of activation and loss."""

import numpy as np
import pytest
from conftest import PAIRINGS, make_problem, pairing_id

from backproof import network
from backproof.compare import reference
from backproof.compare.numerical import numerical_grad


def definition(spec, params, X, Y):
    """dJ/dp by central differences of network.objective, one entry at a time."""
    return numerical_grad(lambda p: network.objective(spec, p, X, Y), params, "richardson")


@pytest.mark.parametrize("pairing", PAIRINGS, ids=pairing_id)
def test_autograd_and_the_complex_step_agree_with_the_definition(pairing):
    spec, params, X, Y = make_problem(*pairing, dims=None, m=5)
    J, grads = reference.loss_and_grads(spec, params, X, Y)
    assert type(J) is float and J == pytest.approx(network.objective(spec, params, X, Y), 1e-12)
    assert list(grads) == list(params)
    truth = definition(spec, params, X, Y)
    steps, errors, kinks = reference.network_numerical_grad(spec, params, X, Y, "complex")
    for k in params:
        scale = max(float(np.max(np.abs(truth[k]))), 1e-3)
        assert grads[k].dtype == spec.dtype and grads[k].shape == params[k].shape
        np.testing.assert_allclose(grads[k], truth[k], atol=1e-6 * scale)
        np.testing.assert_allclose(steps[k], grads[k], rtol=1e-10, atol=1e-13 * scale)
        assert np.all(errors[k] <= 1e-13 * np.maximum(np.abs(steps[k]), 1)) and not kinks[k].any()


@pytest.mark.parametrize("method", ["central", "richardson"])
def test_the_batched_differences_are_the_one_at_a_time_ones(method):
    spec, params, X, Y = make_problem("tanh", "softmax", "ce", m=7)
    grads, errors, kinks = reference.network_numerical_grad(spec, params, X, Y, method)
    one_at_a_time, error = numerical_grad(
        lambda p: network.objective(spec, p, X, Y), params, method, return_error=True
    )
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        assert grads[k].dtype == errors[k].dtype == np.float64 and kinks[k].dtype == bool
        np.testing.assert_allclose(grads[k], one_at_a_time[k], rtol=1e-6, atol=1e-9)
        assert np.all(np.abs(grads[k] - exact[k]) <= errors[k] + 1e-9)  # the bound holds
        assert np.all(errors[k] > 0) and not kinks[k].any()
    tighter = method == "richardson"
    worst = max(float(np.max(np.abs(grads[k] - exact[k]))) for k in params)
    assert worst < (1e-9 if tighter else 1e-7)


def test_a_float32_network_is_differenced_in_float64():
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "bce", m=6, dtype="float32")
    grads, errors, _ = reference.network_numerical_grad(spec, params, X, Y, "richardson")
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    truth = definition(spec, p64, X.astype(np.float64), Y.astype(np.float64))
    for k in params:
        assert grads[k].dtype == np.float64 and exact[k].dtype == np.float32
        np.testing.assert_allclose(grads[k], truth[k], rtol=1e-6, atol=1e-9)
        assert np.all(errors[k] < 1e-6)


def test_large_layers_are_split_into_blocks_with_the_same_result():
    """600 entries of W1 make two blocks; threads and progress change nothing but speed."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[30, 20, 1], m=3)
    calls = []

    class Tracker:
        def __init__(self, total):
            calls.append(("total", total))

        def update(self, n):
            calls.append(("update", n))

        def close(self):
            calls.append(("close",))

    one = reference.network_numerical_grad(spec, params, X, Y, "central", threads=1)
    two = reference.network_numerical_grad(
        spec, params, X, Y, "central", threads=2, progress=Tracker
    )
    for a, b in zip(one, two):
        for k in params:
            assert np.array_equal(a[k], b[k])
    tasks = 2 + 1 + 1 + 1  # W1 in two blocks of 512, b1, W2, b2
    assert calls == [("total", tasks)] + [("update", 1)] * tasks + [("close",)]
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        np.testing.assert_allclose(one[0][k], exact[k], rtol=1e-5, atol=1e-8)


def test_bad_input_is_refused():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", m=4)
    with pytest.raises(ValueError) as info:
        reference.network_numerical_grad(spec, params, X, Y, "forward")
    assert str(info.value) == (
        "method must be one of ['central', 'richardson', 'complex'], got 'forward'"
    )
    assert reference.REFERENCE_METHODS == ("central", "richardson", "complex")
    with pytest.raises(ValueError):
        reference.network_numerical_grad(spec, params, X[:, :2], Y)
    with pytest.raises(ValueError):
        reference.loss_and_grads(spec, params, X[:, :2], Y)
    bad = {**params, "W1": params["W1"][:1]}
    with pytest.raises(ValueError):
        reference.loss_and_grads(spec, bad, X, Y)
    with pytest.raises(ValueError):
        reference.network_numerical_grad(spec, bad, X, Y)


def test_check_false_skips_the_validation_only():
    spec, params, X, Y = make_problem("relu", "linear", "mse", m=4)
    checked = reference.loss_and_grads(spec, params, X, Y)
    unchecked = reference.loss_and_grads(spec, params, X, Y, check=False)
    assert checked[0] == unchecked[0]
    assert all(np.array_equal(checked[1][k], unchecked[1][k]) for k in params)
    a = reference.network_numerical_grad(spec, params, X, Y, check=False)
    b = reference.network_numerical_grad(spec, params, X, Y)
    assert all(np.array_equal(a[0][k], b[0][k]) for k in params)


def test_the_complex_namespace_is_analytic_and_does_not_overflow():
    z = np.array([-800.0, -1.0, 0.0, 2.0, 800.0]) + 1e-20j
    s = reference.COMPLEX_MATH.sigmoid(z)
    sp = reference.COMPLEX_MATH.softplus(z)
    real = np.real(z)
    with np.errstate(over="ignore"):
        expected = 1 / (1 + np.exp(-real))
    np.testing.assert_allclose(np.real(s), expected, rtol=1e-15)
    np.testing.assert_allclose(np.imag(s) / 1e-20, expected * (1 - expected), rtol=1e-12)
    np.testing.assert_allclose(np.real(sp), np.logaddexp(0, real), rtol=1e-15)
    np.testing.assert_allclose(np.imag(sp) / 1e-20, expected, rtol=1e-12)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(sp))
    top = reference.COMPLEX_MATH.logsumexp(np.array([[1000.0], [1000.0]]) + 0j)
    assert np.real(top[0, 0]) == pytest.approx(1000 + np.log(2))
    assert list(reference.COMPLEX_MATH.positive(z)) == [False, False, False, True, True]
