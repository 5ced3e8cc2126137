"""Array namespaces: the vocabulary the network's math is written in.

The forward pass and the cost (``network.model``) use only Python operators (``+ - * / ** @``)
and the functions of an ``Ops`` namespace:

=============  ===========================================================
``affine``     W @ A + b, a layer's pre-activation
one function   per registered activation (``network.activations``), by its name:
               ``ops.sigmoid``, ``ops.relu``, ``ops.softmax`` (down each column), ...
``logsumexp``  log(sum(exp(z))) down each column, shape (1, m)
``sum``        the sum of every entry, a scalar
=============  ===========================================================

``NUMPY_OPS`` below is the NumPy namespace, used by ``manual`` and as the forward kernels of the
autodiff engine's primitives. ``compare.reference`` builds one over ``autograd.numpy`` and a
complex-safe one; ``autodiff`` builds one over its ``Tensor`` and one over NumPy object arrays of
``Value``. Each is built with ``Ops``, which asks for a form of every registered activation, so a
namespace cannot silently lack one. Every NumPy kernel is stable for inputs of any size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .activations import NUMPY_MATH, REGISTRY, Activation

__all__ = ["Ops", "affine", "logsumexp", "NUMPY_OPS", *REGISTRY]


class Ops:
    """A namespace the network's math runs in: ``affine``, ``logsumexp``, ``sum``, and one
    attribute per activation of ``network.activations.REGISTRY`` (``ops.sigmoid``, ...).

    ``form_of(entry)`` gives this namespace's form of one registry entry, for every entry, when
    the namespace is built; an error there is reported naming the activation and the namespace.
    """

    name: str
    affine: Callable
    logsumexp: Callable
    sum: Callable

    def __init__(self, name: str, *, affine, logsumexp, sum, form_of):  # noqa: A002
        self.name = name
        self.affine = affine
        self.logsumexp = logsumexp
        self.sum = sum
        for entry in REGISTRY.values():
            try:
                form = form_of(entry)
            except Exception as exc:
                raise TypeError(
                    f"the {name!r} namespace has no form of activation {entry.name!r}: {exc}"
                ) from exc
            if not callable(form):
                raise TypeError(
                    f"the {name!r} namespace's form of activation {entry.name!r} is not callable"
                )
            setattr(self, entry.name, form)

    def activation(self, name: str) -> Callable:
        """This namespace's function for the activation ``name``."""
        return getattr(self, name)

    def __repr__(self) -> str:
        return f"<ops {self.name}>"


def affine(W: np.ndarray, A: np.ndarray, b: np.ndarray, out: np.ndarray | None = None):
    """Z = W @ A + b, with b (n, 1) broadcast over the columns; one new array (or ``out``)."""
    Z = np.matmul(W, A, out=out)
    Z += b
    return Z


logsumexp = NUMPY_MATH.logsumexp


def _sum(x: np.ndarray):
    """Every entry added, as ``x.sum()`` does it, without the method's Python layer."""
    return np.add.reduce(x, axis=None)


def _kernel(entry: Activation) -> Callable:
    return entry.kernel


NUMPY_OPS = Ops("numpy", affine=affine, logsumexp=logsumexp, sum=_sum, form_of=_kernel)

# each activation's NumPy kernel is a function of this module too: network.ops.sigmoid, ...
globals().update({name: entry.kernel for name, entry in REGISTRY.items()})
