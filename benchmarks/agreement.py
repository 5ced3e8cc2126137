"""The worst disagreement of each implementation with HIPS autograd, per activation/loss pairing.

    python benchmarks/agreement.py [--seeds 20]

For every pairing of the tests (``tests/conftest.py``) and ``--seeds`` random problems each, prints
the largest relative error max |g - g_autograd| / max |g_autograd| over all parameters, for
``manual``, the tensor engine and the scalar engine, in float64 and in float32.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from conftest import PAIRINGS, make_problem  # noqa: E402

from backproof import autodiff, manual  # noqa: E402
from backproof.compare import reference  # noqa: E402


def worst(seeds: int, dtype: str) -> dict:
    out = {}
    impls = {
        "manual": lambda *p: manual.loss_and_grads(*p),
        "tensor": lambda *p: autodiff.loss_and_grads(*p, engine="tensor"),
        "scalar": lambda *p: autodiff.loss_and_grads(*p, engine="scalar"),
    }
    for pairing in PAIRINGS:
        row = dict.fromkeys(impls, 0.0)
        for seed in range(seeds):
            problem = make_problem(*pairing, seed=seed, dtype=dtype, m=12)
            _, ref = reference.loss_and_grads(*problem)
            for name, fn in impls.items():
                _, g = fn(*problem)
                for k in ref:
                    scale = float(np.max(np.abs(ref[k])))
                    diff = float(np.max(np.abs(np.asarray(g[k], float) - ref[k])))
                    row[name] = max(row[name], diff / scale if scale else diff)
        out["-".join(pairing)] = row
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    for dtype in ("float64", "float32"):
        table = worst(args.seeds, dtype)
        print(f"\n{dtype}: worst max|g - autograd| / max|autograd| over {args.seeds} problems")
        print(f"{'hidden-output-loss':<26}{'manual':>11}{'tensor':>11}{'scalar':>11}")
        for name, row in table.items():
            print(
                f"{name:<26}" + "".join(f"{row[k]:>11.2e}" for k in ("manual", "tensor", "scalar"))
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
