"""What stays of a Tensor graph after ``backward()`` releases it: its structure, for drawing.

A releasing backward pass lets go of the arrays each operation kept for its VJP (the inputs'
and the output's data): that is what keeps a training loop's memory flat. But a learner who
writes ``loss.backward()`` and then ``to_dot(loss)`` wants to see the whole graph, with the
gradient of every node. So the pass leaves behind, for each node it releases, a ``Skeleton``:
the node's operation and name, its shape, and its value and gradient as small summaries — the
numbers themselves for arrays of at most ``SHOWN`` elements, only the shape beyond — linked
to the skeletons of its inputs: of recorded nodes, of leaves (which refer to the leaf itself,
whose ``.grad`` stays live) and of constant tensors; numbers and small arrays it took stay as
they are. The released node keeps its skeleton, and drawings start there.

The summaries are copies taken before the node's VJPs run (an in-place VJP may reuse the
buffers afterwards), and a skeleton holds no reference to any array or node of the graph
except the leaves, so the memory a release frees is freed all the same.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHOWN", "Skeleton", "Skeletons", "summary"]

SHOWN = 6  # arrays of at most this many elements keep their numbers (and drawings show them)


def summary(x):
    """A copy of a small array, the shape of a large one; anything else as it is."""
    if type(x) is not np.ndarray:
        return x
    return x.copy() if x.size <= SHOWN else x.shape


class Skeleton:
    """A released node (or a constant tensor) as drawings see it; shaped like a node so the
    same walk serves live graphs and released ones."""

    __slots__ = ("_prim", "_args", "_kw", "_seq", "data", "grad", "name", "requires_grad", "leaf")

    def __init__(self):
        self._prim = None
        self._args = ()
        self._kw = None
        self._seq = 0
        self.data = self.grad = None
        self.name = ""
        self.requires_grad = False
        self.leaf = None  # for a leaf: the leaf itself, whose value and gradient stay live


class Skeletons:
    """The skeletons one backward pass leaves behind, made as it walks the tape."""

    def __init__(self, node_type: type):
        self._node_type = node_type
        self._made: dict[int, Skeleton] = {}

    def record(self, node, g) -> Skeleton:
        """Fill ``node``'s skeleton with its operation, value, gradient ``g`` and inputs."""
        sk = self._made.get(id(node)) or Skeleton()
        sk._prim, sk._kw, sk._seq = node._prim, node._kw, node._seq
        sk.name, sk.requires_grad = node.name, True
        data = node.data
        sk.data = data.copy() if data.size <= SHOWN else data.shape  # summary(), inlined
        sk.grad = summary(g)
        sk._args = tuple([self._stand_in(a) for a in node._args])
        return sk

    def _stand_in(self, arg):
        """What a skeleton keeps of an input: a skeleton for a recorded node (filled when the
        walk reaches it), the leaf itself, or a summary of a constant."""
        if type(arg) is not self._node_type:
            return summary(arg)
        if arg._prim is not None and arg.requires_grad:
            sk = self._made.get(id(arg))
            if sk is None:
                sk = self._made[id(arg)] = Skeleton()
            return sk
        sk = self._made.get(id(arg))  # a leaf or a constant tensor, maybe met already
        if sk is None:
            sk = self._made[id(arg)] = Skeleton()
            sk.name, sk._seq, sk.requires_grad = arg.name, arg._seq, arg.requires_grad
            if arg.requires_grad:
                sk.leaf = arg
            else:
                sk.data = summary(arg.data)
        return sk
