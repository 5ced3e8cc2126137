"""compare/: numerical references, check_grad and its diagnosis, compare_network, the catalog."""

import json

import numpy as np
import pytest
from conftest import make_problem

from backproof import autodiff, manual, network
from backproof.compare import (
    FULL_CHECK_LIMIT,
    assert_grad_close,
    check_grad,
    compare_network,
    numerical_grad,
    reference,
)
from backproof.compare.mutants import CATALOG, check_mutant, mutant_problem
from backproof.compare.network_check import check_implementation, first_wrong_layer

rng = np.random.default_rng(0)
A = rng.standard_normal((4, 4))


def f_smooth(x):
    return float(np.sum(np.tanh(A @ x["W"])) + 1.5 * np.sum(x["b"] ** 2) + np.sum(np.sin(x["V"])))


def g_smooth(x):
    t = 1 - np.tanh(A @ x["W"]) ** 2
    return {"W": A.T @ t, "b": 3 * x["b"], "V": np.cos(x["V"])}


X0 = {
    "W": rng.standard_normal((4, 4)),
    "b": rng.standard_normal((3, 1)),
    "V": rng.standard_normal((2, 3)),
}


# -- numerical_grad ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, tol", [("central", 1e-8), ("richardson", 1e-10), ("complex", 1e-14)]
)
def test_numerical_grad_methods(method, tol):
    f = lambda x: np.sum(np.exp(x["a"]) * x["b"] ** 2)  # noqa: E731
    x = {"a": np.array([0.3, -1.2]), "b": np.array([[2.0, 0.5]])}
    g = numerical_grad(f, x, method=method)
    assert set(g) == {"a", "b"} and g["b"].shape == (1, 2)
    np.testing.assert_allclose(g["a"], np.exp(x["a"]) * x["b"][0] ** 2, rtol=tol)
    np.testing.assert_allclose(g["b"], 2 * np.exp(x["a"]) * x["b"], rtol=tol)


def test_numerical_grad_reports_its_error_and_it_bounds_the_truth():
    f = lambda x: float(np.sum(np.sin(3 * x) * x**2))  # noqa: E731
    x = np.linspace(-1, 1, 7)
    g, err = numerical_grad(f, x, method="richardson", return_error=True)
    exact = 3 * np.cos(3 * x) * x**2 + 2 * x * np.sin(3 * x)
    assert np.all(np.abs(g - exact) <= err)
    assert np.all(err < 1e-7)


def test_complex_step_is_refused_for_functions_that_are_not_complex_safe():
    with pytest.raises(ValueError, match="not analytic"):
        numerical_grad(lambda x: np.sum(x * np.abs(x)), np.array([1.0, -2.0]), "complex")
    with pytest.raises(ValueError, match="real number"):
        numerical_grad(lambda x: np.sum(np.abs(x) ** 3), np.array([1.0, -2.0]), "complex")
    with pytest.raises(ValueError, match="ComplexWarning"):
        numerical_grad(lambda x: np.sum(x.astype(float) ** 2), np.array([1.0, 2.0]), "complex")
    with pytest.raises(ValueError, match="real number"):
        numerical_grad(lambda x: float(np.real(np.sum(x**2))), np.array([1.0, 2.0]), "complex")


def test_float32_functions_are_differenced_in_float64_when_they_allow_it():
    x = np.array([0.3, 1.7], dtype=np.float32)
    g = numerical_grad(lambda x: np.sum(np.sin(x) * x), x)
    exact = np.cos(x.astype(float)) * x + np.sin(x.astype(float))
    assert np.max(np.abs(g - exact)) < 1e-8  # float32 differences could not get below ~1e-3


def test_float32_only_functions_fall_back_to_float32_steps():
    x = np.array([0.3, 1.7], dtype=np.float32)
    g = numerical_grad(lambda x: np.sum(np.sin(x.astype(np.float32)) * x), x)
    exact = np.cos(x.astype(float)) * x + np.sin(x.astype(float))
    assert np.max(np.abs(g - exact)) < 1e-3


