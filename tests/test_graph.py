"""Drawings of recorded graphs: names, formulas, constants, released graphs, and the layout."""

import gc
import math
import os
import shutil
import weakref

import matplotlib
import numpy as np
import pytest

from backproof import autodiff
from backproof.autodiff import Tensor, Value, nn
from backproof.autodiff import graph as G
from backproof.autodiff import primitives as P
from backproof.autodiff.tensor import grads_of

matplotlib.use("Agg")


def box_titled(boxes, title):
    (box,) = [b for b in boxes if b.title == title]
    return box


def small_tensor_graph():
    """J = sum(tanh(W x + b)^2) / 2 with named leaves; dJ/dh = h where h = tanh(W x + b)."""
    x = Tensor(np.array([[1.0], [2.0]]), name="x")
    W = Tensor(np.array([[0.5, -1.0], [0.25, 0.75]]), requires_grad=True, name="W")
    b = Tensor(np.array([[0.1], [-0.2]]), requires_grad=True, name="b")
    h = P.tanh(W @ x + b)
    h.name = "h"
    J = P.sum(h * h) / 2
    J.name = "J"
    return J, h, W, b


def text(x):
    return G._number_text(x)


def test_labels_and_names_title_the_boxes():
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.label = "y"
    assert x.label == "x" and Value(1.0).label == ""
    boxes = G.graph_boxes(y)
    assert [b.title for b in boxes] == ["x", "n1", "y"]
    assert boxes[1].formula == "x * x" and boxes[2].formula == "tanh(n1)"
    W = Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    assert W.name == "W" and Tensor(1.0).name == ""
    assert "W (leaf)" in autodiff.to_dot(P.sum(W @ W))
    with pytest.raises(TypeError, match="label must be a string, got int 3"):
        Value(1.0, label=3)
    with pytest.raises(TypeError, match="name must be a string, got int 3"):
        Tensor(1.0, name=3)


def test_a_constant_is_a_box_of_its_own_so_division_reads_in_order():
    f = Value(-2.0, label="f")
    over = 10 / f
    under = f / 10
    over_boxes, under_boxes = G.graph_boxes(over), G.graph_boxes(under)
    assert over_boxes[-1].formula == "10 / f" and under_boxes[-1].formula == "f / 10"
    constant = next(b for b in over_boxes if b.kind == "constant")
    assert constant.lines() == ["10"]
    assert over_boxes[-1].inputs == (constant.key, box_titled(over_boxes, "f").key)
    dot = autodiff.to_dot(over)
    assert f"n{constant.key} -> n{over_boxes[-1].key};" in dot and 'style="filled,dashed"' in dot
    # a tensor that takes no gradient (the data) is a constant box too, under its name
    J, *_ = small_tensor_graph()
    assert box_titled(G.graph_boxes(J), "x").kind == "constant"


def test_indexes_read_as_written_and_long_constants_get_names():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    picks = [x[:, 0], x[1:], x[..., ::2], x[0, 1:3]]
    formulas = [G.graph_boxes(p)[-1].formula for p in picks]
    assert formulas == ["x[:, 0]", "x[1:]", "x[..., ::2]", "x[0, 1:3]"]
    masked = P.where(x.data > 2, x, 0.0)
    boxes = G.graph_boxes(masked)
    mask = box_titled(boxes, "c1")
    assert mask.kind == "constant" and mask.data == "[[0, 0, 0], [1, 1, 1]]"
    assert boxes[-1].formula == "where(c1, x, 0)"


def test_after_backward_the_released_graph_still_shows_every_value_and_gradient():
    J, h, W, b = small_tensor_graph()
    before = [(bx.title, bx.formula, bx.data) for bx in G.graph_boxes(J)]
    J.backward()  # an ordinary backward: the graph is released
    with pytest.raises(RuntimeError, match="retain_graph"):
        J.backward()
    boxes = G.graph_boxes(J)
    assert [(bx.title, bx.formula, bx.data) for bx in boxes] == before
    # every gradient is drawn: dJ/dJ = 1, dJ/dh = h, and the leaves' own .grad
    assert box_titled(boxes, "J").grad == "1"
    assert box_titled(boxes, "h").grad == text(h.data)
    assert box_titled(boxes, "W").grad == text(W.grad) and box_titled(boxes, "b").grad != "-"
    z = box_titled(boxes, "n2")  # W x + b: its gradient is h (1 - h^2)
    assert z.formula == "n1 + b" and z.grad == text(h.data * (1 - h.data**2))
    assert all(bx.grad != "-" for bx in boxes if bx.kind != "constant")


