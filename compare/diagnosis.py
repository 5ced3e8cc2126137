"""What kind of mistake a wrong gradient is.

Given the analytic gradient of one parameter and the numerical one (at every entry, or at a
sample of entries plus a few random directions), ``diagnose`` names the pattern of the error:

- ``shape``      the gradient has the wrong shape (and ``transpose`` when it is the transpose)
- ``non-finite`` it holds nan or inf
- ``zero``       it is missing, or zero where the function is not flat
- ``sign``       it is the negative of the right one
- ``scale``      it is the right one times a constant (x m, x 1/2, ...)
- ``transpose``  a square gradient that is the transpose of the right one
- ``term``       it differs by a multiple of the parameter itself (a missing L2 term, lambda x)
- ``swap``       it equals the gradient of another parameter (a layer off by one)
- ``rows`` / ``columns`` / ``entries``  only some of it is wrong, and which
- ``values``     wrong, with no simpler pattern
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Diagnosis", "DirectionCheck", "diagnose", "describe_factor"]

_SIMPLE = [2, 3, 4, 10]


@dataclass
class Diagnosis:
    kinds: list[str] = field(default_factory=list)
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.kinds)


@dataclass(frozen=True)
class DirectionCheck:
    """A fast check along one random direction v of one parameter: the analytic ``g . v``
    against the numerical derivative along v, the largest difference that is not evidence of a
    mistake, and what the diagnosis needs (``x . v``, and ``g^T . v`` for a square g)."""

    analytic: float
    numerical: float
    threshold: float
    x_dot_v: float
    transpose_dot_v: float | None
    verdict: str


def describe_factor(c: float, factors: dict | None = None, rel: float = 1e-4) -> str:
    """'x m (= 200)', 'x 1/2', 'x -1/m (= 1/200)', 'x 0.731': a scale factor, named when it
    (or, for a negative one, its size) is a known one."""
    if c < 0:
        return "x -" + describe_factor(-c, factors, rel).removeprefix("x ")
    named = dict(factors or {})
    for name, value in named.items():
        if value and abs(c - value) <= rel * abs(value):
            return f"x {name} (= {value:g})"
        if value and abs(c - 1 / value) <= rel / abs(value):
            return f"x 1/{name} (= 1/{value:g})"
    for k in _SIMPLE:
        if abs(c - k) <= rel * k:
            return f"x {k}"
        if abs(c - 1 / k) <= rel / k:
            return f"x 1/{k}"
    return f"x {c:.6g}"


def _fits(a, b, tol) -> bool:
    return bool(np.all(np.abs(a - b) <= tol))


def _scale_fit(a, n, tol):
    """c with a ~ c n everywhere (within tol scaled by |c|), or None."""
    nn = float(n @ n)
    if nn == 0:
        return None
    c = float(a @ n) / nn
    if c == 0 or not np.isfinite(c):
        return None
    if _fits(a, c * n, tol * max(abs(c), 1.0)):
        return c
    return None


def _scale_words(c: float, factors) -> Diagnosis:
    if abs(c + 1) <= 1e-4:
        return Diagnosis(["sign"], "sign: the gradient is the negative of the right one")
    if c < 0:
        return Diagnosis(
            ["sign", "scale"],
            f"sign and scale: the gradient is the right one {describe_factor(c, factors)}",
        )
    return Diagnosis(
        ["scale"], f"scale: the gradient is the right one {describe_factor(c, factors)}"
    )


def _which(mask: np.ndarray, shape: tuple, idx: np.ndarray, full: bool) -> Diagnosis:
    """Rows, columns or entries where a partly wrong gradient is wrong."""
    bad = [np.unravel_index(i, shape) for i in idx[mask]]
    good = [np.unravel_index(i, shape) for i in idx[~mask]]
    n_bad, n_all = int(mask.sum()), mask.size
    scope = "" if full else " (of the sampled entries)"
    if len(shape) == 2 and good:
        bad_rows = sorted({int(r) for r, _ in bad})
        good_rows = {int(r) for r, _ in good}
        if not good_rows & set(bad_rows):
            return Diagnosis(
                ["rows"], f"rows: row(s) {_short(bad_rows)} are wrong{scope}, the other rows agree"
            )
        bad_cols = sorted({int(c) for _, c in bad})
        good_cols = {int(c) for _, c in good}
        if not good_cols & set(bad_cols):
            return Diagnosis(
                ["columns"],
                f"columns: column(s) {_short(bad_cols)} are wrong{scope}, the other columns agree",
            )
    if good:
        where = _short([tuple(int(j) for j in b) for b in bad])
        return Diagnosis(
            ["entries"], f"entries: {n_bad} of {n_all} checked entries are wrong{scope}: {where}"
        )
    return Diagnosis(["values"], f"values: every checked entry is wrong ({n_all}){scope}")


def _short(items, most: int = 6) -> str:
    items = list(items)
    text = ", ".join(str(i) for i in items[:most])
    return f"[{text}{', ...' if len(items) > most else ''}]"


def diagnose(
    name: str,
    *,
    analytic: np.ndarray | None,
    shape: tuple,
    idx: np.ndarray,
    numerical: np.ndarray,
    threshold: np.ndarray,
    verdicts: np.ndarray,
    kink: np.ndarray,
    x: np.ndarray,
    directions: list[DirectionCheck] | None = None,
    others: dict | None = None,
    factors: dict | None = None,
    full: bool = True,
) -> Diagnosis:
    """Name the mistake in ``analytic`` (the gradient given for parameter ``name``), or return
    an empty Diagnosis when nothing failed.

    ``idx`` are the flat indices checked, ``numerical`` the reference values there,
    ``threshold`` the largest difference that is no evidence of a mistake (tolerance plus the
    reference's error bound), ``verdicts`` the entries' verdicts and ``kink`` where f has a
    kink (their reference is an interval, so they count only as failing or not). ``x`` holds the
    parameter's values there; ``directions`` the fast check's directional checks; ``others``
    maps other parameter names to ``(idx, numerical, shape)``, for spotting swapped gradients.
    A pattern is named only when every entry and direction that can tell agrees with it.
    """
    if analytic is None:
        if np.any(np.abs(numerical) > threshold):
            return Diagnosis(
                ["zero"],
                f"zero: no gradient was given for {name} (a missing key), "
                "but the function depends on it",
            )
        return Diagnosis(["zero"], f"zero: no gradient was given for {name} (a missing key)")
    if analytic.shape != shape:
        text = f"shape: expected {shape}, got {analytic.shape}"
        kinds = ["shape"]
        if analytic.shape == shape[::-1] and len(shape) == 2:
            if _fits(analytic.T.ravel()[idx], numerical, threshold):
                kinds.append("transpose")
                text += "; it is the transpose of the right gradient"
        for other, (_, _, other_shape) in (others or {}).items():
            if other_shape == analytic.shape and "transpose" not in kinds:
                kinds.append("swap")
                text += f"; it has the shape of {other}'s gradient (a layer off by one?)"
                break
        return Diagnosis(kinds, text)
    finite = np.isfinite(analytic)
    if not finite.all():
        where = [tuple(int(j) for j in i) for i in np.argwhere(~finite)]
        return Diagnosis(
            ["non-finite"],
            f"non-finite: {len(where)} entries are nan or inf, e.g. {_short(where, 3)}",
        )
    a = analytic.ravel()[idx]
    directions = [d for d in directions or [] if d.verdict != "inconclusive"]
    bad = verdicts == "fail"
    dir_bad = [d.verdict == "fail" for d in directions]
    if not bad.any() and not any(dir_bad):
        return Diagnosis()
    use = (verdicts != "inconclusive") & ~kink
    a_use, n_use, t_use = a[use], numerical[use], threshold[use]
    if not np.any(analytic):  # (an entry or a direction failed: the function is not flat)
        return Diagnosis(
            ["zero"],
            "zero: the gradient is all zeros, but the function is not "
            "flat in this parameter (a missing gradient)",
        )

    # whole-parameter patterns: the entries and the directions must all tell the same story
    d_a = np.array([d.analytic for d in directions])
    d_n = np.array([d.numerical for d in directions])
    d_t = np.array([d.threshold for d in directions])
    all_a, all_n, all_t = (
        np.concatenate([a_use, d_a]),
        np.concatenate([n_use, d_n]),
        np.concatenate([t_use, d_t]),
    )
    c = _scale_fit(all_a, all_n, all_t)
    if c is not None and abs(c - 1) > 1e-6:
        return _scale_words(c, factors)
    if len(shape) == 2 and shape[0] == shape[1]:
        t_entries = analytic.T.ravel()[idx][use]
        t_dirs = np.array([d.transpose_dot_v for d in directions])
        if _fits(np.concatenate([t_entries, t_dirs]), all_n, all_t):
            return Diagnosis(
                ["transpose"], "transpose: the gradient is the transpose of the right one"
            )
    xs = np.concatenate([x[use], np.array([d.x_dot_v for d in directions])])
    if np.any(xs):
        resid = all_a - all_n
        lam = float(resid @ xs) / float(xs @ xs)
        if lam != 0 and _fits(resid, lam * xs, all_t):
            verb = "an extra" if lam > 0 else "a missing"
            return Diagnosis(
                ["term"],
                f"term: the gradient has {verb} term {abs(lam):.4g} x {name} "
                f"(an L2 regularisation term lambda*{name} with lambda = {abs(lam):.4g}?)",
            )
    for other, (o_idx, o_num, o_shape) in (others or {}).items():
        if o_shape == shape and np.array_equal(o_idx, idx) and not directions:
            if _fits(a_use, o_num[use], t_use) and not _fits(o_num[use], n_use, t_use):
                return Diagnosis(
                    ["swap"], f"swap: the gradient is {other}'s gradient (a layer off by one?)"
                )
    if directions and any(dir_bad) and not bad.any():
        return Diagnosis(
            ["values"],
            f"values: {sum(dir_bad)} of {len(directions)} random "
            "directions disagree, though the sampled entries agree",
        )
    return _which(bad, shape, idx, full)
