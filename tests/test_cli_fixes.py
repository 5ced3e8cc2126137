"""Each command-line fix of issue 10, run in process: the old behaviour is caught, the new
line is asserted."""

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import run_cli as run

import backproof
from backproof import network
from backproof.compare import cli, network_check

IRIS = "sl,sw,species\n" + "".join(
    f"{5 + 0.1 * i},{3 + 0.05 * (i % 7)},{['setosa', 'versicolor', 'virginica'][i % 3]}\n"
    for i in range(30)
)


def one_error_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("backproof: error: "), err
    return err[len("backproof: error: ") : -1]


# options before the subcommand -----------------------------------------------------------------


def test_options_before_the_subcommand_are_honoured(capsys):
    code, out, _ = run(
        capsys, "--loss", "mse", "--activations", "tanh,linear", "check", "--m", 20, "--epochs", 2
    )
    assert code == 0
    assert "activations tanh,linear, loss mse" in out  # was: sigmoid,sigmoid, loss bce


def test_an_option_after_the_subcommand_wins_over_the_same_one_before(capsys):
    code, out, _ = run(capsys, "--loss", "mse", "check", "--loss", "bce", "--m", 20, "--epochs", 0)
    assert code == 0 and "loss bce" in out


def test_options_before_a_subcommand_that_has_no_use_for_them_are_refused(capsys):
    code, _, err = run(capsys, "--print-every", 5, "check")
    assert code == 2
    assert one_error_line(err) == "check does not take --print-every (see backproof check --help)"
    code, _, err = run(capsys, "--out", "somewhere", "check")
    assert code == 2 and one_error_line(err).startswith("check does not take --out")


@pytest.mark.parametrize("where", ["before", "after"])
def test_mutants_refuses_network_options(capsys, where):
    args = ["--dims", "3,4,1", "mutants"] if where == "before" else ["mutants", "--dims", "3,4,1"]
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        "mutants does not take --dims: each wrong derivation runs on its own small network, "
        "listed in its output"
    )


def test_unknown_arguments_are_named(capsys):
    code, _, err = run(capsys, "check", "--frobnicate")
    assert code == 2
    assert (
        one_error_line(err) == "unrecognized argument '--frobnicate' (see backproof check --help)"
    )


def test_a_study_without_a_subcommand_takes_every_study_option(capsys, tmp_path):
    code, _, err = run(capsys, "--params", tmp_path / "p.npz")
    assert code == 2
    assert one_error_line(err) == "study does not take --params (see backproof study --help)"


# --version, --out ---------------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"backproof {backproof.__version__}\n"


@pytest.mark.parametrize("command", ["train", "study"])
def test_out_naming_a_file_exits_2_before_any_work(capsys, tmp_path, monkeypatch, command):
    afile = tmp_path / "afile"
    afile.write_text("keep me")

    def no_work(args):
        raise AssertionError("the data was loaded before --out was checked")

    monkeypatch.setattr(cli, "_load", no_work)
    code, out, err = run(capsys, command, "--out", afile)
    assert code == 2 and out == ""  # was: exit 1, internal error: FileExistsError, after the work
    assert one_error_line(err) == f"--out must name a folder, but {str(afile)!r} is a file"
    code, _, err = run(capsys, command, "--out", afile / "sub")
    assert code == 2
    assert one_error_line(err).endswith(f"is a file (in {str(afile / 'sub')!r})")
    assert afile.read_text() == "keep me"


# divergence and the printed costs ------------------------------------------------------------


