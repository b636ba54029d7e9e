"""Shared helpers for the benchmarks: machine description, medians, venvs.

Benchmarks run spyglass side by side with the peer tool it replaces, in one
run, and report ratios. The machine is shared and noisy: repeat, interleave,
take medians; use callgrind instruction counts where wall time is too noisy.
"""
import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import venvs  # noqa: E402  (tests/venvs.py: one venv per CPython)


def machine():
    """One line naming the machine and the date, for docs/benchmarks.md."""
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, Linux "
            f"{platform.release()}, {datetime.date.today().isoformat()}")


def median(xs):
    return statistics.median(xs)


def callgrind_instructions(argv, env=None, exec_chain=False):
    """Instructions executed by argv's own process (children not traced).
    With exec_chain, argv execs another program (as `spyglass timeit`
    execs python) and the count is the last program's."""
    trace = ["--trace-children=yes"] if exec_chain else []
    proc = subprocess.run(["valgrind", "--tool=callgrind", *trace,
                           "--callgrind-out-file=/dev/null", *argv],
                          capture_output=True, text=True, env=env)
    m = re.findall(r"Collected : (\d+)", proc.stderr)
    if not m:
        raise RuntimeError("callgrind gave no count:\n" + proc.stderr[-2000:])
    return int(m[-1])


def installed(versions=None):
    """Py objects (tests/venvs.py) for the CPythons present."""
    out = []
    for v in versions or venvs.selected_versions():
        py = venvs.install(v)
        if py is not None:
            out.append(py)
    return out
