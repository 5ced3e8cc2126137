"""check_grad's contract: what each keyword argument does, the fields of the report and of
``to_dict()``, the printed report, the numbers it gives, and the errors that name the argument."""

import json
import math

import numpy as np
import pytest

from backproof.compare import assert_grad_close, check_grad
from backproof.compare.checkgrad import FULL_CHECK_LIMIT, EntryCheck


def f(x):
    return float(np.sum(np.sin(x) * x))


def grad(x):
    return np.cos(x) * x + np.sin(x)


X = np.linspace(-1.0, 1.3, 6)
REPORT_KEYS = [
    "verdict",
    "ok",
    "reason",
    "advice",
    "mode",
    "method",
    "eval_dtype",
    "rtol",
    "atol",
    "floor",
    "noise",
    "evaluations",
    "seconds",
    "max_abs_error",
    "max_rel_error",
    "rel_diff",
    "params",
    "worst",
    "inconclusive",
    "notes",
]
PARAM_KEYS = [
    "verdict",
    "ok",
    "shape",
    "entries_checked",
    "entries_total",
    "directions_checked",
    "failures",
    "inconclusive",
    "max_abs_error",
    "max_rel_error",
    "diagnosis",
    "detail",
    "reason",
    "advice",
]
ENTRY_KEYS = [
    "param",
    "index",
    "analytic",
    "numerical",
    "error",
    "tolerance",
    "reference_error",
    "verdict",
    "reason",
]


def test_a_passing_report_and_its_json():
    report = check_grad(f, grad, X)
    assert report.verdict == "pass" and report.ok and bool(report)
    data = report.to_dict()
    assert list(data) == REPORT_KEYS
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["verdict"] == "pass" and data["ok"] is True
    assert (data["mode"], data["method"], data["eval_dtype"]) == ("full", "richardson", "float64")
    assert data["reason"] == data["advice"] == "" and data["worst"] == []
    assert data["inconclusive"] == 0 and data["notes"] == []
    assert data["rtol"] == pytest.approx(7 * math.sqrt(np.finfo(float).eps), abs=0)
    assert data["evaluations"] == report.evaluations > 2 * X.size
    assert 0 < data["seconds"] == report.seconds
    assert data["noise"] == report.noise > 0 and data["floor"] == report.floor > 0
    p = data["params"]["x"]
    assert list(p) == PARAM_KEYS
    assert p == {
        "verdict": "pass",
        "ok": True,
        "shape": [6],
        "entries_checked": 6,
        "entries_total": 6,
        "directions_checked": 0,
        "failures": 0,
        "inconclusive": 0,
        "max_abs_error": p["max_abs_error"],
        "max_rel_error": p["max_rel_error"],
        "diagnosis": [],
        "detail": "",
        "reason": "",
        "advice": "",
    }
    assert 0 <= p["max_abs_error"] < 1e-9 and 0 <= p["max_rel_error"] < 1e-9
    assert report.diagnosis == {} and not report.params["x"].diagnosis
    assert list(report.params["x"].entry_verdicts) == ["pass"] * 6


def test_a_gradient_twice_the_right_one_in_numbers():
    """rel_diff = ||g - g~|| / (||g|| + ||g~||) = 1/3; the worst relative error 1/2."""
    report = check_grad(f, lambda x: 2 * grad(x), X)
    assert report.verdict == "fail" and not report.ok and not report
    assert report.rel_diff == pytest.approx(1 / 3, rel=1e-8)
    assert report.max_rel_error == pytest.approx(0.5, rel=1e-8)
    assert report.max_abs_error == pytest.approx(np.max(np.abs(grad(X))), rel=1e-8)
    p = report.params["x"]
    assert (p.failures, p.inconclusive, p.entries_checked) == (6, 0, 6)
    assert (p.max_abs_error, p.max_rel_error) == (report.max_abs_error, report.max_rel_error)
    assert report.diagnosis == {"x": "scale: the gradient is the right one x 2"}
    data = report.to_dict()
    assert data["params"]["x"]["diagnosis"] == ["scale"]
    assert data["params"]["x"]["detail"] == "scale: the gradient is the right one x 2"
    # the worst entries: the five furthest outside their tolerance, fails first
    assert len(report.worst) == 5 and all(e.verdict == "fail" for e in report.worst)
    ratios = [e.error / e.tolerance for e in report.worst]
    assert ratios == sorted(ratios, reverse=True)
    entry = data["worst"][0]
    assert list(entry) == ENTRY_KEYS and isinstance(entry["index"], list)
    w = report.worst[0]
    assert entry["analytic"] == w.analytic == pytest.approx(2 * w.numerical, rel=1e-8)
    assert w.error == pytest.approx(abs(w.analytic - w.numerical), rel=1e-8)
    assert w.rel_error == pytest.approx(0.5, rel=1e-8) and not w.inconclusive
    assert w.param == "x" and w.reason == ""


