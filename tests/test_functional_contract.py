"""The engine's functional API (grad, value_and_grad, hvp): dicts of arrays, functions that do
not depend on x or are linear in it, and the messages for a v that does not match x."""

import numpy as np
import pytest

from backproof import autodiff

A = np.array([[1.0, 2.0], [0.5, -1.0]])


def cubic(d):
    """f(a, b) = sum(a^2 * b) + sum(b^3): H = [[2 diag(b), 2 diag(a)], [2 diag(a), 6 diag(b)]]."""
    return (d["a"] ** 2 * d["b"]).sum() + (d["b"] ** 3).sum()


def test_hvp_over_a_dict_of_arrays():
    a, b = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    va, vb = np.array([1.0, 2.0]), np.array([-1.0, 0.25])
    h = autodiff.hvp(cubic, {"a": a, "b": b}, {"b": vb, "a": va})  # v's key order may differ
    assert list(h) == ["a", "b"]
    np.testing.assert_allclose(h["a"], 2 * b * va + 2 * a * vb, rtol=1e-12)
    np.testing.assert_allclose(h["b"], 2 * a * va + 6 * b * vb, rtol=1e-12)


def test_hvp_of_a_function_that_ignores_x_or_is_linear_in_it_is_zero():
    x = {"a": np.ones((2, 2)), "b": np.array([1.0, 2.0])}
    v = {"a": np.ones((2, 2)), "b": np.ones(2)}
    for f in (lambda d: autodiff.Tensor(3.0), lambda d: (d["a"] @ A).sum() + d["b"].sum()):
        h = autodiff.hvp(f, x, v)
        assert set(h) == {"a", "b"}
        assert h["a"].shape == (2, 2) and h["b"].shape == (2,)
        assert not np.any(h["a"]) and not np.any(h["b"])
    h = autodiff.hvp(lambda t: (t * 2.0).sum(), np.ones(3), np.ones(3))
    assert h.shape == (3,) and not np.any(h)


def test_value_and_grad_of_a_function_that_ignores_x():
    value, g = autodiff.value_and_grad(lambda d: autodiff.Tensor(7.0))(
        {"a": np.ones(2), "b": np.ones((1, 3))}
    )
    assert value == 7.0 and isinstance(value, float)
    assert g["a"].tolist() == [0.0, 0.0] and g["b"].tolist() == [[0.0, 0.0, 0.0]]
    assert autodiff.grad(lambda t: autodiff.Tensor(1.0))(np.ones(2)).tolist() == [0.0, 0.0]


def test_hvp_says_what_v_must_be():
    x = {"a": np.ones(2), "b": np.ones(2)}
    with pytest.raises(ValueError) as info:
        autodiff.hvp(cubic, x, {"a": np.ones(2)})
    assert str(info.value) == "v must be a dict with the keys of x ['a', 'b'], got ['a']"
    with pytest.raises(ValueError) as info:
        autodiff.hvp(cubic, x, np.ones(2))
    assert str(info.value) == (
        "v must be a dict with the keys of x ['a', 'b'], got an array of shape (2,) and dtype "
        "float64"
    )
    with pytest.raises(ValueError) as info:
        autodiff.hvp(cubic, x, {"a": np.ones(2), "b": np.ones(3)})
    assert str(info.value) == "v must have the shape of x for b: (2,), got (3,)"
    with pytest.raises(ValueError) as info:
        autodiff.hvp(lambda t: (t**3).sum(), np.ones(3), np.ones((3, 1)))
    assert str(info.value) == "v must have the shape of x for x: (3,), got (3, 1)"
    with pytest.raises(ValueError, match=r"v\['b'\] must be finite"):
        autodiff.hvp(cubic, x, {"a": np.ones(2), "b": np.array([1.0, np.inf])})
    with pytest.raises(ValueError) as info:
        autodiff.hvp(lambda t: (t**3).sum(), np.ones(2), np.array([1.0, np.nan]))
    assert str(info.value).startswith("v must be finite")
    with pytest.raises(TypeError, match="f must be callable, got int 3"):
        autodiff.hvp(3, np.ones(2), np.ones(2))


def test_the_messages_for_x_and_for_what_f_returns():
    with pytest.raises(ValueError) as info:
        autodiff.grad(lambda d: d)({})
    assert str(info.value) == "x must not be an empty dict"
    with pytest.raises(ValueError, match=r"x\['a'\] must be finite"):
        autodiff.grad(cubic)({"a": np.array([np.nan]), "b": np.ones(1)})
    with pytest.raises(ValueError) as info:
        autodiff.grad(lambda t: t * 2)(np.ones(3))
    assert str(info.value) == "f must return a scalar (one element), got shape (3,)"
    with pytest.raises(TypeError) as info:
        autodiff.value_and_grad(lambda t: 2.5)(np.ones(3))
    assert str(info.value) == (
        "f must return a scalar Tensor computed from its argument, got float 2.5"
    )
    # one element in any shape is a scalar
    assert autodiff.grad(lambda t: t.sum().reshape(1, 1))(np.ones(2)).tolist() == [1.0, 1.0]
