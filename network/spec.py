"""NetworkSpec: what a network is, validated once on construction."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .activations import REGISTRY
from .validation import check_choice, describe

__all__ = ["NetworkSpec", "ACTIVATIONS", "LOSSES", "INITS", "DTYPES"]

ACTIVATIONS = tuple(REGISTRY)  # every registered activation, in registration order
LOSSES = ("bce", "mse", "ce")
INITS = ("article", "xavier", "he")
DTYPES = ("float64", "float32")


def _is_sequence(value) -> bool:
    """An ordered collection of items: a list, tuple or 1-D array (not a string, set or dict)."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


@dataclass(frozen=True)
class NetworkSpec:
    """A fully connected feed-forward network, in the article's column convention.

    ``layer_dims = [n_0, n_1, ..., n_L]``: ``n_0`` input features, ``n_L`` outputs. Layer ``l``
    computes ``Z_l = W_l @ A_{l-1} + b_l`` with ``W_l`` of shape ``(n_l, n_{l-1})`` and ``b_l``
    of shape ``(n_l, 1)``, then ``A_l = g_l(Z_l)`` with ``g_l = activations[l-1]``.

    The cost is the mean over the m examples of the per-example loss (summed over output units):

    - ``bce``: ``-(1/m) sum[Y log A_L + (1-Y) log(1-A_L)]``, needs a sigmoid output layer;
    - ``mse``: ``(1/(2m)) sum (A_L - Y)^2``, any output layer;
    - ``ce``:  ``-(1/m) sum Y log A_L``, needs a softmax output layer.

    ``activations`` defaults to sigmoid on every layer, as in the article, except that the
    default for ``loss="ce"`` ends with softmax. ``init`` is ``"article"`` (standard normal
    x 0.01, zero biases), ``"xavier"`` or ``"he"``; ``seed`` (3, as in the article) seeds a
    ``numpy.random.Generator``; ``dtype`` is ``"float64"`` or ``"float32"``.
    """

    layer_dims: tuple[int, ...]
    activations: tuple[str, ...] | None = None
    loss: str = "bce"
    init: str = "article"
    seed: int = 3
    dtype: np.dtype = field(default="float64")

    def __post_init__(self):
        dims = self.layer_dims
        if not _is_sequence(dims):
            raise TypeError(
                f"layer_dims must be a list or tuple of positive integers, got {describe(dims)}"
            )
        dims = tuple(dims)
        if len(dims) < 2:
            raise ValueError(
                "layer_dims must list at least the input and output sizes (2 or more numbers), "
                f"got {list(dims)}"
            )
        for i, d in enumerate(dims):
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
                raise TypeError(
                    f"layer_dims must hold positive integers, got {describe(d)} at position {i}"
                )
            if d <= 0:
                raise ValueError(f"layer_dims must hold positive integers, got {d} at position {i}")
        dims = tuple(int(d) for d in dims)
        n_layers = len(dims) - 1

        check_choice("loss", self.loss, LOSSES)
        acts = self.activations
        if acts is None:
            acts = ("sigmoid",) * n_layers
            if self.loss == "ce":
                acts = acts[:-1] + ("softmax",)
        elif isinstance(acts, str):
            if acts == "softmax" and n_layers > 1:
                raise ValueError(
                    "activations='softmax' would put softmax on hidden layers; give one "
                    f"activation per layer ({n_layers} layers), e.g. sigmoid,...,softmax"
                )
            acts = (acts,) * n_layers
        elif _is_sequence(acts):
            acts = tuple(acts)
        else:
            raise TypeError(
                "activations must be a name or a list of names, one per layer "
                f"(such as ['tanh', 'sigmoid']), got {describe(acts)}"
            )
        if len(acts) != n_layers:
            raise ValueError(
                f"activations must name one activation per layer ({n_layers} for layer_dims "
                f"{list(dims)}), got {len(acts)}: {list(acts)}"
            )
        for a in acts:
            check_choice("activations", a, ACTIVATIONS)
        if "softmax" in acts[:-1]:
            raise ValueError(
                f"activations may use 'softmax' only on the last layer, got {list(acts)}"
            )
        out = acts[-1]
        if self.loss == "bce" and out != "sigmoid":
            raise ValueError(
                f"loss 'bce' needs a 'sigmoid' output layer, got activations ending in {out!r}"
            )
        if self.loss == "ce" and dims[-1] < 2:
            raise ValueError(
                "layer_dims must end with 2 or more outputs (one per class) for loss 'ce', "
                f"got {list(dims)}"
            )
        if self.loss == "ce" and out != "softmax":
            raise ValueError(
                f"loss 'ce' needs a 'softmax' output layer, got activations ending in {out!r}"
            )
        check_choice("init", self.init, INITS)
        if isinstance(self.seed, (bool, np.bool_)) or not isinstance(self.seed, numbers.Integral):
            raise TypeError(f"seed must be a non-negative integer, got {describe(self.seed)}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        dtype = self.dtype
        if isinstance(dtype, (type, np.dtype)):
            try:
                dtype = np.dtype(dtype).name
            except TypeError:
                dtype = repr(dtype)
        check_choice("dtype", dtype, DTYPES)

        object.__setattr__(self, "layer_dims", dims)
        object.__setattr__(self, "activations", acts)
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "dtype", np.dtype(dtype))

    @property
    def n_layers(self) -> int:
        """L, the number of layers with parameters."""
        return len(self.layer_dims) - 1

    def param_shapes(self) -> dict[str, tuple[int, int]]:
        """``{'W1': (n_1, n_0), 'b1': (n_1, 1), ...}`` in layer order."""
        shapes = {}
        for l in range(1, len(self.layer_dims)):
            shapes[f"W{l}"] = (self.layer_dims[l], self.layer_dims[l - 1])
            shapes[f"b{l}"] = (self.layer_dims[l], 1)
        return shapes

    def n_params(self) -> int:
        return sum(r * c for r, c in self.param_shapes().values())

    def to_dict(self) -> dict:
        """The fields as JSON-ready values; ``NetworkSpec(**spec.to_dict()) == spec``."""
        return {
            "layer_dims": list(self.layer_dims),
            "activations": list(self.activations),
            "loss": self.loss,
            "init": self.init,
            "seed": self.seed,
            "dtype": self.dtype.name,
        }

    def replace(self, **changes) -> NetworkSpec:
        """A copy with some fields changed (validated again)."""
        fields = dict(
            layer_dims=self.layer_dims,
            activations=self.activations,
            loss=self.loss,
            init=self.init,
            seed=self.seed,
            dtype=self.dtype.name,
        )
        if "layer_dims" in changes and "activations" not in changes:
            fields["activations"] = None
        fields.update(changes)
        return NetworkSpec(**fields)
