"""The boundary checks' quick paths: good input passes untouched, bad input is still caught."""

import warnings

import numpy as np
import pytest

from backproof import network
from backproof.network.validation import all_finite, as_float_array, check_data, check_params

BAD_VALUES = [np.nan, np.inf, -np.inf]


def _spec(loss="bce", dims=(3, 4, 1), dtype="float64"):
    out = {"bce": "sigmoid", "ce": "softmax", "mse": "linear"}[loss]
    return network.NetworkSpec(list(dims), activations=["tanh", out], loss=loss, dtype=dtype)


def _data(spec, m=7):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((spec.layer_dims[0], m)).astype(spec.dtype)
    n_y = spec.layer_dims[-1]
    if spec.loss == "ce":
        Y = np.eye(n_y, dtype=spec.dtype)[:, rng.integers(0, n_y, m)]
    else:
        Y = (rng.random((n_y, m)) > 0.5).astype(spec.dtype)
    return X, Y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_all_finite_accepts_finite_arrays_and_catches_every_bad_entry(dtype, order):
    arr = np.asarray(np.random.default_rng(1).standard_normal((5, 6)), dtype=dtype, order=order)
    assert all_finite(arr)
    for bad in BAD_VALUES:
        for index in [(0, 0), (2, 3), (4, 5)]:
            spoiled = arr.copy(order=order)
            spoiled[index] = bad
            assert not all_finite(spoiled), (bad, index)


def test_all_finite_on_strided_views_and_other_dtypes():
    arr = np.zeros((6, 6))
    arr[1, 1] = np.nan
    assert not all_finite(arr[::2, ::2][:1, :1] + arr[1:2, 1:2])  # a NaN reached through a view
    assert not all_finite(arr[1::2, 1::2])  # not contiguous: entry by entry
    assert all_finite(arr[::2, ::2])
    assert all_finite(np.full(4, 60000.0, dtype=np.float16))  # squares overflow float16
    assert not all_finite(np.array([1.0, np.inf], dtype=np.float16))


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e300), (np.float32, 1e30)])
def test_huge_finite_values_are_legal_and_silent(dtype, big):
    """The sum of squares overflows; the entry-by-entry test must then say yes, with no warning."""
    arr = np.full((3, 4), big, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all_finite(arr)
        assert as_float_array("X", arr) is arr


def test_good_input_passes_without_a_copy():
    for loss in ["bce", "ce", "mse"]:
        for dtype in ["float64", "float32"]:
            spec = _spec(loss, dims=(3, 4, 2) if loss == "ce" else (3, 4, 1), dtype=dtype)
            X, Y = _data(spec)
            Xc, Yc = check_data(spec, X, Y)
            assert Xc is X and Yc is Y
            params = network.init_params(spec)
            checked = check_params(spec, params)
            assert all(checked[k] is params[k] for k in params)


def test_conversions_still_happen_when_needed():
    spec = _spec()
    X, Y = _data(spec)
    Xc, Yc = check_data(spec, X.astype(np.int64), Y.astype(bool))
    assert Xc.dtype == np.float64 and Yc.dtype == np.float64
    assert np.array_equal(Yc, Y)
    Xc, _ = check_data(spec, X.tolist(), Y)
    assert np.array_equal(Xc, X)


@pytest.mark.parametrize("bad", BAD_VALUES)
@pytest.mark.parametrize("loss", ["bce", "ce", "mse"])
def test_a_non_finite_target_is_named_for_every_loss(loss, bad):
    spec = _spec(loss, dims=(3, 4, 2) if loss == "ce" else (3, 4, 1))
    X, Y = _data(spec)
    Y = Y.copy()
    Y[0, -1] = bad
    with pytest.raises(ValueError, match=r"Y must be finite, got .* at index \(0, 6\)"):
        check_data(spec, X, Y)


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_a_non_finite_input_or_parameter_is_named_with_its_index(bad):
    spec = _spec()
    X, Y = _data(spec)
    Xf = np.asfortranarray(X)
    Xf[2, 5] = bad
    with pytest.raises(ValueError, match=r"X must be finite, got .* at index \(2, 5\)"):
        check_data(spec, Xf, Y)
    params = network.init_params(spec)
    params["b2"] = params["b2"].copy()
    params["b2"][0, 0] = bad
    with pytest.raises(ValueError, match=r"b2 must be finite"):
        check_params(spec, params)


def test_target_ranges_are_still_enforced():
    spec = _spec("bce")
    X, Y = _data(spec)
    for wrong in [-1e-12, 1 + 1e-12, 5.0]:
        Yw = Y.copy()
        Yw[0, 3] = wrong
        with pytest.raises(ValueError, match=r"Y must lie in \[0, 1\]"):
            check_data(spec, X, Yw)
    Yedge = Y.copy()
    Yedge[0, :2] = [0.0, 1.0]
    assert check_data(spec, X, Yedge)[1] is Yedge

    spec = _spec("ce", dims=(3, 4, 2))
    X, Y = _data(spec)
    Yn = Y.copy()
    Yn[:, 2] = [1.5, -0.5]
    with pytest.raises(ValueError, match="non-negative"):
        check_data(spec, X, Yn)
    Ys = Y.copy()
    Ys[:, 4] = [0.5, 0.6]
    with pytest.raises(ValueError, match="column 4 summing to 1.1"):
        check_data(spec, X, Ys)
    Yp = Y.copy()
    Yp[:, 4] = [0.25, 0.75]  # probabilities, not one-hot: legal
    assert check_data(spec, X, Yp)[1] is Yp


def test_check_inputs_is_check_params_and_check_data_in_one_call():
    spec = _spec()
    params = network.init_params(spec)
    X, Y = _data(spec)
    got_params, got_X, got_Y = network.validation.check_inputs(spec, params, X, Y)
    assert got_X is X and got_Y is Y  # good input passes untouched
    assert got_params == params and got_params is not params
    spoiled = dict(params, b1=params["b1"].copy())
    spoiled["b1"][2, 0] = np.inf
    bad_X = X.copy()
    bad_X[1, 3] = np.nan
    for args, error, words in [
        ((None, params, X, Y), TypeError, "spec must be a NetworkSpec"),
        ((spec, spoiled, X, Y), ValueError, r"b1 must be finite, got inf at index \(2, 0\)"),
        ((spec, params, bad_X, Y), ValueError, r"X must be finite, got nan at index \(1, 3\)"),
        ((spec, params, X, Y * 2), ValueError, r"Y must lie in \[0, 1\]"),
        ((spec, params, X, Y[:, :3]), ValueError, "the same number of examples"),
    ]:
        with pytest.raises(error, match=words):
            network.validation.check_inputs(*args)
