"""Where the time of ``compkit statements`` goes, stage by stage, in one process (no workers).

    python benchmarks/profile_statements.py --data /work/bench100k/csv-10000 [--policy data/policies/2025.yaml]
        [--pages N] [--profile STAGE[,STAGE]] [--top 8]

Runs what :func:`compkit.feedback.write_statements` runs, one stage after the other in this process: ``load``
(load_dataset), ``evaluate``, ``contents`` (statement_inputs and statement_contents, the evaluation let go as the
contents are made), ``pages`` (StatementPages: the sections put in people's order), ``render`` (the first
``--pages`` people's pages rendered and written to a temporary folder, as one worker does; default: everyone) and
``workbook`` (write_workbook_streamed). Printed per stage: wall and CPU seconds (resource.getrusage), ru_maxrss at
its end and the resident anonymous memory; with ``--profile``, that stage's cProfile top entries in CPU seconds of
this process (by internal time and by cumulative time). The load average is printed beside. Figures, never assertions.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import rss_anon_mb  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-statements-pseudonym-key-not-a-secret-0123456789"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--policy", type=Path, default=ROOT / "data" / "policies" / "2025.yaml")
    p.add_argument("--pages", type=int, default=None, help="render this many people's pages (default: all)")
    p.add_argument("--profile", default="", help="stages to profile with cProfile, comma-separated")
    p.add_argument("--top", type=int, default=8)
    args = p.parse_args()
    os.environ.setdefault("COMPKIT_PSEUDONYM_KEY", KEY)

    from compkit import feedback
    from compkit._memory import release_freed_memory
    from compkit.data import load_dataset
    from compkit.engine import evaluate
    from compkit.excel import write_workbook_streamed
    from compkit.policy import load_policy

    profiled = {s.strip() for s in args.profile.split(",") if s.strip()}
    policy = load_policy(args.policy)
    state: dict = {}
    work = Path(tempfile.mkdtemp(prefix="profile-statements-"))
    rows = []

    def stage(name: str, fn) -> None:
        prof = cProfile.Profile(time.process_time) if name in profiled else None  # CPU seconds: the machine is shared
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if prof:
            prof.enable()
        fn()
        if prof:
            prof.disable()
        r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        rows.append((name, t1 - t0, cpu, r1.ru_maxrss / 1024, rss_anon_mb()))
        print(f"{name:9s} wall {t1 - t0:7.2f} s  CPU {cpu:7.2f} s  ru_maxrss {r1.ru_maxrss / 1024:6.0f} MB  "
              f"anon now {rss_anon_mb():6.0f} MB  load {os.getloadavg()[0]:.2f}", flush=True)
        if prof:
            for key in ("tottime", "cumulative"):
                s = io.StringIO()
                pstats.Stats(prof, stream=s).sort_stats(key).print_stats(args.top)
                print(f"--- {name}: top {args.top} by {key}")
                print("\n".join(line for line in s.getvalue().splitlines()
                                if line.strip() and not line.startswith(("   Ordered", "   List"))))

    def load() -> None:
        state["data"] = load_dataset(args.data, policy=policy)

    def run_evaluate() -> None:
        state["outcomes"] = evaluate(policy, state["data"])

    def contents() -> None:
        data = feedback.statement_inputs(state.pop("data"))
        release_freed_memory()
        state["st"] = feedback.statement_contents(policy, data, outcomes=state.pop("outcomes"), release=True)
        del data
        release_freed_memory()

    def pages() -> None:
        state["pages"] = feedback.StatementPages(state["st"], policy)
        state["names"] = feedback.statement_file_names(state["pages"].ids)

    def render() -> None:
        pg, names = state["pages"], state["names"]
        n = len(pg.ids) if args.pages is None else min(args.pages, len(pg.ids))
        folder = work / "pages"
        folder.mkdir()
        for a in range(0, n, 2000):
            for eid, html in pg.render(a, min(a + 2000, n)):
                (folder / names[eid]).write_text(html, encoding="utf-8")

    def workbook() -> None:
        st = state["st"]
        sheets = {name: getattr(st, name).rename(columns=feedback.WORKBOOK_COLUMNS.get(name, {}))
                  for name in feedback.Statements.TABLES}
        if len(st.plans):
            sheets["plans"] = st.plans
        write_workbook_streamed(sheets, work / "statements.xlsx", lang=st.info["lang"])

    try:
        for name, fn in (("load", load), ("evaluate", run_evaluate), ("contents", contents), ("pages", pages),
                         ("render", render), ("workbook", workbook)):
            stage(name, fn)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"total     wall {sum(r[1] for r in rows):7.2f} s  CPU {sum(r[2] for r in rows):7.2f} s | "
          f"data {args.data}, pages {args.pages or 'all'}, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()), file=sys.stdout)


if __name__ == "__main__":
    main()
