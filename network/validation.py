"""Checks at the boundary of every public function.

Each check raises ``ValueError`` or ``TypeError`` whose message names the argument as the
caller wrote it, what was expected and what was given. Internals trust what these checked.

The checks sit on the path of every call, so good input is accepted at the cost of about one
reduction per array: an array that already has the right type, dtype and shape is neither
converted nor copied, its finiteness is read from one sum of squares (``all_finite``), and the
targets' range checks prove their finiteness too. Only input that fails these quick tests goes
through the entry-by-entry checks, which find the first bad entry for the message.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping

import numpy as np

__all__ = [
    "describe",
    "all_finite",
    "as_float_array",
    "check_positive_int",
    "check_nonnegative_int",
    "check_positive_float",
    "check_choice",
    "check_data",
    "check_params",
    "check_inputs",
]


def describe(value) -> str:
    """A short description of ``value`` for error messages: its type, and shape/dtype for arrays."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {value!r}"
    if isinstance(value, (numbers.Number, str)):
        return f"{type(value).__name__} {value!r}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def check_choice(name: str, value, choices) -> str:
    """``value`` must be one of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {sorted(choices)}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_positive_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {describe(value)}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_nonnegative_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer, got {describe(value)}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive finite number, got {describe(value)}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


# np.vdot without NumPy's __array_function__ dispatch, which only matters for array-likes of other
# libraries; the checks call it on plain ndarrays, on every call, where the dispatch is about
# half the cost of the whole call for a small array
_vdot = getattr(np.vdot, "_implementation", np.vdot)


def all_finite(arr: np.ndarray) -> bool:
    """Whether every entry of the float array ``arr`` is finite, without a boolean copy.

    x . x = sum_i x_i^2 is finite exactly when every x_i is, unless the squares overflow
    (|x_i| above about 1e154 in float64, 1e19 in float32): one BLAS pass over the data, no new
    array. Only when that sum is not finite, or the array is not one contiguous block, are the
    entries tested one by one. (``np.vdot``, unlike ``dot`` and ``@``, raises no floating-point
    warning when the sum overflows, so legal huge values stay silent.)
    """
    if arr.flags.c_contiguous:  # vdot reads it as it lies in memory
        if math.isfinite(_vdot(arr, arr)):
            return True
    elif arr.flags.f_contiguous:  # vdot would copy it into C order: its transpose is C-ordered
        if math.isfinite(_vdot(arr.T, arr.T)):
            return True
    return bool(np.isfinite(arr).all())


def _first_non_finite(name: str, arr: np.ndarray) -> None:
    """Raise, naming the first entry of ``arr`` that is not finite, if there is one."""
    if not all_finite(arr):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, got {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}"
        )


def as_float_array(
    name: str, value, *, ndim: int | None = None, dtype=None, finite: bool = True
) -> np.ndarray:
    """Turn ``value`` into a finite, non-empty float array (``dtype`` if given), or raise.

    Integer and boolean arrays are accepted and converted; strings, objects and complex
    numbers are not. A float array of the right dtype and ``ndim`` is returned as it is.
    ``finite=False`` leaves finiteness to the caller (whose own checks imply it).
    """
    if (
        type(value) is np.ndarray
        and value.dtype.kind == "f"
        and (dtype is None or value.dtype == dtype)
        and (ndim is None or value.ndim == ndim)
        and value.size
        and (not finite or all_finite(value))
    ):
        return value
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got an array of dtype {arr.dtype}"
            + (" (complex)" if arr.dtype.kind == "c" else "")
        )
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got an array of shape {arr.shape}")
    target = (
        np.dtype(dtype)
        if dtype is not None
        else (arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64))
    )
    arr = arr.astype(target, copy=False)
    if finite:
        _first_non_finite(name, arr)
    return arr


def _check_spec(spec) -> None:
    if not isinstance(spec, _network_spec_class()):
        raise TypeError(f"spec must be a NetworkSpec, got {describe(spec)}")


@functools.cache
def _network_spec_class() -> type:
    """``NetworkSpec``, imported on first use (spec.py imports this module) and remembered, so
    that a call does not pay an import statement's look-up."""
    from .spec import NetworkSpec

    return NetworkSpec


