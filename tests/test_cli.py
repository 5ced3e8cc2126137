"""The backproof command, as a user runs it."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from backproof.compare import cli


def run(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "backproof.compare.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_default_study_in_an_empty_folder(tmp_path):
    proc = run([], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ALL AGREE" in out and "autograd" in out and "complex" in out
    assert "Taylor test, manual (right): slope 2.0" in out
    plots = sorted(os.listdir(tmp_path / "backproof-out"))
    assert plots == [
        "catalog_heatmap.png",
        "cost_histories.png",
        "layer_grad_norms.png",
        "param_errors.png",
        "step_sweep.png",
        "taylor_test.png",
    ]
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_study_json(tmp_path):
    proc = run(["--json", "--epochs", "50", "--out", "o"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True
    assert data["comparison"]["spec"]["layer_dims"] == [2, 8, 1]
    assert len(data["comparison"]["training"]["manual"]) == 50
    assert set(data["plots"]) >= {"cost_histories", "taylor_test"}


def test_main_in_process(capsys, tmp_path):
    assert cli.main(["train", "--epochs", "30", "--lr", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "epoch      0  cost 0.69" in out and "final cost" in out and "accuracy" in out
    assert (tmp_path / "params.npz").exists()


def test_train_json_and_csv_data(capsys, tmp_path):
    csv = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((40, 3))
    labels = (rows[:, 0] + rows[:, 1] > 0).astype(int)
    csv.write_text(
        "x1,x2,x3,y\n" + "\n".join(f"{a},{b},{c},{y}" for (a, b, c), y in zip(rows, labels))
    )
    code = cli.main(
        [
            "train",
            "--data",
            str(csv),
            "--epochs",
            "200",
            "--lr",
            "2",
            "--json",
            "--init",
            "xavier",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["layer_dims"] == [3, 8, 1]
    assert data["cost_history"][-1] < data["cost_history"][0]
    assert data["accuracy"] > 0.8


def test_check_subcommand(capsys, tmp_path):
    code = cli.main(
        [
            "check",
            "--data",
            "spiral",
            "--loss",
            "ce",
            "--dims",
            "2,6,3",
            "--activations",
            "tanh,softmax",
            "--m",
            "30",
            "--epochs",
            "5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "ALL AGREE" in out and "softmax" in out


def test_mutants_subcommand_says_which_networks_it_runs_on(capsys):
    assert cli.main(["mutants"]) == 0
    out = capsys.readouterr().out
    assert "forgot_1_over_m" in out and "scale" in out
    assert "13 of 13 wrong derivations caught; 13 with a fitting diagnosis" in out
    assert "each wrong derivation is checked on its own small network" in out
    assert "with 40 seeded examples" in out
    assert re.search(r"forgot_1_over_m +3,4,4,1 sigmoid bce +yes", out)
    assert re.search(r"softmax_ce_without_minus_Y +3,4,3 tanh/softmax ce +yes", out)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--dims", "2,x,1"], "--dims"),
        (["--loss", "hinge"], "--loss"),
        (["--epochs", "-3"], "--epochs"),
        (["--lr", "0"], "--lr"),
        (["--lr", "nan"], "--lr"),
        (["--data", "nosuch.csv"], "no such file"),
        (["--data", "mnist"], "data"),
        (["--dims", "3,4,1"], "number of features"),
        (["--activations", "relu,relu"], "bce"),
        (["--activations", "swish,sigmoid"], "activations"),
        (["frobnicate"], "invalid choice"),
        (["train", "--dims", "2,4,1", "--loss", "ce"], "ce"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args, words, capsys, tmp_path):
    code = cli.main([*args, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("backproof: error:")
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "text, words",
    [
        ("a,b,y\n1,,0\n", "missing value"),
        ("a,b,y\n1,hello,0\n", "numeric"),
        ("a,b,y\n", "no data rows"),
        ("a,b,y\n1,2,5\n", "Y must lie in [0, 1]"),
        ("", "empty"),
    ],
)
def test_bad_csv_files_exit_2(text, words, capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(text)
    code = cli.main(["train", "--data", str(path), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1


def test_unreadable_file_exits_2(capsys, tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"\xff\xfe\x00bad")
    assert cli.main(["train", "--data", str(path), "--out", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_internal_errors_exit_1_with_a_hint(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError("something broke")

    monkeypatch.setitem(cli.COMMANDS, "train", boom)
    assert cli.main(["train"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "--debug" in err and err.count("\n") == 1
    with pytest.raises(RuntimeError):
        cli.main(["train", "--debug"])


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "study" in out and "check" in out and "mutants" in out and "Exit codes" in out


def test_a_closed_pipe_is_not_an_internal_error(tmp_path):
    proc = subprocess.run(
        f"{sys.executable} -m backproof.compare.cli mutants | head -n 1",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("each wrong derivation")
    assert "internal error" not in proc.stderr


def test_smoke_options_before_the_subcommand_and_a_usage_error(tmp_path):
    proc = run(
        ["--loss", "mse", "--activations", "tanh,linear", "check", "--m", "20", "--json"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["spec"]["activations"] == ["tanh", "linear"]
    proc = run(["train", "--lr", "1e300", "--epochs", "5"], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("backproof: error: training diverged at epoch 1")
    assert proc.stderr.count("\n") == 1
