"""check_model: check the backprop of someone else's network object.

A network written from scratch usually keeps its parameters in attributes — ``net.weights`` and
``net.biases``, lists of arrays, one per layer — and has a backprop that returns the gradients
of a cost, for one example (``backprop(x, y)``) or for a batch (``backprop(X, Y)``). ``check_model``
checks such an object as it is: it writes trial parameters into those attributes, evaluates the
cost and the backprop, compares them with ``check_grad``, and puts the attributes back exactly
as they were — the same objects holding the same bits — even when the check raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..network.validation import describe
from .jacobians import check_on_tree, param_verdicts, verdict_of
from .trees import Tree, leaf_array

__all__ = ["check_model", "ModelCheckReport"]


@dataclass
class ModelCheckReport:
    """The result of ``check_model``: truthy exactly when the verdict is pass.

    ``layers`` maps each parameter array (``weights[0]``, ``biases[1]``, ...) to its verdict;
    ``diagnosis`` says what kind of mistake a failure looks like (a missing or extra 1/m
    first); ``report`` is ``check_grad``'s own report on all parameters at once.
    """

    verdict: str
    layers: dict[str, str]
    diagnosis: str
    m: int | None
    report: object
    seconds: float
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "layers": self.layers,
            "diagnosis": self.diagnosis,
            "m": self.m,
            "seconds": self.seconds,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"model check: {self.verdict.upper()} ({self.seconds:.3g} s)"]
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        width = max(len(k) for k in self.layers) + 2
        lines.extend(f"  {name:<{width}}{v}" for name, v in self.layers.items())
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


@dataclass
class _Attributes:
    """The model's parameter attributes, seen as one tree, and how to restore them."""

    model: object
    names: tuple
    tree: Tree
    originals: list  # the attribute objects themselves
    saved: list  # a copy of every leaf array, to restore bits changed in place

    @classmethod
    def of(cls, model, names) -> _Attributes:
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise TypeError(f"params must be a list of attribute names, got {describe(names)}")
        for name in names:
            if not isinstance(name, str) or not hasattr(model, name):
                raise ValueError(
                    f"params must name attributes of the model, got {name!r}; it has "
                    f"{sorted(k for k in vars(model) if not k.startswith('_'))}"
                )
        originals = [getattr(model, name) for name in names]
        tree = Tree(tuple(originals), name="params", roots=names)
        saved = [np.array(leaf_array(leaf), copy=True) for leaf in tree.match(tuple(originals), "")]
        return cls(model, tuple(names), tree, originals, saved)

    def set(self, values: tuple) -> None:
        for name, value in zip(self.names, values):
            setattr(self.model, name, value)

    def restore(self) -> None:
        for name, value in zip(self.names, self.originals):
            setattr(self.model, name, value)
        changed = "the model's code changed its parameters in place to"
        for leaf, copy in zip(self.tree.match(tuple(self.originals), changed), self.saved):
            if isinstance(leaf, np.ndarray) and leaf.tobytes() != copy.tobytes():
                np.copyto(leaf, copy)  # the model's own code changed it in place

    def gradients(self, returned, who: str) -> tuple:
        """backprop's result in the order of ``names``: from a dict keyed by attribute name,
        a tuple/list with one entry per attribute, or (one attribute) the bare gradient."""
        if isinstance(returned, Mapping):
            missing = [n for n in self.names if n not in returned]
            if missing:
                raise ValueError(
                    f"{who} a dict with keys {list(returned)}; it lacks the parameters {missing}"
                )
            return tuple(returned[n] for n in self.names)
        if len(self.names) == 1:
            return (returned,)
        if isinstance(returned, (list, tuple)) and len(returned) == len(self.names):
            return tuple(returned)
        raise ValueError(
            f"{who} {describe(returned)}; expected one gradient per parameter attribute, in "
            f"the order of params {list(self.names)} (or a dict keyed by them)"
        )


def _examples_count(data: tuple) -> int | None:
    """The number of examples of a batch: the length of the axis that every data array shares
    — the last (examples as columns; also when both axes are shared), else the first (examples
    as rows) — when there is one."""
    arrays = [d for d in data if isinstance(d, np.ndarray) and d.ndim >= 1]
    last = {a.shape[-1] for a in arrays}
    first = {a.shape[0] for a in arrays}
    if len(last) == 1:
        return last.pop()
    return first.pop() if len(first) == 1 else None


