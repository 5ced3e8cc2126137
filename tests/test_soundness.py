"""The soundness of check_grad's verdicts, on random functions with known gradients.

A function is drawn from a small grammar, f(x) = offset + scale * sum_j w_j op_j(A x + c)_j,
with smooth operations (tanh, sin, exp, square, sigmoid, softplus) and operations with kinks
(relu, abs, max), in float64 or float32, computed in float32 inside or not, quantised (rounded
to a grid 1e-9..1e-4 of f's scale) or not, scaled from 1e-8 to 1e8 and offset up to 1e12, at
random points or at a kink. Two promises are checked on every function:

- the true gradient (at a kink: either one-sided derivative) is never "fail";
- a corrupted gradient (one entry, a scale, the sign, zero, reversed entries, a missing term)
  is never "pass" when it is detectably wrong: some entry lies outside the set of valid
  derivatives (a point, or the interval between one-sided derivatives at a kink) by more than
  the detection floor DETECTION[dtype] x max|g| and more than the resolution of f's
  differences, RESOLUTION x eps x |f| (plus the quantum of a quantised f).

Hundreds of examples run by default (derandomized); thousands with ``-m slow``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backproof.compare import check_grad

# the smallest relative error in one entry (relative to the largest entry of the gradient)
# that is never passed, per dtype of the gradient (float32 includes f computed in float32)
DETECTION = {"float64": 1e-5, "float32": 1e-2}
RESOLUTION = 200  # differences cannot see slopes below ~ eps |f| / step: 200 eps |f| is safe
# quantisation inside f, relative to f's scale: half the functions are not quantised
QUANTA = (0.0,) * 6 + (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4)


def _sigmoid(u):
    return 0.5 * (1 + np.tanh(0.5 * u))


# name: (forward, derivative, (left slope, right slope) at 0 or None when smooth)
OPS = {
    "tanh": (np.tanh, lambda u: 1 / np.cosh(u) ** 2, None),
    "sin": (np.sin, np.cos, None),
    "exp": (lambda u: np.exp(0.3 * u), lambda u: 0.3 * np.exp(0.3 * u), None),
    "square": (lambda u: u * u, lambda u: 2 * u, None),
    "sigmoid": (_sigmoid, lambda u: _sigmoid(u) * (1 - _sigmoid(u)), None),
    "softplus": (lambda u: np.logaddexp(0, u), _sigmoid, None),
    "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0) * 1.0, (0.0, 1.0)),
    "abs": (np.abs, np.sign, (-1.0, 1.0)),
    "max": (lambda u: np.maximum(u, 0.3 * u), lambda u: np.where(u > 0, 1.0, 0.3), (0.3, 1.0)),
}
SMOOTH = [k for k, v in OPS.items() if v[2] is None]
KINKED = [k for k, v in OPS.items() if v[2] is not None]


@dataclass
class Case:
    f: object
    grad: np.ndarray  # the true gradient (float64), at a kink one of the valid ones
    low: np.ndarray  # the valid derivatives lie in [low, high] entrywise
    high: np.ndarray
    x: np.ndarray
    dtype: str  # the precision of the check: "float32" if x or f's inside is float32
    resolution: float  # the smallest absolute error the differences can be asked to see
    terms: list  # each term's contribution to the gradient (for the missing-term corruption)
    label: str


@dataclass(frozen=True)
class Recipe:
    """What a case is made of (drawn by hypothesis here, by a seeded Generator in
    benchmarks/soundness.py)."""

    n: int
    ops: tuple
    seed: int
    x_dtype: str
    inside32: bool
    scale: float
    offset: float
    quantum: float
    at_kink: bool


@st.composite
def recipes(draw):
    k = draw(st.integers(1, 4))
    ops = tuple(draw(st.lists(st.sampled_from(list(OPS)), min_size=k, max_size=k)))
    x_dtype = draw(st.sampled_from(["float64", "float32"]))
    return Recipe(
        n=draw(st.integers(2, 5)),
        ops=ops,
        seed=draw(st.integers(0, 2**32 - 1)),
        x_dtype=x_dtype,
        inside32=x_dtype == "float64" and draw(st.booleans()) and draw(st.booleans()),
        scale=10.0 ** draw(st.sampled_from([-8, -4, 0, 0, 0, 4, 8])),
        offset=draw(st.sampled_from([0.0, 0.0, 3.0, 1e3, 1e6, 1e12]))
        * draw(st.sampled_from([1, -1])),
        # f rounded to a grid 1e-9..1e-4 of its scale, much coarser than its precision
        quantum=draw(st.sampled_from(QUANTA)),
        at_kink=draw(st.booleans()) and ops[0] in KINKED,
    )


def cases():
    return recipes().map(build_case)


def build_case(r: Recipe) -> Case:
    """The function, its true gradient and the set of valid derivatives, from a recipe."""
    n, ops, k = r.n, r.ops, len(r.ops)
    rng = np.random.default_rng(r.seed)
    A = rng.standard_normal((k, n))
    w = rng.standard_normal(k)
    x = rng.standard_normal(n).astype(r.x_dtype)
    c = rng.standard_normal(k)
    if r.at_kink:
        c[0] = -float(A[0] @ x.astype(np.float64))
    work = np.float32 if r.inside32 else np.float64
    A_w, c_w, w_w = A.astype(work), c.astype(work), w.astype(work)
    scale, offset = r.scale, r.offset
    q = r.quantum * abs(scale)  # the quantum is relative to f's scale

    def f(x):
        u = A_w @ np.asarray(x).astype(work) + c_w
        total = sum(w_w[j] * OPS[ops[j]][0](u[j : j + 1])[0] for j in range(k))
        value = work(scale) * total
        if q:
            value = np.round(value / q) * q
        return float(value) + offset

    A64, c64, w64 = (a.astype(np.float64) for a in (A_w, c_w, w_w))
    u = A64 @ x.astype(np.float64) + c64
    terms = [scale * w64[j] * OPS[ops[j]][1](u[j]) * A64[j] for j in range(k)]
    grad = np.sum(terms, axis=0)
    low, high = grad.copy(), grad.copy()
    if r.at_kink:  # term 0 may take either one-sided slope
        left, right = OPS[ops[0]][2]
        base = grad - terms[0]
        ends = [base + scale * w64[0] * s * A64[0] for s in (left, right)]
        low, high = np.minimum(*ends), np.maximum(*ends)
    # a quantised f is less precise than float64 (its quanta are coarser than float64's)
    precision = "float32" if (r.inside32 or r.x_dtype == "float32" or q) else "float64"
    eps = np.finfo(np.float32 if r.inside32 else np.float64).eps
    f_size = abs(offset) + abs(scale) * float(np.sum(np.abs(w))) * 10
    resolution = RESOLUTION * (eps * f_size + q)
    label = f"{'+'.join(ops)} {r.x_dtype}{' f32-inside' if r.inside32 else ''} scale {scale:g} "
    label += f"offset {offset:g} quantum {r.quantum:g}{' at a kink' if r.at_kink else ''}"
    return Case(f, grad, low, high, x, precision, resolution, terms, label)


CORRUPTIONS = ["entry", "scale", "sign", "zero", "reverse", "term"]


def corrupt(case: Case, how: str, size: float, rng) -> np.ndarray:
    g = case.grad.copy()
    top = float(np.max(np.abs(g)))
    if how == "entry":
        i = int(rng.integers(g.size))
        g[i] += size * max(top, 1e-300) * rng.choice([-1, 1])
    elif how == "scale":
        g *= 1 + size * rng.choice([-1, 1])
    elif how == "sign":
        g = -g
    elif how == "zero":
        g = np.zeros_like(g)
    elif how == "reverse":
        g = g[::-1].copy()
    else:
        g = g - case.terms[int(rng.integers(len(case.terms)))]
    return g


def detectably_wrong(case: Case, g: np.ndarray) -> bool:
    """Some entry lies outside the valid derivatives by more than what can be detected."""
    outside = np.maximum(np.maximum(case.low - g, g - case.high), 0.0)
    top = float(np.max(np.maximum(np.abs(case.low), np.abs(case.high))))
    need = max(DETECTION[case.dtype] * top, case.resolution)
    return bool(np.any(outside > need))


def check(case: Case, g: np.ndarray):
    x_dtype = case.x.dtype
    return check_grad(case.f, lambda x: g.astype(x_dtype), case.x)


def _soundness(case: Case, how: str, size_exp: float, seed: int):
    right = check(case, case.grad)
    assert right.verdict != "fail", f"right gradient failed: {case.label}\n{right}"
    g = corrupt(case, how, 10.0**size_exp * DETECTION[case.dtype], np.random.default_rng(seed))
    assume(detectably_wrong(case, g))
    wrong = check(case, g)
    assert wrong.verdict != "pass", f"{how} corruption passed: {case.label}\n{wrong}"
    return right.verdict, wrong.verdict


COMMON = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@settings(max_examples=300, **COMMON)
@given(cases(), st.sampled_from(CORRUPTIONS), st.floats(0, 3), st.integers(0, 1000))
def test_right_never_fails_and_wrong_never_passes(case, how, size_exp, seed):
    _soundness(case, how, size_exp, seed)


@pytest.mark.slow
@settings(max_examples=3000, **COMMON)
@given(cases(), st.sampled_from(CORRUPTIONS), st.floats(0, 3), st.integers(0, 1000))
def test_right_never_fails_and_wrong_never_passes_thoroughly(case, how, size_exp, seed):
    _soundness(case, how, size_exp, seed)


# -- the same promises at the detection floor exactly, for one entry ---------------------------
@settings(max_examples=100, **COMMON)
@given(cases(), st.integers(0, 1000))
def test_one_entry_at_the_detection_floor_is_never_passed(case, seed):
    g = corrupt(case, "entry", 1.01 * DETECTION[case.dtype], np.random.default_rng(seed))
    assume(detectably_wrong(case, g))
    assert check(case, g).verdict != "pass", case.label


def test_the_suite_sees_every_verdict():
    """The generator is not vacuous: it makes passes, fails and inconclusive checks."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3)
    f = lambda x: float(np.sum(np.tanh(x)))  # noqa: E731
    assert check_grad(f, lambda x: 1 / np.cosh(x) ** 2, x).verdict == "pass"
    assert check_grad(f, lambda x: 2 / np.cosh(x) ** 2, x).verdict == "fail"
    noisy = lambda x: 1e12 + 1e-8 * float(np.sum(np.tanh(x)))  # noqa: E731
    assert check_grad(noisy, lambda x: 0 * x, x).verdict == "inconclusive"


