"""check_grad: does a gradient formula agree with finite differences, and how is it wrong?

``check_grad`` is a short chain of named steps, each passing a small dataclass to the next:

1. build the problem (``numerical.Problem``: x flattened, f(x) in the one evaluation dtype);
2. measure the noise of f near x (``Problem.measure_noise``);
3. choose the entries (all, or a sample plus random directions in a fast check);
4. take the reference: a step ladder per entry or direction (``fdpolicy``); when the ladders'
   values show a grid the noise lines missed (``fdpolicy.with_ladders``), the noise is raised
   to the grid's and the reference taken again;
5. compare with verdicts (``verdicts.judge``: pass, fail or inconclusive per entry);
6. diagnose each parameter that fails (``diagnosis``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from ..network.training import show_progress
from ..network.validation import describe
from .diagnosis import Diagnosis, DirectionCheck, diagnose
from .fdpolicy import (
    COMPLEX_STEP,
    CONFIDENCE,
    LADDER_LENGTH,
    LADDER_START,
    METHODS,
    Estimate,
    LadderResult,
    Noise,
    Tolerance,
    with_ladders,
)
from .numerical import Problem, Structure
from .trees import Arguments, leaf_array
from .verdicts import (
    ADVICE,
    FAIL,
    INCONCLUSIVE,
    KINK,
    NOISE,
    NOT_FINITE,
    PASS,
    REASONS,
    UNCHECKED,
    json_ready,
    judge,
    overall,
)

__all__ = [
    "check_grad",
    "assert_grad_close",
    "GradCheckReport",
    "ParamCheck",
    "EntryCheck",
    "FULL_CHECK_LIMIT",
]

FULL_CHECK_LIMIT = 2000  # above this many entries, the default check is the fast one
LOWER_PRECISION = 100  # f's noise above this many ulps of the evaluation dtype: lower inside
STRADDLE = 0.1  # a finer estimate more than this fraction of a kink's interval inside it
# (from either end) differenced across the kink


# -- the results ---------------------------------------------------------------------------------
@dataclass
class EntryCheck:
    """One entry compared: where, the two values, the difference, what was allowed, the verdict."""

    param: str
    index: tuple
    analytic: float
    numerical: float
    error: float  # |analytic - numerical| (or the distance to a kink's interval)
    tolerance: float
    reference_error: float = 0.0  # the reference's own error bound
    verdict: str = PASS
    reason: str = ""

    @property
    def inconclusive(self) -> bool:
        return self.verdict == INCONCLUSIVE

    @property
    def rel_error(self) -> float:
        return self.error / max(abs(self.analytic), abs(self.numerical), 1e-300)


@dataclass
class ParamCheck:
    """The verdict on one parameter (one array of x).

    ``entry_verdicts`` has the parameter's shape: "pass", "fail", "inconclusive", or
    "unchecked" for entries a fast check did not look at.
    """

    name: str
    shape: tuple
    given_shape: tuple | None
    entries_checked: int
    entries_total: int
    directions_checked: int
    failures: int
    inconclusive: int
    max_abs_error: float
    max_rel_error: float
    diagnosis: Diagnosis
    verdict: str = PASS
    entry_verdicts: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    reason: str = ""
    advice: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict:
        return json_ready(
            {
                "verdict": self.verdict,
                "ok": self.ok,
                "shape": list(self.shape),
                "entries_checked": self.entries_checked,
                "entries_total": self.entries_total,
                "directions_checked": self.directions_checked,
                "failures": self.failures,
                "inconclusive": self.inconclusive,
                "max_abs_error": self.max_abs_error,
                "max_rel_error": self.max_rel_error,
                "diagnosis": self.diagnosis.kinds,
                "detail": self.diagnosis.text,
                "reason": self.reason,
                "advice": self.advice,
            }
        )


@dataclass
class GradCheckReport:
    """The result of ``check_grad``: ``verdict`` is "pass", "fail" or "inconclusive" and the
    report is truthy exactly when it is "pass".

    ``params`` holds one ``ParamCheck`` per array of x (a single one, named ``x``, for an
    ndarray); ``worst`` the entries furthest outside their tolerance; ``inconclusive`` the
    entries the reference could not settle; ``reason``/``advice`` say why and what to do.
    ``noise`` is f's measured noise level, and ``rtol``/``atol``/``floor`` the tolerance used.
    """

    verdict: str
    mode: str
    method: str
    eval_dtype: str
    rtol: float
    atol: float
    floor: float
    noise: float
    evaluations: int
    seconds: float
    max_abs_error: float
    max_rel_error: float
    rel_diff: float
    params: dict[str, ParamCheck]
    worst: list[EntryCheck]
    inconclusive: list[EntryCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reason: str = ""
    advice: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

    def __bool__(self) -> bool:
        return self.ok

    @property
    def diagnosis(self) -> dict[str, str]:
        """{parameter: diagnosis text} for the parameters that fail."""
        return {k: p.diagnosis.text for k, p in self.params.items() if p.verdict == FAIL}

    def to_dict(self) -> dict:
        return json_ready(
            {
                "verdict": self.verdict,
                "ok": self.ok,
                "reason": self.reason,
                "advice": self.advice,
                "mode": self.mode,
                "method": self.method,
                "eval_dtype": self.eval_dtype,
                "rtol": self.rtol,
                "atol": self.atol,
                "floor": self.floor,
                "noise": self.noise,
                "evaluations": self.evaluations,
                "seconds": self.seconds,
                "max_abs_error": self.max_abs_error,
                "max_rel_error": self.max_rel_error,
                "rel_diff": self.rel_diff,
                "params": {k: p.to_dict() for k, p in self.params.items()},
                "worst": [vars(e) | {"index": list(e.index)} for e in self.worst],
                "inconclusive": len(self.inconclusive),
                "notes": self.notes,
            }
        )

    def __str__(self) -> str:
        return "\n".join(_report_lines(self))


def _report_lines(report: GradCheckReport) -> list[str]:
    counts = {v: sum(p.verdict == v for p in report.params.values()) for v in (FAIL, INCONCLUSIVE)}
    n = len(report.params)
    head = {
        PASS: "gradient check PASSED",
        FAIL: f"gradient check FAILED: {counts[FAIL]} of {n} parameter(s) disagree",
        INCONCLUSIVE: f"gradient check INCONCLUSIVE: {counts[INCONCLUSIVE]} of {n} parameter(s) "
        "could not be settled",
    }[report.verdict]
    checked = sum(p.entries_checked for p in report.params.values())
    dirs = sum(p.directions_checked for p in report.params.values())
    scope = (
        f"full check of {checked} entries"
        if report.mode == "full"
        else f"fast check: {dirs} random directions and {checked} sampled entries "
        "(full=True checks every entry)"
    )
    lines = [
        head,
        f"  {scope}; {report.method} differences in {report.eval_dtype}, "
        f"{report.evaluations} evaluations of f, {report.seconds:.3g} s",
        f"  noise of f {report.noise:.2e}; tolerance |g - g~| <= {report.atol:.1e} + "
        f"{report.rtol:.1e} |g~| + {report.floor:.1e} (noise floor), beyond 3x the "
        "reference's own error",
        f"  relative difference ||g - g~|| / (||g|| + ||g~||) = {report.rel_diff:.3e}; "
        f"max abs error {report.max_abs_error:.3e}, max rel error {report.max_rel_error:.3e}",
    ]
    width = max(max(len(k) for k in report.params), 5) + 2
    lines.append(
        f"  {'param':<{width}}{'shape':<14}{'max abs err':>12}{'max rel err':>12}  verdict"
    )
    for name, p in report.params.items():
        if p.verdict == FAIL:
            verdict = f"FAIL: {p.diagnosis.text}"
        elif p.verdict == INCONCLUSIVE:
            verdict = f"inconclusive ({p.inconclusive} entries: {p.reason})"
        else:
            verdict = "pass"
        lines.append(
            f"  {name:<{width}}{str(p.shape):<14}{p.max_abs_error:>12.3e}"
            f"{p.max_rel_error:>12.3e}  {verdict}"
        )
    if report.worst and not report.ok:
        lines.append("  worst entries:")
        lines.append(
            f"    {'param':<{width}}{'index':<12}{'analytic':>14}{'numerical':>14}"
            f"{'error':>11}{'allowed':>11}  verdict"
        )
        for e in report.worst:
            lines.append(
                f"    {e.param:<{width}}{str(e.index):<12}{e.analytic:>14.6g}"
                f"{e.numerical:>14.6g}{e.error:>11.2e}{e.tolerance:>11.2e}  {e.verdict}"
            )
    if report.verdict == INCONCLUSIVE:
        lines.append(f"  inconclusive: {report.reason}")
        lines.append(f"  advice: {report.advice}")
    lines.extend(f"  note: {n}" for n in report.notes)
    return lines


# -- step 0: the options -------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    """check_grad's options, checked (``_options``). check_grad gives every field; the
    defaults (nothing asked, no directions, no samples) are for ``settle_entries``."""

    method: str
    seed: int
    rtol: float | None = None
    atol: float | None = None
    # the ladder's largest step (times max(|x_i|, 1)); None: LADDER_START
    start: float | None = None
    full: bool | None = None
    directions: int = 0
    samples: int = 0
    factors: Mapping | None = None
    progress: bool | None = None
    floor_step: float | None = None  # the step the noise floor is measured over; None: start
    patient: bool = False  # run every step of the ladder (no early stop)

    def resolution(self) -> float:
        """The largest step of the first ladder (times max(|x_i|, 1)): the noise floor of the
        tolerance is the noise over it, whichever ladder settles an entry."""
        return self.floor_step or self.start or LADDER_START


def _check_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {describe(fn)}")


def _check_positive(name: str, value, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a non-negative number, got {describe(value)}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a non-negative finite number, got {value!r}")
    return value


def _options(f, grad_f, **kw) -> _Options:
    _check_callable("f", f)
    _check_callable("grad_f", grad_f)
    method = "richardson" if kw["method"] is None else kw["method"]
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    full = kw["full"]
    if full is not None and not isinstance(full, (bool, np.bool_)):
        raise TypeError(f"full must be True, False or None, got {describe(full)}")
    step = kw["step"]
    if step is not None:
        step = _check_positive("step", step, allow_zero=False)
    for name in ("directions", "samples", "seed"):
        v = kw[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    factors = kw["factors"]
    if factors is not None and not isinstance(factors, Mapping):
        raise TypeError(f"factors must be a dict of name -> number, got {describe(factors)}")
    rtol = None if kw["rtol"] is None else _check_positive("rtol", kw["rtol"])
    atol = None if kw["atol"] is None else _check_positive("atol", kw["atol"])
    return _Options(
        method,
        int(kw["seed"]),
        rtol=rtol,
        atol=atol,
        start=step,
        full=None if full is None else bool(full),
        directions=int(kw["directions"]),
        samples=int(kw["samples"]),
        factors=factors,
        progress=kw["progress"],
    )


def _analytic_arrays(g, structure: Structure) -> tuple[list, list[str]]:
    """The analytic gradient, one array (or None when missing) per array of x; and notes."""
    if g is None:  # a grad_f that forgot its return statement
        raise TypeError(
            f"grad_f returned None; it must return the gradient, {structure.tree.describe()} like x"
        )
    notes: list[str] = []
    arrays = []
    for i, item in enumerate(structure.gradient_parts(g, notes)):
        arr = None if item is None else leaf_array(item)
        if arr is not None and arr.dtype.kind not in "biuf":
            raise TypeError(
                f"grad_f must return real arrays, got dtype {arr.dtype} for {structure.label(i)}"
            )
        arrays.append(arr)
    return arrays, notes


def _arguments(f: Callable, grad_f: Callable, args: tuple, argnums):
    """x, and f and grad_f as functions of x alone, with the name of x's top level: the
    argument (or tuple of arguments) that ``argnums`` picks from ``args``."""
    if len(args) == 1 and isinstance(argnums, int) and argnums == 0:
        return args[0], f, grad_f, {}
    picked = Arguments.pick(args, argnums)
    naming = {"name": picked.tree.name, "roots": picked.tree.roots}
    return (
        picked.value,
        lambda x: picked.call(f, x),
        lambda x: picked.call(grad_f, x),
        naming,
    )


def _grad_eps(analytic: list, eval_dtype: np.dtype) -> float:
    """eps of the coarsest float dtype among the gradient's arrays and the evaluation dtype."""
    dtypes = [a.dtype for a in analytic if a is not None and a.dtype.kind == "f"]
    return max(float(np.finfo(d).eps) for d in dtypes + [eval_dtype])


