"""What a released graph leaves for drawing: the numbers of arrays of at most six elements, the
shape of larger ones, its constants and names, and its leaves' live gradients."""

import numpy as np

from backproof.autodiff import Tensor
from backproof.autodiff import graph as G
from backproof.autodiff import primitives as P
from backproof.autodiff.skeleton import SHOWN, summary


def by_title(boxes):
    return {b.title: b for b in boxes}


def test_six_numbers_are_kept_and_seven_become_a_shape():
    assert SHOWN == 6
    six, seven = np.arange(6.0), np.arange(7.0)
    assert summary(seven) == (7,) and summary(3.5) == 3.5 and summary("x") == "x"
    kept = summary(six)
    np.testing.assert_array_equal(kept, six)
    six[0] = 99.0
    assert kept[0] == 0.0  # a copy, not the array
    for n, shown in ((6, "[0, 2, 4, 6, 8, 10]"), (7, "shape (7,)")):
        x = Tensor(np.arange(float(n)), requires_grad=True, name="x")
        y = x * 2
        y.name = "y"
        out = P.sum(y * y)
        out.name = "out"
        out.backward()
        boxes = by_title(G.graph_boxes(out))
        assert boxes["y"].data == shown and boxes["y"].formula == "x * 2"
        assert boxes["y"].grad == (shown.replace("[0, 2", "[0, 4").replace(", 4, 6, 8, 10]",
                                   ", 8, 12, 16, 20]") if n == 6 else "shape (7,)")  # fmt: skip
        assert boxes["out"].formula == "sum(n1)" and boxes["out"].grad == "1"


def test_constants_keep_their_names_and_numbers_and_leaves_their_live_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    c = Tensor(np.array([3.0, 4.0]), name="c")
    big = Tensor(np.ones(8), name="big")
    out = P.sum(x * c) + P.sum(x[0] * big) * 0.5
    out.name = "out"
    out.backward()
    boxes = G.graph_boxes(out)
    titled = by_title(boxes)
    assert titled["c"].kind == "constant" and titled["c"].data == "[3, 4]"
    assert titled["big"].kind == "constant" and titled["big"].data == "shape (8,)"
    assert titled["x"].kind == "leaf" and titled["x"].grad == "[7, 4]"
    assert sum(b.data == "0.5" for b in boxes) == 1 and titled["out"].data == "15"
    x.grad = np.array([-1.0, 0.0])  # the leaf is drawn as it is now
    assert by_title(G.graph_boxes(out))["x"].grad == "[-1, 0]"
    twice = Tensor(np.array([1.0]), requires_grad=True, name="t")
    k = Tensor(np.array([2.0]), name="k")
    both = P.sum(twice * k + k)
    both.backward()
    assert [b.title for b in G.graph_boxes(both)].count("k") == 1  # one box for a reused input


def test_a_released_graph_keeps_no_copy_of_a_large_array():
    import tracemalloc

    from backproof.autodiff import pool

    x = Tensor(np.ones((300, 300)), requires_grad=True)
    loss = P.sum(P.tanh(x * 2.0) * 3.0)
    was_on = pool.POOL.enabled
    pool.configure(enabled=False)  # the pool would keep the released arrays on purpose
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loss.backward()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        pool.configure(enabled=was_on)
    # x.grad (720 kB) is new and stays; a copy of each released node's value would be 3 more
    assert kept < 2 * x.data.nbytes
    assert G.graph_boxes(loss)[2].data == "shape (300, 300)"
