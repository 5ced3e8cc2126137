"""Derivatives that are not a gradient: VJPs, JVPs, Jacobians, Hessian-vector products, Hessians.

Every check here is reduced to ``check_grad`` on a scalar function, so that it inherits its
finite differences, tolerances and verdicts — there is no second tolerance rule:

- a VJP with cotangent ``w``: ``wᵀJ`` is the gradient of ``x ↦ ⟨w, f(x)⟩``;
- a JVP with tangents ``u_1..u_k``: ``⟨w, J u_j⟩`` is the derivative of
  ``t ↦ ⟨w, f(x + Σ t_j u_j)⟩`` with respect to ``t_j`` at ``t = 0`` — a gradient in ``t``;
- a Jacobian: its row ``i`` is the gradient of ``f_i`` (the VJP with cotangent ``e_i``);
- a Hessian-vector product: ``H v`` is the gradient of ``x ↦ ⟨∇f(x), v⟩`` (H is symmetric),
  with ``∇f`` from ``grad_f`` when given, or ``⟨∇f(x), v⟩`` as the derivative of ``f`` along
  ``v`` by finite differences otherwise; a Hessian is the Jacobian of ``∇f``.

A cotangent ``e_i`` isolates output ``i`` (a row of J) and a tangent ``e_j`` input ``j`` (a
column), so with few enough of them every row (column) is checked on its own and the report
names the wrong ones; above ``BASIS_LIMIT`` a few random ones from a seeded Generator are used.
Complex-valued functions are out of scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..network.validation import describe
from .checkgrad import check_grad
from .numerical import combine, offsets
from .trees import Arguments, Tree

__all__ = [
    "check_vjp",
    "check_jvp",
    "check_jacobian",
    "check_hvp",
    "check_hessian",
    "DerivativeReport",
    "Reduction",
    "BASIS_LIMIT",
]

BASIS_LIMIT = 16  # up to this many outputs (inputs), every row (column) is checked on its own
RANDOM_DIRECTIONS = 3
_LOCAL_KINDS = ("entries", "rows", "columns", "values")


# -- reading check_grad's verdicts: the one adapter ------------------------------------------
def verdict_of(report) -> str:
    """``"pass"``, ``"fail"`` or ``"inconclusive"`` from a ``check_grad`` report."""
    return str(report.verdict)


def param_verdicts(report) -> dict[str, str]:
    """One verdict per parameter (per leaf of x) of a ``check_grad`` report."""
    return {name: p.verdict for name, p in report.params.items()}


def entry_verdicts(report, tree: Tree) -> np.ndarray:
    """One verdict per entry of ``tree``'s flat vector, for a report of ``check_on_tree``
    (whose parameters are ``tree``'s leaves, each with a verdict per entry)."""
    return np.concatenate(
        [
            np.asarray(report.params[tree.label(i)].entry_verdicts, dtype=str).ravel()
            for i in range(len(tree.leaves))
        ]
    )


def check_on_tree(scalar_fn: Callable, grad_fn: Callable, tree: Tree, value, who: str, options):
    """``check_grad`` of ``scalar_fn`` at ``value`` (of ``tree``'s structure) against
    ``grad_fn``, whose result must have that structure; each leaf is one parameter of the
    report, named by its path. ``who`` names ``grad_fn`` in errors (``'vjp_f returned'``)."""
    return check_grad(
        lambda arrays: scalar_fn(tree.from_leaf_dict(arrays)),
        lambda arrays: tree.leaf_dict(grad_fn(tree.from_leaf_dict(arrays)), who),
        tree.leaf_dict(value),
        **options,
    )


def combined_verdict(verdicts) -> str:
    """fail if any part fails; else inconclusive if any part is; else pass."""
    verdicts = list(verdicts)
    if "fail" in verdicts:
        return "fail"
    return "inconclusive" if "inconclusive" in verdicts else "pass"


# -- reports ----------------------------------------------------------------------------------
@dataclass
class Reduction:
    """One scalar ``check_grad`` that a check was reduced to, and what it found."""

    what: str  # the scalar function, in words: "row f(x)[2]", "random cotangent 1"
    output: str | None  # the output it isolates (a basis cotangent), else None
    verdict: str
    wrong_inputs: list[str]  # the inputs (columns) whose entries failed
    report: object  # check_grad's report


@dataclass
class DerivativeReport:
    """The result of ``check_vjp`` and its siblings; truthy exactly when the verdict is pass.

    ``reductions`` lists the scalar checks it was made of; ``wrong_outputs`` (rows) and
    ``wrong_inputs`` (columns) name where a wrong derivative is wrong, as far as the checks
    could isolate it; ``diagnosis`` says what kind of mistake it looks like.
    """

    kind: str
    verdict: str
    reductions: list[Reduction]
    diagnosis: str = ""
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.verdict == "pass"

    @property
    def wrong_outputs(self) -> list[str]:
        return [r.output for r in self.reductions if r.verdict == "fail" and r.output]

    @property
    def wrong_inputs(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.reductions:
            seen.update(dict.fromkeys(r.wrong_inputs))
        return list(seen)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "verdict": self.verdict,
            "diagnosis": self.diagnosis,
            "wrong_outputs": self.wrong_outputs,
            "wrong_inputs": self.wrong_inputs,
            "checks": [
                {"what": r.what, "verdict": r.verdict, "wrong_inputs": r.wrong_inputs}
                for r in self.reductions
            ],
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [
            f"{self.kind} check: {self.verdict.upper()} ({len(self.reductions)} scalar checks)"
        ]
        if self.diagnosis:
            lines.append(f"  diagnosis: {self.diagnosis}")
        for r in self.reductions:
            wrong = f"; wrong at {_short(r.wrong_inputs)}" if r.wrong_inputs else ""
            if r.verdict == "inconclusive" and r.report.reason:
                wrong = f"; {r.report.reason}"
            lines.append(f"  {r.what:<32} {r.verdict}{wrong}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def _short(items, most: int = 6) -> str:
    items = list(items)
    return ", ".join(items[:most]) + (", ..." if len(items) > most else "")


# -- directions -------------------------------------------------------------------------------
@dataclass
class Directions:
    """Unit vectors of a tree (every entry) or random ones, with a label each."""

    vectors: np.ndarray  # one direction per row, flat over the tree
    labels: list[str]
    basis: bool


def directions(tree: Tree, how, rng: np.random.Generator, noun: str, name: str) -> Directions:
    """``how``: None (every entry when the tree has at most BASIS_LIMIT, else a few random
    ones), ``"all"``, or a number of random directions."""
    if how is None:
        how = "all" if tree.size <= BASIS_LIMIT else RANDOM_DIRECTIONS
    if isinstance(how, str):
        if how != "all":
            raise ValueError(f"{name} must be 'all', a positive int or None, got {how!r}")
        labels = [tree.entry_label(i) for i in range(tree.size)]
        return Directions(np.eye(tree.size), labels, True)
    if isinstance(how, (bool, np.bool_)) or not isinstance(how, (int, np.integer)) or how < 1:
        raise ValueError(f"{name} must be 'all', a positive int or None, got {how!r}")
    vectors = rng.standard_normal((int(how), tree.size))
    return Directions(vectors, [f"random {noun} {k + 1}" for k in range(int(how))], False)


# -- the two reductions -----------------------------------------------------------------------
@dataclass
class LinearMap:
    """What a check compares: ``pair(x, w) = ⟨w, F(x)⟩`` for the function F whose derivative
    is checked, and the user's ``product`` (a VJP ``(x, w) -> wᵀJ`` or a JVP ``(x, u) -> J u``).
    ``x`` is chosen by ``arguments``; ``out`` is the structure of F(x)."""

    pair: Callable
    product: Callable
    arguments: Arguments
    out: Tree
    product_name: str


def _vjp_reductions(lm: LinearMap, cotangents: Directions, options: dict) -> list[Reduction]:
    """``check_grad(x ↦ ⟨w, F(x)⟩, x ↦ product(x, w))`` for every cotangent ``w``."""
    tree = lm.arguments.tree
    reductions = []
    for w, label in zip(cotangents.vectors, cotangents.labels):
        w_value = lm.out.unflatten(w)
        report = check_on_tree(
            lambda x, w=w: lm.pair(x, w),
            lambda x, w_value=w_value: lm.product(x, w_value),
            tree,
            lm.arguments.value,
            f"{lm.product_name} returned",
            options,
        )
        verdicts = entry_verdicts(report, tree)
        wrong = [tree.entry_label(i) for i in np.flatnonzero(verdicts == "fail")]
        what = f"row {label}" if cotangents.basis else label
        output = label if cotangents.basis else None
        reductions.append(Reduction(what, output, verdict_of(report), wrong, report))
    return reductions


def _jvp_reductions(
    lm: LinearMap, tangents: Directions, cotangents: Directions, options: dict
) -> list[Reduction]:
    """For every cotangent ``w``: ``check_grad`` in ``t`` of ``t ↦ ⟨w, F(x + Σ t_j u_j)⟩``
    against ``t ↦ [⟨w, product(x + Σ t_j u_j, u_j)⟩]_j`` at ``t = 0``."""
    tree = lm.arguments.tree
    x0 = tree.flatten(lm.arguments.value)
    U = tangents.vectors
    u_values = [tree.unflatten(u) for u in U]
    t0 = np.zeros(len(U), dtype=tree.dtype)
    t_tree = Tree(t0, name="x")  # check_grad names a plain array x
    reductions = []
    for w, label in zip(cotangents.vectors, cotangents.labels):

        def scalar(t, w=w):
            return lm.pair(tree.unflatten(x0 + U.T @ t, t.dtype), w)

        def gradient(t, w=w):
            x = tree.unflatten(x0 + U.T @ t, t.dtype)
            return np.array(
                [
                    lm.out.flatten(lm.product(x, u), f"{lm.product_name} returned") @ w
                    for u in u_values
                ],
                dtype=lm.out.dtype,  # J u has f(x)'s precision: a float32 JVP gets its tolerance
            )

        report = check_grad(scalar, gradient, t0, **options)
        verdicts = entry_verdicts(report, t_tree)
        wrong = [tangents.labels[j] for j in np.flatnonzero(verdicts == "fail")]
        what = f"output {label}" if cotangents.basis else label
        output = label if cotangents.basis else None
        reductions.append(Reduction(what, output, verdict_of(report), wrong, report))
    return reductions


def _structure_problem(result, expected: Tree, who: str) -> str | None:
    """Why ``result`` does not have the structure of ``expected``, or None."""
    try:
        expected.flatten(result, who)
    except (ValueError, TypeError) as exc:
        return str(exc)
    return None


def _first_product(lm: LinearMap, d, d_tree: Tree, noun: str):
    """``product(x, d)`` once at x, with a user's exception re-raised saying what ``d`` was."""
    try:
        return lm.product(lm.arguments.value, d)
    except Exception as exc:
        raise TypeError(
            f"{lm.product_name} raised {type(exc).__name__} ({exc}) when given a {noun} that is "
            f"{d_tree.describe()}"
        ) from exc


def _wrong_structure(kind: str, result, lm: LinearMap, expected: Tree, other: Tree, mix_up: str):
    """A product of the wrong structure fails without a numerical check; when it has the
    structure the other product would have, that is the likely mistake."""
    who = f"{lm.product_name} returned"
    problem = _structure_problem(result, expected, who)
    if problem is None:
        return None
    report = DerivativeReport(kind, "fail", [], diagnosis=f"structure: {problem}")
    if _structure_problem(result, other, who) is None:
        report.diagnosis += f" — it looks like {mix_up}"
    return report


def _verdict_report(
    kind: str, reductions: list[Reduction], notes: list[str], axes=("rows", "columns")
) -> DerivativeReport:
    """Combine the reductions' verdicts; for a failure, say where and (when every failing
    scalar check agrees on it) what kind of mistake it is. ``axes`` names what a reduction's
    output and its failing entries are (rows and columns of J; columns and rows of H)."""
    report = DerivativeReport(kind, combined_verdict(r.verdict for r in reductions), reductions)
    report.notes.extend(notes)
    if report.verdict == "fail":
        report.diagnosis = _where(report, axes)
        kinds = {
            text
            for r in reductions
            if r.verdict == "fail"
            for text in getattr(r.report, "diagnosis", {}).values()
            if not text.startswith(_LOCAL_KINDS)  # positions in check_grad's flat vector
        }
        if len(kinds) == 1:
            report.diagnosis += f"; every failing check says: {kinds.pop()}"
    return report


def _where(report: DerivativeReport, axes) -> str:
    parts = []
    if report.wrong_outputs:
        parts.append(f"wrong {axes[0]}: {_short(report.wrong_outputs)}")
    if report.wrong_inputs:
        parts.append(f"wrong {axes[1]}: {_short(report.wrong_inputs)}")
    return "; ".join(parts) or "the derivative disagrees along random directions"


def _same_single_shape(a: Tree, b: Tree) -> bool:
    return len(a.leaves) == len(b.leaves) == 1 and a.leaves[0].shape == b.leaves[0].shape


# -- the public checks ------------------------------------------------------------------------
def _start(f, product, product_name, args, argnums, seed):
    """Validate the common arguments and build the vector function's LinearMap."""
    for name, fn in (("f", f), (product_name, product)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {describe(fn)}")
    arguments = Arguments.pick(args, argnums)
    out = Tree(arguments.call(f, arguments.value), name="f(x)")

    def pair(x, w):
        return float(out.flatten(arguments.call(f, x), "f returned") @ w)

    def user_product(x, d):
        return arguments.call(lambda *a: product(*a, d), x)

    rng = np.random.default_rng(_seed(seed))
    return LinearMap(pair, user_product, arguments, out, product_name), rng


def _seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_vjp(
    f: Callable,
    vjp_f: Callable,
    *args,
    argnums=0,
    cotangents=None,
    seed: int = 0,
    **options,
) -> DerivativeReport:
    """Check a vector-Jacobian product: ``vjp_f(*args, v)`` must return ``vᵀJ`` (the structure
    of x) for a cotangent ``v`` shaped like ``f(*args)``.

    Each cotangent reduces to ``check_grad`` of ``x ↦ ⟨v, f(x)⟩``. ``cotangents``: None (every
    unit cotangent — one row of J each — when f has at most ``BASIS_LIMIT`` outputs, else 3
    random ones), ``"all"``, or a number of random ones from ``seed``. ``options`` go to
    ``check_grad``. A square J whose VJP is really ``J v`` (a JVP) is recognised.
    """
    lm, rng = _start(f, vjp_f, "vjp_f", args, argnums, seed)
    cot = directions(lm.out, cotangents, rng, "cotangent", "cotangents")
    tree = lm.arguments.tree
    first = _first_product(lm, lm.out.unflatten(cot.vectors[0]), lm.out, "cotangent")
    wrong = _wrong_structure("vjp", first, lm, tree, lm.out, "a JVP, J u, shaped like f(x)")
    if wrong is not None:
        return wrong
    report = _verdict_report("vjp", _vjp_reductions(lm, cot, options), [])
    if report.verdict == "fail" and _same_single_shape(tree, lm.out):
        as_jvp = _jvp_reductions(
            lm, directions(tree, None, rng, "tangent", "tangents"), cot, options
        )
        if combined_verdict(r.verdict for r in as_jvp) == "pass":
            report.diagnosis = "vjp_f computes J v (a JVP), not vᵀJ: " + report.diagnosis
    return report


def check_jvp(
    f: Callable,
    jvp_f: Callable,
    *args,
    argnums=0,
    tangents=None,
    cotangents=None,
    seed: int = 0,
    **options,
) -> DerivativeReport:
    """Check a Jacobian-vector product: ``jvp_f(*args, u)`` must return ``J u`` (the structure
    of ``f(*args)``) for a tangent ``u`` shaped like x.

    For each cotangent ``w`` it runs one ``check_grad`` in ``t`` of ``⟨w, f(x + Σ t_j u_j)⟩``,
    whose gradient is ``[⟨w, J u_j⟩]_j``. ``tangents`` and ``cotangents``: None (every unit
    vector up to ``BASIS_LIMIT`` entries — columns and rows of J — else 3 random ones),
    ``"all"``, or a number of random ones. A square J whose JVP is really ``uᵀJ`` is recognised.
    """
    lm, rng = _start(f, jvp_f, "jvp_f", args, argnums, seed)
    tree = lm.arguments.tree
    tan = directions(tree, tangents, rng, "tangent", "tangents")
    cot = directions(lm.out, cotangents, rng, "cotangent", "cotangents")
    first = _first_product(lm, tree.unflatten(tan.vectors[0]), tree, "tangent")
    wrong = _wrong_structure("jvp", first, lm, lm.out, tree, "a VJP, uᵀJ, shaped like x")
    if wrong is not None:
        return wrong
    report = _verdict_report("jvp", _jvp_reductions(lm, tan, cot, options), [])
    if report.verdict == "fail" and _same_single_shape(tree, lm.out):
        as_vjp = _vjp_reductions(
            lm, directions(lm.out, None, rng, "cotangent", "cotangents"), options
        )
        if combined_verdict(r.verdict for r in as_vjp) == "pass":
            report.diagnosis = "jvp_f computes uᵀJ (a VJP), not J u: " + report.diagnosis
    return report


def check_jacobian(
    f: Callable, jac_f: Callable, x, *, rows=None, seed: int = 0, **options
) -> DerivativeReport:
    """Check a Jacobian: ``jac_f(x)`` must have shape ``f(x).shape + x.shape`` with
    ``J[i..., j...] = ∂f_i/∂x_j``, for an array (or scalar) ``x`` and ``f(x)``.

    Row i is the gradient of ``f_i``: one ``check_grad`` per row (``rows``: None = every row
    up to ``BASIS_LIMIT`` outputs, else 3 random combinations of rows; ``"all"``; or a number).
    A Jacobian that is transposed — shape ``x.shape + f(x).shape``, or the transpose of a
    square one — is recognised.
    """
    for name, fn in (("f", f), ("jac_f", jac_f)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {describe(fn)}")
    tree = _single_array(Tree(x), "check_jacobian", "x", "check_vjp")
    out = _single_array(Tree(f(x), name="f(x)"), "check_jacobian", "f(x)", "check_vjp")
    x_shape, out_shape = tree.leaves[0].shape, out.leaves[0].shape
    jac0 = np.asarray(getattr(jac_f(x), "data", jac_f(x)))
    expected = out_shape + x_shape
    if jac0.shape != expected:
        diagnosis = (
            f"shape: jac_f returned shape {jac0.shape}, expected f(x).shape + x.shape = {expected}"
        )
        if jac0.shape == x_shape + out_shape:
            diagnosis = (
                f"transposed: jac_f returned shape x.shape + f(x).shape = {jac0.shape}, "
                f"expected {expected}"
            )
        return DerivativeReport("jacobian", "fail", [], diagnosis=diagnosis)
    if jac0.dtype.kind not in "biuf":  # as hess_f's products are judged: jac_f's own name
        problem = f"jac_f returned dtype {jac0.dtype} for x, which is real"
        return DerivativeReport("jacobian", "fail", [], diagnosis=f"structure: {problem}")

    def as_vjp(transpose: bool):
        def vjp(x_, w):
            jac = np.asarray(getattr(jac_f(x_), "data", jac_f(x_)))  # in its own precision
            if transpose:
                jac = _swap_blocks(jac, len(out_shape))
            return np.tensordot(w, jac, axes=len(out_shape)).reshape(x_shape)

        return vjp

    lm, rng = _start(f, as_vjp(False), "jac_f", (x,), 0, seed)
    cot = directions(out, rows, rng, "row combination", "rows")
    report = _verdict_report("jacobian", _vjp_reductions(lm, cot, options), [])
    if report.verdict == "fail" and x_shape == out_shape:
        swapped = LinearMap(lm.pair, as_vjp(True), lm.arguments, lm.out, "jac_f")
        if combined_verdict(r.verdict for r in _vjp_reductions(swapped, cot, options)) == "pass":
            report.diagnosis = (
                "transposed: jac_f returns Jᵀ (∂f_j/∂x_i at [i, j]); " + report.diagnosis
            )
    return report


def _single_array(tree: Tree, check: str, who: str, instead: str) -> Tree:
    if len(tree.leaves) != 1 or tree.leaves[0].path:
        raise TypeError(
            f"{check} needs {who} to be an array or a scalar, got {tree.describe()}; "
            f"use {instead} for nested structures"
        )
    return tree


def _swap_blocks(jac: np.ndarray, k: int) -> np.ndarray:
    """The transpose of a Jacobian of shape A + B (len(A) = k) as one of shape B + A."""
    n = jac.ndim
    return np.transpose(jac, tuple(range(k, n)) + tuple(range(k)))


# -- second derivatives -----------------------------------------------------------------------
def _gradient_pairing(f, grad_f, arguments: Arguments) -> tuple[Callable, str]:
    """``pair(x, v) = ⟨∇f(x), v⟩``: from ``grad_f`` when given, else the derivative of f along v
    by Richardson differences (the same rule as numerical_grad's)."""
    tree = arguments.tree
    if grad_f is not None:

        def pair(x, v):
            g = arguments.call(grad_f, x)
            return float(tree.flatten(g, "grad_f returned") @ v)

        return pair, "differences of grad_f"

    def pair(x, v):
        vec = tree.flatten(x)
        dtype = np.result_type(*[np.asarray(leaf).dtype for leaf in tree.match(x, "x")], np.float32)
        eps = float(np.finfo(dtype).eps)
        h = eps**0.25 * max(float(np.max(np.abs(vec))), 1.0) / max(float(np.max(np.abs(v))), 1e-300)

        def phi(s):
            return float(arguments.call(f, tree.unflatten(vec + s * v, dtype)))

        f0 = phi(0.0)
        est, _, _ = combine("richardson", h, f0, [phi(o * h) for o in offsets("richardson")], eps)
        return float(est)

    return pair, "second differences of f"


def check_hvp(
    f: Callable,
    hvp_f: Callable,
    *args,
    grad_f: Callable | None = None,
    argnums=0,
    vectors=None,
    seed: int = 0,
    **options,
) -> DerivativeReport:
    """Check a Hessian-vector product: ``hvp_f(*args, v)`` must return ``H v`` (the structure of
    x) for ``v`` shaped like x, H the Hessian of the scalar ``f``.

    ``H v`` is the gradient of ``x ↦ ⟨∇f(x), v⟩``, checked by ``check_grad`` with ``∇f`` from
    ``grad_f`` when given (its own correctness is checked first; a wrong ``grad_f`` is set
    aside with a note) or from differences of ``f``. ``vectors``: None (every unit vector up to
    ``BASIS_LIMIT`` entries — each a column of H — else 3 random ones), ``"all"`` or a number.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {describe(f)}")
    if not callable(hvp_f):
        raise TypeError(f"hvp_f must be callable, got {describe(hvp_f)}")
    arguments = Arguments.pick(args, argnums)
    rng = np.random.default_rng(_seed(seed))
    return _second_order("hvp", f, hvp_f, "hvp_f", arguments, grad_f, vectors, rng, options)


def _second_order(kind, f, product, product_name, arguments, grad_f, vectors, rng, options):
    tree = arguments.tree
    notes = []
    if grad_f is not None:
        if not callable(grad_f):
            raise TypeError(f"grad_f must be callable or None, got {describe(grad_f)}")
        first = check_on_tree(
            lambda x: arguments.call(f, x),
            lambda x: arguments.call(grad_f, x),
            tree,
            arguments.value,
            "grad_f returned",
            options,
        )
        if verdict_of(first) != "pass":
            notes.append(f"grad_f itself did not pass ({verdict_of(first)}); used differences of f")
            grad_f = None
    pair, source = _gradient_pairing(f, grad_f, arguments)
    notes.append(f"the reference is {source}")

    def user_product(x, v):
        return arguments.call(lambda *a: product(*a, v), x)

    lm = LinearMap(pair, user_product, arguments, tree, product_name)
    vecs = directions(tree, vectors, rng, "vector", "vectors")
    first = _first_product(lm, tree.unflatten(vecs.vectors[0]), tree, "vector")
    problem = _structure_problem(first, tree, f"{product_name} returned")
    if problem is not None:
        return DerivativeReport(kind, "fail", [], diagnosis=f"structure: {problem}", notes=notes)
    reductions = _vjp_reductions(lm, vecs, options)
    for r in reductions:  # H v with v = e_j is column j of H
        r.what = r.what.replace("row ", "column ")
    return _verdict_report(kind, reductions, notes, axes=("columns of H", "rows of H"))


def check_hessian(
    f: Callable,
    hess_f: Callable,
    x,
    *,
    grad_f: Callable | None = None,
    columns=None,
    seed: int = 0,
    **options,
) -> DerivativeReport:
    """Check a Hessian: ``hess_f(x)`` of shape ``x.shape + x.shape`` for an array (or scalar)
    ``x``. Column j is ``H e_j``, checked as ``check_hvp`` does (every column up to
    ``BASIS_LIMIT`` entries, else 3 random combinations; ``columns`` overrides)."""
    if not callable(hess_f):
        raise TypeError(f"hess_f must be callable, got {describe(hess_f)}")
    tree = _single_array(Tree(x), "check_hessian", "x", "check_hvp")
    shape = tree.leaves[0].shape
    h0 = np.asarray(getattr(hess_f(x), "data", hess_f(x)))
    if h0.shape != shape + shape:
        return DerivativeReport(
            "hessian",
            "fail",
            [],
            diagnosis=(
                f"shape: hess_f returned shape {h0.shape}, expected x.shape + x.shape = "
                f"{shape + shape}"
            ),
        )

    def hvp(x_, v):
        h = np.asarray(getattr(hess_f(x_), "data", hess_f(x_)))  # in its own precision
        return np.tensordot(h, v, axes=len(shape)).reshape(shape)

    rng = np.random.default_rng(_seed(seed))
    arguments = Arguments.pick((x,), 0)
    return _second_order("hessian", f, hvp, "hess_f", arguments, grad_f, columns, rng, options)
