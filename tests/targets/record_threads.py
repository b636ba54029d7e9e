"""Two threads: `busy_worker` spins, `sleepy_worker` sleeps the whole time
(one call, so it is never on a CPU and never holds the GIL); the main thread
waits for them. Used for --idle, --gil and --threads.

    record_threads.py [SECONDS [REPORT.json]]

REPORT gets how long each thread was runnable (on a CPU or waiting for
one, from /proc's schedstat), in total and while in its worker function:
the ground truth for what a sampler of active threads may count."""
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
REPORT = sys.argv[2] if len(sys.argv) > 2 else None
runnable = {}


def runnable_s():
    """This thread's runnable seconds so far, or None without schedstat."""
    try:
        path = "/proc/self/task/%d/schedstat" % threading.get_native_id()
        with open(path) as f:
            on_cpu, waiting = f.read().split()[:2]
        return (int(on_cpu) + int(waiting)) / 1e9
    except OSError:
        return None


def measured(work):
    def run():
        start = runnable_s()
        work()
        end = runnable_s()
        runnable[work.__name__] = (start, end)
    return run


def busy_worker():
    end = time.perf_counter() + SECONDS
    while time.perf_counter() < end:
        pass


def sleepy_worker():
    time.sleep(SECONDS)


threads = [threading.Thread(target=measured(busy_worker), name="busy"),
           threading.Thread(target=measured(sleepy_worker), name="sleepy")]
for t in threads:
    t.start()
for t in threads:
    t.join()
if REPORT:
    import json
    runnable["main"] = (0, runnable_s())
    with open(REPORT, "w") as f:
        json.dump(runnable, f)
