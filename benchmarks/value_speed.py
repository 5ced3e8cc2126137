"""Where a scalar ``Value`` node's time goes, beside micrograd and CPython's floor, in one process.

    python benchmarks/value_speed.py             # three runs of the comparison
    python benchmarks/value_speed.py --runs 5 --rounds 9

Each run times micrograd's MLP(2, [16, 16, 1]) on 100 points with squared error, forward and
backward with the garbage collector on (``mlp_nodes_per_second`` of ``run.py``, the benchmark of
issue 15, nodes counted as micrograd counts them), for ``Value`` and for micrograd when it is
installed; then CPython's floor (``cpython_floor``: one call that creates and keeps a slotted
object). ``Value.backward`` is split into its two steps by timing them where the engine calls
them: the walk (the nodes the output depends on, latest first) and the chain rule over them;
forward is the rest. Each phase is its fastest round, in ns per node.

Every time here is the CPU time of this process (``time.process_time``, also for the functions
of ``run.py``, whose clock is swapped for it): on a machine shared with other work, wall-clock
rounds include the time the process waited for a core. Read the ratios (Value / floor, Value /
micrograd) rather than the raw rates all the same: caches are shared too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
from run import VALUE_TARGET, cpython_floor, mlp_nodes_per_second  # noqa: E402

from backproof.autodiff import Value  # noqa: E402
from backproof.autodiff import value as engine  # noqa: E402


class PhaseTimer:
    """Wraps the engine's two backward steps so each call's time is kept (seconds per call)."""

    STEPS = {"walk": "_recorded_latest_first", "chain": "_chain"}

    def __init__(self):
        self.seconds = {phase: [] for phase in self.STEPS}
        self._originals = {}

    def __enter__(self):
        for phase, name in self.STEPS.items():
            original = self._originals[name] = getattr(engine, name)
            setattr(engine, name, self._timed(original, self.seconds[phase]))
        return self

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            setattr(engine, name, original)
        return False

    @staticmethod
    def _timed(step, kept: list):
        def timed(*args):
            t0 = time.process_time()
            result = step(*args)
            kept.append(time.process_time() - t0)
            return result

        return timed


class _CpuClock:
    """``run.py``'s view of the time module, with CPU time for its clock."""

    perf_counter = staticmethod(time.process_time)


run.time = _CpuClock


def one_run(rounds: int) -> dict:
    """Nodes per second of Value (and micrograd), the floor, and Value's phases in ns per node."""
    with PhaseTimer() as timer:
        nodes, rate = mlp_nodes_per_second(Value, rounds=rounds)
    walk, chain = (min(timer.seconds[p]) * 1e9 / nodes for p in ("walk", "chain"))
    total = 1e9 / rate
    row = {
        "value": rate,
        "nodes": nodes,
        "ns": {"forward": total - walk - chain, "walk": walk, "chain": chain, "total": total},
        "floor_ns": cpython_floor() * 1e9,
    }
    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        row["micrograd"] = None
    else:
        row["micrograd"] = mlp_nodes_per_second(MicroValue, rounds=2)[1]
    return row


def report(row: dict) -> str:
    ns, floor = row["ns"], row["floor_ns"]
    micro = row["micrograd"]
    versus = f"micrograd {micro:>9,.0f}/s ({row['value'] / micro:4.1f}x)" if micro else ""
    return (
        f"Value {row['value']:>11,.0f} nodes/s ({row['value'] / VALUE_TARGET:.2f} of target)  "
        f"{versus}  floor {floor:4.0f} ns (Value = {ns['total'] / floor:.2f} floors)\n"
        f"    ns per node: forward {ns['forward']:5.0f}  walk {ns['walk']:5.0f}  "
        f"chain {ns['chain']:5.0f}  total {ns['total']:5.0f}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="comparisons in a row (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per run (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.rounds < 1:
        parser.error(f"--runs and --rounds must be at least 1, got {args.runs}, {args.rounds}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"python {sys.version.split()[0]}, load average {load} on {os.cpu_count()} cores")
    for _ in range(args.runs):
        print(report(one_run(args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
