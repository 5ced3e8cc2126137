"""Tensor and the tape, as a user meets them: construction, properties, every operator on either
side of an array or a number, backward's arguments and messages, no_grad and enable_grad, and
gradients summed back over broadcasting."""

import threading

import numpy as np
import pytest

from backproof import autodiff
from backproof.autodiff import Tensor
from backproof.autodiff import primitives as P
from backproof.autodiff.tape import grad_enabled, reverse_tape, sum_to_shape
from backproof.autodiff.tensor import apply, grads_of


def leaf(values) -> Tensor:
    return Tensor(np.array(values, dtype=float), requires_grad=True)


def test_construction_makes_floats_and_names_what_it_refuses():
    for data in (3, [1, 2], np.array([True, False]), np.arange(3, dtype=np.uint8)):
        assert Tensor(data).dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor(np.array([1 + 2j])).dtype == np.complex128
    t = Tensor([1.0, 2.0])
    assert Tensor(t).data is t.data and not Tensor(t).requires_grad
    with pytest.raises(TypeError) as info:
        Tensor(np.array(["a"]))
    assert str(info.value) == "data must be numeric, got an array of dtype <U1"
    with pytest.raises(TypeError) as info:
        Tensor(1.0, requires_grad=1)
    assert str(info.value) == "requires_grad must be True or False, got 1"
    assert Tensor(1.0, requires_grad=np.bool_(True)).requires_grad is True
    fresh = Tensor([1.0])
    assert fresh.grad is None and fresh.is_leaf and fresh.op == "" and fresh.name == ""