@pytest.mark.parametrize(
    "call, exc, word",
    [
        (lambda: numerical_grad(3, np.ones(2)), TypeError, "f must be callable"),
        (lambda: numerical_grad(np.sum, np.ones(2), method="forward"), ValueError, "method"),
        (lambda: numerical_grad(np.sum, np.ones(2), step=-1.0), ValueError, "step"),
        (lambda: numerical_grad(np.sum, np.array([np.inf])), ValueError, "x must be finite"),
        (lambda: numerical_grad(np.sum, np.array([])), ValueError, "x must not be empty"),
        (lambda: numerical_grad(np.sum, {}), ValueError, "empty dict"),
        (lambda: numerical_grad(np.sum, np.array(["a"])), TypeError, "x must be a real"),
        (lambda: numerical_grad(lambda x: x, np.ones(2)), TypeError, "scalar"),
        (lambda: numerical_grad(lambda x: np.nan, np.ones(2)), ValueError, "finite"),
    ],
)
def test_numerical_grad_rejects_bad_input(call, exc, word):
    with pytest.raises(exc, match=word):
        call()


# -- check_grad ----------------------------------------------------------------------------------
def test_a_correct_gradient_passes_and_the_report_reads_well():
    report = check_grad(f_smooth, g_smooth, X0)
    assert report and report.ok and report.mode == "full"
    text = str(report)
    assert "PASSED" in text and "||g - g~|| / (||g|| + ||g~||)" in text
    assert report.rel_diff < 1e-10
    json.dumps(report.to_dict())


def test_dicts_are_matched_by_key_whatever_the_order():
    reordered = lambda x: dict(reversed(list(g_smooth(x).items())))  # noqa: E731
    assert check_grad(f_smooth, reordered, X0)


def test_a_relative_error_of_1e_6_in_one_entry_is_caught():
    def wrong(x):
        g = g_smooth(x)
        g["W"][2, 1] *= 1 + 1e-6
        return g

    report = check_grad(f_smooth, wrong, X0)
    assert not report
    assert report.params["W"].failures == 1
    assert report.worst[0].param == "W" and report.worst[0].index == (2, 1)
    assert "entries" in report.params["W"].diagnosis.kinds
    assert report.params["b"].ok and report.params["V"].ok


def test_correct_float32_gradients_are_not_flagged():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dtype="float32", m=50)
    report = check_implementation(
        spec, params, X, Y, lambda p: manual.loss_and_grads(spec, p, X, Y)[1]
    )
    assert report, str(report)
    assert report.eval_dtype == "float64"
    x32 = np.linspace(-1, 1, 20, dtype=np.float32)
    assert check_grad(
        lambda x: np.sum(np.tanh(x) ** 2), lambda x: 2 * np.tanh(x) / np.cosh(x) ** 2, x32
    )


@pytest.mark.parametrize("scale", [1e-8, 1e8])
def test_badly_scaled_functions(scale):
    f = lambda x: scale * float(np.sum(np.exp(0.3 * x) * x))  # noqa: E731
    g = lambda x: scale * (np.exp(0.3 * x) * (1 + 0.3 * x))  # noqa: E731
    x = np.linspace(-2, 2, 9)
    assert check_grad(f, g, x)
    report = check_grad(f, lambda x: 2 * g(x), x)
    assert not report and "scale" in report.params["x"].diagnosis.kinds


def test_a_point_near_an_optimum_is_not_flagged():
    target = np.linspace(-1, 1, 6)
    x = target + 5e-10  # the true gradient is 1e-9 per entry
    f = lambda x: float(np.sum((x - target) ** 2) + 3.0)  # noqa: E731
    g = lambda x: 2 * (x - target)  # noqa: E731
    assert check_grad(f, g, x)
    assert not check_grad(f, lambda x: 2 * g(x) + 1e-6, x)


