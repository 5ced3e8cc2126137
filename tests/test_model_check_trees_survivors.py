"""Behaviour that mutation testing found unchecked in check_model, the shared network's reference
gradients and the nested-argument trees (issue 12; docs/mutation_kmodel.md lists the mutants).

Each test states what a user of the public API sees: a message, a field of a report, a number
that stays finite."""

import dataclasses
import os
import threading
import warnings

import numpy as np
import pytest
from conftest import make_problem
from test_model_check import ExampleNet, X, Y

from backproof import network
from backproof.compare import check_grad, check_model, reference
from backproof.compare.trees import Tree


# -- compare.model_check ----------------------------------------------------------------------
class Linear:
    """cost = mean over the examples (columns of X) of (w . x + b)^2, parameters in a dict."""

    def __init__(self):
        self.params = {"W": np.array([1.0, 2.0]), "b": np.array([0.5])}

    def residual(self, X):
        return self.params["W"] @ X + self.params["b"][0]

    def cost(self, X):
        return float(np.mean(self.residual(X) ** 2))

    def gradient_of_w(self, X):
        return 2 * (X @ self.residual(X)) / X.shape[1]


X3 = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])  # 3 examples as columns


def test_a_gradient_lacking_a_key_is_diagnosed_even_when_one_over_m_is_tried():
    """backprop sums over the examples and forgets the bias: rescaling by m is tried (it cannot
    pass, the bias has no gradient) and each parameter gets its own diagnosis."""
    model = Linear()

    def backprop(X):
        return {"params": {"W": X.shape[1] * model.gradient_of_w(X)}}

    report = check_model(model, model.cost, backprop, X3, params=["params"])
    assert report.verdict == "fail" and report.m == 3
    assert report.layers == {"params['W']": "fail", "params['b']": "fail"}
    assert report.diagnosis == (
        "params['W']: scale: the gradient is the right one x m (= 3); params['b']: zero: no "
        "gradient was given for params['b'] (a missing key), but the function depends on it"
    )
    assert model.params["W"].tolist() == [1.0, 2.0]


def test_a_backprop_that_keeps_appending_between_calls_is_refused_naming_backprop():
    """A from-scratch bug: gradients appended to lists the model keeps, never emptied. The first
    check sees one gradient per layer; the second call (trying a 1/m rescaling of the wrong
    gradient) returns two, and the error says what backprop returned and what was expected."""
    model = Linear()
    model.params = [np.array([1.0, 2.0]), np.array([0.5])]
    kept = []

    def cost(X):
        return float(np.mean((model.params[0] @ X + model.params[1][0]) ** 2))

    def backprop(X):
        r = model.params[0] @ X + model.params[1][0]
        kept.extend([-2 * (X @ r) / X.shape[1], -2 * np.array([np.mean(r)])])  # wrong sign
        return list(kept)

    with pytest.raises(ValueError) as info:
        check_model(model, cost, backprop, X3, params=["params"])
    assert str(info.value) == "backprop returned a list of 4 arrays, params is a list of 2 arrays"
    assert model.params[0].tolist() == [1.0, 2.0]


def test_parameters_that_are_numbers_or_read_only_arrays_are_left_as_they_were():
    """A float attribute and a read-only array are parameters too: the check neither writes
    into them nor fails on them; an array the model changed in place is put back."""

    class Scalars:
        def __init__(self):
            self.gain = 1.5
            self.weights = np.array([1.0, -2.0])
            self.weights.flags.writeable = False

    model = Scalars()
    weights = model.weights

    def cost(X):
        return float(np.mean((model.gain * (model.weights @ X)) ** 2))

    def backprop(X):
        u = model.weights @ X
        n = X.shape[1]
        return {"gain": 2 * model.gain * np.mean(u**2), "weights": 2 * model.gain**2 * X @ u / n}

    report = check_model(model, cost, backprop, X3, params=["gain", "weights"])
    assert report.verdict == "pass" and list(report.layers) == ["gain", "weights"]
    assert model.gain == 1.5 and type(model.gain) is float
    assert model.weights is weights and weights.tolist() == [1.0, -2.0]

    changed = Linear()
    w = changed.params["W"]

    def sloppy(X):
        w[0] -= 0.25  # the model updates the caller's array while computing its gradient
        return {"params": {"W": changed.gradient_of_w(X), "b": np.array([0.0])}}

    check_model(changed, changed.cost, sloppy, X3, params=["params"])
    assert changed.params["W"] is w and w.tolist() == [1.0, 2.0]


