"""The contract of check_vjp, check_jvp, check_jacobian, check_hvp and check_hessian: what each
keyword chooses, the report's text and JSON fields, and the diagnosis of each kind of mistake.

Four inputs and three outputs keep every call to a few scalar checks (docs/mutation.md).
"""

import json

import numpy as np
import pytest
from jacobian_problems import X4, A, cube, cube_hvp, f, jac, jvp, vjp

from backproof.compare import (
    check_hessian,
    check_hvp,
    check_jacobian,
    check_jvp,
    check_vjp,
    jacobians,
)


def cube_grad(x):
    return 3 * x**2


# -- the report ------------------------------------------------------------------------------
def test_a_passing_vjp_report_in_text_and_json():
    report = check_vjp(f, vjp, X4)
    assert report and report.verdict == "pass" and report.diagnosis == ""
    assert str(report).splitlines() == [
        "vjp check: PASS (3 scalar checks)",
        f"  {'row f(x)[0]':<32} pass",
        f"  {'row f(x)[1]':<32} pass",
        f"  {'row f(x)[2]':<32} pass",
    ]
    d = json.loads(json.dumps(report.to_dict()))
    assert d == {
        "kind": "vjp",
        "verdict": "pass",
        "diagnosis": "",
        "wrong_outputs": [],
        "wrong_inputs": [],
        "checks": [
            {"what": f"row f(x)[{i}]", "verdict": "pass", "wrong_inputs": []} for i in range(3)
        ],
        "notes": [],
    }
    assert [r.output for r in report.reductions] == [f"f(x)[{i}]" for i in range(3)]


def test_a_wrong_jacobian_entry_in_text_and_json():
    def one_wrong(x):
        J = jac(x)
        J[1, 2] *= 1.001
        return J

    report = check_jacobian(f, one_wrong, X4)
    assert not report and report.verdict == "fail"
    assert report.diagnosis == "wrong rows: f(x)[1]; wrong columns: x[2]"
    lines = str(report).splitlines()
    assert lines[:2] == [
        "jacobian check: FAIL (3 scalar checks)",
        "  diagnosis: wrong rows: f(x)[1]; wrong columns: x[2]",
    ]
    assert lines[3] == f"  {'row f(x)[1]':<32} fail; wrong at x[2]"
    d = report.to_dict()
    assert d["wrong_outputs"] == ["f(x)[1]"] and d["wrong_inputs"] == ["x[2]"]
    assert d["checks"][1] == {"what": "row f(x)[1]", "verdict": "fail", "wrong_inputs": ["x[2]"]}
    assert [c["verdict"] for c in d["checks"]] == ["pass", "fail", "pass"]


def test_a_mistake_every_failing_check_agrees_on_is_named_once():
    report = check_vjp(f, lambda x, v: 2 * vjp(x, v), X4)
    assert report.diagnosis == (
        "wrong rows: f(x)[0], f(x)[1], f(x)[2]; wrong columns: x[0], x[1], x[2], x[3]; "
        "every failing check says: scale: the gradient is the right one x 2"
    )


def test_wrong_inputs_are_listed_once_in_order_and_shortened_after_six():
    x = np.linspace(0.1, 0.8, 8)
    M = np.vstack([np.ones(8), np.arange(8.0)])

    def g(x):
        return np.sin(M @ x)

    def wrong(x, v):
        return 1.01 * ((v * np.cos(M @ x)) @ M)

    report = check_vjp(g, wrong, x)
    assert report.wrong_inputs == [f"x[{j}]" for j in range(8)]  # once each, though two rows
    assert report.wrong_outputs == ["f(x)[0]", "f(x)[1]"]
    assert report.diagnosis.startswith(
        "wrong rows: f(x)[0], f(x)[1]; wrong columns: x[0], x[1], x[2], x[3], x[4], x[5], ...;"
    )
    assert (
        str(report)
        .splitlines()[2]
        .endswith("fail; wrong at x[0], x[1], x[2], x[3], x[4], x[5], ...")
    )


