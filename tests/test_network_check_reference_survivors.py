"""Behaviour that the mutation run of compare's diagnosis, verdicts, network_check, trees,
reference and model_check found unchecked by the quick tests (docs/mutation_kearly.md).

Each test states what a user of the public API sees; the networks are tiny (a few dozen
parameters, five examples), so every test here runs in milliseconds.
"""

import math
import warnings

import numpy as np
import pytest
from conftest import make_problem

from backproof import manual, network
from backproof.compare import check_grad, check_model, compare_network, reference
from backproof.compare.diagnosis import diagnose
from backproof.compare.fdpolicy import ATOL_FACTOR, RTOL_FACTOR
from backproof.compare.network_check import check_implementation, first_wrong_layer
from backproof.compare.trees import Tree
from backproof.compare.verdicts import judge


# -- network_check ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three_layers():
    return make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 3, 1], m=5)


def _report_with_wrong(problem, *keys):
    """check_implementation of manual's gradient with the entries of ``keys`` doubled."""
    spec, params, X, Y = problem

    def grads(p):
        g = manual.loss_and_grads(spec, p, X, Y)[1]
        return {k: v * 2.0 if k in keys else v for k, v in g.items()}

    return spec, check_implementation(spec, params, X, Y, grads)


@pytest.mark.parametrize(
    "wrong, layer",
    [
        ((), None),  # every layer agrees: no layer to name
        (("b2",), 2),  # a bias alone is enough; the layer above it is right
        (("W1",), 1),  # the first layer is reached too
        (("W3", "W1"), 3),  # going backward from the output, the output layer comes first
        (("b3", "W2"), 3),
    ],
)
def test_first_wrong_layer_walks_down_from_the_output(three_layers, wrong, layer):
    spec, report = _report_with_wrong(three_layers, *wrong)
    assert {k for k, p in report.params.items() if not p.ok} == set(wrong)
    assert first_wrong_layer(spec, report) == layer


def test_the_text_names_the_odd_one_out():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)

    def broken(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, "W1": -g["W1"]}

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual", "tensor"],
        references=["autograd"],
        extra={"broken": broken},
        epochs=0,
    )
    assert result.odd_one_out == {"W1": "broken"}
    assert "\nodd one out for W1: broken" in str(result)


def test_a_finite_difference_cell_states_its_tolerance_relative_to_the_largest_entry():
    """Against finite differences a cell's tolerance is the largest one its entries were allowed
    (atol + rtol |ref| where Richardson's bound certifies them all), divided, like rel_error, by
    the largest |ref| entry of the whole gradient."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["fd"], epochs=0
    )
    ref = reference.network_numerical_grad(spec, params, X, Y, "richardson")[0]
    scale = max(float(np.max(np.abs(v))) for v in ref.values())
    assert scale < 0.5  # far enough from 1 that dividing and multiplying by it differ
    eps = float(np.finfo(np.float64).eps)
    atol, rtol = ATOL_FACTOR * eps * scale, RTOL_FACTOR * math.sqrt(eps)
    for p in params:
        cell = result.cell("manual", "fd", p)
        assert cell.verdict == "pass" and cell.rel_error <= cell.tolerance
        largest = float(np.max(np.abs(ref[p])))
        assert cell.tolerance == pytest.approx((atol + rtol * largest) / scale, rel=1e-9)


@pytest.mark.parametrize("name", ["autograd", "manual"])
def test_an_extra_implementation_cannot_take_a_built_in_name(name):
    """An extra named "autograd" used to replace autograd's gradient as the reference: a wrong
    extra then passed and the right manual gradient failed. Such a name is refused."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)

    def wrong(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, "W1": 2 * g["W1"]}

    with pytest.raises(ValueError, match=rf"extra must not reuse .*got \['{name}'\]"):
        compare_network(
            spec, X, Y, params, implementations=["manual"], extra={name: wrong}, epochs=0
        )