def test_retain_graph_keeps_the_live_graph_whose_inner_gradients_are_not_kept():
    J, h, W, b = small_tensor_graph()
    J.backward(retain_graph=True)
    boxes = G.graph_boxes(J)
    assert box_titled(boxes, "h").grad == "-" and box_titled(boxes, "W").grad == text(W.grad)


def test_a_released_graph_frees_its_arrays_and_keeps_only_summaries():
    x = Tensor(np.ones((50, 50)), requires_grad=True)
    y = (x @ x).sigmoid()
    probe = weakref.ref(y)
    loss = P.sum(y)
    del y
    loss.backward()
    gc.collect()
    assert probe() is None  # the skeleton holds no node but the leaves
    boxes = G.graph_boxes(loss)
    assert box_titled(boxes, "n2").data == "shape (50, 50)"
    assert box_titled(boxes, "n2").grad == "shape (50, 50)"
    assert box_titled(boxes, "n4").formula == "sum(n3)"
    assert box_titled(boxes, "n4").data == text(loss.data) == "2500"


def test_a_graph_released_without_a_skeleton_says_how_to_draw_it():
    x = Tensor(np.ones(3), requires_grad=True)
    out = P.sum(P.exp(x))
    grads_of(out, [x])  # what autodiff.grad and loss_and_grads use: nothing kept to draw
    with pytest.raises(ValueError, match=r"call \.backward\(\) on the result"):
        autodiff.to_dot(out)


def test_value_graphs_show_the_gradients_of_inner_nodes():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    e = a * b
    e.label = "e"
    L = e * e
    L.backward()
    boxes = G.graph_boxes(L)
    assert box_titled(boxes, "e").grad == text(2 * e.data)
    assert box_titled(boxes, "a").grad == text(2 * e.data * b.data)


def test_gradients_recorded_by_create_graph_are_shown_as_numbers():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = P.sum(x * x * x)
    y.backward(create_graph=True)
    assert box_titled(G.graph_boxes(y), "x").grad == "[3, 12]"
    v = Value(2.0, label="v")
    w = v * v * v
    w.backward(create_graph=True)
    assert box_titled(G.graph_boxes(w), "v").grad == "12"


def test_limit_is_enforced():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match="more than 2 nodes"):
        autodiff.to_dot(P.sum(x @ x), limit=2)


def crossings(boxes) -> list:
    """Every (arrow, box) pair where a straight piece of an arrow passes inside a box."""
    columns, paths, spans = G._layout(boxes)
    rects = []
    for col in columns:
        for it in col:
            if it.box is not None:
                cx = G._centre(spans, it.layer)
                rects.append((it.box.key, cx - it.width / 2, it.y - it.height / 2, it))
    found = []
    for path, slot, n in paths:
        points = G._arrow_points(path, slot, n, spans)
        found += segment_crossings(points, rects, path)
    return found


def segment_crossings(points, rects, path=(None, None)):
    found = []
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        for t in np.linspace(0, 1, 200):
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            for key, left, top, it in rects:
                inside = left + 1e-9 < x < left + it.width - 1e-9 and top < y < top + it.height
                if inside and it not in (path[0], path[-1]):
                    found.append(key)
    return found


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.MLP(2, [3, 2, 1], rng=1)([Value(0.5, label="x1"), Value(-1.0, label="x2")]),
        lambda: small_tensor_graph()[0],
        lambda: (lambda f: (f * 2 + 10 / f) * (f - 3) + f.exp())(Value(1.5, label="f")),
    ],
)
def test_no_arrow_crosses_a_box(make):
    root = make()
    boxes = G.graph_boxes(root)
    assert crossings(boxes) == []


