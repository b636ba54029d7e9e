"""asyncio targets for tests/test_reliability_remote.py and
bench/reliability_remote.py, until killed:

    python reliable_asyncio.py READY_FILE MODE [TASKS]

Runs TASKS (10,000) asyncio tasks in one of these modes, and writes
READY_FILE once they all run:

  await   every task awaits a chain of coroutines up to 40 deep and parks
          in it (an idle loop, frames still);
  spin    every task adds up 200 numbers in its own frame, then yields
          (`await asyncio.sleep(0)`): a busy loop whose innermost frame is
          another task's coroutine frame every few microseconds;
  calls   every task calls a small function 50 times, then yields: the
          thread's innermost frame changes at every call;
  nested  every task calls a function that recurses 20 deep 5 times, then
          yields: the innermost frame runs up and down a chain of 20
          frames every few microseconds, under another task's coroutine
          frame each time;
  deep    every task awaits a chain i % 40 deep whose bottom yields and
          then computes (a busy loop with long coroutine chains);
  timers  every task sleeps a random 0-10 ms, then computes a little (the
          loop's timer heap holds 10,000 entries);
  churn   batches of 10,000 short tasks, each computing a little, are
          created and gathered again and again (coroutine frames freed and
          allocated all the time).

Ground truth: the main thread's stack always ends in <module>, then
asyncio's run, run_until_complete and run_forever.
"""
import asyncio
import random
import sys

MODES = ("await", "spin", "calls", "nested", "deep", "timers", "churn")


def small(i, k):
    return i * k + 1


async def park_chain(d):
    if d:
        return await park_chain(d - 1)
    await asyncio.Event().wait()


async def spin(i):
    while True:
        s = 0
        for k in range(200):
            s += k * i
        await asyncio.sleep(0)


async def calls(i):
    while True:
        s = 0
        for k in range(50):
            s += small(i, k)
        await asyncio.sleep(0)


def down(n):
    return down(n - 1) + 1 if n else 0


async def nested(i):
    while True:
        s = 0
        for k in range(5):
            s += down(20)
        await asyncio.sleep(0)


async def leaf(i):
    s = 0
    for k in range(200):
        s += k * i
    return s


async def chain(d, i):
    if d:
        return await chain(d - 1, i)
    await asyncio.sleep(0)
    return await leaf(i)


async def deep(i):
    while True:
        await chain(i % 40, i)


async def timers(i):
    while True:
        await asyncio.sleep(random.random() * 0.01)
        await leaf(i)


async def short(i):
    return await leaf(i)


async def main(ready, mode, n):
    if mode == "churn":
        first = True
        while True:
            await asyncio.gather(*[short(i) for i in range(n)])
            if first:
                open(ready, "w").write("ready")
                first = False
    if mode == "await":
        tasks = [asyncio.ensure_future(park_chain(i % 40)) for i in range(n)]
    else:
        work = globals()[mode]
        tasks = [asyncio.ensure_future(work(i)) for i in range(n)]
    await asyncio.sleep(0.5)
    open(ready, "w").write("ready")
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] not in MODES:
        sys.exit(f"usage: {sys.argv[0]} READY_FILE {{{'|'.join(MODES)}}} "
                 "[TASKS]")
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    asyncio.run(main(sys.argv[1], sys.argv[2], n))