# -- verdicts --------------------------------------------------------------------------------
WIDE = np.longdouble
TINY = WIDE(2.0) ** -60  # below float64's resolution at 1, within long double's


@pytest.mark.skipif(
    np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps,
    reason="long double is float64 on this platform",
)
@pytest.mark.parametrize(
    "g, keywords, expected",
    [
        (1.0, dict(low=WIDE(1.0) + TINY, high=2.0), "pass"),  # low rounds to 1 = g
        (1.0, dict(low=0.0, high=WIDE(1.0) - TINY), "pass"),  # high rounds to 1 = g
        (1.0, dict(tol=1.0, low=1.0, high=3.0, low_err=WIDE(1.0) + TINY), "pass"),
        (1.0, dict(tol=1.0, low=-1.0, high=1.0, high_err=WIDE(1.0) + TINY), "pass"),
        # 1 + 0.75 ulp rounds up to g = 1 + 1 ulp in float64: not beyond the fail side
        (1.0 + 2.0**-52, dict(slack=WIDE(0.75) * 2.0**-52), "inconclusive"),
    ],
)
def test_judge_works_in_float64_whatever_the_precision_of_its_bounds(g, keywords, expected):
    """Every argument of ``judge`` is taken as float64, like ``g`` itself: a bound or error given
    in long double gives the verdict of its float64 value, never one finer than g can hold."""
    base = dict(est=1.0, err=0.0, tol=0.0, confidence=1.0)
    rounded = {k: float(v) for k, v in keywords.items()}
    assert str(judge(g, **(base | rounded))) == expected
    assert str(judge(g, **(base | keywords))) == expected


# -- diagnosis -------------------------------------------------------------------------------
def test_a_gradient_zero_on_every_checked_entry_is_not_called_a_scale_of_zero():
    """The entries checked (here 2 of 3) are all 0 where the right values are not: no scale
    factor fits (x 0 is no scale), so the diagnosis falls through to the entries' pattern."""
    d = diagnose(
        "W",
        analytic=np.array([0.0, 0.0, 7.0]),
        shape=(3,),
        idx=np.array([0, 1]),
        numerical=np.array([1.0, 2.0]),
        threshold=np.array([1e-6, 1e-6]),
        verdicts=np.array(["fail", "fail"]),
        kink=np.array([False, False]),
        x=np.array([1.0, -1.0]),
        full=False,
    )
    assert d.kinds == ["values"]
    assert d.text == "values: every checked entry is wrong (2) (of the sampled entries)"


# -- trees -----------------------------------------------------------------------------------
@pytest.mark.parametrize("returned, words", [("oops", "str 'oops'"), (None, "None")])
def test_a_value_of_no_known_kind_is_named_in_the_structure_error(returned, words):
    tree = Tree({"W": np.ones(2)})
    with pytest.raises(TypeError) as caught:
        tree.match(returned, "grad_f returned")
    assert str(caught.value) == f"grad_f returned {words}, x is a dict with keys ['W']"


# -- reference -------------------------------------------------------------------------------
def test_the_complex_step_logsumexp_shifts_each_column_by_its_own_largest_entry():
    """Columns are examples: one example's logits ~1000 above another's must not underflow the
    other's exponentials (a shift by the largest entry overall would give log 0 = -inf)."""
    z = np.array([[0.0, 1000.0], [1.0, 1001.0]]) + 1e-20j
    out = reference.COMPLEX_OPS.logsumexp(z)
    assert out.shape == (1, 2)
    np.testing.assert_allclose(out.real, [[np.logaddexp(0.0, 1.0), np.logaddexp(1000.0, 1001.0)]])
    # the imaginary part carries the complex step: d logsumexp / dz = softmax(z) per column
    soft = np.exp(z.real - np.logaddexp(z.real[0], z.real[1]))
    np.testing.assert_allclose(out.imag, 1e-20 * soft.sum(axis=0, keepdims=True))


