"""The tape: operations are stamped in the order they run, and walked back in reverse.

Every node an operation creates (a ``Tensor`` or a ``Value`` with a primitive) gets the next
number of one process-wide counter, its place on the tape. A node holds its primitive, its
arguments and its stamp; it is owned by its output, so a recorded graph lives exactly as long
as something refers to its result, and each thread records its own graphs with no shared list.
``reverse_tape(root)`` returns the nodes ``root`` depends on, latest first: every node comes
before the nodes it was computed from, which is the order a backward pass needs. Nothing here
recurses, so graphs of millions of nodes are fine. ``backpropagate`` runs the chain rule over
that walk for tensors (``Value.backward`` does it for scalars, keeping gradients on the nodes, as
micrograd does); ``may_overwrite`` is the rule by which a backward pass that releases its graph
decides it may reuse an array in place.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from operator import attrgetter

import numpy as np

from .pool import POOL
from .skeleton import Skeletons

__all__ = [
    "backpropagate",
    "sum_to_shape",
    "RELEASED",
    "next_stamp",
    "grad_enabled",
    "RECORDING",
    "no_grad",
    "enable_grad",
    "reverse_tape",
    "may_overwrite",
]

_counter = itertools.count(1)
next_stamp = _counter.__next__
_by_stamp = attrgetter("_seq")
_ARGS = attrgetter("_args")


class _Recording(threading.local):
    """Whether this thread records operations: ``RECORDING.enabled``, True unless a ``no_grad``
    block says otherwise (a class default, so that reading it is one attribute lookup)."""

    enabled = True


RECORDING = _Recording()
"""The recording switch of each thread (``autodiff.tensor.apply`` reads it for every operation)."""


def grad_enabled() -> bool:
    """Whether operations on this thread are being recorded."""
    return RECORDING.enabled


class no_grad:
    """Context manager (and decorator): do not record operations on this thread inside it."""

    def __enter__(self):
        self._prev = RECORDING.enabled
        RECORDING.enabled = False
        return self

    def __exit__(self, *exc):
        RECORDING.enabled = self._prev
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


class enable_grad(no_grad):
    """Context manager: record operations again inside a ``no_grad`` block."""

    def __enter__(self):
        self._prev = RECORDING.enabled
        RECORDING.enabled = True
        return self


def reverse_tape(root, *, every_input: bool = False) -> tuple[list, list]:
    """``(nodes, leaves)``: the recorded nodes ``root`` depends on, latest stamp first, and the
    leaves (nodes with no primitive) it depends on, each once, in the order they were reached.

    This is the one walk of the graph: backward passes (``Tensor.backward``, ``Value.backward``)
    and the drawings (``autodiff.graph``) all use it. Arguments of the root's own type are
    followed when they take part in differentiation (``requires_grad``; every ``Value`` does), or
    all of them with ``every_input=True`` (a drawing shows the data too). Latest first, every node
    comes before the nodes it was computed from, which is the order a backward pass needs.
    """
    node_type = type(root)
    # a class whose every node takes part (Value.requires_grad is a class attribute, True)
    follow_all = every_input or getattr(node_type, "requires_grad", None) is True
    # how to read a node's arguments: ``node._args``, or the class's own faster getter (Value
    # keeps its one or two arguments in two slots, the second None for a unary operation)
    args_of = getattr(node_type, "_walk_args", _ARGS)
    nodes, leaves = [], []
    # the nodes themselves, not their id()s: a node hashes by identity, its address rotated so
    # that the low bits vary, while raw addresses (multiples of 16) crowd a set's buckets and
    # made this walk several times slower on large graphs
    seen = {root}
    stack = [root]
    pop, push, visit, keep = stack.pop, stack.append, seen.add, nodes.append
    while stack:
        node = pop()
        if node._prim is None:
            leaves.append(node)
            continue
        keep(node)
        for arg in args_of(node):
            if type(arg) is node_type and (follow_all or arg.requires_grad) and arg not in seen:
                visit(arg)
                push(arg)
    nodes.sort(key=_by_stamp, reverse=True)
    return nodes, leaves


def _tracing() -> bool:
    """Whether a tracer or profiler (a debugger, coverage, mutmut) watches this thread: it may
    hold references to local variables that ``sys.getrefcount`` would count."""
    return sys.gettrace() is not None or sys.getprofile() is not None


@functools.cache
def _one_local() -> int:
    """What ``sys.getrefcount`` says of an object held by one local variable and nothing else
    (asked once, on first use, as it differs between Python versions)."""
    probe = object()
    return sys.getrefcount(probe)


# not mutated: mutmut would wrap it in a trampoline whose argument tuple holds ``arr`` once more,
# so that under mutmut it always said no and the in-place and pool paths went untested
def may_overwrite(
    arr, others: int = 0, owner=None, *, traced: bool | None = None
) -> bool:  # pragma: no mutate block
    """The ownership rule of in-place VJPs: may a backward pass write into ``arr``?

    ``arr`` is passed from one local variable of the caller. The answer is yes when it is an
    ndarray with its own writeable memory (not a view) that nothing refers to but that variable
    and ``others`` known holders (such as the ``.data`` of the node that made it), and — when
    ``owner``, that node, is given — the node is referred to by the caller's variable and the
    tape's list only (anyone else holding it may still read ``arr``). Under a tracer the counts
    are not to be trusted, and the answer is no. ``traced`` is what ``_tracing()`` said, for a
    caller that asks it once for many arrays (a backward pass); by default it is asked here.
    """
    if type(arr) is not np.ndarray or arr.base is not None or not arr.flags.writeable:
        return False
    if _tracing() if traced is None else traced:
        return False
    alone = _one_local()
    # + 1: this function's own parameter refers to each of them too
    if sys.getrefcount(arr) != alone + 1 + others:
        return False
    return owner is None or sys.getrefcount(owner) == alone + 2


class _Released:
    """Stands in for the primitive of a node whose graph a backward pass has released."""

    name = "released"
    vjps = ()


RELEASED = _Released()


def sum_to_shape(g, shape: tuple):
    """Sum ``g`` over the axes that broadcasting added or stretched, to give ``shape``."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape) if g.shape != shape else g


