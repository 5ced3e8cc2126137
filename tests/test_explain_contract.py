"""explain's contract: the layout of the text and Markdown a student reads, the JSON fields, the
formula shown for each kind of layer, and the command line's defaults and refusals.

The 2-2-2 network of tests/test_explain.py (one example, round parameters) keeps every number
checkable by eye."""

import json

import numpy as np
import pytest
from test_explain import LR, PARAMS, SPEC, X, Y, by_hand

from backproof import network
from backproof.compare import cli, explain
from backproof.compare.explain import format_number

GIVEN = [  # (name = formula, the rows of its value): the inputs, as chosen in test_explain
    ("A0 = X, one example per column", ["[ 1 ]", "[ 2 ]"]),
    ("Y = the targets", ["[ 1 ]", "[ 0 ]"]),
    ("W1", ["[ 0.1  -0.2 ]", "[ 0.3   0.4 ]"]),
    ("b1", ["[ 0   ]", "[ 0.1 ]"]),
    ("W2", ["[ 0.5  -0.5 ]", "[ 1     0.2 ]"]),
    ("b2", ["[  0.1 ]", "[ -0.1 ]"]),
]
LONGEST = len("g′(Z2) = sigmoid′(Z2) = A2 ⊙ (1 − A2)")  # every head is padded to this


@pytest.fixture(scope="module")
def ex():
    return explain.explain(SPEC, PARAMS, X, Y, LR)


def test_the_text_layout(ex):
    lines = explain.format_text(ex).splitlines()
    assert lines[0] == (
        "backproof explain: network 2-2-2 (sigmoid, sigmoid), loss mse, float64, "
        "m = 1 example, lr = 0.5"
    )
    assert lines[1] == ""
    assert lines[2] == "given"
    expected = []
    for head, rows in GIVEN:
        expected.append("  " + head.ljust(LONGEST) + " = " + rows[0])
        expected += ["  " + " " * LONGEST + "   " + row for row in rows[1:]]
    assert lines[3:15] == expected
    titles = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line == ""]
    assert titles[:6] == [
        "given",
        "forward pass",
        "cost",
        "backward pass (manual, hand-derived)",
        "one gradient-descent step, p ← p − 0.5 · dp",
        "after the step",
    ]
    hand = by_hand()
    j_line = next(line for line in lines if line.startswith("  J = "))
    assert j_line.endswith("= " + format_number(hand["J"]))
    after = next(line for line in lines if line.startswith("  J (new parameters)"))
    assert after.endswith("= " + format_number(ex.cost_after.value))
    assert lines[-1] == (
        "check: all 8 gradients above agree with HIPS autograd (relative tolerance 2.2e-12)"
    )
    assert lines[-2] == ""  # mse: no note about the fused output error


def test_a_matrix_is_aligned_on_its_decimal_points_and_a_check_follows_its_first_row(ex):
    lines = explain.format_text(ex).splitlines()
    width = 2 + LONGEST + 1
    i = next(k for k, line in enumerate(lines) if line.startswith("  dW2 = dZ2 A1ᵀ"))
    hand = by_hand()["dW2"]
    first, second = lines[i][width + 2 :], lines[i + 1][width + 2 :]
    assert first == (
        f"[ {format_number(hand[0][0])}  {format_number(hand[0][1])} ]   autograd: agrees"
    )
    assert lines[i + 1][: width + 2].strip() == ""  # the second row under the first
    assert second.startswith(f"[  {format_number(hand[1][0])}   {format_number(hand[1][1])}")
    assert second.endswith(" ]") and "autograd" not in second
    assert first.index(" ]") == second.index(" ]")  # one column width for both rows


def test_the_slope_of_each_activation_is_shown_before_its_product(ex):
    lines = [line.strip() for line in explain.format_text(ex).splitlines()]
    backward = lines[lines.index("backward pass (manual, hand-derived)") + 1 :]
    names = [line.split(" = ")[0] for line in backward if " = " in line and "[" in line]
    assert names[:7] == ["dA2", "g′(Z2)", "dZ2", "dW2", "db2", "dA1", "g′(Z1)"]
    slope = next(s for s in ex.backward if s.name == "g′(Z2)")
    assert slope.formula == "sigmoid′(Z2) = A2 ⊙ (1 − A2)" and slope.reference is None
    A2 = next(s for s in ex.forward if s.name == "A2").value
    np.testing.assert_allclose(slope.value, A2 * (1 - A2), rtol=1e-15)


