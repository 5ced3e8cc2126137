"""The diagnosis of a wrong gradient, as check_grad reports it: every kind of mistake, the exact
threshold between "sign" and "sign and scale", and how scale factors are named."""

import numpy as np
import pytest

from backproof.compare import check_grad
from backproof.compare.diagnosis import describe_factor


def f(x):
    return float(np.sum(np.sin(x) * x))


def grad(x):
    return np.cos(x) * x + np.sin(x)


X = np.linspace(-1.0, 1.3, 6)


def diagnosis(wrong, x=X, fn=f, **kwargs):
    report = check_grad(fn, wrong, x, **kwargs)
    assert not report
    return report.params["x"].diagnosis


@pytest.mark.parametrize(
    "c, kinds, text",
    [
        (-1.0, ["sign"], "sign: the gradient is the negative of the right one"),
        (-1.00005, ["sign"], "sign: the gradient is the negative of the right one"),
        (-0.99995, ["sign"], "sign: the gradient is the negative of the right one"),
        (-1.001, ["sign", "scale"], "sign and scale: the gradient is the right one x -1.001"),
        (-0.5, ["sign", "scale"], "sign and scale: the gradient is the right one x -1/2"),
        (-0.3, ["sign", "scale"], "sign and scale: the gradient is the right one x -0.3"),
        (-2.0, ["sign", "scale"], "sign and scale: the gradient is the right one x -2"),
        (2.0, ["scale"], "scale: the gradient is the right one x 2"),
        (0.5, ["scale"], "scale: the gradient is the right one x 1/2"),
        (1.5, ["scale"], "scale: the gradient is the right one x 1.5"),
    ],
)
def test_sign_and_scale(c, kinds, text):
    """Within 1e-4 of -1 is a sign error; any other negative factor is sign and scale."""
    d = diagnosis(lambda x: c * grad(x))
    assert (d.kinds, d.text) == (kinds, text)


def test_a_gradient_1e_minus_6_from_the_right_one_is_no_scale_error():
    assert check_grad(f, lambda x: (1 + 1e-9) * grad(x), X)


@pytest.mark.parametrize(
    "c, factors, words",
    [
        (200.0, {"m": 200}, "x m (= 200)"),
        (1 / 200, {"m": 200}, "x 1/m (= 1/200)"),
        (3.0, None, "x 3"),
        (1 / 3, None, "x 1/3"),
        (4.0, None, "x 4"),
        (0.25, None, "x 1/4"),
        (10.0, None, "x 10"),
        (0.1, None, "x 1/10"),
        (7.0, None, "x 7"),
    ],
)
def test_scale_factors_are_named(c, factors, words):
    d = diagnosis(lambda x: c * grad(x), factors=factors)
    assert d.kinds == ["scale"] and d.text.endswith(words)


def test_describe_factor_names_known_factors_within_1e_minus_4():
    m = {"m": 200}
    assert describe_factor(200 * (1 + 0.9e-4), m) == "x m (= 200)"
    assert describe_factor(200 * (1 + 1.1e-4), m) == "x 200.022"
    assert describe_factor((1 + 0.9e-4) / 200, m) == "x 1/m (= 1/200)"
    assert describe_factor((1 + 1.1e-4) / 200, m) == "x 0.00500055"
    assert describe_factor(2 * (1 + 0.9e-4)) == "x 2"
    assert describe_factor(2 * (1 + 1.1e-4)) == "x 2.00022"
    assert describe_factor(0.5 * (1 + 0.9e-4)) == "x 1/2"
    assert describe_factor(0.5 * (1 + 1.1e-4)) == "x 0.500055"
    assert describe_factor(2.0, {"m": 0}) == "x 2"  # a zero factor names nothing
    assert describe_factor(2.0, {"n": 2, "m": 2}) == "x n (= 2)"  # the first that fits
    assert describe_factor(2.1, rel=0.1) == "x 2" and describe_factor(2.1) == "x 2.1"
    assert describe_factor(0.48, rel=0.1) == "x 1/2" and describe_factor(0.48) == "x 0.48"
    assert describe_factor(250.0, m, rel=0.5) == "x m (= 200)"
    # exactly at the edge of the window (every number here is exact in binary)
    assert describe_factor(3.0, rel=0.5) == "x 2" and describe_factor(3.0, {"m": 2}, 0.5) == (
        "x m (= 2)"
    )
    assert describe_factor(0.375, {"m": 4}, rel=0.5) == "x 1/m (= 1/4)"
    assert describe_factor(0.375, rel=0.25) == "x 1/2"
    # a negative factor is named by its size
    assert describe_factor(-200.0, m) == "x -m (= 200)" and describe_factor(-0.005, m) == (
        "x -1/m (= 1/200)"
    )
    assert describe_factor(-4.0) == "x -4" and describe_factor(-0.731) == "x -0.731"