# -- step 3: which entries -------------------------------------------------------------------------
def _sample_entries(structure: Structure, samples: int, rng) -> np.ndarray:
    """At least two entries of every array (one when it has one), the rest spread by size."""
    chosen = []
    n_arrays = len(structure.keys)
    for i in range(n_arrays):
        size = structure.offsets[i + 1] - structure.offsets[i]
        share = max(min(size, 2), int(round(samples * size / structure.size)))
        pick = rng.choice(size, size=min(share, size), replace=False)
        chosen.append(structure.offsets[i] + np.sort(pick))
    return np.concatenate(chosen)


# -- step 4: the reference -------------------------------------------------------------------------
@dataclass
class Reference:
    """The numerical reference at the entries (or directions) checked, as arrays.

    Where a kink was confirmed, ``low``/``high`` are its one-sided derivatives and ``estimate``
    their midpoint; elsewhere all three are the sharpest estimate. ``error`` bounds the
    reference's own error; ``step`` the step of the differences behind the estimate and
    ``largest`` the largest step of the first ladder (for the noise floor, ``Tolerance.at``).
    ``kink_free`` is k times the error bar of the jump R(h) - L(h) over every row when the jump
    lies within it (``|jump| <= k err``: no kink, as ``LadderResult.kink`` says "beyond"); inf
    when it does not (a kink of any size may hide there).
    """

    estimate: np.ndarray
    error: np.ndarray
    low: np.ndarray
    high: np.ndarray
    low_error: np.ndarray
    high_error: np.ndarray
    kink: np.ndarray
    finite: np.ndarray
    step: np.ndarray
    largest: np.ndarray
    slack: np.ndarray  # the jump of a kink at x the ladder could not exclude
    kink_free: np.ndarray  # no row of the ladder shows a kink's jump larger than this

    @classmethod
    def from_ladders(cls, ladders: list[LadderResult], confidence: float):
        n = len(ladders)
        step, slack, kink_free = np.full(n, math.inf), np.zeros(n), np.full(n, math.inf)
        est, err, low, high, low_err, high_err = (np.empty(n) for _ in range(6))
        kink, finite = np.zeros(n, bool), np.zeros(n, bool)
        for k, lad in enumerate(ladders):
            finite[k] = lad.finite
            if not lad.finite:
                est[k] = low[k] = high[k] = math.nan
                err[k] = low_err[k] = high_err[k] = math.inf
            elif lad.kink(confidence):
                kink[k] = True
                lo, hi = sorted((lad.right, lad.left), key=lambda e: e.value)
                low[k], high[k], low_err[k], high_err[k] = lo.value, hi.value, lo.error, hi.error
                est[k], err[k] = (lo.value + hi.value) / 2, max(lo.error, hi.error)
                step[k] = min(lo.step, hi.step)
            else:
                best = lad.sharpest()
                est[k] = low[k] = high[k] = best.value
                err[k] = low_err[k] = high_err[k] = best.error
                step[k] = best.step
                # the sharpest estimate may be one-sided: the other side is a whole jump away
                slack[k] = lad.possible_jump(confidence)
                every = lad.jump_all
                if abs(every.value) <= confidence * every.error:
                    kink_free[k] = confidence * every.error
        return cls(
            est,
            err,
            low,
            high,
            low_err,
            high_err,
            kink,
            finite,
            step,
            step.copy(),
            slack,
            kink_free,
        )


