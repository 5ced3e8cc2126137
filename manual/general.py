"""Hand-derived backprop for every activation and loss of ``network.NetworkSpec``.

Notation (column convention): A_0 = X, Z_l = W_l A_{l-1} + b_l, A_l = g_l(Z_l), J = cost.
With dZ_l := dJ/dZ_l (shape (n_l, m)), the chain rule gives, layer by layer from L down to 1:

    dW_l     = dZ_l A_{l-1}^T                 (n_l, n_{l-1})
    db_l     = sum over columns of dZ_l       (n_l, 1)
    dA_{l-1} = W_l^T dZ_l                     (n_{l-1}, m), not computed for l = 1 (the data)
    dZ_{l-1} = dA_{l-1} * g'_{l-1}(Z_{l-1})   elementwise (``activation_backward``)

and at the top (``output_delta``), with the 1/m of the mean:

    bce + sigmoid:  dZ_L = (A_L - Y) / m     (the two factors of the chain cancel)
    ce + softmax:   dZ_L = (A_L - Y) / m     (each column of Y sums to 1)
    mse + any g:    dA_L = (A_L - Y) / m,  dZ_L = activation_backward(g, dA_L, A_L or Z_L)

Each activation's g' comes from its entry in ``network.activations``, which declares whether it
is written through the output A (sigmoid, tanh, relu, softplus, ...: then Z_l is forgotten as
soon as A_l is computed, in place) or needs Z itself (gelu, silu: then the forward keeps Z_l
beside A_l, one more array of n_l x m per such layer, and A_l is a new array rather than Z_l
overwritten). ``docs/derivations.md`` derives each formula. This module is the fast form, the
floor the autodiff engine is measured against: its forward (``forward_in_place``) and backward
write Z_l, A_l and the deltas into a workspace (``manual.workspace``) kept from one call to the
next, working in place where the forward values are no longer needed, so that a call allocates
only the gradients it returns. ``network.forward`` is the readable reference for the forward
pass and ``manual.article`` for the backward (the article's form, for the sigmoid/bce network).
"""

from __future__ import annotations

import numpy as np

from .. import network
from ..network import NetworkSpec
from ..network.activations import REGISTRY
from ..network.ops import affine
from ..network.validation import check_inputs
from .workspace import WORKSPACES, Workspace

__all__ = ["activation_backward", "output_delta", "forward_in_place", "loss_and_grads", "train"]


def activation_backward(name: str, dA: np.ndarray, x: np.ndarray, *, overwrite: bool = False):
    """dZ = dA * g'(Z) for the activation ``name``, with ``x`` the layer's output A = g(Z) or its
    input Z, as the activation's registry entry declares (``REGISTRY[name].from_output``):

    - sigmoid: g' = A (1 - A);  tanh: 1 - A^2;  relu: 1 where A > 0, else 0;  linear: 1
    - softmax (a column's Jacobian is diag(a) - a a^T):  dZ = A * (dA - sum_i dA_i A_i)
    - the others: see ``network.activations`` and ``docs/derivations.md``.

    With ``overwrite=True`` the result may be written into ``dA`` and ``x`` used as scratch space
    (both must be arrays the caller owns and no longer needs).
    """
    return REGISTRY[name].backward_numpy(dA, x, overwrite_g=overwrite, overwrite_x=overwrite)


def output_delta(
    spec: NetworkSpec, A_L: np.ndarray, Y: np.ndarray, Z_L=None, *, out=None
) -> np.ndarray:
    """dJ/dZ_L for the spec's loss and output activation, a new array (or ``out``, of A_L's
    shape and dtype). A_L, and Z_L when the output activation's derivative needs it, are used as
    scratch."""
    m = Y.shape[1]
    delta = np.subtract(A_L, Y, out=out)
    delta *= delta.dtype.type(1.0 / m)
    if spec.loss == "mse":
        act = REGISTRY[spec.activations[-1]]
        x = A_L if act.from_output else Z_L
        delta = activation_backward(act.name, delta, x, overwrite=True)
    return delta


