"""Three threads, one after the other, each busy for a while: glibc gives
each the finished one's pthread_t, so Python's thread ident repeats (the
script prints the idents so that a test can tell when it did). Used for
record --threads: every thread must keep its own name."""
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 0.4
idents = []


def busy():
    idents.append(threading.get_ident())
    end = time.perf_counter() + SECONDS
    while time.perf_counter() < end:
        pass


for name in ("first", "second", "third"):
    t = threading.Thread(target=busy, name=name)
    t.start()
    t.join()
print(len(set(idents)), "distinct idents of", len(idents))
