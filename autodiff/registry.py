"""Primitives: each differentiable operation named once, with its forward and its VJPs.

A primitive wraps a function on raw numbers (floats for ``Value``, ndarrays for ``Tensor``). As in
HIPS autograd, the primitive *is* the public function: calling it on raw numbers returns the raw
result, and calling it on a node (a ``Tensor`` or a ``Value``) records the operation on the tape
and returns a node. ``autodiff.primitive`` (tensors) and ``autodiff.value.scalar_primitive``
(scalars) make one; ``defvjp`` gives it its derivatives.

The VJP contract, the same for scalars and tensors: for each positional argument ``i``,

    vjp_i(g, ans, *args, **kwargs) -> dJ/d(args[i])

given ``g`` = dJ/d(ans) and ``ans = forward(*args, **kwargs)``. ``None`` in place of a VJP marks
an argument that is not differentiated (a condition, an exponent, a shape). VJPs are written with
operators and with primitives, so the same VJP runs on raw numbers during an ordinary backward
pass and on nodes, recording a new graph, when ``create_graph=True`` (second derivatives). A
gradient for a broadcast operand is summed back to the operand's shape by the tape, not by each
VJP. The tape (``autodiff.tape``) knows no particular primitive: it only calls what is registered.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "Primitive",
    "TENSOR_PRIMITIVES",
    "SCALAR_PRIMITIVES",
    "register",
    "defvjp",
    "defvjp_argnum",
    "definplace",
]


class Primitive:
    """A differentiable operation: ``forward(*args, **kwargs)`` and one VJP per argument.

    Calling it runs it (see the subclasses in ``autodiff.tensor`` and ``autodiff.value``, which
    know their kind of node); the base class only holds what the tape needs.
    """

    __slots__ = ("name", "forward", "vjps", "inplace_vjp")

    def __init__(self, name: str, forward: Callable):
        self.name = name
        self.forward = forward
        self.vjps: tuple[Callable | None, ...] = ()
        self.inplace_vjp: Callable | None = None

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self!r} has no kind of node to record on; make it with primitive()")

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


TENSOR_PRIMITIVES: dict[str, Primitive] = {}
SCALAR_PRIMITIVES: dict[str, Primitive] = {}


def register(table: dict, prim: Primitive) -> Primitive:
    """Enter ``prim`` in ``table`` under its name, which must be new there."""
    if prim.name in table:
        raise ValueError(f"primitive {prim.name!r} is already registered")
    table[prim.name] = prim
    return prim


def defvjp(prim: Primitive, *vjps: Callable | None) -> Primitive:
    """Give ``prim`` one VJP per positional argument (None: that argument is not differentiated)."""
    if not vjps or not all(v is None or callable(v) for v in vjps):
        raise TypeError(f"defvjp needs one VJP (a callable, or None) per argument of {prim!r}")
    prim.vjps = vjps
    return prim


class _EveryArgument:
    """The VJPs of a primitive with any number of arguments: ``vjps[i]`` is ``vjp`` for argument
    ``i``, called ``vjp(i, g, ans, *args, **kwargs)``."""

    __slots__ = ("vjp",)

    def __init__(self, vjp: Callable):
        self.vjp = vjp

    def __getitem__(self, i: int) -> Callable:
        vjp = self.vjp
        return lambda g, ans, *args, **kwargs: vjp(i, g, ans, *args, **kwargs)

    def __len__(self) -> int:
        return 1


def defvjp_argnum(prim: Primitive, vjp: Callable) -> Primitive:
    """Give ``prim``, which takes any number of arguments (``concatenate``, ``stack``), one VJP
    for all of them: ``vjp(i, g, ans, *args, **kwargs)`` -> dJ/d(args[i])."""
    if not callable(vjp):
        raise TypeError(f"defvjp_argnum needs a callable VJP for {prim!r}")
    prim.vjps = _EveryArgument(vjp)
    return prim


def definplace(prim: Primitive, vjp: Callable) -> Primitive:
    """Give a one-argument elementwise ``prim`` a VJP that may work in place:
    ``vjp(g, ans, a, g_owned, ans_owned)`` may overwrite ``g`` when ``g_owned`` and use ``ans``
    as scratch space when ``ans_owned``. The tape calls it only in an ordinary backward pass
    that releases the graph, and says what is owned (``autodiff.tape.may_overwrite``). It must
    give bit for bit the numbers of the ordinary VJP, only with fewer new arrays."""
    prim.inplace_vjp = vjp
    return prim
