"""Numerical derivatives of f at x, and the one seam that turns x into a flat vector and back.

``Structure`` flattens ``x`` (an ndarray or a dict of them) into one float64 vector and
rebuilds it; ``Evaluator`` calls f on such vectors in the one dtype chosen for the reference;
``Problem`` is what every derivative starts from. The formulas, steps and tolerances are the
finite-difference policy's (``fdpolicy``); this module applies them to entries and directions.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..network.validation import describe
from .fdpolicy import (
    COMPLEX_STEP,
    METHODS,
    NOISE_LINES,
    NOISE_POINTS,
    Noise,
    classic_step,
    combine,
    default_steps,
    estimate_noise,
    ladder_steps,
    offsets,
    run_ladder,
)
from .trees import Tree

__all__ = ["numerical_grad", "Structure", "Problem", "scalar_output", "METHODS", "FDResult"]


def scalar_output(value, name: str = "f"):
    """``value`` as a Python float (or complex), or a TypeError saying what ``name`` returned."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must return a scalar number, got {describe(value)}")
    if isinstance(value, numbers.Number):
        return complex(value) if isinstance(value, complex) else float(value)
    data = getattr(value, "data", None)  # Tensor or Value
    if data is not None and not isinstance(value, np.ndarray):
        value = data
    if isinstance(value, np.ndarray) or np.isscalar(value):
        arr = np.asarray(value)
        if arr.size != 1:
            raise TypeError(f"{name} must return a scalar, got an array of shape {arr.shape}")
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"{name} must return a number, got an array of dtype {arr.dtype}")
        item = arr.item()  # size 1: the one value, whatever the shape
        return complex(item) if isinstance(item, complex) else float(item)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must return a scalar number, got {describe(value)}") from None


class Structure:
    """The shape of an argument ``x``: an array, a scalar, or any nesting of dicts, lists and
    tuples of those (a ``trees.Tree``), seen as a list of arrays — check_grad's parameters.

    ``flatten`` gives one float64 vector; ``unflatten`` rebuilds ``x`` from such a vector.
    This is the one seam between x and the flat vectors every derivative works on. Parameters
    are named by path: an array is ``x``; the keys of a dict name its parameters as they are
    (``W1``, ``layer['b']``); the items of a list are ``x[0]``, ``x[1]``; ``roots`` names the
    top level otherwise (several arguments: ``args[0]``, ``args[2]``).
    """

    def __init__(self, x, name: str = "x", roots=None):
        if roots is None and isinstance(x, Mapping):
            roots = {k: str(k) for k in x}
        self.tree = Tree(x, name, roots)
        self.keys = [self.tree.label(i) for i in range(len(self.tree.leaves))]  # the names
        self.shapes = [leaf.shape for leaf in self.tree.leaves]
        self.offsets = [int(o) for o in self.tree.offsets]
        self.size = self.tree.size

    def label(self, i: int) -> str:
        return self.tree.label(i)

    def flatten(self, x) -> np.ndarray:
        return self.tree.flatten(x, "x has")

    def part(self, vec: np.ndarray, i: int) -> np.ndarray:
        """The i-th array's slice of ``vec``, reshaped (a view)."""
        return self.tree.part(vec, i)

    def unflatten(self, vec: np.ndarray, dtype=None):
        """A new ``x`` from ``vec``: copies in the original shapes (and dtypes, or ``dtype``);
        a complex ``vec`` stays complex."""
        return self.tree.unflatten(vec, dtype)

    def gradient_parts(self, g, notes: list) -> list:
        """``g``'s array (or None, for a key it lacks) for each array of x, after checking that
        ``g`` has x's containers; keys x does not have are noted."""
        return self.tree.match(g, "grad_f returned", extras=notes)

    @property
    def input_dtype(self) -> np.dtype:
        """float32 if any array is float32, else float64."""
        return self.tree.dtype


