"""A CPU-bound target for `spyglass top`: three functions share the main
thread's CPU time 70/20/10 by construction, each spinning in its own body
(so the time is their own, %Own), and each measures what it got. Usage:
top_split.py TRUTH.json STOPFILE: the measured split is rewritten to
TRUTH.json about every 0.2 s; the program ends once STOPFILE exists."""
import json
import os
import random
import sys

from time import perf_counter as now, thread_time as cpu

spent = {name: [0.0, 0.0] for name in ("hot", "warm", "cold")}


def hot(budget):
    c0, w0 = cpu(), now()
    end = c0 + budget
    while cpu() < end:
        pass
    got = spent["hot"]
    got[0] += cpu() - c0
    got[1] += now() - w0


def warm(budget):
    c0, w0 = cpu(), now()
    end = c0 + budget
    while cpu() < end:
        pass
    got = spent["warm"]
    got[0] += cpu() - c0
    got[1] += now() - w0


def cold(budget):
    c0, w0 = cpu(), now()
    end = c0 + budget
    while cpu() < end:
        pass
    got = spent["cold"]
    got[0] += cpu() - c0
    got[1] += now() - w0


def report(path):
    with open(path + ".tmp", "w") as f:
        json.dump({name: {"cpu": c, "wall": w}
                   for name, (c, w) in spent.items()}, f)
    os.replace(path + ".tmp", path)


def main(truth, stop):
    # Units of a random 0.5-1.5 ms, so that the cycle never phase-locks
    # with the sampler.
    rng = random.Random(1)
    next_report = now()
    while not os.path.exists(stop):
        u = rng.uniform(0.5e-3, 1.5e-3)
        hot(7 * u)
        warm(2 * u)
        cold(u)
        if now() >= next_report:
            report(truth)
            next_report = now() + 0.2
    report(truth)


main(sys.argv[1], sys.argv[2])
