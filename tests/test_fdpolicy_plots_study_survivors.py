"""What a reader of the study's six pictures relies on, as the survivors of the seventh
session's mutation run (study's ``_draw_all``, the plots, fdpolicy) showed untested: each
picture's file, title and caption (the sentences that tell the reader what to see), and that
each picture shows the numbers its caption describes.

One study is drawn once for the module (a 2-3-1 network on 40 moons, 3 epochs, into a folder
that exists already, as a second run into ``backproof-out`` finds it); the tests read its
result and the saved matplotlib figures.
"""

import dataclasses
import io
import math
import os
import sys
import warnings

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import STUDY_PICTURES
from matplotlib.colors import to_rgba

from backproof import manual, network
from backproof.compare import fdpolicy, plots, reference, study

LR, EPOCHS, NORM_EPOCHS = 1.5, 3, 3
EPS = float(np.finfo(float).eps)
NAMES = STUDY_PICTURES
CONTEXT = (
    "Network 2-3-1 (sigmoid, sigmoid), bce loss, article init, seed 3; data: moons, "
    "40 examples; learning rate 1.5."
)


@pytest.fixture(scope="module")
def drawn_study(tmp_path_factory):
    """run_study's result, the folder it drew into, ``{file name: saved figure}`` and the
    problem. One cell of the comparison (manual's b1 against finite differences) is marked
    inconclusive, as an interval check at a kink can leave it, to see how such a cell is drawn."""
    out = tmp_path_factory.mktemp("study")  # exists already
    figures = {}
    savefig = matplotlib.figure.Figure.savefig
    compare_network = study.compare_network

    def keep(fig, path, *args, **kwargs):
        figures[os.path.basename(os.fspath(path))] = fig
        return savefig(fig, path, *args, **kwargs)

    def one_cell_inconclusive(*args, **kwargs):
        comparison = compare_network(*args, **kwargs)
        comparison.cells = [
            dataclasses.replace(c, verdict="inconclusive") if _is_doubtful(c) else c
            for c in comparison.cells
        ]
        return comparison

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matplotlib.figure.Figure, "savefig", keep)
        mp.setattr(study, "compare_network", one_cell_inconclusive)
        X, y = network.moons(40)
        spec = network.NetworkSpec([2, 3, 1])
        result = study.run_study(
            spec, X, y, out_dir=out, epochs=EPOCHS, lr=LR, norm_epochs=NORM_EPOCHS,
            data_name="moons", progress=False,
        )  # fmt: skip
    return result, out, figures, (spec, *network.check_data(spec, X, y))


def _is_doubtful(cell) -> bool:
    return (cell.implementation, cell.reference, cell.param) == ("manual", "fd", "b1")


def test_each_picture_is_written_into_the_out_folder_under_its_name(drawn_study):
    result, out, figures, _ = drawn_study
    assert list(result["plots"]) == NAMES == list(result["captions"])
    for name in NAMES:
        assert result["plots"][name] == os.path.join(out, f"{name}.png")
        assert os.path.getsize(result["plots"][name]) > 10_000
    assert set(figures) == {f"{name}.png" for name in NAMES}


def test_each_caption_says_what_the_picture_shows_and_what_to_see(drawn_study):
    """The caption (printed under the picture and returned in ``captions``) starts with the
    study's network, data and learning rate, then says what to see."""
    result, _, figures, _ = drawn_study
    captions = result["captions"]
    diff = result["comparison"].training_max_diff
    norms = result["layer_norms_first_epoch"]
    shrink = {k: v[0] / v[-1] for k, v in norms.items()}
    assert captions["cost_histories"] == (
        f"{CONTEXT} What to see: the hand-derived backprop (manual) and the autodiff engine "
        "(tensor) start from the same weights and their cost curves lie on top of each other "
        f"(largest difference {diff:.1e})."
    )
    assert captions["param_errors"] == (
        f"{CONTEXT} What to see: every bar lies far below its tolerance line (a hatched bar is "
        "one whose verdict is not pass); a mark at the bottom means the two gradients are bit "
        "for bit equal (autograd against itself always is). Errors are max|g − ref| over the "
        "parameter divided by the largest |ref| entry of the whole gradient."
    )
    assert captions["step_sweep"] == (
        f"{CONTEXT} What to see: the V of finite differences. Right of the minimum the "
        "truncation error falls as h (forward), h² (central) and h⁴ (Richardson), parallel to "
        "the grey guides; left of it round-off grows as eps·|J|/h. Dotted verticals: "
        "numerical_grad's fixed steps; shaded: the ladder of steps check_grad's verdicts try. "
        "Before training (the learning rate plays no part)."
    )
    assert captions["taylor_test"] == (
        f"{CONTEXT} v is one random direction in all parameters at once (standard normal "
        "entries, seed 0). What to see: with the right gradient the remainder falls as h² "
        "(slope 2); with the 1/m forgotten it falls only as h (slope 1)."
    )
    assert captions["layer_grad_norms"] == (
        "Network 2-3-3-3-1 (sigmoid, sigmoid, sigmoid, sigmoid), bce loss, seed 3; data: "
        "moons, 40 examples; learning rate 1.5. Trained 3 epochs from each initialisation. "
        "What to see: vanishing gradients. With the article's 0.01 initialisation ‖dJ/dW_1‖ "
        f"starts at {shrink['article']:.0e} times ‖dJ/dW_4‖, since each layer down multiplies "
        "by W_lᵀ (entries about 0.01) and by the activation's slope (at most 1/4 for sigmoid), "
        f"and training stalls; with xavier weights the ratio is {shrink['xavier']:.0e}."
    )
    assert captions["catalog_heatmap"] == (
        "Networks: each mistake's own, in brackets (sigmoid hidden layers unless the mistake "
        "needs another), on 40 random examples (compare/mutants.py); no training, so no "
        "learning rate. Each row is a classic hand-derivation mistake; each cell is "
        "‖g_l − r_l‖/‖r_l‖, g_l the mistake's dW_l and db_l together, r_l autograd's. What to "
        "see: where the error enters. A wrong activation derivative leaves the layers above it "
        "exact (about 1e-16, rounding) and spoils every layer below; a mistake at the output "
        "spoils every layer; 'shape' and 'missing' are caught before any number is compared."
    )
    for name in NAMES:  # the figure prints the same caption, wrapped
        fig = figures[f"{name}.png"]
        printed = [t.get_text() for t in fig.texts if t is not fig._suptitle]
        assert [" ".join(p.split()) for p in printed] == [" ".join(captions[name].split())]


