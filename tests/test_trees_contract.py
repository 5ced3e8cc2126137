"""Nested arguments (``compare.trees``): how leaves are named, flattened and rebuilt, and the
errors that name both structures when a value does not fit."""

from collections import namedtuple

import numpy as np
import pytest

from backproof.compare.trees import Arguments, Tree, describe_structure, leaf_array

Pair = namedtuple("Pair", "w b")


def nested():
    return [{"W": np.arange(6.0).reshape(2, 3), "b": np.float32(0.5)}, (np.array([1.0, 2.0]), 3)]


def test_leaves_their_paths_sizes_and_names():
    tree = Tree(nested())
    assert [leaf.path for leaf in tree.leaves] == [(0, "W"), (0, "b"), (1, 0), (1, 1)]
    assert [leaf.shape for leaf in tree.leaves] == [(2, 3), (), (2,), ()]
    assert [leaf.size for leaf in tree.leaves] == [6, 1, 2, 1]
    assert [leaf.scalar for leaf in tree.leaves] == [False, True, False, True]
    assert [leaf.dtype for leaf in tree.leaves] == [np.float64, np.float32, np.float64, np.float64]
    assert list(tree.offsets) == [0, 6, 7, 9, 10] and tree.size == 10
    assert [tree.label(i) for i in range(4)] == ["x[0]['W']", "x[0]['b']", "x[1][0]", "x[1][1]"]
    assert tree.entry_label(4) == "x[0]['W'][1, 1]"
    assert tree.entry_label(6) == "x[0]['b']" and tree.entry_label(9) == "x[1][1]"
    assert tree.locate(8) == (2, (1,)) and tree.locate(0) == (0, (0, 0))
    assert tree.dtype == np.float32  # a float32 leaf: the caller works in float32
    assert Tree(np.ones(3)).dtype == np.float64 and Tree(np.ones(3, int)).leaves[0].dtype == float
    for bad in (-1, 10):
        with pytest.raises(IndexError, match=rf"^flat index {bad} outside 0..9$"):
            tree.locate(bad)


def test_roots_name_the_top_level():
    tree = Tree((np.ones(2), {"W": np.ones(1)}), name="args", roots=["args[0]", "args[2]"])
    assert [tree.label(i) for i in range(2)] == ["args[0]", "args[2]['W']"]
    by_key = Tree({"W1": np.ones(2), "b1": np.ones(1)}, roots={"W1": "W1", "b1": "b1"})
    assert [by_key.label(i) for i in range(2)] == ["W1", "b1"]
    assert by_key.where(("W1",)) == "x['W1']"  # errors name the path from the root
    assert tree.where((1, "W")) == "args[2]['W']"


def test_flatten_and_unflatten_round_trip_in_fresh_arrays():
    x = nested()
    tree = Tree(x)
    vec = tree.flatten(x)
    assert vec.dtype == np.float64 and vec.tolist() == [0, 1, 2, 3, 4, 5, 0.5, 1, 2, 3]
    back = tree.unflatten(vec)
    assert back[0]["W"].tolist() == x[0]["W"].tolist() and back[0]["W"] is not x[0]["W"]
    assert isinstance(back[1], tuple) and isinstance(back[0], dict)
    assert type(back[1][1]) is float and back[1][1] == 3.0
    assert back[0]["b"].dtype == np.float32 and back[0]["b"].shape == ()
    back[0]["W"][0, 0] = 99.0
    assert vec[0] == 0.0 and x[0]["W"][0, 0] == 0.0  # only read, never written
    as32 = tree.unflatten(vec, np.float32)
    assert as32[0]["W"].dtype == np.float32 and as32[1][0].dtype == np.float32
    c = tree.unflatten(vec + 1j)
    assert c[0]["W"].dtype == np.complex128 and c[1][1] == 3.0 + 1j
    with pytest.raises(ValueError, match=r"^a flat vector for x has shape \(10,\), got \(9,\)$"):
        tree.unflatten(vec[:9])