def test_entry_check_properties():
    e = EntryCheck("W", (1, 2), 3.0, 4.0, 1.0, 0.5, verdict="inconclusive")
    assert e.inconclusive and e.rel_error == 0.25
    assert EntryCheck("W", (0,), -8.0, 2.0, 10.0, 1.0).rel_error == 10 / 8
    assert EntryCheck("W", (0,), 0.0, 0.0, 0.0, 1.0).rel_error == 0.0
    assert not EntryCheck("W", (0,), 0.0, 0.0, 0.0, 1.0).inconclusive


def test_the_printed_report():
    text = str(check_grad(f, lambda x: -grad(x), X))
    lines = text.splitlines()
    assert lines[0] == "gradient check FAILED: 1 of 1 parameter(s) disagree"
    assert lines[1].startswith("  full check of 6 entries; richardson differences in float64, ")
    assert " evaluations of f, " in lines[1]
    assert lines[2].startswith("  noise of f ") and "(noise floor), beyond 3x" in lines[2]
    assert lines[3].startswith("  relative difference ||g - g~|| / (||g|| + ||g~||) = 1.000e+00")
    assert lines[4].split() == [
        "param",
        "shape",
        "max",
        "abs",
        "err",
        "max",
        "rel",
        "err",
        "verdict",
    ]
    assert lines[5].startswith("  x      (6,)    ")
    assert lines[5].endswith("FAIL: sign: the gradient is the negative of the right one")
    assert lines[6] == "  worst entries:"
    assert lines[7].split() == ["param", "index", "analytic", "numerical", "error", "allowed"] + [
        "verdict"
    ]
    assert lines[8].split()[0] == "x" and lines[8].split()[-1] == "fail" and len(lines) == 13
    passed = str(check_grad(f, grad, X)).splitlines()
    assert passed[0] == "gradient check PASSED" and len(passed) == 6
    assert passed[5].endswith("  pass") and "worst" not in str(passed)


def test_a_long_parameter_name_widens_the_table():
    name = "a_rather_long_name"
    report = check_grad(lambda p: f(p[name]), lambda p: {name: grad(p[name])}, {name: X})
    lines = str(report).splitlines()
    assert lines[4].startswith("  param" + " " * (len(name) + 2 - 5) + "shape")
    assert lines[5].startswith(f"  {name}  (6,)")


def test_rtol_and_atol_are_the_tolerance():
    wrong = lambda x: grad(x) * (1 + 1e-4)  # noqa: E731
    assert check_grad(f, wrong, X).verdict == "fail"
    loose = check_grad(f, wrong, X, rtol=1e-3)
    assert loose.verdict == "pass" and loose.rtol == 1e-3
    assert check_grad(f, wrong, X, rtol=1e-5).verdict == "fail"
    shifted = lambda x: grad(x) + 1e-4  # noqa: E731
    assert check_grad(f, shifted, X).verdict == "fail"
    loose = check_grad(f, shifted, X, atol=1e-3)
    assert loose.verdict == "pass" and loose.atol == 1e-3
    assert check_grad(f, shifted, X, atol=1e-5).verdict == "fail"
    default = check_grad(f, grad, X)
    eps = np.finfo(float).eps
    assert default.atol == pytest.approx(100 * eps * np.max(np.abs(grad(X))), rel=1e-6, abs=0)
    assert check_grad(f, grad, X, rtol=0, atol=0).rtol == 0.0  # zero is allowed


def test_step_is_the_largest_step_of_the_ladder():
    """The noise floor is the noise over the largest step: half the step, twice the floor."""
    noisy = lambda x: f(x) + 1e-9 * math.sin(1e9 * float(np.sum(x)))  # noqa: E731
    half = check_grad(noisy, grad, X, step=0.25)
    whole = check_grad(noisy, grad, X, step=0.5)
    default = check_grad(noisy, grad, X)
    assert half.noise == whole.noise == default.noise
    assert default.floor == whole.floor
    assert half.floor == pytest.approx(2 * whole.floor, rel=1e-12, abs=0)


def test_method_is_used_and_reported():
    assert check_grad(f, grad, X, method="central").method == "central"
    assert check_grad(f, grad, X, method="richardson").method == "richardson"
    complex_safe = lambda x: np.sum(np.sin(x) * x)  # noqa: E731
    report = check_grad(complex_safe, grad, X, method="complex")
    assert report.method == "complex" and report.ok
    # the complex step evaluates f once per entry, the ladders many times
    assert report.evaluations < check_grad(complex_safe, grad, X).evaluations
    assert check_grad(complex_safe, lambda x: 1.001 * grad(x), X, method="complex").verdict == (
        "fail"
    )


