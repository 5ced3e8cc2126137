"""A catalog of wrong derivations: classic hand-derivation mistakes as runnable implementations.

Each mutant is the corrected backprop of ``manual`` with one mistake put back in. ``run_catalog``
checks every one with ``check_grad`` against finite differences and says whether it was caught
and with what diagnosis; the tests require each to be caught with a fitting one, and the
correct implementations never to be flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import manual, network
from ..network import NetworkSpec
from .checkgrad import GradCheckReport
from .network_check import check_implementation, first_wrong_layer

__all__ = ["Mutant", "CATALOG", "MutantResult", "run_catalog", "mutant_problem"]

L2 = 0.1  # the regularisation strength of the missing-L2 mutant


@dataclass(frozen=True)
class Mutant:
    """A wrong gradient: ``grads(spec, params, X, Y) -> grads``, and what it should be caught as.

    ``expect`` maps parameter names to the diagnosis kinds that fit the mistake (any one of them
    must be named); parameters not listed must pass. ``entry_layer``, when set, is the layer at
    which the error enters (``first_wrong_layer``).
    """

    name: str
    description: str
    spec: NetworkSpec
    grads: Callable
    expect: dict
    entry_layer: int | None = None
    saturate: bool = False


def _backward(
    spec,
    params,
    X,
    Y,
    *,
    dZ_L=None,
    act_grad=None,
    transpose_W=True,
    db_axis=1,
    dW_scale=None,
    db_scale=None,
    dW_transposed=False,
):
    """The general hand-derived backprop, with hooks to put a mistake back in."""
    L, m = spec.n_layers, X.shape[1]
    Zs, As = network.forward(spec, params, X)
    dZ = (As[L] - Y) / m if dZ_L is None else dZ_L(As[L], Y, m, Zs[L])
    grads = {}
    for l in range(L, 0, -1):
        dW = As[l - 1] @ dZ.T if dW_transposed else dZ @ As[l - 1].T
        db = dZ.sum(axis=db_axis, keepdims=True)
        grads[f"W{l}"] = dW * (dW_scale or 1)
        grads[f"b{l}"] = db * (db_scale or 1)
        if l > 1:
            W = params[f"W{l}"]
            square = W.shape[0] == W.shape[1]
            dA = (W if not transpose_W and square else W.T) @ dZ
            A = As[l - 1]
            name = spec.activations[l - 2]
            x = A if network.activations.REGISTRY[name].from_output else Zs[l - 1]
            dZ = dA * (
                act_grad(A)
                if act_grad
                else manual.activation_backward(name, np.ones_like(dA), x.copy())
            )
    return grads


def _forgot_1_over_m(spec, p, X, Y):
    return _backward(spec, p, X, Y, dZ_L=lambda A, Y, m, Z: A - Y)


def _db_sum_not_mean(spec, p, X, Y):
    return _backward(spec, p, X, Y, db_scale=X.shape[1])


def _sigmoid_prime_plus(spec, p, X, Y):
    return _backward(spec, p, X, Y, act_grad=lambda A: A * (1 + A))


def _W_not_transposed(spec, p, X, Y):
    return _backward(spec, p, X, Y, transpose_W=False)


def _flipped_sign(spec, p, X, Y):
    return _backward(spec, p, X, Y, dZ_L=lambda A, Y, m, Z: (Y - A) / m)


def _missing_l2(spec, p, X, Y):
    return _backward(spec, p, X, Y)  # the cost has lambda/2 ||W||^2; this gradient forgets it


def _l2_objective(spec, X, Y):
    def objective(p):
        penalty = sum(np.sum(p[f"W{l}"] ** 2) for l in range(1, spec.n_layers + 1))
        return network.objective(spec, p, X, Y) + 0.5 * L2 * penalty

    return objective


def _db_wrong_axis(spec, p, X, Y):
    return _backward(spec, p, X, Y, db_axis=0)


def _layer_off_by_one(spec, p, X, Y):
    right = _backward(spec, p, X, Y)
    L = spec.n_layers
    return {f"{k[0]}{int(k[1:]) - 1}": v for k, v in right.items() if int(k[1:]) > 1} | {
        k: v for k, v in right.items() if k in ("W1", "b1") and L == 1
    }


def _softmax_ce_without_y(spec, p, X, Y):
    return _backward(spec, p, X, Y, dZ_L=lambda A, Y, m, Z: A / m)


def _transposed_dW(spec, p, X, Y):
    return _backward(spec, p, X, Y, dW_transposed=True)


def _article_backprop_keys(spec, p, X, Y):
    """The article's printed ``backprop``: the last layer's gradients are stored under layer
    L-1's keys, then overwritten by the loop, so dW_L and db_L never appear."""
    AL, caches = manual.forward_prop(X, p)
    L = len(caches)
    grads = {}
    dZ = AL - Y  # the article's dZ_L: its 1/m waits for dW and db (one_layer_backward)
    grads[f"dA{L - 1}"], grads[f"dW{L - 1}"], grads[f"db{L - 1}"] = manual.linear_backward(
        dZ, caches[L - 1][0]
    )
    for l in reversed(range(L - 1)):
        dA_prev, dW, db = manual.one_layer_backward(grads[f"dA{l + 1}"], caches[l])
        grads[f"dA{l}"], grads[f"dW{l + 1}"], grads[f"db{l + 1}"] = dA_prev, dW, db
    return {k[1:]: v for k, v in grads.items() if k[:2] in ("dW", "db")}


