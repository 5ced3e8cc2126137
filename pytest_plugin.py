"""A pytest plugin (registered through the ``pytest11`` entry point when backproof is installed).

It only registers the ``grad_check`` fixture: nothing of NumPy, matplotlib or backproof's
subpackages is imported until a test asks for the fixture, so a suite that never uses it runs
exactly as it would without backproof installed.

The fixture is ``backproof.assert_grad_close``: call it with ``f``, ``grad_f`` and ``x`` in a test;
it fails the test with the full report (worst entries and diagnosis) when the verdict is
"fail", and also when it is "inconclusive" unless ``allow_inconclusive=True``; it returns the
report when the verdict is "pass"::

    def test_my_gradient(grad_check):
        grad_check(lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2, np.array([1.0, 2.0]))
        grad_check(f_at_a_kink, g, x, allow_inconclusive=True)  # a kink it cannot settle is ok
"""

from __future__ import annotations

import pytest


@pytest.fixture
def grad_check():
    """``grad_check(f, grad_f, x, allow_inconclusive=False, **check_grad_options)``: assert
    that the gradient is right."""
    from .compare.checkgrad import assert_grad_close

    return assert_grad_close
