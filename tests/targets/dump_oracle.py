"""Target for tests/test_dump.py: park in a known place, with a faulthandler
dump of every thread written first, so `spyglass dump` can be compared
frame by frame.

    python dump_oracle.py SCENARIO TRACEBACK_FILE READY_FILE

The main thread ends in park(), which writes the traceback file, then the
ready file, then sleeps at the line marked PARK_SLEEP. Other threads are
parked before that (sleeping), or spin on one line (the busy thread), so
their stacks are the same when spyglass reads them.
"""
import asyncio
import faulthandler
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # parked.py

SCENARIO, TB_FILE, READY_FILE = sys.argv[1:4]
started = []


def park():
    with open(TB_FILE, "w") as f:
        faulthandler.dump_traceback(f, all_threads=True)
    with open(READY_FILE, "w") as f:
        f.write(str(threading.get_ident()))
    while True:
        time.sleep(3600)  # PARK_SLEEP


def level3():
    park()


def level2():
    level3()


def level1():
    level2()


def recurse(n):
    if n == 0:
        park()
    return recurse(n - 1)


def inner_gen():
    park()
    yield 1


def outer_gen():
    yield from inner_gen()


async def inner_coro():
    park()


async def outer_coro():
    await inner_coro()


class Parker:
    def method(self):
        park()

    @staticmethod
    def static():
        park()


def spin():
    started.append(1)
    while True: pass  # BUSY (one line, so the line is always the same)


def sleeper(ev):
    started.append(1)
    ev.wait()


def sleeper_nested(ev):
    sleeper(ev)


def run(scenario):
    if scenario == "nested":
        level1()
    elif scenario == "recursion":
        recurse(int(os.environ.get("DEPTH", "500")) - 1)
    elif scenario == "threads":
        import parked
        ev = threading.Event()
        sleepers = [threading.Thread(target=target, args=(ev,), name=name,
                                     daemon=True)
                    for name, target in (("sleeper", sleeper),
                                         ("sleeper-nested", sleeper_nested))]
        spinner = threading.Thread(target=spin, name="spinner-ünï",
                                   daemon=True)
        for t in sleepers + [spinner]:
            t.start()
        busy_line = spin.__code__.co_firstlineno + 2

        def at_parking_places():
            # Both sleepers registered in ev and blocked on their lock, the
            # spinner in its loop.
            frame = sys._current_frames().get(spinner.ident)
            return (len(ev._cond._waiters) == 2
                    and all(parked.in_lock_wait(t.native_id)
                            for t in sleepers)
                    and frame is not None and frame.f_lineno == busy_line)

        parked.wait_until(at_parking_places)
        level1()
    elif scenario == "generator":
        next(outer_gen())
    elif scenario == "coroutine":
        asyncio.run(outer_coro())
    elif scenario == "lambda":
        (lambda: park())()
    elif scenario == "method":
        Parker().method()
    elif scenario == "staticmethod":
        Parker.static()
    else:
        raise SystemExit(f"unknown scenario {scenario}")


if __name__ == "__main__":
    run(SCENARIO)
