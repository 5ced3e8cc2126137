"""Print the kill rate of the last mutmut run, per module and per package, as a Markdown table.

    mutmut run --max-children 2 && python tests/mutmut_table.py

It reads mutmut's result files (``mutants/**/*.py.meta``). A mutant counts as killed when a test
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
COLUMNS = ("mutants", "killed", "timeout", "survived", "no tests", "other")


def tally(meta_file: Path) -> Counter:
    counts = Counter()
    for code in json.loads(meta_file.read_text())["exit_code_by_key"].values():
        counts["mutants"] += 1
        if code in KILLED:
            counts["killed"] += 1
        elif code in TIMEOUT:
            counts["timeout"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        elif code in NO_TESTS:
            counts["no tests"] += 1
        else:  # not checked, suspicious, segfault, ...
            counts["other"] += 1
    return counts


def row(name: str, counts: Counter) -> str:
    caught = counts["killed"] + counts["timeout"]
    rate = f"{100 * caught / counts['mutants']:.1f}%" if counts["mutants"] else "-"
    return f"| {name} | " + " | ".join(str(counts[c]) for c in COLUMNS) + f" | {rate} |"


def main(mutants_dir: str = "mutants") -> None:
    root = Path(mutants_dir)
    by_module, by_package, total = {}, {}, Counter()
    for meta in sorted(root.rglob("*.py.meta")):
        module = meta.relative_to(root).as_posix().removesuffix(".py.meta").replace("/", ".")
        counts = tally(meta)
        if not counts["mutants"]:
            continue
        by_module[module] = counts
        by_package.setdefault(module.split(".")[0], Counter()).update(counts)
        total.update(counts)
    if not by_module:
        sys.exit(f"no mutmut results under {root}/: run `mutmut run` first")
    print("| module | " + " | ".join(COLUMNS) + " | killed % |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for module, counts in by_module.items():
        print(row(module, counts))
    for package, counts in by_package.items():
        print(row(f"**{package}/**", counts))
    print(row("**all**", total))


if __name__ == "__main__":
    main(*sys.argv[1:])