# -- model_check -----------------------------------------------------------------------------
class Linear:
    """cost(D) = mean over the examples (D's last axis) of sum(w * D[..., k]): gradient
    D.mean(-1). ``factor`` scales the gradient backprop returns."""

    def __init__(self, factor=1.0):
        self.w = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
        self.factor = factor

    def cost(self, D):
        return float(np.sum(self.w[..., None] * D)) / D.shape[-1]

    def backprop(self, D):
        return self.factor * D.mean(axis=-1)


def test_the_examples_of_a_single_data_array_are_its_last_axis_whatever_its_rank():
    D = np.random.default_rng(3).standard_normal((2, 3, 5))  # 5 examples of a 2 x 3 input
    right = Linear()
    assert check_model(right, right.cost, right.backprop, D, params=["w"]).m == 5
    summed = Linear(factor=5.0)
    report = check_model(summed, summed.cost, summed.backprop, D, params=["w"])
    assert report.m == 5 and report.diagnosis.startswith("missing 1/m: backprop returns m = 5 ")


class DictModel:
    """Parameters in a dict attribute ``p``; a linear cost over 4 examples (mean of z^2 / 2,
    z = W x + b). ``backprop`` (keyed by attribute name) leaves out b's gradient; with ``grows``
    it also adds a key the parameters do not have, from its second call on."""

    X = np.array([[1.0, -2.0, 0.5, 3.0], [0.2, 0.7, -1.0, 1.5]])

    def __init__(self, grows=False):
        self.p = {"W": np.array([[0.3, -0.4]]), "b": np.array([0.2])}
        self.grows, self.calls = grows, 0

    def cost(self, X):
        z = self.p["W"] @ X + self.p["b"][:, None]
        return float(np.mean(z**2) / 2)

    def backprop(self, X):
        self.calls += 1
        z = self.p["W"] @ X + self.p["b"][:, None]
        g = {"W": z @ X.T / X.shape[1]}
        return {"p": g | {"velocity": g["W"]} if self.grows and self.calls > 1 else g}


def test_a_missing_gradient_survives_the_rescaled_checks_of_the_1_over_m_diagnosis():
    model = DictModel()
    report = check_model(model, model.cost, model.backprop, DictModel.X, params=["p"])
    assert report.verdict == "fail" and report.layers == {"p['W']": "pass", "p['b']": "fail"}
    assert report.diagnosis.startswith("p['b']: zero: no gradient was given for p['b']")


def test_a_backprop_that_changes_its_structure_between_calls_is_named_in_the_error():
    model = DictModel(grows=True)  # b's gradient missing: the diagnosis calls backprop again
    with pytest.raises(ValueError) as caught:
        check_model(model, model.cost, model.backprop, DictModel.X, params=["p"])
    assert str(caught.value).startswith("backprop returned a dict with keys ['W', 'velocity']")
    assert model.calls >= 2


# -- reference: HIPS autograd's logsumexp over a stack ---------------------------------------
def test_the_autograd_logsumexp_works_down_the_columns_of_a_stack():
    """Shape (..., 1, m), as the activations' namespaces promise: each matrix of a stack of
    three 2 x 4 matrices gets its own column-wise log sum exp."""
    z = np.arange(24.0).reshape(3, 2, 4) * np.array([1.0, -0.5])[:, None]
    out = reference.AUTOGRAD_OPS.logsumexp(z)
    assert out.shape == (3, 1, 4)
    np.testing.assert_allclose(out, np.logaddexp(z[:, :1], z[:, 1:]))


