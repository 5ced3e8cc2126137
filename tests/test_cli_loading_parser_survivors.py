"""What the command line's loading, parsing and study output promise, as the mutation run of
compare.cli found unchecked (docs/mutation_kcli7.md): the help's purpose sentence and its
list of subcommands, an option refused in its ``--flag=value`` form, the later of two equal
options winning, the data line and JSON data of CSV and .npz files, the examples a ce network
on a built-in set is given (saved with --params or described by the options), spiral's 200
examples, the outputs a ce network gets by default, the study's text and divergence messages,
the arguments read from sys.argv, and the internal-error line.

The command runs in process (``cli.main([...])``), so a mutated command is the one that runs;
every run is small (a few epochs or none, a few dozen examples, no pictures).
"""

import functools
import json
import re
import sys

import numpy as np
import pytest

from backproof import network
from backproof.compare import cli, study


def run(capsys, *args):
    """``backproof <args>`` in process: the exit code, stdout and stderr."""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(text: str) -> str:
    return " ".join(text.split())  # argparse wraps the options' help to the terminal's width


def top_help(capsys) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    return one_line(capsys.readouterr().out)


@pytest.fixture
def studies(monkeypatch):
    """The study without its pictures (they cost seconds and are tested elsewhere); each run's
    result is kept in the returned list."""
    results = []
    picture_free = functools.partial(study.run_study, make_plots=False)

    def recorded(*args, **kwargs):
        results.append(picture_free(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(study, "run_study", recorded)
    return results


NOT_TAKEN = "backproof: error: check does not take --print-every (see backproof check --help)\n"


# -- the parser ----------------------------------------------------------------------------------
def test_the_help_states_the_purpose_and_lists_each_subcommand_with_its_summary(capsys):
    text = top_help(capsys)
    assert (
        "Prove a neural network's gradients: the article's hand-derived backprop and a "
        "tape-based autodiff engine, checked against HIPS autograd, finite differences and the "
        "complex step." in text
    )
    assert (
        "With no subcommand, backproof runs the default study. Options may come before or "
        "after the subcommand." in text
    )
    for name, summary in cli.COMMAND_HELP.items():
        assert f"{name} {one_line(summary)}" in text, name


def test_an_option_the_command_does_not_take_is_named_in_its_flag_value_form(capsys):
    code, out, err = run(capsys, "check", "--print-every=5")
    assert (code, out) == (2, "")
    assert err == NOT_TAKEN


def test_an_option_given_before_and_after_the_subcommand_takes_the_later_value(capsys, tmp_path):
    code, out, _ = run(
        capsys, "--epochs", 1, "train", "--epochs", 3, "--json", "--m", 20, "--out", tmp_path
    )
    d = json.loads(out)
    assert code == 0 and d["epochs"] == 3 and len(d["cost_history"]) == 3


def test_the_console_script_reads_the_arguments_after_the_program_name(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["backproof", "check", "--print-every", "5"])
    assert cli.main() == 2
    err = capsys.readouterr().err
    assert err == NOT_TAKEN


def test_an_internal_error_is_one_line_naming_its_type_and_the_debug_option(capsys, monkeypatch):
    def broken(args):
        raise KeyError("W3")

    monkeypatch.setitem(cli.COMMANDS, "check", broken)
    code, out, err = run(capsys, "check")
    assert (code, out) == (1, "")
    assert err == (
        "backproof: internal error: KeyError: 'W3' (rerun with --debug for the traceback)\n"
    )


# -- the data a command reports ------------------------------------------------------------------
def write_csv(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


ROWS = ["0.1,1.0,a", "0.4,0.2,b", "0.9,0.5,a", "0.3,0.8,b", "0.7,0.1,a", "0.2,0.6,b"]


def test_a_csv_with_a_header_is_named_by_its_file_and_its_classes_listed(capsys, tmp_path):
    path = write_csv(tmp_path / "pairs.csv", ["x1,x2,kind", *ROWS])
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0)
    assert code == 0
    assert out.splitlines()[0] == (
        "data: pairs.csv (6 examples, 2 features, header row read, classes 0=a, 1=b)"
    )
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0, "--json")
    assert code == 0
    assert json.loads(out)["data"] == {
        "source": str(path), "m": 6, "features": 2, "header": True, "classes": ["a", "b"],
    }  # fmt: skip


def test_a_csv_without_a_header_says_so(capsys, tmp_path):
    path = write_csv(tmp_path / "rows.csv", ROWS)
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0)
    assert code == 0
    assert out.splitlines()[0] == (
        "data: rows.csv (6 examples, 2 features, no header row, classes 0=a, 1=b)"
    )


def test_an_npz_data_file_is_named_by_the_path_given(capsys, tmp_path):
    """Only a CSV file (header read or not) is shortened to its file name."""
    X, y = network.make_dataset("moons", m=12, seed=1)
    path = tmp_path / "moons12.npz"
    np.savez(path, X=X, y=y)
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0)
    assert code == 0
    assert out.splitlines()[0] == f"data: {path} (12 examples, 2 features)"


