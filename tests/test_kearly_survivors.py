"""Behaviour that the mutation run of compare's diagnosis, verdicts, network_check, trees,
reference and model_check found unchecked by the quick tests (docs/mutation_kearly.md).

Each test states what a user of the public API sees; the networks are tiny (a few dozen
parameters, five examples), so every test here runs in milliseconds.
"""

import math

import numpy as np
import pytest
from conftest import make_problem

from backproof import manual
from backproof.compare import compare_network, reference
from backproof.compare.fdpolicy import ATOL_FACTOR, RTOL_FACTOR
from backproof.compare.network_check import check_implementation, first_wrong_layer


# -- network_check ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three_layers():
    return make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 3, 1], m=5)


def _report_with_wrong(problem, *keys):
    """check_implementation of manual's gradient with the entries of ``keys`` doubled."""
    spec, params, X, Y = problem

    def grads(p):
        g = manual.loss_and_grads(spec, p, X, Y)[1]
        return {k: v * 2.0 if k in keys else v for k, v in g.items()}

    return spec, check_implementation(spec, params, X, Y, grads)


@pytest.mark.parametrize(
    "wrong, layer",
    [
        ((), None),  # every layer agrees: no layer to name
        (("b2",), 2),  # a bias alone is enough; the layer above it is right
        (("W1",), 1),  # the first layer is reached too
        (("W3", "W1"), 3),  # going backward from the output, the output layer comes first
        (("b3", "W2"), 3),
    ],
)
def test_first_wrong_layer_walks_down_from_the_output(three_layers, wrong, layer):
    spec, report = _report_with_wrong(three_layers, *wrong)
    assert {k for k, p in report.params.items() if not p.ok} == set(wrong)
    assert first_wrong_layer(spec, report) == layer


def test_the_text_names_the_odd_one_out():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)

    def broken(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, "W1": -g["W1"]}

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual", "tensor"],
        references=["autograd"],
        extra={"broken": broken},
        epochs=0,
    )
    assert result.odd_one_out == {"W1": "broken"}
    assert "\nodd one out for W1: broken" in str(result)


def test_a_finite_difference_cell_states_its_tolerance_relative_to_the_largest_entry():
    """Against finite differences a cell's tolerance is the largest one its entries were allowed
    (atol + rtol |ref| where Richardson's bound certifies them all), divided, like rel_error, by
    the largest |ref| entry of the whole gradient."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["fd"], epochs=0
    )
    ref = reference.network_numerical_grad(spec, params, X, Y, "richardson")[0]
    scale = max(float(np.max(np.abs(v))) for v in ref.values())
    assert scale < 0.5  # far enough from 1 that dividing and multiplying by it differ
    eps = float(np.finfo(np.float64).eps)
    atol, rtol = ATOL_FACTOR * eps * scale, RTOL_FACTOR * math.sqrt(eps)
    for p in params:
        cell = result.cell("manual", "fd", p)
        assert cell.verdict == "pass" and cell.rel_error <= cell.tolerance
        largest = float(np.max(np.abs(ref[p])))
        assert cell.tolerance == pytest.approx((atol + rtol * largest) / scale, rel=1e-9)


@pytest.mark.parametrize("name", ["autograd", "manual"])
def test_an_extra_implementation_cannot_take_a_built_in_name(name):
    """An extra named "autograd" used to replace autograd's gradient as the reference: a wrong
    extra then passed and the right manual gradient failed. Such a name is refused."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)

    def wrong(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, "W1": 2 * g["W1"]}

    with pytest.raises(ValueError, match=rf"extra must not reuse .*got \['{name}'\]"):
        compare_network(
            spec, X, Y, params, implementations=["manual"], extra={name: wrong}, epochs=0
        )
