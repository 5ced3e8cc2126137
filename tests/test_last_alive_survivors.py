"""The last survivors of checkgrad, numerical and fdpolicy that earlier rounds left alive.

Two kinds. Boundaries at exact float equality (``<`` against ``<=``): each test builds inputs
whose compared quantities are equal to the last bit, asserts the side the documented rule
gives, and just past it (one bit, where the formula allows) the other side. Second looks the
reference takes (a grid only the direction ladders see, the progress bar of the second pass,
which entries and directions get a finer ladder): each test builds the smallest f that shows
the documented behaviour.
Private helpers are called only where the public path cannot build an equality to the bit.
"""

import hashlib
import math

import numpy as np

from backproof.compare import check_grad
from backproof.compare.checkgrad import Reference, _precision_notes, _prefer
from backproof.compare.fdpolicy import (
    CONFIDENCE,
    LADDER_LENGTH,
    LADDER_START,
    Estimate,
    LadderResult,
    Noise,
    Tolerance,
    classic_step,
    combine,
    estimate_noise,
)
from backproof.compare.numerical import Problem, Structure, choose_eval_dtype

EPS64 = float(np.finfo(np.float64).eps)


def _up(x: float) -> float:
    return float(np.nextafter(x, math.inf))


def _down(x: float) -> float:
    return float(np.nextafter(x, -math.inf))


# -- numerical.choose_eval_dtype: the two estimates agree at exactly the threshold ---------------
def _step_f(level: float, quantum: float, reach: float):
    """f = level, plus ``quantum`` once x[0] has moved more than ``reach`` up (minus it down):
    flat at the float64-sized probe step, one jump at the float32-sized Richardson steps."""

    def f(x):
        t = float(np.asarray(x, dtype=np.float64)[0]) - 0.5
        return level + (quantum if t > reach else -quantum if t < -reach else 0.0)

    return f


def test_float64_is_chosen_when_the_estimates_differ_by_exactly_the_threshold():
    """choose_eval_dtype: the two estimates agree, and float64 is chosen, when
    |fine - coarse| <= 1e-6 max(|fine|, |coarse|) + 1e-12 max(|f(x)|, 1e-300), equality
    included. The f below is flat at the central
    probe (fine = 0) and jumps by 2q across the Richardson probe's steps, whatever sign the
    seeded direction has, so coarse is the documented Richardson formula on the values
    (level ± q) and does not depend on the level; the level (f(x)) moves the threshold alone.
    Among the floats near 1e12 |coarse| one level puts the threshold on |coarse| to the bit:
    float64 there, float32 one float lower."""
    q = 1.0
    h = classic_step("richardson", np.finfo(np.float32).eps)
    coarse = abs(float(combine("richardson", h, 0.0, [q, -q, q, -q], EPS64)[0]))

    def threshold(level):
        return 1e-6 * coarse + 1e-12 * max(abs(level), 1e-300)

    level = (coarse - 1e-6 * coarse) / 1e-12
    for _ in range(2000):
        level = _down(level)
    exact = []
    for _ in range(4000):
        level = _up(level)
        if threshold(level) == coarse:
            exact.append(level)
    assert exact, "no level puts the threshold exactly on the estimates' difference"
    level = exact[0]
    assert threshold(_down(level)) < coarse
    x = np.array([0.5], dtype=np.float32)
    structure = Structure(x)
    x0 = structure.flatten(x)
    # the jump sits between the float64 step (~6e-6) and the float32 ones (~9e-3, ~2e-2),
    # times the seeded direction's size (0.13 here; anything from 0.004 to 4 would do)
    at = _step_f(level, q, 3e-5)
    assert choose_eval_dtype(at, structure, x0, level) == np.float64
    below = _step_f(_down(level), q, 3e-5)
    assert choose_eval_dtype(below, structure, x0, _down(level)) == np.float32


# -- fdpolicy: ECnoise accepts three orders that agree within exactly a factor of 4 ---------------
def _sigmas(values: np.ndarray) -> list[float]:
    """ECnoise's sigma_k = sqrt(gamma_k mean(D^k f ^ 2)), gamma_k = (k!)^2 / (2k)!."""
    out, diffs = [], values.astype(np.float64)
    for k in range(1, values.size):
        diffs = np.diff(diffs)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        out.append(math.sqrt(gamma * float(np.mean(diffs**2))))
    return out


