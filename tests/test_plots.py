"""The study's pictures: the numbers it computes, and what plots draws from them."""

import warnings

import numpy as np
import pytest
from conftest import STUDY_PICTURES, make_problem

from backproof import manual, network
from backproof.compare import plots, study
from backproof.compare.mutants import CATALOG, Mutant


def texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.texts)


# -- the numbers -----------------------------------------------------------------------------
def test_taylor_test_slopes_tell_right_from_wrong():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce")
    obj = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    grads = manual.loss_and_grads(spec, params, X, Y)[1]
    right = study.taylor_remainders(obj, grads, params)
    wrong = study.taylor_remainders(obj, {k: 1.1 * v for k, v in grads.items()}, params)
    assert 1.9 < right.slope < 2.1 and 0.9 < wrong.slope < 1.1


def test_step_sweep_shows_the_v_and_the_truncation_orders():
    sweep = study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))
    central = sweep.central
    best = int(np.argmin(central))
    assert 0 < best < len(central) - 1  # errors fall, then rise: truncation, then round-off
    assert central[0] > 100 * central[best] and central[-1] > 100 * central[best]
    big = sweep.steps >= 1e-3  # truncation side: slopes 1, 2, 4 as the guides say
    for name, order in (("forward", 1), ("central", 2), ("richardson", 4)):
        h, err = sweep.steps[big][:4], getattr(sweep, name)[big][:4]
        slope = np.polyfit(np.log(h), np.log(err), 1)[0]
        assert abs(slope - order) < 0.3, (name, slope)
    assert sweep.f0 == pytest.approx(np.sin(0.7))


def test_deeper_keeps_the_study_network_activations_and_loss():
    spec = network.NetworkSpec([2, 8, 1], ("relu", "sigmoid"), init="he")
    deep = study.deeper(spec)
    assert deep.layer_dims == (2, 8, 8, 8, 1)
    assert deep.activations == ("relu", "relu", "relu", "sigmoid")
    assert (deep.loss, deep.init, deep.dtype) == (spec.loss, spec.init, spec.dtype)
    already = network.NetworkSpec([2, 4, 4, 4, 2], ("tanh",) * 3 + ("softmax",), loss="ce")
    assert study.deeper(already) is already


def test_layer_gradient_norms_show_the_article_init_vanishing():
    X, y = network.moons(60)
    norms = {}
    for init in ("article", "xavier"):
        spec = network.NetworkSpec([2, 8, 8, 1], init=init)
        norms[init] = study.layer_grad_norms(
            spec, X, y, lambda s, p, X_, Y_: manual.loss_and_grads(s, p, X_, Y_), 5, 1.0
        )
    assert norms["article"].shape == (5, 3)
    ratio = {k: v[0, 0] / v[0, -1] for k, v in norms.items()}  # first layer over last
    assert ratio["article"] < 1e-2  # vanishes toward the input
    assert ratio["article"] < 0.1 * ratio["xavier"]  # much less so with xavier


def test_catalog_errors_show_where_each_mistake_enters():
    table = study.catalog_layer_errors()
    assert table.names == [m.name for m in CATALOG]
    row = {n: i for i, n in enumerate(table.names)}
    E = table.errors
    wt = row["W_instead_of_WT"]  # enters at layer 1: the layers above are exact
    assert E[wt, 0] > 0.1 and E[wt, 1] < 1e-12 and E[wt, 2] < 1e-12
    sp = row["sigmoid_prime_s_1_plus_s"]  # wrong below the output layer only
    assert E[sp, 0] > 0.1 and E[sp, 1] > 0.1 and E[sp, 2] < 1e-12
    assert E[row["forgot_1_over_m"]].min() > 1  # every layer m times too large
    assert table.marks[(row["article_backprop_keys"], 1)] == "missing"
    assert table.marks[(row["article_unfused_dAL"], 0)] == "non-finite"
    assert table.marks[(row["db_wrong_axis"], 0)] == "shape"
    short = row["transposed_dW"]  # a two-layer network: no layer 3, and nothing to mark there
    assert np.isnan(E[short, 2]) and (short, 2) not in table.marks


def test_catalog_errors_leave_a_right_derivation_at_rounding():
    spec = CATALOG[0].spec
    right = Mutant("right", "", spec, lambda s, p, X, Y: manual.loss_and_grads(s, p, X, Y)[1], {})
    table = study.catalog_layer_errors([right])
    assert np.all(table.errors < 1e-13) and not table.marks


