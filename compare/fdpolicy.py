"""The finite-difference policy: every choice a numerical derivative makes, written once.

Every estimate is the derivative at 0 of a one-variable function ``phi(t) = f(x + t d)``,
with ``d`` one entry's unit vector (times that entry's scale ``max(|x_i|, 1)``) or a direction.

Classic fixed-step formulas (``numerical_grad``, the batched network reference, the plots):

- central:    D(h) = (phi(h) - phi(-h)) / 2h                 error O(h^2) + O(noise / h)
- richardson: R = (4 D(h/2) - D(h)) / 3 cancels the h^2 term  error O(h^4) + O(noise / h)
- complex:    Im phi(ih) / h with h = COMPLEX_STEP            no subtraction: exact to rounding

The verdicts of ``check_grad`` use a *step ladder* instead: steps ``h_j = h_0 / 2^j`` from
``h_0 = LADDER_START`` (times the entry's scale), for the central difference D(h) and the
one-sided differences R(h) = (phi(h) - phi(0)) / h and L(h) = (phi(0) - phi(-h)) / h. Each
sequence is refined by Richardson extrapolation (a tableau: D's error has even powers of h,
the one-sided ones every power), and every tableau entry T gets an error bound:

    truncation = the larger change of T from the next coarser and the next finer step
                 at the same order;
    noise      = (measured noise of f) x (sum of |coefficients| of the formula) / h.

The estimate kept is the one with the smallest bound. The noise of f is measured (Moré & Wild,
"Estimating computational noise", SIAM J. Sci. Comput. 2011) from a table of differences of f
at a few close points along a line, on several lines, keeping the smallest level; when every
value seen sits on one grid of step q (a quantised f), the level is at least q / sqrt(12). The
values the ladders see count too (``with_ladders``): where f has a tiny slope it moves by many
quanta only at the ladder's large steps.

Tolerances follow the precision f really has (``Tolerance``); the verdict rule is in
``verdicts``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "METHODS",
    "COMPLEX_STEP",
    "STEP_POWER",
    "LADDER_START",
    "LADDER_LENGTH",
    "classic_step",
    "default_steps",
    "offsets",
    "combine",
    "ladder_steps",
    "Estimate",
    "LadderResult",
    "run_ladder",
    "Noise",
    "estimate_noise",
    "grid_quantum",
    "with_ladders",
    "Tolerance",
]

METHODS = ("central", "richardson", "complex")
COMPLEX_STEP = 1e-20  # Im f(x + ih) / h has no subtraction, so h can be tiny: exact to rounding
# the classic steps eps^power balance truncation against round-off: eps^(1/3) for central
# differences; a little below its optimum for Richardson, eps^(1/4), so that the error bound it
# reports, |R - D(h/2)|, stays small and the step straddles fewer kinks
STEP_POWER = {"central": 1 / 3, "richardson": 1 / 4}

LADDER_START = 0.5  # the largest step, times max(|x_i|, 1): large steps certify near-zero slopes
LADDER_LENGTH = 12  # halvings: the smallest step is LADDER_START / 2^11, about 2.4e-4
LADDER_MIN_STEPS = 4  # never stop before this many steps: kinks need a few rows to show
MAX_ORDER = 3  # Richardson levels in the tableau
KINK_ROWS = 4  # a kink must show in the jump R(h) - L(h) at the finest rows of the ladder
NOISE_LINES = 3  # lines along which the noise of f is measured; the smallest level is kept
NOISE_POINTS = 7  # points per line (a difference table up to order 6)
NOISE_SPACINGS = np.array([1e-2, 1.0, 1e2, 1e4])  # times eps^(1/3), at most 0.1
ROUNDING_ROOM = 8  # ulps a value may be off by (f may cancel larger numbers to reach it)
QUANTUM_SILENCE = 1e-9  # higher differences this small next to the first: f steps by quanta
GRID_SLACK = 0.125  # f's values may sit this fraction of a quantum off its grid (rounding of k q)
GRID_EVIDENCE = 4  # second differences that must show whole quanta: a linear f shows none


def classic_step(method: str, eps: float) -> float:
    """The fixed base step of ``method`` (times ``max(|x_i|, 1)`` per entry)."""
    if method == "complex":
        return COMPLEX_STEP
    return eps ** STEP_POWER[method]


def default_steps(x0: np.ndarray, method: str, eps: float, step=None) -> np.ndarray:
    """Per-entry steps ``classic_step * max(|x_i|, 1)`` (or ``step * max(|x_i|, 1)``)."""
    scale = np.maximum(np.abs(x0), 1.0)
    if step is not None:
        return float(step) * scale
    if method == "complex":
        return np.full_like(x0, COMPLEX_STEP)
    return classic_step(method, eps) * scale


def offsets(method: str) -> tuple:
    """The points, in units of the step h, at which a method evaluates phi (besides phi(0))."""
    return {"complex": (1j,), "central": (1, -1), "richardson": (1, -1, 0.5, -0.5)}[method]


def combine(method: str, h, f0, values: list, eps: float, rounding_scale: float = 0.0):
    """(estimate, error, kink hint) of phi'(0) from phi at ``offsets(method)`` times ``h``.

    Works on scalars and, elementwise, on arrays (one step and one set of values per entry).
    The round-off part of the error is eps times the size of the values over h; a caller that
    knows f is computed from larger intermediate numbers passes their size as
    ``rounding_scale``. The kink hint (Richardson only: the second differences at h and h/2 do
    not scale as a smooth function's, a(h) = 2 a(h/2)) is a hint for screening, never a verdict.
    """
    h = np.asarray(h, dtype=float)
    if method == "complex":
        est = np.imag(values[0]) / h
        return est, 4 * np.finfo(float).eps * np.abs(est), np.zeros(np.shape(est), bool)
    fp, fm = np.real(values[0]), np.real(values[1])
    d_h = (fp - fm) / (2 * h)
    scale = np.maximum.reduce(
        [np.abs(np.real(v)) for v in values] + [np.abs(f0) + rounding_scale + 0 * h]
    )
    if method == "central":
        return d_h, 10 * eps * scale / h, np.zeros(np.shape(d_h), bool)
    fp2, fm2 = np.real(values[2]), np.real(values[3])
    d_h2 = (fp2 - fm2) / h
    est = (4 * d_h2 - d_h) / 3
    roundoff = 20 * eps * scale / h
    err = np.abs(est - d_h2) + roundoff
    second_h = (fp - 2 * f0 + fm) / h
    second_h2 = (fp2 - 2 * f0 + fm2) / (h / 2)
    kink = np.abs(second_h - 2 * second_h2) > 5 * roundoff + 0.05 * np.maximum(
        np.abs(second_h), np.abs(2 * second_h2)
    )
    return est, err, kink


def ladder_steps(scale: float, start: float | None = None, length: int = LADDER_LENGTH):
    """The step ladder ``start * scale / 2^j`` for j = 0 .. length - 1."""
    first = (LADDER_START if start is None else start) * scale
    return first / 2.0 ** np.arange(length)


@dataclass(frozen=True)
class Estimate:
    """A derivative estimate and a bound on its error (truncation + noise)."""

    value: float
    error: float
    step: float = math.inf  # the step of the differences it came from


_NONE = Estimate(math.nan, math.inf)


class _Tableau:
    """Richardson extrapolation of a sequence at halving steps, with error bounds.

    ``power`` is the exponent step of the error expansion: 2 for the central difference
    (errors h^2, h^4, ...), 1 for one-sided ones (h, h^2, ...). ``spread`` is the sum of the
    absolute coefficients of the base formula times h (1 for central, 2 for one-sided): the
    factor by which the noise of f reaches the estimate, before extrapolation.
    """

    def __init__(self, power: int, spread: float):
        self.power, self.rows, self.steps = power, [], []
        self.amplification = [spread]
        for k in range(1, MAX_ORDER + 1):
            c = 2.0 ** (power * k)
            # T[j,k] = (c T[j,k-1] - T[j-1,k-1]) / (c - 1); T[j-1,.] used the step 2 h_j
            self.amplification.append(self.amplification[-1] * (c + 0.5) / (c - 1))

    def add(self, h: float, value: float) -> None:
        if self.steps and abs(self.steps[-1] - 2 * h) > 1e-9 * h:
            # a skipped step: the tableau starts afresh (an empty row marks the break)
            self.rows.append([])
            self.steps.append(2 * h)
        row = [value]
        if self.rows and math.isfinite(value):
            prev = self.rows[-1]
            for k in range(1, min(len(prev), MAX_ORDER) + 1):
                c = 2.0 ** (self.power * k)
                row.append((c * row[k - 1] - prev[k - 1]) / (c - 1))
        self.rows.append(row)
        self.steps.append(h)

    def best(self, noise: float, last: int | None = None) -> Estimate:
        """The entry with the smallest error bound (needs a coarser neighbour at its order),
        among the ``last`` finest rows when given."""
        best = _NONE
        first = 1 if last is None else max(1, len(self.rows) - last)
        for j in range(first, len(self.rows)):
            for k in range(len(self.rows[j])):
                if len(self.rows[j - 1]) <= k:
                    continue
                value = self.rows[j][k]
                change = abs(value - self.rows[j - 1][k])
                if j + 1 < len(self.rows) and len(self.rows[j + 1]) > k:
                    change = max(change, abs(self.rows[j + 1][k] - value))
                bound = change + noise * self.amplification[k] / self.steps[j]
                if math.isfinite(value) and bound < best.error:
                    best = Estimate(value, bound, self.steps[j])
        return best


@dataclass(frozen=True)
class LadderResult:
    """What the ladder learned about phi'(0).

    ``central``, ``right`` and ``left`` are the three extrapolated derivatives; ``jump`` is the
    limit of R(h) - L(h) = (phi(h) - 2 phi(0) + phi(-h)) / h as h -> 0: zero for a smooth phi,
    the jump of the derivative at a kink at 0.
    """

    central: Estimate
    right: Estimate
    left: Estimate
    jump: Estimate  # from the finest rows: what confirms a kink
    finite: bool  # False when phi was finite at fewer than two pairs of steps
    jump_all: Estimate = _NONE  # from every row
    smallest_step: float = math.inf  # the smallest step taken so far
    # (phi(h+), phi(-h-), h+, h-) at every usable step: what a grid search reads
    values: tuple = field(default=(), repr=False, compare=False)

    def past_its_best(self) -> bool:
        """The sharpest estimate came three halvings ago: smaller steps only add noise."""
        return self.sharpest().step >= 8 * self.smallest_step

    def possible_jump(self, confidence: float) -> float:
        """The largest jump of the derivative at 0 that the ladder cannot exclude: a kink at
        0 shows in every row, so either estimate bounds it."""
        return (
            min(
                abs(e.value) + confidence * e.error
                for e in (self.jump, self.jump_all)
                if math.isfinite(e.error)
            )
            if math.isfinite(min(self.jump.error, self.jump_all.error))
            else math.inf
        )

    def kink(self, confidence: float) -> bool:
        """True when the right and left derivatives differ beyond the error bar of their
        difference: evidence from f alone, confirmed as the steps shrink (a kink merely inside
        the larger steps lets the smaller ones agree)."""
        return abs(self.jump.value) > confidence * self.jump.error

    def sharpest(self) -> Estimate:
        """The best of central, right and left (where no kink is flagged)."""
        return min((self.central, self.right, self.left), key=lambda e: e.error)


def run_ladder(
    pair: Callable[[float], tuple[float, float, float, float]],
    phi0: float,
    steps: np.ndarray,
    noise: float,
    *,
    extrapolate: bool = True,
    good_enough: Callable[[LadderResult], bool] | None = None,
) -> LadderResult:
    """Differences at the ladder ``steps`` (largest first), stopping early once ``good_enough``
    accepts the result (never before LADDER_MIN_STEPS steps).

    ``pair(h)`` returns ``(phi(h+), phi(-h-), h+, h-)``: the values and the steps actually
    taken (x + h rounded to the evaluation dtype moves by a slightly different amount). Pairs
    where phi is not finite are skipped (the tableau restarts after a gap). With
    ``extrapolate=False`` only the plain differences are kept (order 0 of the tableau).
    """
    tableaus = {
        "central": _Tableau(2, 1.0),
        "right": _Tableau(1, 2.0),
        "left": _Tableau(1, 2.0),
        "jump": _Tableau(1, 4.0),
    }
    usable, rows = 0, []
    result = LadderResult(_NONE, _NONE, _NONE, _NONE, False, _NONE)
    for h in steps:
        fp, fm, hp, hm = pair(float(h))
        if not (math.isfinite(fp) and math.isfinite(fm)) or hp <= 0 or hm <= 0:
            continue
        usable += 1
        rows.append((fp, fm, hp, hm))
        right, left = (fp - phi0) / hp, (phi0 - fm) / hm
        values = {
            "central": (fp - fm) / (hp + hm),
            "right": right,
            "left": left,
            "jump": right - left,
        }
        for name, tableau in tableaus.items():
            tableau.add(float(h), values[name])
            if not extrapolate:
                tableau.rows[-1] = tableau.rows[-1][:1]
        best = {name: t.best(noise) for name, t in tableaus.items()}
        # a kink is confirmed only where the steps have shrunk: at the finest rows
        best["jump_all"] = best["jump"]
        best["jump"] = tableaus["jump"].best(noise, last=KINK_ROWS)
        result = LadderResult(**best, finite=usable >= 2, smallest_step=h)
        if good_enough is not None and usable >= LADDER_MIN_STEPS and good_enough(result):
            break
    return replace(result, finite=usable >= 2, values=tuple(rows))


@dataclass(frozen=True)
class Noise:
    """The noise level of f near x (a standard deviation), how it was found, and f's size."""

    level: float
    measured: bool  # False: no noise was seen above rounding; level is the rounding floor
    f_scale: float
    evaluations: int
    float32_values: bool = False  # every value seen is a float32 number: f rounds to float32
    still: bool = False  # f never moved at any spacing: its level is its rounding
    quantum: float = 0.0  # the grid every value of f seen sits on (0: none coarser than rounding)
    tables: tuple = field(default=(), repr=False, compare=False)  # the values it was measured on

    def relative(self) -> float:
        """The noise as a fraction of f's size."""
        return self.level / self.f_scale if self.f_scale > 0 else 0.0

    def precision(self, eval_eps: float) -> float:
        """The eps f really computes with: float32's when its values are all float32 numbers
        or its noise says so (relative noise capped at float32's eps: an f near 0 computed
        from larger numbers has a large relative noise without being less precise than
        float32), else ``eval_eps``."""
        eps32 = float(np.finfo(np.float32).eps)
        if self.float32_values:
            return max(eval_eps, eps32)
        return max(eval_eps, min(self.relative(), eps32))


def _is_rounding(diffs, order: int, values_eps: float, scale: float, change: float = 0.0):
    """Which order-``order`` differences are no larger than rounding can make them: each
    value is off by about an ulp (of the values, or of larger numbers f cancelled to reach
    them: ROUNDING_ROOM of them), so D^k f by 2^k of those; and a smooth f's higher differences
    are at least ~ delta times its first ones ``change``, far above QUANTUM_SILENCE of them."""
    ulps = 2.0**order * ROUNDING_ROOM * values_eps * scale
    return np.abs(diffs) <= max(ulps, QUANTUM_SILENCE * change)


@dataclass(frozen=True)
class _TableNoise:
    """What one difference table says about f's noise.

    ``level`` is ECnoise's level (None when the signal dominates). ``hidden`` means the
    spacing was too small to see the noise: f's values repeat (half the first differences are
    zero) or the differences at the accepted order are mostly zero — a quantised f stepping by
    whole quanta looks noise-free there. ``quantum`` is the smallest change of f seen in a table
    whose values repeat: an upper bound on a quantised f's grid (0 when none).
    """

    level: float | None
    hidden: bool = False
    quantum: float = 0.0
    change: float = 0.0  # the largest change of f between neighbours in the table


def _noise_from_table(values: np.ndarray) -> float | None:
    """Moré & Wild's ECnoise on equally spaced values along a line: the noise level, or None
    when the differences show no consistent noise (signal dominates, or too few changes).

    The k-th differences of pure noise of level s have mean square s^2 (2k)! / (k!)^2, so
    sigma_k = sqrt(gamma_k mean(D^k f ^ 2)) with gamma_k = (k!)^2 / (2k)! estimates s; noise is
    accepted at the first order where three consecutive sigma_k agree within a factor 4 (the
    largest at most 4 times the smallest) and the differences change sign.
    """
    return _read_table(values).level


@np.errstate(over="ignore")
def _all_float32(values: np.ndarray) -> bool:
    """Whether every value is a float32 number. A value beyond float32's range casts to inf,
    which differs from it: not a float32 number (and not an overflow to warn about)."""
    return bool(np.all(values.astype(np.float32).astype(np.float64) == values))


def _read_table(values: np.ndarray) -> _TableNoise:
    """ECnoise (``_noise_from_table``) with Moré & Wild's check that the spacing is not too
    small: when the values repeat, or the differences at the order where noise is read are
    mostly within rounding of zero while f does change, the table is ``hidden``."""
    values = values.astype(np.float64)
    scale = float(np.max(np.abs(values)))
    is32 = _all_float32(values)
    values_eps = float(np.finfo(np.float32 if is32 else np.float64).eps)
    first = np.diff(values)
    zeros = _is_rounding(first, 1, values_eps, scale)
    if 2 * np.sum(zeros) >= first.size:  # f's values repeat: the noise is between them
        moved = np.abs(first[~zeros])
        return _TableNoise(None, True, float(np.min(moved)) if moved.size else 0.0)
    sigmas, signs, tables = [], [], []
    diffs = values
    for k in range(1, values.size):
        diffs = np.diff(diffs)
        tables.append(diffs)
        gamma = math.factorial(k) ** 2 / math.factorial(2 * k)
        sigmas.append(math.sqrt(gamma * float(np.mean(diffs**2))))
        signs.append(bool(np.any(diffs > 0) and np.any(diffs < 0)))
    for k in range(len(sigmas) - 2):
        window = sigmas[k : k + 3]
        if min(window) > 0 and max(window) <= 4 * min(window) and signs[k]:
            change = float(np.max(np.abs(first)))
            rounding = _is_rounding(tables[k], k + 1, values_eps, scale, change)
            hidden = k > 0 and bool(np.all(rounding))
            return _TableNoise(window[0], hidden, 0.0, change)
    return _TableNoise(None)


def grid_quantum(seen: list, f0: float, ladders: list = ()) -> float:
    """The quantum q of the grid f's values sit on, when they visibly sit on one: 0 otherwise.

    A quantised f, f(x) = c + q round(s(x) / q), takes only the values c + k q, so every
    difference of its values, first or second, is a whole number of quanta. Two candidates
    for q: the smallest first difference between neighbouring points seen anywhere (a line
    where f repeats shows one quantum) and the smallest second difference (where f moves by
    many quanta between points, its steps still differ by single ones). A candidate is
    accepted when every value seen, f(x) included, lies within GRID_SLACK q (plus the rounding
    of the values) of f(x) + k q, and the coarsest accepted grid is the quantum: an f rounded
    to q in float32 sits on float32's fine grid too, and only the coarse one says how noisy
    it is (so once a grid is found, candidates are sought again above 8 of its steps).

    The test has teeth only where the values could have missed the grid: a value off a grid is
    off by a fraction of q spread over [-1/2, 1/2], so N such values pass with chance
    (2 GRID_SLACK)^N. Values along a line where f is exactly linear (a relu network between
    its kinks, a relu alive along the one line that moves) are not N chances but one: every
    step is the same, and its first difference is a grid they all sit on. So a grid needs
    GRID_EVIDENCE second differences that are not zero, each a whole number of quanta: a
    quantised f makes them wherever its steps differ by a quantum (and where it repeats), a
    linear one never, a smooth one at random fractions of any grid. A grid no coarser than
    8 ROUNDING_ROOM ulps of f's size is f's own rounding, which the rounding floor of
    ``estimate_noise`` already covers: not reported.

    ``ladders`` adds the values the step ladders saw (``LadderResult.values``), where f moves
    by many more quanta than along the short noise lines (an f of tiny slope may not move by
    four quanta there at all). A ladder's points are not equally spaced, so its second
    differences are the two combinations a line through phi(0) cancels: across,
    phi(h) + phi(-h) - 2 phi(0), and down, phi(h_j) - 2 phi(h_j+1) + phi(0) with
    h_j = 2 h_j+1. Both are whole quanta for a quantised f. With the steps actually taken
    (x + h rounded to float32 moves by a slightly different h), a line of slope s makes them
    s (h+ - h-) and s (h_j - 2 h_j+1), not 0: only combinations beyond twice that, for the
    largest slope the ladder saw, are evidence. Every value's distance from phi(0) must sit on
    the grid; one grid must fit every ladder and every table at once, so a line's own step
    (a different one for every entry of a relu network) is never taken for f's grid.
    """
    if not seen and not ladders:
        return 0.0
    tables = [np.asarray(v, dtype=np.float64) for v in seen]
    walks = [_ladder_spans(rows, f0) for rows in ladders if rows]
    values = np.concatenate([*tables, *(w[0] + f0 for w in walks), [f0]])
    rounding = ROUNDING_ROOM * float(np.finfo(np.float64).eps) * float(np.max(np.abs(values)))
    changes = [
        np.abs(np.concatenate([np.diff(v, order) for v in tables] + [np.zeros(0)]))
        for order in (1, 2)
    ]
    moves = np.abs(np.concatenate([w[0] for w in walks] + [np.zeros(0)]))
    combos = [np.concatenate([w[k] for w in walks] + [np.zeros(0)]) for k in (1, 2)]
    evidence = np.where(np.abs(combos[0]) > combos[1], np.abs(combos[0]), 0.0)
    spans = np.concatenate([*changes, values - f0])
    return _coarsest_grid(
        [changes[0], changes[1], moves, evidence],
        np.concatenate([changes[1], evidence]),
        spans,
        rounding,
    )


def _ladder_spans(rows, f0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(every phi(+-h) - phi(0), the ladder's second differences, what a line makes of them)."""
    rows = np.asarray(rows, dtype=np.float64)
    fp, fm, hp, hm = (rows[:, k] for k in range(4))
    moves = np.concatenate([fp - f0, fm - f0])
    slope = float(np.max(np.abs(moves) / np.concatenate([hp, hm])))
    combos = [fp + fm - 2 * f0, fp[:-1] - 2 * fp[1:] + f0, fm[:-1] - 2 * fm[1:] + f0]
    linear = [hp - hm, hp[:-1] - 2 * hp[1:], hm[:-1] - 2 * hm[1:]]
    return moves, np.concatenate(combos), 2 * slope * np.abs(np.concatenate(linear))


def _coarsest_grid(candidates: list, evidence: np.ndarray, spans: np.ndarray, rounding: float):
    """The coarsest grid every span fits (``_fit_grid``), tried from the smallest non-zero
    ``candidates`` up, while GRID_EVIDENCE of the ``evidence`` are not zero: 0 when none.

    Each grid must clear the last: a candidate, and the grid refit from it, must be strictly
    above 8 times the grid found so far (8 times ``rounding`` for the first); a grid of exactly
    that size is rounding of the last one, and the search stops at the last."""
    found, floor = 0.0, 8 * rounding
    while True:  # from fine grids to coarser ones: each must clear 8 of the last
        if np.sum(evidence > floor) < GRID_EVIDENCE:
            return found
        # never empty: the evidence counted above is among the candidates
        smallest = [float(np.min(c[c > floor])) for c in candidates if np.any(c > floor)]
        coarser = max(_fit_grid(spans, q, rounding) for q in smallest)
        if coarser <= floor:
            return found
        found, floor = coarser, 8 * coarser


def with_ladders(noise: Noise, f0: float, ladders: list) -> Noise:
    """``noise`` with the grid the ladders' values show as well (``grid_quantum`` over the
    noise tables and every ladder at once): its level raised to q / sqrt(12), the standard
    deviation of rounding to a grid of q, when that is above the level the noise lines read.
    The ladders' error bounds (noise x coefficients / h) took the lower level, so the caller
    takes them again with this one."""
    if noise.still or not math.isfinite(noise.level):
        return noise
    quantum = grid_quantum(list(noise.tables), f0, [rows for rows in ladders if rows])
    level = quantum / math.sqrt(12)
    if level <= 1.1 * noise.level:  # the same grid, refit: nothing to take again
        return noise
    return replace(noise, level=level, measured=True, quantum=quantum)


def _fit_grid(spans: np.ndarray, q: float, rounding: float) -> float:
    """q refined so that every span is a whole number of quanta, or 0 when one is not.

    The first q is off by up to the rounding of the values (and by a float32 rounding of
    k q, for an f quantised in float32), which k quanta away grows to k times that: so the
    spans (the differences in the tables, then the values' distances from f(x)) are taken
    from the shortest out, each one's k = round(span / q) is checked against the grid, and q
    is refit by least squares, sum(k span) / sum(k^2), whose error shrinks as 1 / |k| faster
    than the spans grow.
    """
    sum_kd = sum_kk = 0.0
    for d in spans[np.argsort(np.abs(spans))]:
        k = round(float(d) / q)
        if abs(d - k * q) > GRID_SLACK * q + rounding:
            return 0.0
        if k:
            sum_kd, sum_kk = sum_kd + k * float(d), sum_kk + float(k) ** 2
            q = sum_kd / sum_kk
    return q


def estimate_noise(
    along: Callable[[object, float], np.ndarray],
    lines: list,
    f0: float,
    eps: float,
) -> Noise:
    """The noise of f near x: ECnoise on each line, the smallest level kept.

    ``along(line, delta)`` returns f at NOISE_POINTS points delta apart on ``line``, for
    spacings ``eps^(1/3) x NOISE_SPACINGS`` tried from the closest until noise shows, and the
    smallest level over the lines is kept (a line that crosses a kink sees its jump as noise;
    a relu network over many examples has kinks everywhere but at the closest spacing).
    A spacing too small to show the noise (Moré & Wild: f's values repeat, or step by whole
    quanta of a quantised f) passes on to the next; when no spacing of a line shows noise, its
    quantised steps bound the noise by half the smallest change seen; the level read from
    tables that were only too regular counts only when no line saw anything else (linear f).
    The level is at least half an ulp of f's size in the precision of its values (float32
    when they are all float32 numbers, else float64). An f whose values never change is
    ``still``: differences that stay exactly 0 bound its slope by its rounding over the step.

    Quantisation is a property of f, not of a line. Rounding s(x) to a grid of q adds an error
    e(x) that, seen at points whose s differ by more than q, is uniform on [-q/2, q/2]: a
    standard deviation of q / sqrt(12). A line can hide it: where f steps by exactly m quanta
    between every pair of points, its difference table is as regular as a linear f's and
    ECnoise reads ~0 there (and min-over-lines keeps that 0). So when every value seen sits on
    one grid (``grid_quantum``), the level is at least q / sqrt(12) whatever the lines read
    (the largest rounding error, q / 2, is 1.7 of those: within the CONFIDENCE the error bounds
    are trusted to). Min-over-lines still decides everything else: a relu network's values sit
    on no grid, so a line crossing its kinks still loses to a line that does not.
    """
    levels, regular, calls, scale, seen = [], [], 0, abs(f0), []
    for line in lines:
        quanta, smooth = [], None  # smooth: the level of a table too regular to show noise
        ceiling = math.inf  # quantised f's noise is below the steps of its too-regular tables
        for delta in np.unique(np.minimum(eps ** (1 / 3) * NOISE_SPACINGS, 0.1)):
            values = along(line, float(delta))
            calls += values.size
            if not np.all(np.isfinite(values)):
                break
            scale = max(scale, float(np.max(np.abs(values))))
            seen.append(values)
            if np.all(values == values[0]):
                continue
            table = _read_table(values)
            if table.quantum > 0:
                quanta.append(table.quantum)
            elif table.hidden and table.level is not None:
                smooth = table.level if smooth is None else smooth
                ceiling = min(ceiling, table.change)
            if table.hidden or table.level is None:
                continue
            if table.level <= ceiling:
                # the closest spacing that shows noise: kinks hide there least
                levels.append(table.level)
            else:  # larger than the steps of f seen closer: signal, f was smooth there
                levels.append(smooth)
            break
        else:
            if quanta:
                levels.append(0.5 * min(quanta))
            elif smooth is not None:
                regular.append(smooth)
    values = np.concatenate(seen) if seen else np.array([f0])
    is32 = _all_float32(values)
    is32 = is32 and np.unique(values).size > 2
    # f's output is rounded to its own precision, whatever the input's
    floor = 0.5 * float(np.finfo(np.float32 if is32 else np.float64).eps) * scale
    steps = [np.diff(np.unique(v)) for v in seen]
    if seen and not any(d.size for d in steps):
        # f never changed: constant, or quantised coarser than every spacing tried
        return Noise(floor, False, scale, calls, is32, still=True)
    quantum = grid_quantum(seen, f0)
    floor = max(floor, quantum / math.sqrt(12))
    if not levels and regular:  # every line only ever too regular: a linear f
        level, measured = max(min(regular), floor), True
    elif not levels:
        level, measured = floor, quantum > 0
    else:
        level, measured = max(min(levels), floor), True
    return Noise(level, measured, scale, calls, is32, quantum=quantum, tables=tuple(seen))


RTOL_FACTOR = 7.0  # rtol = RTOL_FACTOR sqrt(eps): 1e-7 in float64, 2.4e-3 in float32
ATOL_FACTOR = 100.0  # atol = ATOL_FACTOR eps max|g~|
FLOOR_FACTOR = 30.0
FLOOR_RELATIVE = 1e-7  # a small step's floor may grow to this fraction of the largest slope
FLOOR_CAP = 1e-2  # the floor never exceeds this fraction of the largest slope resolved
CONFIDENCE = 3.0  # k in the interval rule: error bounds are trusted up to k times


@dataclass(frozen=True)
class Tolerance:
    """What a gradient entry may differ from the truth: ``atol + rtol |g~| + floor``.

    ``rtol`` is ``RTOL_FACTOR sqrt(eps)`` with eps the coarser of the gradient's dtype and
    the precision f really computes with (its measured noise relative to its size); ``atol``
    is ``ATOL_FACTOR eps max|g~|``; ``floor`` is the smallest slope the differences can resolve
    at all (the noise over the largest step), so that an entry whose true value is ~0 can still
    be certified. ``confidence`` is the k of the interval rule (``verdicts.judge``).
    """

    rtol: float
    atol: float
    noise_floor: float  # FLOOR_FACTOR x noise: divided by an entry's largest step
    eps: float
    resolved: float = math.inf  # the largest slope the reference resolved beyond its errors
    confidence: float = CONFIDENCE
    still: bool = False  # f never moved: no slope is resolved, yet its flat differences bound one

    @classmethod
    def choose(
        cls,
        grad_eps: float,
        noise: Noise,
        numerical_scale: float,
        rtol: float | None = None,
        atol: float | None = None,
        resolved_scale: float = math.inf,
    ) -> Tolerance:
        """``numerical_scale`` is max|g~|; ``resolved_scale`` the largest slope the reference
        resolved beyond its error bars (max of |g~| - k err): where the differences see no
        slope at all, the floor is 0 and nothing can pass."""
        eps = max(grad_eps, noise.precision(0.0))
        return cls(
            rtol=RTOL_FACTOR * math.sqrt(eps) if rtol is None else rtol,
            atol=ATOL_FACTOR * eps * numerical_scale if atol is None else atol,
            noise_floor=FLOOR_FACTOR * noise.level,
            eps=eps,
            resolved=resolved_scale,
            still=noise.still,
        )

    def floor(self, step, largest):
        """The noise floor for estimates from differences with ``step`` in a ladder that
        started at ``largest``: FLOOR_FACTOR x noise / step, but no more than the noise over
        the largest step or FLOOR_RELATIVE of the largest slope resolved (a smaller step is
        taken near kinks, and its larger floor must not hide a mistake), and never more than
        FLOOR_CAP of that slope (where the differences see no slope at all, nothing passes)."""
        step, largest = np.asarray(step, dtype=float), np.asarray(largest, dtype=float)
        if self.still:  # no slope to scale by: an absolute tolerance, as atol for a unit slope
            return ATOL_FACTOR * self.eps + np.zeros_like(step)
        with np.errstate(invalid="ignore"):  # an infinite noise over an infinite step
            ceiling = np.fmax(self.noise_floor / largest, FLOOR_RELATIVE * self.resolved)
            floor = np.fmin(np.fmin(self.noise_floor / step, ceiling), FLOOR_CAP * self.resolved)
        return np.nan_to_num(floor, nan=0.0)

    def at(self, estimate, step=LADDER_START, largest=LADDER_START):
        """The tolerance for entries whose reference value ``estimate`` came from differences
        with ``step`` in a ladder that started at ``largest``."""
        return self.atol + self.rtol * np.abs(estimate) + self.floor(step, largest)
