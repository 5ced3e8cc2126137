"""The ``backproof`` command.

    backproof                 the default study (same as ``backproof study``)
    backproof study           every gradient of the article's network proved, with plots
    backproof check           compare_network on the network and data the options describe
    backproof train           train with the hand-derived gradients, print the cost
    backproof mutants         the catalog of wrong derivations, each with its verdict

Options may come before or after the subcommand (``backproof --loss mse check``); an option the
subcommand has no use for is refused, never dropped.

Exit codes: 0 pass; 1 an unexpected internal error (rerun with --debug for the traceback);
2 bad usage or bad input, including a training run that diverged (one line on stderr);
3 a gradient check that found a disagreement; 4 a check that could not decide (inconclusive).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time
from dataclasses import dataclass, field

import numpy as np

from .. import __version__, network
from ..network import NetworkSpec
from .verdicts import json_ready

__all__ = ["main", "build_parser", "EXIT_CODES", "exit_code", "find_divergence"]

EXIT_CODES = {"pass": 0, "fail": 3, "inconclusive": 4}
EXIT_INTERNAL, EXIT_USAGE = 1, 2

BUILTIN_EXAMPLES = 200  # examples generated for a built-in data set unless --m says otherwise
DIVERGENCE_FACTOR = 10  # a cost above this many times its starting value has diverged

# what each command trains for unless --epochs / --lr say otherwise (the help prints these)
TRAINING_DEFAULTS = {
    "study": {"epochs": 2000, "lr": 2.0},  # the article's run, as DEFAULT_STUDY
    "check": {"epochs": 50, "lr": 0.5},
    "train": {"epochs": 2000, "lr": 2.0},
}

COMMAND_HELP = {
    "study": "the default study: compare every implementation, train, draw plots",
    "check": "compare every implementation with every reference on one network",
    "train": "train with the hand-derived gradients and print the cost",
    "mutants": "run the catalog of wrong derivations through check_grad, each on its own small "
    "network",
}

NETWORK_OPTIONS = ("dims", "activations", "loss", "init", "seed", "dtype")


def verdict_of(result) -> str:
    """``result.verdict`` ("pass", "fail" or "inconclusive") when the result has one, else
    "pass" or "fail" by its truth."""
    verdict = getattr(result, "verdict", None)
    if verdict is None:
        return "pass" if result else "fail"
    return verdict


def exit_code(result) -> int:
    """The process exit code for a check's result: 0 pass, 3 fail, 4 inconclusive."""
    return EXIT_CODES[verdict_of(result)]