def test_a_cell_whose_verdict_is_not_pass_is_drawn_hatched(drawn_study):
    """As the caption says: in the parameter-error picture the one bar whose verdict is not
    pass (manual's b1 against finite differences) is hatched, and no other."""
    result, _, figures, _ = drawn_study
    assert sum(_is_doubtful(c) for c in result["comparison"].cells) == 1
    fig = figures["param_errors.png"]
    panels = {ax.get_title(): ax for ax in fig.axes}
    hatched = {title: [p for p in ax.patches if p.get_hatch()] for title, ax in panels.items()}
    assert {title: len(bars) for title, bars in hatched.items() if bars} == {"against fd": 1}
    (bar,) = hatched["against fd"]
    b1 = list(result["comparison"].spec.param_shapes()).index("b1")
    manual_colour = panels["against fd"].patches[0].get_facecolor()
    assert bar.get_facecolor() == manual_colour
    assert b1 - 0.5 < bar.get_x() + bar.get_width() / 2 < b1


def test_each_panel_s_tolerance_line_says_which_rule_it_is(drawn_study):
    """Against an exact reference the line is 1e4·eps; against finite differences it is the
    largest tolerance check_grad's interval rule allowed an entry."""
    result, _, figures, _ = drawn_study
    cells = result["comparison"].cells
    largest = {
        ref: max(c.tolerance for c in cells if c.reference == ref) for ref in ("autograd", "fd")
    }
    panels = {ax.get_title(): ax for ax in figures["param_errors.png"].axes}
    labels = {title: [t.get_text() for t in ax.texts] for title, ax in panels.items()}
    assert labels["against autograd"] == [
        f"tolerance {largest['autograd']:.1e} (1e4·eps: exact reference)"
    ]
    assert labels["against fd"] == [
        f"largest entrywise tolerance {largest['fd']:.0e} (check_grad's rule)"
    ]
    assert largest["autograd"] == pytest.approx(1e4 * np.finfo(float).eps, abs=0)


def test_the_step_sweep_is_of_the_entry_its_title_names(drawn_study):
    """The step sweep differentiates J in W2[0, 0] (the last layer's first weight) at the
    initial weights, against the reference's exact derivative."""
    _, _, figures, (spec, X, Y) = drawn_study
    params = network.init_params(spec)
    exact = reference.loss_and_grads(spec, params, X, Y)[1]["W2"][0, 0]

    def cost_of(w):
        return network.objective(spec, {**params, "W2": w}, X, Y)

    sweep = study.step_sweep(cost_of, params["W2"], (0, 0), float(exact))
    ax = figures["step_sweep.png"].axes[0]
    drawn = {line.get_label(): line.get_ydata() for line in ax.lines}
    for name in ("forward", "central", "richardson"):
        err = np.asarray(getattr(sweep, name))
        assert np.array_equal(drawn[name], np.where(err > 0, err, np.nan), equal_nan=True)


def test_the_taylor_test_compares_the_right_gradient_with_the_one_missing_1_over_m(drawn_study):
    result, _, figures, (spec, X, Y) = drawn_study
    slopes = result["taylor_slopes"]
    assert list(slopes) == ["manual (right)", "manual × m (the 1/m forgotten)"]
    assert slopes["manual (right)"] == pytest.approx(2, abs=0.05)
    assert slopes["manual × m (the 1/m forgotten)"] == pytest.approx(1, abs=0.05)
    params = network.init_params(spec)
    grads = manual.loss_and_grads(spec, params, X, Y)[1]

    def objective(p):
        return network.objective(spec, p, X, Y)

    right = study.taylor_remainders(objective, grads, params)
    wrong = study.taylor_remainders(objective, {k: 40 * g for k, g in grads.items()}, params)
    assert slopes == {
        "manual (right)": right.slope,
        "manual × m (the 1/m forgotten)": wrong.slope,
    }


def test_the_layer_norms_are_those_of_the_deeper_network_from_each_initialisation(drawn_study):
    """``layer_norms_first_epoch``: ‖dJ/dW_l‖ of 2-3-3-3-1 at the first epoch, from the
    article's initialisation and from xavier's."""
    result, _, _, (spec, X, Y) = drawn_study
    deep = study.deeper(spec)
    got = result["layer_norms_first_epoch"]
    assert list(got) == ["article", "xavier"]
    for init in ("article", "xavier"):
        norms = study.layer_grad_norms(
            deep.replace(init=init), X, Y, manual.loss_and_grads, NORM_EPOCHS, LR
        )
        assert got[init] == norms[0].tolist()


