"""Behaviours the mutation run of compare.cli, compare.explain, compare.fdpolicy, compare.plots
and compare.study found unchecked (docs/mutation_kfront.md): the help's layout, the exit code
and JSON of ``backproof study``, the divergence message, a reader that goes away, the
catalog table of a derivation the check does not catch, ``explain``'s agreement threshold and
its derivative text for a registered activation, ...

The command runs in process (``cli.main([...])``), so a mutated command is the one that runs;
every run is small (a few epochs on 20 examples, pictures off).
"""

import dataclasses
import functools
import io
import json
import math
import os
import re
import sys
import warnings
from types import SimpleNamespace

import matplotlib.figure
import numpy as np
import pytest
from conftest import run_cli as run

from backproof import manual, network
from backproof.compare import cli, fdpolicy, mutants, plots, reference, study
from backproof.compare.explain import explain
from backproof.compare.fdpolicy import estimate_noise
from backproof.network.activations import REGISTRY


def raw_help(capsys, *args) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main([*args, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def one_line(text: str) -> str:
    return " ".join(text.split())  # argparse wraps the options' help to the terminal's width


@pytest.fixture
def picture_free_study(monkeypatch):
    """The study without its pictures, which cost seconds and are tested elsewhere."""
    monkeypatch.setattr(study, "run_study", functools.partial(study.run_study, make_plots=False))


# -- compare.cli ---------------------------------------------------------------------------------
def _paragraph(text: str, first_words: str) -> list[str]:
    """The lines of the help's paragraph that starts with ``first_words``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_words))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


@pytest.mark.parametrize(
    "command, first_words",
    [
        ((), "With no subcommand"),
        ((), "Exit codes:"),
        (("check",), "Exit codes:"),
    ],
)
def test_the_help_paragraphs_are_filled_to_79_columns(capsys, command, first_words):
    """Each line as long as it can be within 79 columns: the next line's first word would not
    have fitted (a terminal of 80 columns shows every line without a wrap of its own)."""
    lines = _paragraph(raw_help(capsys, *command), first_words)
    assert len(lines) >= 2
    for line, after in zip(lines, lines[1:], strict=False):
        assert len(line) <= 79, line
        assert len(line) + 1 + len(after.split()[0]) > 79, (line, after)
    assert len(lines[-1]) <= 79


def test_ce_on_blobs_is_drawn_with_the_data_seed_given(capsys, tmp_path):
    code, out, _ = run(
        capsys, "train", "--json", "--loss", "ce", "--data", "blobs", "--dims", "2,4,3",
        "--m", 30, "--epochs", 1, "--data-seed", 7, "--out", tmp_path,
    )  # fmt: skip
    assert code == 0
    spec = network.NetworkSpec([2, 4, 3], loss="ce")
    start = {}
    for seed in (7, 0):
        X, y = network.make_dataset("blobs", m=30, seed=seed, classes=3)
        start[seed] = network.cost(spec, network.init_params(spec), X, network.targets(spec, y))
    assert start[7] != pytest.approx(start[0], rel=1e-6)
    assert json.loads(out)["cost_history"] == [pytest.approx(start[7], rel=1e-12)]


def _divergence(err: str) -> tuple[int, float, float]:
    found = re.fullmatch(
        r"backproof: error: training diverged at epoch (\d+): the cost went from (\S+) to "
        r"(\S+); try a smaller --lr \(now \S+\)\n",
        err,
    )
    assert found, err
    return int(found[1]), float(found[2]), float(found[3])


def test_a_divergence_after_the_first_step_names_the_cost_that_diverged(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--lr", 100, "--epochs", 5, "--m", 20, "--out", tmp_path)
    assert code == 2
    epoch, start, cost = _divergence(err)
    assert epoch == 2  # the cost after one step is still under 10 times the first
    assert cost > cli.DIVERGENCE_FACTOR * start  # the cost at that epoch, not an earlier one


def test_a_step_that_overflows_the_parameters_is_reported_as_a_divergence(capsys, tmp_path):
    """float32(1e39) is inf: the first step makes the parameters non-finite; the next cost is
    then NaN, and the command says the training diverged (exit 2), not an internal error, and
    without NumPy's overflow warnings ahead of its one line."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, _, err = run(
            capsys, "train", "--dtype", "float32", "--lr", 1e39, "--epochs", 3, "--m", 20,
            "--out", tmp_path,
        )  # fmt: skip
    assert code == 2
    epoch, _, cost = _divergence(err)
    assert epoch == 1 and not np.isfinite(cost)


def test_study_json_gives_the_verdict_the_study_and_the_data(capsys, tmp_path, picture_free_study):
    code, out, _ = run(capsys, "study", "--json", "--epochs", 3, "--m", 20, "--out", tmp_path)
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "pass" and d["exit_code"] == 0
    assert d["data"] == {
        "source": "moons", "m": 20, "features": 2, "header": None, "classes": None,
    }  # fmt: skip
    assert {"comparison", "training", "taylor_slopes"} <= set(d)


def test_a_derivation_the_check_does_not_catch_is_shown_as_not_caught(capsys, monkeypatch):
    spec = network.NetworkSpec([3, 4, 1], init="xavier", seed=5)
    right = mutants.Mutant(
        "right_after_all",
        "manual's own gradient",
        spec,
        lambda spec, p, X, Y: manual.loss_and_grads(spec, p, X, Y)[1],
        expect={"W1": ("scale",)},
    )
    monkeypatch.setattr(mutants, "run_catalog", lambda: [mutants.check_mutant(right)])
    code, out, _ = run(capsys, "mutants")
    assert code == 3
    row = out.splitlines()[3]
    assert row.startswith(f"{'right_after_all':<28}{'3,4,1 sigmoid bce':<24}{'NO':<8}{'no':<6}")
    assert row[66:77] == f"{'-':<11}"  # no layer where the error enters: there is none
    assert "0 of 1 wrong derivations caught; 0 with a fitting diagnosis" in out


class _GoneReader(io.StringIO):
    """A stdout whose reader went away (``backproof ... | head``)."""

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self):
        return self.fd


