"""Target for tests/test_dump.py: 200 threads parked at depths 1-50.

    python dump_many.py TRACEBACK_FILE READY_FILE
"""
import sys
import threading
import time

TB_FILE, READY_FILE = sys.argv[1:3]
parked = threading.Semaphore(0)
ev = threading.Event()


def deep(n):
    if n == 0:
        parked.release()
        ev.wait()
    else:
        deep(n - 1)


for i in range(200):
    threading.Thread(target=deep, args=(i % 50,), name=f"t{i}",
                     daemon=True).start()
for _ in range(200):
    parked.acquire()
time.sleep(0.2)
with open(READY_FILE, "w") as f:
    f.write(str(threading.get_ident()))
while True:
    time.sleep(3600)