def test_random_directions_locate_nothing():
    report = check_vjp(f, lambda x, v: 1.01 * vjp(x, v), X4, cotangents=2)
    assert report.verdict == "fail" and report.wrong_outputs == []
    assert [r.what for r in report.reductions] == ["random cotangent 1", "random cotangent 2"]
    assert all(r.output is None for r in report.reductions)
    assert report.diagnosis.startswith("wrong columns: x[0]")
    scaled_jvp = check_jvp(f, lambda x, u: 1.01 * jvp(x, u), X4, tangents=2, cotangents=2)
    assert scaled_jvp.verdict == "fail"
    assert scaled_jvp.diagnosis.startswith(
        "wrong columns: random tangent 1, random tangent 2; every failing check says"
    )
    assert scaled_jvp.wrong_outputs == []


def test_an_inconclusive_reduction_shows_its_reason(monkeypatch):
    real = jacobians.check_grad

    def undecided(*args, **kwargs):
        report = real(*args, **kwargs)
        report.verdict, report.reason = "inconclusive", "the steps never settled"
        return report

    monkeypatch.setattr(jacobians, "check_grad", undecided)
    report = check_vjp(f, vjp, X4)
    assert report.verdict == "inconclusive" and not report and report.diagnosis == ""
    assert (
        str(report).splitlines()[1]
        == f"  {'row f(x)[0]':<32} inconclusive; the steps never settled"
    )


# -- directions: how many, which -------------------------------------------------------------
@pytest.mark.parametrize("size, basis", [(16, True), (17, False)])
def test_every_unit_cotangent_up_to_the_basis_limit_else_three_random(size, basis):
    x = np.linspace(0.1, 0.4, 2)
    M = np.linspace(-1, 1, 2 * size).reshape(size, 2)
    report = check_vjp(lambda x: np.sin(M @ x), lambda x, v: (v * np.cos(M @ x)) @ M, x)
    assert report.verdict == "pass"
    if basis:
        assert [r.what for r in report.reductions] == [f"row f(x)[{i}]" for i in range(size)]
    else:
        assert [r.what for r in report.reductions] == [f"random cotangent {k}" for k in (1, 2, 3)]


def test_all_takes_every_row_and_a_number_takes_that_many_random_ones():
    x = np.linspace(0.1, 0.4, 2)
    M = np.linspace(-1, 1, 2 * 17).reshape(17, 2)

    def g(x):
        return np.sin(M @ x)

    def g_vjp(x, v):
        return (v * np.cos(M @ x)) @ M

    assert len(check_vjp(g, g_vjp, x, cotangents="all").reductions) == 17
    assert len(check_vjp(g, g_vjp, x, cotangents=np.int64(1)).reductions) == 1
    jvp_report = check_jvp(g, lambda x, u: np.cos(M @ x) * (M @ u), x, tangents=1, cotangents=2)
    assert jvp_report and [r.what for r in jvp_report.reductions] == [
        "random cotangent 1",
        "random cotangent 2",
    ]
    assert check_jacobian(f, jac, X4, rows=2).reductions[1].what == "random row combination 2"


def test_the_seed_chooses_the_random_directions():
    def errors(seed):
        report = check_vjp(f, lambda x, v: 1.01 * vjp(x, v), X4, cotangents=2, seed=seed)
        return [r.report.rel_diff for r in report.reductions]

    assert errors(np.int64(5)) == errors(5) != errors(6)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "some"])
def test_a_bad_number_of_directions_is_named(bad):
    with pytest.raises(ValueError) as info:
        check_vjp(f, vjp, X4, cotangents=bad)
    assert str(info.value) == f"cotangents must be 'all', a positive int or None, got {bad!r}"


@pytest.mark.parametrize("bad", [-1, True, 1.0, "0"])
def test_a_bad_seed_is_named(bad):
    with pytest.raises(ValueError) as info:
        check_jvp(f, jvp, X4, seed=bad)
    assert str(info.value) == f"seed must be a non-negative integer, got {bad!r}"