def test_the_markdown_layout(ex):
    lines = explain.format_markdown(ex).splitlines()
    assert lines[0] == (
        "**network 2-2-2 (sigmoid, sigmoid), loss mse, float64, m = 1 example, lr = 0.5**"
    )
    assert [line for line in lines if line.startswith("### ")] == [
        "### Given",
        "### Forward pass",
        "### Cost",
        "### Backward pass",
        "### One step, p ← p − 0.5 · dp",
    ]
    start = lines.index("### Given")
    assert lines[start : start + 6] == [
        "### Given",
        "",
        "| quantity | formula | value |",
        "|---|---|---|",
        "| `A0` | X, one example per column | [1]<br>[2] |",
        "| `Y` | the targets | [1]<br>[0] |",
    ]
    assert "| `W1` | given | [0.1, -0.2]<br>[0.3, 0.4] |" in lines
    assert (
        "| `J (new parameters)` | the same cost after one step | "
        + format_number(ex.cost_after.value)
        + " |"
        in lines
    )
    backward = lines.index("### Backward pass")
    assert lines[backward + 2 : backward + 4] == [
        "| quantity | formula | value | autograd |",
        "|---|---|---|---|",
    ]
    slope = next(line for line in lines if line.startswith("| `g′(Z2)` |"))
    assert slope.endswith("] | |")  # no reference: an empty autograd cell
    assert lines[-1] == (
        "Check: all 8 gradients above agree with HIPS autograd (relative tolerance 2.2e-12)"
    )


def test_a_disagreement_in_markdown(monkeypatch):
    from backproof import manual

    monkeypatch.setattr(manual, "output_delta", lambda spec, A, Y_: (Y_ - A) / Y_.shape[1])
    spec = network.NetworkSpec([2, 2, 1])
    wrong = explain.explain(spec, network.init_params(spec), X, np.array([[1.0]]), LR)
    lines = explain.format_markdown(wrong).splitlines()
    assert next(line for line in lines if line.startswith("| `dZ2` |")).endswith(" DISAGREES |")
    assert lines[-1].startswith("Check: DISAGREEMENT with HIPS autograd in dZ2, dW2, db2, dA1")
    assert lines[-1].endswith(" (of 7 gradients)")
    assert lines[-2].startswith("Note: dZ2 = (A2 − Y)/m is the product dA2 ⊙ g′(Z2)")


def test_the_json_fields(ex):
    d = json.loads(json.dumps(ex.to_dict()))
    assert list(d) == [
        "spec",
        "m",
        "lr",
        "inputs",
        "forward",
        "cost",
        "backward",
        "update",
        "cost_after_step",
        "check",
        "notes",
    ]
    assert d["spec"] == {
        "layer_dims": [2, 2, 2],
        "activations": ["sigmoid", "sigmoid"],
        "loss": "mse",
        "init": "article",
        "seed": 3,
        "dtype": "float64",
    }
    assert d["m"] == 1 and d["lr"] == 0.5 and d["notes"] == []
    assert d["check"] == {
        "against": "HIPS autograd",
        "relative_tolerance": 1e4 * float(np.finfo(np.float64).eps),
        "gradients_checked": 8,
        "all_agree": True,
    }
    assert [s["name"] for s in d["inputs"]] == ["A0", "Y", "W1", "b1", "W2", "b2"]
    assert d["inputs"][2] == {"name": "W1", "formula": "", "value": PARAMS["W1"].tolist()}
    assert [s["name"] for s in d["forward"]] == ["Z1", "A1", "Z2", "A2"]
    assert [s["name"] for s in d["update"]] == ["W1", "b1", "W2", "b2"]
    assert d["update"][0]["formula"] == "W1 − 0.5 · dW1"
    assert d["cost_after_step"]["name"] == "J (new parameters)"
    dw1 = next(s for s in d["backward"] if s["name"] == "dW1")
    assert list(dw1) == ["name", "formula", "value", "autograd", "max_abs_difference", "agrees"]
    difference = np.max(np.abs(np.array(dw1["value"]) - np.array(dw1["autograd"])))
    assert dw1["max_abs_difference"] == difference and dw1["agrees"] is True
    slope = next(s for s in d["backward"] if s["name"] == "g′(Z1)")
    assert list(slope) == ["name", "formula", "value"]


