"""Behaviour that the survivors of the seventh session's mutation run (the functions changed
since the sixth: the command line's training loop, ``check_jacobian``, ``study_to_dict``, the
catalog heat map) showed untested: a training that overflows says only that it diverged, a
complex Jacobian's report is an ordinary empty "jacobian" report, and a catalog read back from
the study's JSON (None where a layer does not exist) is drawn like the study's own."""

import warnings

import numpy as np
import pytest

from backproof.compare import cli, plots, study
from backproof.compare.jacobians import check_jacobian


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


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


# -- the command line's training loop ----------------------------------------------------------


def test_a_training_whose_cost_overflows_says_only_that_it_diverged(capsys, tmp_path):
    """Features of size 1e10 and lr 1e300: the first step sends W1 to about 1e300 (finite), so
    the next forward pass overflows on its way to a NaN cost. ``train`` says in one line that
    training diverged at epoch 1, with no NumPy overflow warning before it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2)) * 1e10
    rows = "".join(f"{a},{b},{int(a > 0)}\n" for a, b in X)
    data = tmp_path / "big.csv"
    data.write_text("x1,x2,label\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = _run(
            capsys, "train", "--data", data, "--activations", "relu,sigmoid", "--lr", 1e300,
            "--epochs", 5, "--out", tmp_path / "o", "--no-progress",
        )  # fmt: skip
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("backproof: error: training diverged at epoch 1: the cost went from ")
    assert err.endswith("; try a smaller --lr (now 1e+300)\n")


# -- check_jacobian ------------------------------------------------------------------------------


def test_a_complex_jacobian_gives_an_empty_jacobian_report():
    """A complex jac_f is refused before any scalar check: the report is of kind "jacobian"
    (as every check_jacobian report is), with no checks, in text and in JSON."""
    A = np.arange(6.0).reshape(2, 3)
    report = check_jacobian(lambda x: A @ x, lambda x: A.astype(complex), np.ones(3))
    assert str(report).splitlines()[0] == "jacobian check: FAIL (0 scalar checks)"
    d = report.to_dict()
    assert d["kind"] == "jacobian" and d["verdict"] == "fail"
    assert d["checks"] == [] and d["wrong_outputs"] == [] and d["wrong_inputs"] == []
    assert d["diagnosis"] == "structure: jac_f returned dtype complex128 for x, which is real"
    right = check_jacobian(lambda x: A @ x, lambda x: A, np.ones(3))
    assert right.kind == report.kind == "jacobian"


# -- the catalog heat map ------------------------------------------------------------------------


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
