"""A tape-based automatic differentiation engine: scalar ``Value`` and array ``Tensor``."""

if __name__ != "backproof.autodiff":  # the folder installs under the one import name
    raise ImportError(f"import backproof.autodiff, not {__name__}")


from . import nn, primitives
from .functional import grad, hvp, value_and_grad
from .graph import draw, to_dot
from .network_grads import ENGINES, TENSOR_OPS, VALUE_OPS, loss_and_grads, train
from .primitives import (
    ACTIVATIONS,
    abs,
    broadcast_to,
    clip,
    concatenate,
    cos,
    exp,
    expm1,
    log,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    reshape,
    sin,
    softmax,
    sqrt,
    stack,
    transpose,
    where,
)
from .registry import SCALAR_PRIMITIVES, TENSOR_PRIMITIVES, defvjp
from .tape import enable_grad, no_grad, reverse_tape
from .tensor import Tensor, primitive
from .value import Value, scalar_primitive

# every elementwise activation of the registry is a function here too: autodiff.sigmoid, ...
globals().update(primitives.ELEMENTWISE)

__all__ = [
    "Tensor", "Value", "no_grad", "enable_grad", "grad", "value_and_grad", "hvp",
    "loss_and_grads", "train", "ENGINES", "TENSOR_OPS", "VALUE_OPS",
    "primitive", "scalar_primitive", "defvjp", "TENSOR_PRIMITIVES", "SCALAR_PRIMITIVES",
    "primitives", "reverse_tape", "exp", "expm1", "log", "logsumexp", "mean", "maximum", "where",
    "matmul", "reshape", "transpose", "broadcast_to", "softmax", "to_dot", "draw",
    "abs", "sqrt", "sin", "cos", "minimum", "clip", "concatenate", "stack",
    "ACTIVATIONS", "nn", *primitives.ELEMENTWISE,
]  # fmt: skip