@dataclass
class FDResult:
    """Derivative estimates along a set of directions (entries or vectors)."""

    estimate: np.ndarray  # the derivative estimates
    error: np.ndarray  # each estimate's own error bound (truncation + round-off)
    kink: np.ndarray  # a hint: True where the function does not look smooth within the step


class Evaluator:
    """Calls ``f`` on flat vectors, in the dtype chosen for the reference, and counts calls.

    ``nearby`` evaluates at a perturbed point: NumPy's floating-point warnings are silenced and
    a ValueError or ArithmeticError (``math.log`` of a negative number) reads as nan, since a
    large step may leave f's domain; the reference then skips that step.
    """

    def __init__(self, f: Callable, structure: Structure, dtype):
        self.f, self.structure, self.dtype = f, structure, np.dtype(dtype)
        self.calls = 0

    def __call__(self, vec: np.ndarray):
        self.calls += 1
        x = self.structure.unflatten(vec, self.dtype)
        return scalar_output(self.f(x))

    def nearby(self, vec: np.ndarray) -> float:
        try:
            with np.errstate(all="ignore"):
                value = self(vec)
        except (ValueError, ArithmeticError):
            return math.nan
        return value if isinstance(value, float) else math.nan

    @property
    def eps(self) -> float:
        return float(np.finfo(self.dtype).eps)


def choose_eval_dtype(f: Callable, structure: Structure, x0: np.ndarray, f0: float):
    """float64 for the reference when ``f`` really computes in float64 at a float32 point.

    A float32 ``x`` is tried in float64. If ``f`` accepts it, its derivative along a random
    direction is taken twice: by central differences with a float64-sized step (eps64^(1/3))
    and by Richardson extrapolation with a float32-sized step (eps32^(1/4)). A function that
    computes in float64 gives the same number both ways (to ~1e-6); one that rounds to float32
    somewhere inside is off by ~eps32/h with the small step. Only when they agree,
    ``|fine - coarse| <= 1e-6 max(|fine|, |coarse|) + 1e-12 max(|f(x)|, 1e-300)`` (equality
    included), are the differences taken in float64; otherwise in float32, with float32 steps.
    """
    if structure.input_dtype == np.float64:
        return np.dtype(np.float64)
    try:
        ev = Evaluator(f, structure, np.float64)
        base = ev(x0)
        direction = np.random.default_rng(0).standard_normal(x0.size) * np.maximum(np.abs(x0), 1.0)

        def phi(t):
            return ev(x0 + t * direction)

        fine, _, _, _ = _differences(
            phi,
            base,
            classic_step("central", np.finfo(np.float64).eps),
            "central",
            np.finfo(np.float64).eps,
        )
        coarse, _, _, _ = _differences(
            phi,
            base,
            classic_step("richardson", np.finfo(np.float32).eps),
            "richardson",
            np.finfo(np.float64).eps,
        )
    except Exception:  # noqa: BLE001 - any refusal of float64 input means: stay in float32
        return np.dtype(np.float32)
    if not (np.isfinite(base) and abs(base - f0) <= 1e-5 * max(abs(f0), 1e-30)):
        return np.dtype(np.float32)
    if abs(fine - coarse) <= 1e-6 * max(abs(fine), abs(coarse)) + 1e-12 * max(abs(base), 1e-300):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _differences(phi: Callable, f0: float, h: float, method: str, eps: float):
    """(estimate, error, kink) of phi'(0) with step h, and the number of calls of phi."""
    points = offsets(method)
    values = [phi(o * h) for o in points]
    est, err, kink = combine(method, h, f0, values, eps)
    return float(est), float(err), bool(kink), len(points)


def entry_derivatives(
    ev: Evaluator, x0: np.ndarray, indices, method: str, steps: np.ndarray, f0: float, progress=None
) -> FDResult:
    """Partial derivatives df/dx_i for the flat ``indices``, one entry moved at a time."""
    indices = np.asarray(indices, dtype=np.intp)
    est = np.empty(indices.size)
    err = np.empty(indices.size)
    kink = np.zeros(indices.size, dtype=bool)
    work = x0.astype(np.complex128) if method == "complex" else x0.copy()
    iterator = enumerate(indices)
    if progress is not None:
        iterator = progress(iterator, total=indices.size)
    for k, i in iterator:
        xi = work[i]

        def phi(t, i=i, xi=xi):
            work[i] = xi + t
            try:
                return ev(work)
            finally:
                work[i] = xi

        est[k], err[k], kink[k], _ = _differences(phi, f0, steps[i], method, ev.eps)
    return FDResult(est, err, kink)


