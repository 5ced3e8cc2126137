"""``backproof explain``: the hand calculation it prints, checked against one done by hand here."""

import json
import math
import re

import numpy as np
import pytest
from conftest import PAIRINGS, make_problem, pairing_id

from backproof import manual, network
from backproof.compare import cli, explain
from backproof.compare.explain import Explanation, format_number


def sig(z):
    return 1 / (1 + math.exp(-z))


# A 2-2-2 sigmoid network, squared error, one example (m = 1), with round parameters.
X = np.array([[1.0], [2.0]])
Y = np.array([[1.0], [0.0]])
PARAMS = {
    "W1": np.array([[0.1, -0.2], [0.3, 0.4]]),
    "b1": np.array([[0.0], [0.1]]),
    "W2": np.array([[0.5, -0.5], [1.0, 0.2]]),
    "b2": np.array([[0.1], [-0.1]]),
}
SPEC = network.NetworkSpec([2, 2, 2], loss="mse")
LR = 0.5


def by_hand() -> dict:
    """The same calculation entry by entry, with scalars only (no matrix code)."""
    z11 = 0.1 * 1.0 + -0.2 * 2.0 + 0.0  # -0.3
    z12 = 0.3 * 1.0 + 0.4 * 2.0 + 0.1  # 1.2
    a11, a12 = sig(z11), sig(z12)
    z21 = 0.5 * a11 + -0.5 * a12 + 0.1
    z22 = 1.0 * a11 + 0.2 * a12 - 0.1
    a21, a22 = sig(z21), sig(z22)
    J = ((a21 - 1.0) ** 2 + (a22 - 0.0) ** 2) / (2 * 1)
    dA21, dA22 = (a21 - 1.0) / 1, (a22 - 0.0) / 1
    dZ21, dZ22 = dA21 * a21 * (1 - a21), dA22 * a22 * (1 - a22)
    dA11 = 0.5 * dZ21 + 1.0 * dZ22  # column 1 of W2, transposed
    dA12 = -0.5 * dZ21 + 0.2 * dZ22
    dZ11, dZ12 = dA11 * a11 * (1 - a11), dA12 * a12 * (1 - a12)
    return {
        "Z1": [[z11], [z12]],
        "A1": [[a11], [a12]],
        "Z2": [[z21], [z22]],
        "A2": [[a21], [a22]],
        "J": J,
        "dA2": [[dA21], [dA22]],
        "dZ2": [[dZ21], [dZ22]],
        "dW2": [[dZ21 * a11, dZ21 * a12], [dZ22 * a11, dZ22 * a12]],
        "db2": [[dZ21], [dZ22]],
        "dA1": [[dA11], [dA12]],
        "dZ1": [[dZ11], [dZ12]],
        "dW1": [[dZ11 * 1.0, dZ11 * 2.0], [dZ12 * 1.0, dZ12 * 2.0]],
        "db1": [[dZ11], [dZ12]],
        "W2 new": [
            [0.5 - LR * dZ21 * a11, -0.5 - LR * dZ21 * a12],
            [1.0 - LR * dZ22 * a11, 0.2 - LR * dZ22 * a12],
        ],
        "b1 new": [[0.0 - LR * dZ11], [0.1 - LR * dZ12]],
    }


def steps_by_name(ex: Explanation) -> dict:
    return {s.name: s for s in ex.forward + ex.backward + [ex.cost]}


