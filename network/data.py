"""Data sets in the column convention: ``X`` (n_x, m), labels ``y`` (1, m).

The generators are seeded (``numpy.random.default_rng(seed)``) and make the same points for the
same arguments. They return integer class labels as a (1, m) float row; ``targets`` turns labels
into what a spec's loss wants (a 0/1 row for bce and single-output mse, one-hot columns for ce).
"""

from __future__ import annotations

import csv
import inspect
import json
import os
import zipfile
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .spec import NetworkSpec
from .validation import check_choice, check_params, check_positive_int, describe

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
    "Dataset",
    "load_csv",
    "load_npz",
    "load_data",
    "SavedParams",
    "save_params",
    "load_params",
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
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise TypeError(f"factor must be a number between 0 and 1, got {describe(factor)}")
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie strictly between 0 and 1, got {factor!r}")
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
    takes = inspect.signature(DATASETS[name]).parameters
    for key in kwargs:
        if key not in takes:
            raise TypeError(f"{key}: the data set {name!r} takes only {', '.join(takes)}")
    if m is not None:
        kwargs["m"] = m
    return DATASETS[name](seed=seed, **kwargs)


def one_hot(y, n_classes: int) -> np.ndarray:
    """Integer labels of shape (1, m) or (m,) -> one-hot columns of shape (n_classes, m)."""
    n_classes = check_positive_int("n_classes", n_classes)
    y = _label_array(y).reshape(-1)
    if y.size and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"y must hold integer class labels 0..{n_classes - 1}, got values from "
            f"{y.min()} to {y.max()}"
        )
    out = np.zeros((n_classes, y.size))
    out[y.astype(int), np.arange(y.size)] = 1.0
    return out


def _label_array(y) -> np.ndarray:
    if isinstance(y, (str, bytes)):
        raise TypeError(f"y must be an array of labels, got {describe(y)}")
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must hold numeric labels, got an array of dtype {y.dtype}")
    return y


def targets(spec, y) -> np.ndarray:
    """The Y a spec's loss wants from class labels ``y`` (1, m), in ``spec.dtype``.

    One output: y itself (bce wants 0/1 labels). Several outputs: one-hot columns, one row per
    class. A (n_y, m) array already in that shape is passed through.
    """
    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec, got {describe(spec)}")
    y = _label_array(y)
    n_y = spec.layer_dims[-1]
    if y.ndim == 2 and y.shape[0] == n_y and (n_y > 1 or spec.loss != "ce"):
        return y.astype(spec.dtype)
    if n_y == 1:
        return y.reshape(1, -1).astype(spec.dtype)
    return one_hot(y, n_y).astype(spec.dtype)


@dataclass(frozen=True)
class Dataset:
    """Examples read from a file or generated, with what the reader found out on the way.

    ``X`` has shape (n_x, m); ``y`` holds labels of shape (1, m), or targets (n_y, m) from a
    .npz file. ``classes`` names the classes when the label column held names (label ``k`` is
    ``classes[k]``; the names are sorted), else None. ``header`` says whether a CSV file's first
    row was read as a header (None for other sources). Unpacks as ``X, y = dataset``.
    """

    X: np.ndarray
    y: np.ndarray
    source: str
    classes: tuple[str, ...] | None = None
    header: bool | None = None

    def __iter__(self):
        return iter((self.X, self.y))

    @property
    def m(self) -> int:
        """The number of examples."""
        return self.X.shape[1]

    def subsample(self, m: int, seed: int = 0) -> Dataset:
        """``m`` examples drawn without replacement by ``default_rng(seed)``, in file order."""
        m = check_positive_int("m", m)
        if m > self.m:
            raise ValueError(f"m must be at most the {self.m} examples in {self.source}, got {m}")
        keep = np.sort(np.random.default_rng(seed).choice(self.m, size=m, replace=False))
        return replace(self, X=np.ascontiguousarray(self.X[:, keep]), y=self.y[:, keep])


