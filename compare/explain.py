"""``backproof explain``: one step of backprop by hand, every number shown and checked.

For a small network and the first few examples of a data set, ``explain`` writes out what a
student would compute on paper:

1. the forward pass, ``Z_l = W_l A_{l-1} + b_l`` and ``A_l = g_l(Z_l)`` for every layer;
2. the cost J;
3. the backward pass, from the output error down: ``dZ_l = dA_l ⊙ g_l′(Z_l)``,
   ``dW_l = dZ_l A_{l-1}ᵀ``, ``db_l = Σ_j dZ_l``, ``dA_{l-1} = W_lᵀ dZ_l``, with the ``1/m`` of
   the mean entering once, at the output, as in ``docs/derivations.md``;
4. the parameters after one gradient-descent step ``p ← p − lr·dp``, and the cost there.

The numbers come from the hand-derived code (``manual``), and every gradient printed — the
intermediate ``dZ_l`` and ``dA_l`` as well as ``dW_l`` and ``db_l`` — is compared with HIPS
autograd differentiating the shared definition of the network (``compare.reference``).

``explain(spec, params, X, Y, lr)`` returns an ``Explanation``; ``format_text``,
``format_markdown`` and ``Explanation.to_dict`` present it. ``add_explain_parser`` and
``run_explain`` are the command line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import autograd
import numpy as np

from .. import manual, network
from ..network import NetworkSpec
from ..network.activations import REGISTRY
from . import reference

__all__ = [
    "Step",
    "Explanation",
    "explain",
    "format_number",
    "format_text",
    "format_markdown",
    "saved_network",
    "add_explain_parser",
    "run_explain",
]

SIGNIFICANT_DIGITS = 9

# g′ in the layer's own names, for the activations a first course meets; the others are
# described by their registry entry's summary (network.activations)
_DERIVATIVE_TEXT = {
    "sigmoid": "A{l} ⊙ (1 − A{l})",
    "tanh": "1 − A{l}²",
    "relu": "[Z{l} > 0]",
    "linear": "1",
}

_COST_TEXT = {
    "bce": "−(1/m) Σ [Y log A{L} + (1 − Y) log(1 − A{L})]",
    "ce": "−(1/m) Σ Y log A{L}",
    "mse": "(1/(2m)) Σ (A{L} − Y)²",
}


# -- the numbers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of the hand calculation: ``name = formula = value``.

    For a gradient, ``reference`` holds autograd's value of the same derivative and ``agrees``
    says whether the two match to the precision of the dtype; both are None for other values.
    """

    name: str
    formula: str
    value: np.ndarray
    reference: np.ndarray | None = None
    agrees: bool | None = None

    def to_dict(self) -> dict:
        out = {"name": self.name, "formula": self.formula, "value": _tolist(self.value)}
        if self.reference is not None:
            out["autograd"] = _tolist(self.reference)
            out["max_abs_difference"] = float(np.max(np.abs(self.value - self.reference)))
            out["agrees"] = bool(self.agrees)
        return out


@dataclass
class Explanation:
    """The whole calculation: inputs, forward pass, cost, backward pass and one update."""

    spec: NetworkSpec
    lr: float
    inputs: list[Step]
    forward: list[Step]
    cost: Step
    backward: list[Step]
    update: list[Step]
    cost_after: Step
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def m(self) -> int:
        return int(self.inputs[0].value.shape[1])

    @property
    def gradients(self) -> list[Step]:
        return [s for s in self.backward if s.reference is not None]

    @property
    def ok(self) -> bool:
        """Every printed gradient agrees with autograd."""
        return all(s.agrees for s in self.gradients)

    def to_dict(self) -> dict:
        spec = self.spec
        return {
            "spec": {
                "layer_dims": list(spec.layer_dims),
                "activations": list(spec.activations),
                "loss": spec.loss,
                "init": spec.init,
                "seed": spec.seed,
                "dtype": spec.dtype.name,
            },
            "m": self.m,
            "lr": self.lr,
            "inputs": [s.to_dict() for s in self.inputs],
            "forward": [s.to_dict() for s in self.forward],
            "cost": self.cost.to_dict(),
            "backward": [s.to_dict() for s in self.backward],
            "update": [s.to_dict() for s in self.update],
            "cost_after_step": self.cost_after.to_dict(),
            "check": {
                "against": "HIPS autograd",
                "relative_tolerance": self.tolerance,
                "gradients_checked": len(self.gradients),
                "all_agree": self.ok,
            },
            "notes": list(self.notes),
        }