def _stop_rule(tol: Tolerance, largest_step: float, spread: float):
    """When a ladder may stop: its estimate is settled well inside the tolerance (both sides
    of a confirmed kink, or the sharpest estimate), or smaller steps stopped helping. A kink
    too small to confirm by then only widens the fail side of the verdict
    (``Reference.slack``). ``spread`` is sum |g_j v_j| for a direction v, whose tolerance
    scales with it."""
    k = tol.confidence

    def allowed(e) -> float:
        floor = tol.noise_floor / largest_step
        return tol.atol + tol.rtol * max(abs(e.value), spread) + floor

    def good_enough(lad: LadderResult) -> bool:
        sides = (lad.right, lad.left) if lad.kink(k) else (lad.sharpest(),)
        settled = all(k * e.error <= 0.25 * allowed(e) for e in sides)
        return settled or (not lad.kink(k) and lad.past_its_best())

    return good_enough


def _complex_ladder(value: float, eps: float) -> LadderResult:
    """The complex step as a (one-rung) ladder: exact to rounding, no kinks (f is analytic)."""
    est = Estimate(value, 4 * eps * abs(value), COMPLEX_STEP)
    zero = Estimate(0.0, 0.0)
    return LadderResult(est, est, est, zero, math.isfinite(value), zero, COMPLEX_STEP)


