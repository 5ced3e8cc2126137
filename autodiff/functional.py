"""Functions of functions: ``grad``, ``value_and_grad`` and ``hvp``.

``f`` takes a Tensor (or a dict of Tensors) and returns a scalar Tensor; the transformed
functions are called with an ndarray (or a dict of ndarrays) and return ndarrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..network.validation import as_float_array, describe
from .tensor import Tensor, grads_of

__all__ = ["grad", "value_and_grad", "hvp"]


def _check_f(f):
    if not callable(f):
        raise TypeError(f"f must be callable, got {describe(f)}")


def _leaves(x, name="x"):
    """ndarray -> Tensor leaf; dict of ndarrays -> dict of Tensor leaves (same keys)."""
    if isinstance(x, Mapping):
        if not x:
            raise ValueError(f"{name} must not be an empty dict")
        return {
            k: Tensor(as_float_array(f"{name}[{k!r}]", v), requires_grad=True) for k, v in x.items()
        }
    return Tensor(as_float_array(name, x), requires_grad=True)


def _flat(leaves):
    return list(leaves.values()) if isinstance(leaves, dict) else [leaves]


def _unflat(leaves, values):
    if isinstance(leaves, dict):
        return dict(zip(leaves, values))
    return values[0]


def _scalar_output(f, leaves):
    y = f(leaves)
    if not isinstance(y, Tensor):
        raise TypeError(
            f"f must return a scalar Tensor computed from its argument, got {describe(y)}"
        )
    if y.data.size != 1:
        raise ValueError(f"f must return a scalar (one element), got shape {y.shape}")
    return y


def value_and_grad(f: Callable) -> Callable:
    """``value_and_grad(f)(x) -> (f(x) as a float, df/dx with the structure of x)``."""
    _check_f(f)

    def wrapped(x):
        leaves = _leaves(x)
        y = _scalar_output(f, leaves)
        if not y.requires_grad:
            zeros = [np.zeros_like(t.data) for t in _flat(leaves)]
            return float(y.data.item()), _unflat(leaves, zeros)
        grads = grads_of(y, _flat(leaves))
        return float(y.data.item()), _unflat(leaves, grads)

    return wrapped


def grad(f: Callable) -> Callable:
    """``grad(f)(x)``: df/dx, with the structure of x."""
    vg = value_and_grad(f)
    return lambda x: vg(x)[1]


def hvp(f: Callable, x, v):
    """The Hessian-vector product H(x) v of a scalar function, by reverse over reverse:
    differentiate <grad f(x), v> once more. ``v`` has the structure of ``x``."""
    _check_f(f)
    leaves = _leaves(x)
    flat = _flat(leaves)
    if isinstance(leaves, dict):
        if not isinstance(v, Mapping) or set(v) != set(leaves):
            raise ValueError(
                f"v must be a dict with the keys of x {list(leaves)}, got "
                f"{list(v) if isinstance(v, Mapping) else describe(v)}"
            )
        vs = [as_float_array(f"v[{k!r}]", v[k]) for k in leaves]
    else:
        vs = [as_float_array("v", v)]
    for t, vv, name in zip(flat, vs, list(leaves) if isinstance(leaves, dict) else ["x"]):
        if vv.shape != t.shape:
            raise ValueError(f"v must have the shape of x for {name}: {t.shape}, got {vv.shape}")
    y = _scalar_output(f, leaves)
    if not y.requires_grad:
        return _unflat(leaves, [np.zeros_like(t.data) for t in flat])
    gs = grads_of(y, flat, create_graph=True)
    inner = None
    for g, vv in zip(gs, vs):
        term = (g * vv).sum()
        inner = term if inner is None else inner + term
    if not inner.requires_grad:  # f is linear in x: the Hessian is zero
        return _unflat(leaves, [np.zeros_like(t.data) for t in flat])
    hs = grads_of(inner, flat)
    return _unflat(leaves, hs)
