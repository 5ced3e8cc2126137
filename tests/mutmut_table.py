"""Print the kill rate of the last mutmut run, per module and per package, as a Markdown table.

    mutmut run --max-children 2 && python tests/mutmut_table.py
    python tests/mutmut_table.py ../run1/mutants ../run2/mutants   # several runs, merged

It reads mutmut's result files (``mutants/**/*.py.meta``). Given several result folders (runs
of the same code in different checkouts), each mutant counts with its best result: killed in
any of them, else survived in any, else what is left. A mutant counts as killed when a test
failed on it or when it made the tests run past mutmut's time limit (a mutant that turns a loop
infinite is caught, just not by an assertion); "no tests" are mutants of code no test calls.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut.stats.status_by_exit_code), in the columns printed
KILLED = {1, 3}
TIMEOUT = {36, -24, 24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
COLUMNS = ("mutants", "killed", "timeout", "survived", "no tests", "not run", "other")


def best(codes: list) -> object:
    """The most informative of one mutant's exit codes from several runs."""
    for group in (KILLED, TIMEOUT, SURVIVED, NO_TESTS):
        for code in codes:
            if code in group:
                return code
    return codes[0]


def tally(codes) -> Counter:
    counts = Counter()
    for code in codes:
        counts["mutants"] += 1
        if code in KILLED:
            counts["killed"] += 1
        elif code in TIMEOUT:
            counts["timeout"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        elif code in NO_TESTS:
            counts["no tests"] += 1
        elif code is None:
            counts["not run"] += 1
        else:  # suspicious, segfault, ...
            counts["other"] += 1
    return counts


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def row(name: str, counts: Counter) -> str:
    caught = counts["killed"] + counts["timeout"]
    ran = counts["mutants"] - counts["not run"]
    rates = f"{percent(caught, counts['mutants'])} | {percent(caught, ran)}"
    return f"| {name} | " + " | ".join(str(counts[c]) for c in COLUMNS) + f" | {rates} |"


def results(folders: list[Path]) -> dict[str, dict[str, object]]:
    """{module: {mutant: exit code}}, merged over the result folders."""
    codes: dict[str, dict[str, list]] = {}
    for root in folders:
        for meta in sorted(root.rglob("*.py.meta")):
            module = meta.relative_to(root).as_posix().removesuffix(".py.meta").replace("/", ".")
            by_key = json.loads(meta.read_text())["exit_code_by_key"]
            for key, code in by_key.items():
                codes.setdefault(module, {}).setdefault(key, []).append(code)
    return {module: {k: best(c) for k, c in keys.items()} for module, keys in codes.items()}


def main(*folders: str) -> None:
    roots = [Path(f) for f in folders or ("mutants",)]
    by_module, by_package, total = {}, {}, Counter()
    for module, codes in sorted(results(roots).items()):
        counts = tally(codes.values())
        if not counts["mutants"]:
            continue
        by_module[module] = counts
        by_package.setdefault(module.split(".")[0], Counter()).update(counts)
        total.update(counts)
    if not by_module:
        sys.exit(f"no mutmut results under {', '.join(map(str, roots))}: run `mutmut run` first")
    print("| module | " + " | ".join(COLUMNS) + " | killed % | killed % of those run |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for module, counts in by_module.items():
        print(row(module, counts))
    for package, counts in by_package.items():
        print(row(f"**{package}/**", counts))
    print(row("**all**", total))


if __name__ == "__main__":
    main(*sys.argv[1:])
