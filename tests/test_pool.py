"""The engine's buffer pool: what it keeps, what it refuses, and that it changes no number."""

import numpy as np
import pytest

from backproof.autodiff import pool
from backproof.autodiff.pool import BufferPool

KiB = 1 << 10


@pytest.fixture
def small_pool():
    return BufferPool(max_bytes=64 * KiB, min_bytes=1 * KiB)


def test_a_given_array_is_taken_again_by_shape_and_dtype(small_pool):
    arr = np.empty((16, 16))  # 2 KiB
    small_pool.give(arr)
    assert small_pool.held_bytes == arr.nbytes
    assert small_pool.take((16, 16), np.float32) is not arr  # another dtype: a new array
    assert small_pool.take((8, 32), np.float64) is not arr  # another shape: a new array
    assert small_pool.take((16, 16), np.float64) is arr
    assert small_pool.held_bytes == 0
    assert small_pool.take((16, 16), np.float64) is not arr  # handed out once only
    assert small_pool.hits == 1 and small_pool.misses == 3


def test_small_views_readonly_and_over_the_cap_are_not_kept(small_pool):
    small_pool.give(np.empty(10))  # 80 bytes: below min_bytes
    base = np.empty((64, 64))
    small_pool.give(base[:, :32])  # a view: its memory belongs to base
    frozen = np.empty((32, 32))
    frozen.flags.writeable = False
    small_pool.give(frozen)
    assert small_pool.held_bytes == 0
    kept = [np.empty((32, 32)) for _ in range(10)]  # 8 KiB each, cap 64 KiB: 8 fit
    for arr in kept:
        small_pool.give(arr)
    assert small_pool.held_bytes == 8 * kept[0].nbytes
    small_pool.clear()
    assert small_pool.held_bytes == 0
    assert small_pool.take((32, 32), np.float64) is not kept[0]


def test_at_the_cap_the_shapes_given_back_least_recently_make_room(small_pool):
    old = [np.empty((32, 32)) for _ in range(4)]  # 8 KiB each: 32 of the 64 KiB
    other = [np.empty((16, 64)) for _ in range(3)]  # 8 KiB each, given back later
    for arr in old + other:
        small_pool.give(arr)
    new = [np.empty((64, 32)) for _ in range(2)]  # 16 KiB each: 56 + 32 KiB, 24 KiB must go
    for arr in new:
        small_pool.give(arr)
    assert small_pool.held_bytes == 64 * KiB
    # three of the (32, 32) arrays, given back first, are gone; the (16, 64) ones all stay
    ids = {name: set(map(id, arrays)) for name, arrays in [("old", old), ("other", other)]}
    taken = [id(small_pool.take((32, 32), np.float64)) in ids["old"] for _ in range(3)]
    assert taken == [True, False, False]  # then new arrays
    assert all(id(small_pool.take((16, 64), np.float64)) in ids["other"] for _ in range(3))
    assert {id(small_pool.take((64, 32), np.float64)) for _ in range(2)} == set(map(id, new))
    small_pool.give(np.empty((128, 128)))  # 128 KiB: larger than the whole cap, never kept
    assert small_pool.held_bytes == 0


def test_wants_only_arrays_of_min_bytes_and_only_when_enabled(small_pool):
    assert small_pool.wants((32, 32), np.float32)
    assert not small_pool.wants((8, 8), np.float64)
    small_pool.enabled = False
    assert not small_pool.wants((32, 32), np.float32)
    small_pool.give(np.empty((32, 32)))
    assert small_pool.held_bytes == 0


def test_configure_turns_the_engine_pool_off_and_on_and_checks_its_arguments():
    before = (pool.POOL.enabled, pool.POOL.max_bytes, pool.POOL.min_bytes)
    try:
        pool.configure(enabled=True, min_bytes=1 * KiB, max_bytes=1 << 20)
        pool.POOL.give(np.empty((64, 64)))
        assert pool.stats()["held_bytes"] == 64 * 64 * 8
        pool.configure(max_bytes=1 * KiB)  # lower than what it holds: emptied
        assert pool.stats()["held_bytes"] == 0
        pool.configure(max_bytes=1 << 20)
        pool.POOL.give(np.empty((64, 64)))
        pool.configure(enabled=False)
        assert pool.stats()["held_bytes"] == 0 and not pool.POOL.enabled
        pool.configure(enabled=True)
        pool.POOL.give(np.empty((64, 64)))
        pool.clear()
        assert pool.stats()["held_bytes"] == 0
        with pytest.raises(TypeError, match="enabled"):
            pool.configure(enabled="yes")
        with pytest.raises(ValueError, match="max_bytes"):
            pool.configure(max_bytes=-1)
        with pytest.raises(ValueError, match="min_bytes"):
            pool.configure(min_bytes=1.5)
    finally:
        pool.configure(enabled=before[0], max_bytes=before[1], min_bytes=before[2])
        pool.clear()


