"""Behaviour that mutation testing found unchecked in check_model, the shared network's reference
gradients and the nested-argument trees (issue 12; docs/mutation_kmodel.md lists the mutants).

Each test states what a user of the public API sees: a message, a field of a report, a number
that stays finite."""

import numpy as np
import pytest

from backproof.compare import check_grad, reference


# -- compare.reference ------------------------------------------------------------------------
def test_complex_logsumexp_shifts_each_column_by_its_own_maximum():
    """Examples (columns) whose logits differ by 1000 each keep a finite log-sum-exp: the shift
    is taken per column, not over the whole batch."""
    z = np.array([[1000.0, 0.0], [1000.0, 0.0]]) + 1e-20j
    out = reference.COMPLEX_MATH.logsumexp(z)
    assert out.shape == (1, 2)
    np.testing.assert_allclose(np.real(out), [[1000 + np.log(2), np.log(2)]], rtol=1e-15)
    np.testing.assert_allclose(np.imag(out) / 1e-20, [[1.0, 1.0]], rtol=1e-12)


# -- compare.trees ----------------------------------------------------------------------------
def test_a_gradient_that_is_no_array_at_all_is_described_as_it_is():
    with pytest.raises(TypeError) as info:
        check_grad(lambda x: float(np.sum(x["W"] ** 2)), lambda x: "oops", {"W": np.ones(2)})
    assert str(info.value) == "grad_f returned str 'oops', x is a dict with keys ['W']"
