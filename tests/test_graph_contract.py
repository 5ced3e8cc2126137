"""What a drawing of a graph promises its reader: the exact DOT text, each operation's formula,
how numbers, indexes and constants are written, the node limit, and a matplotlib picture in
which every box, text and arrow sits where the layout rules put it."""

import matplotlib
import numpy as np
import pytest

from backproof import autodiff
from backproof.autodiff import Tensor, Value
from backproof.autodiff import graph as G
from backproof.autodiff import primitives as P

matplotlib.use("Agg")


def last_formula(root) -> str:
    return G.graph_boxes(root)[-1].formula


def test_the_dot_text_of_a_small_graph_line_by_line():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    out = a * b + 1
    out.backward()
    assert autodiff.to_dot(out) == (
        "digraph backproof {\n"
        "  rankdir=LR;\n"
        '  node [shape=record, style="rounded,filled", fontname="monospace", fontsize=10];\n'
        '  n0 [label="{a (leaf) | data 2 | grad -3}", fillcolor="#fff3c4"];\n'
        '  n1 [label="{b (leaf) | data -3 | grad 2}", fillcolor="#fff3c4"];\n'
        '  n2 [label="{n1 = a * b | data -6 | grad 1}", fillcolor="#e8f0fe"];\n'
        "  n0 -> n2;\n"
        "  n1 -> n2;\n"
        '  n3 [label="{1}", fillcolor="#eeeeee", shape=box, style="filled,dashed"];\n'
        '  n4 [label="{n2 = n1 + 1 | data -5 | grad 1}", fillcolor="#e8f0fe"];\n'
        "  n2 -> n4;\n"
        "  n3 -> n4;\n"
        "}\n"
    )


def test_dot_escapes_the_characters_a_record_label_reserves():
    x = Value(1.0, label='Xa|b{c}<d>"e\\')
    line = next(t for t in autodiff.to_dot(x).splitlines() if t.startswith("  n0 "))
    assert line.startswith('  n0 [label="{Xa\\|b\\{c\\}\\<d\\>\\"e\\\\ (leaf) | data 1 | grad 0}"')


def test_each_operator_reads_as_it_is_written_on_values_and_on_tensors():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    written = {
        "a + b": a + b, "a - b": a - b, "a * b": a * b, "a / b": a / b, "a ** 2": a**2,
        "-a": -a, "2 + a": 2 + a, "2 - a": 2 - a, "2 * a": 2 * a, "2 / a": 2 / a,
        "tanh(a)": a.tanh(), "exp(a)": a.exp(),
    }  # fmt: skip
    assert {f: last_formula(node) for f, node in written.items()} == {f: f for f in written}
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="x")
    w = Tensor(np.array([[1.0], [2.0]]), requires_grad=True, name="w")
    written = {
        "x + w": x + w, "x - w": x - w, "x * w": x * w, "x / w": x / w, "x ** 2": x**2,
        "x @ w": x @ w, "-x": -x, "x @ w + w": P.affine(x, w, w),
        "x @ w + b": P.affine(x, w, Tensor(np.ones((2, 1)), requires_grad=True, name="b")),
        "sum(x, axis=0)": P.sum(x, axis=0),
        "sum(x, axis=1, keepdims=True)": P.sum(x, axis=1, keepdims=True),
        "transpose(x)": x.T, "reshape(x, (4,))": P.reshape(x, (4,)),
    }  # fmt: skip
    assert {f: last_formula(node) for f, node in written.items()} == {f: f for f in written}


def test_a_reflected_operation_takes_the_constant_as_its_first_input():
    a = Value(2.0, label="a")
    leaf, constant, node = G.graph_boxes(2 - a)
    assert (leaf.kind, constant.kind, constant.data) == ("leaf", "constant", "2")
    assert node.inputs == (constant.key, leaf.key) and node.data == "0"


def test_how_numbers_are_written():
    text = G._number_text
    assert text(None) == "-"
    assert text(np.array(-0.0)) == "0" and text(-0.0) == "0"
    assert text(2.0 / 3.0) == "0.6667" and text(12345.0) == "1.234e+04"
    assert text(np.array([[[1.5]]])) == "1.5"  # one number in any shape
    assert text(np.array([-0.0, 1e-7])) == "[0, 1e-07]"
    assert text(np.arange(6.0).reshape(2, 3)) == "[[0, 1, 2], [3, 4, 5]]"  # SHOWN = 6 numbers
    assert text(np.arange(7.0)) == "shape (7,)"
    assert text((30, 40)) == "shape (30, 40)"  # what a released graph keeps of a large array
    assert text(Value(0.25)) == "0.25" and text(Tensor([1.0, 2.0])) == "[1, 2]"
    values = np.array([Value(1.0)], dtype=object)
    assert text(values) == repr(values)


