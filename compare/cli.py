"""The ``backproof`` command.

    backproof                 the default study (same as ``backproof study``)
    backproof study           every gradient of the article's network proved, with plots
    backproof check           compare_network on the network and data the options describe
    backproof train           train with the hand-derived gradients, print the cost
    backproof mutants         the catalog of wrong derivations, each with its verdict

Exit codes: 0 success; 1 an unexpected internal error (rerun with --debug for the traceback);
2 bad usage or bad input (one line on stderr); 3 a gradient check that found a disagreement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from .. import network
from ..network import NetworkSpec

__all__ = ["main", "build_parser"]

EXIT_USAGE, EXIT_INTERNAL, EXIT_DISAGREE = 2, 1, 3


class UsageError(Exception):
    """Bad usage or bad input: exit 2 with one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see backproof --help)")


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


def _network_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network and data")
    g.add_argument(
        "--dims",
        type=_int_list,
        help="layer sizes, e.g. 2,4,1 (default: features,8,outputs; the study uses 2,8,1)",
    )
    g.add_argument(
        "--activations",
        type=_name_list,
        help="one per layer: sigmoid, relu, tanh, linear, softmax (last only); "
        "default sigmoid everywhere (softmax last for --loss ce)",
    )
    g.add_argument("--loss", default="bce", choices=network.LOSSES, help="default: bce")
    g.add_argument("--init", default="article", choices=network.INITS, help="default: article")
    g.add_argument("--dtype", default="float64", choices=network.DTYPES, help="default: float64")
    g.add_argument(
        "--data",
        default="moons",
        help=f"a built-in data set ({', '.join(network.DATASETS)}) or a .csv / .npz "
        "file (default: moons)",
    )
    g.add_argument("--label", help="CSV: the label column's name (default: the last column)")
    g.add_argument(
        "--m",
        type=_positive_int,
        default=200,
        help="examples to generate for a built-in data set (default: 200)",
    )
    g.add_argument(
        "--seed",
        type=_nonneg_int,
        default=3,
        help="seed of the initial weights (default: 3, the article's)",
    )
    g.add_argument(
        "--data-seed", type=_nonneg_int, default=0, help="seed of a generated data set (default: 0)"
    )
    t = p.add_argument_group("training")
    t.add_argument(
        "--epochs",
        type=_nonneg_int,
        default=None,
        help="full-batch gradient-descent steps (default: 2000; check: 50)",
    )
    t.add_argument("--lr", type=_positive_float, default=None, help="learning rate (default: 2.0)")
    o = p.add_argument_group("output")
    o.add_argument(
        "--out",
        default="backproof-out",
        help="folder for plots and results (default: ./backproof-out)",
    )
    o.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    o.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    o.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="backproof",
        description="Prove a neural network's gradients: the article's hand-derived backprop "
        "and a tape-based autodiff engine, checked against HIPS autograd, finite "
        "differences and the complex step.",
        epilog="With no subcommand, backproof runs the default study. Exit codes: 0 ok, "
        "1 internal error, 2 bad usage or input, 3 a gradient disagreement.",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    helps = {
        "study": "the default study: compare every implementation, train, draw plots",
        "check": "compare every implementation with every reference on one network",
        "train": "train with the hand-derived gradients and print the cost",
        "mutants": "run the catalog of wrong derivations through check_grad",
    }
    for name, text in helps.items():
        p = sub.add_parser(name, help=text, description=text)
        _network_options(p)
        if name == "train":
            p.add_argument(
                "--print-every",
                type=_positive_int,
                default=None,
                help="print the cost every N epochs (default: epochs/10)",
            )
    _network_options(parser)
    return parser


def _load(args):
    """(spec, X, Y, data name) from the options."""
    try:
        if args.loss == "ce" and args.data in ("spiral", "blobs"):  # as many classes as outputs
            classes = args.dims[-1] if args.dims else 3
            X, y = network.make_dataset(args.data, m=args.m, seed=args.data_seed, classes=classes)
        else:
            m = args.m if args.data in network.DATASETS else None
            X, y = network.load_data(args.data, label=args.label, m=m, seed=args.data_seed)
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_words(str(exc))) from None
    n_features = X.shape[0]
    dims = args.dims
    if dims is None:
        n_out = int(np.max(y)) + 1 if args.loss == "ce" else 1
        dims = [n_features, 8, max(n_out, 2) if args.loss == "ce" else 1]
    if dims[0] != n_features:
        raise UsageError(
            f"--dims must start with the number of features in the data "
            f"({n_features} for {args.data}), got {dims[0]}"
        )
    try:
        spec = NetworkSpec(dims, args.activations, args.loss, args.init, args.seed, args.dtype)
        Y = network.targets(spec, y)
        X, Y = network.check_data(spec, X, Y)
    except (ValueError, TypeError) as exc:
        raise UsageError(_cli_words(str(exc))) from None
    return spec, X, Y


def _cli_words(message: str) -> str:
    """A library message that starts with an argument's name, given the option that sets it."""
    for name, option in (
        ("layer_dims", "--dims"),
        ("activations", "--activations"),
        ("loss", "--loss"),
        ("init", "--init"),
        ("dtype", "--dtype"),
        ("data", "--data"),
        ("label", "--label"),
    ):
        if message.startswith((name + " ", name + ":")):
            return option + message[len(name) :]
    return message