def test_namedtuples_lists_and_tuples_are_rebuilt_as_they_were():
    tree = Tree(Pair(np.ones(2), 0.5))
    back = tree.unflatten(np.array([1.0, 2.0, 3.0]))
    assert isinstance(back, Pair) and back.b == 3.0 and back.w.tolist() == [1.0, 2.0]
    assert isinstance(Tree([1.0, 2.0]).unflatten(np.zeros(2)), list)
    # a tuple may stand where x has a list of the same length, and the reverse
    assert Tree([np.ones(2), 1.0]).flatten((np.zeros(2), 5.0)).tolist() == [0, 0, 5]
    leaves = Tree({"a": 1.0, "b": np.ones(2)}).map_leaves(lambda i: i)
    assert leaves == {"a": 0, "b": 1}


def test_leaf_dicts():
    tree = Tree({"a": np.ones(2), "b": 1.5})
    assert list(tree.leaf_dict({"b": np.zeros(3)})) == ["x['b']"]  # any shape; missing keys absent
    back = tree.from_leaf_dict({"x['a']": [1.0, 2.0], "x['b']": np.array(4.0)})
    assert back["a"].tolist() == [1.0, 2.0] and back["b"] == 4.0 and type(back["b"]) is float
    b32 = Tree({"b": np.float32(1.0)}).from_leaf_dict({"x['b']": np.array(2.0, np.float32)})["b"]
    assert b32 == 2.0 and b32.dtype == np.float32


@pytest.mark.parametrize(
    "value, exc, message",
    [
        ({}, ValueError, "x must not be an empty dict"),
        ([], ValueError, "x must not be an empty list"),
        ({"a": ()}, ValueError, "x['a'] must not be an empty tuple"),
        ({"a": np.ones(0)}, ValueError, "x['a'] must not be empty, got shape (0,)"),
        ([1.0, np.nan], ValueError, "x[1] must be finite"),
        ([1.0, "s"], TypeError, "x[1] must be a number, a float array, or a dict/list/tuple"),
        ([True], TypeError, "x[0] must be a number, a float array"),
        ([None], TypeError, "x[0] must be a number"),
        (np.array([1j]), TypeError, "x must be a real float array, got dtype complex128"),
    ],
)
def test_bad_values_are_named_by_their_path(value, exc, message):
    with pytest.raises(exc) as info:
        Tree(value)
    assert str(info.value).startswith(message)


def test_a_value_of_another_structure_is_refused_naming_both():
    tree = Tree({"W": np.ones((2, 3)), "b": [1.0, 2.0]})
    with pytest.raises(ValueError) as info:
        tree.match({"W": np.ones((2, 3)), "b": [1.0, 2.0, 3.0]}, "grad_f returned")
    assert str(info.value) == "grad_f returned a list of 3 items, x['b'] is a list of 2 items"
    with pytest.raises(TypeError) as info:
        tree.match({"W": [np.ones(3), np.ones(3)], "b": [1.0, 2.0]}, "grad_f returned")
    assert str(info.value) == (
        "grad_f returned a list of 2 arrays, x['W'] is an array of shape (2, 3)"
    )
    with pytest.raises(TypeError, match=r"^g a list of 2 items, x is a dict with keys \['W', 'b'"):
        tree.match([1.0, 2.0], "g")
    with pytest.raises(ValueError) as info:
        tree.match({"W": np.ones((2, 3)), "b": [1.0, 2.0], "c": 1.0}, "g")
    assert str(info.value) == (
        "g a dict with keys ['W', 'b', 'c'] at x, which has keys ['W', 'b']: unexpected ['c']"
    )
    notes = []
    found = tree.match({"b": [1.0, 2.0], "c": 1.0}, "g", extras=notes)
    assert found[0] is None and found[1:] == [1.0, 2.0] and notes[0].endswith("unexpected ['c']")
    assert tree.match({"W": [[1, 2, 3], [4, 5, 6]], "b": (1, 2)}, "g")[0] == [[1, 2, 3], [4, 5, 6]]


