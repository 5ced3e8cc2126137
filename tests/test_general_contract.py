"""manual.general's promises beyond the gradients themselves (which test_manual checks against
autograd): what train does with each of its arguments, what check=False skips, the top of the
backward pass for each loss, and what activation_backward may overwrite."""

from functools import partial

import numpy as np
import pytest
from conftest import peak_bytes

from backproof import manual, network
from backproof.network import NetworkSpec
from backproof.network.activations import REGISTRY

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
Y = np.array([[1.0, 0.0, 1.0]])


def steps_by_hand(spec, params, epochs, lr):
    """Gradient descent written out with loss_and_grads: the history and the final parameters."""
    params = {k: v.copy() for k, v in params.items()}
    history = []
    for _ in range(epochs):
        J, grads = manual.loss_and_grads(spec, params, X, Y)
        history.append(J)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, history


def test_train_takes_a_spec_or_the_articles_layer_sizes_and_each_argument_counts():
    spec = NetworkSpec([2, 3, 1], activations=["tanh", "sigmoid"], seed=5)
    params, history = manual.train(X, Y, spec, 4, 0.5)
    expected, expected_history = steps_by_hand(spec, network.init_params(spec), 4, 0.5)
    assert len(history) == 4 and all(type(J) is float for J in history)
    np.testing.assert_allclose(history, expected_history, rtol=1e-12)
    for k in expected:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-12)
    article, article_history = manual.train(X, Y, [2, 3, 1], 3, 0.5)  # the article's network
    _, by_hand = steps_by_hand(
        NetworkSpec([2, 3, 1]), network.init_params(NetworkSpec([2, 3, 1])), 3, 0.5
    )
    np.testing.assert_allclose(article_history, by_hand, rtol=1e-12)
    assert manual.train(X, Y, (2, 3, 1), 1, 0.5)[1] == article_history[:1]
    start = {k: v + 0.1 for k, v in network.init_params(spec).items()}
    _, from_start = manual.train(X, Y, spec, 2, 0.5, params=start)
    np.testing.assert_allclose(from_start, steps_by_hand(spec, start, 2, 0.5)[1], rtol=1e-12)
    seen = []
    manual.train(X, Y, spec, 3, 0.5, callback=lambda epoch, p, g: seen.append((epoch, sorted(g))))
    assert seen == [(e, ["W1", "W2", "b1", "b2"]) for e in range(3)]
    with pytest.raises(TypeError) as info:
        manual.train(X, Y, "2-3-1", 1, 0.5)
    assert str(info.value) == "spec must be a NetworkSpec or a list of layer sizes, got str"
    with pytest.raises(ValueError):
        manual.train(X[:1], Y, spec, 1, 0.5)  # the data is checked against the spec
    with pytest.raises(ValueError):
        manual.train(X, Y, spec, 1, 0.5, params={"W1": np.ones((3, 2))})  # and the parameters


def test_loss_and_grads_checks_its_inputs_unless_told_not_to():
    spec = NetworkSpec([2, 3, 1])
    params = network.init_params(spec)
    as_lists = {k: v.tolist() for k, v in params.items()}
    J, grads = manual.loss_and_grads(spec, as_lists, X.tolist(), Y.tolist())  # checked, converted
    J_ref, grads_ref = manual.loss_and_grads(spec, params, X, Y, check=False)
    assert J == J_ref and list(grads) == list(params)
    for k in params:
        np.testing.assert_array_equal(grads[k], grads_ref[k])
    with pytest.raises(ValueError):
        manual.loss_and_grads(spec, params, X[:1], Y)
    with pytest.raises(ValueError):
        manual.loss_and_grads(spec, {"W1": params["W1"]}, X, Y)


@pytest.mark.parametrize(
    "activations, loss",
    [(["tanh", "sigmoid"], "bce"), (["relu", "softmax"], "ce"), (["tanh", "tanh"], "mse"),
     (["tanh", "gelu"], "mse"), (["tanh", "linear"], "mse"), (["relu", "tanh", "sigmoid"], "mse")],
)  # fmt: skip
def test_output_delta_is_the_gradient_of_the_cost_with_respect_to_the_logits(activations, loss):
    n_out = 2 if loss == "ce" else 1
    hidden = [3] * (len(activations) - 1)  # the last activation is the output layer's
    spec = NetworkSpec([2, *hidden, n_out], activations=activations, loss=loss)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((n_out, 3))
    Yc = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]) if loss == "ce" else Y
    act = REGISTRY[activations[-1]]

    def cost(z):
        return float(network.loss_from_output(spec, z, act.kernel(z.copy()), Yc))

    h = 1e-6
    numeric = np.zeros_like(Z)
    for i in np.ndindex(Z.shape):
        e = np.zeros_like(Z)
        e[i] = h
        numeric[i] = (cost(Z + e) - cost(Z - e)) / (2 * h)
    delta = manual.output_delta(spec, act.kernel(Z.copy()), Yc, Z.copy())
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)
    buffer = np.empty_like(Z)  # out=: bce's and ce's delta A_L - Y is written there
    into = manual.output_delta(spec, act.kernel(Z.copy()), Yc, Z.copy(), out=buffer)
    assert np.shares_memory(into, buffer) or loss == "mse"
    np.testing.assert_array_equal(into, delta)


