"""What every benchmark prints beside its figures: this process's CPU seconds, its peak memory and the load.

On a shared 2-core machine wall time moves with the load average; CPU time (user + system of every thread) moves
much less, so the scripts print both, with the load average beside them.
"""
from __future__ import annotations

import os
import resource


def cpu_seconds() -> float:
    """CPU seconds of this process so far: user + system, every thread (s)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_mb() -> float:
    """The largest resident set size this process has had so far (MB; Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average() -> float:
    """The 1-minute load average of the machine (runnable processes; 2 means both cores busy)."""
    return os.getloadavg()[0]


def rss_anon_mb() -> float:
    """This process's resident anonymous memory now (RssAnon of /proc/self/status), MB; 0 where /proc is missing."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