def test_the_update_is_one_step_of_lr():
    ex = explain.explain(SPEC, PARAMS, X, Y, 0.125)
    grads = {s.name: s.value for s in ex.backward}
    for step in ex.update:
        np.testing.assert_allclose(step.value, PARAMS[step.name] - 0.125 * grads[f"d{step.name}"])
        assert step.formula == f"{step.name} − 0.125 · d{step.name}"
    assert ex.lr == 0.125
    assert ex.cost_after.value == pytest.approx(
        network.cost(SPEC, {s.name: s.value for s in ex.update}, X, Y), rel=1e-15
    )
    assert ex.cost_after.value < ex.cost.value


# -- the formula each kind of layer gets -----------------------------------------------------
def _lines(spec, Y_, lr=0.25):
    params = network.init_params(spec)
    ex = explain.explain(spec, params, np.array([[1.0], [0.5]]), Y_, lr)
    assert ex.ok
    return ex, [line.strip() for line in explain.format_text(ex).splitlines()]


def test_a_softmax_output_under_mse_gets_its_column_formula():
    spec = network.NetworkSpec([2, 2, 2], ("gelu", "softmax"), loss="mse", init="xavier")
    ex, lines = _lines(spec, np.array([[1.0], [0.0]]))
    assert any(
        line.startswith("dZ2 = A2 ⊙ (dA2 − Σ_i dA2 ⊙ A2), column by column") for line in lines
    )
    assert not any(line.startswith("g′(Z2)") for line in lines)  # softmax is not elementwise
    assert any(line.startswith("g′(Z1) = gelu′(Z1) (docs/derivations.md)") for line in lines)
    assert any(line.startswith("dZ1 = dA1 ⊙ g′(Z1)") for line in lines)


def test_an_activation_outside_a_first_course_quotes_its_registry_entry():
    spec = network.NetworkSpec([2, 2, 1], ("softplus", "sigmoid"), init="xavier")
    ex, lines = _lines(spec, np.array([[1.0]]))
    assert any(
        line.startswith("g′(Z1) = softplus′(Z1) = sigmoid(z) = 1 - e^-a (z = Z1, a = A1)")
        for line in lines
    )
    assert ex.notes == [
        "dZ2 = (A2 − Y)/m is the product dA2 ⊙ g′(Z2) with the divisions by A and 1 − A "
        "cancelled (docs/derivations.md); the cost is computed from the logits Z2."
    ]
    assert any(line.startswith("J = −(1/m) Σ [Y log A2 + (1 − Y) log(1 − A2)]") for line in lines)
    assert any(line.startswith("dZ2 = (A2 − Y) / m") for line in lines)


@pytest.mark.parametrize(
    "activation, text",
    [
        ("tanh", "tanh′(Z1) = 1 − A1²"),
        ("relu", "relu′(Z1) = [Z1 > 0]"),
        ("linear", "linear′(Z1) = 1"),
    ],
)
def test_the_first_course_activations_are_written_out(activation, text):
    spec = network.NetworkSpec([2, 2, 3], (activation, "softmax"), loss="ce", init="xavier")
    ex, lines = _lines(spec, network.targets(spec, np.array([[2]])))
    assert any(line.startswith(f"g′(Z1) = {text}") for line in lines)
    assert any(line.startswith("J = −(1/m) Σ Y log A2") for line in lines)
    assert len(ex.notes) == 1


