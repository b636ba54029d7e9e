"""Target for tests/test_dump.py: 200 threads parked at depths 1-50.

    python dump_many.py TRACEBACK_FILE READY_FILE
"""
import sys
import threading
import time

import parked as waiting

TB_FILE, READY_FILE = sys.argv[1:3]
parked = threading.Semaphore(0)
ev = threading.Event()


def deep(n):
    if n == 0:
        parked.release()
        ev.wait()
    else:
        deep(n - 1)


threads = [threading.Thread(target=deep, args=(i % 50,), name=f"t{i}",
                            daemon=True) for i in range(200)]
for t in threads:
    t.start()
for _ in range(200):
    parked.acquire()
# Every thread registered in ev and blocked on its lock.
waiting.wait_until(lambda: len(ev._cond._waiters) == 200 and all(
    waiting.in_lock_wait(t.native_id) for t in threads))
with open(READY_FILE, "w") as f:
    f.write(str(threading.get_ident()))
while True:
    time.sleep(3600)
