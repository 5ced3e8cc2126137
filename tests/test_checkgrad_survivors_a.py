"""check_grad's survivors of the mutation run, part A: what the report says and counts
(``_judge_params``, ``_assemble``, ``_reason``, ``_verdicts``), when an f that never moved
near x is certified flat (``_confirm_still``), and the defaults and tolerances of
``check_grad`` itself. Each test states behaviour a user reads off the report."""

import math
import time
import warnings

import numpy as np
import pytest

from backproof.compare import check_grad
from backproof.compare.checkgrad import FULL_CHECK_LIMIT
from backproof.compare.verdicts import ADVICE, REASONS

EPS32 = float(np.finfo(np.float32).eps)


def sin_x(x):
    return float(np.sum(np.sin(x) * x))


def sin_x_grad(x):
    return np.cos(x) * x + np.sin(x)


X = np.linspace(-1.0, 1.3, 6)


# -- an f that never moved near x ------------------------------------------------------------------
def _revived_by_one_entry(x0, reach):
    """A relu unit dead at x0 that entry 0 alone revives once it moves by ``reach``: any
    move of the other entries (the noise lines move every entry) keeps it dead."""

    def f(x):
        d = x - x0
        return float(max(d[0] - reach - 10 * np.sum(np.abs(d[1:])), 0.0))

    return f


@pytest.mark.parametrize("x0", [np.zeros(3), np.array([4.0, 0.0, -3.0])])
def test_an_f_dead_near_x_but_alive_one_largest_step_along_one_entry_is_not_flat(x0):
    """The largest step moves entry i by 0.5 max(|x_i|, 1): an f alive there has an unknown
    noise (infinite), so nothing is certified; alive only beyond it, f is certified flat."""
    scale = 0.5 * max(abs(x0[0]), 1.0)
    zero = lambda x: 0 * x  # noqa: E731
    alive = check_grad(_revived_by_one_entry(x0, 0.9 * scale), zero, x0)
    assert alive.verdict == "inconclusive" and alive.noise == math.inf
    assert alive.reason == REASONS["noise"] and alive.advice == ADVICE["noise"]
    assert not any("same value at every point tried" in n for n in alive.notes)
    assert alive.to_dict()["noise"] is None  # inf in JSON
    beyond = check_grad(_revived_by_one_entry(x0, 1.1 * scale), zero, x0)
    assert beyond.verdict == "pass" and beyond.noise < 1e-15
    assert "same value at every point tried" in beyond.notes[-1]


def test_a_still_f_of_exactly_the_limit_is_moved_along_each_entry_alone():
    """Up to FULL_CHECK_LIMIT entries every entry is moved on its own (random signs that move
    every entry at once begin only above it)."""
    x0 = np.zeros(FULL_CHECK_LIMIT)
    report = check_grad(_revived_by_one_entry(x0, 0.45), lambda x: 0 * x, x0, full=False)
    assert report.noise == math.inf and report.verdict == "inconclusive"


def test_a_still_f_of_many_entries_is_tried_at_the_largest_step_exactly_both_ways():
    """Above FULL_CHECK_LIMIT entries, random sign patterns move every entry by exactly the
    largest step, each pattern both ways: an f that stays put within that box (it wakes only
    when every entry moves by 0.45 and one of them by 0.75) is certified flat."""
    x0 = np.zeros(FULL_CHECK_LIMIT + 1)
    probes = []

    def f(x):
        d = np.abs(x - x0)
        if np.all(d == 0.5):
            probes.append((x - x0).copy())
        return float(np.min(d) >= 0.45 and np.max(d) >= 0.75)

    report = check_grad(f, lambda x: 0 * x, x0)
    assert report.verdict == "pass" and report.noise == 0.0
    assert "same value at every point tried" in report.notes[-1]
    assert probes
    for p in probes:
        assert any(np.array_equal(q, -p) for q in probes)


# -- the parameter's numbers, fast check -----------------------------------------------------------
def _sqrt_then_squares(x):
    return float(np.sqrt(x[0]) + np.sum(x[1:] ** 2))


