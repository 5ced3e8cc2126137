"""The finite-difference policy's contract: the classic steps and formulas with their error
bounds and kink hint, the step ladder and what it learns, the noise of f and the tolerance."""

import math

import numpy as np
import pytest

from backproof.compare.fdpolicy import (
    COMPLEX_STEP,
    LADDER_LENGTH,
    LADDER_START,
    Estimate,
    LadderResult,
    Noise,
    Tolerance,
    classic_step,
    combine,
    default_steps,
    estimate_noise,
    ladder_steps,
    offsets,
    run_ladder,
    with_ladders,
)

EPS = float(np.finfo(np.float64).eps)


def test_the_classic_steps_balance_truncation_and_round_off():
    assert classic_step("central", EPS) == EPS ** (1 / 3)
    assert classic_step("richardson", EPS) == EPS ** (1 / 4)
    assert classic_step("complex", EPS) == COMPLEX_STEP == 1e-20
    x = np.array([0.5, -3.0, 0.0])
    scale = np.array([1.0, 3.0, 1.0])
    np.testing.assert_array_equal(default_steps(x, "central", EPS), EPS ** (1 / 3) * scale)
    np.testing.assert_array_equal(default_steps(x, "richardson", EPS), EPS**0.25 * scale)
    np.testing.assert_array_equal(default_steps(x, "complex", EPS), np.full(3, 1e-20))
    np.testing.assert_array_equal(default_steps(x, "complex", EPS, step=0.5), 0.5 * scale)
    np.testing.assert_array_equal(default_steps(x, "central", EPS, step=2), 2.0 * scale)


def test_the_points_each_method_evaluates():
    assert offsets("complex") == (1j,)
    assert offsets("central") == (1, -1)
    assert offsets("richardson") == (1, -1, 0.5, -0.5)


def _at(phi, method, h):
    return [phi(o * h) for o in offsets(method)]


def test_central_differences_and_their_round_off_bound():
    """D(h) = (phi(h) - phi(-h)) / 2h, exact for a quadratic; error 10 eps max|phi| / h."""
    phi = lambda t: 3.0 + 2.0 * t + 5.0 * t**2  # noqa: E731
    h = 0.25
    est, err, kink = combine("central", h, phi(0), _at(phi, "central", h), EPS)
    assert est == 2.0 and kink.dtype == np.bool_ and not kink
    assert err == pytest.approx(10 * EPS * phi(h) / h, rel=1e-15, abs=0)
    # a caller's rounding scale (larger numbers f cancelled) counts when it is the largest
    _, wider, _ = combine("central", h, phi(0), _at(phi, "central", h), EPS, rounding_scale=100)
    assert wider == pytest.approx(10 * EPS * (phi(0) + 100) / h, rel=1e-15, abs=0)


def test_richardson_cancels_h_squared_and_bounds_its_error():
    """R = (4 D(h/2) - D(h)) / 3 is exact for a cubic; its error is |R - D(h/2)| plus
    20 eps max|phi| / h."""
    phi = lambda t: 1.0 + t - 2.0 * t**2 + 4.0 * t**3  # noqa: E731
    h = 0.5
    values = _at(phi, "richardson", h)
    est, err, kink = combine("richardson", h, phi(0), values, EPS)
    d_half = (values[2] - values[3]) / h
    assert est == pytest.approx(1.0, rel=1e-15, abs=0) and not kink
    roundoff = 20 * EPS * max(abs(v) for v in values) / h
    assert err == pytest.approx(abs(est - d_half) + roundoff, rel=1e-12, abs=0)
    assert abs(est - d_half) == pytest.approx(4.0 * (h / 2) ** 2, rel=1e-12)


def test_the_kink_hint_of_richardson():
    """A smooth phi's second differences at h and h/2 scale as a(h) = 2 a(h/2); |t| at 0 does
    not (its second difference over h is 2 whatever h is)."""
    h = 0.1
    _, _, smooth = combine("richardson", h, 1.0, _at(np.cosh, "richardson", h), EPS)
    _, _, kinked = combine("richardson", h, 0.0, _at(abs, "richardson", h), EPS)
    assert not smooth and kinked
    # elementwise on arrays: one step and one set of values per entry
    hs = np.array([h, h])
    values = [np.array([np.cosh(o * h), abs(o * h)]) for o in offsets("richardson")]
    est, err, kink = combine("richardson", hs, np.array([1.0, 0.0]), values, EPS)
    assert kink.tolist() == [False, True] and est.shape == err.shape == (2,)


