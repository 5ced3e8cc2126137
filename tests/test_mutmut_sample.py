"""The mutation-sampling estimator: what it draws, and that its interval means what it says."""

import json

import numpy as np
import pytest
from mutmut_sample import Stratum, main


def write_results(root, codes_by_module):
    """Lay out mutmut result files (``<module path>.py.meta``) under ``root``."""
    for module, codes in codes_by_module.items():
        meta = root.joinpath(*module.split(".")).with_suffix(".py.meta")
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes}))


def names(prefix, count):
    return [f"{prefix}__mutmut_{i}" for i in range(1, count + 1)]


@pytest.fixture
def results(tmp_path):
    """pkg.a: 10 run (8 killed, 2 survived) and 40 not run; pkg.b: 20 not run."""
    a = names("pkg.a.x_f", 50)
    codes_a = {n: (1 if i < 8 else 0) if i < 10 else None for i, n in enumerate(a)}
    codes_b = dict.fromkeys(names("pkg.b.x_g", 20))
    write_results(tmp_path / "mutants", {"pkg.a": codes_a, "pkg.b": codes_b})
    return tmp_path


def drawn(tmp_path, *args):
    main(["draw", str(tmp_path / "s.json"), *args, "--results", str(tmp_path / "mutants")])
    return json.loads((tmp_path / "s.json").read_text())["modules"]


def test_the_draw_takes_the_fraction_of_the_mutants_not_run_and_no_others(results):
    modules = drawn(results, "pkg.a", "pkg.b=0.5", "--fraction", "0.25", "--at-least", "3")
    assert len(modules["pkg.a"]["unrun"]) == 40
    assert len(modules["pkg.a"]["sample"]) == 10  # a quarter of 40
    assert len(modules["pkg.b"]["sample"]) == 10  # half of 20
    assert set(modules["pkg.a"]["sample"]) <= set(modules["pkg.a"]["unrun"])
    assert not set(modules["pkg.a"]["unrun"]) & set(names("pkg.a.x_f", 10))


def test_at_least_wins_over_a_small_fraction_and_the_seed_decides(results):
    first = drawn(results, "pkg.b", "--fraction", "0.01", "--at-least", "5", "--seed", "3")
    again = drawn(results, "pkg.b", "--fraction", "0.01", "--at-least", "5", "--seed", "3")
    other = drawn(results, "pkg.b", "--fraction", "0.01", "--at-least", "5", "--seed", "4")
    assert len(first["pkg.b"]["sample"]) == 5
    assert first == again
    assert first != other


def test_all_draws_from_every_mutant_and_the_estimate_then_ignores_older_results(results, capsys):
    modules = drawn(results, "pkg.a", "--all", "--fraction", "0.2", "--at-least", "1")
    assert len(modules["pkg.a"]["unrun"]) == 50
    assert len(modules["pkg.a"]["sample"]) == 10
    codes = dict.fromkeys(names("pkg.a.x_f", 50), 0)  # all survived before the new tests
    codes.update(dict.fromkeys(modules["pkg.a"]["sample"], 1))  # the sample, run again
    write_results(results / "mutants", {"pkg.a": codes})
    capsys.readouterr()
    main(["estimate", str(results / "s.json"), str(results / "mutants")])
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("| pkg.a |"))
    assert "| 50 | 0 | 10 of 50 | 100.0% |" in row


def test_a_bad_fraction_or_module_is_refused(results):
    with pytest.raises(SystemExit, match="fraction for pkg.a"):
        drawn(results, "pkg.a=1.5")
    with pytest.raises(SystemExit, match="'pkg.zz'"):
        drawn(results, "pkg.zz")


def test_the_estimate_adds_the_exact_part_and_the_scaled_sample(results, capsys):
    modules = drawn(results, "pkg.a", "--fraction", "0.25", "--at-least", "1")
    sample = modules["pkg.a"]["sample"]
    codes = dict.fromkeys(names("pkg.a.x_f", 50))
    codes.update({n: (1 if i < 8 else 0) for i, n in enumerate(names("pkg.a.x_f", 10))})
    codes.update({n: (1 if i < 5 else 0) for i, n in enumerate(sample)})  # 5 of 10 caught
    write_results(results / "mutants", {"pkg.a": codes})
    capsys.readouterr()
    main(["estimate", str(results / "s.json"), str(results / "mutants")])
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("| pkg.a |"))
    # 8 caught of 10 run in full, plus 40 * 5/10 estimated: 28 of 50
    assert "| 50 | 10 | 10 of 40 | 56.0% |" in row
    assert "exact" not in row


def test_a_module_with_no_sampled_result_has_no_estimate(results, capsys):
    drawn(results, "pkg.b")
    capsys.readouterr()
    main(["estimate", str(results / "s.json"), str(results / "mutants")])
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("| pkg.b |"))
    assert row.endswith("| - | - |")


def test_the_interval_covers_the_true_rate_about_95_times_in_100():
    rng = np.random.default_rng(0)
    population = np.zeros(1000, bool)
    population[:880] = True  # 88% caught
    covered = 0
    for _ in range(400):
        seen = rng.choice(population, size=80, replace=False)
        stratum = Stratum("m", 0, 0, unrun=1000, sample_ran=80, sample_caught=int(seen.sum()))
        half = 1.96 * np.sqrt(stratum.variance)
        covered += abs(stratum.caught - 880) <= half
    assert 0.92 <= covered / 400 <= 0.99
    exact = Stratum("m", exact_caught=9, exact_ran=10, unrun=0, sample_ran=0, sample_caught=0)
    assert exact.variance == 0 and exact.caught == 9
