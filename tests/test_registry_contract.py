"""The primitive registry's promises: the refusals name what is wrong, and a primitive of any
number of arguments hands each argument its own gradient."""

import numpy as np
import pytest

from backproof import autodiff
from backproof.autodiff import Tensor
from backproof.autodiff import primitives as P
from backproof.autodiff.registry import Primitive, definplace, defvjp, defvjp_argnum, register


def test_a_bare_primitive_says_it_cannot_record_and_names_itself():
    bare = Primitive("cube", lambda a: a**3)
    assert repr(bare) == "<primitive cube>"
    assert bare.name == "cube" and bare.forward(2.0) == 8.0
    assert bare.vjps == () and bare.inplace_vjp is None
    with pytest.raises(TypeError) as info:
        bare(2.0)
    assert (
        str(info.value)
        == "<primitive cube> has no kind of node to record on; make it with primitive()"
    )


def test_register_refuses_a_name_twice_and_keeps_the_first():
    table = {}
    first, second = Primitive("f", abs), Primitive("f", round)
    assert register(table, first) is first and table == {"f": first}
    with pytest.raises(ValueError) as info:
        register(table, second)
    assert str(info.value) == "primitive 'f' is already registered"
    assert table == {"f": first}


def test_defvjp_takes_one_callable_or_none_per_argument():
    prim = Primitive("pair", lambda a, b: a * b)

    def vjp(g, ans, a, b):
        return g * b

    assert defvjp(prim, vjp, None) is prim and prim.vjps == (vjp, None)
    for bad in ((), ("not a function",), (vjp, 3)):
        with pytest.raises(TypeError) as info:
            defvjp(prim, *bad)
        assert str(info.value) == (
            "defvjp needs one VJP (a callable, or None) per argument of <primitive pair>"
        )
    assert prim.vjps == (vjp, None)  # a refused call changes nothing


def test_defvjp_argnum_hands_each_argument_its_index():
    prim = Primitive("many", lambda *a: sum(a))
    seen = []

    def vjp(i, g, ans, *args, **kwargs):
        seen.append((i, g, ans, args, kwargs))
        return i * 10 + g

    assert defvjp_argnum(prim, vjp) is prim
    assert len(prim.vjps) == 1
    assert prim.vjps[2](1.0, 6.0, 1.0, 2.0, 3.0, axis=0) == 21.0
    assert prim.vjps[0](5.0, 6.0, 1.0) == 5.0
    assert seen == [(2, 1.0, 6.0, (1.0, 2.0, 3.0), {"axis": 0}), (0, 5.0, 6.0, (1.0,), {})]
    with pytest.raises(TypeError) as info:
        defvjp_argnum(prim, "not a function")
    assert str(info.value) == "defvjp_argnum needs a callable VJP for <primitive many>"
    # through the tape: concatenate and stack give each argument its own slice of g
    a, b, c = (Tensor(np.full(k, float(k)), requires_grad=True) for k in (1, 2, 3))
    P.sum(P.concatenate([a, b, c]) * np.arange(6.0)).backward()
    assert [a.grad.tolist(), b.grad.tolist(), c.grad.tolist()] == [
        [0.0],
        [1.0, 2.0],
        [3.0, 4.0, 5.0],
    ]
    u, v = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    P.sum(P.stack([u, v]) * np.array([[1.0, 2.0], [3.0, 4.0]])).backward()
    assert [u.grad.tolist(), v.grad.tolist()] == [[1.0, 2.0], [3.0, 4.0]]


def test_definplace_gives_the_in_place_vjp():
    prim = Primitive("double", lambda a: 2 * a)

    def inplace(g, ans, a, g_owned, ans_owned):
        return 2 * g

    assert definplace(prim, inplace) is prim and prim.inplace_vjp is inplace
    assert autodiff.TENSOR_PRIMITIVES["sigmoid"].inplace_vjp is not None