def test_full_samples_and_directions():
    x = np.linspace(-1, 1, 40)
    fast = check_grad(f, grad, x, full=False, samples=10, directions=2)
    p = fast.params["x"]
    assert fast.mode == "fast" and fast.ok
    assert (p.entries_checked, p.entries_total, p.directions_checked) == (10, 40, 2)
    assert np.sum(p.entry_verdicts == "unchecked") == 30
    text = str(fast).splitlines()[1]
    assert text.startswith("  fast check: 2 random directions and 10 sampled entries ")
    assert "(full=True checks every entry)" in text
    none = check_grad(f, grad, x, full=False, samples=0, directions=0).params["x"]
    assert (none.entries_checked, none.directions_checked) == (2, 0)  # at least two entries
    assert check_grad(f, grad, x, full=True, samples=10).params["x"].entries_checked == 40
    assert check_grad(f, grad, x, full=np.bool_(False)).mode == "fast"


def test_the_fast_check_is_the_default_above_the_limit():
    assert FULL_CHECK_LIMIT == 2000
    x = np.linspace(-1, 1, FULL_CHECK_LIMIT + 1)
    report = check_grad(f, grad, x, samples=5, directions=1)
    assert report.mode == "fast" and report.params["x"].entries_checked == 5


def test_samples_are_spread_by_size_with_two_entries_of_each_array_at_least():
    params = {"big": np.linspace(-1, 1, 90), "small": np.array([0.1, 0.2, 0.3]), "one": 0.5}

    def fp(p):
        return f(p["big"]) + f(p["small"]) + float(np.sin(p["one"]) * p["one"])

    def gp(p):
        return {"big": grad(p["big"]), "small": grad(p["small"]), "one": grad(np.array(p["one"]))}

    report = check_grad(fp, gp, params, full=False, samples=47, directions=1)
    checked = {k: p.entries_checked for k, p in report.params.items()}
    assert checked == {"big": 45, "small": 2, "one": 1}
    assert {k: p.directions_checked for k, p in report.params.items()} == {
        "big": 1,
        "small": 1,
        "one": 1,
    }


def test_the_seed_picks_the_samples_and_the_same_seed_gives_the_same_report():
    x = np.linspace(-1, 1, 50)
    one = check_grad(f, grad, x, full=False, samples=5, seed=1)
    again = check_grad(f, grad, x, full=False, samples=5, seed=1)
    other = check_grad(f, grad, x, full=False, samples=5, seed=2)
    same = [k for k in REPORT_KEYS if k != "seconds"]
    assert {k: one.to_dict()[k] for k in same} == {k: again.to_dict()[k] for k in same}
    assert list(one.params["x"].entry_verdicts) == list(again.params["x"].entry_verdicts)
    assert list(one.params["x"].entry_verdicts) != list(other.params["x"].entry_verdicts)


def test_progress_shows_a_bar_only_when_asked_and_for_more_than_200_entries(capsys):
    x = np.linspace(-1, 1, 201)
    check_grad(f, grad, x, progress=True)
    err = capsys.readouterr().err
    # a bar named check_grad, counting towards the 201 entries, cleared when done
    assert err.startswith("\rcheck_grad:   0%|") and " 0/201 [" in err
    assert "\n" not in err and err.endswith("\r")
    check_grad(f, grad, x, progress=False)
    check_grad(f, grad, x[:200], progress=True)
    assert "check_grad" not in capsys.readouterr().err


def test_float32_x_evaluated_in_float64_is_noted():
    x = X.astype(np.float32)
    report = check_grad(lambda x: f(x.astype(np.float64)), lambda x: grad(x), x)
    assert report.ok and report.eval_dtype == "float64"
    assert report.notes[0] == (
        "x is float32; f accepts float64, so f(x) and every neighbour were evaluated in float64"
    )
    assert report.to_dict()["notes"] == report.notes


def test_an_inconclusive_report_says_why_and_what_to_do():
    noisy = lambda x: 1e12 + 1e-8 * float(np.sum(np.sin(x)))  # noqa: E731
    report = check_grad(noisy, lambda x: 0 * x, np.linspace(-1, 1, 4))
    assert report.verdict == "inconclusive"
    reason = (
        "the noise of f is too large for the differences to resolve the gradient to the tolerance"
    )
    advice = "compute f in float64, check at another point, or pass a larger step or rtol"
    assert (report.reason, report.advice) == (reason, advice)
    p = report.params["x"]
    assert (p.verdict, p.reason, p.advice) == ("inconclusive", reason, advice)
    assert p.inconclusive == 4 and len(report.inconclusive) == 4 and p.failures == 0
    data = report.to_dict()
    assert data["inconclusive"] == 4 and data["reason"] == reason
    lines = str(report).splitlines()
    assert lines[0] == "gradient check INCONCLUSIVE: 1 of 1 parameter(s) could not be settled"
    assert lines[5].endswith(f"inconclusive (4 entries: {reason})")
    at = lines.index(f"  inconclusive: {reason}")
    assert lines[at + 1] == f"  advice: {advice}"
    # 1e-8 sin(x) is below the ulp of 1e12: f never moved, and the report says it relied on that
    assert "same value at every point tried" in lines[-1]
    assert [e.reason for e in report.inconclusive] == ["noise"] * 4