def explain(spec: NetworkSpec, params, X, Y, lr: float = 0.5) -> Explanation:
    """Forward, cost, backward and one step of ``lr`` for ``(X, Y)``, every number kept.

    The backward pass uses ``manual``'s hand-derived pieces (``output_delta``,
    ``activation_backward``, ``linear_backward``, ``update_parameters``); each gradient is then
    compared with autograd's derivative of the same quantity.
    """
    network.check_spec(spec)
    params = network.check_params(spec, params)
    X, Y = network.check_data(spec, X, Y)
    lr = network.validation.check_positive_float("lr", lr)
    Zs, As = network.forward(spec, params, X)
    tolerance = 1e4 * float(np.finfo(spec.dtype).eps)

    inputs = _input_steps(spec, params, X, Y)
    forward = _forward_steps(spec, Zs, As)
    L = spec.n_layers
    cost = Step(
        "J", _COST_TEXT[spec.loss].format(L=L), np.float64(network.cost(spec, params, X, Y))
    )
    backward, grads = _backward_steps(spec, params, Zs, As, Y, tolerance)
    update, new_params = _update_steps(params, grads, lr)
    after = Step(
        "J (new parameters)",
        "",
        np.float64(network.cost(spec, new_params, X, Y)),
    )
    notes = []
    if spec.loss in ("bce", "ce"):
        notes.append(
            f"dZ{L} = (A{L} − Y)/m is the product dA{L} ⊙ g′(Z{L}) with the divisions by A and "
            f"1 − A cancelled (docs/derivations.md); the cost is computed from the logits Z{L}."
        )
    return Explanation(spec, lr, inputs, forward, cost, backward, update, after, tolerance, notes)


def _input_steps(spec, params, X, Y) -> list[Step]:
    steps = [Step("A0", "X, one example per column", X), Step("Y", "the targets", Y)]
    for l in range(1, spec.n_layers + 1):
        steps.append(Step(f"W{l}", "", params[f"W{l}"]))
        steps.append(Step(f"b{l}", "", params[f"b{l}"]))
    return steps


def _forward_steps(spec, Zs, As) -> list[Step]:
    steps = []
    for l in range(1, spec.n_layers + 1):
        g = spec.activations[l - 1]
        steps.append(Step(f"Z{l}", f"W{l} A{l - 1} + b{l}", Zs[l]))
        steps.append(Step(f"A{l}", f"{g}(Z{l})", As[l]))
    return steps


def _backward_steps(spec, params, Zs, As, Y, tolerance):
    """The backward pass as a list of steps, and the parameter gradients keyed like params."""
    L = spec.n_layers
    m = Y.shape[1]
    truth = _AutogradDerivatives(spec, params, Zs, As, Y)
    steps = []

    def gradient(name, formula, value, ref):
        agrees = _agree(value, ref, tolerance)
        steps.append(Step(name, formula, value, ref, agrees))

    inv_m = spec.dtype.type(1.0 / m)
    if spec.loss == "mse":
        dA = (As[L] - Y) * inv_m
        gradient(f"dA{L}", f"(A{L} − Y) / m", dA, truth.dA(L))
        dZ = _through_activation(spec, L, dA, Zs, As, steps)
    else:
        dZ = manual.output_delta(spec, As[L].copy(), Y)
    gradient(f"dZ{L}", _dZ_formula(spec, L), dZ, truth.dZ(L))

    grads = {}
    for l in range(L, 0, -1):
        if l < L:
            dZ = _through_activation(spec, l, dA, Zs, As, steps)
            gradient(f"dZ{l}", _dZ_formula(spec, l), dZ, truth.dZ(l))
        cache = (As[l - 1], params[f"W{l}"], params[f"b{l}"])
        dA, grads[f"W{l}"], grads[f"b{l}"] = manual.linear_backward(dZ, cache)
        gradient(f"dW{l}", f"dZ{l} A{l - 1}ᵀ", grads[f"W{l}"], truth.param(f"W{l}"))
        gradient(f"db{l}", f"Σ over the columns of dZ{l}", grads[f"b{l}"], truth.param(f"b{l}"))
        if l > 1:
            gradient(f"dA{l - 1}", f"W{l}ᵀ dZ{l}", dA, truth.dA(l - 1))
    return steps, grads