def _article_unfused_dAL(spec, p, X, Y):
    """The article's dJ/dA_L = -(Y/A - (1-Y)/(1-A)), times sigmoid' = A(1-A): fine on paper,
    nan once an output saturates to exactly 0 or 1."""

    def dZ_L(A, Y, m, Z):
        with np.errstate(divide="ignore", invalid="ignore"):
            dA = -(Y / A - (1 - Y) / (1 - A))
            return dA * A * (1 - A) / m

    return _backward(spec, p, X, Y, dZ_L=dZ_L)


def _relu_prime_one(spec, p, X, Y):
    return _backward(spec, p, X, Y, act_grad=lambda A: np.ones_like(A))


_SIG = NetworkSpec([3, 4, 4, 1], init="xavier", seed=5)
_SIG2 = NetworkSpec([3, 4, 1], init="xavier", seed=5)
_CE = NetworkSpec([3, 4, 3], ("tanh", "softmax"), loss="ce", init="xavier", seed=5)
_RELU = NetworkSpec([3, 5, 1], ("relu", "sigmoid"), init="he", seed=5)

CATALOG: list[Mutant] = [
    Mutant(
        "forgot_1_over_m",
        "dW and db without the 1/m of the mean cost",
        _SIG,
        _forgot_1_over_m,
        {k: {"scale"} for k in _SIG.param_shapes()},
    ),
    Mutant(
        "sum_instead_of_mean",
        "db summed over the examples instead of averaged",
        _SIG,
        _db_sum_not_mean,
        {"b1": {"scale"}, "b2": {"scale"}, "b3": {"scale"}},
    ),
    Mutant(
        "sigmoid_prime_s_1_plus_s",
        "sigmoid'(z) written s(1+s) instead of s(1-s)",
        _SIG,
        _sigmoid_prime_plus,
        {k: {"values", "rows", "columns", "entries"} for k in ("W1", "b1", "W2", "b2")},
        entry_layer=2,
    ),
    Mutant(
        "W_instead_of_WT",
        "dA_prev = W dZ instead of W^T dZ (square layer, so it runs)",
        _SIG,
        _W_not_transposed,
        {k: {"values", "rows", "columns", "entries"} for k in ("W1", "b1")},
        entry_layer=1,
    ),
    Mutant(
        "flipped_sign",
        "dZ_L = (Y - A)/m instead of (A - Y)/m",
        _SIG,
        _flipped_sign,
        {k: {"sign"} for k in _SIG.param_shapes()},
    ),
    Mutant(
        "missing_regularisation",
        f"the cost has (lambda/2)||W||^2, lambda = {L2}, but the gradient lacks lambda W",
        _SIG,
        _missing_l2,
        {"W1": {"term"}, "W2": {"term"}, "W3": {"term"}},
    ),
    Mutant(
        "db_wrong_axis",
        "db summed over the units axis (0) instead of the examples axis (1)",
        _SIG,
        _db_wrong_axis,
        {"b1": {"shape"}, "b2": {"shape"}, "b3": {"shape"}},
    ),
    Mutant(
        "layer_off_by_one",
        "each layer's gradients stored under the previous layer's keys",
        _SIG,
        _layer_off_by_one,
        {
            "W1": {"shape", "swap"},
            "b1": {"swap", "values"},
            "W2": {"shape", "swap"},
            "b2": {"shape", "swap"},
            "W3": {"zero"},
            "b3": {"zero"},
        },
    ),
    Mutant(
        "softmax_ce_without_minus_Y",
        "softmax + cross-entropy with dZ_L = A/m, the -Y lost",
        _CE,
        _softmax_ce_without_y,
        {k: {"values", "rows", "columns", "entries", "scale", "term"} for k in _CE.param_shapes()},
        entry_layer=2,
    ),
    Mutant(
        "transposed_dW",
        "dW = A_prev dZ^T, the transpose of dZ A_prev^T",
        _SIG2,
        _transposed_dW,
        {"W1": {"transpose"}, "W2": {"transpose"}},
    ),
    Mutant(
        "article_backprop_keys",
        "the article's backprop: the last layer's gradients filed under layer L-1 and overwritten",
        _SIG2,
        _article_backprop_keys,
        {"W2": {"zero"}, "b2": {"zero"}},
    ),
    Mutant(
        "article_unfused_dAL",
        "the article's dA_L = -(Y/A - (1-Y)/(1-A)) on a saturated network (outputs exactly 0 or 1)",
        _SIG2,
        _article_unfused_dAL,
        {k: {"non-finite"} for k in _SIG2.param_shapes()},
        saturate=True,
    ),
    Mutant(
        "relu_prime_one",
        "relu'(z) taken as 1 everywhere (the derivative of linear)",
        _RELU,
        _relu_prime_one,
        {
            "W1": {"values", "rows", "columns", "entries"},
            "b1": {"values", "rows", "columns", "entries"},
        },
        entry_layer=1,
    ),
]


