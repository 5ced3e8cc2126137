"""How check_grad's verdicts fall on random functions with known gradients.

    python benchmarks/soundness.py            # 600 functions (a minute or two)
    python benchmarks/soundness.py --n 3000

Functions come from the grammar of tests/test_soundness.py (smooth operations, kinks, float32,
f computed in float32 inside, quantisation, scales 1e-8..1e8, offsets up to 1e12), drawn with a
seeded Generator. For each, the true gradient and one corruption (one entry, a scale, the sign,
zero, reversed entries, a missing term) are checked. The first table counts the verdicts per
case class and precision; corrupted gradients count only when detectably wrong (see the test
module). The second finds the detection floor: the smallest relative error in one entry (of the
largest entry) that no check passed, per precision.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from test_soundness import (  # noqa: E402
    CORRUPTIONS,
    KINKED,
    OPS,
    QUANTA,
    Recipe,
    build_case,
    check,
    corrupt,
    detectably_wrong,
)

VERDICTS = ("pass", "inconclusive", "fail")


def draw_recipe(rng: np.random.Generator) -> Recipe:
    k = int(rng.integers(1, 5))
    ops = tuple(str(o) for o in rng.choice(list(OPS), k))
    x_dtype = str(rng.choice(["float64", "float32"]))
    return Recipe(
        n=int(rng.integers(2, 6)),
        ops=ops,
        seed=int(rng.integers(2**32)),
        x_dtype=x_dtype,
        inside32=x_dtype == "float64" and rng.random() < 0.25,
        scale=10.0 ** float(rng.choice([-8, -4, 0, 0, 0, 4, 8])),
        offset=float(rng.choice([0.0, 0.0, 3.0, 1e3, 1e6, 1e12])) * float(rng.choice([1, -1])),
        quantum=float(rng.choice(QUANTA)),
        at_kink=bool(rng.random() < 0.5 and ops[0] in KINKED),
    )


def case_class(r: Recipe) -> str:
    if r.quantum:
        return "quantised"
    if r.at_kink:
        return "at a kink"
    if any(o in KINKED for o in r.ops):
        return "with kinks"
    if abs(r.offset) >= 1e6:
        return "large offset"
    return "smooth"


def precision(r: Recipe) -> str:
    if r.inside32:
        return "f32 inside"
    return r.x_dtype


def verdict_table(n: int, rng) -> tuple[dict, Counter]:
    counts = defaultdict(lambda: {"right": Counter(), "wrong": Counter()})
    violations = Counter()
    for _ in range(n):
        r = draw_recipe(rng)
        case = build_case(r)
        key = (case_class(r), precision(r))
        right = check(case, case.grad).verdict
        counts[key]["right"][right] += 1
        kind = "quantised" if r.quantum else "other"  # counted apart: the hardest class
        violations[kind] += right == "fail"
        how = str(rng.choice(CORRUPTIONS))
        g = corrupt(case, how, 10 ** rng.uniform(-4, -1), rng)
        if detectably_wrong(case, g):
            wrong = check(case, g).verdict
            counts[key]["wrong"][wrong] += 1
            violations[kind] += wrong == "pass"
    return counts, violations


def beyond_resolution(case, g) -> bool:
    """Some entry is outside the valid derivatives by more than f's differences can see (the
    detection floor itself is what is measured here)."""
    outside = np.maximum(np.maximum(case.low - g, g - case.high), 0.0)
    return bool(np.any(outside > case.resolution))


def detection_floor(n: int, rng) -> dict:
    """Per precision: for each relative size, how many one-entry corruptions beyond f's
    resolution passed; the floor is the smallest size from which on none passed."""
    sizes = 10.0 ** np.arange(-8, 0)
    passed = defaultdict(Counter)
    tried = defaultdict(Counter)
    for _ in range(n):
        r = draw_recipe(rng)
        case = build_case(r)
        for size in sizes:
            g = corrupt(case, "entry", size, rng)
            if beyond_resolution(case, g):
                tried[case.dtype][size] += 1
                passed[case.dtype][size] += check(case, g).verdict == "pass"
    floors = {}
    for dtype in sorted(tried):
        bad = [s for s in sizes if passed[dtype][s]]
        floors[dtype] = (max(bad) * 10 if bad else min(tried[dtype]), passed[dtype], tried[dtype])
    return floors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="functions for the verdict table")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    counts, violations = verdict_table(args.n, rng)
    print(f"check_grad on {args.n} random functions (seed {args.seed}), default settings")
    print(
        f"{'case class':<14}{'precision':<12}{'right: pass/inconcl/fail':>26}"
        f"{'corrupted: pass/inconcl/fail':>31}"
    )
    for key in sorted(counts):
        right = "/".join(str(counts[key]["right"][v]) for v in VERDICTS)
        wrong = "/".join(str(counts[key]["wrong"][v]) for v in VERDICTS)
        print(f"{key[0]:<14}{key[1]:<12}{right:>26}{wrong:>31}")
    print(
        "violations (a right gradient failed, or a detectably wrong one passed): "
        f"{violations['quantised']} on quantised functions, "
        f"{violations['other']} on the others"
    )
    floors = detection_floor(max(args.n // 3, 50), rng)
    print("\ndetection floor: one entry off by size x max|g| (beyond f's resolution)")
    for dtype, (floor, passed, tried) in floors.items():
        detail = ", ".join(f"{s:.0e}: {passed[s]}/{tried[s]}" for s in sorted(tried))
        print(f"  {dtype}: never passed at or above {floor:.0e}  (passed/tried: {detail})")
    print(f"\n{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