def _dZ_formula(spec, l) -> str:
    L = spec.n_layers
    if l == L and spec.loss != "mse":
        return f"(A{L} − Y) / m"
    if not REGISTRY[spec.activations[l - 1]].elementwise:  # softmax
        return f"A{l} ⊙ (dA{l} − Σ_i dA{l} ⊙ A{l}), column by column"
    return f"dA{l} ⊙ g′(Z{l})"


def _through_activation(spec, l, dA, Zs, As, steps) -> np.ndarray:
    """dZ_l from dA_l by ``manual.activation_backward``, given A_l or Z_l as the activation's
    registry entry declares; for an elementwise g, the step g′(Z_l) is recorded first so that
    the product can be checked by hand."""
    g = spec.activations[l - 1]
    entry = REGISTRY[g]
    kept = As[l] if entry.from_output else Zs[l]
    if entry.elementwise:
        slope = manual.activation_backward(g, np.ones_like(dA), kept)
        steps.append(Step(f"g′(Z{l})", _derivative_text(g, l), np.broadcast_to(slope, dA.shape)))
    return manual.activation_backward(g, dA, kept)


def _derivative_text(g: str, l: int) -> str:
    if g in _DERIVATIVE_TEXT:
        return f"{g}′(Z{l}) = " + _DERIVATIVE_TEXT[g].format(l=l)
    _, says, derivative = REGISTRY[g].summary.partition("g' = ")
    if says:
        return f"{g}′(Z{l}) = {derivative} (z = Z{l}, a = A{l})"
    return f"{g}′(Z{l}) (docs/derivations.md)"


def _update_steps(params, grads, lr):
    article_grads = {f"d{k}": v for k, v in grads.items()}
    new = manual.update_parameters(params, article_grads, lr)
    lr_text = format_number(lr)
    steps = [Step(k, f"{k} − {lr_text} · d{k}", new[k]) for k in params]
    return steps, new


class _AutogradDerivatives:
    """autograd's dJ/dZ_l, dJ/dA_l and dJ/dp, each from the shared definition of the network."""

    def __init__(self, spec, params, Zs, As, Y):
        self.spec, self.params, self.Zs, self.As, self.Y = spec, params, Zs, As, Y
        self._params = None

    def _rest(self, start: int, A_in):
        """The cost as a function of A_{start-1}: layers start..L, then the loss."""
        spec, ops = self.spec, reference.AUTOGRAD_OPS
        mse = spec.loss == "mse"
        Zs, As = network.forward(spec, self.params, A_in, ops, output=mse, start=start)
        return network.loss_from_output(spec, Zs[-1], As[-1], self.Y, ops)

    def dA(self, l: int) -> np.ndarray:
        if l == self.spec.n_layers:  # the cost as a function of the output itself (mse only)
            ops = reference.AUTOGRAD_OPS

            def cost(A):
                return network.loss_from_output(self.spec, None, A, self.Y, ops)

        else:

            def cost(A):
                return self._rest(l + 1, A)

        return self._grad(cost, self.As[l])

    def dZ(self, l: int) -> np.ndarray:
        spec, ops = self.spec, reference.AUTOGRAD_OPS
        g = ops.activation(spec.activations[l - 1])
        L = spec.n_layers

        def cost(Z):
            if l < L:
                return self._rest(l + 1, g(Z))
            return network.loss_from_output(spec, Z, g(Z), self.Y, ops)

        return self._grad(cost, self.Zs[l])

    def param(self, key: str) -> np.ndarray:
        if self._params is None:
            X = self.As[0]
            self._params = reference.loss_and_grads(self.spec, self.params, X, self.Y)[1]
        return self._params[key]

    def _grad(self, f, at) -> np.ndarray:
        return np.asarray(autograd.grad(f)(at), dtype=self.spec.dtype)