def test_properties_conversions_and_repr():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert (t.shape, t.ndim, t.size, t.dtype, len(t)) == ((2, 3), 2, 6, np.float64, 2)
    assert t.numpy() is t.data
    assert Tensor(2.5).item() == 2.5 and float(Tensor(2.5)) == 2.5
    assert repr(Tensor([1.0, 2.0])) == "Tensor([1. 2.])"
    assert (
        repr(t * 2) == "Tensor([[ 0.  2.  4.]\n        [ 6.  8. 10.]], op=mul, requires_grad=True)"
    )
    assert repr(Tensor(1.0, requires_grad=True)) == "Tensor(1., requires_grad=True)"
    y = t * 2
    assert not y.is_leaf and y.op == "mul" and y.requires_grad
    d = y.detach()
    assert d.data is y.data and d.is_leaf and not d.requires_grad
    assert (t < 1).tolist() == [[True, False, False], [False, False, False]]
    assert (t <= 1).sum() == 2 and (t > 4).sum() == 1 and (t >= 4).sum() == 2
    assert (t < Tensor(np.full((2, 3), 3.0))).sum() == 3
    assert hash(t) != hash(Tensor(t.data)) and len({t, Tensor(t.data)}) == 2
    assert np.asarray(Tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert np.asarray(Tensor([1.0, 2.0]), dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="cannot become an ndarray"):
        np.asarray(t)


OPS = [
    ("add", lambda a, b: a + b, lambda x, y: (np.ones_like(x), np.ones_like(y))),
    ("sub", lambda a, b: a - b, lambda x, y: (np.ones_like(x), -np.ones_like(y))),
    ("mul", lambda a, b: a * b, lambda x, y: (y, x)),
    ("div", lambda a, b: a / b, lambda x, y: (1 / y, -x / y**2)),
    ("power", lambda a, b: a**b, lambda x, y: (y * x ** (y - 1), x**y * np.log(x))),
]


@pytest.mark.parametrize("name, f, grads", OPS, ids=[o[0] for o in OPS])
def test_each_operator_with_a_tensor_on_either_side(name, f, grads):
    x0, y0 = np.array([1.5, 2.0]), np.array([0.5, 3.0])
    dx, dy = grads(x0, y0)
    for left, right in ((True, True), (True, False), (False, True)):
        x = leaf(x0) if left else x0
        y = leaf(y0) if right else y0
        out = f(x, y)
        assert isinstance(out, Tensor) and out.op == name
        np.testing.assert_allclose(out.data, f(x0, y0), rtol=1e-15)
        P.sum(out).backward()
        if left:
            np.testing.assert_allclose(x.grad, dx, rtol=1e-14)
        if right:
            np.testing.assert_allclose(y.grad, dy, rtol=1e-14)
    for number in (2.0, 2):  # a number on either side
        x = leaf(x0)
        np.testing.assert_allclose(f(x, number).data, f(x0, number), rtol=1e-15)
        np.testing.assert_allclose(f(number, x).data, f(number, x0), rtol=1e-15)


def test_matmul_negation_indexing_and_the_methods():
    A, v = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0], [-1.0]])
    W = leaf(A)
    P.sum(W @ v).backward()
    np.testing.assert_array_equal(W.grad, np.ones((2, 1)) @ v.T)
    x = leaf(v)
    P.sum(A @ x).backward()  # the reflected @
    np.testing.assert_array_equal(x.grad, A.T @ np.ones((2, 1)))
    t = leaf([[1.0, -2.0, 3.0]])
    assert (-t).op == "neg" and (-t).data.tolist() == [[-1.0, 2.0, -3.0]]
    assert t[0, 1].data == -2.0 and t[0, 1].op == "getitem"
    assert t.exp().op == "exp" and t.exp().log().op == "log"
    assert t.sum().data == 2.0 and t.sum(axis=1, keepdims=True).shape == (1, 1)
    assert t.mean().data == pytest.approx(2 / 3) and t.mean(axis=0).shape == (3,)
    assert t.max().data == 3.0 and t.max(axis=1, keepdims=True).shape == (1, 1)
    assert t.logsumexp().data == pytest.approx(np.log(np.exp(t.data).sum()))
    assert t.logsumexp(axis=1, keepdims=True).shape == (1, 1)
    np.testing.assert_allclose(t.softmax().data.sum(), 1.0)
    assert t.softmax(axis=0).data.tolist() == [[1.0, 1.0, 1.0]]
    assert t.reshape(3, 1).shape == t.reshape((3, 1)).shape == (3, 1)
    assert t.reshape(3).shape == (3,)
    cube = Tensor(np.zeros((2, 3, 4)))
    assert cube.transpose().shape == (4, 3, 2) and cube.T.shape == (4, 3, 2)
    assert cube.transpose(1, 0, 2).shape == cube.transpose((1, 0, 2)).shape == (3, 2, 4)
    assert P.tanh(t).op == "tanh" and t.tanh().op == "tanh" and t.sigmoid().op == "sigmoid"


def test_backward_arguments_and_messages():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError) as info:
        Tensor([1.0]).backward()
    assert str(info.value) == (
        "backward() needs a tensor that requires a gradient: create a leaf with "
        "Tensor(data, requires_grad=True) and compute from it"
    )
    with pytest.raises(ValueError) as info:
        (x * 2).backward()
    assert str(info.value) == (
        "gradient must be given for a tensor of shape (2,); it can be left out only for a "
        "tensor with one element"
    )
    with pytest.raises(ValueError) as info:
        (x * 2).backward(np.ones(3))
    assert str(info.value) == "gradient must have the shape of the tensor (2,), got (3,)"
    (x * 2).backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]
    (x * 3).backward(Tensor([1.0, 1.0]))  # a Tensor as the gradient; leaves accumulate
    assert x.grad.tolist() == [5.0, 23.0]
    x.zero_grad()
    assert x.grad is None
    # a gradient the pass hands over read-only (a broadcast) is copied: the leaf may change it
    P.sum(x).backward()
    x.grad += 1.0
    assert x.grad.tolist() == [2.0, 2.0]
    y = P.sum(x * x)
    y.backward(retain_graph=True)
    y.backward()  # a retained graph can be walked again
    assert x.grad.tolist() == [2.0 + 4.0, 2.0 + 8.0]
    with pytest.raises(RuntimeError) as info:
        y.backward()
    assert str(info.value) == (
        "this graph was released by an earlier backward(); pass retain_graph=True to the first "
        "backward() to go through it again"
    )
    z = leaf([3.0])
    P.sum(z * z * z).backward(create_graph=True)
    assert isinstance(z.grad, Tensor) and z.grad.data.tolist() == [27.0]
    f32 = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    (f32 * 2).backward(np.ones(2))  # the gradient takes the tensor's dtype
    assert f32.grad.dtype == np.float32