def _progress(args) -> bool | None:
    return False if args.no_progress else None


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=_json_default))


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    return str(o)


def cmd_study(args) -> int:
    from .study import DEFAULT_STUDY, run_study, study_to_dict

    if args.dims is None and args.data == DEFAULT_STUDY["data"] and args.loss == "bce":
        args.dims = list(DEFAULT_STUDY["dims"])
    spec, X, Y = _load(args)
    epochs = DEFAULT_STUDY["epochs"] if args.epochs is None else args.epochs
    lr = DEFAULT_STUDY["lr"] if args.lr is None else args.lr
    result = run_study(
        spec,
        X,
        Y,
        out_dir=args.out,
        epochs=epochs,
        lr=lr,
        progress=_progress(args),
        norm_epochs=DEFAULT_STUDY["norm_epochs"],
    )
    comparison = result["comparison"]
    if args.json:
        _print_json(study_to_dict(result))
    else:
        print(f"backproof study: {args.data} ({X.shape[1]} examples, {X.shape[0]} features)\n")
        print(comparison)
        print()
        for name, fin in result["training"].items():
            acc = "n/a" if fin["accuracy"] is None else f"{fin['accuracy']:.3f}"
            print(f"trained with {name:<7} final cost {fin['final_cost']:.6f}, accuracy {acc}")
        for name, slope in result["taylor_slopes"].items():
            print(f"Taylor test, {name}: slope {slope:.2f}")
        if result["plots"]:
            print(f"\nplots written to {os.path.abspath(args.out)}:")
            for path in result["plots"].values():
                print(f"  {os.path.basename(path)}")
        print(f"\ndone in {result['seconds']:.1f} s")
    return 0 if comparison.ok else EXIT_DISAGREE


def cmd_check(args) -> int:
    from .network_check import compare_network

    spec, X, Y = _load(args)
    epochs = 50 if args.epochs is None else args.epochs
    lr = 0.5 if args.lr is None else args.lr
    comparison = compare_network(spec, X, Y, epochs=epochs, lr=lr, progress=_progress(args))
    if args.json:
        _print_json(comparison.to_dict())
    else:
        print(comparison)
    return 0 if comparison.ok else EXIT_DISAGREE


def cmd_train(args) -> int:
    from .. import manual

    spec, X, Y = _load(args)
    epochs = 2000 if args.epochs is None else args.epochs
    lr = 2.0 if args.lr is None else args.lr
    t0 = time.perf_counter()
    try:
        params, history = manual.train(X, Y, spec, epochs, lr, progress=_progress(args))
    except FloatingPointError as exc:
        raise UsageError(str(exc)) from None
    seconds = time.perf_counter() - t0
    final = network.cost(spec, params, X, Y)
    acc = network.accuracy(spec, params, X, Y)
    os.makedirs(args.out, exist_ok=True)
    params_path = os.path.join(args.out, "params.npz")
    np.savez(params_path, **params)
    if args.json:
        _print_json(
            {
                "spec": {
                    "layer_dims": list(spec.layer_dims),
                    "activations": list(spec.activations),
                    "loss": spec.loss,
                    "init": spec.init,
                    "seed": spec.seed,
                    "dtype": spec.dtype.name,
                },
                "epochs": epochs,
                "lr": lr,
                "cost_history": history,
                "final_cost": final,
                "accuracy": acc,
                "params_file": params_path,
                "seconds": seconds,
            }
        )
        return 0
    every = args.print_every or max(1, epochs // 10)
    print(
        f"training {','.join(map(str, spec.layer_dims))} "
        f"({','.join(spec.activations)}, {spec.loss}) on {args.data}: {epochs} epochs, lr {lr}"
    )
    for i in range(0, epochs, every):
        print(f"  epoch {i:>6}  cost {history[i]:.6f}")
    print(
        f"final cost {final:.6f}, accuracy {acc:.3f} ({seconds:.2f} s); "
        f"parameters saved to {params_path}"
    )
    return 0


def cmd_mutants(args) -> int:
    from .mutants import run_catalog

    results = run_catalog()
    if args.json:
        _print_json([r.to_dict() for r in results])
    else:
        print(f"{'mutant':<28}{'caught':<8}{'fits':<6}{'enters at':<11}diagnosis")
        for r in results:
            layer = "-" if r.entry_layer is None else f"layer {r.entry_layer}"
            print(
                f"{r.mutant.name:<28}{'yes' if r.caught else 'NO':<8}"
                f"{'yes' if r.fitting else 'no':<6}{layer:<11}{r.summary()}"
            )
        caught = sum(r.caught for r in results)
        print(
            f"\n{caught} of {len(results)} wrong derivations caught; "
            f"{sum(r.fitting for r in results)} with a fitting diagnosis"
        )
    return 0 if all(r.caught for r in results) else EXIT_DISAGREE


COMMANDS = {"study": cmd_study, "check": cmd_check, "train": cmd_train, "mutants": cmd_mutants}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command or "study"](args)
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
