"""A multiprocessing pool whose workers spin in `pool_task`."""
import multiprocessing
import time


def pool_task(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
    return seconds


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        print(sum(pool.map(pool_task, [0.4] * 6)))
