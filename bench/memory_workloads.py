"""Workloads of bench/memory_bench.py: allocation-heavy programs to trace.

usage: python bench/memory_workloads.py WORKLOAD SIZE

Each workload's hot functions carry @profile, the decorator that
memory_profiler and `spyglass memory` inject into builtins (Scalene too, to
restrict its report); run any other way, `profile` is a no-op defined below,
so every tool runs this same file. The Julia workload is not here: the
harness decorates a copy of examples/julia.py as the book does.

  alloc:  dicts, strings and lists of small objects: SIZE records built,
          indexed, partly dropped, re-keyed and joined into text;
  numpy:  array arithmetic with temporaries (large blocks: mmap), medium
          arrays kept in a list, small ones created and dropped, SIZE rounds;
  mixed:  a log-processing job: SIZE log lines formatted, parsed by regex,
          aggregated into dicts and Counters, sorted, a JSON report written
          and read back, plus a little numeric work per group.
"""
import collections
import json
import random
import re
import sys

try:
    profile  # noqa: B018  (injected by memory_profiler / spyglass / Scalene)
except NameError:
    import builtins

    builtins.profile = lambda f: f


class Item:
    __slots__ = ("key", "value", "children")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.children = []


@profile  # noqa: F821
def alloc(n):
    records = []
    index = {}
    for i in range(n):
        name = "user-%d-%s" % (i, "x" * (i % 13))
        rec = {"id": i, "name": name, "tags": [str(i % 7), str(i % 11)],
               "score": i * 0.5}
        records.append(rec)
        index[name] = rec
    items = [Item(r["name"], r["score"]) for r in records]
    for j, it in enumerate(items):
        it.children = [Item(it.key + "/%d" % k, k) for k in range(j % 4)]
    # Drop every other record: frees spread over the heap.
    for r in records[::2]:
        del index[r["name"]]
    records = records[1::2]
    rekeyed = {r["name"].upper(): (r["id"], tuple(r["tags"])) for r in records}
    text = "\n".join("%s=%s" % (k, v) for k, v in rekeyed.items())
    words = text.split("=")
    return len(words) + len(items) + len(index)


@profile  # noqa: F821
def numpy_work(rounds):
    import numpy as np

    rng = np.random.default_rng(1)
    kept = []
    total = 0.0
    for r in range(rounds):
        a = rng.random(500_000)  # 4 MB: mmap'ed by malloc
        b = a * 2.0 + 1.0  # two temporaries
        c = np.sort(b)
        m = rng.random((120, 120))
        p = m @ m.T
        total += float(c[-1] + p.trace())
        if r % 4 == 0:
            kept.append(a[:50_000].copy())  # 400 kB kept
        small = [np.arange(k % 64 + 1) for k in range(200)]
        total += sum(int(s[-1]) for s in small)
    big = np.concatenate(kept)
    return total + float(big.sum())


LINE = re.compile(r"(\S+) (\S+) \[(\w+)\] (\w+) (/\S*) (\d{3}) (\d+)ms")


@profile  # noqa: F821
def make_log(n):
    rnd = random.Random(7)
    methods = ["GET", "POST", "PUT", "DELETE"]
    paths = ["/", "/api/users", "/api/items", "/static/app.js", "/login"]
    out = []
    for i in range(n):
        out.append("2026-12-07T%02d:%02d:%02d host%d [%s] %s %s/%d %d %dms" % (
            i // 3600 % 24, i // 60 % 60, i % 60, rnd.randrange(8),
            rnd.choice(["INFO", "WARN", "ERROR"]), rnd.choice(methods),
            rnd.choice(paths), rnd.randrange(100), rnd.choice([200, 404, 500]),
            rnd.randrange(1, 900)))
    return "\n".join(out)


@profile  # noqa: F821
def process_log(text):
    by_path = collections.defaultdict(list)
    status = collections.Counter()
    hosts = collections.Counter()
    for line in text.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        _ts, host, level, method, path, code, ms = m.groups()
        by_path[path.rsplit("/", 1)[0] or "/"].append(int(ms))
        status[(method, code)] += 1
        hosts[host] += level != "INFO"
    report = {
        "paths": {p: {"n": len(v), "median": sorted(v)[len(v) // 2],
                      "max": max(v)} for p, v in by_path.items()},
        "status": {"%s %s" % k: n for k, n in status.most_common()},
        "noisy": hosts.most_common(3),
    }
    back = json.loads(json.dumps(report, indent=1))
    return len(back["paths"]) + sum(back["status"].values())


def mixed(n):
    return process_log(make_log(n))


WORKLOADS = {"alloc": alloc, "numpy": numpy_work, "mixed": mixed}

if __name__ == "__main__":
    print(WORKLOADS[sys.argv[1]](int(sys.argv[2])))
