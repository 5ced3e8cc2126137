"""The engine's nn: what each model's constructor and call promise (defaults, names, reprs,
dtypes, the activations between layers) and the exact messages for what they refuse."""

import math

import numpy as np
import pytest

from backproof.autodiff import Tensor, Value, nn
from backproof.autodiff import primitives as P


def test_the_scalar_models_defaults_and_reprs():
    neuron = nn.Neuron(3)
    assert neuron.activation == "relu" and len(neuron.w) == 3 and neuron.b.data == 0.0
    assert repr(neuron) == "Neuron(3, activation='relu')"
    assert [p.label for p in neuron.parameters()] == ["w[0]", "w[1]", "w[2]", "b"]
    default = [w.data for w in nn.Neuron(3).w]
    seeded = np.random.default_rng(0).uniform(-1.0, 1.0, size=3)
    assert default == seeded.tolist()  # rng=0 by default, uniform in [-1, 1]
    layer = nn.Layer(2, 3, "tanh")
    assert repr(layer) == (
        "Layer of [Neuron(2, activation='tanh'), Neuron(2, activation='tanh'), "
        "Neuron(2, activation='tanh')]"
    )
    assert [p.label for p in layer.parameters()][:3] == ["W[0,0]", "W[0,1]", "b[0]"]
    assert len(layer.parameters()) == 9
    assert nn.Layer(2, 1)([1.0, 2.0]).data >= 0.0  # relu by default, one output: a Value
    mlp = nn.MLP(2, [3, 1], "sigmoid")
    assert [n.activation for n in mlp.layers[0].neurons] == ["sigmoid"] * 3
    assert repr(mlp) == (
        "MLP of [Layer of [Neuron(2, activation='sigmoid'), Neuron(2, activation='sigmoid'), "
        "Neuron(2, activation='sigmoid')], Layer of [Neuron(3, activation='linear')]]"
    )
    assert (
        mlp.layers[0].neurons[2].w[1].label == "W1[2,1]"
        and mlp.layers[1].neurons[0].b.label == "b2[0]"
    )
    assert isinstance(nn.Module().parameters(), list) and nn.Module().parameters() == []


def test_a_layer_and_an_mlp_compute_what_their_neurons_compute():
    layer = nn.Layer(2, 2, "tanh", rng=4)
    x = [0.3, -0.7]
    outs = layer(x)
    for neuron, out in zip(layer.neurons, outs):
        z = sum(w.data * xi for w, xi in zip(neuron.w, x)) + neuron.b.data
        assert out.data == pytest.approx(math.tanh(z), rel=1e-15)
    mlp = nn.MLP(2, [2, 1], "tanh", rng=4)
    hidden = [n(x).data for n in mlp.layers[0].neurons]
    last = mlp.layers[1].neurons[0]
    expected = sum(w.data * h for w, h in zip(last.w, hidden)) + last.b.data  # linear
    assert mlp(x).data == pytest.approx(expected, rel=1e-15)
    assert (
        mlp(
            Value(0.3),
        )
        if False
        else True
    )
    single = nn.Neuron(1, "linear", rng=2)
    assert single([2.0])._op == "+"  # linear: the weighted sum itself, no identity node
    seeded = np.random.default_rng(0)  # rng=0 by default for every model
    first, second = seeded.uniform(-1, 1, 2), seeded.uniform(-1, 1, 2)
    assert [w.data for w in nn.Layer(2, 2).neurons[1].w] == second.tolist()
    assert [w.data for w in nn.MLP(2, [2, 1]).layers[0].neurons[0].w] == first.tolist()
    assert single(2.0).data == pytest.approx(2.0 * single.w[0].data)  # one number is one input
    assert single(Value(2.0)).data == pytest.approx(2.0 * single.w[0].data)


def test_the_batched_models_defaults_and_reprs():
    linear = nn.Linear(3, 2)
    assert repr(linear) == "Linear(3, 2)" and linear.W.shape == (2, 3) and linear.b.shape == (2, 1)
    assert (linear.W.name, linear.b.name) == ("W", "b") and linear.W.dtype == np.float64
    assert linear.W.requires_grad and linear.b.requires_grad and not np.any(linear.b.data)
    np.testing.assert_array_equal(linear.W.data, np.random.default_rng(0).uniform(-1, 1, (2, 3)))
    x = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])
    np.testing.assert_allclose(linear(x).data, linear.W.data @ x + linear.b.data, rtol=1e-15)
    assert linear(x).op == "affine" and linear(Tensor(x)).shape == (2, 2)
    assert linear.parameters() == [linear.W, linear.b]
    assert nn.Linear(3, 2, dtype=np.float32).W.dtype == np.float32
    assert nn.Linear(3, 2, dtype="float32").b.dtype == np.float32
    for act, name in ((nn.ReLU(), "relu"), (nn.Tanh(), "tanh"), (nn.Sigmoid(), "sigmoid")):
        assert act.name == name and act.parameters() == []
        out = act(np.array([[-1.0, 0.5]]))  # an array is taken as a Tensor
        assert isinstance(out, Tensor)
        np.testing.assert_allclose(out.data, getattr(P, name)(np.array([[-1.0, 0.5]])))
    assert (repr(nn.ReLU()), repr(nn.Tanh()), repr(nn.Sigmoid())) == (
        "ReLU()",
        "Tanh()",
        "Sigmoid()",
    )
    gelu = nn.Activation("gelu")
    assert repr(gelu) == "Activation('gelu')" and gelu(Tensor([[0.0]])).data.tolist() == [[0.0]]
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.Activation("softmax")