def test_sign_and_scale_names_the_factor():
    d = diagnosis(lambda x: -200 * grad(x), factors={"m": 200})
    assert d.kinds == ["sign", "scale"]
    assert d.text == "sign and scale: the gradient is the right one x -m (= 200)"


def test_zero_missing_and_non_finite():
    d = diagnosis(lambda x: np.zeros_like(x))
    assert d.kinds == ["zero"]
    assert d.text == (
        "zero: the gradient is all zeros, but the function is not flat in this parameter "
        "(a missing gradient)"
    )
    nan = grad(X)
    nan[[1, 4]] = np.nan  # (an inf entry works too, with a RuntimeWarning from check_grad)
    d = diagnosis(lambda x: nan)
    assert d.kinds == ["non-finite"]
    assert d.text == "non-finite: 2 entries are nan or inf, e.g. [(1,), (4,)]"


def test_a_missing_key():
    params = {"a": np.array([0.5, 1.0]), "b": np.array([2.0])}

    def fd(p):
        return float(np.sum(p["a"] ** 2) + p["b"][0])

    report = check_grad(fd, lambda p: {"a": 2 * p["a"]}, params)
    assert not report
    d = report.params["b"].diagnosis
    assert d.kinds == ["zero"]
    assert (
        d.text
        == "zero: no gradient was given for b (a missing key), but the function depends on it"
    )


def test_an_extra_or_missing_term_in_the_parameter():
    d = diagnosis(lambda x: grad(x) + 0.3 * x)
    assert d.kinds == ["term"]
    assert d.text == (
        "term: the gradient has an extra term 0.3 x x "
        "(an L2 regularisation term lambda*x with lambda = 0.3?)"
    )
    d = diagnosis(lambda x: grad(x) - 0.25 * x)
    assert d.kinds == ["term"] and d.text.startswith("term: the gradient has a missing term 0.25")


W = np.arange(6.0).reshape(2, 3) / 7
S = np.array([[0.1, 0.7, -0.3], [0.4, -0.5, 0.2], [0.9, 0.3, 0.6]])


def fw(w):
    return float(np.sum(np.sin(w) * np.arange(1, w.size + 1).reshape(w.shape)))


def gw(w):
    return np.cos(w) * np.arange(1, w.size + 1).reshape(w.shape)


@pytest.mark.parametrize(
    "wrong, kinds, text",
    [
        (
            lambda w: gw(w) + np.array([[0.0], [1.0]]),
            ["rows"],
            "rows: row(s) [1] are wrong, the other rows agree",
        ),
        (
            lambda w: gw(w) + np.array([0.0, 1.0, 0.0]),
            ["columns"],
            "columns: column(s) [1] are wrong, the other columns agree",
        ),
        (
            lambda w: gw(w) + np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
            ["entries"],
            "entries: 2 of 6 checked entries are wrong: [(0, 1), (1, 2)]",
        ),
        (
            lambda w: gw(w) + np.arange(1.0, 7.0).reshape(2, 3) ** 2,
            ["values"],
            "values: every checked entry is wrong (6)",
        ),
        (
            lambda w: gw(w).T,
            ["shape", "transpose"],
            "shape: expected (2, 3), got (3, 2); it is the transpose of the right gradient",
        ),
        (lambda w: gw(w)[:1], ["shape"], "shape: expected (2, 3), got (1, 3)"),
    ],
    ids=["rows", "columns", "entries", "values", "transpose", "shape"],
)
def test_which_part_is_wrong(wrong, kinds, text):
    d = diagnosis(wrong, x=W, fn=fw)
    assert (d.kinds, d.text) == (kinds, text)


def test_a_square_gradient_that_is_the_transpose():
    d = diagnosis(lambda s: gw(s).T, x=S, fn=fw)
    assert d.kinds == ["transpose"]
    assert d.text == "transpose: the gradient is the transpose of the right one"


