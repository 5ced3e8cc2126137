"""Property-based tests: random specs, shapes, pairings and data (hypothesis)."""

import numpy as np
from conftest import PAIRINGS, max_rel
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backproof import autodiff, manual, network
from backproof.compare import reference

SETTINGS = settings(
    max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def problems(draw, dtype="float64"):
    hidden, out, loss = draw(st.sampled_from(PAIRINGS))
    depth = draw(st.integers(1, 3))
    n_in = draw(st.integers(1, 4))
    widths = [draw(st.integers(1, 5)) for _ in range(depth - 1)]
    n_out = draw(st.integers(2, 4)) if out == "softmax" else draw(st.integers(1, 3))
    if loss == "bce" and out == "sigmoid":
        n_out = draw(st.integers(1, 2))
    dims = [n_in, *widths, n_out]
    acts = [hidden] * (len(dims) - 2) + [out]
    init = draw(st.sampled_from(network.INITS))
    seed = draw(st.integers(0, 2**16))
    spec = network.NetworkSpec(dims, acts, loss, init, seed, dtype)
    m = draw(st.integers(1, 12))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    params = {
        k: (v + scale * rng.standard_normal(v.shape)).astype(dtype)
        for k, v in network.init_params(spec).items()
    }
    X = (scale * rng.standard_normal((n_in, m))).astype(dtype)
    if loss == "ce":
        Y = network.one_hot(rng.integers(0, n_out, m), n_out)
    elif loss == "bce":
        Y = rng.integers(0, 2, (n_out, m)).astype(float)
    else:
        Y = rng.standard_normal((n_out, m))
    return spec, params, X, Y.astype(dtype)


@SETTINGS
@given(problems())
def test_manual_tensor_and_autograd_agree(problem):
    spec, params, X, Y = problem
    J_m, g_m = manual.loss_and_grads(spec, params, X, Y)
    J_t, g_t = autodiff.loss_and_grads(spec, params, X, Y)
    J_a, g_a = reference.loss_and_grads(spec, params, X, Y)
    assert np.isfinite(J_m) and abs(J_m - J_a) <= 1e-12 * max(1.0, abs(J_a))
    scale = max(float(np.max(np.abs(g))) for g in g_a.values())
    assume(scale > 1e-8)
    # rounding of terms the size of the data and the weights bounds what even the exact
    # formulas can agree on when the gradient itself is a small difference of such terms
    floor = 1e-14 * max(
        1.0, float(np.max(np.abs(X))), *(float(np.max(np.abs(v))) for v in params.values())
    )
    for k in params:
        assert np.max(np.abs(g_m[k] - g_a[k])) <= 1e-11 * scale + floor
        assert np.max(np.abs(g_t[k] - g_a[k])) <= 1e-11 * scale + floor


@SETTINGS
@given(problems())
def test_agreement_with_finite_differences_away_from_kinks(problem):
    spec, params, X, Y = problem
    _, g = manual.loss_and_grads(spec, params, X, Y)
    fd, err, kink = reference.network_numerical_grad(spec, params, X, Y, "richardson", threads=1)
    scale = max(float(np.max(np.abs(v))) for v in fd.values())
    for k in params:
        ok = np.abs(g[k] - fd[k]) <= 3 * err[k] + 1e-7 * np.abs(fd[k]) + 1e-13 * scale
        assert np.all(ok | kink[k]), k


@settings(max_examples=200, deadline=None, derandomize=True)
@given(problems(dtype="float32"))
def test_float32_end_to_end(problem):
    spec, params, X, Y = problem
    J, g = manual.loss_and_grads(spec, params, X, Y)
    _, g_t = autodiff.loss_and_grads(spec, params, X, Y)
    assert all(v.dtype == np.float32 for v in g.values())
    assert all(v.dtype == np.float32 for v in g_t.values())
    scale = max(float(np.max(np.abs(v))) for v in g.values())
    assume(scale > 1e-3)
    assert max_rel(g_t, g) <= 1e-3 or all(np.max(np.abs(g_t[k] - g[k])) <= 1e-4 * scale for k in g)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    dims=st.lists(st.one_of(st.integers(-2, 6), st.floats(-1, 5), st.text(max_size=2)), max_size=5),
    acts=st.one_of(
        st.none(),
        st.lists(
            st.sampled_from(["sigmoid", "relu", "tanh", "linear", "softmax", "gelu", ""]),
            max_size=5,
        ),
    ),
    loss=st.sampled_from(["bce", "mse", "ce", "xent", ""]),
    init=st.sampled_from(["article", "xavier", "he", "zeros"]),
    dtype=st.sampled_from(["float64", "float32", "int8"]),
)
def test_network_spec_either_builds_or_says_why(dims, acts, loss, init, dtype):
    try:
        spec = network.NetworkSpec(dims, acts, loss, init, 3, dtype)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert any(
            w in msg
            for w in ("layer_dims", "activations", "loss", "init", "dtype", "bce", "ce", "softmax")
        ), msg
        return
    assert len(spec.activations) == len(spec.layer_dims) - 1
    assert all(d > 0 for d in spec.layer_dims)


CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-5, 5).map(str),
    st.sampled_from(["", "x", " ", "1e3", "-", "nan"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    header=st.lists(st.sampled_from(["a", "b", "c", "y"]), min_size=0, max_size=4),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=5), max_size=6),
)
def test_csv_loader_either_loads_or_says_why(tmp_path_factory, header, rows):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n")
    try:
        X, y = network.load_csv(path)
    except ValueError as exc:
        assert str(path) in str(exc) or "label" in str(exc) or "path" in str(exc)
        return
    assert X.ndim == 2 and y.shape == (1, X.shape[1]) and np.all(np.isfinite(X))
