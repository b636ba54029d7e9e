"""Benchmark target: recurse to DEPTH, then spin there for SECONDS (or, with
WORK > 0, do that many units of fixed work and print the seconds it took,
so that a profiler's slowdown of the target can be read off)."""
import sys
import time


def leaf():
    s = 0
    for i in range(200):
        s += i
    return s


def down(n, seconds, work):
    if n > 1:
        return down(n - 1, seconds, work)
    if work:
        t0 = time.perf_counter()
        for _ in range(work):
            leaf()
        return time.perf_counter() - t0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        leaf()
    return 0.0


if __name__ == "__main__":
    depth, seconds = int(sys.argv[1]), float(sys.argv[2])
    work = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    took = down(depth, seconds, work)
    if work:
        print(f"WORK {took:.6f}")
