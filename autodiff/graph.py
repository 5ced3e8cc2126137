"""Seeing a recorded graph: Graphviz DOT text, and a small matplotlib drawing for teaching."""

from __future__ import annotations

import numpy as np

from .tape import reverse_tape
from .tensor import Tensor
from .value import Value

__all__ = ["to_dot", "draw"]


def _parents(node):
    return [a for a in node._args if isinstance(a, (Tensor, Value))]


def _collect(root, limit: int):
    """The nodes ``root`` depends on (leaves included), in tape order, at most ``limit``."""
    nodes, leaves = reverse_tape(root, every_input=True)
    if len(nodes) + len(leaves) > limit:
        raise ValueError(f"the graph has more than {limit} nodes; raise limit to show it")
    return sorted(nodes + leaves, key=lambda n: n._seq)


def _fmt(x) -> str:
    if x is None:
        return "-"
    arr = np.asarray(x.data if isinstance(x, Tensor) else x)
    if arr.size == 1:
        return f"{float(arr.reshape(())):.4g}"
    return f"shape {arr.shape}"


def _label(node) -> str:
    """'op | data ... | grad ...'; numbers an operation took besides nodes follow its name."""
    if node._prim is None:
        op = "leaf"
    else:
        constants = [_fmt(a) for a in node._args if not isinstance(a, (Tensor, Value))]
        shown = [c for c in constants if c != "-"]
        op = node._prim.name + (f" ({', '.join(shown)})" if shown else "")
    return f"{op} | data {_fmt(node.data)} | grad {_fmt(node.grad)}"


def to_dot(root, limit: int = 500) -> str:
    """The graph behind ``root`` (a Tensor or a Value) as Graphviz DOT text: one record per
    node with its operation, value and gradient, edges from inputs to outputs."""
    nodes = _collect(root, limit)
    ids = {id(n): f"n{i}" for i, n in enumerate(nodes)}
    lines = ["digraph backproof {", "  rankdir=LR;", "  node [shape=record];"]
    for n in nodes:
        lines.append(f'  {ids[id(n)]} [label="{{{_label(n)}}}"];')
    for n in nodes:
        for p in _parents(n):
            lines.append(f"  {ids[id(p)]} -> {ids[id(n)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(root, ax=None, limit: int = 60):
    """Draw the graph behind ``root`` with matplotlib, left to right by depth; returns the axes.

    Meant for small graphs (``limit`` nodes): each box shows the operation, the value and the
    gradient.
    """
    import matplotlib.pyplot as plt

    nodes = _collect(root, limit)
    depth = {}
    for n in nodes:  # tape order: inputs come first
        depth[id(n)] = 1 + max((depth[id(p)] for p in _parents(n)), default=-1)
    columns: dict[int, list] = {}
    for n in nodes:
        columns.setdefault(depth[id(n)], []).append(n)
    pos = {}
    for d, col in columns.items():
        for i, n in enumerate(col):
            pos[id(n)] = (d, -(i - (len(col) - 1) / 2))
    if ax is None:
        width = 2.2 * (max(columns) + 1)
        height = 1.0 * max(len(c) for c in columns.values()) + 1
        _, ax = plt.subplots(figsize=(min(width, 30), min(height, 30)))
    for n in nodes:
        x1, y1 = pos[id(n)]
        for p in _parents(n):
            x0, y0 = pos[id(p)]
            ax.annotate(
                "",
                xy=(x1 - 0.35, y1),
                xytext=(x0 + 0.35, y0),
                arrowprops=dict(arrowstyle="->", color="0.5"),
            )
        ax.text(
            x1,
            y1,
            _label(n).replace(" | ", "\n"),
            ha="center",
            va="center",
            fontsize=7,
            bbox=dict(boxstyle="round", fc="#e8f0fe" if n._prim is not None else "#fff3c4"),
        )
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ys = [y for _, y in pos.values()]
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    return ax