class TwoParams:
    """cost(X) = mean_k (w . x_k)^2 / 2 + |v|^2 / 2 over the columns of X (a nested list
    works too); backprop returns (fw grad_w, fv grad_v) and counts its calls. ``step`` makes
    backprop also take a gradient step on w in place, as some training code does."""

    def __init__(self, fw=1.0, fv=1.0, step=0.0):
        self.w = np.array([0.3, -0.7])
        self.v = np.array([0.5, 0.2, -0.1])
        self.fw, self.fv, self.step, self.calls = fw, fv, step, 0

    def cost(self, X):
        z = self.w @ np.asarray(X)
        return float(np.mean(z**2) / 2 + self.v @ self.v / 2)

    def backprop(self, X):
        self.calls += 1
        X = np.asarray(X)
        gw = X @ (self.w @ X) / X.shape[1]
        if self.step:
            self.w -= self.step * gw
        return self.fw * gw, self.fv * self.v


X4 = np.array([[1.0, -0.5, 2.0, 0.3], [0.4, 1.5, -1.0, 0.8]])  # 4 examples


def _check(model, *data, **kwargs):
    return check_model(model, model.cost, model.backprop, *data, params=["w", "v"], **kwargs)


def test_the_same_mistake_in_two_parameters_is_said_once():
    report = _check(TwoParams(fw=3.0, fv=3.0), X4)
    assert report.diagnosis == "every parameter: scale: the gradient is the right one x 3"


def test_a_mistake_in_one_parameter_is_named_with_that_parameter():
    report = _check(TwoParams(fw=3.0), X4)
    assert report.layers == {"w": "fail", "v": "pass"}
    assert report.diagnosis == "w: scale: the gradient is the right one x 3"


def test_two_examples_are_enough_for_the_1_over_m_diagnosis():
    report = _check(TwoParams(fw=2.0, fv=2.0), X4[:, :2])
    assert report.m == 2
    assert report.diagnosis.startswith("missing 1/m: backprop returns m = 2 times")


def test_with_one_example_or_an_unknown_m_the_check_runs_once():
    """No 1/m to look for: backprop is called as often as for one check, and the diagnosis is
    check_grad's (x 1/m would be x 1)."""
    unknown = TwoParams(fw=-1.0)
    report = _check(unknown, X4.tolist())  # data without arrays: m unknown
    assert report.m is None and report.diagnosis.startswith("w: sign: ")
    one = TwoParams(fw=-1.0)
    report = _check(one, X4, m=1)
    assert report.m == 1 and report.diagnosis.startswith("w: sign: ")
    assert one.calls == unknown.calls


def test_parameters_changed_in_place_by_backprop_are_restored_bit_for_bit():
    model = TwoParams(step=0.1)
    w, before = model.w, model.w.copy()
    _check(model, X4)
    assert model.w is w and model.w.tobytes() == before.tobytes()


def test_a_python_number_among_the_parameters_is_restored_too():
    class WithScalar(TwoParams):
        def __init__(self):
            super().__init__()
            self.s = 0.25

        def cost(self, X):
            return super().cost(X) + self.s**2

        def backprop(self, X):
            return (*super().backprop(X), 2 * self.s)

    model = WithScalar()
    report = check_model(model, model.cost, model.backprop, X4, params=["w", "v", "s"])
    assert report.verdict == "pass" and model.s == 0.25 and type(model.s) is float


def test_a_misshapen_gradient_of_one_example_is_named_as_backprop_s():
    model = TwoParams()
    examples = [(X4[:, [k]],) for k in range(4)]

    def backprop(x):
        gw, gv = model.backprop(x)
        return gw, gv[:2]

    with pytest.raises(ValueError) as caught:
        check_model(model, model.cost, backprop, examples=examples, params=["w", "v"])
    assert str(caught.value) == "backprop returned shape (2,) for v, which has shape (3,)"


class Aliased(TwoParams):
    """Keeps its own list of the parameter arrays (``self.layers``, the original objects), and
    its backprop takes a gradient step on w through it: in place, on the original w."""

    def __init__(self):
        super().__init__()
        self.layers = [self.w, self.v]

    def backprop(self, X):
        gw, gv = super().backprop(X)
        self.layers[0] -= 0.1 * gw
        return gw, gv


