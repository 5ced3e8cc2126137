"""The docs agree with the code: every name they cite exists, every erratum cites its test."""

import importlib
import importlib.util
import pathlib
import re
import sys

import numpy as np
import pytest
from conftest import STUDY_PICTURES

from backproof import manual, network

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = ("network", "manual", "autodiff", "compare")

# `network.ops.sigmoid`, `backproof.compare.reference` ... but not the file `compare/plots.py`
# or a user's `network.py`
DOTTED = re.compile(
    r"(?<![\w/.])(?:backproof\.)?(?P<name>(?:network|manual|autodiff|compare)(?:\.[A-Za-z_]\w*)+)"
)
FROM_IMPORT = re.compile(r"from (?P<module>backproof(?:\.\w+)*) import (?P<names>[\w, ]+)")


def resolve(dotted: str):
    """``backproof.<dotted>`` as an object: attributes first, then submodules."""
    parts = dotted.split(".")
    obj = importlib.import_module(f"backproof.{parts[0]}")
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module("backproof." + ".".join(parts[: i + 1]))
    return obj


def cited_names(text: str) -> set[str]:
    names = set()
    for m in DOTTED.finditer(text):
        name = m.group("name")
        if not name.endswith(".py") and "__mutmut_" not in name:  # mutmut's names of mutants
            names.add(name)
    for m in FROM_IMPORT.finditer(text):
        module = m.group("module").removeprefix("backproof").lstrip(".")
        for item in m.group("names").split(","):
            if item.strip():
                names.add(f"{module}.{item.strip()}" if module else f"=top.{item.strip()}")
    return names


def exists(name: str) -> bool:
    try:
        if name.startswith("=top."):  # from backproof import X
            return hasattr(importlib.import_module("backproof"), name[5:])
        resolve(name)
    except (ImportError, AttributeError):
        return False
    return True


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_function_named_in_the_docs_exists(doc):
    names = cited_names(doc.read_text(encoding="utf-8"))
    missing = sorted(n.replace("=top.", "backproof.") for n in names if not exists(n))
    assert not missing, f"{doc.name} names what the code does not have: {missing}"


def test_the_name_check_catches_names_that_do_not_exist():
    text = "see `manual.backprop_general` and `network.ops.sigmoid`; from backproof import nope"
    names = cited_names(text)
    assert names == {"manual.backprop_general", "network.ops.sigmoid", "=top.nope"}
    assert [exists(n) for n in sorted(names)] == [False, False, True]
    assert cited_names("the file compare/plots.py and your own network.py") == set()


def test_the_docs_cite_names_at_all():
    cited = set().union(*(cited_names(d.read_text(encoding="utf-8")) for d in DOCS))
    assert {"network.ops.sigmoid", "manual.one_layer_backward"} <= cited


# -- the errata ------------------------------------------------------------------------------
ERRATA = (ROOT / "docs" / "article-errata.md").read_text(encoding="utf-8")
LISTINGS = (
    "init_params",
    "sigmoid",
    "forward_prop",
    "cost_function",
    "one_layer_backward",
    "backprop",
    "update_parameters",
    "train",
)


def errata_rows():
    rows = []
    for line in ERRATA.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].isdigit():
            rows.append(cells)
    return rows


def test_each_erratum_cites_its_listing_and_an_existing_test():
    rows = errata_rows()
    assert [int(r[0]) for r in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 10
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for number, listing, *_, test in rows:
        assert re.match(r"`(\w+)`", listing).group(1) in LISTINGS, (number, listing)
        name = test.strip("`")
        assert f"def {name}(" in sources, f"erratum {number} cites a missing test {name}"


def test_erratum_10_indentation_is_spaces_only():
    # printed: the sigmoid listing indents one line with a tab and the next with four spaces
    mixed = "def f(Z):\n\tA = Z\n    B = Z\n    return A, B\n"
    with pytest.raises(IndentationError, match="unindent does not match"):
        compile(mixed, "<listing>", "exec")
    for path in ROOT.glob("*/*.py"):
        if path.parts[-2] in PACKAGES:
            leading = [line for line in path.read_text().splitlines() if line.startswith("\t")]
            assert not leading, f"{path} indents with tabs"


def test_one_layer_backward_takes_the_article_dA():
    """The article's own backprop loop — unfused dA_L without 1/m, its keys fixed — gives the
    right gradients with manual.one_layer_backward on an unsaturated network."""
    spec = network.NetworkSpec([3, 4, 4, 1], init="xavier", seed=2)
    X, y = network.moons(7, seed=1)
    X = np.vstack([X, X[:1] * X[1:]])
    params = network.init_params(spec)
    AL, caches = manual.forward_prop(X, params)
    dA = -(np.divide(y, AL) - np.divide(1 - y, 1 - AL))  # as the article writes dA_L
    grads = {}
    for l in range(len(caches), 0, -1):
        dA, grads[f"W{l}"], grads[f"b{l}"] = manual.one_layer_backward(dA, caches[l - 1])
    _, right = manual.loss_and_grads(spec, params, X, y)
    for k in right:
        np.testing.assert_allclose(grads[k], right[k], rtol=1e-10, atol=1e-15)
    # the other convention does differ: given dJ/dA_L (1/m inside) it is m times too small
    m = X.shape[1]
    dJ_dAL = (AL - y) / (m * AL * (1 - AL))
    _, dW_small, _ = manual.one_layer_backward(dJ_dAL, caches[-1])
    np.testing.assert_allclose(dW_small * m, right[f"W{len(caches)}"], rtol=1e-10)


# -- the tutorial ----------------------------------------------------------------------------
def tutorial_script():
    spec = importlib.util.spec_from_file_location(
        "make_tutorial", ROOT / "docs" / "make_tutorial.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_tutorial", module)  # dataclasses look their module up there
    spec.loader.exec_module(sys.modules["make_tutorial"])
    return sys.modules["make_tutorial"]


def test_the_tutorial_holds_the_code_s_own_output(tmp_path):
    """Every output in the tutorial that has no timing in it is exactly what the code prints
    today: no number is typed by hand, and none has gone stale."""
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    script = tutorial_script()
    fresh = script.render(script.SECTIONS, str(tmp_path), stable_only=True)
    blocks = re.findall(r"```(?:python|console)\n.*?\n```\n\n```text\n.*?\n```", fresh, re.S)
    stable = [i for i in script.SECTIONS if isinstance(i, script.Python | script.Command)]
    assert len(blocks) == sum(item.stable for item in stable) >= 3
    for block in blocks:
        assert block in tutorial, (
            f"docs/tutorial.md is stale: python docs/make_tutorial.py\n{block}"
        )
    assert "backproof explain: network 2-2-2 (sigmoid, sigmoid), loss mse" in tutorial


def test_the_tutorial_shows_every_picture_of_the_study_with_its_caption():
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    shown = re.findall(r"!\[(\w+)\]\(img/(\w+)\.png\)\n\n\*Figure \d+\. (.+)\*", tutorial)
    study = set(STUDY_PICTURES)
    assert {name for name, _, _ in shown} == study | {"value_graph"}
    for name, file, caption in shown:
        assert name == file and (ROOT / "docs" / "img" / f"{file}.png").stat().st_size > 10_000
        assert "What to see" in caption or name not in study
