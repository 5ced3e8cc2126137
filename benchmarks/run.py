"""Side-by-side benchmarks: every number is measured in this one process, in this one run.

    python benchmarks/run.py            # everything (a few minutes)
    python benchmarks/run.py --quick    # fewer repeats, no full finite-difference reference
    python benchmarks/run.py --configs A,B
    python benchmarks/run.py --json out.json

For configs A-D (float64, a sigmoid network with binary cross-entropy, one full-batch
``loss_and_grads``), the median time of each implementation is printed as a ratio to the
hand-derived NumPy step (``manual``), the implementations taking turns round by round (in short
warmed-up blocks) so that drifts of the machine hit them all alike. Then: manual's GEMM
throughput at D as a fraction of the float64 matrix-multiply peak measured here; ``Value``
nodes per second on an MLP(2,[16,16,1]) over 100 points with squared error, beside micrograd's
when it is installed; and the time of ``check_grad`` with default settings and of a full
element-wise ``compare_network`` on config C.
PyTorch is timed when it is installed (``pip install torch==2.13.0``); it is never a dependency.
"""

from __future__ import annotations

import argparse
import gc
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

import numpy as np  # noqa: E402

from backproof import autodiff, manual, network  # noqa: E402
from backproof.compare import check_grad, compare_network, reference  # noqa: E402
from backproof.compare import mutants as catalog  # noqa: E402

CONFIGS = {
    "A": ([2, 4, 1], 200),
    "B": ([2, 16, 16, 1], 1000),
    "C": ([784, 128, 64, 1], 1024),
    "D": ([784, 1024, 1024, 1], 8192),
}
TARGETS = {"A": 3.0, "B": 1.5, "C": 1.15, "D": 1.05}
# the engine's issue also asks for [2, 16, 16, 1] at m = 100 and m = 10,000
CONFIGS |= {"b": ([2, 16, 16, 1], 100), "B'": ([2, 16, 16, 1], 10_000)}


def problem(config: str):
    dims, m = CONFIGS[config]
    spec = network.NetworkSpec(dims, init="xavier", seed=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) > 0.5).astype(float)
    return spec, network.init_params(spec), X, Y


def torch_step(spec, params, X, Y):
    """The same step in PyTorch (float64, CPU), or None when torch is not installed."""
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


def step_functions(spec, params, X, Y) -> dict:
    """One full-batch (loss, gradient) step of each implementation, inputs checked once."""
    return {
        "manual": lambda: manual.loss_and_grads(spec, params, X, Y, check=False),
        "tensor": lambda: autodiff.loss_and_grads(spec, params, X, Y, check=False),
        "autograd": lambda: reference.loss_and_grads(spec, params, X, Y, check=False),
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


def gemm_peak(n: int = 2048, rounds: int = 5) -> float:
    """float64 GFLOP/s of one n x n matrix product, the best of ``rounds``."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(rounds))
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; skip the full FD run")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the environment sets them",
    )
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="comma-separated configs (default: all of A,B,C,D,b,B')",
    )
    args = parser.parse_args(argv)
    results = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "processor": _cpu_name(),
            "blas": _blas_kernel(),
            "platform": platform.platform(),
        }
    }
    try:
        import torch

        results["machine"]["torch"] = torch.__version__
    except ImportError:
        torch = None
    print(f"machine: {results['machine']}")
    print(f"garbage collector enabled: {gc.isenabled()}\n")

    rounds = {"A": 60, "b": 60, "B": 40, "B'": 20, "C": 15, "D": 5}
    header = (
        f"{'config':<8}{'dims':<22}{'m':>6}{'manual ms':>11}{'tensor':>9}{'target':>8}"
        f"{'autograd':>10}{'torch':>8}"
    )
    print(header)
    print("-" * len(header))
    table = {}
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        parser.error(f"--configs: unknown {unknown}; choose from {', '.join(CONFIGS)}")
    for name in names:
        spec, params, X, Y = problem(name)
        fns = step_functions(spec, params, X, Y)
        r = max(3, rounds[name] // (5 if args.quick else 1))
        inner = 10 if name in ("A", "b", "B") else 1
        t = time_in_blocks(fns, r, inner)
        row = {k: t[k] / t["manual"] for k in t}
        row["manual_seconds"] = t["manual"]
        step = torch_step(spec, params, X, Y)
        if step is not None:
            # PyTorch's OpenMP threads keep spinning after its calls and would slow the NumPy
            # step timed next: it gets a phase of its own, against manual again, with a pause
            # before each block
            tt = time_in_blocks({"torch": step, "manual": fns["manual"]}, r, inner, pause=0.3)
            row["torch"] = tt["torch"] / tt["manual"]
        table[name] = row
        torch_txt = f"{row['torch']:>8.2f}" if "torch" in row else f"{'-':>8}"
        print(
            f"{name:<8}{str(CONFIGS[name][0]):<22}{CONFIGS[name][1]:>6}"
            f"{t['manual'] * 1e3:>11.3f}{row['tensor']:>9.2f}"
            f"{f'{TARGETS[name]:.2f}' if name in TARGETS else '-':>8}"
            f"{row['autograd']:>10.2f}{torch_txt}"
        )
    results["ratios"] = table

    if "D" in names:
        peak = gemm_peak()
        spec, params, X, Y = problem("D")
        flops = gemm_flops(spec, X.shape[1])
        achieved = flops / table["D"]["manual_seconds"] / 1e9
        results["gemm"] = {
            "peak_gflops": peak,
            "manual_gflops": achieved,
            "fraction": achieved / peak,
        }
        print(
            f"\nfloat64 GEMM peak here: {peak:.1f} GFLOP/s; manual at D: {achieved:.1f} GFLOP/s "
            f"of matrix products = {achieved / peak:.1%} of peak (target >= 75%)"
        )

    nodes, ours = mlp_nodes_per_second(autodiff.Value)
    results["value_nodes_per_second"] = ours
    line = (
        f"\nValue: {ours:,.0f} nodes/s ({nodes} nodes, forward + backward, gc on; "
        "target >= 1,000,000)"
    )
    try:
        from micrograd.engine import Value as MicroValue

        m_nodes, theirs = mlp_nodes_per_second(MicroValue, rounds=2)
        results["micrograd_nodes_per_second"] = theirs
        line += f"; micrograd: {theirs:,.0f} nodes/s ({m_nodes} nodes) -> {ours / theirs:.1f}x"
    except ImportError:
        line += "; micrograd not installed"
    print(line)

    spec, params, X, Y = problem("C")
    objective = lambda p: network.objective(spec, p, X, Y)  # noqa: E731
    grads_fn = lambda p: manual.loss_and_grads(spec, p, X, Y, check=False)[1]  # noqa: E731
    t0 = time.perf_counter()
    report = check_grad(objective, grads_fn, params, factors={"m": X.shape[1]})
    t_check = time.perf_counter() - t0
    caught, applicable = catalog_on(spec, params, X, Y)
    results["check_grad_C"] = {
        "seconds": t_check,
        "ok": bool(report),
        "mode": report.mode,
        "evaluations": report.evaluations,
        "catalog_caught": caught,
        "catalog_applicable": applicable,
    }
    print(
        f"\ncheck_grad, default settings, config C: {t_check:.2f} s ({report.mode} check, "
        f"{report.evaluations} evaluations, verdict {'ok' if report else 'FAILED'}; target <= 2 s);"
        f" catalog caught at C: {caught} of {applicable}"
    )

    if not args.quick:
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
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