def test_parameters_changed_in_place_through_an_alias_are_restored_bit_for_bit():
    model = Aliased()
    w, before = model.w, model.w.copy()
    _check(model, X4)
    assert model.w is w and model.w.tobytes() == before.tobytes()


def test_a_parameter_container_reshaped_in_place_is_reported():
    class Shelf:
        def __init__(self):
            self.weights = [np.array([0.5, -0.5]), np.array([1.5])]
            self.shelf = self.weights  # the same list

        def cost(self, x):
            return float(sum(np.sum(w * x) for w in self.weights))

        def backprop(self, x):
            self.shelf.append(np.zeros(1))
            return ([np.full(2, x), np.full(1, x)],)

    model = Shelf()
    with pytest.raises(ValueError) as caught:
        check_model(model, model.cost, model.backprop, 2.0, params=["weights"])
    assert str(caught.value) == (
        "the model's code changed its parameters in place to a list of 3 arrays, weights is a "
        "list of 2 arrays"
    )


def test_an_unknown_attribute_name_lists_the_public_attributes_only():
    model = TwoParams()
    model._cache = {}
    with pytest.raises(ValueError) as caught:
        check_model(model, model.cost, model.backprop, X4, params=["w", "weights"])
    assert str(caught.value) == (
        "params must name attributes of the model, got 'weights'; it has "
        "['calls', 'fv', 'fw', 'step', 'v', 'w']"
    )


def test_a_cost_that_is_not_callable_is_described():
    model = TwoParams()
    with pytest.raises(TypeError, match=r"^cost must be callable, got float 1\.5$"):
        check_model(model, 1.5, model.backprop, X4, params=["w", "v"])


def test_a_sign_and_scale_of_m_is_named_as_m():
    """-m is neither 1/m missing nor extra: check_grad's diagnosis names the factor m."""
    report = _check(TwoParams(fw=-4.0, fv=-4.0), X4)
    assert report.diagnosis == (
        "every parameter: sign and scale: the gradient is the right one x -m (= 4)"
    )


def test_a_gradient_halved_over_two_examples_is_an_extra_1_over_m():
    report = _check(TwoParams(fw=0.5, fv=0.5), X4[:, :2])
    assert report.diagnosis.startswith("extra 1/m: backprop returns the gradient of the cost ")


def test_a_wrong_number_of_gradients_for_one_example_is_named_as_backprop_s():
    model = TwoParams()
    examples = [(X4[:, [k]],) for k in range(4)]

    def backprop(x):
        return (*model.backprop(x), 0.0)

    with pytest.raises(ValueError) as caught:
        check_model(model, model.cost, backprop, examples=examples, params=["w", "v"])
    assert str(caught.value) == (
        "backprop returned a tuple; expected one gradient per parameter attribute, in the order "
        "of params ['w', 'v'] (or a dict keyed by them)"
    )


def test_the_mean_gradient_over_examples_is_summed_in_float64_then_given_the_params_dtype():
    """float32 parameters: the per-example gradients are summed and divided in float64, and the
    mean is rounded once to the parameters' float32 (so that a float32 tolerance applies)."""

    class Thirds:
        def __init__(self):
            self.w = np.array([1.0], dtype=np.float32)

        def cost(self, x):
            return float(self.w[0]) * x

        def backprop(self, x):
            return np.array([2.0 * x])  # twice the right gradient: a failure, reported

    model = Thirds()
    examples = [(0.1,), (0.2,), (0.4,)]
    report = check_model(model, model.cost, model.backprop, examples=examples, params=["w"])
    mean = (np.float64(0.2) + np.float64(0.4) + np.float64(0.8)) / 3
    assert mean != np.float32(mean)
    analytic = report.report.worst[0].analytic
    assert report.verdict == "fail" and analytic == np.float32(mean)
    assert analytic != np.float32(np.float32(0.2) + np.float32(0.4) + np.float32(0.8)) / 3


