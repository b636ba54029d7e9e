"""+100 MiB at t~0.3 s, held 0.3 s, then freed: prints its own time.time()
around each step (the ground truth the timeline is checked against)."""
import json
import mmap
import sys
import time

MIB = 1 << 20
size = int(sys.argv[1]) if len(sys.argv) > 1 else 100
time.sleep(0.3)
t1 = time.time()
# Mapped and unmapped directly, not through malloc, which may keep freed
# memory (ASan's quarantine does, when the suite preloads it).
block = mmap.mmap(-1, size * MIB)
for i in range(0, len(block), 4096):  # resident, not just mapped
    block[i] = 1
t2 = time.time()
time.sleep(0.3)
t3 = time.time()
block.close()
t4 = time.time()
time.sleep(0.15)
print(json.dumps({"alloc": [t1, t2], "free": [t3, t4]}), flush=True)
