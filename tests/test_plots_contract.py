"""What a reader of the study's pictures relies on, checked on the drawn matplotlib figures.

Each plot function writes a PNG and closes its figure; the ``drawn`` fixture keeps every saved
figure so that the tests can read back what was drawn: the data of each line, bar and image
(equal to the input), the scales, the colours (one per series, the legend's the same as the
drawing's), the words a reader reads, and the layout (every text inside the figure, the caption
and the legend clear of the axes).
"""

import os
import struct
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, to_rgba

from backproof.compare import plots, study

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]
DPI = 110
CAPTION = (
    "Network 2-8-1 (sigmoid, sigmoid), bce loss, article init, seed 3; data: moons, 200 "
    "examples; learning rate 2. What to see: a caption long enough to need several lines, "
    "wrapped to the width of the figure so that no word runs off its right edge, printed in "
    "small type under the axes and under the legend, never on top of them."
)


def rgba(color):
    return to_rgba(color)


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def caption_text(fig):
    return next(t for t in fig.texts if t is not fig._suptitle)


def _overlap(a, b, slack=0.5) -> bool:
    return (
        a.x0 < b.x1 - slack and b.x0 < a.x1 - slack and a.y0 < b.y1 - slack and b.y0 < a.y1 - slack
    )


def check_page(fig, path, *, base, title, caption=CAPTION, legend=False):
    """The layout a reader relies on, the same for every picture.

    - the PNG is the figure at 110 dpi; the figure is ``base`` inches plus a strip for the
      legend (0.4 in) and one for the caption (0.16 in a line and 0.15 in of margin);
    - the title is on top, the caption is the wrapped text in 8-point type at the bottom left;
    - every text, tick label and legend lies inside the figure; the caption and the legend
      overlap no axes and not each other, and the legend is centred;
    - the figure is closed once written.
    """
    assert not plt.fignum_exists(fig.number)  # closed: a long study does not pile up figures
    renderer = renderer_of(fig)
    lines = textwrap.wrap(caption, int(base[0] * 17)) if caption else []
    height = base[1] + (0.16 * len(lines) + 0.15 if lines else 0.0) + (0.4 if legend else 0.0)
    assert tuple(fig.get_size_inches()) == pytest.approx((base[0], height))
    assert fig.saved_with.get("dpi") == DPI
    width_px, height_px = png_size(path)
    assert abs(width_px - base[0] * DPI) <= 1 and abs(height_px - height * DPI) <= 1

    assert fig._suptitle.get_text() == title and fig._suptitle.get_fontsize() == 10.5
    box = fig.bbox
    inside = lambda b: (  # noqa: E731
        b.x0 >= box.x0 - 1 and b.y0 >= box.y0 - 1 and b.x1 <= box.x1 + 1 and b.y1 <= box.y1 + 1
    )
    axes_boxes = [ax.get_tightbbox(renderer) for ax in fig.axes]
    assert all(inside(b) for b in axes_boxes), "axes, ticks or labels outside the figure"
    for ax in fig.axes:
        for t in [*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label]:
            if t.get_text():
                assert inside(t.get_window_extent(renderer)), t.get_text()
    title_box = fig._suptitle.get_window_extent(renderer)
    assert inside(title_box) and all(title_box.y0 >= b.y1 - 1 for b in axes_boxes)

    bottom_strip = []
    if lines:
        cap = caption_text(fig)
        assert cap.get_text() == "\n".join(lines)
        assert (cap.get_ha(), cap.get_va(), cap.get_fontsize()) == ("left", "bottom", 8)
        cap_box = cap.get_window_extent(renderer)
        assert inside(cap_box), "caption runs off the figure"
        # at the bottom left: 0.08 in above the edge, 1.5 % of the width in
        assert abs(cap_box.y0 - 0.08 * fig.dpi) < 1.5 and abs(cap_box.x0 - 0.015 * box.width) < 1.5
        bottom_strip.append(cap_box)
    else:
        assert fig.texts == [fig._suptitle]
    if legend:
        (leg,) = fig.legends
        leg_box = leg.get_window_extent(renderer)
        assert inside(leg_box), "legend outside the figure"
        assert abs((leg_box.x0 + leg_box.x1) / 2 - box.width / 2) < 2  # centred
        assert not leg.get_frame_on() and leg.get_texts()[0].get_fontsize() == 8
        for cap_box in bottom_strip:
            assert leg_box.y0 >= cap_box.y1 - 1, "legend on the caption"
        bottom_strip.append(leg_box)
    else:
        assert not fig.legends
    # the axes fill the figure down to the strips, and not into them
    strips_top = (height - base[1]) * fig.dpi
    lowest = min(b.y0 for b in axes_boxes)
    assert strips_top - 1 <= lowest <= strips_top + 0.3 * fig.dpi
    for strip in bottom_strip:
        for b in axes_boxes:
            assert not _overlap(strip, b), "caption or legend on the axes"
            assert strip.y1 <= b.y0 + 1  # below the axes, not beside them


