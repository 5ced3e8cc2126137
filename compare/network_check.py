"""compare_network: every implementation of the network's gradient against every reference."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .. import autodiff, manual, network
from ..network import NetworkSpec
from ..network.training import show_progress
from . import reference
from .checkgrad import GradCheckReport, check_grad, judge_settled, settle_entries
from .fdpolicy import Noise, Tolerance
from .verdicts import FAIL, INCONCLUSIVE, PASS, json_ready, judge, overall

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
    """One implementation against one reference, for one parameter, with its verdict.

    Against the exact references (autograd, the complex step) the verdict is "pass" when
    ``rel_error <= tolerance`` and "fail" otherwise; against finite differences it is the
    verdict of ``check_grad``'s interval rule over the entries (``failures`` and
    ``inconclusive`` count them).
    """

    implementation: str
    reference: str
    param: str
    verdict: str
    max_abs_error: float
    rel_error: float  # max |g - ref| / (the largest |ref| entry over all parameters)
    tolerance: float  # the relative tolerance (exact references) or the largest one allowed
    failures: int = 0
    inconclusive: int = 0

    @property
    def agree(self) -> bool:
        return self.verdict == PASS

    def to_dict(self) -> dict:
        return json_ready(vars(self) | {"agree": self.agree})


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
    def verdict(self) -> str:
        """ "fail" if any cell fails or training disagrees, else "inconclusive" if any cell is,
        else "pass"."""
        return overall([c.verdict for c in self.cells] + [PASS if self.training_agree else FAIL])

    @property
    def ok(self) -> bool:
        return self.verdict == PASS

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
                    mark = {PASS: " ", FAIL: "!", INCONCLUSIVE: "?"}[c.verdict]
                    row += f"{c.rel_error:>13.2e}{mark}"
                lines.append(row)
        return "\n".join(lines)

    def __str__(self) -> str:
        verdict = {PASS: "ALL AGREE", FAIL: "DISAGREEMENT", INCONCLUSIVE: "INCONCLUSIVE"}[
            self.verdict
        ]
        dims = ",".join(map(str, self.spec.layer_dims))
        lines = [
            f"compare_network: {verdict} — dims [{dims}], activations "
            f"{','.join(self.spec.activations)}, loss {self.spec.loss}, {self.spec.dtype.name}, "
            f"m = {self.m}",
            "max |g - ref| per parameter / max |ref| over all parameters "
            "(! = fail, ? = inconclusive):",
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
        return json_ready(
            {
                "verdict": self.verdict,
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
                "cells": [c.to_dict() for c in self.cells],
                "odd_one_out": self.odd_one_out,
                "training": {t.implementation: t.history for t in self.training},
                "training_max_diff": self.training_max_diff,
                "training_agree": self.training_agree,
                "seconds": self.seconds,
                "notes": self.notes,
            }
        )


def _exact_tolerance(dtype) -> float:
    """Relative agreement expected between two exact (rounding-only) gradients."""
    return 1e4 * float(np.finfo(dtype).eps)


def _odd_one_out(cells: list[Cell], implementations: list[str], params) -> dict[str, str]:
    """For each parameter: the one implementation with fail evidence against a reference while
    every other implementation (two or more) has none — never a reference, never on
    inconclusive evidence."""
    out = {}
    if len(implementations) < 3:
        return out
    for p in params:
        failing = {c.implementation for c in cells if c.param == p and c.verdict == FAIL}
        if len(failing) == 1:
            out[p] = failing.pop()
    return out


def _exact_cells(params, grads, impl_names, ref, rg, exact) -> list[Cell]:
    """Every implementation against an exact reference: pass within ``exact`` relative to the
    largest entry of the whole gradient (a parameter whose gradient is a sum that nearly
    cancels would otherwise turn rounding of its O(1/m) terms into a large relative error)."""
    scale = max(float(np.max(np.abs(np.asarray(rg[q], float)))) for q in params)
    cells = []
    for impl in impl_names:
        for p in params:
            g = np.asarray(grads[impl].get(p, np.full(params[p].shape, np.nan)), float)
            r = np.asarray(rg[p], float)
            if g.shape != r.shape:
                cells.append(Cell(impl, ref, p, FAIL, math.inf, math.inf, exact))
                continue
            diff = np.abs(g - r)
            max_abs = float(np.max(diff)) if np.all(np.isfinite(diff)) else math.inf
            rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
            cells.append(Cell(impl, ref, p, PASS if rel <= exact else FAIL, max_abs, rel, exact))
    return cells


def _fd_cells(spec, params, X, Y, grads, impl_names, fd_ref, fd_method) -> list[Cell]:
    """Every implementation against finite differences, under ``check_grad``'s verdicts.

    The batched reference screens: an entry passes there only when Richardson's own error bound
    certifies it and its steps show no hint of a kink. Every other entry is settled by the step
    ladder of ``check_grad`` (``settle_entries``), once for all implementations.
    """
    ref, err, hint = fd_ref
    eps = float(np.finfo(spec.dtype).eps)
    scale = max(float(np.max(np.abs(ref[q]))) for q in params)
    screen = Tolerance.choose(eps, Noise(0.0, False, 0.0, 0), scale)
    values = {
        (impl, p): np.asarray(grads[impl].get(p, np.full(params[p].shape, np.nan)), float)
        for impl in impl_names
        for p in params
    }
    screened, wanted = {}, {}
    for (impl, p), g in values.items():
        if g.shape != params[p].shape:
            continue
        if fd_method == "richardson":
            ok = judge(g, ref[p], err[p], screen.at(ref[p], np.inf), screen.confidence) == PASS
            ok &= ~hint[p]
        else:  # central differences carry no truncation estimate: they certify nothing
            ok = np.zeros(g.shape, bool)
        screened[impl, p] = ok
        wanted.setdefault(p, set()).update(np.flatnonzero(~ok).tolist())
    wanted = {p: sorted(v) for p, v in wanted.items() if v}
    settled = {}
    if wanted:
        settled, settle_tol = settle_entries(
            lambda q: network.objective(spec, q, X, Y), params, wanted, eps, scale
        )
    cells = []
    for (impl, p), g in values.items():
        r = np.asarray(ref[p], float)
        if g.shape != r.shape:
            cells.append(Cell(impl, "fd", p, FAIL, math.inf, math.inf, math.nan))
            continue
        verdicts = np.full(g.size, PASS, dtype=object)
        allowed = screen.at(r, np.inf).ravel()
        settled_r = r.ravel().copy()  # the reference each verdict came from
        if p in settled:
            idx = np.asarray(wanted[p])
            todo = ~screened[impl, p].ravel()[idx]
            v, s_allowed, s_ref = judge_settled(g.ravel()[idx], settled[p], settle_tol)
            verdicts[idx[todo]] = v[todo]
            allowed[idx] = np.maximum(allowed[idx], s_allowed)
            settled_r[idx[todo]] = s_ref[todo]
        verdicts[~np.isfinite(g.ravel())] = FAIL
        diff = np.abs(g.ravel() - settled_r)
        max_abs = float(np.max(diff)) if np.all(np.isfinite(diff)) else math.inf
        cells.append(
            Cell(
                impl,
                "fd",
                p,
                overall(verdicts.tolist()),
                max_abs,
                max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf),
                float(np.max(allowed)) / scale if scale > 0 else 0.0,
                int(np.sum(verdicts == FAIL)),
                int(np.sum(verdicts == INCONCLUSIVE)),
            )
        )
    return cells


def compare_network(
    spec: NetworkSpec,
    X,
    Y,
    params=None,
    *,
    implementations=None,
    references=None,
    fd_method: str = "richardson",
    epochs: int = 50,
    lr: float = 0.5,
    progress: bool | None = None,
    extra: dict | None = None,
) -> NetworkComparison:
    """Check every implementation of the network's gradient against every reference.

    Implementations: ``manual``, ``tensor`` (the engine), ``scalar`` (the engine on Values, when
    ``n_params * m <= SCALAR_LIMIT``), ``autograd``; plus any in ``extra``, under other names
    (``{name: loss_and_grads(spec, params, X, Y)}``). References: ``autograd``, ``fd`` (finite
    differences, ``fd_method`` = richardson or central, every entry) and ``complex`` (the complex
    step, every entry, when the network is small enough). Against autograd and the complex step
    the gradients must agree to rounding (1e4 eps of the dtype, relative to the largest entry):
    "pass" or "fail". Against finite differences each entry gets ``check_grad``'s verdict: the
    batched differences certify what their error bound can, and the step ladder settles every
    other entry (kinks by the subgradient rule; "inconclusive" when nothing can settle it).
    An implementation is named the odd one out for a parameter only when it alone has a
    "fail" there. ``verdict`` is "pass", "fail" or "inconclusive"; the result is truthy when
    it is "pass".

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
    taken = [name for name in extra if name in IMPLEMENTATIONS]
    if taken:  # it would replace that implementation, and autograd's would become the reference
        raise ValueError(
            f"extra must not reuse the names of the built-in implementations "
            f"{list(IMPLEMENTATIONS)}, got {taken}"
        )
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
    for ref, (rg, _, _) in refs.items():
        if ref == "fd":
            t0 = time.perf_counter()
            cells += _fd_cells(spec, params, X, Y, grads, impl_names, refs[ref], fd_method)
            seconds["settle:fd"] = time.perf_counter() - t0
        else:
            cells += _exact_cells(params, grads, impl_names, ref, rg, exact)
    order = {(i, r): k for k, (i, r) in enumerate((i, r) for i in impl_names for r in refs)}
    cells.sort(key=lambda c: order[c.implementation, c.reference])
    odd = _odd_one_out(cells, impl_names, list(params))

    training, max_diff, train_ok = [], 0.0, True
    if epochs:
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore"):  # a divergence raises, named
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