def test_noise_is_read_where_three_orders_agree_within_exactly_a_factor_of_4():
    """estimate_noise (ECnoise): "noise is accepted at the first order where three
    consecutive sigma_k agree within a factor 4 (the largest at most 4 times the smallest)
    and the differences change sign". This table's sigma_1..3 are 1, 0.516.., 0.25: the
    largest exactly 4 times the smallest, so the level is sigma_1 = 1 (not sigma_2, read
    one order later); the same table with f_0 moved by 1e-6 (a factor a little past 4) is
    read at order 2."""
    values = np.array([-1.0, 0.0, 0.0, -1.0, -1.0, 0.0, 3.0])
    s = _sigmas(values)
    assert max(s[:3]) == 4 * min(s[:3]) and s[0] == 1.0  # exactly the boundary
    noise = estimate_noise(lambda line, delta: values, [0], 0.0, EPS64)
    assert noise.level == s[0]
    # one order later the three agree within 2.5: that is where a factor past 4 reads it
    assert max(s[1:4]) < 2.5 * min(s[1:4]) and s[1] != s[0]
    past = values.copy()
    past[0] -= 1e-6  # sigma_1 a little above 1, sigma_3 a little below 0.25
    assert max(_sigmas(past)[:3]) > 4 * min(_sigmas(past)[:3])
    assert estimate_noise(lambda line, delta: past, [0], 0.0, EPS64).level == _sigmas(past)[1]


# -- checkgrad.Reference: a ladder's jump exactly at its error bar shows no kink ------------------
def _ladder(jump_all: Estimate) -> LadderResult:
    smooth = Estimate(1.0, 0.01, 0.1)
    no_jump = Estimate(0.0, 1.0)
    return LadderResult(smooth, smooth, smooth, no_jump, True, jump_all, 0.1)


def test_a_jump_exactly_at_its_error_bar_bounds_the_kink_the_ladder_did_not_see():
    """Reference.kink_free: a ladder whose jump over every row is within its error bar
    (|jump| <= k err, the complement of LadderResult.kink's "beyond") excludes any kink
    larger than k err; a jump beyond it excludes none (inf)."""
    k = CONFIDENCE
    at = Reference.from_ladders([_ladder(Estimate(3.0, 1.0))], k)
    assert 3.0 == k * 1.0 and at.kink_free[0] == k * 1.0
    past = Reference.from_ladders([_ladder(Estimate(_up(3.0), 1.0))], k)
    assert past.kink_free[0] == math.inf


# -- checkgrad._prefer: the boundaries of "the fail stands" and of "straddles the kink" -----------
def _ref(est, err, *, low=None, high=None, kink=False, kink_free=math.inf) -> Reference:
    """A one-entry Reference; low/high default to the estimate (no kink)."""
    low = est if low is None else low
    high = est if high is None else high

    def one(v, dtype=float):
        return np.array([v], dtype=dtype)

    return Reference(
        one(est),
        one(err),
        one(low),
        one(high),
        one(err),
        one(err),
        one(kink, bool),
        one(True, bool),
        one(1.0),
        one(1.0),
        one(0.0),
        one(kink_free),
    )


# atol 1 and nothing else: every entry's tolerance is exactly 1
TOL = Tolerance(rtol=0.0, atol=1.0, noise_floor=0.0, eps=EPS64)
MASK = np.array([True])


def test_a_first_fail_stands_only_beyond_twice_the_kink_it_could_not_exclude():
    """_prefer: a first ladder's "fail" stands against an inconclusive second ladder only
    when |g - g~| is more than twice the largest kink's jump the first ladder could not
    exclude (kink_free): at exactly twice it, a kink could explain the disagreement and the
    second ladder's reference (inconclusive) is taken; just past it, the fail stands."""
    first = _ref(0.0, 0.1, kink_free=1.0)  # g = 2: |2 - 0| > 1 + 3 x 0.1, a fail
    second = _ref(0.0, 1.0)  # |2 - 0| within 1 +- 3: inconclusive
    at = _prefer(first, MASK, second, np.array([2.0]), TOL)
    assert at.error[0] == 1.0  # the second ladder's: the fail does not stand
    past = _prefer(first, MASK, second, np.array([_up(2.0)]), TOL)
    assert past.error[0] == 0.1  # the first ladder's fail stands


