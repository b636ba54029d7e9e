"""Two threads: `busy_worker` spins, `sleepy_worker` sleeps the whole time
(one call, so it is never on a CPU and never holds the GIL); the main thread
waits for them. Used for --idle, --gil and --threads."""
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0


def busy_worker():
    end = time.perf_counter() + SECONDS
    while time.perf_counter() < end:
        pass


def sleepy_worker():
    time.sleep(SECONDS)


threads = [threading.Thread(target=busy_worker, name="busy"),
           threading.Thread(target=sleepy_worker, name="sleepy")]
for t in threads:
    t.start()
for t in threads:
    t.join()
