"""The tape's small public pieces as a user meets them: ``grad_enabled`` answers a bool, the
``no_grad`` decorator keeps the name and docstring of what it wraps, and ``sum_to_shape`` sums a
broadcast gradient back into an array the backward pass may overwrite."""

import functools
import sys

import numpy as np

from backproof import autodiff
from backproof.autodiff import Tensor
from backproof.autodiff.tape import grad_enabled, may_overwrite, sum_to_shape


def test_grad_enabled_is_a_bool_through_nested_blocks():
    assert grad_enabled() is True
    with autodiff.no_grad():
        assert grad_enabled() is False
        with autodiff.enable_grad():
            assert grad_enabled() is True
        assert grad_enabled() is False
    assert grad_enabled() is True
    with autodiff.enable_grad():  # outside any no_grad block: recording stays on after it
        assert grad_enabled() is True
    assert grad_enabled() is True
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_no_grad_as_a_decorator_keeps_the_name_and_the_docstring():
    def scaled(x, k=2.0):
        """x times k, not recorded."""
        assert grad_enabled() is False
        return x * k

    wrapped = autodiff.no_grad()(scaled)
    assert wrapped.__name__ == "scaled" and wrapped.__doc__ == "x times k, not recorded."
    x = Tensor([1.0, 2.0], requires_grad=True)
    out = wrapped(x, k=3.0)
    assert not out.requires_grad and out.data.tolist() == [3.0, 6.0]
    assert grad_enabled() is True

    # a callable without a __name__ of its own (a partial) is called "wrapped"
    nameless = autodiff.no_grad()(functools.partial(scaled, k=4.0))
    assert nameless.__name__ == "wrapped"
    assert nameless(x).data.tolist() == [4.0, 8.0]


def test_sum_to_shape_sums_every_stretched_axis_whatever_its_position():
    g = np.arange(15.0).reshape(1, 3, 5)
    # the leading axis was added and the last stretched from 1 to 5
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    g = np.arange(24.0).reshape(2, 1, 3, 4)
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), g.sum(axis=(0, 1, 3))[:, None])


def test_sum_to_shape_returns_an_array_the_backward_pass_may_overwrite():
    g = np.arange(6.0).reshape(2, 3)
    row = sum_to_shape(g, (1, 3))  # a new array of its own, not a view of a temporary
    assert may_overwrite(row)
    np.testing.assert_array_equal(row, [[3.0, 5.0, 7.0]])
    total = sum_to_shape(g, ())
    assert type(total) is np.ndarray and total.shape == () and total == 15.0
    scalar = Tensor(2.0, requires_grad=True)
    (scalar * Tensor(np.ones(3))).sum().backward()
    assert type(scalar.grad) is np.ndarray and scalar.grad.shape == () and scalar.grad == 3.0


def test_under_a_tracer_or_a_profiler_nothing_may_be_overwritten():
    # a debugger, coverage or a profiler may hold references the reference counts cannot see
    def watcher(frame, event, arg):
        return None

    arr = np.empty(3)
    before_trace, before_profile = sys.gettrace(), sys.getprofile()
    try:
        sys.settrace(None)
        sys.setprofile(None)
        assert may_overwrite(arr)
        sys.setprofile(watcher)
        assert not may_overwrite(arr)  # a profiler alone
        sys.setprofile(None)
        sys.settrace(watcher)
        assert not may_overwrite(arr)  # a tracer alone
    finally:
        sys.settrace(before_trace)
        sys.setprofile(before_profile)