def test_the_catalog_errors_are_the_heat_map_s_numbers(drawn_study):
    """``catalog_errors`` names each wrong derivation with its row of the heat map."""
    result, _, figures, _ = drawn_study
    catalog = result["catalog_errors"]
    ax = figures["catalog_heatmap.png"].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split("  (")[0] for label in labels] == list(catalog)
    shown = np.ma.filled(ax.images[0].get_array(), np.nan)
    rows = np.array(list(catalog.values()), dtype=float)
    assert np.array_equal(shown, np.where(rows > 0, rows, np.nan), equal_nan=True)


# -- the catalog heat map, drawn from a catalog of one's own ----------------------------------


@pytest.fixture
def drawn(monkeypatch):
    """Every matplotlib figure saved during the test, kept open for inspection."""
    import matplotlib.figure

    figures = []
    original = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def test_a_catalog_read_back_from_the_study_json_is_drawn_like_the_study_s(drawn, tmp_path):
    """``backproof study --json`` writes the catalog's errors as lists with None where a layer
    does not exist (JSON has no NaN). A CatalogErrors built from those lists draws the same
    picture as one built from the NaN array: "—" in the missing layers, the numbers elsewhere."""
    errors = [[1e-3, 2e-1, None], [5e-2, None, None]]
    nan_errors = np.array([[1e-3, 2e-1, np.nan], [5e-2, np.nan, np.nan]])
    texts = []
    for i, errs in enumerate((errors, nan_errors)):
        catalog = study.CatalogErrors(["a", "b"], ["2-3-3-1", "2-3-1"], errs, {})
        plots.plot_catalog_heatmap(catalog, tmp_path / f"h{i}.png")
        ax = drawn[-1].axes[0]
        texts.append([t.get_text() for t in ax.texts])
        image = np.ma.filled(ax.images[0].get_array(), np.nan)
        assert np.array_equal(np.isnan(image), np.isnan(nan_errors))
    assert texts[0] == texts[1] == ["1e-03", "2e-01", "—", "5e-02", "—", "—"]


def test_a_marked_cell_darkens_its_text_only_past_55_percent_of_the_scale(drawn, tmp_path):
    """A cell with a mark ("shape", "missing") but a number behind it is coloured by that
    number, and its mark turns white on the same rule as a number: only past 0.55 of the
    colour scale. On a 1..1e20 scale 1e11 sits exactly at 0.55 and keeps black text."""
    errors = np.array([[1.0, 1e11], [1e12, 1e20]])
    marks = {(0, 1): "shape", (1, 0): "missing"}
    catalog = study.CatalogErrors(["a", "b"], ["2-1", "2-1"], errors, marks)
    plots.plot_catalog_heatmap(catalog, tmp_path / "heat.png")
    ax = drawn[-1].axes[0]
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours == {"1e+00": "black", "shape": "black", "missing": "white", "1e+20": "white"}


def test_the_colour_bar_stands_close_to_the_map(drawn, tmp_path):
    """The colour bar is drawn beside the map (same height) with a small gap: 2% of the
    room, not matplotlib's default 5%."""
    catalog = study.CatalogErrors(["a"], ["2-1"], np.array([[1e-3, 1e-1]]), {})
    plots.plot_catalog_heatmap(catalog, tmp_path / "heat.png")
    ax, bar = drawn[-1].axes
    a, b = ax.get_position(), bar.get_position()
    assert (b.y0, b.y1) == pytest.approx((a.y0, a.y1))
    assert 0 < b.x0 - a.x1 < 0.03 * a.width


def test_the_heat_map_fills_the_figure_s_width_whatever_its_number_of_layers(drawn, tmp_path):
    """Cells stretch to the figure (not square): two rows of two layers still span most of
    the 7.2-inch-wide figure."""
    catalog = study.CatalogErrors(["a", "b"], ["2-1", "2-1"], np.array([[1e-3, 1e-1]] * 2), {})
    plots.plot_catalog_heatmap(catalog, tmp_path / "heat.png")
    ax = drawn[-1].axes[0]
    assert ax.get_position().width > 0.6


# -- the parameter-error picture, drawn from numbers of one's own ------------------------------


def _bars_and_marks(fig):
    """Per panel: each bar's (x, bottom, top, hatch) and each "0" mark's x."""
    return [
        (
            [(b.get_x(), b.get_y(), b.get_y() + b.get_height(), b.get_hatch()) for b in ax.patches],
            [tuple(line.get_xdata()) for line in ax.lines if line.get_marker() == "$0$"],
        )
        for ax in fig.axes
    ]


def test_param_errors_read_back_from_json_are_drawn_as_the_study_s(drawn, tmp_path):
    """JSON has no NaN: errors read back from a study's JSON have None where the study had NaN
    (a reference of zeros). They draw the same picture as the NaN they stand for."""
    with_none = {"fd": {"manual": [1e-9, None], "tensor": [2e-9, 3e-9]}}
    with_nan = {"fd": {"manual": [1e-9, np.nan], "tensor": [2e-9, 3e-9]}}
    for i, errors in enumerate((with_none, with_nan)):
        plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / f"e{i}.png")
    assert _bars_and_marks(drawn[0]) == _bars_and_marks(drawn[1])
    assert drawn[0].axes[0].get_ylim() == drawn[1].axes[0].get_ylim()