def test_indexes_and_keyword_arguments_in_formulas():
    t = Tensor(np.arange(8.0).reshape(2, 4), requires_grad=True, name="t")
    assert last_formula(t[1:3:2]) == "t[1:3:2]"
    assert last_formula(t[:, 1:]) == "t[:, 1:]"
    assert last_formula(t[:, :2]) == "t[:, :2]"
    assert last_formula(t[..., 0]) == "t[..., 0]"
    assert last_formula(t[np.array([1, 0])]) == "t[[1, 0]]"
    assert last_formula(t[1]) == "t[1]"
    # keyword arguments left at None or False are not written
    assert last_formula(P.max(t, axis=None, keepdims=False)) == "max(t)"
    assert last_formula(P.max(t, axis=-1, keepdims=True)) == "max(t, axis=-1, keepdims=True)"


def test_a_constant_gets_a_name_when_its_text_is_longer_than_twelve_characters():
    t = Tensor(np.ones(4), requires_grad=True, name="t")
    short = G.graph_boxes(t * np.array([1.0, 2.0, 3.0, 4.0]))  # "[1, 2, 3, 4]": 12 characters
    assert short[-1].formula == "t * [1, 2, 3, 4]" and short[-2].title == ""
    long = G.graph_boxes(t * np.array([1.0, 2.0, 3.0, 40.0]) + np.array([5.0, 6.0, 7.0, 80.0]))
    assert [b.title for b in long if b.kind == "constant"] == ["c1", "c2"]
    assert long[-1].formula == "n1 + c2" and long[1].lines() == ["c1", "[1, 2, 3, 40]"]
    assert G.graph_boxes(P.reshape(t, (2, 2)))[-1].formula == "reshape(t, (2, 2))"


def test_unnamed_nodes_are_numbered_in_tape_order_and_names_win():
    x = Value(1.0)
    y = x * 2
    z = y + x
    z.label = "z"
    assert [b.title for b in G.graph_boxes(z) if b.kind != "constant"] == ["n1", "n2", "z"]


def test_a_released_graph_met_inside_a_newer_one_is_drawn_on_its_own():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = P.sum(x * x)
    y.backward()
    boxes = G.graph_boxes(y * 3)
    assert [(b.kind, b.formula, b.data) for b in boxes] == [
        ("op", "(released)", "5"),
        ("constant", "", "3"),
        ("op", "n1 * 3", "15"),
    ]
    assert boxes[0].inputs == () and boxes[0].title == "n1" and boxes[0].grad == "-"
    # the fields a caller reads: '' where a box has no formula (leaves, constants) or no gradient
    x = Value(1.0, label="x")
    leaf, constant, _ = G.graph_boxes(x * 3)
    assert (leaf.formula, constant.formula, constant.grad, constant.title) == ("", "", "", "")


def test_the_limit_counts_every_node_and_the_data():
    x = Tensor(np.ones((2, 2)), requires_grad=True, name="x")
    root = P.sum(x @ x)  # x, x @ x, sum: three nodes
    assert len(G.graph_boxes(root, limit=3)) == 3
    with pytest.raises(ValueError) as info:
        G.graph_boxes(root, limit=2)
    assert str(info.value) == "the graph has more than 2 nodes; raise limit to show it"
    with pytest.raises(ValueError, match="more than 2 nodes"):
        autodiff.draw(root, limit=2, engine="matplotlib")
    assert autodiff.to_dot(root, limit=3).count(" -> ") == 3  # x enters x @ x twice
    with pytest.raises(ValueError, match="more than 2 nodes"):
        autodiff.to_dot(root, limit=2)


# -- the matplotlib picture --------------------------------------------------------------------


def drawn(ax):
    """The boxes (patches), the arrows (a polyline and an arrowhead each) and the texts of a
    drawing, with the figure drawn once so that every artist has its final place."""
    ax.figure.canvas.draw()
    heads = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    texts = [t for t in ax.texts if t not in heads]
    return list(ax.patches), list(ax.lines), heads, texts