# -- the pool inside the engine ----------------------------------------------------------------
from conftest import PAIRINGS, make_problem, pairing_id  # noqa: E402

from backproof import autodiff  # noqa: E402
from backproof.autodiff import Tensor  # noqa: E402


@pytest.fixture
def pool_everything():
    """The engine's pool on and taking arrays of every size, so that small problems use it."""
    before = (pool.POOL.enabled, pool.POOL.min_bytes)
    pool.configure(enabled=True, min_bytes=0)
    pool.clear()
    yield pool.POOL
    pool.configure(enabled=before[0], min_bytes=before[1])
    pool.clear()


def _step(spec, params, X, Y, enabled):
    pool.POOL.enabled = enabled
    return autodiff.loss_and_grads(spec, params, X, Y)


@pytest.mark.parametrize("pairing", PAIRINGS, ids=[pairing_id(p) for p in PAIRINGS])
def test_the_pool_changes_no_bit_of_any_result(pairing, pool_everything):
    for dtype in ["float64", "float32"]:
        spec, params, X, Y = make_problem(*pairing, dtype=dtype)
        J_off, g_off = _step(spec, params, X, Y, enabled=False)
        results = [_step(spec, params, X, Y, enabled=True) for _ in range(3)]
        assert pool_everything.hits > 0  # the later calls ran in recycled memory
        for J_on, g_on in results:
            assert J_on == J_off
            for k in g_off:
                assert g_on[k].dtype == g_off[k].dtype
                assert np.array_equal(g_on[k], g_off[k]), (pairing, dtype, k)
        pool.clear()


def test_gradients_handed_out_are_never_recycled(pool_everything):
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[4, 8, 8, 1], m=16)
    _, first = autodiff.loss_and_grads(spec, params, X, Y)
    kept = {k: v.copy() for k, v in first.items()}
    other = {k: v * 2 for k, v in params.items()}
    for _ in range(3):
        autodiff.loss_and_grads(spec, other, X, Y)
    for k in kept:
        assert np.array_equal(first[k], kept[k]), k


def test_what_the_caller_still_holds_is_not_recycled(pool_everything):
    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((6, 5)), requires_grad=True)
    x = rng.standard_normal((5, 7))
    hidden = autodiff.tanh(W @ x)  # the caller keeps this intermediate
    before = hidden.data.copy()
    out = autodiff.sigmoid(hidden * 3.0).sum()
    out.backward()
    assert np.array_equal(hidden.data, before)
    for _ in range(3):  # operations of the same shapes, which would reuse its memory
        autodiff.sigmoid(autodiff.tanh(W @ x) * 3.0).sum().backward()
    assert np.array_equal(hidden.data, before)


def test_a_retained_graph_is_not_recycled(pool_everything):
    rng = np.random.default_rng(1)
    W = Tensor(rng.standard_normal((6, 5)), requires_grad=True)
    x = rng.standard_normal((5, 7))
    out = autodiff.sigmoid(autodiff.tanh(W @ x)).sum()
    out.backward(retain_graph=True)
    first = W.grad.copy()
    assert pool_everything.held_bytes == 0
    W.grad = None
    out.backward()
    assert np.array_equal(W.grad, first)


def _three_pooled_steps_match_an_unpooled_one(spec, params, X, Y) -> None:
    """From an empty pool with its hit count at 0: one step with the pool off, then three with
    it on, each bit for bit the same."""
    pool.clear()
    pool.POOL.hits = 0
    J_off, g_off = _step(spec, params, X, Y, enabled=False)
    for _ in range(3):
        J_on, g_on = _step(spec, params, X, Y, enabled=True)
        assert J_on == J_off
        assert all(np.array_equal(g_on[k], g_off[k]) for k in g_off)


def test_with_the_default_settings_a_wide_layer_runs_in_recycled_memory():
    """A hidden layer of 400 x 100 float64 (320 KB) is above the default smallest array."""
    spec, params, X, Y = make_problem("tanh", "sigmoid", "bce", dims=[20, 400, 1], m=100)
    _three_pooled_steps_match_an_unpooled_one(spec, params, X, Y)
    assert pool.POOL.hits >= 2  # the layer's output and its gradient, taken again
    pool.clear()


def test_with_the_default_settings_layers_of_about_128_kib_are_pooled_too():
    """16 x 1000 float64 (125 KiB, config B's hidden layers): the size at which glibc would
    otherwise hand the heap's top back to the system and fault it in again on every call."""
    assert pool.POOL.wants((16, 1000), np.float64)
    spec, params, X, Y = make_problem("sigmoid", "sigmoid", "bce", dims=[2, 16, 16, 1], m=1000)
    _three_pooled_steps_match_an_unpooled_one(spec, params, X, Y)
    assert pool.POOL.hits >= 8  # the two layers' outputs and gradients, taken again
    pool.clear()
