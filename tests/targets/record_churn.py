"""Pools of short-lived worker processes, one after another, for SECONDS:
children appear and exit all the time while `record --subprocesses` attaches
to them (a torn read of an exiting child once crashed the reader). Says on
stderr how many workers ran tasks: on a busy machine, fewer pools fit."""
import multiprocessing, os, time, sys
def work(x):
    t = time.perf_counter()
    while time.perf_counter() - t < 0.003 * (x % 7):
        pass
    return os.getpid()
if __name__ == "__main__":
    end = time.time() + float(sys.argv[1])
    pids = set()
    while time.time() < end:
        with multiprocessing.Pool(3) as p:
            pids.update(p.map(work, range(12)))
    print("record_churn: %d workers" % len(pids), file=sys.stderr)