def renderer_of(fig):
    """A drawn Agg renderer for a closed figure (closing it took its canvas away)."""
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def legend_rows(legend, renderer) -> int:
    return len({round(t.get_window_extent(renderer).y0) for t in legend.get_texts()})


def line_color(line):
    return to_rgba(line.get_color())


# -- cost histories ----------------------------------------------------------------------------
HISTORIES = {
    "manual": [0.70, 0.61, 0.55, 0.52, 0.50],
    "tensor": [0.70, 0.61, 0.55, 0.52, 0.51],
    "scalar": [0.69, 0.60, 0.56, 0.53],
    "autograd": [0.71, 0.62, 0.57],
}


def test_cost_histories_draw_each_run_in_its_own_style_under_a_caption(drawn, tmp_path):
    path = plots.plot_cost_histories(HISTORIES, tmp_path / "new" / "c.png", caption=CAPTION)
    assert path == os.fspath(tmp_path / "new" / "c.png") and os.path.isfile(path)
    (fig,) = drawn
    check_page(fig, path, base=(6.4, 3.8), title="training runs from the same start")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == list(HISTORIES)
    for line, hist in zip(ax.lines, HISTORIES.values()):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(hist)))
        np.testing.assert_array_equal(line.get_ydata(), hist)
    # overlaid curves stay visible: each narrower and in another dash than the one below it
    assert [line.get_linestyle() for line in ax.lines] == ["-", "--", ":", "-."]
    assert [line.get_linewidth() for line in ax.lines] == pytest.approx([2.2, 1.6, 1.0, 0.4])
    colors = [line_color(line) for line in ax.lines]
    assert len(set(colors)) == 4
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(HISTORIES)
    assert [line_color(h) for h in legend.legend_handles] == colors
    assert [h.get_linestyle() for h in legend.legend_handles] == ["-", "--", ":", "-."]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "cost J")
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")


def test_a_given_title_replaces_the_default_and_no_caption_adds_no_strip(drawn, tmp_path):
    path = plots.plot_cost_histories({"manual": [1.0, 0.5]}, tmp_path / "c.png", title="Mine")
    check_page(drawn[-1], path, base=(6.4, 3.8), title="Mine", caption="")
    style = drawn[-1].axes[0].lines[0]
    assert (style.get_linestyle(), style.get_linewidth()) == ("-", 2.2)


def test_a_fifth_run_starts_the_dashes_again_in_a_colour_of_its_own(drawn, tmp_path):
    runs = {f"run {i}": [1.0, 0.5 - 0.01 * i] for i in range(5)}
    plots.plot_cost_histories(runs, tmp_path / "c.png")
    lines = drawn[-1].axes[0].lines
    assert [line.get_linestyle() for line in lines] == ["-", "--", ":", "-.", "-"]
    assert len({line_color(line) for line in lines}) == 5


