"""Pools of short-lived worker processes, one after another, for SECONDS:
children appear and exit all the time while `record --subprocesses` attaches
to them (a torn read of an exiting child once crashed the reader)."""
import multiprocessing, time, sys
def work(x):
    t = time.perf_counter()
    while time.perf_counter() - t < 0.003 * (x % 7):
        pass
    return x
if __name__ == "__main__":
    end = time.time() + float(sys.argv[1])
    while time.time() < end:
        with multiprocessing.Pool(3) as p:
            p.map(work, range(12))