def test_a_fast_check_counts_its_directions_with_its_entries():
    """f is not finite left of x0 = 0: entry 0 and every random direction (they move every
    entry) cannot be settled; a gradient twice the right one fails every entry and direction."""
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    right = lambda x: np.concatenate([[1.0], 2 * x[1:]])  # noqa: E731
    report = check_grad(_sqrt_then_squares, right, x, full=False, samples=5)
    p = report.params["x"]
    assert (p.entries_checked, p.directions_checked) == (5, 3)
    assert list(p.entry_verdicts) == ["inconclusive"] + ["pass"] * 4
    assert p.inconclusive == 1 + 3 and p.failures == 0
    assert p.verdict == "inconclusive"
    assert (p.reason, p.advice) == (REASONS["not finite nearby"], ADVICE["not finite nearby"])
    assert report.reason == p.reason
    assert [e.reason for e in report.inconclusive] == ["not finite nearby"]

    smooth = lambda x: float(np.sum(x**2))  # noqa: E731
    twice = check_grad(smooth, lambda x: 4 * x, x + 1.0, full=False, samples=5)
    q = twice.params["x"]
    assert q.failures == 5 + 3 and q.inconclusive == 0 and q.directions_checked == 3


def test_each_entry_gives_its_own_reason_and_a_failing_parameter_no_advice():
    """Entry 0 fails, entry 1 has no finite reference, entry 2 sits on a blurred kink: each
    entry's reason is its own, and a parameter that fails says why in its diagnosis, not as
    an inconclusive reason or advice."""

    def f(x):
        return float(x[0] ** 2 + np.sqrt(x[1]) + abs(x[2]) + 1e-7 * np.sin(1e9 * x[2]))

    def wrong(x):
        return np.array([3 * x[0], 0.5 / np.sqrt(x[1]), 1.0005])

    report = check_grad(f, wrong, np.array([1.0, 1e-300, 0.0]))
    assert [(e.index, e.verdict, e.reason) for e in report.worst] == [
        ((0,), "fail", ""),
        ((1,), "inconclusive", "not finite nearby"),
        ((2,), "inconclusive", "kink"),
    ]
    p = report.params["x"]
    assert p.verdict == "fail" and (p.reason, p.advice) == ("", "")
    assert p.to_dict()["advice"] == "" and report.advice == ""
    assert p.diagnosis.text


def test_each_parameter_check_carries_its_name():
    params = {"w": np.array([0.5, -1.0]), "b": np.array([0.3])}

    def fp(p):
        return float(np.sum(p["w"] ** 2) + np.sum(np.sin(p["b"])))

    report = check_grad(fp, lambda p: {"w": 2 * p["w"], "b": np.cos(p["b"])}, params)
    assert report.ok
    assert [(k, p.name) for k, p in report.params.items()] == [("w", "w"), ("b", "b")]
    assert check_grad(sin_x, sin_x_grad, X).params["x"].name == "x"
    # several arguments: the one argnums picks is named by its place
    two = check_grad(
        lambda a, b: float(np.sum(a * b**2)), lambda a, b: 2 * a * b, X, X + 1.0, argnums=1
    )
    assert two.ok and [(k, p.name) for k, p in two.params.items()] == [("args[1]", "args[1]")]


def test_an_infinite_gradient_entry_fails_without_a_numpy_warning():
    inf_at_2 = lambda x: np.where(np.arange(6) == 2, np.inf, sin_x_grad(x))  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_grad(sin_x, inf_at_2, X)
    assert report.verdict == "fail" and report.params["x"].max_abs_error == math.inf
    assert report.params["x"].diagnosis.kinds == ["non-finite"]


def test_a_nan_gradient_fails_even_where_f_is_not_finite_nearby():
    """No reference, but a nan in the gradient is a mistake whatever the reference says."""
    roots = lambda x: float(np.sum(np.sqrt(x)))  # noqa: E731
    report = check_grad(roots, lambda x: np.array([0.5, np.nan]), np.array([1.0, 1e-300]))
    assert report.verdict == "fail"
    assert [(e.index, e.verdict) for e in report.worst] == [((1,), "fail")]


