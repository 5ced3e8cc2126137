"""compare's survivors that earlier rounds left alive: what ``jac_f`` and ``hess_f`` may return
(an engine's Value or Tensor, whose ``.data`` is read; or nested lists, which have none)."""

import numpy as np
import pytest

from backproof.autodiff import Value
from backproof.compare.checkgrad import FULL_CHECK_LIMIT, check_grad
from backproof.compare.jacobians import check_hessian, check_hvp, check_jacobian, check_jvp

X = np.array([0.3, -0.7])


def test_check_jacobian_takes_jac_f_as_nested_lists_or_as_an_engines_value():
    """``jac_f`` may return anything NumPy reads as the Jacobian: nested lists (no ``.data``)
    or a backproof Value or Tensor (read through its ``.data``); every call is read that way,
    not only the first."""
    A = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.25]])
    assert check_jacobian(lambda x: A @ x, lambda x: A.tolist(), X).verdict == "pass"
    assert check_jacobian(lambda x: A @ x, lambda x: (2 * A).tolist(), X).verdict == "fail"
    assert check_jacobian(np.sin, lambda x: Value(np.cos(x)), 0.4).verdict == "pass"
    assert check_jacobian(np.sin, lambda x: Value(np.sin(x)), 0.4).verdict == "fail"


def test_check_hessian_takes_hess_f_as_nested_lists_or_as_an_engines_value():
    def f(x):
        return np.sum(np.sin(x))

    assert check_hessian(f, lambda x: np.diag(-np.sin(x)).tolist(), X).verdict == "pass"
    assert check_hessian(f, lambda x: np.diag(np.sin(x)).tolist(), X).verdict == "fail"
    assert check_hessian(np.cos, lambda x: Value(-np.cos(x)), 0.4).verdict == "pass"
    assert check_hessian(np.cos, lambda x: Value(np.cos(x)), 0.4).verdict == "fail"


def test_a_float32_point_is_checked_in_float64_when_f_computes_in_float64():
    """As check_grad does for a float32 x: when f accepts float64 (np.sin does), the scalar
    checks behind check_jvp and check_hvp (the latter from differences of f, without grad_f)
    evaluate f at float64 points, so their reports can say float64."""
    x32 = X.astype(np.float32)
    jvp = check_jvp(np.sin, lambda x, u: np.cos(x) * u, x32)
    hvp = check_hvp(lambda x: np.sum(np.sin(x)), lambda x, v: -np.sin(x) * v, x32)
    assert jvp.verdict == hvp.verdict == "pass"
    for reduction in jvp.reductions:
        assert reduction.report.eval_dtype == "float64"
        assert reduction.report.noise < 1e-12
    # H v from differences of f: f's float64 points are there (whether a column's check is
    # then taken in float64 depends on how its second differences agree in float64)
    assert "float64" in {reduction.report.eval_dtype for reduction in hvp.reductions}


def test_for_mixed_precision_arguments_jvp_f_is_also_called_in_the_callers_precision():
    """A tree with a float32 leaf works in float32 (``Tree.dtype``: the precision the caller
    works in): the check's gradient side calls ``jvp_f`` at the point with every leaf in
    float32, the float64 one included, besides the first call at the arguments as given."""
    seen = set()

    def f(x):
        return np.sin(x[0]) * x[1]

    def jvp_f(x, u):
        seen.add(tuple(np.asarray(leaf).dtype.name for leaf in x))
        return np.cos(x[0]) * u[0] * x[1] + np.sin(x[0]) * u[1]

    a, b = np.array([0.3, -0.7], dtype=np.float32), np.array([1.5, 2.0])
    assert check_jvp(f, jvp_f, (a, b)).verdict == "pass"
    assert seen == {("float32", "float64"), ("float32", "float32")}


def test_a_still_f_of_many_entries_is_tried_at_eight_sign_patterns_each_both_ways():
    """Above FULL_CHECK_LIMIT entries a still f is certified by 8 random sign patterns of the
    largest step, each taken both ways: 16 evaluations there, in 8 pairs of opposite moves."""
    x0 = np.zeros(FULL_CHECK_LIMIT + 1)
    probes = []

    def f(x):
        if np.all(np.abs(x - x0) == 0.5):
            probes.append((x - x0).copy())
        return 0.0

    report = check_grad(f, lambda x: 0 * x, x0)
    assert report.verdict == "pass" and report.noise == 0.0
    assert len(probes) == 16
    assert all(np.array_equal(probes[2 * k + 1], -probes[2 * k]) for k in range(8))
    assert len({p.tobytes() for p in probes}) == 16