def division_graph():
    f = Value(1.5, label="f")
    return f * 2 + 10 / f  # a leaf, two constants, three operations


def test_the_picture_has_a_box_for_every_box_of_the_graph_in_its_colours():
    root = division_graph()
    ax = autodiff.draw(root, engine="matplotlib")
    patches, lines, heads, texts = drawn(ax)
    boxes = G.graph_boxes(root)
    colours = {"leaf": (1.0, 0xF3 / 255, 0xC4 / 255), "op": (0xE8 / 255, 0xF0 / 255, 0xFE / 255)}
    colours["constant"] = (0xEE / 255,) * 3
    assert sorted(tuple(np.round(p.get_facecolor()[:3], 6)) for p in patches) == sorted(
        tuple(np.round(colours[b.kind], 6)) for b in boxes
    )
    for p in patches:
        constant = np.allclose(p.get_facecolor()[:3], colours["constant"])
        assert p.get_linestyle() == ("--" if constant else "-")
        assert np.allclose(p.get_edgecolor()[:3], 0.35) and p.get_linewidth() == 0.8
    # arrows under boxes under text, in grey
    assert {line.get_zorder() for line in lines} == {h.get_zorder() for h in heads} == {1}
    assert {p.get_zorder() for p in patches} == {2} and {t.get_zorder() for t in texts} == {3}
    assert {line.get_color() for line in lines} == {"0.45"}
    assert all(line.get_linewidth() == 0.9 for line in lines)
    assert all(line.get_solid_capstyle() == "round" for line in lines)
    for h in heads:
        arrow = h.arrow_patch
        assert np.allclose(arrow.get_edgecolor()[:3], 0.45) and arrow.get_linewidth() == 0.9
        assert (arrow.shrinkA, arrow.shrinkB) == (0, 0)
        assert type(arrow.get_arrowstyle()).__name__ == "CurveFilledB"  # "-|>"
    assert not ax.axison and ax.get_aspect() == 1.0


def test_each_box_shows_its_lines_centred_titles_in_bold():
    root = division_graph()
    ax = autodiff.draw(root, engine="matplotlib")
    patches, _, _, texts = drawn(ax)
    expected = [line for b in G.graph_boxes(root) for line in b.lines()]
    assert sorted(t.get_text() for t in texts) == sorted(expected)
    bold = {t.get_text() for t in texts if t.get_weight() == "bold"}
    assert bold == {b.lines()[0] for b in G.graph_boxes(root) if b.kind != "constant"}
    renderer = ax.figure.canvas.get_renderer()
    for t in texts:
        assert (t.get_ha(), t.get_va()) == ("center", "center")
        assert t.get_family() == ["monospace"] and t.get_fontsize() == pytest.approx(8.0)
        inside = [p for p in patches if p.get_window_extent(renderer).contains(
            *t.get_window_extent(renderer).get_points().mean(axis=0))]  # fmt: skip
        (patch,) = inside
        text_box, patch_box = t.get_window_extent(renderer), patch.get_window_extent(renderer)
        assert patch_box.x0 < text_box.x0 and text_box.x1 < patch_box.x1  # the text fits
        x_centre = patch.get_x() + patch.get_width() / 2
        assert t.get_position()[0] == pytest.approx(x_centre)
    # the lines of a box are evenly spaced about its middle, top to bottom in order
    first_column = [t for t in texts if t.get_position()[0] < 1.0]
    f_lines = [t for t in first_column if t.get_text() in ("f (leaf)", "data 1.5", "grad 0")]
    f_lines.sort(key=lambda t: t.get_position()[1])
    assert [t.get_text() for t in f_lines] == ["f (leaf)", "data 1.5", "grad 0"]
    ys = [t.get_position()[1] for t in f_lines]
    assert ys[1] - ys[0] == pytest.approx(ys[2] - ys[1]) == pytest.approx(1.35 * 8 / 72)
    (f_patch,) = [p for p in patches if p.get_x() == 0.0]
    assert ys[1] == pytest.approx(f_patch.get_y() + f_patch.get_height() / 2)