# -- functions that do not move, and quantised ones ------------------------------------------------
def test_a_constant_f_certifies_a_zero_gradient_and_refutes_a_slope():
    """Differences exactly 0 at every step: a zero derivative is certified, a slope that would
    have moved f is refuted (not "inconclusive: f does not move")."""
    x = np.array([0.3, 0.5])
    assert check_grad(lambda x: 5.0, lambda x: np.zeros(2), x).verdict == "pass"
    assert check_grad(lambda x: 5.0, lambda x: np.ones(2), x).verdict == "fail"
    assert check_grad(lambda x: 0.0, lambda x: np.zeros(2), x).verdict == "pass"
    assert check_grad(lambda x: 0.0, lambda x: np.full(2, 1e-3), x).verdict == "fail"


def test_a_report_on_an_f_that_never_moves_says_so_and_why_that_matters():
    """The zero derivative of an f that never moved is a premise a rounding f can break: the
    report says it relied on it, and says nothing of the kind when f moves."""
    x = np.array([0.3, 0.5])
    still = check_grad(lambda x: 5.0, lambda x: np.ones(2), x)
    assert any("same value at every point tried" in n for n in still.notes)
    assert "same value at every point tried" in str(still)
    moving = check_grad(lambda x: float(np.sum(np.sin(x))), lambda x: np.ones(2), x)
    assert not any("same value" in n for n in moving.notes)


