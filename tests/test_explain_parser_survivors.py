"""What ``backproof explain --help`` tells a user, and what the options it lists do.

The mutation run left the argparse definition of the ``explain`` subcommand
(``compare.explain.add_explain_parser``) mostly unchecked: its purpose sentence, the titles of its
three option groups, each option's help words, choices and defaults, and ``--debug``'s flag. These
tests read the help as one line of words (argparse wraps it to the terminal's width) and check the
words that carry meaning; they run the command in process, so a mutated parser is the one that
runs. Nothing here trains: the only computations are a few one-example explanations.
"""

import json

import pytest

from backproof.compare import cli

PURPOSE = "one step of backprop by hand: every number of the forward and backward pass"


def run_cli(capsys, *args):
    """``backproof <args>`` run in process: the exit code, stdout and stderr. (The same helper as
    tests/conftest.py's, kept here so that this file also runs against older checkouts.)"""
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def eighty_columns(monkeypatch):
    """argparse wraps the help to the terminal's width; 80 columns, whatever the terminal."""
    monkeypatch.setenv("COLUMNS", "80")


def help_text(capsys, *args) -> str:
    """The ``--help`` output of ``backproof <args>``, its whitespace collapsed to single spaces."""
    with pytest.raises(SystemExit) as info:
        cli.main([*args, "--help"])
    assert info.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_the_command_list_and_explain_help_state_its_purpose(capsys):
    """``backproof --help`` lists explain with its sentence, and ``explain --help`` opens with
    it."""
    assert f"explain {PURPOSE}" in help_text(capsys)
    own = help_text(capsys, "explain")
    assert f"[--debug] {PURPOSE} options:" in own


@pytest.mark.parametrize(
    "words",
    [
        # the network
        "network: --dims DIMS layer sizes (default: features,2,outputs)",
        "--activations ACTIVATIONS one per layer (default: sigmoid everywhere, softmax last "
        "for --loss ce)",
        "--loss {bce,mse,ce} default: bce",
        "--init {article,xavier,he} default: article",
        "--seed SEED seed of the weights (default: 3)",
        "--dtype {float64,float32} default: float64",
        "--params PARAMS a .npz file with W1, b1, ... (e.g. from train); overrides --init",
        # the data and the step
        "data and step: --data DATA a built-in data set (xor, moons, circles, spiral, blobs) "
        "or a .csv / .npz file (default: moons)",
        "--label LABEL CSV: the label column's name (default: the last column)",
        "--data-seed DATA_SEED default: 0",
        "--m M use the first M examples (default: 1)",
        "--lr LR learning rate (default: 0.5)",
        # the output
        "output: --format {text,markdown} default: text",
        "--json the same numbers as JSON",
        "--debug show tracebacks of internal errors",
    ],
)
def test_explain_help_gives_each_options_meaning_group_and_default(capsys, words):
    """Each option under its group's title, with its choices (or metavar) and what it means."""
    assert words in help_text(capsys, "explain")


def test_the_parser_holds_the_defaults_the_help_states(capsys):
    """``build_parser`` (public) parses ``explain`` with the defaults its help gives; the options
    whose default depends on the data or the loss stay None until explain fills them in."""
    args = cli.build_parser().parse_args(["explain"])
    assert args.command == "explain"
    assert (args.data, args.data_seed, args.m, args.lr) == ("moons", 0, 1, 0.5)
    assert (args.format, args.json, args.debug) == ("text", False, False)
    unset = ("dims", "activations", "loss", "init", "seed", "dtype", "params", "label")
    assert {name: getattr(args, name) for name in unset} == dict.fromkeys(unset)


def test_explain_with_no_options_is_explain_with_the_defaults_its_help_states(capsys):
    """The numbers are those of a 2-2-1 sigmoid network (features,2,outputs) with bce, the
    article's initialisation seeded 3, in float64, on moons drawn with seed 0, one example,
    lr 0.5 — and the text format is the default."""
    code, bare, _ = run_cli(capsys, "explain", "--json")
    assert code == 0
    stated = (
        "--dims 2,2,1 --activations sigmoid,sigmoid --loss bce --init article --seed 3 "
        "--dtype float64 --data moons --data-seed 0 --m 1 --lr 0.5"
    ).split()
    code, explicit, _ = run_cli(capsys, "explain", "--json", *stated)
    assert code == 0
    assert json.loads(bare) == json.loads(explicit)
    shown = json.loads(bare)
    assert (shown["spec"]["layer_dims"], shown["m"], shown["lr"]) == ([2, 2, 1], 1, 0.5)

    code, text, _ = run_cli(capsys, "explain")
    assert code == 0 and text.startswith("backproof explain: network 2-2-1")
    assert run_cli(capsys, "explain", "--format", "text") == (0, text, "")
    code, markdown, _ = run_cli(capsys, "explain", "--format", "markdown")
    assert code == 0 and markdown != text


def test_debug_is_a_flag_explain_takes(capsys):
    """``--debug`` takes no value, after the subcommand or before it; the explanation is the
    same."""
    code, plain, _ = run_cli(capsys, "explain")
    assert code == 0
    assert run_cli(capsys, "explain", "--debug") == (0, plain, "")
    assert run_cli(capsys, "--debug", "explain") == (0, plain, "")


@pytest.mark.parametrize(
    ("args", "named", "said"),
    [
        (["--init", "glorot"], "--init", "invalid choice: 'glorot'"),
        (["--dtype", "float16"], "--dtype", "invalid choice: 'float16'"),
        (["--loss", "hinge"], "--loss", "invalid choice: 'hinge'"),
        (["--format", "html"], "--format", "invalid choice: 'html'"),
        (["--seed", "-1"], "--seed", "expected a non-negative whole number, got '-1'"),
        (["--data-seed", "x"], "--data-seed", "expected a whole number, got 'x'"),
        (["--m", "0"], "--m", "expected a positive whole number, got '0'"),
        (["--lr", "0"], "--lr", "expected a positive finite number, got '0'"),
        (["--dims", "2,x"], "--dims", "expected comma-separated integers such as 2,4,1"),
        (["--debug", "yes"], None, "unrecognized argument 'yes'"),
    ],
)
def test_a_bad_value_exits_2_with_one_line_naming_the_option(capsys, args, named, said):
    code, out, err = run_cli(capsys, "explain", *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("backproof: error: ")
    if named is not None:
        assert f"argument {named}: " in err
    assert said in err