def _check_path(name: str, path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path, got {describe(path)}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{name}: no such file {path!r}")
    return path


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _first_row_is_header(rows: list[list[str]]) -> bool:
    """A first row without a single number is a header. Data always has numbers (the features),
    so a header is never taken for data; a row of numbers with one typo stays data, and its
    typo is reported instead of the row silently vanishing as a header."""
    return not any(_is_number(cell) for cell in rows[0])


def load_csv(path, label: str | None = None, header: bool | None = None) -> Dataset:
    """Read a CSV file: one example per row, numeric feature columns and a label column.

    ``header``: True if the first row names the columns, False if it is data, None to detect it
    (a first row without a single number is a header). The label is the last column,
    or the column named ``label`` (which needs a header). Labels are numbers, or class names:
    those are sorted and numbered 0, 1, ... (``Dataset.classes`` keeps the names). Returns a
    ``Dataset`` with X of shape (n_features, m) and y of shape (1, m).
    """
    path = _check_path("path", path)
    if header is not None and not isinstance(header, (bool, np.bool_)):
        raise TypeError(f"header must be True, False or None (detect), got {describe(header)}")
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            numbered = [
                (reader.line_num, [cell.strip() for cell in row])
                for row in reader
                if any(cell.strip() for cell in row)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"path: cannot read {path!r}: {exc}") from None
    if not numbered:
        raise ValueError(f"{path}: the file is empty, expected rows of comma-separated values")
    rows = [row for _, row in numbered]
    header = _first_row_is_header(rows) if header is None else bool(header)
    width = len(rows[0])
    names = rows[0] if header else [str(j + 1) for j in range(width)]
    columns = [f"column {n!r}" if header else f"column {n}" for n in names]
    if width < 2:
        raise ValueError(
            f"{path}: expected at least one feature column and a label column, got {names}"
        )
    data = numbered[1:] if header else numbered
    if not data:
        raise ValueError(f"{path}: the file has a header but no data rows")
    label_col = _label_column(path, label, names, header)
    values = np.empty((len(data), width))
    label_cells = []
    for i, (line, row) in enumerate(data):
        if len(row) != width:
            what = "as in the header" if header else "as in the first row"
            raise ValueError(f"{path}, line {line}: expected {width} values {what}, got {len(row)}")
        for j, cell in enumerate(row):
            if cell == "":
                raise ValueError(f"{path}, line {line}: missing value in {columns[j]}")
            if j == label_col:
                label_cells.append(cell)
                continue
            if not _is_number(cell):
                raise ValueError(f"{path}, line {line}: {columns[j]} must be numeric, got {cell!r}")
            values[i, j] = float(cell)
            if not np.isfinite(values[i, j]):
                raise ValueError(f"{path}, line {line}: {columns[j]} must be finite, got {cell!r}")
    y, classes = _labels(path, label_cells, columns[label_col], [line for line, _ in data])
    features = [j for j in range(width) if j != label_col]
    X = np.ascontiguousarray(values[:, features].T)
    return Dataset(X, y, source=path, classes=classes, header=header)


def _label_column(path: str, label, names: list[str], header: bool) -> int:
    if label is None:
        return len(names) - 1
    if not isinstance(label, str):
        raise TypeError(f"label must be a column name, got {describe(label)}")
    if not header:
        raise ValueError(
            f"label: {path} has no header row, so its columns have no names; got {label!r} "
            "(the label is then the last column)"
        )
    if label not in names:
        raise ValueError(f"label: no column named {label!r} in {path}; the columns are {names}")
    return names.index(label)


def _labels(path: str, cells: list[str], column: str, lines: list[int]):
    """The label row (1, m) and the class names: numbers stay numbers; a column holding any
    word becomes class indices of the sorted names."""
    if all(_is_number(c) for c in cells):
        y = np.array([float(c) for c in cells])
        if not np.all(np.isfinite(y)):
            i = int(np.argmin(np.isfinite(y)))
            raise ValueError(f"{path}, line {lines[i]}: {column} must be finite, got {cells[i]!r}")
        return y[None, :], None
    classes = tuple(sorted(set(cells)))
    index = {name: k for k, name in enumerate(classes)}
    return np.array([[float(index[c]) for c in cells]]), classes


def _read_npz(name: str, path: str) -> dict[str, np.ndarray]:
    """Every array of a .npz archive, refusing files that are something else by name."""
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(
            f"{name}: {path!r} is a .npy file (one array), expected a .npz archive of named "
            "arrays (numpy.savez)"
        )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{name}: {path!r} is not a NumPy .npz archive (numpy.savez writes one); "
            f"its first bytes are {magic!r}"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name}: cannot read {path!r} as .npz: {exc}") from None


