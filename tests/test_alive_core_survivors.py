"""Behaviour behind the mutants earlier rounds left alive: a drawing after a backward pass that
failed part-way, a tensor reshaped to no dimensions, an activation's VJP on raw arrays, and the
workspace cache when a take wins the race to the workspace it is dropping."""

import numpy as np
import pytest

from backproof.autodiff import TENSOR_PRIMITIVES, Tensor, defvjp, pool, primitive, tanh
from backproof.autodiff.graph import graph_boxes, to_dot
from backproof.autodiff.primitives import ACTIVATIONS
from backproof.manual.workspace import WorkspaceCache

# -- a drawing after a backward pass that a VJP stopped part-way ----------------------------------


@primitive
def _fragile(a):
    return a * 2.0


def _failing_vjp(g, ans, a):
    raise ArithmeticError("this VJP fails")


defvjp(_fragile, _failing_vjp)


def _a_backward_failed_part_way(times_x: bool) -> Tensor:
    """y = sum(_fragile(tanh(x)) * (x or 3)), every node named, after a backward that raised in
    _fragile's VJP."""
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    x.name = "x"
    h = tanh(x)
    h.name = "h"
    f = _fragile(h)
    f.name = "f"
    y = (f * (x if times_x else 3.0)).sum()
    y.name = "y"
    with pytest.raises(ArithmeticError, match="this VJP fails"):
        y.backward()
    return y


def test_a_graph_whose_backward_failed_part_way_still_draws_without_inventing_leaves_or_names():
    """A VJP that raises stops ``backward()`` after the nodes above it were released; the graph
    still draws, in tape order, the node the pass never reached is not passed off as a leaf,
    and every title is a name the user gave or one the drawing numbers (n1, n2, ...)."""
    y = _a_backward_failed_part_way(times_x=False)
    boxes = graph_boxes(y)
    assert [(b.kind, b.title) for b in boxes] == [
        ("constant", "n1"),  # h: its skeleton was made, the pass never filled it
        ("op", "f"),
        ("constant", ""),
        ("op", "n2"),
        ("op", "y"),
    ]
    assert [b.formula for b in boxes if b.kind == "op"] == ["_fragile(n1)", "f * 3", "sum(n2)"]
    for box in boxes:
        assert all(i < box.key for i in box.inputs)
    assert "XXXX" not in to_dot(y) and "None" not in to_dot(y)


# -- Tensor.reshape with no dimensions ------------------------------------------------------------


def test_reshape_with_no_arguments_makes_a_one_entry_tensor_0_d_and_its_gradient_flows_back():
    """``t.reshape()`` is ``t.reshape(())``: a one-entry tensor becomes 0-d, as ``np.reshape(a,
    ())`` does, and the gradient comes back in the tensor's own shape."""
    t = Tensor(np.array([[2.5]]), requires_grad=True)
    r = t.reshape()
    assert r.shape == () and float(r.data) == 2.5
    (r * 3.0).backward()
    assert t.grad.shape == (1, 1) and t.grad[0, 0] == 3.0
    with pytest.raises(ValueError):
        Tensor(np.ones(2)).reshape()


# -- an activation's VJP on raw arrays -------------------------------------------------------------


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_an_activations_vjp_on_raw_arrays_runs_on_numpy_and_asks_the_pool_for_nothing(name):
    """Given arrays (not tensors, which it would record), the VJP of gelu and silu computes with
    NumPy's own functions: the engine's primitives, and the buffer pool they take their outputs
    from, stay out of it even for an array far above the pool's smallest size."""
    prim = ACTIVATIONS[name]
    a = np.linspace(-3.0, 3.0, 40_000)  # 320 kB, above min_bytes
    g = np.full_like(a, 0.5)
    ans = prim(a)
    before = pool.stats()
    ga = prim.vjps[0](g, ans, a)
    after = pool.stats()
    assert (after["hits"], after["misses"]) == (before["hits"], before["misses"])
    assert ga.shape == a.shape and np.all(np.isfinite(ga))


# -- the workspace cache, when a take wins the race to the workspace give is dropping -------------


class _RacedKey:
    """A cache key that, once armed, lets the cache's own ``take`` run at the moment the cache
    looks it up to drop it: what another thread's take does between the cache choosing its
    oldest workspace and popping it."""

    def __init__(self, cache, label):
        self.cache, self.label, self.armed = cache, label, False

    def __hash__(self):
        if self.armed:
            self.armed = False
            taken = self.cache.take(_SpecOf(self), 0)
            assert taken.key is self  # the other thread got it
        return hash(self.as_tuple())

    def as_tuple(self):
        return ("raced", self.label, None, 0)  # what take builds from _SpecOf(self) and m = 0

    def __eq__(self, other):
        return other is self or other == self.as_tuple()


class _SpecOf:
    """Just what ``WorkspaceCache.take`` reads of a spec to find the raced key's workspace."""

    def __init__(self, key):
        self.layer_dims, self.activations, self.dtype = "raced", key.label, None


class _Sized:
    def __init__(self, key, nbytes):
        self.key, self.nbytes = key, nbytes


