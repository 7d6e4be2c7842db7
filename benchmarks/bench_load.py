"""Benchmark: load + validate + evaluate a year for many customer managers, from CSV and from Parquet.

    python benchmarks/bench_load.py [--managers 100000] [--repeat 3] [--cache DIR] [--profile csv|parquet]
                                    [--only csv|parquet] [--compkit OTHER_CHECKOUT]

Writes the sample once (``compkit sample`` as CSV, and the same tables as Parquet) into ``--cache`` (kept, so
later runs reuse it) or a temporary folder. Each run is a fresh Python process that loads the dataset
(``load_dataset``: read, type, validate) and evaluates it, timing both and reporting its peak resident memory;
runs alternate CSV and Parquet. Prints the medians and the goals of issue 20 (Parquet -> results <= 5 s,
CSV -> results <= 10 s, evaluate <= 1.5 s, peak memory <= 3 GB). ``--profile`` prints cProfile's top functions of
one load instead. Speed is shown here, never asserted in tests. The machine has 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import json, resource, sys, time
t0 = time.perf_counter()
from compkit.data import load_dataset
from compkit.engine import evaluate
from compkit.policy import load_policy
policy = load_policy(sys.argv[2])
t1 = time.perf_counter()
data = load_dataset(sys.argv[1], policy=policy)
t2 = time.perf_counter()
outcomes = evaluate(policy, data)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "evaluate": t3 - t2, "results": t3 - t1,
                  "people": len(outcomes.summary),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
"""

PROFILE = """
import cProfile, pstats, sys
from compkit.data import load_dataset
from compkit.policy import load_policy
policy = load_policy(sys.argv[2])
prof = cProfile.Profile()
prof.enable()
load_dataset(sys.argv[1], policy=policy)
prof.disable()
stats = pstats.Stats(prof).sort_stats("tottime")
stats.print_stats(int(sys.argv[3]))
"""

GOALS = {"parquet": 5.0, "csv": 10.0}


#: the compkit checkout timed (``--compkit``: another one, e.g. an older commit unpacked with git archive)
CODE = [ROOT]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(CODE[0]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def make_data(managers: int, folder: Path) -> tuple[Path, Path]:
    """The sample as ``compkit sample`` writes it (CSV) and its tables as Parquet, made once per folder."""
    csv, parquet = folder / f"csv-{managers}", folder / f"parquet-{managers}"
    if not (csv / "employees.csv").exists() or not (parquet / "employees.parquet").exists():
        code = ("import sys; from pathlib import Path; from compkit.sample import make_sample\n"
                "n, csv, pq = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])\n"
                "sample = make_sample(managers=n, year=2025, seed=2025)\n"
                "sample.write(csv); pq.mkdir(parents=True, exist_ok=True)\n"
                "for name, df in sample.tables.items():\n"
                "    df.to_parquet(pq / f'{name}.parquet', index=False)\n")
        subprocess.run([sys.executable, "-c", code, str(managers), str(csv), str(parquet)], check=True, env=_env())
    return csv, parquet


def _policy() -> Path:
    """The shipped 2025 policy of the checkout timed."""
    return CODE[0] / "data" / "policies" / "2025.yaml"


def run_once(folder: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", RUN, str(folder), str(_policy())], check=True, env=_env(),
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--managers", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep the generated data in")
    ap.add_argument("--profile", choices=["csv", "parquet"], default=None)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--compkit", type=Path, default=ROOT, help="the checkout whose compkit is timed (default: this)")
    ap.add_argument("--only", choices=["csv", "parquet"], default=None, help="time one source only")
    args = ap.parse_args()
    CODE[0] = args.compkit
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.cache or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        csv, parquet = make_data(args.managers, folder)
        sources = {"csv": csv, "parquet": parquet}
        if args.profile:
            subprocess.run([sys.executable, "-c", PROFILE, str(sources[args.profile]), str(_policy()), str(args.top)],
                           check=True, env=_env())
            return
        runs: dict[str, list[dict[str, float]]] = {"parquet": [], "csv": []}
        for i in range(args.repeat):
            for kind in (("parquet", "csv") if i % 2 == 0 else ("csv", "parquet")):
                if args.only not in (None, kind):
                    continue
                runs[kind].append(run_once(sources[kind]))
                r = runs[kind][-1]
                print(f"  run {i + 1} {kind:<7}  load {r['load']:6.2f} s  evaluate {r['evaluate']:5.2f} s  "
                      f"peak {r['peak_mb']:7.0f} MB", flush=True)
    print(f"\n{args.managers:,} managers x 12 months; medians of {args.repeat} runs, each in a fresh process")
    print(f"{'source':<8} {'load':>8} {'evaluate':>9} {'results':>9} {'goal':>6} {'peak MB':>8}")
    for kind, rs in runs.items():
        if not rs:
            continue
        med = {k: statistics.median(r[k] for r in rs) for k in ("load", "evaluate", "results", "peak_mb")}
        print(f"{kind:<8} {med['load']:8.2f} {med['evaluate']:9.2f} {med['results']:9.2f} {GOALS[kind]:6.1f} "
              f"{med['peak_mb']:8.0f}")
    print("goals: evaluate <= 1.5 s, peak memory <= 3,000 MB (aim 2,000)")


if __name__ == "__main__":
    main()