def test_broadcast_gradients_are_summed_back_to_each_operand_shape():
    row, col, scalar = leaf([[1.0, 2.0, 3.0]]), leaf([[1.0], [2.0]]), leaf(2.0)
    P.sum(row * col * scalar).backward()
    assert row.grad.shape == (1, 3) and row.grad.tolist() == [[6.0, 6.0, 6.0]]
    assert col.grad.shape == (2, 1) and col.grad.tolist() == [[12.0], [12.0]]
    assert scalar.grad.shape == () and scalar.grad == 18.0
    g = np.arange(24.0).reshape(2, 3, 4)
    assert sum_to_shape(g, (2, 3, 4)) is g
    np.testing.assert_array_equal(sum_to_shape(g, (3, 4)), g.sum(axis=0))
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(sum_to_shape(g, (1, 3, 1)), g.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_array_equal(sum_to_shape(g, ()), g.sum())
    np.testing.assert_array_equal(sum_to_shape(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_array_equal(sum_to_shape(np.ones((1, 3)), (3,)), np.ones(3))


def test_no_grad_and_enable_grad_switch_recording_on_this_thread_and_restore_it():
    x = leaf([1.0])
    assert grad_enabled()
    with autodiff.no_grad() as block:
        assert isinstance(block, autodiff.no_grad) and not grad_enabled()
        assert not (x * 2).requires_grad
        with autodiff.enable_grad() as inner:
            assert isinstance(inner, autodiff.enable_grad) and grad_enabled()
            assert (x * 2).requires_grad
        assert not grad_enabled()
        with autodiff.no_grad():
            pass
        assert not grad_enabled()
    assert grad_enabled()
    with pytest.raises(KeyError):  # an exception passes through and recording comes back
        with autodiff.no_grad():
            raise KeyError("x")
    assert grad_enabled()

    @autodiff.no_grad()
    def step(t, k=1):
        """Scale without recording."""
        return t * k, grad_enabled()

    out, inside = step(x, k=3)
    assert not out.requires_grad and not inside and out.data.tolist() == [3.0]
    assert step.__name__ == "step" and step.__doc__ == "Scale without recording."
    assert grad_enabled()
    seen = []
    with autodiff.no_grad():
        thread = threading.Thread(target=lambda: seen.append(grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]  # another thread records as usual


def test_operations_record_only_when_an_argument_needs_a_gradient():
    assert apply(P.add, 1.0, 2.0) == 3.0 and P.mul(2.0, 3.0) == 6.0  # raw in, raw out
    plain = Tensor([1.0]) * 2
    assert isinstance(plain, Tensor) and not plain.requires_grad and plain.is_leaf
    assert plain._args == () and plain._kw is None
    tracked = leaf([1.0]) * Tensor([2.0])
    assert tracked.requires_grad and tracked.op == "mul" and len(tracked._args) == 2
    scalar_out = P.sum(Tensor([1.0, 2.0]))
    assert isinstance(scalar_out, Tensor) and type(scalar_out.data) is np.ndarray
    with pytest.raises(TypeError) as info:
        leaf([1.0]) * autodiff.Value(2.0)
    assert str(info.value) == (
        "mul got an argument that is neither a number, an array nor a Tensor (such as a Value): "
        "Tensor, Value"
    )


def test_primitive_names_and_refusals():
    with pytest.raises(TypeError) as info:
        autodiff.primitive(3)
    assert str(info.value) == "primitive needs a function, got int"

    def square_for_the_test(a):
        return a * a

    prim = autodiff.primitive(square_for_the_test)
    try:
        assert prim.name == "square_for_the_test"
        assert autodiff.TENSOR_PRIMITIVES["square_for_the_test"] is prim
    finally:
        del autodiff.TENSOR_PRIMITIVES["square_for_the_test"]


def test_grads_of_gives_zeros_for_what_the_output_does_not_use():
    x, unused = leaf([1.0, 2.0]), leaf([[5.0]])
    y = P.sum(x * x)
    gx, gu = grads_of(y, [x, unused])
    assert gx.tolist() == [2.0, 4.0] and gu.tolist() == [[0.0]]
    assert x.grad is None  # .grad is left alone
    x2 = leaf([1.0, 2.0])
    y2 = P.sum(x2 * x2 * x2)
    gx, gu = grads_of(y2, [x2, unused], create_graph=True)
    assert isinstance(gx, Tensor) and isinstance(gu, Tensor)
    assert gx.data.tolist() == [3.0, 12.0] and gu.data.tolist() == [[0.0]]
    (second,) = grads_of(P.sum(gx), [x2])
    assert second.tolist() == [6.0, 12.0]
    x3 = leaf([1.0, 2.0])
    (g,) = grads_of(x3 * 3, [x3], seed=np.array([1.0, -1.0]))
    assert g.tolist() == [3.0, -3.0]


def test_the_tape_walk_latest_first_with_each_leaf_once():
    x, w = leaf([1.0]), leaf([2.0])
    data = Tensor([3.0])
    a = x * w
    b = a * data
    c = b + a
    nodes, leaves = reverse_tape(c)
    assert nodes == [c, b, a] and set(leaves) == {x, w} and len(leaves) == 2
    nodes, leaves = reverse_tape(c, every_input=True)
    assert nodes == [c, b, a] and set(leaves) == {x, w, data} and len(leaves) == 3
    assert reverse_tape(x) == ([], [x])


def test_as_an_ndarray_a_tensor_keeps_its_dtype_and_its_memory():
    t = Tensor(np.arange(3.0))
    assert np.asarray(t) is t.data
    assert np.shares_memory(np.asarray(t, dtype=np.float64), t.data)  # no copy when none is asked
    single = Tensor(np.arange(3.0, dtype=np.float32))
    assert np.asarray(single).dtype == np.float32
    assert np.asarray(single, dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError) as info:
        np.asarray(Tensor([1.0], requires_grad=True))
    assert str(info.value) == (
        "a Tensor that requires a gradient cannot become an ndarray (the operation would not be "
        "recorded); use t.data, or t.detach() for a copy off the graph"
    )


def test_repr_shows_four_decimals_and_summarises_past_twenty_entries():
    assert repr(Tensor([1 / 3, 2 / 3])) == "Tensor([0.3333 0.6667])"
    assert "..." not in repr(Tensor(np.arange(20.0)))
    assert repr(Tensor(np.arange(21.0))) == "Tensor([ 0.  1.  2. ... 18. 19. 20.])"


def test_reduction_methods_drop_the_reduced_axes_unless_asked():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert t.mean().shape == () and t.mean(axis=0, keepdims=True).shape == (1, 3)
    assert t.logsumexp().shape == () and t.logsumexp(keepdims=True).shape == (1, 1)
    rows = t.logsumexp(axis=1)
    np.testing.assert_allclose(rows.data, np.log(np.exp(t.data).sum(axis=1)))
    assert Tensor(3.0).mean().item() == 3.0  # a 0-d tensor is its own mean
    assert Tensor([1.0, 2.0]).transpose(0).data.tolist() == [1.0, 2.0]  # as ndarray.transpose(0)


def test_backward_takes_a_tensor_as_its_gradient():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.backward(gradient=Tensor([1.0, -1.0], requires_grad=True))  # its data is the seed
    assert x.grad.tolist() == [3.0, -3.0]


def test_a_leafs_gradient_is_an_array_the_user_may_write_into():
    x = leaf(np.arange(6.0).reshape(2, 3))
    x.sum(axis=0).sum().backward()  # the sum's VJP broadcasts g: a read-only view
    assert x.grad.flags.writeable and x.grad.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    x.grad *= 0.0  # e.g. zeroing it between steps
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