# -- the diagnosis of a noisy f: what is no evidence of a mistake ---------------------------------
@pytest.mark.parametrize("offset", [1e6, 1e8])
def test_a_noisy_f_s_fast_check_still_names_the_mistake(offset):
    """f = offset + sum(sin(x)) is noisy (its ulp): a difference no larger than the tolerance
    plus three times the reference's error is no evidence against a pattern, for the sampled
    entries and the random directions alike."""
    x = np.linspace(0.2, 1.4, 7)
    noisy = lambda x: offset + float(np.sum(np.sin(x)))  # noqa: E731
    twice = check_grad(noisy, lambda x: 2 * np.cos(x), x, full=False, samples=3)
    assert twice.diagnosis == {"x": "scale: the gradient is the right one x 2"}
    extra = check_grad(noisy, lambda x: np.cos(x) + 0.3 * x, x, full=False, samples=3)
    assert extra.diagnosis["x"].startswith("term: the gradient has an extra term 0.3 x x")


def test_a_missing_gradient_of_a_parameter_a_noisy_f_ignores_is_not_said_to_matter():
    """f does not depend on b, but it is noisy: b's differences are 0 with a large error,
    which is no evidence that f depends on b."""
    params = {"a": np.array([0.3, -0.5]), "b": np.array([0.2, 0.4])}

    def noisy(p):
        a = p["a"]
        return 1e12 + 1e-8 * float(np.sum(np.sin(a))) + 1e-7 * float(np.sin(1e9 * a[0]))

    report = check_grad(noisy, lambda p: {"a": 1e-8 * np.cos(p["a"])}, params)
    assert report.diagnosis["b"] == "zero: no gradient was given for b (a missing key)"
    depends = check_grad(lambda p: float(np.sum(p["a"] * p["b"])), lambda p: {"a": p["b"]}, params)
    assert depends.diagnosis["b"].endswith("but the function depends on it")


# -- the report's summary numbers ------------------------------------------------------------------
def test_the_relative_difference_of_the_whole_gradient():
    """||g - g~|| / (||g|| + ||g~||) over the entries with both values finite; 0 when both are
    zero."""
    x = np.array([0.5, 1.0])
    small = check_grad(lambda x: float(0.01 * np.sum(x**2)), lambda x: 0.03 * x, x)
    assert small.rel_diff == pytest.approx(0.01 / 0.05, rel=1e-6)
    flat = check_grad(lambda x: 3.0, lambda x: 0 * x, x)
    assert flat.ok and flat.rel_diff == 0.0
    root_and_square = lambda x: float(np.sqrt(x[0]) + x[1] ** 2)  # noqa: E731
    wrong = lambda x: np.array([0.5 / np.sqrt(x[0]), 3 * x[1]])  # noqa: E731
    undefined = check_grad(root_and_square, wrong, np.array([1e-300, 1.0]))
    assert [e.verdict for e in undefined.worst] == ["fail", "inconclusive"]
    # entry 0 has no reference (f is not finite left of 0): only entry 1, 3 against 2, counts
    assert undefined.rel_diff == pytest.approx(1 / 5, rel=1e-6)


def test_entries_undecided_for_noise_say_so_one_by_one():
    """1e-8 sin(x) is below the ulp of 1e12: the differences cannot see a slope that small."""
    noisy = lambda x: 1e12 + 1e-8 * float(np.sum(np.sin(x)))  # noqa: E731
    report = check_grad(noisy, lambda x: 0 * x, np.linspace(-1, 1, 3))
    assert [(e.index, e.verdict, e.reason) for e in report.inconclusive] == [
        ((0,), "inconclusive", "noise"),
        ((1,), "inconclusive", "noise"),
        ((2,), "inconclusive", "noise"),
    ]


