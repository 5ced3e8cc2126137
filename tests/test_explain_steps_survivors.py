"""explain's calculation as a reader meets it: the formula written beside every step, the
default step size, the agreement verdict of float32 gradients too small to be normal numbers,
nine significant digits for every number, the blank lines Markdown needs, the JSON's floats,
the file named in a refusal of --params, and one output per class for --loss ce.

Each test kills a family of mutmut survivors of compare/explain.py (docs/mutation_kexpf.md)."""

import json

import numpy as np
import pytest

from backproof import manual, network
from backproof.compare import cli, explain
from backproof.compare.explain import Step, format_number

# A 2-3-1 network, tanh then linear, squared error, two examples: every kind of formula explain
# writes for an mse network, and a first layer whose activation differs from the last one's.
SPEC = network.NetworkSpec([2, 3, 1], ("tanh", "linear"), "mse", init="xavier", seed=1)
PARAMS = network.init_params(SPEC)
X = np.array([[0.5, -1.0], [2.0, 0.25]])
Y = np.array([[1.0, -0.5]])


def run(capsys, *argv):
    """``backproof explain <argv>`` in process: the exit code, stdout and stderr."""
    code = cli.main(["explain", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the formulas ----------------------------------------------------------------------------------
def test_every_step_is_written_with_its_formula():
    """The forward pass reads Z_l = W_l A_{l-1} + b_l and A_l = g_l(Z_l) with layer l's own g;
    the mse output error is (A_L − Y)/m and each db_l a sum over the columns of dZ_l."""
    ex = explain.explain(SPEC, PARAMS, X, Y, 0.25)
    assert [(s.name, s.formula) for s in ex.forward] == [
        ("Z1", "W1 A0 + b1"),
        ("A1", "tanh(Z1)"),
        ("Z2", "W2 A1 + b2"),
        ("A2", "linear(Z2)"),
    ]
    backward = {s.name: s.formula for s in ex.backward}
    assert backward["dA2"] == "(A2 − Y) / m"
    assert backward["db2"] == "Σ over the columns of dZ2"
    assert backward["db1"] == "Σ over the columns of dZ1"
    text = explain.format_text(ex).splitlines()
    for head in ("Z1 = W1 A0 + b1", "A1 = tanh(Z1)", "Z2 = W2 A1 + b2", "dA2 = (A2 − Y) / m"):
        assert any(line.startswith("  " + head + " ") for line in text), head


def test_the_cost_after_the_step_has_no_formula_of_its_own():
    """J after the step is the same cost at the new parameters: an empty formula in the JSON
    (a string, as every formula is), the name alone in the text, 'the same cost ...' in
    Markdown."""
    ex = explain.explain(SPEC, PARAMS, X, Y, 0.25)
    d = ex.to_dict()
    assert d["cost_after_step"]["formula"] == ""
    derived = d["forward"] + [d["cost"]] + d["backward"] + d["update"]
    assert all(isinstance(s["formula"], str) for s in d["inputs"] + [d["cost_after_step"]])
    assert all(isinstance(s["formula"], str) and s["formula"] for s in derived)
    number = format_number(ex.cost_after.value)
    text = explain.format_text(ex).splitlines()
    after = text[text.index("after the step") + 1]
    assert after.startswith("  J (new parameters) ") and after.endswith(" = " + number)
    assert set(after[len("  J (new parameters)") : -len(" = " + number)]) <= {" "}
    row = f"| `J (new parameters)` | the same cost after one step | {number} |"
    assert row in explain.format_markdown(ex).splitlines()


# -- the step size ---------------------------------------------------------------------------------
def test_the_step_size_defaults_to_one_half():
    ex = explain.explain(SPEC, PARAMS, X, Y)
    assert ex.lr == 0.5
    grads = {s.name: s.value for s in ex.backward}
    for s in ex.update:
        assert s.formula == f"{s.name} − 0.5 · d{s.name}"
        np.testing.assert_array_equal(s.value, PARAMS[s.name] - 0.5 * grads[f"d{s.name}"])


@pytest.mark.parametrize(
    "lr, error, message",
    [
        (-1.0, ValueError, "lr must be a positive finite number, got -1.0"),
        (0.0, ValueError, "lr must be a positive finite number, got 0.0"),
        ("0.5", TypeError, "lr must be a positive finite number, got str"),
    ],
)
def test_a_bad_step_size_is_named(lr, error, message):
    with pytest.raises(error) as info:
        explain.explain(SPEC, PARAMS, X, Y, lr)
    assert str(info.value).startswith(message)


# -- float32 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", ["tanh", "relu", "leaky_relu"])
def test_float32_references_are_float32(hidden):
    """autograd's dA_l and dZ_l are given in the spec's dtype, like the hand-derived values
    (autograd itself returns float64 for some of them when the hidden layer is relu's kind)."""
    spec = network.NetworkSpec([2, 3, 1], (hidden, "linear"), "mse", dtype="float32")
    ex = explain.explain(spec, network.init_params(spec), X, Y, 0.25)
    assert {s.name for s in ex.gradients} >= {"dA2", "dZ2", "dA1", "dZ1"}
    for s in ex.gradients:
        assert s.value.dtype == np.float32 and s.reference.dtype == np.float32, s.name


def test_float32_gradients_below_the_normal_range_agree_to_a_floor(monkeypatch):
    """Gradients of a few hundred float32 subnormal units, where hand and autograd round 1/m
    differently by one unit: the scale of the comparison has float32's smallest normal number
    as its floor, so a few units (10^-45 each) are within the tolerance, 1e4 eps · tiny ≈
    1.4e-41, and the verdict is "agrees"; a hand db off by 1e-40 more still disagrees.

    One linear layer with zero weights and bias, m = 3, targets −302 units: the hand gives
    dA = (A − Y) · fl(1/3) = 101 units, autograd 2 · fl((A − Y) · fl(1/6)) = 2 · 50 units,
    and db = 303 units against 300."""
    spec = network.NetworkSpec([1, 1], ("linear",), "mse", dtype="float32")
    params = {"W1": np.zeros((1, 1), np.float32), "b1": np.zeros((1, 1), np.float32)}
    unit = np.float32(np.finfo(np.float32).smallest_subnormal)
    X_, Y_ = np.zeros((1, 3), np.float32), np.full((1, 3), -302 * unit, np.float32)
    ex = explain.explain(spec, params, X_, Y_, 0.25)
    db1 = {s.name: s for s in ex.gradients}["db1"]
    assert (db1.value / unit).tolist() == [[303.0]] and (db1.reference / unit).tolist() == [[300.0]]
    assert float(np.max(np.abs(db1.reference))) < float(np.finfo(np.float32).tiny)
    assert ex.ok and all(s.agrees for s in ex.gradients)

    original = manual.linear_backward

    def db_off_by_1e_40(dZ, cache):
        dA, dW, db = original(dZ, cache)
        return dA, dW, db + np.float32(1e-40)

    monkeypatch.setattr(manual, "linear_backward", db_off_by_1e_40)
    ex = explain.explain(spec, params, X_, Y_, 0.25)
    assert [s.name for s in ex.gradients if not s.agrees] == ["db1"] and not ex.ok


# -- presentation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x, digits",
    [
        (5e-324, "494065646"),  # the smallest subnormal double, 4.94065646e-324
        (1e-310, "1"),  # 9.99999999999999969e-311 rounds up to 1.00000000e-310
        (0.1, "1"),
    ],
)
def test_format_number_rounds_the_exact_value_to_nine_digits(x, digits):
    """Nine significant digits of the number itself, not of its shortest repr (which for a
    subnormal double may have only one digit)."""
    text = format_number(x)
    assert text.startswith("0.") and text.lstrip("0.") == digits


def test_markdown_sections_and_notes_are_set_off_by_blank_lines():
    """A heading, a table and the notes each need an empty line before them in Markdown."""
    bce = network.NetworkSpec([2, 2, 1])
    lines = explain.format_markdown(
        explain.explain(bce, network.init_params(bce), X, np.array([[1.0, 0.0]]))
    ).splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("### ")]
    assert len(headings) == 5
    for i in headings:
        assert lines[i - 1] == "" and lines[i + 1] == "", lines[i]
    note = next(i for i, line in enumerate(lines) if line.startswith("Note: "))
    assert lines[note - 1] == "" and lines[note - 2].startswith("| `b2` |")
    assert [line for line in lines if not line.strip()] == [""] * 11


