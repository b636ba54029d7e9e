"""A pool of three workers, each task holding 30 MiB for 0.4 s; prints
the workers' pids and the pid of each task's worker."""
import json
import multiprocessing
import os
import time

MIB = 1 << 20


def hold(_):
    block = bytearray(30 * MIB)
    for i in range(0, len(block), 4096):
        block[i] = 1
    time.sleep(0.4)
    return os.getpid()


if __name__ == "__main__":
    with multiprocessing.get_context("fork").Pool(3) as pool:
        workers = [p.pid for p in pool._pool]
        ran = pool.map(hold, range(3), chunksize=1)
    print(json.dumps({"workers": workers, "ran": ran}), flush=True)
