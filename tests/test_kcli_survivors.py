"""Behaviour that the mutation run's survivors in checkgrad, jacobians and the command line
showed untested: the cost of a check (how many times f is evaluated), the tolerance a float32
JVP is judged with, and the name a wrong Hessian is reported under."""

import numpy as np

from backproof.compare.checkgrad import check_grad
from backproof.compare.jacobians import check_hessian, check_jvp


def _evaluations(f, grad_f, x, **options):
    """How many times check_grad calls f, and its verdict."""
    calls = [0]

    def counted(x):
        calls[0] += 1
        return f(x)

    report = check_grad(counted, grad_f, x, **options)
    return calls[0], report.verdict


def test_a_ladder_at_a_kink_settles_both_sides_before_stopping():
    """At x_0 = 0 f has a kink with a curved right side: the ladder refines both one-sided
    derivatives until each is settled, which costs more evaluations than settling only the
    sharper one (seeded, so the count is exact)."""

    def f(x):
        return float(np.sum(np.where(x > 0, x**2 + x, -x + np.sin(x))))

    def grad(x):
        return np.where(x > 0, 2 * x + 1, -1 + np.cos(x))

    assert _evaluations(f, grad, np.array([0.0, 0.5])) == (166, "pass")


def test_a_ladder_with_zero_tolerance_stops_when_smaller_steps_stop_helping():
    """rtol = atol = 0 leaves only the noise floor: sin's ladder can never settle inside it, so
    it stops once smaller steps stop improving the estimate — not later."""
    x = np.array([0.5, -0.25, 1.0])
    assert _evaluations(lambda x: float(np.sum(np.sin(x))), np.cos, x, rtol=0.0, atol=0.0) == (
        140,
        "pass",
    )


def test_an_exact_reference_with_zero_tolerance_settles_at_once():
    """A constant f: every difference is exactly 0 with error 0, and the tolerance is 0 too;
    an error of 0 is within a tolerance of 0 (<=), so the ladder stops as early as it can."""
    x = np.array([0.5, -0.25, 1.0])
    assert _evaluations(lambda x: 0.0, lambda x: np.zeros(3), x, rtol=0.0, atol=0.0) == (
        116,
        "pass",
    )


def test_a_float32_jvp_is_judged_with_float32_tolerance():
    """J u returned in float32 has float32's precision: each scalar check's rtol is
    7 sqrt(eps) of float32 (~2.4e-3), not float64's 1e-7."""
    x = np.array([0.5, -0.25, 1.0], dtype=np.float32)

    def f(x):
        return np.sin(x) * x[0]

    def jvp(x, u):
        return (np.cos(x) * u * x[0] + np.sin(x) * u[0]).astype(np.float32)

    report = check_jvp(f, jvp, x)
    assert report.verdict == "pass"
    rtol32 = 7 * np.sqrt(np.finfo(np.float32).eps)
    for r in report.reductions:
        assert np.isclose(r.report.rtol, rtol32, rtol=1e-6)


def test_a_complex_hessian_is_reported_under_the_name_hess_f():
    """hess_f returning a complex matrix fails with a structure diagnosis naming hess_f."""
    x = np.array([1.0, 2.0])
    report = check_hessian(
        lambda x: float(np.sum(x**2)), lambda x: (2 * np.eye(2)).astype(complex), x
    )
    assert report.verdict == "fail"
    assert report.diagnosis == "structure: hess_f returned dtype complex128 for x, which is real"