def forward_in_place(spec: NetworkSpec, params, X):
    """``network.forward``'s composition, computed with as few arrays as backprop allows.

    ``Z_l = W_l A_{l-1}`` is written into Z_l of a new workspace (``manual.workspace``; the
    arrays returned are its own, not the cache's) and ``+ b_l`` added in place. Where the
    layer's derivative is written through A, the activation is applied in place too (backprop
    needs only A_l) and ``Zs[l]`` is None; where it needs Z (gelu, silu), A_l is an array of its
    own and Z_l is kept. The output layer keeps both Z_L (the bce and ce costs are computed from
    the logits) and A_L. Returns ``(Zs, As)`` with ``As[0] = X`` and ``Zs[0]`` None; the numbers
    are bit for bit those of ``network.forward``.
    """
    ws = Workspace(spec, X.shape[1])
    _forward(ws, params, X)
    L = spec.n_layers
    Zs = [None] + [None if ws.As[l] is ws.Zs[l] and l < L else ws.Zs[l] for l in range(1, L + 1)]
    return Zs, [X, *ws.As[1:]]


def _forward(ws: Workspace, params, X) -> None:
    """The forward pass into ``ws``: Z_l = W_l A_{l-1} + b_l, then A_l = g_l(Z_l) (in place
    where ``As[l] is Zs[l]``)."""
    A = X
    for layer in ws.layers:
        Z = affine(params[layer.W], A, params[layer.b], out=ws.Zs[layer.index])
        A = layer.act.kernel(Z, out=ws.As[layer.index])


def loss_and_grads(spec: NetworkSpec, params, X, Y, *, check: bool = True):
    """``(J, grads)``: the cost as a float and dJ/dp for every parameter, keyed like ``params``,
    with the same shapes and dtype. Each gradient is a new array: nothing returned changes when
    the next call runs.

    The forward values and the deltas live in a workspace kept for the next call with the same
    spec and number of examples (``manual.workspace``: how much memory it holds, and how to turn
    it off or empty it).

    ``check=False`` skips validation of the inputs (for callers that validated once already,
    such as training loops and benchmarks): the arrays must then have the spec's dtype.
    """
    if check:
        params, X, Y = check_inputs(spec, params, X, Y)
    ws = WORKSPACES.take(spec, X.shape[1])
    _forward(ws, params, X)
    J = float(network.loss_from_output(spec, ws.Zs[-1], ws.As[-1], Y))
    grads = _backward(spec, ws, params, X, Y)
    WORKSPACES.give(ws)
    return J, grads


def _backward(spec: NetworkSpec, ws: Workspace, params, X, Y) -> dict:
    """dJ/dW_l and dJ/db_l, from the output layer down, after ``_forward`` filled ``ws``.

    Each dA_{l-1} = W_l^T dZ_l is written into the workspace and turned into dZ_{l-1} in place,
    with A_{l-1} (no longer needed once dW_l is computed) as scratch."""
    Zs, As = ws.Zs, ws.As
    dZ = output_delta(spec, As[-1], Y, Zs[-1], out=ws.dZ_L)
    grads = dict.fromkeys(params)  # keyed like params, in its order
    for layer in reversed(ws.layers):
        l = layer.index
        A_prev = As[l - 1] if l > 1 else X
        grads[layer.W] = dZ @ A_prev.T
        grads[layer.b] = np.add.reduce(dZ, axis=1, keepdims=True)  # dZ.sum(...), more directly
        if l > 1:
            dA = np.matmul(params[layer.W].T, dZ, out=ws.dAs[l - 1])
            below = ws.layers[l - 2].act
            x = As[l - 1] if below.from_output else Zs[l - 1]
            dZ = below.backward_numpy(dA, x, overwrite_g=True, overwrite_x=True)
    return grads


def train(X, Y, spec, epochs: int, lr: float, *, params=None, progress=None, callback=None):
    """Batch gradient descent with the hand-derived gradients; returns ``(params, cost_history)``.

    ``spec`` is a ``NetworkSpec``, or — as in the article's ``train(X, Y, layer_dims, epochs,
    lr)`` — a list of layer sizes, meaning the article's network (sigmoid layers, bce, 0.01 init,
    seed 3). ``params`` defaults to ``network.init_params(spec)``. ``cost_history[i]`` is the cost
    before step i.
    """
    if not isinstance(spec, NetworkSpec):
        if isinstance(spec, (list, tuple)):
            spec = NetworkSpec(spec)
        else:
            raise TypeError(
                f"spec must be a NetworkSpec or a list of layer sizes, got {type(spec).__name__}"
            )
    X, Y = network.check_data(spec, X, Y)
    params = network.init_params(spec) if params is None else network.check_params(spec, params)
    return network.gradient_descent(
        lambda p: loss_and_grads(spec, p, X, Y, check=False),
        params,
        epochs,
        lr,
        progress=progress,
        desc="manual",
        callback=callback,
    )