@pytest.mark.parametrize("method", ["central", "complex"])
def test_the_batched_references_use_each_layer_s_own_activation(method):
    """Hidden layers tanh, softplus, tanh: moving an entry of layer 1 carries the change
    through layers 2 and 3 with their own activations (softplus, then tanh)."""
    spec = network.NetworkSpec(
        [2, 3, 3, 3, 1], ["tanh", "softplus", "tanh", "sigmoid"], "bce", seed=1
    )
    _, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 3, 3, 1], m=5)
    numerical = reference.network_numerical_grad(spec, params, X, Y, method)[0]
    exact = reference.loss_and_grads(spec, params, X, Y)[1]
    for p in params:
        np.testing.assert_allclose(numerical[p], exact[p], rtol=1e-6, atol=1e-9, err_msg=p)


def test_network_numerical_grad_checks_its_inputs_by_default():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)
    with pytest.raises(ValueError, match=r"^X must have shape \(2, m\)"):
        reference.network_numerical_grad(spec, params, X[:1], Y)
    with pytest.raises(ValueError, match=r"Y must lie in \[0, 1\]"):
        reference.network_numerical_grad(spec, params, X, Y + 2.0)


def test_a_float32_network_s_references_are_computed_in_float64():
    """network_numerical_grad's promise: a float32 network is evaluated in float64, so its
    references are those of the same numbers given as float64 — bit for bit."""
    spec32, p32, X32, Y32 = make_problem(
        "tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5, dtype="float32"
    )
    spec64 = network.NetworkSpec(spec32.layer_dims, spec32.activations, "bce", dtype="float64")
    p64 = {k: v.astype(np.float64) for k, v in p32.items()}
    for method in ["central", "complex"]:
        narrow = reference.network_numerical_grad(spec32, p32, X32, Y32, method)
        wide = reference.network_numerical_grad(
            spec64, p64, X32.astype(float), Y32.astype(float), method
        )
        for got, want in zip(narrow, wide):
            for p in p32:
                assert got[p].dtype == want[p].dtype and np.array_equal(got[p], want[p]), (
                    method,
                    p,
                )


@pytest.mark.parametrize("loss, out", [("bce", "sigmoid"), ("mse", "tanh")])
def test_central_differences_state_their_rounding_bound(loss, out):
    """Central differences with h = eps^(1/3) max(|p|, 1) carry no truncation estimate: the
    error returned is 10 eps (|f| + max|Z_L| + max|Y|) / h, the size of the numbers the cost
    is computed from (logits and targets) over the step."""
    spec, params, X, Y = make_problem(
        "tanh", out, loss, dims=[2, 3, 2 if loss == "mse" else 1], m=5
    )
    params["W1"] = np.array([[2.5, -1.5], [0.7, -0.3], [0.05, 1.2]])  # |p| > 1 and < 1
    Y = Y * 30.0 if loss == "mse" else Y
    params["W2"] = params["W2"] * 5.0  # logits well above the outputs
    eps = float(np.finfo(np.float64).eps)
    f0 = abs(float(network.objective(spec, params, X, Y)))
    Zs, _ = network.forward(spec, params, X)
    rounding = float(np.max(np.abs(Zs[-1]))) + float(np.max(np.abs(Y)))
    errors = reference.network_numerical_grad(spec, params, X, Y, "central")[1]
    for p, values in params.items():
        h = eps ** (1 / 3) * np.maximum(np.abs(values), 1.0)
        np.testing.assert_allclose(errors[p], 10 * eps * (f0 + rounding) / h, rtol=1e-9)


def test_a_wide_layer_with_a_single_example_is_differenced_in_chunks():
    """600 outputs and one example: fewer than 256 perturbed rows fit in the working memory at
    once, so the rows go through in chunks; the result is the gradient all the same."""
    spec, params, X, Y = make_problem("tanh", "tanh", "mse", dims=[1, 2, 600], m=1)
    numerical = reference.network_numerical_grad(spec, params, X, Y, "central")[0]
    exact = reference.loss_and_grads(spec, params, X, Y)[1]
    for p in params:
        np.testing.assert_allclose(numerical[p], exact[p], rtol=1e-6, atol=1e-9, err_msg=p)