def test_options_go_to_check_grad():
    report = check_vjp(f, vjp, X4, method="central")
    assert {r.report.method for r in report.reductions} == {"central"}
    jvp_report = check_jvp(f, jvp, X4, method="central")
    assert {r.report.method for r in jvp_report.reductions} == {"central"}


def test_a_jvp_is_checked_column_by_column():
    report = check_jvp(f, lambda x, u: jvp(x, u) + np.array([0, 1e-3, 0]) * u[3], X4)
    assert report.verdict == "fail"
    assert [r.what for r in report.reductions] == [f"output f(x)[{i}]" for i in range(3)]
    assert report.wrong_outputs == ["f(x)[1]"] and report.wrong_inputs == ["x[3]"]
    assert report.to_dict()["checks"][1]["wrong_inputs"] == ["x[3]"]


def test_argnums_chooses_the_argument_differentiated():
    B = np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]])

    def g(x, y):
        return np.tanh(A @ x) * (B @ y)

    def g_vjp_y(x, y, v):
        return (v * np.tanh(A @ x)) @ B

    assert check_vjp(g, g_vjp_y, X4, np.array([0.2, -0.4]), argnums=1)
    report = check_vjp(g, g_vjp_y, X4, np.array([0.2, -0.4]), argnums=0)
    assert report.verdict == "fail" and report.diagnosis.startswith("structure:")


# -- mistakes of structure -------------------------------------------------------------------
def test_a_jvp_shaped_like_x_is_recognised_as_a_vjp():
    report = check_jvp(f, vjp_like := (lambda x, u: u[:3] @ jac(x)), X4)  # noqa: F841
    assert report.verdict == "fail" and report.reductions == []
    assert report.diagnosis.startswith("structure: jvp_f returned ")
    assert report.diagnosis.endswith(" — it looks like a VJP, uᵀJ, shaped like x")


def test_a_product_of_neither_structure_is_not_called_the_other():
    report = check_vjp(f, lambda x, v: np.zeros(5), X4)
    assert report.verdict == "fail" and report.diagnosis.startswith("structure: ")
    assert "looks like" not in report.diagnosis


def test_a_jacobian_of_the_wrong_shape():
    report = check_jacobian(f, lambda x: jac(x)[:2], X4)
    assert report.verdict == "fail" and report.reductions == []
    assert report.diagnosis == (
        "shape: jac_f returned shape (2, 4), expected f(x).shape + x.shape = (3, 4)"
    )
    transposed = check_jacobian(f, lambda x: jac(x).T, X4)
    assert transposed.diagnosis == (
        "transposed: jac_f returned shape x.shape + f(x).shape = (4, 3), expected (3, 4)"
    )


def test_a_square_transposed_jacobian_is_recognised_by_its_values():
    S = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [0.0, 1.0, 1.0]])
    x = X4[:3]

    def g(x):
        return np.sin(S @ x)

    def g_jac(x):
        return np.cos(S @ x)[:, None] * S

    assert check_jacobian(g, g_jac, x)
    report = check_jacobian(g, lambda x: g_jac(x).T, x)
    assert report.diagnosis.startswith("transposed: jac_f returns Jᵀ (∂f_j/∂x_i at [i, j]); wrong")
    wrong = check_jacobian(g, lambda x: 1.5 * g_jac(x), x)
    assert wrong.verdict == "fail" and not wrong.diagnosis.startswith("transposed")


def test_check_jacobian_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match="^jac_f must be callable, got "):
        check_jacobian(f, None, X4)
    with pytest.raises(TypeError, match="^f must be callable, got "):
        check_jacobian(None, jac, X4)
    with pytest.raises(TypeError) as info:
        check_jacobian(lambda x: {"a": f(x)}, jac, X4)
    assert str(info.value).startswith("check_jacobian needs f(x) to be an array or a scalar, got")
    assert str(info.value).endswith("; use check_vjp for nested structures")


def test_a_jacobian_given_as_an_engine_tensor_is_read_through_its_data():
    class Wrapped:
        def __init__(self, data):
            self.data = data

    assert check_jacobian(f, lambda x: Wrapped(jac(x)), X4)
    assert check_hessian(cube, lambda x: Wrapped(np.diag(6 * x)), X4)


