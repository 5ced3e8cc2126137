"""Estimate kill rates from a seeded random sample of the mutants not yet run.

A full mutmut run over backproof takes many hours on 2 cores, mostly in the survivors, each of
which runs every test that reaches its function. When there is not time for all of them, a
uniform random sample of the mutants still without a result gives an unbiased estimate of a
module's kill rate, with an error that depends on the sample's size, not the module's:

    python tests/mutmut_sample.py draw sample.json compare.cli compare.plots=0.2 --fraction 0.1
    mutmut run --max-children 2 $(python tests/mutmut_sample.py names sample.json)
    python tests/mutmut_sample.py estimate sample.json mutants ../other/mutants-recheck

``draw`` lists, in each module named (``module`` or ``module=fraction``), the mutants with no
result in the result folders (``--results``, default ``mutants``), draws ``fraction`` of them
(at least ``--at-least``) with a seeded ``numpy.random.Generator``, and writes both lists;
with ``--all`` it draws from every mutant of the module, to measure it afresh after new tests
(read that estimate once the run of the sample has finished: until mutmut reaches a sampled
mutant, its earlier result still stands in).
``estimate`` reads the results again. With R the mutants that had a result when the sample was
drawn, U the N that did not, and x caught among the n sampled mutants that have run since,

    caught ≈ caught(R) + N x / n,    rate = caught / (|R| + N),

and the interval is the normal one with the Agresti-Coull proportion (x + 2) / (n + 4) and the
finite-population correction 1 - n / N, summed over modules for a package (the modules are
independent strata). "Caught" is killed or timed out, as in ``mutmut_table.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mutmut_table import KILLED, TIMEOUT, results

Z95 = 1.96


@dataclass
class Stratum:
    """One module: its exact part and its sampled part."""

    module: str
    exact_caught: int  # among the mutants that had a result at the draw
    exact_ran: int
    unrun: int  # N, mutants without a result at the draw
    sample_ran: int  # n, sampled mutants with a result now
    sample_caught: int  # x

    @property
    def total(self) -> int:
        return self.exact_ran + self.unrun

    @property
    def caught(self) -> float:
        if not self.unrun:
            return float(self.exact_caught)
        return self.exact_caught + self.unrun * self.sample_caught / max(self.sample_ran, 1)

    @property
    def variance(self) -> float:
        """Variance of the estimated number caught (zero when nothing was sampled from)."""
        if not self.unrun:
            return 0.0
        n = self.sample_ran
        p = (self.sample_caught + 2) / (n + 4)
        correction = max(1 - n / self.unrun, 0.0)
        return self.unrun**2 * p * (1 - p) / (n + 4) * correction

    @property
    def complete(self) -> bool:
        return not self.unrun or self.sample_ran > 0


def caught(code) -> bool:
    return code in KILLED or code in TIMEOUT


def draw(args) -> None:
    folders = [Path(f) for f in args.results]
    codes = results(folders)
    rng = np.random.default_rng(args.seed)
    drawn = {}
    for spec in args.modules:
        module, _, fraction = spec.partition("=")
        if module not in codes:
            sys.exit(f"module {module!r} has no mutants under {', '.join(args.results)}")
        fraction = float(fraction) if fraction else args.fraction
        if not 0 < fraction <= 1:
            sys.exit(f"fraction for {module} must be in (0, 1], got {fraction}")
        unrun = sorted(n for n, code in codes[module].items() if args.all or code is None)
        size = min(len(unrun), max(args.at_least, math.ceil(fraction * len(unrun))))
        picked = rng.choice(len(unrun), size=size, replace=False) if size else []
        drawn[module] = {"unrun": unrun, "sample": sorted(unrun[i] for i in picked)}
    record = {"seed": args.seed, "results": args.results, "modules": drawn}
    Path(args.file).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    sampled = sum(len(d["sample"]) for d in drawn.values())
    unrun = sum(len(d["unrun"]) for d in drawn.values())
    which = "" if args.all else " not yet run"
    print(f"drew {sampled} of {unrun} mutants{which}, in {len(drawn)} modules")


def names(args) -> None:
    record = json.loads(Path(args.file).read_text())
    for module in record["modules"].values():
        print("\n".join(module["sample"]))


def strata(record: dict, codes: dict[str, dict]) -> list[Stratum]:
    out = []
    for module, keys in sorted(codes.items()):
        drawn = record["modules"].get(module, {"unrun": [], "sample": []})
        unrun, sample = set(drawn["unrun"]), drawn["sample"]
        exact = [c for k, c in keys.items() if k not in unrun and c is not None]
        sampled = [keys.get(k) for k in sample if keys.get(k) is not None]
        out.append(
            Stratum(
                module,
                exact_caught=sum(map(caught, exact)),
                exact_ran=len(exact),
                unrun=len(unrun),
                sample_ran=len(sampled),
                sample_caught=sum(map(caught, sampled)),
            )
        )
    return out


def line(name: str, group: list[Stratum]) -> str:
    total = sum(s.total for s in group)
    if not all(s.complete for s in group):
        return f"| {name} | {total} | {sum(s.exact_ran for s in group)} | 0 of some | - | - |"
    estimate = sum(s.caught for s in group) / total if total else float("nan")
    half = Z95 * math.sqrt(sum(s.variance for s in group)) / total if total else float("nan")
    exact = sum(s.exact_ran for s in group)
    sampled = f"{sum(s.sample_ran for s in group)} of {sum(s.unrun for s in group)}"
    interval = f"± {100 * half:.1f}" if half else "exact"
    return f"| {name} | {total} | {exact} | {sampled} | {100 * estimate:.1f}% | {interval} |"


def estimate(args) -> None:
    record = json.loads(Path(args.file).read_text())
    all_strata = [s for s in strata(record, results([Path(f) for f in args.results])) if s.total]
    print(
        "| module | mutants run or drawn from | run in full | sampled, of not run | "
        "caught (est.) | 95% interval |"
    )
    print("|---|---|---|---|---|---|")
    for s in all_strata:
        print(line(s.module, [s]))
    for package in sorted({s.module.split(".")[0] for s in all_strata}):
        group = [s for s in all_strata if s.module.split(".")[0] == package]
        print(line(f"**{package}/**", group))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    d = commands.add_parser("draw", help="draw a sample of the mutants with no result")
    d.add_argument("file")
    d.add_argument("modules", nargs="+", help="module or module=fraction")
    d.add_argument("--fraction", type=float, default=0.1)
    d.add_argument("--at-least", type=int, default=30)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--results", nargs="+", default=["mutants"])
    d.add_argument(
        "--all",
        action="store_true",
        help="draw from every mutant, run or not (to measure a module again after new tests; "
        "run the sample by name, which makes mutmut run it again)",
    )
    d.set_defaults(run=draw)
    n = commands.add_parser("names", help="print the sampled mutants' names")
    n.add_argument("file")
    n.set_defaults(run=names)
    e = commands.add_parser("estimate", help="print the estimated kill rates")
    e.add_argument("file")
    e.add_argument("results", nargs="*", default=["mutants"])
    e.set_defaults(run=estimate)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