def _workers_seen(monkeypatch, cpus, **kwargs):
    """The most worker threads alive while network_numerical_grad reports its progress."""
    import os
    import threading

    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    spec, params, X, Y = make_problem("tanh", "tanh", "mse", dims=[1, 2, 600], m=1)
    before, seen = threading.active_count(), []

    class Tracker:
        def __init__(self, total):
            self.total = total

        def update(self, n):
            seen.append(threading.active_count() - before)

        def close(self):
            pass

    reference.network_numerical_grad(spec, params, X, Y, "central", progress=Tracker, **kwargs)
    assert len(seen) >= 4  # one update per block of rows: W1, b1, W2 (two blocks), b2 (two)
    return max(seen)


@pytest.mark.parametrize(
    "cpus, kwargs, most",
    [(8, {"threads": 1}, 1), (8, {"threads": 2}, 2), (None, {}, 1), (2, {}, 2), (8, {}, 4)],
)
def test_the_work_runs_on_at_most_the_threads_asked_for(monkeypatch, cpus, kwargs, most):
    """``threads`` workers, by default the CPU count (1 when it is unknown) but at most 4."""
    assert 1 <= _workers_seen(monkeypatch, cpus, **kwargs) <= most


def test_a_tree_s_errors_call_an_unnamed_value_the_value():
    tree = Tree({"W": np.ones(2)})
    with pytest.raises(ValueError) as caught:
        tree.flatten({"W": np.ones(3)})
    assert str(caught.value) == "the value shape (3,) for x['W'], which has shape (2,)"
    with pytest.raises(TypeError) as caught:
        tree.leaf_dict([1.0])
    assert str(caught.value) == "the value a list of 1 items, x is a dict with keys ['W']"


def test_several_arguments_are_named_args_in_a_structure_error():
    def f(x, y):
        return float(np.sum(x * x) + np.sum(y))

    with pytest.raises(TypeError) as caught:
        check_grad(f, lambda x, y: 2 * x, np.array([1.0, 2.0]), np.array([3.0]), argnums=(0, 1))
    assert str(caught.value) == (
        "grad_f returned an array of shape (2,), args is a tuple of 2 arrays"
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_scalar_leaf_comes_back_as_a_number_from_a_one_entry_array(dtype):
    tree = Tree(dtype(1.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated array-to-scalar conversion either
        back = tree.from_leaf_dict({"x": np.array([2.0], dtype=dtype)})
    assert back == 2.0 and np.ndim(back) == 0 and not isinstance(back, np.ndarray)


@pytest.mark.parametrize(
    "x, returned, where",
    [
        ({"layer": {"W": np.ones(2)}}, {"layer": {"W": np.zeros(2), "extra": 1.0}}, "['layer']"),
        ([{"W": np.ones(2)}], [{"W": np.zeros(2), "extra": 1.0}], "[0]"),
    ],
)
def test_an_unexpected_key_deep_in_x_is_a_note_when_notes_are_asked_for(x, returned, where):
    notes = []
    found = Tree(x).match(returned, "grad_f returned", notes)
    assert len(found) == 1 and np.array_equal(found[0], np.zeros(2))
    assert notes == [
        f"grad_f returned a dict with keys ['W', 'extra'] at x{where}, which has keys ['W']: "
        "unexpected ['extra']"
    ]


def test_params_given_as_one_string_is_refused_with_what_was_given():
    model = TwoParams()
    with pytest.raises(TypeError) as caught:
        check_model(model, model.cost, model.backprop, X4, params="w")
    assert str(caught.value) == "params must be a list of attribute names, got str 'w'"