def _agree(value, ref, tolerance: float) -> bool:
    """max |value − ref| ≤ tolerance · max |ref| (two exact computations differ by rounding)."""
    scale = max(float(np.max(np.abs(ref))), float(np.finfo(ref.dtype).tiny))
    return bool(np.max(np.abs(value - ref)) <= tolerance * scale)


# -- presentation ------------------------------------------------------------------------------
def format_number(x) -> str:
    """A number to 9 significant digits in plain decimals, as a hand calculation writes it."""
    return np.format_float_positional(
        float(x) + 0.0, precision=SIGNIFICANT_DIGITS, unique=False, fractional=False, trim="-"
    )


def _rows(value) -> list[list[str]]:
    arr = np.atleast_2d(np.asarray(value, dtype=np.float64))
    return [[format_number(x) for x in row] for row in arr]


def _matrix_lines(value) -> list[str]:
    """``[ a  b ]`` rows with the columns aligned on their decimal points."""
    rows = _rows(value)
    widths_int = [max(len(r[j].split(".")[0]) for r in rows) for j in range(len(rows[0]))]
    widths_frac = [
        max(len(r[j].split(".")[1]) + 1 if "." in r[j] else 0 for r in rows)
        for j in range(len(rows[0]))
    ]
    lines = []
    for r in rows:
        cells = []
        for j, text in enumerate(r):
            whole, _, frac = text.partition(".")
            frac = "." + frac if frac else ""
            cells.append(whole.rjust(widths_int[j]) + frac.ljust(widths_frac[j]))
        lines.append("[ " + "  ".join(cells) + " ]")
    return lines


def _text_step(step: Step, width: int) -> list[str]:
    head = f"{step.name} = {step.formula}" if step.formula else step.name
    head = head.ljust(width) + " = "
    if np.ndim(step.value) == 0:
        body = [format_number(step.value)]
    else:
        body = _matrix_lines(step.value)
    lines = [head + body[0]] + [" " * len(head) + b for b in body[1:]]
    if step.reference is not None:
        lines[0] += "   autograd: " + ("agrees" if step.agrees else "DISAGREES")
    return lines


def _describe(spec: NetworkSpec, m: int) -> str:
    dims = "-".join(map(str, spec.layer_dims))
    return (
        f"network {dims} ({', '.join(spec.activations)}), loss {spec.loss}, "
        f"{spec.dtype.name}, m = {m} example{'s' if m != 1 else ''}"
    )


def format_text(ex: Explanation) -> str:
    """The calculation as plain text, one formula and its numbers per line."""
    sections = [
        ("given", ex.inputs),
        ("forward pass", ex.forward),
        ("cost", [ex.cost]),
        ("backward pass (manual, hand-derived)", ex.backward),
        (f"one gradient-descent step, p ← p − {format_number(ex.lr)} · dp", ex.update),
        ("after the step", [ex.cost_after]),
    ]
    width = max(
        len(f"{s.name} = {s.formula}" if s.formula else s.name)
        for _, steps in sections
        for s in steps
    )
    out = [f"backproof explain: {_describe(ex.spec, ex.m)}, lr = {format_number(ex.lr)}"]
    for title, steps in sections:
        out += ["", title]
        for s in steps:
            out += ["  " + line for line in _text_step(s, width)]
    out += [""] + [f"note: {n}" for n in ex.notes]
    out.append(_verdict_line(ex))
    return "\n".join(out)


def _verdict_line(ex: Explanation) -> str:
    n = len(ex.gradients)
    if ex.ok:
        return (
            f"check: all {n} gradients above agree with HIPS autograd "
            f"(relative tolerance {ex.tolerance:.1e})"
        )
    bad = ", ".join(s.name for s in ex.gradients if not s.agrees)
    return f"check: DISAGREEMENT with HIPS autograd in {bad} (of {n} gradients)"