def test_a_right_gradient_at_a_kink_passes_by_the_subgradient_rule():
    x = np.array([0.0, 1.0, -2.0, 3e-6])
    f = lambda x: float(np.sum(np.maximum(x, 0) ** 1 * 2.0))  # noqa: E731
    g = lambda x: 2.0 * (x > 0)  # noqa: E731
    report = check_grad(f, g, x)
    assert report.verdict == "pass", str(report)
    for between in (0.0, 1.3, 2.0):  # anything between the one-sided derivatives at 0
        assert check_grad(f, lambda x, b=between: np.where(x == 0, b, g(x)), x)
    for outside in (-0.1, 2.1, 7.0):
        assert check_grad(f, lambda x, o=outside: np.where(x == 0, o, g(x)), x).verdict == "fail"
    m = lambda x: float(np.max(x))  # noqa: E731
    assert check_grad(m, lambda x: (x == x.max()) * 1.0, np.array([1.0, 1.0 + 1e-9, 0.0])).ok


def test_kinks_do_not_hide_a_wrong_gradient_elsewhere():
    x = np.array([0.0, 1.0, -2.0, 0.5])
    f = lambda x: float(np.sum(np.maximum(x, 0) * 2.0))  # noqa: E731
    assert not check_grad(f, lambda x: 3.0 * (x > 0), x)


@pytest.mark.parametrize(
    "mistake, kind, word",
    [
        (lambda g: {**g, "W": 40 * g["W"]}, "scale", "x m (= 40)"),
        (lambda g: {**g, "b": g["b"] / 2}, "scale", "x 1/2"),
        (lambda g: {**g, "b": -g["b"]}, "sign", "sign"),
        (lambda g: {**g, "W": g["W"].T.copy()}, "transpose", "transpose"),
        (lambda g: {**g, "V": g["V"].T.copy()}, "shape", "got (3, 2)"),
        (lambda g: {**g, "V": np.zeros((2, 3))}, "zero", "zero"),
        (lambda g: {k: v for k, v in g.items() if k != "b"}, "zero", "missing"),
        (
            lambda g: {**g, "W": np.where(np.arange(16).reshape(4, 4) == 3, np.nan, g["W"])},
            "non-finite",
            "non-finite",
        ),
        (
            lambda g: {**g, "W": g["W"] + np.array([[0.0], [1.0], [0.0], [0.0]])},
            "rows",
            "row(s) [1]",
        ),
        (lambda g: {**g, "V": g["V"] + np.array([[0.0, 0.0, 1.0]])}, "columns", "column(s) [2]"),
        (lambda g: {**g, "W": g["W"] + 0.1 * X0["W"]}, "term", "extra term 0.1 x W"),
    ],
)
def test_the_diagnosis_names_the_mistake(mistake, kind, word):
    report = check_grad(f_smooth, lambda x: mistake(g_smooth(x)), X0, factors={"m": 40})
    assert not report
    bad = [p for p in report.params.values() if not p.ok]
    assert len(bad) == 1
    assert kind in bad[0].diagnosis.kinds
    assert word in str(report)


def test_fast_mode_above_the_size_threshold():
    n = FULL_CHECK_LIMIT + 500
    w = np.random.default_rng(3).standard_normal(n)
    f = lambda x: float(np.sum(np.tanh(x) * w))  # noqa: E731
    g = lambda x: w / np.cosh(x) ** 2  # noqa: E731
    x = np.random.default_rng(4).standard_normal(n)
    report = check_grad(f, g, x)
    assert report.ok and report.mode == "fast"
    assert "fast check" in str(report) and "full=True" in str(report)
    assert report.evaluations < 600  # 24 sampled entries and 3 directions, a ladder each
    wrong = check_grad(f, lambda x: -g(x), x)
    assert not wrong and "sign" in wrong.params["x"].diagnosis.kinds
    assert check_grad(f, g, x, full=True).mode == "full"


