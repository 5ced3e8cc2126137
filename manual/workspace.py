"""The arrays ``manual.loss_and_grads`` reuses from one call to the next.

Why: a step of a wide network works on arrays of n_l x m entries (64 MB each at config D,
[784, 1024, 1024, 1] with m = 8192, in float64). The C allocator maps arrays that large afresh
from the operating system on every call and unmaps them when they are freed, and on this kind of
machine the first write to each fresh page costs more than the arithmetic done on it: a step
that allocated its arrays anew ran at about half the matrix-multiply peak, and slower still
right after other work. A workspace allocates them once per network and batch size, and every
later call writes into the same, already mapped pages.

A ``Workspace`` holds, for one ``(spec, m)``:

- ``Zs[l]`` (n_l, m) for every layer: Z_l = W_l A_{l-1} + b_l, into which A_l = g_l(Z_l) is
  written in place where the derivative is written through A (``As[l] is Zs[l]``);
- ``As[l]``, an array of its own where g_l' needs Z itself (gelu, silu) and for the output
  layer (whose logits Z_L the cost reads);
- ``dZ_L`` (n_L, m), the output layer's delta, and ``dAs[l]`` (n_l, m) for each hidden layer,
  the gradient W_{l+1}^T dZ_{l+1}, turned into dZ_l in place.

That is 2 n_l m entries per hidden layer (3 when g_l' needs Z) and 3 n_L m for the output: at
config D 256 MiB in float64, 128 MiB in float32; at C ([784, 128, 64, 1], m = 1024) 3 MiB.
A workspace never refers to the caller's arrays (X, Y, params), and nothing a call returns
refers to a workspace: the cost is a float and each gradient is a new array, so what one call
returned never changes when the next call runs.

The cache (``WORKSPACES``):

- a call *takes* the workspace of its ``(spec, m)`` out of the cache and *gives* it back when it
  is done, so two threads never write into the same arrays: a thread that finds none (another
  thread has it) builds its own, and only one per ``(spec, m)`` is kept;
- it holds at most ``max_bytes`` (default 512 MiB, configs D and D32 together need 384 MiB),
  dropping the least recently used workspaces to make room; one larger than the cap serves its
  call and is then freed, as if there were no cache;
- ``configure(enabled=False)`` turns it off (every call then allocates and frees its arrays),
  ``configure(max_bytes=...)`` changes the cap, ``clear()`` frees what it holds, ``stats()``
  says what it holds.

Each array is uninitialised when it is allocated; the step writes every entry it reads (``out=``
of a ufunc or of ``matmul``), so the numbers are bit for bit those of a step that allocates.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass

import numpy as np

from ..network import NetworkSpec
from ..network.activations import REGISTRY, Activation

__all__ = [
    "key_of",
    "Layer",
    "Workspace",
    "WorkspaceCache",
    "WORKSPACES",
    "configure",
    "clear",
    "stats",
]

MiB = 1 << 20


def key_of(spec: NetworkSpec, m: int) -> tuple:
    """What a workspace's arrays depend on (not the spec's loss, init or seed): specs that
    differ only there share one. A tuple of tuples, strings and a dtype, quick to hash."""
    return (spec.layer_dims, spec.activations, spec.dtype, m)


@dataclass(frozen=True)
class Layer:
    """What the step needs to know about layer l, looked up once per workspace: the keys of its
    parameters and its activation's registry entry."""

    index: int
    W: str
    b: str
    act: Activation


class Workspace:
    """The arrays of one ``loss_and_grads`` step for ``spec`` and ``m`` examples, and its layers.

    Index l runs from 1 to L as in the math; index 0 (the data X, and dA_0, which is never
    computed) holds None, so a workspace keeps no reference to a caller's array.
    """

    __slots__ = ("key", "layers", "Zs", "As", "dAs", "dZ_L", "nbytes")

    def __init__(self, spec: NetworkSpec, m: int):
        L, dims = spec.n_layers, spec.layer_dims

        def new(l: int) -> np.ndarray:
            return np.empty((dims[l], m), spec.dtype)

        self.key = key_of(spec, m)
        self.layers = tuple(
            Layer(l, f"W{l}", f"b{l}", REGISTRY[spec.activations[l - 1]]) for l in range(1, L + 1)
        )
        self.Zs = [None] + [new(l) for l in range(1, L + 1)]
        self.As = [None] + [
            self.Zs[l] if l < L and self.layers[l - 1].act.from_output else new(l)
            for l in range(1, L + 1)
        ]
        self.dAs = [None] + [new(l) for l in range(1, L)]
        self.dZ_L = new(L)
        arrays = {id(a): a for a in [*self.Zs[1:], *self.As[1:], *self.dAs[1:], self.dZ_L]}
        self.nbytes = sum(a.nbytes for a in arrays.values())


