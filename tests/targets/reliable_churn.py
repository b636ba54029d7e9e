"""Thread churn for tests/test_reliability_remote.py and
bench/reliability_remote.py: the main thread keeps starting short-lived
workers while both call the same functions (3.8-3.10 hand a code object's
frame object from one thread to the next), until killed.

    python reliable_churn.py READY_FILE

The ground truth, which no load can change: the main thread's stack is
<module>, main_only, ...; a worker's is threading's _bootstrap, ...,
worker_only, ... A stack read with the other's frames is under the wrong
thread.
"""
import sys
import threading


def shared(n):
    s = 0
    for k in range(n):
        s += k
    return s


def shared2(n):
    return shared(n)


def worker_only(i):
    for _ in range(5):
        shared2(20 + i % 7)


def main_only():
    i = 0
    while True:
        if threading.active_count() < 8:
            threading.Thread(target=worker_only, args=(i,),
                             daemon=True).start()
            i += 1
        shared2(30)
        if i == 50:
            with open(sys.argv[1], "w") as f:
                f.write("ready")


main_only()
