"""Three threads each compute for SECONDS of their own CPU time (so that a
busy machine makes the run longer, never the work shorter), hashing large
buffers, which releases the GIL: the three run at once, each of them on a
CPU or waiting for one the whole time. The main thread waits for them,
then prints how long the process has lived since it was started, by the
kernel's clock (its wall time, start-up included; its end is not).

    record_three_busy.py [SECONDS]"""
import hashlib
import os
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5


def busy():
    data = bytes(1 << 18)
    end = time.thread_time() + SECONDS
    while time.thread_time() < end:
        hashlib.sha256(data).digest()


def lifetime_s():
    """Seconds since this process started (/proc/self/stat's starttime, in
    clock ticks since boot, against the boot-time clock)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return time.clock_gettime(time.CLOCK_BOOTTIME) - started


threads = [threading.Thread(target=busy, name="busy%d" % i)
           for i in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("lifetime %.3f" % lifetime_s())
