"""What the Tensor, the graph drawings, the engine's network gradients and the buffer pool
promise, pinned where a mutation run found no test that would notice a change: a dtype asked
for is the dtype kept, a nested list works on either side of @ (with gradients), reshape and
transpose record the same operation however they are called, an unrecorded result says
requires_grad=False, a wrong engine is named, and a drawing crosses arrows only where the graph
forces it, keeps chains on one row and keeps boxes in the order they were made when nothing
else decides."""

import matplotlib
import numpy as np
import pytest

from backproof import autodiff, network
from backproof.autodiff import Tensor, Value
from backproof.autodiff import graph as G
from backproof.autodiff import primitives as P
from backproof.autodiff.pool import BufferPool
from backproof.network import NetworkSpec

matplotlib.use("Agg")


# -- Tensor: dtypes, operator and method forms ------------------------------------------------


def test_a_float_array_takes_the_dtype_asked_for():
    for given, asked in ((np.float64, np.float32), (np.float32, np.float64)):
        data = np.array([0.1, 0.2, 0.3], dtype=given)
        t = Tensor(data, dtype=asked)
        assert t.dtype == asked
        np.testing.assert_array_equal(t.data, data.astype(asked))
    kept = np.array([0.5, 1.5], dtype=np.float32)
    assert Tensor(kept).data is kept  # no dtype asked: a float array is taken as it is


def test_a_nested_list_at_a_tensor_is_a_recorded_matrix_product():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, name="t")
    out = [[1.0, -1.0]] @ t  # a list has no @: Python asks the Tensor's __rmatmul__
    assert type(out) is Tensor and out.op == "matmul" and out.requires_grad
    np.testing.assert_array_equal(out.data, [[-2.0, -2.0]])
    assert G.graph_boxes(out)[-1].formula == "[[1, -1]] @ t"


@pytest.mark.parametrize(
    "side, operand",
    [
        ("left", [[1.0, -1.0]]),
        ("left", [1.0, 2.0]),
        ("right", [[1.0], [2.0]]),
        ("right", [1.0, 2.0]),
    ],
)
def test_a_matrix_product_with_a_nested_list_has_the_gradients_of_one_with_an_array(side, operand):
    def gradients(constant, create_graph):
        t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        out = constant @ t if side == "left" else t @ constant
        (out * out).sum().backward(create_graph=create_graph)
        if not create_graph:
            return [t.grad]
        g, t.grad = t.grad, None  # recorded: its square sum is differentiated again
        (g * g).sum().backward()
        return [g.data, t.grad]

    for create_graph in (False, True):
        got = gradients(operand, create_graph)  # the list is a constant the VJPs read as an array
        expected = gradients(np.array(operand), create_graph)
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)


def formula(make) -> str:
    """The formula the drawing shows for ``make(x)``, x a leaf called x."""
    return G.graph_boxes(make(Tensor(np.arange(6.0), requires_grad=True, name="x")))[-1].formula


def test_reshape_draws_the_shape_as_one_tuple_whichever_way_it_is_given():
    assert formula(lambda x: x.reshape(6)) == "reshape(x, (6,))"
    assert formula(lambda x: x.reshape((6,))) == "reshape(x, (6,))"
    assert formula(lambda x: x.reshape(2, 3)) == formula(lambda x: x.reshape((2, 3)))


def test_transpose_takes_one_axis_as_numpy_does():
    assert formula(lambda x: x.transpose(0)) == "transpose(x, (0,))"
    v = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = v.transpose(-1)  # NumPy's a.transpose(-1) for a vector: the one axis, counted back
    np.testing.assert_array_equal(out.data, [1.0, 2.0, 3.0])
    (out * Tensor([4.0, 5.0, 6.0])).sum().backward()
    np.testing.assert_array_equal(v.grad, [4.0, 5.0, 6.0])
    m = Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(m.transpose(1, 0).data, m.transpose((1, 0)).data)


def test_transpose_without_axes_is_drawn_as_T_is():
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    assert G.graph_boxes(x.transpose())[-1].formula == G.graph_boxes(x.T)[-1].formula
    assert formula(lambda x: x.reshape(2, 3).transpose()) == "transpose(n1)"


def test_a_result_off_the_tape_says_requires_grad_false():
    plain = Tensor([1.0, 2.0]) * 2  # no argument requires a gradient
    assert plain.requires_grad is False and plain.is_leaf
    x = Tensor([1.0, 2.0], requires_grad=True)
    with autodiff.no_grad():
        unrecorded = x * 2
    assert unrecorded.requires_grad is False and unrecorded.is_leaf
    # the flag can be handed on to a new tensor, which accepts only True or False
    assert Tensor(unrecorded.data, requires_grad=unrecorded.requires_grad).requires_grad is False
    assert repr(unrecorded) == "Tensor([2. 4.])"


# -- the engine's network gradients -------------------------------------------------------------


def test_loss_and_grads_names_the_engine_argument():
    spec = NetworkSpec([2, 2, 1])
    params = network.init_params(spec)
    X, Y = np.ones((2, 3)), np.ones((1, 3))
    with pytest.raises(ValueError) as info:
        autodiff.loss_and_grads(spec, params, X, Y, engine="jax")
    assert str(info.value) == "engine must be one of ['scalar', 'tensor'], got 'jax'"


# -- the buffer pool ----------------------------------------------------------------------------