def test_a_misshapen_gradient_leaves_the_report_s_errors_nan():
    report = check_grad(sin_x, lambda x: sin_x_grad(x)[:5], X)
    assert math.isnan(report.max_rel_error) and math.isnan(report.max_abs_error)
    assert report.to_dict()["max_rel_error"] is None


def test_seconds_is_the_time_the_check_took():
    t0 = time.perf_counter()
    report = check_grad(sin_x, sin_x_grad, X)
    took = time.perf_counter() - t0
    assert 0 < report.seconds <= took


# -- check_grad's defaults and tolerances ----------------------------------------------------------
def test_the_default_fast_check_samples_24_entries_and_the_limit_itself_is_checked_fully():
    x = np.linspace(-1, 1, FULL_CHECK_LIMIT + 1)
    sin = lambda x: float(np.sum(np.sin(x)))  # noqa: E731
    fast = check_grad(sin, np.cos, x, directions=0)
    assert fast.mode == "fast" and fast.params["x"].entries_checked == 24
    complex_safe = lambda x: np.sum(np.sin(x))  # noqa: E731
    full = check_grad(complex_safe, np.cos, x[:FULL_CHECK_LIMIT], method="complex")  # cheap
    assert full.mode == "full" and full.params["x"].entries_checked == FULL_CHECK_LIMIT


def test_an_f_that_computes_in_float32_only_gets_float32_s_rtol():
    """f refuses float64 input, so it is evaluated in float32: rtol follows float32's eps
    even when the gradient is float64 and f's values never change."""

    def only32(x):
        if x.dtype != np.float32:
            raise TypeError("float32 only")
        return 1.0

    report = check_grad(only32, lambda x: np.zeros(x.shape), np.ones(3, np.float32))
    assert report.eval_dtype == "float32" and report.ok
    assert report.rtol == pytest.approx(7 * math.sqrt(EPS32), rel=1e-12, abs=0)


def _float32_inside(x):
    return float(np.sum((np.sin(x) * x).astype(np.float32)))


@pytest.mark.parametrize("step", [None, 0.1])
def test_the_reported_floor_is_30_times_the_noise_over_the_largest_step(step):
    report = check_grad(_float32_inside, sin_x_grad, X, step=step)
    assert report.ok and report.noise > 1e-8
    largest = 0.5 if step is None else step
    assert report.floor == pytest.approx(30 * report.noise / largest, rel=1e-12, abs=0)


def test_the_floor_of_a_very_noisy_f_stays_below_1_percent_of_the_largest_slope():
    """30 noise / 0.5 would be larger, but the floor is capped at 1e-2 of the largest slope
    the differences resolve beyond their error (|g~| - 3 err): below 1e-2 of the true 3."""
    x = np.linspace(-1, 1, 5)
    slopes = np.array([1.0, -2.0, 0.5, 3.0, 1.5])

    def noisy(x):
        return float(slopes @ x) + 1e-3 * float(np.sin(1e9 * (np.arange(1.0, 6.0) @ x)))

    report = check_grad(noisy, lambda x: slopes, x)
    assert report.floor < 30 * report.noise / 0.5
    assert 0.9 * 0.01 * 3.0 < report.floor < 0.01 * 3.0


def test_an_entry_s_tolerance_takes_the_noise_over_its_own_largest_step():
    """The floor of entry i is 30 noise / (0.5 max(|x_i|, 1)): a large entry's differences
    resolve a smaller slope."""
    x = np.array([-12.0, -3.0, 0.5, 2.0, 8.0])
    report = check_grad(_float32_inside, lambda x: 1.5 * sin_x_grad(x), x)
    assert report.verdict == "fail" and len(report.worst) == 5
    for e in report.worst:
        floor = 30 * report.noise / (0.5 * max(abs(x[e.index]), 1.0))
        expected = report.atol + report.rtol * abs(e.numerical) + floor
        assert e.tolerance == pytest.approx(expected, rel=1e-9, abs=0)


