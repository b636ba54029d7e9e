"""Stress target for tests/test_dump.py: keeps starting and ending threads
and redefining functions (new code objects, often at reused addresses),
with stacks of changing depth, until killed."""
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


def worker(i):
    ns = {}
    exec(SRC.format(i=i % 50, k=100 + i % 7), ns)
    fn = ns[f"f{i % 50}"]
    for _ in range(20):
        fn(i % 40)


def main():
    with open(READY_FILE, "w") as f:
        f.write("ready")
    i = 0
    while True:
        threads = [threading.Thread(target=worker, args=(i + k,))
                   for k in range(4)]
        for t in threads:
            t.start()
        worker(i)
        for t in threads:
            t.join()
        i += 5
        time.sleep(0.001)


main()
