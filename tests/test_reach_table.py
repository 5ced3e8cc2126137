"""The catalog of benchmarks/reach_table.py: each right derivative never fails, each corrupted
one never passes — the same claim the printed table makes."""

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "reach_table.py"
SPEC = importlib.util.spec_from_file_location("reach_table", PATH)
reach_table = importlib.util.module_from_spec(SPEC)
sys.modules["reach_table"] = reach_table  # dataclasses look their module up there
SPEC.loader.exec_module(reach_table)
CASES = reach_table.catalog()


def test_the_catalog_covers_what_the_issue_asks():
    assert len(CASES) >= 30
    kinds = {c.kind for c in CASES}
    assert {"jacobian", "vjp", "jvp", "grad", "hvp", "hessian"} <= kinds
    assert any(isinstance(c.options.get("argnums"), tuple) for c in CASES)  # several arguments
    assert any(isinstance(c.args[0], (list, dict)) for c in CASES)  # nested parameters


# ASCII ids: pytest escapes other characters (x\xb3), and a second pytest session in one process
# (mutmut's clean run after its statistics run) no longer finds tests by escaped ids
IDS = [f"{c.kind}:{c.name}".encode("ascii", "replace").decode() for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_right_never_fails_and_corrupted_never_passes(case):
    right = reach_table.verdict(reach_table.run(case, "right"))
    corrupted = reach_table.verdict(reach_table.run(case, "corrupted"))
    assert right != "fail", f"{case.name}: the right derivative failed"
    assert corrupted != "pass", f"{case.name}: the corrupted derivative ({case.mistake}) passed"
    assert right == "pass" and corrupted == "fail"  # and on this catalog, decisively
