"""Workloads of bench/profile_bench.py, importable by every CPython 3.8+.

get(name, size) returns a no-argument callable that runs the workload once:
  fib:   call-heavy recursion, fib(size);
  julia: examples/julia.py's calc_pure_python(size, 300), output discarded;
  mixed: a realistic mix: dataclasses, json round trip, regex, sorting,
         on `size` records.
"""
import contextlib
import dataclasses
import io
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import julia  # noqa: E402


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@dataclasses.dataclass(order=True)
class Record:
    value: int
    key: str
    tags: list


WORD = re.compile(r"[a-z]+\d*")
DIGITS = re.compile(r"\d+")


def mixed(n):
    recs = [Record(i * 7919 % 1000, "k%d" % (i % 97), [str(i), "x"])
            for i in range(n)]
    text = json.dumps([dataclasses.asdict(r) for r in recs])
    back = [Record(**d) for d in json.loads(text)]
    words = WORD.findall(text)
    short = DIGITS.sub(lambda m: str(len(m.group())), text[:20000])
    back.sort(key=lambda r: (r.key, r.value))
    return len(words) + len(short) + sorted(recs)[0].value + back[0].value


def run_julia(size):
    with contextlib.redirect_stdout(io.StringIO()):
        return julia.calc_pure_python(desired_width=size, max_iterations=300)


def get(name, size):
    if name == "fib":
        return lambda: fib(size)
    if name == "julia":
        return lambda: run_julia(size)
    if name == "mixed":
        return lambda: mixed(size)
    raise ValueError(name)