def test_boxes_sit_in_columns_after_their_inputs_without_overlapping():
    root = division_graph()
    ax = autodiff.draw(root, engine="matplotlib")
    patches, lines, heads, _ = drawn(ax)
    rects = [(p.get_x(), p.get_y(), p.get_x() + p.get_width(), p.get_y() + p.get_height())
             for p in patches]  # fmt: skip
    centres = sorted({round((r[0] + r[2]) / 2, 9) for r in rects})
    assert len(centres) == 3  # the sources, the two operations, the sum
    columns = [[r for r in rects if round((r[0] + r[2]) / 2, 9) == c] for c in centres]
    assert [len(c) for c in columns] == [3, 2, 1]
    for left, right in zip(columns, columns[1:]):
        assert min(r[0] for r in right) - max(r[2] for r in left) >= 0.5 - 1e-9  # the gap
    for col in columns:
        col.sort(key=lambda r: r[1])
        for upper, lower in zip(col, col[1:]):
            assert lower[1] - upper[3] >= 0.16 - 1e-9
    # everything is inside the axes, with a margin
    x0, x1 = ax.get_xlim()
    bottom, top = ax.get_ylim()  # y grows downwards: the first items on top
    assert bottom > top
    assert x0 == pytest.approx(-0.15) and x0 < min(r[0] for r in rects)
    assert max(r[2] for r in rects) < x1 == pytest.approx(max(r[2] for r in rects) + 0.15)
    assert top == pytest.approx(min(r[1] for r in rects) - 0.15)
    assert bottom == pytest.approx(max(r[3] for r in rects) + 0.15)
    # the figure is the size of the layout, so a unit of the layout is an inch
    width, height = ax.figure.get_size_inches()
    assert width == pytest.approx(x1 - x0) and height == pytest.approx(bottom - top)


def test_arrows_run_level_into_their_target_first_argument_highest():
    f = Value(1.5, label="f")
    root = f / (f + 2)  # the division takes f first and f + 2 second
    ax = autodiff.draw(root, engine="matplotlib")
    patches, lines, heads, _ = drawn(ax)
    assert len(lines) == len(heads) == 4  # f -> +, 2 -> +, f -> /, (f + 2) -> /
    lefts = {round(p.get_x(), 9): p for p in patches}
    for line, head in zip(lines, heads):
        xs, ys = line.get_xdata(), line.get_ydata()
        assert (xs[-1], ys[-1]) == tuple(head.xyann)  # the arrowhead continues the line
        assert head.xy[1] == head.xyann[1]  # level into the target
        assert head.xy[0] - head.xyann[0] == pytest.approx(0.12)
        target = lefts[round(head.xy[0], 9)]  # it ends on the left edge of a box
        assert target.get_y() < head.xy[1] < target.get_y() + target.get_height()
        assert ys[0] == ys[1]  # out of the source along its own row
    division = max(patches, key=lambda p: p.get_x())
    into = [
        (line, h) for line, h in zip(lines, heads) if h.xy[0] == pytest.approx(division.get_x())
    ]
    # argument 0 (f, from the first column) enters on top, argument 1 (f + 2) below it
    (from_f, into_f), (from_sum, into_sum) = sorted(into, key=lambda lh: lh[0].get_xdata()[0])
    middle = division.get_y() + division.get_height() / 2
    assert into_f.xy[1] == pytest.approx(middle - 0.18 / 2)
    assert into_sum.xy[1] == pytest.approx(middle + 0.18 / 2)
    # each arrow leaves its source from the middle of the source box's right edge
    for line in lines:
        x, y = line.get_xdata()[0], line.get_ydata()[0]
        assert any(
            x == pytest.approx(p.get_x() + p.get_width())
            and y == pytest.approx(p.get_y() + p.get_height() / 2)
            for p in patches
        )
    lone = Value(2.0, label="x").tanh()  # one argument: straight into the middle
    ax = autodiff.draw(lone, engine="matplotlib")
    patches, _, (head,), _ = drawn(ax)
    target = max(patches, key=lambda p: p.get_x())
    assert head.xy[1] == pytest.approx(target.get_y() + target.get_height() / 2)


def test_text_scales_with_the_axes_it_is_drawn_into():
    import matplotlib.pyplot as plt

    root = division_graph()
    natural = autodiff.draw(root, engine="matplotlib")
    width = natural.get_xlim()[1] + 0.15
    height = natural.get_ylim()[0] - natural.get_ylim()[1]
    fig = plt.figure(figsize=(width, height), dpi=100)
    half = fig.add_axes((0, 0, 0.5, 1))  # half as wide: text at half size
    assert autodiff.draw(root, ax=half, engine="matplotlib") is half
    assert [t.get_fontsize() for t in drawn(half)[3]] == pytest.approx([4.0] * 14)
    fig = plt.figure(figsize=(width, height), dpi=100)
    flat = fig.add_axes((0, 0, 1, 0.25))  # a quarter as high: text at a quarter size
    autodiff.draw(root, ax=flat, engine="matplotlib")
    assert [t.get_fontsize() for t in drawn(flat)[3]] == pytest.approx([2.0] * 14)
    plt.close("all")


