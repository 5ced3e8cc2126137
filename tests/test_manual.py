"""manual/: the hand-derived gradients against HIPS autograd, training, and the article's errata."""

import warnings

import numpy as np
import pytest
from conftest import make_problem, max_rel

from backproof import manual, network
from backproof.compare import reference
from backproof.network import NetworkSpec


def test_manual_equals_autograd_for_every_pairing_float64(pairing):
    for seed in range(3):
        spec, params, X, Y = make_problem(*pairing, seed=seed)
        J, grads = manual.loss_and_grads(spec, params, X, Y)
        J_ref, g_ref = reference.loss_and_grads(spec, params, X, Y)
        assert J == pytest.approx(J_ref, rel=1e-13)
        assert list(grads) == list(params)
        assert all(
            grads[k].shape == params[k].shape and grads[k].dtype == np.float64 for k in params
        )
        assert max_rel(grads, g_ref) <= 1e-10


def test_manual_equals_autograd_for_every_pairing_float32(pairing):
    spec, params, X, Y = make_problem(*pairing, dtype="float32")
    J, grads = manual.loss_and_grads(spec, params, X, Y)
    _, g_ref = reference.loss_and_grads(spec, params, X, Y)
    assert isinstance(J, float)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert max_rel(grads, g_ref) <= 1e-4  # float32 rounding, not a formula error


def test_manual_does_not_modify_its_inputs():
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "mse")
    before = {k: v.copy() for k, v in params.items()}
    X0 = X.copy()
    manual.loss_and_grads(spec, params, X, Y)
    assert all(np.array_equal(before[k], params[k]) for k in params)
    assert np.array_equal(X0, X)


def test_activation_backward_formulas():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((3, 4))
    dA = rng.standard_normal((3, 4))
    s = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(manual.activation_backward("sigmoid", dA, s), dA * s * (1 - s))
    np.testing.assert_allclose(
        manual.activation_backward("tanh", dA, np.tanh(Z)), dA * (1 - np.tanh(Z) ** 2)
    )
    np.testing.assert_array_equal(
        manual.activation_backward("relu", dA, np.maximum(Z, 0)), dA * (Z > 0)
    )
    # softmax: J^T dA with J = diag(a) - a a^T, column by column
    e = np.exp(Z) / np.exp(Z).sum(axis=0)
    want = np.stack(
        [(np.diag(e[:, j]) - np.outer(e[:, j], e[:, j])) @ dA[:, j] for j in range(4)], axis=1
    )
    np.testing.assert_allclose(manual.activation_backward("softmax", dA, e), want, atol=1e-15)


@pytest.mark.parametrize("name", sorted(network.DATASETS))
def test_training_lowers_the_cost_on_every_dataset(name):
    X, y = network.make_dataset(name, m=120)
    spec = NetworkSpec([2, 8, 1], ["tanh", "sigmoid"], init="xavier")
    params, history = manual.train(X, y, spec, 300, 0.5)
    assert history[-1] < 0.9 * history[0]
    assert all(isinstance(c, float) for c in history)


def test_the_article_network_learns_moons():
    X, y = network.moons(200)
    params, history = manual.train(X, y, [2, 8, 1], 2000, 2.0)  # the article's call
    spec = NetworkSpec([2, 8, 1])
    assert network.accuracy(spec, params, X, y) >= 0.85
    assert history[0] == pytest.approx(np.log(2), abs=1e-3)


def test_train_is_bit_identical_for_the_same_seed():
    X, y = network.xor(100)
    a = manual.train(X, y, NetworkSpec([2, 4, 1], init="xavier"), 50, 1.0)
    b = manual.train(X, y, NetworkSpec([2, 4, 1], init="xavier"), 50, 1.0)
    assert a[1] == b[1]
    assert all(np.array_equal(a[0][k], b[0][k]) for k in a[0])


def test_article_functions_agree_with_the_general_ones():
    X, y = network.moons(50)
    params = manual.init_params([2, 5, 3, 1])
    AL, caches = manual.forward_prop(X, params)
    grads = manual.backprop(AL, y, caches)
    spec = NetworkSpec([2, 5, 3, 1])
    J, g = manual.loss_and_grads(spec, params, X, y)
    for l in (1, 2, 3):
        np.testing.assert_allclose(grads[f"dW{l}"], g[f"W{l}"], rtol=1e-12, atol=1e-20)
        np.testing.assert_allclose(grads[f"db{l}"], g[f"b{l}"], rtol=1e-12, atol=1e-20)
    assert manual.cost_function(AL, y) == pytest.approx(J, rel=1e-12)


# -- the article's errata (docs/article-errata.md), one regression test each -------------------
def test_erratum_1_cost_function_runs():
    # printed: np.dot(log(1-A), ...) -- `log` is undefined, a NameError
    A = np.array([[0.2, 0.9]])
    Y = np.array([[0.0, 1.0]])
    assert manual.cost_function(A, Y) == pytest.approx(-(np.log(0.8) + np.log(0.9)) / 2)


def test_erratum_2_cost_is_a_float():
    # printed: a (1, 1) array from np.dot, so cost_history held arrays
    X, y = network.moons(20)
    _, history = manual.train_article(X, y, [2, 3, 1], 3, 0.1)
    assert all(type(c) is float for c in history)


