"""The registry of primitives: each one named once with its forward and its VJPs.

A primitive is a function on raw numbers (floats for ``Value``, ndarrays for ``Tensor``) plus,
for each of its positional arguments, a vector-Jacobian product

    vjp_i(g, ans, *args, **kwargs) -> dJ/d(args[i])   given g = dJ/d(ans), ans = forward(*args)

VJPs are written with operators and with the dual functions of ``autodiff.functions`` (which
take raw arrays or tensors alike), so the same VJP runs on raw arrays during an ordinary
backward pass and on tensors, recording a new graph, when ``create_graph=True``. Gradients for
broadcast operands are summed back to the operand's shape by the tape, not by each VJP.

The tape (``autodiff.tape``) knows no particular primitive: it only calls what is registered.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "Primitive",
    "TENSOR_PRIMITIVES",
    "SCALAR_PRIMITIVES",
    "primitive",
    "defvjp",
    "definplace",
]


class Primitive:
    """A differentiable operation: ``forward(*args, **kwargs)`` and one VJP per argument."""

    __slots__ = ("name", "forward", "vjps", "inplace_vjp")

    def __init__(self, name: str, forward: Callable):
        self.name = name
        self.forward = forward
        self.vjps: tuple[Callable | None, ...] = ()
        self.inplace_vjp: Callable | None = None

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


TENSOR_PRIMITIVES: dict[str, Primitive] = {}
SCALAR_PRIMITIVES: dict[str, Primitive] = {}


def primitive(table: dict, name: str | None = None):
    """Decorator: register ``forward`` in ``table`` under ``name`` and return its Primitive."""

    def register(forward: Callable) -> Primitive:
        key = name or forward.__name__
        if key in table:
            raise ValueError(f"primitive {key!r} is already registered")
        prim = Primitive(key, forward)
        table[key] = prim
        return prim

    return register


def defvjp(prim: Primitive, *vjps: Callable | None) -> Primitive:
    """Give ``prim`` one VJP per positional argument (None: that argument is not differentiable)."""
    prim.vjps = vjps
    return prim


def definplace(prim: Primitive, vjp: Callable) -> Primitive:
    """Give a one-argument elementwise ``prim`` a VJP that may work in place:
    ``vjp(g, ans, a, g_owned, ans_owned)`` may overwrite ``g`` when ``g_owned`` and use ``ans``
    as scratch space when ``ans_owned``. The tape calls it only in an ordinary backward pass
    that releases the graph, and says what is owned: arrays nothing but the backward pass refers
    to. It must give bit for bit the numbers of the ordinary VJP, only with fewer new arrays."""
    prim.inplace_vjp = vjp
    return prim
