"""The derivatives people actually write, checked right and corrupted: a table of verdicts.

    python benchmarks/reach_table.py            # the table (a few seconds)
    python benchmarks/reach_table.py --json out.json

Each row is a NumPy function of this project's own — vector outputs, several arguments, nested
parameters, second derivatives — with its derivative written by hand, checked once as written
("right") and once with a typical mistake ("corrupted"). A sound checker never says "fail" for
the right one and never says "pass" for the corrupted one; tests/test_reach_table.py asserts
exactly that, on this same catalog.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backproof.compare import (
    check_hessian,
    check_hvp,
    check_jacobian,
    check_jvp,
    check_vjp,
)

RNG = np.random.default_rng(2024)
M34 = RNG.standard_normal((3, 4))
M44 = RNG.standard_normal((4, 4)) + 4 * np.eye(4)  # well conditioned
V3 = RNG.standard_normal(3)
KERNEL = np.array([0.5, -1.0, 2.0])


@dataclass
class Case:
    """One function, the check that fits its derivative, the derivative and a corruption."""

    name: str
    kind: str  # "grad", "vjp", "jvp", "jacobian", "hvp", "hessian"
    f: Callable
    right: Callable
    corrupted: Callable
    mistake: str
    args: tuple
    options: dict = field(default_factory=dict)


CHECKS = {
    # until check_grad takes *args and argnums: the gradient of a scalar f is its VJP with the
    # cotangent 1, which check_vjp reduces to exactly that check_grad
    "grad": lambda f, g, *args, **kw: check_vjp(f, lambda *a: g(*a[:-1]), *args, **kw),
    "vjp": check_vjp,
    "jvp": check_jvp,
    "jacobian": check_jacobian,
    "hvp": check_hvp,
    "hessian": check_hessian,
}


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def softmax_jac(x):
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


def lse(x):
    return float(np.log(np.sum(np.exp(x - x.max()))) + x.max())


def lse_hess(x):
    return softmax_jac(x)  # the Hessian of log-sum-exp is the Jacobian of softmax


def rosen(x):
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def rosen_hvp(x, v):
    hv = np.zeros_like(x)
    hv[:-1] = (1200 * x[:-1] ** 2 - 400 * x[1:] + 2) * v[:-1] - 400 * x[:-1] * v[1:]
    hv[1:] += -400 * x[:-1] * v[:-1] + 200 * v[1:]
    return hv


def mlp_loss(params, X, y):
    h = X
    for layer in params[:-1]:
        h = np.tanh(layer["W"] @ h + layer["b"])
    out = params[-1]["W"] @ h + params[-1]["b"]
    return float(np.mean((out - y) ** 2))


def mlp_grad(params, X, y, *, drop_last_bias=False, no_mean=False):
    hs = [X]
    for layer in params[:-1]:
        hs.append(np.tanh(layer["W"] @ hs[-1] + layer["b"]))
    out = params[-1]["W"] @ hs[-1] + params[-1]["b"]
    delta = 2 * (out - y) / (1 if no_mean else y.size)
    grads = [None] * len(params)
    for k in range(len(params) - 1, -1, -1):
        gb = delta.sum(axis=1, keepdims=True)
        grads[k] = {"W": delta @ hs[k].T, "b": 0 * gb if drop_last_bias and k == 1 else gb}
        if k:
            delta = (params[k]["W"].T @ delta) * (1 - hs[k] ** 2)
    return grads


MLP = [
    {"W": RNG.standard_normal((4, 3)), "b": RNG.standard_normal((4, 1))},
    {"W": RNG.standard_normal((2, 4)), "b": RNG.standard_normal((2, 1))},
]
MLP_X, MLP_Y = RNG.standard_normal((3, 6)), RNG.standard_normal((2, 6))


def logistic(w, b, X, y):
    z = X @ w + b
    return float(np.mean(np.logaddexp(0, z) - y * z))


def logistic_grads(w, b, X, y, *, sign=1.0):
    r = (1 / (1 + np.exp(-(X @ w + b))) - y) / y.size
    return sign * (X.T @ r), float(np.sum(r))


LX, LY = RNG.standard_normal((8, 3)), (RNG.random(8) > 0.5).astype(float)


def _transpose(fn):
    return lambda *a: fn(*a).T


def _scaled(fn, c):
    return lambda *a: c * fn(*a)


def _vjp_from_jac(jac):
    return lambda x, v: np.tensordot(v, jac(x), axes=np.ndim(v))


def _jvp_from_jac(jac):
    return lambda x, u: jac(x) @ u


def catalog() -> list[Case]:
    x3, x4, x5 = RNG.standard_normal(3), RNG.standard_normal(4), RNG.standard_normal(5)
    A22 = RNG.standard_normal((2, 2)) + 3 * np.eye(2)

    def inv_vjp(A, V, sign=-1.0):
        Ai = np.linalg.inv(A)
        return sign * Ai.T @ V @ Ai.T

    def cumsum_vjp(x, v):
        return np.cumsum(v[::-1])[::-1]

    cases = [
        # -- Jacobians of vector functions --------------------------------------------------
        Case(
            "sin",
            "jacobian",
            np.sin,
            lambda x: np.diag(np.cos(x)),
            lambda x: np.diag(-np.cos(x)),
            "sign",
            (x4,),
        ),
        Case(
            "softmax",
            "jacobian",
            softmax,
            softmax_jac,
            lambda x: np.diag(softmax(x)),
            "missing -s sᵀ",
            (x4,),
        ),
        Case(
            "tanh(A x)",
            "jacobian",
            lambda x: np.tanh(M34 @ x),
            lambda x: (1 - np.tanh(M34 @ x) ** 2)[:, None] * M34,
            lambda x: M34,
            "missing tanh'",
            (x4,),
        ),
        Case(
            "x / |x|",
            "jacobian",
            lambda x: x / np.linalg.norm(x),
            lambda x: (np.eye(4) - np.outer(x, x) / (x @ x)) / np.linalg.norm(x),
            lambda x: np.eye(4) / np.linalg.norm(x),
            "missing projection",
            (x4,),
        ),
        Case(
            "cross(x, c)",
            "jacobian",
            lambda x: np.cross(x, V3),
            lambda x: -np.cross(np.eye(3), V3),
            lambda x: np.cross(np.eye(3), V3),
            "sign",
            (x3,),
        ),
        Case(
            "polar -> cartesian",
            "jacobian",
            lambda p: np.array([p[0] * np.cos(p[1]), p[0] * np.sin(p[1])]),
            lambda p: np.array(
                [[np.cos(p[1]), -p[0] * np.sin(p[1])], [np.sin(p[1]), p[0] * np.cos(p[1])]]
            ),
            lambda p: (
                np.array(
                    [[np.cos(p[1]), -p[0] * np.sin(p[1])], [np.sin(p[1]), p[0] * np.cos(p[1])]]
                ).T
            ),
            "transposed",
            (np.array([1.5, 0.7]),),
        ),
        Case(
            "x exp(x)",
            "jacobian",
            lambda x: x * np.exp(x),
            lambda x: np.diag((1 + x) * np.exp(x)),
            lambda x: np.diag(np.exp(x)),
            "product rule half",
            (x5,),
        ),
        Case(
            "angle -> (cos, sin)",
            "jacobian",
            lambda t: np.array([np.cos(t), np.sin(t)]),
            lambda t: np.array([-np.sin(t), np.cos(t)]),
            lambda t: np.array([np.sin(t), np.cos(t)]),
            "sign of one row",
            (0.4,),
        ),
        Case(
            "row log-sum-exp",
            "jacobian",
            lambda X: np.log(np.exp(X).sum(axis=1)),
            lambda X: np.eye(3)[:, :, None] * (np.exp(X) / np.exp(X).sum(1, keepdims=True)),
            lambda X: np.eye(3)[:, :, None] * np.exp(X),
            "missing normaliser",
            (RNG.standard_normal((3, 2)),),
        ),
        Case(
            "A @ A",
            "jacobian",
            lambda A: A @ A,
            lambda A: (
                np.einsum("ik,lj->ijkl", np.eye(2), A) + np.einsum("ik,jl->ijkl", A, np.eye(2))
            ),
            lambda A: np.einsum("ik,lj->ijkl", np.eye(2), A) * 2,
            "AB = BA assumed",
            (A22,),
        ),
        # -- VJPs ---------------------------------------------------------------------------
        Case(
            "cumsum",
            "vjp",
            np.cumsum,
            cumsum_vjp,
            lambda x, v: np.cumsum(v),
            "transposed (forward cumsum)",
            (x5,),
        ),
        Case(
            "convolve valid",
            "vjp",
            lambda x: np.convolve(x, KERNEL, "valid"),
            lambda x, v: np.convolve(v, KERNEL[::-1], "full"),
            lambda x, v: np.convolve(v, KERNEL, "full"),
            "kernel not flipped",
            (x5,),
        ),
        Case(
            "inv(A)",
            "vjp",
            np.linalg.inv,
            lambda A, V: inv_vjp(A, V),
            lambda A, V: inv_vjp(A, V, sign=1.0),
            "sign",
            (A22,),
        ),
        Case(
            "outer(x, x)",
            "vjp",
            lambda x: np.outer(x, x),
            lambda x, V: (V + V.T) @ x,
            lambda x, V: V @ x,
            "one of two terms",
            (x3,),
        ),
        Case(
            "pairwise differences",
            "vjp",
            lambda x: x[:, None] - x[None, :],
            lambda x, V: V.sum(1) - V.sum(0),
            lambda x, V: V.sum(1),
            "one of two terms",
            (x3,),
        ),
        Case(
            "solve(A, b) wrt b",
            "vjp",
            lambda A, b: np.linalg.solve(A, b),
            lambda A, b, v: np.linalg.solve(A.T, v),
            lambda A, b, v: np.linalg.solve(A, v),
            "A not transposed",
            (M44, x4),
            {"argnums": 1},
        ),
        Case(
            "solve(A, b) wrt A, b",
            "vjp",
            lambda A, b: np.linalg.solve(A, b),
            lambda A, b, v: (
                -np.outer(np.linalg.solve(A.T, v), np.linalg.solve(A, b)),
                np.linalg.solve(A.T, v),
            ),
            lambda A, b, v: (
                np.outer(np.linalg.solve(A.T, v), np.linalg.solve(A, b)),
                np.linalg.solve(A.T, v),
            ),
            "sign of dA",
            (M44, x4),
            {"argnums": (0, 1)},
        ),
        Case(
            "nested affine",
            "vjp",
            lambda p, x: np.tanh(p["W"] @ x + p["b"][0]) * p["b"][1],
            lambda p, x, v: _affine_vjp(p, x, v),
            lambda p, x, v: _affine_vjp(p, x, v, scale_wrong=True),
            "scale term",
            ({"W": M34, "b": [V3, 0.8]}, x4),
            {"argnums": 0},
        ),
        # -- JVPs ---------------------------------------------------------------------------
        Case(
            "softmax",
            "jvp",
            softmax,
            _jvp_from_jac(softmax_jac),
            lambda x, u: softmax(x) * u,
            "missing -s (sᵀu)",
            (x4,),
        ),
        Case(
            "tanh(A x)",
            "jvp",
            lambda x: np.tanh(M34 @ x),
            lambda x, u: (1 - np.tanh(M34 @ x) ** 2) * (M34 @ u),
            lambda x, u: (1 - np.tanh(M34 @ x) ** 2) * (M34 @ x),
            "x for u",
            (x4,),
        ),
        Case(
            "x * y (two args)",
            "jvp",
            lambda x, y: x * y,
            lambda x, y, u: u[0] * y + x * u[1],
            lambda x, y, u: u[0] * x + y * u[1],
            "args swapped",
            (x3, V3),
            {"argnums": (0, 1)},
        ),
        Case(
            "square matrix map",
            "jvp",
            lambda x: np.sin(M44 @ x),
            lambda x, u: np.cos(M44 @ x) * (M44 @ u),
            lambda x, u: (u * np.cos(M44 @ x)) @ M44,
            "VJP for JVP",
            (x4,),
        ),
        # -- gradients with several arguments and nested parameters ------------------------
        Case(
            "tanh(W x) summed, (W, x)",
            "grad",
            lambda W, x: float(np.sum(np.tanh(W @ x))),
            lambda W, x: (np.outer(1 - np.tanh(W @ x) ** 2, x), W.T @ (1 - np.tanh(W @ x) ** 2)),
            lambda W, x: (
                1.0001 * np.outer(1 - np.tanh(W @ x) ** 2, x),
                W.T @ (1 - np.tanh(W @ x) ** 2),
            ),
            "1e-4 off",
            (M34, x4),
            {"argnums": (0, 1)},
        ),
        Case(
            "bilinear xᵀAy wrt y",
            "grad",
            lambda x, A, y: float(x @ A @ y),
            lambda x, A, y: A.T @ x,
            lambda x, A, y: -(A.T @ x),
            "sign",
            (x3, M34, x4),
            {"argnums": 2},
        ),
        Case(
            "logistic loss (w, b)",
            "grad",
            logistic,
            lambda w, b, X, y: logistic_grads(w, b, X, y),
            lambda w, b, X, y: logistic_grads(w, b, X, y, sign=-1.0),
            "sign of dw",
            (x3, 0.3, LX, LY),
            {"argnums": (0, 1)},
        ),
        Case(
            "MLP params [{W, b}, {W, b}]",
            "grad",
            mlp_loss,
            mlp_grad,
            lambda p, X, y: mlp_grad(p, X, y, drop_last_bias=True),
            "missing bias gradient",
            (MLP, MLP_X, MLP_Y),
        ),
        Case(
            "MLP without 1/m",
            "grad",
            mlp_loss,
            mlp_grad,
            lambda p, X, y: mlp_grad(p, X, y, no_mean=True),
            "missing 1/m",
            (MLP, MLP_X, MLP_Y),
        ),
        Case(
            "dict of tuples",
            "grad",
            lambda p: float(np.sum(p["emb"][0] * p["emb"][1]) * p["scale"]),
            lambda p: {
                "emb": (p["emb"][1] * p["scale"], p["emb"][0] * p["scale"]),
                "scale": float(np.sum(p["emb"][0] * p["emb"][1])),
            },
            lambda p: {
                "emb": (p["emb"][0] * p["scale"], p["emb"][1] * p["scale"]),
                "scale": float(np.sum(p["emb"][0] * p["emb"][1])),
            },
            "swapped factors",
            ({"emb": (x3, V3), "scale": 1.7},),
        ),
        Case(
            "scalar x³ sin x",
            "grad",
            lambda t: t**3 * np.sin(t),
            lambda t: 3 * t**2 * np.sin(t) + t**3 * np.cos(t),
            lambda t: 3 * t**2 * np.cos(t),
            "chain rule slip",
            (1.3,),
        ),
        Case(
            "det(A)",
            "grad",
            lambda A: float(np.linalg.det(A)),
            lambda A: np.linalg.det(A) * np.linalg.inv(A).T,
            lambda A: np.linalg.det(A) * np.linalg.inv(A),
            "missing transpose",
            (M44,),
        ),
        # -- second derivatives -------------------------------------------------------------
        Case(
            "Rosenbrock", "hvp", rosen, rosen_hvp, lambda x, v: rosen_hvp(x, v) / 2, "x 1/2", (x5,)
        ),
        Case(
            "Rosenbrock with grad_f",
            "hvp",
            rosen,
            rosen_hvp,
            lambda x, v: rosen_hvp(x, v[::-1]),
            "v reversed",
            (x5,),
            {"grad_f": rosen_grad},
        ),
        Case(
            "log-sum-exp",
            "hessian",
            lse,
            lse_hess,
            lambda x: np.diag(softmax(x)),
            "missing -s sᵀ",
            (x4,),
        ),
        Case(
            "quartic with coupling",
            "hessian",
            lambda x: float(np.sum(x**4) + x[0] * x[1] * x[2]),
            lambda x: np.diag(12 * x**2) + _coupling(x),
            lambda x: np.diag(12 * x**2),
            "cross terms dropped",
            (x3,),
            {"grad_f": lambda x: 4 * x**3 + np.array([x[1] * x[2], x[0] * x[2], x[0] * x[1]])},
        ),
        Case(
            "logistic loss Hessian in w",
            "hessian",
            lambda w: logistic(w, 0.3, LX, LY),
            lambda w: _logistic_hess(w),
            lambda w: _logistic_hess(w) * LY.size,
            "missing 1/m",
            (x3,),
        ),
    ]
    return cases


def _affine_vjp(p, x, v, scale_wrong=False):
    z = p["W"] @ x + p["b"][0]
    gz = v * p["b"][1] * (1 - np.tanh(z) ** 2)
    scale = float(v @ np.tanh(z)) * (2 if scale_wrong else 1)
    return {"W": np.outer(gz, x), "b": [gz, scale]}


def _coupling(x):
    return np.array([[0, x[2], x[1]], [x[2], 0, x[0]], [x[1], x[0], 0]])


def _logistic_hess(w):
    s = 1 / (1 + np.exp(-(LX @ w + 0.3)))
    return (LX.T * (s * (1 - s))) @ LX / LY.size


def run(case: Case, which: str):
    """The report of the check that fits ``case``, on its right or corrupted derivative."""
    derivative = case.right if which == "right" else case.corrupted
    return CHECKS[case.kind](case.f, derivative, *case.args, **case.options)


def verdict(report) -> str:
    return getattr(report, "verdict", None) or ("pass" if report else "fail")


def table() -> list[dict]:
    rows = []
    for case in catalog():
        t0 = time.perf_counter()
        right, corrupted = run(case, "right"), run(case, "corrupted")
        rows.append(
            {
                "function": case.name,
                "check": case.kind,
                "right": verdict(right),
                "corrupted": verdict(corrupted),
                "mistake": case.mistake,
                "seconds": time.perf_counter() - t0,
            }
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = table()
    print(f"{'function':<30}{'check':<10}{'right':<14}{'corrupted':<14}mistake")
    for r in rows:
        print(
            f"{r['function']:<30}{r['check']:<10}{r['right']:<14}{r['corrupted']:<14}{r['mistake']}"
        )
    sound = sum(r["right"] != "fail" and r["corrupted"] != "pass" for r in rows)
    print(
        f"\n{len(rows)} functions; sound on {sound} (right never fail, corrupted never pass); "
        f"{sum(r['right'] == 'pass' for r in rows)} right ones pass, "
        f"{sum(r['corrupted'] == 'fail' for r in rows)} corrupted ones fail; "
        f"{sum(r['seconds'] for r in rows):.2f} s in all"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0 if sound == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
