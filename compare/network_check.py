"""compare_network: every implementation of the network's gradient against every reference."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .. import autodiff, manual, network
from ..network import NetworkSpec
from ..network.training import show_progress
from . import reference
from .checkgrad import GradCheckReport, check_grad

__all__ = [
    "compare_network",
    "NetworkComparison",
    "Cell",
    "check_implementation",
    "first_wrong_layer",
    "IMPLEMENTATIONS",
    "REFERENCES",
    "SCALAR_LIMIT",
]

IMPLEMENTATIONS = ("manual", "tensor", "scalar", "autograd")
REFERENCES = ("autograd", "fd", "complex")
SCALAR_LIMIT = 200_000  # scalar engine only when n_params * m is at most this
# the complex step (every entry, in complex arithmetic) only when n_params times the work of
# carrying one perturbed row through the layers above is at most this (about 20 s here)
COMPLEX_LIMIT = 1_000_000_000


def _implementation(name: str):
    return {
        "manual": lambda s, p, X, Y: manual.loss_and_grads(s, p, X, Y, check=False),
        "tensor": lambda s, p, X, Y: autodiff.loss_and_grads(s, p, X, Y, "tensor", check=False),
        "scalar": lambda s, p, X, Y: autodiff.loss_and_grads(s, p, X, Y, "scalar", check=False),
        "autograd": lambda s, p, X, Y: reference.loss_and_grads(s, p, X, Y, check=False),
    }[name]


@dataclass
class Cell:
    """One implementation against one reference, for one parameter."""

    implementation: str
    reference: str
    param: str
    agree: bool
    max_abs_error: float
    rel_error: float  # max |g - ref| / (the largest |ref| entry over all parameters)
    tolerance: str


@dataclass
class TrainingRun:
    implementation: str
    history: list[float]
    params: dict | None = None


@dataclass
class NetworkComparison:
    """The result of ``compare_network``: truthy when every implementation agrees with every
    reference on every parameter, and the training runs agree."""

    spec: NetworkSpec
    m: int
    implementations: list[str]
    references: list[str]
    losses: dict[str, float]
    cells: list[Cell]
    odd_one_out: dict[str, str]
    training: list[TrainingRun]
    training_max_diff: float
    training_agree: bool
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def ok(self) -> bool:
        return all(c.agree for c in self.cells) and self.training_agree

    def cell(self, implementation: str, reference: str, param: str) -> Cell:
        for c in self.cells:
            if (c.implementation, c.reference, c.param) == (implementation, reference, param):
                return c
        raise KeyError((implementation, reference, param))

    def table(self) -> str:
        """Rows: implementation x parameter; columns: references; entries: max |g - ref| over
        the parameter divided by the largest |ref| entry of the whole gradient ('!' marks a
        disagreement)."""
        params = list(self.spec.param_shapes())
        head = f"{'implementation':<16}{'param':<7}" + "".join(f"{r:>14}" for r in self.references)
        lines = [head, "-" * len(head)]
        for impl in self.implementations:
            for p in params:
                row = f"{impl:<16}{p:<7}"
                for ref in self.references:
                    try:
                        c = self.cell(impl, ref, p)
                    except KeyError:
                        row += f"{'-':>14}"
                        continue
                    mark = " " if c.agree else "!"
                    row += f"{c.rel_error:>13.2e}{mark}"
                lines.append(row)
        return "\n".join(lines)

    def __str__(self) -> str:
        verdict = "ALL AGREE" if self.ok else "DISAGREEMENT"
        dims = ",".join(map(str, self.spec.layer_dims))
        lines = [
            f"compare_network: {verdict} — dims [{dims}], activations "
            f"{','.join(self.spec.activations)}, loss {self.spec.loss}, {self.spec.dtype.name}, "
            f"m = {self.m}",
            "max |g - ref| per parameter / max |ref| over all parameters (! = outside tolerance):",
            self.table(),
        ]
        for p, who in self.odd_one_out.items():
            lines.append(f"odd one out for {p}: {who}")
        if self.training:
            names = ", ".join(t.implementation for t in self.training)
            epochs = len(self.training[0].history)
            lines.append(
                f"training ({names}; {epochs} epochs from the same start): largest cost "
                f"difference {self.training_max_diff:.3e} — "
                + ("agree" if self.training_agree else "DISAGREE")
            )
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "spec": {
                "layer_dims": list(self.spec.layer_dims),
                "activations": list(self.spec.activations),
                "loss": self.spec.loss,
                "init": self.spec.init,
                "seed": self.spec.seed,
                "dtype": self.spec.dtype.name,
            },
            "m": self.m,
            "losses": self.losses,
            "cells": [vars(c) for c in self.cells],
            "odd_one_out": self.odd_one_out,
            "training": {t.implementation: t.history for t in self.training},
            "training_max_diff": self.training_max_diff,
            "training_agree": self.training_agree,
            "seconds": self.seconds,
            "notes": self.notes,
        }


def _exact_tolerance(dtype) -> float:
    """Relative agreement expected between two exact (rounding-only) gradients."""
    return 1e4 * float(np.finfo(dtype).eps)


def _fd_agree(g, ref, err, kink, dtype):
    """Entrywise: |g - ref| <= 3 err + 7 sqrt(eps) |ref| + 100 eps max|ref| (kinks excused)."""
    eps = float(np.finfo(dtype).eps)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    tol = 3 * err + 7 * np.sqrt(eps) * np.abs(ref) + 100 * eps * scale
    ok = (np.abs(g - ref) <= tol) | kink
    return bool(np.all(ok))


def _odd_one_out(grads: dict[str, dict], params: list[str], agree_pair) -> dict[str, str]:
    """For each parameter: the one source that disagrees with all the others while they all
    agree with each other (needs three sources or more)."""
    out = {}
    names = list(grads)
    if len(names) < 3:
        return out
    for p in params:
        for odd in names:
            rest = [n for n in names if n != odd]
            rest_agree = all(agree_pair(a, b, p) for i, a in enumerate(rest) for b in rest[i + 1 :])
            odd_disagrees = all(not agree_pair(odd, r, p) for r in rest)
            if rest_agree and odd_disagrees:
                out[p] = odd
                break
    return out


def compare_network(
    spec: NetworkSpec,
    X,
    Y,
    params=None,
    *,
    implementations=None,
    references=None,
    fd_method: str = "central",
    epochs: int = 50,
    lr: float = 0.5,
    progress: bool | None = None,
    extra: dict | None = None,
) -> NetworkComparison:
    """Check every implementation of the network's gradient against every reference.

    Implementations: ``manual``, ``tensor`` (the engine), ``scalar`` (the engine on Values, when
    ``n_params * m <= SCALAR_LIMIT``), ``autograd``; plus any in ``extra``
    (``{name: loss_and_grads(spec, params, X, Y)}``). References: ``autograd``, ``fd`` (finite
    differences, ``fd_method`` = central or richardson, every entry) and ``complex`` (the complex
    step, every entry, when the network is small enough). Against autograd and the complex step
    the gradients must agree to rounding (1e4 eps of the dtype, relative to the largest entry);
    against finite differences, entrywise within the reference's own error bound.

    Then ``epochs`` of gradient descent (``lr``) with manual and the tensor engine from the same
    start; their cost histories must agree to within 1e4 eps relative. ``params`` default to
    ``network.init_params(spec)``.
    """
    network.check_spec(spec)
    X, Y = network.check_data(spec, X, Y)
    params = network.init_params(spec) if params is None else network.check_params(spec, params)
    m = X.shape[1]
    n_params = spec.n_params()
    notes = []
    if implementations is None:
        implementations = [
            i for i in IMPLEMENTATIONS if i != "scalar" or n_params * m <= SCALAR_LIMIT
        ]
        if "scalar" not in implementations:
            notes.append(f"scalar engine skipped: n_params x m = {n_params * m} > {SCALAR_LIMIT}")
    else:
        for i in implementations:
            network.validation.check_choice("implementations", i, IMPLEMENTATIONS)
        implementations = list(implementations)
    if references is None:
        per_entry_work = sum(r * c for r, c in zip(spec.layer_dims[1:], spec.layer_dims[2:])) * m
        references = [
            r
            for r in REFERENCES
            if r != "complex" or n_params * max(per_entry_work, m) <= COMPLEX_LIMIT
        ]
        if "complex" not in references:
            notes.append("complex-step reference skipped: the network is too large")
    else:
        for r in references:
            network.validation.check_choice("references", r, REFERENCES)
        references = list(references)
    network.validation.check_choice("fd_method", fd_method, ("central", "richardson"))
    extra = dict(extra or {})
    show = show_progress(progress)
    seconds: dict[str, float] = {}

    grads, losses = {}, {}
    for name in implementations:
        t0 = time.perf_counter()
        losses[name], grads[name] = _implementation(name)(spec, params, X, Y)
        seconds[name] = time.perf_counter() - t0
    for name, fn in extra.items():
        t0 = time.perf_counter()
        losses[name], grads[name] = fn(spec, params, X, Y)
        seconds[name] = time.perf_counter() - t0
    impl_names = list(grads)

    refs = {}  # name -> (grads, errors or None, kinks or None)
    for ref in references:
        t0 = time.perf_counter()
        if ref == "autograd":
            g = (
                grads["autograd"]
                if "autograd" in grads
                else reference.loss_and_grads(spec, params, X, Y, check=False)[1]
            )
            refs[ref] = (g, None, None)
        else:
            method = fd_method if ref == "fd" else "complex"
            bar = (
                (lambda total, d=ref: tqdm(total=total, desc=f"reference {d}", leave=False))
                if show
                else None
            )
            refs[ref] = reference.network_numerical_grad(
                spec, params, X, Y, method, check=False, progress=bar
            )
        seconds[f"reference:{ref}"] = time.perf_counter() - t0

    exact = _exact_tolerance(spec.dtype)
    cells = []
    for impl in impl_names:
        for ref, (rg, rerr, rkink) in refs.items():
            # errors are measured against the largest entry of the whole gradient: a parameter
            # whose gradient is a sum that nearly cancels (db at a balanced start) would
            # otherwise turn rounding of its O(1/m) terms into a large "relative" error
            scale = max(float(np.max(np.abs(np.asarray(rg[q], float)))) for q in params)
            for p in params:
                g = np.asarray(
                    grads[impl].get(p, np.full(params[p].shape, np.nan)), dtype=np.float64
                )
                r = np.asarray(rg[p], dtype=np.float64)
                if g.shape != r.shape:
                    cells.append(Cell(impl, ref, p, False, np.inf, np.inf, "shape"))
                    continue
                diff = np.abs(g - r)
                max_abs = float(np.max(diff)) if np.all(np.isfinite(diff)) else np.inf
                rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
                if rerr is None:
                    agree = rel <= exact
                    tol = f"rel {exact:.1e}"
                else:
                    agree = np.all(np.isfinite(g)) and _fd_agree(
                        g, r, rerr[p], rkink[p], spec.dtype
                    )
                    tol = "reference error bound"
                cells.append(Cell(impl, ref, p, bool(agree), max_abs, rel, tol))

    # who is the odd one out, among implementations and exact references
    sources = {n: grads[n] for n in impl_names}
    for ref, (rg, _, _) in refs.items():
        if ref not in sources:
            sources[ref] = rg

    def agree_pair(a, b, p):
        if p not in sources[a] or p not in sources[b]:  # a gradient that lacks p agrees with none
            return False
        ga, gb = np.asarray(sources[a][p], float), np.asarray(sources[b][p], float)
        if ga.shape != gb.shape or not (np.all(np.isfinite(ga)) and np.all(np.isfinite(gb))):
            return False
        tol = exact if "fd" not in (a, b) else 1e-4
        scale = max(float(np.max(np.abs(ga))), float(np.max(np.abs(gb))), 1e-300)
        return float(np.max(np.abs(ga - gb))) / scale <= tol

    odd = _odd_one_out(sources, list(params), agree_pair) if not all(c.agree for c in cells) else {}

    training, max_diff, train_ok = [], 0.0, True
    if epochs:
        t0 = time.perf_counter()
        runs = {
            "manual": manual.train(X, Y, spec, epochs, lr, params=params, progress=show),
            "tensor": autodiff.train(X, Y, spec, epochs, lr, params=params, progress=show),
        }
        training = [TrainingRun(k, hist, p) for k, (p, hist) in runs.items()]
        h1, h2 = np.array(runs["manual"][1]), np.array(runs["tensor"][1])
        max_diff = float(np.max(np.abs(h1 - h2)))
        train_ok = max_diff <= exact * max(float(np.max(np.abs(h1))), 1e-300)
        seconds["training"] = time.perf_counter() - t0

    return NetworkComparison(
        spec,
        m,
        impl_names,
        list(refs),
        losses,
        cells,
        odd,
        training,
        max_diff,
        bool(train_ok),
        seconds,
        notes,
    )


def check_implementation(
    spec: NetworkSpec, params, X, Y, grads_fn, objective=None, **check_kwargs
) -> GradCheckReport:
    """``check_grad`` of one network gradient ``grads_fn(params) -> grads`` against finite
    differences of ``objective(params)`` (default: the shared cost), naming x m in diagnoses."""
    if objective is None:

        def objective(p):
            return network.objective(spec, p, X, Y)

    check_kwargs.setdefault("factors", {"m": X.shape[1]})
    return check_grad(objective, grads_fn, params, **check_kwargs)


def first_wrong_layer(spec: NetworkSpec, report: GradCheckReport) -> int | None:
    """Going backward from the output, the first layer whose W or b disagrees (None: all agree).

    Backprop computes layer L first and passes dZ down, so a mistake in the step from layer k+1
    to layer k shows in layers k, k-1, ..., 1 and not above: this is where the error enters.
    """
    for l in range(spec.n_layers, 0, -1):
        for key in (f"W{l}", f"b{l}"):
            p = report.params.get(key)
            if p is not None and not p.ok:
                return l
    return None