def check_model(
    model,
    cost: Callable,
    backprop: Callable,
    *data,
    params: Sequence[str] = ("weights", "biases"),
    examples=None,
    m: int | None = None,
    **options,
) -> ModelCheckReport:
    """Check ``backprop`` against finite differences of ``cost`` on a network object.

    ``params`` names the attributes of ``model`` that hold its parameters (arrays, or lists,
    tuples or dicts of them), in the order ``backprop`` returns their gradients (a dict keyed
    by those names works too). Two ways to give the data:

    - a batch: ``cost(*data)`` is the cost and ``backprop(*data)`` its gradients;
    - ``examples=[(x, y), ...]``: ``cost(x, y)`` and ``backprop(x, y)`` for one example; the
      cost checked is their mean over the examples, and its gradient the mean of backprop's.

    ``m`` (the number of examples; read from the data when it can be) lets a gradient off by
    exactly ``m`` be diagnosed as a missing or extra ``1/m``. ``options`` go to ``check_grad``.
    The attributes are restored afterwards — the same objects, bit for bit.
    """
    for name, fn in (("cost", cost), ("backprop", backprop)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {describe(fn)}")
    if examples is not None and data:
        raise TypeError("give the data either as a batch (*data) or as examples=, not both")
    if examples is None and not data:
        raise TypeError("check_model needs data: a batch (*data) or examples=[(x, y), ...]")
    if examples is not None:
        examples = [e if isinstance(e, tuple) else (e,) for e in examples]
        if not examples:
            raise ValueError("examples must hold at least one example, got none")
    if m is not None and (isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1):
        raise ValueError(f"m must be a positive integer or None, got {m!r}")
    m = m if m is not None else len(examples) if examples is not None else _examples_count(data)

    t0 = time.perf_counter()
    attrs = _Attributes.of(model, params)
    factors = {"m": m} if m else None
    try:
        objective, gradient = _objective(attrs, cost, backprop, data, examples)

        def run(scale: float = 1.0):
            rescaled = gradient if scale == 1.0 else _rescaled(gradient, scale, attrs.tree)
            return check_on_tree(
                objective,
                rescaled,
                attrs.tree,
                tuple(attrs.originals),
                "backprop returned",
                {"factors": factors, **options},
            )

        report = run()
        verdict = verdict_of(report)
        diagnosis = _diagnose(report, verdict, run, m)
    finally:
        attrs.restore()
    notes = [] if examples is None else [f"the cost is the mean over {len(examples)} examples"]
    return ModelCheckReport(
        verdict, param_verdicts(report), diagnosis, m, report, time.perf_counter() - t0, notes
    )


def _objective(attrs: _Attributes, cost, backprop, data, examples):
    """The cost and the gradients backprop claims for it, as functions of the parameters."""
    tree = attrs.tree

    def objective(values):
        attrs.set(values)
        if examples is None:
            return cost(*data)
        return sum(float(np.asarray(cost(*e))) for e in examples) / len(examples)

    def gradient(values):
        attrs.set(values)
        if examples is None:
            return attrs.gradients(backprop(*data), "backprop returned")
        total = sum(
            tree.flatten(attrs.gradients(backprop(*e), "backprop returned"), "backprop returned")
            for e in examples
        )
        return tree.unflatten(total / len(examples))

    return objective, gradient


def _rescaled(gradient: Callable, scale: float, tree: Tree) -> Callable:
    def rescaled(values):
        leaves = tree.match(gradient(values), "backprop returned")
        return tree.map_leaves(
            lambda i: None if leaves[i] is None else scale * leaf_array(leaves[i])
        )

    return rescaled


def _diagnose(report, verdict: str, run: Callable, m: int | None) -> str:
    """For a failure: a missing or extra 1/m when rescaling by m makes the check pass;
    else check_grad's own diagnosis of each parameter."""
    if verdict != "fail":
        return ""
    if m and m > 1:
        if verdict_of(run(1 / m)) == "pass":
            return (
                f"missing 1/m: backprop returns m = {m} times the gradient of the cost "
                "(a sum over the examples where the cost takes their mean)"
            )
        if verdict_of(run(m)) == "pass":
            return (
                f"extra 1/m: backprop returns the gradient of the cost divided by m = {m} "
                "(a mean taken twice)"
            )
    texts = report.diagnosis
    if len(texts) > 1 and len(set(texts.values())) == 1:
        return f"every parameter: {next(iter(texts.values()))}"
    return "; ".join(f"{k}: {v}" for k, v in texts.items())
