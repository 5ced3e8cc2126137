"""Neural-network building blocks on the engine: micrograd's ``nn`` and a batched version.

Two families share one base class, ``Module``, which gives every model ``parameters()`` (a flat
list, in a fixed order) and ``zero_grad()``:

- **Scalar**, in micrograd's shape: ``Neuron``, ``Layer`` and ``MLP`` hold every weight as a
  ``Value``. A model is called on a list of numbers or ``Value``s (one example) and returns a
  ``Value`` when it has one output, else a list of them. Every multiplication and addition is
  a node of the graph, so a learner can draw the graph of a small model and follow each number.
- **Batched**, on ``Tensor``: ``Linear``, the activations (``Activation("gelu")``, or ``ReLU()``,
  ``Tanh()``, ``Sigmoid()``), and ``Sequential`` to chain them. A model is called on a whole
  batch at once, with examples as **columns** as in the article: ``x`` has shape
  ``(features, examples)`` and ``Linear(n_in, n_out)`` computes ``W @ x + b`` with ``W`` of
  shape ``(n_out, n_in)`` and ``b`` of shape ``(n_out, 1)``.

A neuron with inputs x_1 … x_n computes  act(Σ_i w_i x_i + b),  act being relu (micrograd's
choice) or any other elementwise activation of the registry (``ACTIVATIONS``; ``"linear"`` is
the identity). An MLP's hidden layers use the activation; its last layer
is linear, so the output is a score (positive for one class, negative for the other) that a
hinge or squared loss can use directly.

Weights start uniform in [-1, 1] and biases at 0, as in micrograd, drawn from a
``numpy.random.Generator`` — pass ``rng`` as a Generator or an integer seed (default 0), so the
same seed gives the same model bit for bit.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..network.validation import check_choice, check_positive_int, describe
from . import primitives as F
from .tensor import Tensor
from .value import Value

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "Linear",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "Activation",
    "Sequential",
    "ACTIVATIONS",
]

ACTIVATIONS = tuple(F.ELEMENTWISE)  # the registry's elementwise activations, "linear" included


def _check_activation(activation) -> str:
    return check_choice("activation", activation, ACTIVATIONS)


def _layer_sizes(n_in, n_outs) -> list[int]:
    """``[n_in, *n_outs]`` checked: positive integers, at least one layer."""
    n_in = check_positive_int("n_in", n_in)
    if isinstance(n_outs, (str, bytes)) or not hasattr(n_outs, "__iter__"):
        raise TypeError(f"n_outs must be a list of layer widths, got {describe(n_outs)}")
    widths = [check_positive_int(f"n_outs[{i}]", w) for i, w in enumerate(n_outs)]
    if not widths:
        raise ValueError("n_outs must name at least one layer, got an empty list")
    return [n_in, *widths]


def _micrograd_nonlin(activation: str | None, nonlin) -> str:
    """The activation: relu by default; micrograd's ``nonlin=True`` / ``False`` (relu or none)
    is accepted so that its code runs as is."""
    if nonlin is None:
        return "relu" if activation is None else activation
    if not isinstance(nonlin, (bool, np.bool_)):
        raise TypeError(f"nonlin must be True or False, got {describe(nonlin)}")
    if activation is not None:
        raise ValueError(
            f"give activation or micrograd's nonlin, not both; got {activation!r} and {nonlin!r}"
        )
    return "relu" if nonlin else "linear"


def _generator(rng) -> np.random.Generator:
    """A Generator from ``rng``: a Generator (used as is) or a non-negative integer seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise TypeError(
            "rng must be a numpy.random.Generator or a non-negative integer seed, "
            f"got {describe(rng)}"
        )
    return np.random.default_rng(int(rng))


