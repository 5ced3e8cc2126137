"""A pytest plugin (registered through the ``pytest11`` entry point when backproof is installed).

The ``grad_check`` fixture is ``compare.assert_grad_close``: call it with ``f``, ``grad_f`` and
``x`` in a test; it fails the test with the full report (worst entries and diagnosis) when the
gradient disagrees, and returns the report when it agrees::

    def test_my_gradient(grad_check):
        grad_check(lambda x: (x ** 3).sum(), lambda x: 3 * x ** 2, np.array([1.0, 2.0]))
"""

from __future__ import annotations

import pytest

from .checkgrad import assert_grad_close


@pytest.fixture
def grad_check():
    """``grad_check(f, grad_f, x, **check_grad_options)``: assert that the gradient is right."""
    __tracebackhide__ = True
    return assert_grad_close
