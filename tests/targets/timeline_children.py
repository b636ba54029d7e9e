"""Children that come and go, one after the other: child A holds 20 MiB
for 0.3 s and ends; then child B starts grandchild C, which holds 30 MiB
for 0.3 s. Each of A and C allocates only once the sampler has opened its
/proc file (the sampler is this program's parent), so how soon it is found
does not depend on the machine's load. Prints, for each of them, its pid,
its parent, its own clock around the allocation and the hold, and its
resident set as it read it itself (/proc/self/statm) while holding (B: at
its start); and the program's own clock before the first child, after the
last, and when it is done (what follows, its printing and finalization,
is not its steady state: under ASan the interpreter's teardown doubles
its resident set).
"""
import json
import mmap
import os
import sys
import time

MIB = 1 << 20
SAMPLER = os.getppid()


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def followed():
    """Wait until the sampler holds this process's statm open."""
    mine = f"/proc/{os.getpid()}/statm"
    fds = f"/proc/{SAMPLER}/fd"
    for _ in range(2000):
        for fd in os.listdir(fds):
            try:
                if os.readlink(f"{fds}/{fd}") == mine:
                    return
            except OSError:
                pass
        time.sleep(0.005)
    sys.exit("the sampler never opened this process's statm")


def hold(mib, out):
    followed()
    me = {"pid": os.getpid(), "parent": os.getppid(), "mib": mib,
          "t1": time.time()}
    block = mmap.mmap(-1, mib * MIB)  # not through malloc, as the pool
    for i in range(0, len(block), 4096):  # resident, not just mapped
        block[i] = 1
    me["t2"] = time.time()
    # Its own reading, not its resident set before plus mib: a forked
    # child also maps anew the code it runs for the first time.
    me["rss"] = rss()
    time.sleep(0.3)
    me["t3"] = time.time()
    os.write(out, (json.dumps(me) + "\n").encode())


def child(body):
    """Fork a child that runs body() then exits; wait for it."""
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def grandparent(out):
    me = {"pid": os.getpid(), "parent": os.getppid(), "rss": rss()}
    os.write(out, (json.dumps(me) + "\n").encode())
    child(lambda: hold(30, out))


r, w = os.pipe()
time.sleep(0.1)
start = time.time()
child(lambda: hold(20, w))
time.sleep(0.1)
child(lambda: grandparent(w))
end = time.time()
time.sleep(0.1)
os.close(w)
with os.fdopen(r) as f:
    procs = [json.loads(line) for line in f]
done = time.time()
print(json.dumps({"root": os.getpid(), "start": start, "end": end,
                  "done": done, "procs": procs}), flush=True)