def _markdown_value(value) -> str:
    if np.ndim(value) == 0:
        return format_number(value)
    return "<br>".join("[" + ", ".join(r) + "]" for r in _rows(value))


def format_markdown(ex: Explanation) -> str:
    """The calculation as Markdown tables a teacher can paste."""
    out = [f"**{_describe(ex.spec, ex.m)}, lr = {format_number(ex.lr)}**"]

    def table(title, steps, checked=False, blank="given"):
        out.extend(["", f"### {title}", ""])
        head = "| quantity | formula | value |" + (" autograd |" if checked else "")
        out.append(head)
        out.append("|---|---|---|" + ("---|" if checked else ""))
        for s in steps:
            row = f"| `{s.name}` | {s.formula or blank} | {_markdown_value(s.value)} |"
            if checked:
                row += " agrees |" if s.agrees else (" DISAGREES |" if s.agrees is False else " |")
            out.append(row)

    table("Given", ex.inputs)
    table("Forward pass", ex.forward)
    table("Cost", [ex.cost, ex.cost_after], blank="the same cost after one step")
    table("Backward pass", ex.backward, checked=True)
    table(f"One step, p ← p − {format_number(ex.lr)} · dp", ex.update)
    out.append("")
    out += [f"Note: {n}" for n in ex.notes]
    out.append(_verdict_line(ex).replace("check:", "Check:"))
    return "\n".join(out)


def _tolist(value):
    arr = np.asarray(value, dtype=np.float64)
    return arr.tolist()


# -- the command line ---------------------------------------------------------------------------
def saved_network(path, options: dict) -> tuple[NetworkSpec, dict]:
    """The network and parameters in a .npz file, for ``explain --params``.

    A file written by ``backproof train --out`` holds its spec (``network.load_params``); then
    ``options`` (``layer_dims``, ``activations``, ... as given on the command line, None when
    not given) must agree with it. A file of bare arrays ``W1, b1, …, WL, bL`` gets its layer
    sizes from the weights' shapes and everything else from ``options``.
    """
    arrays = _read_arrays(path)
    if "spec" in arrays:
        saved = network.load_params(path)
        for key, value in options.items():
            have = getattr(saved.spec, key)  # a dtype equals its name and its NumPy type
            if value is not None and _as_tuple(value) != _as_tuple(have):
                raise ValueError(
                    f"params: {path} was saved for {key} {_as_tuple(have)}, "
                    f"which differs from the {_as_tuple(value)} asked for"
                )
        return saved.spec, saved.params
    dims = _dims_from_weights(path, arrays)
    if options.get("layer_dims") is not None and list(options["layer_dims"]) != dims:
        raise ValueError(
            f"params: {path} holds a {dims} network, but --dims says {options['layer_dims']}"
        )
    defaults = {"activations": None, "loss": "bce", "init": "article", "seed": 3}
    chosen = {k: v if options.get(k) is None else options[k] for k, v in defaults.items()}
    spec = NetworkSpec(dims, dtype=options.get("dtype") or "float64", **chosen)
    params = {f"{p}{l}": arrays[f"{p}{l}"] for l in range(1, len(dims)) for p in "Wb"}
    return spec, network.check_params(spec, params)


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _read_arrays(path) -> dict:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"params must be a path to a .npz file, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"params: no such file {path!r}")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"params: cannot read {path!r} as .npz: {exc}") from None


def _dims_from_weights(path, arrays: dict) -> list[int]:
    """[n_0, n_1, …, n_L] from the shapes of W1, …, WL (each W_l is (n_l, n_{l-1}))."""
    if "W1" not in arrays or np.ndim(arrays["W1"]) != 2:
        raise ValueError(f"params: {path} holds no 2-D array 'W1' (arrays: {sorted(arrays)})")
    dims = [arrays["W1"].shape[1]]
    l = 1
    while f"W{l}" in arrays:
        W, b = arrays[f"W{l}"], arrays.get(f"b{l}")
        if b is None:
            raise ValueError(f"params: {path} has W{l} but no b{l}")
        if W.ndim != 2 or W.shape[1] != dims[-1] or b.shape != (W.shape[0], 1):
            raise ValueError(
                f"params: {path}: W{l} {W.shape} and b{l} {b.shape} do not continue a network "
                f"whose layer {l - 1} has {dims[-1]} units"
            )
        dims.append(W.shape[0])
        l += 1
    return dims