class UsageError(Exception):
    """Bad usage or bad input: exit 2 with one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see backproof --help)")


# ---------------------------------------------------------------------------------------------
# options: one table, from which every parser (the top level's and each subcommand's) is built


def _int_list(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 2,4,1, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return values


def _name_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative whole number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


@dataclass(frozen=True)
class Option:
    """One command-line option: its flags, where it is shown, which commands take it."""

    flags: tuple[str, ...]
    group: str
    help: str  # may name {default} and the command's training defaults {epochs} and {lr}
    commands: tuple[str, ...]
    default: object = None
    kwargs: dict = field(default_factory=dict)  # more add_argument keywords

    @property
    def key(self) -> str:
        """A name for this option alone (``--no-header`` -> ``no_header``)."""
        return self.flags[0].lstrip("-").replace("-", "_")

    @property
    def dest(self) -> str:
        """Where its value goes (``--header`` and ``--no-header`` share ``header``)."""
        return self.kwargs.get("dest", self.key)


TRAINED = ("study", "check", "train")
EVERY = ("study", "check", "train", "mutants")

OPTIONS = (
    Option(("--dims",), "network", "layer sizes, e.g. 2,4,1 (default: features,8,outputs)",
           TRAINED, kwargs={"type": _int_list}),
    Option(("--activations",), "network",
           "one per layer, e.g. tanh,sigmoid (the list is below); default sigmoid everywhere "
           "(softmax last for --loss ce)",
           TRAINED, kwargs={"type": _name_list}),
    Option(("--loss",), "network", "(default: {default})", TRAINED, "bce",
           {"choices": network.LOSSES}),
    Option(("--init",), "network", "(default: {default})", TRAINED, "article",
           {"choices": network.INITS}),
    Option(("--dtype",), "network", "(default: {default})", TRAINED, "float64",
           {"choices": network.DTYPES}),
    Option(("--seed",), "network", "seed of the initial weights "
           "(default: {default}, the article's)",
           TRAINED, 3, {"type": _nonneg_int}),
    Option(("--params",), "network",
           "check the parameters saved in this .npz file (by train --out) instead of new "
           "ones; the file's spec is the network", ("check",)),
    Option(("--data",), "data",
           f"a built-in data set ({', '.join(network.DATASETS)}) or a .csv / .npz file "
           "(default: {default})", TRAINED, "moons"),
    Option(("--label",), "data", "CSV: the label column's name (default: the last column)",
           TRAINED),
    Option(("--header",), "data", "CSV: the first row names the columns (default: detected)",
           TRAINED, kwargs={"action": "store_const", "const": True, "dest": "header"}),
    Option(("--no-header",), "data", "CSV: the first row is data (default: detected)",
           TRAINED, kwargs={"action": "store_const", "const": False, "dest": "header"}),
    Option(("--m",), "data",
           f"examples: how many a built-in set generates (default: {BUILTIN_EXAMPLES}), or a "
           "seeded random subsample of a file's rows (default: every row)",
           TRAINED, kwargs={"type": _positive_int}),
    Option(("--data-seed",), "data", "seed of a generated data set or "
           "subsample (default: {default})",
           TRAINED, 0, {"type": _nonneg_int}),
    Option(("--epochs",), "training", "full-batch gradient-descent steps (default: {epochs})",
           TRAINED, kwargs={"type": _nonneg_int}),
    Option(("--lr",), "training", "learning rate (default: {lr})", TRAINED,
           kwargs={"type": _positive_float}),
    Option(("--print-every",), "training", "print the cost every N epochs (default: epochs/10)",
           ("train",), kwargs={"type": _positive_int}),
    Option(("--out",), "output",
           "folder for plots and results, created if need be (default: {default})",
           ("study", "train"), "backproof-out"),
    Option(("--json",), "output", "print machine-readable JSON on stdout", EVERY, False,
           {"action": "store_true"}),
    Option(("--debug",), "output", "show tracebacks of internal errors", EVERY, False,
           {"action": "store_true"}),
    Option(("--no-progress",), "output", "never show a progress bar", EVERY, False,
           {"action": "store_true"}),
)  # fmt: skip

BEFORE = "before_"  # the top level stores an option under BEFORE + dest, to tell where it was given
EXIT_CODES_TEXT = (
    "Exit codes: 0 pass, 1 internal error, 2 bad usage or input (one line on stderr; also a "
    "training run that diverged), 3 a gradient check failed, 4 a check was inconclusive."
)


def _add_options(parser: argparse.ArgumentParser, command: str | None) -> None:
    """The options of ``command`` on its subparser, with that command's defaults in the help; or
    (``command`` None) every option on the top-level parser, stored under ``BEFORE + dest`` and
    shown with the study's defaults (the command that runs when no subcommand is named)."""
    shown = command or "study"
    groups: dict[str, argparse._ArgumentGroup] = {}
    for option in OPTIONS:
        if command is not None and command not in option.commands:
            continue
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        kwargs = dict(option.kwargs)
        help_text = option.help.format(default=option.default, **TRAINING_DEFAULTS.get(shown, {}))
        if command is None:
            kwargs["dest"] = BEFORE + option.key
            if kwargs.get("action") is None and "choices" not in kwargs:
                kwargs["metavar"] = option.dest.upper()
            if shown not in option.commands:
                help_text = argparse.SUPPRESS  # accepted before a subcommand that takes it
        kwargs["default"] = argparse.SUPPRESS  # only what was given; defaults come after
        groups[option.group].add_argument(*option.flags, help=help_text, **kwargs)


