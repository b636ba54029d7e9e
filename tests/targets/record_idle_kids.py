"""A Python parent with N idle children (`sleep`), for measuring whether
following subprocesses costs the sampling tick anything: the parent spins
in parent_work for SECONDS (or until SIGTERM), then stops its children.

usage: record_idle_kids.py N SECONDS
"""
import signal
import subprocess
import sys
import time


def parent_work(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        time.sleep(0.001)


if __name__ == "__main__":
    n, seconds = int(sys.argv[1]), float(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    kids = [subprocess.Popen(["sleep", "600"]) for _ in range(n)]
    print("ready", flush=True)
    try:
        parent_work(seconds)
    finally:
        for k in kids:
            k.kill()
        for k in kids:
            k.wait()