def random_expression(seed: int, n_leaves: int = 4, n_ops: int = 12) -> Value:
    """A seeded random scalar expression: sums, products, a division by a constant-offset
    square, tanh and subtraction of constants, over earlier results — long arrows included."""
    rng = np.random.default_rng(seed)
    pool = [Value(float(rng.uniform(-2, 2)), label=f"x{i}") for i in range(n_leaves)]
    for _ in range(n_ops):
        a, b = pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]
        pool.append([a + b, a * b, 3.0 / (a * a + 1.0), a.tanh(), a - 2.0][rng.integers(5)])
    out = pool[-1]
    for v in pool[n_leaves:-1]:
        if rng.random() < 0.3:
            out = out + v
    return out


@pytest.mark.parametrize("seed", range(12))
def test_no_arrow_crosses_a_box_in_random_graphs(seed):
    assert crossings(G.graph_boxes(random_expression(seed))) == []


def test_the_crossing_check_sees_a_crossing():
    # the check itself: a straight line from the first column to the last crosses boxes
    f = Value(1.5, label="f")
    root = (f * 2 + 1).tanh() * f
    columns, paths, spans = G._layout(G.graph_boxes(root))
    rects = [
        (it.box.key, G._centre(spans, it.layer) - it.width / 2, it.y - it.height / 2, it)
        for col in columns
        for it in col
        if it.box is not None
    ]
    first, last = columns[0][0], columns[-1][0]
    straight = [(G._centre(spans, 0), first.y), (G._centre(spans, len(columns) - 1), last.y)]
    straight = [(x, y + 0.01) for x, y in straight]
    assert segment_crossings(straight, rects)


def test_draw_writes_a_picture_with_every_box(tmp_path):
    J, *_ = small_tensor_graph()
    J.backward()
    ax = autodiff.draw(J, engine="matplotlib")
    texts = {t.get_text() for t in ax.texts}
    assert {"J = n4 / 2", "h = tanh(n2)", "W (leaf)", "2", "x"} <= texts
    ax.figure.savefig(tmp_path / "graph.png")
    assert (tmp_path / "graph.png").stat().st_size > 5000
    with pytest.raises(ValueError, match="engine must be 'auto', 'dot' or 'matplotlib'"):
        autodiff.draw(J, engine="graphviz")


@pytest.mark.skipif(shutil.which("dot") is not None, reason="Graphviz is installed here")
def test_draw_with_dot_says_graphviz_is_missing():
    with pytest.raises(RuntimeError, match="Graphviz"):
        autodiff.draw(Value(1.0) * 2, engine="dot")


def test_draw_hands_the_dot_text_to_graphviz_and_shows_its_picture(tmp_path, monkeypatch):
    # a stand-in for Graphviz's dot: it keeps the DOT text it is given and answers with a
    # 30 x 40 PNG, so the plumbing is tested where Graphviz is not installed
    import matplotlib.pyplot as plt

    picture = tmp_path / "picture.png"
    plt.imsave(picture, np.zeros((30, 40)))
    fake = tmp_path / "dot"
    fake.write_text(f'#!/bin/sh\ncat > "{tmp_path}/given.dot"\ncat "{picture}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    root = Value(1.0, label="x") * 2
    ax = autodiff.draw(root)  # "auto" takes dot when it is there
    assert ax.images[0].get_array().shape[:2] == (30, 40)
    assert (tmp_path / "given.dot").read_text() == autodiff.to_dot(root)


def test_math_in_boxes_matches_the_numbers():
    # every Value box's numbers are the node's own, to four significant digits
    x = Value(0.3, label="x")
    y = (x * 4.0).sigmoid()
    y.backward()
    s = 1 / (1 + math.exp(-1.2))
    boxes = G.graph_boxes(y)
    assert box_titled(boxes, "n2").data == f"{s:.4g}"
    assert box_titled(boxes, "x").grad == f"{4 * s * (1 - s):.4g}"


def test_draw_names_a_wrong_ax():
    from backproof.autodiff import Value, draw

    with pytest.raises(TypeError, match="ax must be a matplotlib Axes or None, got str"):
        draw(Value(1.0) * 2, "graph.png")
