"""Legal input of extreme size: values beyond float32's range, a training that diverges.

A cost of size 1e100 is a float64 number like any other: checking its gradient must not warn
(the noise estimate once cast f's values to float32 to see whether f rounds to float32, and the
cast overflowed). A study whose deeper network diverges while the study's own training does not
must say that a training diverged (FloatingPointError, which ``backproof study`` reports with
its advice to lower the learning rate), not fail a parameter check on its way.
"""

import warnings

import numpy as np
import pytest

from backproof import check_grad
from backproof.compare import study
from backproof.network import NetworkSpec

HUGE = 1e100  # far beyond float32's largest number, 3.4e38


def huge_quadratic(x):
    return HUGE * np.sum(x**2)


@pytest.mark.parametrize(
    ("grad_f", "right"),
    [(lambda x: 2 * HUGE * x, True), (lambda x: 2 * HUGE * x[::-1], False)],
    ids=["right", "entries swapped"],
)
def test_a_cost_beyond_float32_s_range_is_judged_without_a_warning(grad_f, right):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check_grad(huge_quadratic, grad_f, np.array([0.3, -0.7]))
    assert report.ok is right


def _diverging_norms_study(tmp_path):
    """A 2-3-1 relu network on data of size 1e100 with lr = 1e56: no training in the study
    itself (epochs=0), so its cost stays finite; the deeper network trained for the layer-norm
    picture sends a weight to inf by its second step, and its third cost is NaN."""
    rng = np.random.default_rng(0)
    spec = NetworkSpec(layer_dims=[2, 3, 1], activations=["relu", "sigmoid"], init="article")
    X = HUGE * rng.standard_normal((2, 20))
    Y = (rng.random((1, 20)) > 0.5).astype(float)
    return lambda: study.run_study(
        spec, X, Y, out_dir=tmp_path, epochs=0, lr=1e56, norm_epochs=3, progress=False
    )


def test_a_deeper_network_that_diverges_stops_the_study_as_a_diverged_training(tmp_path):
    run = _diverging_norms_study(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FloatingPointError, match=r"lower lr \(now 1e\+56\)"):
            run()


def test_a_deeper_network_that_diverges_warns_of_nothing_on_its_way(tmp_path):
    run = _diverging_norms_study(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError):
            run()