# -- parameter errors --------------------------------------------------------------------------
ERRORS = {
    "autograd": {"manual": [0.0, 3e-17, 2e-15], "tensor": [1e-16, 0.0, 2e-15], "scalar": [0, 0, 0]},
    "fd": {"manual": [1e-9, 2e-9, 3e-9], "tensor": [1e-9, 2e-9, 3e-9], "scalar": [4e-9, 0, 5e-9]},
}
TOLERANCES = {"autograd": (2.2e-12, "tolerance 2.2e-12"), "fd": (1e-7, "entrywise tolerance")}
PARAMS = ["W1", "b1", "W2"]


def _bars(ax):
    """(centre, bottom, top, colour, hatch, edge colour) of each bar, sorted: only a hatched
    bar (a verdict that is not pass) is outlined."""
    return sorted(
        (
            round(b.get_x() + b.get_width() / 2, 9),
            b.get_y(),
            b.get_y() + b.get_height(),
            b.get_facecolor(),
            b.get_hatch() or None,
            b.get_edgecolor(),
        )
        for b in ax.patches
    )


def test_param_errors_draw_every_error_as_a_bar_on_a_shared_log_axis(drawn, tmp_path):
    passed = {r: {i: [True] * 3 for i in by} for r, by in ERRORS.items()}
    passed["fd"]["tensor"][2] = False
    path = plots.plot_param_errors(
        ERRORS, PARAMS, TOLERANCES, tmp_path / "e.png", passed=passed, caption=CAPTION
    )
    (fig,) = drawn
    check_page(fig, path, base=(3.4 * 2 + 0.6, 3.6), title="gradient error per parameter",
               legend=True)  # fmt: skip
    ax_ag, ax_fd = fig.axes
    bottom, top = 1e-18, 1e-6  # a decade below the smallest error, a decade above the largest line
    width = 0.8 / 3
    for ax, ref in ((ax_ag, "autograd"), (ax_fd, "fd")):
        assert ax.get_yscale() == "log" and ax.get_ylim() == pytest.approx((bottom, top))
        assert ax.get_title() == f"against {ref}" and ax.title.get_fontsize() == 9
        assert list(ax.get_xticks()) == [0, 1, 2]
        assert [t.get_text() for t in ax.get_xticklabels()] == PARAMS
        expected, zeros = [], {}
        for k, impl in enumerate(ERRORS[ref]):
            for i, v in enumerate(ERRORS[ref][impl]):
                centre = round(i + (k - 1) * width, 9)  # side by side, centred on the tick
                if v > 0:
                    bad = not passed[ref][impl][i]
                    expected.append((centre, bottom, v, rgba(COLORS[k]), "///" if bad else None,
                                     rgba("black") if bad else (0, 0, 0, 0)))  # fmt: skip
                else:
                    zeros.setdefault(k, []).append(centre)
        got = _bars(ax)
        assert len(got) == len(expected)
        for g, e in zip(got, sorted(expected)):
            assert g[0] == e[0] and g[1] == pytest.approx(bottom) and g[2] == pytest.approx(e[2])
            assert g[3:] == e[3:]
        assert all(b.get_width() == pytest.approx(width) for b in ax.patches)
        marks = [line for line in ax.lines if line.get_marker() == "$0$"]
        assert len(marks) == 3  # one series of zero marks per implementation, maybe empty
        for k, line in enumerate(marks):
            assert line_color(line) == rgba(COLORS[k]) and line.get_linestyle() == "None"
            assert line.get_markersize() == 7
            np.testing.assert_allclose(line.get_xdata(), zeros.get(k, []), atol=1e-12)
            np.testing.assert_allclose(line.get_ydata(), [2.2 * bottom] * len(zeros.get(k, [])))
        value, label = TOLERANCES[ref]
        (tol,) = [line for line in ax.lines if line.get_marker() != "$0$"]
        assert list(tol.get_ydata()) == [value, value] and line_color(tol) == rgba("crimson")
        assert (tol.get_linestyle(), tol.get_linewidth()) == ("--", 1.2)
        (text,) = ax.texts
        assert text.get_text() == label and to_rgba(text.get_color()) == rgba("crimson")
        assert (text.get_ha(), text.get_fontsize()) == ("left", 7)
        # just above its line, at the left edge of the panel
        where = text.get_transform().transform(text.get_position())
        assert where == pytest.approx(ax.get_yaxis_transform().transform((0.02, value * 1.6)))
        assert where[1] > ax.transData.transform((0, value))[1]
    assert ax_ag.get_shared_y_axes().joined(ax_ag, ax_fd)
    assert ax_ag.get_ylabel() == "max |g − ref| / max |ref|" and ax_fd.get_ylabel() == ""
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "manual", "tensor", "scalar", "exactly 0 (bit-identical)"
    ]  # fmt: skip
    handles = legend.legend_handles
    assert [h.get_facecolor() for h in handles[:3]] == [rgba(c) for c in COLORS[:3]]
    assert handles[3].get_marker() == "$0$" and line_color(handles[3]) == rgba("0.3")
    assert handles[3].get_linestyle() == "None"
    assert legend_rows(legend, renderer_of(fig)) == 1
    assert legend.get_texts()[0].get_fontsize() == 8