def test_fast_mode_catches_the_catalog_on_a_large_network():
    spec = network.NetworkSpec([40, 30, 30, 1], init="xavier", seed=2)  # W2 square
    assert spec.n_params() > FULL_CHECK_LIMIT
    X = np.random.default_rng(0).standard_normal((40, 64))
    Y = (np.random.default_rng(1).random((1, 64)) > 0.5) * 1.0
    params = network.init_params(spec)
    for mutant in CATALOG:
        if mutant.spec.loss != "bce" or mutant.saturate or mutant.name == "missing_regularisation":
            continue
        report = check_implementation(
            spec, params, X, Y, lambda p, mu=mutant: mu.grads(spec, p, X, Y)
        )
        assert report.mode == "fast"
        assert not report, mutant.name
    good = check_implementation(
        spec, params, X, Y, lambda p: manual.loss_and_grads(spec, p, X, Y)[1]
    )
    assert good, str(good)


def test_assert_grad_close_raises_with_the_report():
    assert assert_grad_close(f_smooth, g_smooth, X0)
    with pytest.raises(AssertionError, match="sign") as info:
        assert_grad_close(f_smooth, lambda x: {k: -v for k, v in g_smooth(x).items()}, X0)
    assert not info.value.report


def test_the_pytest_fixture(grad_check):
    grad_check(lambda x: float(np.sum(x**3)), lambda x: 3 * x**2, np.array([1.0, -2.0]))
    with pytest.raises(AssertionError):
        grad_check(lambda x: float(np.sum(x**3)), lambda x: 2 * x**2, np.array([1.0, -2.0]))


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(f=1), TypeError, "f must be callable"),
        (dict(grad_f="g"), TypeError, "grad_f must be callable"),
        (dict(method="five-point"), ValueError, "method"),
        (dict(rtol=-1.0), ValueError, "rtol"),
        (dict(atol="big"), TypeError, "atol"),
        (dict(full="yes"), TypeError, "full"),
        (dict(f=lambda x: np.ones(3)), TypeError, "f must return a scalar"),
        (dict(f=lambda x: float("nan")), ValueError, "finite"),
        (dict(grad_f=lambda x: np.ones(3)), TypeError, "dict"),
        (dict(x={"W": np.array([[np.nan]])}), ValueError, "finite"),
    ],
)
def test_check_grad_rejects_bad_input(kwargs, exc, word):
    args = dict(f=f_smooth, grad_f=g_smooth, x=X0) | kwargs
    with pytest.raises(exc, match=word):
        check_grad(args.pop("f"), args.pop("grad_f"), args.pop("x"), **args)


def test_complex_method_in_check_grad():
    f = lambda x: np.sum(np.exp(x) * x)  # noqa: E731
    assert check_grad(f, lambda x: np.exp(x) * (1 + x), np.linspace(-1, 1, 5), method="complex")
    with pytest.raises(ValueError, match="complex-safe"):
        check_grad(lambda x: float(np.sum(np.abs(x))), np.sign, np.ones(3), method="complex")


# -- compare_network -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pairing",
    [("sigmoid", "sigmoid", "bce"), ("relu", "softmax", "ce"), ("tanh", "linear", "mse")],
    ids=str,
)
def test_compare_network_agrees_for_correct_implementations(pairing):
    spec, params, X, Y = make_problem(*pairing, m=16)
    result = compare_network(spec, X, Y, params, epochs=20, lr=0.1)
    assert result, str(result)
    assert set(result.implementations) == {"manual", "tensor", "scalar", "autograd"}
    assert set(result.references) == {"autograd", "fd", "complex"}
    assert len(result.cells) == 4 * 3 * len(params)
    assert result.training_agree and len(result.training[0].history) == 20
    assert "ALL AGREE" in str(result)
    json.dumps(result.to_dict())


def test_compare_network_names_the_odd_one_out():
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "bce", m=16)

    def broken(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, "W1": g["W1"] * 1.01}

    result = compare_network(spec, X, Y, params, extra={"broken": broken}, epochs=0)
    assert not result
    assert result.odd_one_out == {"W1": "broken"}
    assert "odd one out for W1: broken" in str(result)
    assert not result.cell("broken", "fd", "W1").agree
    assert result.cell("broken", "fd", "b1").agree