def test_verdicts_given_as_one_and_zero_hatch_the_same_bars_as_true_and_false(drawn, tmp_path):
    errors = {"fd": {"manual": [1e-9, 2e-9, 3e-9], "tensor": [2e-9, 3e-9, 4e-9]}}
    flags = {"fd": {"manual": [1, 0, 1], "tensor": [1, 1, 0]}}
    truths = {"fd": {k: [bool(f) for f in v] for k, v in flags["fd"].items()}}
    for i, passed in enumerate((flags, truths)):
        plots.plot_param_errors(
            errors, ["W1", "b1", "W2"], {}, tmp_path / f"e{i}.png", passed=passed
        )
    assert _bars_and_marks(drawn[0]) == _bars_and_marks(drawn[1])
    hatched = [(x, hatch) for x, _, _, hatch in _bars_and_marks(drawn[0])[0][0] if hatch]
    assert len(hatched) == 2 and len(_bars_and_marks(drawn[0])[0][0]) == 6


def test_one_implementation_s_bars_take_the_whole_slot(drawn, tmp_path):
    """With one implementation each parameter's bar is 0.8 wide, centred on its tick."""
    errors = {"autograd": {"manual": [1e-9, 2e-9]}}
    plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / "e.png")
    bars = drawn[-1].axes[0].patches
    assert [b.get_width() for b in bars] == pytest.approx([0.8, 0.8])
    assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx([0, 1])


# -- the study's computations ------------------------------------------------------------------


def test_a_taylor_remainder_that_rounds_to_zero_is_left_out_of_the_fit():
    """f = x² at x = 1 along v = 1: the remainder (1 + h)² − 1 − 2h is h² exactly for h = 2^-k
    while h² fits in the 53 bits next to 1, and rounds to 0 at h = 2^-30. The slope is fitted
    to the other four of the five smallest steps: exactly 2."""
    hs = 2.0 ** -np.array([2, 4, 6, 8, 10, 30])
    result = study.taylor_remainders(
        lambda x: float(np.sum(x**2)), np.array([2.0]), np.array([1.0]),
        direction=np.array([1.0]), hs=hs,
    )  # fmt: skip
    assert result.remainder[-1] == 0 and np.all(result.remainder[:-1] == hs[:-1] ** 2)
    assert result.slope == pytest.approx(2.0, abs=1e-12)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_layer_norm_training_shows_no_progress_bar_even_on_a_terminal(monkeypatch):
    """The study draws its own bar (or none); the short trainings behind the layer-norm
    picture add none to it."""
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    X, y = network.moons(20)
    spec = network.NetworkSpec([2, 3, 3, 1])
    norms = study.layer_grad_norms(spec, X, y, manual.loss_and_grads, 3, 1.0)
    assert norms.shape == (3, 3)
    assert err.getvalue() == ""


def test_a_wrong_derivation_that_overflows_is_marked_non_finite_without_a_warning():
    """A derivation of one's own whose every entry overflows to inf: its cells are marked
    "non-finite" (what the heat map shows), with no NumPy warning on the way."""
    from backproof.compare.mutants import CATALOG, Mutant

    def overflowing(spec, params, X, Y):
        return {k: np.full_like(v, 1e308) * 10 for k, v in params.items()}

    spec = CATALOG[0].spec
    mutant = Mutant("overflowing", "every entry overflows", spec, overflowing, {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = study.catalog_layer_errors([mutant])
    assert catalog.names == ["overflowing"]
    assert catalog.marks == {(0, l): "non-finite" for l in range(spec.n_layers)}


def test_each_bar_rises_from_the_axis_bottom_to_its_error(drawn, tmp_path):
    errors = {"fd": {"manual": [1e-9, 4e-7], "tensor": [2e-9, 3e-8]}}
    plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / "e.png")
    ax = drawn[-1].axes[0]
    bottom = ax.get_ylim()[0]
    assert bottom == pytest.approx(1e-10, abs=0)  # a decade below the smallest error's decade
    bars = sorted(ax.patches, key=lambda b: b.get_x())
    assert [b.get_y() for b in bars] == pytest.approx([bottom] * 4, abs=0)
    tops = [b.get_y() + b.get_height() for b in bars]
    assert tops == pytest.approx([1e-9, 2e-9, 4e-7, 3e-8], rel=1e-12, abs=0)


def test_zero_marks_take_their_bar_s_colour_under_a_longer_colour_cycle(drawn, tmp_path):
    """Under a style whose colour cycle is longer than ten, an eleventh implementation's "0"
    marks still have the colour of its bars."""
    from cycler import cycler

    palette = [f"#{i:02x}{i:02x}{255 - i:02x}" for i in range(0, 240, 20)]  # 12 colours
    errors = {"fd": {f"impl{k}": [1e-9, 0.0] for k in range(11)}}
    with plt.rc_context({"axes.prop_cycle": cycler(color=palette)}):
        plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / "e.png")
    ax = drawn[-1].axes[0]
    bar_colours = [to_rgba(b.get_facecolor()) for b in sorted(ax.patches, key=lambda b: b.get_x())]
    marks = [line for line in ax.lines if line.get_marker() == "$0$"]
    assert [to_rgba(m.get_color()) for m in marks] == bar_colours