def test_a_long_arrow_passes_through_the_columns_between_on_a_lane_of_its_own():
    x = Value(0.5, label="x")
    root = ((x * 3).tanh() + 1) * x  # x also feeds the last node, four columns on
    ax = autodiff.draw(root, engine="matplotlib")
    patches, lines, heads, _ = drawn(ax)
    boxes = G.graph_boxes(root)
    assert len(lines) == sum(len(b.inputs) for b in boxes)
    longest = max(lines, key=lambda line: line.get_xdata()[-1] - line.get_xdata()[0])
    xs, ys = longest.get_xdata(), longest.get_ydata()
    # out, then across each column it passes at one height (a lane), then into the target
    assert len(xs) == 2 + 3 * 2 + 1
    for i in (2, 4, 6):
        assert ys[i] == ys[i + 1] and xs[i + 1] > xs[i]
    rects = [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in patches]
    for i in (2, 4, 6):  # a lane crosses no box
        y = ys[i]
        for rx, ry, rw, rh in rects:
            assert not (rx < (xs[i] + xs[i + 1]) / 2 < rx + rw and ry < y < ry + rh)


@pytest.fixture
def fake_dot(tmp_path, monkeypatch):
    """A stand-in for Graphviz's dot on PATH: it keeps its arguments and the DOT text it is
    given, and answers with the picture in ``picture.png`` (or fails, if ``fail`` exists)."""
    import os

    script = tmp_path / "dot"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{tmp_path}/args"\n'
        f'cat > "{tmp_path}/given.dot"\n'
        f'if [ -e "{tmp_path}/fail" ]; then echo "dot: syntax error" >&2; exit 1; fi\n'
        f'cat "{tmp_path}/picture.png"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    return tmp_path


def test_graphviz_renders_a_png_at_110_dpi_and_the_figure_takes_its_size(fake_dot):
    import subprocess

    import matplotlib.pyplot as plt

    plt.imsave(fake_dot / "picture.png", np.zeros((33, 55)))
    root = Value(1.0, label="x") * 2
    ax = autodiff.draw(root, engine="dot")
    assert (fake_dot / "args").read_text().split() == ["-Tpng", "-Gdpi=110"]
    assert (fake_dot / "given.dot").read_text() == autodiff.to_dot(root)
    assert ax.images[0].get_array().shape[:2] == (33, 55) and not ax.axison
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((55 / 110, 33 / 110))
    plt.imsave(fake_dot / "picture.png", np.zeros((5, 4500)))  # wider than 40 inches
    ax = autodiff.draw(root, engine="dot")
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((40, 5 / 110))
    plt.imsave(fake_dot / "picture.png", np.zeros((4500, 5)))
    ax = autodiff.draw(root, engine="dot")
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((5 / 110, 40))
    fig, given = plt.subplots(figsize=(2, 3))
    assert autodiff.draw(root, ax=given, engine="dot") is given
    assert tuple(fig.get_size_inches()) == (2, 3)
    (fake_dot / "fail").touch()
    with pytest.raises(subprocess.CalledProcessError):
        autodiff.draw(root, engine="dot")
    plt.close("all")


def chain(n_nodes: int) -> Value:
    """x, then n_nodes - 1 operations one after the other."""
    out = Value(0.5, label="x")
    for _ in range(n_nodes - 1):
        out = -out
    return out


def test_the_default_limits_500_nodes_for_text_and_60_for_a_picture():
    assert len(G.graph_boxes(chain(500))) == 500
    assert autodiff.to_dot(chain(500)).count(" -> ") == 499
    for too_many in (lambda: G.graph_boxes(chain(501)), lambda: autodiff.to_dot(chain(501))):
        with pytest.raises(ValueError, match="more than 500 nodes"):
            too_many()
    with pytest.raises(ValueError, match="more than 60 nodes"):
        autodiff.draw(chain(61), engine="matplotlib")