def test_a_gradient_of_another_parameter_is_a_swap():
    params = {"a": np.array([0.5, -1.0]), "b": np.array([2.0, 0.3])}

    def fs(p):
        return float(np.sum(p["a"] ** 3) + np.sum(np.sin(p["b"])))

    def swapped(p):
        return {"a": np.cos(p["b"]), "b": np.cos(p["b"])}

    report = check_grad(fs, swapped, params)
    d = report.params["a"].diagnosis
    assert d.kinds == ["swap"]
    assert d.text == "swap: the gradient is b's gradient (a layer off by one?)"
    assert report.params["b"].ok


def test_a_gradient_with_another_parameters_shape_is_named():
    params = {"a": np.ones((2, 3)) * 0.5, "b": np.ones((3, 4)) * 0.2}

    def fs(p):
        return float(np.sum(p["a"] ** 2) + np.sum(p["b"] ** 2))

    report = check_grad(fs, lambda p: {"a": 2 * p["b"], "b": 2 * p["b"]}, params)
    d = report.params["a"].diagnosis
    assert d.kinds == ["shape", "swap"]
    assert d.text == (
        "shape: expected (2, 3), got (3, 4); it has the shape of b's gradient (a layer off by one?)"
    )


def test_the_fast_check_says_what_it_sampled():
    x = np.linspace(-1, 1, 3000)
    wrong = grad(x)
    wrong[::2] += 1.0
    report = check_grad(f, lambda _: wrong, x, full=False, samples=40, seed=1)
    d = report.params["x"].diagnosis
    assert not report and d.kinds == ["entries"]
    assert "checked entries are wrong (of the sampled entries)" in d.text


def test_the_fast_check_catches_what_directions_see_and_samples_miss():
    x = np.linspace(-1, 1, 3000)
    wrong = grad(x)
    wrong[1234] += 50.0
    report = check_grad(f, lambda _: wrong, x, full=False, samples=4, directions=3, seed=0)
    d = report.params["x"].diagnosis
    assert not report and d.kinds == ["values"]
    assert d.text == ("values: 3 of 3 random directions disagree, though the sampled entries agree")


def test_a_diagnosis_is_truthy_exactly_when_it_names_a_mistake():
    from backproof.compare.diagnosis import Diagnosis

    assert not Diagnosis() and Diagnosis().kinds == [] and Diagnosis().text == ""
    assert Diagnosis(["sign"], "sign: ...")
    assert not check_grad(f, grad, X).params["x"].diagnosis


def test_a_missing_key_the_function_does_not_depend_on():
    params = {"a": np.array([0.5, 1.0]), "b": np.array([2.0])}
    report = check_grad(lambda p: float(np.sum(p["a"] ** 2)), lambda p: {"a": 2 * p["a"]}, params)
    d = report.params["b"].diagnosis
    assert report.params["b"].verdict == "fail" and d.kinds == ["zero"]
    assert d.text == "zero: no gradient was given for b (a missing key)"


def test_long_lists_of_wrong_entries_are_cut_short():
    x = np.linspace(-1.0, 1.3, 12)
    wrong = grad(x)
    wrong[[0, 2, 3, 5, 7, 8, 9]] += 1.0
    d = diagnosis(lambda _: wrong, x=x)
    assert d.kinds == ["entries"]
    assert d.text == (
        "entries: 7 of 12 checked entries are wrong: [(0,), (2,), (3,), (5,), (7,), (8,), ...]"
    )
    wrong[0] -= 1.0  # six are listed whole
    d = diagnosis(lambda _: wrong, x=x)
    assert (
        d.text == "entries: 6 of 12 checked entries are wrong: [(2,), (3,), (5,), (7,), (8,), (9,)]"
    )
    nan = grad(x)
    nan[[1, 4, 6]] = np.nan
    d = diagnosis(lambda _: nan, x=x)
    assert d.text == "non-finite: 3 entries are nan or inf, e.g. [(1,), (4,), (6,)]"
    nan[11] = np.nan
    d = diagnosis(lambda _: nan, x=x)
    assert d.text == "non-finite: 4 entries are nan or inf, e.g. [(1,), (4,), (6,), ...]"


def test_several_rows_or_columns():
    w = np.arange(12.0).reshape(3, 4) / 13
    d = diagnosis(lambda w: gw(w) + np.array([[1.0], [0.0], [2.0]]), x=w, fn=fw)
    assert d.kinds == ["rows"] and d.text == "rows: row(s) [0, 2] are wrong, the other rows agree"
    d = diagnosis(lambda w: gw(w) + np.array([0.0, 1.0, 0.0, 3.0]), x=w, fn=fw)
    assert d.kinds == ["columns"]
    assert d.text == "columns: column(s) [1, 3] are wrong, the other columns agree"