def _ladder(problem: Problem, along, noise: Noise, tol: Tolerance, opts, largest, spread=0.0):
    """The reference ladder of one entry (``along`` a flat index) or one direction (``along``
    a vector): the complex step, or the step ladder of ``opts`` (extrapolated unless the method
    is "central"), stopped early (``_stop_rule``) unless ``opts.patient``."""
    entry = isinstance(along, int)
    if opts.method == "complex":
        v = np.where(np.arange(problem.x0.size) == along, 1.0, 0.0) if entry else along
        return _complex_ladder(problem.complex_step(v), problem.ev.eps)
    run = problem.entry_ladder if entry else problem.direction_ladder
    stop = None if opts.patient else _stop_rule(tol, largest, spread)
    return run(along, noise, opts.start, opts.method != "central", stop)


def _entry_reference(problem: Problem, chosen, noise: Noise, tol: Tolerance, opts, bar, seen=None):
    """The ladder references of entries ``chosen``; each ladder's values are added to
    ``seen`` when given (for the grid search, ``fdpolicy.with_ladders``)."""
    ladders = []
    iterator = chosen
    if bar is not None:
        iterator = bar(iterator, total=len(chosen))
    resolution = opts.resolution() * np.maximum(np.abs(problem.x0[chosen]), 1.0)
    for i, largest in zip(iterator, resolution):
        ladders.append(_ladder(problem, int(i), noise, tol, opts, largest))
    if seen is not None:
        seen.extend(lad.values for lad in ladders)
    ref = Reference.from_ladders(ladders, tol.confidence)
    ref.largest[:] = resolution
    return ref


def _direction_reference(
    problem: Problem, directions: list, noise, tol, opts, spreads, seen=None
) -> Reference:
    ladders = []
    for v, spread in zip(directions, spreads):
        ladders.append(_ladder(problem, v, noise, tol, opts, opts.resolution(), spread))
    if seen is not None:
        seen.extend(lad.values for lad in ladders)
    ref = Reference.from_ladders(ladders, tol.confidence)
    ref.largest[:] = opts.resolution()
    return ref


def _random_directions(problem: Problem, i: int, k: int, rng) -> list[np.ndarray]:
    """``k`` random directions within array i, scaled per entry like the steps and normalised
    so that the largest entry moves by its scale."""
    start, stop = problem.structure.offsets[i], problem.structure.offsets[i + 1]
    out = []
    for _ in range(k):
        local = rng.standard_normal(stop - start)
        local *= np.maximum(np.abs(problem.x0[start:stop]), 1.0) / np.max(np.abs(local))
        v = np.zeros_like(problem.x0)
        v[start:stop] = local
        out.append(v)
    return out


# -- step 5: verdicts ------------------------------------------------------------------------------
def _reason(verdicts: np.ndarray, ref: Reference) -> str:
    """Why the inconclusive entries are inconclusive (the commonest cause first)."""
    inc = verdicts == INCONCLUSIVE
    causes = []
    if np.any(inc & ~ref.finite):
        causes.append(NOT_FINITE)
    if np.any(inc & ref.kink):
        causes.append(KINK)
    if np.any(inc & ref.finite & ~ref.kink):
        causes.append(NOISE)
    return causes[0] if causes else ""