def check_inputs(
    spec, params: Mapping, X, Y
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``check_params`` and ``check_data`` in one call, for a function that takes all four (a
    loss-and-gradient step, where this runs on every call): ``(params, X, Y)``, checked, with
    the spec checked once."""
    _check_spec(spec)
    return _checked_params(spec, params), *_checked_data(spec, X, Y)


def check_data(spec, X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X`` (n_x, m) and ``Y`` (n_y, m) against ``spec``; return them in spec.dtype."""
    _check_spec(spec)
    return _checked_data(spec, X, Y)


def _checked_data(spec, X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array("X", X, ndim=2, dtype=spec.dtype)
    # for bce and ce the targets' range checks below also prove them finite
    Y = as_float_array("Y", Y, ndim=2, dtype=spec.dtype, finite=spec.loss == "mse")
    n_x, n_y = spec.layer_dims[0], spec.layer_dims[-1]
    if X.shape[0] != n_x:
        raise ValueError(
            f"X must have shape ({n_x}, m) (features x examples) for layer_dims "
            f"{list(spec.layer_dims)}, got shape {X.shape}"
        )
    if Y.shape[0] != n_y:
        raise ValueError(
            f"Y must have shape ({n_y}, m) (outputs x examples) for layer_dims "
            f"{list(spec.layer_dims)}, got shape {Y.shape}"
        )
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must have the same number of examples (columns), "
            f"got X with {X.shape[1]} and Y with {Y.shape[1]}"
        )
    if spec.loss == "bce":
        _check_probabilities(Y)
    elif spec.loss == "ce":
        _check_distributions(Y)
    return X, Y


def _check_probabilities(Y: np.ndarray) -> None:
    """bce targets: every entry in [0, 1] (a NaN fails both comparisons, an inf one of them)."""
    flat = Y.ravel(order="K")
    lo, hi = flat.item(flat.argmin()), flat.item(flat.argmax())  # NaN wins both, first one
    if not (0 <= lo and hi <= 1):
        _first_non_finite("Y", Y)
        raise ValueError(f"Y must lie in [0, 1] for loss 'bce', got values from {lo} to {hi}")


def _check_distributions(Y: np.ndarray) -> None:
    """ce targets: non-negative columns that sum to 1 (so finite: an inf or NaN spoils a sum)."""
    flat = Y.ravel(order="K")
    lo = flat.item(flat.argmin())
    if not lo >= 0:
        _first_non_finite("Y", Y)
        raise ValueError(f"Y must be non-negative for loss 'ce', got a minimum of {lo}")
    sums = np.add.reduce(Y, axis=0)
    off = np.abs(sums - 1.0)
    j = int(off.argmax())
    tol = 1e-3 if Y.dtype == np.float32 else 1e-9
    if not off[j] <= tol:
        _first_non_finite("Y", Y)
        raise ValueError(
            "Y must have columns that sum to 1 (one-hot or class probabilities) for loss "
            f"'ce', got column {j} summing to {sums[j]}"
        )


def check_params(spec, params: Mapping) -> dict[str, np.ndarray]:
    """Validate a parameter dict against ``spec``: keys W1..WL, b1..bL, shapes, dtype, finite."""
    _check_spec(spec)
    return _checked_params(spec, params)


def _checked_params(spec, params: Mapping) -> dict[str, np.ndarray]:
    if not (type(params) is dict or isinstance(params, Mapping)):  # the ABC check costs more
        raise TypeError(f"params must be a dict of arrays, got {describe(params)}")
    expected = _param_shapes(spec.layer_dims)
    if params.keys() != expected.keys():
        _name_the_wrong_key(spec, params, expected)
    dtype, checked = spec.dtype, {}
    for key, shape in expected.items():
        arr = params[key]
        # the quick test: an array of the right dtype and shape whose sum of squares is finite
        # (all_finite, inlined: this loop runs on every call; vdot reads a C-ordered array as it
        # lies and copies any other, still correct, into C order)
        if not (
            type(arr) is np.ndarray
            and arr.dtype == dtype
            and arr.shape == shape
            and math.isfinite(_vdot(arr, arr))
        ):
            arr = _check_param(spec, key, arr, shape)
        checked[key] = arr
    return checked


@functools.lru_cache(maxsize=64)
def _param_shapes(layer_dims: tuple) -> dict[str, tuple[int, int]]:
    """``NetworkSpec.param_shapes``, remembered per architecture (do not modify the result)."""
    shapes = {}
    for l in range(1, len(layer_dims)):
        shapes[f"W{l}"] = (layer_dims[l], layer_dims[l - 1])
        shapes[f"b{l}"] = (layer_dims[l], 1)
    return shapes


def _name_the_wrong_key(spec, params: Mapping, expected: dict) -> None:
    missing = [k for k in expected if k not in params]
    if missing:
        raise ValueError(
            f"params is missing {missing[0]!r} (expected keys {list(expected)} for layer_dims "
            f"{list(spec.layer_dims)}, got {list(params)})"
        )
    extra = [k for k in params if k not in expected]
    if extra:
        raise ValueError(
            f"params has an unexpected key {extra[0]!r} (expected keys {list(expected)} for "
            f"layer_dims {list(spec.layer_dims)})"
        )


def _check_param(spec, key: str, value, shape: tuple) -> np.ndarray:
    """The entry-by-entry checks of one parameter that failed the quick test."""
    arr = as_float_array(key, value, dtype=None)
    if arr.shape != shape:
        raise ValueError(
            f"{key} must have shape {shape} for layer_dims {list(spec.layer_dims)}, "
            f"got shape {arr.shape}"
        )
    if arr.dtype != spec.dtype:
        raise TypeError(
            f"{key} must have dtype {spec.dtype.name} as the spec says, got {arr.dtype}"
        )
    return arr
