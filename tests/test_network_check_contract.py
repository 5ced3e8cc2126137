"""compare_network's contract: what each keyword does, when an implementation or a reference is
left out and what note says so, the exact tolerances, the table, the text and the JSON fields.

Small networks (a few dozen parameters, five examples) keep each call to milliseconds, so these
tests are cheap to run for every mutant of compare/network_check.py (docs/mutation.md).
"""

import json
import math
import time

import numpy as np
import pytest
from conftest import make_problem

from backproof import autodiff, manual, network
from backproof.compare import compare_network, reference
from backproof.compare import network_check as nc

EPS = float(np.finfo(np.float64).eps)


@pytest.fixture
def small():
    return make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)


def scaled(name, factor):
    """An implementation whose gradient of ``name`` is ``factor`` times the right one."""

    def loss_and_grads(s, p, X, Y):
        J, g = manual.loss_and_grads(s, p, X, Y)
        return J, {**g, name: g[name] * factor}

    return loss_and_grads


# -- who takes part --------------------------------------------------------------------------
def test_defaults_take_every_implementation_and_reference_in_order(small):
    spec, params, X, Y = small
    result = compare_network(spec, X, Y, params, epochs=0)
    assert result.implementations == ["manual", "tensor", "scalar", "autograd"]
    assert result.references == ["autograd", "fd", "complex"]
    assert result.notes == []
    keys = [(c.implementation, c.reference, c.param) for c in result.cells]
    assert keys == [
        (i, r, p) for i in result.implementations for r in result.references for p in params
    ]
    assert set(result.seconds) == {
        "manual",
        "tensor",
        "scalar",
        "autograd",
        "reference:autograd",
        "reference:fd",
        "reference:complex",
        "settle:fd",
    }
    assert result.m == 5 and result.spec is spec


def test_the_scalar_engine_runs_up_to_the_limit_and_is_skipped_with_a_note_above(
    small, monkeypatch
):
    spec, params, X, Y = small
    work = spec.n_params() * X.shape[1]
    monkeypatch.setattr(nc, "SCALAR_LIMIT", work)
    at_limit = compare_network(spec, X, Y, params, references=["autograd"], epochs=0)
    assert "scalar" in at_limit.implementations and at_limit.notes == []
    monkeypatch.setattr(nc, "SCALAR_LIMIT", work - 1)
    above = compare_network(spec, X, Y, params, references=["autograd"], epochs=0)
    assert above.implementations == ["manual", "tensor", "autograd"]
    assert above.notes == [f"scalar engine skipped: n_params x m = {work} > {work - 1}"]