# -- the chain -----------------------------------------------------------------------------------
def check_grad(
    f: Callable,
    grad_f: Callable,
    *args,
    argnums: int | tuple = 0,
    rtol: float | None = None,
    atol: float | None = None,
    method: str | None = None,
    step: float | None = None,
    full: bool | None = None,
    directions: int = 3,
    samples: int = 24,
    factors: dict | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> GradCheckReport:
    """Compare ``grad_f(x)`` with finite differences of ``f`` at ``x``; return a verdict.

    ``f(x)`` returns a scalar; ``grad_f(x)`` the same structure as ``x``: an array, a scalar,
    or any nesting of dicts (matched by key), lists and tuples of those — a gradient of another
    structure is an error naming both. With several arguments, ``argnums`` picks the ones
    differentiated, as in autograd and JAX: ``check_grad(f, grad_f, W, b, X, argnums=(0, 1))``
    calls ``f(W, b, X)`` and expects ``grad_f(W, b, X)`` to return ``(dW, db)``.

    Each entry checked gets a reference ``g~`` with an error bound ``err`` from a step ladder
    with Richardson extrapolation, and a tolerance ``tol = atol + rtol |g~| + noise floor``.
    Then, with k = 3:

    - "pass" when ``|g - g~| + k err <= tol`` (the reference certifies agreement),
    - "fail" when ``|g - g~| > tol + k err`` (a disagreement beyond the reference's error),
    - "inconclusive" otherwise, with the reason (a kink, noise, f not finite nearby) and advice.

    At a kink of f (left and right derivatives differ, found from f alone) an entry passes when
    g lies between the one-sided derivatives or matches one (a subgradient). ``rtol`` defaults
    to 7 sqrt(eps) of the precision f and the gradient really have (1e-7 in float64, 2.4e-3 in
    float32), ``atol`` to 100 eps max|g~|; the noise floor is 30 x f's measured noise over the
    largest step. The report is truthy exactly when the verdict is "pass".

    ``method``: ``"richardson"`` (the default ladder), ``"central"`` (the ladder without
    extrapolation) or ``"complex"`` (the complex step, for complex-safe ``f``; checked first).
    ``step`` is the largest step of the ladder (times ``max(|x_i|, 1)``; default 0.5). With more
    than ``FULL_CHECK_LIMIT`` entries the default is a fast check — ``directions`` random
    directions per parameter and ``samples`` sampled entries; ``full=True`` checks every entry.
    ``factors``, e.g. ``{"m": 200}``, names scale factors in the diagnosis (x m).
    ``progress``: a tqdm bar on stderr over the entries' ladders when more than 200 entries are
    checked (None: only when stderr is a terminal); when the reference is taken again (a grid
    the ladders saw), that pass shows its own bar.
    """
    t0 = time.perf_counter()
    opts = _options(
        f,
        grad_f,
        rtol=rtol,
        atol=atol,
        method=method,
        step=step,
        full=full,
        directions=directions,
        samples=samples,
        factors=factors,
        seed=seed,
        progress=progress,
    )
    x, f, grad_f, naming = _arguments(f, grad_f, args, argnums)
    problem = Problem.build(f, x, opts.method, None, **naming)
    analytic, notes = _analytic_arrays(
        grad_f(problem.structure.unflatten(problem.x0)), problem.structure
    )
    rng = np.random.default_rng(opts.seed)
    noise = _confirm_still(problem, problem.measure_noise(rng), opts, rng)
    do_full = problem.structure.size <= FULL_CHECK_LIMIT if opts.full is None else opts.full
    chosen = (
        np.arange(problem.structure.size)
        if do_full
        else _sample_entries(problem.structure, opts.samples, rng)
    )
    directions = {}
    if not do_full:
        for i in range(len(problem.structure.keys)):
            usable = _usable(analytic[i], problem.structure.shapes[i])
            directions[i] = _random_directions(problem, i, opts.directions if usable else 0, rng)
    bar = _progress_bar(opts.progress, chosen.size)
    seen = []
    entries, dir_refs = _references(problem, analytic, chosen, directions, noise, opts, bar, seen)
    graded = with_ladders(noise, problem.f0, seen)
    if graded is not noise:  # the ladders saw f's grid: their error bounds took too little noise
        noise = graded
        entries, dir_refs = _references(problem, analytic, chosen, directions, noise, opts, bar)
    refs = [entries, *(r for _, r in dir_refs.values())]
    tol = Tolerance.choose(
        _grad_eps(analytic, problem.ev.dtype),
        noise,
        _largest(*(r.estimate for r in refs)),
        opts.rtol,
        opts.atol,
        _largest(*(np.maximum(np.abs(r.estimate) - CONFIDENCE * r.error, 0) for r in refs)),
    )
    entries, dir_refs = _shrink_unsettled(
        problem, analytic, chosen, entries, dir_refs, noise, tol, opts
    )
    judged = _judge_params(problem, analytic, chosen, entries, dir_refs, tol, opts, do_full)
    notes += _precision_notes(problem, noise, tol)
    return _assemble(problem, judged, tol, noise, opts, do_full, notes, time.perf_counter() - t0)


def _references(problem, analytic, chosen, directions, noise, opts, bar, seen=None):
    """Step 4: the ladder references of the entries ``chosen`` and of the random
    ``directions`` of each parameter, their ladders stopped early by a provisional tolerance
    scaled by the claimed gradient (the verdicts use one scaled by the reference)."""
    claimed = _largest(*(a.astype(float) for a in analytic if a is not None))
    tol = Tolerance.choose(
        _grad_eps(analytic, problem.ev.dtype), noise, claimed, opts.rtol, opts.atol
    )
    entries = _entry_reference(problem, chosen, noise, tol, opts, bar, seen)
    dir_refs = {}
    for i, vs in directions.items():
        part = slice(problem.structure.offsets[i], problem.structure.offsets[i + 1])
        spreads = [float(np.abs(analytic[i]).ravel() @ np.abs(v[part])) for v in vs]
        dir_refs[i] = (vs, _direction_reference(problem, vs, noise, tol, opts, spreads, seen))
    return entries, dir_refs


def _confirm_still(problem: Problem, noise: Noise, opts: _Options, rng) -> Noise:
    """An f that never moved near x (``Noise.still``) is certified flat only if it also stays
    put at the largest steps: along every entry (a few random directions for large x). If it
    moves there (a relu dead near x but alive a step away), its noise is unknown: infinite."""
    if not noise.still:
        return noise
    scale = opts.resolution() * np.maximum(np.abs(problem.x0), 1.0)
    if problem.x0.size <= FULL_CHECK_LIMIT:
        moves = [np.where(np.arange(problem.x0.size) == i, scale, 0.0) for i in range(scale.size)]
    else:
        moves = [scale * rng.choice([-1.0, 1.0], scale.size) for _ in range(8)]
    for move in moves:
        for sign in (1.0, -1.0):
            if problem.ev.nearby(problem.x0 + sign * move) != problem.f0:
                return replace(noise, level=math.inf, still=False)
    return noise


def _shrink_unsettled(problem, analytic, chosen, entries, dir_refs, noise, tol, opts):
    """Shrink the step before saying anything but "pass": every entry (and direction) that the
    first ladder could not certify gets a second ladder continuing below its smallest step.

    A function with kinks near x (a relu network over many examples) can look smooth and
    settled at every step of the first ladder while each step straddles a kink; below the
    nearest kink the differences see the true derivative. An entry passes when either ladder
    passes it and fails only when both fail it (small steps have their own traps: a quantised
    f looks constant there), or when the first fails it with no sign of a kink in any of its
    steps and the second is too noisy to tell; anything else is inconclusive.
    """
    if opts.method == "complex":
        return entries, dir_refs
    flat_g = _flat_analytic(problem.structure, analytic)
    g = flat_g[chosen]
    redo = _unsettled(g, entries, tol)
    if redo.any():  # first the whole of the first ladder: it stopped as soon as it could
        whole = _entry_reference(problem, chosen[redo], noise, tol, _patient(opts), None)
        entries = _prefer(entries, redo, whole, g[redo], tol, replace_all=True)
    redo = _unsettled(g, entries, tol)
    if redo.any():
        again = _entry_reference(problem, chosen[redo], noise, tol, _finer(opts), None)
        entries = _prefer(entries, redo, again, g[redo], tol)
    confirmed = {}
    for i, (vs, ref) in dir_refs.items():
        if vs:
            start, stop = problem.structure.offsets[i], problem.structure.offsets[i + 1]
            local = [v[start:stop] for v in vs]
            for options, replace_all in ((_patient(opts), True), (_finer(opts), False)):
                ga, allowed = _direction_tolerance(flat_g[start:stop], local, ref, tol)
                redo = _unsettled(ga, ref, tol, allowed)
                if not redo.any():
                    break
                chosen_vs = [v for v, r in zip(vs, redo) if r]
                spreads = [
                    float(np.abs(flat_g[start:stop]) @ np.abs(v[start:stop])) for v in chosen_vs
                ]
                again = _direction_reference(problem, chosen_vs, noise, tol, options, spreads)
                ga_again, allowed_again = _direction_tolerance(
                    flat_g[start:stop], [v[start:stop] for v in chosen_vs], again, tol
                )
                ref = _prefer(
                    ref, redo, again, ga_again, tol, allowed_again, allowed[redo], replace_all
                )
        confirmed[i] = (vs, ref)
    return entries, confirmed


def _unsettled(g, ref: Reference, tol: Tolerance, allowed=None) -> np.ndarray:
    """Entries not passed, or passed only by a kink's interval: a kink seen at the first
    ladder's smallest steps may be another one nearby, which smaller steps leave behind."""
    v = _verdicts(g, ref, tol, allowed)
    return ((v != PASS) | ref.kink) & np.isfinite(g)


def _finer(opts: _Options) -> _Options:
    """The options of the second ladder: it starts where the first one ended."""
    first = opts.start or LADDER_START
    return replace(
        opts,
        start=first / 2.0**LADDER_LENGTH,
        floor_step=opts.resolution(),
        patient=True,  # its first steps may still straddle kinks: never stop there
    )


def _patient(opts: _Options) -> _Options:
    """The options of the first ladder run to its end."""
    return replace(opts, patient=True)


def _prefer(
    ref, mask, again, g, tol, allowed_again=None, allowed_first=None, replace_all=False
) -> Reference:
    """``ref`` with the entries where ``mask`` holds taken from the finer ``again`` when it
    passes them or when the first reference said "fail": "fail" needs both to say so, unless
    the second cannot tell and the first saw no kink (or always, with ``replace_all``).

    "Saw no kink": |g - g~| is more than twice ``kink_free``, the largest jump the first
    ladder could not exclude (at exactly twice it such a kink could explain the disagreement).
    A second ladder that fails an entry the first passed by a kink's interval, with an
    estimate more than STRADDLE of the interval's width inside it (strictly, from either end),
    differenced across the kink: its error bounds become inf (inconclusive).
    ``allowed_first``/``allowed_again`` are the tolerances of the two references (a
    direction's; None: an entry's, ``Tolerance.at``)."""
    before = _take(ref, mask)
    first = _verdicts(g, before, tol, allowed_first)
    second = _verdicts(g, again, tol, allowed_again)
    # a fail of the first ladder stands when the second is too noisy to say anything and no
    # row of the first shows a kink that could explain the disagreement
    clear = 2 * before.kink_free < np.abs(g - before.estimate)
    stands = (first == FAIL) & (second == INCONCLUSIVE) & clear
    by_kink = (first == PASS) & before.kink  # the second ladder confirms the kink or not
    use = (second == PASS) | ((first == FAIL) & ~stands) | by_kink | replace_all
    where = np.flatnonzero(mask)[use]
    out = Reference(*(getattr(ref, f).copy() for f in Reference.__dataclass_fields__))
    for f in Reference.__dataclass_fields__:
        getattr(out, f)[where] = getattr(again, f)[use]
    # the second ladder refutes a kink's interval with a value well inside it: it differenced
    # across the kink without seeing it (a quantised f is flat at small steps, and noise it
    # hides there reads as certainty), which refutes nothing: inconclusive
    inside = STRADDLE * (before.high - before.low)
    straddles = (
        by_kink
        & (second == FAIL)
        & (again.estimate > before.low + inside)
        & (again.estimate < before.high - inside)
    )
    for bound in (out.error, out.low_error, out.high_error):
        bound[np.flatnonzero(mask)[straddles]] = math.inf
    return out


def _flat_analytic(structure: Structure, analytic: list) -> np.ndarray:
    """The analytic gradient as one flat vector (nan where it is missing or misshapen)."""
    flat = np.full(structure.size, np.nan)
    for i, a in enumerate(analytic):
        if a is not None and a.shape == structure.shapes[i]:
            flat[structure.offsets[i] : structure.offsets[i + 1]] = a.ravel()
    return flat


def _verdicts(g, ref: Reference, tol: Tolerance, allowed=None) -> np.ndarray:
    """``judge`` of values ``g`` against a reference, f not finite nearby: inconclusive."""
    allowed = tol.at(ref.estimate, ref.step, ref.largest) if allowed is None else allowed
    v = judge(g, ref.estimate, ref.error, allowed, tol.confidence, *_interval(ref))
    return np.where(ref.finite | ~np.isfinite(g), v, INCONCLUSIVE)


def _progress_bar(progress, n: int):
    if not (show_progress(progress) and n > 200):
        return None
    return lambda it, total: tqdm(it, total=total, desc="check_grad", leave=False)


def _usable(analytic, shape) -> bool:
    return analytic is not None and analytic.shape == shape and bool(np.all(np.isfinite(analytic)))


def _largest(*arrays) -> float:
    values = [np.abs(a[np.isfinite(a)]) for a in arrays if np.size(a)]
    return max((float(np.max(v)) for v in values if v.size), default=0.0)


def _interval(ref: Reference) -> tuple:
    return ref.low, ref.high, ref.low_error, ref.high_error, ref.slack


def _take(ref: Reference, sel) -> Reference:
    return Reference(*(getattr(ref, f)[sel] for f in Reference.__dataclass_fields__))


def _direction_tolerance(a, local: list, ref: Reference, tol: Tolerance):
    """(g . v, the tolerance) for directions ``local`` within one parameter whose analytic
    gradient is the flat ``a``: atol per unit of |v|, rtol of sum |g_j v_j| (a directional
    derivative that cancels is as accurate as its terms, not as its sum), and the noise floor."""
    ga = np.array([a @ v for v in local])
    spread = np.array([np.abs(a) @ np.abs(v) for v in local])
    reach = np.array([np.sum(np.abs(v)) for v in local])
    floor = tol.floor(ref.step, ref.largest)
    return ga, tol.atol * reach + tol.rtol * spread + floor


def _judge_directions(analytic, part, vs, ref: Reference, tol: Tolerance, start, stop):
    """The directional checks of one parameter: (analytic . v) against d/dv numerically."""
    if not vs:
        return []
    local = [v[start:stop] for v in vs]
    ga, allowed = _direction_tolerance(analytic.ravel().astype(np.float64), local, ref, tol)
    verdicts = _verdicts(ga, ref, tol, allowed)
    square = analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1]
    out = []
    for k, v in enumerate(local):
        out.append(
            DirectionCheck(
                analytic=float(ga[k]),
                numerical=float(ref.estimate[k]),
                threshold=float(allowed[k] + tol.confidence * ref.error[k]),
                x_dot_v=float(part @ v),
                transpose_dot_v=float(analytic.T.ravel() @ v) if square else None,
                verdict=str(verdicts[k]),
            )
        )
    return out


