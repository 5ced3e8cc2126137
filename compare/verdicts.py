"""Verdicts: "pass", "fail" or "inconclusive", and the rule that gives them.

With ``est`` the reference value, ``err`` its own error bound, ``tol`` the tolerance and ``k``
the confidence factor, a claimed value ``g`` is judged by an interval rule:

    pass          |g - est| + k err <= tol     the reference is good enough to certify agreement
    fail          |g - est| > tol + k err      the disagreement exceeds the reference's own error
    inconclusive  otherwise                    the reference cannot tell

At a kink of f (the one-sided derivatives ``left`` and ``right`` differ, found from f alone)
the target is the interval between them: every value in [min, max] is a subgradient of a
convex kink (and a Clarke generalised derivative in general), so ``|g - est|`` becomes the
distance from g to that interval. A verdict over many entries is "fail" if any entry fails,
else "inconclusive" if any is, else "pass".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = [
    "PASS",
    "FAIL",
    "INCONCLUSIVE",
    "UNCHECKED",
    "VERDICTS",
    "judge",
    "overall",
    "REASONS",
    "ADVICE",
    "json_ready",
]

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
UNCHECKED = "unchecked"  # an entry a fast check did not look at
VERDICTS = (PASS, FAIL, INCONCLUSIVE)

# why an entry is inconclusive, and what to do about it
KINK, NOISE, NOT_FINITE = "kink", "noise", "not finite nearby"
REASONS = {
    KINK: "at a kink of f (its left and right derivatives differ) the one-sided differences "
    "could not settle whether the gradient lies between them",
    NOISE: "the noise of f is too large for the differences to resolve the gradient to the "
    "tolerance",
    NOT_FINITE: "f is not finite (or does not move at all) at the points the differences need",
}
ADVICE = {
    KINK: "check at another point, away from the kink",
    NOISE: "compute f in float64, check at another point, or pass a larger step or rtol",
    NOT_FINITE: "check at another point, where f is finite nearby, or pass a smaller step",
}


def judge(
    g,
    est,
    err,
    tol,
    confidence: float,
    low=None,
    high=None,
    low_err=None,
    high_err=None,
    slack=0.0,
):
    """Verdicts (an array of str) by the interval rule; elementwise over arrays.

    ``low``/``high`` (optional, with their own error bounds) widen the target to an interval
    (a kink's one-sided derivatives): g passes when it lies in
    ``[low - (tol - k low_err), high + (tol - k high_err)]`` or matches one side by the rule
    above, and fails when it lies outside
    ``[low - tol - k low_err, high + tol + k high_err]``; with ``low = high = est`` this is the
    rule above. ``slack`` widens only the fail side: the jump of a kink that the
    differences could not exclude (at such a kink, either side would be right). A non-finite
    ``g`` fails; a non-finite ``est`` or ``err`` is inconclusive.
    """
    g, est, err, tol = (np.asarray(a, dtype=np.float64) for a in (g, est, err, tol))
    low = est if low is None else np.asarray(low, dtype=np.float64)
    high = est if high is None else np.asarray(high, dtype=np.float64)
    low_err = err if low_err is None else np.asarray(low_err, dtype=np.float64)
    high_err = err if high_err is None else np.asarray(high_err, dtype=np.float64)
    k = confidence
    with np.errstate(invalid="ignore"):
        passed = (g >= low - (tol - k * low_err)) & (g <= high + (tol - k * high_err))
        passed |= np.abs(g - low) + k * low_err <= tol  # matches one side, however poorly
        passed |= np.abs(g - high) + k * high_err <= tol  # the other side is known
        wide = tol + np.asarray(slack, dtype=np.float64)
        failed = (g < low - wide - k * low_err) | (g > high + wide + k * high_err)
    known = np.isfinite(est) & np.isfinite(err)
    shape = np.broadcast(failed, known).shape  # every argument's shape meets in these two
    out = np.full(shape, INCONCLUSIVE)  # (the longest of the three names)
    out[np.broadcast_to(passed & known, shape)] = PASS
    out[np.broadcast_to(failed & known, shape)] = FAIL
    out[np.broadcast_to(~np.isfinite(g), shape)] = FAIL
    return out


def overall(verdicts: Iterable[str]) -> str:
    """'fail' if any is, else 'inconclusive' if any is, else 'pass' (unchecked ones ignored)."""
    seen = set(verdicts)
    if FAIL in seen:
        return FAIL
    if INCONCLUSIVE in seen:
        return INCONCLUSIVE
    return PASS


def json_ready(value):
    """``value`` with every number a JSON number: floats stay floats, inf and nan become
    None (JSON has neither), NumPy scalars and arrays become Python ones, tuples become lists,
    a dtype its name; anything else is refused rather than written as a string."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.dtype):
        return value.name
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")
