"""One import name: backproof stays out of a user's own modules and pytest runs."""

import importlib
import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

import backproof

SUBPACKAGES = ("network", "manual", "autodiff", "compare")


def test_the_distribution_installs_one_top_level_name():
    top_level = importlib.metadata.distribution("backproof").read_text("top_level.txt")
    assert top_level.split() == ["backproof"]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_a_folder_is_importable_only_under_backproof(name, tmp_path, monkeypatch):
    assert importlib.import_module(f"backproof.{name}").__name__ == f"backproof.{name}"
    # Even with the repository's root on sys.path, the bare name is refused, not a second copy.
    root = str(importlib.import_module(f"backproof.{name}").__path__[0]).rsplit("/", 1)[0]
    monkeypatch.syspath_prepend(root)
    monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ImportError, match=f"import backproof.{name}, not {name}"):
        importlib.import_module(name)
    assert name not in sys.modules


def test_the_everyday_api_is_reexported_lazily():
    from backproof.autodiff import Tensor, Value
    from backproof.compare import check_grad, compare_network
    from backproof.network import NetworkSpec

    assert backproof.check_grad is check_grad
    assert backproof.compare_network is compare_network
    assert backproof.NetworkSpec is NetworkSpec
    assert (backproof.Value, backproof.Tensor) == (Value, Tensor)
    assert set(backproof.__all__) <= set(dir(backproof))
    for name in backproof.__all__:
        getattr(backproof, name)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        backproof.nope  # noqa: B018


def run_python(code, cwd):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_backproof_imports_no_numpy(tmp_path):
    proc = run_python(
        """
        import sys, backproof
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'matplotlib')))
        print(sorted(m for m in sys.modules if m.startswith('backproof.')))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["[]", "[]"]


USER_PROJECT = {
    # A from-scratch tutorial's files, named as such tutorials name them.
    "network.py": """
        class Network:
            def __init__(self, sizes):
                self.sizes = sizes
        """,
    "compare.py": "def compare(a, b):\n    return a == b\n",
    "manual.py": "PAGES = 3\n",
    "autodiff.py": "def derivative(f, x, h=1e-6):\n    return (f(x + h) - f(x - h)) / (2 * h)\n",
    "tests/test_own.py": """
        import sys

        import autodiff
        import compare
        import manual
        import network


        def test_the_users_own_modules_are_imported():
            assert network.Network([2, 3]).sizes == [2, 3]
            assert compare.compare(1, 1) and manual.PAGES == 3
            assert abs(autodiff.derivative(lambda x: x * x, 3.0) - 6.0) < 1e-6


        def test_backproof_imported_nothing_at_startup():
            assert "numpy" not in sys.modules
            loaded = [m for m in sys.modules if m.startswith("backproof.")]
            assert set(loaded) <= {"backproof.pytest_plugin"}  # the fixture's registration only
        """,
}


def make_user_project(path):
    for name, text in USER_PROJECT.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(textwrap.dedent(text))


def run_pytest(cwd, *args):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_users_suite_runs_as_without_backproof(tmp_path):
    make_user_project(tmp_path)
    with_plugin = run_pytest(tmp_path)
    without_plugin = run_pytest(tmp_path, "-p", "no:backproof")
    assert with_plugin.returncode == 0, with_plugin.stdout + with_plugin.stderr
    assert "2 passed" in with_plugin.stdout
    assert without_plugin.returncode == 0, without_plugin.stdout
    collected = [run_pytest(tmp_path, "--collect-only").stdout.splitlines()[:2]]
    collected.append(run_pytest(tmp_path, "--collect-only", "-p", "no:backproof").stdout)
    assert collected[0] == collected[1].splitlines()[:2]


def test_the_fixture_works_beside_a_users_own_network_py(tmp_path):
    make_user_project(tmp_path)
    (tmp_path / "tests" / "test_grad.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            import pytest

            from backproof import check_grad


            def test_right(grad_check):
                grad_check(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.array([1.0, 2.0]))


            def test_wrong_is_caught(grad_check):
                with pytest.raises(AssertionError):
                    grad_check(lambda x: np.sum(x**3), lambda x: 2 * x**2, np.array([1.0, 2.0]))


            def test_import_by_the_one_name():
                assert not check_grad(lambda x: np.sum(x**2), lambda x: x, np.array([1.0, 3.0]))
            """
        )
    )
    proc = run_pytest(tmp_path, "tests/test_grad.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