def _judge_params(problem, analytic, chosen, entries, dir_refs, tol, opts, do_full):
    """Step 5 and 6: every parameter's entries and directions judged, failures diagnosed."""
    structure = problem.structure
    owners = np.searchsorted(structure.offsets, chosen, side="right") - 1
    per_param = {}
    for i in range(len(structure.keys)):
        sel = owners == i
        per_param[i] = (chosen[sel] - structure.offsets[i], _take(entries, sel))
    others = {
        structure.label(i): (local, ref.estimate, structure.shapes[i])
        for i, (local, ref) in per_param.items()
    }
    params, checks = {}, []
    for i, (local, ref) in per_param.items():
        name, shape = structure.label(i), structure.shapes[i]
        part = structure.part(problem.x0, i).ravel()
        a_full = analytic[i]
        comparable = a_full is not None and a_full.shape == shape
        a_vals = (
            a_full.ravel()[local].astype(np.float64) if comparable else np.full(local.size, np.nan)
        )
        allowed = tol.at(ref.estimate, ref.step, ref.largest)
        verdicts = _verdicts(a_vals, ref, tol, allowed)
        if not comparable:
            verdicts = np.full(local.size, FAIL)
        vs, dref = dir_refs.get(i, ([], None))
        start, stop = structure.offsets[i], structure.offsets[i + 1]
        dirs = _judge_directions(a_full, part, vs, dref, tol, start, stop) if vs else []
        all_verdicts = list(verdicts) + [d.verdict for d in dirs]
        verdict = overall(all_verdicts) if comparable else FAIL
        diag = Diagnosis()
        if verdict == FAIL:
            diag = diagnose(
                name,
                analytic=a_full,
                shape=shape,
                idx=local,
                numerical=ref.estimate,
                threshold=allowed + tol.confidence * ref.error,
                verdicts=verdicts,
                kink=ref.kink,
                x=part[local],
                directions=dirs,
                others={k: v for k, v in others.items() if k != name},
                factors=opts.factors,
                full=do_full,
            )
        with np.errstate(invalid="ignore"):
            distance = np.maximum(np.maximum(ref.low - a_vals, a_vals - ref.high), 0.0)
            errs = np.abs(a_vals - ref.estimate)
            rel = errs / np.maximum(np.maximum(np.abs(a_vals), np.abs(ref.estimate)), 1e-300)
        for k in range(local.size):
            index = tuple(int(j) for j in np.unravel_index(local[k], shape))
            checks.append(
                EntryCheck(
                    name,
                    index,
                    float(a_vals[k]),
                    float(ref.estimate[k]),
                    float(distance[k]),
                    float(allowed[k]),
                    float(ref.error[k]),
                    str(verdicts[k]),
                    _reason(verdicts[k : k + 1], _take(ref, slice(k, k + 1))),
                )
            )
        grid = np.full(shape, UNCHECKED, dtype=object)
        grid.ravel()[local] = verdicts  # a fresh array: ravel() is a view
        n_inc = int(np.sum(verdicts == INCONCLUSIVE)) + sum(d.verdict == INCONCLUSIVE for d in dirs)
        # why it is inconclusive: the commonest cause among the entries, else the directions'
        dir_verdicts = np.array([d.verdict for d in dirs])
        reason = _reason(verdicts, ref) or (_reason(dir_verdicts, dref) if dirs else "")
        params[name] = ParamCheck(
            name=name,
            shape=shape,
            given_shape=None if a_full is None else a_full.shape,
            entries_checked=int(local.size),
            entries_total=int(np.prod(shape)),
            directions_checked=len(dirs),
            failures=int(np.sum(verdicts == FAIL)) + sum(d.verdict == FAIL for d in dirs),
            inconclusive=n_inc,
            max_abs_error=float(np.max(errs)) if comparable and errs.size else math.nan,
            max_rel_error=float(np.max(rel)) if comparable and rel.size else math.nan,
            diagnosis=diag,
            verdict=verdict,
            entry_verdicts=grid.astype(str),
            reason=REASONS.get(reason, "") if verdict == INCONCLUSIVE else "",
            advice=ADVICE.get(reason, "") if verdict == INCONCLUSIVE else "",
        )
    return params, checks