class WorkspaceCache:
    """Workspaces by ``key_of(spec, m)``, least recently used first, at most ``max_bytes`` in
    all."""

    def __init__(self, *, enabled: bool = True, max_bytes: int = 512 * MiB):
        self.enabled = enabled
        self.max_bytes = max_bytes
        self._free: dict[tuple, Workspace] = {}  # in the order they were given back
        self._lock = threading.Lock()  # for give's eviction; take is one atomic dict.pop

    def take(self, spec: NetworkSpec, m: int) -> Workspace:
        """The workspace for ``(spec, m)``, now the caller's alone: the cached one (one
        ``dict.pop``, which no other thread can split), or a new one."""
        ws = self._free.pop((spec.layer_dims, spec.activations, spec.dtype, m), None)  # key_of
        return Workspace(spec, m) if ws is None else ws

    def give(self, ws: Workspace) -> None:
        """Keep ``ws`` for the next call with its ``(spec, m)``, if the cache is on and it fits."""
        if not self.enabled or ws.nbytes > self.max_bytes:
            return
        with self._lock:
            if self._free:  # (a step that runs alone finds the cache empty: nothing to count)
                self._drop_oldest_until(self.max_bytes - ws.nbytes)
            self._free.setdefault(ws.key, ws)  # if another thread's came back first, keep that

    def set_max_bytes(self, max_bytes: int) -> None:
        """Change the cap, dropping the least recently used workspaces until the rest fit."""
        with self._lock:
            self.max_bytes = max_bytes
            self._drop_oldest_until(max_bytes)

    def _drop_oldest_until(self, limit: int) -> None:
        """(Holding the lock) drop the least recently used workspaces until at most ``limit``
        bytes are held."""
        held = self.held_bytes
        while self._free and held > limit:
            old = self._free.pop(next(iter(self._free)), None)  # None: a take was quicker
            held -= 0 if old is None else old.nbytes

    def clear(self) -> None:
        """Drop every workspace the cache holds (their memory goes back to the allocator)."""
        self._free.clear()

    @property
    def held_bytes(self) -> int:
        """The bytes of the workspaces the cache holds now (none that a call is using)."""
        return sum(map(_nbytes, list(self._free.values())))  # a copy: takes may run meanwhile

    def __len__(self) -> int:
        return len(self._free)


_nbytes = operator.attrgetter("nbytes")

WORKSPACES = WorkspaceCache()
"""The cache ``manual.loss_and_grads`` uses."""


def configure(*, enabled: bool | None = None, max_bytes: int | None = None) -> None:
    """Turn the workspace cache on or off and set its cap in bytes. Turning it off empties it;
    lowering the cap drops the least recently used workspaces until the rest fit."""
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be True or False, got {enabled!r}")
        WORKSPACES.enabled = enabled
        if not enabled:
            WORKSPACES.clear()
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"max_bytes must be a non-negative integer (bytes), got {max_bytes!r}")
        WORKSPACES.set_max_bytes(max_bytes)


def clear() -> None:
    """Free every workspace the cache holds."""
    WORKSPACES.clear()


def stats() -> dict:
    """What the cache holds: ``{"workspaces": count, "held_bytes": bytes, "max_bytes": cap,
    "enabled": bool}``."""
    return {
        "workspaces": len(WORKSPACES),
        "held_bytes": WORKSPACES.held_bytes,
        "max_bytes": WORKSPACES.max_bytes,
        "enabled": WORKSPACES.enabled,
    }