def test_assert_grad_close_passes_its_keywords_on():
    wrong = lambda x: grad(x) * (1 + 1e-4)  # noqa: E731
    with pytest.raises(AssertionError) as info:
        assert_grad_close(f, wrong, X)
    assert info.value.report.verdict == "fail"
    assert str(info.value) == str(info.value.report)
    report = assert_grad_close(f, wrong, X, rtol=1e-3)
    assert report.ok and report.rtol == 1e-3
    assert assert_grad_close(f, grad, X, method="central").method == "central"


def test_the_report_of_several_parameters():
    params = {"a": np.array([0.5, -1.0]), "b": np.array([[2.0, 0.3]])}

    def fp(p):
        return float(np.sum(p["a"] ** 3) + np.sum(np.sin(p["b"])))

    report = check_grad(fp, lambda p: {"a": 3 * p["a"] ** 2, "b": -np.cos(p["b"])}, params)
    assert report.params["a"].ok and not report.params["b"].ok
    assert report.diagnosis == {"b": "sign: the gradient is the negative of the right one"}
    assert report.max_abs_error == report.params["b"].max_abs_error
    assert report.to_dict()["params"]["b"]["shape"] == [1, 2]
    assert str(report).splitlines()[0] == "gradient check FAILED: 1 of 2 parameter(s) disagree"


def test_a_misshapen_gradient_fails_with_no_error_numbers():
    report = check_grad(f, lambda x: grad(x)[:5], X)
    p = report.params["x"]
    assert p.verdict == "fail" and p.given_shape == (5,) and p.shape == (6,)
    assert math.isnan(p.max_abs_error) and math.isnan(p.max_rel_error)
    assert p.to_dict()["max_abs_error"] is None
    assert math.isnan(report.max_abs_error)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(step=0), ValueError, "step must be a non-negative finite number, got 0.0"),
        (dict(step=-1.0), ValueError, "step must be a non-negative finite number, got -1.0"),
        (dict(step=math.inf), ValueError, "step must be a non-negative finite number, got inf"),
        (dict(step="1"), TypeError, "step must be a non-negative number, got str '1'"),
        (dict(step=True), TypeError, "step must be a non-negative number, got the boolean True"),
        (dict(rtol=-1e-3), ValueError, "rtol must be a non-negative finite number, got -0.001"),
        (dict(atol=math.nan), ValueError, "atol must be a non-negative finite number, got nan"),
        (
            dict(method=3),
            ValueError,
            "method must be one of ['central', 'richardson', 'complex'], got 3",
        ),
        (dict(full=1), TypeError, "full must be True, False or None, got int 1"),
        (
            dict(method="forward"),
            ValueError,
            "method must be one of ['central', 'richardson', 'complex'], got 'forward'",
        ),
        (dict(atol=[1]), TypeError, "atol must be a non-negative number, got a list"),
        (dict(directions=-1), ValueError, "directions must be a non-negative integer, got -1"),
        (dict(samples=2.0), ValueError, "samples must be a non-negative integer, got 2.0"),
        (dict(seed=True), ValueError, "seed must be a non-negative integer, got True"),
        (dict(factors=[2]), TypeError, "factors must be a dict of name -> number, got a list"),
        (dict(rtol="1"), TypeError, "rtol must be a non-negative number, got str '1'"),
        (dict(seed=-2), ValueError, "seed must be a non-negative integer, got -2"),
    ],
)
def test_bad_options_are_named(kwargs, exc, message):
    with pytest.raises(exc) as info:
        check_grad(f, grad, X, **kwargs)
    assert str(info.value) == message


def test_what_is_not_callable_is_named():
    with pytest.raises(TypeError) as info:
        check_grad(3, grad, X)
    assert str(info.value) == "f must be callable, got int 3"
    with pytest.raises(TypeError) as info:
        check_grad(f, None, X)
    assert str(info.value) == "grad_f must be callable, got None"


def test_options_at_their_limits_are_accepted():
    assert check_grad(f, grad, X, step=np.float64(0.5), seed=np.int64(0), directions=0)
    assert check_grad(f, grad, X, rtol=np.float32(1e-6), atol=0, factors={"m": 2})
    assert check_grad(f, grad, X, full=np.bool_(False), samples=np.int64(2)).mode == "fast"
    assert check_grad(f, grad, X, step=1, rtol=0, atol=np.int64(1)).atol == 1.0


def test_a_gradient_that_is_not_real_is_refused():
    with pytest.raises(TypeError, match=r"^grad_f must return real arrays, got dtype complex128"):
        check_grad(f, lambda x: grad(x) + 0j, X)
    with pytest.raises(TypeError, match=r"^grad_f returned None; it must return the gradient"):
        check_grad(f, lambda x: None, X)


