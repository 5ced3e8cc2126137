"""The workspace of manual.loss_and_grads: which arrays it holds for which layer, what its
bytes count, and which specs share one."""

import numpy as np

from backproof import network
from backproof.manual.workspace import Workspace, WorkspaceCache, key_of
from backproof.network import NetworkSpec


def test_the_arrays_of_each_layer_and_their_bytes():
    spec = NetworkSpec([2, 3, 4, 1], activations=["tanh", "gelu", "sigmoid"], dtype="float32")
    ws = Workspace(spec, 5)
    assert [(x.W, x.b, x.act.name, x.index) for x in ws.layers] == [
        ("W1", "b1", "tanh", 1), ("W2", "b2", "gelu", 2), ("W3", "b3", "sigmoid", 3),
    ]  # fmt: skip
    assert ws.Zs[0] is None and ws.As[0] is None and ws.dAs[0] is None
    assert [z.shape for z in ws.Zs[1:]] == [(3, 5), (4, 5), (1, 5)]
    assert ws.As[1] is ws.Zs[1]  # tanh's derivative is written through A: in place
    assert ws.As[2] is not ws.Zs[2] and ws.As[3] is not ws.Zs[3]  # gelu needs Z; the output
    assert [d.shape for d in ws.dAs[1:]] == [(3, 5), (4, 5)] and ws.dZ_L.shape == (1, 5)
    assert {a.dtype for a in [*ws.Zs[1:], *ws.As[1:], *ws.dAs[1:], ws.dZ_L]} == {
        np.dtype("float32")
    }
    # tanh: Z and dA (2 x 3 x 5); gelu: Z, A and dA (3 x 4 x 5); output: Z, A, dZ (3 x 1 x 5)
    assert ws.nbytes == (2 * 15 + 3 * 20 + 3 * 5) * 4
    assert ws.key == key_of(spec, 5) == ((2, 3, 4, 1), ("tanh", "gelu", "sigmoid"), spec.dtype, 5)


def test_specs_that_differ_in_loss_init_or_seed_share_a_key_and_others_do_not():
    base = NetworkSpec([2, 3, 1])
    assert key_of(base, 4) == key_of(NetworkSpec([2, 3, 1], loss="mse", init="he", seed=9), 4)
    assert key_of(base, 4) != key_of(base, 5)
    assert key_of(base, 4) != key_of(NetworkSpec([2, 3, 1], dtype="float32"), 4)
    assert key_of(base, 4) != key_of(NetworkSpec([2, 3, 1], activations=["relu", "sigmoid"]), 4)


def test_the_cache_keeps_a_workspace_of_exactly_its_cap_and_gives_back_the_same_one():
    spec = NetworkSpec([2, 3, 1])
    ws = Workspace(spec, 4)
    cache = WorkspaceCache(max_bytes=ws.nbytes)
    cache.give(ws)
    assert len(cache) == 1 and cache.held_bytes == ws.nbytes
    assert cache.take(spec, 4) is ws and len(cache) == 0
    assert cache.take(spec, 4) is not ws  # taken: the next caller builds its own
    bigger = Workspace(spec, 5)
    cache.give(bigger)  # larger than the cap: not kept
    assert len(cache) == 0
    cache.give(ws)
    other = Workspace(NetworkSpec([2, 3, 1], dtype="float32"), 4)  # half the bytes
    cache.set_max_bytes(ws.nbytes + other.nbytes)
    cache.give(other)
    assert len(cache) == 2
    newest = Workspace(NetworkSpec([2, 2, 1]), 4)
    cache.give(newest)  # room is made by dropping the least recently given back
    assert cache.take(spec, 4) is not ws and cache.held_bytes <= cache.max_bytes
    off = WorkspaceCache(enabled=False)
    off.give(Workspace(spec, 4))
    assert len(off) == 0


def test_bytes_count_every_array_once_when_the_first_layer_keeps_z():
    spec = NetworkSpec([2, 3, 1], activations=["gelu", "sigmoid"])
    ws = Workspace(spec, 5)
    assert ws.As[1] is not ws.Zs[1]
    assert ws.nbytes == (3 * 15 + 3 * 5) * 8  # gelu: Z, A and dA; the output: Z, A and dZ


def test_a_lower_cap_drops_as_many_of_the_oldest_as_it_takes():
    sizes = [Workspace(NetworkSpec([2, n, 1]), 4) for n in (1, 2, 3)]  # oldest smallest
    cache = WorkspaceCache(max_bytes=10**9)
    for ws in sizes:
        cache.give(ws)
    cache.set_max_bytes(sizes[2].nbytes)  # both older ones must go
    assert len(cache) == 1 and cache.held_bytes == sizes[2].nbytes


def test_configure_turns_the_cache_back_on_and_accepts_a_cap_of_zero():
    from backproof import manual
    from backproof.manual import workspace

    before = workspace.stats()
    try:
        workspace.configure(enabled=False)
        assert workspace.stats()["enabled"] is False
        workspace.configure(enabled=True)
        assert workspace.stats()["enabled"] is True
        spec = NetworkSpec([2, 2, 1])
        X, Y = np.ones((2, 3)), np.ones((1, 3))
        params = {k: v + 0.1 for k, v in network.init_params(spec).items()}
        workspace.configure(max_bytes=1 << 20)
        manual.loss_and_grads(spec, params, X, Y)
        assert workspace.stats()["workspaces"] >= 1
        workspace.configure(max_bytes=0)  # allowed: nothing is kept
        assert workspace.stats()["workspaces"] == 0 and workspace.stats()["max_bytes"] == 0
    finally:
        workspace.configure(enabled=before["enabled"], max_bytes=before["max_bytes"])
