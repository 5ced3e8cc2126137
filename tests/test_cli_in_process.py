"""The command's behaviour that tests/test_cli.py checks in subprocesses, checked again in-process.

A subprocess imports the installed files, so mutation testing (docs/mutation.md) cannot see a
mutated command through it; ``cli.main([...])`` runs the very code under test.
"""

import json
import os
import sys

from backproof.compare import cli

STUDY_PLOTS = [
    "catalog_heatmap.png",
    "cost_histories.png",
    "layer_grad_norms.png",
    "param_errors.png",
    "step_sweep.png",
    "taylor_test.png",
]


def test_the_default_study_in_an_empty_folder(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert cli.main([]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "ALL AGREE" in out and "autograd" in out and "complex" in out
    assert "Taylor test, manual (right): slope 2.0" in out
    assert sorted(os.listdir(tmp_path / "backproof-out")) == STUDY_PLOTS
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_study_json(capsys, tmp_path):
    assert cli.main(["--json", "--epochs", "50", "--out", str(tmp_path / "o")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert data["comparison"]["spec"]["layer_dims"] == [2, 8, 1]
    assert len(data["comparison"]["training"]["manual"]) == 50
    assert set(data["plots"]) >= {"cost_histories", "taylor_test"}


def test_a_closed_pipe_is_not_an_internal_error(capsys, monkeypatch):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone away, as `backproof mutants | head -n 1` leaves it
    with open(write_end, "w", buffering=1) as closed_pipe:  # line-buffered: the first line fails
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        code = cli.main(["mutants"])
        monkeypatch.undo()
    assert code == 0
    assert "internal error" not in capsys.readouterr().err