def test_activation_backward_leaves_its_inputs_alone_unless_it_may_overwrite_them():
    A = np.array([[0.2, 0.7], [0.9, 0.4]])
    dA = np.array([[1.0, -2.0], [0.5, 3.0]])
    A0, dA0 = A.copy(), dA.copy()
    dZ = manual.activation_backward("sigmoid", dA, A)
    np.testing.assert_allclose(dZ, dA0 * A0 * (1 - A0), rtol=1e-15)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(dA, dA0)
    again = manual.activation_backward("sigmoid", dA, A, overwrite=True)
    np.testing.assert_allclose(again, dZ, rtol=1e-15)
    assert np.shares_memory(again, dA) or np.shares_memory(again, A)  # built in place


def test_activation_backward_that_may_overwrite_allocates_no_array_of_its_own():
    rng = np.random.default_rng(1)
    for name in ("sigmoid", "tanh"):
        A = rng.random((100, 100))  # 80 kB
        dA = rng.standard_normal((100, 100))
        # A is its scratch space
        _, peak = peak_bytes(partial(manual.activation_backward, name, dA, A, overwrite=True))
        assert peak < A.nbytes / 2, name


def test_forward_in_place_keeps_z_where_needed_and_matches_network_forward():
    spec = NetworkSpec([2, 3, 3, 1], activations=["tanh", "gelu", "sigmoid"], seed=2)
    params = network.init_params(spec)
    Zs, As = manual.forward_in_place(spec, params, X)
    assert len(Zs) == len(As) == 4 and As[0] is X and Zs[0] is None
    assert Zs[1] is None and Zs[2] is not None and Zs[3] is not None
    ref_Zs, ref_As = network.forward(spec, params, X)
    for l in (1, 2, 3):
        np.testing.assert_array_equal(As[l], ref_As[l])
    for l in (2, 3):
        np.testing.assert_array_equal(Zs[l], ref_Zs[l])


def test_train_shows_a_progress_bar_only_when_asked(capsys):
    manual.train(X, Y, [2, 2, 1], 2, 0.1, progress=True)
    assert "manual" in capsys.readouterr().err
    manual.train(X, Y, [2, 2, 1], 2, 0.1, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "activations, loss",
    [(["tanh", "relu", "sigmoid"], "bce"), (["sigmoid", "tanh", "tanh"], "mse")],
)
def test_a_warm_call_allocates_little_beyond_the_gradients_it_returns(activations, loss):
    """The workspace promise: after the first call for a (spec, m), a call writes its forward
    and backward arrays into the workspace and allocates the gradients it returns (for
    activations whose derivative is written through their output)."""

    spec = NetworkSpec([20, 64, 64, 1], activations=activations, loss=loss)
    rng = np.random.default_rng(0)
    Xw, Yw = rng.standard_normal((20, 500)), (rng.random((1, 500)) > 0.5).astype(float)
    params = network.init_params(spec)
    manual.loss_and_grads(spec, params, Xw, Yw, check=False)  # builds the workspace
    layer_array = 64 * 500 * 8  # 256 kB: one forward or backward array of a hidden layer
    (_, grads), peak = peak_bytes(lambda: manual.loss_and_grads(spec, params, Xw, Yw, check=False))
    returned = sum(g.nbytes for g in grads.values())
    assert peak < returned + layer_array / 2


def test_a_diverging_run_stops_with_the_cost_that_overflowed():
    # the first step sends the weights to infinity: the next cost is not finite, and train
    # reports that (it does not validate its own steps' parameters again)
    spec = NetworkSpec([2, 3, 1], activations=["linear", "linear"], loss="mse", seed=0)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        manual.train(1e3 * X, Y, spec, 5, 1e308)
    assert str(info.value) == "the cost became nan at epoch 1; lower lr (now 1e+308)"