def _taylor(slope_of_rem):
    h = np.logspace(-1, -5, 9)
    return study.TaylorTest(h, 3 * h**slope_of_rem, float(slope_of_rem))


def test_a_taylor_remainder_of_none_is_drawn_as_the_gap_nan_leaves(drawn, tmp_path):
    h = np.logspace(-1, -5, 5)
    with_none = study.TaylorTest(h, [1e-2, 1e-4, None, 1e-8, 1e-10], 2.0)
    with_nan = study.TaylorTest(h, np.array([1e-2, 1e-4, np.nan, 1e-8, 1e-10]), 2.0)
    for i, r in enumerate((with_none, with_nan)):
        plots.plot_taylor_test({"g": r}, tmp_path / f"t{i}.png")
    data = [fig.axes[0].lines[0].get_ydata() for fig in drawn]
    assert np.array_equal(data[0], data[1], equal_nan=True)


def test_the_slope_one_guide_hangs_below_the_last_gradient_s_remainders(drawn, tmp_path):
    """With three gradients the slope-2 guide sits a factor 8 below the first one's remainder
    at the largest step, the slope-1 guide a factor 8 below the last one's."""
    results = {"right": _taylor(2), "half right": _taylor(1.5), "wrong": _taylor(1)}
    plots.plot_taylor_test(results, tmp_path / "t.png")
    guides = {line.get_label(): line for line in drawn[-1].axes[0].lines}
    assert guides["slope 2 (guide)"].get_ydata()[0] == pytest.approx(3 * 0.1**2 / 8)
    assert guides["slope 1 (guide)"].get_ydata()[0] == pytest.approx(3 * 0.1 / 8)


def test_the_slope_guides_are_anchored_at_the_largest_step_in_double_precision(drawn, tmp_path):
    """Steps given smallest first and in float32: each guide still starts a factor 8 below
    the remainder at the largest step, and is computed in float64."""
    h = np.logspace(-5, -1, 5).astype(np.float32)
    r = study.TaylorTest(h, 3 * h.astype(float) ** 2, 2.0)
    plots.plot_taylor_test({"right": r}, tmp_path / "t.png")
    guides = {line.get_label(): line for line in drawn[-1].axes[0].lines}
    for power in (2, 1):
        got = guides[f"slope {power} (guide)"].get_ydata()
        h64 = h.astype(float)
        want = 3 * h64[-1] ** 2 / 8 * (h64 / h64[-1]) ** power
        assert got.dtype == np.float64
        assert got == pytest.approx(want, rel=1e-15, abs=0)


def _draw(name, path):
    """Each plot function of the study, on small numbers of its own, with no caption."""
    h = np.logspace(-1, -5, 5)
    sweep = study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))
    catalog = study.CatalogErrors(["a"], ["2-1"], np.array([[1e-3, 1e-1]]), {})
    calls = {
        "plot_cost_histories": lambda: plots.plot_cost_histories({"manual": [0.7, 0.6]}, path),
        "plot_param_errors": lambda: plots.plot_param_errors(
            {"fd": {"manual": [1e-9, 2e-9]}}, ["W1", "b1"], {}, path
        ),
        "plot_step_sweep": lambda: plots.plot_step_sweep(sweep, path),
        "plot_taylor_test": lambda: plots.plot_taylor_test(
            {"g": study.TaylorTest(h, h**2, 2.0)}, path
        ),
        "plot_layer_grad_norms": lambda: plots.plot_layer_grad_norms(
            {"article": np.array([[1e-3, 1e-1], [2e-3, 2e-1]])}, path
        ),
        "plot_catalog_heatmap": lambda: plots.plot_catalog_heatmap(catalog, path),
    }
    return calls[name]()


@pytest.mark.parametrize("name", plots.__all__)
def test_a_picture_has_no_caption_unless_given_one(drawn, tmp_path, name):
    _draw(name, tmp_path / "p.png")
    fig = drawn[-1]
    assert [t.get_text() for t in fig.texts if t is not fig._suptitle] == []
    assert fig._suptitle.get_text()  # the default title


def test_a_caption_of_none_is_no_caption(drawn, tmp_path):
    errors = {"fd": {"manual": [1e-9, 2e-9]}}
    plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / "a.png")
    plots.plot_param_errors(errors, ["W1", "b1"], {}, tmp_path / "b.png", caption=None)
    a, b = drawn
    assert [t.get_text() for t in b.texts] == [t.get_text() for t in a.texts]
    assert tuple(b.get_size_inches()) == tuple(a.get_size_inches())


def test_a_step_sweep_error_of_none_is_the_gap_nan_leaves_and_nothing_warns(drawn, tmp_path):
    """A sweep whose error is unknown at one step (None, as JSON writes NaN) draws the picture
    the NaN draws, and drawing it warns of nothing."""
    sweep = study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))
    middle = len(sweep.steps) // 2
    with_nan = dataclasses.replace(sweep, forward=np.array(sweep.forward, dtype=float))
    with_nan.forward[middle] = np.nan
    with_none = dataclasses.replace(
        sweep, forward=[*sweep.forward[:middle], None, *sweep.forward[middle + 1 :]]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i, s in enumerate((with_none, with_nan)):
            plots.plot_step_sweep(s, tmp_path / f"s{i}.png")
    lines = [[line.get_ydata() for line in fig.axes[0].lines] for fig in drawn]
    assert len(lines[0]) == len(lines[1])
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*lines))
    assert np.isnan(lines[0][0][middle])