def _epilog(*paragraphs: str, activations: bool) -> str:
    """Paragraphs wrapped to the terminal's usual width, the activations listed one a line."""
    parts = [textwrap.fill(p, 79) for p in paragraphs]
    if activations:
        lines = network.activations.summaries().splitlines()
        parts.append("activations (--activations):\n" + "\n".join("  " + x for x in lines))
    return "\n\n".join([*parts, textwrap.fill(EXIT_CODES_TEXT, 79)])


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="backproof",
        description="Prove a neural network's gradients: the article's hand-derived backprop "
        "and a tape-based autodiff engine, checked against HIPS autograd, finite "
        "differences and the complex step.",
        epilog=_epilog(
            "With no subcommand, backproof runs the default study. Options may come before or "
            "after the subcommand.",
            activations=True,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"backproof {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    parser.subcommands = sub  # sub.choices: name -> parser; other modules may add_parser here
    for name, text in COMMAND_HELP.items():
        p = sub.add_parser(
            name,
            help=text,
            description=text,
            epilog=_epilog(activations=name in TRAINED),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_options(p, name)
    from .explain import add_explain_parser  # explain keeps its options in its own module

    add_explain_parser(sub)
    _add_options(parser, None)
    return parser


def _parse(argv: list[str]) -> argparse.Namespace:
    """Parse, move options given before the subcommand to it (or refuse them), fill defaults."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:  # no subcommand: the study, with every option given before it
        args, extra = parser.parse_known_args([*argv, "study"])
    command = args.command
    subparser = parser.subcommands.choices[command]
    own = command in COMMAND_HELP  # built here from OPTIONS, which leaves out what was not given
    if own:
        takes = {o.dest for o in OPTIONS if command in o.commands}
    else:  # a subcommand added by another module, with argparse's own defaults
        takes = {action.dest for action in subparser._actions}
    by_key = {o.key: o for o in OPTIONS}
    for word in extra:
        option = next((o for o in OPTIONS if word.split("=")[0] in o.flags), None)
        if option is not None:
            raise UsageError(_not_taken(command, option.flags[0]))
        raise UsageError(f"unrecognized argument {word!r} (see backproof {command} --help)")
    for key, value in list(vars(args).items()):
        if not key.startswith(BEFORE):
            continue
        delattr(args, key)
        option = by_key[key[len(BEFORE) :]]
        if option.dest not in takes:
            raise UsageError(_not_taken(command, option.flags[0]))
        if own:
            given_after = hasattr(args, option.dest)
        else:
            given_after = getattr(args, option.dest) != subparser.get_default(option.dest)
        if not given_after:  # given on both sides: the later one wins
            setattr(args, option.dest, value)
    if not own:
        return args
    args.given = {dest for dest in takes if hasattr(args, dest)}
    for option in OPTIONS:
        if command in option.commands and not hasattr(args, option.dest):
            setattr(args, option.dest, option.default)
    for name, value in TRAINING_DEFAULTS.get(command, {}).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def _not_taken(command: str, flag: str) -> str:
    if command == "mutants":
        return (
            f"mutants does not take {flag}: each wrong derivation runs on its own small "
            "network, listed in its output"
        )
    return f"{command} does not take {flag} (see backproof {command} --help)"


# ---------------------------------------------------------------------------------------------
# the network and data a command works on


@dataclass
class Workload:
    """What ``study``, ``check`` and ``train`` work on."""

    spec: NetworkSpec
    X: np.ndarray
    Y: np.ndarray
    data: network.Dataset
    params: dict | None = None  # saved parameters (--params), else None: init_params(spec)

    def describe_data(self) -> str:
        data = self.data
        name = os.path.basename(data.source) if data.header is not None else data.source
        facts = [f"{data.m} examples", f"{data.X.shape[0]} features"]
        if data.header is not None:
            facts.append("header row read" if data.header else "no header row")
        if data.classes is not None:
            facts.append("classes " + ", ".join(f"{k}={c}" for k, c in enumerate(data.classes)))
        return f"{name} ({', '.join(facts)})"

    def data_dict(self) -> dict:
        return {
            "source": self.data.source,
            "m": self.data.m,
            "features": self.data.X.shape[0],
            "header": self.data.header,
            "classes": None if self.data.classes is None else list(self.data.classes),
        }


def _load(args) -> Workload:
    saved = _load_params(args) if getattr(args, "params", None) is not None else None
    data = _load_data(args, saved.spec if saved else None)
    if saved is not None:
        spec = saved.spec
        if spec.layer_dims[0] != data.X.shape[0]:
            raise UsageError(
                f"--params {args.params} holds a network for {spec.layer_dims[0]} features, "
                f"but --data {args.data} has {data.X.shape[0]}"
            )
    else:
        spec = _spec(args, data)
    _check_classes(spec, data)
    try:
        Y = network.targets(spec, data.y)
        X, Y = network.check_data(spec, data.X, Y)
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_words(str(exc))) from None
    return Workload(spec, X, Y, data, saved.params if saved else None)


def _load_data(args, spec: NetworkSpec | None) -> network.Dataset:
    loss = spec.loss if spec else args.loss
    dims = list(spec.layer_dims) if spec else args.dims
    try:
        if loss == "ce" and args.data in ("spiral", "blobs"):  # as many classes as outputs
            classes = dims[-1] if dims else 3
            m = args.m or BUILTIN_EXAMPLES
            X, y = network.make_dataset(args.data, m=m, seed=args.data_seed, classes=classes)
            return network.Dataset(X, y, source=args.data)
        m = args.m
        if m is None and args.data in network.DATASETS:
            m = BUILTIN_EXAMPLES
        return network.load_data(
            args.data, label=args.label, m=m, seed=args.data_seed, header=args.header
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_words(str(exc))) from None


def _load_params(args) -> network.SavedParams:
    given = [o for o in NETWORK_OPTIONS if o in args.given]
    if given:
        raise UsageError(
            f"--{given[0]} cannot be combined with --params: the spec saved with the "
            "parameters is the network"
        )
    try:
        return network.load_params(args.params)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if "no saved spec" in message:
            message = (
                f"path: {args.params} holds parameters but no saved spec, so nothing says which "
                "network they belong to (backproof train --out saves both)"
            )
        if message.startswith("path:"):
            message = "--params" + message[len("path") :]
        raise UsageError(message) from None


def _check_classes(spec: NetworkSpec, data: network.Dataset) -> None:
    """Named classes must fit the loss: two for bce, one output each for ce."""
    if data.classes is None:
        return
    names = f"{len(data.classes)}: {', '.join(data.classes)}"
    if spec.loss == "bce" and len(data.classes) != 2:
        raise UsageError(
            f"loss bce needs two classes, but the labels of {data.source} name {names} "
            "(use --loss ce)"
        )
    if spec.loss == "ce" and spec.layer_dims[-1] != len(data.classes):
        raise UsageError(
            f"loss ce needs one output per class, but the network has {spec.layer_dims[-1]} "
            f"and the labels of {data.source} name {names}"
        )


def _spec(args, data: network.Dataset) -> NetworkSpec:
    n_features = data.X.shape[0]
    n_classes = len(data.classes) if data.classes else int(np.max(data.y)) + 1
    dims = args.dims
    if dims is None:
        dims = [n_features, 8, max(n_classes, 2) if args.loss == "ce" else 1]
    if dims[0] != n_features:
        raise UsageError(
            f"--dims must start with the number of features in the data "
            f"({n_features} for {args.data}), got {dims[0]}"
        )
    try:
        return NetworkSpec(dims, args.activations, args.loss, args.init, args.seed, args.dtype)
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_words(str(exc))) from None


def _cli_words(message: str) -> str:
    """A library message that starts with an argument's name, given the option that sets it
    (--init and --dtype need none: argparse offers only the library's own choices)."""
    for name, option in (
        ("layer_dims", "--dims"),
        ("activations", "--activations"),
        ("loss", "--loss"),
        ("data", "--data"),
        ("label", "--label"),
        ("header", "--header"),
        ("m", "--m"),
    ):
        if message.startswith((name + " ", name + ":")):
            return option + message[len(name) :]
    return message


def _check_out(path: str) -> None:
    """``--out`` must be a folder, or a path where one can be made: refuse before any work."""
    if not path.strip():
        raise UsageError("--out must name a folder, got an empty path")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        where = "" if parent == os.path.abspath(path) else f" (in {path!r})"
        raise UsageError(f"--out must name a folder, but {parent!r} is a file{where}")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out: cannot create the folder {path!r}: {error.strerror}") from None


# ---------------------------------------------------------------------------------------------
# divergence


@dataclass(frozen=True)
class Divergence:
    """A training run whose cost became non-finite or rose above ``DIVERGENCE_FACTOR`` times
    its starting value, at ``epoch`` (``cost_history[epoch]`` is the cost before that step)."""

    epoch: int
    cost: float
    start: float

    def message(self, lr: float) -> str:
        return (
            f"training diverged at epoch {self.epoch}: the cost went from {self.start:.6g} to "
            f"{self.cost:.6g}; try a smaller --lr (now {lr:g})"
        )


def _diverged(cost: float, start: float) -> bool:
    return not math.isfinite(cost) or (start > 0 and cost > DIVERGENCE_FACTOR * start)


def find_divergence(history) -> Divergence | None:
    """The first epoch at which a cost history diverged, or None."""
    costs = [float(c) for c in history]
    for epoch, cost in enumerate(costs):
        if _diverged(cost, costs[0]):
            return Divergence(epoch, cost, costs[0])
    return None


def _train_until_divergence(work: Workload, epochs: int, lr: float, progress):
    """manual's gradient descent, stopped at the first epoch whose cost has diverged."""
    from .. import manual

    spec, X, Y = work.spec, work.X, work.Y
    history: list[float] = []

    def watched(params):
        J, grads = manual.loss_and_grads(spec, params, X, Y, check=False)
        history.append(float(J))
        if _diverged(history[-1], history[0]):
            divergence = Divergence(len(history) - 1, history[-1], history[0])
            raise UsageError(divergence.message(lr))
        return J, grads

    start = network.init_params(spec) if work.params is None else work.params
    # a step that overflows the parameters is reported as a divergence, the cost after it being
    # inf or NaN; NumPy's warnings on the way would only precede that message
    with np.errstate(over="ignore", invalid="ignore"):
        return network.gradient_descent(watched, start, epochs, lr, progress=progress)


def _refuse_divergence(comparison, lr: float) -> None:
    for run in comparison.training:
        divergence = find_divergence(run.history)
        if divergence is not None:
            raise UsageError(divergence.message(lr))


# ---------------------------------------------------------------------------------------------
# output


def _progress(args) -> bool | None:
    return False if args.no_progress else None


def _print_json(obj) -> None:
    print(json.dumps(json_ready(obj), indent=2, allow_nan=False))


def _with_verdict(result, fields: dict) -> dict:
    verdict = verdict_of(result)
    return {"verdict": verdict, "exit_code": EXIT_CODES[verdict], **fields}


# ---------------------------------------------------------------------------------------------
# the commands


def cmd_study(args) -> int:
    from .study import DEFAULT_STUDY, run_study, study_to_dict

    _check_out(args.out)
    work = _load(args)
    try:
        result = run_study(
            work.spec,
            work.X,
            work.Y,
            out_dir=args.out,
            epochs=args.epochs,
            lr=args.lr,
            progress=_progress(args),
            norm_epochs=DEFAULT_STUDY["norm_epochs"],
            data_name=os.path.basename(work.data.source),
        )
    except FloatingPointError as exc:
        raise UsageError(f"training diverged: {exc}") from None
    comparison = result["comparison"]
    _refuse_divergence(comparison, args.lr)
    if args.json:
        _print_json(_with_verdict(comparison, study_to_dict(result) | {"data": work.data_dict()}))
        return exit_code(comparison)
    print(f"backproof study: {work.describe_data()}\n")
    print(comparison)
    print()
    for name, fin in result["training"].items():
        acc = "n/a" if fin["accuracy"] is None else f"{fin['accuracy']:.3f}"
        print(f"trained with {name:<7} final cost {fin['final_cost']:.6g}, accuracy {acc}")
    for name, slope in result["taylor_slopes"].items():
        print(f"Taylor test, {name}: slope {slope:.2f}")
    if result["plots"]:
        print(f"\nplots written to {os.path.abspath(args.out)}:")
        for path in result["plots"].values():
            print(f"  {os.path.basename(path)}")
    print(f"\ndone in {result['seconds']:.1f} s")
    return exit_code(comparison)


def cmd_check(args) -> int:
    from .network_check import compare_network

    work = _load(args)
    try:
        comparison = compare_network(
            work.spec,
            work.X,
            work.Y,
            work.params,
            epochs=args.epochs,
            lr=args.lr,
            progress=_progress(args),
        )
    except FloatingPointError as exc:
        raise UsageError(f"training diverged: {exc}") from None
    _refuse_divergence(comparison, args.lr)
    if args.json:
        fields = comparison.to_dict() | {"data": work.data_dict(), "params_file": args.params}
        _print_json(_with_verdict(comparison, fields))
    else:
        print(f"data: {work.describe_data()}")
        if args.params is not None:
            print(f"parameters: {args.params}")
        print(comparison)
    return exit_code(comparison)


def cmd_train(args) -> int:
    _check_out(args.out)
    work = _load(args)
    spec, X, Y = work.spec, work.X, work.Y
    t0 = time.perf_counter()
    params, history = _train_until_divergence(work, args.epochs, args.lr, _progress(args))
    seconds = time.perf_counter() - t0
    final = network.cost(spec, params, X, Y)
    acc = network.accuracy(spec, params, X, Y)
    os.makedirs(args.out, exist_ok=True)
    params_path = network.save_params(os.path.join(args.out, "params.npz"), spec, params)
    if args.json:
        _print_json(
            {
                "spec": spec.to_dict(),
                "data": work.data_dict(),
                "epochs": args.epochs,
                "lr": args.lr,
                "cost_history": history,
                "final_cost": final,
                "accuracy": acc,
                "params_file": params_path,
                "seconds": seconds,
            }
        )
        return 0
    every = args.print_every or max(1, args.epochs // 10)
    print(
        f"training {','.join(map(str, spec.layer_dims))} "
        f"({','.join(spec.activations)}, {spec.loss}) on {work.describe_data()}: "
        f"{args.epochs} epochs, lr {args.lr:g}"
    )
    for i in range(0, args.epochs, every):
        print(f"  epoch {i:>6}  cost {history[i]:.6g}")
    print(
        f"final cost {final:.6g}, accuracy {acc:.3f} ({seconds:.2f} s); "
        f"parameters and spec saved to {params_path}"
    )
    return 0


def _network_label(spec: NetworkSpec) -> str:
    acts = sorted(set(spec.activations), key=spec.activations.index)
    return f"{','.join(map(str, spec.layer_dims))} {'/'.join(acts)} {spec.loss}"


def cmd_mutants(args) -> int:
    from .mutants import mutant_problem, run_catalog

    results = run_catalog()
    caught = all(r.caught for r in results)
    examples = {r.mutant.name: mutant_problem(r.mutant)[2].shape[1] for r in results}
    if args.json:
        mutants = [
            r.to_dict() | {"network": r.mutant.spec.to_dict(), "m": examples[r.mutant.name]}
            for r in results
        ]
        _print_json(_with_verdict(caught, {"mutants": mutants}))
        return exit_code(caught)
    m = sorted(set(examples.values()))
    print(
        "each wrong derivation is checked on its own small network (dims, activations, loss) "
        f"with {'/'.join(map(str, m))} seeded examples:\n"
    )
    print(f"{'mutant':<28}{'network':<24}{'caught':<8}{'fits':<6}{'enters at':<11}diagnosis")
    for r in results:
        layer = "-" if r.entry_layer is None else f"layer {r.entry_layer}"
        print(
            f"{r.mutant.name:<28}{_network_label(r.mutant.spec):<24}"
            f"{'yes' if r.caught else 'NO':<8}{'yes' if r.fitting else 'no':<6}{layer:<11}"
            f"{r.summary()}"
        )
    print(
        f"\n{sum(r.caught for r in results)} of {len(results)} wrong derivations caught; "
        f"{sum(r.fitting for r in results)} with a fitting diagnosis"
    )
    return exit_code(caught)


def cmd_explain(args) -> int:
    from .explain import run_explain

    return run_explain(args)


COMMANDS = {
    "study": cmd_study,
    "check": cmd_check,
    "train": cmd_train,
    "mutants": cmd_mutants,
    "explain": cmd_explain,
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = _parse(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"backproof: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("backproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (backproof | head): nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence of a command-line tool
        if debug:
            raise
        print(
            f"backproof: internal error: {type(exc).__name__}: {exc} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
