"""manual.workspace: the step's arrays reused across calls, with the same numbers, no aliasing of
what a call returns, one workspace per thread at a time, and a cache that can be capped,
emptied and turned off."""

import threading

import numpy as np
import pytest
from conftest import PAIRINGS, make_problem, pairing_id

from backproof import manual, network
from backproof.manual import workspace
from backproof.manual.workspace import WORKSPACES, Workspace, key_of
from backproof.network.activations import REGISTRY

pytestmark = pytest.mark.usefixtures("fresh_workspace_cache")


def allocating_step(spec, params, X, Y):
    """The step as it was written before workspaces: the readable forward (``network.forward``)
    and every backward array new (``output_delta``, ``activation_backward`` on copies)."""
    Zs, As = network.forward(spec, params, X)
    L = spec.n_layers
    J = float(network.loss_from_output(spec, Zs[L], As[L], Y))
    dZ = manual.output_delta(spec, As[L].copy(), Y, Zs[L].copy())
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = dZ @ As[l - 1].T
        grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            name = spec.activations[l - 2]
            x = As[l - 1] if REGISTRY[name].from_output else Zs[l - 1]
            dZ = manual.activation_backward(name, params[f"W{l}"].T @ dZ, x)
    return J, {k: grads[k] for k in params}


def assert_identical(a, b):
    (J_a, g_a), (J_b, g_b) = a, b
    assert J_a == J_b
    assert list(g_a) == list(g_b)
    for k in g_a:
        assert g_a[k].dtype == g_b[k].dtype and np.array_equal(g_a[k], g_b[k]), k


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pairing", PAIRINGS, ids=pairing_id)
def test_the_same_numbers_as_the_allocating_step(pairing, dtype):
    for count, dims in enumerate(([3, 5, 4, None], [4, 6, None]), start=1):
        spec, params, X, Y = make_problem(*pairing, dims=_with_outputs(dims, pairing), dtype=dtype)
        want = allocating_step(spec, params, X, Y)
        for _ in range(3):  # the first call builds the workspace, the next ones reuse it
            assert_identical(manual.loss_and_grads(spec, params, X, Y), want)
        assert len(WORKSPACES) == count


def _with_outputs(dims, pairing):
    _, out, loss = pairing
    n_out = 3 if loss == "ce" or out == "softmax" else 2 if loss == "mse" else 1
    return [*dims[:-1], n_out]


def test_the_same_numbers_with_the_cache_off():
    spec, params, X, Y = make_problem("gelu", "sigmoid", "bce")
    manual.loss_and_grads(spec, params, X, Y)
    assert len(WORKSPACES) == 1
    workspace.configure(enabled=False)  # turning it off empties it
    assert workspace.stats()["held_bytes"] == 0 and len(WORKSPACES) == 0
    for _ in range(2):
        got = manual.loss_and_grads(spec, params, X, Y)
        assert_identical(got, allocating_step(spec, params, X, Y))
        assert len(WORKSPACES) == 0


def test_the_workspace_is_reused_and_a_result_never_changes_when_the_next_call_runs():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce")
    J1, g1 = manual.loss_and_grads(spec, params, X, Y)
    kept = {k: v.copy() for k, v in g1.items()}
    ws = WORKSPACES._free[key_of(spec, X.shape[1])]
    # the next call runs on other parameters in the very same arrays ...
    other = {k: v * 1.5 + 0.1 for k, v in params.items()}
    J2, g2 = manual.loss_and_grads(spec, other, X, Y)
    assert WORKSPACES._free[key_of(spec, X.shape[1])] is ws
    assert J2 != J1 and not np.array_equal(g2["W1"], kept["W1"])
    # ... and what the first call returned is as it was, sharing no memory with the workspace
    assert all(np.array_equal(g1[k], kept[k]) for k in kept)
    buffers = [a for a in (*ws.Zs, *ws.As, *ws.dAs, ws.dZ_L) if a is not None]
    for g in (*g1.values(), *g2.values()):
        assert not any(np.shares_memory(g, a) for a in buffers)