def test_flatten_names_the_leaf_that_does_not_fit():
    tree = Tree({"W": np.ones((2, 3)), "b": 1.0})
    with pytest.raises(ValueError, match=r"^grad nothing for x\['b'\]$"):
        tree.flatten({"W": np.ones((2, 3))}, "grad")
    with pytest.raises(ValueError) as info:
        tree.flatten({"W": np.ones((3, 2)), "b": 1.0}, "grad")
    assert str(info.value) == "grad shape (3, 2) for x['W'], which has shape (2, 3)"
    with pytest.raises(TypeError, match=r"^grad dtype <U1 for x\['b'\], which is real$"):
        tree.flatten({"W": np.ones((2, 3)), "b": "s"}, "grad")
    assert tree.flatten({"W": np.ones((2, 3), int), "b": True}).tolist() == [1.0] * 7


def test_describe_structure():
    assert describe_structure({"a": 1}) == "a dict with keys ['a']"
    assert describe_structure([np.ones(2), np.ones(3)]) == "a list of 2 arrays"
    assert describe_structure((np.ones(2), 1.0)) == "a tuple of 2 items"
    assert describe_structure([]) == "an empty list" and describe_structure(()) == "an empty tuple"
    assert describe_structure(np.float64(2.0)) == "a scalar" and describe_structure(3) == "a scalar"
    assert describe_structure(np.ones((2, 1))) == "an array of shape (2, 1)"
    assert describe_structure(True).startswith("True") or "bool" in describe_structure(True)
    assert Tree([np.ones(2), 1.0]).describe() == "a list of 2 items"
    assert Tree({"W": np.ones((2, 3))}).describe() == "a dict with keys ['W']"


def test_objects_carrying_an_array_are_leaves():
    class Holder:
        def __init__(self, data):
            self.data = data

    h = Holder(np.array([1.0, 2.0]))
    assert leaf_array(h) is h.data and leaf_array([1.0]).tolist() == [1.0]
    tree = Tree({"t": h})
    assert tree.leaves[0].shape == (2,) and tree.flatten({"t": h}).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="must be a number"):
        Tree({"t": Holder([1.0])})  # .data must be an array


def test_arguments_pick_and_call():
    def f(a, b, c):
        return (a, b, c)

    one = Arguments.pick((1.0, np.ones(2), 3.0), 1)
    assert one.tree.name == "args[1]" and one.value.tolist() == [1.0, 1.0]
    assert one.call(f, "new") == (1.0, "new", 3.0)
    many = Arguments.pick((1.0, np.ones(2), 3.0), (2, 0))
    assert many.argnums == (2, 0) and many.value == (3.0, 1.0)
    assert [many.tree.label(i) for i in range(2)] == ["args[2]", "args[0]"]
    called = many.call(f, ("C", "A"))
    assert called[0] == "A" and called[2] == "C" and called[1].tolist() == [1.0, 1.0]
    assert Arguments.pick((1.0, 2.0), -1).argnums == 1  # negative numbers count from the end
    assert Arguments.pick((np.ones(2),), 0).tree.name == "x"


@pytest.mark.parametrize(
    "args, argnums, exc, message",
    [
        ((), 0, TypeError, "a check needs at least one argument x to differentiate"),
        ((1.0,), (), ValueError, "argnums must name at least one argument, got ()"),
        ((1.0,), 1.0, TypeError, "argnums must be an int or a tuple of ints, got 1.0"),
        ((1.0,), True, TypeError, "argnums must be an int or a tuple of ints, got True"),
        ((1.0, 2.0), 2, ValueError, "argnums 2 is out of range for 2 argument(s)"),
        ((1.0, 2.0), -3, ValueError, "argnums -3 is out of range for 2 argument(s)"),
        ((1.0, 2.0), (0, -2), ValueError, "argnums must not repeat an argument, got (0, -2)"),
    ],
)
def test_bad_argnums_are_named(args, argnums, exc, message):
    with pytest.raises(exc) as info:
        Arguments.pick(args, argnums)
    assert str(info.value) == message
