"""Bad input gets a clear answer everywhere; numbers stay finite; runs repeat exactly."""

import functools
import re
import warnings

import numpy as np
import pytest
from conftest import make_problem

from backproof import autodiff, manual, network
from backproof.compare import check_grad, compare_network, numerical_grad, reference

SPEC, PARAMS, X, Y = make_problem("sigmoid", "sigmoid", "bce", dims=[3, 4, 1], m=8)


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


BAD_DATA = [
    # (X, Y, params, exception, the argument the message must name, a phrase)
    (X[:2], Y, PARAMS, ValueError, "X", "shape (3, m)"),
    (X, Y[:, :5], PARAMS, ValueError, "Y", "same number of examples"),
    (np.where(X > 0, np.nan, X), Y, PARAMS, ValueError, "X", "finite"),
    (X, np.full_like(Y, np.inf), PARAMS, ValueError, "Y", "finite"),
    (X.astype(str), Y, PARAMS, TypeError, "X", "real numbers"),
    (np.empty((3, 0)), np.empty((1, 0)), PARAMS, ValueError, "X", "empty"),
    (X, Y * 3, PARAMS, ValueError, "Y", "[0, 1]"),
    (X[0], Y, PARAMS, ValueError, "X", "2-D"),
    (X, Y, _without(PARAMS, "W2"), ValueError, "W2", "missing"),
    (X, Y, PARAMS | {"W3": np.ones((1, 1))}, ValueError, "W3", "unexpected"),
    (X, Y, PARAMS | {"W1": np.ones((4, 2))}, ValueError, "W1", "shape (4, 3)"),
    (X, Y, PARAMS | {"b1": PARAMS["b1"].astype(np.float32)}, TypeError, "b1", "float64"),
    (X, Y, PARAMS | {"W2": np.full((1, 4), np.nan)}, ValueError, "W2", "finite"),
    (X, Y, [1, 2], TypeError, "params", "dict"),
]

ENTRY_POINTS = {
    "network.cost": lambda s, p, X, Y: network.cost(s, p, X, Y),
    "manual.loss_and_grads": lambda s, p, X, Y: manual.loss_and_grads(s, p, X, Y),
    "autodiff.tensor": lambda s, p, X, Y: autodiff.loss_and_grads(s, p, X, Y),
    "autodiff.scalar": lambda s, p, X, Y: autodiff.loss_and_grads(s, p, X, Y, "scalar"),
    "reference": lambda s, p, X, Y: reference.loss_and_grads(s, p, X, Y),
    "compare_network": lambda s, p, X, Y: compare_network(s, X, Y, p, epochs=0),
    "manual.train": lambda s, p, X, Y: manual.train(X, Y, s, 1, 0.1, params=p),
    "autodiff.train": lambda s, p, X, Y: autodiff.train(X, Y, s, 1, 0.1, params=p),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=list(ENTRY_POINTS))
