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
import os
import re
import sys
import warnings

import numpy as np
import pytest

from backproof import manual, network
from backproof.compare import cli, mutants, study
from backproof.compare.explain import explain
from backproof.network.activations import REGISTRY


def run(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


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
    then NaN, and the command says the training diverged (exit 2), not an internal error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's overflow in the update
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