def test_out_gives_a_buffer_in_the_dtype_asked_for():
    p = BufferPool(min_bytes=64)
    for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        buf = p.out((4, 8), dtype)
        assert buf.shape == (4, 8) and buf.dtype == dtype
        p.give(buf)
        assert p.out((4, 8), dtype) is buf  # given back: served again, same shape and dtype


# -- the matplotlib drawing's layout ------------------------------------------------------------


def arrows(ax) -> list[list[tuple[float, float]]]:
    """Each arrow of a drawing as its corner points, the arrowhead's tip last."""
    heads = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(heads) == len(ax.lines)
    return [
        list(zip(line.get_xdata(), line.get_ydata())) + [tuple(head.xy)]
        for line, head in zip(ax.lines, heads)
    ]


def _side(p, q, r) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def crossings(ax) -> int:
    """How many pairs of arrows cross (strictly: arrows that leave one box together share
    their first stretch, which is no crossing)."""
    segments = [list(zip(a, a[1:])) for a in arrows(ax)]
    count = 0
    for i, first in enumerate(segments):
        for second in segments[i + 1 :]:
            count += any(
                _side(p, q, r) * _side(p, q, s) < 0 and _side(r, s, p) * _side(r, s, q) < 0
                for p, q in first
                for r, s in second
            )
    return count


def test_crossings_counts_arrows_that_cross():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    for xs, ys in (([0, 1], [0, 1]), ([0, 1], [1, 0]), ([0, 1], [0.5, 0.5])):
        ax.plot(xs, ys)
        ax.annotate("", xy=(1.5, ys[-1]), xytext=(1, ys[-1]))
    assert crossings(ax) == 3  # the diagonals cross each other and the level line
    plt.close("all")


def leaf(name: str) -> Tensor:
    return Tensor(np.full((2, 2), 0.5), requires_grad=True, name=name)


def x_passes_a_chain_to_enter_first():
    x = Value(0.5, label="x")
    return x * (x * 2).tanh().tanh()  # x's long arrow passes the chain, on top


def x_enters_two_products_first():
    x = Value(0.5, label="x")
    return x * (x * 2)  # x sits above the 2


def x_passes_a_tanh_chain_to_enter_first():
    x = Value(0.5, label="x")
    return x * x.tanh().tanh()


def an_affine_takes_x_first_and_its_square_second():
    x, b = leaf("x"), leaf("b")
    return P.affine(x, x * x, b)  # x's lane runs above x * x, b below


def a_weight_enters_an_affine_first_and_a_product_last():
    W, x = leaf("W"), leaf("x")
    # W enters W @ W + x above x, and (W @ W + x) @ W below the affine: one of W's arrows
    # must cross x's, and only one does
    return (P.affine(W, W, x) @ W).tanh()


@pytest.mark.parametrize(
    "make, fewest",
    [
        (x_passes_a_chain_to_enter_first, 0),
        (x_enters_two_products_first, 0),
        (x_passes_a_tanh_chain_to_enter_first, 0),
        (an_affine_takes_x_first_and_its_square_second, 0),
        (a_weight_enters_an_affine_first_and_a_product_last, 1),
    ],
)
def test_the_layout_crosses_arrows_only_where_the_graph_forces_it(make, fewest):
    import matplotlib.pyplot as plt

    ax = autodiff.draw(make(), engine="matplotlib")
    assert crossings(ax) == fewest
    plt.close("all")


def test_a_chain_of_one_input_operations_is_drawn_on_one_row():
    import matplotlib.pyplot as plt

    x = Value(0.25, label="x")
    ax = autodiff.draw(3 - x.tanh().tanh(), engine="matplotlib")
    level = [a for a in arrows(ax) if len({round(y, 9) for _, y in a}) == 1]
    assert len(level) == 2  # x -> tanh -> tanh; the 3 and the chain enter the minus at ports
    ax = autodiff.draw(3 - x.tanh(), engine="matplotlib")
    assert len([a for a in arrows(ax) if len({round(y, 9) for _, y in a}) == 1]) == 1
    plt.close("all")


def two_tanhs_in_both_orders():
    """a and b, b's tanh computed first; each product takes both tanhs, in opposite orders."""
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    tb, ta = b.tanh(), a.tanh()
    ta.label, tb.label = "ta", "tb"
    return ta * tb + tb * ta, ["a (leaf)", "b (leaf)"], [("ta = tanh(a)", "a (leaf)")]


def a_product_and_a_later_leaf_in_both_orders():
    """ab = a * b, then a leaf s; each product takes ab and s, in opposite orders."""
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    ab = a * b
    ab.label = "ab"
    s = Value(3.0, label="s")
    return ab * s + s * ab, ["ab = a * b", "s (leaf)"], []


@pytest.mark.parametrize(
    "make", [two_tanhs_in_both_orders, a_product_and_a_later_leaf_in_both_orders]
)
def test_when_the_arrows_pull_neither_way_boxes_keep_the_order_they_were_made_in(make):
    """The arrows into the two products pull neither of their inputs up or down; then the
    boxes sit top to bottom in the order they were made in, whatever order their consumers
    were computed in, and a box with one input stays level with it."""
    import matplotlib.pyplot as plt

    root, top_to_bottom, level = make()
    ax = autodiff.draw(root, engine="matplotlib")
    y = {t.get_text(): t.get_position()[1] for t in ax.texts}  # y grows downwards
    assert sorted(top_to_bottom, key=y.get) == top_to_bottom
    for one, other in level:
        assert y[one] == pytest.approx(y[other])
    plt.close("all")
