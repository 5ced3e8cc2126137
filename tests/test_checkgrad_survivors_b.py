"""check_grad's contracts that the mutation run showed untested (issue 12, second half of
compare.checkgrad's survivors): the argument forms argnums accepts, the notes on precision,
the progress bar, a kink's midpoint, the reference of an entry where f is not finite, and the
noise floor of each entry (the noise over its largest step).

Each test here was checked to fail with the mutants it names switched on
(docs/mutation_kcg2.md)."""

import hashlib
import warnings

import numpy as np
import pytest

from backproof import check_grad
from backproof.compare.checkgrad import judge_settled, settle_entries


def hashed_noise(x, sigma: float) -> float:
    """A deterministic noise of size ~sigma: a hash of x's bits, so every distinct point gets
    its own value (no spacing is fine enough to make it look smooth)."""
    digest = hashlib.blake2b(np.asarray(x, dtype=np.float64).tobytes(), digest_size=8).digest()
    return sigma * (int.from_bytes(digest, "little") / 2.0**64 - 0.5)


# -- the arguments: which one is x ---------------------------------------------------------------
def bilinear(W, X):
    return float(np.sum(np.tanh(W @ X)))


def bilinear_grads(W, X):
    s = 1.0 - np.tanh(W @ X) ** 2
    return s @ X.T, W.T @ s


W0 = np.array([[0.4, -0.3, 0.2], [0.1, 0.5, -0.6]])
X0 = np.array([[0.7, -0.2], [0.3, 0.9], [-0.5, 0.4]])


def test_argnums_0_with_several_arguments_differentiates_the_first_and_passes_the_rest():
    """argnums=0 among two arguments: f and grad_f are called with both (never with x alone),
    the gradient is the first one's, and the parameter is named after its position."""
    right = check_grad(bilinear, lambda W, X: bilinear_grads(W, X)[0], W0, X0, argnums=0)
    assert right.verdict == "pass"
    assert list(right.params) == ["args[0]"] and right.params["args[0]"].shape == (2, 3)
    wrong = check_grad(bilinear, lambda W, X: -bilinear_grads(W, X)[0], W0, X0, argnums=0)
    assert wrong.verdict == "fail" and wrong.params["args[0]"].failures > 0


def test_argnums_picks_the_second_argument_and_a_tuple_of_them():
    second = check_grad(bilinear, lambda W, X: bilinear_grads(W, X)[1], W0, X0, argnums=1)
    assert second.verdict == "pass" and list(second.params) == ["args[1]"]
    assert second.params["args[1]"].shape == (3, 2)
    both = check_grad(bilinear, bilinear_grads, W0, X0, argnums=(1, 0))
    assert both.verdict == "fail"  # (dW, dX) given where (dX, dW) is asked: shapes differ
    swapped = check_grad(bilinear, lambda W, X: bilinear_grads(W, X)[::-1], W0, X0, argnums=(1, 0))
    assert swapped.verdict == "pass" and list(swapped.params) == ["args[1]", "args[0]"]


def test_one_argument_keeps_its_name_and_argnums_must_be_in_range():
    x = np.array([0.5, -1.5])
    assert list(check_grad(lambda x: float(x @ x), lambda x: 2 * x, x).params) == ["x"]
    as_tuple = check_grad(lambda x: float(x @ x), lambda x: (2 * x,), x, argnums=(0,))
    assert as_tuple.verdict == "pass" and list(as_tuple.params) == ["x"]
    for argnums in (1, -2):
        with pytest.raises(ValueError) as info:
            check_grad(lambda x: float(x @ x), lambda x: 2 * x, x, argnums=argnums)
        assert str(info.value) == f"argnums {argnums} is out of range for 1 argument(s)"


# -- the notes ------------------------------------------------------------------------------------
STILL_NOTE = (
    "f took the same value at every point tried, up to the largest steps: its derivative is "
    "read as 0 there. An f that rounds its output to a grid coarser than its change over those "
    "steps looks the same; if f rounds, check it at a point where it moves"
)


