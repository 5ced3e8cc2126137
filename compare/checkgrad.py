"""check_grad: does a gradient formula agree with finite differences, and how is it wrong?"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..network.training import show_progress
from ..network.validation import describe
from .diagnosis import Diagnosis, diagnose
from .numerical import (
    METHODS,
    Problem,
    Structure,
    directional_derivative,
    entry_derivatives,
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


@dataclass
class EntryCheck:
    """One entry compared: where, the two values, the difference and what was allowed."""

    param: str
    index: tuple
    analytic: float
    numerical: float
    error: float
    tolerance: float
    inconclusive: bool = False

    @property
    def rel_error(self) -> float:
        return self.error / max(abs(self.analytic), abs(self.numerical), 1e-300)


@dataclass
class ParamCheck:
    """The verdict on one parameter (one array of x)."""

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

    @property
    def ok(self) -> bool:
        return not self.diagnosis


@dataclass
class GradCheckReport:
    """The result of ``check_grad``: truthy exactly when the gradient agrees.

    ``params`` holds one ``ParamCheck`` per array of x (a single one, named ``x``, for an
    ndarray); ``worst`` the entries with the largest error relative to their tolerance;
    ``inconclusive`` the entries whose differences straddle a kink of f; ``rel_diff`` the classic
    ||g - g~|| / (||g|| + ||g~||) over the entries checked.
    """

    ok: bool
    mode: str
    method: str
    eval_dtype: str
    rtol: float
    atol: float
    evaluations: int
    seconds: float
    max_abs_error: float
    max_rel_error: float
    rel_diff: float
    params: dict[str, ParamCheck]
    worst: list[EntryCheck]
    inconclusive: list[EntryCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def diagnosis(self) -> dict[str, str]:
        """{parameter: diagnosis text} for the parameters that disagree."""
        return {k: p.diagnosis.text for k, p in self.params.items() if not p.ok}

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "method": self.method,
            "eval_dtype": self.eval_dtype,
            "rtol": self.rtol,
            "atol": self.atol,
            "evaluations": self.evaluations,
            "seconds": self.seconds,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "rel_diff": self.rel_diff,
            "params": {
                k: {
                    "ok": p.ok,
                    "shape": list(p.shape),
                    "entries_checked": p.entries_checked,
                    "directions_checked": p.directions_checked,
                    "failures": p.failures,
                    "inconclusive": p.inconclusive,
                    "max_abs_error": p.max_abs_error,
                    "max_rel_error": p.max_rel_error,
                    "diagnosis": p.diagnosis.kinds,
                    "detail": p.diagnosis.text,
                }
                for k, p in self.params.items()
            },
            "worst": [vars(e) | {"index": list(e.index)} for e in self.worst],
            "inconclusive": len(self.inconclusive),
            "notes": self.notes,
        }

    def __str__(self) -> str:
        n_bad = sum(not p.ok for p in self.params.values())
        head = (
            "gradient check PASSED"
            if self.ok
            else (f"gradient check FAILED: {n_bad} of {len(self.params)} parameter(s) disagree")
        )
        checked = sum(p.entries_checked for p in self.params.values())
        dirs = sum(p.directions_checked for p in self.params.values())
        scope = (
            f"full check of {checked} entries"
            if self.mode == "full"
            else f"fast check: {dirs} random directions and {checked} sampled entries "
            "(full=True checks every entry)"
        )
        lines = [
            head,
            f"  {scope}; {self.method} differences in {self.eval_dtype}, "
            f"{self.evaluations} evaluations of f, {self.seconds:.3g} s",
            f"  relative difference ||g - g~|| / (||g|| + ||g~||) = {self.rel_diff:.3e}",
            f"  max abs error {self.max_abs_error:.3e}, max rel error {self.max_rel_error:.3e}"
            f" (tolerances: rtol {self.rtol:.1e}, atol {self.atol:.1e}, plus the reference's "
            "own error estimate)",
        ]
        width = max(max(len(k) for k in self.params), 5) + 2
        lines.append(
            f"  {'param':<{width}}{'shape':<14}{'max abs err':>12}{'max rel err':>12}  verdict"
        )
        for name, p in self.params.items():
            verdict = "ok" if p.ok else p.diagnosis.text
            if p.ok and p.inconclusive:
                verdict += f" ({p.inconclusive} inconclusive at kinks)"
            lines.append(
                f"  {name:<{width}}{str(p.shape):<14}{p.max_abs_error:>12.3e}"
                f"{p.max_rel_error:>12.3e}  {verdict}"
            )
        if self.worst and not self.ok:
            lines.append("  worst entries:")
            lines.append(
                f"    {'param':<{width}}{'index':<12}{'analytic':>14}{'numerical':>14}{'error':>11}"
            )
            for e in self.worst:
                lines.append(
                    f"    {e.param:<{width}}{str(e.index):<12}{e.analytic:>14.6g}"
                    f"{e.numerical:>14.6g}{e.error:>11.2e}"
                )
        if self.inconclusive:
            lines.append(
                f"  {len(self.inconclusive)} entries inconclusive: their finite "
                "differences straddle a point where f is not differentiable (a kink)"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


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


def _analytic_arrays(g, structure: Structure) -> tuple[list, list[str]]:
    """The analytic gradient, one array (or None when missing) per array of x; and notes."""
    notes = []
    if structure.is_dict:
        if not isinstance(g, Mapping):
            raise TypeError(
                f"grad_f must return a dict with the keys of x {structure.keys}, got {describe(g)}"
            )
        extra = [k for k in g if k not in structure.keys]
        if extra:
            notes.append(f"grad_f returned keys that x does not have: {extra}")
        items = [g.get(k) for k in structure.keys]
    else:
        if isinstance(g, Mapping):
            raise TypeError(f"grad_f must return an array like x, got a dict with keys {list(g)}")
        items = [g]
    arrays = []
    for key, item in zip(structure.keys, items):
        if item is None:
            arrays.append(None)
            continue
        item = getattr(item, "data", item) if not isinstance(item, np.ndarray) else item
        arr = np.asarray(item)
        if arr.dtype.kind not in "biuf":
            label = "grad_f(x)" if key is None else f"grad_f(x)[{key!r}]"
            raise TypeError(f"{label} must be a real array, got dtype {arr.dtype}")
        arrays.append(arr)
    return arrays, notes


def check_grad(
    f: Callable,
    grad_f: Callable,
    x,
    *,
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
    """Compare ``grad_f(x)`` with finite differences of ``f`` at ``x``.

    ``f(x)`` returns a scalar; ``grad_f(x)`` the same structure as ``x`` (an ndarray, or a dict
    of ndarrays matched by key). The report is truthy exactly when they agree: every entry
    checked satisfies ``|g - g~| <= atol + rtol |g~| + 3 err`` with ``err`` the reference's own
    error estimate. ``rtol`` defaults to about 7 sqrt(eps) of the gradient's dtype (1e-7 in
    float64, 2.4e-3 in float32) and ``atol`` to 100 eps times the largest numerical entry.

    ``method``: ``"richardson"`` (the default: it estimates its own error and detects kinks,
    whose entries are reported inconclusive instead of failing), ``"central"`` or ``"complex"``
    (for complex-safe ``f``; checked first). With more than ``FULL_CHECK_LIMIT`` entries the
    default is a fast check — ``directions`` random directions per parameter and ``samples``
    sampled entries — said so in the report; ``full=True`` checks every entry.
    ``factors``, e.g. ``{"m": 200}``, names scale factors in the diagnosis (x m).
    """
    _check_callable("f", f)
    _check_callable("grad_f", grad_f)
    method = "richardson" if method is None else method
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if full is not None and not isinstance(full, (bool, np.bool_)):
        raise TypeError(f"full must be True, False or None, got {describe(full)}")
    if step is not None:
        _check_positive("step", step, allow_zero=False)
    for name, v in (("directions", directions), ("samples", samples), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if factors is not None and not isinstance(factors, Mapping):
        raise TypeError(f"factors must be a dict of name -> number, got {describe(factors)}")
    t0 = time.perf_counter()
    problem = Problem.build(f, x, method, step)
    structure, x0, f0, ev, steps = (
        problem.structure,
        problem.x0,
        problem.f0,
        problem.ev,
        problem.steps,
    )
    eval_dtype = ev.dtype
    analytic, notes = _analytic_arrays(grad_f(structure.unflatten(x0)), structure)
    grad_dtype = max(
        (a.dtype for a in analytic if a is not None and a.dtype.kind == "f"),
        key=lambda d: np.finfo(d).eps,
        default=np.dtype(np.float64),
    )
    eps_g = float(np.finfo(grad_dtype).eps)
    if eval_dtype == np.float32:
        eps_g = max(eps_g, float(np.finfo(np.float32).eps))
    rtol_used = 7 * np.sqrt(eps_g) if rtol is None else _check_positive("rtol", rtol)

    do_full = structure.size <= FULL_CHECK_LIMIT if full is None else bool(full)
    rng = np.random.default_rng(seed)
    if do_full:
        chosen = np.arange(structure.size)
    else:
        chosen = _sample_entries(structure, samples, rng)
    show = show_progress(progress) and chosen.size > 200
    bar = (
        (lambda it, total: tqdm(it, total=total, desc="check_grad", leave=False)) if show else None
    )
    fd = entry_derivatives(ev, x0, chosen, method, steps, f0, progress=bar)

    numerical_scale = float(np.max(np.abs(fd.estimate))) if fd.estimate.size else 0.0
    dir_data = {}
    if not do_full and directions:
        for i in range(len(structure.keys)):
            dir_data[i], _ = _directional_checks(
                ev, structure, x0, i, analytic[i], directions, method, f0, rng
            )
            for _, gn, _, _, _ in dir_data[i]:
                numerical_scale = max(numerical_scale, abs(gn))
    atol_used = 100 * eps_g * numerical_scale if atol is None else _check_positive("atol", atol)
    tol_all = atol_used + rtol_used * np.abs(fd.estimate) + 3 * fd.error

    # per-parameter comparison
    params, all_entries, inconclusive_entries = {}, [], []
    sq_diff = sq_a = sq_n = 0.0
    owners = np.searchsorted(structure.offsets, chosen, side="right") - 1
    per_param = {}
    for i in range(len(structure.keys)):
        sel = owners == i
        local = chosen[sel] - structure.offsets[i]
        per_param[i] = (local, fd.estimate[sel], tol_all[sel], fd.kink[sel])
    others_info = {
        structure.label(i): (per_param[i][0], per_param[i][1], structure.shapes[i])
        for i in range(len(structure.keys))
    }
    for i in range(len(structure.keys)):
        name, shape = structure.label(i), structure.shapes[i]
        local, num, tol, kink = per_param[i]
        a_full = analytic[i]
        xs = structure.part(x0, i).ravel()[local]
        dirs = []
        for ga, gn, err, xv, gtv in dir_data.get(i, []):
            dirs.append((ga, gn, atol_used * 10 + rtol_used * abs(gn) + 3 * err, xv, gtv))
        others = {k: v for k, v in others_info.items() if k != name}
        diag = diagnose(
            name,
            analytic=a_full,
            shape=shape,
            idx=local,
            numerical=num,
            tol=tol,
            inconclusive=kink,
            x=xs,
            directions=dirs,
            others=others,
            factors=factors,
            full=do_full,
        )
        comparable = a_full is not None and a_full.shape == shape
        a_vals = (
            a_full.ravel()[local].astype(np.float64) if comparable else np.full(local.size, np.nan)
        )
        with np.errstate(invalid="ignore"):
            errs = np.abs(a_vals - num)
        finite_errs = np.where(np.isfinite(errs), errs, np.inf) if comparable else errs
        failing = (finite_errs > tol) & ~kink if comparable else np.ones(local.size, bool)
        for k in range(local.size):
            idx = tuple(int(j) for j in np.unravel_index(local[k], shape))
            entry = EntryCheck(
                name,
                idx,
                float(a_vals[k]),
                float(num[k]),
                float(errs[k]),
                float(tol[k]),
                bool(kink[k] and comparable and errs[k] > tol[k]),
            )
            if entry.inconclusive:
                inconclusive_entries.append(entry)
            elif comparable:
                all_entries.append(entry)
        if comparable and np.all(np.isfinite(a_vals)):
            sq_diff += float(np.sum(errs**2))
            sq_a += float(np.sum(a_vals**2))
            sq_n += float(np.sum(num**2))
        rel = errs / np.maximum(np.maximum(np.abs(a_vals), np.abs(num)), 1e-300)
        params[name] = ParamCheck(
            name=name,
            shape=shape,
            given_shape=None if a_full is None else a_full.shape,
            entries_checked=int(local.size),
            entries_total=int(np.prod(shape)),
            directions_checked=len(dirs),
            failures=int(np.sum(failing)) + sum(abs(d[0] - d[1]) > d[2] for d in dirs),
            inconclusive=int(np.sum(kink & (finite_errs > tol))) if comparable else 0,
            max_abs_error=float(np.max(errs)) if comparable and errs.size else float("nan"),
            max_rel_error=float(np.max(rel)) if comparable and rel.size else float("nan"),
            diagnosis=diag,
        )
    ok = all(p.ok for p in params.values())
    worst = sorted(all_entries, key=_badness, reverse=True)[:5]
    if not ok:
        worst = [e for e in worst if not e.error <= e.tolerance]
    denom = np.sqrt(sq_a) + np.sqrt(sq_n)
    rel_diff = float(np.sqrt(sq_diff) / denom) if denom > 0 else 0.0
    finite_abs = [p.max_abs_error for p in params.values() if np.isfinite(p.max_abs_error)]
    finite_rel = [p.max_rel_error for p in params.values() if np.isfinite(p.max_rel_error)]
    if eval_dtype != structure.input_dtype:
        notes.append("x is float32; f was evaluated in float64 for the reference")
    return GradCheckReport(
        ok=ok,
        mode="full" if do_full else "fast",
        method=method,
        eval_dtype=eval_dtype.name,
        rtol=float(rtol_used),
        atol=float(atol_used),
        evaluations=ev.calls + 1,
        seconds=time.perf_counter() - t0,
        max_abs_error=max(finite_abs, default=float("nan")),
        max_rel_error=max(finite_rel, default=float("nan")),
        rel_diff=rel_diff,
        params=params,
        worst=worst,
        inconclusive=inconclusive_entries,
        notes=notes,
    )


def _badness(entry: EntryCheck) -> float:
    """How far outside its tolerance an entry is (nan counts as infinitely far)."""
    if not np.isfinite(entry.error):
        return np.inf
    if entry.tolerance > 0:
        return entry.error / entry.tolerance
    return np.inf if entry.error > 0 else 0.0


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


def _directional_checks(ev, structure, x0, i, analytic, k, method, f0, rng):
    """``k`` random directions within array i: tuples (analytic . v, d/dv numerically, its error
    estimate, x . v, analytic^T . v) — v scaled per entry like the steps."""
    shape = structure.shapes[i]
    start, stop = structure.offsets[i], structure.offsets[i + 1]
    usable = analytic is not None and analytic.shape == shape and np.all(np.isfinite(analytic))
    out, calls = [], 0
    for _ in range(k if usable else 0):
        v_local = rng.standard_normal(stop - start) * np.maximum(np.abs(x0[start:stop]), 1.0)
        v = np.zeros_like(x0)
        v[start:stop] = v_local
        est, err, kink, n = directional_derivative(ev, x0, v, method, f0)
        calls += n
        if kink:
            continue
        ga = float(analytic.ravel().astype(np.float64) @ v_local)
        gtv = None
        if len(shape) == 2 and shape[0] == shape[1]:
            gtv = float(analytic.T.ravel().astype(np.float64) @ v_local)
        xv = float(x0[start:stop] @ v_local)
        out.append((ga, est, err, xv, gtv))
    return out, calls


def assert_grad_close(f: Callable, grad_f: Callable, x, **kwargs) -> GradCheckReport:
    """``check_grad`` for tests: raises ``AssertionError`` carrying the report (as its message
    and as ``.report``) when the gradient disagrees; returns the report otherwise."""
    report = check_grad(f, grad_f, x, **kwargs)
    if not report:
        err = AssertionError(str(report))
        err.report = report
        raise err
    return report
