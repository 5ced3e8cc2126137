"""The command line's contract, run in process (docs/mutation.md): the exact line each bad value
gets, what train prints and writes as JSON, how --print-every and --no-progress act, the data a
built-in set gives for each loss, and the options shown in the help.

Every run here is small (a few epochs, epochs 0 for check), so the file costs a few seconds."""

import json
import re

import numpy as np
import pytest
from conftest import run_cli as run

from backproof import network
from backproof.compare import cli


def error_of(capsys, *args) -> str:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("backproof: error: ") and err.count("\n") == 1, err
    return err[len("backproof: error: ") : -1]


# -- one line for each bad value -------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--dims", "2,x,1"], "argument --dims: expected comma-separated integers such as 2,4,1, "
         "got '2,x,1' (see backproof --help)"),
        (["--dims", ","], "argument --dims: expected comma-separated integers, got ',' "
         "(see backproof --help)"),
        (["--lr", "abc"], "argument --lr: expected a positive number, got 'abc' "
         "(see backproof --help)"),
        (["--lr", "nan"], "argument --lr: expected a positive finite number, got 'nan' "
         "(see backproof --help)"),
        (["--lr", "-2"], "argument --lr: expected a positive finite number, got '-2' "
         "(see backproof --help)"),
        (["--epochs", "1.5"], "argument --epochs: expected a whole number, got '1.5' "
         "(see backproof --help)"),
        (["--epochs", "-3"], "argument --epochs: expected a non-negative whole number, got '-3' "
         "(see backproof --help)"),
        (["--m", "0"], "argument --m: expected a positive whole number, got '0' "
         "(see backproof --help)"),
        (["--m", "x"], "argument --m: expected a whole number, got 'x' (see backproof --help)"),
        (["--dims", "2,0,1"], "--dims must hold positive integers, got 0 at position 1"),
        (["--dims", "3,4,1"], "--dims must start with the number of features in the data "
         "(2 for moons), got 3"),
        (["--activations", "relu,relu"], "--loss 'bce' needs a 'sigmoid' output layer, got "
         "activations ending in 'relu'"),
        (["--data", "mnist"], "--data must be one of ['blobs', 'circles', 'moons', 'spiral', "
         "'xor'] or a path ending in .csv or .npz, got 'mnist'"),
        (["--header"], "--header applies to a .csv file only, got data 'moons'"),
        (["--params", "nowhere.npz"], "--params: no such file 'nowhere.npz'"),
    ],
)  # fmt: skip
def test_each_bad_value_gets_its_own_line(capsys, args, message):
    assert error_of(capsys, "check", *args) == message


def test_a_missing_label_column_is_named(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(10)))
    assert error_of(capsys, "check", "--data", path, "--label", "nosuch") == (
        f"--label: no column named 'nosuch' in {path}; the columns are ['a', 'b', 'y']"
    )


def test_activations_name_the_option(capsys):
    message = error_of(capsys, "check", "--activations", "swish,sigmoid")
    assert message.startswith("--activations must be one of ['elu', 'gelu', ")
    assert message.endswith("], got 'swish'")


def test_an_interrupted_command_says_so(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "check", interrupted)
    code, out, err = run(capsys, "check")
    assert (code, out, err) == (130, "", "backproof: interrupted\n")


# -- train -----------------------------------------------------------------------------------
def test_train_prints_its_run(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--epochs", 20, "--lr", 1, "--m", 30, "--out", tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "training 2,8,1 (sigmoid,sigmoid, bce) on moons (30 examples, 2 features): 20 epochs, lr 1"
    )
    epochs = [int(re.match(r"  epoch +(\d+)  cost ", line).group(1)) for line in lines[1:-1]]
    assert epochs == list(range(0, 20, 2))  # every epochs/10 by default
    assert re.fullmatch(
        r"final cost [\d.]+, accuracy [01]\.\d{3} \(\d+\.\d\d s\); parameters and spec saved to "
        + re.escape(str(tmp_path / "params.npz")),
        lines[-1],
    )


@pytest.mark.parametrize("every, expected", [(7, [0, 7, 14]), (None, [0, 1, 2])])
def test_print_every(capsys, tmp_path, every, expected):
    epochs = 20 if every else 3  # fewer than ten epochs: every one
    extra = ["--print-every", every] if every else []
    code, out, _ = run(capsys, "train", "--epochs", epochs, "--m", 30, "--out", tmp_path, *extra)
    assert code == 0
    assert [int(e) for e in re.findall(r"epoch +(\d+)", out)] == expected