def test_a_large_picture_is_capped_at_60_inches_and_stays_on_its_figure():
    import matplotlib.pyplot as plt

    wide = autodiff.draw(chain(60), engine="matplotlib")  # 60 columns of about 1.5 inches
    assert wide.figure.get_size_inches()[0] == 60
    leaves = [Tensor(np.ones(1), requires_grad=True) for _ in range(90)]
    tall = autodiff.draw(P.stack(leaves), engine="matplotlib", limit=100)  # 90 boxes in a column
    assert tall.figure.get_size_inches()[1] == 60
    for ax in (wide, tall, autodiff.draw(division_graph(), engine="matplotlib")):
        ax.apply_aspect()  # where drawing would put the axes, without rendering
        x0, y0, x1, y1 = ax.get_position(original=False).extents
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert (x1 - x0 == pytest.approx(1)) or (y1 - y0 == pytest.approx(1))
    plt.close("all")


def test_arrowheads_carry_no_text_and_boxes_have_round_corners():
    ax = autodiff.draw(division_graph(), engine="matplotlib")
    patches, _, heads, _ = drawn(ax)
    assert {h.get_text() for h in heads} == {""}
    for p in patches:
        style = p.get_boxstyle()
        assert type(style).__name__ == "Round"
        assert (style.pad, style.rounding_size) == (0, 0.05)


def test_an_index_is_written_in_full_even_when_long():
    t = Tensor(np.arange(8.0), requires_grad=True, name="t")
    assert last_formula(t[[0, 1, 2, 3, 4, 5, 6]]) == "t[[0, 1, 2, 3, 4, 5, 6]]"


def columns_of(ax, root) -> dict:
    """The column of every box of the graph in the picture, found by its first line of text."""
    _, _, _, texts = drawn(ax)
    centres = sorted({round(t.get_position()[0], 9) for t in texts})
    column = {}
    for box in G.graph_boxes(root):
        (x,) = {round(t.get_position()[0], 9) for t in texts if t.get_text() == box.lines()[0]}
        column[box.key] = centres.index(x)
    return column


def test_each_operation_is_one_column_right_of_its_furthest_input_and_sources_just_left():
    x, w = Value(0.5, label="x"), Value(2.0, label="w")
    a = (x * 3).tanh()
    root = (a + 1) * a * w  # w is needed only at the end: it sits just left of its consumer
    ax = autodiff.draw(root, engine="matplotlib")
    column = columns_of(ax, root)
    boxes = G.graph_boxes(root)
    consumers = {b.key: [c.key for c in boxes if b.key in c.inputs] for b in boxes}
    for b in boxes:
        if b.inputs:
            assert column[b.key] == 1 + max(column[i] for i in b.inputs), b
        else:
            assert column[b.key] == min(column[c] for c in consumers[b.key]) - 1, b
    assert min(column.values()) == 0 and column[boxes[-1].key] == 5
    lone = Value(1.0, label="lone")
    assert columns_of(autodiff.draw(lone, engine="matplotlib"), lone) == {0: 0}


def test_three_arguments_enter_top_middle_bottom():
    W = Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    A = Tensor(np.ones((2, 1)), requires_grad=True, name="A")
    b = Tensor(np.ones((2, 1)), requires_grad=True, name="b")
    root = P.affine(W, A, b)
    ax = autodiff.draw(root, engine="matplotlib")
    patches, lines, heads, texts = drawn(ax)
    target = max(patches, key=lambda p: p.get_x())
    middle = target.get_y() + target.get_height() / 2
    # an arrow leaves its source at the height of the source's middle line (its data)
    entry_by_source = {
        round(line.get_ydata()[0], 9): h.xy[1] - middle for line, h in zip(lines, heads)
    }
    title_y = {t.get_text(): t.get_position()[1] for t in texts}
    entries = [entry_by_source[round(title_y[f"{n} (leaf)"] + 1.35 * 8 / 72, 9)] for n in "WAb"]
    assert entries == pytest.approx([-0.09, 0.0, 0.09])
    # the three sources want the height of their consumer: packed tight, centred on it
    leaf_boxes = sorted((p for p in patches if p is not target), key=lambda p: p.get_y())
    for upper, lower in zip(leaf_boxes, leaf_boxes[1:]):
        assert lower.get_y() - (upper.get_y() + upper.get_height()) == pytest.approx(0.16)
    centres = [p.get_y() + p.get_height() / 2 for p in leaf_boxes]
    assert np.mean(centres) == pytest.approx(middle)


