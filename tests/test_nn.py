"""autodiff.nn: micrograd's Neuron / Layer / MLP on Value, and the batched Linear / Sequential."""

import math

import numpy as np
import pytest

from backproof import check_grad, network
from backproof.autodiff import Tensor, Value, nn
from backproof.autodiff import primitives as F


def moons_demo_data():
    """micrograd's demo data: 100 moons points, labels -1 / +1."""
    X, y = network.moons(100, noise=0.1, seed=0)
    return X.T.tolist(), (2 * y[0] - 1).tolist()


def hinge_loss(model, X, y, alpha=1e-4):
    """micrograd's demo loss: mean of max(0, 1 - y score) plus alpha times the sum of squares."""
    scores = [model(x) for x in X]
    losses = [(1 - y_i * s).relu() for y_i, s in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg = alpha * sum(p * p for p in model.parameters())
    return data_loss + reg, scores


def accuracy(scores, y) -> float:
    return float(np.mean([(y_i > 0) == (float(s) > 0) for y_i, s in zip(y, scores)]))


def test_mlp_trains_micrograd_moons_demo_to_95_percent():
    # micrograd's demo (MLP(2, [16, 16, 1]), hinge loss, L2 1e-4, full batch, learning rate
    # falling linearly from 1.0), cut from 100 steps to 30 so the test takes about 2.5 s
    X, y = moons_demo_data()
    model = nn.MLP(2, [16, 16, 1], rng=0)
    steps = 30
    first = None
    for k in range(steps):
        loss, _ = hinge_loss(model, X, y)
        first = loss.data if first is None else first
        model.zero_grad()
        loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    loss, scores = hinge_loss(model, X, y)
    assert accuracy(scores, y) >= 0.95
    assert loss.data < 0.2 * first


def test_sequential_trains_the_same_demo_on_a_batch():
    X, y = network.moons(100, noise=0.1, seed=0)
    signs = 2 * y - 1
    model = nn.Sequential.mlp(2, [16, 16, 1], rng=0)
    for k in range(100):
        scores = model(X)
        loss = F.mean(F.relu(1 - signs * scores)) + 1e-4 * sum(
            F.sum(p * p) for p in model.parameters()
        )
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= (1.0 - 0.9 * k / 100) * p.grad
    assert np.mean((model(X).data > 0) == (signs > 0)) >= 0.95


def test_scalar_and_batched_models_compute_the_same_numbers():
    X, _ = network.moons(5, seed=1)
    scalar = nn.MLP(2, [4, 3, 2], activation="tanh", rng=7)
    batched = nn.Sequential.mlp(2, [4, 3, 2], activation="tanh", rng=7)
    # the same weights, drawn in the same order
    flat = np.concatenate([p.data.ravel() for p in batched.parameters()])
    by_layer = []
    for layer in scalar.layers:
        by_layer += [v.data for n in layer.neurons for v in n.w]
        by_layer += [n.b.data for n in layer.neurons]
    assert np.array_equal(np.sort(flat), np.sort(by_layer))

    outs = [scalar(list(x)) for x in X.T]
    total = sum(o[0] * 1.0 + o[1] * 2.0 for o in outs)
    total.backward()
    out_b = batched(X)
    F.sum(out_b * np.array([[1.0], [2.0]])).backward()
    assert np.allclose(out_b.data.T, [[o.data for o in row] for row in outs], rtol=1e-14)
    first = batched[0]
    assert np.allclose(first.W.grad, [[v.grad for v in n.w] for n in scalar.layers[0].neurons])
    assert np.allclose(first.b.grad[:, 0], [n.b.grad for n in scalar.layers[0].neurons])


def test_a_neuron_is_act_of_w_dot_x_plus_b():
    n = nn.Neuron(2, activation="tanh")
    n.w[0].data, n.w[1].data, n.b.data = 0.5, -1.0, 0.25
    out = n([2.0, 3.0])  # z = 1 - 3 + 0.25 = -1.75
    assert out.data == pytest.approx(math.tanh(-1.75), rel=1e-15)
    out.backward()
    dz = 1 - math.tanh(-1.75) ** 2
    assert [w.grad for w in n.w] == pytest.approx([2.0 * dz, 3.0 * dz], rel=1e-15)
    assert n.b.grad == pytest.approx(dz, rel=1e-15)
    relu = nn.Neuron(2)
    relu.w[0].data, relu.w[1].data = 0.5, -1.0
    dead = relu([2.0, 3.0])  # z = -2: relu gives 0 and passes no gradient
    dead.backward()
    assert dead.data == 0.0 and relu.w[0].grad == 0.0 and relu.b.grad == 0.0


def test_shapes_parameters_and_activations_follow_micrograd():
    model = nn.MLP(2, [16, 16, 1])
    assert len(model.parameters()) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1
    assert [n.activation for n in model.layers[0].neurons] == ["relu"] * 16
    assert model.layers[-1].neurons[0].activation == "linear"
    assert isinstance(model([0.1, 0.2]), Value)
    wide = nn.MLP(3, [2])
    out = wide([Value(1.0), 2, 3.0])
    assert isinstance(out, list) and len(out) == 2
    assert "MLP of [Layer of [Neuron(2" in repr(model)
    # parameters carry the article's names, so a drawing of the model reads W2[3,1], b2[3], ...
    assert model.layers[1].neurons[3].w[1].label == "W2[3,1]"
    assert model.layers[1].neurons[3].b.label == "b2[3]"
    assert [w.label for w in nn.Neuron(2).w] == ["w[0]", "w[1]"]
    assert [p.name for p in nn.Sequential.mlp(2, [3, 1]).parameters()] == ["W1", "b1", "W2", "b2"]
    assert repr(nn.Sequential.mlp(2, [3, 1])) == "Sequential(Linear(2, 3), ReLU(), Linear(3, 1))"


def test_micrograd_nonlin_flag_is_understood():
    assert nn.Neuron(2, nonlin=False).activation == "linear"
    assert nn.Neuron(2, nonlin=True).activation == nn.Neuron(2).activation == "relu"
    with pytest.raises(ValueError, match="not both"):
        nn.Neuron(2, "tanh", nonlin=True)
    assert {n.activation for n in nn.Layer(2, 3, nonlin=False).neurons} == {"linear"}
    with pytest.raises(TypeError, match="nonlin must be True or False, got int 1"):
        nn.Neuron(2, nonlin=1)


def test_same_seed_gives_the_same_model_and_another_seed_another():
    def weights(rng):
        return [p.data for p in nn.MLP(2, [3, 1], rng=rng).parameters()]

    assert weights(5) == weights(5)
    assert weights(5) == weights(np.random.default_rng(5))
    assert weights(5) != weights(6)
    assert all(-1 <= w <= 1 for w in weights(5))
    a = nn.Linear(3, 2, rng=1)
    b = nn.Linear(3, 2, rng=1)
    assert np.array_equal(a.W.data, b.W.data) and not np.any(a.b.data)


def test_zero_grad_is_what_makes_a_second_gradient_right():
    X, y = network.moons(8, seed=2)
    model = nn.Sequential.mlp(2, [3, 1], activation="tanh", rng=3)
    params = model.parameters()
    names = [f"p{i}" for i in range(len(params))]

    def loss_at(values):
        for p, name in zip(params, names):
            p.data = values[name]
        return F.mean((model(X) - y) ** 2)

    point = {name: p.data.copy() for p, name in zip(params, names)}

    def grads(values, zero: bool):
        loss_at(values).backward()  # a first pass whose gradients linger without zero_grad
        if zero:
            model.zero_grad()
        loss_at(values).backward()
        return {name: p.grad.copy() for p, name in zip(params, names)}

    def f(values):
        return float(loss_at(values).data)

    assert check_grad(f, lambda v: grads(v, zero=True), point)
    model.zero_grad()
    assert all(p.grad is None for p in params)
    assert not check_grad(f, lambda v: grads(v, zero=False), point)
    scalar = nn.MLP(2, [2, 1])
    scalar([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in scalar.parameters())
    scalar.zero_grad()
    assert all(p.grad == 0.0 for p in scalar.parameters())


def test_linear_keeps_float32_end_to_end():
    layer = nn.Linear(2, 3, dtype=np.float32)
    x = np.ones((2, 4), dtype=np.float32)
    out = F.sum(nn.Tanh()(layer(x)))
    out.backward()
    assert out.dtype == np.float32 and layer.W.grad.dtype == np.float32
    assert layer.b.grad.dtype == np.float32


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: nn.MLP(2, [16, 0]), ValueError, "n_outs[1] must be a positive integer, got 0"),
        (lambda: nn.MLP(2, []), ValueError, "at least one layer"),
        (lambda: nn.MLP(2, 16), TypeError, "n_outs must be a list of layer widths, got int 16"),
        (lambda: nn.MLP(2.5, [1]), TypeError, "n_in must be a positive integer, got float 2.5"),
        (lambda: nn.MLP(2, [1], activation="softmax"), ValueError, "activation must be one of"),
        (lambda: nn.Neuron(2, rng=-1), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: nn.Neuron(2, rng=1.5), TypeError, "integer seed, got float 1.5"),
        (lambda: nn.Linear(2, 3, dtype=np.int64), ValueError, "dtype must be float32 or float64"),
        (lambda: nn.Sequential(), ValueError, "at least one module"),
        (lambda: nn.Sequential(nn.ReLU(), F.relu), TypeError, "module 1 must be an nn.Module"),
        (lambda: nn.MLP(2, [1])([1.0]), ValueError, "x must hold 2 inputs, one per weight; got 1"),
        (lambda: nn.MLP(2, [1])([1.0, "a"]), TypeError, "x[1] must be a number or a Value"),
        (lambda: nn.MLP(2, [1])(None), TypeError, "x must be a list of 2 numbers or Values"),
        (lambda: nn.Linear(2, 3)(np.ones((5, 2))), ValueError, "x must have shape (2, m)"),
        (lambda: nn.Linear(2, 3)(np.ones(2)), ValueError, "got shape (2,)"),
        (lambda: nn.Linear(2, 3)([["a", "b"]]), TypeError, "x must be a Tensor or an array"),
    ],
)
def test_bad_arguments_are_named(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert words in str(info.value)


def test_models_accept_tensors_and_values_as_inputs():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    model = nn.Sequential.mlp(2, [2, 1])
    F.sum(model(x)).backward()
    assert x.grad is not None and x.grad.shape == (2, 3)
    inputs = [Value(1.0), Value(-2.0)]
    nn.MLP(2, [3, 1], activation="sigmoid")(inputs).backward()
    assert all(v.grad != 0 for v in inputs)