def _sin_sweep():
    return study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))


def test_an_exactly_right_estimate_is_left_off_the_log_axes(drawn, tmp_path):
    """An error of exactly 0 has no place on a log axis: the line leaves a gap there, a NaN
    among the line's numbers (what a reader of the figure's data gets)."""
    sweep = _sin_sweep()
    forward = np.array(sweep.forward, dtype=float)
    forward[3] = 0.0
    plots.plot_step_sweep(dataclasses.replace(sweep, forward=forward), tmp_path / "s.png")
    line = next(line for line in drawn[-1].axes[0].lines if line.get_label() == "forward")
    y = line.get_ydata()
    assert (
        y.dtype == np.float64
        and np.isnan(y[3])
        and np.count_nonzero(np.isnan(y)) == np.count_nonzero(forward <= 0)
    )


def _guides(ax):
    return [line for line in ax.lines if line.get_linestyle() == "--"]


def test_the_truncation_guides_start_at_the_largest_step_whatever_the_order(drawn, tmp_path):
    """Steps given smallest first: each guide still runs through a quarter of its method's
    error at the largest step."""
    sweep = _sin_sweep()
    flipped = dataclasses.replace(
        sweep,
        **{
            k: np.asarray(getattr(sweep, k))[::-1]
            for k in ("steps", "forward", "central", "richardson")
        },
    )
    for i, s in enumerate((sweep, flipped)):
        plots.plot_step_sweep(s, tmp_path / f"s{i}.png")
    for fig, s in zip(drawn, (sweep, flipped)):
        largest = int(np.argmax(s.steps))
        quarter = [
            0.25 * float(getattr(s, m)[largest]) for m in ("forward", "central", "richardson")
        ]
        starts = [float(np.max(g.get_ydata())) for g in _guides(fig.axes[0])]
        assert len(starts) >= 2
        assert all(any(start == pytest.approx(q, abs=0) for q in quarter) for start in starts)


def test_no_guide_for_a_method_exact_at_the_largest_step(drawn, tmp_path):
    """f(x) = 0 and a forward error of 0 at the largest step: nothing to scale a guide from,
    so the forward guide (∝ h) is not drawn, even where round-off (eps·|f|/h) is 0 too."""
    sweep = _sin_sweep()
    forward = np.array(sweep.forward, dtype=float)
    forward[int(np.argmax(sweep.steps))] = 0.0
    plots.plot_step_sweep(dataclasses.replace(sweep, forward=forward, f0=0.0), tmp_path / "s.png")
    words = [t.get_text() for t in drawn[-1].axes[0].texts]
    assert "∝ h" not in words and "∝ h²" in words


def test_the_sweep_s_annotations_are_grey_as_the_guides_are(drawn, tmp_path):
    """The words on the sweep (∝ h, ∝ h², ∝ eps·|f|/h, each "fixed step", the ladder) are
    printed in grey, not in black like data: they describe a guide, not a measurement."""
    plots.plot_step_sweep(_sin_sweep(), tmp_path / "s.png")
    texts = drawn[-1].axes[0].texts
    words = {t.get_text().strip() for t in texts}
    assert words >= {"∝ h", "∝ h²", "∝ eps·|f|/h", "central fixed step", "check_grad's ladder"}
    for t in texts:
        r, g, b, _ = to_rgba(t.get_color())
        assert r == g == b and 0.25 <= r <= 0.4, t.get_text()


def test_the_ladder_s_label_sits_at_the_band_s_geometric_middle_in_double(drawn, tmp_path):
    """The shaded band spans check_grad's ladder; its label sits at the geometric mean of
    the band's ends, computed in float64 also for a ladder given in float32, near the top of
    the axes whatever the errors' scale."""
    ladder = np.array([1e-7, 3e-6, 1e-4], dtype=np.float32)
    tiny = study.step_sweep(  # errors far below 1: the label's height is not a data value
        lambda x: 1e-6 * float(np.sum(np.sin(x))), np.array([0.7]), (0,), 1e-6 * np.cos(0.7)
    )
    sweep = dataclasses.replace(tiny, ladder=ladder)
    plots.plot_step_sweep(sweep, tmp_path / "s.png")
    ax = drawn[-1].axes[0]
    label = next(t for t in ax.texts if t.get_text() == "check_grad's ladder")
    lo, hi = float(ladder[0]), float(ladder[-1])
    assert label.get_position()[0] == pytest.approx(np.sqrt(lo * hi), rel=1e-15, abs=0)
    box, frame = label.get_window_extent(), ax.get_window_extent()  # at the top, inside
    assert frame.y1 - 0.1 * frame.height < box.y1 <= frame.y1


def test_each_fixed_step_is_a_thin_dotted_vertical_in_its_method_s_colour(drawn, tmp_path):
    sweep = _sin_sweep()
    plots.plot_step_sweep(sweep, tmp_path / "s.png")
    ax = drawn[-1].axes[0]
    data = {line.get_label(): line for line in ax.lines}
    verticals = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(verticals) == len(sweep.classic_steps)
    for line, (name, step) in zip(verticals, sweep.classic_steps.items()):
        assert tuple(line.get_xdata()) == (step, step)
        assert to_rgba(line.get_color()) == to_rgba(data[name].get_color())
        assert line.get_linewidth() < data[name].get_linewidth()  # thinner than the data