def test_compare_network_float32():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", m=16, dtype="float32")
    result = compare_network(spec, X, Y, params, epochs=10, lr=0.1)
    assert result, str(result)


def test_the_network_reference_matches_the_generic_one():
    spec, params, X, Y = make_problem("relu", "softmax", "ce", m=10)
    grads, errors, kinks = reference.network_numerical_grad(spec, params, X, Y, "richardson")
    generic = numerical_grad(lambda p: network.objective(spec, p, X, Y), params, "richardson")
    for k in params:
        np.testing.assert_allclose(grads[k], generic[k], rtol=1e-7, atol=1e-10)
        assert errors[k].shape == params[k].shape and kinks[k].dtype == bool


# -- the catalog -----------------------------------------------------------------------------
@pytest.mark.parametrize("mutant", CATALOG, ids=[m.name for m in CATALOG])
def test_every_wrong_derivation_is_caught_with_a_fitting_diagnosis(mutant):
    result = check_mutant(mutant)
    assert result.caught, mutant.name
    assert result.fitting, str(result.report)


@pytest.mark.parametrize("mutant", CATALOG, ids=[m.name for m in CATALOG])
def test_no_correct_implementation_is_flagged_on_the_catalog_problems(mutant):
    spec, params, X, Y = mutant_problem(mutant)
    for name, fn in [
        ("manual", lambda p: manual.loss_and_grads(spec, p, X, Y)[1]),
        ("tensor", lambda p: autodiff.loss_and_grads(spec, p, X, Y)[1]),
        ("scalar", lambda p: autodiff.loss_and_grads(spec, p, X, Y, engine="scalar")[1]),
        ("autograd", lambda p: reference.loss_and_grads(spec, p, X, Y)[1]),
    ]:
        if mutant.saturate and name == "scalar":
            continue
        report = check_implementation(spec, params, X, Y, fn)
        assert report, f"{name} flagged:\n{report}"


def test_first_wrong_layer_localises_the_mistake():
    result = check_mutant(next(m for m in CATALOG if m.name == "W_instead_of_WT"))
    assert first_wrong_layer(result.mutant.spec, result.report) == 1


# -- verdicts --------------------------------------------------------------------------------
def test_the_interval_rule():
    from backproof.compare.verdicts import judge

    g = np.array([1.0, 1.05, 1.2, 1.5, np.nan])
    v = judge(g, est=1.0, err=0.02, tol=0.1, confidence=3)
    # pass: |g - est| + 3 err <= tol; fail: |g - est| > tol + 3 err; else inconclusive
    assert list(v) == ["pass", "inconclusive", "fail", "fail", "fail"]
    kink = judge(np.array([0.0, 0.5, 1.0, 1.3, -0.3]), 0.5, 0.0, 0.01, 3, low=0.0, high=1.0)
    assert list(kink) == ["pass", "pass", "pass", "fail", "fail"]  # the subgradient rule


def test_the_noise_of_f_is_measured_not_guessed():
    from backproof.compare.fdpolicy import _noise_from_table

    noise = np.random.default_rng(0).standard_normal(9) * 1e-6
    level = _noise_from_table(1.0 + 0.1 * np.arange(9) + noise)
    assert 3e-7 < level < 3e-6
    assert _noise_from_table(np.arange(9.0) ** 3) is None  # a smooth signal is not noise


def test_float32_points_are_checked_in_one_precision():
    A = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    f = lambda x: np.sum(np.tanh(A @ x))  # noqa: E731
    g = lambda x: A.T @ (1 - np.tanh(A @ x) ** 2)  # noqa: E731
    x = np.ones(3, np.float32)
    assert check_grad(f, g, x).verdict == "pass"
    for wrong in (lambda x: 0 * x, lambda x: -g(x), lambda x: 2 * g(x), lambda x: 200 * g(x)):
        assert check_grad(f, wrong, x).verdict == "fail"
    assert check_grad(f, lambda x: A.T @ np.ones(5, np.float32), x).verdict == "fail"  # no tanh'