@pytest.mark.parametrize(
    "dims, per_example",
    [([2, 1], 1), ([2, 3, 1], 3), ([2, 3, 4, 1], 3 * 4 + 4 * 1)],
    ids=["one layer", "two layers", "three layers"],
)
def test_the_complex_step_runs_up_to_its_limit(dims, per_example, monkeypatch):
    """The work of the complex step: every parameter, times the rows one perturbation carries
    through the layers above the first (at least one pass over the m examples)."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=dims, m=5)
    work = spec.n_params() * per_example * 5
    kwargs = dict(implementations=["manual"], epochs=0)
    monkeypatch.setattr(nc, "COMPLEX_LIMIT", work)
    at_limit = compare_network(spec, X, Y, params, **kwargs)
    assert at_limit.references == ["autograd", "fd", "complex"] and at_limit.notes == []
    monkeypatch.setattr(nc, "COMPLEX_LIMIT", work - 1)
    above = compare_network(spec, X, Y, params, **kwargs)
    assert above.references == ["autograd", "fd"]
    assert above.notes == ["complex-step reference skipped: the network is too large"]


def test_chosen_implementations_and_references_are_the_only_ones_run(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=("tensor", "manual"), references=("fd",), epochs=0
    )
    assert result.implementations == ["tensor", "manual"] and result.references == ["fd"]
    assert {(c.implementation, c.reference) for c in result.cells} == {
        ("tensor", "fd"),
        ("manual", "fd"),
    }
    assert set(result.seconds) == {"tensor", "manual", "reference:fd", "settle:fd"}
    assert result


def test_autograd_is_a_reference_even_when_it_is_not_an_implementation(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=0
    )
    assert result.implementations == ["manual"] and result.references == ["autograd"]
    assert [c.agree for c in result.cells] == [True] * len(params)
    assert max(c.rel_error for c in result.cells) < 1e-14


def test_extra_implementations_are_compared_and_timed(small):
    spec, params, X, Y = small

    def shifted_loss(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        return J + 1.0, g

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["autograd"],
        extra={"mine": shifted_loss},
        epochs=0,
    )
    assert result.implementations == ["manual", "mine"]
    assert result.losses["mine"] == pytest.approx(result.losses["manual"] + 1.0)
    assert "mine" in result.seconds and result.cell("mine", "autograd", "W1").agree


def test_params_default_to_the_specs_initial_parameters():
    spec = network.NetworkSpec([2, 3, 1], ["tanh", "sigmoid"], init="xavier", seed=4)
    X, y = network.moons(6)
    default = compare_network(spec, X, y, implementations=["manual"], references=["fd"])
    given = compare_network(
        spec,
        X,
        y,
        network.init_params(spec),
        implementations=["manual"],
        references=["fd"],
    )
    assert default.losses == given.losses
    assert default.training[0].history == given.training[0].history
    # by default, 50 epochs at a learning rate of 0.5
    expected = manual.train(X, y, spec, 50, 0.5, params=network.init_params(spec), progress=False)
    assert default.training[0].history == expected[1]


@pytest.mark.parametrize("method", ["central", "richardson"])
def test_either_finite_difference_method_passes_the_right_gradient_and_fails_a_wrong_one(
    method,
):
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[3, 5, 4, 1], m=5)
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["fd"],
        extra={"off": scaled("W2", 1 + 1e-3)},
        fd_method=method,
        epochs=0,
    )
    assert all(c.verdict == "pass" for c in result.cells if c.implementation == "manual")
    assert result.cell("off", "fd", "W2").verdict == "fail"
    assert result.cell("off", "fd", "W1").verdict == "pass"


# -- tolerances ------------------------------------------------------------------------------
def test_exact_references_allow_1e4_eps_of_the_largest_entry(small):
    spec, params, X, Y = small
    _, right = manual.loss_and_grads(spec, params, X, Y)
    name = max(right, key=lambda k: float(np.max(np.abs(right[k]))))  # holds the largest entry
    other = next(k for k in right if k != name)
    for factor, agree in [(1 + 0.5e4 * EPS, True), (1 + 2e4 * EPS, False)]:
        result = compare_network(
            spec,
            X,
            Y,
            params,
            implementations=[],
            references=["autograd"],
            extra={"nudged": scaled(name, factor)},
            epochs=0,
        )
        cell = result.cell("nudged", "autograd", name)
        assert cell.agree is agree, (factor, cell)
        assert cell.tolerance == 1e4 * EPS
        assert result.cell("nudged", "autograd", other).agree


def test_float32_exact_tolerance_follows_the_dtype():
    spec, params, X, Y = make_problem(
        "tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5, dtype="float32"
    )
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=0
    )
    assert result.cells[0].tolerance == 1e4 * float(np.finfo(np.float32).eps)


def test_finite_differences_allow_their_error_bound_and_no_more(small):
    spec, params, X, Y = small
    caught = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["fd"],
        extra={"off": scaled("W1", 1 + 1e-5)},
        epochs=0,
    )
    assert not caught.cell("off", "fd", "W1").agree and caught.cell("off", "fd", "b1").agree
    cell = caught.cell("off", "fd", "W1")
    assert cell.verdict == "fail" and cell.failures == params["W1"].size
    assert 0 < cell.tolerance < cell.rel_error
    within = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["fd"],
        extra={"off": scaled("W1", 1 + 1e-8)},
        epochs=0,
    )
    assert within


def test_a_gradient_with_a_nan_or_a_missing_or_misshapen_entry_disagrees(small):
    spec, params, X, Y = small

    def broken(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        g = dict(g, W1=np.full_like(g["W1"], np.nan), W2=g["W2"].T)
        del g["b1"]
        return J, g

    result = compare_network(
        spec, X, Y, params, implementations=[], extra={"broken": broken}, epochs=0
    )
    assert not result and not bool(result)
    for ref in result.references:
        assert not result.cell("broken", ref, "W1").agree
        assert not result.cell("broken", ref, "b1").agree
        assert result.cell("broken", ref, "b2").agree
        shape = result.cell("broken", ref, "W2")
        assert (shape.verdict, shape.max_abs_error, shape.rel_error) == ("fail", np.inf, np.inf)
        assert result.cell("broken", ref, "W1").max_abs_error == np.inf


def test_errors_are_relative_to_the_largest_reference_entry_over_all_parameters(small):
    spec, params, X, Y = small
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["autograd"],
        extra={"off": scaled("b1", 1.5)},
        epochs=0,
    )
    _, right = manual.loss_and_grads(spec, params, X, Y)
    largest = max(float(np.max(np.abs(g))) for g in right.values())
    cell = result.cell("off", "autograd", "b1")
    assert cell.max_abs_error == pytest.approx(0.5 * float(np.max(np.abs(right["b1"]))))
    assert cell.rel_error == pytest.approx(cell.max_abs_error / largest)


def _compare_at_a_zero_gradient(reference: str):
    """compare_network at a minimum of the cost (every gradient 0), against one reference, with
    manual and an extra implementation that adds 1 to W1's gradient."""
    spec = network.NetworkSpec([1, 1], ["linear"], "mse", init="xavier")
    params = {"W1": np.zeros((1, 1)), "b1": np.zeros((1, 1))}
    X, Y = np.ones((1, 2)), np.zeros((1, 2))  # the cost is at its minimum: gradient 0

    def plus_one(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        return J, {**g, "W1": g["W1"] + 1.0}

    return compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=[reference],
        extra={"plus_one": plus_one},
        epochs=0,
    )