def test_a_take_that_wins_the_race_to_the_oldest_workspace_is_counted_as_still_held():
    """When a take empties the oldest slot between the cache choosing it and popping it, the
    cache neither fails nor counts bytes it did not free: it goes on to the next oldest until
    what it holds fits (here: a cap one byte under both, so both go)."""
    cache = WorkspaceCache(max_bytes=1000)
    old_key = _RacedKey(cache, "old")
    old, new = _Sized(old_key, 300), _Sized(_RacedKey(cache, "new"), 200)
    cache.give(old)
    cache.give(new)
    assert len(cache) == 2 and cache.held_bytes == 500
    old_key.armed = True
    cache.set_max_bytes(499)
    assert not old_key.armed  # the race happened
    assert len(cache) == 0 and cache.held_bytes == 0


# -- the drawing's layout: six barycentre sweeps -------------------------------------------------


def _swept_graph():
    """A graph of 17 boxes on which the barycentre sweeps never settle (found by a search over
    random graphs): the order of its columns alternates from one sweep to the next, and after
    an even number of sweeps, six among them, x0 is above x1."""
    from backproof.autodiff import Value

    x0, x1 = Value(1.0, label="x0"), Value(2.0, label="x1")
    n2 = x0 + x0
    n3 = x0.tanh()
    n4 = n3 + n2
    n5 = x0 + x1
    n6 = n2 + x1
    n7 = n6 + n5
    n8 = n4 * x0
    n9 = n5.tanh()
    n10 = n2 * n6
    n11 = n8 + n8
    n12 = n4 + n3
    return n12 + n7 + n9 + n10 + n11


def test_the_layout_keeps_the_leaves_in_the_order_they_were_made_after_its_six_sweeps():
    import matplotlib.pyplot as plt

    from backproof.autodiff import draw

    ax = draw(_swept_graph(), engine="matplotlib")
    y = {t.get_text(): t.get_position()[1] for t in ax.texts}
    assert y["x0 (leaf)"] < y["x1 (leaf)"]  # y grows downwards: x0 on top
    plt.close(ax.figure)


def test_in_a_fresh_process_the_unreached_node_still_comes_before_the_first_tensor(monkeypatch):
    """A script's first tensor has stamp 1 (the count starts there, at import nothing is
    stamped); drawn beside a node a failed backward never reached, its box still comes second."""
    import itertools

    from backproof.autodiff import tensor as tensor_module

    monkeypatch.setattr(tensor_module, "next_stamp", itertools.count(1).__next__)
    y = _a_backward_failed_part_way(times_x=True)
    boxes = graph_boxes(y)
    assert [(b.kind, b.title) for b in boxes] == [
        ("constant", "n1"),
        ("leaf", "x"),
        ("op", "f"),
        ("op", "n2"),
        ("op", "y"),
    ]


# -- the graphs that create_graph=True records for a gradient --------------------------------------


def _gradient_ops(grad):
    return [b.formula for b in graph_boxes(grad) if b.kind == "op"]


def test_a_recorded_gradient_is_drawn_with_the_nodes_its_vjps_need_and_no_others():
    """With ``create_graph=True`` the gradient is a graph a user may draw: the VJP of a sum
    with kept dimensions broadcasts g back as it is (no reshape to the 1s it already has), the
    VJP of a product of two vectors scales the other vector by g (no indexing), and the tail
    of bce undoes its sum over the (1, m) row: a reshape to (1, 1), a broadcast to (1, m)."""
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    s = x.sum(keepdims=True)
    (s * s).sum().backward(create_graph=True)
    assert _gradient_ops(x.grad)[-2:] == ["n4 + n5", "broadcast_to(n6, (2, 3))"]

    u, v = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0, -1.0]))
    w = u @ v
    (w * w).backward(create_graph=True)
    assert _gradient_ops(u.grad)[-2:] == ["n5 + n6", "n7 * n2"]

    bce_tail = TENSOR_PRIMITIVES["bce_tail"]
    z = Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    sp = Tensor(np.log1p(np.exp(z.data)), requires_grad=True)
    J = bce_tail(sp, z, np.array([[1.0, 0.0, 1.0]]))
    (J * J).backward(create_graph=True)
    boxes = [b for b in graph_boxes(z.grad) if b.kind == "op"]
    assert [b.formula for b in boxes[-4:]] == [
        "reshape(n8, (1, 1))",
        "broadcast_to(n9, (1, 3))",
        "-n10",
        "n11 * [[1, 0, 1]]",
    ]
    assert boxes[-3].data == "[[0.2032, 0.2032, 0.2032]]"


def test_a_complex_one_column_product_gets_numpys_matmul_gradient_bit_for_bit():
    """The one-unit fast path (an outer product instead of a matrix product) gives matmul's
    bits only for real floats; complex tensors take NumPy's matmul: W.grad is g @ x^T."""
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((50, 30)) + 1j * rng.standard_normal((50, 30)), True)
    x = rng.standard_normal((30, 1)) + 1j * rng.standard_normal((30, 1))
    g = rng.standard_normal((50, 1)) + 1j * rng.standard_normal((50, 1))
    (W @ x).backward(g)
    assert W.grad.dtype == np.complex128
    assert np.array_equal(W.grad, np.matmul(g, x.T))
