"""Stress target for tests/test_dump.py: keeps starting and ending threads
and redefining functions (new code objects, often at reused addresses),
with stacks of changing depth, until killed.

    python dump_churn.py READY_FILE
"""
import sys
import threading
import time

READY_FILE = sys.argv[1]
SRC = """
def f{i}(n):
    if n:
        return f{i}(n - 1)
    return sum(range({k}))
"""


def redefine(i):
    ns = {}
    exec(SRC.format(i=i % 50, k=100 + i % 7), ns)
    return ns[f"f{i % 50}"]


def worker(i):
    # Live 10-60 ms, redefining and calling at changing depths.
    end = time.monotonic() + 0.01 + (i % 6) * 0.01
    while time.monotonic() < end:
        fn = redefine(i)
        for _ in range(20):
            fn(i % 40)
        i += 1


def main():
    with open(READY_FILE, "w") as f:
        f.write("ready")
    i = 0
    while True:
        if threading.active_count() < 6:
            threading.Thread(target=worker, args=(i,), daemon=True).start()
            i += 1
        redefine(i)(i % 30)
        time.sleep(0.001)


main()