def test_the_complex_step_is_exact_to_rounding():
    h = COMPLEX_STEP
    est, err, kink = combine("complex", h, 1.0, [np.exp(1j * h) * 2.0], EPS)
    assert est == pytest.approx(2.0, rel=1e-15) and not kink
    assert err == 4 * EPS * abs(est)


def test_the_ladder_of_steps():
    steps = ladder_steps(2.0)
    assert steps.size == LADDER_LENGTH == 12
    np.testing.assert_array_equal(steps, LADDER_START * 2.0 / 2.0 ** np.arange(12))
    np.testing.assert_array_equal(ladder_steps(1.0, 0.25, 3), [0.25, 0.125, 0.0625])


def _pair(phi):
    return lambda h: (phi(h), phi(-h), h, h)


def test_a_ladder_on_a_smooth_function():
    lad = run_ladder(_pair(np.exp), 1.0, ladder_steps(1.0), 0.0)
    assert lad.finite and len(lad.values) == 12
    for e in (lad.central, lad.right, lad.left):
        assert abs(e.value - 1.0) <= e.error < 1e-8 and e.step in ladder_steps(1.0)
    assert not lad.kink(3.0) and abs(lad.jump.value) < 1e-6
    assert lad.sharpest() == min((lad.central, lad.right, lad.left), key=lambda e: e.error)
    assert lad.smallest_step == ladder_steps(1.0)[-1]
    assert lad.values[0] == (np.exp(0.5), np.exp(-0.5), 0.5, 0.5)


def test_a_ladder_on_a_kink_sees_both_sides():
    lad = run_ladder(_pair(lambda t: abs(t) + t), 0.0, ladder_steps(1.0), 0.0)
    assert lad.right.value == pytest.approx(2.0) and lad.left.value == pytest.approx(0.0)
    assert lad.kink(3.0) and lad.jump.value == pytest.approx(2.0)
    assert lad.possible_jump(3.0) == pytest.approx(2.0, rel=1e-6)


def test_a_ladder_stops_when_good_enough_but_never_before_four_steps():
    asked = []

    def good_enough(lad):
        asked.append(len(asked))
        return True

    lad = run_ladder(_pair(np.sin), 0.0, ladder_steps(1.0), 0.0, good_enough=good_enough)
    assert len(lad.values) == 4 and asked == [0]
    never = run_ladder(_pair(np.sin), 0.0, ladder_steps(1.0), 0.0, good_enough=lambda lad: False)
    assert len(never.values) == 12


def test_a_ladder_without_extrapolation_keeps_the_plain_differences():
    steps = ladder_steps(1.0, 0.5, 5)
    plain = run_ladder(_pair(np.exp), 1.0, steps, 0.0, extrapolate=False)
    d = {h: (np.exp(h) - np.exp(-h)) / (2 * h) for h in steps}
    assert plain.central.value == d[plain.central.step]
    assert abs(plain.central.value - 1.0) > 1e-4  # h^2 / 6 at h >= 1/32
    extrapolated = run_ladder(_pair(np.exp), 1.0, steps, 0.0)
    assert abs(extrapolated.central.value - 1.0) < 1e-7


def test_a_ladder_skips_steps_where_phi_is_not_finite():
    phi = lambda t: math.sqrt(t + 0.1) if t > -0.1 else math.nan  # noqa: E731
    lad = run_ladder(_pair(phi), math.sqrt(0.1), ladder_steps(1.0), 0.0)
    assert lad.finite and len(lad.values) == 9  # 0.5, 0.25 and 0.125 leave the domain
    assert lad.central.value == pytest.approx(0.5 / math.sqrt(0.1), rel=1e-6)
    nowhere = run_ladder(_pair(lambda t: math.nan), 0.0, ladder_steps(1.0), 0.0)
    assert not nowhere.finite and nowhere.values == () and math.isnan(nowhere.central.value)
    once = run_ladder(_pair(phi), math.sqrt(0.1), ladder_steps(1.0, 0.16, 2), 0.0)
    assert not once.finite and len(once.values) == 1  # one usable pair is not a derivative


