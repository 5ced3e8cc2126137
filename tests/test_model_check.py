"""check_model on network classes written the way from-scratch tutorials write them: the
parameters in attributes (lists of arrays), a cost, and a backprop per batch or per example."""

import numpy as np
import pytest

from backproof.compare import check_grad, check_model


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class TinyNet:
    """Sigmoid layers, examples as columns, cost = mean over examples of ½‖a - y‖²."""

    def __init__(self, sizes, seed=0, scale=1.0):
        rng = np.random.default_rng(seed)
        self.weights = [rng.standard_normal((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.scale = scale  # what backprop multiplies its result by: 1 is right

    def activations(self, X):
        acts = [X]
        for W, b in zip(self.weights, self.biases):
            acts.append(sigmoid(W @ acts[-1] + b))
        return acts

    def cost(self, X, Y):
        return 0.5 * np.sum((self.activations(X)[-1] - Y) ** 2) / X.shape[1]

    def backprop(self, X, Y):
        """(gradients of the weights, gradients of the biases), layer by layer."""
        acts = self.activations(X)
        delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1]) / X.shape[1]
        grads_w, grads_b = [], []
        for layer in range(len(self.weights) - 1, -1, -1):
            grads_w.insert(0, self.scale * delta @ acts[layer].T)
            grads_b.insert(0, self.scale * delta.sum(axis=1, keepdims=True))
            if layer:
                s = acts[layer]
                delta = (self.weights[layer].T @ delta) * s * (1 - s)
        return grads_w, grads_b


class ExampleNet(TinyNet):
    """One example at a time, as column vectors; backprop returns (nabla_b, nabla_w)."""

    def example_cost(self, x, y):
        return 0.5 * np.sum((self.activations(x)[-1] - y) ** 2)

    def example_backprop(self, x, y):
        grads_w, grads_b = self.backprop(x, y)  # m = 1: the batch formula is the example's
        return grads_b, grads_w


RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 20))
Y = RNG.uniform(size=(2, 20))


def snapshot(net):
    return [id(net.weights), id(net.biases)] + [
        (id(a), a.tobytes()) for a in net.weights + net.biases
    ]


def test_right_backprop_passes_and_names_every_layer():
    net = TinyNet([3, 4, 2])
    report = check_model(net, net.cost, net.backprop, X, Y)
    assert report.verdict == "pass" and report
    assert list(report.layers) == ["weights[0]", "weights[1]", "biases[0]", "biases[1]"]
    assert report.m == 20
    assert "weights[1]" in str(report)


@pytest.mark.parametrize(
    "scale, words",
    [(20.0, "missing 1/m"), (1 / 20, "extra 1/m")],
)
def test_a_missing_or_extra_one_over_m_is_diagnosed(scale, words):
    net = TinyNet([3, 4, 2], scale=scale)
    report = check_model(net, net.cost, net.backprop, X, Y)
    assert report.verdict == "fail"
    assert report.diagnosis.startswith(words)
    assert set(report.layers.values()) == {"fail"}


def test_a_wrong_layer_is_named():
    net = TinyNet([3, 4, 2])
    right = net.backprop

    def backprop(X, Y):
        grads_w, grads_b = right(X, Y)
        grads_b[1] = -grads_b[1]
        return grads_w, grads_b

    report = check_model(net, net.cost, backprop, X, Y)
    assert report.verdict == "fail"
    assert report.layers["biases[1]"] == "fail"
    assert report.layers["weights[0]"] == report.layers["biases[0]"] == "pass"
    assert "sign" in report.diagnosis and "1/m" not in report.diagnosis


def test_per_example_backprop_in_the_nielsen_order():
    net = ExampleNet([3, 4, 2], seed=1)
    examples = [(X[:, [k]], Y[:, [k]]) for k in range(5)]
    kwargs = {"examples": examples, "params": ("biases", "weights")}
    assert check_model(net, net.example_cost, net.example_backprop, **kwargs)
    net.scale = 2.0
    wrong = check_model(net, net.example_cost, net.example_backprop, **kwargs)
    assert wrong.verdict == "fail" and "x 2" in wrong.diagnosis


def test_parameters_are_put_back_bit_for_bit():
    net = TinyNet([3, 4, 2])
    before = snapshot(net)
    check_model(net, net.cost, net.backprop, X, Y)
    assert snapshot(net) == before

    def raising_cost(X, Y):
        if net.weights is not before_weights:
            raise RuntimeError("the cost gave up")
        return net.cost(X, Y)

    before_weights = net.weights
    with pytest.raises(RuntimeError, match="gave up"):
        check_model(net, raising_cost, net.backprop, X, Y)
    assert snapshot(net) == before


def test_parameters_changed_in_place_by_the_model_are_restored():
    net = TinyNet([3, 4, 2])
    original = net.weights[0]
    saved = original.copy()
    right = net.backprop

    def sloppy(X, Y):
        grads = right(X, Y)
        original[0, 0] += 0.1  # an update written into the caller's own array
        return grads

    check_model(net, net.cost, sloppy, X, Y)
    assert net.weights[0] is original
    assert original.tobytes() == saved.tobytes()


def test_the_hand_adapter_it_replaces_agrees():
    """What a user wrote before check_model: a dict adapter, a deepcopy, and the gradients
    rearranged — the verdict is the same."""
    import copy

    net = TinyNet([3, 4, 2])
    work = copy.deepcopy(net)
    names = [f"W{i}" for i in range(len(net.weights))] + [f"b{i}" for i in range(len(net.biases))]

    def unpack(params):
        work.weights = [params[f"W{i}"] for i in range(len(net.weights))]
        work.biases = [params[f"b{i}"] for i in range(len(net.biases))]

    def objective(params):
        unpack(params)
        return work.cost(X, Y)

    def gradient(params):
        unpack(params)
        grads_w, grads_b = work.backprop(X, Y)
        return dict(zip(names, grads_w + grads_b))

    start = dict(zip(names, net.weights + net.biases))
    by_hand = check_grad(objective, gradient, start)
    assert bool(by_hand) == bool(check_model(net, net.cost, net.backprop, X, Y))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"params": ("weights", "gammas")}, ValueError, "'gammas'"),
        ({"params": "weights"}, TypeError, "list of attribute names"),
        ({"m": 0}, ValueError, "m must be"),
        ({"examples": [(X, Y)]}, TypeError, "not both"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    net = TinyNet([3, 4, 2])
    with pytest.raises(error, match=words):
        check_model(net, net.cost, net.backprop, X, Y, **kwargs)


def test_backprop_in_an_unexpected_shape_is_refused_with_the_order_expected():
    net = TinyNet([3, 4, 2])
    with pytest.raises(ValueError, match=r"in the order of params \['weights', 'biases'\]"):
        check_model(net, net.cost, lambda X, Y: (*net.backprop(X, Y), None), X, Y)
    with pytest.raises(TypeError, match=r"returned an array of shape \(4, 3\), weights is a list"):
        check_model(net, net.cost, lambda X, Y: net.backprop(X, Y)[0], X, Y)
    with pytest.raises(TypeError, match="needs data"):
        check_model(net, net.cost, net.backprop)