def test_a_constant_f_passes_a_zero_gradient_with_the_note_that_says_why():
    report = check_grad(lambda x: 1.0, lambda x: np.zeros(2), np.array([0.0, 1.0]))
    assert report.verdict == "pass" and report.notes == [STILL_NOTE]


def test_an_f_computing_in_float32_inside_says_so_and_loosens_rtol():
    def f(x):
        return float(np.float32(np.sum(np.sin(x.astype(np.float32)))))

    report = check_grad(f, np.cos, np.array([0.3, 1.0]))
    assert report.verdict == "pass" and report.eval_dtype == "float64"
    (note,) = report.notes
    assert note.startswith("f computes in a lower precision inside than float64 (its noise is ")
    assert "eps 1.2e-07 assumed, float64's is 2.2e-16" in note
    assert note.endswith(f"tolerances follow that precision (rtol {report.rtol:.1e})")
    assert report.rtol == pytest.approx(7 * np.sqrt(np.finfo(np.float32).eps))
    # the same f in float64 inside: no note
    plain = check_grad(lambda x: float(np.sum(np.sin(x))), np.cos, np.array([0.3, 1.0]))
    assert plain.notes == [] and plain.rtol == pytest.approx(7 * np.sqrt(np.finfo(float).eps))


def test_a_float32_check_warns_about_nothing():
    """Legal input raises no warning at all (a warning turned into an error here)."""
    x = np.array([0.3, -0.7, 1.2], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_grad(lambda x: float(np.sum(np.sin(x.astype(np.float32)))), np.cos, x)
    assert report.verdict == "pass" and report.eval_dtype == "float32"


# -- the progress bar -----------------------------------------------------------------------------
def test_progress_shows_a_bar_named_check_grad_that_clears_itself(capsys):
    """More than 200 entries with progress=True: a tqdm bar on stderr, labelled "check_grad",
    counting the entries, and erased when the check ends (leave=False)."""
    x = np.linspace(-1.0, 1.0, 201)
    report = check_grad(lambda x: float(x @ x), lambda x: 2 * x, x, full=True, progress=True)
    assert report.verdict == "pass"
    err = capsys.readouterr().err
    assert "check_grad:" in err and "/201" in err
    assert not err.endswith("\n")  # a bar that stays ends its line; a cleared one does not
    check_grad(lambda x: float(x @ x), lambda x: 2 * x, x[:200], full=True, progress=True)
    assert capsys.readouterr().err == ""  # 200 entries or fewer: no bar


# -- the reference -------------------------------------------------------------------------------
def test_at_a_kink_the_reference_is_the_midpoint_of_the_one_sided_derivatives():
    """relu at 0: derivatives 0 and 1 on either side; a gradient of 1 (one side) passes, and
    its distance to the reference is to the midpoint 0.5; a gradient of 3 fails against 0.5."""

    def f(x):
        return float(max(x[0], 0.0) + x[1] ** 2)

    x = np.array([0.0, 1.0])
    one_side = check_grad(f, lambda x: np.array([1.0, 2 * x[1]]), x)
    assert one_side.verdict == "pass"
    assert one_side.max_abs_error == pytest.approx(0.5, abs=1e-9)
    wrong = check_grad(f, lambda x: np.array([3.0, 2 * x[1]]), x)
    assert wrong.verdict == "fail"
    (entry,) = wrong.worst
    assert entry.index == (0,) and entry.numerical == pytest.approx(0.5, abs=1e-9)
    assert entry.error == pytest.approx(2.0, abs=1e-9)  # the distance to the interval [0, 1]
    # f is smooth on either side, with no noise: the tolerance is rtol |g~| + atol and a
    # floor far below FLOOR_RELATIVE (1e-7) of the largest slope
    floor = entry.tolerance - (wrong.rtol * 0.5 + wrong.atol)
    assert 0 <= floor < 1e-9


def test_where_f_is_not_finite_the_reference_is_nan_with_an_infinite_error():
    def f(x):
        return float(np.sqrt(x[0]) + x[1] ** 2)

    report = check_grad(f, lambda x: np.array([1.0, 2 * x[1]]), np.array([0.0, 1.0]))
    assert report.verdict == "inconclusive"
    (entry,) = report.inconclusive
    assert entry.index == (0,) and entry.reason == "not finite nearby"
    assert np.isnan(entry.numerical) and entry.reference_error == np.inf


def test_each_entry_s_noise_floor_is_the_noise_over_its_largest_step():
    """With rtol = atol = 0 an entry's tolerance is the noise floor alone: the noise over the
    ladder's largest step, 0.5 max(|x_i|, 1): the report's floor (over 0.5) for |x_i| <= 1,
    that over a thousand for x_i = 1000."""

    def f(x):
        return float(0.5 * x @ x) + hashed_noise(x, 0.05)

    x = np.array([0.3, 1000.0])
    report = check_grad(f, lambda x: x + np.array([5.0, 0.1]), x, rtol=0, atol=0)
    assert report.verdict == "fail"
    by_index = {e.index: e for e in report.worst}
    assert by_index[(0,)].tolerance == pytest.approx(report.floor, rel=1e-12)
    assert by_index[(1,)].tolerance == pytest.approx(report.floor / 1000.0, rel=1e-12)
    assert report.floor == pytest.approx(30 * report.noise / 0.5, rel=1e-12)


# -- invariances: the units of f and of x change nothing but the units -------------------------
def noisy_sines(x):
    return float(np.sum(np.sin(x))) + hashed_noise(x, 1e-9)


X_UNITS = np.array([1.25, -1.5, 3.0, 0.25, -0.75])


def test_scaling_f_by_a_power_of_two_scales_the_report_and_changes_nothing_else():
    """f and its gradient times 2^-20 (exact in floating point): the ladders stop at the same
    steps (the stopping tolerance scales with the slope, however small), so the same number
    of evaluations and the errors scaled exactly."""
    c = 2.0**-20
    plain = check_grad(noisy_sines, np.cos, X_UNITS)
    scaled = check_grad(lambda x: c * noisy_sines(x), lambda x: c * np.cos(x), X_UNITS)
    assert scaled.verdict == plain.verdict
    assert scaled.evaluations == plain.evaluations
    assert scaled.max_abs_error == c * plain.max_abs_error
    assert scaled.noise == c * plain.noise and scaled.floor == c * plain.floor


def test_measuring_x_in_other_units_changes_nothing_but_the_units():
    """F(y) = f(y / 1024) at y = 1024 x: the steps scale with max(|x_i|, 1), so F is evaluated
    exactly where f was; the derivative, the tolerance and the noise floor per entry (noise
    over the largest step) all shrink by 1024 and every ladder stops at the same step."""
    k = 1024.0
    wide = np.array([1.25, -1.5, 3.0, 1.0, -6.0])
    plain = check_grad(noisy_sines, np.cos, wide)
    units = check_grad(lambda y: noisy_sines(y / k), lambda y: np.cos(y / k) / k, k * wide)
    assert units.verdict == plain.verdict
    assert units.evaluations == plain.evaluations
    assert units.max_abs_error == plain.max_abs_error / k
    assert units.noise == plain.noise


# -- settle_entries / judge_settled (compare_network's second look) -------------------------------
def test_judge_settled_returns_the_tolerance_its_verdicts_used():
    """A value just inside the tolerance judge_settled reports (less the reference's error
    bars) passes; a pass is always within the tolerance reported, from the reference value
    reported."""

    def f(p):
        return float(np.sum(np.sin(p["w"]))) + hashed_noise(p["w"], 1e-6)

    x = {"w": np.array([0.3, -1.2, 2.0])}
    refs, tol = settle_entries(f, x, {"w": [0, 1, 2]}, float(np.finfo(float).eps), 1.0)
    coarse, _ = refs["w"]
    verdicts, allowed, values = judge_settled(coarse.estimate, refs["w"], tol)
    assert list(verdicts) == ["pass"] * 3
    np.testing.assert_allclose(values, np.cos(x["w"]), atol=1e-4)
    inside = coarse.estimate + (1 - 1e-6) * (allowed - tol.confidence * coarse.error)
    verdicts, allowed_inside, _ = judge_settled(inside, refs["w"], tol)
    assert list(verdicts) == ["pass"] * 3
    assert np.all(np.abs(inside - coarse.estimate) <= allowed_inside)
    # beyond it the first reference fails them: the finer one, from smaller steps with a
    # larger noise floor, passes them, and the tolerance reported is the finer one's
    outside = coarse.estimate + (1 + 1e-6) * (allowed + tol.confidence * coarse.error)
    verdicts, allowed_outside, values = judge_settled(outside, refs["w"], tol)
    assert list(verdicts) == ["pass"] * 3
    assert np.all(allowed_outside > allowed)
    assert np.all(np.abs(outside - values) <= allowed_outside)


# -- the fast check's directions -------------------------------------------------------------------
def test_the_noise_floor_covers_a_fast_check_s_directions_too():
    """rtol = atol = 0 on a noisy linear f of 2001 entries: only the noise floor (the noise over
    the largest step) separates the right gradient from a wrong one, along the random
    directions as for the sampled entries."""
    rng = np.random.default_rng(0)
    a, x = rng.standard_normal(2001), rng.uniform(-1.0, 1.0, 2001)

    def f(x):
        return float(a @ x) + hashed_noise(x, 1e-6)

    report = check_grad(f, lambda x: a, x, rtol=0, atol=0, samples=2)
    assert report.mode == "fast" and report.verdict == "pass"
    param = report.params["x"]
    assert (param.entries_checked, param.directions_checked) == (2, 3)
    assert param.inconclusive == 0 and param.failures == 0
    wrong = check_grad(f, lambda x: a * (1 + 1e-3), x, rtol=0, atol=0, samples=2)
    assert wrong.verdict == "fail" and wrong.params["x"].failures == 5


def test_directions_across_kinks_near_x_are_settled_by_the_finer_ladder():
    """sum |x_i - c_i| with every kink c_i within 1e-4 of x_i: every step of the first ladder
    (down to 2.4e-4) straddles kinks along a random direction, so only the second ladder,
    below them all, sees the true slope: the right gradient passes, directions included."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, 2001)
    c = x + rng.uniform(1e-6, 1e-4, x.size) * rng.choice([-1.0, 1.0], x.size)

    def f(x):
        return float(np.sum(np.abs(x - c)))

    report = check_grad(f, lambda x: np.sign(x - c), x, samples=4)
    param = report.params["x"]
    assert report.verdict == "pass" and param.directions_checked == 3
    assert param.inconclusive == 0 and param.failures == 0


def test_a_gradient_off_by_one_percent_across_kinks_near_x_is_never_passed():
    """The same f, the gradient 1% too large: below the kinks every sampled entry fails; the
    directions, whose first ladder sees a kink (an interval wide enough to hold the wrong
    value), are not passed either: the finer ladder refutes the interval."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, 2001)
    c = x + rng.uniform(1e-6, 1e-4, x.size) * rng.choice([-1.0, 1.0], x.size)

    def f(x):
        return float(np.sum(np.abs(x - c)))

    report = check_grad(f, lambda x: 1.01 * np.sign(x - c), x, samples=4)
    param = report.params["x"]
    assert report.verdict == "fail"
    assert (param.entries_checked, param.directions_checked) == (4, 3)
    assert (param.failures, param.inconclusive) == (4, 3)


def test_a_direction_is_judged_against_the_size_of_its_terms():
    """A gradient off by 1e-6 relative: every entry fails (rtol is 1e-7), but along a random
    direction g . v cancels down to ~1/35 of sum |g_j v_j|, and the direction's rtol applies to
    that sum: the directions pass, also when the finer ladder settles them."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.0, 1.0, 2001)
    c = x + rng.uniform(1e-6, 1e-4, x.size) * rng.choice([-1.0, 1.0], x.size)

    def f(x):
        return float(np.sum(np.abs(x - c)))

    report = check_grad(f, lambda x: (1 + 1e-6) * np.sign(x - c), x, samples=4)
    param = report.params["x"]
    assert report.verdict == "fail" and param.directions_checked == 3
    assert (param.failures, param.inconclusive) == (4, 0)