def add_explain_parser(subparsers):
    """Add the ``explain`` subcommand to the ``backproof`` command's subparsers."""
    from .cli import _int_list, _name_list, _nonneg_int, _positive_float, _positive_int

    text = "one step of backprop by hand: every number of the forward and backward pass"
    p = subparsers.add_parser("explain", help=text, description=text)
    g = p.add_argument_group("network")
    g.add_argument("--dims", type=_int_list, help="layer sizes (default: features,2,outputs)")
    g.add_argument(
        "--activations",
        type=_name_list,
        help="one per layer (default: sigmoid everywhere, softmax last for --loss ce)",
    )
    g.add_argument("--loss", choices=network.LOSSES, help="default: bce")
    g.add_argument("--init", choices=network.INITS, help="default: article")
    g.add_argument("--seed", type=_nonneg_int, help="seed of the weights (default: 3)")
    g.add_argument("--dtype", choices=network.DTYPES, help="default: float64")
    g.add_argument(
        "--params", help="a .npz file with W1, b1, ... (e.g. from train); overrides --init"
    )
    d = p.add_argument_group("data and step")
    d.add_argument(
        "--data",
        default="moons",
        help=f"a built-in data set ({', '.join(network.DATASETS)}) or a .csv / .npz file "
        "(default: moons)",
    )
    d.add_argument("--label", help="CSV: the label column's name (default: the last column)")
    d.add_argument("--data-seed", type=_nonneg_int, default=0, help="default: 0")
    d.add_argument(
        "--m", type=_positive_int, default=1, help="use the first M examples (default: 1)"
    )
    d.add_argument("--lr", type=_positive_float, default=0.5, help="learning rate (default: 0.5)")
    o = p.add_argument_group("output")
    o.add_argument("--format", default="text", choices=("text", "markdown"), help="default: text")
    o.add_argument("--json", action="store_true", help="the same numbers as JSON")
    o.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    return p


def run_explain(args) -> int:
    """Run ``backproof explain``: 0 when every gradient agrees with autograd, 3 otherwise."""
    from .cli import UsageError

    try:
        spec, params, X, Y = _problem_from_args(args)
        ex = explain(spec, params, X, Y, args.lr)
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(ex.to_dict(), indent=2))
    elif args.format == "markdown":
        print(format_markdown(ex))
    else:
        print(format_text(ex))
    return 0 if ex.ok else 3


def _problem_from_args(args):
    """(spec, params, X, Y) from the options; ValueError naming the option on bad input."""
    options = {
        "layer_dims": args.dims,
        "activations": args.activations,
        "loss": args.loss,
        "init": args.init,
        "seed": args.seed,
        "dtype": args.dtype,
    }
    spec = params = None
    if args.params is not None:
        spec, params = saved_network(args.params, options)
    X, y = network.load_data(args.data, label=args.label, seed=args.data_seed)
    loss = args.loss or "bce"  # for a network made here; a saved one has its own
    n_classes = int(np.max(y)) + 1 if y.shape[0] == 1 else y.shape[0]
    if args.m > X.shape[1]:
        raise ValueError(f"--m must be at most {X.shape[1]} for {args.data}, got {args.m}")
    X, y = X[:, : args.m], y[:, : args.m]
    if spec is None:
        dims = args.dims or [X.shape[0], 2, max(n_classes, 2) if loss == "ce" else 1]
        spec = NetworkSpec(
            dims,
            args.activations,
            loss,
            args.init or "article",
            3 if args.seed is None else args.seed,
            args.dtype or "float64",
        )
        params = network.init_params(spec)
    if spec.layer_dims[0] != X.shape[0]:
        source = "--dims" if args.params is None else f"--params {args.params}"
        raise ValueError(
            f"{source} must start with the number of features in the data "
            f"({X.shape[0]} for {args.data}), got {spec.layer_dims[0]}"
        )
    Y = network.targets(spec, y)
    return spec, params, X.astype(spec.dtype), Y