def test_erratum_3_one_layer_backward_uses_the_activation_not_the_tuple():
    # printed: dA * sigmoid(Z) * (1 - sigmoid(Z)) with sigmoid returning (A, cache): TypeError
    rng = np.random.default_rng(0)
    A_prev, W, b = rng.standard_normal((3, 5)), rng.standard_normal((2, 3)), np.zeros((2, 1))
    Z = W @ A_prev + b
    dA = rng.standard_normal((2, 5))
    dA_prev, dW, db = manual.one_layer_backward(dA, ((A_prev, W, b), Z))
    s = 1 / (1 + np.exp(-Z))
    dZ = dA * s * (1 - s)  # dA is the article's: no 1/m in it; the 1/m goes to dW and db
    np.testing.assert_allclose(dW, dZ @ A_prev.T / 5)
    np.testing.assert_allclose(db, dZ.sum(axis=1, keepdims=True) / 5)
    np.testing.assert_allclose(dA_prev, W.T @ dZ)


def test_erratum_4_backprop_keys_every_layer():
    # printed: the last layer filed under L-1 then overwritten, dW_L never stored
    X, y = network.moons(30)
    params = manual.init_params([2, 4, 3, 1])
    AL, caches = manual.forward_prop(X, params)
    grads = manual.backprop(AL, y, caches)
    assert set(grads) == {"dW1", "dW2", "dW3", "db1", "db2", "db3", "dA0", "dA1", "dA2"}
    assert grads["dW3"].shape == (1, 3)


def test_erratum_5_update_parameters_reads_the_gradient_keys():
    # printed: grads['W1'] instead of grads['dW1'], a KeyError
    params = {"W1": np.ones((1, 2)), "b1": np.zeros((1, 1))}
    grads = {"dW1": np.full((1, 2), 2.0), "db1": np.full((1, 1), -1.0)}
    new = manual.update_parameters(params, grads, 0.5)
    assert new["W1"].tolist() == [[0.0, 0.0]] and new["b1"].tolist() == [[0.5]]
    assert params["W1"].tolist() == [[1.0, 1.0]]  # the input is left alone


def test_erratum_6_saturated_outputs_give_finite_gradients():
    # printed: dAL = -(Y/A - (1-Y)/(1-A)) divides by zero once A is exactly 0 or 1
    params = {"W1": np.array([[500.0, 500.0]]), "b1": np.array([[0.0]])}
    X = np.array([[1.0, -1.0], [1.0, -1.0]])
    Y = np.array([[0.0, 1.0]])
    AL, caches = manual.forward_prop(X, params)
    assert AL[0, 0] == 1.0 and AL[0, 1] == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grads = manual.backprop(AL, Y, caches)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    np.testing.assert_allclose(grads["db1"], [[0.0]], atol=1e-300)  # (1 - 0) + (0 - 1) = 0


def test_erratum_7_sigmoid_does_not_overflow():
    # printed: 1 / (1 + exp(-Z)) warns of overflow for Z below about -709
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A, cache = manual.sigmoid(np.array([[-1000.0, 0.0, 1000.0]]))
    assert A.tolist() == [[0.0, 0.5, 1.0]] and cache.shape == (1, 3)


def test_erratum_8_init_params_leaves_the_global_random_state_alone():
    # printed: np.random.seed(3) inside init_params reseeds the whole program
    np.random.seed(0)
    expected = np.random.random(3)
    np.random.seed(0)
    manual.init_params([4, 3, 1])
    assert np.array_equal(np.random.random(3), expected)


def test_erratum_9_one_layer_backward_computes_the_sigmoid_once(monkeypatch):
    # printed: sigmoid(Z) evaluated twice per layer on the way back
    calls = []
    original = manual.article.nops.sigmoid
    monkeypatch.setattr(manual.article.nops, "sigmoid", lambda z: calls.append(1) or original(z))
    Z = np.zeros((2, 3))
    manual.one_layer_backward(np.ones((2, 3)), ((np.ones((4, 3)), np.ones((2, 4)), Z[:, :1]), Z))
    assert len(calls) == 1


def test_the_in_place_forward_is_bit_identical_to_the_reference(pairing):
    spec, params, X, Y = make_problem(*pairing)
    Zs, As = network.forward(spec, params, X)
    Zs_fast, As_fast = manual.forward_in_place(spec, params, X)
    assert np.array_equal(Zs_fast[-1], Zs[-1])
    for a, b in zip(As, As_fast):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", network.ACTIVATIONS)
def test_the_forward_keeps_z_only_where_the_derivative_needs_it(name):
    if name == "softmax":
        pytest.skip("softmax is an output activation: the output layer keeps Z_L anyway")
    spec = NetworkSpec([3, 4, 4, 2], [name, name, "linear"], "mse", init="xavier")
    params = network.init_params(spec)
    X = np.random.default_rng(0).standard_normal((3, 5))
    Zs, As = manual.forward_in_place(spec, params, X)
    Zs_ref, As_ref = network.forward(spec, params, X)
    needs_z = not network.activations.REGISTRY[name].from_output
    for l in (1, 2):
        assert (Zs[l] is not None) == needs_z
        if needs_z:
            assert np.array_equal(Zs[l], Zs_ref[l]) and not np.shares_memory(Zs[l], As[l])
        assert np.array_equal(As[l], As_ref[l])
    assert Zs[3] is not None  # the output layer keeps its logits