def test_settling_chosen_entries_of_a_dict_with_ladders():
    """settle_entries: ladder references for some entries only (compare_network's fallback);
    judge_settled: verdicts, tolerances and reference values of given values against them."""
    from backproof.compare.checkgrad import judge_settled, settle_entries

    x = {"w": np.linspace(-1.0, 1.3, 6), "v": np.array([0.5, 2.0])}

    def fd(p):
        return f(p["w"]) + float(np.sum(np.exp(p["v"])))

    eps = float(np.finfo(float).eps)
    refs, tol = settle_entries(fd, x, {"w": [1, 4]}, eps, 3.0)
    assert list(refs) == ["w"] and len(refs["w"]) == 2  # the first ladder and the finer one
    assert tol.rtol == pytest.approx(7 * math.sqrt(eps), abs=0)
    assert tol.atol == pytest.approx(100 * eps * 3.0, abs=0)
    right = grad(x["w"][[1, 4]])
    verdicts, allowed, values = judge_settled(right, refs["w"], tol)
    assert list(verdicts) == ["pass", "pass"]
    np.testing.assert_allclose(values, right, rtol=1e-9)
    assert np.all(allowed >= tol.rtol * np.abs(right)) and np.all(allowed < 1e-5)
    wrong = right * np.array([1.0, 1.001])
    assert list(judge_settled(wrong, refs["w"], tol)[0]) == ["pass", "fail"]
    both, _ = settle_entries(fd, x, {"w": [0], "v": [1]}, eps, 3.0, seed=3)
    assert list(both) == ["w", "v"]
    assert list(judge_settled(np.exp([2.0]), both["v"], tol)[0]) == ["pass"]
    assert settle_entries(fd, x, {}, eps, 3.0)[0] == {}


def test_the_complex_step_reference():
    """Exact to rounding: its error bound is 4 eps |g~|, it sees no kink, and its entries share
    the noise floor of the tolerance like any other reference's."""
    square = lambda x: np.sum(x**2)  # noqa: E731
    x = np.array([0.0, 1.0, 2.0])
    assert check_grad(square, lambda x: 2 * x + np.array([1e-9, 0, 0]), x, method="complex")
    wrong = check_grad(square, lambda x: -2 * x, x, method="complex")
    assert wrong.params["x"].diagnosis.kinds == ["sign"]
    eps = np.finfo(float).eps
    for e in wrong.worst:
        # (abs=0: approx's default absolute tolerance, 1e-12, would swallow numbers this small)
        assert e.reference_error == pytest.approx(4 * eps * abs(e.numerical), rel=1e-12, abs=0)
    assert [e.reference_error for e in wrong.worst] == [16 * eps, 8 * eps]
    tiny = lambda x: 1e-10 * np.sum(x**2)  # noqa: E731
    assert check_grad(tiny, lambda x: 2e-10 * x, np.array([1.0, 2.0]), method="complex")


def test_assert_grad_close_on_an_inconclusive_check():
    noisy = lambda x: 1e12 + 1e-8 * float(np.sum(np.sin(x)))  # noqa: E731
    x = np.linspace(-1, 1, 4)
    with pytest.raises(AssertionError) as info:
        assert_grad_close(noisy, lambda x: 0 * x, x)
    assert info.value.report.verdict == "inconclusive"
    assert str(info.value).startswith("gradient check INCONCLUSIVE")
    report = assert_grad_close(noisy, lambda x: 0 * x, x, allow_inconclusive=True)
    assert report.verdict == "inconclusive"
    with pytest.raises(AssertionError):
        assert_grad_close(f, lambda x: -grad(x), X, allow_inconclusive=True)


def test_pytest_shows_the_report_not_the_frame_of_assert_grad_close():
    with pytest.raises(AssertionError) as info:
        assert_grad_close(f, lambda x: -grad(x), X)
    shown = [e.name for e in info.traceback if not e.ishidden(info)]
    assert "assert_grad_close" not in shown and "check_grad" not in shown
    # the frame that raises is the hidden one (whatever the function's name at run time)
    raising = info.traceback[-1]
    assert str(raising.statement).strip() == "raise err" and raising.ishidden(info)


def test_the_printed_tolerance_line_and_the_worst_entry_index():
    report = check_grad(f, lambda x: -grad(x), X)
    lines = str(report).splitlines()
    assert lines[2] == (
        f"  noise of f {report.noise:.2e}; tolerance |g - g~| <= {report.atol:.1e} + "
        f"{report.rtol:.1e} |g~| + {report.floor:.1e} (noise floor), beyond 3x the "
        "reference's own error"
    )
    w = report.worst[0]
    assert lines[8].split()[:2] == ["x", str(w.index)]