def test_sequential_chains_indexes_and_builds_the_mlp_twin():
    model = nn.Sequential.mlp(2, [3, 3, 1], "tanh", rng=1)
    assert repr(model) == (
        "Sequential(Linear(2, 3), Activation('tanh'), Linear(3, 3), Activation('tanh'), "
        "Linear(3, 1))"
    )
    assert len(model) == 5 and isinstance(model[1], nn.Activation) and model[4] is model.modules[-1]
    assert [p.name for p in model.parameters()] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    linear_only = nn.Sequential.mlp(2, [3, 1], "linear")
    assert repr(linear_only) == "Sequential(Linear(2, 3), Linear(3, 1))"
    relu = nn.Sequential.mlp(2, [3, 1])
    first_layer = [w.data for n in nn.MLP(2, [3, 1]).layers[0].neurons for w in n.w]
    assert relu[0].W.data.ravel().tolist() == first_layer  # rng=0 by default, as MLP's
    assert isinstance(relu[1], nn.ReLU)
    f32 = nn.Sequential.mlp(2, [3, 1], dtype=np.float32)
    assert {p.dtype for p in f32.parameters()} == {np.dtype(np.float32)}
    x = np.array([[0.5], [-1.0]])
    by_hand = x
    for m in model.modules:
        by_hand = m(by_hand)
    np.testing.assert_array_equal(model(x).data, by_hand.data)
    scalar = nn.MLP(2, [3, 3, 1], "tanh", rng=1)
    assert model(x).data[0, 0] == pytest.approx(scalar([0.5, -1.0]).data, rel=1e-14)


def test_zero_grad_resets_values_to_zero_and_tensors_to_none():
    mixed = nn.MLP(1, [1])
    mixed([2.0]).backward()
    mixed.zero_grad()
    assert all(p.grad == 0.0 and type(p.grad) is float for p in mixed.parameters())
    model = nn.Sequential(nn.Linear(1, 1))
    P.sum(model(np.ones((1, 2)))).backward()
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


SEED = "rng must be a numpy.random.Generator or a non-negative integer seed, got "
REFUSALS = [
    (lambda: nn.Neuron(0), ValueError, "n_in must be a positive integer, got 0"),
    (lambda: nn.Layer(2, 0), ValueError, "n_out must be a positive integer, got 0"),
    (lambda: nn.Linear(0, 1), ValueError, "n_in must be a positive integer, got 0"),
    (lambda: nn.Linear(1, 0), ValueError, "n_out must be a positive integer, got 0"),
    (lambda: nn.MLP(2, "16"), TypeError, "n_outs must be a list of layer widths, got str '16'"),
    (lambda: nn.MLP(2, []), ValueError, "n_outs must name at least one layer, got an empty list"),
    (
        lambda: nn.Neuron(2, "tanh", nonlin=False),
        ValueError,
        "give activation or micrograd's nonlin, not both; got 'tanh' and False",
    ),
    (lambda: nn.Neuron(2, rng=True), TypeError, SEED + "the boolean True"),
    (lambda: nn.Neuron(2, rng=-1), TypeError, SEED + "int -1"),
    (
        lambda: nn.Linear(2, 3, dtype=np.float16),
        ValueError,
        "dtype must be float32 or float64, got float16",
    ),
    (lambda: nn.Sequential(), ValueError, "Sequential needs at least one module, got none"),
    (lambda: nn.Sequential(nn.ReLU(), 3), TypeError, "module 1 must be an nn.Module, got int 3"),
    (lambda: nn.Neuron(2)([1.0]), ValueError, "x must hold 2 inputs, one per weight; got 1"),
    (
        lambda: nn.Neuron(2)([1.0, True]),
        TypeError,
        "x[1] must be a number or a Value, got the boolean True",
    ),
    (
        lambda: nn.Neuron(2)(3j),
        TypeError,
        "x must be a list of 2 numbers or Values, got complex 3j",
    ),
    (lambda: nn.Layer(2, 2)([1.0]), ValueError, "x must hold 2 inputs, one per weight; got 1"),
    (
        lambda: nn.Linear(2, 3)(np.ones((2, 2, 1))),
        ValueError,
        "x must have shape (2, m): 2 features by m examples, examples as columns as in the "
        "article; got shape (2, 2, 1)",
    ),
    (
        lambda: nn.Linear(2, 3)([["a", "b"]]),
        TypeError,
        "x must be a Tensor or an array of numbers: data must be numeric, got an array of dtype "
        "<U1",
    ),
]


@pytest.mark.parametrize("make, error, message", REFUSALS)
def test_the_exact_messages(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


def test_rng_may_be_a_generator_or_a_numpy_integer_and_nonlin_a_numpy_bool():
    gen = np.random.default_rng(9)
    first = nn.Neuron(2, rng=gen)
    second = nn.Neuron(2, rng=gen)  # the same generator, drawn on
    assert [w.data for w in first.w] != [w.data for w in second.w]
    assert [w.data for w in nn.Neuron(2, rng=np.int64(9)).w] == [
        w.data for w in nn.Neuron(2, rng=9).w
    ]
    assert nn.Neuron(2, nonlin=np.bool_(False)).activation == "linear"
    assert nn.Layer(2, 2, nonlin=np.bool_(True)).neurons[1].activation == "relu"