def test_train_json(capsys, tmp_path):
    code, out, _ = run(
        capsys, "train", "--json", "--epochs", 5, "--lr", 0.25, "--m", 30, "--out", tmp_path
    )
    assert code == 0
    assert out.startswith('{\n  "spec": {\n    "layer_dims": [')  # indented by two
    d = json.loads(out)
    assert list(d) == [
        "spec",
        "data",
        "epochs",
        "lr",
        "cost_history",
        "final_cost",
        "accuracy",
        "params_file",
        "seconds",
    ]
    spec = network.NetworkSpec([2, 8, 1], seed=3)
    assert d["spec"] == json.loads(json.dumps(spec.to_dict()))
    assert d["data"] == {"source": "moons", "m": 30, "features": 2, "header": None, "classes": None}
    assert d["epochs"] == 5 and d["lr"] == 0.25 and len(d["cost_history"]) == 5
    saved = network.load_params(d["params_file"])
    assert d["params_file"] == str(tmp_path / "params.npz") and saved.spec == spec
    X, y = network.make_dataset("moons", m=30, seed=0)
    Y = network.targets(spec, y)
    assert d["final_cost"] == network.cost(spec, saved.params, X, Y)
    assert d["accuracy"] == network.accuracy(spec, saved.params, X, Y)
    assert 0 < d["seconds"] < 60


def test_the_data_seed_and_m_choose_the_examples(capsys, tmp_path):
    def first_cost(*args):
        code, out, _ = run(capsys, "train", "--json", "--epochs", 1, "--out", tmp_path, *args)
        assert code == 0
        return json.loads(out)["cost_history"][0]

    spec = network.NetworkSpec([2, 8, 1], seed=3)
    X, y = network.make_dataset("moons", m=40, seed=5)
    expected = network.cost(spec, network.init_params(spec), X, network.targets(spec, y))
    assert first_cost("--m", 40, "--data-seed", 5) == expected
    assert first_cost("--m", 40, "--data-seed", 6) != expected
    X, y = network.make_dataset("moons", m=200, seed=0)
    default = network.cost(spec, network.init_params(spec), X, network.targets(spec, y))
    assert first_cost() == default


# -- check -----------------------------------------------------------------------------------
def test_check_on_a_built_in_set_with_ce_gets_as_many_classes_as_outputs(capsys):
    code, out, _ = run(capsys, "check", "--json", "--data", "spiral", "--loss", "ce", "--epochs", 0)
    d = json.loads(out)
    assert code == 0 and d["spec"]["layer_dims"] == [2, 8, 3]  # three classes by default
    assert d["data"]["m"] == 200
    code, out, _ = run(
        capsys,
        "check", "--json", "--data", "blobs", "--loss", "ce", "--dims", "2,4,4", "--m", 12,
        "--activations", "tanh,softmax", "--epochs", 0,
    )  # fmt: skip
    d = json.loads(out)
    assert code == 0 and d["spec"]["layer_dims"] == [2, 4, 4] and d["data"]["m"] == 12
    assert len(d["losses"]) >= 2 and d["verdict"] == "pass"


def test_check_text_names_the_built_in_data(capsys):
    code, out, _ = run(capsys, "check", "--m", 12, "--epochs", 0)
    assert code == 0
    assert out.splitlines()[0] == "data: moons (12 examples, 2 features)"
    assert "parameters:" not in out


def test_the_options_reach_the_network(capsys):
    code, out, _ = run(
        capsys,
        "check", "--json", "--dims", "2,3,1", "--activations", "tanh,sigmoid", "--init", "he",
        "--seed", 9, "--dtype", "float32", "--m", 10, "--epochs", 2, "--lr", 0.125,
    )  # fmt: skip
    assert code == 0
    d = json.loads(out)
    assert d["spec"] == {
        "layer_dims": [2, 3, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "init": "he",
        "seed": 9,
        "dtype": "float32",
    }
    spec = network.NetworkSpec([2, 3, 1], ["tanh", "sigmoid"], "bce", "he", 9, "float32")
    X, y = network.make_dataset("moons", m=10, seed=0)
    from backproof import manual

    _, history = manual.train(
        X.astype(np.float32), network.targets(spec, y), spec, 2, 0.125, progress=False
    )
    assert d["training"]["manual"] == pytest.approx(history, rel=1e-6)


def test_no_progress_silences_the_bars_even_on_a_terminal(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, _, err = run(capsys, "check", "--m", 10, "--epochs", 2)
    assert code == 0 and "reference fd" in err  # a terminal: bars by default
    code, _, err = run(capsys, "check", "--m", 10, "--epochs", 2, "--no-progress")
    assert code == 0 and err == ""


# -- the help --------------------------------------------------------------------------------
def test_the_top_level_help_names_each_value_it_takes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("--dims DIMS", "--activations ACTIVATIONS", "--seed SEED", "--m M", "--lr LR"):
        assert shown in out
    assert "--json " in out and "--json JSON" not in out  # a flag takes no value
    assert "--params" not in out  # check's alone, not the study's
    assert "With no subcommand, backproof runs the default study." in out


@pytest.mark.parametrize(
    "command, shown, hidden",
    [
        ("train", ["--print-every", "--out", "--epochs", "--data-seed"], ["--params"]),
        ("check", ["--params", "--no-header", "--label"], ["--out", "--print-every"]),
        ("mutants", ["--json", "--debug", "--no-progress"], ["--dims", "--epochs", "--data"]),
    ],
)
def test_each_command_shows_its_own_options(capsys, command, shown, hidden):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert all(f"  {option}" in out for option in shown)
    assert not any(f"  {option} " in out for option in hidden)
    assert cli.COMMAND_HELP[command].split(",")[0] in " ".join(out.split())
