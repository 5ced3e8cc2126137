"""The tape: operations are stamped in the order they run, and walked back in reverse.

Every node an operation creates (a ``Tensor`` or a ``Value`` with a primitive) gets the next
number of one process-wide counter, its place on the tape. A node holds its primitive, its
arguments and its stamp; it is owned by its output, so a recorded graph lives exactly as long
as something refers to its result, and each thread records its own graphs with no shared list.
``reverse_tape(root)`` returns the nodes ``root`` depends on, latest first: every node comes
before the nodes it was computed from, which is the order a backward pass needs. Nothing here
recurses, so graphs of millions of nodes are fine. ``may_overwrite`` is the rule by which a
backward pass that releases its graph decides it may reuse an array in place.
"""

from __future__ import annotations

import functools
import itertools
import sys
import threading
from operator import attrgetter

import numpy as np

__all__ = [
    "next_stamp",
    "grad_enabled",
    "no_grad",
    "enable_grad",
    "reverse_tape",
    "may_overwrite",
]

_counter = itertools.count(1)
next_stamp = _counter.__next__
_local = threading.local()
_by_stamp = attrgetter("_seq")


def grad_enabled() -> bool:
    """Whether operations on this thread are being recorded."""
    return getattr(_local, "enabled", True)


class no_grad:
    """Context manager (and decorator): do not record operations on this thread inside it."""

    def __enter__(self):
        self._prev = grad_enabled()
        _local.enabled = False
        return self

    def __exit__(self, *exc):
        _local.enabled = self._prev
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
        self._prev = grad_enabled()
        _local.enabled = True
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
    nodes, leaves = [], []
    seen = {id(root)}
    stack = [root]
    pop, push, visit, keep = stack.pop, stack.append, seen.add, nodes.append
    while stack:
        node = pop()
        if node._prim is None:
            leaves.append(node)
            continue
        keep(node)
        for arg in node._args:
            if type(arg) is node_type and (follow_all or arg.requires_grad):
                key = id(arg)
                if key not in seen:
                    visit(key)
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


def may_overwrite(arr, others: int = 0, owner=None) -> bool:
    """The ownership rule of in-place VJPs: may a backward pass write into ``arr``?

    ``arr`` is passed from one local variable of the caller. The answer is yes when it is an
    ndarray with its own writeable memory (not a view) that nothing refers to but that variable
    and ``others`` known holders (such as the ``.data`` of the node that made it), and — when
    ``owner``, that node, is given — the node is referred to by the caller's variable and the
    tape's list only (anyone else holding it may still read ``arr``). Under a tracer the counts
    are not to be trusted, and the answer is no.
    """
    if type(arr) is not np.ndarray or arr.base is not None or not arr.flags.writeable:
        return False
    if _tracing():
        return False
    alone = _one_local()
    # + 1: this function's own parameter refers to each of them too
    if sys.getrefcount(arr) != alone + 1 + others:
        return False
    return owner is None or sys.getrefcount(owner) == alone + 2