# -- kinks near x: the second ladder, below the kink -----------------------------------------------
def _relu_near_x(kink_at):
    """relu(x0 - kink_at) + x1^2: at x0 = 0 every step of the first ladder straddles the kink
    (it is closer than the smallest step), so the first ladder sees the interval [0, 1]."""
    return lambda x: float(max(x[0] - kink_at, 0.0) + x[1] ** 2)


@pytest.mark.parametrize("kink_at, slope", [(1e-5, 0.0), (-1e-5, 1.0)])
def test_a_kink_just_beside_x_is_left_behind_by_the_second_ladder(kink_at, slope):
    """Between the one-sided slopes is not good enough when the kink is not at x: the second
    ladder, below the kink, sees the one slope at x, and a gradient halfway fails there."""
    x = np.array([0.0, 0.7])
    right = check_grad(_relu_near_x(kink_at), lambda x: np.array([slope, 2 * x[1]]), x)
    assert right.ok
    halfway = check_grad(_relu_near_x(kink_at), lambda x: np.array([0.5, 2 * x[1]]), x)
    assert halfway.verdict == "fail"
    assert [(e.index, e.verdict, e.numerical) for e in halfway.worst] == [((0,), "fail", slope)]
    # the slope of the far side sits on the edge of the first ladder's interval: that ladder
    # cannot tell, and "fail" needs both ladders to say so
    far_side = check_grad(_relu_near_x(kink_at), lambda x: np.array([1 - slope, 2 * x[1]]), x)
    assert far_side.verdict == "inconclusive" and far_side.reason == REASONS["kink"]


def _quantised_kink(slope_below):
    """A kink 3e-5 right of x0 = 0 with slopes ``slope_below`` and ``slope_below + 2``, f
    rounded to a grid of 1e-4: flat at the second ladder's small steps."""

    def f(x):
        d = x[0] - 3e-5
        return float(np.round((abs(d) + (slope_below + 1) * d) / 1e-4) * 1e-4 + x[1] ** 2)

    return f


@pytest.mark.parametrize(
    "slope_below, verdict", [(-1.0, "inconclusive"), (-0.18, "fail")], ids=["inside", "at-edge"]
)
def test_a_flat_second_ladder_refutes_a_kink_s_interval_only_near_its_ends(slope_below, verdict):
    """The first ladder straddles the kink and passes 0.5 between the one-sided slopes; the
    second ladder, flat on f's grid, reads 0. Well inside the interval (more than a tenth of
    its width from either end) that 0 is a difference taken across the kink, which refutes
    nothing: inconclusive, with no error bound. A tenth of the width from its end, it fails."""
    x = np.array([0.0, 0.7])
    report = check_grad(_quantised_kink(slope_below), lambda x: np.array([0.5, 2 * x[1]]), x)
    assert report.verdict == verdict
    [entry] = report.worst
    assert (entry.index, entry.verdict, entry.numerical) == ((0,), verdict, 0.0)
    assert (entry.reference_error == math.inf) == (verdict == "inconclusive")


# -- code changed: the reason of directions that cannot be settled ---------------------------------
def test_a_parameter_undecided_by_its_directions_alone_gives_their_cause():
    """f is defined on the axes through x only (nan once two entries move): every entry
    passes, every random direction leaves f's domain. The parameter is inconclusive because f
    is not finite there (it used to say "noise", and advise computing f in float64)."""
    x0 = np.array([0.3, -0.2, 0.5, 0.1])

    def axes_only(x):
        return float(np.sum(x**2)) if np.count_nonzero(x - x0) <= 1 else math.nan

    report = check_grad(axes_only, lambda x: 2 * x, x0, full=False, samples=4)
    p = report.params["x"]
    assert list(p.entry_verdicts) == ["pass"] * 4
    assert (p.verdict, p.inconclusive, p.directions_checked) == ("inconclusive", 3, 3)
    assert (p.reason, p.advice) == (REASONS["not finite nearby"], ADVICE["not finite nearby"])
    assert (report.reason, report.advice) == (p.reason, p.advice)