def test_every_number_matches_the_calculation_by_hand():
    ex = explain.explain(SPEC, PARAMS, X, Y, LR)
    hand = by_hand()
    got = steps_by_name(ex)
    for name in ("Z1", "A1", "Z2", "A2", "J", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1"):
        np.testing.assert_allclose(got[name].value, hand[name], rtol=1e-13, err_msg=name)
    np.testing.assert_allclose(got["db1"].value, hand["db1"], rtol=1e-13)
    new = {s.name: s.value for s in ex.update}
    np.testing.assert_allclose(new["W2"], hand["W2 new"], rtol=1e-13)
    np.testing.assert_allclose(new["b1"], hand["b1 new"], rtol=1e-13)
    assert ex.ok and all(s.agrees for s in ex.gradients)
    assert [s.name for s in ex.gradients] == [
        "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1",
    ]  # fmt: skip


def test_the_text_shows_each_formula_with_its_numbers_to_nine_digits():
    hand = by_hand()
    text = explain.format_text(explain.explain(SPEC, PARAMS, X, Y, LR))
    lines = text.splitlines()

    def line_of(start):
        return next(line for line in lines if line.strip().startswith(start))

    assert format_number(hand["dZ2"][0][0]) in line_of("dZ2 = dA2 ⊙ g′(Z2)")
    assert format_number(hand["dW1"][0][1]) in line_of("dW1 = dZ1 A0ᵀ")
    assert format_number(hand["J"]) in line_of("J = (1/(2m)) Σ (A2 − Y)²")
    assert "dA1 = W2ᵀ dZ2" in text and "A2 ⊙ (1 − A2)" in text
    assert line_of("dW1 = dZ1 A0ᵀ").endswith("autograd: agrees")
    assert "all 8 gradients above agree with HIPS autograd" in lines[-1]
    numbers = "\n".join(lines[:-1])  # the last line states the tolerance
    assert not re.search(r"\d[eE][-+]?\d", numbers)  # plain decimals, never scientific notation


@pytest.mark.parametrize(
    "x, text",
    [
        (1 / 3, "0.333333333"),
        (-2 / 3, "-0.666666667"),
        (1e-7 / 3, "0.0000000333333333"),
        (123456789012.0, "123456789000"),
        (0.5, "0.5"),
        (-0.0, "0"),
    ],
)
def test_format_number_gives_nine_significant_digits_in_plain_decimals(x, text):
    assert format_number(x) == text


def test_the_one_over_m_enters_once_at_the_output():
    X2 = np.array([[1.0, -1.0], [2.0, 0.5]])
    Y2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    ex = explain.explain(SPEC, PARAMS, X2, Y2, LR)
    got = steps_by_name(ex)
    A2 = got["A2"].value
    np.testing.assert_allclose(got["dA2"].value, (A2 - Y2) / 2, rtol=1e-15)
    _, grads = manual.loss_and_grads(SPEC, PARAMS, X2, Y2)
    for key in grads:
        np.testing.assert_allclose(got[f"d{key}"].value, grads[key], rtol=1e-14)
    assert ex.ok


def test_a_wrong_hand_derivation_is_caught_and_named(monkeypatch):
    right = manual.activation_backward

    def s_times_1_plus_s(name, dA, A, **kw):  # the classic slip: sigma' = s(1 + s)
        return dA * A * (1 + A) if name == "sigmoid" else right(name, dA, A, **kw)

    monkeypatch.setattr(manual, "activation_backward", s_times_1_plus_s)
    ex = explain.explain(SPEC, PARAMS, X, Y, LR)
    assert not ex.ok
    bad = {s.name for s in ex.gradients if not s.agrees}
    assert bad == {"dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}  # dA2 is still right
    text = explain.format_text(ex)
    assert "DISAGREEMENT with HIPS autograd in dZ2" in text
    assert "dZ2 = dA2 ⊙ g′(Z2)" in text and "autograd: DISAGREES" in text


def test_a_wrong_output_error_is_caught(monkeypatch):
    monkeypatch.setattr(manual, "output_delta", lambda spec, A, Y: (Y - A) / Y.shape[1])
    spec = network.NetworkSpec([2, 2, 1])
    params = network.init_params(spec)
    ex = explain.explain(spec, params, X, np.array([[1.0]]), LR)
    assert not ex.ok and not steps_by_name(ex)["dZ2"].agrees


@pytest.mark.parametrize("pairing", PAIRINGS, ids=pairing_id)
def test_every_pairing_agrees_with_autograd(pairing):
    spec, params, X_, Y_ = make_problem(*pairing, m=3)
    ex = explain.explain(spec, params, X_, Y_, 0.1)
    assert ex.ok, [s.name for s in ex.gradients if not s.agrees]
    _, grads = manual.loss_and_grads(spec, params, X_, Y_)
    got = steps_by_name(ex)
    for key in grads:
        np.testing.assert_allclose(got[f"d{key}"].value, grads[key], rtol=1e-12, atol=1e-300)


def test_float32_end_to_end():
    spec = network.NetworkSpec([2, 2, 2], loss="mse", dtype="float32")
    p32 = {k: v.astype(np.float32) for k, v in PARAMS.items()}
    ex = explain.explain(spec, p32, X.astype(np.float32), Y.astype(np.float32), LR)
    assert ex.ok and ex.tolerance > 1e-4
    assert all(s.value.dtype == np.float32 for s in ex.backward + ex.update)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="lr"):
        explain.explain(SPEC, PARAMS, X, Y, -1.0)
    with pytest.raises(TypeError, match="spec"):
        explain.explain("2-2-2", PARAMS, X, Y)
    with pytest.raises(ValueError, match="W2"):
        explain.explain(SPEC, {**PARAMS, "W2": np.ones((3, 3))}, X, Y)


# -- the command line ---------------------------------------------------------------------------
def run(argv, capsys):
    """``backproof explain ARGS``: (exit code, stdout, stderr)."""
    code = cli.main(["explain", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_text_on_a_saved_network(tmp_path, capsys):
    np.savez(tmp_path / "p.npz", **PARAMS)
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    args = ["--params", str(tmp_path / "p.npz"), "--data", str(tmp_path / "d.npz"), "--loss", "mse"]
    code, out, err = run([*args, "--lr", "0.5"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("backproof explain: network 2-2-2 (sigmoid, sigmoid), loss mse")
    assert format_number(by_hand()["dW2"][1][0]) in out


def test_cli_json_gives_the_same_numbers(tmp_path, capsys):
    np.savez(tmp_path / "p.npz", **PARAMS)
    np.savez(tmp_path / "d.npz", X=X, Y=Y)
    args = ["--params", str(tmp_path / "p.npz"), "--data", str(tmp_path / "d.npz")]
    code, out, _ = run([*args, "--loss", "mse", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["check"]["all_agree"] is True
    hand = by_hand()
    backward = {s["name"]: s for s in data["backward"]}
    np.testing.assert_allclose(backward["dW1"]["value"], hand["dW1"], rtol=1e-13)
    np.testing.assert_allclose(backward["dW1"]["autograd"], hand["dW1"], rtol=1e-12)
    assert data["cost"]["value"] == pytest.approx(hand["J"], rel=1e-13)
    assert data["m"] == 1 and data["spec"]["layer_dims"] == [2, 2, 2]


def test_cli_markdown_gives_tables(capsys):
    code, out, _ = run(["--m", "2", "--format", "markdown"], capsys)
    assert code == 0
    assert "| quantity | formula | value | autograd |" in out
    row = next(line for line in out.splitlines() if line.startswith("| `dW1` |"))
    assert row.endswith("| agrees |") and "<br>" in row
    assert "m = 2 examples" in out


@pytest.mark.parametrize(
    "args, words",
    [
        (["--params", "nowhere.npz"], "params: no such file"),
        (["--m", "100000"], "--m must be at most"),
        (["--dims", "3,2,1"], "--dims must start with the number of features"),
        (["--lr", "-1"], "expected a positive"),
        (["--format", "pdf"], "invalid choice"),
    ],
)
def test_cli_bad_usage_exits_2_with_one_line(args, words, capsys):
    code, out, err = run(args, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err


def test_cli_params_that_do_not_fit_the_dims(tmp_path, capsys):
    np.savez(tmp_path / "p.npz", **PARAMS)
    code, _, err = run(["--params", str(tmp_path / "p.npz"), "--dims", "2,3,2"], capsys)
    assert code == 2 and "holds a [2, 2, 2] network" in err
    np.savez(tmp_path / "q.npz", W1=PARAMS["W1"], b1=PARAMS["b1"], W2=np.ones((2, 3)))
    code, _, err = run(["--params", str(tmp_path / "q.npz")], capsys)
    assert code == 2 and "W2" in err


def test_cli_exits_3_when_a_gradient_disagrees(monkeypatch, capsys):
    monkeypatch.setattr(manual, "output_delta", lambda spec, A, Y: (Y - A) / Y.shape[1])
    code, out, _ = run([], capsys)
    assert code == 3 and "DISAGREEMENT" in out


def test_cli_reads_a_network_saved_by_train(tmp_path, capsys):
    spec = network.NetworkSpec([2, 3, 1], ("tanh", "sigmoid"), init="xavier")
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    code, out, _ = run(["--params", str(path), "--m", "2"], capsys)
    assert code == 0 and "network 2-3-1 (tanh, sigmoid), loss bce" in out
    assert "tanh′(Z1) = 1 − A1²" in out
    code, _, err = run(["--params", str(path), "--loss", "mse"], capsys)
    assert code == 2 and "was saved for loss bce, which differs from the mse asked for" in err
