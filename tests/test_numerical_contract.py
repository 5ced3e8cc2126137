"""numerical_grad's contract: each method and keyword argument, the structure of its result,
what f may return, and the errors that say why a function cannot be differenced."""

import math

import numpy as np
import pytest

from backproof.compare.fdpolicy import COMPLEX_STEP
from backproof.compare.numerical import (
    FDResult,
    Problem,
    entry_derivatives,
    numerical_grad,
    scalar_output,
)


def cube(x):
    return float(np.sum(x**3))


def test_step_scales_with_the_size_of_each_entry():
    """Central differences of x^3 are 3x^2 + h^2 exactly, with h = step * max(|x|, 1)."""
    x = np.array([0.5, 2.0, -4.0])
    g = numerical_grad(cube, x, "central", step=0.125)
    np.testing.assert_allclose(g, 3 * x**2 + (0.125 * np.array([1.0, 2.0, 4.0])) ** 2, rtol=1e-12)
    default = numerical_grad(cube, x, "central")
    h = np.finfo(float).eps ** (1 / 3) * np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(default, 3 * x**2 + h**2, rtol=1e-9)


def test_richardson_cancels_the_h_squared_term():
    x = np.array([0.5, 2.0])
    g = numerical_grad(cube, x, "richardson", step=0.125)
    np.testing.assert_allclose(g, 3 * x**2, rtol=1e-13)
    quintic = numerical_grad(lambda x: float(np.sum(x**5)), np.array([1.0]), "richardson", 0.5)
    # (4 D(h/2) - D(h)) / 3 leaves -h^4 / 4 of x^5's series (f^(5) / 120 * h^4 * (1/4 - 1))
    assert quintic[0] == pytest.approx(5 - 0.5**4 / 4, rel=1e-12)


def test_the_complex_step_is_exact_to_rounding():
    x = np.linspace(-1, 1, 5)
    g = numerical_grad(lambda x: np.sum(np.exp(x) * x), x, "complex")
    np.testing.assert_allclose(g, np.exp(x) * (1 + x), rtol=1e-15, atol=1e-15)
    g, err = numerical_grad(lambda x: np.sum(np.exp(x) * x), x, "complex", return_error=True)
    assert np.all(err <= 4 * np.finfo(float).eps * np.abs(g) + 1e-300)


def test_the_result_has_the_structure_of_x_in_float64():
    x = {"a": np.array([1.0, 2.0], dtype=np.float32), "b": (0.5, np.ones((2, 1)))}
    g = numerical_grad(lambda p: cube(p["a"]) + p["b"][0] ** 2 + cube(p["b"][1]), x)
    assert list(g) == ["a", "b"] and isinstance(g["b"], tuple)
    assert g["a"].dtype == np.float64 and g["b"][1].shape == (2, 1)
    np.testing.assert_allclose(g["a"], [3.0, 12.0], rtol=1e-6)
    assert type(g["b"][0]) is float and g["b"][0] == pytest.approx(1.0, rel=1e-8)
    g, err = numerical_grad(lambda p: cube(p["a"]), {"a": np.ones(2)}, return_error=True)
    assert list(err) == ["a"] and err["a"].shape == (2,) and np.all(err["a"] > 0)
    assert numerical_grad(lambda s: s**2, 3.0) == pytest.approx(6.0, rel=1e-8)


def test_the_error_bound_holds():
    x = np.linspace(-2, 2, 7)
    g, err = numerical_grad(lambda x: float(np.sum(np.sin(x))), x, "richardson", return_error=True)
    assert np.all(np.abs(g - np.cos(x)) <= err) and np.all(err < 1e-6)
    g, err = numerical_grad(lambda x: float(np.sum(np.sin(x))), x, "central", return_error=True)
    assert np.all(err > 0) and np.all(err < 1e-9)  # central: the round-off part only


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: numerical_grad(3, np.ones(2)), TypeError, "f must be callable, got "),
        (
            lambda: numerical_grad(cube, np.ones(2), "forward"),
            ValueError,
            "method must be one of ['central', 'richardson', 'complex'], got 'forward'",
        ),
        (
            lambda: numerical_grad(cube, np.ones(2), step=0),
            ValueError,
            "step must be a positive finite number, got 0",
        ),
        (
            lambda: numerical_grad(cube, np.ones(2), step=-0.1),
            ValueError,
            "step must be a positive finite number, got -0.1",
        ),
        (
            lambda: numerical_grad(cube, np.ones(2), step=math.inf),
            ValueError,
            "step must be a positive finite number, got inf",
        ),
        (
            lambda: numerical_grad(cube, np.ones(2), step=True),
            ValueError,
            "step must be a positive finite number, got True",
        ),
        (
            lambda: numerical_grad(cube, np.ones(2), step="0.1"),
            ValueError,
            "step must be a positive finite number, got '0.1'",
        ),
        (
            lambda: numerical_grad(lambda x: math.nan, np.ones(2)),
            ValueError,
            "f(x) must be a finite real number, got nan",
        ),
        (
            lambda: numerical_grad(lambda x: 1j, np.ones(2)),
            ValueError,
            "f(x) must be a finite real number, got 1j",
        ),
    ],
)
def test_bad_input_is_named(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "f, reason",
    [
        (lambda x: cube(x.astype(float, casting="safe")), "f raised TypeError for complex input"),
        (lambda x: np.sum(x).real, "f returns a real number for complex input"),
        (
            lambda x: np.sum(x * np.conj(x)),
            "f's complex-step derivative",
        ),
    ],
)
def test_the_complex_step_says_why_f_is_not_complex_safe(f, reason):
    with pytest.raises(ValueError) as info:
        numerical_grad(f, np.array([0.5, -1.0]), "complex")
    assert str(info.value).startswith(f"method 'complex' needs a complex-safe f: {reason}")


