"""A stack 6,002 frames deep (rec x 6001 and <module>), deeper than the
remote reader keeps, for tests/test_reliability_remote.py and
bench/reliability_remote.py: spins SECONDS at the bottom, then ends.

    python reliable_deep.py READY_FILE SECONDS
"""
import sys
import time

sys.setrecursionlimit(100000)


def rec(n):
    if n == 0:
        with open(sys.argv[1], "w") as f:
            f.write("ready")
        end = time.time() + float(sys.argv[2])
        while time.time() < end:
            pass
        return
    rec(n - 1)


rec(6000)