def _errors(n_impls, values=(1e-9, 2e-9)):
    return {"fd": {f"impl{k}": list(values) for k in range(n_impls)}}


@pytest.mark.parametrize("n_impls, rows", [(5, 1), (6, 2)])
def test_a_legend_of_up_to_six_entries_is_one_row_and_longer_ones_wrap_at_four(
    drawn, tmp_path, n_impls, rows
):
    plots.plot_param_errors(_errors(n_impls), ["W1", "b1"], {}, tmp_path / "e.png")
    legend = drawn[-1].legends[0]
    assert legend_rows(legend, renderer_of(drawn[-1])) == rows
    assert legend._ncols == (n_impls + 1 if n_impls + 1 <= 6 else 4)


def test_eleven_implementations_reuse_the_colour_cycle(drawn, tmp_path):
    plots.plot_param_errors(_errors(11), ["W1", "b1"], {}, tmp_path / "e.png")
    (ax,) = drawn[-1].axes
    colors = {round(b.get_x() + b.get_width() / 2, 6): b.get_facecolor() for b in ax.patches}
    by_impl = [colors[round(k * 0.8 / 11 - 0.4 + 0.4 / 11, 6)] for k in range(11)]
    assert by_impl == [rgba(COLORS[k % 10]) for k in range(11)]
    assert not any(b.get_hatch() for b in ax.patches)  # no verdicts given: none hatched
    handles = drawn[-1].legends[0].legend_handles
    assert [h.get_facecolor() for h in handles[:11]] == by_impl


@pytest.mark.parametrize(
    "tolerances, limits",
    [
        ({"autograd": (2.2e-12, "t")}, (1e-16, 1e-10)),  # from the tolerance line
        ({}, (1e-4, 1e-2)),  # nothing to go by: a decade scale around 1e-3
    ],
)
def test_all_zero_errors_still_get_a_sensible_log_axis(drawn, tmp_path, tolerances, limits):
    errors = {"autograd": {"manual": [0.0, 0.0], "tensor": [0.0, 0.0]}}
    plots.plot_param_errors(errors, ["W1", "b1"], tolerances, tmp_path / "z.png")
    (ax,) = drawn[-1].axes
    assert ax.get_ylim() == pytest.approx(limits)
    assert not ax.patches
    marks = [line for line in ax.lines if line.get_marker() == "$0$"]
    assert [len(line.get_xdata()) for line in marks] == [2, 2]


# -- step sweep --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep():
    return study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))


