"""A CPU-bound target whose CPU time is split 70/20/10 between three
functions by construction, and which measures the split it got (see the
comment below spin()). Usage: record_split.py [SECONDS [REPORT [LOOP]]]."""
import random
import sys
import time
# json is imported for the report only, so that no import is sampled.
now, cpu = time.perf_counter, time.thread_time


def spin(budget):
    end = cpu() + budget
    while cpu() < end:
        pass


# Each cycle spins 7, 2 and 1 units (of a random 0.5-1.5 ms, so the cycle
# never phase-locks with the sampler) of the thread's own CPU time: on a
# loaded machine the split of CPU time stays 70/20/10, while the split of
# wall time does not (a function preempted for a whole time slice lasts
# that much longer in wall time). Each function also measures what it got,
# CPU time (thread_time) and wall time (perf_counter), from its first line
# to its last, so that a test compares the samples with what happened in
# this run, not with what was meant to happen.
spent = {name: [0.0, 0.0] for name in ("seventy", "twenty", "ten")}


def measured(name, units, u):
    c0, w0 = cpu(), now()
    spin(units * u)
    got = spent[name]
    got[0] += cpu() - c0
    got[1] += now() - w0


def seventy(u):
    measured("seventy", 7, u)


def twenty(u):
    measured("twenty", 2, u)


def ten(u):
    measured("ten", 1, u)


# main() measures itself too, into LOOP (JSON) when named: the loop between
# the three functions is its own, so its wall time is all the time the
# thread had it on its stack (the reports are written after it returns).
def main(seconds):
    c0, w0 = cpu(), now()
    rng = random.Random(1)
    stop = w0 + seconds
    while now() < stop:
        u = rng.uniform(0.5e-3, 1.5e-3)
        seventy(u)
        twenty(u)
        ten(u)
    return {"cpu": cpu() - c0, "wall": now() - w0}


itself = main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
# The reports are written here, in no function of the target's own, so that
# a sampled import of json adds no row to a profile's tables.
if len(sys.argv) > 2:
    import json
    with open(sys.argv[2], "w") as f:
        json.dump({name: {"cpu": c, "wall": w}
                   for name, (c, w) in spent.items()}, f)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            json.dump(itself, f)
