"""The shared network on the engine: both engines give the hand-derived numbers for every loss,
in the spec's dtype; train's arguments each count; a wrong engine is named."""

import numpy as np
import pytest

from backproof import autodiff, manual, network
from backproof.network import NetworkSpec

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
Y = np.array([[1.0, 0.0, 1.0]])
Y2 = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
@pytest.mark.parametrize(
    "activations, loss, labels",
    [(["tanh", "sigmoid"], "bce", Y), (["relu", "softmax"], "ce", Y2),
     (["sigmoid", "gelu"], "mse", Y), (["softplus", "tanh"], "mse", Y)],
)  # fmt: skip
def test_both_engines_give_the_hand_derived_gradients(engine, activations, loss, labels):
    spec = NetworkSpec([2, 3, labels.shape[0]], activations=activations, loss=loss, seed=4)
    params = {k: v + 0.3 for k, v in network.init_params(spec).items()}
    J, grads = autodiff.loss_and_grads(spec, params, X, labels, engine=engine)
    J_ref, grads_ref = manual.loss_and_grads(spec, params, X, labels)
    assert type(J) is float and J == pytest.approx(J_ref, rel=1e-12)
    assert list(grads) == list(params)
    for k in params:
        assert grads[k].shape == params[k].shape and grads[k].dtype == np.float64
        np.testing.assert_allclose(grads[k], grads_ref[k], rtol=1e-10, atol=1e-14)


def test_the_scalar_engine_computes_in_float64_and_answers_in_the_specs_dtype():
    spec = NetworkSpec([2, 2, 1], dtype="float32")
    params = network.init_params(spec)
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    J, grads = autodiff.loss_and_grads(spec, params, X32, Y32, engine="scalar")
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    J64, grads64 = manual.loss_and_grads(
        NetworkSpec([2, 2, 1]), {k: v.astype(np.float64) for k, v in params.items()}, X, Y
    )
    assert J == pytest.approx(J64, rel=1e-12)  # computed in float64, not float32
    for k in grads:
        np.testing.assert_allclose(grads[k], grads64[k].astype(np.float32), rtol=1e-6)


def test_loss_and_grads_checks_unless_told_not_to_and_names_a_wrong_engine():
    spec = NetworkSpec([2, 2, 1])
    params = network.init_params(spec)
    J, _ = autodiff.loss_and_grads(spec, {k: v.tolist() for k, v in params.items()}, X.tolist(), Y)
    assert J == autodiff.loss_and_grads(spec, params, X, Y, check=False)[0]
    with pytest.raises(ValueError):
        autodiff.loss_and_grads(spec, params, X[:1], Y)
    with pytest.raises(ValueError) as info:
        autodiff.loss_and_grads(spec, params, X, Y, engine="torch")
    assert str(info.value) == "engine must be one of ['scalar', 'tensor'], got 'torch'"
    assert autodiff.ENGINES == ("tensor", "scalar")


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_train_follows_the_engines_gradients_step_by_step(engine):
    spec = NetworkSpec([2, 2, 1], activations=["tanh", "sigmoid"], seed=1)
    seen = []
    params, history = autodiff.train(
        X, Y, spec, 3, 0.5, engine=engine, callback=lambda e, p, g: seen.append(e)
    )
    expected, expected_history = manual.train(X, Y, spec, 3, 0.5)
    assert seen == [0, 1, 2] and len(history) == 3
    np.testing.assert_allclose(history, expected_history, rtol=1e-12)
    for k in expected:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-10)
    start = {k: v * 2 for k, v in network.init_params(spec).items()}
    _, from_start = autodiff.train(X, Y, spec, 1, 0.5, engine=engine, params=start)
    assert from_start[0] == pytest.approx(manual.loss_and_grads(spec, start, X, Y)[0], rel=1e-12)
    with pytest.raises(ValueError, match="engine"):
        autodiff.train(X, Y, spec, 1, 0.5, engine="torch")
    with pytest.raises(ValueError):
        autodiff.train(X[:1], Y, spec, 1, 0.5)


def test_train_shows_a_progress_bar_named_after_the_engine_only_when_asked(capsys):
    spec = NetworkSpec([2, 2, 1])
    autodiff.train(X, Y, spec, 2, 0.1, engine="scalar", progress=True)
    assert "autodiff.scalar" in capsys.readouterr().err
    autodiff.train(X, Y, spec, 2, 0.1, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError) as info:
        autodiff.train(X, Y, spec, 1, 0.5, engine="torch")
    assert str(info.value).startswith("engine must be one of")


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_train_takes_the_steps_of_the_engine_it_names_bit_for_bit(engine):
    # softplus: the two engines' costs part in the last bit by the third step
    spec = NetworkSpec([2, 3, 1], activations=["softplus", "sigmoid"], seed=1)
    params = network.init_params(spec)
    by_hand = []
    for _ in range(3):
        J, grads = autodiff.loss_and_grads(spec, params, X, Y, engine=engine)
        by_hand.append(J)
        for k, g in grads.items():
            params[k] = params[k] - 0.5 * g
    _, history = autodiff.train(X, Y, spec, 3, 0.5, engine=engine)
    assert history == by_hand


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_a_diverging_run_stops_with_the_cost_that_overflowed(engine):
    # the first step sends the weights to infinity: the next cost is not finite, and train
    # reports that (it does not validate its own steps' parameters again)
    spec = NetworkSpec([2, 3, 1], activations=["linear", "linear"], loss="mse", seed=0)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError) as info:
        autodiff.train(1e3 * X, Y, spec, 5, 1e308, engine=engine)
    assert "at epoch 1; lower lr (now 1e+308)" in str(info.value)