def test_a_fast_check_in_each_method():
    x = np.linspace(-1, 1, 40)
    sin3 = lambda x: np.sum(np.sin(3 * x))  # noqa: E731
    g3 = lambda x: 3 * np.cos(3 * x)  # noqa: E731
    for method in ("richardson", "complex"):
        report = check_grad(sin3, g3, x, full=False, samples=3, directions=2, method=method)
        assert report.verdict == "pass", (method, str(report))
        wrong = check_grad(sin3, lambda x: 1.01 * g3(x), x, full=False, method=method)
        assert wrong.verdict == "fail" and wrong.params["x"].directions_checked == 3
    central = check_grad(sin3, lambda x: 1.01 * g3(x), x, full=False, method="central")
    assert central.method == "central" and central.verdict == "fail"


def test_directions_catch_what_every_sample_and_the_sum_of_the_errors_miss():
    x = np.linspace(-1, 1, 3000)
    wrong = grad(x)
    wrong[1234] += 50.0
    wrong[2345] -= 50.0  # along (1, 1, ..., 1) the errors cancel
    report = check_grad(f, lambda _: wrong, x, full=False, samples=4, directions=3, seed=0)
    assert report.verdict == "fail" and report.params["x"].entries_checked == 4
    assert report.params["x"].diagnosis.kinds == ["values"]
    assert report.worst == [] and "worst entries" not in str(report)


def test_the_samples_are_distinct_entries():
    x = np.linspace(-1, 1, 10)
    p = check_grad(f, grad, x, full=False, samples=9, directions=0).params["x"]
    assert p.entries_checked == 9 and np.sum(p.entry_verdicts == "unchecked") == 1


def test_no_directions_for_a_gradient_that_cannot_be_used():
    x = np.linspace(-1, 1, 40)
    short = check_grad(f, lambda x: grad(x)[:-1], x, full=False).params["x"]
    assert short.verdict == "fail" and short.directions_checked == 0
    nan = check_grad(f, lambda x: np.where(x > 0.9, np.nan, grad(x)), x, full=False)
    assert nan.params["x"].directions_checked == 0
    assert nan.params["x"].diagnosis.kinds == ["non-finite"]


def _tanh_layer(rows: int, cols: int):
    """f(W) = sum tanh(W c) and its gradient (1 - tanh(W c)^2) c^T, for a W too large for the
    full check: check_grad's default is then the fast check along random directions."""
    rng = np.random.default_rng(0)
    c = rng.standard_normal(cols)
    W0 = 0.1 * rng.standard_normal((rows, cols))

    def f(W):
        return float(np.sum(np.tanh(W @ c)))

    def grad_f(W):
        return (1 - np.tanh(W @ c) ** 2)[:, None] * c[None, :]

    return f, grad_f, W0


def test_the_fast_check_diagnoses_a_transposed_square_gradient():
    f, grad_f, W0 = _tanh_layer(50, 50)  # 2,500 entries: above the full-check limit
    assert check_grad(f, grad_f, W0).verdict == "pass"
    report = check_grad(f, lambda W: grad_f(W).T, W0)
    assert report.verdict == "fail"
    assert "fast check" in str(report)
    assert report.params["x"].diagnosis.kinds == ["transpose"]


def test_the_fast_check_does_not_call_a_rectangular_gradient_transposed():
    f, grad_f, W0 = _tanh_layer(60, 40)
    report = check_grad(f, lambda W: 2.0 * grad_f(W), W0)
    assert report.verdict == "fail"
    assert "transpose" not in report.params["x"].diagnosis.kinds
    assert "scale" in report.params["x"].diagnosis.kinds


def test_a_gradient_key_x_lacks_is_noted_not_refused():
    x = {"a": np.array([1.0, 2.0]), "b": np.array(0.5)}
    report = check_grad(
        lambda p: float(np.sum(p["a"] ** 2) + p["b"] ** 2),
        lambda p: {"a": 2 * p["a"], "b": 2 * p["b"], "c": np.ones(3)},
        x,
    )
    assert report.ok and report.notes == [
        "grad_f returned a dict with keys ['a', 'b', 'c'] at x, which has keys ['a', 'b']: "
        "unexpected ['c']"
    ]
    assert "  note: grad_f returned a dict" in str(report)


def test_settling_is_reproducible_and_seeded():
    from backproof.compare.checkgrad import settle_entries

    x = {"w": np.linspace(-1.0, 1.3, 6)}
    fd = lambda p: f(p["w"])  # noqa: E731
    eps = float(np.finfo(float).eps)
    default = settle_entries(fd, x, {"w": [1, 4]}, eps, 3.0)[1]
    assert settle_entries(fd, x, {"w": [1, 4]}, eps, 3.0, seed=0)[1] == default
    assert settle_entries(fd, x, {"w": [1, 4]}, eps, 3.0, seed=1)[1] != default  # other lines


