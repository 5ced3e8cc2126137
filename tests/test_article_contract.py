"""The article-style functions of manual/: what their docstrings promise beyond the happy path."""

import numpy as np
import pytest

from backproof import manual, network


def test_init_params_draws_from_its_seed():
    dims = [3, 4, 1]
    seven = manual.init_params(dims, seed=7)
    expected = network.init_params(network.NetworkSpec(dims, seed=7))
    for key in expected:
        np.testing.assert_array_equal(seven[key], expected[key])
    assert not np.array_equal(seven["W1"], manual.init_params(dims)["W1"])  # default seed 3
    np.testing.assert_array_equal(
        manual.init_params(dims)["W1"], network.init_params(network.NetworkSpec(dims))["W1"]
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_cost_of_saturated_outputs_is_a_rounding_step_from_the_edge(dtype):
    """An output of exactly 0 or 1 is read as eps/2 or 1 - eps/2: the cost of a confident wrong
    answer is -log(eps/2) per example, and of a confident right answer -log(1 - eps/2)."""
    eps = float(np.finfo(dtype).eps)
    A = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    wrong = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    right = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    assert manual.cost_function(A, wrong) == pytest.approx(-np.log(eps / 2), rel=1e-6)
    assert manual.cost_function(A, right) == pytest.approx(-np.log1p(-eps / 2), rel=1e-3)
    half_wrong = np.array([[1.0, 1.0, 1.0, 0.0]], dtype=dtype)  # one wrong at A = 0 of four
    assert manual.cost_function(A, half_wrong) == pytest.approx(-np.log(eps / 2) / 4, rel=1e-6)
    one_wrong_at_one = np.array([[0.0, 0.0, 1.0, 0.0]], dtype=dtype)  # one wrong at A = 1
    assert manual.cost_function(A, one_wrong_at_one) == pytest.approx(
        -np.log(eps / 2) / 4, rel=1e-6
    )


def test_backprop_takes_labels_as_a_row_a_column_or_a_flat_vector():
    X, y = network.moons(12)
    params = manual.init_params([2, 3, 1], seed=1)
    AL, caches = manual.forward_prop(X, params)
    as_row = manual.backprop(AL, y.reshape(1, -1), caches)
    for labels in (y.reshape(-1), y.reshape(-1, 1)):
        other = manual.backprop(AL, labels, caches)
        for key in as_row:
            np.testing.assert_array_equal(as_row[key], other[key])


def test_update_parameters_steps_every_weight_and_bias():
    params = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([[3.0]])}
    grads = {"dW1": np.array([[0.5, -1.0]]), "db1": np.array([[2.0]])}
    new = manual.update_parameters(params, grads, 0.1)
    np.testing.assert_allclose(new["W1"], [[0.95, 2.1]])
    np.testing.assert_allclose(new["b1"], [[2.8]])
    assert params["b1"][0, 0] == 3.0  # a new dict; the old parameters are left alone
