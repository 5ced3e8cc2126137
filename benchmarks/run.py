"""Side-by-side benchmarks: every number is measured in this one process, in this one run.

    python benchmarks/run.py            # everything (several minutes on a quiet machine)
    python benchmarks/run.py --quick    # under a minute: fewer repeats, no full FD run or catalog
    python benchmarks/run.py --configs A,B
    python benchmarks/run.py --json out.json
    python benchmarks/run.py --blas-threads 1   # steadier ratios on a machine shared with others

For each config (a sigmoid network with binary cross-entropy, one full-batch ``loss_and_grads``:
forward, cost and every gradient; C and D also in float32) each implementation's median time is
printed as a ratio to the hand-derived NumPy step (``manual``), measured in two orders:

- **blocks**: ``check=False``, the implementations taking turns round by round, each timed over
  a short warmed-up block of calls in a row (its steady state in a training loop);
- **interleaved**: the default path (``check=True``, as users call it), one call of each
  implementation in turn, every call timed on its own (so each runs right after the others).

The targets are read on the interleaved, default-path numbers. ``best`` is the fastest NumPy step
this file can write for the same network (workspace allocated once, every product and
elementwise pass written into it, no validation): ``manual / best`` shows how close the floor
the engine is measured against is to what NumPy can do. Then: manual's matrix-product throughput
at D as a fraction of the float64 and float32 GEMM peaks measured here; ``Value`` nodes per
second on micrograd's MLP(2,[16,16,1]) over 100 points with squared error, beside micrograd's
(``pip install micrograd``); and the time of ``check_grad`` with default settings and of a full
element-wise ``compare_network`` on config C.
PyTorch is timed when it is installed (``pip install torch==2.13.0``); it is never a dependency.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import random
import sys
import time

# This machine's image sets OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) for old OpenBLAS builds that
# misbehave on its processor; with a current NumPy they only force slower kernels. For this one
# command they are dropped before NumPy loads OpenBLAS (--keep-openblas-env keeps them); the
# tests and CI keep them.
if "--keep-openblas-env" not in sys.argv:
    for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(_var, None)
# --blas-threads N: on a machine shared with other work, BLAS threads that wait for a core spin
# and distort the ratios; one thread gives steadier ones. Read before NumPy starts its threads.
for _i, _arg in enumerate(sys.argv):
    if _arg.startswith("--blas-threads"):
        _n = _arg.partition("=")[2] or (sys.argv[_i + 1] if _i + 1 < len(sys.argv) else "")
        for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_var] = _n

import numpy as np  # noqa: E402

from backproof import autodiff, manual, network  # noqa: E402
from backproof.compare import check_grad, compare_network, reference  # noqa: E402
from backproof.compare import mutants as catalog  # noqa: E402

CONFIGS = {
    "A": ([2, 4, 1], 200, "float64"),
    "B": ([2, 16, 16, 1], 1000, "float64"),
    "C": ([784, 128, 64, 1], 1024, "float64"),
    "C32": ([784, 128, 64, 1], 1024, "float32"),
    "D": ([784, 1024, 1024, 1], 8192, "float64"),
    "D32": ([784, 1024, 1024, 1], 8192, "float32"),
}
# tensor / manual, default path, interleaved
TARGETS = {"A": 2.5, "B": 1.3, "C": 1.05, "C32": 1.05, "D": 1.05, "D32": 1.05}
BEST_TARGET = 1.3  # manual / best, default path, interleaved, at every size
GEMM_TARGETS = {"float64": 0.75, "float32": 0.70}  # manual at D, fraction of the GEMM peak
VALUE_TARGET = 2_000_000  # Value nodes per second, gc on
# the engine's issue also asks for [2, 16, 16, 1] at m = 100 and m = 10,000
CONFIGS |= {"b": ([2, 16, 16, 1], 100, "float64"), "B'": ([2, 16, 16, 1], 10_000, "float64")}
DEFAULT_CONFIGS = ["A", "B", "C", "C32", "D", "D32"]
# rounds (blocks, interleaved) and calls per block for each config
ROUNDS = {
    "A": (60, 3000, 10),
    "b": (60, 3000, 10),
    "B": (40, 600, 10),
    "B'": (20, 100, 1),
    "C": (15, 60, 1),
    "C32": (15, 60, 1),
    "D": (3, 5, 1),
    "D32": (3, 5, 1),
}


def problem(config: str):
    dims, m, dtype = CONFIGS[config]
    spec = network.NetworkSpec(dims, init="xavier", seed=0, dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = (rng.random((1, m)) > 0.5).astype(dtype)
    return spec, network.init_params(spec), X, Y


def best_numpy_step(spec, params, X, Y):
    """The fastest step of this sigmoid/bce network NumPy allows here, as a baseline for manual.

    Every array is allocated once, here: each call writes Z_l = W_l A_{l-1} (+ b_l, then the
    sigmoid, in place), the gradients and the backward temporaries into that workspace, so no
    call touches fresh memory. Reductions call the ufunc's ``reduce`` directly (``np.sum``'s
    Python layer costs as much as the sum itself on small arrays), and the cost is
    sum softplus(z) - y . z, one pass and one dot product. The returned gradients are
    overwritten by the next call.
    """
    L, m, dt = spec.n_layers, X.shape[1], spec.dtype
    dims = spec.layer_dims
    Zs = [None] + [np.empty((dims[l], m), dt) for l in range(1, L + 1)]
    dAs = [None] + [np.empty((dims[l], m), dt) for l in range(1, L)]
    A_L, dZ_L, loss = (np.empty((dims[L], m), dt) for _ in range(3))
    grads = {k: np.empty_like(v) for k, v in params.items()}
    W, b, dW, db = ([None] + [d[f"{k}{l}"] for l in range(1, L + 1)] for d, k in
                    [(params, "W"), (params, "b"), (grads, "W"), (grads, "b")])  # fmt: skip
    inv_m = dt.type(1.0 / m)
    add, matmul, vdot = np.add.reduce, np.matmul, np.vdot

    def step():
        A = X
        with np.errstate(over="ignore"):  # e^-z may overflow to inf: 1 / (1 + inf) = 0, right
            for l in range(1, L + 1):
                Z = Zs[l]
                matmul(W[l], A, out=Z)
                Z += b[l]
                out = Z if l < L else A_L
                np.negative(Z, out=out)  # the sigmoid, 1 / (1 + e^-z)
                np.exp(out, out=out)
                out += 1
                np.reciprocal(out, out=out)
                A = Z
        # bce from the logits: sum softplus(z) - y . z
        np.logaddexp(0, Zs[L], out=loss)
        J = (float(add(loss, axis=None)) - float(vdot(Y, Zs[L]))) / m
        dZ = np.subtract(A_L, Y, out=dZ_L)
        dZ *= inv_m
        for l in range(L, 0, -1):
            A_prev = Zs[l - 1] if l > 1 else X
            matmul(dZ, A_prev.T, out=dW[l])
            add(dZ, axis=1, keepdims=True, out=db[l])
            if l > 1:
                dA = dAs[l - 1]
                matmul(W[l].T, dZ, out=dA)
                dA *= A_prev  # sigmoid' = A (1 - A), with A_{l-1} as scratch space
                np.subtract(1, A_prev, out=A_prev)
                dA *= A_prev
                dZ = dA
        return J, grads

    return step


def torch_step(spec, params, X, Y):
    """The same step in PyTorch (the problem's dtype, CPU), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    P = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in params.items()}
    L = spec.n_layers

    def step():
        for p in P.values():
            p.grad = None
        A = Xt
        for l in range(1, L):
            A = torch.sigmoid(P[f"W{l}"] @ A + P[f"b{l}"])
        Z = P[f"W{L}"] @ A + P[f"b{L}"]
        J = (
            torch.nn.functional.binary_cross_entropy_with_logits(Z, Yt, reduction="sum")
            / X.shape[1]
        )
        J.backward()
        return float(J.detach())

    return step


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _blas_kernel() -> str:
    """Which BLAS and which kernel set NumPy runs (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see)"
    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return (
        ", ".join(
            f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
            f"{i['num_threads']} threads"
            for i in info
        )
        or "unknown"
    )


def step_functions(spec, params, X, Y, *, check: bool) -> dict:
    """One full-batch (loss, gradient) step of each implementation; ``check`` is the validation
    flag of the three library implementations (``best`` never validates)."""
    return {
        "manual": lambda: manual.loss_and_grads(spec, params, X, Y, check=check),
        "tensor": lambda: autodiff.loss_and_grads(spec, params, X, Y, check=check),
        "autograd": lambda: reference.loss_and_grads(spec, params, X, Y, check=check),
        "best": best_numpy_step(spec, params, X, Y),
    }


def time_in_blocks(
    fns: dict, rounds: int, inner: int = 1, warm: int = 2, pause: float = 0.0
) -> dict:
    """Median seconds per call. Round by round the functions take turns; each is timed over
    ``inner`` calls in a row after ``warm`` untimed ones, so that it is measured in its steady
    state (a training loop repeats the same step) and threads or memory the previous block left
    behind (PyTorch's OpenMP threads keep spinning after each call) have settled."""
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            time.sleep(pause)
            for _ in range(warm):
                f()
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            times[k].append((time.perf_counter() - t0) / inner)
    return {k: float(np.median(v)) for k, v in times.items()}


def time_interleaved(fns: dict, rounds: int, warm: int = 1) -> dict:
    """Median seconds per call, one call of each function in turn, each call timed on its own:
    every function runs right after the others, as in a program that mixes them."""
    for _ in range(warm):
        for f in fns.values():
            f()
    times = {k: [] for k in fns}
    clock = time.perf_counter
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = clock()
            f()
            times[k].append(clock() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def same_numbers(spec, params, X, Y) -> float:
    """The largest relative difference between best's and manual's gradients (a sanity check
    that the baseline computes the same step)."""
    _, g_best = best_numpy_step(spec, params, X, Y)()
    _, g_manual = manual.loss_and_grads(spec, params, X, Y, check=False)
    return max(
        float(np.max(np.abs(g_best[k] - g_manual[k])) / (np.max(np.abs(g_manual[k])) + 1e-30))
        for k in g_manual
    )


def gemm_peak(dtype="float64", n: int = 2048, rounds: int = 5) -> float:
    """GFLOP/s of one n x n matrix product in ``dtype``, the best of ``rounds``."""
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
    out = a @ b
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(rounds))
    return 2 * n**3 / best / 1e9


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def gemm_flops(spec, m: int) -> float:
    """Matrix-multiply flops of one step: Z_l = W_l A and dW_l for every l, dA_{l-1} for l > 1."""
    dims = spec.layer_dims
    per = [2 * dims[l] * dims[l - 1] * m for l in range(1, len(dims))]
    return 2 * sum(per) + sum(per[1:])


def mlp_nodes_per_second(Value, rounds: int = 5) -> tuple[int, float]:
    """micrograd's MLP(2, [16, 16, 1]) on 100 points, squared error: forward + backward."""
    random.seed(1)

    def neuron(nin):
        return [Value(random.uniform(-1, 1)) for _ in range(nin)], Value(0.0)

    layers = [[neuron(2) for _ in range(16)], [neuron(16) for _ in range(16)], [neuron(16)]]

    def model(x):
        for i, layer in enumerate(layers):
            out = []
            for w, b in layer:
                act = sum((wi * xi for wi, xi in zip(w, x)), b)
                out.append(act.relu() if i < len(layers) - 1 else act)
            x = out
        return x[0]

    data = [
        ([random.uniform(-1, 1), random.uniform(-1, 1)], random.choice([-1.0, 1.0]))
        for _ in range(100)
    ]
    best, nodes = np.inf, 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        loss = sum((model(x) - y) ** 2 for x, y in data)
        loss.backward()
        best = min(best, time.perf_counter() - t0)
        seen, stack, nodes = {id(loss)}, [loss], 0
        while stack:
            v = stack.pop()
            nodes += 1
            for c in v._prev:
                if id(c) not in seen:
                    seen.add(id(c))
                    stack.append(c)
    return nodes, nodes / best


class _Slotted:
    """A stand-in node: as many slots as a ``Value``, no methods."""

    __slots__ = ("data", "grad", "_prim", "_a", "_b", "_seq")


def cpython_floor(n: int = 64_000, rounds: int = 5) -> float:
    """Seconds per node of the least a scalar engine does per recorded operation: one Python
    call that creates a slotted object, fills its slots and keeps it (a graph stays alive until
    backward). With the garbage collector on, as the graph grows its collections visit every
    kept object again, and that is part of the floor."""
    new, stamp = _Slotted.__new__, itertools.count().__next__

    def record(a, b):
        out = new(_Slotted)
        out.data, out.grad, out._prim, out._a, out._b, out._seq = 1.0, 0.0, None, a, b, stamp()
        return out

    def build():
        kept, prev = [], None
        for _ in range(n):
            prev = record(prev, 2.0)
            kept.append(prev)
        return kept

    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        graph = build()
        best = min(best, time.perf_counter() - t0)
        del graph
    return best / n


def catalog_on(spec, params, X, Y):
    """How many of the catalog's wrong derivations the default check_grad catches on this spec
    (those that apply: bce mutants that change the gradient of a sigmoid network)."""
    caught = applicable = 0
    objective_default = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    for mutant in catalog.CATALOG:
        if mutant.spec.loss != "bce" or mutant.saturate:
            continue
        grads_fn = lambda p, mu=mutant: mu.grads(spec, p, X, Y)  # noqa: E731
        objective = objective_default
        if mutant.name == "missing_regularisation":
            objective = catalog._l2_objective(spec, X, Y)
        elif mutant.name == "W_instead_of_WT" and not any(
            a == b for a, b in zip(spec.layer_dims[1:], spec.layer_dims[2:])
        ):
            continue  # no square layer: the mistake changes nothing here
        applicable += 1
        report = check_grad(objective, grads_fn, params, factors={"m": X.shape[1]})
        caught += not report
    return caught, applicable


def measure_config(name: str, quick: bool) -> dict:
    """Time every implementation on one config in both orders; ratios to manual (and best)."""
    spec, params, X, Y = problem(name)
    r_blocks, r_inter, inner = ROUNDS[name]
    big = name.startswith("D")
    if quick:
        r_blocks, r_inter = max(3, r_blocks // 5), max(3 if big else 5, r_inter // 5)
    unchecked = step_functions(spec, params, X, Y, check=False)
    if quick and big:
        del unchecked["autograd"]  # about twice manual's time per call: the full run has it
    blocks = time_in_blocks(unchecked, r_blocks, inner, warm=1 if quick else 2)
    default = step_functions(spec, params, X, Y, check=True)
    inter = time_interleaved({k: default[k] for k in ("manual", "tensor", "best")}, r_inter)
    row = {
        "dims": CONFIGS[name][0],
        "m": CONFIGS[name][1],
        "dtype": CONFIGS[name][2],
        "seconds": {"blocks, check=False": blocks, "interleaved, default path": inter},
        "blocks": {k: blocks[k] / blocks["manual"] for k in ("tensor", "autograd") if k in blocks},
        "interleaved": {"tensor": inter["tensor"] / inter["manual"]},
        "best_gradient_difference": same_numbers(spec, params, X, Y),
    }
    row["blocks"]["manual/best"] = blocks["manual"] / blocks["best"]
    row["interleaved"]["manual/best"] = inter["manual"] / inter["best"]
    step = torch_step(spec, params, X, Y)
    if step is not None:
        # PyTorch's OpenMP threads keep spinning after its calls and would slow the NumPy
        # step timed next: it gets a phase of its own, against manual again, with a pause
        # before each block
        tt = time_in_blocks(
            {"torch": step, "manual": unchecked["manual"]}, r_blocks, inner, pause=0.3
        )
        row["blocks"]["torch"] = tt["torch"] / tt["manual"]
    return row


HEADER = (
    f"{'':<44}|{'blocks, check=False':^33}|{'interleaved, default path':^36}|\n"
    f"{'config':<7}{'dims, m':<29}{'dtype':<8}|{'manual ms':>10}{'tensor':>7}{'autogr':>7}"
    f"{'m/best':>8} |{'manual ms':>10}{'tensor':>7}{'target':>7}{'m/best':>8}{'ok':>4}"
    f"|{'torch':>6}"
)


def _format_row(name: str, row: dict) -> str:
    b, i = row["blocks"], row["interleaved"]
    sec = row["seconds"]
    target = TARGETS.get(name)
    ok = (i["tensor"] <= target if target else True) and i["manual/best"] <= BEST_TARGET
    autograd = f"{b['autograd']:>7.2f}" if "autograd" in b else f"{'-':>7}"
    torch_txt = f"{b['torch']:>6.2f}" if "torch" in b else f"{'-':>6}"
    return (
        f"{name:<7}{str(row['dims']) + ', ' + str(row['m']):<29}{row['dtype']:<8}|"
        f"{sec['blocks, check=False']['manual'] * 1e3:>10.3f}{b['tensor']:>7.2f}{autograd}"
        f"{b['manual/best']:>8.2f} |"
        f"{sec['interleaved, default path']['manual'] * 1e3:>10.3f}{i['tensor']:>7.2f}"
        f"{f'{target:.2f}' if target else '-':>7}{i['manual/best']:>8.2f}"
        f"{'yes' if ok else 'NO':>4}|{torch_txt}"
    )


def measure_gemm(table: dict, results: dict) -> None:
    """manual at D (and D32) as a fraction of the GEMM peak of its dtype, measured now."""
    results["gemm"] = {}
    for name in ("D", "D32"):
        if name not in table:
            continue
        dtype = CONFIGS[name][2]
        peak = gemm_peak(dtype)
        spec, _, X, _ = problem(name)
        flops = gemm_flops(spec, X.shape[1])
        sec = table[name]["seconds"]
        inter = flops / sec["interleaved, default path"]["manual"] / 1e9
        blocks = flops / sec["blocks, check=False"]["manual"] / 1e9
        results["gemm"][dtype] = {
            "peak_gflops": peak,
            "manual_gflops_interleaved_default": inter,
            "manual_gflops_blocks": blocks,
            "fraction": inter / peak,
        }
        print(
            f"{dtype} GEMM peak here: {peak:.1f} GFLOP/s; manual at {name}: {inter:.1f} GFLOP/s "
            f"of matrix products = {inter / peak:.1%} of peak (interleaved, default path; "
            f"target >= {GEMM_TARGETS[dtype]:.0%}); in blocks {blocks / peak:.1%}"
        )


def measure_value(results: dict) -> None:
    nodes, ours = mlp_nodes_per_second(autodiff.Value)
    results["value_nodes_per_second"] = ours
    line = (
        f"\nValue: {ours:,.0f} nodes/s ({nodes} nodes, forward + backward, gc on; "
        f"target >= {VALUE_TARGET:,})"
    )
    try:
        from micrograd.engine import Value as MicroValue

        m_nodes, theirs = mlp_nodes_per_second(MicroValue, rounds=2)
        results["micrograd_nodes_per_second"] = theirs
        line += f"; micrograd: {theirs:,.0f} nodes/s ({m_nodes} nodes) -> {ours / theirs:.1f}x"
    except ImportError:
        line += "; micrograd not installed (pip install micrograd)"
    floor = cpython_floor()
    results["cpython_floor_ns_per_node"] = floor * 1e9
    line += (
        f"\nCPython floor here: one call creating and keeping a slotted object costs "
        f"{floor * 1e9:.0f} ns (gc on), so forward alone caps at {1 / floor:,.0f} nodes/s"
    )
    print(line)


def measure_checks(results: dict, quick: bool) -> None:
    spec, params, X, Y = problem("C")
    objective = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    grads_fn = lambda p: manual.loss_and_grads(spec, p, X, Y, check=False)[1]  # noqa: E731
    t0 = time.perf_counter()
    report = check_grad(objective, grads_fn, params, factors={"m": X.shape[1]})
    t_check = time.perf_counter() - t0
    results["check_grad_C"] = {
        "seconds": t_check,
        "ok": bool(report),
        "mode": report.mode,
        "evaluations": report.evaluations,
    }
    print(
        f"\ncheck_grad, default settings, config C: {t_check:.2f} s ({report.mode} check, "
        f"{report.evaluations} evaluations, verdict {'ok' if report else 'FAILED'}; target <= 2 s)"
    )
    if quick:
        return
    caught, applicable = catalog_on(spec, params, X, Y)
    results["check_grad_C"] |= {"catalog_caught": caught, "catalog_applicable": applicable}
    print(f"catalog of wrong derivations caught by check_grad at C: {caught} of {applicable}")
    t0 = time.perf_counter()
    comp = compare_network(spec, X, Y, params, epochs=0, progress=False)
    t_full = time.perf_counter() - t0
    results["compare_network_C"] = {
        "seconds": t_full,
        "ok": bool(comp),
        "fd_seconds": comp.seconds.get("reference:fd"),
        "references": comp.references,
    }
    print(
        f"compare_network, config C, full element-wise ({spec.n_params():,} parameters, "
        f"references {', '.join(comp.references)}): {t_full:.1f} s, of which finite "
        f"differences {comp.seconds.get('reference:fd', 0):.1f} s (target <= 60 s); "
        f"{'all agree' if comp else 'DISAGREEMENT'}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="under a minute: fewer repeats; no full FD run, no catalog",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the environment sets them",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="threads for BLAS (default: as the environment says); 1 steadies a shared machine",
    )
    parser.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help=f"comma-separated configs (default: {','.join(DEFAULT_CONFIGS)}; "
        f"also {','.join(c for c in CONFIGS if c not in DEFAULT_CONFIGS)})",
    )
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        parser.error(f"--configs: unknown {unknown}; choose from {', '.join(CONFIGS)}")
    started = time.perf_counter()
    results = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "processor": _cpu_name(),
            "blas": _blas_kernel(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        }
    }
    try:
        import torch

        results["machine"]["torch"] = torch.__version__
    except ImportError:
        pass
    print(f"machine: {results['machine']}")
    print(f"garbage collector enabled: {gc.isenabled()}")
    print(
        "ratios to manual; 'm/best' = manual / the best NumPy step of this file "
        f"(target <= {BEST_TARGET}); targets are read on the interleaved, default-path numbers\n"
    )
    print(HEADER)
    print("-" * len(HEADER.splitlines()[1]))
    table = {}
    for name in names:
        table[name] = measure_config(name, args.quick)
        print(_format_row(name, table[name]), flush=True)
    results["configs"] = table
    print()
    measure_gemm(table, results)
    measure_value(results)
    measure_checks(results, args.quick)
    results["seconds"] = time.perf_counter() - started
    print(f"\nwhole run: {results['seconds']:.0f} s; load average now {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