def _precision_notes(problem: Problem, noise: Noise, tol: Tolerance) -> list[str]:
    notes = []
    eval_dtype, input_dtype = problem.ev.dtype, problem.structure.input_dtype
    if eval_dtype != input_dtype:
        notes.append(
            f"x is {input_dtype}; f accepts {eval_dtype}, so f(x) and every neighbour were "
            f"evaluated in {eval_dtype}"
        )
    precision = noise.precision(problem.ev.eps)
    if precision > LOWER_PRECISION * problem.ev.eps:
        notes.append(
            f"f computes in a lower precision inside than {eval_dtype} (its noise is "
            f"{noise.relative():.1e} of its size; eps {precision:.1e} assumed, "
            f"{eval_dtype}'s is {problem.ev.eps:.1e}): tolerances follow that precision "
            f"(rtol {tol.rtol:.1e})"
        )
    if noise.still:
        notes.append(
            "f took the same value at every point tried, up to the largest steps: its "
            "derivative is read as 0 there. An f that rounds its output to a grid coarser "
            "than its change over those steps looks the same; if f rounds, check it at a "
            "point where it moves"
        )
    return notes


def _badness(entry: EntryCheck) -> tuple:
    """Fails first, then how far outside its tolerance an entry is (nan is infinitely far)."""
    ratio = entry.error / entry.tolerance if entry.tolerance > 0 else math.inf
    if not math.isfinite(entry.error) or not math.isfinite(entry.analytic):
        ratio = math.inf
    return (entry.verdict == FAIL, ratio)