class Module:
    """The base of every model: a tree of parameters that can be listed and reset."""

    def parameters(self) -> list:
        """Every trainable parameter, in a fixed order (``Value``s or ``Tensor``s)."""
        return []

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass (they accumulate otherwise)."""
        for p in self.parameters():
            if isinstance(p, Tensor):
                p.grad = None
            else:
                p.grad = 0.0


# -- scalar models, micrograd's interface -----------------------------------------------------


def _scalar_inputs(x, n_in: int) -> list:
    """``x`` as a list of ``n_in`` numbers or Values (one example), or a clear error."""
    if isinstance(x, (Value, numbers.Real)):
        x = [x]
    try:
        items = list(x)
    except TypeError:
        raise TypeError(
            f"x must be a list of {n_in} numbers or Values, got {describe(x)}"
        ) from None
    if len(items) != n_in:
        raise ValueError(f"x must hold {n_in} inputs, one per weight; got {len(items)}")
    for i, v in enumerate(items):
        if not isinstance(v, (Value, numbers.Real)) or isinstance(v, (bool, np.bool_)):
            raise TypeError(f"x[{i}] must be a number or a Value, got {describe(v)}")
    return items


class Neuron(Module):
    """One neuron: ``act(w · x + b)`` with ``n_in`` weights ``w`` and a bias ``b`` (Values)."""

    def __init__(self, n_in: int, activation: str | None = None, *, rng=0, nonlin=None):
        n_in = check_positive_int("n_in", n_in)
        self.activation = _check_activation(_micrograd_nonlin(activation, nonlin))
        draws = _generator(rng).uniform(-1.0, 1.0, size=n_in)
        self.w = [Value(float(d), label=f"w[{i}]") for i, d in enumerate(draws)]
        self.b = Value(0.0, label="b")

    def __call__(self, x) -> Value:
        x = _scalar_inputs(x, len(self.w))
        return self._act(self._weighted_sum(x))

    def _weighted_sum(self, x: list) -> Value:
        """Σ w_i x_i + b, one node per product and per sum, as a learner writes it out."""
        total = self.b
        for w_i, x_i in zip(self.w, x):
            total = total + w_i * x_i
        return total

    def _act(self, z: Value) -> Value:
        if self.activation == "linear":
            return z
        return getattr(z, self.activation)()

    def parameters(self) -> list:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``n_out`` neurons that all read the same ``n_in`` inputs."""

    def __init__(self, n_in: int, n_out: int, activation: str | None = None, *, rng=0, nonlin=None):
        n_out = check_positive_int("n_out", n_out)
        activation = _micrograd_nonlin(activation, nonlin)
        gen = _generator(rng)
        self.neurons = [Neuron(n_in, activation, rng=gen) for _ in range(n_out)]
        self._label()

    def _label(self, layer: str = "") -> None:
        """Name the parameters as the article does: W{layer}[j, i] is the weight from input i
        to neuron j, b{layer}[j] the bias of neuron j (drawings show these names)."""
        for j, neuron in enumerate(self.neurons):
            for i, w in enumerate(neuron.w):
                w.label = f"W{layer}[{j},{i}]"
            neuron.b.label = f"b{layer}[{j}]"

    def __call__(self, x):
        x = _scalar_inputs(x, len(self.neurons[0].w))
        outs = [n._act(n._weighted_sum(x)) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(map(repr, self.neurons))}]"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` maps 2 inputs through two hidden
    layers of 16 neurons to one output. Hidden layers use ``activation``; the last is linear."""

    def __init__(self, n_in: int, n_outs, activation: str = "relu", *, rng=0):
        sizes = _layer_sizes(n_in, n_outs)
        _check_activation(activation)
        gen = _generator(rng)
        last = len(sizes) - 2
        self.layers = [
            Layer(sizes[i], sizes[i + 1], "linear" if i == last else activation, rng=gen)
            for i in range(last + 1)
        ]
        for number, layer in enumerate(self.layers, start=1):
            layer._label(str(number))

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(map(repr, self.layers))}]"


# -- batched models on Tensor ------------------------------------------------------------------


def _batch(x, n_in: int) -> Tensor:
    """``x`` as a Tensor of shape (n_in, m) — examples as columns — or a clear error."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except TypeError as exc:
            raise TypeError(f"x must be a Tensor or an array of numbers: {exc}") from None
    if x.ndim != 2 or x.shape[0] != n_in:
        raise ValueError(
            f"x must have shape ({n_in}, m): {n_in} features by m examples, examples as "
            f"columns as in the article; got shape {x.shape}"
        )
    return x


