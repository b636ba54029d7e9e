"""A CPU-bound target whose wall time is split 70/20/10 between three
functions by construction: each cycle spins 7, 2 and 1 time units (of a
random 0.5-1.5 ms, so the cycle never phase-locks with the sampler)."""
import random
import sys
import time

now = time.perf_counter


def spin(budget):
    end = now() + budget
    while now() < end:
        pass


def seventy(u):
    spin(7 * u)


def twenty(u):
    spin(2 * u)


def ten(u):
    spin(u)


def main(seconds):
    rng = random.Random(1)
    stop = now() + seconds
    while now() < stop:
        u = rng.uniform(0.5e-3, 1.5e-3)
        seventy(u)
        twenty(u)
        ten(u)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
