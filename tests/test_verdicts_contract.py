"""The verdict rule (``verdicts.judge``), how verdicts combine (``overall``) and how reports
become JSON numbers (``json_ready``): every boundary of the interval rule, exactly."""

import json
import math
import warnings

import numpy as np
import pytest

from backproof.compare.verdicts import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    UNCHECKED,
    VERDICTS,
    json_ready,
    judge,
    overall,
)

# est 0, err 1/4, tol 1, k 2: pass while |g| + 1/2 <= 1, fail once |g| > 1 + 1/2
RULE = dict(est=0.0, err=0.25, tol=1.0, confidence=2.0)
TINY = 2.0**-40


def verdict(g, **kwargs):
    out = judge(g, **(RULE | kwargs))
    assert out.shape == () and out.dtype.kind == "U"
    return str(out)


def test_the_names_of_the_verdicts():
    assert (PASS, FAIL, INCONCLUSIVE, UNCHECKED) == ("pass", "fail", "inconclusive", "unchecked")
    assert VERDICTS == ("pass", "fail", "inconclusive")


@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize(
    "distance, expected",
    [
        (0.0, PASS),
        (0.5, PASS),  # |g - est| + k err == tol: the reference certifies agreement
        (0.5 + TINY, INCONCLUSIVE),
        (1.5, INCONCLUSIVE),  # |g - est| == tol + k err: not beyond the reference's error
        (1.5 + TINY, FAIL),
        (100.0, FAIL),
    ],
)
def test_pass_fail_and_inconclusive_at_their_exact_boundaries(sign, distance, expected):
    assert verdict(3.0 + sign * distance, est=3.0) == expected


def test_the_confidence_factor_multiplies_the_reference_error():
    assert verdict(0.5, confidence=2.0) == PASS
    assert verdict(0.5, confidence=2.0 + 2**-20) == INCONCLUSIVE
    assert verdict(1.5 + 2**-20, confidence=2.0) == FAIL
    assert verdict(1.5 + 2**-20, confidence=2.0 + 2**-10) == INCONCLUSIVE
    assert verdict(0.75, confidence=1.0) == PASS  # 0.75 + 0.25 <= 1
    assert verdict(1.25 + TINY, confidence=1.0) == FAIL  # > 1 + 0.25


def test_an_exact_reference_leaves_nothing_inconclusive():
    assert verdict(1.0, err=0.0) == PASS
    assert verdict(1.0 + TINY, err=0.0) == FAIL


# the interval of a kink: [low, high] = [-1, 2], low_err 1/4, high_err 1/8, tol 1, k 2
KINK = dict(est=0.5, low=-1.0, high=2.0, low_err=0.25, high_err=0.125)


@pytest.mark.parametrize(
    "g, expected",
    [
        (0.5, PASS),  # between the one-sided derivatives: a subgradient
        (-1.5, PASS),  # low - (tol - k low_err)
        (-1.5 - TINY, INCONCLUSIVE),
        (-2.5, INCONCLUSIVE),  # low - tol - k low_err
        (-2.5 - TINY, FAIL),
        (2.75, PASS),  # high + (tol - k high_err)
        (2.75 + TINY, INCONCLUSIVE),
        (3.25, INCONCLUSIVE),  # high + tol + k high_err
        (3.25 + TINY, FAIL),
    ],
)
def test_at_a_kink_the_target_is_the_interval_between_the_sides(g, expected):
    assert verdict(g, **KINK) == expected


def test_a_side_that_matches_passes_however_poorly_the_other_side_is_known():
    # the high side's error is so large that the interval rule alone passes nothing
    poorly_high = dict(low=0.0, high=1.0, low_err=0.0, high_err=10.0, confidence=1.0)
    assert verdict(1.0, **poorly_high) == PASS  # |g - low| + k low_err == tol
    assert verdict(-1.0, **poorly_high) == PASS
    assert verdict(1.0 + TINY, **poorly_high) == INCONCLUSIVE
    poorly_low = dict(low=0.0, high=1.0, low_err=10.0, high_err=0.0, confidence=1.0)
    assert verdict(0.0, **poorly_low) == PASS  # |g - high| + k high_err == tol
    assert verdict(2.0, **poorly_low) == PASS
    assert verdict(0.0 - TINY, **poorly_low) == INCONCLUSIVE


