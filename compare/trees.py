"""Nested arguments: a scalar, an array, or any nesting of dicts, lists and tuples of those.

A ``Tree`` records the structure of one such value — its containers and, at the bottom, its
*leaves* (the arrays and scalars) — and turns values of that structure into one flat float
vector and back. Every check in ``compare`` reaches ``x`` through it, so that

- a leaf is named by its path from the root, ``x[1]['W']``, and an entry by its path and its
  index, ``x[1]['W'][2, 0]``;
- a value of another structure (a gradient that is a list of 2 arrays where ``x`` is a list of
  3) is refused with an error that names both structures — nothing is stacked, padded or
  reordered to make it fit;
- the caller's arrays are only read: ``unflatten`` builds fresh arrays every time.

Dicts are matched by key (in the order of ``x``); lists and tuples by position (a tuple may
stand where ``x`` has a list of the same length, and the reverse). Several arguments of one
function (``argnums``) are a tuple of trees: ``Arguments`` picks them and puts them back.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..network.validation import describe

__all__ = ["Tree", "Leaf", "Arguments", "describe_structure", "leaf_array"]


@dataclass(frozen=True)
class Leaf:
    """One array (or scalar) of a tree: its path from the root, shape, dtype and kind."""

    path: tuple
    shape: tuple
    dtype: np.dtype
    scalar: bool  # a Python or NumPy number rather than an array: rebuilt as a number

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


def _is_leaf(value) -> bool:
    """Numbers and arrays are leaves; so are objects carrying an array in ``.data`` (Tensor)."""
    if isinstance(value, (np.ndarray, numbers.Number, np.generic)):
        return True
    return hasattr(value, "data") and isinstance(value.data, np.ndarray)


def leaf_array(value) -> np.ndarray:
    if not isinstance(value, np.ndarray) and hasattr(value, "data"):
        value = value.data
    return np.asarray(value)


def _only_numbers(value) -> bool:
    """A list or tuple of plain numbers (nested or not): an array written as a list, which a
    leaf accepts — unlike a list of arrays, which would have to be stacked."""
    if isinstance(value, (list, tuple)):
        return all(_only_numbers(v) for v in value)
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _kind(node) -> str:
    if isinstance(node, Mapping):
        return "dict"
    return "sequence" if isinstance(node, (list, tuple)) else "leaf"


def _is_container(value) -> bool:
    return isinstance(value, (Mapping, list, tuple))


def describe_structure(value) -> str:
    """'a list of 3 arrays', "a dict with keys ['W', 'b']", 'an array of shape (2, 3)'."""
    if isinstance(value, Mapping):
        return f"a dict with keys {list(value)}"
    if isinstance(value, (list, tuple)):
        kind = type(value).__name__
        noun = "arrays" if value and all(isinstance(v, np.ndarray) for v in value) else "items"
        return f"a {kind} of {len(value)} {noun}" if value else f"an empty {kind}"
    if isinstance(value, (bool, np.bool_)):
        return describe(value)
    if isinstance(value, (numbers.Number, np.generic)):
        return "a scalar"
    if _is_leaf(value):
        return f"an array of shape {leaf_array(value).shape}"
    return describe(value)


def path_label(name: str, path: tuple) -> str:
    """``x`` and ``(1, 'W')`` -> ``x[1]['W']``."""
    return name + "".join(f"[{k!r}]" for k in path)


def index_label(index: tuple) -> str:
    """``(2, 0)`` -> ``[2, 0]``; the empty index of a scalar -> ``''``."""
    return f"[{', '.join(str(int(i)) for i in index)}]" if index else ""


class Tree:
    """The structure of a nested value ``x`` and its flat float64 vector.

    ``leaves`` lists the arrays and scalars depth first, in the order of ``x``; ``offsets[i]``
    is where leaf i starts in the flat vector, ``size`` the vector's length. ``name`` is what
    error messages and labels call the root (``x``, ``grad_f(x)``, ``args[1]``); ``roots``, when
    given, names the top level's children instead (``('args[0]', 'args[2]')``, or for a dict
    ``{'W1': 'W1', ...}``, so that a dict's keys name its parameters as they are).
    """

    def __init__(self, value, name: str = "x", roots: Sequence[str] | Mapping | None = None):
        self.name = name
        if roots is not None:
            roots = dict(roots) if isinstance(roots, Mapping) else tuple(roots)
        self.roots = roots
        self.leaves: list[Leaf] = []
        self._skeleton = self._record(value, ())
        self.offsets = np.cumsum([0] + [leaf.size for leaf in self.leaves])
        self.size = int(self.offsets[-1])  # at least 1: empty containers and leaves are refused

    # -- building -----------------------------------------------------------------------------
    def _record(self, value, path: tuple):
        """The skeleton of ``value``: its containers, with each leaf replaced by its number."""
        if isinstance(value, Mapping):
            if not value:
                raise ValueError(f"{self.where(path)} must not be an empty dict")
            return {k: self._record(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError(f"{self.where(path)} must not be an empty {type(value).__name__}")
            items = [self._record(v, (*path, i)) for i, v in enumerate(value)]
            return _rebuild_sequence(value, items)
        return self._record_leaf(value, path)

    def _record_leaf(self, value, path: tuple) -> int:
        label = self.where(path)
        if isinstance(value, (bool, np.bool_, str, bytes)) or value is None or not _is_leaf(value):
            raise TypeError(
                f"{label} must be a number, a float array, or a dict/list/tuple of those, "
                f"got {describe(value)}"
            )
        arr = leaf_array(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{label} must be a real float array, got dtype {arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"{label} must not be empty, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} must be finite")
        dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
        scalar = isinstance(value, (numbers.Number, np.generic))
        self.leaves.append(Leaf(path, arr.shape, dtype, scalar))
        return len(self.leaves) - 1

    # -- names --------------------------------------------------------------------------------
    def label_of(self, path: tuple) -> str:
        """The name of the node at ``path``: ``x[1]['W']`` (or ``args[2]['W']`` with roots)."""
        if self.roots is not None and path:
            return path_label(self.roots[path[0]], path[1:])
        return path_label(self.name, path)

    def where(self, path: tuple) -> str:
        """The node at ``path`` named for an error message: from the root, ``x['W1'][0]``,
        even where ``roots`` names a dict's parameters by their keys alone."""
        if isinstance(self.roots, dict):
            return path_label(self.name, path)
        return self.label_of(path)

    def label(self, i: int) -> str:
        """The name of leaf i."""
        return self.label_of(self.leaves[i].path)

    def entry_label(self, flat_index: int) -> str:
        """The name of one entry of the flat vector: ``x[1]['W'][2, 0]``."""
        i, index = self.locate(flat_index)
        return self.label(i) + index_label(index)

    def locate(self, flat_index: int) -> tuple[int, tuple]:
        """(leaf number, index within that leaf) of a position in the flat vector."""
        if not 0 <= flat_index < self.size:
            raise IndexError(f"flat index {flat_index} outside 0..{self.size - 1}")
        i = int(np.searchsorted(self.offsets, flat_index, side="right") - 1)
        index = np.unravel_index(flat_index - int(self.offsets[i]), self.leaves[i].shape)
        return i, tuple(int(j) for j in index)

    # -- values of this structure -------------------------------------------------------------
    def match(self, value, who: str, extras: list | None = None) -> list:
        """The leaves of ``value``, one per leaf of this tree (``None`` where a dict lacks a
        key), after checking that its containers are those of ``x``. ``who`` names ``value``
        in the error (``'grad_f returned'``). A dict key that ``x`` lacks is an error, or,
        when ``extras`` is a list, a note appended to it. Leaves are returned as they are;
        their shapes are the caller's business."""
        found: list = [None] * len(self.leaves)
        self._match(self._skeleton, value, (), who, found, extras)
        return found

    def _match(self, skeleton, value, path, who, found, extras) -> None:
        if isinstance(skeleton, int):
            if _is_container(value) and not _only_numbers(value):
                self._mismatch(skeleton, value, path, who)
            found[skeleton] = value
            return
        if isinstance(skeleton, Mapping):
            if not isinstance(value, Mapping):
                self._mismatch(skeleton, value, path, who)
            extra = [k for k in value if k not in skeleton]
            if extra:
                message = (
                    f"{who} a dict with keys {list(value)} at {self.where(path)}, which has "
                    f"keys {list(skeleton)}: unexpected {extra}"
                )
                if extras is None:
                    raise ValueError(message)
                extras.append(message)
            for k, child in skeleton.items():
                if k in value:
                    self._match(child, value[k], (*path, k), who, found, extras)
            return
        if not isinstance(value, (list, tuple)) or len(value) != len(skeleton):
            self._mismatch(skeleton, value, path, who)
        for k, (child, item) in enumerate(zip(skeleton, value)):
            self._match(child, item, (*path, k), who, found, extras)

    def _mismatch(self, skeleton, value, path, who):
        """A TypeError when ``value`` is another kind of node (a dict, a sequence or a leaf),
        a ValueError when it is the same kind with other keys or another length."""
        expected = describe_structure(self._fill(skeleton, self._placeholder))
        message = f"{who} {describe_structure(value)}, {self.where(path)} is {expected}"
        raise (ValueError if _kind(value) == _kind(skeleton) else TypeError)(message)

    def flatten(self, value, who: str = "the value") -> np.ndarray:
        """``value`` (of this structure, every leaf of its shape) as one new float64 vector."""
        parts = []
        for i, item in enumerate(self.match(value, who)):
            label = self.label(i)
            if item is None:
                raise ValueError(f"{who} nothing for {label}")
            arr = leaf_array(item)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{who} dtype {arr.dtype} for {label}, which is real")
            if arr.shape != self.leaves[i].shape:
                raise ValueError(
                    f"{who} shape {arr.shape} for {label}, which has shape {self.leaves[i].shape}"
                )
            parts.append(arr.astype(np.float64).ravel())
        return np.concatenate(parts)

    def leaf_dict(self, value, who: str = "the value") -> dict:
        """``{leaf label: array}`` of a value of this structure (containers checked; leaves as
        given, arrays of any shape, absent where a dict lacks a key) — the flat dict of arrays
        that ``check_grad`` compares parameter by parameter."""
        return {
            self.label(i): leaf_array(item)
            for i, item in enumerate(self.match(value, who))
            if item is not None
        }

    def from_leaf_dict(self, arrays: Mapping):
        """The value of this structure whose leaves are ``arrays[label]``; scalar leaves come
        back as numbers."""

        def leaf(i):
            arr = np.asarray(arrays[self.label(i)])
            if not self.leaves[i].scalar:
                return arr
            return float(arr.reshape(())[()]) if arr.dtype == np.float64 else arr.reshape(())[()]

        return self._fill(self._skeleton, leaf)

    def part(self, vec: np.ndarray, i: int) -> np.ndarray:
        """Leaf i's slice of ``vec``, reshaped (a view)."""
        return vec[self.offsets[i] : self.offsets[i + 1]].reshape(self.leaves[i].shape)

    def unflatten(self, vec: np.ndarray, dtype=None):
        """A new value of this structure from a flat vector: fresh arrays in each leaf's dtype
        (or ``dtype``); scalars come back as numbers. A complex ``vec`` stays complex."""
        vec = np.asarray(vec)
        if vec.shape != (self.size,):
            raise ValueError(
                f"a flat vector for {self.name} has shape ({self.size},), got {vec.shape}"
            )

        def leaf(i):
            target = vec.dtype if vec.dtype.kind == "c" else np.dtype(dtype or self.leaves[i].dtype)
            arr = self.part(vec, i).astype(target)  # always a copy
            if not self.leaves[i].scalar:
                return arr
            return float(arr[()]) if target == np.float64 else arr.reshape(())[()]

        return self._fill(self._skeleton, leaf)

    def _fill(self, skeleton, make: Callable):
        if isinstance(skeleton, int):
            return make(skeleton)
        if isinstance(skeleton, Mapping):
            return {k: self._fill(v, make) for k, v in skeleton.items()}
        return _rebuild_sequence(skeleton, [self._fill(v, make) for v in skeleton])

    def map_leaves(self, make: Callable):
        """A value of this structure whose leaf i is ``make(i)``."""
        return self._fill(self._skeleton, make)

    def _placeholder(self, i: int):
        """Something shaped like leaf i, for describing the structure in words."""
        return 0.0 if self.leaves[i].scalar else np.empty(self.leaves[i].shape)

    @property
    def dtype(self) -> np.dtype:
        """float32 when any leaf is float32 (the precision the caller works in), else float64."""
        return (
            np.dtype(np.float32)
            if any(leaf.dtype == np.float32 for leaf in self.leaves)
            else np.dtype(np.float64)
        )

    def describe(self) -> str:
        return describe_structure(self.map_leaves(self._placeholder))