def test_spiral_gives_the_command_lines_200_examples_not_the_generators_300(capsys):
    code, out, _ = run(capsys, "check", "--data", "spiral", "--epochs", 0, "--json")
    d = json.loads(out)
    assert code == 0 and d["data"]["m"] == cli.BUILTIN_EXAMPLES == d["m"] == 200


# -- the network a command builds or reads -------------------------------------------------------
CE4 = network.NetworkSpec([2, 5, 4], loss="ce", seed=2)


@pytest.mark.parametrize("network_from", ["options", "saved params"])
def test_ce_on_blobs_draws_one_class_per_output_of_the_network(capsys, tmp_path, network_from):
    """Four outputs: four blobs, seeded by --data-seed, whether the network comes from the
    options or from a file saved with its spec."""
    params = network.init_params(CE4)
    if network_from == "options":
        given = ["--loss", "ce", "--dims", "2,5,4", "--seed", 2]
    else:
        path = network.save_params(str(tmp_path / "ce4.npz"), CE4, params)
        given = ["--params", path]
    code, out, _ = run(
        capsys, "check", *given, "--data", "blobs", "--m", 30, "--epochs", 0, "--json"
    )
    d = json.loads(out)
    assert code == 0 and d["spec"]["layer_dims"] == [2, 5, 4]
    assert d["data"]["source"] == "blobs" and d["data"]["m"] == 30
    X, y = network.make_dataset("blobs", m=30, seed=0, classes=4)
    cost = network.cost(CE4, params, X, network.targets(CE4, y))
    assert d["losses"] and all(v == pytest.approx(cost, rel=1e-10) for v in d["losses"].values())


def test_check_params_evaluates_the_saved_parameters_on_data_of_their_width(capsys, tmp_path):
    spec = network.NetworkSpec([2, 3, 1], seed=4)
    params = {k: v + 0.5 for k, v in network.init_params(spec).items()}
    path = network.save_params(str(tmp_path / "moved.npz"), spec, params)
    code, out, _ = run(capsys, "check", "--params", path, "--m", 20, "--epochs", 0, "--json")
    d = json.loads(out)
    assert code == 0 and d["params_file"] == path
    X, y = network.make_dataset("moons", m=20, seed=0)
    cost = network.cost(spec, params, X, network.targets(spec, y))
    assert d["losses"] and all(v == pytest.approx(cost, rel=1e-10) for v in d["losses"].values())


def test_ce_without_dims_has_two_outputs_for_two_classes(capsys):
    code, out, _ = run(capsys, "check", "--loss", "ce", "--m", 20, "--epochs", 0, "--json")
    assert code == 0 and json.loads(out)["spec"]["layer_dims"] == [2, 8, 2]


def test_ce_without_dims_has_one_output_per_named_class_even_if_a_subsample_misses_one(
    capsys, tmp_path
):
    """The file names three classes; the subsample of four rows holds none of class c."""
    path = write_csv(tmp_path / "abc.csv", [*ROWS, "0.5,0.5,c"])
    subsample = network.load_data(str(path), m=4, seed=0)
    assert subsample.classes == ("a", "b", "c") and np.max(subsample.y) < 2
    code, out, err = run(capsys, "check", "--data", path, "--loss", "ce", "--m", 4, "--epochs", 0)
    assert code == 0, err
    assert "dims [2,8,3]" in out


# -- the study's output --------------------------------------------------------------------------
def test_the_study_text_names_the_data_then_shows_the_comparison(capsys, tmp_path, studies):
    code, out, _ = run(capsys, "study", "--epochs", 2, "--m", 20, "--out", tmp_path)
    assert code == 0
    comparison = str(studies[-1]["comparison"])
    assert out.startswith(f"backproof study: moons (20 examples, 2 features)\n\n{comparison}\n\n")


def test_the_study_refuses_a_diverged_training_naming_the_learning_rate(capsys, tmp_path, studies):
    code, out, err = run(capsys, "study", "--lr", 100, "--epochs", 5, "--m", 20, "--out", tmp_path)
    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"backproof: error: training diverged at epoch \d+: the cost went from \S+ to \S+; "
        r"try a smaller --lr \(now 100\)\n",
        err,
    ), err


# the divergence is the one thing said: no NumPy warning from the overflowed parameters
@pytest.mark.filterwarnings("error")
def test_the_study_reports_an_overflowing_training_as_a_divergence(capsys, tmp_path, studies):
    code, out, err = run(
        capsys, "study", "--dtype", "float32", "--lr", 1e39, "--epochs", 2, "--m", 20,
        "--out", tmp_path,
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert re.fullmatch(r"backproof: error: training diverged: .*epoch \d+.*1e\+39\)\n", err), err
