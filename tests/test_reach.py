"""Nested arguments (trees) and the checks of derivatives that are not a gradient:
VJP, JVP, Jacobian, Hessian-vector product and Hessian — right ones pass, wrong ones fail and
are located."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof.autodiff import Tensor, hvp
from backproof.autodiff import primitives as F
from backproof.compare import check_hessian, check_hvp, check_jacobian, check_jvp, check_vjp
from backproof.compare.trees import Arguments, Tree

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4, 4))
X4 = RNG.standard_normal(4)


def nested():
    return [
        np.arange(3.0),
        {"W": np.arange(6.0).reshape(2, 3), "b": 2.0},
        (np.float32(1.5),),
    ]


# -- trees ------------------------------------------------------------------------------------
def test_tree_round_trip_keeps_structure_types_and_dtypes():
    x = nested()
    tree = Tree(x)
    vec = tree.flatten(x)
    assert vec.tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 5, 2, 1.5]
    back = tree.unflatten(vec)
    assert isinstance(back, list) and isinstance(back[2], tuple)
    assert isinstance(back[1]["b"], float) and back[1]["b"] == 2.0
    assert back[2][0].dtype == np.float32
    np.testing.assert_array_equal(back[1]["W"], x[1]["W"])
    assert tree.dtype == np.float32


_arrays = st.integers(1, 3).flatmap(
    lambda n: st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n).map(np.array)
)
_trees = st.recursive(
    st.one_of(st.floats(-1e6, 1e6), _arrays),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.lists(inner, min_size=1, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from("abc"), inner, min_size=1),
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(_trees)
def test_any_tree_round_trips_exactly_and_leaves_the_input_alone(x):
    tree = Tree(x)
    leaves_before = [np.asarray(leaf).tobytes() for leaf in tree.match(x, "x")]
    vec = tree.flatten(x)
    assert vec.shape == (tree.size,)
    back = tree.unflatten(vec)
    np.testing.assert_array_equal(Tree(back).flatten(back), vec)
    assert Tree(back).describe() == tree.describe()
    assert [tree.entry_label(i) for i in range(tree.size)] == [
        Tree(back).entry_label(i) for i in range(tree.size)
    ]
    assert [np.asarray(leaf).tobytes() for leaf in tree.match(x, "x")] == leaves_before


def test_tree_names_entries_by_path():
    tree = Tree(nested())
    assert tree.entry_label(5) == "x[1]['W'][0, 2]"
    assert tree.entry_label(9) == "x[1]['b']"
    assert tree.entry_label(10) == "x[2][0]"
    with pytest.raises(IndexError):
        tree.entry_label(11)


def test_tree_unflatten_never_aliases_the_callers_arrays():
    x = nested()
    before = [x[0].tobytes(), x[1]["W"].tobytes()]
    tree = Tree(x)
    rebuilt = tree.unflatten(tree.flatten(x))
    rebuilt[0][:] = 99
    rebuilt[1]["W"][:] = 99
    assert [x[0].tobytes(), x[1]["W"].tobytes()] == before


@pytest.mark.parametrize(
    "value, error, message",
    [
        (
            [np.ones(3), np.ones(2)],
            ValueError,
            "grad_f returned a list of 2 arrays, x is a list of 3 items",
        ),
        (np.ones(11), TypeError, "grad_f returned an array of shape (11,), x is a list of 3"),
        ([np.ones(3), [1.0, 2.0], (1.0,)], TypeError, "a list of 2 items, x[1] is a dict"),
        ([np.ones(3), {"W": 1, "b": 1, "c": 1}, (1.0,)], ValueError, "unexpected ['c']"),
    ],
)
def test_structure_mismatch_names_both_structures(value, error, message):
    """Another kind of node is a TypeError; the same kind with other keys or length a
    ValueError; both name the two structures."""
    with pytest.raises(error, match=re.escape(message)):
        Tree(nested()).match(value, "grad_f returned")


def test_nothing_is_stacked_or_reordered():
    tree = Tree((np.ones(2), np.ones(2)))
    with pytest.raises(TypeError, match="tuple of 2"):
        tree.match(np.ones((2, 2)), "grad_f returned")  # a stacked gradient is refused
    d = Tree({"a": np.ones(1), "b": np.zeros(1)})
    # keys are matched by name, whatever the order grad_f uses
    assert d.flatten({"b": np.zeros(1), "a": np.full(1, 5.0)}).tolist() == [5.0, 0.0]
    with pytest.raises(ValueError, match=r"shape \(3,\) for x\[0\]"):
        tree.flatten([np.ones(3), np.ones(2)], "grad_f returned")


def test_missing_key_is_reported_as_none_for_the_diagnosis():
    d = Tree({"a": np.ones(1), "b": np.zeros(1)})
    assert d.match({"a": 1.0}, "grad_f returned")[1] is None


@pytest.mark.parametrize(
    "x, error, words",
    [
        ([], ValueError, "empty list"),
        ({}, ValueError, "empty dict"),
        ({"a": "s"}, TypeError, "x['a'] must be a number"),
        ([np.ones(2), None], TypeError, "x[1] must be a number"),
        (np.array([1.0, np.nan]), ValueError, "must be finite"),
        (np.array(["a"]), TypeError, "real float array"),
        (True, TypeError, "boolean"),
    ],
)
def test_bad_trees_are_refused_with_their_path(x, error, words):
    with pytest.raises(error, match=re.escape(words)):
        Tree(x)


def test_arguments_pick_and_put_back():
    args = (np.ones(2), {"a": np.ones(1)}, 3.0)
    picked = Arguments.pick(args, (2, 0))
    assert picked.tree.entry_label(0) == "args[2]"
    assert picked.tree.entry_label(2) == "args[0][1]"
    assert picked.call(lambda a, b, c: (a, b, c), (5.0, np.zeros(2)))[2] == 5.0
    assert Arguments.pick(args, -1).tree.name == "args[2]"
    for bad, error in [((), ValueError), ((0, 0), ValueError), (3, ValueError), (1.0, TypeError)]:
        with pytest.raises(error, match="argnums"):
            Arguments.pick(args, bad)


# -- VJP / JVP / Jacobian ---------------------------------------------------------------------
def f_wide(x):
    return np.tanh(A @ x)


def jac_wide(x):
    return (1 - np.tanh(A @ x) ** 2)[:, None] * A


def f_square(x):
    return np.sin(B @ x) * x


def jac_square(x):
    return np.cos(B @ x)[:, None] * B * x[:, None] + np.diag(np.sin(B @ x))


def test_right_vjp_jvp_and_jacobian_pass():
    assert check_vjp(f_wide, lambda x, v: v @ jac_wide(x), X4).verdict == "pass"
    assert check_jvp(f_wide, lambda x, u: jac_wide(x) @ u, X4).verdict == "pass"
    report = check_jacobian(f_wide, jac_wide, X4)
    assert report and len(report.reductions) == 3  # one scalar check per row


def test_a_wrong_entry_of_the_jacobian_is_located():
    def jac(x):
        J = jac_wide(x)
        J[1, 2] *= 1.001
        return J

    report = check_jacobian(f_wide, jac, X4)
    assert report.verdict == "fail" and not report
    assert report.wrong_outputs == ["f(x)[1]"]
    assert report.wrong_inputs == ["x[2]"]


def test_a_wrong_jvp_output_is_located():
    report = check_jvp(f_wide, lambda x, u: jac_wide(x) @ u * [1, 1, 1.01], X4)
    assert report.verdict == "fail"
    assert report.wrong_outputs == ["f(x)[2]"]
    assert "x 1.01" in report.diagnosis


def test_transposed_jacobian_is_recognised():
    report = check_jacobian(f_wide, lambda x: jac_wide(x).T, X4)
    assert report.verdict == "fail" and report.diagnosis.startswith("transposed")
    square = check_jacobian(f_square, lambda x: jac_square(x).T, X4)
    assert square.verdict == "fail" and square.diagnosis.startswith("transposed")
    right = check_jacobian(f_square, jac_square, X4)
    assert right.verdict == "pass"


def test_vjp_jvp_mix_up_is_recognised():
    as_jvp = check_vjp(f_square, lambda x, v: jac_square(x) @ v, X4)
    assert as_jvp.verdict == "fail" and "computes J v (a JVP)" in as_jvp.diagnosis
    as_vjp = check_jvp(f_square, lambda x, u: u @ jac_square(x), X4)
    assert as_vjp.verdict == "fail" and "computes uᵀJ (a VJP)" in as_vjp.diagnosis
    # non-square: the wrong product has the other side's shape
    wide = check_vjp(f_wide, lambda x, v: jac_wide(x) @ x, X4)
    assert wide.verdict == "fail" and "looks like a JVP" in wide.diagnosis
    # a wrong VJP that is no JVP either gets no such diagnosis
    plain = check_vjp(f_square, lambda x, v: 2 * (v @ jac_square(x)), X4)
    assert plain.verdict == "fail" and "JVP" not in plain.diagnosis


def test_random_cotangents_for_large_outputs_are_seeded():
    M = RNG.standard_normal((40, 4))

    def vjp(x, v):
        return (v * np.cos(M @ x)) @ M

    a = check_vjp(lambda x: np.sin(M @ x), vjp, X4, seed=3)
    b = check_vjp(lambda x: np.sin(M @ x), vjp, X4, seed=3)
    assert a.verdict == "pass" and len(a.reductions) == 3
    assert [r.report.rel_diff for r in a.reductions] == [r.report.rel_diff for r in b.reductions]
    wrong = check_vjp(lambda x: np.sin(M @ x), lambda x, v: 1.001 * vjp(x, v), X4)
    assert wrong.verdict == "fail" and wrong.wrong_outputs == []  # random: no single row


def test_vjp_with_several_arguments_and_nested_parameters():
    params = {"W": RNG.standard_normal((3, 2)), "b": [RNG.standard_normal(3), 0.5]}
    data = RNG.standard_normal(2)
    before = params["W"].tobytes(), params["b"][0].tobytes(), data.tobytes()

    def f(p, d):
        return np.tanh(p["W"] @ d + p["b"][0]) * p["b"][1]

    def vjp(p, d, v):
        s = 1 - np.tanh(p["W"] @ d + p["b"][0]) ** 2
        gz = v * p["b"][1] * s
        return (
            {"W": np.outer(gz, d), "b": [gz, float(v @ np.tanh(p["W"] @ d + p["b"][0]))]},
            p["W"].T @ gz,
        )

    assert check_vjp(f, vjp, params, data, argnums=(0, 1)).verdict == "pass"

    def wrong(p, d, v):
        g, gd = vjp(p, d, v)
        g["b"][1] *= -1
        return g, gd

    report = check_vjp(f, wrong, params, data, argnums=(0, 1))
    assert report.verdict == "fail" and report.wrong_inputs == ["args[0]['b'][1]"]
    assert before == (params["W"].tobytes(), params["b"][0].tobytes(), data.tobytes())


def test_vjp_of_wrong_structure_names_both():
    report = check_vjp(lambda x: x[0] * x[1], lambda x, v: [v * x[1]], [np.ones(2), np.ones(2)])
    assert report.verdict == "fail"
    assert "vjp_f returned a list of 1 arrays, x is a list of 2 arrays" in report.diagnosis


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: check_vjp(f_wide, "no", X4), TypeError, "vjp_f must be callable"),
        (lambda: check_vjp(f_wide, f_wide, X4, cotangents="some"), ValueError, "cotangents"),
        (lambda: check_jvp(f_wide, f_wide, X4, tangents=0), ValueError, "tangents"),
        (lambda: check_vjp(f_wide, f_wide, X4, seed=-1), ValueError, "seed"),
        (lambda: check_jacobian(f_wide, jac_wide, [X4]), TypeError, "check_vjp"),
        (lambda: check_hessian(np.sum, np.sum, {"a": X4}), TypeError, "check_hvp"),
        (lambda: check_vjp(lambda x: "s", f_wide, X4), TypeError, "f\\(x\\) must be"),
        (
            lambda: check_vjp(f_wide, lambda x, v: jac_wide(x) @ v, X4),
            TypeError,
            "vjp_f raised ValueError .* a cotangent that is an array of shape \\(3,\\)",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_float32_vjp_passes_and_a_float32_sized_error_fails():
    x = X4.astype(np.float32)

    def vjp(x, v):
        return (v @ jac_wide(x)).astype(np.float32)

    assert check_vjp(lambda x: f_wide(x).astype(np.float32), vjp, x).verdict == "pass"
    bad = check_vjp(lambda x: f_wide(x).astype(np.float32), lambda x, v: 1.02 * vjp(x, v), x)
    assert bad.verdict == "fail"


# -- second derivatives on the engine ---------------------------------------------------------
C = RNG.standard_normal((3, 5))
X5 = RNG.standard_normal(5)


def f_tensor(t):
    return F.sum(F.tanh(C @ t) ** 2) + F.sum(t * t * t)


def f_numpy(x):
    return float(f_tensor(Tensor(x)).data)


def grad_engine(x):
    t = Tensor(x, requires_grad=True)
    f_tensor(t).backward()
    return t.grad


def hvp_double_backward(x, v):
    """H v by backward(create_graph=True): differentiate <grad f, v> once more."""
    t = Tensor(x, requires_grad=True)
    f_tensor(t).backward(create_graph=True)
    inner = F.sum(t.grad * Tensor(v))
    t.grad = None
    inner.backward()
    return t.grad


def hessian_engine(x):
    return np.stack([hvp(f_tensor, x, e) for e in np.eye(x.size)], axis=1)


@pytest.mark.parametrize("grad_f", [None, grad_engine], ids=["from f", "from grad_f"])
def test_engine_second_derivatives_pass(grad_f):
    assert check_hvp(f_numpy, lambda x, v: hvp(f_tensor, x, v), X5, grad_f=grad_f)
    assert check_hvp(f_numpy, hvp_double_backward, X5, grad_f=grad_f)
    assert check_hessian(f_numpy, hessian_engine, X5, grad_f=grad_f)


@pytest.mark.parametrize("grad_f", [None, grad_engine], ids=["from f", "from grad_f"])
def test_corrupted_second_derivatives_fail(grad_f):
    half = check_hvp(f_numpy, lambda x, v: 0.5 * hvp(f_tensor, x, v), X5, grad_f=grad_f)
    assert half.verdict == "fail" and "x 1/2" in half.diagnosis

    def one_entry(x):
        H = hessian_engine(x)
        H[1, 3] += 1e-3
        return H

    report = check_hessian(f_numpy, one_entry, X5, grad_f=grad_f)
    assert report.verdict == "fail"
    assert report.wrong_outputs == ["x[3]"] and report.wrong_inputs == ["x[1]"]
    first_only = check_hvp(f_numpy, lambda x, v: grad_engine(x), X5, grad_f=grad_f)
    assert first_only.verdict == "fail"


def test_a_wrong_grad_f_is_set_aside_not_trusted():
    report = check_hvp(f_numpy, hvp_double_backward, X5, grad_f=lambda x: 2 * grad_engine(x))
    assert report.verdict == "pass"
    assert any("grad_f itself did not pass" in n for n in report.notes)


def test_hvp_on_a_nested_argument():
    def f(p):
        return float(np.sum(np.sin(p["a"]) * p["b"][0]) + p["b"][1] ** 3)

    def hv(p, v):
        return {
            "a": -np.sin(p["a"]) * p["b"][0] * v["a"] + np.cos(p["a"]) * v["b"][0],
            "b": [np.cos(p["a"]) * v["a"], 6 * p["b"][1] * v["b"][1]],
        }

    p = {"a": RNG.standard_normal(3), "b": [RNG.standard_normal(3), 0.7]}
    assert check_hvp(f, hv, p).verdict == "pass"

    def wrong(p, v):
        out = hv(p, v)
        out["b"][1] = 3 * p["b"][1] * v["b"][1]
        return out

    report = check_hvp(f, wrong, p)
    assert report.verdict == "fail"
    assert report.wrong_outputs == ["x['b'][1]"] and report.wrong_inputs == ["x['b'][1]"]


def test_the_readme_examples_run_and_pass():
    """The README's section on this family runs as written, and its network class passes."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### Derivatives that are not") :]
    section = section[: section.index("\n### ")]
    rng = np.random.default_rng(0)
    namespace = {
        "np": np,
        "A": rng.standard_normal((5, 3)),
        "x": rng.standard_normal(3),
        "g": lambda x: float(np.sum(x**4)),
        "grad_g": lambda x: 4 * x**3,
        "hvp_g": lambda x, v: 12 * x**2 * v,
        "hess_g": lambda x: np.diag(12 * x**2),
        "X": rng.standard_normal((3, 20)),
        "Y": rng.uniform(size=(2, 20)),
    }
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    for block in blocks:
        exec(block, namespace)
    assert namespace["report"].verdict == "pass"
    user_lines = [line for line in blocks[2].splitlines() if line.strip()]
    assert len(user_lines) <= 8
