"""What the mutation run of compare.jacobians, compare.mutants, compare.cli and compare.explain
found unchecked: each test states a behaviour users rely on (a report's kind and text, an error
message naming the argument, the default seed, the JSON output's fields, an exit code).

Small inputs keep every check to a few scalar ``check_grad`` calls (docs/mutation.md).
"""

import dataclasses
import functools
import io
import json
import re
import sys
import warnings

import numpy as np
import pytest
from conftest import run_cli as run
from jacobian_problems import X4, A, cube, cube_hvp, f, jac, jvp, vjp

from backproof import network
from backproof.compare import (
    check_hessian,
    check_hvp,
    check_jacobian,
    check_jvp,
    check_vjp,
    cli,
    jacobians,
    mutants,
    study,
)


def cube_hess(x):
    return np.diag(6 * x)


# -- compare.jacobians: the report's kind ------------------------------------------------------
def test_a_jvp_report_is_of_kind_jvp_in_text_and_json():
    report = check_jvp(f, jvp, X4)
    assert report.kind == "jvp" and report.to_dict()["kind"] == "jvp"
    assert str(report).splitlines()[0] == "jvp check: PASS (3 scalar checks)"
    vjp_like = check_jvp(f, lambda x, u: u[:3] @ jac(x), X4)  # a structure failure
    assert vjp_like.verdict == "fail" and vjp_like.kind == "jvp"
    assert str(vjp_like).splitlines()[0] == "jvp check: FAIL (0 scalar checks)"


def test_a_jacobian_of_the_wrong_shape_is_of_kind_jacobian():
    report = check_jacobian(f, lambda x: jac(x)[:2], X4)
    assert report.verdict == "fail" and report.to_dict()["kind"] == "jacobian"
    assert str(report).splitlines()[0] == "jacobian check: FAIL (0 scalar checks)"


def test_a_passing_jvp_of_a_symmetric_jacobian_has_no_diagnosis():
    """A symmetric J makes uᵀJ equal J u: a passing JVP must not be called a VJP."""

    def g(x):
        return np.sin(x) * 2.0

    report = check_jvp(g, lambda x, u: 2.0 * np.cos(x) * u, X4)
    assert report.verdict == "pass" and report.diagnosis == ""


# -- compare.jacobians: the default seed is 0 ---------------------------------------------------
def _errors(report):
    return [r.report.max_abs_error for r in report.reductions]


def test_the_default_seed_is_zero():
    def jvp_one_wrong(x, u):
        return jvp(x, u) + np.array([0.0, 1e-3, 0.0]) * u[3]

    def jac_one_wrong(x):
        J = jac(x)
        J[1, 2] += 1e-3
        return J

    def hess_one_wrong(x):
        H = cube_hess(x)
        H[2, 2] += 1e-2
        return H

    a = check_jvp(f, jvp_one_wrong, X4, tangents=2, cotangents=2)
    assert _errors(a) == _errors(check_jvp(f, jvp_one_wrong, X4, tangents=2, cotangents=2, seed=0))
    b = check_jacobian(f, jac_one_wrong, X4, rows=2)
    assert _errors(b) == _errors(check_jacobian(f, jac_one_wrong, X4, rows=2, seed=0))
    d = check_vjp(f, lambda x, v: jac_one_wrong(x).T @ v, X4, cotangents=2)
    assert _errors(d) == _errors(
        check_vjp(f, lambda x, v: jac_one_wrong(x).T @ v, X4, cotangents=2, seed=0)
    )
    e = check_hvp(cube, lambda x, v: hess_one_wrong(x) @ v, X4, vectors=2)
    assert _errors(e) == _errors(
        check_hvp(cube, lambda x, v: hess_one_wrong(x) @ v, X4, vectors=2, seed=0)
    )
    c = check_hessian(cube, hess_one_wrong, X4, columns=2)
    assert _errors(c) == _errors(check_hessian(cube, hess_one_wrong, X4, columns=2, seed=0))
    # and the seed matters, so the comparisons above could fail
    assert _errors(c) != _errors(check_hessian(cube, hess_one_wrong, X4, columns=2, seed=1))


