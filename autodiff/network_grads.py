"""The shared network, differentiated by the engine.

``network.objective`` is written against an ops namespace; here are the engine's two: one over
``Tensor`` (each activation a registered primitive) and one over NumPy object arrays of scalar
``Value``s (NumPy's ``@``, ``+`` and ``sum`` on object arrays call the Values' own operators).
Both are built from the activation registry: an elementwise activation is one primitive (a
tensor primitive, or a scalar primitive applied entry by entry); one that is not (softmax) is,
on Values, its registry formula run on the object arrays.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .. import network
from ..network import NetworkSpec, Ops
from . import primitives as P
from .registry import defvjp
from .tensor import Tensor, grads_of, primitive
from .value import SCALAR_ACTIVATIONS, Value, exp, expm1

__all__ = ["TENSOR_OPS", "VALUE_OPS", "ENGINES", "loss_and_grads", "train"]

TENSOR_OPS = Ops(
    "backproof.autodiff.tensor",
    affine=P.affine,
    logsumexp=lambda z: P.logsumexp(z, axis=0, keepdims=True),
    sum=P.sum,
    form_of=lambda act: P.ACTIVATIONS[act.name],
)


def _entrywise(prim):
    """``prim`` applied to every entry of an object array of Values."""
    return np.frompyfunc(prim, 1, 1)


def _value_logsumexp(z: np.ndarray) -> np.ndarray:
    """Down each column: top + log sum exp(z - top), with top the column's largest value
    taken as a constant (the shift cancels in the derivative)."""
    top = np.array([[max(v.data for v in col) for col in z.T]], dtype=float)
    return _value_log(_value_exp(z - top).sum(axis=0, keepdims=True)) + top


_value_exp = _entrywise(exp)
_value_log = _entrywise(lambda v: v.log())

VALUE_MATH = SimpleNamespace(
    exp=_value_exp,
    expm1=_entrywise(expm1),
    tanh=_entrywise(SCALAR_ACTIVATIONS["tanh"]),
    sigmoid=_entrywise(SCALAR_ACTIVATIONS["sigmoid"]),
    softplus=_entrywise(SCALAR_ACTIVATIONS["softplus"]),
    where=np.where,
    positive=np.frompyfunc(lambda v: (v.data if type(v) is Value else v) > 0, 1, 1),
    sum=lambda x, axis=None, keepdims=False: x.sum(axis=axis, keepdims=keepdims),
    logsumexp=_value_logsumexp,
)
"""The math namespace over object arrays of Values, for activations that are not elementwise."""


def _value_activation(act):
    if act.elementwise:
        return _entrywise(SCALAR_ACTIVATIONS[act.name])
    return lambda z: act.formula(z, VALUE_MATH)


VALUE_OPS = Ops(
    "backproof.autodiff.value",
    affine=lambda W, A, b: W @ A + b,
    logsumexp=_value_logsumexp,
    sum=lambda x: x.sum(),
    form_of=_value_activation,
)

ENGINES = ("tensor", "scalar")


@primitive(name="bce_tail")
def bce_tail(sp, z, y):
    """J = sum(sp - y z) / m, with sp = softplus(z) and m = y.shape[1]: the end of
    ``network.loss_from_output``'s bce, softplus(z) - y z summed and averaged, as one node.

    Recorded one operation at a time, that tail is four nodes (``y * z``, the difference, the
    sum, the division by m); on the small layers of config B their Python cost is about as large
    as the arithmetic. This is the same arithmetic in the same order, so J and every gradient
    are bit for bit those of the four nodes (``tests/test_engine_loss_tail.py``). The softplus
    stays a node of its own: its VJP needs its output.
    """
    t = np.multiply(y, z)
    np.subtract(sp, t, out=t)
    return np.true_divide(P.sum(t), y.shape[1])


def _bce_tail_vjp_sp(g, ans, sp, z, y):
    """dJ/dsp = 1/m everywhere: the division's VJP, then the sum's."""
    return P._sum_vjp(g / y.shape[1], None, sp)


def _bce_tail_vjp_z(g, ans, sp, z, y):
    """dJ/dz = -y/m: the difference's VJP negates the sum's, the product's multiplies by y."""
    if type(g) is Tensor:  # recording, for second derivatives
        return -_bce_tail_vjp_sp(g, ans, sp, z, y) * y
    return np.multiply(-(g / y.shape[1]), y)


defvjp(bce_tail, _bce_tail_vjp_sp, _bce_tail_vjp_z, None)


def _tensor_objective(spec, leaves, X, Y):
    """``network.objective`` on tensors, with bce's tail as the one node ``bce_tail``."""
    if spec.loss != "bce":
        return network.objective(spec, leaves, X, Y, TENSOR_OPS)
    Zs, _ = network.forward(spec, leaves, X, TENSOR_OPS, output=False)
    return bce_tail(TENSOR_OPS.softplus(Zs[-1]), Zs[-1], Y)


def _tensor_loss_and_grads(spec, params, X, Y):
    leaves = {k: Tensor(v, requires_grad=True) for k, v in params.items()}
    J = _tensor_objective(spec, leaves, X, Y)
    # dJ/dJ = 1 as a 0-d array, what grads_of's default np.ones_like makes, at half its cost
    grads = grads_of(J, list(leaves.values()), seed=np.ones((), J.data.dtype))
    return float(J.data), dict(zip(leaves, grads))


def _scalar_loss_and_grads(spec, params, X, Y):
    to_values = np.frompyfunc(Value, 1, 1)
    leaves = {k: to_values(v.astype(np.float64)) for k, v in params.items()}
    J = network.objective(spec, leaves, X.astype(np.float64), Y.astype(np.float64), VALUE_OPS)
    J.backward()
    grads = {
        k: np.array([v.grad for v in leaf.flat], dtype=spec.dtype).reshape(leaf.shape)
        for k, leaf in leaves.items()
    }
    return float(J.data), grads


def loss_and_grads(spec: NetworkSpec, params, X, Y, engine: str = "tensor", *, check=True):
    """``(J, grads)`` of ``network.objective`` by reverse mode on the engine.

    ``engine="tensor"`` records one node per array operation; ``engine="scalar"`` one node per
    scalar operation (Values in NumPy object arrays; it computes in float64 and casts the
    gradients to ``spec.dtype``, and is meant for small networks). ``grads`` is keyed like
    ``params``, with the same shapes and dtype.
    """
    network.validation.check_choice("engine", engine, ENGINES)
    if check:
        params, X, Y = network.validation.check_inputs(spec, params, X, Y)
    if engine == "tensor":
        return _tensor_loss_and_grads(spec, params, X, Y)
    return _scalar_loss_and_grads(spec, params, X, Y)


def train(
    X,
    Y,
    spec: NetworkSpec,
    epochs: int,
    lr: float,
    *,
    engine="tensor",
    params=None,
    progress=None,
    callback=None,
):
    """Batch gradient descent with the engine's gradients; returns ``(params, cost_history)``."""
    network.check_spec(spec)
    network.validation.check_choice("engine", engine, ENGINES)
    X, Y = network.check_data(spec, X, Y)
    params = network.init_params(spec) if params is None else network.check_params(spec, params)
    return network.gradient_descent(
        lambda p: loss_and_grads(spec, p, X, Y, engine, check=False),
        params,
        epochs,
        lr,
        progress=progress,
        desc=f"autodiff.{engine}",
        callback=callback,
    )
