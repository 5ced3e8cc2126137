"""network/: the spec, the shared forward and cost, data sets and loaders."""

import warnings

import numpy as np
import pytest

from backproof import network
from backproof.network import NetworkSpec


def test_spec_defaults_follow_the_article():
    spec = NetworkSpec([2, 4, 1])
    assert spec.activations == ("sigmoid", "sigmoid")
    assert (spec.loss, spec.init, spec.seed, spec.dtype) == ("bce", "article", 3, np.float64)
    assert NetworkSpec([2, 4, 3], loss="ce").activations == ("sigmoid", "softmax")
    assert spec.param_shapes() == {"W1": (4, 2), "b1": (4, 1), "W2": (1, 4), "b2": (1, 1)}


def test_spec_is_frozen():
    spec = NetworkSpec([2, 1])
    with pytest.raises(AttributeError):
        spec.loss = "mse"


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(layer_dims=[2]), ValueError, "layer_dims"),
        (dict(layer_dims="2,4"), TypeError, "layer_dims"),
        (dict(layer_dims=[2, 0, 1]), ValueError, "layer_dims"),
        (dict(layer_dims=[2, 2.5, 1]), TypeError, "layer_dims"),
        (dict(layer_dims=[2, 4, 1], activations=["sigmoid"]), ValueError, "activations"),
        (dict(layer_dims=[2, 4, 1], activations=["swish", "sigmoid"]), ValueError, "activations"),
        (
            dict(layer_dims=[2, 4, 3], activations=["softmax", "softmax"], loss="ce"),
            ValueError,
            "softmax",
        ),
        (dict(layer_dims=[2, 4, 1], loss="hinge"), ValueError, "loss"),
        (
            dict(layer_dims=[2, 4, 1], activations=["sigmoid", "relu"], loss="bce"),
            ValueError,
            "bce",
        ),
        (
            dict(layer_dims=[2, 4, 3], activations=["sigmoid", "sigmoid"], loss="ce"),
            ValueError,
            "ce",
        ),
        (dict(layer_dims=[2, 4, 1], init="glorot"), ValueError, "init"),
        (dict(layer_dims=[2, 4, 1], dtype="float16"), ValueError, "dtype"),
        (dict(layer_dims=[2, 4, 1], seed=-1), ValueError, "seed"),
    ],
)
def test_spec_rejects_bad_input_by_name(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        NetworkSpec(**kwargs)


def test_init_is_seeded_and_scaled():
    a = network.init_params(NetworkSpec([3, 50, 2]))
    b = network.init_params(NetworkSpec([3, 50, 2]))
    for k in a:
        assert np.array_equal(a[k], b[k])
    assert np.all(a["b1"] == 0)
    assert 0.005 < a["W1"].std() < 0.015  # the article's x 0.01
    he = network.init_params(NetworkSpec([400, 300, 1], init="he"))
    assert abs(he["W1"].std() - np.sqrt(2 / 400)) < 0.005
    xav = network.init_params(NetworkSpec([400, 300, 1], init="xavier"))
    assert abs(xav["W1"].std() - np.sqrt(1 / 400)) < 0.005
    other = network.init_params(NetworkSpec([3, 50, 2], seed=4))
    assert not np.array_equal(a["W1"], other["W1"])


def test_init_does_not_touch_global_random_state():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    network.init_params(NetworkSpec([5, 5, 1]))
    assert np.random.random() == before


def test_float32_spec_gives_float32_params_and_costs():
    spec = NetworkSpec([2, 4, 1], dtype="float32")
    params = network.init_params(spec)
    assert all(v.dtype == np.float32 for v in params.values())
    X, y = network.moons(50)
    assert isinstance(network.cost(spec, params, X.astype(np.float32), y), float)


def test_cost_matches_the_textbook_formulas():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 10))
    spec = NetworkSpec([3, 4, 1], init="xavier")
    p = network.init_params(spec)
    Y = rng.integers(0, 2, (1, 10)).astype(float)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    A1 = sig(p["W1"] @ X + p["b1"])
    A2 = sig(p["W2"] @ A1 + p["b2"])
    bce = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    assert network.cost(spec, p, X, Y) == pytest.approx(bce, rel=1e-13)

    spec = NetworkSpec([3, 4, 2], ["tanh", "linear"], "mse", init="xavier")
    p = network.init_params(spec)
    Y = rng.random((2, 10))
    A2 = p["W2"] @ np.tanh(p["W1"] @ X + p["b1"]) + p["b2"]
    assert network.cost(spec, p, X, Y) == pytest.approx(np.sum((A2 - Y) ** 2) / 20, rel=1e-13)

    spec = NetworkSpec([3, 4, 3], ["relu", "softmax"], "ce", init="xavier")
    p = network.init_params(spec)
    Y = network.one_hot(rng.integers(0, 3, 10), 3)
    Z = p["W2"] @ np.maximum(p["W1"] @ X + p["b1"], 0) + p["b2"]
    S = np.exp(Z) / np.exp(Z).sum(axis=0)
    assert network.cost(spec, p, X, Y) == pytest.approx(-np.sum(Y * np.log(S)) / 10, rel=1e-13)