def test_with_rtol_and_atol_zero_a_directions_floor_is_the_noise_over_its_own_step():
    """rtol = atol = 0 on an exact linear f of 2001 entries (a fast check): the directions'
    tolerance is the noise floor at their own step alone, so one unsampled entry off by 1e-7
    of itself (a directional error near 1e-7, far above f's rounding) fails directions."""
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal(2001), rng.uniform(-1.0, 1.0, 2001)

    def f(x):
        return float(a @ x)

    assert check_grad(f, lambda x: a, x, rtol=0, atol=0, samples=2).verdict == "pass"
    wrong = a.copy()
    wrong[1000] *= 1 + 1e-7
    report = check_grad(f, lambda x: wrong, x, rtol=0, atol=0, samples=2)
    param = report.params["x"]
    assert report.verdict == "fail" and param.failures >= 1
    checked = [v for v in param.entry_verdicts if v != "unchecked"]
    assert checked == ["pass", "pass"]  # only the directions see it


def test_the_noise_floor_alone_settles_a_ladder_early():
    """On a linear f with 1e-9 noise every ladder's estimates are right but for noise, and the
    noise floor alone is enough to stop it early: rtol = atol = 0 costs no more evaluations
    than the default tolerances."""
    x = np.array([0.3, -0.7, 1.1])

    def f(x):
        return float(np.sum(2 * x)) + 1e-9 * float(np.sin(1e7 * np.sum(x * np.arange(1, 4))))

    default = check_grad(f, lambda x: 2 + 0 * x, x)
    exact = check_grad(f, lambda x: 2 + 0 * x, x, rtol=0, atol=0)
    assert default.verdict == exact.verdict == "pass"
    assert exact.evaluations == default.evaluations


def test_without_grad_f_the_differences_of_f_step_small_enough_for_a_fast_oscillation():
    """H v from differences of f along v, f = sum sin(240 x): the step eps^(1/4) max(|x|, 1)
    / max|v| (numerical_grad's rule, per unit of v) keeps their error below the check's
    tolerance, along unit vectors and along random ones longer than 1 (seed 2's reach 2.4)."""
    x = np.array([0.3, -0.2])

    def f(x):
        return float(np.sum(np.sin(240 * x)))

    def hvp_f(x, v):
        return -(240**2) * np.sin(240 * x) * v

    assert check_hvp(f, hvp_f, x).verdict == "pass"
    assert check_hvp(f, hvp_f, x, vectors=3, seed=2).verdict == "pass"


def test_a_mutants_problem_moves_every_parameter_entry_by_its_own_small_random_amount():
    """``mutant_problem``: the network's seeded initial parameters, each entry moved by its
    own N(0, 0.3^2) draw (off any optimum, still small); reproducible."""
    from backproof import network
    from backproof.compare.mutants import CATALOG, mutant_problem

    mutant = next(m for m in CATALOG if not m.saturate)
    spec, params, X, Y = mutant_problem(mutant)
    start = network.init_params(spec)
    moves = np.concatenate([(params[k] - start[k]).ravel() for k in start])
    assert moves.size > 20
    assert 0.2 < np.std(moves) < 0.4 and np.max(np.abs(moves)) < 1.5
    for k in start:
        assert np.unique(params[k] - start[k]).size == params[k].size  # each entry its own
    again = mutant_problem(mutant)[1]
    assert all(np.array_equal(again[k], params[k]) for k in params)


def test_the_complex_step_accepts_a_steep_analytic_f_at_zero():
    """exp(2500 x) at x = 0 is analytic: method="complex" must accept it. Its probe compares
    the complex step with central differences along a direction of unit scale for entries
    below 1 in size (twice as long and the central differences' own error would refute it)."""
    report = check_grad(
        lambda x: np.exp(2500 * x[0]),
        lambda x: np.array([2500 * np.exp(2500 * x[0])]),
        np.array([0.0]),
        method="complex",
    )
    assert report.verdict == "pass" and report.method == "complex"


