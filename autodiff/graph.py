"""Seeing a recorded graph: Graphviz DOT text, and a matplotlib drawing for teaching.

Both show one box per node — its name, the formula that made it, its value and its gradient —
and one box per constant an operation took (the ``10`` of ``10 / f``), so every formula reads in
the order it was written. A name comes from ``Value(x, label="x")`` or ``Tensor(a, name="W")``;
a node without one is called ``n1``, ``n2``, … in the order the tape recorded it.

After an ordinary ``backward()`` a Tensor graph has been released (its arrays are freed), but it
left its structure behind (``autodiff.skeleton``), so the drawing still shows every node with its
value and gradient — intermediate gradients included. After ``backward(retain_graph=True)`` the
graph is live and only leaves (and every ``Value``) have gradients to show.

``draw`` uses Graphviz's ``dot`` when it is installed; otherwise it lays the graph out itself in
columns (every arrow runs between neighbouring columns or along a reserved lane through the
columns it spans, so no arrow crosses a box) and draws it with matplotlib.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from io import BytesIO

import numpy as np

from .skeleton import SHOWN, Skeleton
from .tape import RELEASED, reverse_tape
from .tensor import Tensor
from .value import Value

__all__ = ["Box", "graph_boxes", "to_dot", "draw"]

_INFIX = {
    "+": "+", "add": "+", "-": "-", "sub": "-", "*": "*", "mul": "*",
    "/": "/", "div": "/", "**": "**", "power": "**", "matmul": "@",
}  # fmt: skip


@dataclass(frozen=True)
class Box:
    """One box of a drawing: a node of the graph or a constant one of its operations took."""

    key: int
    kind: str  # "leaf", "op" or "constant"
    title: str  # the node's name, or n1, n2, ... ('' for a number constant)
    formula: str  # how the node was computed from its inputs' titles ('' for leaves, constants)
    data: str
    grad: str  # '' for constants
    inputs: tuple[int, ...] = field(default=())  # keys of the boxes it was computed from, in order

    def lines(self) -> list[str]:
        """The text of the box, line by line."""
        if self.kind == "constant":
            return [t for t in (self.title, self.data) if t]
        head = f"{self.title} = {self.formula}" if self.formula else f"{self.title} (leaf)"
        return [head, f"data {self.data}", f"grad {self.grad}"]


# -- what the drawing shows ---------------------------------------------------------------------


def _number_text(x) -> str:
    """A number, or a small array's numbers, or a large array's shape; '-' for nothing."""
    if x is None:
        return "-"
    if isinstance(x, (Tensor, Value)):  # a gradient recorded by backward(create_graph=True)
        x = x.data
    if isinstance(x, tuple):  # what a skeleton keeps of a large array
        return f"shape {x}"
    arr = np.asarray(x)
    if arr.dtype == object:
        return repr(x)
    if arr.size == 1:
        return f"{float(arr.reshape(())) + 0.0:.4g}"  # + 0.0: -0.0 reads 0
    if arr.size > SHOWN:
        return f"shape {arr.shape}"
    return _nested(arr)


def _nested(arr: np.ndarray) -> str:
    """[[0.5, -1], [0.25, 0.75]]: every number to 4 significant digits, no alignment padding."""
    if arr.ndim == 0:
        return f"{float(arr) + 0.0:.4g}"
    return "[" + ", ".join(_nested(a) for a in arr) + "]"


def _resolve(root):
    """Where drawing starts: a released tensor is drawn from the skeleton it left behind."""
    if type(root) is Tensor and root._prim is RELEASED:
        if not root._args:
            raise ValueError(
                "this graph was released by a backward pass that kept nothing to draw "
                "(autodiff.grad and loss_and_grads do not); call .backward() on the result to "
                "draw it afterwards"
            )
        return root._args[0]
    return root


def _name(node) -> str:
    return str(node.label if type(node) is Value else node.name)


def _data(node):
    return node.leaf.data if type(node) is Skeleton and node.leaf is not None else node.data


def _grad(node):
    if type(node) is Skeleton and node.leaf is not None:
        node = node.leaf  # a leaf's gradient is drawn as it is now
    return node.grad


def _collect(root, limit: int) -> list:
    """The nodes ``root`` depends on, itself and the data included, in tape order."""
    nodes, leaves = reverse_tape(_resolve(root), every_input=True)
    if len(nodes) + len(leaves) > limit:
        raise ValueError(f"the graph has more than {limit} nodes; raise limit to show it")
    return sorted(nodes + leaves, key=lambda n: n._seq)


def _formula(prim_name: str, operands: list[str], kw) -> str:
    """How a node was computed, as a reader writes it: ``a * b``, ``W @ A + b``, ``tanh(z)``."""
    if prim_name in _INFIX and len(operands) == 2:
        return f"{operands[0]} {_INFIX[prim_name]} {operands[1]}"
    if prim_name == "neg":
        return f"-{operands[0]}"
    if prim_name == "affine":
        return f"{operands[0]} @ {operands[1]} + {operands[2]}"
    if prim_name == "getitem":
        return f"{operands[0]}[{operands[1]}]"  # the index as written
    extra = [f"{k}={v!r}" for k, v in (kw or {}).items() if v is not None and v is not False]
    return f"{prim_name}({', '.join(operands + extra)})"


def _index_text(index) -> str:
    """An index as it is written between brackets: ``:, 0`` for ``(slice(None), 0)``."""
    parts = index if isinstance(index, tuple) else (index,)

    def one(i) -> str:
        if isinstance(i, slice):
            text = f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
            return text if i.step is None else f"{text}:{i.step}"
        if i is Ellipsis:
            return "..."
        return _number_text(i) if isinstance(i, np.ndarray) else repr(i)

    return ", ".join(one(i) for i in parts)


class _Builder:
    """Makes the boxes of a graph, node by node in tape order, and names the unnamed."""

    def __init__(self):
        self.boxes: list[Box] = []
        self.key_of: dict[int, int] = {}
        self.title_of: dict[int, str] = {}
        self.unnamed = self.constants = 0

    def add(self, kind, title, formula, data, grad, inputs=()) -> int:
        self.boxes.append(Box(len(self.boxes), kind, title, formula, data, grad, tuple(inputs)))
        return self.boxes[-1].key

    def node(self, node) -> None:
        title = _name(node)
        if not title:
            self.unnamed += 1
            title = f"n{self.unnamed}"
        data, grad = _number_text(_data(node)), _number_text(_grad(node))
        if node._prim is None:
            kind = "leaf" if node.requires_grad else "constant"
            key = self.add(kind, title, "", data, grad)
        elif node._prim is RELEASED:  # met inside a newer graph: drawn on its own
            key = self.add("op", title, "(released)", data, grad)
        else:
            inputs, operands = self.operands(node)
            kw = node._kw if type(node) is not Value else None
            key = self.add("op", title, _formula(node._prim.name, operands, kw), data, grad, inputs)
        self.key_of[id(node)], self.title_of[id(node)] = key, title

    def operands(self, node) -> tuple[list[int], list[str]]:
        """The boxes a node was computed from and how its formula names them: inputs by their
        titles; constants by their value, given boxes of their own (long ones called c1, c2,
        ...); an index goes into the formula alone."""
        inputs, operands = [], []
        for position, arg in enumerate(node._args):
            if id(arg) in self.key_of:
                inputs.append(self.key_of[id(arg)])
                operands.append(self.title_of[id(arg)])
            elif node._prim.name == "getitem" and position == 1:
                operands.append(_index_text(arg))
            else:
                text = repr(arg) if isinstance(arg, tuple) else _number_text(arg)
                title = ""
                if len(text) > 12:
                    self.constants += 1
                    title = f"c{self.constants}"
                inputs.append(self.add("constant", title, "", text, ""))
                operands.append(title or text)
        return inputs, operands


def graph_boxes(root, limit: int = 500) -> list[Box]:
    """The boxes that draw the graph behind ``root`` (a Tensor or a Value), in tape order:
    each node after the nodes and constants it was computed from."""
    builder = _Builder()
    for node in _collect(root, limit):
        builder.node(node)
    return builder.boxes


# -- Graphviz -----------------------------------------------------------------------------------

_FILL = {"leaf": "#fff3c4", "op": "#e8f0fe", "constant": "#eeeeee"}


def _escape(text: str) -> str:
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def to_dot(root, limit: int = 500) -> str:
    """The graph behind ``root`` (a Tensor or a Value) as Graphviz DOT text, left to right:
    a record per node (name = formula | data | grad), a box per constant, an edge from each
    input to the node computed from it."""
    lines = [
        "digraph backproof {",
        "  rankdir=LR;",
        '  node [shape=record, style="rounded,filled", fontname="monospace", fontsize=10];',
    ]
    for box in graph_boxes(root, limit):
        label = " | ".join(_escape(t) for t in box.lines())
        shape = ', shape=box, style="filled,dashed"' if box.kind == "constant" else ""
        lines.append(f'  n{box.key} [label="{{{label}}}", fillcolor="{_FILL[box.kind]}"{shape}];')
        for i in box.inputs:
            lines.append(f"  n{i} -> n{box.key};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- matplotlib ---------------------------------------------------------------------------------

_FONT = 8.0  # points
_CHAR_W = 0.6 * _FONT / 72  # inches per character of a monospace font
_LINE_H = 1.35 * _FONT / 72
_PAD = 0.07
_GAP_X = 0.5
_GAP_Y = 0.16
_LANE_H = 0.06  # the height an arrow passing through a column reserves there
_APPROACH = 0.12  # the level stretch before an arrowhead


@dataclass
class _Item:
    """A box, or a lane an arrow takes through a column it passes (box is None)."""

    box: Box | None
    width: float
    height: float
    layer: int = 0
    y: float = 0.0
    preds: list = field(default_factory=list)  # (item, port) of the arrows that come in
    succs: list = field(default_factory=list)  # (item, port) of the arrows that go out


def _layers(boxes: list[Box]) -> dict[int, int]:
    """A column for every box: each node one right of its furthest input; sources (leaves,
    constants) just left of their first consumer, so their arrows stay short."""
    layer: dict[int, int] = {}
    consumers = defaultdict(list)
    for b in boxes:  # tape order: inputs first
        layer[b.key] = 1 + max((layer[i] for i in b.inputs), default=-1)
        for i in b.inputs:
            consumers[i].append(b.key)
    for b in boxes:
        if not b.inputs and consumers[b.key]:
            layer[b.key] = min(layer[c] for c in consumers[b.key]) - 1
    return layer  # the first operation's inputs are all sources: column 0 is never empty


def _size(box: Box) -> tuple[float, float]:
    lines = box.lines()
    return max(map(len, lines)) * _CHAR_W + 2 * _PAD, len(lines) * _LINE_H + 2 * _PAD


def _port(slot: int, n_inputs: int) -> float:
    """Where an argument enters its box, from -0.5 (first, on top) to 0.5 (last)."""
    return 0.0 if n_inputs == 1 else slot / (n_inputs - 1) - 0.5


def _build_items(boxes: list[Box]):
    """Items per column and the paths of the arrows (input item, lanes..., output item)."""
    layer = _layers(boxes)
    items = {b.key: _Item(b, *_size(b), layer=layer[b.key]) for b in boxes}
    columns: dict[int, list[_Item]] = defaultdict(list)
    for b in boxes:
        columns[layer[b.key]].append(items[b.key])
    paths = []
    for b in boxes:
        for slot, i in enumerate(b.inputs):
            path = [items[i]]
            for d in range(layer[i] + 1, layer[b.key]):
                lane = _Item(None, 0.0, _LANE_H, layer=d)
                columns[d].append(lane)
                path.append(lane)
            path.append(items[b.key])
            port = 0.6 * _port(slot, len(b.inputs))  # under one place: no ties with neighbours
            for a, c in zip(path, path[1:]):
                a.succs.append((c, port if c is path[-1] else 0.0))
                c.preds.append((a, 0.0))
            paths.append((path, slot, len(b.inputs)))
    return [columns[d] for d in range(len(columns))], paths


def _order(columns: list[list[_Item]], sweeps: int = 6) -> None:
    """Order each column by the mean place of its neighbours in the column before (then after)
    it — the barycentre heuristic, which untangles most crossings between arrows."""

    def reorder(col: list[_Item], placed: list[_Item], side: str) -> None:
        place = {id(it): i for i, it in enumerate(placed)}
        keyed = []
        for i, it in enumerate(col):
            near = [place[id(n)] + port for n, port in getattr(it, side) if id(n) in place]
            keyed.append((sum(near) / len(near) if near else i, i))
        col[:] = [col[i] for _, i in sorted(keyed)]

    for _ in range(sweeps):
        for d in range(1, len(columns)):
            reorder(columns[d], columns[d - 1], "preds")
        for d in range(len(columns) - 2, -1, -1):
            reorder(columns[d], columns[d + 1], "succs")


def _pack(col: list[_Item], wanted: list[float]) -> None:
    """Put the items of a column at heights near ``wanted``, in order, without overlaps."""
    prev = None
    for it, w in zip(col, wanted):
        it.y = w if prev is None else max(w, prev.y + (prev.height + it.height) / 2 + _GAP_Y)
        prev = it
    shift = np.mean([w - it.y for it, w in zip(col, wanted)])
    for it in col:
        it.y += shift


def _heights(columns: list[list[_Item]]) -> None:
    """Vertical places: stacked first, then pulled towards their neighbours a few times."""
    for col in columns:
        _pack(col, [0.0] * len(col))
    for _ in range(4):
        for cols, side in ((columns, "preds"), (columns[::-1], "succs")):
            for col in cols:
                wanted = [
                    np.mean([n.y for n, _ in getattr(it, side)]) if getattr(it, side) else it.y
                    for it in col
                ]
                _pack(col, wanted)


def _edges_of_columns(columns) -> list[tuple[float, float]]:
    """The left and right x of every column."""
    spans, x = [], 0.0
    for col in columns:
        width = max(it.width for it in col)  # no column is empty: layers are contiguous
        spans.append((x, x + width))
        x += width + _GAP_X
    return spans


def _layout(boxes: list[Box]):
    columns, paths = _build_items(boxes)
    _order(columns)
    _heights(columns)
    return columns, paths, _edges_of_columns(columns)


def _draw_with_dot(dot_text: str, ax):
    """Graphviz lays the graph out and renders it; matplotlib shows the picture."""
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    png = subprocess.run(
        ["dot", "-Tpng", "-Gdpi=110"], input=dot_text.encode(), capture_output=True, check=True
    ).stdout
    image = mpimg.imread(BytesIO(png), format="png")
    if ax is None:
        h, w = image.shape[:2]
        _, ax = plt.subplots(figsize=(min(w / 110, 40), min(h / 110, 40)))
    ax.imshow(image)
    ax.axis("off")
    return ax


def draw(root, ax=None, limit: int = 60, engine: str = "auto"):
    """Draw the graph behind ``root`` (a Tensor or a Value); returns the matplotlib axes.

    ``engine``: ``"dot"`` renders ``to_dot`` with Graphviz, ``"matplotlib"`` lays the graph
    out here, ``"auto"`` (the default) uses Graphviz when ``dot`` is installed. Meant for graphs
    a reader can follow (``limit`` nodes): leaves are yellow, operations blue, constants grey.
    """
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    if ax is not None and not hasattr(ax, "get_window_extent"):
        raise TypeError(
            f"ax must be a matplotlib Axes or None, got {type(ax).__name__} {ax!r} "
            "(to save a picture: draw(root).figure.savefig(path))"
        )
    boxes = graph_boxes(root, limit)
    if engine == "dot" or (engine == "auto" and shutil.which("dot")):
        if not shutil.which("dot"):
            raise RuntimeError("engine='dot' needs Graphviz's dot program, which is not installed")
        return _draw_with_dot(to_dot(root, limit), ax)
    return _draw_with_matplotlib(boxes, ax)


def _draw_with_matplotlib(boxes: list[Box], ax):
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    columns, paths, spans = _layout(boxes)
    items = [it for col in columns for it in col]
    top = max(it.y + it.height / 2 for it in items) + 0.15
    bottom = min(it.y - it.height / 2 for it in items) - 0.15
    width, height = spans[-1][1] + 0.3, top - bottom
    if ax is None:
        fig = plt.figure(figsize=(min(width, 60), min(height, 60)))
        ax = fig.add_axes((0, 0, 1, 1))
    extent = ax.get_window_extent()
    # with equal aspect one unit of the layout (an inch at scale 1) becomes this many inches:
    # the text grows and shrinks with the boxes
    scale = min(extent.width / width, extent.height / height) / ax.figure.dpi
    ax.set_xlim(-0.15, width - 0.15)
    ax.set_ylim(top, bottom)  # y grows downwards: the first items on top
    ax.set_aspect("equal")
    ax.axis("off")
    for path, slot, n_inputs in paths:
        _arrow(ax, _arrow_points(path, slot, n_inputs, spans))
    for it in items:
        if it.box is not None:
            _box(ax, it, spans, scale, FancyBboxPatch)
    return ax


def _arrow_points(path, slot: int, n_inputs: int, spans) -> list[tuple[float, float]]:
    """The corners of an arrow from the first item of ``path`` to the last: out along its own
    row to the edge of its column, across the gap, through each lane, and level into the
    target at a height that tells its argument's place (the first argument highest)."""
    src, dst = path[0], path[-1]
    points = [(_centre(spans, src.layer) + src.width / 2, src.y), (spans[src.layer][1], src.y)]
    for lane in path[1:-1]:
        points += [(spans[lane.layer][0], lane.y), (spans[lane.layer][1], lane.y)]
    y_in = dst.y + _port(slot, n_inputs) * 0.18  # within the text of any operation's box
    points.append((spans[dst.layer][0] - _APPROACH, y_in))
    points.append((_centre(spans, dst.layer) - dst.width / 2, y_in))
    return points