# -- compare.jacobians: errors name the argument -----------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: check_jvp(f, jvp, X4, tangents=0),
            "tangents must be 'all', a positive int or None, got 0",
        ),
        (
            lambda: check_jvp(f, jvp, X4, cotangents=0),
            "cotangents must be 'all', a positive int or None, got 0",
        ),
        (
            lambda: check_jacobian(f, jac, X4, rows="some"),
            "rows must be 'all', a positive int or None, got 'some'",
        ),
        (
            lambda: check_hvp(cube, cube_hvp, X4, vectors=0),
            "vectors must be 'all', a positive int or None, got 0",
        ),
    ],
)
def test_a_bad_number_of_directions_names_its_argument(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_check_jacobian_and_check_hessian_name_what_is_wrong_with_their_arguments():
    with pytest.raises(TypeError) as info:
        check_jacobian(f, 3, X4)
    assert str(info.value) == "jac_f must be callable, got int 3"
    with pytest.raises(TypeError) as info:
        check_jacobian(f, jac, [X4])
    assert str(info.value) == (
        "check_jacobian needs x to be an array or a scalar, got a list of 1 arrays; "
        "use check_vjp for nested structures"
    )
    with pytest.raises(TypeError) as info:
        check_hessian(cube, cube_hess, {"a": X4})
    assert str(info.value) == (
        "check_hessian needs x to be an array or a scalar, got a dict with keys ['a']; "
        "use check_hvp for nested structures"
    )


def test_a_product_that_raises_is_named_with_what_it_was_given():
    with pytest.raises(TypeError) as info:
        check_jvp(f, lambda x, u: 1 / 0, X4)
    assert str(info.value) == (
        "jvp_f raised ZeroDivisionError (division by zero) when given a tangent that is "
        "an array of shape (4,)"
    )
    with pytest.raises(TypeError) as info:
        check_hvp(cube, lambda x, v: 1 / 0, X4)
    assert str(info.value) == (
        "hvp_f raised ZeroDivisionError (division by zero) when given a vector that is "
        "an array of shape (4,)"
    )


def test_a_jvp_of_the_wrong_shape_for_a_later_tangent_is_named():
    """The first tangent's product has the right shape; the second's does not."""

    def jvp_short_for_e1(x, u):
        return jvp(x, u) if u[1] == 0 else np.zeros(2)

    with pytest.raises(ValueError) as info:
        check_jvp(f, jvp_short_for_e1, X4)
    assert str(info.value) == "jvp_f returned shape (2,) for f(x), which has shape (3,)"


def test_a_grad_f_of_the_wrong_structure_is_named():
    def g(p):
        return np.sum(p["a"] ** 3)

    with pytest.raises(TypeError) as info:
        check_hvp(
            g,
            lambda p, v: {"a": 6 * p["a"] * v["a"]},
            {"a": X4},
            grad_f=lambda p: [3 * p["a"] ** 2],
        )
    assert str(info.value) == "grad_f returned a list of 1 arrays, x is a dict with keys ['a']"


def test_every_check_names_what_is_not_callable():
    for call, message in [
        (lambda: check_vjp(None, vjp, X4), "f must be callable, got None"),
        (lambda: check_vjp(f, 3, X4), "vjp_f must be callable, got int 3"),
        (lambda: check_hvp(3, cube_hvp, X4), "f must be callable, got int 3"),
        (lambda: check_hvp(cube, 3, X4), "hvp_f must be callable, got int 3"),
        (
            lambda: check_hvp(cube, cube_hvp, X4, grad_f=3),
            "grad_f must be callable or None, got int 3",
        ),
        (lambda: check_hessian(cube, 3, X4), "hess_f must be callable, got int 3"),
    ]:
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == message


def test_a_function_whose_output_structure_changes_away_from_x_is_named():
    """At x the outputs are dicts; a step that makes x[0] negative gets a list instead."""
    x = np.array([1e-3, -0.2, 0.5, 0.1])

    def g(x):
        return {"a": np.sin(x)} if x[0] > 0 else [np.sin(x)]

    with pytest.raises(TypeError) as info:
        check_vjp(g, lambda x, v: np.cos(x) * v["a"], x)
    assert str(info.value) == "f returned a list of 1 arrays, f(x) is a dict with keys ['a']"

    def grad(p):
        return {"a": 3 * p["a"] ** 2} if p["a"][0] > 0 else [3 * p["a"] ** 2]

    with pytest.raises(TypeError) as info:
        check_hvp(
            lambda p: np.sum(p["a"] ** 3),
            lambda p, v: {"a": 6 * p["a"] * v["a"]},
            {"a": x},
            grad_f=grad,
        )
    assert str(info.value) == "grad_f returned a list of 1 arrays, x is a dict with keys ['a']"


def test_a_vjp_of_the_wrong_structure_for_a_later_cotangent_is_named():
    x = [np.array([0.3, -0.2]), np.array([0.5, 0.1])]

    def g(x):
        return np.array([x[0] @ x[1], np.sum(x[0])])

    def g_vjp(x, v):
        right = [v[0] * x[1] + v[1], v[0] * x[0]]
        return right if v[1] == 0 else right[:1]

    with pytest.raises(ValueError) as info:
        check_vjp(g, g_vjp, x)
    assert str(info.value) == "vjp_f returned a list of 1 arrays, x is a list of 2 arrays"


def test_a_given_number_of_hvp_vectors_is_random():
    report = check_hvp(cube, cube_hvp, X4, vectors=2)
    assert report and [r.what for r in report.reductions] == ["random vector 1", "random vector 2"]


def test_failures_of_structure_or_shape_keep_their_kind():
    wide = check_vjp(f, lambda x, v: jac(x) @ x, X4)  # shaped like f(x): a JVP
    assert wide.kind == "vjp" and str(wide).splitlines()[0] == "vjp check: FAIL (0 scalar checks)"
    assert wide.diagnosis == (
        "structure: vjp_f returned shape (3,) for x, which has shape (4,)"
        " — it looks like a JVP, J u, shaped like f(x)"
    )
    hvp_report = check_hvp(cube, lambda x, v: np.zeros(3), X4)
    assert hvp_report.to_dict()["kind"] == "hvp"
    assert str(hvp_report).splitlines()[0] == "hvp check: FAIL (0 scalar checks)"
    hessian = check_hessian(cube, lambda x: cube_hess(x)[:3], X4)
    assert hessian.to_dict()["kind"] == "hessian"
    assert str(hessian).splitlines()[0] == "hessian check: FAIL (0 scalar checks)"


def test_six_wrong_inputs_are_all_listed_without_an_ellipsis():
    x = np.linspace(0.1, 0.6, 6)
    M = np.vstack([np.ones(6), np.arange(6.0)])
    report = check_vjp(lambda x: np.sin(M @ x), lambda x, v: 1.01 * ((v * np.cos(M @ x)) @ M), x)
    columns = ", ".join(f"x[{j}]" for j in range(6))
    assert f"wrong columns: {columns};" in report.diagnosis
    assert str(report).splitlines()[2].endswith(f"fail; wrong at {columns}")


def test_a_jacobian_or_hessian_given_as_nested_lists_is_read_as_an_array():
    assert check_jacobian(f, lambda x: jac(x).tolist(), X4)
    assert not check_jacobian(f, lambda x: (1.01 * jac(x)).tolist(), X4)
    assert check_hessian(cube, lambda x: cube_hess(x).tolist(), X4)
    assert not check_hessian(cube, lambda x: (1.01 * cube_hess(x)).tolist(), X4)


def test_an_inconclusive_grad_f_is_named_in_the_note(monkeypatch):
    real = jacobians.check_grad

    def undecided(*args, **kwargs):
        report = real(*args, **kwargs)
        report.verdict = "inconclusive"
        return report

    monkeypatch.setattr(jacobians, "check_grad", undecided)
    report = check_hvp(cube, cube_hvp, X4, grad_f=lambda x: 3 * x**2)
    assert report.notes[0] == "grad_f itself did not pass (inconclusive); used differences of f"


def test_a_model_checks_inconclusive_parameter_is_reported_as_such(monkeypatch):
    from backproof.compare import check_model

    class Line:
        def __init__(self):
            self.weights, self.biases = np.array([0.5, -1.0]), np.array([0.2])

        def cost(self, x, y):
            return float(np.mean((self.weights @ x + self.biases - y) ** 2))

        def backprop(self, x, y):
            r = 2 * (self.weights @ x + self.biases - y) / y.size
            return x @ r, np.array([np.sum(r)])

    real = jacobians.check_grad

    def biases_undecided(*args, **kwargs):
        report = real(*args, **kwargs)
        report.params["biases"].verdict = "inconclusive"
        return report

    monkeypatch.setattr(jacobians, "check_grad", biases_undecided)
    model = Line()
    x, y = np.array([[0.1, 0.4, -0.3], [1.0, 0.2, 0.5]]), np.array([0.3, -0.1, 0.8])
    report = check_model(model, model.cost, model.backprop, x, y)
    assert report.layers == {"weights": "pass", "biases": "inconclusive"}


def test_a_large_square_vjp_that_is_a_jvp_is_recognised_with_random_directions():
    n = 17
    B = np.linspace(-1.0, 1.0, n * n).reshape(n, n) + np.eye(n)
    x = np.linspace(-0.5, 0.5, n)
    report = check_vjp(lambda x: np.sin(B @ x), lambda x, v: (np.cos(B @ x)[:, None] * B) @ v, x)
    assert report.verdict == "fail"
    assert report.diagnosis.startswith("vjp_f computes J v (a JVP), not vᵀJ: ")


def test_float32_jvps_jacobians_and_hessians_get_the_tolerance_their_vjp_gets():
    """A product keeps its own precision: the scalar checks once claimed float64 for J u and
    for a float32 Jacobian or Hessian, and right float32 ones failed where a VJP passed."""
    A32 = A.astype(np.float32)
    x = X4.astype(np.float32)

    def g(x):
        return np.tanh(A32 @ x)

    def g_jac(x):
        return (1 - np.tanh(A32 @ x) ** 2)[:, None] * A32

    for scale, verdict in ((1.0, "pass"), (1 + 1e-4, "pass"), (1.01, "fail")):
        assert check_jvp(g, lambda x, u, s=scale: s * (g_jac(x) @ u), x).verdict == verdict
        assert check_vjp(g, lambda x, v, s=scale: s * (v @ g_jac(x)), x).verdict == verdict
        assert check_jacobian(g, lambda x, s=scale: s * g_jac(x), x).verdict == verdict
        hess = check_hessian(cube, lambda x, s=scale: (s * cube_hess(x)).astype(np.float32), x)
        assert hess.verdict == verdict


def test_a_float32_only_function_gets_float32_points_in_a_jvp_check():
    """The scalar checks in t run at x's precision: an f that refuses float64 still works."""
    A32 = A.astype(np.float32)
    x = X4.astype(np.float32)

    def g(x):
        if x.dtype != np.float32:
            raise TypeError(f"g takes float32 only, got {x.dtype}")
        return np.tanh(A32 @ x)

    def g_jvp(x, u):
        return ((1 - np.tanh(A32 @ x) ** 2)[:, None] * A32) @ u.astype(np.float32)

    assert check_jvp(g, g_jvp, x).verdict == "pass"


# -- compare.jacobians: diagnoses --------------------------------------------------------------
def test_a_transposed_jacobian_of_a_matrix_function_is_recognised():
    """x and f(x) both 2x2: J has shape (2, 2, 2, 2) and its transpose swaps the two blocks."""
    M = np.array([[1.0, -0.5], [0.25, 2.0]])
    X = np.array([[0.3, -0.2], [0.5, 0.1]])

    def g(x):
        return np.sin(x @ M)

    def g_jac(x):  # d g[i, j] / d x[k, l] = cos(x M)[i, j] δ_ik M[l, j]
        return np.einsum("ij,ik,lj->ijkl", np.cos(x @ M), np.eye(2), M)

    assert check_jacobian(g, g_jac, X)
    report = check_jacobian(g, lambda x: g_jac(x).transpose(2, 3, 0, 1), X)
    assert report.verdict == "fail"
    assert report.diagnosis.startswith("transposed: jac_f returns Jᵀ")


def test_a_failure_seen_only_along_random_directions_says_so():
    """With a random cotangent and check_grad's fast check, no row or entry is located."""
    report = check_vjp(
        f,
        lambda x, v: vjp(x, v) * [1, 1, 1, 1.01],
        X4,
        cotangents=1,
        full=False,
        samples=1,
        directions=1,
    )
    assert report.verdict == "fail" and report.wrong_inputs == []
    assert report.diagnosis == "the derivative disagrees along random directions"


def test_an_inconclusive_check_without_a_reason_shows_only_its_verdict(monkeypatch):
    real = jacobians.check_grad

    def undecided(*args, **kwargs):
        report = real(*args, **kwargs)
        report.verdict, report.reason = "inconclusive", ""
        return report

    monkeypatch.setattr(jacobians, "check_grad", undecided)
    lines = str(check_vjp(f, vjp, X4)).splitlines()
    assert lines[1] == f"  {'row f(x)[0]':<32} inconclusive"


def test_a_large_square_jvp_that_is_a_vjp_is_recognised_with_random_directions():
    """17 inputs and outputs: random tangents and cotangents, and random ones for the VJP test."""
    n = 17
    B = np.linspace(-1.0, 1.0, n * n).reshape(n, n) + np.eye(n)
    x = np.linspace(-0.5, 0.5, n)

    def g(x):
        return np.sin(B @ x)

    def g_jac(x):
        return np.cos(B @ x)[:, None] * B

    report = check_jvp(g, lambda x, u: u @ g_jac(x), x)
    assert report.verdict == "fail"
    assert report.diagnosis.startswith("jvp_f computes uᵀJ (a VJP), not J u: ")


# -- compare.mutants: the catalogue's entries ------------------------------------------------------
def _entry(name):
    return next(m for m in mutants.CATALOG if m.name == name)


def test_the_layer_off_by_one_mutant_files_each_gradient_one_layer_down():
    entry = _entry("layer_off_by_one")
    spec, params, X, Y = mutants.mutant_problem(entry)
    right = mutants._backward(spec, params, X, Y)
    wrong = entry.grads(spec, params, X, Y)
    assert sorted(wrong) == ["W1", "W2", "b1", "b2"]  # no layer 0; the last layer is missing
    for l in (1, 2):
        np.testing.assert_array_equal(wrong[f"W{l}"], right[f"W{l + 1}"])
        np.testing.assert_array_equal(wrong[f"b{l}"], right[f"b{l + 1}"])
    # a single layer has no previous one: its gradients stay where they are
    one = network.NetworkSpec([3, 1], init="xavier", seed=5)
    X1 = X[:, :5]
    Y1 = network.targets(one, np.array([[0, 1, 1, 0, 1]]))
    p1 = network.init_params(one)
    alone = entry.grads(one, p1, X1, Y1)
    assert sorted(alone) == ["W1", "b1"]
    np.testing.assert_array_equal(alone["b1"], mutants._backward(one, p1, X1, Y1)["b1"])


def test_a_mutant_is_checked_on_the_same_seeded_problem_every_time():
    first = mutants.mutant_problem(mutants.CATALOG[0])
    again = mutants.mutant_problem(mutants.CATALOG[0])
    for a, b in zip(first[1:], again[1:]):
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            assert all(np.array_equal(a[k], b[k]) for k in a)
        else:
            np.testing.assert_array_equal(a, b)


def test_a_mutant_result_in_json():
    result = mutants.check_mutant(_entry("forgot_1_over_m"))
    d = json.loads(json.dumps(result.to_dict()))
    assert d == {
        "name": "forgot_1_over_m",
        "description": "dW and db without the 1/m of the mean cost",
        "caught": True,
        "fitting_diagnosis": True,
        "entry_layer": 3,
        "diagnosis": result.report.diagnosis,
    }
    assert isinstance(d["diagnosis"], dict) and d["diagnosis"]


def test_the_missing_l2_mutant_is_checked_against_the_cost_with_the_l2_term():
    """The cost has (L2/2)||W||^2; the mutant's gradient lacks L2 W, exactly."""
    entry = _entry("missing_regularisation")
    result = mutants.check_mutant(entry)
    _, params, _, _ = mutants.mutant_problem(entry)
    assert result.caught and result.fitting
    weights = [e for e in result.report.worst if e.param.startswith("W")]
    assert weights
    for e in weights:
        expected = mutants.L2 * params[e.param][e.index]
        assert e.numerical - e.analytic == pytest.approx(expected, rel=1e-6)


def test_the_saturated_article_mutant_gives_its_nan_without_a_warning():
    entry = _entry("article_unfused_dAL")
    spec, params, X, Y = mutants.mutant_problem(entry)
    with warnings.catch_warnings(), np.errstate(all="warn"):
        warnings.simplefilter("error")
        grads = entry.grads(spec, params, X, Y)
    assert not np.all(np.isfinite(grads["W2"]))


def test_the_article_unfused_formula_is_right_away_from_saturation():
    """On paper dA_L = -(Y/A - (1-Y)/(1-A)) times A(1-A) is A - Y: only saturation breaks it."""
    entry = _entry("article_unfused_dAL")
    spec, params, X, Y = mutants.mutant_problem(
        _entry("transposed_dW")
    )  # same network, unsaturated
    assert entry.spec == spec
    right = mutants._backward(spec, params, X, Y)
    unfused = entry.grads(spec, params, X, Y)
    for k in right:
        np.testing.assert_allclose(unfused[k], right[k], rtol=1e-9, atol=1e-15)


def test_a_diagnosis_fits_only_when_every_expectation_of_the_entry_holds():
    """forgot_1_over_m's mistake (every parameter x m, entering at layer 3) against entries that
    expect another kind, leave parameters out, or name another entry layer."""
    right = _entry("forgot_1_over_m")
    scale_everywhere = {k: {"scale"} for k in right.spec.param_shapes()}

    def fits(**changes):
        result = mutants.check_mutant(dataclasses.replace(right, **changes))
        assert result.caught
        return result.fitting

    assert fits()
    assert not fits(expect={k: {"sign"} for k in right.spec.param_shapes()})
    assert not fits(expect={"W1": {"scale"}})  # the other parameters fail but should pass
    assert not fits(expect=scale_everywhere, entry_layer=1)


def test_check_options_reach_every_catalog_check(monkeypatch):
    monkeypatch.setattr(mutants, "CATALOG", [_entry("flipped_sign")])
    (result,) = mutants.run_catalog(method="central")
    assert result.report.method == "central" and result.caught


def test_the_article_backprop_keeps_only_layer_one_and_the_softmax_entry_loses_y():
    entry = _entry("article_backprop_keys")
    spec, params, X, Y = mutants.mutant_problem(entry)
    right = mutants._backward(spec, params, X, Y)
    kept = entry.grads(spec, params, X, Y)
    assert sorted(kept) == ["W1", "b1"]  # layer 2's were filed under layer 1, then overwritten
    np.testing.assert_allclose(kept["W1"], right["W1"], rtol=1e-12)
    np.testing.assert_allclose(kept["b1"], right["b1"], rtol=1e-12)

    softmax = _entry("softmax_ce_without_minus_Y")
    spec, params, X, Y = mutants.mutant_problem(softmax)
    right = mutants._backward(spec, params, X, Y)
    without_y = softmax.grads(spec, params, X, Y)
    _, As = network.forward(spec, params, X)
    m = X.shape[1]
    np.testing.assert_allclose(without_y["W2"] - right["W2"], Y @ As[1].T / m, atol=1e-12)


def test_the_catalogs_right_backprop_is_manuals_on_every_catalog_network():
    """The mutants are the right backprop with one mistake put back: the right one must be."""
    from backproof import manual

    for entry in {m.spec: m for m in mutants.CATALOG}.values():
        spec, params, X, Y = mutants.mutant_problem(entry)
        _, expected = manual.loss_and_grads(spec, params, X, Y, check=False)
        right = mutants._backward(spec, params, X, Y)
        assert right.keys() == expected.keys()
        for k in right:
            np.testing.assert_allclose(right[k], expected[k], rtol=1e-10, atol=1e-14)


def _scaled(factor, keys=None):
    def relation(right, wrong, m):
        chosen = keys or list(right)
        for k in right:
            expected = right[k] * (factor(m) if k in chosen else 1)
            np.testing.assert_allclose(wrong[k], expected, rtol=1e-12, atol=1e-15)

    return relation


def _transposed_weights(right, wrong, m):
    for k in right:
        np.testing.assert_allclose(wrong[k], right[k].T if k[0] == "W" else right[k], rtol=1e-12)


def _db_per_example(right, wrong, m):
    for k in right:
        if k[0] == "b":
            assert wrong[k].shape == (1, m)  # summed over the units, one entry per example
        else:
            np.testing.assert_allclose(wrong[k], right[k], rtol=1e-12)


def _wrong_below_the_last_layers(right, wrong, m):
    for k in ("W3", "b3", "W2", "b2"):  # the mistake enters at layer 1
        np.testing.assert_allclose(wrong[k], right[k], rtol=1e-12)
    assert not np.allclose(wrong["W1"], right["W1"])


def test_the_sigmoid_slope_entry_uses_s_times_1_plus_s():
    """Layer 2's dZ uses s(1+s) for sigmoid's slope; layer 3 is untouched."""
    entry = _entry("sigmoid_prime_s_1_plus_s")
    spec, params, X, Y = mutants.mutant_problem(entry)
    right, wrong = mutants._backward(spec, params, X, Y), entry.grads(spec, params, X, Y)
    _, As = network.forward(spec, params, X)
    dZ2 = (params["W3"].T @ ((As[3] - Y) / X.shape[1])) * As[2] * (1 + As[2])
    np.testing.assert_allclose(wrong["W2"], dZ2 @ As[1].T, rtol=1e-12)
    np.testing.assert_allclose(wrong["W3"], right["W3"], rtol=1e-12)


@pytest.mark.parametrize(
    "name, relation",
    [
        ("forgot_1_over_m", _scaled(lambda m: m)),
        ("sum_instead_of_mean", _scaled(lambda m: m, ["b1", "b2", "b3"])),
        ("flipped_sign", _scaled(lambda m: -1)),
        ("missing_regularisation", _scaled(lambda m: 1)),  # the plain gradient: L2 W missing
        ("transposed_dW", _transposed_weights),
        ("db_wrong_axis", _db_per_example),
        ("W_instead_of_WT", _wrong_below_the_last_layers),
    ],
)
def test_each_catalog_entry_makes_exactly_its_mistake(name, relation):
    entry = _entry(name)
    spec, params, X, Y = mutants.mutant_problem(entry)
    relation(mutants._backward(spec, params, X, Y), entry.grads(spec, params, X, Y), X.shape[1])


# -- compare.cli: run in process, so that a mutated command is the one that runs ------------------
def help_of(capsys, *args) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main([*args, "--help"])
    assert info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal's width


def test_the_help_shows_each_commands_defaults_and_the_activations(capsys):
    text = help_of(capsys, "check")
    assert f"--loss {{{','.join(network.LOSSES)}}} (default: bce)" in text
    assert "--init {" in text and "(default: article)" in text
    assert "seed of the initial weights (default: 3, the article's)" in text
    assert "activations (--activations): " in text


def test_the_console_script_reads_its_arguments_from_sys_argv(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["backproof", "check", "--dims", "x"])
    assert cli.main() == 2
    assert capsys.readouterr().err == (
        "backproof: error: argument --dims: expected comma-separated integers such as 2,4,1, "
        "got 'x' (see backproof --help)\n"
    )


def test_check_json_names_the_params_file(capsys, tmp_path):
    code, out, _ = run(capsys, "check", "--json", "--epochs", 0, "--m", 20)
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "pass" and d["params_file"] is None


def test_ce_on_blobs_gets_one_class_per_output(capsys, tmp_path):
    code, out, _ = run(
        capsys, "train", "--json", "--loss", "ce", "--data", "blobs", "--dims", "2,4,3",
        "--m", 30, "--epochs", 1, "--out", tmp_path,
    )  # fmt: skip
    assert code == 0
    spec = network.NetworkSpec([2, 4, 3], loss="ce")
    X, y = network.make_dataset("blobs", m=30, seed=0, classes=3)
    assert sorted(set(y.ravel().tolist())) == [0, 1, 2]
    start = network.cost(spec, network.init_params(spec), X, network.targets(spec, y))
    assert json.loads(out)["cost_history"] == [pytest.approx(start, rel=1e-12)]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def picture_free_study(monkeypatch):
    """The study without its pictures, which cost seconds and are tested elsewhere."""
    monkeypatch.setattr(study, "run_study", functools.partial(study.run_study, make_plots=False))


def test_the_study_text_ends_with_the_training_and_the_time(capsys, tmp_path, picture_free_study):
    code, out, _ = run(capsys, "study", "--epochs", 3, "--m", 20, "--out", tmp_path)
    assert code == 0
    lines = out.splitlines()
    trained = [line for line in lines if line.startswith("trained with")]
    assert len(trained) == 2
    for line in trained:
        assert re.fullmatch(r"trained with \w+ +final cost [0-9.]+, accuracy 0\.\d{3}", line)
    assert re.fullmatch(r"done in \d+\.\d s", lines[-1]) and lines[-2] == ""


def test_no_progress_keeps_the_bar_off_a_terminal(
    capsys, monkeypatch, tmp_path, picture_free_study
):
    for extra, bar in (([], True), (["--no-progress"], False)):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        code = cli.main(["study", "--epochs", "3", "--m", "20", "--out", str(tmp_path), *extra])
        monkeypatch.undo()
        assert code == 0
        assert ("%|" in terminal.getvalue()) is bar, terminal.getvalue()  # tqdm's bar
    capsys.readouterr()


@pytest.fixture
def two_mutants(monkeypatch):
    """The catalog cut to two entries: the command's output, not the catalog, is under test."""
    chosen = [_entry("forgot_1_over_m"), _entry("relu_prime_one")]
    monkeypatch.setattr(mutants, "run_catalog", lambda: [mutants.check_mutant(m) for m in chosen])


def test_the_mutants_table(capsys, two_mutants):
    code, out, _ = run(capsys, "mutants")
    assert code == 0
    lines = out.splitlines()
    header = f"{'mutant':<28}{'network':<24}{'caught':<8}{'fits':<6}{'enters at':<11}diagnosis"
    assert lines[2] == header
    assert lines[3] == (
        f"{'forgot_1_over_m':<28}{'3,4,4,1 sigmoid bce':<24}{'yes':<8}{'yes':<6}"
        f"{'layer 3':<11}scale"
    )
    assert lines[4].startswith(f"{'relu_prime_one':<28}{'3,5,1 relu/sigmoid bce':<24}")
    assert lines[4][66:77] == f"{'layer 1':<11}"


def test_the_mutants_json(capsys, two_mutants):
    code, out, _ = run(capsys, "mutants", "--json")
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "pass" and d["exit_code"] == 0
    assert [m["name"] for m in d["mutants"]] == ["forgot_1_over_m", "relu_prime_one"]
    first = d["mutants"][0]
    assert set(first) == {
        "name", "description", "caught", "fitting_diagnosis", "entry_layer", "diagnosis",
        "network", "m",
    }  # fmt: skip
    assert first["entry_layer"] == 3 and first["m"] == 40
    assert first["network"]["layer_dims"] == [3, 4, 4, 1]


# -- compare.explain: the command ------------------------------------------------------------------
def test_the_explain_help_names_each_default(capsys):
    text = help_of(capsys, "explain")
    for words in (
        "one per layer (default: sigmoid everywhere, softmax last for --loss ce)",
        f"--loss {{{','.join(network.LOSSES)}}} default: bce",
        "default: article",
        "use the first M examples (default: 1)",
        "--json the same numbers as JSON",
    ):
        assert words in text, words


def test_explain_json_is_indented_and_gives_every_formula_as_text(capsys):
    code, out, _ = run(capsys, "explain", "--json")
    d = json.loads(out)
    assert code == 0
    assert out == json.dumps(d, indent=2) + "\n"  # two-space indents, as every --json output
    assert [(s["name"], s["formula"]) for s in d["inputs"][2:]] == [
        ("W1", ""),
        ("b1", ""),
        ("W2", ""),
        ("b2", ""),
    ]


def test_explain_reads_the_label_column_it_is_told(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("y,a,b\n1,0.5,-1.0\n0,2.0,3.0\n")
    code, out, _ = run(capsys, "explain", "--json", "--data", path, "--label", "y", "--m", 2)
    d = json.loads(out)
    assert code == 0
    steps = {s["name"]: s["value"] for s in d["inputs"]}
    assert steps["A0"] == [[0.5, 2.0], [-1.0, 3.0]]
    assert steps["Y"] == [[1.0, 0.0]]