# -- second derivatives ----------------------------------------------------------------------
def test_an_hvp_against_second_differences_and_against_grad_f():
    plain = check_hvp(cube, cube_hvp, X4)
    assert plain and plain.notes == ["the reference is second differences of f"]
    assert [r.what for r in plain.reductions] == [f"column x[{j}]" for j in range(4)]
    with_grad = check_hvp(cube, cube_hvp, X4, grad_f=cube_grad)
    assert with_grad and with_grad.notes == ["the reference is differences of grad_f"]
    assert with_grad.to_dict()["notes"] == ["the reference is differences of grad_f"]


def test_a_wrong_hvp_names_its_columns_and_rows_of_h():
    report = check_hvp(cube, lambda x, v: cube_hvp(x, v) * [1, 1, 1.01, 1], X4, grad_f=cube_grad)
    assert report.verdict == "fail" and report.kind == "hvp"
    assert report.diagnosis == (
        "wrong columns of H: x[2]; wrong rows of H: x[2]; "
        "every failing check says: scale: the gradient is the right one x 1.01"
    )
    assert str(report).splitlines()[-1] == "  note: the reference is differences of grad_f"


def test_a_wrong_grad_f_is_set_aside_with_a_note():
    report = check_hessian(cube, lambda x: np.diag(6 * x), X4, grad_f=lambda x: 2 * x**2)
    assert report and report.kind == "hessian"
    assert report.notes == [
        "grad_f itself did not pass (fail); used differences of f",
        "the reference is second differences of f",
    ]


def test_a_wrong_hessian_is_caught_and_options_reach_check_grad():
    report = check_hessian(cube, lambda x: np.diag(6.1 * x), X4, grad_f=cube_grad)
    assert report.verdict == "fail" and len(report.wrong_outputs) == 4
    central = check_hessian(cube, lambda x: np.diag(6 * x), X4, method="central", columns=2)
    assert central and {r.report.method for r in central.reductions} == {"central"}
    assert [r.what for r in central.reductions] == ["random vector 1", "random vector 2"]


def test_a_hessian_of_the_wrong_shape_or_structure():
    report = check_hessian(cube, lambda x: np.diag(6 * x)[:3], X4)
    assert report.verdict == "fail" and report.diagnosis == (
        "shape: hess_f returned shape (3, 4), expected x.shape + x.shape = (4, 4)"
    )
    hvp_report = check_hvp(cube, lambda x, v: np.zeros(3), X4)
    assert hvp_report.verdict == "fail" and hvp_report.diagnosis.startswith(
        "structure: hvp_f returned"
    )
    assert hvp_report.notes == ["the reference is second differences of f"]


def test_second_order_checks_refuse_what_is_not_callable():
    for call, words in [
        (lambda: check_hvp(None, cube_hvp, X4), "f must be callable"),
        (lambda: check_hvp(cube, None, X4), "hvp_f must be callable"),
        (lambda: check_hvp(cube, cube_hvp, X4, grad_f=3), "grad_f must be callable or None"),
        (lambda: check_hessian(cube, None, X4), "hess_f must be callable"),
    ]:
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value).startswith(words)
    with pytest.raises(ValueError, match="^seed must be"):
        check_hvp(cube, cube_hvp, X4, seed=-2)
    with pytest.raises(ValueError, match="^seed must be"):
        check_hessian(cube, lambda x: np.diag(6 * x), X4, seed=-2)


def test_second_differences_scale_with_the_point_and_the_direction():
    """The second differences of f stay right far from the origin and along long vectors."""
    far = 1e3 * X4
    assert check_hvp(cube, cube_hvp, far)
    wrong = check_hvp(cube, lambda x, v: 1.001 * cube_hvp(x, v), far)
    assert wrong.verdict == "fail"
    assert check_hvp(cube, cube_hvp, X4, vectors=1)


def test_float32_second_differences():
    x = X4.astype(np.float32)
    assert check_hvp(lambda x: np.sum(x.astype(np.float32) ** 3), cube_hvp, x)