def _arrow(ax, points) -> None:
    xs, ys = zip(*points[:-1])
    ax.plot(xs, ys, color="0.45", lw=0.9, solid_capstyle="round", zorder=1)
    ax.annotate(
        "",
        xy=points[-1],
        xytext=points[-2],
        arrowprops=dict(arrowstyle="-|>", color="0.45", lw=0.9, shrinkA=0, shrinkB=0),
        zorder=1,
    )


def _centre(spans, layer: int) -> float:
    return (spans[layer][0] + spans[layer][1]) / 2


def _box(ax, it, spans, scale, FancyBboxPatch):
    box = it.box
    cx = _centre(spans, it.layer)
    ax.add_patch(
        FancyBboxPatch(
            (cx - it.width / 2, it.y - it.height / 2),
            it.width,
            it.height,
            boxstyle="round,pad=0,rounding_size=0.05",
            fc=_FILL[box.kind],
            ec="0.35",
            lw=0.8,
            ls="--" if box.kind == "constant" else "-",
            zorder=2,
        )
    )
    lines = box.lines()
    first = it.y - (len(lines) - 1) * _LINE_H / 2
    for i, line in enumerate(lines):
        ax.text(
            cx,
            first + i * _LINE_H,
            line,
            ha="center",
            va="center",
            family="monospace",
            fontsize=_FONT * scale,
            weight="bold" if i == 0 and box.kind != "constant" else "normal",
            zorder=3,
        )