def _scaled_linear(factor):
    model = Linear()

    def backprop(X):
        r = model.residual(X)
        return {
            "params": {
                "W": factor * model.gradient_of_w(X),
                "b": factor * 2 * r.mean(keepdims=True),
            }
        }

    return model, backprop


def test_one_over_m_is_diagnosed_from_two_examples_on():
    model, summed = _scaled_linear(2.0)
    report = check_model(model, model.cost, summed, X3[:, :2], params=["params"])
    assert report.m == 2 and report.diagnosis.startswith(
        "missing 1/m: backprop returns m = 2 times the gradient of the cost"
    )


def test_one_mistake_shared_by_every_parameter_is_said_once():
    model, fivefold = _scaled_linear(5.0)
    report = check_model(model, model.cost, fivefold, X3, params=["params"])
    assert report.m == 3
    assert report.diagnosis == "every parameter: scale: the gradient is the right one x 5"


def test_one_failing_parameter_is_named_and_no_examples_count_is_needed():
    """With one parameter the diagnosis names it; data without an examples axis (m unknown)
    still gets check_grad's diagnosis."""

    class Weights:
        def __init__(self):
            self.weights = np.array([1.0, 2.0])

    model = Weights()
    report = check_model(
        model,
        lambda scale: scale * float(np.sum(model.weights**2)),
        lambda scale: -2 * scale * model.weights,
        2.0,
        params=["weights"],
    )
    assert report.m is None and report.verdict == "fail"
    assert report.diagnosis == "weights: sign: the gradient is the negative of the right one"


def test_one_data_array_of_any_rank_counts_examples_along_its_last_axis():
    model = Linear()

    def cost(images):
        return model.cost(X3)

    def backprop(images):
        return {"params": {"W": model.gradient_of_w(X3), "b": np.array([0.0])}}

    report = check_model(model, cost, backprop, np.zeros((2, 3, 7)), params=["params"])
    assert report.m == 7


# -- compare.reference ------------------------------------------------------------------------
def test_complex_logsumexp_shifts_each_column_by_its_own_maximum():
    """Examples (columns) whose logits differ by 1000 each keep a finite log-sum-exp: the shift
    is taken per column, not over the whole batch."""
    z = np.array([[1000.0, 0.0], [1000.0, 0.0]]) + 1e-20j
    out = reference.COMPLEX_MATH.logsumexp(z)
    assert out.shape == (1, 2)
    np.testing.assert_allclose(np.real(out), [[1000 + np.log(2), np.log(2)]], rtol=1e-15)
    np.testing.assert_allclose(np.imag(out) / 1e-20, [[1.0, 1.0]], rtol=1e-12)


def test_autograd_logsumexp_takes_a_stack_of_batches():
    """Like the complex namespace, the autograd one reduces over the classes (axis -2) of each
    batch in a stack (B, n, m)."""
    z = np.arange(24.0).reshape(2, 3, 4) / 7
    out = reference.AUTOGRAD_MATH.logsumexp(z)
    assert out.shape == (2, 1, 4)
    for k in range(2):
        expected = np.log(np.sum(np.exp(z[k]), axis=0, keepdims=True))
        np.testing.assert_allclose(out[k], expected, rtol=1e-14)