def _assemble(problem, judged, tol, noise, opts, do_full, notes, seconds) -> GradCheckReport:
    params, checks = judged
    verdict = overall(p.verdict for p in params.values())
    failing = [c for c in checks if c.verdict != PASS]
    worst = sorted(failing, key=_badness, reverse=True)[:5]
    comparable = [c for c in checks if math.isfinite(c.analytic) and math.isfinite(c.numerical)]
    a = np.array([c.analytic for c in comparable])
    n = np.array([c.numerical for c in comparable])
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    rel_diff = float(np.linalg.norm(a - n)) / denom if denom > 0 else 0.0
    finite_abs = [p.max_abs_error for p in params.values() if math.isfinite(p.max_abs_error)]
    finite_rel = [p.max_rel_error for p in params.values() if math.isfinite(p.max_rel_error)]
    undecided = [p for p in params.values() if p.verdict == INCONCLUSIVE]
    return GradCheckReport(
        verdict=verdict,
        mode="full" if do_full else "fast",
        method=opts.method,
        eval_dtype=problem.ev.dtype.name,
        rtol=float(tol.rtol),
        atol=float(tol.atol),
        floor=float(tol.floor(opts.resolution(), opts.resolution())),
        noise=float(noise.level),
        evaluations=problem.ev.calls,
        seconds=seconds,
        max_abs_error=max(finite_abs, default=math.nan),
        max_rel_error=max(finite_rel, default=math.nan),
        rel_diff=rel_diff,
        params=params,
        worst=worst,
        inconclusive=[c for c in checks if c.verdict == INCONCLUSIVE],
        notes=notes,
        reason=undecided[0].reason if verdict == INCONCLUSIVE else "",
        advice=undecided[0].advice if verdict == INCONCLUSIVE else "",
    )


def settle_entries(
    f: Callable, x, wanted: Mapping, grad_eps: float, numerical_scale: float, seed: int = 0
) -> tuple[dict, Tolerance]:
    """Ladder references for some entries of a dict ``x``, for callers (``compare_network``)
    whose cheap reference could not certify them: ``{name: flat indices}`` ->
    ``({name: (Reference, finer Reference)}, Tolerance)``. Judge with ``judge_settled``."""
    problem = Problem.build(f, x, "richardson", None)
    noise = problem.measure_noise(np.random.default_rng(seed))
    tol = Tolerance.choose(grad_eps, noise, numerical_scale)
    opts = _Options("richardson", seed, patient=True)  # ladders from LADDER_START, run to the end
    fine = _finer(opts)
    out = {}
    for i, name in enumerate(problem.structure.keys):
        local = np.asarray(wanted.get(name, []), dtype=np.intp)
        if local.size:
            flat = problem.structure.offsets[i] + local
            out[name] = tuple(
                _entry_reference(problem, flat, noise, tol, o, None) for o in (opts, fine)
            )
    return out, tol


def judge_settled(g, refs: tuple, tol: Tolerance) -> tuple[np.ndarray, ...]:
    """(verdicts, tolerances, reference values) of values ``g`` against ``settle_entries``' two
    references, by the rule of ``_shrink_unsettled``."""
    coarse, fine = refs
    unsettled = _unsettled(g, coarse, tol)
    ref = _prefer(coarse, unsettled, _take(fine, unsettled), g[unsettled], tol)
    return _verdicts(g, ref, tol), tol.at(ref.estimate, ref.step, ref.largest), ref.estimate


def assert_grad_close(
    f: Callable, grad_f: Callable, *args, allow_inconclusive: bool = False, **kwargs
) -> GradCheckReport:
    """``check_grad`` for tests: raises ``AssertionError`` carrying the report (as its message
    and as ``.report``) when the verdict is "fail", or "inconclusive" unless
    ``allow_inconclusive=True``; returns the report otherwise."""
    __tracebackhide__ = True  # pytest shows the report, not this frame
    report = check_grad(f, grad_f, *args, **kwargs)
    if report.verdict == FAIL or (report.verdict == INCONCLUSIVE and not allow_inconclusive):
        err = AssertionError(str(report))
        err.report = report
        raise err
    return report