def test_a_misshapen_gradient_that_is_not_the_transpose():
    d = diagnosis(lambda w: 2 * gw(w).T, x=W, fn=fw)
    assert (d.kinds, d.text) == (["shape"], "shape: expected (2, 3), got (3, 2)")
    t = np.arange(24.0).reshape(2, 3, 4) / 25  # three axes reversed is no transpose
    d = diagnosis(lambda t: gw(t).T, x=t, fn=fw)
    assert (d.kinds, d.text) == (["shape"], "shape: expected (2, 3, 4), got (4, 3, 2)")


def test_the_transpose_is_named_before_a_parameter_of_the_same_shape():
    params = {"a": W, "b": np.ones((3, 2)) * 0.2}

    def fs(p):
        return fw(p["a"]) + float(np.sum(p["b"] ** 2))

    report = check_grad(fs, lambda p: {"a": gw(p["a"]).T, "b": 2 * p["b"]}, params)
    d = report.params["a"].diagnosis
    assert d.kinds == ["shape", "transpose"]
    assert d.text == (
        "shape: expected (2, 3), got (3, 2); it is the transpose of the right gradient"
    )


def test_a_gradient_close_to_the_right_one_times_a_constant_is_a_scale_error():
    d = diagnosis(lambda x: (1 + 1e-5) * grad(x))
    assert d.kinds == ["scale"] and d.text == "scale: the gradient is the right one x 1.00001"


def test_a_zero_gradient_of_a_flat_function_passes_and_of_a_sloped_one_fails():
    d = diagnosis(lambda x: np.zeros_like(x), x=np.array([0.3]))
    assert d.kinds == ["zero"]
    assert check_grad(lambda x: 2.0, lambda x: np.zeros_like(x), X)


def test_scale_errors_of_a_linear_function_and_of_a_function_flat_at_x():
    d = diagnosis(lambda x: 2 * np.ones_like(x), x=np.zeros(1), fn=lambda x: float(np.sum(x)))
    assert (d.kinds, d.text) == (["scale"], "scale: the gradient is the right one x 2")
    # where the right gradient is zero, no factor turns it into the given one
    d = diagnosis(lambda x: np.ones_like(x), x=np.zeros(3), fn=lambda x: float(np.sum(x**3)))
    assert (d.kinds, d.text) == (["values"], "values: every checked entry is wrong (3)")


def test_no_scale_factor_is_infinite():
    with np.errstate(over="ignore"):
        d = diagnosis(lambda x: np.full_like(x, 1e308))
    assert "inf" not in d.text and d.kinds != ["scale"]


def direct(analytic, numerical, threshold=0.5, verdicts=None, kink=None, **kwargs):
    """``diagnose`` called as check_grad calls it, on exact numbers: every entry checked."""
    from backproof.compare.diagnosis import diagnose

    numerical = np.asarray(numerical, dtype=float)
    n = numerical.size
    shape = kwargs.pop("shape", np.shape(analytic) if analytic is not None else (n,))
    return diagnose(
        "p",
        analytic=None if analytic is None else np.asarray(analytic, dtype=float),
        shape=shape,
        idx=np.arange(n),
        numerical=numerical,
        threshold=np.full(n, threshold),
        verdicts=np.array(verdicts or ["fail"] * n),
        kink=np.zeros(n, bool) if kink is None else np.array(kink),
        x=kwargs.pop("x", np.zeros(n)),
        **kwargs,
    )


def test_a_difference_exactly_at_the_threshold_still_fits_a_pattern():
    square = [[1.0, 2.0], [3.0, 4.0]]
    d = direct(square, [1.0, 3.0, 2.0, 4.5])
    assert d.kinds == ["transpose"]
    assert direct(square, [1.0, 3.0, 2.0, 4.5 + 2**-20]).kinds == ["values"]
    # a missing key: the function depends on the parameter only beyond the threshold
    assert direct(None, [0.5, -0.5], shape=(2,)).text == (
        "zero: no gradient was given for p (a missing key)"
    )
    assert direct(None, [0.5, -0.5 - 2**-20], shape=(2,)).text.endswith(
        "but the function depends on it"
    )


def test_called_alone_diagnose_reports_a_full_check():
    d = direct([1.0, 2.0, 3.0], [1.0, 2.0, 9.0], verdicts=["pass", "pass", "fail"])
    assert d.text == "entries: 1 of 3 checked entries are wrong: [(2,)]"
    d = direct([1.0, 2.0, 3.0], [1.0, 2.0, 9.0], verdicts=["pass", "pass", "fail"], full=False)
    assert d.text == "entries: 1 of 3 checked entries are wrong (of the sampled entries): [(2,)]"