def test_the_batched_differences_use_each_hidden_layers_own_activation():
    """Three layers, two different hidden activations: moving an entry of layer 1 goes through
    layer 2's activation (sigmoid), not layer 1's (tanh)."""
    spec = network.NetworkSpec([3, 4, 3, 1], ["tanh", "sigmoid", "sigmoid"], "bce", seed=2)
    params = network.init_params(spec)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((3, 5))
    Y = rng.integers(0, 2, (1, 5)).astype(float)
    grads, _, _ = reference.network_numerical_grad(spec, params, X, Y, "central")
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        np.testing.assert_allclose(grads[k], exact[k], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", ["central", "complex"])
def test_a_float32_network_is_differenced_exactly_as_its_float64_copy(method):
    """float32 parameters are widened before anything else, steps included: the estimates,
    bounds and kink flags are those of the same numbers in float64, bit for bit, and computing
    them emits no warning."""
    spec32, params32, X32, Y32 = make_problem("tanh", "sigmoid", "bce", m=4, dtype="float32")
    spec64 = dataclasses.replace(spec32, dtype="float64")
    widened = {k: v.astype(np.float64) for k, v in params32.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        narrow = reference.network_numerical_grad(spec32, params32, X32, Y32, method)
    assert caught == []
    wide = reference.network_numerical_grad(
        spec64, widened, X32.astype(np.float64), Y32.astype(np.float64), method
    )
    for a, b in zip(narrow, wide):
        for k in params32:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k])


def test_the_error_bound_covers_the_rounding_of_outputs_and_targets_far_larger_than_the_cost():
    """Outputs and targets near 1e4 with a cost near 1: the cost is rounded like numbers of
    size 1e4, and each estimate's error bound says so (it covers the true error)."""
    spec = network.NetworkSpec([2, 3, 1], ["tanh", "linear"], "mse", seed=3)
    params = network.init_params(spec)
    params["b2"] = params["b2"] + 1e4
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 6))
    Y = network.forward(spec, params, X)[0][-1] + rng.standard_normal((1, 6))
    grads, errors, _ = reference.network_numerical_grad(spec, params, X, Y, "central")
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        assert np.all(np.abs(grads[k] - exact[k]) <= errors[k]), k
    # the step grows with |p|: b2, near 1e4, is differenced as accurately as the rest
    assert float(np.max(errors["b2"])) < 1e-8


def test_the_error_bound_covers_the_rounding_of_large_logits_behind_a_small_cost():
    """ce with logits near 1000 that differ by about 1: the cost is of size 1 but computed
    from numbers of size 1000 (logsumexp(z) - z_i), and each error bound says so."""
    spec = network.NetworkSpec([2, 4, 3], ["tanh", "softmax"], "ce", seed=4)
    params = network.init_params(spec)
    params["b2"] = params["b2"] + 1000.0
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2, 6))
    Y = network.one_hot(rng.integers(0, 3, 6), 3).astype(float)
    grads, errors, _ = reference.network_numerical_grad(spec, params, X, Y, "richardson")
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        assert np.all(np.abs(grads[k] - exact[k]) <= errors[k]), k


class Progress:
    """A progress bar that records its calls and the pool threads alive at each update."""

    calls: list = []
    workers: set = set()

    def __init__(self, total):
        Progress.calls = [("total", total)]
        Progress.workers = set()

    def update(self, n):
        Progress.calls.append(("update", n))
        Progress.workers |= {
            t for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")
        } - Progress.before

    def close(self):
        Progress.calls.append(("close",))


