"""What compare.numerical promises beyond numerical_grad's contract: the exact messages of
scalar_output and Structure, the Evaluator's count and its quiet nearby evaluations, how a
float32 x chooses its evaluation dtype (each threshold at and past its boundary), and the
steps a float32 ladder really takes."""

import warnings

import numpy as np
import pytest

from backproof.compare.checkgrad import check_grad
from backproof.compare.fdpolicy import ladder_steps
from backproof.compare.numerical import Evaluator, Problem, Structure, scalar_output


# -- scalar_output ---------------------------------------------------------------------------------
def test_scalar_output_names_what_f_returned():
    for bad, message in [
        (True, "f must return a scalar number, got the boolean True"),
        ([1.0], "f must return a scalar number, got a list"),
    ]:
        with pytest.raises(TypeError) as info:
            scalar_output(bad)
        assert str(info.value) == message


def test_scalar_output_gives_a_python_float_for_a_real_array_and_reads_float():
    class Loss:  # anything float() accepts, e.g. a framework's scalar
        def __float__(self):
            return 2.5

    for value, expected in [(np.array([[2.0]]), 2.0), (np.array(3), 3.0), (Loss(), 2.5)]:
        out = scalar_output(value)
        assert type(out) is float and out == expected
    assert type(scalar_output(np.array([1j]))) is complex


# -- Structure -------------------------------------------------------------------------------------
def test_structure_names_an_array_x_and_its_flatten_errors_say_x():
    s = Structure(np.ones(2))
    assert s.keys == ["x"] and s.label(0) == "x"
    with pytest.raises(ValueError) as info:
        s.flatten(np.ones(3))
    assert str(info.value) == "x has shape (3,) for x, which has shape (2,)"
    d = Structure({"W": np.ones((2, 2)), "b": np.zeros(2)})
    assert d.keys == ["W", "b"]
    with pytest.raises(ValueError) as info:
        d.flatten({"W": np.ones((2, 2)), "b": np.zeros(3)})
    assert str(info.value) == "x has shape (3,) for b, which has shape (2,)"


def test_check_grad_names_the_arguments_argnums_picks():
    def f(a, c, b):
        return float(np.sum(a**2) + c * np.sum(b**3))

    def grads(a, c, b):
        return 2 * a, 3 * c * b**2

    report = check_grad(f, grads, np.array([0.5, -1.0]), 2.0, np.array([1.5]), argnums=(0, 2))
    assert report.verdict == "pass" and list(report.params) == ["args[0]", "args[2]"]


# -- Evaluator -------------------------------------------------------------------------------------
def test_the_evaluator_counts_its_calls_from_zero():
    ev = Evaluator(lambda x: float(np.sum(x)), Structure(np.ones(2)), np.float64)
    assert ev.calls == 0
    ev(np.ones(2))
    ev.nearby(np.zeros(2))
    assert ev.calls == 2