def check_complex_safe(f: Callable, structure: Structure, x0: np.ndarray, f0: float):
    """None when ``f`` carries a complex perturbation through analytically, else the reason.

    Three signs that it does not: it warns that it discards an imaginary part (ComplexWarning),
    it returns a real number for complex input, or its complex-step directional derivative
    disagrees with central differences.
    """
    ev = Evaluator(f, structure, np.float64)
    direction = np.random.default_rng(1).standard_normal(x0.size) * np.maximum(np.abs(x0), 1.0)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = ev(x0.astype(np.complex128) + COMPLEX_STEP * 1j * direction)
    except Exception as exc:  # noqa: BLE001 - any failure on complex input means: not safe
        return f"f raised {type(exc).__name__} for complex input ({exc})"
    if any(issubclass(w.category, np.exceptions.ComplexWarning) for w in caught):
        return "f discards the imaginary part of its input (NumPy ComplexWarning)"
    if not isinstance(value, complex):
        return "f returns a real number for complex input"
    step_est = value.imag / COMPLEX_STEP
    central, c_err, _, _ = _differences(
        lambda t: ev(x0 + t * direction), f0, classic_step("central", ev.eps), "central", ev.eps
    )
    if abs(step_est - central) > 1e-5 * max(abs(central), abs(step_est)) + 10 * c_err:
        return (
            f"f's complex-step derivative ({step_est:.6g}) disagrees with central "
            f"differences ({central:.6g}): f is not analytic (abs, comparisons, max...)"
        )
    return None