def test_a_reader_that_goes_away_ends_the_command_quietly(monkeypatch):
    """Exit 0, and stdout now points at the null device, so that Python's final flush does
    not fail again."""
    read_end, write_end = os.pipe()
    try:
        monkeypatch.setattr(sys, "stdout", _GoneReader(write_end))
        assert cli.main(["explain"]) == 0
        monkeypatch.undo()
        assert os.path.samestat(os.fstat(write_end), os.stat(os.devnull))
    finally:
        os.close(read_end)
        os.close(write_end)


# -- compare.explain -----------------------------------------------------------------------------
def test_the_explain_help_describes_every_option(capsys):
    text = one_line(raw_help(capsys, "explain"))
    for words in (
        "--seed SEED seed of the weights (default: 3)",
        "--params PARAMS a .npz file with W1, b1, ... (e.g. from train); overrides --init",
        "--data-seed DATA_SEED default: 0",
        "--format {text,markdown} default: text",
        "--debug show tracebacks of internal errors",
    ):
        assert words in text, words


def test_explain_shows_all_of_a_registered_activations_derivative(monkeypatch):
    """The text after the first "g' = " of the summary, even when it says g' again."""
    summary = "z/(1+|z|); g' = (1 - |a|)^2 (so g' = 1 at z = 0)"
    entry = dataclasses.replace(REGISTRY["softsign"], summary=summary)
    monkeypatch.setitem(REGISTRY, "softsign", entry)
    spec, params, X, Y = _small("softsign")
    steps = {s.name: s.formula for s in explain(spec, params, X, Y).backward}
    assert steps["g′(Z1)"] == "softsign′(Z1) = (1 - |a|)^2 (so g' = 1 at z = 0) (z = Z1, a = A1)"


def _small(hidden: str):
    spec = network.NetworkSpec([2, 3, 1], (hidden, "sigmoid"), init="xavier", seed=1)
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    return spec, network.init_params(spec), X, np.array([[1.0, 0.0]])