def test_entries_that_cannot_tell_take_no_part_in_the_pattern():
    """Inconclusive entries and entries at a kink: their reference is no single value."""
    a, n = [1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, 40.0]
    assert direct(a, n).kinds == ["values"]
    inconclusive = ["fail", "fail", "fail", "inconclusive"]
    assert direct(a, n, verdicts=inconclusive).kinds == ["sign"]
    assert direct(a, n, kink=[False, False, False, True]).kinds == ["sign"]
    # a gradient of zeros against failing entries whose reference is only an interval
    d = direct([0.0], [0.0], verdicts=["fail"], kink=[True])
    assert d.kinds == ["zero"] and d.text.startswith("zero: the gradient is all zeros")


def test_inconclusive_directions_take_no_part_in_the_pattern():
    from backproof.compare.diagnosis import DirectionCheck

    def along(analytic, numerical, verdict):
        return DirectionCheck(analytic, numerical, 0.5, 0.0, None, verdict)

    a, n = [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]
    agreeing = [along(5.0, -5.0, "fail")]
    assert direct(a, n, directions=agreeing).kinds == ["sign"]
    wild = agreeing + [along(5.0, 50.0, "inconclusive")]
    assert direct(a, n, directions=wild).kinds == ["sign"]
    assert direct(a, n, directions=agreeing + [along(5.0, 50.0, "fail")]).kinds != ["sign"]


def test_a_scale_fit_allows_the_threshold_times_the_factor_when_it_is_above_one():
    # a = c n + r: c = 0.5 + d / 12 and the largest residual 5 d / 6 against a threshold 0.5
    assert direct([1.0, 2.0, 1.5], [2.0, 4.0, 2.0]).kinds == ["scale"]  # 5/12 <= 0.5
    assert direct([1.0, 2.0, 1.9], [2.0, 4.0, 2.0]).kinds == ["values"]  # 3/4 > 0.5
    # c = 4.5 + ...: the residuals may be 4.5 times the threshold
    assert direct([4.0, 8.0, 6.0], [1.0, 2.0, 1.0]).kinds == ["scale"]


def test_describe_factor_of_zero_and_of_negative_factors_with_a_window():
    assert describe_factor(0.0) == "x 0"
    assert describe_factor(-2.1, rel=0.1) == "x -2" and describe_factor(-2.1) == "x -2.1"


def test_a_non_square_gradient_is_never_called_the_transpose():
    a = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    n = np.array(a).T.ravel()  # [1, 4, 2, 5, 3, 6]: the transpose's entries, in a's shape
    d = direct(a, n, verdicts=["pass", "fail", "fail", "fail", "fail", "pass"])
    assert d.kinds == ["entries"]
    assert d.text == "entries: 4 of 6 checked entries are wrong: [(0, 1), (0, 2), (1, 0), (1, 1)]"


def test_a_term_of_exactly_one_times_the_parameter():
    d = direct([2.0, 1.0, 5.0], [1.0, -1.0, 2.0], x=np.array([1.0, 2.0, 3.0]))
    assert d.kinds == ["term"]
    assert d.text == (
        "term: the gradient has an extra term 1 x p "
        "(an L2 regularisation term lambda*p with lambda = 1?)"
    )


def test_a_swap_needs_the_same_shape_the_same_entries_and_no_directions():
    from backproof.compare.diagnosis import DirectionCheck

    a, n = [1.0, 2.0, 3.0], [5.0, -7.0, 11.0]
    same = {"q": (np.arange(3), np.array(a), (3,))}
    assert direct(a, n, others=same).kinds == ["swap"]
    unlike = {"q": (np.arange(3), np.array([100.0, 100.0, 100.0]), (3,))}
    assert direct(a, n, others=unlike).kinds == ["values"]  # another gradient, not q's
    shorter = {"q": (np.arange(2), np.array(a[:2]), (2,))}
    assert direct(a, n, others=shorter).kinds == ["values"]
    elsewhere = {"q": (np.array([0, 1, 5]), np.array(a), (6,))}
    assert direct(a, n, others=elsewhere, shape=(3,)).kinds == ["values"]
    seen = [DirectionCheck(1.0, 9.0, 0.5, 0.0, None, "fail")]
    assert direct(a, n, others=same, directions=seen).kinds == ["values"]
