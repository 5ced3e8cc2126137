"""Behaviour that the mutation run's survivors in checkgrad, jacobians and the command line
showed untested: the cost of a check (how many times f is evaluated), the tolerance a float32
JVP is judged with, and the name a wrong Hessian is reported under."""

import contextlib
import dataclasses
import io
import json
import sys

import numpy as np
import pytest

from backproof.compare import cli
from backproof.compare.checkgrad import check_grad
from backproof.compare.jacobians import check_hessian, check_jacobian, check_jvp


def _evaluations(f, grad_f, x, **options):
    """How many times check_grad calls f, and its verdict."""
    calls = [0]

    def counted(x):
        calls[0] += 1
        return f(x)

    report = check_grad(counted, grad_f, x, **options)
    return calls[0], report.verdict


def test_a_ladder_at_a_kink_settles_both_sides_before_stopping():
    """At x_0 = 0 f has a kink with a curved right side: the ladder refines both one-sided
    derivatives until each is settled, which costs more evaluations than settling only the
    sharper one (seeded, so the count is exact)."""

    def f(x):
        return float(np.sum(np.where(x > 0, x**2 + x, -x + np.sin(x))))

    def grad(x):
        return np.where(x > 0, 2 * x + 1, -1 + np.cos(x))

    assert _evaluations(f, grad, np.array([0.0, 0.5])) == (166, "pass")


def test_a_ladder_with_zero_tolerance_stops_when_smaller_steps_stop_helping():
    """rtol = atol = 0 leaves only the noise floor: sin's ladder can never settle inside it, so
    it stops once smaller steps stop improving the estimate — not later."""
    x = np.array([0.5, -0.25, 1.0])
    assert _evaluations(lambda x: float(np.sum(np.sin(x))), np.cos, x, rtol=0.0, atol=0.0) == (
        140,
        "pass",
    )


def test_an_exact_reference_with_zero_tolerance_settles_at_once():
    """A constant f: every difference is exactly 0 with error 0, and the tolerance is 0 too;
    an error of 0 is within a tolerance of 0 (<=), so the ladder stops as early as it can."""
    x = np.array([0.5, -0.25, 1.0])
    assert _evaluations(lambda x: 0.0, lambda x: np.zeros(3), x, rtol=0.0, atol=0.0) == (
        116,
        "pass",
    )


def test_a_float32_jvp_is_judged_with_float32_tolerance():
    """J u returned in float32 has float32's precision: each scalar check's rtol is
    7 sqrt(eps) of float32 (~2.4e-3), not float64's 1e-7."""
    x = np.array([0.5, -0.25, 1.0], dtype=np.float32)

    def f(x):
        return np.sin(x) * x[0]

    def jvp(x, u):
        return (np.cos(x) * u * x[0] + np.sin(x) * u[0]).astype(np.float32)

    report = check_jvp(f, jvp, x)
    assert report.verdict == "pass"
    rtol32 = 7 * np.sqrt(np.finfo(np.float32).eps)
    for r in report.reductions:
        assert np.isclose(r.report.rtol, rtol32, rtol=1e-6)


def test_a_complex_jacobian_is_reported_under_the_name_jac_f():
    """jac_f returning a complex matrix fails with a structure diagnosis naming jac_f (it
    raised a TypeError about grad_f, an argument the user never passed)."""
    A = np.arange(6.0).reshape(2, 3)
    report = check_jacobian(lambda x: A @ x, lambda x: A.astype(complex), np.ones(3))
    assert report.verdict == "fail"
    assert report.diagnosis == "structure: jac_f returned dtype complex128 for x, which is real"
    assert check_jacobian(lambda x: A @ x, lambda x: A, np.ones(3)).verdict == "pass"


def test_a_complex_hessian_is_reported_under_the_name_hess_f():
    """hess_f returning a complex matrix fails with a structure diagnosis naming hess_f."""
    x = np.array([1.0, 2.0])
    report = check_hessian(
        lambda x: float(np.sum(x**2)), lambda x: (2 * np.eye(2)).astype(complex), x
    )
    assert report.verdict == "fail"
    assert report.diagnosis == "structure: hess_f returned dtype complex128 for x, which is real"


# -- the command line, run in-process (so that mutation testing sees the code) ------------------