def test_f_constant_along_one_entry():
    x = np.array([0.3, 0.5])
    f = lambda x: float(np.sin(x[0]))  # noqa: E731
    assert check_grad(f, lambda x: np.array([np.cos(x[0]), 0.0]), x).verdict == "pass"
    assert check_grad(f, lambda x: np.array([np.cos(x[0]), 1.0]), x).verdict == "fail"


@pytest.mark.parametrize("quantum", [1e-6, 1e-4])
def test_a_quantised_f_shows_noise_of_about_its_quantum(quantum):
    """Close points where f repeats, or steps by exactly one quantum, hide the quantisation:
    the noise measured must still be of the order of the quantum, and a right gradient is
    never failed while a wrong one is never passed."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    smooth = lambda x: float(np.sum(np.sin(A @ x)))  # noqa: E731
    f = lambda x: float(np.round(smooth(x) / quantum) * quantum)  # noqa: E731
    grad = lambda x: A.T @ np.cos(A @ x)  # noqa: E731
    right = check_grad(f, grad, x)
    assert 0.05 * quantum < right.noise < quantum
    assert right.verdict != "fail"
    assert check_grad(f, lambda x: 1.01 * grad(x), x).verdict != "pass"
    assert check_grad(f, lambda x: -grad(x), x).verdict == "fail"
    # the smooth function itself keeps its rounding-sized noise: the quantum check is specific
    assert check_grad(smooth, grad, x).noise < 1e-14


def test_steps_of_exactly_one_quantum_are_not_taken_for_silence():
    from backproof.compare.fdpolicy import _read_table

    quantum = 1e-6
    values = 0.14 + quantum * np.arange(7.0) - 3.0 + 3.0  # one quantum per point, exactly
    table = _read_table(values)
    assert table.hidden
    repeated = _read_table(np.round((0.14 + 0.3 * quantum * np.arange(7.0)) / quantum) * quantum)
    assert repeated.hidden and 0.5 * quantum < repeated.quantum < 1.5 * quantum
    noisy = 1.0 + 1e-3 * np.arange(7.0) + 1e-9 * np.random.default_rng(0).standard_normal(7)
    assert not _read_table(noisy).hidden and _read_table(noisy).level > 1e-10


# -- the grid of a quantised f: a property of f, not of one line --------------------------
def _on_a_grid(values, quantum):
    return np.round(values / quantum) * quantum


def test_the_grid_of_a_quantised_f_is_found_from_every_value_seen():
    from backproof.compare.fdpolicy import grid_quantum

    rng = np.random.default_rng(1)
    for quantum, offset in [(1e-5, 1e6), (1e-8, -3.0), (1e-4, 0.0)]:
        # the smallest change is a quantum give or take the rounding of 1e6: refit, not taken
        smooth = [np.sin(3 * rng.standard_normal(7)) for _ in range(3)]
        seen = [_on_a_grid(s, quantum) + offset for s in smooth]
        seen.append(offset + quantum * np.array([0.0, 0, 1, 1, 1, 2, 2]))  # repeats: one quantum
        found = grid_quantum(seen, offset)
        assert found == pytest.approx(quantum, rel=1e-6)
    # no repeats anywhere: f moves by many quanta between points, its second differences by one
    walks = [0.3 + 0.0101234567 * np.arange(7.0) + 0.01 * rng.random() for _ in range(3)]
    assert grid_quantum([_on_a_grid(w, 1e-6) for w in walks], 0.3) == pytest.approx(1e-6, rel=1e-6)
    # rounded to 1e-5 in float32: on float32's fine grid too, but the coarse grid is the quantum
    inside32 = [
        _on_a_grid(w.astype(np.float32), np.float32(1e-5)).astype(float) + 1e6 for w in walks
    ]
    assert grid_quantum(inside32, inside32[0][0]) == pytest.approx(1e-5, rel=1e-3)


def test_values_off_every_grid_show_no_quantum():
    from backproof.compare.fdpolicy import grid_quantum

    rng = np.random.default_rng(2)
    smooth = [1.0 + 0.1 * np.sin(rng.standard_normal(7)) for _ in range(3)]
    assert grid_quantum(smooth, 1.0) == 0.0
    # one line exactly linear (every change the same: a relu network between its kinks) makes a
    # grid of that line's step, which the other lines' values do not sit on
    linear = 1.0 + 3e-4 * np.arange(7.0)
    assert grid_quantum([linear, *smooth], 1.0) == 0.0
    # the one line that moves is exactly linear (a relu alive along it alone): its points sit
    # on the grid of its own step whatever f is, so they are no evidence of a grid
    still = [np.full(7, 1.0)] * 2
    assert grid_quantum([*still, 1.0 + 0.37 + 170.3 * np.arange(7.0)], 1.0) == 0.0
    # a single value half a quantum off the grid is enough to say "no grid"
    quantised = [_on_a_grid(s, 1e-4) for s in smooth]
    quantised[1][3] += 0.5e-4
    assert grid_quantum(quantised, 1.0) == 0.0
    # float64's own rounding is a grid too fine to report
    assert grid_quantum([1.0 + 2.2e-16 * np.array([0.0, 0, 1, 1, 2, 2, 3])], 1.0) == 0.0


def test_a_line_stepping_by_whole_quanta_does_not_hide_the_grid():
    """At some spacing a line of the noise measurement steps by exactly m quanta between every
    pair of points: its table is as regular as a linear f's and reads ~0 noise, and the line
    crossing a kink at the next spacing takes that ~0 as its level. Both functions were seen
    to fail a right gradient before the grid rule; their noise is now at least q / sqrt(12)."""
    from backproof.compare.numerical import Problem

    seen_failing = [
        Recipe(3, ("softplus", "relu", "relu"), 593401584, "float64", False, 1.0, 1e6, 1e-5, False),
        Recipe(5, ("abs", "tanh", "max"), 353458238, "float64", False, 1e-4, -3.0, 1e-4, True),
    ]
    for recipe in seen_failing:
        case = build_case(recipe)
        quantum = recipe.quantum * recipe.scale
        noise = Problem.build(case.f, case.x, "richardson", None).measure_noise(
            np.random.default_rng(0)
        )
        assert noise.quantum == pytest.approx(quantum, rel=1e-6)
        assert noise.level >= 0.999 * quantum / np.sqrt(12)
        assert check(case, case.grad).verdict != "fail", case.label
        wrong = corrupt(case, "entry", 0.05, np.random.default_rng(0))
        assert check(case, wrong).verdict != "pass", case.label


def test_a_relu_network_sits_on_no_grid_so_min_over_lines_still_rules():
    """The lines of a relu network over many examples cross kinks everywhere but at the closest
    spacing; its values sit on no grid, so the grid rule leaves its noise at rounding and the
    network reads ALL AGREE (pass), not inconclusive."""
    from backproof import network
    from backproof.compare import compare_network
    from backproof.compare.numerical import Problem

    X, y = network.make_dataset("moons", m=1000)
    spec = network.NetworkSpec([2, 8, 1], ["relu", "sigmoid"])
    params = network.init_params(spec)
    Y = network.targets(spec, y)
    objective = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    noise = Problem.build(objective, params, "richardson", None).measure_noise(
        np.random.default_rng(0)
    )
    assert noise.quantum == 0.0 and noise.level < 1e-12  # rounding of a sum of 1000 terms
    assert compare_network(spec, X, Y, params, epochs=0).verdict == "pass"


def test_a_finer_ladder_straddling_a_kink_refutes_nothing():
    """Quantised relus moving along one noise line only: the line is exactly linear, so their
    grid stays unseen and their noise reads as rounding. At the kink the first ladder confirms
    it and passes the right-hand slope; the finer ladder, below the quantum, sees f flat on
    one side, differences across the kink and reads a value well inside the kink's interval
    with a tiny error bar. That refutes nothing: inconclusive, never fail; a wrong gradient
    still never passes."""
    seen_failing = [
        Recipe(2, ("relu",), 1760986466, "float32", False, 1e4, -1e3, 1e-5, True),
        Recipe(2, ("relu", "relu"), 2, "float64", True, 1.0, 3.0, 1e-5, True),
    ]
    for recipe in seen_failing:
        case = build_case(recipe)
        assert check(case, case.grad).verdict != "fail", case.label
        assert check(case, -case.high).verdict != "pass", case.label


# -- the grid seen by the ladders: an f that barely moves along the short noise lines -------------
def _ladder_rows(phi, steps):
    return [(phi(h), phi(-h), h, h) for h in steps]


def test_the_ladders_show_the_grid_the_noise_lines_missed():
    """Two right gradients once read "fail": f moves by a few quanta at most along the short
    noise lines (a tiny slope; a grid close to f's float32 rounding), so fewer than four second
    differences show its grid and its noise reads as rounding. The ladders' own values, many
    quanta apart at their large steps, show the grid: the noise is raised to q / sqrt(12) and
    the right gradients read "inconclusive" (never "fail"), the wrong ones never "pass"."""
    seen_failing = [
        Recipe(4, ("sigmoid",), 4235186939, "float32", False, 1e-4, -1e3, 1e-4, False),
        Recipe(3, ("max", "tanh"), 2851617613, "float64", True, 1.0, -1e6, 1e-6, True),
    ]
    for recipe in seen_failing:
        case = build_case(recipe)
        quantum = recipe.quantum * recipe.scale
        right = check(case, case.grad)
        assert right.verdict != "fail", case.label
        assert right.noise >= 0.99 * quantum / np.sqrt(12), case.label
        for how in ("sign", "zero"):
            wrong = corrupt(case, how, 0.0, np.random.default_rng(0))
            assert check(case, wrong).verdict != "pass", (how, case.label)


def test_a_ladder_grid_needs_more_than_a_line():
    """A line through phi(0) sits on the grid of its smallest move (its values at halving steps
    are 1, 2, 4, ... of it), with the steps rounded to float32 or not: no grid. A quantised
    curve on the same ladder shows its quantum."""
    from backproof.compare.fdpolicy import grid_quantum, ladder_steps

    steps = ladder_steps(1.0)
    exact = _ladder_rows(lambda t: 2.0 + 3e-3 * t, steps)
    assert grid_quantum([], 2.0, [exact]) == 0.0
    xi = np.float32(1.3)  # x + h rounded to float32: a slightly different step each side
    rounded = [
        (float(np.float32(xi + h)) - float(xi), float(xi) - float(np.float32(xi - h)))
        for h in ladder_steps(float(xi))
    ]
    linear = [(2.0 + 3e-3 * hp, 2.0 - 3e-3 * hm, hp, hm) for hp, hm in rounded]
    assert grid_quantum([], 2.0, [linear]) == 0.0
    quantum = 1e-8
    curve = lambda t: np.round((1.0 + 7.8e-7 * t + 4e-7 * t * t) / quantum) * quantum  # noqa: E731
    f0 = float(curve(0.0))
    found = grid_quantum([], f0, [_ladder_rows(curve, steps), _ladder_rows(curve, steps / 3)])
    assert found == pytest.approx(quantum, rel=1e-6)
    # an f on no grid: a smooth curve
    smooth = lambda t: 1.0 + 7.8e-7 * t + 4e-7 * t * t  # noqa: E731
    assert grid_quantum([], 1.0, [_ladder_rows(smooth, steps)]) == 0.0


@pytest.mark.xfail(strict=True, reason="the README's limit: a quantised f that never moves")
def test_a_quantised_f_that_never_moves_is_taken_for_a_constant():
    """A saturated sigmoid of slope ~0.02 on a grid of 0.1: f does not move along any noise
    line nor at any entry's largest step, so nothing shows its grid; its zero differences
    refute the right (smooth) gradient as they would for a constant f."""
    recipe = Recipe(4, ("sigmoid",), 1656034545, "float64", False, 1e4, 3.0, 1e-5, False)
    case = build_case(recipe)
    assert check(case, case.grad).verdict != "fail"