def test_a_zero_gradient_reference_makes_any_difference_infinitely_relative():
    result = _compare_at_a_zero_gradient("autograd")
    assert result.cell("manual", "autograd", "W1").rel_error == 0.0
    assert result.cell("manual", "autograd", "W1").agree
    assert result.cell("plus_one", "autograd", "W1").rel_error == np.inf


# -- the odd one out -------------------------------------------------------------------------
def test_the_odd_one_out_needs_everyone_else_to_agree(small):
    spec, params, X, Y = small
    one = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual", "tensor"],
        references=["autograd"],
        extra={"off": scaled("W2", 1.01)},
        epochs=0,
    )
    assert one.odd_one_out == {"W2": "off"}
    two = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["autograd"],
        extra={"off": scaled("W2", 1.01), "off2": scaled("W2", 0.99)},
        epochs=0,
    )
    assert two.odd_one_out == {}  # three sources, two of them wrong: nobody is singled out


def test_no_odd_one_out_among_two_sources_or_when_all_agree(small):
    spec, params, X, Y = small
    two = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["autograd"],
        extra={"off": scaled("W2", 1.01)},
        epochs=0,
    )
    assert not two and two.odd_one_out == {}
    assert compare_network(spec, X, Y, params, epochs=0).odd_one_out == {}


