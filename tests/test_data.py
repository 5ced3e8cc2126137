"""Data files and saved parameters: what the loaders read, and what they refuse by name."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backproof import network
from backproof.network import NetworkSpec

IRIS_ROWS = "5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n4.9,3.0,setosa\n"


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_csv_without_a_header_keeps_its_first_row(tmp_path):
    data = network.load_csv(write(tmp_path, "0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,1\n"))
    assert data.header is False and data.m == 3
    assert data.X.tolist() == [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]
    assert data.y.tolist() == [[0, 1, 1]]


def test_a_csv_with_a_header_is_detected(tmp_path):
    data = network.load_csv(write(tmp_path, "a,b,y\n0.1,0.2,0\n0.3,0.4,1\n"))
    assert data.header is True and data.m == 2 and data.classes is None


def test_the_header_can_be_forced_either_way(tmp_path):
    path = write(tmp_path, "1,2,0\n3,4,1\n5,6,1\n")
    assert network.load_csv(path, header=True).m == 2
    with pytest.raises(ValueError, match=r"line 1: column 1 must be numeric, got 'a'"):
        network.load_csv(write(tmp_path, "a,b,y\n1,2,0\n", "h.csv"), header=False)
    with pytest.raises(TypeError, match="header must be True, False or None"):
        network.load_csv(path, header="yes")


def test_string_labels_become_sorted_classes(tmp_path):
    data = network.load_csv(write(tmp_path, "sl,sw,species\n" + IRIS_ROWS))
    assert data.classes == ("setosa", "versicolor", "virginica")
    assert data.y.tolist() == [[0, 1, 2, 0]]
    assert data.X.shape == (2, 4)


def test_string_labels_without_a_header_are_data_not_a_header(tmp_path):
    data = network.load_csv(write(tmp_path, IRIS_ROWS))
    assert data.header is False and data.m == 4
    assert data.classes == ("setosa", "versicolor", "virginica")


def test_a_named_label_needs_a_header(tmp_path):
    with pytest.raises(ValueError, match="^label: .* has no header row"):
        network.load_csv(write(tmp_path, "1,2,0\n3,4,1\n"), label="y")


def test_error_lines_count_the_blank_lines_of_the_file(tmp_path):
    with pytest.raises(ValueError, match="line 4: column 'b' must be numeric"):
        network.load_csv(write(tmp_path, "a,b,y\n1,2,0\n\n3,x,1\n"))


def test_m_draws_a_seeded_subsample_of_a_file_in_file_order(tmp_path):
    rows = "".join(f"{i},{i % 2}\n" for i in range(50))
    path = write(tmp_path, "x,y\n" + rows)
    a = network.load_data(str(path), m=10, seed=1)
    b = network.load_data(str(path), m=10, seed=1)
    c = network.load_data(str(path), m=10, seed=2)
    assert a.m == 10 and np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)
    assert np.all(np.diff(a.X[0]) > 0)  # a subset, in the file's order
    assert np.array_equal(a.y[0], a.X[0] % 2)  # labels stay with their examples
    with pytest.raises(ValueError, match="m must be at most the 50 examples"):
        network.load_data(str(path), m=51)


def test_label_and_header_are_refused_where_they_mean_nothing(tmp_path):
    with pytest.raises(ValueError, match="label applies to a .csv file only"):
        network.load_data("moons", label="y")
    with pytest.raises(ValueError, match="header applies to a .csv file only"):
        network.load_data("moons", header=False)


def test_a_file_named_npz_that_is_not_one_is_named_as_such(tmp_path):
    with pytest.raises(ValueError, match=r"^path: .* is not a NumPy \.npz archive"):
        network.load_npz(write(tmp_path, "hello\n", "fake.npz"))
    np.save(tmp_path / "one.npy", np.ones(3))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(ValueError, match=r"is a \.npy file \(one array\)"):
        network.load_npz(tmp_path / "one.npz")
    with pytest.raises(ValueError, match=r"^data: .* is not a NumPy \.npz archive"):
        network.load_data(str(tmp_path / "fake.npz"))


def test_saved_parameters_come_back_with_their_spec(tmp_path):
    spec = NetworkSpec([3, 5, 2], ["tanh", "softmax"], "ce", init="xavier", seed=7)
    params = network.init_params(spec)
    path = network.save_params(tmp_path / "p.npz", spec, params)
    loaded_spec, loaded = network.load_params(path)
    assert loaded_spec == spec
    assert all(np.array_equal(loaded[k], params[k]) for k in params)
    assert network.load_params(path, spec).spec == spec


def test_a_float32_spec_round_trips(tmp_path):
    spec = NetworkSpec([2, 3, 1], dtype="float32")
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    saved = network.load_params(path)
    assert saved.spec.dtype == np.float32 and saved.params["W1"].dtype == np.float32


def test_load_params_refuses_a_different_spec_and_a_missing_one(tmp_path):
    spec = NetworkSpec([2, 3, 1])
    path = network.save_params(tmp_path / "p.npz", spec, network.init_params(spec))
    with pytest.raises(ValueError, match="^spec: .* was saved for"):
        network.load_params(path, spec.replace(loss="mse"))
    bare = tmp_path / "bare.npz"
    np.savez(bare, **network.init_params(spec))
    with pytest.raises(ValueError, match="no saved spec; pass spec="):
        network.load_params(bare)
    assert network.load_params(bare, spec).spec == spec
    with pytest.raises(ValueError, match="W1 must have shape"):
        network.load_params(bare, NetworkSpec([3, 3, 1]))
    with pytest.raises(TypeError, match="spec must be a NetworkSpec"):
        network.load_params(bare, {"layer_dims": [2, 3, 1]})


def test_a_corrupt_saved_spec_is_named(tmp_path):
    spec = NetworkSpec([2, 3, 1])
    path = tmp_path / "p.npz"
    np.savez(path, spec=np.array('{"layer_dims": [2, 3, 1], "loss": "hinge"}'), **{})
    with pytest.raises(ValueError, match="the saved spec is not a valid NetworkSpec: loss"):
        network.load_params(path)
    np.savez(path, spec=np.array("{not json"), **network.init_params(spec))
    with pytest.raises(ValueError, match="the saved spec is not a valid NetworkSpec"):
        network.load_params(path)


def test_save_params_checks_its_arguments(tmp_path):
    spec = NetworkSpec([2, 3, 1])
    params = network.init_params(spec)
    with pytest.raises(ValueError, match="path must end in .npz"):
        network.save_params(tmp_path / "p.bin", spec, params)
    with pytest.raises(TypeError, match="spec must be a NetworkSpec"):
        network.save_params(tmp_path / "p.npz", [2, 3, 1], params)
    with pytest.raises(ValueError, match="params is missing 'W2'"):
        network.save_params(tmp_path / "p.npz", spec, {"W1": params["W1"]} | {"b1": params["b1"]})
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(activations=5), TypeError, "activations must be a name or a list of names"),
        (dict(activations={"tanh", "sigmoid"}), TypeError, "activations .* got a set"),
        (dict(layer_dims={3, 4, 1}), TypeError, "layer_dims must be a list or tuple"),
        (dict(layer_dims=5), TypeError, "layer_dims must be a list or tuple"),
        (dict(layer_dims=np.ones((2, 2), int)), TypeError, "layer_dims must be a list"),
        (dict(loss=None), TypeError, "loss must be one of"),
        (dict(init=3), TypeError, "init must be one of"),
        (dict(seed=1.5), TypeError, "seed must be a non-negative integer"),
        (dict(dtype=5), TypeError, "dtype must be one of"),
        (dict(activations=["tanh", 3]), TypeError, "activations must be one of"),
    ],
)
def test_network_spec_names_the_bad_argument(kwargs, error, words):
    with pytest.raises(error, match=words):
        NetworkSpec(**{"layer_dims": (3, 4, 1), **kwargs})


def test_network_spec_accepts_ordered_sequences_and_round_trips_through_a_dict():
    spec = NetworkSpec(np.array([3, 4, 1]), ("tanh", "sigmoid"))
    assert spec.layer_dims == (3, 4, 1)
    assert NetworkSpec(**spec.to_dict()) == spec


SPEC = NetworkSpec([2, 3, 1])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: network.check_params(None, {}), TypeError, "spec must be a NetworkSpec, got None"),
        (lambda: network.check_data([2, 1], [[1.0]], [[1.0]]), TypeError, "spec must be a Network"),
        (lambda: network.targets("bce", [[0, 1]]), TypeError, "spec must be a NetworkSpec"),
        (lambda: network.targets(SPEC, ["a", "b"]), TypeError, "y must hold numeric labels"),
        (lambda: network.one_hot("01", 2), TypeError, "y must be an array of labels"),
        (lambda: network.one_hot([0, 1], 1.5), TypeError, "n_classes must be a positive integer"),
        (lambda: network.one_hot([0, 1], 0), ValueError, "n_classes must be a positive integer"),
        (lambda: network.circles(factor=-1.0), ValueError, "factor must lie strictly between"),
        (lambda: network.circles(factor="x"), TypeError, "factor must be a number"),
        (lambda: network.make_dataset("moons", classes=3), TypeError, "classes: the data set"),
        (lambda: network.load_data("moons", m=True), TypeError, "m must be a positive integer"),
        (
            lambda: network.gradient_descent(None, {}, 1, 0.1),
            TypeError,
            "loss_and_grads must be a function",
        ),
        (
            lambda: network.gradient_descent(lambda p: (0.0, {}), [1.0], 1, 0.1),
            TypeError,
            "params must be a dict of arrays, got a list",
        ),
    ],
)
def test_public_functions_of_network_name_the_bad_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_the_boundary_checks_leave_good_calls_alone():
    assert network.one_hot([0, 2], 3).tolist() == [[1, 0], [0, 0], [0, 1]]
    assert network.targets(SPEC, [[0, 1]]).tolist() == [[0.0, 1.0]]
    assert network.circles(m=10, factor=0.3)[0].shape == (2, 10)
    assert network.make_dataset("spiral", m=9, classes=3)[1].max() == 2


def test_a_typo_in_the_first_row_is_reported_not_taken_for_a_header(tmp_path):
    with pytest.raises(ValueError, match="line 1: column 2 must be numeric, got 'abc'"):
        network.load_csv(write(tmp_path, "1,abc,0\n2,3,1\n4,5,0\n"))
    assert network.load_csv(write(tmp_path, "x1,x2,label\n1,2,0\n", "h.csv")).header is True


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    values=st.lists(
        st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    ),
    header=st.booleans(),
    names=st.lists(st.sampled_from(["cat", "dog", "emu"]), min_size=8, max_size=8),
    named_labels=st.booleans(),
)
def test_no_row_is_ever_lost_or_gained(tmp_path_factory, values, header, names, named_labels):
    labels = names[: len(values)] if named_labels else [str(i % 2) for i in range(len(values))]
    lines = [",".join([*map(repr, row[:2]), label]) for row, label in zip(values, labels)]
    text = "\n".join((["f1,f2,label"] if header else []) + lines) + "\n"
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text(text)
    data = network.load_csv(path)
    assert data.header is header and data.m == len(values)
    assert np.array_equal(data.X.T, np.array([row[:2] for row in values]))
    if named_labels:
        assert [data.classes[int(k)] for k in data.y[0]] == labels