def test_nearby_reads_a_point_outside_f_s_domain_as_nan_quietly():
    """A large step may leave f's domain: NumPy's warnings are silenced there, and a complex
    value (a Python float to a fractional power) is no real value either."""
    logs = Evaluator(lambda x: float(np.sum(np.log(x))), Structure(np.ones(1)), np.float64)
    roots = Evaluator(lambda x: float(x[0]) ** 0.5, Structure(np.ones(1)), np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.isnan(logs.nearby(np.array([-1.0])))
        assert np.isnan(roots.nearby(np.array([-1.0])))
    assert [str(w.message) for w in caught] == []
    assert logs.nearby(np.array([1.0])) == 0.0 and roots.nearby(np.array([4.0])) == 2.0


# -- the evaluation dtype of a float32 x -----------------------------------------------------------
def eval_dtype(f, x):
    return Problem.build(f, x, "richardson", None).ev.dtype


def rounds_to_float32(x):
    """A smooth f that computes in float32 inside, whatever x's dtype."""
    return float(np.sum(np.sin(x.astype(np.float32)) ** 2))


X32 = np.array([0.5, -0.25, 0.75], dtype=np.float32)


def test_a_float32_x_is_evaluated_in_float64_when_f_computes_in_float64_and_warns_nothing():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert eval_dtype(lambda x: float(np.sum(np.sin(x) ** 2)), X32) == np.float64
        assert eval_dtype(rounds_to_float32, X32) == np.float32
    assert [str(w.message) for w in caught] == []


def test_an_f_that_refuses_float64_input_is_evaluated_in_float32():
    def only_float32(x):
        if x.dtype != np.float32:
            raise TypeError(f"float32 only, got {x.dtype}")
        return float(np.sum(x**2))

    problem = Problem.build(only_float32, X32, "richardson", None)
    assert problem.ev.dtype == np.float32 and problem.f0 == pytest.approx(0.875)


@pytest.mark.parametrize(
    "f32_value, shift, expected",
    [
        (1e5 * 2.0**-16, 2.0**-16, np.float64),  # off by exactly 1e-5 |f(x)|: the same f
        (1e5 * 2.0**-16, 2.0**-15, np.float32),  # 2e-5 |f(x)|: another f in float64
        (1e-3, 1e-7, np.float32),  # 1e-4 |f(x)| of a small f(x): relative, not absolute
    ],
)
def test_float64_is_used_only_when_f_x_in_float64_agrees_with_f_x_to_1e_5(
    f32_value, shift, expected
):
    """f's float64 evaluation must give f(x) to a relative 1e-5 (here f branches on x's
    dtype); only then are its derivatives compared."""

    def f(x):
        base = f32_value if x.dtype == np.float32 else f32_value + shift
        return base + float(np.sum(x, dtype=np.float64))

    assert eval_dtype(f, np.zeros(2, dtype=np.float32)) == expected


def test_at_a_stationary_point_float64_is_chosen():
    """Both derivative estimates are exactly 0 there (and so is f): they agree."""

    def square(x):
        return float(np.sum(x.astype(np.float64) ** 2))

    assert eval_dtype(square, np.zeros(3, np.float32)) == np.float64


@pytest.mark.parametrize("size", [1e-20, 1.0, 1e20])
def test_rounding_to_float32_inside_f_is_seen_at_any_size_of_f(size):
    assert eval_dtype(lambda x: size * rounds_to_float32(x), X32) == np.float32
    assert eval_dtype(lambda x: size * float(np.sum(np.sin(x) ** 2)), X32) == np.float64


def test_rounding_to_float32_inside_f_is_seen_at_large_entries():
    """The probe moves each entry in proportion to its size: a move of a fixed size would be
    below float32's spacing at 3000 (2.4e-4), and f would look smooth."""
    x = np.array([3000.0, -2000.0], dtype=np.float32)
    assert eval_dtype(lambda x: float(np.sum(x.astype(np.float32) ** 2)), x) == np.float32
    assert eval_dtype(lambda x: float(np.sum(x.astype(np.float64) ** 2)), x) == np.float64


def test_rounding_to_float32_of_a_difference_of_entries_is_seen():
    """The probe moves each entry its own way: moved alike, x_0 - x_1 would not change."""

    def f(x):
        x = x.astype(np.float64)
        return float(np.sum(x) + np.float32(x[0] - x[1]))

    assert eval_dtype(f, np.array([0.5, -0.25], dtype=np.float32)) == np.float32


def test_f_x_not_finite_in_the_evaluation_dtype_is_named():
    """float64 entries beyond float32's range: f(x) is finite as given, infinite once x is
    evaluated in float32 (f rounds to float32, so float32 it is)."""

    def f(p):
        return float(
            np.sum(np.sin(p["a"].astype(np.float32)) ** 2) + np.sqrt(np.sum(p["b"] ** 2)) * 1e-30
        )

    x = {"a": np.array([0.5, -0.25], dtype=np.float32), "b": np.array([1e30])}
    with np.errstate(over="ignore"), pytest.raises(ValueError) as info:
        Problem.build(f, x, "richardson", None)
    assert str(info.value) == "f(x) must be finite when evaluated in float32, got inf"


# -- the ladder of a float32 evaluation --------------------------------------------------------
def test_a_float32_ladder_divides_by_the_steps_actually_taken():
    """x + h rounded to float32 moves x by a little more or less than h, and at 1 (where
    float32's spacing halves) not by the same amount on each side: the ladder records the
    steps taken, and a linear f's slope comes out exact."""
    problem = Problem.build(
        lambda x: float(2 * x.astype(np.float32)[0]), np.array([1.0], np.float32), "central", None
    )
    assert problem.ev.dtype == np.float32
    noise = problem.measure_noise(np.random.default_rng(0))
    ladder = problem.entry_ladder(0, noise, 1e-3, False, None)
    xi = float(problem.x0[0])
    taken = [
        (float(np.float32(xi + h)) - xi, xi - float(np.float32(xi - h)))
        for h in ladder_steps(1.0, 1e-3)
    ]
    assert [(hp, hm) for _, _, hp, hm in ladder.values] == taken
    assert any(hp != hm for hp, hm in taken)
    for fp, fm, hp, hm in ladder.values:
        assert (fp - fm) / (hp + hm) == pytest.approx(2.0, rel=1e-12)
    assert ladder.central.value == pytest.approx(2.0, rel=1e-12)


# -- the noise lines -------------------------------------------------------------------------------
BIG = np.array([1000.0, -2000.0, 3000.0])  # entries far from 1: every move scales with them


def noise_of(f, x):
    return Problem.build(f, x, "richardson", None).measure_noise(np.random.default_rng(0))


def test_noise_lines_at_large_entries_avoid_a_kink_at_x_itself():
    """Each line is centred 32 spacings away along another direction, in proportion to each
    entry's size: closer, the lines would cross the kink of |x - c| at x = c, read as noise."""
    noise = noise_of(lambda x: float(np.sum(np.abs(x - BIG)) + 1.0), BIG.copy())
    assert noise.level < 1e-11  # rounding of f's size (~6000 eps); the kink would read ~1e-4


def test_noise_lines_at_large_entries_move_far_enough_to_see_a_quantised_f():
    """f rounded to a grid of 0.1: lines whose moves scale with the entries see the grid,
    lines of moves of size 1 would see f never change."""
    noise = noise_of(lambda x: float(0.1 * np.round(np.sum(x) / 0.1)), BIG + 0.3)
    assert not noise.still and noise.quantum == pytest.approx(0.1, rel=1e-9)
    assert noise.level == pytest.approx(0.1 / np.sqrt(12), rel=1e-9)


def test_the_complex_step_evaluates_in_float64_and_says_so():
    """A float32 x under the complex step is evaluated in float64: an f finite at x only
    through float32's rounding ((x + 0.5) - 0.5 - x is 0 in float64) is refused, naming it."""

    def f(x):
        return np.sum(1 / ((x + 0.5) - 0.5 - x))

    x = np.array([0.1], dtype=np.float32)
    with np.errstate(all="ignore"), pytest.raises(ValueError) as info:
        Problem.build(f, x, "complex", None)
    assert str(info.value) == "f(x) must be finite when evaluated in float64, got inf"