def test_the_default_sweep_runs_44_log_spaced_steps_from_half_to_1e_minus_14():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the sweep itself warns of nothing
        sweep = _sin_sweep()
    steps = np.asarray(sweep.steps)
    assert steps.dtype == np.float64 and len(steps) == 44
    assert steps[0] == pytest.approx(0.5, rel=1e-14, abs=0)
    assert steps[-1] == pytest.approx(1e-14, rel=1e-12, abs=0)
    assert np.allclose(np.diff(np.log(steps)), np.log(steps[1] / steps[0]), rtol=1e-9)


def test_steps_given_in_float32_are_swept_in_double():
    """The steps are read as float64: float32 steps give the same errors as their float64
    values (a float32 h would round the differences to float32)."""
    steps32 = np.logspace(-1, -6, 6).astype(np.float32)

    def f(x):
        return float(np.sum(np.sin(x)))

    x = np.array([0.7])
    a = study.step_sweep(f, x, (0,), np.cos(0.7), steps=steps32)
    b = study.step_sweep(f, x, (0,), np.cos(0.7), steps=steps32.astype(np.float64))
    assert np.asarray(a.steps).dtype == np.float64
    for name in ("forward", "central", "richardson"):
        assert np.array_equal(getattr(a, name), getattr(b, name))


def test_the_sweep_leaves_the_point_it_hands_f_as_it_found_it():
    """f is called with one array moved entry by entry; after the sweep that array holds x
    again (an f that keeps it sees the point, not the last step)."""
    seen = []

    def f(x):
        seen.append(x)
        return float(np.sum(np.sin(x)))

    study.step_sweep(f, np.array([0.7, -0.2]), (1,), np.cos(-0.2), steps=[0.1, 0.01])
    assert all(np.array_equal(v, [0.7, -0.2]) for v in seen)


def test_layer_norms_of_one_initialisation_read_back_from_json(drawn, tmp_path):
    """One initialisation: one panel, its layers in the legend. Norms read back from a study's
    JSON (None where a norm was not finite) draw the picture NaN draws."""
    with_none = {"article": [[1e-3, None], [2e-3, 2e-1], [4e-3, 3e-1]]}
    with_nan = {"article": np.array([[1e-3, np.nan], [2e-3, 2e-1], [4e-3, 3e-1]])}
    for i, norms in enumerate((with_none, with_nan)):
        plots.plot_layer_grad_norms(norms, tmp_path / f"n{i}.png")
    for fig in drawn:
        (ax,) = fig.axes
        assert ax.get_title() == "init: article"
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["layer 1", "layer 2"]
    data = [[line.get_ydata() for line in fig.axes[0].lines] for fig in drawn]
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(*data))


def test_the_study_s_defaults(monkeypatch, tmp_path):
    """Called with the network and data only, the study trains 2000 epochs at learning rate 2
    (as its first picture's title and every caption say), trains the deeper network 400 epochs
    for the layer norms, and draws into ./backproof-out. (The comparison's training is cut to
    2 epochs here, after recording what it was asked for, to keep the test short.)"""
    asked = {}
    compare_network = study.compare_network

    def recorded(*args, epochs, lr, **kwargs):
        asked.update(epochs=epochs, lr=lr)
        return compare_network(*args, epochs=2, lr=lr, **kwargs)

    monkeypatch.setattr(study, "compare_network", recorded)
    monkeypatch.chdir(tmp_path)
    X, y = network.moons(20)
    result = study.run_study(network.NetworkSpec([2, 3, 1]), X, y, progress=False)
    assert asked == {"epochs": 2000, "lr": 2.0}
    assert result["plots"]["cost_histories"] == os.path.join("backproof-out", "cost_histories.png")
    assert (tmp_path / "backproof-out" / "catalog_heatmap.png").is_file()
    assert "learning rate 2." in result["captions"]["param_errors"]
    assert "Trained 400 epochs from each initialisation." in result["captions"]["layer_grad_norms"]