def test_directions_across_kinks_a_little_farther_fail_for_one_unsampled_entry_off():
    """sum |x_i - c_i| with kinks 5e-4 to 1e-3 from x (2001 entries, a fast check): the
    first ladder stops early among the kinks and cannot tell; the same ladder run to its end
    gets below them and replaces it, so one unsampled entry off by 1% fails every direction
    (the finer ladder agrees), while the right gradient passes."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, 2001)
    c = x + rng.uniform(5e-4, 1e-3, x.size) * rng.choice([-1.0, 1.0], x.size)

    def f(x):
        return float(np.sum(np.abs(x - c)))

    right = check_grad(f, lambda x: np.sign(x - c), x, samples=4)
    assert right.verdict == "pass"
    unsampled = int(np.flatnonzero(right.params["x"].entry_verdicts == "unchecked")[0])
    wrong = np.sign(x - c)
    wrong[unsampled] *= 1.01
    report = check_grad(f, lambda x: wrong, x, samples=4)
    param = report.params["x"]
    assert report.verdict == "fail"
    assert (param.failures, param.inconclusive, param.directions_checked) == (3, 0, 3)


def test_without_grad_f_the_differences_along_v_step_by_eps_to_the_quarter_in_xs_units():
    """H v from differences of f: each <grad f(x'), v> takes f at x' and at x' + o h v for
    Richardson's offsets o = 1, -1, 1/2, -1/2, with h chosen so that the first move is
    eps^(1/4) max(|x'|, 1) in x's largest entry, whatever the length of v (random vectors
    here, all shorter than 1)."""
    from backproof.compare.numerical import offsets

    x = np.array([0.3, -0.2])
    points = []

    def f(x):
        points.append(np.array(x, dtype=float))
        return float(np.sum(np.sin(x)))

    report = check_hvp(f, lambda x, v: -np.sin(x) * v, x, vectors=3, seed=0)
    assert report.verdict == "pass"
    block = 1 + len(offsets("richardson"))
    assert len(points) % block == 0
    quarter = np.finfo(np.float64).eps ** 0.25
    for k in range(0, len(points), block):
        base, first = points[k], points[k + 1]
        move = np.max(np.abs(first - base))
        assert move == pytest.approx(quarter * max(np.max(np.abs(base)), 1.0), rel=1e-9)


def test_a_transpose_the_sampled_entries_show_but_the_directions_refute_is_not_diagnosed():
    """A fast check of a 50 x 50 parameter whose gradient is right but for the sampled
    entries and their mirror images, swapped: the sampled entries alone look like a transposed
    gradient, the random directions (which see every entry) refute it, so the diagnosis names
    the wrong entries, not a transpose."""
    rng = np.random.default_rng(3)
    A, W = rng.standard_normal((50, 50)), rng.standard_normal((50, 50))

    def f(W):
        return float(np.sum(A * W))

    right = check_grad(f, lambda W: A, W)
    assert right.verdict == "pass" and right.mode == "fast"
    sampled = np.flatnonzero(np.asarray(right.params["x"].entry_verdicts).ravel() != "unchecked")
    G = A.copy()
    for k in sampled:
        i, j = divmod(int(k), 50)
        G[j, i], G[i, j] = A[i, j], A[j, i]
    param = check_grad(f, lambda W: G, W).params["x"]
    assert param.verdict == "fail" and param.directions_checked == 3
    assert "transpose" not in param.diagnosis.kinds
    assert param.diagnosis.text.startswith("values: every checked entry is wrong")


@pytest.mark.parametrize("saturate", [False, True], ids=["plain", "saturated"])
def test_a_mutants_problem_follows_its_documented_recipe(saturate):
    """The study's catalog numbers come from ``mutant_problem``; its docstring gives the recipe
    (seed 11; X, labels, then 0.3 times a standard normal move of each parameter entry; a
    saturated output's last layer at W = 60, b = 40). Rebuilt here from the docstring alone."""
    from backproof import network
    from backproof.compare.mutants import CATALOG, mutant_problem

    mutant = next(m for m in CATALOG if m.saturate is saturate)
    spec, params, X, Y = mutant_problem(mutant)
    rng = np.random.default_rng(11)
    want_X = rng.standard_normal((spec.layer_dims[0], X.shape[1]))
    labels = rng.integers(0, max(spec.layer_dims[-1], 2), size=(1, X.shape[1]))
    want = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in network.init_params(spec).items()}
    L = spec.n_layers
    if saturate:
        want[f"W{L}"] = np.full_like(want[f"W{L}"], 60.0)
        want[f"b{L}"] = np.full_like(want[f"b{L}"], 40.0)
        Z_L = network.forward(spec, params, X)[0][-1]
        assert np.all(Z_L >= 40) and np.all(1 / (1 + np.exp(-Z_L)) == 1.0)
    assert X.shape[1] == 40
    assert np.array_equal(X, want_X)
    assert np.array_equal(Y, network.targets(spec, labels))
    assert params.keys() == want.keys()
    assert all(np.array_equal(params[k], want[k]) for k in want)
