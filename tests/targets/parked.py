"""For the dump targets: wait until threads are parked for good, so that a
dump taken later sees the stacks the target's own faulthandler dump saw,
however busy the machine is (a fixed sleep is only a guess of that).

Asks the kernel what each thread is blocked in (/proc/self/task/TID/syscall,
x86_64 numbers): waiting for a lock is a futex wait without a timeout,
while waiting for the GIL is a timed one (the GIL's 5 ms switch interval),
so a thread on its way to its parking place is never taken for parked."""
import time

FUTEX = "202"
# select, nanosleep, clock_nanosleep, pselect6
SLEEPS = {"23", "35", "230", "270"}


def syscall(native_id):
    """The syscall a thread of this process is blocked in: number and
    arguments, or ["running"]."""
    with open("/proc/self/task/%d/syscall" % native_id) as f:
        return f.read().split()


def in_lock_wait(native_id):
    """Blocked for good acquiring a lock (a futex wait, no timeout)."""
    call = syscall(native_id)
    return call[0] == FUTEX and call[4] == "0x0"


def in_sleep(native_id):
    call = syscall(native_id)
    return call[0] in SLEEPS


def wait_until(ready, timeout=120):
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit("threads never parked")
        time.sleep(0.005)