def test_slack_widens_only_the_fail_side():
    assert verdict(1.5 + TINY) == FAIL
    assert verdict(1.5 + TINY, slack=1.0) == INCONCLUSIVE
    assert verdict(-2.5, slack=1.0) == INCONCLUSIVE
    assert verdict(2.5 + TINY, slack=1.0) == FAIL
    assert verdict(-2.5 - TINY, slack=1.0) == FAIL
    assert verdict(0.5, slack=1.0) == PASS and verdict(0.5 + TINY, slack=1.0) == INCONCLUSIVE


def test_non_finite_values():
    for bad in (math.nan, math.inf, -math.inf):
        assert verdict(bad) == FAIL  # a claimed value that is not finite is wrong
        assert verdict(0.0, est=bad) == INCONCLUSIVE  # a reference that is not finite can't tell
    assert verdict(0.0, err=math.inf) == INCONCLUSIVE
    assert verdict(100.0, err=math.inf) == INCONCLUSIVE
    assert verdict(0.0, err=math.nan) == INCONCLUSIVE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nan and inf are judged silently
        assert verdict(math.nan, est=math.nan, err=math.inf) == FAIL
        assert verdict(0.0, err=math.inf, tol=math.inf) == INCONCLUSIVE


BASE = dict(g=0.0, est=0.0, err=0.0, tol=1.0, low=0.0, high=0.0, low_err=0.0, high_err=0.0)
ARRAY_CASES = {  # name: (a value that changes the verdict, other arguments)
    "g": (5.0, {}),
    "est": (5.0, dict(low=None, high=None, low_err=None, high_err=None)),
    "err": (math.inf, dict(low=None, high=None, low_err=None, high_err=None)),
    "est ": (math.inf, {}),  # an infinite reference is no reference, whatever the interval
    "tol": (-10.0, {}),
    "low": (5.0, dict(high_err=10.0)),  # g matches the low side only
    "high": (-5.0, dict(low_err=10.0)),  # g matches the high side only
    "low_err": (10.0, dict(high=3.0)),
    "high_err": (10.0, dict(low=-3.0)),
    "slack": (10.0, dict(g=1.5)),
}


@pytest.mark.parametrize("name", list(ARRAY_CASES))
def test_judge_works_elementwise_whichever_argument_is_an_array(name):
    """Any one argument may be an array: each entry gets the verdict of its own values."""
    other, changes = ARRAY_CASES[name]
    name = name.strip()
    args = {k: v for k, v in (BASE | {"slack": 0.0} | changes).items() if v is not None}
    one = [str(judge(confidence=1.0, **(args | {name: v}))) for v in (args[name], other)]
    assert one[0] != one[1]
    out = judge(confidence=1.0, **(args | {name: np.array([args[name], other])}))
    assert out.shape == (2,) and out.tolist() == one


def test_judge_broadcasts_to_the_shape_of_all_its_arguments():
    out = judge(np.zeros((2, 1)), np.zeros(3), 0.0, 1.0, 3.0)
    assert out.shape == (2, 3) and np.all(out == PASS)
    assert out.dtype.kind == "U"
    out = judge([0.0, 1.0, 3.0], 0.0, 0.25, 1.0, 2.0)  # lists work too
    assert out.tolist() == [PASS, INCONCLUSIVE, FAIL]