def test_a_finer_estimate_straddles_a_kink_only_more_than_a_tenth_inside_its_interval():
    """_prefer: a second ladder that fails an entry the first passed by a kink's interval
    [low, high] refutes nothing when its estimate lies more than STRADDLE (a tenth) of the
    width inside the interval (it differenced across the kink): its error bounds become
    inf. At exactly a tenth from either end it is not inside: its reference stands as is."""
    first = _ref(5.0, 0.01, low=0.0, high=10.0, kink=True)  # g = 5 inside: a pass by the kink
    g = np.array([5.0])
    for end, inside in ((1.0, _up(1.0)), (9.0, _down(9.0))):
        assert 0.1 * (10.0 - 0.0) == 1.0  # the tenth of the width, exactly
        at = _prefer(first, MASK, _ref(end, 0.001), g, TOL)  # |5 - end| = 4: a fail
        assert at.estimate[0] == end and at.error[0] == 0.001
        assert at.low_error[0] == at.high_error[0] == 0.001
        straddles = _prefer(first, MASK, _ref(inside, 0.001), g, TOL)
        assert straddles.estimate[0] == inside and straddles.error[0] == math.inf
        assert straddles.low_error[0] == straddles.high_error[0] == math.inf


# -- checkgrad._precision_notes: a noise of exactly 100 ulps is not "lower precision" -------------
def test_the_lower_precision_note_needs_a_noise_above_100_ulps():
    """LOWER_PRECISION: "f's noise above this many ulps of the evaluation dtype: lower
    inside". A relative noise of exactly 100 eps (float64) is not above it: no note; one
    float more is, and the note names the precision assumed."""
    problem = Problem.build(lambda x: float(x @ x), np.ones(2), "richardson", None)
    tol = Tolerance(rtol=1e-7, atol=0.0, noise_floor=0.0, eps=EPS64)
    at = Noise(100 * EPS64, True, 1.0, 0)
    assert at.precision(EPS64) == 100 * EPS64
    assert not any("lower precision" in n for n in _precision_notes(problem, at, tol))
    above = Noise(_up(100 * EPS64), True, 1.0, 0)
    notes = _precision_notes(problem, above, tol)
    assert any("f computes in a lower precision inside than float64" in n for n in notes)


# -- check_grad: a grid only the direction ladders see; the second pass's progress bar ------------
def _grid_f(n: int, q: float, radius: float):
    """f = q round(s / q), s = sum_i d_i d_(i+1) with d = x - x0 (cyclic): constant along
    every entry (s moves only when two neighbours do), on a grid of q along a direction that
    moves them all; nan beyond ``radius`` of x0, which the noise lines' widest spacings
    leave (so they see at most a step or two of the grid, never four second differences)."""
    x0 = np.zeros(n)

    def f(x):
        d = np.asarray(x, dtype=np.float64) - x0
        if np.linalg.norm(d) > radius:
            return math.nan
        return q * round(float(d @ np.roll(d, 1)) / q)

    return x0, f


def test_a_grid_that_only_the_direction_ladders_see_raises_the_noise():
    """check_grad, step 4: "when the ladders' values show a grid the noise lines missed
    (fdpolicy.with_ladders), the noise is raised to the grid's and the reference taken
    again": the level of a grid of q is q / sqrt(12). Here the noise lines (at most a step
    of the grid each, before f turns nan) and the entries' ladders (f constant along an
    entry) see no grid; the three random directions of the fast check do."""
    q = 1e-3
    x0, f = _grid_f(201, q, 5.0)
    report = check_grad(f, np.zeros_like, x0, full=False)
    assert report.mode == "fast" and report.params["x"].directions_checked == 3
    assert math.isclose(report.noise, q / math.sqrt(12), rel_tol=1e-12)
    alone = check_grad(f, np.zeros_like, x0, full=False, directions=0)  # the entries alone
    assert alone.noise < 1e-6 * q


def test_the_second_pass_over_the_entries_shows_its_own_progress_bar(capsys):
    """check_grad(progress=True) with more than 200 entries: a bar over the entries' ladders;
    when the ladders show a grid and the reference is taken again, that pass has its bar too
    (two bars, each starting at 0 of the 201 entries)."""
    q = 1e-3
    x0, f = _grid_f(201, q, 5.0)
    report = check_grad(f, np.zeros_like, x0, full=False, samples=201, progress=True)
    assert math.isclose(report.noise, q / math.sqrt(12), rel_tol=1e-12)  # taken again
    err = capsys.readouterr().err
    assert err.count("check_grad:   0%|") == 2 and err.count(" 0/201 [") == 2


# -- check_grad: which entries and directions get a second, finer ladder --------------------------
def _hash_noise(x: np.ndarray, level: float) -> float:
    """A deterministic noise of f (uniform in [-level/2, level/2]) from x's bytes."""
    digest = hashlib.blake2b(np.asarray(x, dtype=np.float64).tobytes(), digest_size=8).digest()
    return level * (int.from_bytes(digest, "little") / 2**64 - 0.5)


