"""More short-lived children than the follower once had room for, then one
late Python child: `record --subprocesses` kept its processes in a fixed
array of 1024 that never shrank, so the late child was never followed.

usage: record_many.py N [LIFE]   (N children, each `sleep LIFE` (default
0.4 s), about 200 alive at a time, so that every one is alive for several
of the follower's scans; then a Python child that spins in late_work for
1.5 s)
"""
import os
import subprocess
import sys
import time


def late_work(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


if __name__ == "__main__":
    if sys.argv[1] == "--late":
        late_work(1.5)
        sys.exit(0)
    n = int(sys.argv[1])
    life = sys.argv[2] if len(sys.argv) > 2 else "0.4"
    alive = []
    for _ in range(n):
        alive.append(os.posix_spawnp("sleep", ["sleep", life], os.environ))
        if len(alive) >= 200:
            os.waitpid(alive.pop(0), 0)
    for pid in alive:
        os.waitpid(pid, 0)
    print(n, "children", flush=True)
    subprocess.run([sys.executable, __file__, "--late"], check=True)