def test_a_discarded_imaginary_part_is_named():
    def discards(x):
        y = np.zeros(2)
        y[:] = x  # NumPy warns: ComplexWarning
        return np.sum(y**2)

    with pytest.raises(ValueError) as info:
        numerical_grad(discards, np.array([0.5, -1.0]), "complex")
    assert str(info.value) == (
        "method 'complex' needs a complex-safe f: f discards the imaginary part of its input "
        "(NumPy ComplexWarning)"
    )


def test_what_f_may_return():
    class Box:
        def __init__(self, data):
            self.data = data

    assert scalar_output(np.float32(1.5)) == 1.5 and type(scalar_output(np.float32(1.5))) is float
    assert scalar_output(np.array([[2.0]])) == 2.0 and scalar_output(3) == 3.0
    assert scalar_output(Box(np.array(4.0))) == 4.0 and scalar_output(Box(5.0)) == 5.0
    assert scalar_output(2 + 1j) == 2 + 1j and type(scalar_output(np.complex128(1j))) is complex
    assert scalar_output(np.array(1j)) == 1j and scalar_output(np.int64(7)) == 7.0
    for bad, message in [
        (True, "f must return a scalar number, got "),
        (np.bool_(False), "f must return a scalar number, got "),
        (np.ones(2), "f must return a scalar, got an array of shape (2,)"),
        (np.array(["a"]), "f must return a number, got an array of dtype <U1"),
        ("1.0", "f must return a number, got an array of dtype <U3"),
        (None, "f must return a scalar number, got "),
        ([1.0], "f must return a scalar number, got "),
    ]:
        with pytest.raises(TypeError) as info:
            scalar_output(bad)
        assert str(info.value).startswith(message), (bad, str(info.value))
    with pytest.raises(TypeError, match=r"^loss must return a scalar, got an array of shape"):
        scalar_output(np.ones(3), "loss")


def test_the_complex_step_safety_check_moves_each_entry_its_own_way():
    # |x|^2 written with conj is not analytic; along a direction moving both entries alike its
    # derivative at (0.5, -0.5) would be 0, as the complex step says
    with pytest.raises(ValueError, match="complex-step derivative"):
        numerical_grad(lambda x: np.sum(x * np.conj(x)), np.array([0.5, -0.5]), "complex")


def test_a_complex_safe_f_flat_along_the_check_is_accepted():
    g = numerical_grad(lambda x: np.sum(x**2), np.zeros(2), "complex")
    assert g.tolist() == [0.0, 0.0]


def test_the_callable_error_names_what_was_given():
    with pytest.raises(TypeError) as info:
        numerical_grad(3, np.ones(2))
    assert str(info.value) == "f must be callable, got int 3"


def test_the_error_of_a_float32_x_is_float64_like_the_gradient():
    x = {"a": np.array([0.5, 2.0], dtype=np.float32), "b": np.ones(2, dtype=np.float32)}
    g, err = numerical_grad(lambda p: cube(p["a"]) + cube(p["b"]), x, return_error=True)
    assert [g["a"].dtype, g["b"].dtype] == [np.float64, np.float64]
    assert [err["a"].dtype, err["b"].dtype] == [np.float64, np.float64]
    assert err["a"].shape == (2,) and np.all(err["a"] > 0)