@pytest.mark.parametrize("bad", BAD_DATA, ids=[f"{b[4]}-{b[5]}" for b in BAD_DATA])
def test_every_entry_point_names_the_bad_argument(entry, bad):
    Xb, Yb, pb, exc, name, phrase = bad
    with pytest.raises(exc) as info:
        ENTRY_POINTS[entry](SPEC, pb, Xb, Yb)
    msg = str(info.value)
    assert re.search(rf"(^|\W){re.escape(name)}(\W|$)", msg), msg
    assert phrase in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: manual.train(X, Y, SPEC, -1, 0.1), ValueError, "epochs"),
        (lambda: manual.train(X, Y, SPEC, 2.5, 0.1), TypeError, "epochs"),
        (lambda: manual.train(X, Y, SPEC, 3, 0.0), ValueError, "lr"),
        (lambda: manual.train(X, Y, SPEC, 3, float("inf")), ValueError, "lr"),
        (lambda: manual.train(X, Y, SPEC, 3, "fast"), TypeError, "lr"),
        (lambda: manual.train(X, Y, "net", 3, 0.1), TypeError, "spec"),
        (lambda: autodiff.train(X, Y, SPEC, 3, -1.0), ValueError, "lr"),
        (lambda: autodiff.loss_and_grads(SPEC, PARAMS, X, Y, engine="gpu"), ValueError, "engine"),
        (lambda: network.cost("spec", PARAMS, X, Y), TypeError, "spec"),
        (lambda: network.init_params([2, 3]), TypeError, "spec"),
        (lambda: network.moons(0), ValueError, "m"),
        (lambda: network.moons(10, noise=-1), ValueError, "noise"),
        (lambda: network.spiral(10, classes=0), ValueError, "classes"),
        (lambda: network.make_dataset("iris"), ValueError, "data"),
        (lambda: numerical_grad(np.sum, np.ones(2), method="five"), ValueError, "method"),
        (lambda: check_grad(np.sum, None, np.ones(2)), TypeError, "grad_f"),
        (
            lambda: compare_network(SPEC, X, Y, PARAMS, implementations=["julia"]),
            ValueError,
            "implementations",
        ),
        (lambda: compare_network(SPEC, X, Y, PARAMS, fd_method="forward"), ValueError, "fd_method"),
    ],
)
def test_nonsense_numbers_and_unknown_names(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


def test_a_diverging_run_says_to_lower_the_learning_rate():
    spec, params, Xm, Ym = make_problem("linear", "linear", "mse", m=8)
    with pytest.raises(FloatingPointError, match="lower lr"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manual.train(Xm, Ym * 1e3, spec, 500, 1e3, params=params)


def test_a_last_step_that_overflows_the_parameters_is_a_divergence_too():
    """No cost is computed after the last step, so its overflow shows only in the parameters:
    the run raises the same FloatingPointError, naming the parameter, and NumPy warns nothing."""

    def quadratic(params):  # J = w^2 / 2, finite before the step
        return 0.5 * float(params["w"] @ params["w"]), {"w": params["w"]}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match="parameter w is no longer finite"):
            network.gradient_descent(quadratic, {"w": np.array([1e10, 1.0])}, 1, 1.7e308)
        # a step that stays finite, and no step at all, return as before
        params, history = network.gradient_descent(quadratic, {"w": np.array([1e10])}, 1, 0.5)
        assert params["w"][0] == 5e9 and history == [5e19]
        assert network.gradient_descent(quadratic, {"w": np.array([np.inf])}, 0, 1.0)[1] == []


@pytest.mark.parametrize("seed, cause", [(1, "trained parameters is nan"), (0, None)])
def test_the_study_reports_a_last_step_that_diverges(seed, cause):
    """One step at lr 1.7e308: with seed 1 the trained network's cost is NaN, a divergence the
    training's own history (one cost, before the step) cannot show; with seed 0 it stays finite."""
    from backproof.compare.study import run_study

    spec = network.NetworkSpec(
        [2, 3, 1], activations=["relu", "sigmoid"], init="article", seed=seed
    )
    X = 1000 + 100 * np.random.default_rng(seed).normal(size=(2, 20))
    Y = (np.arange(20) % 2).reshape(1, 20).astype(float)
    study = functools.partial(
        run_study, spec, X, Y, epochs=1, lr=1.7e308, make_plots=False, norm_epochs=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forward pass of a diverging run overflows
        if cause is None:
            assert np.isfinite(study()["training"]["manual"]["final_cost"])
        else:
            with pytest.raises(FloatingPointError, match=cause):
                study()


@pytest.mark.parametrize(
    "pairing",
    [
        ("sigmoid", "sigmoid", "bce"),
        ("tanh", "softmax", "ce"),
        ("relu", "sigmoid", "mse"),
        ("sigmoid", "softmax", "mse"),
    ],
    ids=str,
)
def test_a_saturated_network_is_finite_and_silent_everywhere(pairing):
    spec, params, Xs, Ys = make_problem(*pairing, m=6)
    params = {k: np.sign(v) * 1e4 for k, v in params.items()}  # pre-activations of ~1e4 and more
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = {
            "manual": manual.loss_and_grads(spec, params, Xs, Ys),
            "tensor": autodiff.loss_and_grads(spec, params, Xs, Ys),
            "scalar": autodiff.loss_and_grads(spec, params, Xs, Ys, "scalar"),
            "autograd": reference.loss_and_grads(spec, params, Xs, Ys),
        }
        J = network.cost(spec, params, Xs, Ys)
    assert np.isfinite(J)
    ref = results["autograd"][1]
    scale = max(float(np.max(np.abs(v))) for v in ref.values())  # rounding is relative to this
    for name, (Ji, g) in results.items():
        assert Ji == pytest.approx(J, rel=1e-12), name
        assert all(np.all(np.isfinite(v)) for v in g.values()), name
        for k in g:
            np.testing.assert_allclose(g[k], ref[k], rtol=1e-9, atol=1e-12 * scale)


def test_float32_stays_float32_end_to_end():
    spec, params, X32, Y32 = make_problem("tanh", "softmax", "ce", dtype="float32", m=10)
    for fn in (manual.loss_and_grads, autodiff.loss_and_grads, reference.loss_and_grads):
        J, g = fn(spec, params, X32, Y32)
        assert isinstance(J, float) and all(v.dtype == np.float32 for v in g.values())
    p, hist = manual.train(X32, Y32, spec, 5, 0.1, params=params)
    assert all(v.dtype == np.float32 for v in p.values())
    p, hist = autodiff.train(X32, Y32, spec, 5, 0.1, params=params)
    assert all(v.dtype == np.float32 for v in p.values())


@pytest.mark.parametrize("train", [manual.train, autodiff.train], ids=["manual", "tensor"])
def test_the_same_seed_gives_bit_identical_runs(train):
    Xd, y = network.spiral(60, seed=4)
    runs = []
    for _ in range(2):
        spec = network.NetworkSpec([2, 7, 1], ["relu", "sigmoid"], init="he", seed=11)
        runs.append(train(Xd, y, spec, 40, 0.5))
    (p1, h1), (p2, h2) = runs
    assert h1 == h2
    assert all(p1[k].tobytes() == p2[k].tobytes() for k in p1)
    assert network.moons(30, seed=5)[0].tobytes() == network.moons(30, seed=5)[0].tobytes()