def test_the_odd_one_out_is_never_a_reference(small):
    """Only implementations are voted out: a wrong gradient among two references and one
    implementation is the implementation's failure, not the references' disagreement."""
    spec, params, X, Y = small
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual", "tensor"],
        references=["autograd", "fd"],
        extra={"slightly": scaled("W2", 1 + 1e-3)},
        epochs=0,
    )
    assert result.odd_one_out == {"W2": "slightly"}
    assert result.verdict == "fail" and result.to_dict()["verdict"] == "fail"


# -- training --------------------------------------------------------------------------------
def test_training_runs_manual_and_the_engine_from_the_same_start(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=4, lr=0.3
    )
    expected_params, expected = manual.train(X, Y, spec, 4, 0.3, params=params, progress=False)
    assert [t.implementation for t in result.training] == ["manual", "tensor"]
    assert result.training[0].history == expected
    assert result.training[1].history == pytest.approx(expected, rel=1e-12)
    for key in params:
        np.testing.assert_allclose(result.training[0].params[key], expected_params[key])
    assert result.training_agree and 0 <= result.training_max_diff <= 1e4 * EPS
    assert "training" in result.seconds


def test_no_epochs_no_training(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=0
    )
    assert result.training == [] and result.training_max_diff == 0.0
    assert result.training_agree is True and "training" not in result.seconds
    assert "training" not in str(result)


@pytest.mark.parametrize("shift, agree", [(0.5e4, True), (2e4, False)])
def test_training_histories_must_agree_to_1e4_eps(small, monkeypatch, shift, agree):
    spec, params, X, Y = small
    real_train = autodiff.train

    def engine_train(*args, **kwargs):
        trained, history = real_train(*args, **kwargs)
        return trained, [h * (1 + shift * EPS) for h in history]

    monkeypatch.setattr(autodiff, "train", engine_train)
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=3
    )
    assert result.training_agree is agree and bool(result) is agree
    training_line = str(result).splitlines()[-1]
    assert training_line.endswith("— agree" if agree else "— DISAGREE")
    history = np.array(result.training[0].history)
    assert result.training_max_diff == pytest.approx(shift * EPS * history.max(), rel=1e-3)


def test_progress_bars_only_when_asked(small, capsys):
    spec, params, X, Y = small
    kwargs = dict(implementations=["manual"], references=["fd", "complex"], epochs=3)
    compare_network(spec, X, Y, params, progress=True, **kwargs)
    shown = capsys.readouterr().err
    assert "reference fd" in shown and "reference complex" in shown
    assert "\rmanual:" in shown and "\rautodiff.tensor:" in shown  # both training runs
    assert "\n" not in shown  # each bar is cleared when its work is done
    assert shown.count(f"| 0/{len(params)} [") == 2  # a reference's bar counts parameters
    assert shown.count("| 0/3 [") == 2  # a training run's bar counts epochs
    compare_network(spec, X, Y, params, progress=False, **kwargs)
    assert capsys.readouterr().err == ""


# -- what it reports -------------------------------------------------------------------------
def test_the_text_report(small):
    spec, params, X, Y = small
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["autograd", "fd"],
        extra={"off": scaled("W1", 1.01)},
        epochs=2,
    )
    lines = str(result).splitlines()
    assert lines[0] == (
        "compare_network: DISAGREEMENT — dims [2,3,1], activations tanh,sigmoid, loss bce, "
        "float64, m = 5"
    )
    assert lines[1].startswith("max |g - ref| per parameter / max |ref| over all parameters")
    assert lines[2].split() == ["implementation", "param", "autograd", "fd"]
    assert set(lines[3]) == {"-"} and len(lines[3]) == len(lines[2])
    rows = lines[4 : 4 + 2 * len(params)]
    assert [r.split()[:2] for r in rows] == [[i, p] for i in ("manual", "off") for p in params]
    off_w1 = rows[len(params)]
    assert off_w1.count("!") == 2  # outside tolerance against both references
    assert rows[0].count("!") == 0
    assert f"{result.cell('off', 'fd', 'W1').rel_error:>13.2e}!" in off_w1
    assert "odd one out" not in str(result)  # two implementations only
    assert lines[-1].startswith("training (manual, tensor; 2 epochs from the same start): ")
    assert lines[-1].endswith("— agree")