def test_step_sweep_draws_the_three_errors_their_guides_and_the_round_off(drawn, tmp_path, sweep):
    path = plots.plot_step_sweep(sweep, tmp_path / "s.png", caption=CAPTION)
    (fig,) = drawn
    check_page(fig, path, base=(6.6, 4.2), title="finite differences against step size")
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step h", "|estimate − exact|")
    h = sweep.steps
    data = {line.get_label(): line for line in ax.lines if line.get_marker() == "o"}
    assert list(data) == ["forward", "central", "richardson"]
    colors = [line_color(line) for line in data.values()]
    assert len(set(colors)) == 3
    guides = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(guides) == 3
    eps = np.finfo(float).eps
    roundoff = eps * abs(sweep.f0) / h
    texts = {t.get_text(): t for t in ax.texts}
    for (name, line), guide, power, word in zip(
        data.items(), guides, (1, 2, 4), ("∝ h", "∝ h²", "∝ h⁴")
    ):
        err = getattr(sweep, name)
        np.testing.assert_array_equal(line.get_xdata(), h)
        np.testing.assert_array_equal(line.get_ydata(), np.where(err > 0, err, np.nan))
        assert line.get_markersize() == 3 and line.get_linestyle() == "-"
        # a guide of slope `power`, a factor 4 under the largest step's error, that stops
        # where round-off takes over
        g = 0.25 * err[0] * (h / h[0]) ** power
        keep = g >= roundoff
        np.testing.assert_allclose(guide.get_xdata(), h[keep])
        np.testing.assert_allclose(guide.get_ydata(), g[keep])
        assert line_color(guide) == rgba("0.55") and guide.get_linewidth() == 1
        mid = np.flatnonzero(keep)[keep.sum() // 2]
        text = texts[word]
        assert text.get_position() == pytest.approx((h[mid], g[mid] / 3))
        assert (text.get_va(), text.get_fontsize()) == ("top", 8)
        assert to_rgba(text.get_color()) == rgba("0.35")
    (round_line,) = [line for line in ax.lines if line.get_linestyle() == "-."]
    np.testing.assert_allclose(round_line.get_xdata(), h)
    np.testing.assert_allclose(round_line.get_ydata(), roundoff)
    assert line_color(round_line) == rgba("0.55") and round_line.get_linewidth() == 1
    text = texts[" ∝ eps·|f|/h"]
    assert text.get_position() == pytest.approx((h.min(), roundoff.max()))
    assert (text.get_va(), text.get_fontsize()) == ("bottom", 8)

    # reference marks at the documented steps
    verticals = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(verticals) == len(sweep.classic_steps) == 2
    for line, (name, step) in zip(verticals, sweep.classic_steps.items()):
        assert list(line.get_xdata()) == [step, step] and line_color(line) == line_color(data[name])
        label = texts[f" {name} fixed step"]
        assert label.get_position() == pytest.approx((step, 0.02))
        assert (label.get_rotation(), label.get_va(), label.get_fontsize()) == (90, "bottom", 7)
        assert label.get_transform() == ax.get_xaxis_transform()
    (band,) = ax.patches
    span = (band.get_x(), band.get_x() + band.get_width())
    assert span == pytest.approx((sweep.ladder.min(), sweep.ladder.max()))
    assert band.get_zorder() == 0 and band.get_facecolor() == rgba("0.9")
    ladder = texts["check_grad's ladder"]
    middle = np.sqrt(sweep.ladder.min() * sweep.ladder.max())
    assert ladder.get_position() == pytest.approx((middle, 0.98))
    assert (ladder.get_ha(), ladder.get_va(), ladder.get_fontsize()) == ("center", "top", 7)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["forward", "central", "richardson"]
    assert [line_color(h) for h in legend.legend_handles] == colors
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 - frame.x0 < 0.1 * frame.width and box.y0 - frame.y0 < 0.1 * frame.height


def _sweep(f0, first_error):
    steps = np.array([1.0, 0.5, 0.25])
    errors = np.array([first_error, 1.0, 1.0])
    classic = {"central": 1e-5, "richardson": 1e-3}
    return study.StepSweep(steps, errors, errors, errors, f0, 1.0, classic, np.array([1e-4, 1e-2]))


def test_a_guide_reaches_down_to_the_round_off_line_and_not_past_it(drawn, tmp_path):
    # eps·|f0| = 1, so round-off is 1/h: [1, 2, 4]; the guides start at 0.25·4 = 1 = round-off
    plots.plot_step_sweep(_sweep(-(2.0**52), 4.0), tmp_path / "s.png")  # |f0| sets round-off
    (ax,) = drawn[-1].axes
    guides = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [list(g.get_xdata()) for g in guides] == [[1.0]] * 3
    assert [list(g.get_ydata()) for g in guides] == [[1.0]] * 3


def test_a_method_already_at_round_off_gets_no_guide(drawn, tmp_path):
    # a large, nearly linear function: the error at the largest step is rounding already
    x0 = 0.7
    sweep = study.step_sweep(lambda x: float(1e6 + 3 * x[0] + 1e-9 * x[0] ** 2), np.array([x0]),
                             (0,), 3.0 + 2e-9 * x0)  # fmt: skip
    plots.plot_step_sweep(sweep, tmp_path / "s.png")
    (ax,) = drawn[-1].axes
    assert not [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_label() for line in ax.lines if line.get_marker() == "o"] == [
        "forward", "central", "richardson"
    ]  # fmt: skip
    plots.plot_step_sweep(_sweep(2.0**52, 3.9), tmp_path / "t.png")
    assert not [line for line in drawn[-1].axes[0].lines if line.get_linestyle() == "--"]


def test_the_sweep_legend_stays_in_the_lower_left_corner_whatever_the_data(drawn, tmp_path):
    steps = np.logspace(-1, -8, 15)
    errors = steps**2  # the points themselves run through the lower left
    sweep = study.StepSweep(steps, errors, errors, errors, 1.0, 1.0, {}, np.array([1e-5, 1e-3]))
    plots.plot_step_sweep(sweep, tmp_path / "s.png")
    (ax,) = drawn[-1].axes
    renderer_of(drawn[-1])
    box, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert box.x0 - frame.x0 < 0.1 * frame.width and box.y0 - frame.y0 < 0.1 * frame.height


# -- Taylor test -------------------------------------------------------------------------------
def test_taylor_plot_draws_the_remainders_with_their_slopes_and_two_guides(drawn, tmp_path):
    hs = np.logspace(-1, -5, 9)
    right_rem = 3 * hs**2
    right_rem[-1] = 0.0  # an exact zero is left out on a log axis, not drawn at the bottom
    results = {
        "right": study.TaylorTest(hs, right_rem, 2.004),
        "wrong": study.TaylorTest(hs, 5 * hs, 0.996),
    }
    path = plots.plot_taylor_test(results, tmp_path / "t.png", caption=CAPTION)
    (fig,) = drawn
    check_page(fig, path, base=(6.4, 4.2),
               title="Taylor test: slope 2 means the gradient is right")  # fmt: skip
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("h", "|f(x + h v) − f(x) − h ⟨g, v⟩|")
    right, wrong, slope2, slope1 = ax.lines
    assert [line.get_label() for line in ax.lines] == [
        "right: slope 2.00", "wrong: slope 1.00", "slope 2 (guide)", "slope 1 (guide)"
    ]  # fmt: skip
    np.testing.assert_array_equal(right.get_xdata(), hs)
    np.testing.assert_array_equal(right.get_ydata(), [*right_rem[:-1], np.nan])
    np.testing.assert_array_equal(wrong.get_ydata(), 5 * hs)
    assert right.get_marker() == "o" and right.get_linestyle() == "-"
    assert line_color(right) != line_color(wrong)
    # guides a factor 8 under the largest step's remainder of the first and the last result
    np.testing.assert_allclose(slope2.get_xdata(), hs)
    np.testing.assert_allclose(slope2.get_ydata(), 3 * 0.1**2 / 8 * (hs / 0.1) ** 2)
    np.testing.assert_allclose(slope1.get_ydata(), 5 * 0.1 / 8 * (hs / 0.1))
    for guide, style in ((slope2, ":"), (slope1, "--")):
        assert (guide.get_linestyle(), guide.get_linewidth()) == (style, 1.2)
        assert line_color(guide) == rgba("0.3") and guide.get_zorder() == 1
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [line.get_label() for line in ax.lines]
    assert [line_color(h) for h in legend.legend_handles] == [line_color(x) for x in ax.lines]
    assert legend.get_texts()[0].get_fontsize() == 8
    box, frame = legend.get_window_extent(), ax.get_window_extent()
    assert frame.x1 - box.x1 < 0.1 * frame.width and box.y0 - frame.y0 < 0.1 * frame.height


def test_the_taylor_legend_stays_in_the_lower_right_corner_whatever_the_data(drawn, tmp_path):
    hs = np.logspace(-1, -5, 9)
    falling = study.TaylorTest(hs, 1e-6 / hs, -1.0)  # the points run through the lower right
    plots.plot_taylor_test({"a": falling, "b": falling}, tmp_path / "t.png")
    (ax,) = drawn[-1].axes
    renderer_of(drawn[-1])
    box, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert frame.x1 - box.x1 < 0.1 * frame.width and box.y0 - frame.y0 < 0.1 * frame.height


# -- layer gradient norms ----------------------------------------------------------------------
def test_layer_norms_one_panel_per_initialisation_one_line_per_layer(drawn, tmp_path):
    rng = np.random.default_rng(0)
    norms = {"article": rng.uniform(1e-6, 1e-2, (5, 3)), "xavier": rng.uniform(0.1, 1, (5, 3))}
    norms["article"][2, 0] = 0.0
    path = plots.plot_layer_grad_norms(norms, tmp_path / "n.png", caption=CAPTION)
    (fig,) = drawn
    check_page(fig, path, base=(3.4 * 2 + 0.6, 3.4), title="gradient norms per layer", legend=True)
    axes = fig.axes
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
    for ax, (name, arr) in zip(axes, norms.items()):
        assert ax.get_title() == f"init: {name}" and ax.title.get_fontsize() == 9
        assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"
        assert [line.get_label() for line in ax.lines] == ["layer 1", "layer 2", "layer 3"]
        for l, line in enumerate(ax.lines):
            np.testing.assert_array_equal(line.get_xdata(), np.arange(5))
            np.testing.assert_array_equal(
                line.get_ydata(), np.where(arr[:, l] > 0, arr[:, l], np.nan)
            )
        # one colour a layer, the same in every panel, as the one legend says
        assert [line_color(line) for line in ax.lines] == [rgba(c) for c in COLORS[:3]]
    assert axes[0].get_ylabel() == "‖dJ/dW_l‖" and axes[1].get_ylabel() == ""
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["layer 1", "layer 2", "layer 3"]
    assert [line_color(h) for h in legend.legend_handles] == [rgba(c) for c in COLORS[:3]]
    assert legend_rows(legend, renderer_of(fig)) == 1


@pytest.mark.parametrize("layers, rows", [(6, 1), (7, 2)])
def test_layer_norms_legend_wraps_past_six_layers(drawn, tmp_path, layers, rows):
    norms = {"article": np.ones((3, layers)), "xavier": np.ones((3, layers))}
    plots.plot_layer_grad_norms(norms, tmp_path / "n.png", title="T")
    (fig,) = drawn
    assert legend_rows(fig.legends[0], renderer_of(fig)) == rows
    check_page(fig, tmp_path / "n.png", base=(7.4, 3.4), title="T", caption="", legend=True)


# -- the catalog's heatmap ---------------------------------------------------------------------
def _catalog():
    nan = np.nan
    errors = np.array(
        [
            [1e-15, 1e-16, 0.0],
            [2.0, 0.5, nan],
            [1.0, nan, nan],
            [nan, 3e-10, 1e-15],
        ]
    )
    marks = {(2, 0): "missing", (2, 1): "shape", (3, 0): "non-finite", (3, 1): "missing"}
    names = ["a_mistake", "another", "keys", "overflow"]
    return study.CatalogErrors(names, ["2-3-3-1", "2-3-1", "2-3-3-1", "2-3-3-1"], errors, marks)


def test_catalog_heatmap_colours_each_cell_and_says_why_a_cell_has_no_number(drawn, tmp_path):
    catalog = _catalog()
    path = plots.plot_catalog_heatmap(catalog, tmp_path / "h.png", caption=CAPTION)
    (fig,) = drawn
    check_page(fig, path, base=(7.2, 0.34 * 4 + 1.2),
               title="the catalog of wrong derivations, layer by layer")  # fmt: skip
    ax, bar_ax = fig.axes
    (image,) = ax.images
    shown = np.ma.masked_invalid(image.get_array())
    errors = catalog.errors
    numbered = np.isfinite(errors) & (errors > 0)
    np.testing.assert_array_equal(np.ma.getmaskarray(shown), ~numbered)
    np.testing.assert_array_equal(shown.data[numbered], errors[numbered])
    norm = image.norm
    assert isinstance(norm, LogNorm) and (norm.vmin, norm.vmax) == (1e-16, 2.0)
    assert image.get_cmap().name.startswith("magma_r")
    assert image.get_cmap().get_bad() == pytest.approx(rgba("0.88"))
    # the colour scale: a small error is pale, a large one dark
    assert sum(image.get_cmap()(norm(2.0))[:3]) < sum(image.get_cmap()(norm(1e-16))[:3])
    expected = {
        (0, 0): ("1e-15", "black"),
        (1, 0): ("1e-16", "black"),
        (2, 0): ("0", "black"),
        (0, 1): ("2e+00", "white"),
        (1, 1): ("5e-01", "white"),
        (2, 1): ("—", "black"),
        (0, 2): ("missing", "white"),  # a mark on a number: its colour by the number
        (1, 2): ("shape", "black"),
        (2, 2): ("—", "black"),
        (0, 3): ("non-finite", "black"),
        (1, 3): ("missing", "black"),
        (2, 3): ("1e-15", "black"),
    }
    got = {}
    for t in ax.texts:
        assert (t.get_ha(), t.get_va(), t.get_fontsize()) == ("center", "center", 7)
        got[tuple(int(c) for c in t.get_position())] = (t.get_text(), t.get_color())
    assert got == expected
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layer 1", "layer 2", "layer 3"]
    assert list(ax.get_xticks()) == [0, 1, 2] and list(ax.get_yticks()) == [0, 1, 2, 3]
    labels = ax.get_yticklabels()
    assert [t.get_text() for t in labels] == [
        "a_mistake  (2-3-3-1)", "another  (2-3-1)", "keys  (2-3-3-1)", "overflow  (2-3-3-1)"
    ]  # fmt: skip
    assert all(t.get_fontsize() == 8 for t in labels)
    assert bar_ax.get_ylabel() == "‖g_l − r_l‖ / ‖r_l‖"
    assert bar_ax.yaxis.label.get_fontsize() == 8
    renderer = renderer_of(fig)
    heat, scale = ax.get_window_extent(renderer), bar_ax.get_window_extent(renderer)
    assert 0 <= scale.x0 - heat.x1 < 0.05 * fig.bbox.width  # the scale right beside the map
    assert bar_ax.get_yscale() == "log"


@pytest.mark.parametrize(
    "errors, limits",
    [
        ([[0.0, np.nan]], (1e-16, 1.0)),  # no number at all: a default scale
        ([[1e-20, 0.0]], (1e-17, 1e-16)),  # below rounding: the scale stops at 1e-17
        ([[3e-6, 4e-6]], (3e-6, 3e-5)),  # at least a decade
    ],
)
def test_catalog_heatmap_scale_limits(drawn, tmp_path, errors, limits):
    catalog = study.CatalogErrors(["m"], ["2-1"], np.array(errors), {})
    plots.plot_catalog_heatmap(catalog, tmp_path / "h.png")
    norm = drawn[-1].axes[0].images[0].norm
    assert (norm.vmin, norm.vmax) == pytest.approx(limits)
    check_page(drawn[-1], tmp_path / "h.png", base=(7.2, 0.34 + 1.2), caption="",
               title="the catalog of wrong derivations, layer by layer")  # fmt: skip