def test_the_inputs_of_an_operation_are_stacked_in_argument_order():
    late = Value(2.0, label="made_first")
    early = Value(1.0, label="made_second")
    root = early * late  # argument 0 was made second: it is still drawn on top
    ax = autodiff.draw(root, engine="matplotlib")
    _, _, _, texts = drawn(ax)
    y = {t.get_text(): t.get_position()[1] for t in texts}
    assert y["made_second (leaf)"] < y["made_first (leaf)"]


def test_text_sits_in_its_box_with_an_even_margin_all_round():
    root = division_graph()
    ax = autodiff.draw(root, engine="matplotlib")
    patches, _, _, texts = drawn(ax)
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    spacing = 1.35 * 8 / 72
    for p in patches:
        inside = [t for t in texts if p.get_x() < t.get_position()[0] < p.get_x() + p.get_width()
                  and p.get_y() < t.get_position()[1] < p.get_y() + p.get_height()]  # fmt: skip
        widest = max(t.get_window_extent(renderer).transformed(to_data).width for t in inside)
        side = (p.get_width() - widest) / 2
        top = (p.get_height() - len(inside) * spacing) / 2
        # 0.07 inch above and below; at the sides the font's own spacing takes a little of it
        assert 0.04 < side <= 0.07 + 1e-9 and top == pytest.approx(0.07, abs=1e-9)


def test_the_messages_of_draw(tmp_path, monkeypatch):
    with pytest.raises(TypeError) as info:
        autodiff.draw(Value(1.0) * 2, "graph.png")
    assert str(info.value) == (
        "ax must be a matplotlib Axes or None, got str 'graph.png' "
        "(to save a picture: draw(root).figure.savefig(path))"
    )
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    with pytest.raises(RuntimeError) as info:
        autodiff.draw(Value(1.0) * 2, engine="dot")
    assert str(info.value) == "engine='dot' needs Graphviz's dot program, which is not installed"
    with pytest.raises(ValueError) as info:
        autodiff.draw(Value(1.0) * 2, engine="graphviz")
    assert str(info.value) == "engine must be 'auto', 'dot' or 'matplotlib', got 'graphviz'"


def test_graphviz_is_given_the_limit_too(fake_dot):
    import matplotlib.pyplot as plt

    plt.imsave(fake_dot / "picture.png", np.zeros((3, 4)))
    autodiff.draw(chain(550), engine="dot", limit=600)
    assert (fake_dot / "given.dot").read_text().count(" -> ") == 549
    plt.close("all")


def arrow_crossings(ax) -> int:
    """Pairs of arrows between the same two neighbouring columns that cross each other."""
    _, lines, heads, _ = drawn(ax)
    spans = []
    for line, head in zip(lines, heads):
        if len(line.get_xdata()) == 3:  # straight from one column into the next
            spans.append((round(head.xyann[0], 6), line.get_ydata()[0], head.xy[1]))
    count = 0
    for i, (x1, s1, t1) in enumerate(spans):
        for x2, s2, t2 in spans[i + 1 :]:
            if x1 == x2:  # into the same column
                count += (s1 - s2) * (t1 - t2) < -1e-12
    return count


def interleaved_tree(seed: int) -> Value:
    """A tree whose leaves are made in an order that draws crossed arrows if left as made."""
    rng = np.random.default_rng(seed)
    leaves = [Value(float(i), label=f"x{i}") for i in range(8)]
    order = rng.permutation(8)
    level = [leaves[i] * leaves[j] for i, j in zip(order[::2], order[1::2])]
    level = [level[i] + level[j] for i, j in ((0, 2), (3, 1))]
    return level[1] * level[0]


@pytest.mark.parametrize("seed", range(4))
def test_the_ordering_untangles_the_arrows_of_a_tree(seed):
    root = interleaved_tree(seed)
    assert arrow_crossings(autodiff.draw(root, engine="matplotlib")) == 0


def test_a_graph_released_with_nothing_kept_says_so_in_full():
    from backproof.autodiff.tensor import grads_of

    x = Tensor(np.ones(2), requires_grad=True)
    out = P.sum(x * x)
    grads_of(out, [x])
    with pytest.raises(ValueError) as info:
        G.graph_boxes(out)
    assert str(info.value) == (
        "this graph was released by a backward pass that kept nothing to draw (autodiff.grad and "
        "loss_and_grads do not); call .backward() on the result to draw it afterwards"
    )
