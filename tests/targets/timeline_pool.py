"""A pool of three workers, each task holding 30 MiB for 0.4 s; prints
the workers' pids and, for each task, its worker's pid and that worker's
resident set (bytes, its own /proc/self/statm) just before it
allocated."""
import json
import mmap
import multiprocessing
import os
import time

MIB = 1 << 20


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def hold(_):
    before = rss()
    # Mapped directly, not through malloc, whose bookkeeping (ASan's
    # shadow, when the suite preloads it) would add to the step.
    block = mmap.mmap(-1, 30 * MIB)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(0.4)
    return os.getpid(), before


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(3) as pool:
        workers = [p.pid for p in pool._pool]
        ran = pool.map(hold, range(3), chunksize=1)
    print(json.dumps({"workers": workers, "ran": ran}), flush=True)
