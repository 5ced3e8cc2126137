"""Shared helpers: the activation/loss pairings and small random problems."""

from __future__ import annotations

import numpy as np
import pytest

from backproof import network


def _pairings():
    """(hidden activation, output activation, loss), derived from the activation registry: every
    activation as the hidden layers of a sigmoid/bce network and as the output of an mse network
    (over another activation's hidden layers), and softmax/ce over a few hidden activations."""
    names = list(network.activations.REGISTRY)
    hidden = [n for n in names if network.activations.REGISTRY[n].elementwise]
    bce = [(h, "sigmoid", "bce") for h in hidden]
    ce = [(h, "softmax", "ce") for h in ("tanh", "relu", "sigmoid")]
    mse = [(hidden[(i + 2) % len(hidden)], out, "mse") for i, out in enumerate(names)]
    return bce + ce + mse


PAIRINGS = _pairings()


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


@pytest.fixture
def drawn(monkeypatch):
    """Every matplotlib figure saved during the test, kept open for inspection, with the keyword
    arguments of its ``savefig`` as ``fig.saved_with``."""
    import matplotlib.figure

    figures = []
    original = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        fig.saved_with = kwargs
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


@pytest.fixture
def fresh_workspace_cache():
    """manual's workspace cache empty and at its default settings for the test, and left so."""
    from backproof.manual import workspace

    saved = (workspace.WORKSPACES.enabled, workspace.WORKSPACES.max_bytes)
    workspace.clear()
    yield
    workspace.WORKSPACES.enabled, workspace.WORKSPACES.max_bytes = saved
    workspace.clear()


def peak_bytes(call):
    """``(call(), peak)``: what ``call()`` returns, and the most memory its allocations held at
    once, in bytes, as tracemalloc counts them (NumPy's arrays included)."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_cli(capsys, *args):
    """``backproof <args>`` run in process (a mutated command is the one that runs): the exit
    code, stdout and stderr."""
    from backproof.compare import cli

    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# The study's six pictures, in the order it draws them (files <name>.png, keys of its "plots").
STUDY_PICTURES = [
    "cost_histories",
    "param_errors",
    "step_sweep",
    "taylor_test",
    "layer_grad_norms",
    "catalog_heatmap",
]