def test_the_text_report_of_an_agreement_with_notes(small, monkeypatch):
    spec, params, X, Y = small
    monkeypatch.setattr(nc, "SCALAR_LIMIT", 0)
    result = compare_network(spec, X, Y, params, references=["autograd"], epochs=0)
    text = str(result)
    assert text.startswith("compare_network: ALL AGREE")
    assert text.endswith(f"note: scalar engine skipped: n_params x m = {13 * 5} > 0")


def test_the_table_marks_a_missing_cell():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[2, 3, 1], m=5)
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=0
    )
    result.cells = [c for c in result.cells if c.param != "b2"]
    row = result.table().splitlines()[-1]
    assert row.split() == ["manual", "b2", "-"]
    with pytest.raises(KeyError) as info:
        result.cell("manual", "autograd", "b2")
    assert info.value.args == (("manual", "autograd", "b2"),)


def test_table_rows_have_one_fixed_width_column_per_reference(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd", "fd"], epochs=0
    )
    result.cells = [c for c in result.cells if (c.reference, c.param) != ("autograd", "W1")]
    lines = result.table().splitlines()
    assert all(len(line) == 16 + 7 + 2 * 14 for line in lines)
    w1 = result.cell("manual", "fd", "W1").rel_error
    assert lines[2] == f"{'manual':<16}{'W1':<7}{'-':>14}{w1:>13.2e} "  # agreement: a blank mark