def test_a_gradient_off_by_exactly_the_tolerance_agrees_and_one_ulp_more_does_not(monkeypatch):
    """``agrees`` is max |hand − autograd| ≤ tolerance · max |autograd|, boundary included.

    A one-layer linear network with zero weights, x = (1, 0.5) and y = −1 under mse has
    db1 = A − Y = 1 exactly in both computations; the tolerance (1e4 eps) is a multiple of
    1's last place, so 1 + tolerance is exact, and so is the difference."""
    spec = network.NetworkSpec([2, 1], ("linear",), "mse")
    params = {"W1": np.zeros((1, 2)), "b1": np.zeros((1, 1))}
    X, Y = np.array([[1.0], [0.5]]), np.array([[-1.0]])
    exact = explain(spec, params, X, Y)
    db1 = {s.name: s for s in exact.backward}["db1"]
    assert db1.reference.tolist() == [[1.0]] and db1.agrees
    original = manual.linear_backward

    def hand_db_off_by(delta):
        def linear_backward(dZ, cache):
            dA, dW, db = original(dZ, cache)
            return dA, dW, db + delta

        return linear_backward

    eps = float(np.finfo(np.float64).eps)
    for delta, agrees in ((exact.tolerance, True), (exact.tolerance + eps, False)):
        monkeypatch.setattr(manual, "linear_backward", hand_db_off_by(delta))
        step = {s.name: s for s in explain(spec, params, X, Y).backward}["db1"]
        assert float(np.abs(step.value - step.reference).max()) == delta
        assert step.agrees is agrees, delta


# -- compare.fdpolicy: the noise of f ------------------------------------------------------------
EPS = float(np.finfo(np.float64).eps)
CLOSEST = float(np.min(EPS ** (1 / 3) * fdpolicy.NOISE_SPACINGS))


def test_a_line_too_regular_at_every_spacing_is_read_at_its_closest():
    """A linear f plus a few ulps of alternating rounding: every spacing's table is too
    regular to show noise (its second differences are within rounding), so the level read is
    the closest spacing's, where kinks hide least, not a wider one's (here 3 times as large)."""
    t = np.arange(fdpolicy.NOISE_POINTS, dtype=float)
    wiggle = EPS * np.array([0, 2, 0, 2, 0, 2, 0], dtype=float)
    close, wide = 1 + 2.0**-20 * t + 2 * wiggle, 1 + 2.0**-20 * t + 6 * wiggle  # exact values

    def noise(at_closest, elsewhere):
        def along(line, delta):
            return (at_closest if delta == CLOSEST else elsewhere).copy()

        return estimate_noise(along, [0], 1.0 + 3 * 2.0**-20, EPS)

    alone, wider = noise(close, close), noise(wide, wide)
    assert alone.evaluations == wider.evaluations == 4 * fdpolicy.NOISE_POINTS  # all too regular
    assert alone.quantum == wider.quantum == 0.0
    assert wider.level == pytest.approx(3 * alone.level, rel=1e-12)
    assert noise(close, wide).level == alone.level
    assert noise(wide, close).level == wider.level


def test_three_distinct_float32_values_mark_a_float32_f_and_two_do_not():
    """f's values all float32 numbers, and at least three of them: f rounds to float32. Two
    values (a step function of 1 and 1 + 2^-10) are float32 numbers whatever f computes in."""
    q = 2.0**-10
    three = estimate_noise(
        lambda line, delta: 1 + q * np.array([0, 0, 0, 1, 1, 2, 2.0]), [0], 1.0, EPS
    )
    two = estimate_noise(
        lambda line, delta: 1 + q * np.array([0, 0, 0, 1, 1, 1, 1.0]), [0], 1.0, EPS
    )
    assert not three.still and not two.still
    assert three.float32_values is True and two.float32_values is False


def test_a_still_f_of_float32_values_computes_in_float32():
    """f constant along each line, a different float32 number on each of three lines: f is
    still, its values are float32's, and so is the precision it computes with."""
    noise = estimate_noise(
        lambda line, delta: np.full(7, [1.0, 1.5, 2.0][line]), [0, 1, 2], 1.0, EPS
    )
    eps32 = float(np.finfo(np.float32).eps)
    assert noise.still and noise.float32_values is True
    assert noise.level == 0.5 * eps32 * 2.0  # half a float32 ulp of f's size
    assert noise.precision(EPS) == eps32