def mutant_problem(mutant: Mutant, m: int = 40):
    """The data and parameters a mutant is checked on: seeded, small, not at an optimum.

    The recipe, so that the study's catalog numbers can be reproduced by hand: one
    ``numpy.random.default_rng(11)`` draws, in this order, X (n_0, m) standard normal, the
    (1, m) class labels (integers in [0, max(n_L, 2)), made targets by ``network.targets``), and
    then, parameter by parameter in ``init_params`` order, a standard normal move of each entry,
    added times 0.3 to the network's initial value. A mutant with ``saturate`` then has its last
    layer's weights all 60 and biases all 40: for hidden outputs that are never negative,
    z_L >= 40 and sigmoid(z_L) is exactly 1.0 in float64.
    """
    spec = mutant.spec
    rng = np.random.default_rng(11)
    X = rng.standard_normal((spec.layer_dims[0], m))
    labels = rng.integers(0, max(spec.layer_dims[-1], 2), size=(1, m))
    Y = network.targets(spec, labels)
    params = network.init_params(spec)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}
    if mutant.saturate:
        L = spec.n_layers
        params[f"W{L}"] = np.full_like(params[f"W{L}"], 60.0)  # z_L >= 40: sigmoid(z_L) == 1.0
        params[f"b{L}"] = np.full_like(params[f"b{L}"], 40.0)
    return spec, params, X, Y


@dataclass
class MutantResult:
    mutant: Mutant
    report: GradCheckReport
    caught: bool
    fitting: bool
    entry_layer: int | None

    def summary(self) -> str:
        kinds = sorted({k for p in self.report.params.values() for k in p.diagnosis.kinds})
        return ", ".join(kinds) if kinds else "none"

    def to_dict(self) -> dict:
        return {
            "name": self.mutant.name,
            "description": self.mutant.description,
            "caught": self.caught,
            "fitting_diagnosis": self.fitting,
            "entry_layer": self.entry_layer,
            "diagnosis": self.report.diagnosis,
        }


def check_mutant(mutant: Mutant, **check_kwargs) -> MutantResult:
    spec, params, X, Y = mutant_problem(mutant)
    objective = _l2_objective(spec, X, Y) if mutant.name == "missing_regularisation" else None
    report = check_implementation(
        spec,
        params,
        X,
        Y,
        lambda p: mutant.grads(spec, p, X, Y),
        objective=objective,
        **check_kwargs,
    )
    layer = first_wrong_layer(spec, report)
    fitting = not report.ok
    for name, pc in report.params.items():
        wanted = mutant.expect.get(name)
        if wanted is None:
            fitting = fitting and pc.ok
        else:
            fitting = fitting and bool(set(pc.diagnosis.kinds) & set(wanted))
    if mutant.entry_layer is not None:
        fitting = fitting and layer == mutant.entry_layer
    return MutantResult(mutant, report, not report.ok, fitting, layer)


def run_catalog(**check_kwargs) -> list[MutantResult]:
    """Check every mutant of the catalog; see ``MutantResult``."""
    return [check_mutant(m, **check_kwargs) for m in CATALOG]