def test_to_dict_fields(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=2
    )
    d = json.loads(json.dumps(result.to_dict()))
    assert list(d) == [
        "verdict",
        "ok",
        "spec",
        "m",
        "losses",
        "cells",
        "odd_one_out",
        "training",
        "training_max_diff",
        "training_agree",
        "seconds",
        "notes",
    ]
    assert d["verdict"] == "pass" and d["ok"] is True and d["m"] == 5
    assert d["spec"] == {
        "layer_dims": [2, 3, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "init": "xavier",
        "seed": 0,
        "dtype": "float64",
    }
    assert d["losses"] == {"manual": result.losses["manual"]}
    assert d["cells"][0] == {
        "implementation": "manual",
        "reference": "autograd",
        "param": "W1",
        "verdict": "pass",
        "agree": True,
        "max_abs_error": result.cells[0].max_abs_error,
        "rel_error": result.cells[0].rel_error,
        "tolerance": 1e4 * EPS,
        "failures": 0,
        "inconclusive": 0,
    }
    assert list(d["training"]) == ["manual", "tensor"]
    assert d["training"]["manual"] == result.training[0].history
    assert d["training_max_diff"] == result.training_max_diff
    assert d["training_agree"] is True
    assert set(d["seconds"]) == {"manual", "reference:autograd", "training"}
    assert d["odd_one_out"] == {} and d["notes"] == []


def test_each_implementation_is_the_one_named(small):
    """Every row of the comparison is measured on that implementation's own gradient."""
    spec, params, X, Y = small
    result = compare_network(spec, X, Y, params, references=["autograd"], epochs=0)
    _, ref = reference.loss_and_grads(spec, params, X, Y)
    own = {
        "manual": manual.loss_and_grads(spec, params, X, Y)[1],
        "tensor": autodiff.loss_and_grads(spec, params, X, Y, "tensor")[1],
        "scalar": autodiff.loss_and_grads(spec, params, X, Y, "scalar")[1],
        "autograd": ref,
    }
    for name, grads in own.items():
        for p in params:
            error = float(np.max(np.abs(np.asarray(grads[p], float) - ref[p])))
            assert result.cell(name, "autograd", p).max_abs_error == error, (name, p)
    assert (
        len({tuple(c.max_abs_error for c in result.cells if c.implementation == n) for n in own})
        > 2
    )


def test_bad_choices_are_named(small):
    spec, params, X, Y = small
    for kwargs, name in [
        ({"implementations": ["julia"]}, "implementations"),
        ({"references": ["oracle"]}, "references"),
        ({"fd_method": "forward"}, "fd_method"),
    ]:
        with pytest.raises(ValueError) as info:
            compare_network(spec, X, Y, params, epochs=0, **kwargs)
        assert str(info.value).startswith(f"{name} must be one of ")


def test_seconds_are_the_time_each_step_took(small):
    spec, params, X, Y = small
    start = time.perf_counter()
    result = compare_network(spec, X, Y, params, epochs=2, extra={"mine": scaled("W1", 1.0)})
    elapsed = time.perf_counter() - start
    assert "mine" in result.seconds
    assert all(isinstance(s, float) and 0 <= s <= elapsed for s in result.seconds.values())


def test_check_implementation_names_x_m_and_passes_options_on(small):
    spec, params, X, Y = small

    def times_m(p):
        return {k: v * 5 for k, v in manual.loss_and_grads(spec, p, X, Y)[1].items()}

    report = nc.check_implementation(spec, params, X, Y, times_m)
    assert not report
    assert report.params["W1"].diagnosis.text.endswith("x m (= 5)")
    named = nc.check_implementation(spec, params, X, Y, times_m, factors={"batch": 5})
    assert named.params["W1"].diagnosis.text.endswith("x batch (= 5)")
    central = nc.check_implementation(spec, params, X, Y, times_m, method="central")
    assert central.method == "central" and report.method != "central"


# -- inconclusive cells, boundaries ----------------------------------------------------------
def test_an_inconclusive_cell_is_marked_and_named_in_the_text(small):
    spec, params, X, Y = small
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=0
    )
    result.cells[0].verdict = "inconclusive"
    assert result.verdict == "inconclusive" and not result
    lines = str(result).splitlines()
    assert lines[0].startswith("compare_network: INCONCLUSIVE — dims [2,3,1]")
    assert lines[1] == (
        "max |g - ref| per parameter / max |ref| over all parameters (! = fail, ? = inconclusive):"
    )
    assert lines[4] == f"{'manual':<16}{'W1':<7}{result.cells[0].rel_error:>13.2e}?"
    assert lines[5].endswith(" ")  # b1 still passes: a blank mark


def _transposed_w1_cell(small, reference: str):
    """The W1 cell of an implementation that returns W1's gradient transposed (a misshapen
    gradient), compared with ``reference`` alone."""
    spec, params, X, Y = small

    def transposed(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        return J, dict(g, W1=g["W1"].T)

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=[reference],
        extra={"t": transposed},
        epochs=0,
    )
    return result.cell("t", reference, "W1")


def test_a_misshapen_gradient_keeps_the_exact_tolerance(small):
    assert _transposed_w1_cell(small, "autograd").tolerance == 1e4 * EPS


def test_a_relative_error_exactly_at_the_exact_tolerance_passes(small, monkeypatch):
    """Cell's contract: pass when rel_error <= tolerance."""
    spec, params, X, Y = small
    kwargs = dict(
        implementations=[], references=["autograd"], extra={"off": scaled("W2", 1.01)}, epochs=0
    )
    rel = compare_network(spec, X, Y, params, **kwargs).cell("off", "autograd", "W2").rel_error
    monkeypatch.setattr(nc, "_exact_tolerance", lambda dtype: rel)
    at = compare_network(spec, X, Y, params, **kwargs).cell("off", "autograd", "W2")
    assert at.rel_error == at.tolerance == rel and at.verdict == "pass"
    monkeypatch.setattr(nc, "_exact_tolerance", lambda dtype: rel * (1 - 1e-12))
    assert compare_network(spec, X, Y, params, **kwargs).cell("off", "autograd", "W2").verdict == (
        "fail"
    )


