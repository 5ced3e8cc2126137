"""Run mutmut's survivors again against the tests added since their run, and record the kills.

    python tests/mutmut_recheck.py [--jobs 2] [mutants]
    python tests/mutmut_recheck.py --tests tests/test_new.py --only compare.numerical
    python tests/mutmut_table.py mutants mutants-recheck

A survivor of a finished ``mutmut run`` was run against every test that reached its function
then, so after new tests are written only those can change its verdict. ``mutmut run <name>``
would run it against all of them again, minutes for each survivor of ``check_grad``; this runs
it against the new tests that reach its function (mutmut's statistics run has mapped them once
``mutmut run`` has seen them: run it once, for any one mutant, after adding tests).

Each survivor runs in a pytest process of its own, in ``mutants/``, with
``MUTANT_UNDER_TEST`` set and ``tests/mutmut_plugin.py`` loaded, so the mutated copy is
imported with the mutant switched on. The kills are written as mutmut writes its results,
under ``mutants-recheck/`` beside ``mutants/``, for ``tests/mutmut_table.py`` to merge (a
later recheck adds to what an earlier one wrote).

``--tests`` runs the survivors against the given test files instead (paths inside
``mutants/``: copy a test file there first), for tests written while ``mutmut run`` was still
busy in that folder, which it has not mapped; ``--only`` keeps the survivors whose names start
with one of the given prefixes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SURVIVED, KILLED = 0, 1


def survivors(root: Path) -> dict[str, list[str]]:
    """{meta file relative to root: [names of its surviving mutants]}."""
    found = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        names = [name for name, code in codes.items() if code == SURVIVED]
        if names:
            found[meta.relative_to(root).as_posix()] = names
    return found


def new_tests_by_function(root: Path, before: set[str]) -> dict[str, list[str]]:
    stats = json.loads((root / "mutmut-stats.json").read_text())
    seconds = stats["duration_by_test"]
    return {
        function: sorted((t for t in tests if t not in before), key=lambda t: seconds.get(t, 0))
        for function, tests in stats["tests_by_mangled_function_name"].items()
    }


def mapped_tests(root: Path, out: Path, before_file: Path | None):
    """The new tests mutmut's statistics run mapped to each function."""
    before_file = before_file or out / "stats-before.json"
    if not before_file.is_file():
        sys.exit(f"--before: expected the statistics of the earlier run, {before_file} is missing")
    before = set(json.loads(before_file.read_text())["duration_by_test"])
    tests = new_tests_by_function(root, before)
    return lambda function: tests.get(function, [])


def given_tests(root: Path, files: list[str]):
    """The same test files for every function."""
    for name in files:
        if not (root / name).is_file():
            sys.exit(f"--tests: expected test files inside {root}, {name} is not there")
    return lambda function: list(files)


def killed(root: Path, mutant: str, tests: list[str]) -> bool:
    env = dict(os.environ, MUTANT_UNDER_TEST=mutant)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "tests.mutmut_plugin", *tests]
    run = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    return run.returncode == KILLED


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mutants", nargs="?", default="mutants", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--tests", nargs="+", help="test files to run instead of the new tests")
    parser.add_argument("--only", nargs="+", default=[""], help="survivors' name prefixes")
    parser.add_argument(
        "--before",
        type=Path,
        help="a mutmut-stats.json from the run that left the survivors (its tests are not new); "
        "default: mutants-recheck/stats-before.json, saved by the first recheck",
    )
    args = parser.parse_args()
    root, out = args.mutants.resolve(), args.mutants.resolve().with_name("mutants-recheck")
    tests_of = given_tests(root, args.tests) if args.tests else mapped_tests(root, out, args.before)

    work = []
    for meta, names in survivors(root).items():
        done = out / meta
        killed_before = json.loads(done.read_text())["exit_code_by_key"] if done.is_file() else {}
        for name in names:
            if not name.startswith(tuple(args.only)) or killed_before.get(name) == KILLED:
                continue
            tests = tests_of(name.rpartition("__mutmut_")[0])
            if tests:
                work.append((meta, name, tests))
    print(f"{len(work)} survivors reached by new tests", file=sys.stderr)
    kills = 0
    with ThreadPoolExecutor(args.jobs) as pool:
        for (meta, name, _), dead in zip(work, pool.map(lambda w: killed(root, *w[1:]), work)):
            record(out / meta, name, KILLED if dead else SURVIVED)
            kills += dead
    print(f"{kills} of {len(work)} killed; results in {out}/", file=sys.stderr)


def record(target: Path, name: str, code: int) -> None:
    """Write one verdict at once, so that a recheck stopped half-way keeps what it found; a kill
    recorded by an earlier recheck stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    codes = json.loads(target.read_text())["exit_code_by_key"] if target.is_file() else {}
    if codes.get(name) != KILLED:
        codes[name] = code
    target.write_text(json.dumps({"exit_code_by_key": codes}, indent=1))


if __name__ == "__main__":
    main()
