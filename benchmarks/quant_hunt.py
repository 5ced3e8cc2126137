"""A seeded random search for wrong verdicts on quantised functions (issue 9's last limit).

    python benchmarks/quant_hunt.py N SEED

draws N functions from the soundness grammar (tests/test_soundness.py), each quantised to a
grid 1e-9..1e-4 of its scale, checks its right gradient and one random corruption of it, and
prints every wrong verdict (a right gradient read "fail", a detectably wrong one read "pass")
as the recipe that rebuilds it, then the counts. The same N and SEED draw the same functions.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE)]

from soundness import draw_recipe  # noqa: E402
from test_soundness import CORRUPTIONS, build_case, check, corrupt, detectably_wrong  # noqa: E402

QUANTA = [1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4]


def main(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    right_fail = wrong_pass = inconclusive = 0
    t0 = time.perf_counter()
    for _ in range(n):
        recipe = replace(draw_recipe(rng), quantum=float(rng.choice(QUANTA)))
        case = build_case(recipe)
        right = check(case, case.grad)
        if right.verdict == "fail":
            right_fail += 1
            print("RIGHT FAIL", recipe, right.noise, flush=True)
        inconclusive += right.verdict == "inconclusive"
        how = str(rng.choice(CORRUPTIONS))
        g = corrupt(case, how, 10 ** rng.uniform(-4, -1), rng)
        if detectably_wrong(case, g) and check(case, g).verdict == "pass":
            wrong_pass += 1
            print("WRONG PASS", how, recipe, flush=True)
    print(
        f"n={n} seed={seed} right-fail={right_fail} wrong-pass={wrong_pass} "
        f"right-inconclusive={inconclusive} {time.perf_counter() - t0:.1f}s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
