"""check_model's contract: the report's text and JSON, every way backprop may return its
gradients, how the number of examples is found and what it diagnoses, and what is refused.

The networks of tests/test_model_check.py (a 3-4-2 sigmoid network, 20 examples) keep each
check to a fraction of a second."""

import json

import numpy as np
import pytest
from test_model_check import TinyNet, X, Y

from backproof.compare import check_model


@pytest.fixture
def net():
    return TinyNet([3, 4, 2])


def test_the_report_in_text_and_json(net):
    report = check_model(net, net.cost, net.backprop, X, Y)
    assert report.verdict == "pass" and report and report.diagnosis == "" and report.m == 20
    lines = str(report).splitlines()
    assert lines[0].startswith("model check: PASS (") and lines[0].endswith(" s)")
    assert lines[1:] == [
        "  weights[0]  pass",
        "  weights[1]  pass",
        "  biases[0]   pass",
        "  biases[1]   pass",
    ]
    d = json.loads(json.dumps(report.to_dict()))
    assert d == {
        "verdict": "pass",
        "layers": {
            "weights[0]": "pass",
            "weights[1]": "pass",
            "biases[0]": "pass",
            "biases[1]": "pass",
        },
        "diagnosis": "",
        "m": 20,
        "seconds": report.seconds,
        "notes": [],
    }
    assert 0 < report.seconds < 60
    assert report.report.verdict == "pass"  # check_grad's own report on every parameter


def test_a_failure_in_text_names_the_diagnosis_and_notes():
    net = TinyNet([3, 4, 2], scale=2.0)
    examples = [(X[:, [k]], Y[:, [k]]) for k in range(4)]
    report = check_model(net, net.cost, net.backprop, examples=examples)
    assert not report and report.verdict == "fail"
    lines = str(report).splitlines()
    assert lines[0].startswith("model check: FAIL (")
    assert lines[1] == "  diagnosis: every parameter: scale: the gradient is the right one x 2"
    assert lines[-1] == "  note: the cost is the mean over 4 examples"
    assert report.notes == ["the cost is the mean over 4 examples"] and report.m == 4


def test_one_over_m_diagnoses_name_m():
    summed = TinyNet([3, 4, 2], scale=20.0)
    missing = check_model(summed, summed.cost, summed.backprop, X, Y)
    assert missing.diagnosis == (
        "missing 1/m: backprop returns m = 20 times the gradient of the cost (a sum over the "
        "examples where the cost takes their mean)"
    )
    twice = TinyNet([3, 4, 2], scale=1 / 20)
    extra = check_model(twice, twice.cost, twice.backprop, X, Y)
    assert extra.diagnosis == (
        "extra 1/m: backprop returns the gradient of the cost divided by m = 20 (a mean taken "
        "twice)"
    )


def test_m_given_overrides_the_data_and_one_example_has_no_1_over_m():
    net = TinyNet([3, 4, 2], scale=20.0)
    one = check_model(net, net.cost, net.backprop, X, Y, m=1)
    assert one.m == 1 and one.verdict == "fail"
    assert one.diagnosis == "every parameter: scale: the gradient is the right one x 20"
    other = check_model(net, net.cost, net.backprop, X, Y, m=np.int64(10))
    assert other.m == 10 and "1/m" not in other.diagnosis


def test_different_mistakes_are_listed_parameter_by_parameter(net):
    right = net.backprop

    def two_wrong(X_, Y_):
        grads_w, grads_b = right(X_, Y_)
        return [grads_w[0], 3 * grads_w[1]], [grads_b[0], -grads_b[1]]

    report = check_model(net, net.cost, two_wrong, X, Y)
    assert report.layers == {
        "weights[0]": "pass",
        "weights[1]": "fail",
        "biases[0]": "pass",
        "biases[1]": "fail",
    }
    parts = report.diagnosis.split("; ")
    assert [p.split(": ")[0] for p in parts] == ["weights[1]", "biases[1]"]
    assert parts[0] == "weights[1]: scale: the gradient is the right one x 3"
    assert parts[1].startswith("biases[1]: sign")


# -- how backprop may return its gradients ---------------------------------------------------
def test_gradients_as_a_dict_keyed_by_attribute_in_any_order(net):
    def as_dict(X_, Y_):
        grads_w, grads_b = net.backprop(X_, Y_)
        return {"biases": grads_b, "weights": grads_w}

    assert check_model(net, net.cost, as_dict, X, Y)

    def lacking(X_, Y_):
        return {"weights": net.backprop(X_, Y_)[0], "gammas": None}

    with pytest.raises(ValueError) as info:
        check_model(net, net.cost, lacking, X, Y)
    assert str(info.value) == (
        "backprop returned a dict with keys ['weights', 'gammas']; it lacks the parameters "
        "['biases']"
    )