def test_a_kink_excuses_nothing():
    f = lambda x: float(np.sum(np.maximum(x, 0)))  # noqa: E731
    x = np.array([0.0, 1.0, -2.0])
    for at_zero in (7.0, 1e6, -1.0):
        report = check_grad(f, lambda x, a=at_zero: np.where(x == 0, a, (x > 0) * 1.0), x)
        assert report.verdict == "fail" and report.params["x"].entry_verdicts[0] == "fail"
        assert list(report.params["x"].entry_verdicts[1:]) == ["pass", "pass"]


def test_an_unresolvable_reference_is_inconclusive_with_reason_and_advice():
    f = lambda x: 1e12 + 1e-8 * float(np.sum(np.sin(x)))  # noqa: E731
    x = np.linspace(-1, 1, 4)
    report = check_grad(f, lambda x: 0 * x, x)
    assert report.verdict == "inconclusive" and not report
    assert "noise" in report.reason and report.advice
    assert "INCONCLUSIVE" in str(report) and "advice:" in str(report)
    with pytest.raises(AssertionError, match="INCONCLUSIVE"):
        assert_grad_close(f, lambda x: 0 * x, x)
    assert assert_grad_close(f, lambda x: 0 * x, x, allow_inconclusive=True).verdict == (
        "inconclusive"
    )
    g = lambda x: np.cos(x)  # noqa: E731
    assert check_grad(
        lambda x: 1e9 + float(np.sum(np.sin(x))), lambda x: 1.01 * g(x), x
    ).verdict != ("pass")


def test_float32_inside_is_checked_at_float32_tolerances_and_says_so():
    f = lambda x: float(np.sum(np.tanh(x.astype(np.float32)) * np.float32(3)))  # noqa: E731
    g = lambda x: 3 / np.cosh(x) ** 2  # noqa: E731
    x = np.linspace(-1, 1, 5)
    report = check_grad(f, g, x)
    assert report.verdict == "pass", str(report)
    assert any("lower precision inside" in n for n in report.notes)
    assert report.rtol > 1e-3
    assert check_grad(f, lambda x: 1.02 * g(x), x).verdict == "fail"


def test_reports_are_json_with_numbers_and_verdicts():
    report = check_grad(f_smooth, lambda x: {**g_smooth(x), "b": -g_smooth(x)["b"]}, X0)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["verdict"] == "fail" and data["params"]["b"]["verdict"] == "fail"
    assert data["params"]["W"]["verdict"] == "pass"
    assert isinstance(data["rtol"], float) and isinstance(data["noise"], float)
    assert all(isinstance(e["analytic"], float) for e in data["worst"])
    assert report.params["W"].entry_verdicts.shape == (4, 4)


def test_a_fast_check_marks_the_entries_it_skipped():
    n = FULL_CHECK_LIMIT + 10
    w = np.random.default_rng(3).standard_normal(n)
    x = np.random.default_rng(4).standard_normal(n)
    report = check_grad(lambda x: float(np.sum(np.tanh(x) * w)), lambda x: w / np.cosh(x) ** 2, x)
    marks = report.params["x"].entry_verdicts
    assert marks.shape == (n,) and set(marks) == {"pass", "unchecked"}
    assert np.sum(marks == "pass") == report.params["x"].entries_checked


def test_compare_network_has_verdicts_in_json():
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "bce", m=16)
    result = compare_network(spec, X, Y, params, epochs=0)
    assert result.verdict == "pass"
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["verdict"] == "pass" and all(c["verdict"] == "pass" for c in data["cells"])
    assert all(isinstance(c["tolerance"], float) for c in data["cells"])


def test_a_right_relu_network_over_many_examples_never_reads_disagreement():
    X, y = network.make_dataset("moons", m=400)
    spec = network.NetworkSpec([2, 8, 1], ["relu", "sigmoid"])
    result = compare_network(spec, X, network.targets(spec, y), epochs=0)
    assert result.verdict != "fail", str(result)
    assert result.odd_one_out == {}