def _rebuild_sequence(template, items: list):
    """A list, tuple or namedtuple like ``template`` holding ``items``."""
    if isinstance(template, tuple):
        return type(template)(*items) if hasattr(template, "_fields") else tuple(items)
    return list(items)


@dataclass
class Arguments:
    """The arguments a check differentiates, picked from ``args`` by ``argnums``.

    ``argnums`` is an int (the derivative has that argument's structure) or a tuple of ints
    (a tuple of the chosen arguments, in that order, as autograd and JAX do). ``tree`` is the
    structure of the chosen value; ``call(f, value)`` calls ``f`` with the chosen arguments
    replaced by ``value`` and the others as given.
    """

    args: tuple
    argnums: int | tuple
    tree: Tree
    value: object

    @classmethod
    def pick(cls, args: tuple, argnums) -> Arguments:
        if not args:
            raise TypeError("a check needs at least one argument x to differentiate")
        many = isinstance(argnums, tuple)
        nums = argnums if many else (argnums,)
        if not nums:
            raise ValueError("argnums must name at least one argument, got ()")
        for k in nums:
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
                raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
            if not -len(args) <= k < len(args):
                raise ValueError(f"argnums {argnums!r} is out of range for {len(args)} argument(s)")
        nums = tuple(int(k) % len(args) for k in nums)
        if len(set(nums)) != len(nums):
            raise ValueError(f"argnums must not repeat an argument, got {argnums!r}")

        def name(k):
            return "x" if len(args) == 1 else f"args[{k}]"

        if many:
            value = tuple(args[k] for k in nums)
            tree = Tree(value, name="args", roots=[name(k) for k in nums])
            return cls(tuple(args), nums, tree, value)
        return cls(tuple(args), nums[0], Tree(args[nums[0]], name=name(nums[0])), args[nums[0]])

    def call(self, f: Callable, value):
        args = list(self.args)
        if isinstance(self.argnums, tuple):
            for k, v in zip(self.argnums, value):
                args[k] = v
        else:
            args[self.argnums] = value
        return f(*args)