def test_one_attribute_takes_the_bare_gradient(net):
    report = check_model(
        net, net.cost, lambda X_, Y_: net.backprop(X_, Y_)[0], X, Y, params=["weights"]
    )
    assert report and list(report.layers) == ["weights[0]", "weights[1]"]
    as_tuple = check_model(net, net.cost, lambda X_, Y_: tuple(net.backprop(X_, Y_)), X, Y)
    assert as_tuple


def test_the_wrong_number_of_gradients_is_refused(net):
    with pytest.raises(ValueError) as info:
        check_model(net, net.cost, lambda X_, Y_: net.backprop(X_, Y_)[:1], X, Y)
    assert str(info.value).endswith(
        "; expected one gradient per parameter attribute, in the order of params "
        "['weights', 'biases'] (or a dict keyed by them)"
    )
    assert str(info.value).startswith("backprop returned a tuple")


# -- the number of examples ------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, m",
    [
        ((np.zeros((3, 7)), np.zeros((2, 7))), 7),  # examples as columns
        ((np.zeros((7, 3)), np.zeros((7, 2))), 7),  # examples as rows
        ((np.zeros((3, 7)),), 7),  # one 2-D array: its last axis
        ((np.zeros(5),), 5),  # one 1-D array: its length
        ((np.zeros((4, 4)), np.zeros((4, 4))), 4),  # square: the last axis
        ((np.zeros((3, 7)), np.zeros((2, 5))), None),  # nothing shared
        ((2.0, "labels"), None),  # no arrays
    ],
)
def test_the_number_of_examples_is_the_axis_the_data_shares(data, m):
    class Linear:
        def __init__(self):
            self.weights = np.array([0.5, -0.25])

    model = Linear()
    report = check_model(
        model,
        lambda *d: float(np.sum(model.weights**2)),
        lambda *d: 2 * model.weights,
        *data,
        params=["weights"],
    )
    assert report and report.m == m


def test_examples_are_averaged_and_a_bare_example_is_one_argument():
    class Quadratic:
        def __init__(self):
            self.weights = np.array([1.0, 2.0])

    model = Quadratic()
    points = [np.array([0.0, 1.0]), np.array([2.0, -1.0]), np.array([1.0, 1.0])]

    def cost(x):
        return 0.5 * float(np.sum((model.weights - x) ** 2))

    def backprop(x):
        return model.weights - x

    report = check_model(model, cost, backprop, examples=points, params=["weights"])
    assert report and report.m == 3
    summed = check_model(
        model, cost, lambda x: 3 * backprop(x), examples=points, params=["weights"]
    )
    assert summed.diagnosis.startswith("missing 1/m: backprop returns m = 3 times")


# -- what is refused -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda n: check_model(n, None, n.backprop, X, Y), TypeError,
         "cost must be callable, got None"),
        (lambda n: check_model(n, n.cost, 3, X, Y), TypeError, "backprop must be callable, got "),
        (lambda n: check_model(n, n.cost, n.backprop, examples=[]), ValueError,
         "examples must hold at least one example, got none"),
        (lambda n: check_model(n, n.cost, n.backprop, X, Y, m=True), ValueError,
         "m must be a positive integer or None, got True"),
        (lambda n: check_model(n, n.cost, n.backprop, X, Y, m=2.0), ValueError,
         "m must be a positive integer or None, got 2.0"),
        (lambda n: check_model(n, n.cost, n.backprop, X, Y, params=()), TypeError,
         "params must be a list of attribute names, got "),
        (lambda n: check_model(n, n.cost, n.backprop, X, Y, params=None), TypeError,
         "params must be a list of attribute names, got "),
        (lambda n: check_model(n, n.cost, n.backprop, X, Y, params=["weights", 3]), ValueError,
         "params must name attributes of the model, got 3; it has ['biases', 'scale', 'weights']"),
        (lambda n: check_model(n, n.cost, n.backprop), TypeError,
         "check_model needs data: a batch (*data) or examples=[(x, y), ...]"),
        (lambda n: check_model(n, n.cost, n.backprop, X, examples=[(X, Y)]), TypeError,
         "give the data either as a batch (*data) or as examples=, not both"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named_in_full(net, call, error, message):
    with pytest.raises(error) as info:
        call(net)
    assert str(info.value).startswith(message)


def test_the_attribute_objects_are_put_back_after_a_failure(net):
    weights, biases = net.weights, net.biases
    net.scale = 3.0
    check_model(net, net.cost, net.backprop, X, Y)
    assert net.weights is weights and net.biases is biases
