"""What a user of the study relies on: the numbers ``run_study`` returns, the pictures it hands
to ``plots`` (drawn from those very numbers, under the captions the tutorial shows), the JSON
form, and the computations behind the pictures (step sweep, Taylor test, layer norms, catalog).

One small study (a 2-3-1 network on 40 examples, 3 epochs) is run once for the module.
"""

import json
import os
import re
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import matplotlib.figure
import numpy as np
import pytest
from conftest import STUDY_PICTURES

from backproof import manual, network
from backproof.compare import cli, fdpolicy, reference, study
from backproof.compare.mutants import CATALOG, Mutant

ROOT = Path(__file__).resolve().parents[1]
NAMES = STUDY_PICTURES
RIGHT, WRONG = "manual (right)", "manual × m (the 1/m forgotten)"


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "pictures"  # not there yet: the study makes it
    X, y = network.moons(40)
    spec = network.NetworkSpec([2, 3, 1])
    figures = {}
    original = matplotlib.figure.Figure.savefig

    def keep(fig, path, *args, **kwargs):
        figures[Path(path).stem] = fig
        return original(fig, path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", keep)
        start = time.perf_counter()
        result = study.run_study(
            spec, X, y, out_dir=out, epochs=3, lr=1.5, norm_epochs=4, data_name="moons"
        )
        wall = time.perf_counter() - start
    X, Y = network.check_data(spec, X, y)
    return SimpleNamespace(result=result, figures=figures, spec=spec, X=X, Y=Y, out=out, wall=wall)


def _suptitle(fig):
    return fig._suptitle.get_text()


def _caption(fig):
    return next(t.get_text() for t in fig.texts if t is not fig._suptitle)


# -- run_study's result ------------------------------------------------------------------------
def test_the_result_holds_the_comparison_the_trained_runs_and_the_timings(studied):
    r, spec, X, Y = studied.result, studied.spec, studied.X, studied.Y
    assert set(r) == {
        "comparison", "training", "plots", "captions", "taylor_slopes",
        "layer_norms_first_epoch", "catalog_errors", "seconds",
    }  # fmt: skip
    comparison = r["comparison"]
    assert comparison.spec == spec and comparison.m == 40 and comparison.ok
    # the comparison starts at the spec's initial weights and trains with the given lr/epochs
    again = study.compare_network(spec, X, Y, network.init_params(spec), epochs=3, lr=1.5)
    assert [run.history for run in comparison.training] == [run.history for run in again.training]
    assert all(len(run.history) == 3 for run in comparison.training)
    assert list(r["training"]) == [run.implementation for run in comparison.training]
    assert list(r["training"]) == ["manual", "tensor"]
    for run in comparison.training:
        final = r["training"][run.implementation]
        assert set(final) == {"final_cost", "accuracy"}
        # the cost of the trained parameters, not the last history entry (the cost before the
        # last step)
        assert final["final_cost"] == network.cost(spec, run.params, X, Y)
        assert final["final_cost"] < run.history[-1]
        assert final["accuracy"] == network.accuracy(spec, run.params, X, Y)
    assert 0 < r["seconds"] <= studied.wall


def test_the_taylor_slopes_tell_the_right_gradient_from_the_forgotten_1_over_m(studied):
    slopes = studied.result["taylor_slopes"]
    assert list(slopes) == [RIGHT, WRONG]
    assert abs(slopes[RIGHT] - 2) < 0.1 and abs(slopes[WRONG] - 1) < 0.1


def test_first_epoch_layer_norms_are_those_of_the_deeper_network_per_initialisation(studied):
    spec, X, Y = studied.spec, studied.X, studied.Y
    first = studied.result["layer_norms_first_epoch"]
    assert list(first) == ["article", "xavier"]
    deep = study.deeper(spec)
    for init, row in first.items():
        params = network.init_params(deep.replace(init=init))
        grads = manual.loss_and_grads(deep.replace(init=init), params, X, Y)[1]
        assert isinstance(row, list) and len(row) == 4
        assert row == pytest.approx([np.linalg.norm(grads[f"W{l}"]) for l in range(1, 5)])
    assert first["article"][0] / first["article"][-1] < first["xavier"][0] / first["xavier"][-1]


def test_catalog_errors_are_the_catalog_table_by_name(studied):
    table = study.catalog_layer_errors()
    got = studied.result["catalog_errors"]
    assert list(got) == [m.name for m in CATALOG]
    for name, row in zip(table.names, table.errors):
        assert isinstance(got[name], list)
        np.testing.assert_array_equal(got[name], row)


def test_each_picture_is_written_where_the_result_says(studied):
    r = studied.result
    assert list(r["plots"]) == NAMES and list(r["captions"]) == NAMES
    for name in NAMES:
        assert r["plots"][name] == os.path.join(os.fspath(studied.out), f"{name}.png")
        assert os.path.getsize(r["plots"][name]) > 10_000
    assert sorted(os.listdir(studied.out)) == sorted(f"{n}.png" for n in NAMES)


def _documented_captions() -> dict:
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    shown = re.findall(r"!\[(\w+)\]\(img/\w+\.png\)\n\n\*Figure \d+\. (.+)\*", tutorial)
    return dict(shown)


def _numbers_out(text: str) -> str:
    return re.sub(r"\d+(\.\d+)?(e[-+]\d+)?", "#", text)


def test_the_captions_read_as_the_tutorial_shows_them_with_this_study_s_numbers(studied):
    """The tutorial prints the default study's captions; a smaller study's say the same words
    around its own numbers, and each figure prints its caption under the axes."""
    documented = _documented_captions()
    captions = studied.result["captions"]
    for name in NAMES:
        assert _numbers_out(captions[name]) == _numbers_out(documented[name]), name
        fig = studied.figures[name]
        assert _caption(fig) == "\n".join(
            textwrap.wrap(captions[name], int(fig.get_figwidth() * 17))
        )
    context = "Network 2-3-1 (sigmoid, sigmoid), bce loss, article init, seed 3; data: moons, 40 "
    context += "examples; learning rate 1.5. "
    for name in NAMES[:4]:
        assert captions[name].startswith(context), name
    assert captions["layer_grad_norms"].startswith(
        "Network 2-3-3-3-1 (sigmoid, sigmoid, sigmoid, sigmoid), bce loss, seed 3; data: moons, "
        "40 examples; learning rate 1.5. Trained 4 epochs from each initialisation."
    )
    comparison = studied.result["comparison"]
    assert f"(largest difference {comparison.training_max_diff:.1e})." in captions["cost_histories"]
    first = studied.result["layer_norms_first_epoch"]
    for init in ("article", "xavier"):
        assert f"{first[init][0] / first[init][-1]:.0e}" in captions["layer_grad_norms"]
    assert "times ‖dJ/dW_4‖" in captions["layer_grad_norms"]


def test_the_titles_name_the_network_and_what_is_drawn(studied):
    titles = {name: _suptitle(fig) for name, fig in studied.figures.items()}
    assert titles == {
        "cost_histories": "2-3-1 network: the cost during 3 epochs, two implementations",
        "param_errors": "2-3-1 network: gradient error per parameter, before training",
        "step_sweep": "2-3-1 network: finite differences of dJ/dW2[0,0] against the step h",
        "taylor_test": "2-3-1 network: Taylor test of the gradient at the initial weights",
        "layer_grad_norms": "vanishing gradients: per-layer gradient norms of 2-3-3-3-1 "
        "(the study's 2-3-1 made deeper)",
        "catalog_heatmap": "where each wrong derivation enters: relative error per layer",
    }


def test_a_network_deep_enough_already_is_drawn_as_it_is(tmp_path, monkeypatch):
    spec = network.NetworkSpec([2, 3, 3, 3, 1], seed=1)
    X, y = network.moons(30)
    seen = {}
    original = study.plots.plot_layer_grad_norms

    def keep(norms, path, *, title, caption):
        seen.update(norms=norms, title=title, caption=caption)
        return original(norms, path, title=title, caption=caption)

    monkeypatch.setattr(study.plots, "plot_layer_grad_norms", keep)
    catalog = study.catalog_layer_errors
    monkeypatch.setattr(study, "catalog_layer_errors", lambda: catalog(CATALOG[:1]))
    for name in (
        "plot_cost_histories",
        "plot_param_errors",
        "plot_step_sweep",
        "plot_catalog_heatmap",
    ):
        monkeypatch.setattr(study.plots, name, lambda *a, **k: "skipped")
    result = study.run_study(spec, X, y, out_dir=tmp_path, epochs=2, lr=0.5, norm_epochs=2)
    assert seen["title"].endswith("of 2-3-3-3-1 (the study's network)")
    assert "data: 2 features, 30 examples; learning rate 0.5." in seen["caption"]
    assert [a.shape for a in seen["norms"].values()] == [(2, 4), (2, 4)]
    assert result["plots"]["catalog_heatmap"] == "skipped"


# -- the pictures draw the study's numbers -----------------------------------------------------
def test_the_pictures_draw_the_study_s_numbers(studied):
    r, spec, X, Y, figs = studied.result, studied.spec, studied.X, studied.Y, studied.figures
    comparison = r["comparison"]
    cost_lines = figs["cost_histories"].axes[0].lines
    assert [line.get_label() for line in cost_lines] == ["manual", "tensor"]
    for line, run in zip(cost_lines, comparison.training):
        np.testing.assert_array_equal(line.get_ydata(), run.history)

    params = list(spec.param_shapes())
    panels = figs["param_errors"].axes
    assert [ax.get_title() for ax in panels] == [f"against {ref}" for ref in comparison.references]
    for ax, ref in zip(panels, comparison.references):
        assert [t.get_text() for t in ax.get_xticklabels()] == params
        tops = sorted(b.get_y() + b.get_height() for b in ax.patches)
        errs = [
            comparison.cell(i, ref, p).rel_error for i in comparison.implementations for p in params
        ]
        assert tops == pytest.approx(sorted(e for e in errs if e > 0))
        tolerance = max(comparison.cell(i, ref, p).tolerance
                        for i in comparison.implementations for p in params)  # fmt: skip
        label = (
            f"largest entrywise tolerance {tolerance:.0e} (check_grad's rule)"
            if ref == "fd"
            else f"tolerance {tolerance:.1e} (1e4·eps: exact reference)"
        )
        assert [t.get_text() for t in ax.texts] == [label]
        assert any(list(line.get_ydata()) == [tolerance] * 2 for line in ax.lines)
        assert not any(b.get_hatch() for b in ax.patches)  # every verdict passes
    legend = figs["param_errors"].legends[0]
    assert [t.get_text() for t in legend.get_texts()][:-1] == comparison.implementations

    params0 = network.init_params(spec)
    exact = reference.loss_and_grads(spec, params0, X, Y)[1]["W2"][0, 0]
    cost_of = lambda w: network.objective(spec, {**params0, "W2": w}, X, Y)  # noqa: E731
    sweep = study.step_sweep(cost_of, params0["W2"], (0, 0), float(exact))
    drawn = {line.get_label(): line for line in figs["step_sweep"].axes[0].lines}
    for name in ("forward", "central", "richardson"):
        np.testing.assert_allclose(drawn[name].get_ydata(), getattr(sweep, name), rtol=1e-12)
    assert sweep.central.min() < 1e-9 * abs(exact)  # the V's bottom: the gradient is right

    grads = manual.loss_and_grads(spec, params0, X, Y)[1]
    objective = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    right = study.taylor_remainders(objective, grads, params0)
    wrong = study.taylor_remainders(objective, {k: 40 * v for k, v in grads.items()}, params0)
    lines = figs["taylor_test"].axes[0].lines
    assert lines[0].get_label() == f"{RIGHT}: slope {right.slope:.2f}"
    assert lines[1].get_label() == f"{WRONG}: slope {wrong.slope:.2f}"
    np.testing.assert_allclose(lines[0].get_ydata(), right.remainder, rtol=1e-9)
    np.testing.assert_allclose(lines[1].get_ydata(), wrong.remainder, rtol=1e-9)
    assert r["taylor_slopes"] == {RIGHT: right.slope, WRONG: wrong.slope}

    deep = study.deeper(spec)
    norm_axes = figs["layer_grad_norms"].axes
    assert [ax.get_title() for ax in norm_axes] == ["init: article", "init: xavier"]
    for ax, init in zip(norm_axes, ("article", "xavier")):
        norms = study.layer_grad_norms(
            deep.replace(init=init), X, Y, lambda s, p, X_, Y_: manual.loss_and_grads(s, p, X_, Y_),
            4, 1.5,
        )  # fmt: skip
        assert norms.shape == (4, 4)
        for l, line in enumerate(ax.lines):
            np.testing.assert_allclose(line.get_ydata(), norms[:, l], rtol=1e-12)

    image = figs["catalog_heatmap"].axes[0].images[0].get_array()
    table = study.catalog_layer_errors()
    shown = np.where(np.isfinite(table.errors) & (table.errors > 0), table.errors, np.nan)
    np.testing.assert_array_equal(np.ma.filled(image.astype(float), np.nan), shown)


# -- without pictures, and the JSON form -------------------------------------------------------
def test_without_plots_the_study_draws_and_writes_nothing(tmp_path, capsys):
    X, y = network.moons(30)
    out = tmp_path / "none"
    r = study.run_study(network.NetworkSpec([2, 3, 1]), X, y, out_dir=out, epochs=2,
                        make_plots=False, progress=False)  # fmt: skip
    assert (r["plots"], r["captions"], r["taylor_slopes"]) == ({}, {}, {})
    assert "layer_norms_first_epoch" not in r and "catalog_errors" not in r
    assert not out.exists()
    d = study.study_to_dict(r)
    assert (d["layer_norms_first_epoch"], d["catalog_errors"], d["captions"]) == ({}, {}, {})
    assert capsys.readouterr().err == ""
    study.run_study(network.NetworkSpec([2, 3, 1]), X, y, epochs=2, make_plots=False,
                    progress=True)  # fmt: skip
    assert "it" in capsys.readouterr().err  # the progress bar the caller asked for


def test_study_to_dict_is_the_result_in_json_ready_form(studied):
    r = studied.result
    d = study.study_to_dict(r)
    assert list(d) == [
        "comparison", "training", "taylor_slopes", "layer_norms_first_epoch", "catalog_errors",
        "plots", "captions", "seconds", "ok", "numpy",
    ]  # fmt: skip
    assert d["comparison"] == r["comparison"].to_dict()
    for key in ("training", "taylor_slopes", "layer_norms_first_epoch", "catalog_errors",
                "plots", "captions", "seconds"):  # fmt: skip
        assert d[key] == r[key] or key == "catalog_errors", key
    np.testing.assert_array_equal(
        [v for row in d["catalog_errors"].values() for v in row],
        [v for row in r["catalog_errors"].values() for v in row],
    )
    assert d["ok"] is True and d["numpy"] == np.__version__
    json.dumps(d["comparison"] | {"training": d["training"], "plots": d["plots"]})
    failing = dict(r, comparison=SimpleNamespace(ok=0, to_dict=lambda: {}))
    assert study.study_to_dict(failing)["ok"] is False


# -- the computations --------------------------------------------------------------------------
def test_context_names_the_network_the_data_and_the_learning_rate():
    spec = network.NetworkSpec([3, 5, 4, 2], ("tanh", "relu", "softmax"), loss="ce", init="he",
                               seed=7)  # fmt: skip
    assert study._context(spec, "blobs", 120, 0.25) == (
        "Network 3-5-4-2 (tanh, relu, softmax), ce loss, he init, seed 7; data: blobs, 120 "
        "examples; learning rate 0.25."
    )


def test_step_sweep_of_a_known_function():
    x = np.array([[0.25, 1.5]])
    f = lambda z: -float(np.sum(z**3))  # noqa: E731  (truncation errors below the exact value)
    sweep = study.step_sweep(f, x, (0, 1), -3 * 1.5**2)
    assert x.tolist() == [[0.25, 1.5]]  # the caller's array is left as it was
    assert len(sweep.steps) == 44 and sweep.steps[0] == pytest.approx(0.5)
    assert sweep.steps[-1] == pytest.approx(1e-14) and np.all(np.diff(sweep.steps) < 0)
    assert sweep.f0 == f(x) and sweep.exact == -3 * 1.5**2 and type(sweep.exact) is float
    h = sweep.steps
    big = h > 1e-3
    # truncation: forward 3 x h + h², central h², Richardson exact for a cubic
    np.testing.assert_allclose(sweep.forward[big], 3 * 1.5 * h[big] + h[big] ** 2, rtol=1e-6)
    np.testing.assert_allclose(sweep.central[big], h[big] ** 2, rtol=1e-6)
    assert np.all(sweep.richardson[big] < 1e-9)
    assert all(np.all(getattr(sweep, n) >= 0) for n in ("forward", "central", "richardson"))
    # evaluated in float64 whatever the dtype of x
    single = study.step_sweep(f, x.astype(np.float32), (0, 1), -3 * 1.5**2)
    np.testing.assert_array_equal(single.central, sweep.central)
    for name in ("forward", "central", "richardson"):  # round-off: the left arm of the V
        err = getattr(sweep, name)
        assert err[-1] > 1e-4 and err[-1] > 1e3 * err.min(), name
        assert sweep[name] is err
    assert sweep.classic_steps == {
        m: float(fdpolicy.default_steps(np.array([1.5]), m, np.finfo(float).eps)[0])
        for m in ("central", "richardson")
    }
    np.testing.assert_array_equal(sweep.ladder, fdpolicy.ladder_steps(1.5))
    small = study.step_sweep(f, np.array([0.2]), (0,), 0.12, steps=[0.1, 0.01])
    np.testing.assert_array_equal(small.steps, [0.1, 0.01])
    np.testing.assert_array_equal(small.ladder, fdpolicy.ladder_steps(1.0))  # |x| below 1


def test_taylor_remainders_slopes_and_direction():
    x = np.array([0.4, -1.2, 0.7])
    f = lambda z: float(np.sum(np.sin(z)))  # noqa: E731
    right = study.taylor_remainders(f, np.cos(x), x)
    np.testing.assert_allclose(right.h, np.logspace(-1, -5, 9))
    assert abs(right.slope - 2) < 0.05 and right["slope"] == right.slope
    # the slope is an asymptote: the fit of the five smallest steps on log-log axes
    fit = np.polyfit(np.log(right.h[-5:]), np.log(right.remainder[-5:]), 1)[0]
    assert right.slope == pytest.approx(fit, rel=1e-12)
    wrong = study.taylor_remainders(f, np.cos(x) + 0.1, x)
    assert abs(wrong.slope - 1) < 0.05
    assert np.all(wrong.remainder > right.remainder)
    # the default direction is seeded: the same seed, the same remainders
    again = study.taylor_remainders(f, np.cos(x), x, seed=0)
    np.testing.assert_array_equal(again.remainder, right.remainder)
    other = study.taylor_remainders(f, np.cos(x), x, seed=1)
    assert not np.array_equal(other.remainder, right.remainder)
    v = np.random.default_rng(0).standard_normal(3)
    given = study.taylor_remainders(f, np.cos(x), x, direction=v)
    np.testing.assert_array_equal(given.remainder, right.remainder)
    e0 = study.taylor_remainders(f, np.cos(x), x, direction=np.array([1.0, 0, 0]), hs=[0.1, 0.01])
    expect = [abs(np.sin(0.4 + h) - np.sin(0.4) - h * np.cos(0.4)) for h in (0.1, 0.01)]
    np.testing.assert_allclose(e0.remainder, expect, rtol=1e-6)
    # dicts of arrays, every entry moved at once
    xs, gs = {"a": x[:2], "b": x[2:]}, {"a": np.cos(x[:2]), "b": np.cos(x[2:])}
    fd = lambda d: float(np.sum(np.sin(d["a"])) + np.sum(np.sin(d["b"])))  # noqa: E731
    both = study.taylor_remainders(fd, gs, xs, direction={"a": v[:2], "b": v[2:]})
    np.testing.assert_allclose(both.remainder, right.remainder, rtol=1e-9)


def test_taylor_remainders_of_a_linear_function_have_no_slope():
    linear = study.taylor_remainders(lambda z: float(np.sum(2.0 * z)), np.full(2, 2.0), np.zeros(2),
                                     direction=np.ones(2), hs=[0.5, 0.25, 0.125])  # fmt: skip
    assert np.all(linear.remainder == 0) and np.isnan(linear.slope)


def test_layer_grad_norms_record_every_layer_at_every_epoch():
    spec = network.NetworkSpec([2, 4, 3, 1], init="xavier")
    X, y = network.moons(30)
    X, Y = network.check_data(spec, X, y)
    norms = study.layer_grad_norms(spec, X, Y, manual.loss_and_grads, 3, 0.5)
    assert norms.shape == (3, 3)
    params = network.init_params(spec)
    for epoch in range(3):
        grads = manual.loss_and_grads(spec, params, X, Y)[1]
        np.testing.assert_allclose(
            norms[epoch], [np.linalg.norm(grads[f"W{l}"]) for l in (1, 2, 3)]
        )
        params = {k: params[k] - 0.5 * grads[k] for k in params}


def test_catalog_layer_errors_name_the_layer_of_each_wrong_formula():
    table = study.catalog_layer_errors()
    assert table.networks == ["-".join(map(str, m.spec.layer_dims)) for m in CATALOG]
    assert table.errors.shape == (len(CATALOG), max(m.spec.n_layers for m in CATALOG))
    row = dict(zip(table.names, table.errors))
    # the cost adds (L2/2)||W||²: measured against the regularised gradient, every W is off
    assert np.all(row["missing_regularisation"][: CATALOG[0].spec.n_layers] > 1e-6)
    spec = CATALOG[0].spec

    def right(s, p, X, Y):
        return manual.loss_and_grads(s, p, X, Y)[1]

    def no_b2(s, p, X, Y):
        return {k: v for k, v in right(s, p, X, Y).items() if k != "b2"}

    def flat_W1(s, p, X, Y):
        return {k: v.ravel() if k == "W1" else v for k, v in right(s, p, X, Y).items()}

    def overflow(s, p, X, Y):
        return {k: v * np.inf if k == "b1" else v for k, v in right(s, p, X, Y).items()}

    def double_top(s, p, X, Y):
        top = f"W{s.n_layers}"
        return {k: 2 * v if k == top else v for k, v in right(s, p, X, Y).items()}

    wrong = {"no_b2": no_b2, "flat": flat_W1, "inf": overflow, "top": double_top}
    mutants = [Mutant(n, "", spec, g, {}) for n, g in wrong.items()]
    table = study.catalog_layer_errors(mutants)
    assert table.names == ["no_b2", "flat", "inf", "top"]
    assert table.marks == {(0, 1): "missing", (1, 0): "shape", (2, 0): "non-finite"}
    assert (
        table.errors[0, 1] == 1.0 and np.isnan(table.errors[1, 0]) and np.isnan(table.errors[2, 0])
    )
    assert np.all(table.errors[0, [0, 2]] < 1e-13)
    L = spec.n_layers
    assert np.all(table.errors[3, : L - 1] < 1e-13) and 0.1 < table.errors[3, L - 1] < 1


def test_deeper_repeats_the_hidden_layer_up_to_the_depth_asked():
    spec = network.NetworkSpec([2, 5, 1], ("tanh", "sigmoid"), init="xavier", seed=4)
    two = study.deeper(spec, 2)
    assert two.layer_dims == (2, 5, 5, 1) and two.activations == ("tanh", "tanh", "sigmoid")
    assert (two.init, two.seed) == ("xavier", 4)
    assert study.deeper(spec, 1) is spec and study.deeper(two, 2) is two
    assert study.deeper(spec).layer_dims == (2, 5, 5, 5, 1)
    bare = network.NetworkSpec([2, 1], ("sigmoid",), loss="mse")
    made = study.deeper(bare)
    assert made.layer_dims == (2, 8, 8, 8, 1) and made.activations == ("sigmoid",) * 4
    assert made.loss == "mse"


# -- the command line's study ------------------------------------------------------------------
def test_the_command_line_study_prints_what_the_study_returned(capsys, monkeypatch, tmp_path):
    calls = []
    original = study.run_study

    def recording(spec, X, Y, **kwargs):
        result = original(spec, X, Y, **kwargs)
        result["training"]["tensor"]["accuracy"] = None  # a run that has no accuracy to show
        calls.append((spec, X, Y, kwargs, result))
        return result

    monkeypatch.setattr(study, "run_study", recording)
    out = tmp_path / "o"
    args = ["study", "--m", "30", "--dims", "2,3,1", "--epochs", "2", "--no-progress"]
    assert cli.main([*args, "--out", str(out)]) == 0
    ((spec, X, Y, kwargs, result),) = calls
    data_X, data_y = network.moons(30)
    np.testing.assert_array_equal(np.ravel(Y), np.ravel(data_y))
    np.testing.assert_array_equal(X, network.check_data(spec, data_X, data_y)[0])
    assert kwargs == {
        "out_dir": str(out), "epochs": 2, "lr": 2.0, "progress": False,
        "norm_epochs": study.DEFAULT_STUDY["norm_epochs"], "data_name": "moons",
    }  # fmt: skip
    text = capsys.readouterr().out
    manual_run = result["training"]["manual"]
    assert (
        f"trained with manual  final cost {manual_run['final_cost']:.6g}, "
        f"accuracy {manual_run['accuracy']:.3f}\n"
    ) in text
    tensor_cost = result["training"]["tensor"]["final_cost"]
    assert f"trained with tensor  final cost {tensor_cost:.6g}, accuracy n/a\n" in text
    for name, slope in result["taylor_slopes"].items():
        assert f"Taylor test, {name}: slope {slope:.2f}\n" in text
    listing = "".join(f"  {n}.png\n" for n in NAMES)
    assert f"\nplots written to {os.path.abspath(out)}:\n{listing}" in text
    assert text.endswith(f"\ndone in {result['seconds']:.1f} s\n")