def test_step_values_are_floats_in_the_json():
    """to_dict gives every value as floats, whatever the array's dtype (integer targets too)."""
    d = Step("Y", "the targets", np.array([[1, 0, 1]]), np.array([[1, 1, 1]]), False).to_dict()
    assert d["value"] == [[1.0, 0.0, 1.0]] and d["autograd"] == [[1.0, 1.0, 1.0]]
    assert all(type(v) is float for v in d["value"][0] + d["autograd"][0])
    assert json.dumps(d["value"]) == "[[1.0, 0.0, 1.0]]"


# -- the command line ------------------------------------------------------------------------------
def test_bare_arrays_without_a_first_layer_name_the_file(tmp_path):
    path = tmp_path / "weights.npz"
    np.savez(path, b1=np.zeros((2, 1)))
    with pytest.raises(ValueError) as info:
        explain.saved_network(path, {})
    assert str(info.value) == f"params: {path} holds no 2-D array 'W1' (arrays: ['b1'])"


def test_a_saved_float32_network_accepts_the_dtype_however_it_is_named(tmp_path):
    """As NetworkSpec does, saved_network takes a dtype by its name, its NumPy type or a
    np.dtype; a different one is refused with both names."""
    spec = network.NetworkSpec([2, 3, 1], dtype="float32")
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    for same in ("float32", np.float32, np.dtype("float32")):
        assert explain.saved_network(path, {"dtype": same})[0] == spec, same
    for other in ("float64", np.dtype("float64")):
        with pytest.raises(ValueError) as info:
            explain.saved_network(path, {"dtype": other})
        assert str(info.value) == (
            f"params: {path} was saved for dtype float32, which differs from the float64 asked for"
        )