class Linear(Module):
    """``W @ x + b`` on a batch ``x`` of shape ``(n_in, m)``; ``W`` is ``(n_out, n_in)``,
    ``b`` is ``(n_out, 1)``, both Tensors that require a gradient."""

    def __init__(self, n_in: int, n_out: int, *, rng=0, dtype=np.float64):
        n_in, n_out = check_positive_int("n_in", n_in), check_positive_int("n_out", n_out)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        draws = _generator(rng).uniform(-1.0, 1.0, size=(n_out, n_in))
        self.W = Tensor(draws.astype(dtype), requires_grad=True, name="W")
        self.b = Tensor(np.zeros((n_out, 1), dtype=dtype), requires_grad=True, name="b")

    def __call__(self, x) -> Tensor:
        return F.affine(self.W, _batch(x, self.W.shape[1]), self.b)

    def parameters(self) -> list:
        return [self.W, self.b]

    def __repr__(self) -> str:
        n_out, n_in = self.W.shape
        return f"Linear({n_in}, {n_out})"


class Activation(Module):
    """An elementwise activation of the registry as a module (no parameters), so that it can
    sit in a ``Sequential``: ``Activation("gelu")``."""

    def __init__(self, name: str):
        self.name = _check_activation(name)
        self._function = F.ELEMENTWISE[name]

    def __call__(self, x) -> Tensor:
        return self._function(x if isinstance(x, Tensor) else Tensor(x))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


class ReLU(Activation):
    def __init__(self):
        super().__init__("relu")

    def __repr__(self) -> str:
        return "ReLU()"


class Tanh(Activation):
    def __init__(self):
        super().__init__("tanh")

    def __repr__(self) -> str:
        return "Tanh()"


class Sigmoid(Activation):
    def __init__(self):
        super().__init__("sigmoid")

    def __repr__(self) -> str:
        return "Sigmoid()"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(2, 16), ReLU(), Linear(16, 1))``."""

    def __init__(self, *modules: Module):
        if not modules:
            raise ValueError("Sequential needs at least one module, got none")
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"module {i} must be an nn.Module, got {describe(m)}")
        self.modules = list(modules)

    def __call__(self, x) -> Tensor:
        for m in self.modules:
            x = m(x)
        return x

    def parameters(self) -> list:
        return [p for m in self.modules for p in m.parameters()]

    def __getitem__(self, i: int) -> Module:
        return self.modules[i]

    def __len__(self) -> int:
        return len(self.modules)

    def __repr__(self) -> str:
        return f"Sequential({', '.join(map(repr, self.modules))})"

    @classmethod
    def mlp(cls, n_in: int, n_outs, activation: str = "relu", *, rng=0, dtype=np.float64):
        """The batched twin of ``MLP(n_in, n_outs, activation)``: Linear layers with the
        activation between them and none after the last. With the same ``rng`` it draws the
        very same weights as ``MLP``, so the two compute the same numbers."""
        sizes = _layer_sizes(n_in, n_outs)
        _check_activation(activation)
        gen = _generator(rng)
        last = len(sizes) - 2
        modules: list[Module] = []
        for i in range(last + 1):
            linear = Linear(sizes[i], sizes[i + 1], rng=gen, dtype=dtype)
            linear.W.name, linear.b.name = f"W{i + 1}", f"b{i + 1}"  # as the article numbers them
            modules.append(linear)
            if i < last and activation != "linear":
                modules.append(ReLU() if activation == "relu" else Activation(activation))
        return cls(*modules)
