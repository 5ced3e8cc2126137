"""A tape-based automatic differentiation engine: scalar ``Value`` and array ``Tensor``."""

if __name__ != "backproof.autodiff":  # the folder installs under the one import name
    raise ImportError(f"import backproof.autodiff, not {__name__}")


from . import functions, nn
from .functional import grad, hvp, value_and_grad
from .functions import (
    broadcast_to,
    exp,
    log,
    logsumexp,
    matmul,
    maximum,
    mean,
    relu,
    reshape,
    sigmoid,
    softmax,
    softplus,
    tanh,
    transpose,
    where,
)
from .graph import draw, to_dot
from .model import ENGINES, TENSOR_OPS, VALUE_OPS, loss_and_grads, train
from .registry import SCALAR_PRIMITIVES, TENSOR_PRIMITIVES, defvjp, primitive
from .tape import enable_grad, no_grad
from .tensor import Tensor
from .value import Value

__all__ = [
    "Tensor", "Value", "no_grad", "enable_grad", "grad", "value_and_grad", "hvp",
    "loss_and_grads", "train", "ENGINES", "TENSOR_OPS", "VALUE_OPS",
    "primitive", "defvjp", "TENSOR_PRIMITIVES", "SCALAR_PRIMITIVES", "functions", "nn",
    "exp", "log", "tanh", "sigmoid", "relu", "softplus", "softmax", "logsumexp", "mean",
    "maximum", "where", "matmul", "reshape", "transpose", "broadcast_to", "to_dot", "draw",
]  # fmt: skip
