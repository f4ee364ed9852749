"""Peak memory of the running process, for the benchmarks' subprocess cases."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_mb() -> float:
    """This process's peak resident memory in MB (``VmHWM``).

    ``ru_maxrss`` is not used: Linux carries it over ``exec`` from the parent process (the
    benchmark driver, which may have generated a large world), so a small case would report
    the driver's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
