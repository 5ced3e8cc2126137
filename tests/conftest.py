"""Shared helpers: the activation/loss pairings and small random problems."""

from __future__ import annotations

import numpy as np
import pytest

from backproof import network

# (hidden activation(s), output activation, loss): every pairing NetworkSpec admits
PAIRINGS = [
    ("sigmoid", "sigmoid", "bce"),
    ("relu", "sigmoid", "bce"),
    ("tanh", "sigmoid", "bce"),
    ("linear", "sigmoid", "bce"),
    ("tanh", "softmax", "ce"),
    ("relu", "softmax", "ce"),
    ("sigmoid", "softmax", "ce"),
    ("sigmoid", "sigmoid", "mse"),
    ("tanh", "tanh", "mse"),
    ("relu", "linear", "mse"),
    ("linear", "relu", "mse"),
    ("sigmoid", "softmax", "mse"),
]


def pairing_id(p) -> str:
    return "-".join(p)


def make_problem(hidden, out, loss, *, dims=None, m=23, dtype="float64", seed=0, jitter=0.3):
    """A random spec, parameters moved off their initial values, and data of the right kind."""
    rng = np.random.default_rng(seed)
    if dims is None:
        n_out = 3 if loss == "ce" or out == "softmax" else 2 if loss == "mse" else 1
        dims = [3, 5, 4, n_out]
    acts = [hidden] * (len(dims) - 2) + [out]
    spec = network.NetworkSpec(dims, acts, loss, init="xavier", seed=seed, dtype=dtype)
    params = network.init_params(spec)
    params = {
        k: (v + jitter * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()
    }
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    if loss == "ce":
        Y = network.one_hot(rng.integers(0, dims[-1], m), dims[-1]).astype(dtype)
    elif loss == "bce":
        Y = rng.integers(0, 2, (dims[-1], m)).astype(dtype)
    else:
        Y = rng.random((dims[-1], m)).astype(dtype)
    return spec, params, X, Y


def max_rel(a: dict, b: dict) -> float:
    """max over parameters of max|a - b| / max|b|."""
    out = 0.0
    for k in b:
        scale = float(np.max(np.abs(b[k])))
        diff = float(np.max(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float))))
        out = max(out, diff / scale if scale > 0 else diff)
    return out


@pytest.fixture(params=PAIRINGS, ids=pairing_id)
def pairing(request):
    return request.param