def test_judge_does_not_modify_its_inputs():
    g, est = np.array([0.0, 9.0]), np.array([0.0, 0.0])
    judge(g, est, np.zeros(2), np.ones(2), 3.0)
    assert g.tolist() == [0.0, 9.0] and est.tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "verdicts, expected",
    [
        ([PASS, PASS], PASS),
        ([PASS, INCONCLUSIVE], INCONCLUSIVE),
        ([INCONCLUSIVE, FAIL, PASS], FAIL),
        ([FAIL], FAIL),
        ([UNCHECKED, PASS], PASS),  # entries a fast check skipped say nothing
        ([UNCHECKED], PASS),
        ([], PASS),
    ],
)
def test_overall_fail_beats_inconclusive_beats_pass(verdicts, expected):
    assert overall(verdicts) == expected
    assert overall(iter(verdicts)) == expected  # any iterable, read once
    assert overall(np.array(verdicts, dtype=str)) == expected


def test_json_ready_writes_only_json_numbers():
    value = {
        "floats": [1.5, math.inf, -math.inf, math.nan],
        "numpy": (np.float32(0.25), np.float64(np.nan), np.int64(7), np.bool_(True)),
        "array": np.array([[1, 2], [3, 4]], dtype=np.int32),
        3: np.dtype("float32"),
        "plain": [True, 2, None, "text"],
    }
    out = json_ready(value)
    assert out == {
        "floats": [1.5, None, None, None],
        "numpy": [0.25, None, 7, True],
        "array": [[1, 2], [3, 4]],
        "3": "float32",
        "plain": [True, 2, None, "text"],
    }
    kinds = [type(v) for v in out["numpy"]]
    assert kinds == [float, type(None), int, bool]
    assert type(out["array"][0][0]) is int and type(out["plain"][0]) is bool
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_json_ready_keeps_numbers_and_refuses_what_it_cannot_write():
    assert json_ready(np.float64(2.5)) == 2.5 and type(json_ready(np.float64(2.5))) is float
    assert json_ready(np.array(3.0)) == 3.0
    assert json_ready(np.array([np.inf, 1.0])) == [None, 1.0]
    assert json_ready(False) is False and json_ready(np.bool_(False)) is False
    assert json_ready(0) == 0 and type(json_ready(np.uint8(0))) is int
    assert json_ready({}) == {} and json_ready(()) == []
    for bad, name in [({1, 2}, "set"), (object(), "object"), (1j, "complex")]:
        with pytest.raises(TypeError, match=f"^cannot write a {name} as JSON$"):
            json_ready(bad)
    with pytest.raises(TypeError, match="cannot write a set"):
        json_ready({"nested": [{"deep": {3}}]})


def test_float32_inputs_are_judged_in_float64():
    """1 + 2^-23 + 3 x 2^-30 exceeds a tolerance of 1 + 2^-23, though not in float32."""
    one = np.float32(1 + 2**-23)
    assert judge(one, np.float32(0), np.float32(2**-30), one, 3.0) == INCONCLUSIVE
    assert judge(one, np.float32(0), np.float32(0), one, 3.0) == PASS


def test_an_interval_narrowed_by_its_errors_keeps_its_edges():
    """tol < k err: the interval shrinks from that side, and its new edge still passes."""
    narrowed_low = dict(low=0.0, high=10.0, low_err=1.0, high_err=0.0)
    assert verdict(1.0, **narrowed_low) == PASS  # low - (tol - k low_err) = 1
    assert verdict(1.0 - TINY, **narrowed_low) == INCONCLUSIVE
    narrowed_high = dict(low=-10.0, high=0.0, low_err=0.0, high_err=1.0)
    assert verdict(-1.0, **narrowed_high) == PASS  # high + (tol - k high_err) = -1
    assert verdict(-1.0 + TINY, **narrowed_high) == INCONCLUSIVE


def test_a_side_matches_by_its_distance_from_g():
    poorly_high = dict(low=5.0, high=6.0, low_err=0.0, high_err=10.0, confidence=1.0)
    assert verdict(6.0, **poorly_high) == PASS and verdict(4.0, **poorly_high) == PASS
    assert verdict(-5.0, **poorly_high) == FAIL
    poorly_low = dict(low=5.0, high=6.0, low_err=10.0, high_err=0.0, confidence=1.0)
    assert verdict(7.0, **poorly_low) == PASS and verdict(5.0, **poorly_low) == PASS
    assert verdict(-20.0, **poorly_low) == FAIL