def test_noise_reads_its_size_and_precision():
    noise = Noise(level=1e-6, measured=True, f_scale=2.0, evaluations=0)
    assert noise.relative() == 5e-7
    assert Noise(1e-6, True, 0.0, 0).relative() == 0.0
    eps32 = float(np.finfo(np.float32).eps)
    assert noise.precision(EPS) == eps32  # relative noise capped at float32's eps
    assert Noise(1e-20, True, 1.0, 0).precision(EPS) == EPS
    assert Noise(1e-20, True, 1.0, 0, float32_values=True).precision(EPS) == eps32


def test_the_noise_of_a_constant_f_is_its_rounding():
    noise = estimate_noise(lambda line, delta: np.full(7, 3.0), [0, 1, 2], 3.0, EPS)
    assert noise.still and not noise.measured and noise.level == 0.5 * EPS * 3.0
    assert with_ladders(noise, 3.0, [((3.0, 3.0, 0.5, 0.5),)]) is noise


def test_the_tolerance_and_its_noise_floor():
    noise = Noise(level=1e-17, measured=True, f_scale=1.0, evaluations=0)  # below eps
    tol = Tolerance.choose(EPS, noise, numerical_scale=4.0)
    assert tol.rtol == 7 * math.sqrt(EPS) and tol.atol == 100 * EPS * 4.0
    assert tol.noise_floor == 30 * 1e-17 and tol.confidence == 3.0 and not tol.still
    mine = Tolerance.choose(EPS, noise, 4.0, rtol=1e-3, atol=1e-9, resolved_scale=2.0)
    assert (mine.rtol, mine.atol, mine.resolved) == (1e-3, 1e-9, 2.0)
    # the floor: noise / step, at most the noise over the largest step (or 1e-7 of the
    # largest slope resolved, when one is), never more than 1e-2 of that slope
    assert tol.floor(0.5, 0.5) == pytest.approx(30e-17 / 0.5, rel=1e-15, abs=0)
    assert tol.floor(0.01, 0.5) == pytest.approx(30e-17 / 0.01, rel=1e-15, abs=0)
    bounded = Tolerance.choose(EPS, noise, 4.0, resolved_scale=1e-12)
    assert bounded.floor(0.01, 0.5) == pytest.approx(30e-17 / 0.5, rel=1e-15, abs=0)
    slope = Tolerance.choose(EPS, noise, 4.0, resolved_scale=1.0)
    assert slope.floor(1e-12, 0.5) == pytest.approx(1e-7, rel=1e-15, abs=0)
    capped = Tolerance.choose(EPS, Noise(1.0, True, 1.0, 0), 4.0, resolved_scale=1.0)
    assert capped.floor(0.5, 0.5) == pytest.approx(1e-2, rel=1e-15, abs=0)
    assert tol.at(2.0, 0.5, 0.5) == pytest.approx(
        tol.atol + tol.rtol * 2.0 + 30e-17 / 0.5, rel=1e-15, abs=0
    )
    np.testing.assert_allclose(
        tol.at(np.array([1.0, -2.0])),
        tol.atol + tol.rtol * np.array([1.0, 2.0]) + 30e-17 / LADDER_START,
        rtol=1e-15,
    )
    still = Tolerance.choose(EPS, Noise(1e-16, False, 1.0, 0, still=True), 4.0)
    assert still.still and still.floor(0.5, 0.5) == 100 * EPS


def test_the_tolerance_follows_f_s_precision():
    eps32 = float(np.finfo(np.float32).eps)
    noisy = Noise(level=1e-3, measured=True, f_scale=1.0, evaluations=0)
    tol = Tolerance.choose(EPS, noisy, 1.0)
    assert tol.eps == eps32 and tol.rtol == 7 * math.sqrt(eps32)


def test_estimates_and_ladder_results_are_values():
    e = Estimate(1.0, 0.1)
    assert e.step == math.inf and Estimate(1.0, 0.1, 0.5).step == 0.5
    lad = LadderResult(e, e, e, Estimate(0.0, 0.0), True)
    assert lad.smallest_step == math.inf and lad.values == ()