# -- the drawings ----------------------------------------------------------------------------
def test_param_errors_bars_start_below_the_smallest_error_and_mark_exact_zeros(drawn, tmp_path):
    errors = {
        "autograd": {"manual": [0.0, 3e-17, 2e-15], "tensor": [1e-16, 0.0, 2e-15]},
        "fd": {"manual": [1e-9, 2e-9, 3e-9], "tensor": [1e-9, 2e-9, 3e-9]},
    }
    tolerances = {"autograd": (2.2e-12, "tolerance 1e4·eps"), "fd": (1e-7, "tolerance ≈ 7√eps")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        passed = {r: {i: [v < 1e-12 or r == "fd" for v in e] for i, e in by.items()}
                  for r, by in errors.items()}  # fmt: skip
        passed["fd"]["tensor"][2] = False
        path = plots.plot_param_errors(
            errors, ["W1", "b1", "W2"], tolerances, tmp_path / "e.png", passed=passed,
            title="T", caption="C",
        )  # fmt: skip
    assert path.endswith("e.png")
    fig = drawn[-1]
    ax_ag, ax_fd = fig.axes
    bottom = ax_ag.get_ylim()[0]
    assert bottom < 3e-17 / 5  # the smallest bar has a visible height
    assert len(ax_ag.patches) == 4 and len(ax_fd.patches) == 6  # zeros are not bars
    hatched = [bar for bar in ax_fd.patches if bar.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_height() == pytest.approx(3e-9, rel=1e-3)
    assert not any(bar.get_hatch() for bar in ax_ag.patches)
    zeros = [line for line in ax_ag.lines if line.get_marker() == "$0$"]
    assert sum(len(line.get_xdata()) for line in zeros) == 2
    assert all(y < 10 * bottom for line in zeros for y in line.get_ydata())
    tol_lines = [line for line in ax_ag.lines if list(line.get_ydata()) == [2.2e-12, 2.2e-12]]
    assert len(tol_lines) == 1
    assert ax_ag.get_ylabel() and not ax_fd.get_ylabel()  # the label once
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][-1].startswith("exactly 0")
    assert "C" in texts(fig) and fig._suptitle.get_text() == "T"


def test_taylor_plot_legend_has_single_parentheses_and_visible_guides(drawn, tmp_path):
    hs = np.logspace(-1, -5, 9)
    results = {
        "manual (right)": study.TaylorTest(hs, 3 * hs**2, 2.0),
        "manual × m": study.TaylorTest(hs, 5 * hs, 1.0),
    }
    plots.plot_taylor_test(results, tmp_path / "t.png", title="T", caption="see this")
    ax = drawn[-1].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "manual (right): slope 2.00" and "))" not in " ".join(labels)
    guide2 = next(line for line in ax.lines if line.get_label() == "slope 2 (guide)")
    assert np.all(guide2.get_ydata() < 3 * hs**2 / 2)  # below the data, not under it


def test_step_sweep_plot_draws_the_three_guides(drawn, tmp_path):
    sweep = study.step_sweep(lambda x: float(np.sum(np.sin(x))), np.array([0.7]), (0,), np.cos(0.7))
    plots.plot_step_sweep(sweep, tmp_path / "s.png", title="T", caption="C")
    words = [t.get_text() for t in drawn[-1].axes[0].texts]
    for guide in ("∝ h", "∝ h²", "∝ h⁴", " ∝ eps·|f|/h"):
        assert guide in words


def test_the_study_draws_six_pictures_each_with_a_caption(tmp_path):
    X, y = network.moons(40)
    spec = network.NetworkSpec([2, 3, 1])
    result = study.run_study(
        spec, X, y, out_dir=tmp_path, epochs=3, lr=1.5, norm_epochs=3, data_name="moons"
    )
    names = set(STUDY_PICTURES)
    assert set(result["plots"]) == names == set(result["captions"])
    for name, caption in result["captions"].items():
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert "What to see" in caption, name
        assert "earning rate" in caption, name
    for name in names - {"catalog_heatmap"}:
        caption = result["captions"][name]
        assert "data: moons, 40 examples" in caption and "learning rate 1.5" in caption
    assert "2-3-1 (sigmoid, sigmoid)" in result["captions"]["param_errors"]
    assert (
        "2-3-3-3-1 (sigmoid, sigmoid, sigmoid, sigmoid)" in result["captions"]["layer_grad_norms"]
    )
    assert "vanishing" in result["captions"]["layer_grad_norms"]
    assert study.study_to_dict(result)["captions"] == result["captions"]
    errors, tolerances, passed = study._param_errors(result["comparison"])
    assert tolerances["autograd"][0] == pytest.approx(1e4 * np.finfo(float).eps)
    assert tolerances["fd"][0] > tolerances["autograd"][0]
    assert all(all(row) for by in passed.values() for row in by.values())
