"""Data sets in the column convention: ``X`` (n_x, m), labels ``y`` (1, m).

The generators are seeded (``numpy.random.default_rng(seed)``) and make the same points for the
same arguments. They return integer class labels as a (1, m) float row; ``targets`` turns labels
into what a spec's loss wants (a 0/1 row for bce and single-output mse, one-hot columns for ce).
"""

from __future__ import annotations

import csv
import os

import numpy as np

from .validation import check_choice, check_positive_int, describe

__all__ = [
    "xor",
    "moons",
    "circles",
    "spiral",
    "blobs",
    "DATASETS",
    "make_dataset",
    "one_hot",
    "targets",
    "load_csv",
    "load_npz",
    "load_data",
]


def _check_common(m, noise, seed):
    m = check_positive_int("m", m)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)):
        raise TypeError(f"noise must be a non-negative number, got {describe(noise)}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative finite number, got {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {describe(seed)}")
    return m, float(noise), np.random.default_rng(seed)


def _finish(points: np.ndarray, labels: np.ndarray, rng, noise: float):
    points = points + noise * rng.standard_normal(points.shape)
    order = rng.permutation(points.shape[0])
    X = np.ascontiguousarray(points[order].T)
    y = labels[order].astype(np.float64)[None, :]
    return X, y


def xor(m: int = 200, noise: float = 0.1, seed: int = 0):
    """Points near the corners of the unit square; label 1 where exactly one coordinate is 1."""
    m, noise, rng = _check_common(m, noise, seed)
    corners = rng.integers(0, 2, size=(m, 2))
    labels = corners[:, 0] ^ corners[:, 1]
    return _finish(corners.astype(np.float64), labels, rng, noise)