def test_the_printed_fast_check_says_how_to_check_every_entry():
    x = np.linspace(-1, 1, 40)
    line = str(check_grad(f, grad, x, full=False, samples=3, directions=2)).splitlines()[1]
    assert line.startswith(
        "  fast check: 2 random directions and 3 sampled entries (full=True checks every "
        "entry); richardson differences in float64, "
    )


def test_each_direction_of_a_fast_check_costs_one_ladder():
    """A direction is checked like an entry: the complex step once, a step ladder otherwise,
    which stops as soon as its estimate settles inside the direction's tolerance (scaled by
    sum |g_j v_j|): for sin, within the 4 rungs it never stops before when extrapolated, 8
    with plain central differences."""
    x = np.linspace(-1, 1, 40)
    sin = lambda x: np.sum(np.sin(x))  # noqa: E731
    cost = {}
    for method in ("complex", "richardson", "central"):
        counts = [
            check_grad(sin, np.cos, x, full=False, samples=3, directions=d, method=method)
            for d in (0, 3)
        ]
        assert [r.verdict for r in counts] == ["pass", "pass"]
        cost[method] = (counts[1].evaluations - counts[0].evaluations) / 3
    assert cost["complex"] == 1 and cost["richardson"] == 2 * 4
    assert 2 * 4 < cost["central"] <= 2 * 8


@pytest.mark.parametrize("tolerance", ["atol", "rtol"])
def test_a_direction_is_allowed_its_entries_tolerances_summed(tolerance):
    """Along v the tolerance is atol sum |v_j| + rtol sum |g_j v_j|: a gradient off by half
    the tolerance in every entry passes along every direction too, whatever cancels."""
    x = np.linspace(-1, 1, 40)
    if tolerance == "atol":
        kwargs, off = {"atol": 1e-4, "rtol": 0.0}, lambda x: np.cos(x) + 0.5e-4
    else:
        kwargs, off = {"rtol": 1e-4, "atol": 0.0}, lambda x: np.cos(x) * (1 + 0.5e-4)
    sin = lambda x: float(np.sum(np.sin(x)))  # noqa: E731
    report = check_grad(sin, off, x, full=False, samples=3, directions=3, **kwargs)
    assert report.verdict == "pass" and report.params["x"].directions_checked == 3
    worse = {"atol": lambda x: np.cos(x) + 2e-4, "rtol": lambda x: np.cos(x) * (1 + 2e-4)}
    assert check_grad(sin, worse[tolerance], x, full=False, samples=3, **kwargs).verdict == "fail"


def _kinked_and_undefined(x):
    """|x0| with a little noise (a kink at 0 the noise blurs), sqrt(x1) (undefined left of 0),
    and x2^2."""
    return float(abs(x[0]) + 1e-7 * np.sin(1e9 * x[0]) + np.sqrt(x[1]) + x[2] ** 2)


def test_the_worst_entries_are_the_fails_then_the_least_settled():
    x = np.array([0.0, 1e-300, 1.0])
    wrong = lambda x: np.array([1.0005, 0.5 / np.sqrt(x[1]), 4 * x[2]])  # noqa: E731
    report = check_grad(_kinked_and_undefined, wrong, x)
    assert [(e.index, e.verdict, e.reason) for e in report.worst] == [
        ((2,), "fail", ""),
        ((1,), "inconclusive", "not finite nearby"),  # no reference at all: the furthest
        ((0,), "inconclusive", "kink"),
    ]
    assert report.verdict == "fail" and report.params["x"].reason == ""


def test_an_inconclusive_parameter_names_its_commonest_cause():
    from backproof.compare.verdicts import ADVICE, REASONS

    undefined = check_grad(
        lambda x: float(np.sum(np.sqrt(x))), lambda x: 0.5 / np.sqrt(x), np.array([1.0, 1e-300])
    )
    assert undefined.verdict == "inconclusive"
    assert undefined.reason == REASONS["not finite nearby"]
    assert undefined.advice == ADVICE["not finite nearby"]
    noisy = lambda x: float(np.sum(np.abs(x)) + 1e-7 * np.sin(1e9 * (x[0] + x[1])))  # noqa: E731
    kinked = check_grad(noisy, lambda x: np.array([1.0005, 1.0]), np.array([0.0, 1.0]))
    assert kinked.verdict == "inconclusive" and kinked.reason == REASONS["kink"]
    assert [e.reason for e in kinked.inconclusive] == ["kink"]


def test_the_tolerance_follows_the_gradient_s_precision():
    """rtol is 7 sqrt(eps) of the coarser of f's evaluation dtype and the gradient's."""
    x = np.linspace(-1.0, 1.3, 6)
    eps32, eps64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
    g32 = check_grad(f, lambda x: grad(x).astype(np.float32), x)
    assert g32.ok and g32.rtol == pytest.approx(7 * math.sqrt(eps32), rel=1e-12, abs=0)
    cube = lambda x: float(np.sum(x**3))  # noqa: E731
    ints = check_grad(cube, lambda x: (3 * x**2).astype(np.int64), np.array([1.0, 2.0]))
    assert ints.ok and ints.rtol == pytest.approx(7 * math.sqrt(eps64), rel=1e-12, abs=0)


