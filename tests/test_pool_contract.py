"""The buffer pool's exact bounds: what size it wants, what it keeps at its two limits, and that
making room never leaves it over its cap nor frees more than it must."""

import numpy as np

from backproof.autodiff import pool
from backproof.autodiff.pool import BufferPool


def bytes_array(n: int) -> np.ndarray:
    """An array of exactly n bytes."""
    return np.empty(n, dtype=np.uint8)


def test_wants_counts_bytes_from_the_shape_and_the_dtype():
    p = BufferPool(min_bytes=256)
    assert p.wants((32,), np.float64) and not p.wants((32,), np.float32)  # 256 and 128 bytes
    assert p.wants((4, 16), np.float32) and not p.wants((3, 21), np.float32)  # 256 and 252
    assert p.wants((8, 4), "float64") and not p.wants((31,), np.float64)
    p.enabled = False
    assert not p.wants((1000,), np.float64)
    on = BufferPool(min_bytes=256)
    assert on.out((32,), np.dtype(np.float64)).shape == (32,)
    assert on.out((31,), np.dtype(np.float64)) is None
    single = on.out((64,), np.dtype(np.float32))  # 256 bytes: pooled, in the dtype asked for
    assert single.shape == (64,) and single.dtype == np.float32


def test_give_keeps_arrays_at_exactly_the_smallest_size_and_exactly_the_cap():
    p = BufferPool(min_bytes=100, max_bytes=1000)
    p.give(bytes_array(99))
    assert p.held_bytes == 0
    smallest = bytes_array(100)
    p.give(smallest)
    assert p.held_bytes == 100
    p.clear()
    whole = bytes_array(1000)
    p.give(whole)  # as large as the cap: kept
    assert p.held_bytes == 1000 and p.take((1000,), np.uint8) is whole
    p.give(bytes_array(1001))
    assert p.held_bytes == 0
    first, second = bytes_array(400), bytes_array(600)
    p.give(first)
    p.give(second)  # exactly fills the cap: nothing is dropped
    assert p.held_bytes == 1000
    assert p.take((400,), np.uint8) is first and p.take((600,), np.uint8) is second


def test_making_room_frees_the_oldest_shapes_first_and_no_more_than_needed():
    p = BufferPool(min_bytes=1, max_bytes=1000)
    a, b = bytes_array(300), bytes_array(600)
    p.give(a)
    p.give(b)
    c = bytes_array(401)  # 301 bytes over: all of a (300) is not enough, b goes too
    p.give(c)
    assert p.held_bytes == 401 <= p.max_bytes
    assert p.take((401,), np.uint8) is c and p.take((300,), np.uint8) is not a
    p.clear()
    p.give(bytes_array(300))
    p.give(bytes_array(300))  # the same shape twice: 600 held
    p.give(bytes_array(701))  # 301 over: one array of 300 is not enough, both go
    assert p.held_bytes == 701
    p.clear()
    p.give(bytes_array(300))
    p.give(bytes_array(300))
    p.give(bytes_array(699))  # 299 over: one array of 300 goes, the other stays
    assert p.held_bytes == 999


def test_a_shape_given_back_when_only_its_own_arrays_can_make_room():
    p = BufferPool(min_bytes=1, max_bytes=1000)
    old, new = bytes_array(600), bytes_array(600)
    p.give(old)
    p.give(new)  # the pool has room for one: the older goes, the newer stays
    assert p.held_bytes == 600
    assert p.take((600,), np.uint8) is new


def test_stats_names_its_counts():
    before = (pool.POOL.hits, pool.POOL.misses)
    try:
        pool.POOL.hits, pool.POOL.misses = 3, 5
        assert pool.stats() == {"held_bytes": pool.POOL.held_bytes, "hits": 3, "misses": 5}
    finally:
        pool.POOL.hits, pool.POOL.misses = before


def test_configure_keeps_what_fits_exactly_under_the_new_cap():
    before = (pool.POOL.enabled, pool.POOL.max_bytes, pool.POOL.min_bytes)
    try:
        pool.configure(enabled=True, min_bytes=1, max_bytes=1 << 20)
        pool.clear()
        pool.POOL.give(bytes_array(5000))
        pool.configure(max_bytes=5000)  # exactly what it holds: kept
        assert pool.stats()["held_bytes"] == 5000
        pool.configure(max_bytes=4999)  # lower: emptied
        assert pool.stats()["held_bytes"] == 0
    finally:
        pool.clear()
        pool.configure(enabled=before[0], max_bytes=before[1], min_bytes=before[2])
