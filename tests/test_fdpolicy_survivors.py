"""The finite-difference policy, at the edges its contract tests leave open: the dtypes and
shapes ``combine`` returns, its round-off bound and kink-hint thresholds, when a ladder is past
its best, and how the grid read from the ladders' values raises the noise (``with_ladders``)."""

import math
import warnings

import numpy as np
import pytest

from backproof.compare.fdpolicy import (
    COMPLEX_STEP,
    Estimate,
    LadderResult,
    Noise,
    Tolerance,
    combine,
    estimate_noise,
    grid_quantum,
    ladder_steps,
    offsets,
    run_ladder,
    with_ladders,
)

EPS = float(np.finfo(np.float64).eps)


def _at(phi, method, h):
    return [phi(o * h) for o in offsets(method)]


# -- combine: what it returns ----------------------------------------------------------------------
def test_every_method_returns_an_elementwise_boolean_kink_hint():
    """Per entry of an array of steps: estimate, error and kink hint all have its shape, and the
    hint is a boolean array whatever the method (no kinks for central or complex)."""
    h = np.array([0.1, 0.2, 0.3])
    for method in ("central", "richardson"):
        values = [np.exp(o * h) for o in offsets(method)]
        est, err, kink = combine(method, h, np.ones(3), values, EPS)
        assert est.shape == err.shape == kink.shape == (3,), method
        assert kink.dtype == np.bool_ and not kink.any(), method
    h = np.full(3, COMPLEX_STEP)
    est, err, kink = combine("complex", h, np.ones(3), [np.exp(1j * h)], EPS)
    assert est.shape == err.shape == kink.shape == (3,)
    assert kink.dtype == np.bool_ and not kink.any()
    _, _, one = combine("complex", COMPLEX_STEP, 1.0, [np.exp(1j * COMPLEX_STEP)], EPS)
    assert one.dtype == np.bool_ and one.shape == ()