def test_progress_counts_blocks_of_512_entries_and_threads_bounds_the_workers():
    """W1 of 27 x 19 = 513 entries is two blocks; threads=1 uses one worker thread, and the
    default at most min(4, the CPU count)."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[19, 27, 1], m=3)
    for threads, most in ((1, 1), (None, min(4, os.cpu_count() or 1))):
        Progress.before = set(threading.enumerate())
        reference.network_numerical_grad(
            spec, params, X, Y, "central", threads=threads, progress=Progress
        )
        tasks = 2 + 1 + 1 + 1  # W1 in two blocks, b1, W2, b2
        assert Progress.calls == [("total", tasks)] + [("update", 1)] * tasks + [("close",)]
        assert 1 <= len(Progress.workers) <= most, threads


@pytest.mark.parametrize("cpus, fewest, most", [(8, 2, 4), (None, 1, 1)])
def test_the_default_worker_count_is_the_cpu_count_at_most_4(monkeypatch, cpus, fewest, most):
    """With 8 CPUs the default is 4 workers; with the count unknown, one. (Eight tasks that
    each take milliseconds: the pool starts a worker for each task submitted while the others
    are busy, up to its size.)"""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[19, 27, 20, 1], m=300)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    Progress.before = set(threading.enumerate())
    reference.network_numerical_grad(spec, params, X, Y, "central", progress=Progress)
    assert Progress.calls[0] == ("total", 8)
    assert fewest <= len(Progress.workers) <= most


def test_a_wide_output_layer_with_one_example_is_differenced_in_smaller_chunks():
    """600 outputs and one example: fewer than 256 rows go through the stack at a time, and
    every estimate still agrees with autograd within its bound."""
    spec, params, X, Y = make_problem("tanh", "linear", "mse", dims=[1, 2, 600], m=1)
    grads, errors, _ = reference.network_numerical_grad(spec, params, X, Y, "central")
    _, exact = reference.loss_and_grads(spec, params, X, Y)
    for k in params:
        assert np.all(np.abs(grads[k] - exact[k]) <= errors[k] + 1e-12), k


# -- compare.trees ----------------------------------------------------------------------------
def test_a_gradient_that_is_no_array_at_all_is_described_as_it_is():
    with pytest.raises(TypeError) as info:
        check_grad(lambda x: float(np.sum(x["W"] ** 2)), lambda x: "oops", {"W": np.ones(2)})
    assert str(info.value) == "grad_f returned str 'oops', x is a dict with keys ['W']"


def test_params_given_as_one_string_is_refused_saying_what_was_given():
    with pytest.raises(TypeError) as info:
        check_model(Linear(), Linear().cost, Linear().gradient_of_w, X3, params="params")
    assert str(info.value) == "params must be a list of attribute names, got str 'params'"


def test_a_per_example_gradient_of_the_wrong_shape_names_backprop_and_both_shapes():
    model = Linear()
    examples = [(X3[:, [k]],) for k in range(3)]

    def backprop(x):
        return {"params": {"W": model.gradient_of_w(x)[:, None], "b": np.zeros(1)}}

    with pytest.raises(ValueError) as info:
        check_model(model, model.cost, backprop, examples=examples, params=["params"])
    assert str(info.value) == (
        "backprop returned shape (2, 1) for params['W'], which has shape (2,)"
    )


def test_a_float32_network_checked_example_by_example_is_held_to_float32_precision():
    """The mean of float32 per-example gradients is a float32 gradient: a right backprop passes
    (it failed at float64's tolerance before) and a 1% error is still caught."""
    net = ExampleNet([3, 4, 2], seed=1)
    net.weights = [w.astype(np.float32) for w in net.weights]
    net.biases = [b.astype(np.float32) for b in net.biases]
    examples = [(X[:, [k]].astype(np.float32), Y[:, [k]].astype(np.float32)) for k in range(5)]
    kwargs = {"examples": examples, "params": ("biases", "weights")}
    right = check_model(net, net.example_cost, net.example_backprop, **kwargs)
    assert right.verdict == "pass", str(right)
    net.scale = 1.01
    wrong = check_model(net, net.example_cost, net.example_backprop, **kwargs)
    assert wrong.diagnosis == "every parameter: scale: the gradient is the right one x 1.01"
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)


def test_an_unknown_attribute_is_refused_listing_only_the_public_ones():
    model = Linear()
    model._cache = {}
    with pytest.raises(ValueError) as info:
        check_model(model, model.cost, model.gradient_of_w, X3, params=["weights"])
    assert str(info.value) == (
        "params must name attributes of the model, got 'weights'; it has ['params']"
    )


def test_a_backprop_that_is_not_callable_is_refused_saying_what_it_is():
    model = Linear()
    with pytest.raises(TypeError) as info:
        check_model(model, model.cost, 3, X3, params=["params"])
    assert str(info.value) == "backprop must be callable, got int 3"


