"""The tape: operations are stamped in the order they run, and walked back in reverse.

Every node an operation creates (a ``Tensor`` or a ``Value`` with a primitive) gets the next
number of one process-wide counter, its place on the tape. A node holds its primitive, its
arguments and its stamp; it is owned by its output, so a recorded graph lives exactly as long
as something refers to its result, and each thread records its own graphs with no shared list.
``reverse_tape(root)`` returns the nodes ``root`` depends on, latest first: every node comes
before the nodes it was computed from, which is the order a backward pass needs. Nothing here
recurses, so graphs of millions of nodes are fine.
"""

from __future__ import annotations

import itertools
import threading
from operator import attrgetter

__all__ = ["next_stamp", "grad_enabled", "no_grad", "enable_grad", "reverse_tape"]

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


def reverse_tape(root, node_type) -> tuple[list, list]:
    """``(nodes, leaves)``: the recorded nodes ``root`` depends on, latest stamp first, and the
    leaves (nodes of ``node_type`` with no primitive) it depends on, each once.

    Only arguments of ``node_type`` that take part in differentiation are followed
    (``requires_grad`` for tensors; every ``Value``).
    """
    nodes, leaves = [], []
    seen = {id(root)}
    stack = [root]
    pop, push, visit = stack.pop, stack.append, seen.add
    while stack:
        node = pop()
        if node._prim is None:
            leaves.append(node)
            continue
        nodes.append(node)
        for arg in node._args:
            if type(arg) is node_type and id(arg) not in seen and arg.requires_grad:
                visit(id(arg))
                push(arg)
    nodes.sort(key=_by_stamp, reverse=True)
    return nodes, leaves