def test_a_smooth_f_is_settled_by_the_first_ladder_of_each_entry():
    """Extrapolated, sin's derivative settles within the 4 rungs a ladder never stops before;
    with plain central differences within the 12 rungs of the first ladder, so that no entry
    needs the second: a ladder stopped before its estimate is settled costs a second one."""
    x = np.linspace(-1, 1, 40)
    sin = lambda x: float(np.sum(np.sin(x)))  # noqa: E731
    cost = {}
    for method in ("richardson", "central"):
        counts = [
            check_grad(sin, np.cos, x, full=False, samples=s, directions=0, method=method)
            for s in (3, 9)
        ]
        assert [r.verdict for r in counts] == ["pass", "pass"]
        cost[method] = (counts[1].evaluations - counts[0].evaluations) / 6
    assert cost["richardson"] == 2 * 4 and 2 * 4 < cost["central"] <= 2 * 12


@pytest.mark.parametrize("loose", [{"rtol": 1e-3}, {"atol": 1e-3}])
def test_a_looser_tolerance_lets_the_ladders_stop_sooner(loose):
    """The ladders stop once their estimate is settled well inside the tolerance asked for."""
    x = np.linspace(-1, 1, 7)
    sin = lambda x: float(np.sum(np.sin(x)))  # noqa: E731
    default = check_grad(sin, np.cos, x, method="central")
    looser = check_grad(sin, np.cos, x, method="central", **loose)
    assert default.ok and looser.ok and looser.evaluations < default.evaluations


def test_a_still_f_of_many_entries_is_moved_along_random_signs():
    """Above FULL_CHECK_LIMIT entries, an f that never moved near x is certified flat after
    moving every entry by the largest step at once, with random signs: a floor of sum(x) over a
    grid of 2000 stays put (sum(x) = 1000.5 moves by about 22), while moving every entry
    the same way would reach the next step of the grid."""
    x = np.full(FULL_CHECK_LIMIT + 1, 0.5)
    report = check_grad(lambda x: float(np.floor(np.sum(x) / 2000)), lambda x: 0 * x, x)
    assert (report.verdict, report.mode, report.noise) == ("pass", "fast", 0.0)
    assert "same value at every point tried" in report.notes[-1]


def test_the_complex_step_reference_is_never_taken_twice():
    """The complex step is exact to rounding: a failing entry is not looked at again."""
    square = lambda x: np.sum(x**2)  # noqa: E731
    x = np.array([0.0, 1.0, 2.0])
    right = check_grad(square, lambda x: 2 * x, x, method="complex")
    wrong = check_grad(square, lambda x: -2 * x, x, method="complex")
    assert right.ok and not wrong.ok and wrong.evaluations == right.evaluations


def test_directions_through_kinks_near_x_are_settled_per_parameter():
    """|x - c| with every c within 3e-5 of x: the first ladder's steps straddle the kinks, the
    second one, below them, settles every entry and direction of each parameter."""
    rng = np.random.default_rng(5)
    c = rng.uniform(-1, 1, 40)
    x = c + rng.choice([-1, 1], 40) * rng.uniform(1e-5, 3e-5, 40)
    fp = lambda p: float(np.sum(np.abs(p["a"] - c)) + np.sum(np.abs(p["b"] - c)))  # noqa: E731
    gp = lambda p: {"a": np.sign(p["a"] - c), "b": np.sign(p["b"] - c)}  # noqa: E731
    report = check_grad(fp, gp, {"a": x, "b": x.copy()}, full=False, samples=4, directions=3)
    assert report.verdict == "pass"
    assert [(p.directions_checked, p.inconclusive) for p in report.params.values()] == [(3, 0)] * 2


def test_no_finite_reference_leaves_no_scale_for_atol():
    """atol is 100 eps max|g~|: where no reference is finite, there is no g~ to scale it."""
    undefined = check_grad(
        lambda x: float(np.sum(np.sqrt(x))), lambda x: 0.5 / np.sqrt(x), np.array([1e-300])
    )
    assert undefined.verdict == "inconclusive" and undefined.atol == 0.0


def test_every_entry_of_a_misshapen_gradient_fails():
    p = check_grad(f, lambda x: grad(x)[:5], X).params["x"]
    assert list(p.entry_verdicts) == ["fail"] * 6 and p.failures == 6


def test_relative_errors_of_a_small_gradient():
    """The relative error is |g - g~| / max(|g|, |g~|), however small the gradient."""
    small = lambda x: 1e-3 * f(x)  # noqa: E731
    report = check_grad(small, lambda x: 2e-3 * grad(x), X)
    assert report.max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert report.params["x"].max_rel_error == report.max_rel_error