def test_a_gradient_that_is_text_is_refused_by_check_grad_not_by_numpy():
    """The gradient of one parameter given as a string: check_grad's own message about its
    dtype, whether or not the check fails first and 1/m rescalings are tried."""
    model = Linear()
    for factor in (1.0, 3.0):

        def backprop(X, factor=factor):
            return {"params": {"W": factor * model.gradient_of_w(X), "b": "0.0"}}

        with pytest.raises(TypeError) as info:
            check_model(model, model.cost, backprop, X3, params=["params"])
        assert str(info.value).startswith("grad_f must return real arrays, got dtype <U3")


def test_an_extra_one_over_m_is_diagnosed_from_two_examples_on():
    model, halved = _scaled_linear(0.5)
    report = check_model(model, model.cost, halved, X3[:, :2], params=["params"])
    assert report.m == 2 and report.diagnosis.startswith(
        "extra 1/m: backprop returns the gradient of the cost divided by m = 2"
    )


@pytest.mark.parametrize(
    "returned, message",
    [
        (
            lambda g: {"weights": g},
            "backprop returned a dict with keys ['weights']; it lacks the parameters ['params']",
        ),
        (
            lambda g: (g, g, g),
            "backprop returned a tuple; expected one gradient per parameter attribute, in the "
            "order of params ['params', 'extra'] (or a dict keyed by them)",
        ),
    ],
)
def test_per_example_gradients_in_the_wrong_form_name_backprop(returned, message):
    model = Linear()
    model.extra = np.ones(1)
    params = ["params"] if "lacks" in message else ["params", "extra"]

    def backprop(x):
        return returned({"W": model.gradient_of_w(x), "b": np.zeros(1)})

    with pytest.raises(ValueError) as info:
        check_model(model, model.cost, backprop, examples=[(X3[:, [0]],)], params=params)
    assert str(info.value).startswith(message)


def test_leaf_dict_and_flatten_name_the_value_by_default():
    for method in ("leaf_dict", "flatten"):
        with pytest.raises(TypeError) as info:
            getattr(Tree({"W": np.ones(2)}), method)([1.0])
        assert str(info.value) == "the value a list of 1 items, x is a dict with keys ['W']"


def test_scalar_leaves_come_back_as_numbers_from_one_element_arrays():
    tree = Tree({"b": 1.5, "c": np.float32(2.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = tree.from_leaf_dict(
            {"x['b']": np.array([4.0]), "x['c']": np.array([[3.0]], np.float32)}
        )
    assert type(back["b"]) is float and back["b"] == 4.0
    assert back["c"].shape == () and back["c"].dtype == np.float32 and back["c"] == 3.0


def test_a_gradient_for_several_arguments_of_another_structure_names_args():
    with pytest.raises(TypeError) as info:
        check_grad(
            lambda a, b: float(np.sum(a * b)),
            lambda a, b: b,
            np.ones(2),
            np.ones(2),
            argnums=(0, 1),
        )
    assert str(info.value) == "grad_f returned an array of shape (2,), args is a tuple of 2 arrays"


def test_an_unexpected_key_in_a_nested_dict_or_list_is_noted_when_notes_are_asked_for():
    tree = Tree({"layer": {"W": np.ones(2)}, "b": 1.0})
    notes = []
    found = tree.match({"layer": {"W": np.zeros(2), "gamma": 1.0}, "b": 2.0}, "g", extras=notes)
    assert [f.tolist() if isinstance(f, np.ndarray) else f for f in found] == [[0.0, 0.0], 2.0]
    assert notes == [
        "g a dict with keys ['W', 'gamma'] at x['layer'], which has keys ['W']: unexpected "
        "['gamma']"
    ]
    in_a_list = Tree([{"W": np.ones(2)}, 1.0])
    notes = []
    in_a_list.match([{"W": np.zeros(2), "gamma": 1.0}, 2.0], "g", extras=notes)
    assert notes == [
        "g a dict with keys ['W', 'gamma'] at x[0], which has keys ['W']: unexpected ['gamma']"
    ]


def test_a_leaf_that_is_not_a_number_is_refused_saying_what_it_is():
    with pytest.raises(TypeError) as info:
        Tree([1.0, "s"])
    assert str(info.value) == (
        "x[1] must be a number, a float array, or a dict/list/tuple of those, got str 's'"
    )