_RELEASED_DATA = np.empty(0)  # what a released node's output becomes once the pool has it
_RELEASED_DATA.flags.writeable = False


def backpropagate(
    root, seed, create_graph: bool, release: bool, keep_skeleton: bool = False
) -> dict:
    """The chain rule: walk the tape back from ``root`` with dJ/d(root) = ``seed``; return
    {leaf: dJ/d(leaf)}. Each node's VJPs (``autodiff.registry``) turn its gradient into its
    arguments' gradients; where an argument was used twice, they add.

    Gradients of intermediate nodes live in a dict only while they are needed. Each node's
    VJPs run on the raw arrays its operation was given (kept on the node when it was recorded),
    or on its tensors (recording a new graph) when ``create_graph``.
    When the graph is being released, a primitive's in-place VJP (``definplace``) may build its
    result in the incoming gradient and the node's own output, if nothing else refers to them:
    fresh arrays cost more than arithmetic here (their pages are touched for the first time).
    For the same reason a released node's gradient and output go back to the engine's pool
    (``autodiff.pool``) under the same rule, for the next operation of that shape.
    With ``keep_skeleton`` (what ``Tensor.backward`` asks for: a user may draw the graph next)
    a released node keeps a ``Skeleton`` (``autodiff.skeleton``), its structure and small
    summaries; the functional API and ``loss_and_grads`` skip that cost.
    """
    node_type = type(root)  # a Tensor (scalar Values keep their gradients on the nodes)
    nodes, leaves = reverse_tape(root)
    # asked before the walk: a pass that stopped part-way would leave its graph half released
    if any(node._prim is RELEASED for node in nodes):
        raise RuntimeError(
            "this graph was released by an earlier backward(); pass retain_graph=True to "
            "the first backward() to go through it again"
        )
    grads = {root: seed}  # keyed by the nodes themselves, which hash by identity
    pop, get = grads.pop, grads.get
    skeletons = Skeletons(node_type) if keep_skeleton else None
    # in place only in an ordinary pass that releases its graph, and never under a tracer:
    # that is asked once here rather than for every array
    in_place = release and not create_graph and not _tracing()
    recycle = in_place and POOL.enabled
    smallest = POOL.min_bytes
    for node in nodes:
        g = pop(node, None)
        prim = node._prim
        # the skeleton is taken before the VJPs, which may reuse the node's buffers
        skeleton = skeletons.record(node, g) if keep_skeleton else None
        if g is None:
            continue
        args = node._args
        values, ans = (args, node) if create_graph else (node._raw, node.data)
        kw, vjps = node._kw, prim.vjps
        inplace = prim.inplace_vjp if in_place else None
        for i, a in enumerate(args):
            if type(a) is not node_type or not a.requires_grad or vjps[i] is None:
                continue
            if inplace is not None:
                # g is held by the local alone; ans by the local and the node (its one other
                # holder); the node by the local and the tape's list. Asked before the call,
                # whose argument tuple would hold them too.
                g_owned = may_overwrite(g, traced=False)
                ans_owned = may_overwrite(ans, 1, owner=node, traced=False)
                ga = inplace(g, ans, *values, g_owned=g_owned, ans_owned=ans_owned)
            else:
                ga = vjps[i](g, ans, *values, **kw)
            shape = a.data.shape
            if ga.shape != shape:
                ga = sum_to_shape(ga, shape)
            prev = get(a)
            grads[a] = ga if prev is None else prev + ga
            ga = prev = None  # the dict is now the gradient's only holder
        if release:  # the arrays go; with a skeleton the structure stays, for drawing
            node._prim, node._kw, node._raw = RELEASED, None, None
            node._args = () if skeleton is None else (skeleton,)
            values = None
            if recycle:
                # the same rule as for the in-place VJPs: g held by the local alone, ans by the
                # local and the node, the node by the local and the tape's list
                # (small arrays first skip the checks: the pool would refuse them anyway).
                # The pool hands out the array it got last: g, which the VJPs just read, is
                # given after ans, which nothing has touched since the forward pass, so that
                # the next operation of this shape writes into memory still in the cache.
                if ans.nbytes >= smallest and may_overwrite(ans, 1, owner=node, traced=False):
                    node.data = _RELEASED_DATA
                    POOL.give(ans)
                if (
                    type(g) is np.ndarray
                    and g.nbytes >= smallest
                    and may_overwrite(g, traced=False)
                ):
                    POOL.give(g)
    return {leaf: grads[leaf] for leaf in leaves if leaf in grads}
