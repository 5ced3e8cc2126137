"""A pytest plugin that makes mutmut's test runs import the mutated copy of backproof.

mutmut loads it (``-p tests.mutmut_plugin`` in ``[tool.mutmut]`` of pyproject.toml); an ordinary
``pytest`` run never does. Two things stand between mutmut 3 and this repository's layout:

1. Where the tests import from. mutmut copies ``manual/``, ``autodiff/`` and ``compare/`` into
   ``mutants/`` and puts ``mutants/`` first on ``sys.path``, expecting the tests to import those
   folders by their own names. The tests import ``backproof.manual`` etc., and ``backproof`` is
   the repository root (an editable install maps it there), so they would import the original
   files and every mutant would survive. The plugin puts ``mutants/`` first in
   ``backproof.__path__``: subpackages mutmut copied load from there, the rest (``network``)
   from the repository.

2. What the mutants are called. mutmut names a mutant after its file's path (``manual.article``)
   but recognises it at run time by the module of the mutated function
   (``backproof.manual.article``). The plugin translates between the two in mutmut's trampoline:
   it adds ``backproof.`` to the name of the mutant under test, and strips it from the function
   names recorded while mutmut maps which tests call which function.

3. Code that runs while backproof is imported (the factories that build the primitives and the
   operators). mutmut forks each mutant's run from a process that has imported backproof
   already, so a mutant of such a function would never run, and its statistics run credits
   such a function to the first test collected only. The plugin finds these functions once per
   mutmut run (a collection in a subprocess, recording what is called outside any test),
   credits them to every test, and for a mutant of one of them makes the run import backproof
   and the tests afresh with the mutant switched on.

All three steps fail loudly rather than let the run test the unmutated code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import mutmut.mutation.trampoline as trampoline
import pytest

import backproof

PREFIX = "backproof."
MUTANTS = Path(__file__).resolve().parent.parent  # mutants/ (this file is mutants/tests/...)
MUTATED = ("manual", "autodiff", "compare")


def _import_backproof_from_mutants() -> None:
    if MUTANTS.name != "mutants":
        raise RuntimeError(f"tests/mutmut_plugin.py is for mutmut runs only (found in {MUTANTS})")
    missing = [name for name in MUTATED if not (MUTANTS / name / "__init__.py").is_file()]
    if missing:
        raise RuntimeError(f"mutmut did not copy {missing} into {MUTANTS}")
    if str(MUTANTS) in backproof.__path__:
        return  # a later pytest session in the same process
    early = [f"{PREFIX}{name}" for name in MUTATED if f"{PREFIX}{name}" in sys.modules]
    if early:
        raise RuntimeError(f"{early} were imported before the mutated copy could be put first")
    backproof.__path__.insert(0, str(MUTANTS))


def _translate_mutant_names() -> None:
    if getattr(trampoline, "_backproof_names", False):
        return
    path_name_of_mutant = trampoline.get_mutant_under_test
    record_hit = trampoline.record_trampoline_hit

    def mutant_under_test() -> str:
        name = path_name_of_mutant()
        return PREFIX + name if "__mutmut_" in name else name  # not "", "stats" or "fail"

    def record_trampoline_hit(name: str, caller: str | None = None) -> None:
        if FINDING_IMPORT_TIME:
            if not _running_a_test:
                _called_outside_tests.add(name.removeprefix(PREFIX))
            return
        record_hit(name.removeprefix(PREFIX), caller and caller.removeprefix(PREFIX))

    def record_import_time_hits() -> None:
        for name in IMPORT_TIME_FUNCTIONS:
            record_hit(name)

    trampoline.record_import_time_hits = record_import_time_hits

    trampoline.get_mutant_under_test = mutant_under_test
    trampoline.record_trampoline_hit = record_trampoline_hit
    trampoline._backproof_names = True


# Functions called while backproof and the tests are imported, found by a collection run in a
# subprocess with the trampolines recording every call (MUTANT_UNDER_TEST=stats).
IMPORT_TIME = MUTANTS / "backproof-import-time.json"
FINDING_IMPORT_TIME = os.environ.get("BACKPROOF_MUTMUT_IMPORT_TIME") == "find"
_called_outside_tests: set[str] = set()
_running_a_test = False
_collection_failed = False


def _import_time_functions() -> set[str]:
    """The functions that run at import, found afresh when the mutated copy is newer."""
    newest = max(p.stat().st_mtime for name in MUTATED for p in (MUTANTS / name).rglob("*.py"))
    if not IMPORT_TIME.is_file() or IMPORT_TIME.stat().st_mtime < newest:
        env = dict(os.environ, MUTANT_UNDER_TEST="stats", BACKPROOF_MUTMUT_IMPORT_TIME="find")
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "tests.mutmut_plugin", "tests"]
        found = subprocess.run(command, cwd=MUTANTS, env=env, capture_output=True, text=True)
        if found.returncode != 0 or not IMPORT_TIME.is_file():
            raise RuntimeError(f"could not list the functions run at import:\n{found.stdout}")
    return set(json.loads(IMPORT_TIME.read_text()))


def pytest_runtest_logstart(nodeid, location) -> None:
    """In mutmut's statistics run, count every test as a caller of the functions run at import:
    what they build (the primitives, the operators) is what every test uses. mutmut then runs
    all the tests on their mutants, with a time limit to match."""
    global _running_a_test
    _running_a_test = True
    if trampoline.get_mutant_under_test() == "stats" and not FINDING_IMPORT_TIME:
        trampoline.record_import_time_hits()


def pytest_runtest_logfinish(nodeid, location) -> None:
    global _running_a_test
    _running_a_test = False


def pytest_ignore_collect(collection_path, config) -> bool | None:
    """Leave out scratch tests (``tests/test_zz_*.py``) unless they are named on the command line.

    Copied into ``mutants/tests/`` to check that a new test kills a mutant while ``mutmut run``
    is busy in that folder, they would otherwise join mutmut's next statistics run (pytest asks
    this hook only about files it finds, not about the paths it was given)."""
    return True if collection_path.name.startswith("test_zz_") else None


def pytest_collectreport(report) -> None:
    global _collection_failed
    _collection_failed = _collection_failed or report.failed


def pytest_sessionfinish(session) -> None:
    """Write the functions found to run at import; and report a mutant that stops the tests
    from being imported as a failure (killed), which pytest calls an interruption (exit 2) and
    mutmut would then count as stopped by the user."""
    if FINDING_IMPORT_TIME:
        IMPORT_TIME.write_text(json.dumps(sorted(_called_outside_tests), indent=0))
    elif _collection_failed and "__mutmut_" in trampoline.get_mutant_under_test():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _forget_backproof() -> None:
    """Drop backproof's subpackages and the test modules from the import cache, so that this
    run imports them again with the mutant switched on."""
    tests = MUTANTS / "tests"
    for name, module in list(sys.modules.items()):
        path = Path(getattr(module, "__file__", None) or "/").resolve()
        ours = name.startswith(PREFIX) and name != f"{PREFIX}pytest_plugin"
        if ours or (tests in path.parents and name != __name__):
            del sys.modules[name]
    for name in [*backproof.SUBPACKAGES, *backproof.EXPORTS]:
        vars(backproof).pop(name, None)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    mutant = trampoline.get_mutant_under_test()
    if "__mutmut_" in mutant:
        function = mutant.removeprefix(PREFIX).rpartition("__mutmut_")[0]
        if function in IMPORT_TIME_FUNCTIONS:
            _forget_backproof()


# A discovery pass: `BACKPROOF_MUTMUT_QUICK=1 mutmut run ...` runs each mutant against only
# the tests that reach it and are cheap (the contract files, the soundness tests but its long
# hypothesis run, any test that took at most QUICK_SECONDS in the statistics run, and when none
# of a mutant's tests is cheap, its cheapest). A survivor then costs seconds instead of the
# minutes the whole suite takes. A mutant killed in this pass is killed by the suite; a survivor
# is only a candidate: run it again without the variable (`mutmut run <name>`) for the suite's
# verdict.
QUICK = os.environ.get("BACKPROOF_MUTMUT_QUICK", "") not in ("", "0")
QUICK_FILES = re.compile(r"tests/test_\w+_contract\.py|tests/test_soundness\.py")
QUICK_LEFT_OUT = ("test_right_never_fails_and_wrong_never_passes",)
QUICK_SECONDS = 0.25


def _in_quick_pass(item, seconds: dict) -> bool:
    path, _, name = item.nodeid.partition("::")
    if seconds.get(item.nodeid, 0.0) <= QUICK_SECONDS:
        return True
    return bool(QUICK_FILES.fullmatch(path)) and not name.startswith(QUICK_LEFT_OUT)


def pytest_collection_modifyitems(config, items) -> None:
    """Run the fastest tests first: mutmut stops at the first failure (``-x``), so a mutant a
    quick test kills no longer waits for the slow ones (the order cannot change a verdict). In
    the quick pass, leave out the tests it does not run (only while a mutant is switched on:
    the statistics and clean runs still see every test)."""
    stats = MUTANTS / "mutmut-stats.json"
    if not stats.is_file():  # the first statistics run, which records the durations
        return
    seconds = json.loads(stats.read_text())["duration_by_test"]
    items.sort(key=lambda item: seconds.get(item.nodeid, 0.0))
    if QUICK and "__mutmut_" in trampoline.get_mutant_under_test():
        # With no cheap test left, pytest would find none and mutmut would call the mutant
        # untested: keep its cheapest test instead.
        kept = [item for item in items if _in_quick_pass(item, seconds)] or items[:1]
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


_import_backproof_from_mutants()
_translate_mutant_names()
IMPORT_TIME_FUNCTIONS = set() if FINDING_IMPORT_TIME else _import_time_functions()