def test_a_missing_gradient_fails_every_entry_against_finite_differences(small):
    spec, params, X, Y = small

    def without_b1(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        return J, {k: v for k, v in g.items() if k != "b1"}

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["fd"],
        extra={"w": without_b1},
        epochs=0,
    )
    cell = result.cell("w", "fd", "b1")
    assert (cell.verdict, cell.failures, cell.inconclusive) == ("fail", params["b1"].size, 0)
    assert cell.max_abs_error == cell.rel_error == np.inf
    assert 0 < cell.tolerance < 1e-3  # the entries' own tolerances, as for any other cell


def test_the_step_ladder_settles_only_what_the_batched_differences_cannot_certify(
    small, monkeypatch
):
    """Richardson's differences certify the entries their error bound can; the ladder of
    check_grad settles every other entry (all of them for central differences, which carry
    no error bound), once for all implementations."""
    spec, params, X, Y = small
    calls = []
    real = nc.settle_entries

    def spy(objective, params_, wanted, *args):
        calls.append({p: list(v) for p, v in wanted.items()})
        return real(objective, params_, wanted, *args)

    monkeypatch.setattr(nc, "settle_entries", spy)
    kwargs = dict(implementations=["manual", "tensor"], references=["fd"], epochs=0)
    assert compare_network(spec, X, Y, params, **kwargs)
    assert calls == []  # a smooth network: every entry certified by the batched differences
    wrong = compare_network(spec, X, Y, params, extra={"off": scaled("W2", 1.01)}, **kwargs)
    assert calls == [{"W2": list(range(params["W2"].size))}]
    assert wrong.cell("off", "fd", "W2").verdict == "fail"
    assert wrong.cell("off", "fd", "W2").failures == params["W2"].size
    assert wrong.cell("manual", "fd", "W2").verdict == "pass"
    calls.clear()
    assert compare_network(spec, X, Y, params, fd_method="central", **kwargs)
    assert calls == [{p: list(range(v.size)) for p, v in params.items()}]


def test_training_histories_agree_relative_to_their_own_size(small, monkeypatch):
    """The tolerance is 1e4 eps times the largest cost, however small the costs are."""
    spec, params, X, Y = small
    real_manual, real_engine = manual.train, autodiff.train

    def shrunk(train, factor):
        def run(*args, **kwargs):
            trained, history = train(*args, **kwargs)
            return trained, [1e-2 * h * factor for h in history]

        return run

    monkeypatch.setattr(manual, "train", shrunk(real_manual, 1.0))
    monkeypatch.setattr(autodiff, "train", shrunk(real_engine, 1 + 2e4 * EPS))
    result = compare_network(
        spec, X, Y, params, implementations=["manual"], references=["autograd"], epochs=3
    )
    assert max(result.training[0].history) < 1e-2
    assert not result.training_agree and result.verdict == "fail"


def test_a_misshapen_gradient_does_not_hide_a_wrong_one_after_it(small):
    spec, params, X, Y = small

    def two_wrong(s, p, X_, Y_):
        J, g = manual.loss_and_grads(s, p, X_, Y_)
        return J, dict(g, W2=g["W2"].T, b2=1.01 * g["b2"])

    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["fd"],
        extra={"w": two_wrong},
        epochs=0,
    )
    assert [result.cell("w", "fd", p).verdict for p in params] == ["pass", "pass", "fail", "fail"]


