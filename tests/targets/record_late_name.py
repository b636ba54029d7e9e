"""A thread that threading learns of only while it runs: started with
_thread, it is busy (and sampled) for a while before it calls
threading.current_thread(), which enters it in threading._active, and names
itself "late-named"; then it sleeps until the program ends. Used for record
--idle --threads: a thread first sampled before threading named it must
still get its name (the reader looks names up in threading._active)."""
import _thread
import sys
import threading
import time

UNNAMED = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
NAMED = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
named = threading.Event()


def unnamed_busy():
    end = time.perf_counter() + UNNAMED
    while time.perf_counter() < end:
        pass


def worker():
    unnamed_busy()
    threading.current_thread().name = "late-named"
    named.set()
    time.sleep(3600)  # ended with the program, as _thread threads are


_thread.start_new_thread(worker, ())
named.wait()
time.sleep(NAMED)  # the thread, named, is sampled for a while
print("named", flush=True)