def _run(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _trained_params(tmp_path, capsys) -> tuple[str, float]:
    """Parameters saved by ``backproof train --out`` and the final cost they reached."""
    code, out, _ = _run(["train", "--out", str(tmp_path / "t"), "--epochs", "3", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    return data["params_file"], data["final_cost"]


def test_params_without_a_saved_spec_are_refused_with_the_reason(capsys, tmp_path):
    path = tmp_path / "bare.npz"
    np.savez(path, W1=np.ones((2, 2)))
    code, out, err = _run(["check", "--params", str(path)], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"backproof: error: --params: {path} holds parameters but no saved spec, so nothing says "
        "which network they belong to (backproof train --out saves both)\n"
    )


def test_a_library_message_about_m_names_the_option(capsys, tmp_path):
    data = tmp_path / "four.csv"
    data.write_text("x1,x2,label\n0.1,0.2,0\n0.3,0.1,1\n0.5,0.9,0\n0.2,0.7,1\n")
    code, _, err = _run(["check", "--data", str(data), "--m", "10"], capsys)
    assert code == 2
    assert err == f"backproof: error: --m must be at most the 4 examples in {data}, got 10\n"


def test_check_at_saved_parameters_starts_from_them(capsys, tmp_path):
    path, final_cost = _trained_params(tmp_path, capsys)
    code, out, _ = _run(["check", "--params", path, "--epochs", "2", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["params_file"] == path
    assert data["training"]["manual"][0] == final_cost  # the cost at the saved parameters
    code, out, _ = _run(["check", "--params", path, "--epochs", "2"], capsys)
    assert code == 0
    assert out.splitlines()[1] == f"parameters: {path}"


@pytest.mark.filterwarnings("error")  # the divergence is the one thing said, no NumPy warnings
def test_check_reports_a_divergence_with_the_learning_rate(capsys):
    code, _, err = _run(["check", "--epochs", "30", "--lr", "1000"], capsys)
    assert code == 2
    assert err.startswith("backproof: error: training diverged at epoch ")
    assert err.endswith("; try a smaller --lr (now 1000)\n")
    code, _, err = _run(["check", "--epochs", "3", "--lr", "1e308"], capsys)  # the cost is NaN
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("backproof: error: training diverged: the cost became nan at epoch ")


def test_train_reports_parameters_that_overflow_as_a_divergence(capsys, tmp_path):
    """Features of 1e10 and lr 1e308 overflow W1 in the first step: the next cost is NaN and
    the command says training diverged (not that W1 is not finite, nor an internal error)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2)) * 1e10
    rows = "".join(f"{a},{b},{int(a > 0)}\n" for a, b in X)
    data = tmp_path / "big.csv"
    data.write_text("x1,x2,label\n" + rows)
    argv = ["train", "--data", str(data), "--activations", "relu,sigmoid", "--lr", "1e308"]
    code, _, err = _run(argv + ["--epochs", "5", "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    last = err.splitlines()[-1]
    assert last.startswith("backproof: error: training diverged at epoch 1: the cost went from ")
    assert last.endswith(" to nan; try a smaller --lr (now 1e+308)")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_train_no_progress_shows_no_bar_even_on_a_terminal(monkeypatch, tmp_path):
    def train(*extra):
        err = _Terminal()
        monkeypatch.setattr(sys, "stderr", err)
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(["train", "--epochs", "3", "--out", str(tmp_path / "o"), *extra])
        monkeypatch.undo()
        return code, err.getvalue()

    code, err = train()
    assert code == 0 and "training:" in err  # on a terminal a bar is shown by default
    code, err = train("--no-progress")
    assert code == 0 and err == ""


def test_mutants_labels_each_network_by_its_activations_in_layer_order(capsys):
    code, out, _ = _run(["mutants"], capsys)
    assert code == 0
    line = next(s for s in out.splitlines() if s.startswith("softmax_ce_without_minus_Y"))
    assert " tanh/softmax ce " in line


def test_mutants_json_gives_each_mutant_its_network_and_examples(capsys):
    code, out, _ = _run(["mutants", "--json"], capsys)
    assert code == 0
    mutants = json.loads(out)["mutants"]
    first = mutants[0]
    assert first["network"]["activations"] == ["sigmoid", "sigmoid", "sigmoid"]
    assert all(isinstance(m["m"], int) and m["m"] > 0 for m in mutants)
    assert {"name", "caught"} <= set(first)


def test_mutants_table_header_and_summary(capsys):
    code, out, _ = _run(["mutants"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "each wrong derivation is checked on its own small network (dims, activations, loss) "
        "with 40 seeded examples:"
    )
    assert lines[-1] == "13 of 13 wrong derivations caught; 13 with a fitting diagnosis"
    code, out, _ = _run(["mutants", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "pass" and data["exit_code"] == 0
    assert set(data) == {"verdict", "exit_code", "mutants"}
    assert {"network", "m"} <= set(data["mutants"][0])


def test_help_names_the_program_its_purpose_groups_and_activations(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: backproof ")
    words = " ".join(out.split())
    assert (
        "Prove a neural network's gradients: the article's hand-derived backprop and a "
        "tape-based autodiff engine, checked against HIPS autograd"
    ) in words
    assert "\ntraining:\n  --epochs EPOCHS" in out and "\noutput:\n  --out OUT" in out
    assert (
        "With no subcommand, backproof runs the default study. Options may come before\n"
        "or after the subcommand.\n\nactivations (--activations):\n  sigmoid: "
    ) in out


def test_mutants_table_shows_a_mutant_that_was_not_caught(capsys, monkeypatch):
    """Were a wrong derivation to slip through, the table says NO / no / - for it, the summary
    counts it, and the exit code is that of a failed check."""
    from backproof.compare import mutants

    real = mutants.run_catalog()
    missed = dataclasses.replace(real[0], caught=False, fitting=False, entry_layer=None)
    monkeypatch.setattr(mutants, "run_catalog", lambda: [missed, *real[1:]])
    code, out, _ = _run(["mutants"], capsys)
    assert code == 3
    row = next(s for s in out.splitlines() if s.startswith(missed.mutant.name + " "))
    assert row.split()[4:7] == ["NO", "no", "-"]
    assert out.splitlines()[-1] == "12 of 13 wrong derivations caught; 12 with a fitting diagnosis"
    assert sum(s.split()[4:6] == ["yes", "yes"] for s in out.splitlines() if " bce " in s) == 11