@pytest.mark.parametrize("undecided", [1, "all"])
def test_entries_the_ladder_cannot_settle_make_a_cell_inconclusive(small, monkeypatch, undecided):
    """A cell counts its inconclusive entries; with no failing entry it is inconclusive."""
    spec, params, X, Y = small
    real = nc.judge_settled

    def partly_undecided(g, refs, tol):
        verdicts, allowed, ref = real(g, refs, tol)
        verdicts = verdicts.astype(object)
        verdicts[: len(verdicts) if undecided == "all" else undecided] = "inconclusive"
        return verdicts, allowed, ref

    monkeypatch.setattr(nc, "judge_settled", partly_undecided)
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["fd"],
        extra={"off": scaled("W2", 1.01)},
        epochs=0,
    )
    cell = result.cell("off", "fd", "W2")
    size = params["W2"].size
    if undecided == "all":
        assert (cell.verdict, cell.failures, cell.inconclusive) == ("inconclusive", 0, size)
        assert result.verdict == "inconclusive"
    else:
        assert (cell.verdict, cell.failures, cell.inconclusive) == ("fail", size - 1, 1)
    assert result.cell("manual", "fd", "W2").verdict == "pass"  # certified, never settled


def test_errors_against_finite_differences_are_measured_from_the_settled_reference(small):
    spec, params, X, Y = small
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=[],
        references=["fd"],
        extra={"off": scaled("W2", 1.01)},
        epochs=0,
    )
    _, right = reference.loss_and_grads(spec, params, X, Y)
    largest = max(float(np.max(np.abs(g))) for g in right.values())
    cell = result.cell("off", "fd", "W2")
    expected = 0.01 * float(np.max(np.abs(right["W2"])))
    assert cell.max_abs_error == pytest.approx(expected, rel=1e-6)
    assert cell.rel_error == pytest.approx(expected / largest, rel=1e-6)
    assert 0 < cell.tolerance < cell.rel_error


@pytest.mark.parametrize("fd_method", ["richardson", "central"])
def test_fd_method_chooses_the_differences_of_the_fd_reference_alone(small, monkeypatch, fd_method):
    spec, params, X, Y = small
    methods = []
    real = reference.network_numerical_grad

    def spy(spec_, params_, X_, Y_, method, **kwargs):
        methods.append(method)
        return real(spec_, params_, X_, Y_, method, **kwargs)

    monkeypatch.setattr(reference, "network_numerical_grad", spy)
    result = compare_network(
        spec,
        X,
        Y,
        params,
        implementations=["manual"],
        references=["fd", "complex"],
        fd_method=fd_method,
        epochs=0,
    )
    assert methods == [fd_method, "complex"] and result


def test_training_histories_exactly_at_the_tolerance_agree(small, monkeypatch):
    spec, params, X, Y = small
    step = 2.0**-20
    histories = {"manual": [1.0, 0.5], "tensor": [1.0, 0.5 + step]}  # max |h| = 1: tol = step

    def fake(name):
        return lambda *args, **kwargs: (params, list(histories[name]))

    monkeypatch.setattr(manual, "train", fake("manual"))
    monkeypatch.setattr(autodiff, "train", fake("tensor"))
    monkeypatch.setattr(nc, "_exact_tolerance", lambda dtype: step)
    kwargs = dict(implementations=["manual"], references=["autograd"], epochs=2)
    result = compare_network(spec, X, Y, params, **kwargs)
    assert result.training_max_diff == step and result.training_agree
    histories["tensor"] = [1.0, 0.5 + 2 * step]
    assert not compare_network(spec, X, Y, params, **kwargs).training_agree


def test_a_misshapen_gradient_has_no_finite_difference_tolerance(small):
    fd = _transposed_w1_cell(small, "fd")
    assert fd.verdict == "fail" and math.isnan(fd.tolerance)  # no entry had a tolerance


def test_a_zero_finite_difference_reference_makes_any_difference_infinitely_relative():
    fd = _compare_at_a_zero_gradient("fd")
    assert fd.cell("manual", "fd", "W1").rel_error == 0.0
    assert fd.cell("manual", "fd", "W1").max_abs_error == 0.0
    assert fd.cell("manual", "fd", "W1").tolerance == 0.0  # nothing to be relative to
    assert fd.cell("plus_one", "fd", "W1").rel_error == np.inf
    assert fd.cell("plus_one", "fd", "W1").max_abs_error == 1.0
