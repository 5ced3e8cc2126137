"""Checks at the boundary of every public function.

Each check raises ``ValueError`` or ``TypeError`` whose message names the argument as the
caller wrote it, what was expected and what was given. Internals trust what these checked.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

__all__ = [
    "describe",
    "as_float_array",
    "check_positive_int",
    "check_nonnegative_int",
    "check_positive_float",
    "check_choice",
    "check_data",
    "check_params",
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


def as_float_array(name: str, value, *, ndim: int | None = None, dtype=None) -> np.ndarray:
    """Turn ``value`` into a finite, non-empty float array (``dtype`` if given), or raise.

    Integer and boolean arrays are accepted and converted; strings, objects and complex
    numbers are not.
    """
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
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} must be finite, got {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}"
        )
    return arr


def _check_spec(spec) -> None:
    from .spec import NetworkSpec  # spec.py imports this module: import on first use

    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec, got {describe(spec)}")


def check_data(spec, X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``X`` (n_x, m) and ``Y`` (n_y, m) against ``spec``; return them in spec.dtype."""
    _check_spec(spec)
    X = as_float_array("X", X, ndim=2, dtype=spec.dtype)
    Y = as_float_array("Y", Y, ndim=2, dtype=spec.dtype)
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
    if spec.loss == "bce" and np.any((Y < 0) | (Y > 1)):
        raise ValueError(
            f"Y must lie in [0, 1] for loss 'bce', got values from {Y.min()} to {Y.max()}"
        )
    if spec.loss == "ce":
        if np.any(Y < 0):
            raise ValueError(f"Y must be non-negative for loss 'ce', got a minimum of {Y.min()}")
        sums = Y.sum(axis=0)
        tol = 1e-3 if Y.dtype == np.float32 else 1e-9
        if not np.allclose(sums, 1.0, atol=tol, rtol=0):
            j = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(
                "Y must have columns that sum to 1 (one-hot or class probabilities) for loss "
                f"'ce', got column {j} summing to {sums[j]}"
            )
    return X, Y


def check_params(spec, params: Mapping) -> dict[str, np.ndarray]:
    """Validate a parameter dict against ``spec``: keys W1..WL, b1..bL, shapes, dtype, finite."""
    _check_spec(spec)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of arrays, got {describe(params)}")
    expected = spec.param_shapes()
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
    checked = {}
    for key, shape in expected.items():
        arr = as_float_array(key, params[key], dtype=None)
        if arr.shape != shape:
            raise ValueError(
                f"{key} must have shape {shape} for layer_dims {list(spec.layer_dims)}, "
                f"got shape {arr.shape}"
            )
        if arr.dtype != spec.dtype:
            raise TypeError(
                f"{key} must have dtype {spec.dtype.name} as the spec says, got {arr.dtype}"
            )
        checked[key] = arr
    return checked