@pytest.mark.parametrize(
    "loss, acts, n_out", [("bce", None, 1), ("ce", None, 3), ("mse", ("tanh", "sigmoid"), 1)]
)
def test_cost_is_finite_and_silent_when_outputs_saturate(loss, acts, n_out):
    spec = NetworkSpec([2, 3, n_out], acts, loss)
    params = {k: np.full(s, 1e4) for k, s in spec.param_shapes().items()}
    params["W2"] = -params["W2"]
    X = np.array([[1.0, -1.0, 3.0], [2.0, 0.5, -4.0]])
    Y = network.targets(spec, np.array([[0, 1, 1]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = network.cost(spec, params, X, Y)
    assert np.isfinite(J) and J > 0


def test_bce_from_logits_is_exact_where_the_naive_form_overflows():
    spec = NetworkSpec([1, 1], ["sigmoid"])
    params = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    X = np.array([[-800.0, 40.0]])
    Y = np.array([[1.0, 0.0]])
    # softplus(z) - y z: -(-800) for the first, 40 + log1p(e^-40) for the second
    assert network.cost(spec, params, X, Y) == pytest.approx(
        (800 + 40 + np.exp(-40)) / 2, rel=1e-15
    )


@pytest.mark.parametrize("name", sorted(network.DATASETS))
def test_datasets_are_seeded_and_in_the_column_convention(name):
    X1, y1 = network.make_dataset(name, m=60, seed=1)
    X2, y2 = network.make_dataset(name, m=60, seed=1)
    X3, _ = network.make_dataset(name, m=60, seed=2)
    assert X1.shape == (2, 60) and y1.shape == (1, 60)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert set(np.unique(y1)) == {0.0, 1.0}


def test_multiclass_datasets_and_one_hot():
    X, y = network.spiral(90, classes=3)
    Y = network.one_hot(y, 3)
    assert Y.shape == (3, 90) and np.all(Y.sum(axis=0) == 1)
    assert np.array_equal(Y.argmax(axis=0), y[0].astype(int))
    spec = NetworkSpec([2, 5, 3], loss="ce")
    assert np.array_equal(network.targets(spec, y), Y)


def test_csv_loader(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,1\n")
    X, y = network.load_csv(path)
    assert X.tolist() == [[1, 3, 5], [2, 4, 6]] and y.tolist() == [[0, 1, 1]]
    X, y = network.load_csv(path, label="a")
    assert X.tolist() == [[2, 4, 6], [0, 1, 1]] and y.tolist() == [[1, 3, 5]]


@pytest.mark.parametrize(
    "text, word",
    [
        ("", "empty"),
        ("a,b\n", "no data rows"),
        ("a,b\n1,\n", "missing value"),
        ("a,b,y\n1,x,0\n", "numeric"),
        ("a,b\n1,2,3\n", "expected 2 values"),
        ("a,b\n1,nan\n", "finite"),
        ("a\n1\n", "at least one feature"),
    ],
)
def test_csv_loader_errors_say_what_is_wrong(tmp_path, text, word):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=word):
        network.load_csv(path)


def test_csv_loader_unknown_label_and_missing_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="label"):
        network.load_csv(path, label="nope")
    with pytest.raises(ValueError, match="no such file"):
        network.load_csv(tmp_path / "missing.csv")


def test_npz_loader(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((3, 4)), y=np.array([0, 1, 1, 0]))
    X, Y = network.load_npz(path)
    assert X.shape == (3, 4) and Y.shape == (1, 4)
    np.savez(tmp_path / "bad.npz", X=np.ones((3, 4)), Y=np.ones((1, 5)))
    with pytest.raises(ValueError, match="columns"):
        network.load_npz(tmp_path / "bad.npz")
    np.savez(tmp_path / "nokeys.npz", A=np.ones(3))
    with pytest.raises(ValueError, match="'X'"):
        network.load_npz(tmp_path / "nokeys.npz")


def test_load_data_dispatch(tmp_path):
    X, y = network.load_data("xor", m=10)
    assert X.shape == (2, 10)
    with pytest.raises(ValueError, match="data"):
        network.load_data("mnist")
    with pytest.raises(TypeError, match="data"):
        network.load_data(3)


def test_forward_from_a_later_layer_matches_the_full_pass():
    spec = NetworkSpec([3, 4, 5, 2], ["tanh", "relu", "linear"], "mse", init="xavier")
    p = network.init_params(spec)
    X = np.random.default_rng(0).standard_normal((3, 7))
    Zs, As = network.forward(spec, p, X)
    Zs2, As2 = network.forward(spec, p, As[1], start=2)
    assert np.array_equal(Zs2[3], Zs[3]) and Zs2[1] is None


def test_accuracy_and_predict():
    spec = NetworkSpec([2, 1], ["sigmoid"])
    params = {"W1": np.array([[1.0, 0.0]]), "b1": np.array([[0.0]])}
    X = np.array([[2.0, -2.0, 3.0], [0.0, 0.0, 0.0]])
    Y = np.array([[1.0, 0.0, 0.0]])
    assert network.accuracy(spec, params, X, Y) == pytest.approx(2 / 3)
    assert network.predict(spec, params, X).shape == (1, 3)


def test_ce_needs_one_output_per_class():
    with pytest.raises(ValueError, match="layer_dims must end with 2 or more outputs"):
        NetworkSpec([2, 4, 1], loss="ce")


def test_load_data_names_the_data_argument(tmp_path):
    with pytest.raises(ValueError, match=r"^data: no such file"):
        network.load_data(str(tmp_path / "missing.csv"))
