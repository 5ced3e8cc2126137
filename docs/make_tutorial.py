"""Regenerate docs/tutorial.md and its pictures in docs/img/ from the code itself.

    python docs/make_tutorial.py            # writes docs/tutorial.md and docs/img/*.png
    python docs/make_tutorial.py --out DIR  # writes DIR/tutorial.md and DIR/img/*.png

Every number in the tutorial is the output of a snippet or a command run by this script; the
prose is below, in ``SECTIONS``. Blocks marked ``stable`` print no timings, so their output is
the same on every run (the tests check that the tutorial holds exactly that output).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Text:
    markdown: str


@dataclass(frozen=True)
class Python:
    """A snippet run in one shared namespace; its printed output follows it."""

    code: str
    stable: bool = True


@dataclass(frozen=True)
class Command:
    """``backproof ARGS``, run as ``python -m backproof.compare.cli ARGS``."""

    args: tuple[str, ...]
    stable: bool = True


@dataclass(frozen=True)
class Figure:
    """A picture of the default study, with the caption the study wrote for it; or, with a
    ``caption`` here, a picture a snippet above saved as ``img/<name>.png``."""

    name: str
    caption: str = ""


def _t(text: str) -> Text:
    return Text(textwrap.dedent(text).strip())


def _py(code: str, stable: bool = True) -> Python:
    return Python(textwrap.dedent(code).strip(), stable)


SECTIONS = [
    _t("""
        # From the article's network to a verified engine

        This tutorial walks from the network of freeCodeCamp's "Building a neural network from
        scratch" to an autodiff engine whose every gradient is checked. Each output below was
        produced by the code it follows: `python docs/make_tutorial.py` regenerates this page and
        its pictures.

        ## 1. The article's network, corrected

        The article builds sigmoid layers, a binary cross-entropy cost, backpropagation by hand
        and batch gradient descent, in eight functions. As printed they do not run (see
        [the errata](article-errata.md)); `backproof.manual` keeps their names and data flow and
        corrects them. Its `train_article` is the article's `train`:
    """),
    _py("""
        from backproof import manual, network

        X, y = network.moons(200)  # X: (2, 200) features by examples, y: (1, 200) labels
        params, history = manual.train_article(X, y, [2, 8, 1], epochs=2000, lr=2.0)
        print(f"cost {history[0]:.6f} before the first step, {history[-1]:.6f} before the last")
        spec = network.NetworkSpec([2, 8, 1])
        print(f"accuracy on the training set: {network.accuracy(spec, params, X, y):.3f}")
    """),
    _t("""
        The cost falls, which proves nothing about the gradients: a gradient that is wrong by a
        factor, or wrong in one layer, often still lowers the cost. The rest of this tutorial
        checks them.

        ## 2. One step of backprop, every number

        `backproof explain` writes out the calculation a student would do on paper, for the
        first few examples of a data set. Here: a 2-2-2 sigmoid network with squared error, one
        example from `moons`. Forward, the pre-activations `Z` and activations `A` of each layer;
        then the cost; then the backward pass from the output error down, each line a formula
        and its numbers; then the parameters after one step of the learning rate. The numbers
        come from the hand-derived code, and each gradient is compared with HIPS autograd.
    """),
    Command(("explain", "--dims", "2,2,2", "--loss", "mse", "--m", "1")),
    _t("""
        The `1/m` of the mean enters once, at the output (`dA2 = (A2 − Y)/m`), and travels down
        inside every `dZ`; the article puts it in `dW` and `db` instead, which gives the same
        numbers (see "One layer back" in [derivations.md](derivations.md)).
        Add `--m 3` to see it with three examples, `--format markdown` for tables, `--json` for
        the numbers, `--params FILE.npz` for weights saved by `backproof train`.

        ## 3. Is a gradient right? Ask finite differences

        `check_grad` compares any gradient formula with finite differences of the function
        itself, and says what kind of mistake a wrong one looks like. The hand-derived gradient
        of the article's network passes; the same gradient with the `1/m` forgotten is caught
        and diagnosed as a scale error of `m = 200`:
    """),
    _py(
        """
        from backproof import check_grad

        params = network.init_params(spec)
        cost = lambda p: network.objective(spec, p, X, y)
        gradient = lambda p: manual.loss_and_grads(spec, p, X, y)[1]
        print(check_grad(cost, gradient, params))
        forgot_1_over_m = lambda p: {k: 200 * g for k, g in gradient(p).items()}
        print(check_grad(cost, forgot_1_over_m, params))
        """,
        stable=False,
    ),
    _t("""
        Two pictures show why finite differences can be trusted, and how far. The Taylor test
        needs no step size at all: along a direction `v`, `f(x + h v) − f(x) − h ⟨g, v⟩` shrinks
        like `h²` exactly when `g` is the gradient.
    """),
    Figure("taylor_test"),
    _t("""
        A single finite difference has an error that first falls with the step `h` (truncation)
        and then rises again (round-off): the V below. A fixed step (`numerical_grad`'s) sits
        near the bottom of the V; `check_grad`'s verdicts instead try a ladder of larger steps,
        refine them by Richardson extrapolation and keep the estimate with the smallest error
        bound, so that the bound is known, not guessed.
    """),
    Figure("step_sweep"),
    _t("""
        ## 4. A second implementation: the autodiff engine

        `backproof.autodiff` knows no formula of the network. Each primitive carries only its
        local derivative, and a tape applies the chain rule in reverse. On scalars it keeps
        micrograd's surface:
    """),
    _py("""
        from backproof import autodiff
        from backproof.autodiff import Value

        x = Value(2.0, label="x")
        f = x * x + x.sigmoid()  # f'(x) = 2x + sigmoid(x) (1 - sigmoid(x))
        f.backward()
        print(f"f(2) = {f.data:.9f}, f'(2) = {x.grad:.9f}")
        ax = autodiff.draw(f, engine="matplotlib")  # engine="auto" uses Graphviz when installed
        ax.figure.savefig("img/value_graph.png", dpi=110, bbox_inches="tight")
    """),
    Figure(
        "value_graph",
        "The graph the tape recorded for f = x·x + sigmoid(x), after f.backward(). Each box "
        "holds its formula, its value (data) and the derivative of f with respect to it (grad). "
        "x feeds two operations, so its grad is the sum of what flows back along both paths: "
        "the f'(2) printed above.",
    ),
    _t("""
        On arrays, the same network's gradient by the engine matches the hand-derived one to
        rounding:
    """),
    _py(
        """
        import numpy as np
        from backproof import autodiff

        _, by_hand = manual.loss_and_grads(spec, params, X, y)
        _, by_tape = autodiff.loss_and_grads(spec, params, X, y, engine="tensor")
        for key in by_hand:
            difference = np.max(np.abs(by_hand[key] - by_tape[key])) / np.max(np.abs(by_hand[key]))
            print(f"{key}: largest difference {difference:.1e} of the largest entry")
        """,
        stable=False,  # rounding differences move with the engine's order of operations
    ),
    _t("""
        ## 5. Everything against everything

        `backproof` with no arguments runs the default study: four implementations (by hand,
        the engine on tensors and on scalars, HIPS autograd) against three references (autograd,
        finite differences, the complex step), parameter by parameter; then training with the
        hand-derived gradients and with the engine from the same start.
    """),
    Command(("--out", "img"), stable=False),
    _t("""
        The agreement table as a picture: every error far below its tolerance line.
    """),
    Figure("param_errors"),
    Figure("cost_histories"),
    _t("""
        The article's initialisation (weights times 0.01) is small enough to matter: in a deeper
        network the gradient fades on its way down to the first layer.
    """),
    Figure("layer_grad_norms"),
    _t("""
        ## 6. Classic mistakes, and where they enter

        `backproof mutants` runs a catalog of wrong derivations — the slips people make when
        deriving backprop by hand, and the article's own — through `check_grad`. Each must be
        caught, with a diagnosis that fits the mistake and the layer where it enters.
    """),
    Command(("mutants",), stable=False),
    Figure("catalog_heatmap"),
    _t("""
        From here: [derivations.md](derivations.md) derives each formula used above;
        [article-errata.md](article-errata.md) lists what the article's printed code gets wrong.
    """),
]


def run_python(code: str, namespace: dict, cwd: str) -> str:
    """Run a snippet in ``cwd`` (where it finds ``img/``); what it printed."""
    out, here = io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<tutorial>", "exec"), namespace)
    finally:
        os.chdir(here)
    return out.getvalue().rstrip()


def run_command(args, cwd: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "backproof.compare.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"backproof {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.rstrip()


def draw_study(img_dir: str) -> dict:
    """The default study's pictures in ``img_dir``; returns their captions by name."""
    from backproof import network
    from backproof.compare.study import DEFAULT_STUDY, run_study

    spec = network.NetworkSpec(DEFAULT_STUDY["dims"])
    X, y = network.load_data(DEFAULT_STUDY["data"], m=DEFAULT_STUDY["m"])
    result = run_study(
        spec,
        X,
        y,
        out_dir=img_dir,
        epochs=DEFAULT_STUDY["epochs"],
        lr=DEFAULT_STUDY["lr"],
        progress=False,
        norm_epochs=DEFAULT_STUDY["norm_epochs"],
        data_name=DEFAULT_STUDY["data"],
    )
    return result["captions"]


def block_output(item, namespace: dict, cwd: str) -> str:
    """What a Python or Command item prints."""
    if isinstance(item, Python):
        return run_python(item.code, namespace, cwd)
    return run_command(item.args, cwd)


def render(sections, out_dir: str, stable_only: bool = False) -> str:
    """The tutorial's Markdown; pictures go to ``out_dir/img``.

    The pictures are drawn last, by ``draw_study``, so that the captions drawn in them name the
    data set (the ``backproof`` command run in section 5 writes the same pictures first).
    """
    out_dir = os.path.abspath(out_dir)
    os.makedirs(os.path.join(out_dir, "img"), exist_ok=True)
    namespace: dict = {}
    parts = []
    for item in sections:
        if isinstance(item, Text):
            parts.append(item.markdown)
        elif isinstance(item, Figure):
            parts.append(item)  # filled in below, once the captions are known
        elif stable_only and not item.stable and isinstance(item, Command):
            continue  # the study and the catalog take seconds and print timings
        else:
            shown = item.code if isinstance(item, Python) else "$ backproof " + " ".join(item.args)
            language = "python" if isinstance(item, Python) else "console"
            output = block_output(item, namespace, out_dir).replace(out_dir + os.sep, "")
            if item.stable or not stable_only:  # later snippets may use what this one defined
                parts.append(f"```{language}\n{shown}\n```\n\n```text\n{output}\n```")
    if stable_only:
        return "\n\n".join(p for p in parts if isinstance(p, str)) + "\n"
    captions = draw_study(os.path.join(out_dir, "img"))
    figure = 0
    for i, part in enumerate(parts):
        if isinstance(part, Figure):
            figure += 1
            caption = part.caption or captions[part.name]
            parts[i] = f"![{part.name}](img/{part.name}.png)\n\n*Figure {figure}. {caption}*"
    return "\n\n".join(parts) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=HERE, help="folder for tutorial.md and img/")
    args = parser.parse_args(argv)
    text = render(SECTIONS, args.out)
    path = os.path.join(args.out, "tutorial.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} and {os.path.join(args.out, 'img')}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
