"""Thread churn for tests/test_reliability_remote.py and
bench/reliability_remote.py: the main thread keeps starting short-lived
workers while both call the same functions (3.8-3.10 hand a code object's
frame object from one thread to the next), until killed.

    python reliable_churn.py READY_FILE [THREADS ROUNDS NAP]

By default at most 8 threads at once, each worker calling 5 times and
ending. With THREADS, ROUNDS and NAP, at most THREADS threads, each worker
doing ROUNDS rounds of 5 calls, every round of a worker and every call of
the main thread followed by time.sleep(NAP) (0: a mere release of the
GIL), so that many threads live at once, start and end while read.

The ground truth, which no load can change: the main thread's stack is
<module>, main_only, ...; a worker's is threading's _bootstrap, ...,
worker_only, ... A stack read with the other's frames is under the wrong
thread.
"""
import sys
import threading
import time


def shared(n):
    s = 0
    for k in range(n):
        s += k
    return s


def shared2(n):
    return shared(n)


def worker_only(i, rounds, nap):
    for _ in range(rounds):
        for _ in range(5):
            shared2(20 + i % 7)
        if nap is not None:
            time.sleep(nap)


def main_only(threads=8, rounds=1, nap=None):
    i = 0
    while True:
        if threading.active_count() < threads:
            threading.Thread(target=worker_only, args=(i, rounds, nap),
                             daemon=True).start()
            i += 1
        shared2(30)
        if nap is not None:
            time.sleep(nap)
        if i == 50:
            with open(sys.argv[1], "w") as f:
                f.write("ready")


if len(sys.argv) > 2:
    main_only(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
else:
    main_only()