def moons(m: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles; label 0 for the upper, 1 for the lower."""
    m, noise, rng = _check_common(m, noise, seed)
    n0 = m // 2
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, m - n0)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    labels = np.r_[np.zeros(n0, int), np.ones(m - n0, int)]
    return _finish(np.vstack([upper, lower]), labels, rng, noise)


def circles(m: int = 200, noise: float = 0.05, seed: int = 0, factor: float = 0.5):
    """An inner circle (label 1) of radius ``factor`` inside a unit circle (label 0)."""
    m, noise, rng = _check_common(m, noise, seed)
    n0 = m // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, m - n0, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    labels = np.r_[np.zeros(n0, int), np.ones(m - n0, int)]
    return _finish(np.vstack([outer, inner]), labels, rng, noise)


def spiral(m: int = 300, noise: float = 0.2, seed: int = 0, classes: int = 2):
    """``classes`` interleaved spiral arms, labels 0..classes-1."""
    m, noise, rng = _check_common(m, noise, seed)
    classes = check_positive_int("classes", classes)
    points, labels = [], []
    for k in range(classes):
        n = m // classes + (1 if k < m % classes else 0)
        r = np.linspace(0.05, 1.0, n)
        t = np.linspace(k * 2 * np.pi / classes, k * 2 * np.pi / classes + 4.0, n)
        points.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(n, k))
    return _finish(np.vstack(points), np.concatenate(labels), rng, noise * 0.1)


def blobs(m: int = 200, noise: float = 1.0, seed: int = 0, classes: int = 2, n_features: int = 2):
    """``classes`` Gaussian blobs of standard deviation ``noise`` around seeded centres."""
    m, noise, rng = _check_common(m, noise, seed)
    classes = check_positive_int("classes", classes)
    n_features = check_positive_int("n_features", n_features)
    centres = rng.uniform(-5, 5, size=(classes, n_features))
    labels = np.arange(m) % classes
    return _finish(centres[labels], labels, rng, noise)


DATASETS = {"xor": xor, "moons": moons, "circles": circles, "spiral": spiral, "blobs": blobs}


def make_dataset(name: str, m: int | None = None, seed: int = 0, **kwargs):
    """A built-in data set by name: ``(X, y)`` with labels y of shape (1, m)."""
    check_choice("data", name, DATASETS)
    if m is not None:
        kwargs["m"] = m
    return DATASETS[name](seed=seed, **kwargs)


def one_hot(y, n_classes: int) -> np.ndarray:
    """Integer labels of shape (1, m) or (m,) -> one-hot columns of shape (n_classes, m)."""
    y = np.asarray(y).reshape(-1)
    if y.size and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"y must hold integer class labels 0..{n_classes - 1}, got values from "
            f"{y.min()} to {y.max()}"
        )
    out = np.zeros((n_classes, y.size))
    out[y.astype(int), np.arange(y.size)] = 1.0
    return out


def targets(spec, y) -> np.ndarray:
    """The Y a spec's loss wants from class labels ``y`` (1, m), in ``spec.dtype``.

    One output: y itself (bce wants 0/1 labels). Several outputs: one-hot columns, one row per
    class. A (n_y, m) array already in that shape is passed through.
    """
    y = np.asarray(y)
    n_y = spec.layer_dims[-1]
    if y.ndim == 2 and y.shape[0] == n_y and (n_y > 1 or spec.loss != "ce"):
        return y.astype(spec.dtype)
    if n_y == 1:
        return y.reshape(1, -1).astype(spec.dtype)
    return one_hot(y, n_y).astype(spec.dtype)


def _check_path(name: str, path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path, got {describe(path)}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{name}: no such file {path!r}")
    return path


def load_csv(path, label: str | None = None):
    """Read a CSV file: a header row, one example per row, numeric columns.

    The label is the last column, or the column named ``label``; the other columns are the
    features. Returns ``(X, y)`` with X of shape (n_features, m) and y of shape (1, m).
    """
    path = _check_path("path", path)
    try:
        with open(path, newline="") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"path: cannot read {path!r}: {exc}") from None
    if not rows:
        raise ValueError(f"{path}: the file is empty, expected a header row and data rows")
    header = [h.strip() for h in rows[0]]
    if len(header) < 2:
        raise ValueError(
            f"{path}: expected at least one feature column and a label column, got {header}"
        )
    data = rows[1:]
    if not data:
        raise ValueError(f"{path}: the file has a header but no data rows")
    if label is None:
        label_col = len(header) - 1
    elif label in header:
        label_col = header.index(label)
    else:
        raise ValueError(f"label: no column named {label!r} in {path}; the columns are {header}")
    values = np.empty((len(data), len(header)))
    for i, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {i}: expected {len(header)} values as in the header, got {len(row)}"
            )
        for j, cell in enumerate(row):
            cell = cell.strip()
            if cell == "":
                raise ValueError(f"{path}, line {i}: missing value in column {header[j]!r}")
            try:
                values[i - 2, j] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{path}, line {i}: column {header[j]!r} must be numeric, got {cell!r}"
                ) from None
            if not np.isfinite(values[i - 2, j]):
                raise ValueError(
                    f"{path}, line {i}: column {header[j]!r} must be finite, got {cell!r}"
                )
    features = [j for j in range(len(header)) if j != label_col]
    X = np.ascontiguousarray(values[:, features].T)
    y = values[:, label_col][None, :]
    return X, y


def load_npz(path):
    """Read ``X`` (n_x, m) and ``Y`` (n_y, m) — or labels ``y`` (m,) — from a NumPy .npz file."""
    path = _check_path("path", path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"path: cannot read {path!r} as .npz: {exc}") from None
    if "X" not in arrays or not ({"Y", "y"} & set(arrays)):
        raise ValueError(f"{path}: expected arrays 'X' and 'Y' (or 'y'), got {sorted(arrays)}")
    X = arrays["X"]
    y = arrays["Y"] if "Y" in arrays else arrays["y"]
    if X.ndim != 2:
        raise ValueError(f"{path}: X must be 2-D (features x examples), got shape {X.shape}")
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] != X.shape[1]:
        raise ValueError(f"{path}: Y must have {X.shape[1]} columns like X, got shape {y.shape}")
    for name, arr in (("X", X), ("Y", y)):
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{path}: {name} must be numeric, got dtype {arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"{path}: {name} is empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{path}: {name} must be finite")
    return X.astype(np.float64), y.astype(np.float64)


def load_data(source: str, *, label: str | None = None, m: int | None = None, seed: int = 0):
    """A built-in name (``moons``, ...) or a ``.csv`` / ``.npz`` path -> ``(X, y)``."""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"data must be a data set name or a file path, got {describe(source)}")
    source = os.fspath(source)
    if source in DATASETS:
        return make_dataset(source, m=m, seed=seed)
    if source.lower().endswith((".csv", ".npz")):
        try:
            if source.lower().endswith(".csv"):
                return load_csv(source, label=label)
            return load_npz(source)
        except ValueError as exc:  # name the argument as this caller wrote it
            message = str(exc)
            raise ValueError(
                "data" + message[4:] if message.startswith("path") else message
            ) from None
    raise ValueError(
        f"data must be one of {sorted(DATASETS)} or a path ending in .csv or .npz, got {source!r}"
    )