def _three_classes_csv(tmp_path):
    """Five examples with labels 0, 1, 2 (named a, b, c) of two features."""
    path = tmp_path / "three.csv"
    rows = ["x1,x2,kind", "0.5,1.0,a", "-1.0,0.25,b", "2.0,0.0,c", "0.0,1.5,a", "1.0,-1.0,b"]
    path.write_text("\n".join(rows) + "\n")
    return path


def _one_hot_npz(tmp_path):
    """Four examples of three features with one-hot targets for three classes."""
    path = tmp_path / "onehot.npz"
    Y_ = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]])
    np.savez(path, X=np.arange(12.0).reshape(3, 4) / 10, Y=Y_)
    return path


def test_ce_gets_one_output_per_class_of_labels_or_one_hot_targets(capsys, tmp_path):
    """--loss ce without --dims: the last layer has as many units as the data has classes,
    counted from the labels 0..k-1 or from the rows of one-hot targets, even when --m keeps
    fewer examples than there are classes."""
    for data, dims in (
        (_three_classes_csv(tmp_path), [2, 2, 3]),
        (_one_hot_npz(tmp_path), [3, 2, 3]),
    ):
        code, out, err = run(capsys, "--json", "--data", data, "--loss", "ce", "--m", 1)
        d = json.loads(out)
        assert (code, err, d["spec"]["layer_dims"]) == (0, "", dims), data
        assert len(d["inputs"][1]["value"]) == 3  # Y: one row per class
