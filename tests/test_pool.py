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