def test_a_training_whose_last_step_overflows_the_cost_is_refused_by_name():
    """A linear 2-1 network with the squared error and lr 1e160: one step leaves the weights
    finite (about 1e160) but their cost overflows to inf. The study says whose trained
    parameters have that cost and advises a lower learning rate."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((2, 20)), rng.standard_normal((1, 20))
    spec = network.NetworkSpec([2, 1], activations=["linear"], loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the overflow itself is what is reported
        with pytest.raises(FloatingPointError) as raised:
            study.run_study(spec, X, Y, epochs=1, lr=1e160, make_plots=False, progress=False)
    assert str(raised.value) == (
        "the cost of manual's trained parameters is inf; lower lr (now 1e+160)"
    )


# -- fdpolicy -----------------------------------------------------------------------------------


def test_noise_within_rounding_at_the_third_order_is_hidden():
    """A line with a strong curvature plus a wiggle whose third differences are ±56 ulps:
    ECnoise reads the table at the third order (the first and second differences never change
    sign), where rounding allows 2³ x 8 = 64 ulps. Within that bound the spacing is too small
    to show noise, at every spacing tried (4 of 7 points each)."""
    wiggle = [0, 0, 0, 56, 112, 224, 336]  # third differences +56, -56, +56, -56
    i = np.arange(7)
    offsets = 1e9 * i + 1e6 * i**2 + np.array(wiggle)
    table = 1.0 + EPS * offsets
    assert list(np.diff(table, 3) / EPS) == [56, -56, 56, -56]
    noise = fdpolicy.estimate_noise(lambda line, delta: table.copy(), [0], 1.0, EPS)
    assert noise.evaluations == 4 * 7


def test_ladder_combinations_exactly_at_the_line_s_share_are_no_evidence_of_a_grid():
    """Only second differences beyond what a line makes of them (twice the largest slope times
    the steps' asymmetry) are evidence of a grid. Eight rows of a ladder, steps halving, of an
    f with slope 1 to the right (+4s over h+ = 4s) and 2/3 to the left (-2s over h- = 3s):
    each across combination f(+) + f(-) - 2 f(0) = 2s is exactly that share, so no grid is
    reported, although every value is a whole number of 2s."""
    s = 2.0 ** np.arange(7, -1, -1)
    rows = np.stack([4 * s, -2 * s, 4 * s, 3 * s], axis=1)
    assert fdpolicy.grid_quantum([], 0.0, [rows.tolist()]) == 0.0


def test_noise_spacings_are_capped_at_a_tenth():
    """The noise lines' spacings are eps^(1/3) times 1e-2, 1, 1e2 and 1e4, none above 0.1: in
    float32 (eps^(1/3) ≈ 4.9e-3) the two largest both become 0.1, tried once. A table too
    regular to show noise makes every spacing be tried."""
    eps32 = float(np.finfo(np.float32).eps)
    regular = 1.0 + EPS * np.array(
        [-9960813438465, -8300677865407, -6640542292316, -4980406719324, -3320271146066,
         -1660135573261, 0], dtype=float
    )  # fmt: skip
    deltas = []

    def along(line, delta):
        deltas.append(delta)
        return regular.copy()

    fdpolicy.estimate_noise(along, [0], 1.0, eps32)
    root = eps32 ** (1 / 3)
    assert deltas == pytest.approx([1e-2 * root, root, 0.1], rel=1e-12, abs=0)


def test_a_spacing_that_only_jitters_by_an_ulp_lowers_no_ceiling():
    """Three spacings: the closest too regular to show noise (its steps bound a quantised f's
    noise), the next only jittering by one ulp (its values repeat within rounding: nothing to
    read, not even a quantum), the third showing noise below the first one's steps. That noise
    is f's level: the jitter bounds nothing."""
    regular = 1.0 + EPS * np.array(
        [-9960813438465, -8300677865407, -6640542292316, -4980406719324, -3320271146066,
         -1660135573261, 0], dtype=float
    )  # fmt: skip
    jitter = 1.0 + EPS * np.array([0, 1, 0, 1, 0, 1, 0], dtype=float)
    noisy = 1.0 - EPS * np.cumsum([0, 300, 0, -300, 0, 300, -300])
    spacings = sorted(set(EPS ** (1 / 3) * np.array([1e-2, 1.0, 1e2, 1e4])))

    def along(line, delta):
        table = {spacings[0]: regular, spacings[1]: jitter}.get(delta, noisy)
        return table.copy()

    noise = fdpolicy.estimate_noise(along, [0], 1.0, EPS)
    assert noise.evaluations == 3 * 7
    sigma_1 = math.sqrt(0.5 * np.mean(np.diff(noisy) ** 2))  # ECnoise at the first order
    assert noise.measured and noise.level == pytest.approx(sigma_1, rel=1e-12, abs=0)


def test_noise_exactly_at_the_closer_spacing_s_steps_is_still_f_s():
    """The closest spacing is too regular (a line of steps 999 and 1000 ulps); the next shows
    noise whose level, sqrt(mean(D f²) / 2), is exactly 1000 ulps: no larger than the steps
    seen closer, so it is f's noise (only a level beyond them would be signal)."""
    regular = 1.0 + EPS * np.array([0, 999, 1999, 2998, 3998, 4997, 5997], dtype=float)
    noisy = 1.0 + EPS * np.cumsum([0, 2000, -2000, 1000, -1000, 1000, -1000])
    closest = float(np.min(EPS ** (1 / 3) * np.array([1e-2, 1.0, 1e2, 1e4])))

    def along(line, delta):
        return (regular if delta == closest else noisy).copy()

    noise = fdpolicy.estimate_noise(along, [0], 1.0, EPS)
    assert noise.evaluations == 2 * 7
    assert noise.measured and noise.level == 1000 * EPS


def test_a_constant_f_is_still_unmeasured_after_every_spacing():
    noise = fdpolicy.estimate_noise(lambda line, delta: np.full(7, 2.5), [0], 2.5, EPS)
    assert noise.still is True and noise.measured is False
    assert noise.evaluations == 4 * 7
    assert noise.level == 0.5 * EPS * 2.5


def test_a_grid_finer_than_one_is_a_measured_noise():
    """f steps by quanta of 2^-10 (an exact parabola in whole quanta along every line): no
    table shows any noise (its third differences are exactly 0), yet the grid the values sit
    on is found, and its rounding, q / sqrt(12), is f's measured noise."""
    q = 2.0**-10
    table = q * np.array([0, 1, 4, 9, 16, 25, 36], dtype=float)
    noise = fdpolicy.estimate_noise(lambda line, delta: table.copy(), [0], 0.0, EPS)
    assert noise.quantum == pytest.approx(q, rel=1e-9, abs=0)
    assert noise.measured is True and noise.level == noise.quantum / math.sqrt(12)
