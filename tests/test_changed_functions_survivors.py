"""Behaviour that the survivors of the seventh session's mutation run (the functions changed
since the sixth: the command line's training loop, ``check_jacobian``) showed untested: a
training that overflows says only that it diverged, and a complex Jacobian's report is an
ordinary empty "jacobian" report."""

import warnings

import numpy as np

from backproof.compare import cli
from backproof.compare.jacobians import check_jacobian


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# -- the command line's training loop ----------------------------------------------------------


def test_a_training_whose_cost_overflows_says_only_that_it_diverged(capsys, tmp_path):
    """Features of size 1e10 and lr 1e300: the first step sends W1 to about 1e300 (finite), so
    the next forward pass overflows on its way to a NaN cost. ``train`` says in one line that
    training diverged at epoch 1, with no NumPy overflow warning before it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2)) * 1e10
    rows = "".join(f"{a},{b},{int(a > 0)}\n" for a, b in X)
    data = tmp_path / "big.csv"
    data.write_text("x1,x2,label\n" + rows)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, _, err = _run(
            capsys, "train", "--data", data, "--activations", "relu,sigmoid", "--lr", 1e300,
            "--epochs", 5, "--out", tmp_path / "o", "--no-progress",
        )  # fmt: skip
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("backproof: error: training diverged at epoch 1: the cost went from ")
    assert err.endswith("; try a smaller --lr (now 1e+300)\n")


# -- check_jacobian ------------------------------------------------------------------------------


def test_a_complex_jacobian_gives_an_empty_jacobian_report():
    """A complex jac_f is refused before any scalar check: the report is of kind "jacobian"
    (as every check_jacobian report is), with no checks, in text and in JSON."""
    A = np.arange(6.0).reshape(2, 3)
    report = check_jacobian(lambda x: A @ x, lambda x: A.astype(complex), np.ones(3))
    assert str(report).splitlines()[0] == "jacobian check: FAIL (0 scalar checks)"
    d = report.to_dict()
    assert d["kind"] == "jacobian" and d["verdict"] == "fail"
    assert d["checks"] == [] and d["wrong_outputs"] == [] and d["wrong_inputs"] == []
    assert d["diagnosis"] == "structure: jac_f returned dtype complex128 for x, which is real"
    right = check_jacobian(lambda x: A @ x, lambda x: A, np.ones(3))
    assert right.kind == report.kind == "jacobian"