def test_a_float32_explanation_uses_float32_tolerances():
    spec = network.NetworkSpec([2, 2, 2], loss="mse", dtype="float32")
    p32 = {k: v.astype(np.float32) for k, v in PARAMS.items()}
    ex = explain.explain(spec, p32, X.astype(np.float32), Y.astype(np.float32), LR)
    assert ex.tolerance == 1e4 * float(np.finfo(np.float32).eps)
    assert all(s.reference.dtype == np.float32 for s in ex.gradients)
    assert ex.to_dict()["spec"]["dtype"] == "float32"
    assert "float32, m = 1 example" in explain.format_text(ex).splitlines()[0]


def test_agreement_is_relative_to_the_largest_reference_entry():
    ref = np.array([[1.0, 1e-3]])
    tolerance = 1e-6
    assert explain._agree(ref + [[0.0, 1e-6]], ref, tolerance)  # 1e-6 of the largest entry
    assert not explain._agree(ref + [[0.0, 1.01e-6]], ref, tolerance)
    zero = np.zeros((1, 2))
    assert explain._agree(zero, zero, tolerance)
    assert not explain._agree(zero + 1e-300, zero, tolerance)


# -- the command line ------------------------------------------------------------------------
def run(capsys, *argv):
    code = cli.main(["explain", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_defaults(capsys):
    code, out, err = run(capsys, "--json")
    assert code == 0 and err == ""
    d = json.loads(out)
    assert d["spec"] == {
        "layer_dims": [2, 2, 1],
        "activations": ["sigmoid", "sigmoid"],
        "loss": "bce",
        "init": "article",
        "seed": 3,
        "dtype": "float64",
    }
    assert d["m"] == 1 and d["lr"] == 0.5
    X_, y = network.load_data("moons", seed=0)
    assert d["inputs"][0]["value"] == X_[:, :1].tolist()


def test_the_command_options_reach_the_calculation(capsys):
    code, out, _ = run(
        capsys,
        "--json",
        "--data", "spiral", "--data-seed", 2, "--m", 3, "--loss", "ce", "--dims", "2,4,3",
        "--activations", "tanh,softmax", "--init", "xavier", "--seed", 7, "--dtype", "float32",
        "--lr", 0.1,
    )  # fmt: skip
    assert code == 0
    d = json.loads(out)
    assert d["spec"] == {
        "layer_dims": [2, 4, 3],
        "activations": ["tanh", "softmax"],
        "loss": "ce",
        "init": "xavier",
        "seed": 7,
        "dtype": "float32",
    }
    assert d["m"] == 3 and d["lr"] == 0.1
    X_, _ = network.load_data("spiral", seed=2)
    np.testing.assert_allclose(d["inputs"][0]["value"], X_[:, :3], rtol=1e-7)
    spec = network.NetworkSpec([2, 4, 3], ["tanh", "softmax"], "ce", "xavier", 7, "float32")
    np.testing.assert_allclose(d["inputs"][2]["value"], network.init_params(spec)["W1"])


def test_ce_on_a_built_in_set_gets_one_output_per_class(capsys):
    code, out, _ = run(capsys, "--json", "--data", "blobs", "--loss", "ce")
    d = json.loads(out)
    _, y = network.load_data("blobs", seed=0)
    assert code == 0 and d["spec"]["layer_dims"] == [2, 2, int(np.max(y)) + 1]
    code, out, _ = run(capsys, "--json", "--loss", "ce")  # two classes: two outputs
    assert json.loads(out)["spec"]["layer_dims"] == [2, 2, 2]


def test_text_is_the_default_format(capsys):
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("backproof explain: network 2-2-1")
    code, text, _ = run(capsys, "--format", "text")
    assert text == out


def test_m_may_be_every_example_and_no_more(capsys):
    X_, _ = network.load_data("moons", seed=0)
    n = X_.shape[1]
    code, out, _ = run(capsys, "--json", "--m", n)
    assert code == 0 and json.loads(out)["m"] == n
    code, _, err = run(capsys, "--m", n + 1)
    assert code == 2
    assert err == f"backproof: error: --m must be at most {n} for moons, got {n + 1}\n"


def test_dims_that_do_not_fit_the_data_are_named(capsys):
    code, _, err = run(capsys, "--dims", "3,2,1")
    assert code == 2
    assert err == (
        "backproof: error: --dims must start with the number of features in the data "
        "(2 for moons), got 3\n"
    )


# -- saved networks --------------------------------------------------------------------------
def test_bare_arrays_get_their_sizes_from_the_weights_and_the_rest_from_the_options(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, **PARAMS)
    spec, params = explain.saved_network(path, {})
    assert spec == network.NetworkSpec([2, 2, 2])  # bce, article, seed 3, float64
    assert all(np.array_equal(params[k], PARAMS[k]) for k in PARAMS)
    chosen = {"activations": ["tanh", "sigmoid"], "loss": "mse", "init": "xavier", "seed": 1}
    spec, _ = explain.saved_network(path, {**chosen, "dtype": None, "layer_dims": [2, 2, 2]})
    assert spec == network.NetworkSpec([2, 2, 2], ["tanh", "sigmoid"], "mse", "xavier", 1)
    with pytest.raises(TypeError, match="W1 must have dtype float32"):
        explain.saved_network(path, {"dtype": "float32"})  # float64 arrays, float32 asked for


def test_a_saved_spec_must_agree_with_the_options(tmp_path):
    spec = network.NetworkSpec([2, 3, 1], ("tanh", "sigmoid"), dtype="float32")
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    same = {"layer_dims": [2, 3, 1], "activations": ("tanh", "sigmoid"), "dtype": "float32"}
    assert explain.saved_network(path, {**same, "loss": None})[0] == spec
    with pytest.raises(ValueError) as info:
        explain.saved_network(path, {"dtype": "float64"})
    assert str(info.value) == (
        f"params: {path} was saved for dtype float32, which differs from the float64 asked for"
    )
    with pytest.raises(ValueError) as info:
        explain.saved_network(path, {"layer_dims": [2, 4, 1]})
    assert str(info.value) == (
        f"params: {path} was saved for layer_dims (2, 3, 1), which differs from the (2, 4, 1) "
        "asked for"
    )


@pytest.mark.parametrize(
    "arrays, words",
    [
        ({"b1": np.zeros((2, 1))}, "holds no 2-D array 'W1' (arrays: ['b1'])"),
        ({"W1": np.zeros(2), "b1": np.zeros((2, 1))}, "holds no 2-D array 'W1'"),
        ({"W1": np.zeros((2, 2))}, "has W1 but no b1"),
        (
            {
                "W1": np.zeros((2, 2)),
                "b1": np.zeros((2, 1)),
                "W2": np.zeros((1, 3)),
                "b2": np.zeros((1, 1)),
            },
            "W2 (1, 3) and b2 (1, 1) do not continue a network whose layer 1 has 2 units",
        ),
        (
            {"W1": np.zeros((2, 2)), "b1": np.zeros((2,))},
            "W1 (2, 2) and b1 (2,) do not continue a network whose layer 0 has 2 units",
        ),
    ],
)
def test_bare_arrays_that_are_no_network_are_named(tmp_path, arrays, words):
    path = tmp_path / "p.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as info:
        explain.saved_network(path, {})
    assert str(info.value).startswith("params: ") and words in str(info.value)


def test_unreadable_params_are_named(tmp_path):
    with pytest.raises(TypeError) as info:
        explain.saved_network(3, {})
    assert str(info.value) == "params must be a path to a .npz file, got int"
    with pytest.raises(ValueError) as info:
        explain.saved_network(tmp_path / "none.npz", {})
    assert str(info.value) == f"params: no such file {str(tmp_path / 'none.npz')!r}"
    bad = tmp_path / "bad.npz"
    bad.write_text("not an archive")
    with pytest.raises(ValueError) as info:
        explain.saved_network(bad, {})
    assert str(info.value).startswith(f"params: cannot read {str(bad)!r} as .npz: ")


def test_saved_params_name_themselves_when_they_do_not_fit_the_data(tmp_path, capsys):
    path = tmp_path / "p.npz"
    np.savez(
        path, W1=np.zeros((2, 3)), b1=np.zeros((2, 1)), W2=np.zeros((1, 2)), b2=np.zeros((1, 1))
    )
    code, _, err = run(capsys, "--params", path)
    assert code == 2
    assert err == (
        f"backproof: error: --params {path} must start with the number of features in the data "
        "(2 for moons), got 3\n"
    )