def test_the_complex_step_warns_of_nothing():
    """Legal input, no warning of any kind (a deprecated NumPy call would show here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est, err, _ = combine("complex", COMPLEX_STEP, 1.0, [np.exp(1j * COMPLEX_STEP)], EPS)
    assert est == pytest.approx(1.0, rel=1e-15, abs=0) and err == 4 * EPS * abs(est)


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
def test_float32_steps_and_values_are_differenced_in_float64(method):
    """A float32 point gives float32 steps and values; the differences are still taken in
    float64, the same as for the very same numbers given in float64."""
    h32 = np.array([1e-3, 3e-3], dtype=np.float32)
    cplx = method == "complex"
    phi = (lambda t: np.exp(1j * t) * 1.1) if cplx else (lambda t: np.exp(t) * 1.1)
    dtype = np.complex64 if cplx else np.float32
    values = [np.asarray(phi(o * h32.astype(np.float64)), dtype=dtype) for o in offsets(method)]
    f0 = np.float32([1.1, 1.1])
    est, err, _ = combine(method, h32, f0, values, EPS)
    wide = [v.astype(np.complex128 if cplx else np.float64) for v in values]
    est64, err64, _ = combine(method, h32.astype(np.float64), f0.astype(np.float64), wide, EPS)
    assert est.dtype == err.dtype == np.float64
    np.testing.assert_array_equal(est, est64)
    np.testing.assert_array_equal(err, err64)


def test_richardson_s_round_off_bound_is_20_eps_times_the_values_over_h():
    """A line has no truncation error: the bound is round-off alone, 20 eps max|phi| / h."""
    phi = lambda t: 1.0 + t  # noqa: E731
    for h in (0.5, 0.25):
        est, err, _ = combine("richardson", h, phi(0), _at(phi, "richardson", h), EPS)
        assert est == 1.0
        assert err == pytest.approx(20 * EPS * phi(h) / h, rel=1e-12, abs=0)


# -- combine: the kink hint's threshold ------------------------------------------------------------
def _second_differences(at_h, at_half, f0=0.0, h=1.0):
    """Richardson's values at (h, -h, h/2, -h/2) with second differences ``at_h`` over h and
    ``at_half`` over h/2 (symmetric in t, so no slope)."""
    return [f0 + at_h * h / 2, f0 + at_h * h / 2, f0 + at_half * h / 4, f0 + at_half * h / 4]


@pytest.mark.parametrize(
    "at_h, twice_at_half, kink",
    [
        (10.0, 9.8, False),  # 2% apart, the larger one from h: within 5% of it
        (9.52, 10.0, False),  # 4.8% apart, the larger one from h/2: within 5% of it
        (9.4, 10.0, True),  # 6% apart: beyond 5% of the larger one
        (10.0, 10.0, False),  # a(h) = 2 a(h/2): smooth
        (0.0, 0.0, False),  # phi = 0 everywhere: no round-off, and no kink either
    ],
)
def test_the_kink_hint_flags_second_differences_5_percent_apart(at_h, twice_at_half, kink):
    values = _second_differences(at_h, twice_at_half / 2)
    _, _, hint = combine("richardson", 1.0, 0.0, values, EPS)
    assert bool(hint) is kink


def test_the_kink_hint_allows_five_round_off_bounds():
    """Second differences 11 apart where the round-off bound (20 eps scale / h) is 2: beyond
    the 10 of five bounds (plus 5% of 11), a kink; a larger eps makes them round-off."""
    values = _second_differences(11.0, 0.0)
    _, err, hint = combine("richardson", 1.0, 0.0, values, 1e-3, rounding_scale=100.0)
    assert err == pytest.approx(2.0, rel=1e-12, abs=0)  # no slope: the bound is round-off alone
    assert bool(hint)
    _, _, within = combine("richardson", 1.0, 0.0, values, 1.2e-3, rounding_scale=100.0)
    assert not within


# -- the ladder: past its best ---------------------------------------------------------------------
def _ladder_with(sharpest_step, smallest_step):
    best = Estimate(1.0, 1e-9, sharpest_step)
    worse = Estimate(1.0, 1e-6, smallest_step)
    zero = Estimate(0.0, 1.0)
    return LadderResult(best, worse, worse, zero, True, zero, smallest_step)


def test_a_ladder_is_past_its_best_three_halvings_after_its_sharpest_estimate():
    assert _ladder_with(0.5, 0.5 / 8).past_its_best()  # exactly three halvings
    assert _ladder_with(0.5, 0.5 / 16).past_its_best()
    assert not _ladder_with(0.5, 0.5 / 4).past_its_best()  # two: smaller steps may still help
    assert not _ladder_with(0.5, 0.5).past_its_best()
    assert _ladder_with(4.0, 0.5).past_its_best()  # scale-free: steps of any size
    assert not _ladder_with(2.0, 0.5).past_its_best()


# -- the grid the ladders see --------------------------------------------------------------------
def _staircase(x0, q=1e-3):
    """f(x) = q round(x): seen from x0 it moves by one quantum only at the ladder's large steps
    (on the right of 0.3, on the left of 0.7)."""
    f = lambda x: q * round(x)  # noqa: E731
    lad = run_ladder(lambda h: (f(x0 + h), f(x0 - h), h, h), f(x0), ladder_steps(1.0), 0.0)
    return lad.values, f(x0)


@pytest.mark.parametrize("x0", [0.3, 0.7])
def test_a_staircase_seen_only_by_the_ladder_sits_on_its_grid(x0):
    """Four second differences of whole quanta (across: f(h) + f(-h) - 2 f(0), down:
    f(h_j) - 2 f(h_j+1) + f(0)), with steps that halve exactly: the grid is found."""
    rows, f0 = _staircase(x0)
    assert grid_quantum([], f0, [rows]) == pytest.approx(1e-3, rel=1e-12, abs=0)


def test_a_line_seen_through_inexact_steps_sits_on_no_grid():
    """Steps actually taken that do not halve exactly make a line's second differences
    s (h+ - h-) and s (h_j - 2 h_j+1): they are not evidence of a grid. A quantised f's combos
    of 2.5 times that are (only beyond twice what a line makes)."""
    hp = np.array([8.0, 4.0, 2.0, 1.0])
    hm = hp + 0.4  # what a line makes: across -0.4 s, down 0.4 - 0.8 = -0.4 s
    line = [(h1, -h2, h1, h2) for h1, h2 in zip(hp, hm)]
    assert grid_quantum([], 0.0, [line]) == 0.0
    # whole units whose second differences are all +-1: 2.5 times the line's 0.4 (slope 1)
    fm = [-7.0, -3.0, -1.0, 0.0]
    steps = [(h1, v, h1, h2) for h1, v, h2 in zip(hp, fm, hm)]
    assert grid_quantum([], 0.0, [steps]) == 1.0


def test_the_grid_does_not_depend_on_the_number_type_of_the_ladder_s_rows():
    """A pair that returns float32 numbers (an f computed in float32, at float32 points) gives
    the same grid as the same numbers given as Python floats: the spans are taken in float64."""
    x0, q = np.float32(0.3), np.float32(1e-3)

    def f(x):
        return np.float32(q * np.round(x / np.float32(1e-2)))  # slope 0.1, steps of q

    def pair(h):
        up, down = np.float32(x0 + np.float32(h)), np.float32(x0 - np.float32(h))
        return f(up), f(down), np.float32(up - x0), np.float32(x0 - down)

    f0 = float(f(x0))
    rows = run_ladder(pair, f0, ladder_steps(1.0), 0.0).values
    assert isinstance(rows[0][0], np.float32)
    plain = [tuple(float(v) for v in row) for row in rows]
    q64 = grid_quantum([], f0, [plain])
    assert q64 > 0
    assert grid_quantum([], f0, [rows]) == q64


# -- with_ladders: raising the noise to the grid's -------------------------------------------------
def _noise(level, **kw):
    return Noise(level=level, measured=False, f_scale=1.0, evaluations=7, **kw)


def test_the_ladders_grid_raises_the_noise_to_its_rounding():
    rows, f0 = _staircase(0.3)
    q = grid_quantum([], f0, [rows])
    level = q / math.sqrt(12)
    low = _noise(level / 1.5)  # below the grid's level by more than 10%: raised
    raised = with_ladders(low, f0, [rows])
    assert raised.level == level and raised.quantum == q and raised.measured is True
    assert (raised.f_scale, raised.evaluations) == (1.0, 7)
    # within 10% of the grid's level (the same grid, refit): left as it is, up to the edge
    for near in (level, level / 1.05, level / 1.1):
        kept = _noise(near)
        assert with_ladders(kept, f0, [rows]) is kept
    edge = level / 1.1
    assert 1.1 * edge == level  # exactly at the edge
    past = _noise(float(np.nextafter(edge, 0.0)))
    assert with_ladders(past, f0, [rows]).level == level


def test_noise_of_a_still_f_or_of_no_finite_level_is_not_raised():
    """A still f (it never moved on the noise lines) keeps its rounding level, whatever grid
    the ladders show; so does a noise that is not a number."""
    rows, f0 = _staircase(0.3)
    assert with_ladders(_noise(1e-9), f0, [rows]).level > 1e-9  # the grid is there to see
    still = _noise(1e-9, still=True)
    assert with_ladders(still, f0, [rows]) is still
    unknown = _noise(math.nan)
    assert with_ladders(unknown, f0, [rows]) is unknown


# -- the tableau: which entry is kept, and its error bound -------------------------------------
H0 = 0.5  # the first step of the ladders below (ladder_steps(1.0))


def _amplification(power, spread, order):
    """The noise bound's factor at an order of the tableau: each Richardson level
    (c T(h) - T(2h)) / (c - 1), c = 2^(power k), multiplies the noise over its finer step h by
    c / (c - 1) from T(h) plus 1 / (c - 1) from T(2h), whose noise over h is half its own."""
    factor = spread
    for k in range(1, order + 1):
        c = 2.0 ** (power * k)
        factor *= (c + 0.5) / (c - 1)
    return factor


def test_an_extrapolated_estimate_s_error_is_the_noise_through_its_formula():
    """phi = t + t^3 + t^4: the central difference is exact after one Richardson level (at the
    third step, the first with a coarser neighbour at that order), the one-sided ones after
    three (at the fifth step); with noise s the bounds are s x amplification / step."""
    noise = 1e-6
    phi = lambda t: t + t**3 + t**4  # noqa: E731
    lad = run_ladder(lambda h: (phi(h), phi(-h), h, h), 0.0, ladder_steps(1.0), noise)
    assert lad.central.step == H0 / 4
    assert lad.central.value == pytest.approx(1.0, abs=1e-12)
    assert lad.central.error == pytest.approx(
        noise * _amplification(2, 1.0, 1) / (H0 / 4), rel=1e-6, abs=0
    )
    for side in (lad.right, lad.left):
        assert side.step == H0 / 16
        assert side.value == pytest.approx(1.0, abs=1e-9)
        assert side.error == pytest.approx(
            noise * _amplification(1, 2.0, 3) / (H0 / 16), rel=1e-6, abs=0
        )


def test_the_first_step_is_never_kept_and_ties_keep_the_coarser_step():
    """An entry needs a coarser neighbour to bound its change; a line's differences are exact
    at every step, so the noise bound alone decides (the first usable step is the second), and
    without noise every bound is 0 and the first entry found is kept."""
    line = lambda t: 1.0 + t  # noqa: E731
    for noise, error in ((1e-6, 1e-6 / (H0 / 2)), (0.0, 0.0)):
        lad = run_ladder(lambda h: (line(h), line(-h), h, h), 1.0, ladder_steps(1.0), noise)
        assert (lad.central.value, lad.central.step) == (1.0, H0 / 2)
        assert lad.central.error == pytest.approx(error, rel=1e-12, abs=0)
        # the noise reaches a one-sided difference twice, the jump R - L four times
        assert lad.right.error == pytest.approx(2 * error, rel=1e-12, abs=0)
        assert lad.jump_all.error == pytest.approx(4 * error, rel=1e-12, abs=0)


def test_the_jump_that_confirms_a_kink_comes_from_the_finest_rows():
    """``jump`` is read from the last four rows, ``jump_all`` from every row: with noise, a
    smooth phi's best jump estimate overall is at a coarse step; on a ladder of four steps the
    two are the same."""
    noise = 1e-6
    lad = run_ladder(_pair_of(np.exp), 1.0, ladder_steps(1.0), noise)
    fine = ladder_steps(1.0)[-4]
    assert lad.jump.step <= fine < lad.jump_all.step
    # a line: every jump is 0, so the coarsest row with a neighbour has the smallest bound
    short = run_ladder(_pair_of(lambda t: 1.0 + t), 1.0, ladder_steps(1.0, H0, 4), noise)
    assert short.jump == short.jump_all and short.jump.step == H0 / 2


def _pair_of(phi, gaps=()):
    return lambda h: (math.nan, math.nan, h, h) if h in gaps else (phi(h), phi(-h), h, h)


def test_a_gap_in_the_ladder_restarts_the_extrapolation():
    """A step where phi is not finite is skipped: the differences on either side are not at
    halving steps, so nothing is extrapolated across the gap (phi = t + 1e6 t^3: mixing the
    differences at 4h and h as if they were at 2h and h is off by 4e6 h^2), and the estimate
    just before the gap keeps its sharp bound."""
    phi = lambda t: t + 1e6 * t**3  # noqa: E731
    steps = ladder_steps(1.0, 1e-4, 10)
    gap = run_ladder(_pair_of(phi, gaps=(steps[3],)), 0.0, steps, 1e-12)
    assert gap.finite and len(gap.values) == 9
    for e in (gap.central, gap.right, gap.left):
        assert abs(e.value - 1.0) <= e.error < 1e-5
    assert gap.central.step == steps[2] and gap.central.error < 1e-7


def test_steps_are_extrapolated_across_only_when_they_halve():
    """Halving means to 1e-9 of the step, that tolerance included; steps 2.5 apart are never
    extrapolated across: every row starts afresh and has no neighbour to bound its change."""
    noise = 1e-6
    phi = lambda t: t + t**3  # noqa: E731
    h = 0.2623892214614898  # the larger step is 2 h + 1e-9 h, to the last bit
    first = 0.5247784431853688
    assert abs(first - 2 * h) == 1e-9 * h
    steps = np.array([first, h, h / 2, h / 4, h / 8])
    lad = run_ladder(_pair_of(phi), 0.0, steps, noise)
    assert lad.central.step == h / 2  # one Richardson level, with the first step as neighbour
    assert lad.central.value == pytest.approx(1.0, abs=1e-8)
    apart = run_ladder(_pair_of(phi), 0.0, np.array([1.0, 0.4, 0.16, 0.064, 0.0256]), noise)
    assert apart.finite and len(apart.values) == 5
    for e in (apart.central, apart.right, apart.left, apart.jump):
        assert math.isnan(e.value) and e.error == math.inf


def test_possible_jump_is_infinite_when_no_jump_was_estimated():
    nowhere = run_ladder(_pair_of(lambda t: math.nan), 0.0, ladder_steps(1.0), 0.0)
    assert nowhere.possible_jump(3.0) == math.inf


def test_second_differences_count_as_evidence_of_a_grid_only_beyond_rounding():
    """A noise line of f = 1 - i q (q = 2^-36) whose four second differences are d: a line's
    are 0, so only d is evidence of a grid; it counts when it exceeds the rounding floor,
    8 x (8 ulps of f's size 1), and then the grid is found."""
    q, floor = 2.0**-36, 64 * EPS

    def line(d):
        offsets = [0.0, 0.0]
        for second in (d, d, d, d, 0.0):
            offsets.append(second + 2 * offsets[-1] - offsets[-2])
        return 1.0 - q * np.arange(7) + np.array(offsets)

    assert np.all(np.diff(line(floor), 2)[:4] == floor)
    assert grid_quantum([line(floor)], 1.0) == 0.0
    assert grid_quantum([line(1.0625 * floor)], 1.0) == pytest.approx(q, rel=0.01, abs=0)
    # a ladder's evidence (whole quanta across) finds the grid beside a table at the floor
    rows = [(1.0 - q * h, 1.0 - q, h, h) for h in (8.0, 4.0, 2.0, 1.0)]
    assert grid_quantum([line(floor)], 1.0, [rows]) == pytest.approx(q, rel=0.01, abs=0)
    # the floor follows f's size: the same line times 1024
    assert grid_quantum([1024 * line(floor)], 1024.0) == 0.0
    big = grid_quantum([1024 * line(1.0625 * floor)], 1024.0)
    assert big == pytest.approx(1024 * q, rel=0.01, abs=0)


def test_the_grid_of_a_float32_table_is_read_in_float64():
    """A quantised f computed in float32, its values across 0: the differences are taken in
    float64, so the grid is the same as for the very same values given in float64."""
    table = np.float32(0.1) * np.array([-3, -1, 0, 2, 3, 6, 7], dtype=np.float32)
    wide = table.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without a warning
        assert grid_quantum([wide], 0.0) > 0
        assert grid_quantum([table], 0.0) == grid_quantum([wide], 0.0)


def test_the_coarsest_grid_that_fits_is_the_quantum_even_nine_fine_steps_wide():
    """Values on a grid of 9 q, one of them a fine step q off it: every value sits on the
    fine grid q too, and on the coarse one within its slack (q / 9 q < 1/8). Coarser grids
    are sought above 8 fine steps, so the coarse grid is found and reported."""
    q = 2.0**-20
    line = 1.0 - 9 * q * np.array([0, 0, 0, 2, 5, 5, 8]) - q * np.array([1, 0, 0, 0, 0, 0, 0])
    assert grid_quantum([line], 1.0) == 9 * q
    assert grid_quantum([line[:3]], 1.0) == 0.0  # no second difference of whole quanta


@pytest.mark.parametrize("slack", [0.125, 0.125 + 8 * EPS * 2.0**20])
def test_a_value_off_its_grid_by_the_slack_still_sits_on_it(slack):
    """The slack is GRID_SLACK = 1/8 of a quantum plus the rounding of the values (8 ulps of
    f's size 1): a value that far off the grid q leaves q the quantum, refit."""
    q = 2.0**-20
    line = 1.0 - q * np.array([0.0, 1, 5, 8, 12, 15, 18])
    line[6] += slack * q
    assert grid_quantum([line], 1.0) == pytest.approx(q, rel=0.01, abs=0)


def test_the_noise_floor_is_float64_whatever_the_steps_dtype():
    """Steps of a float32 point may come as float32: the floor is still computed in float64,
    the same as for the very same steps in float64 (in the still case as well)."""
    steps32 = np.array([0.5, 0.1, 3e-3], dtype=np.float32)
    for noise in (Noise(1e-7, True, 1.0, 0), Noise(1e-16, False, 1.0, 0, still=True)):
        tol = Tolerance.choose(EPS, noise, 4.0, resolved_scale=3.0)
        floor = tol.floor(steps32, np.float32(0.5))
        assert floor.dtype == np.float64
        np.testing.assert_array_equal(floor, tol.floor(steps32.astype(np.float64), 0.5))


def test_the_noise_floor_of_an_entry_without_an_estimate_is_a_number():
    """An entry whose ladder found no estimate has an infinite step; with an infinite noise
    (an f that moved only at the largest steps) that is infinity over infinity, which must
    neither warn nor reach the floor (1e-7 of the slope resolved caps it)."""
    steps = np.array([math.inf, 0.5])
    unknown = Tolerance.choose(EPS, Noise(math.inf, True, 1.0, 0), 1.0, resolved_scale=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(unknown.floor(steps, math.inf), [2e-7, 2e-7])
    # nothing known at all (infinite noise and step, no number for the slope): no floor
    nothing = Tolerance.choose(EPS, Noise(math.inf, True, 1.0, 0), 1.0, resolved_scale=math.nan)
    assert nothing.floor(math.inf, math.inf) == 0.0


def test_a_still_f_s_noise_floor_is_the_same_for_every_step():
    """A still f's floor is an absolute tolerance, atol for a unit slope, even at the infinite
    step of an entry without an estimate."""
    still = Tolerance.choose(EPS, Noise(1e-16, False, 1.0, 0, still=True), 1.0)
    floor = still.floor(np.array([[math.inf, 0.5, 1e-3]]), 0.5)
    np.testing.assert_array_equal(floor, np.full((1, 3), 100 * EPS))


# -- run_ladder: which steps count ---------------------------------------------------------------
def test_a_ladder_with_no_usable_step_knows_nothing():
    nowhere = run_ladder(_pair_of(lambda t: math.nan), 0.0, ladder_steps(1.0), 0.0)
    for e in (nowhere.central, nowhere.right, nowhere.left, nowhere.jump, nowhere.jump_all):
        assert math.isnan(e.value) and e.error == math.inf
    assert nowhere.finite is False and nowhere.values == ()


def test_a_step_rounded_away_on_either_side_is_skipped():
    """x + h may round back to x (a step below the point's resolution): a pair whose step
    actually taken is 0 on either side holds no difference and is skipped."""
    for side in (0, 1):

        def pair(h, side=side):
            taken = [h, h]
            if h < 0.01:
                taken[side] = 0.0
            return (np.exp(taken[0]), np.exp(-taken[1]), *taken)

        lad = run_ladder(pair, 1.0, ladder_steps(1.0), 0.0)
        assert len(lad.values) == 6  # 0.5 down to 2^-6 = 0.0156
        assert all(row[2] > 0 and row[3] > 0 for row in lad.values)
        assert lad.central.value == pytest.approx(1.0, rel=1e-6, abs=0)


def test_two_usable_pairs_are_a_derivative_and_good_enough_sees_a_finite_ladder():
    phi = lambda t: math.sqrt(t + 0.1) if t > -0.1 else math.nan  # noqa: E731
    twice = run_ladder(_pair_of(phi), math.sqrt(0.1), ladder_steps(1.0, 0.16, 3), 0.0)
    assert len(twice.values) == 2 and twice.finite is True
    seen = []
    run_ladder(_pair_of(np.exp), 1.0, ladder_steps(1.0), 0.0, good_enough=seen.append)
    assert len(seen) == 12 - 3 and all(lad.finite is True for lad in seen)


# -- the noise of f ------------------------------------------------------------------------------
def test_the_noise_of_a_small_f_is_read_at_its_own_scale():
    """ECnoise on values of size 1e-8 with a noise of 1e-12: first differences of 1e-12 are
    far above the rounding of such values, so they are noise, not repeats."""
    rng = np.random.default_rng(0)
    sigma = 1e-12

    def along(line, delta):
        return 1e-8 + sigma * rng.standard_normal(7)

    noise = estimate_noise(along, [0, 1, 2], 1e-8, EPS)
    assert noise.measured and not noise.still
    assert sigma / 3 < noise.level < 3 * sigma


def _one_table(steps_in_ulps):
    """estimate_noise on a line that shows the same table at every spacing: f(x) = 1, then
    down by the given numbers of ulps of 1 (f's size stays 1)."""
    table = 1.0 - EPS * np.concatenate([[0.0], np.cumsum(steps_in_ulps)])
    table -= table.max() - 1.0
    assert table.max() == 1.0
    return estimate_noise(lambda line, delta: table.copy(), [0], 1.0, EPS)


def test_first_differences_within_rounding_are_repeats():
    """A first difference is rounding when it is at most 2 x 8 ulps of f's size (each value
    off by 8 ulps). Half the table within that: f repeats, and the noise is half the smallest
    real change (a step of exactly 16 ulps is a repeat, not a change)."""
    repeats = _one_table([-20, 0, 0, -20, 0, -16])
    assert repeats.level == 0.5 * 20 * EPS
    # changes of 20 ulps are beyond rounding: ECnoise reads the table, not the repeat rule
    # (which would give half the smallest change above 20 ulps, 16 ulps)
    changes = _one_table([200, 64, 32, 20, 20, 0])
    assert changes.measured and changes.level < 0.5 * 32 * EPS
    # two first differences of six are zero: fewer than half, so f does not repeat and its
    # noise shows at the closest spacing already (7 evaluations)
    noisy = _one_table([300, 0, -300, 0, 300, -300])
    assert noisy.measured and noisy.evaluations == 7
    assert noisy.level > 0.5 * 300 * EPS  # above what the repeat rule would make of it
    # three of six: half the table repeats, at every spacing
    half = _one_table([300, 0, -300, 0, 0, 300])
    assert half.evaluations == 4 * 7 and half.level == 0.5 * 300 * EPS
    # f only ever falls (two flat steps, fewer than half): its first differences never change
    # sign, a trend rather than noise, so ECnoise reads the noise from the second ones
    falling = _one_table([300, 0, 300, 300, 0, 300])
    assert falling.evaluations == 7 and falling.level < 0.5 * 300 * EPS
    rising = _one_table([-300, 0, -300, -300, 0, -300])  # the same, rising
    assert rising.evaluations == 7 and rising.level < 0.5 * 300 * EPS
    # f moves by an ulp at most: every change is rounding, no noise above the rounding floor
    rounding = _one_table([1, -1, 1, 0, 0, -1])
    assert not rounding.measured and rounding.level == 0.5 * EPS


def test_float32_rounding_steps_are_not_noise_at_any_spacing():
    """f computed in float32 (sin at a float32 point near 0.3): at every spacing tried its
    values step by a few float32 ulps, within float32 rounding of a first difference, so no
    spacing shows noise and each passes on to the next: all four spacings on all three lines
    (the level then comes from those steps). No warning on the way."""

    def along(line, delta):
        x = np.float32(0.3) + np.float32(delta * (line + 1)) * np.arange(-3, 4, dtype=np.float32)
        return np.sin(x).astype(np.float64)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise = estimate_noise(along, [0, 1, 2], float(np.sin(np.float32(0.3))), EPS)
    assert noise.float32_values and noise.measured
    assert noise.evaluations == 3 * 4 * 7


def test_ecnoise_reads_noise_only_where_three_orders_agree():
    """A smooth trend is signal: its sigma_k do not agree within a factor 4 over three orders
    at any spacing, so no noise is read (the level stays at the rounding floor). A table whose
    differences agree only at the highest orders (3 to 5) is read there."""
    trend = _one_table([12, 70, 113, 83, -102, -515])
    assert trend.evaluations == 4 * 7 and trend.level == 0.5 * EPS
    late = _one_table([-22, -104, -270, -520, -869, -1313])
    assert late.measured and late.level > 0.5 * EPS


@pytest.mark.parametrize(
    "offsets, spacings",
    [
        # noise of a billionth of the steps (QUANTUM_SILENCE): too regular at every spacing
        (
            [
                -9960813438465,
                -8300677865407,
                -6640542292316,
                -4980406719324,
                -3320271146066,
                -1660135573261,
                0,
            ],
            4,
        ),
        # noise within 2^(k+1) x 8 ulps at the order k+1 read: too regular at every spacing
        ([-715654800, -596378996, -477103201, -357827402, -238551602, -119275808, 0], 4),
        # noise beyond that bound: shows at the closest spacing
        ([-353548402, -294623691, -235698917, -176774196, -117849495, -58924730, 0], 1),
    ],
)
def test_noise_too_small_for_a_line_s_steps_is_hidden(offsets, spacings):
    """A line of f plus tiny noise (values 1 + offsets ulps): where the differences at the
    order ECnoise reads are within rounding (2^order x 8 ulps, or a billionth of the largest
    step), the spacing is too small to show noise and the next is tried."""
    table = 1.0 + EPS * np.array(offsets, dtype=float)
    noise = estimate_noise(lambda line, delta: table.copy(), [0], 1.0, EPS)
    assert noise.evaluations == spacings * 7


def test_noise_that_shows_at_a_larger_spacing_counts_below_the_steps_seen_closer():
    """The closest spacing is too regular (noise a billionth of its steps, which bound the
    noise); the next shows noise well below those steps: that noise is f's."""
    regular = 1.0 + EPS * np.array(
        [-9960813438465, -8300677865407, -6640542292316, -4980406719324, -3320271146066,
         -1660135573261, 0], dtype=float
    )  # fmt: skip
    noisy = 1.0 - EPS * np.cumsum([0, 300, 0, -300, 0, 300, -300])
    closest = float(np.min(EPS ** (1 / 3) * np.array([1e-2, 1.0, 1e2, 1e4])))

    def along(line, delta):
        return (regular if delta == closest else noisy).copy()

    noise = estimate_noise(along, [0], 1.0, EPS)
    assert noise.evaluations == 2 * 7
    # ECnoise's reading at the first order, sigma_1 = sqrt(gamma_1 mean(D f^2)), gamma_1 = 1/2
    sigma_1 = math.sqrt(0.5 * np.mean(np.diff(noisy) ** 2))
    assert noise.measured and noise.level == pytest.approx(sigma_1, rel=1e-12, abs=0)