def load_npz(path) -> Dataset:
    """Read ``X`` (n_x, m) and ``Y`` (n_y, m) — or labels ``y`` (m,) — from a NumPy .npz file."""
    path = _check_path("path", path)
    arrays = _read_npz("path", path)
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
    return Dataset(X.astype(np.float64), y.astype(np.float64), source=path)


def load_data(
    source: str,
    *,
    label: str | None = None,
    m: int | None = None,
    seed: int = 0,
    header: bool | None = None,
) -> Dataset:
    """A built-in name (``moons``, ...) or a ``.csv`` / ``.npz`` path -> a ``Dataset``.

    ``m`` examples are generated by a built-in set (seeded by ``seed``), or drawn from a file's
    rows without replacement (``Dataset.subsample``); None means the generator's default or every
    row. ``label`` and ``header`` are a CSV file's (see ``load_csv``).
    """
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"data must be a data set name or a file path, got {describe(source)}")
    source = os.fspath(source)
    is_csv = source.lower().endswith(".csv")
    for name, value in (("label", label), ("header", header)):
        if value is not None and not is_csv:
            raise ValueError(f"{name} applies to a .csv file only, got data {source!r}")
    if source in DATASETS:
        X, y = make_dataset(source, m=m, seed=seed)
        return Dataset(X, y, source=source)
    if not source.lower().endswith((".csv", ".npz")):
        raise ValueError(
            f"data must be one of {sorted(DATASETS)} or a path ending in .csv or .npz, "
            f"got {source!r}"
        )
    try:
        data = load_csv(source, label=label, header=header) if is_csv else load_npz(source)
    except ValueError as exc:  # name the argument as this caller wrote it
        message = str(exc)
        raise ValueError("data" + message[4:] if message.startswith("path") else message) from None
    return data if m is None else data.subsample(m, seed)


class SavedParams(NamedTuple):
    """What ``load_params`` read: the network and its parameters (unpacks as spec, params)."""

    spec: NetworkSpec
    params: dict[str, np.ndarray]


def save_params(path, spec: NetworkSpec, params) -> str:
    """Write ``params`` and ``spec`` (as JSON, under the key ``spec``) to a ``.npz`` file.

    Returns the path. ``load_params`` reads it back; NumPy alone reads the arrays W1, b1, ...
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path ending in .npz, got {describe(path)}")
    path = os.fspath(path)
    if not path.lower().endswith(".npz"):
        raise ValueError(f"path must end in .npz (numpy.savez would add it), got {path!r}")
    if not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec, got {describe(spec)}")
    params = check_params(spec, params)
    np.savez(path, spec=np.array(json.dumps(spec.to_dict())), **params)
    return path


def load_params(path, spec: NetworkSpec | None = None) -> SavedParams:
    """Read parameters written by ``save_params`` (or any .npz of arrays W1, b1, ..., WL, bL).

    The file's saved spec says what network they belong to; for a file without one, pass
    ``spec``. A ``spec`` that differs from the saved one is an error, not a silent choice.
    """
    path = _check_path("path", path)
    if spec is not None and not isinstance(spec, NetworkSpec):
        raise TypeError(f"spec must be a NetworkSpec or None, got {describe(spec)}")
    arrays = _read_npz("path", path)
    saved = _saved_spec(path, arrays.pop("spec")) if "spec" in arrays else None
    if saved is not None and spec is not None and saved != spec:
        raise ValueError(f"spec: {path} was saved for {saved}, which differs from {spec}")
    spec = saved if saved is not None else spec
    if spec is None:
        raise ValueError(
            f"path: {path} holds arrays {sorted(arrays)} but no saved spec; pass spec= "
            "(the NetworkSpec they belong to)"
        )
    try:
        return SavedParams(spec, check_params(spec, arrays))
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _saved_spec(path: str, text: np.ndarray) -> NetworkSpec:
    try:
        fields = json.loads(str(text[()]))
        return NetworkSpec(**fields)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: the saved spec is not a valid NetworkSpec: {exc}") from None