def test_a_diverging_training_exits_2_naming_the_epoch(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--lr", "1e300", "--epochs", 5, "--out", tmp_path)
    assert code == 2 and out == ""  # was: exit 0 and 300-digit costs
    assert re.fullmatch(
        r"training diverged at epoch 1: the cost went from 0\.6931\d* to \d\.\d+e\+29\d; "
        r"try a smaller --lr \(now 1e\+300\)",
        one_error_line(err),
    )
    assert not (tmp_path / "params.npz").exists()


def test_a_cost_ten_times_its_start_is_divergence_even_when_finite(capsys, tmp_path):
    args = ["train", "--loss", "mse", "--activations", "linear,linear", "--out", tmp_path]
    code, _, err = run(capsys, *args, "--lr", 30, "--epochs", 50)
    assert code == 2
    assert one_error_line(err).startswith("training diverged at epoch 1: the cost went from")
    assert run(capsys, *args, "--lr", 0.1, "--epochs", 50)[0] == 0


def test_check_and_the_study_refuse_a_diverging_training_too(capsys, tmp_path):
    code, _, err = run(capsys, "check", "--lr", "1e300", "--epochs", 3, "--m", 20)
    assert code == 2 and one_error_line(err).startswith("training diverged at epoch 1")


def test_find_divergence():
    assert cli.find_divergence([]) is None
    assert cli.find_divergence([1.0, 5.0, 10.0, 0.5]) is None  # ten times is still allowed
    d = cli.find_divergence([1.0, 5.0, 10.5, 0.5])
    assert (d.epoch, d.cost, d.start) == (2, 10.5, 1.0)
    assert cli.find_divergence([1.0, 2.0, float("nan")]).epoch == 2
    assert cli.find_divergence([1.0, float("inf")]).epoch == 1
    assert cli.find_divergence([0.0, 1e-3]) is None  # nothing to be ten times of
    assert "try a smaller --lr (now 0.5)" in d.message(0.5)


def test_costs_print_with_six_significant_digits(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--epochs", 20, "--lr", 1, "--out", tmp_path)
    assert code == 0
    costs = re.findall(r"cost ([-+.\de]+)", out)
    assert len(costs) == 11  # epochs 0, 2, ..., 18 and the final cost
    assert all(c == f"{float(c):.6g}" for c in costs)


def test_the_study_and_train_report_the_same_final_cost(capsys, tmp_path):
    code, out, _ = run(capsys, "--json", "--epochs", 30, "--out", tmp_path / "s", "--no-progress")
    assert code == 0
    study = json.loads(out)["training"]["manual"]["final_cost"]
    code, out, _ = run(capsys, "train", "--json", "--epochs", 30, "--out", tmp_path / "t")
    train = json.loads(out)
    assert code == 0 and study == train["final_cost"]
    assert study != train["cost_history"][-1]  # that is the cost before the last step


# check --m and the real defaults ---------------------------------------------------------------


def test_check_m_subsamples_a_csv_file(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 5},{i % 2}\n" for i in range(40)))
    code, out, _ = run(capsys, "check", "--data", path, "--m", 12, "--epochs", 0)
    assert code == 0 and "m = 12" in out  # was: m = 40, --m silently ignored
    code, _, err = run(capsys, "check", "--data", path, "--m", 41)
    assert code == 2
    assert one_error_line(err) == f"--m must be at most the 40 examples in {path}, got 41"


@pytest.mark.parametrize("command", ["check", "train", "study"])
def test_the_help_shows_the_defaults_each_command_uses(capsys, monkeypatch, tmp_path, command):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    shown_epochs = int(re.search(r"gradient-descent steps \(default: (\d+)\)", text).group(1))
    shown_lr = float(re.search(r"learning rate \(default: ([\d.]+)\)", text).group(1))
    used = {}

    def fake_compare(spec, X, Y, params=None, *, epochs, lr, **kwargs):
        used.update(epochs=epochs, lr=lr)
        raise KeyboardInterrupt  # enough: the values were seen

    def fake_descent(step, params, epochs, lr, **kwargs):
        used.update(epochs=epochs, lr=lr)
        raise KeyboardInterrupt

    monkeypatch.setattr(network_check, "compare_network", fake_compare)
    monkeypatch.setattr(network, "gradient_descent", fake_descent)
    assert cli.main([command, "--out", str(tmp_path)] if command != "check" else [command]) == 130
    assert used == {"epochs": shown_epochs, "lr": shown_lr}
    if command == "check":
        assert (shown_epochs, shown_lr) == (50, 0.5)  # the help said lr 2.0


def test_the_study_defaults_are_the_study_module_s(capsys):
    from backproof.compare.study import DEFAULT_STUDY

    assert cli.TRAINING_DEFAULTS["study"] == {k: DEFAULT_STUDY[k] for k in ("epochs", "lr")}
    assert cli.BUILTIN_EXAMPLES == DEFAULT_STUDY["m"]


# exit codes and JSON ---------------------------------------------------------------------------


def test_exit_codes_follow_the_verdict():
    for verdict, code in (("pass", 0), ("fail", 3), ("inconclusive", 4)):
        assert cli.exit_code(SimpleNamespace(verdict=verdict)) == code
    assert cli.exit_code(True) == 0 and cli.exit_code(False) == 3  # no verdict: its truth
    with pytest.raises(KeyError):
        cli.exit_code(SimpleNamespace(verdict="maybe"))


def test_an_inconclusive_check_exits_4(capsys, monkeypatch):
    class Undecided:
        verdict = "inconclusive"
        training = []

        def __str__(self):
            return "compare_network: INCONCLUSIVE"

        def to_dict(self):
            return {"cells": [], "rel_error": np.float32(np.inf)}

    monkeypatch.setattr(network_check, "compare_network", lambda *a, **k: Undecided())
    code, out, _ = run(capsys, "check", "--m", 10)
    assert code == 4 and "INCONCLUSIVE" in out
    code, out, _ = run(capsys, "check", "--m", 10, "--json")
    data = json.loads(out)
    assert code == 4 and data["verdict"] == "inconclusive" and data["exit_code"] == 4
    assert data["rel_error"] is None  # inf is not JSON


def _strict_json(text):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _numbers_are_numbers(obj):
    if isinstance(obj, dict):
        return all(_numbers_are_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_numbers_are_numbers(v) for v in obj)
    if isinstance(obj, str):
        return not re.fullmatch(r"[-+]?\d[\d.]*(e[-+]?\d+)?", obj)
    return True


def test_check_json_is_strict_json_with_the_verdict(capsys):
    code, out, _ = run(capsys, "check", "--json", "--m", 20, "--epochs", 3)
    data = _strict_json(out)
    assert code == 0 and data["verdict"] == "pass" and data["exit_code"] == 0
    assert data["data"] == {
        "source": "moons",
        "m": 20,
        "features": 2,
        "header": None,
        "classes": None,
    }
    assert isinstance(data["cells"][0]["rel_error"], float)
    assert _numbers_are_numbers(data)


def test_json_ready_writes_numbers_as_json_numbers():
    from backproof.compare.verdicts import json_ready

    out = json_ready({"a": np.float32(1.5), "b": np.arange(2), 3: [np.inf, np.nan, True]})
    assert out == {"a": 1.5, "b": [0, 1], "3": [None, None, True]}
    assert type(out["b"][0]) is int
    with pytest.raises(TypeError, match="cannot write a object as JSON"):
        json_ready(object())


# data -------------------------------------------------------------------------------------------


def test_a_csv_without_a_header_loses_no_row(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("".join(f"{i},{-i},{i % 2}\n" for i in range(10)))
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0)
    assert code == 0 and "m = 10" in out  # was: m = 9, the first row taken for a header
    assert "d.csv (10 examples, 2 features, no header row)" in out
    code, out, _ = run(capsys, "check", "--data", path, "--epochs", 0, "--header")
    assert "m = 9" in out and "header row read" in out


def test_class_names_become_classes_and_are_shown(capsys, tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text(IRIS)
    code, out, _ = run(
        capsys, "train", "--data", path, "--loss", "ce", "--epochs", 5, "--out", tmp_path
    )
    assert code == 0  # was: exit 2, column 'species' must be numeric, got 'setosa'
    assert "training 2,8,3 (sigmoid,softmax, ce)" in out
    assert "classes 0=setosa, 1=versicolor, 2=virginica" in out
    code, _, err = run(capsys, "train", "--data", path, "--out", tmp_path)
    assert code == 2
    assert one_error_line(err) == (
        f"loss bce needs two classes, but the labels of {path} name 3: setosa, versicolor, "
        "virginica (use --loss ce)"
    )
    code, _, err = run(capsys, "train", "--data", path, "--loss", "ce", "--dims", "2,4,2")
    assert code == 2 and "loss ce needs one output per class, but the network has 2" in err


def test_two_class_names_work_with_bce(capsys, tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(
        "a,b,kind\n" + "".join(f"{i},{i % 3},{'cat' if i % 2 else 'dog'}\n" for i in range(20))
    )
    code, out, _ = run(capsys, "train", "--data", path, "--epochs", 3, "--out", tmp_path)
    assert code == 0 and "classes 0=cat, 1=dog" in out


def test_a_file_named_npz_that_is_not_one(capsys, tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("hello\n")
    code, _, err = run(capsys, "train", "--data", path, "--out", tmp_path)
    assert code == 2  # was: NumPy's advice to load pickled data unsafely
    assert one_error_line(err) == (
        f"--data: {str(path)!r} is not a NumPy .npz archive (numpy.savez writes one); "
        "its first bytes are b'hello\\n'"
    )


def test_label_and_header_are_refused_for_a_built_in_set(capsys):
    code, _, err = run(capsys, "check", "--label", "y")
    assert code == 2  # was: silently ignored
    assert one_error_line(err) == "--label applies to a .csv file only, got data 'moons'"


# saved parameters -------------------------------------------------------------------------------


def test_train_out_saves_the_spec_and_check_params_checks_it(capsys, tmp_path):
    args = ["--dims", "2,5,1", "--activations", "tanh,sigmoid", "--init", "xavier"]
    code, out, _ = run(capsys, "train", *args, "--epochs", 40, "--out", tmp_path)
    assert code == 0 and "parameters and spec saved to" in out
    saved = network.load_params(tmp_path / "params.npz")
    assert saved.spec == network.NetworkSpec([2, 5, 1], ["tanh", "sigmoid"], init="xavier")
    code, out, _ = run(capsys, "check", "--params", tmp_path / "params.npz", "--epochs", 2)
    assert code == 0 and "dims [2,5,1], activations tanh,sigmoid" in out
    assert f"parameters: {tmp_path / 'params.npz'}" in out
    code, out, _ = run(
        capsys, "check", "--params", tmp_path / "params.npz", "--json", "--epochs", 0
    )
    losses = _strict_json(out)["losses"]
    expected = network.cost(saved.spec, saved.params, *network.make_dataset("moons", m=200))
    assert losses["manual"] == pytest.approx(expected, rel=1e-12)  # the saved, not new, params


def test_check_params_refuses_what_it_cannot_use(capsys, tmp_path):
    spec = network.NetworkSpec([2, 3, 1])
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    code, _, err = run(capsys, "check", "--params", path, "--loss", "mse")
    assert code == 2
    assert one_error_line(err) == (
        "--loss cannot be combined with --params: the spec saved with the parameters is the network"
    )
    np.savez(tmp_path / "bare.npz", **network.init_params(spec))
    code, _, err = run(capsys, "check", "--params", tmp_path / "bare.npz")
    assert code == 2 and "holds parameters but no saved spec" in err
    wide = network.NetworkSpec([3, 2, 1])
    path3 = network.save_params(tmp_path / "p3.npz", wide, network.init_params(wide))
    code, _, err = run(capsys, "check", "--params", path3)
    assert code == 2
    assert one_error_line(err) == (
        f"--params {path3} holds a network for 3 features, but --data moons has 2"
    )


def test_an_empty_out_is_refused(capsys):
    code, _, err = run(capsys, "train", "--out=")
    assert code == 2  # was: internal error: FileNotFoundError
    assert one_error_line(err) == "--out must name a folder, got an empty path"


def test_a_refused_option_is_named_as_it_was_written(capsys):
    code, _, err = run(capsys, "--no-header", "mutants")
    assert code == 2 and one_error_line(err).startswith("mutants does not take --no-header:")
    code, _, err = run(capsys, "--header", "mutants")
    assert code == 2 and one_error_line(err).startswith("mutants does not take --header:")


def test_the_top_level_help_shows_the_study_s_options_with_their_choices(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "--loss {bce,mse,ce}" in out and "--print-every" not in out
    assert "4 a check was inconclusive" in " ".join(out.split())


def test_a_subcommand_added_by_another_module_gets_the_options_given_before_it(capsys, monkeypatch):
    # explain adds its own parser (compare/explain.py); its --m defaults to 1
    monkeypatch.setitem(cli.COMMANDS, "explain", lambda args: print(args.data, args.m) or 0)
    assert run(capsys, "--data", "xor", "explain")[:2] == (0, "xor 1\n")
    assert run(capsys, "--data", "xor", "explain", "--data", "spiral")[:2] == (0, "spiral 1\n")
    code, _, err = run(capsys, "--epochs", 1, "explain")
    assert code == 2
    assert one_error_line(err) == "explain does not take --epochs (see backproof explain --help)"


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["train", "--help"]])
def test_the_help_lists_every_registered_activation(capsys, args):
    with pytest.raises(SystemExit):
        cli.main(args)
    out = capsys.readouterr().out
    for activation in network.activations.REGISTRY.values():
        assert f"  {activation.name}: {activation.summary}\n" in out


@pytest.mark.parametrize("command", ["train", "study"])
def test_an_out_folder_that_cannot_be_made_is_bad_usage(capsys, tmp_path, monkeypatch, command):
    locked = tmp_path / "locked"
    locked.mkdir()

    def refuse(path, exist_ok=False):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cli.os, "makedirs", refuse)
    monkeypatch.setattr(cli, "_load", lambda args: pytest.fail("work began before --out"))
    code, out, err = run(capsys, command, "--out", locked / "new")
    assert code == 2 and out == ""  # was: exit 1, internal error: FileNotFoundError
    expected = f"--out: cannot create the folder {str(locked / 'new')!r}: Permission denied"
    assert one_error_line(err) == expected