def test_every_entry_not_passed_gets_a_finer_ladder_below_the_first():
    """check_grad (``_shrink_unsettled``): "every entry that the first ladder could not
    certify gets a second ladder continuing below its smallest step" (0.5 max(|x_i|, 1) /
    2^11). A noisy sin at |x| of 30 and 40: the entries the report does not pass were each
    evaluated, that entry alone moved, closer to x than the first ladder ever goes. The noise
    lines move every entry at once, so such points are the second ladder's. The first
    ladder's tolerance has its noise floor over that entry's largest step, 0.5 max(|x_i|, 1)
    (the one the report judges with), not over 0.5."""
    x0 = np.array([30.0, -40.0])
    smallest = LADDER_START * np.maximum(np.abs(x0), 1.0) / 2 ** (LADDER_LENGTH - 1)
    for level, options in ((1e-4, {}), (1e-5, {"rtol": 0.0, "atol": 0.0})):
        points = []

        def f(x, level=level, points=points):
            points.append(np.array(x, dtype=np.float64))
            return float(np.sum(np.sin(x))) + _hash_noise(x, level)

        report = check_grad(f, np.cos, x0, **options)
        moved = np.array(points) - x0
        alone = np.count_nonzero(moved, axis=1) == 1
        not_passed = [i for i, v in enumerate(report.params["x"].entry_verdicts) if v != "pass"]
        assert not_passed  # the noise leaves at least one entry unsettled
        for i in not_passed:
            finer = alone & (moved[:, i] != 0) & (np.abs(moved[:, i]) < smallest[i])
            assert np.any(finer), f"entry {i} ({report.params['x'].entry_verdicts[i]}) got none"


def test_a_direction_passed_only_by_a_kink_is_failed_by_its_finer_ladder():
    """A relu whose kink lies 1e-5 from x (closer than any step of the first ladder) and a
    gradient that takes its slope from the far side of the kink: along each random direction
    of the fast check, the first ladder sees a kink at x and passes g . v as one of its
    one-sided derivatives, by the direction's own tolerance (atol per unit of |v|: larger
    than an entry's). Such a pass is settled by the finer ladder (``_prefer``: "the second
    ladder confirms the kink or not"), which steps below the kink and fails it: the check
    fails, by its directions."""
    n = 10
    x0 = 0.3 + 0.05 * np.arange(n)
    kink = x0[0] + 1e-5

    def f(x):
        return float(max(x[0] - kink, 0.0) + np.sum(np.sin(x)))

    def far_side(x):
        return np.cos(x) + np.eye(n)[0]  # the slope of the relu above its kink; x is below

    report = check_grad(f, far_side, x0, full=False, rtol=0.0, atol=1e-3)
    p = report.params["x"]
    assert report.mode == "fast" and p.directions_checked == 3
    assert report.verdict == "fail"
    assert p.failures - sum(v == "fail" for v in p.entry_verdicts) == 3  # every direction


def test_the_grid_search_tries_only_candidates_above_its_floor_never_zero():
    """``_coarsest_grid`` tries the smallest non-zero candidate above 8 x rounding: with
    rounding 0 the floor is 0, and a 0 among the candidates is never tried as a grid (a grid of
    0 would divide the spans by zero). Spans 1, 2, 3 fit the grid 1 exactly."""
    from backproof.compare.fdpolicy import GRID_EVIDENCE, _coarsest_grid

    evidence = np.ones(GRID_EVIDENCE)
    spans = np.array([1.0, 2.0, 3.0])
    assert _coarsest_grid([np.array([0.0, 1.0, 2.0])], evidence, spans, 0.0) == 1.0


def test_a_grid_exactly_eight_times_the_floor_does_not_clear_it():
    """The first grid must be strictly above 8 x rounding. With rounding 1/8 the floor is 1:
    the candidate 1 + 1e-7 refits to exactly 1 on spans 1, 2, 3 (sum k d / sum k^2 = 14/14),
    which does not clear the floor, so no grid is found; a candidate refitting to 2 does."""
    from backproof.compare.fdpolicy import GRID_EVIDENCE, _coarsest_grid

    evidence = np.full(GRID_EVIDENCE, 3.0)  # above the first floor, below 8 x any grid found
    assert _coarsest_grid([np.array([1 + 1e-7])], evidence, np.array([1.0, 2.0, 3.0]), 0.125) == 0
    spans = np.array([2.0, 4.0, 6.0])
    assert _coarsest_grid([np.array([2 + 1e-7])], evidence, spans, 0.125) == 2.0