def test_specs_that_differ_only_in_their_initialisation_share_a_workspace():
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce")
    manual.loss_and_grads(spec, params, X, Y)
    ws = WORKSPACES._free[key_of(spec, X.shape[1])]
    for other in (spec.replace(seed=spec.seed + 1, init="he"), spec.replace(loss="mse")):
        manual.loss_and_grads(other, params, X, Y)
        assert len(WORKSPACES) == 1 and WORKSPACES._free[key_of(other, X.shape[1])] is ws
    for other in (
        spec.replace(activations=("relu", "relu", "sigmoid")),
        spec.replace(dtype="float32"),
    ):
        manual.loss_and_grads(
            other,
            {k: v.astype(other.dtype) for k, v in params.items()},
            X.astype(other.dtype),
            Y.astype(other.dtype),
        )
    manual.loss_and_grads(spec, params, X[:, :5], Y[:, :5])
    assert len(WORKSPACES) == 4  # other activations, another dtype, another m: one each


def test_the_workspace_keeps_no_reference_to_the_callers_arrays():
    spec, params, X, Y = make_problem("relu", "sigmoid", "bce")
    manual.loss_and_grads(spec, params, X, Y)
    ws = WORKSPACES._free[key_of(spec, X.shape[1])]
    held = [a for a in (*ws.Zs, *ws.As, *ws.dAs, ws.dZ_L) if a is not None]
    for arr in (X, Y, *params.values()):
        assert not any(a is arr or np.shares_memory(a, arr) for a in held)


def test_two_threads_get_the_numbers_of_one():
    spec, *first = make_problem("tanh", "sigmoid", "bce", dims=[6, 32, 16, 1], m=300, seed=0)
    _, *second = make_problem("tanh", "sigmoid", "bce", dims=[6, 32, 16, 1], m=300, seed=1)
    problems = [
        (spec, *first),
        (spec, *second),  # the same (spec, m): the threads want the same workspace at once
        make_problem("silu", "softmax", "ce", dims=[6, 32, 16, 3], m=300, seed=2),
    ]
    want = [manual.loss_and_grads(*p) for p in problems]
    start = threading.Barrier(2)
    failures = []

    def worker(order):
        start.wait()
        for _ in range(60):
            for i in order:
                J, g = manual.loss_and_grads(*problems[i])
                if J != want[i][0] or any(not np.array_equal(g[k], want[i][1][k]) for k in g):
                    failures.append(i)

    threads = [threading.Thread(target=worker, args=(o,)) for o in ([0, 1, 2], [1, 2, 0])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(WORKSPACES) == 2  # one per (spec, m) is kept, however many threads built one


def test_the_documented_memory_at_config_d():
    """np.empty does not touch the pages, so building this workspace costs no real memory."""
    dims, m, MiB = [784, 1024, 1024, 1], 8192, 1 << 20
    for dtype, size in (("float64", 8), ("float32", 4)):
        ws = Workspace(network.NetworkSpec(dims, dtype=dtype), m)
        assert ws.nbytes == (2 * 2048 + 3) * m * size  # Z and dA per hidden layer, 3 at the top
        assert ws.nbytes // MiB == {8: 256, 4: 128}[size]


def test_the_cap_drops_the_least_recently_used_and_never_keeps_a_workspace_too_big():
    small = [make_problem("tanh", "sigmoid", "bce", m=m) for m in (10, 20, 30)]
    size = Workspace(small[0][0], 10).nbytes
    workspace.configure(max_bytes=Workspace(small[0][0], 30).nbytes + 2 * size)
    for p in small:
        manual.loss_and_grads(*p)
    assert [key[-1] for key in WORKSPACES._free] == [20, 30]  # m = 10 was dropped first
    workspace.configure(max_bytes=size)  # lowering the cap drops until the rest fit
    assert len(WORKSPACES) == 0 and workspace.stats()["held_bytes"] == 0
    manual.loss_and_grads(*small[2])  # bigger than the cap: it serves its call and is freed
    assert len(WORKSPACES) == 0
    manual.loss_and_grads(*small[0])
    assert workspace.stats() == {
        "workspaces": 1,
        "held_bytes": size,
        "max_bytes": size,
        "enabled": True,
    }
    workspace.clear()
    assert workspace.stats()["held_bytes"] == 0 and len(WORKSPACES) == 0


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"enabled": 1}, TypeError, "enabled must be True or False, got 1"),
        ({"max_bytes": -1}, ValueError, "max_bytes must be a non-negative integer"),
        ({"max_bytes": 1.5}, ValueError, "got 1.5"),
        ({"max_bytes": True}, ValueError, "got True"),
    ],
)
def test_configure_rejects_bad_settings(kwargs, error, words):
    with pytest.raises(error, match=words):
        workspace.configure(**kwargs)