def kinked_problem(method):
    """|x_1| has a kink at x_1 = 0; x_0^3 and x_2^3 are smooth."""
    return Problem.build(
        lambda x: cube(x[::2]) + abs(float(x[1])), np.array([0.5, 0.0, -1.0]), method, None
    )


def test_entry_derivatives_flag_a_kink_in_a_boolean_mask():
    problem = kinked_problem("richardson")
    result = entry_derivatives(
        problem.ev, problem.x0, [0, 1, 2], "richardson", problem.steps, problem.f0
    )
    assert isinstance(result, FDResult)
    assert result.kink.dtype == np.bool_ and result.kink.tolist() == [False, True, False]
    np.testing.assert_allclose(result.estimate, [0.75, 0.0, 3.0], rtol=1e-9, atol=1e-12)
    assert result.error.shape == (3,) and np.all(result.error > 0)
    # central differences give no kink hint: every flag is False, still a boolean mask
    central = entry_derivatives(
        problem.ev, problem.x0, [1, 2], "central", problem.steps, problem.f0
    )
    assert central.kink.dtype == np.bool_ and central.kink.tolist() == [False, False]


def test_entry_derivatives_report_progress_over_the_entries():
    problem = kinked_problem("central")
    calls = []

    def progress(iterable, total):
        calls.append(total)
        return iter(list(iterable))

    result = entry_derivatives(
        problem.ev,
        problem.x0,
        np.array([2, 0]),
        "central",
        problem.steps,
        problem.f0,
        progress=progress,
    )
    assert calls == [2]
    np.testing.assert_allclose(result.estimate, [3.0, 0.75], rtol=1e-9)


def test_a_direction_ladder_along_a_unit_vector_is_the_entry_ladder():
    """Along e_i the direction ladder takes the steps of entry i's (scale 1 when |x_i| <= 1),
    from the start given, extrapolated or not, stopping where good_enough says."""
    f = lambda x: float(np.sum(np.exp(x)))  # noqa: E731
    problem = Problem.build(f, np.array([0.5, 0.0]), "richardson", None)
    noise = problem.measure_noise(np.random.default_rng(0))
    e0 = np.array([1.0, 0.0])
    for start, extrapolate, stop in [
        (0.25, True, None),
        (0.125, False, None),
        (None, True, lambda lad: True),
    ]:
        by_entry = problem.entry_ladder(0, noise, start, extrapolate, stop)
        along = problem.direction_ladder(e0, noise, start, extrapolate, stop)
        assert along.values == by_entry.values
        assert along.central == by_entry.central
        first = 0.5 if start is None else start
        assert along.values[0][2] == first and len(along.values) == (4 if stop else 12)
    plain = problem.direction_ladder(e0, noise, 0.25, False, None)
    extrapolated = problem.direction_ladder(e0, noise, 0.25, True, None)
    assert abs(extrapolated.central.value - np.exp(0.5)) < 1e-9
    assert abs(plain.central.value - np.exp(0.5)) > 1e-9  # the plain central difference's h^2


def test_the_complex_step_check_holds_for_large_entries():
    # a least-squares fit of parameters of size 1e6 near its optimum: the check's direction
    # moves each entry by its own size; one of size 1 would move 1e6 by less than its
    # rounding at the central difference's step, and see a slope 0
    target = np.array([1e6, -2e6])
    x = target + np.array([0.5, -1.0])
    g = numerical_grad(lambda x: np.sum((x - target) ** 2), x, "complex")
    np.testing.assert_allclose(g, [1.0, -2.0], rtol=1e-9)


def test_a_zero_f_is_complex_safe():
    g = numerical_grad(lambda x: np.sum(x * 0.0), np.array([0.5, -1.0]), "complex")
    assert g.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("times, safe", [(9.5, True), (10.5, False)])
def test_the_complex_step_may_differ_from_central_by_ten_error_bounds(times, safe):
    """f is the constant 1 for real x, so central differences say 0 with the round-off bound
    10 eps |f| / h (h = eps^(1/3)); its complex step says c. c beyond 10 bounds: not safe."""
    eps = np.finfo(float).eps
    c = times * 10 * eps / eps ** (1 / 3)  # times the bound

    def f(x):
        if np.iscomplexobj(x):
            return 1.0 + 1j * c * COMPLEX_STEP * float(np.sum(np.abs(x.imag) > 0) > 0)
        return 1.0

    if safe:
        assert numerical_grad(f, np.array([0.5, -1.0]), "complex") == pytest.approx([c, c])
    else:
        with pytest.raises(ValueError, match="complex-step derivative"):
            numerical_grad(f, np.array([0.5, -1.0]), "complex")