@dataclass
class Problem:
    """What every numerical derivative of ``f`` at ``x`` starts from: the structure of ``x``,
    ``x`` flattened, ``f(x)``, an evaluator in the dtype chosen for the reference, and the
    per-entry steps of ``method``."""

    structure: Structure
    x0: np.ndarray
    f0: float
    ev: Evaluator
    steps: np.ndarray

    @classmethod
    def build(
        cls, f: Callable, x, method: str, step: float | None, name: str = "x", roots=None
    ) -> Problem:
        structure = Structure(x, name, roots)
        x0 = structure.flatten(x)
        f0 = scalar_output(f(structure.unflatten(x0)), "f")
        if isinstance(f0, complex) or not np.isfinite(f0):
            raise ValueError(f"f(x) must be a finite real number, got {f0!r}")
        if method == "complex":
            reason = check_complex_safe(f, structure, x0, f0)
            if reason is not None:
                raise ValueError(f"method 'complex' needs a complex-safe f: {reason}")
            dtype = np.dtype(np.float64)
        else:
            dtype = choose_eval_dtype(f, structure, x0, f0)
        ev = Evaluator(f, structure, dtype)
        f0 = ev(x0)  # f(x) itself in the evaluation dtype: one precision for every value
        if not np.isfinite(f0):
            raise ValueError(f"f(x) must be finite when evaluated in {dtype}, got {f0!r}")
        return cls(structure, x0, f0, ev, default_steps(x0, method, ev.eps, step))

    def measure_noise(self, rng: np.random.Generator) -> Noise:
        """The noise of f near x (``fdpolicy.estimate_noise``) along random directions.

        Each line is centred a little away from x (32 spacings along another random
        direction): a line through x would cross every kink that sits at x itself (a relu
        at 0), and a kink reads as noise the size of its jump.
        """
        scale = np.maximum(np.abs(self.x0), 1.0)
        grid = np.arange(NOISE_POINTS) - NOISE_POINTS // 2
        lines = [
            (rng.standard_normal(self.x0.size) * scale, rng.standard_normal(self.x0.size) * scale)
            for _ in range(NOISE_LINES)
        ]

        def along(line, delta):
            direction, aside = line
            centre = self.x0 + 32 * delta * aside
            return np.array([self.ev.nearby(centre + t * delta * direction) for t in grid])

        return estimate_noise(along, lines, self.f0, self.ev.eps)

    def _rounded(self, vec: np.ndarray) -> np.ndarray:
        """``vec`` as the evaluation dtype will see it (float32 rounds)."""
        return vec.astype(self.ev.dtype).astype(np.float64) if self.ev.dtype != np.float64 else vec

    def entry_ladder(
        self,
        i: int,
        noise: Noise,
        start: float | None,
        extrapolate: bool,
        good_enough,
    ):
        """The step ladder for df/dx_i (``fdpolicy.run_ladder``)."""
        work = self.x0.copy()  # this ladder's own x: only entry i moves, set before each call
        xi = float(work[i])

        def pair(h):
            values, actual = [], []
            for t in (h, -h):
                moved = float(self._rounded(np.array([xi + t]))[0])
                work[i] = moved
                values.append(self.ev.nearby(work))
                actual.append(abs(moved - xi))
            return values[0], values[1], actual[0], actual[1]

        return self._ladder(pair, max(abs(xi), 1.0), noise, start, extrapolate, good_enough)

    def direction_ladder(
        self,
        direction: np.ndarray,
        noise: Noise,
        start: float | None,
        extrapolate: bool,
        good_enough,
    ):
        """The step ladder for the derivative of f along ``direction`` (a flat vector)."""

        def pair(h):
            return (
                self.ev.nearby(self.x0 + h * direction),
                self.ev.nearby(self.x0 - h * direction),
                h,
                h,
            )

        return self._ladder(pair, 1.0, noise, start, extrapolate, good_enough)

    def _ladder(self, pair, scale: float, noise: Noise, start, extrapolate: bool, good_enough):
        """``fdpolicy.run_ladder`` over the steps for a variable of size ``scale``."""
        steps = ladder_steps(scale, start)
        return run_ladder(
            pair, self.f0, steps, noise.level, extrapolate=extrapolate, good_enough=good_enough
        )

    def complex_step(self, direction: np.ndarray) -> float:
        """The complex-step derivative along ``direction``: Im f(x + ih d) / h."""
        base = self.x0.astype(np.complex128)
        return float(np.imag(self.ev(base + COMPLEX_STEP * 1j * direction))) / COMPLEX_STEP


def numerical_grad(
    f: Callable,
    x,
    method: str = "central",
    step: float | None = None,
    *,
    return_error: bool = False,
):
    """The gradient of a scalar function ``f`` at ``x`` by finite differences.

    ``x`` is an array, a scalar, or any nesting of dicts, lists and tuples of them; the result
    has the same structure, in float64.
    ``method``: ``"central"``, ``"richardson"`` (central differences at h and h/2, extrapolated;
    more accurate, and it estimates its own error) or ``"complex"`` (the complex step, exact to
    rounding, for functions that are complex-safe; this is checked first and a ValueError says
    why not). ``step`` scales the per-entry steps ``step * max(|x_i|, 1)``. A float32 ``x`` is
    evaluated in float64 when ``f`` allows it. With ``return_error=True`` returns
    ``(grad, error)``, error being each entry's estimated error.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {describe(f)}")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if step is not None:
        if (
            isinstance(step, bool)
            or not isinstance(step, numbers.Real)
            or not (np.isfinite(step) and step > 0)
        ):
            raise ValueError(f"step must be a positive finite number, got {step!r}")
    problem = Problem.build(f, x, method, step)
    structure, x0 = problem.structure, problem.x0
    result = entry_derivatives(
        problem.ev, x0, np.arange(x0.size), method, problem.steps, problem.f0
    )
    grad = structure.unflatten(result.estimate, np.float64)
    if return_error:
        return grad, structure.unflatten(result.error, np.float64)
    return grad