# -- compare.plots: the drawn figure -------------------------------------------------------------
@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions hand to savefig, by file name; nothing is written."""
    figures = {}

    def keep(fig, path, *args, **kwargs):
        figures[os.path.basename(os.fspath(path))] = fig

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def test_the_legend_shows_the_zero_mark_as_the_panels_draw_it(drawn, tmp_path):
    errors = {"fd": {"manual": [0.0, 1e-9]}, "autograd": {"manual": [0.0, 0.0]}}
    tolerances = {"fd": (1e-7, "tolerance")}
    plots.plot_param_errors(errors, ["W1", "b1"], tolerances, tmp_path / "errors.png")
    fig = drawn["errors.png"]
    zeros = [line for ax in fig.axes for line in ax.lines if line.get_marker() == "$0$"]
    assert zeros and {line.get_markersize() for line in zeros} == {7.0}
    key = fig.legends[0].legend_handles[-1]
    assert fig.legends[0].get_texts()[-1].get_text() == "exactly 0 (bit-identical)"
    assert (key.get_marker(), key.get_markersize()) == ("$0$", 7.0)


class _LabelledHistory(list):
    """Costs that carry labels of their own, as a pandas Series does (pandas is no dependency)."""

    def __init__(self, costs, labels):
        super().__init__(costs)
        self.index = SimpleNamespace(to_numpy=lambda: np.asarray(labels))

    def to_numpy(self):
        return np.asarray(self)


def test_cost_histories_are_drawn_against_the_epoch_from_0(drawn, tmp_path):
    """Epoch i is the cost before step i, whatever labels the history object carries."""
    costs = [0.7, 0.5, 0.4]
    histories = {"manual": costs, "tensor": _LabelledHistory(costs, [10, 20, 30])}
    plots.plot_cost_histories(histories, tmp_path / "costs.png")
    lines = drawn["costs.png"].axes[0].lines
    assert [line.get_label() for line in lines] == ["manual", "tensor"]
    for line in lines:
        assert line.get_xdata().tolist() == [0, 1, 2] and line.get_ydata().tolist() == costs


def _sweep_of_exp(steps):
    return study.step_sweep(
        lambda x: float(np.exp(x[0])), np.array([0.3]), (0,), np.exp(0.3), steps
    )


def test_a_step_sweep_is_drawn_the_same_from_float32_steps(drawn, tmp_path):
    """The steps are read in float64: float32 steps draw the very numbers their float64 values
    draw (the guides scale the largest step's error by (h / h_max)^p)."""
    sweep = _sweep_of_exp(np.logspace(-1, -6, 11).astype(np.float32).astype(np.float64))
    plots.plot_step_sweep(sweep, tmp_path / "a.png")
    plots.plot_step_sweep(
        dataclasses.replace(sweep, steps=sweep.steps.astype(np.float32)), tmp_path / "b.png"
    )
    (a,), (b,) = drawn["a.png"].axes, drawn["b.png"].axes
    assert len(a.lines) == len(b.lines) > 4  # the three methods, their guides, round-off
    for line_a, line_b in zip(a.lines, b.lines, strict=True):
        np.testing.assert_array_equal(line_a.get_xydata(), line_b.get_xydata())


def test_the_step_sweep_legend_is_in_small_print(drawn, tmp_path):
    plots.plot_step_sweep(_sweep_of_exp(np.logspace(-1, -6, 6)), tmp_path / "sweep.png")
    legend = drawn["sweep.png"].axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["forward", "central", "richardson"]
    assert {t.get_fontsize() for t in legend.get_texts()} == {8.0}


def test_the_catalog_heatmap_darkens_text_only_past_55_percent_of_its_scale(drawn, tmp_path):
    """The colour scale runs from the smallest to the largest error on log axes (here 1 to
    1e20): 1e11 sits exactly at 0.55 of it and keeps black text; 1e12 gets white."""
    catalog = study.CatalogErrors(
        ["a", "b"], ["2-1", "2-1"], np.array([[1.0, 1e11], [1e12, 1e20]]), {}
    )
    plots.plot_catalog_heatmap(catalog, tmp_path / "heat.png")
    fig = drawn["heat.png"]
    ax, bar = fig.axes
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours == {"1e+00": "black", "1e+11": "black", "1e+12": "white", "1e+20": "white"}
    assert bar.get_ylabel() == "‖g_l − r_l‖ / ‖r_l‖" and bar.yaxis.label.get_fontsize() == 8.0
    assert fig._suptitle.get_text() == "the catalog of wrong derivations, layer by layer"


# -- compare.study: the computations ---------------------------------------------------------------
def test_a_step_sweep_carries_check_grads_ladder_for_its_entry():
    sweep = study.step_sweep(
        lambda x: float(np.sum(x**2)), np.array([[3.0, -0.5]]), (0, 0), 6.0, [0.1, 0.01]
    )
    np.testing.assert_array_equal(sweep.ladder, fdpolicy.ladder_steps(3.0))
    small = study.step_sweep(
        lambda x: float(np.sum(x**2)), np.array([[3.0, -0.5]]), (0, 1), -1.0, [0.1]
    )
    np.testing.assert_array_equal(small.ladder, fdpolicy.ladder_steps(1.0))  # |x| under 1: 1


def test_taylor_remainders_of_a_plain_array():
    """x, grad and direction as arrays, not dicts: f is called with the array."""
    x, v = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    test = study.taylor_remainders(lambda a: float(np.sum(a**3)), 3 * x**2, x, v, hs=[0.1, 0.01])
    expected = [
        abs(np.sum((x + h * v) ** 3) - np.sum(x**3) - h * np.sum(3 * x**2 * v)) for h in (0.1, 0.01)
    ]
    np.testing.assert_allclose(test.remainder, expected, rtol=1e-9)


def test_two_steps_are_enough_for_a_taylor_slope():
    """The slope is fitted on the (up to five) smallest steps with a positive remainder: two
    give a line. f = sum(x^2) has remainder exactly h^2 |v|^2: slope 2."""
    x, v = np.array([1.0, 2.0]), np.array([1.0, 0.0])
    test = study.taylor_remainders(lambda a: float(np.sum(a**2)), 2 * x, x, v, hs=[0.5, 0.25])
    assert test.remainder.tolist() == [0.25, 0.0625] and test.slope == pytest.approx(2.0, rel=1e-12)
    one = study.taylor_remainders(lambda a: float(np.sum(a**2)), 2 * x, x, v, hs=[0.5])
    assert math.isnan(one.slope)


def test_the_missing_l2_entry_is_measured_against_the_gradient_with_the_l2_term():
    """Its right gradient is autograd's plus L2 W_l for the weights (the cost adds (L2/2)
    ||W_l||^2; the biases have no such term), so each layer's error is ||L2 W_l|| / ||r_l||."""
    entry = next(m for m in mutants.CATALOG if m.name == "missing_regularisation")
    row = study.catalog_layer_errors([entry]).errors[0]
    spec, params, X, Y = mutants.mutant_problem(entry)
    plain = reference.loss_and_grads(spec, params, X, Y)[1]
    for l in range(1, spec.n_layers + 1):
        right = np.concatenate(
            [(plain[f"W{l}"] + mutants.L2 * params[f"W{l}"]).ravel(), plain[f"b{l}"].ravel()]
        )
        expected = np.linalg.norm(mutants.L2 * params[f"W{l}"]) / np.linalg.norm(right)
        assert row[l - 1] == pytest.approx(expected, rel=1e-6)


def test_the_layer_norms_are_those_of_the_deeper_network_with_its_own_activations(
    monkeypatch, tmp_path
):
    """A tanh network made deeper keeps tanh in every hidden layer, at both initialisations."""
    for name in ("plot_cost_histories", "plot_param_errors", "plot_step_sweep", "plot_taylor_test",
                 "plot_layer_grad_norms", "plot_catalog_heatmap"):  # fmt: skip
        monkeypatch.setattr(study.plots, name, lambda *a, **k: "skipped")
    catalog = study.catalog_layer_errors
    monkeypatch.setattr(study, "catalog_layer_errors", lambda: catalog(mutants.CATALOG[:1]))
    spec = network.NetworkSpec([2, 3, 1], ("tanh", "sigmoid"))
    X, y = network.moons(20)
    result = study.run_study(spec, X, y, out_dir=tmp_path, epochs=1, lr=0.5, norm_epochs=1)
    X, Y = network.check_data(spec, X, y)
    for init, row in result["layer_norms_first_epoch"].items():
        deep = study.deeper(spec).replace(init=init)
        assert deep.activations == ("tanh", "tanh", "tanh", "sigmoid")
        grads = manual.loss_and_grads(deep, network.init_params(deep), X, Y)[1]
        assert row == pytest.approx(
            [np.linalg.norm(grads[f"W{l}"]) for l in range(1, 5)], rel=1e-12
        )
