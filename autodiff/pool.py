"""A pool of large arrays, so that the engine reuses its memory instead of mapping it anew.

Why: a forward output or a VJP temporary of a wide layer is tens of megabytes. The C allocator
hands such an array fresh pages from the operating system on every call and gives them back when
it is freed, and the first write to each fresh page costs more than the arithmetic done on it
(on this machine a new 64 MB array costs about as much as a third of the matrix product that
fills it). So the step's time came to depend on what ran before it. The pool keeps the arrays a
backward pass releases and hands them to the next operation that needs one of the same shape and
dtype: their pages stay mapped and warm.

The rules:

- ``take(shape, dtype)`` (or ``out(shape, dtype)``, which says None for what the pool leaves to
  NumPy) returns an uninitialised array: one from the pool if it holds one of
  that shape and dtype, else a new one. Callers write every entry (``out=`` of a ufunc or of
  ``matmul``), so the numbers are bit for bit those computed without the pool.
- ``give(arr)`` puts an array back. The caller guarantees that nothing else refers to it (the
  backward pass asks ``tape.may_overwrite``). Arrays smaller than ``min_bytes`` are not kept:
  the allocator serves those cheaply, and pooling them would only add work to every small
  operation. The pool never holds more than ``max_bytes``: to make room it frees the arrays of
  the shapes given back least recently, so that when a program moves on to another network (a
  benchmark from config D to D32), the new shapes replace the old instead of being refused.
- ``configure(enabled=..., max_bytes=..., min_bytes=...)`` changes the settings; ``clear()``
  empties the pool, returning its memory to the allocator. Defaults: on, at most 512 MiB
  (config D's step needs about 400 MB in float64), arrays of 64 KiB and up.

Why as small as 64 KiB: glibc's allocator gives the top of its heap back to the operating
system whenever more than 128 KiB of it is free (until a large mapped block has been freed, which
raises that threshold), so a step that frees and allocates arrays of about 128 KiB, config B's
16 x 1000 layers, could find its memory returned and first-touched anew on every call: 124 page
faults and twice the time per call, whenever nothing else in the process kept that heap busy
(a training loop of the engine alone, or beside ``manual``'s workspace). Pooled, those arrays
never go back to the allocator.

One pool serves the whole process; a lock makes taking and giving safe for threads that
record graphs of their own (it is taken only for arrays of ``min_bytes`` and more, whose
arithmetic costs far more than the lock).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["BufferPool", "POOL", "configure", "clear", "stats"]

MiB = 1 << 20


class BufferPool:
    """Free arrays by (shape, dtype), with a cap on the bytes held; the shapes given back least
    recently are the first to go when the cap is reached."""

    __slots__ = ("enabled", "max_bytes", "min_bytes", "_free", "_held", "_lock", "hits", "misses")

    def __init__(self, *, enabled: bool = True, max_bytes: int = 512 * MiB, min_bytes=64 << 10):
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.min_bytes = min_bytes
        # (shape, dtype) -> free arrays, in the order the shapes were last given back
        self._free: OrderedDict[tuple, list] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def wants(self, shape: tuple, dtype) -> bool:
        """Whether an array of this shape and dtype goes through the pool."""
        if not self.enabled:
            return False
        size = np.dtype(dtype).itemsize
        for n in shape:
            size *= n
        return size >= self.min_bytes

    def out(self, shape: tuple, dtype) -> np.ndarray | None:
        """The ``out=`` for a result of ``shape`` and float ``dtype``: an array from the pool,
        or None (NumPy allocates as usual) when the pool is off or the result is small."""
        if not self.enabled:
            return None
        size = dtype.itemsize
        for n in shape:
            size *= n
        return self.take(shape, dtype) if size >= self.min_bytes else None

    def take(self, shape: tuple, dtype) -> np.ndarray:
        """An array of ``shape`` and ``dtype`` whose entries the caller will all overwrite."""
        free = self._free.get((shape, np.dtype(dtype)))
        if free:
            with self._lock:
                if free:  # (another thread may have taken the last one meanwhile)
                    arr = free.pop()
                    self._held -= arr.nbytes
                    self.hits += 1
                    return arr
        self.misses += 1
        return np.empty(shape, dtype)

    def give(self, arr: np.ndarray) -> None:
        """Keep ``arr`` (which nothing else refers to) for a later ``take``, if it is worth
        keeping; make room for it by freeing the arrays of the shapes given back least recently."""
        nbytes = arr.nbytes
        if not self.enabled or nbytes < self.min_bytes or nbytes > self.max_bytes:
            return
        flags = arr.flags
        if not (flags.c_contiguous and flags.writeable) or arr.base is not None:
            return
        key = (arr.shape, arr.dtype)
        with self._lock:
            free = self._free.get(key)
            if free is None:
                free = self._free[key] = []
            else:
                self._free.move_to_end(key)  # this shape is now the one given back last
            if self._held + nbytes > self.max_bytes:
                self._make_room(self._held + nbytes - self.max_bytes)
                free = self._free.setdefault(key, [])  # (making room may have dropped it)
            free.append(arr)
            self._held += nbytes

    def _make_room(self, nbytes: int) -> None:
        """Free at least ``nbytes`` of arrays, from the shape given back least recently on
        (the caller holds the lock)."""
        for key in list(self._free):
            free = self._free[key]
            while free and nbytes > 0:
                dropped = free.pop()
                self._held -= dropped.nbytes
                nbytes -= dropped.nbytes
            if not free:
                del self._free[key]
            if nbytes <= 0:
                return

    def clear(self) -> None:
        """Drop every array the pool holds."""
        with self._lock:
            self._free = OrderedDict()
            self._held = 0

    @property
    def held_bytes(self) -> int:
        return self._held


POOL = BufferPool()
"""The engine's pool."""


def configure(
    *, enabled: bool | None = None, max_bytes: int | None = None, min_bytes: int | None = None
) -> None:
    """Turn the engine's pool on or off and set its cap and its smallest pooled array (bytes).
    Turning it off, or lowering the cap, empties it."""
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        POOL.enabled = enabled
        if not enabled:
            POOL.clear()
    for name, value in (("max_bytes", max_bytes), ("min_bytes", min_bytes)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer (bytes), got {value!r}")
        setattr(POOL, name, value)
    if max_bytes is not None and POOL.held_bytes > max_bytes:
        POOL.clear()


def clear() -> None:
    """Empty the engine's pool (its memory goes back to the allocator)."""
    POOL.clear()


def stats() -> dict:
    """What the pool holds and how often it served a request: bytes held, hits, misses."""
    return {"held_bytes": POOL.held_bytes, "hits": POOL.hits, "misses": POOL.misses}
