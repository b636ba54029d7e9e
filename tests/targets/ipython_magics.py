"""Drive spyglass's magics in IPython's InteractiveShell, in this process,
next to their oracles (cProfile, line_profiler, tracemalloc); print what
each gave as JSON for tests/test_ipython.py. argv[1]: a scratch directory.
"""
import contextlib
import cProfile
import io
import json
import os
import pickle
import re
import sys
import tracemalloc

scratch = sys.argv[1]
result = {}

# spyglass imports no IPython; without IPython its magics say what is
# missing.
import spyglass  # noqa: E402

spyglass.profile
result["ipython_imported"] = "IPython" in sys.modules
sys.modules["IPython"] = None  # as if it were not installed
try:
    import spyglass.ipython  # noqa: F401
except ImportError as e:
    result["missing"] = str(e)
del sys.modules["IPython"]

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "spyglass")


def run(cell):
    """Run a cell; its error's type name, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        r = ip.run_cell(cell)
    error = r.error_in_exec or r.error_before_exec
    return {"error": type(error).__name__ if error else None,
            "out": out.getvalue(), "err": err.getvalue()}


def user_names():
    """The user's names, without IPython's history (_i1, _oh...)."""
    hidden = set(ip.user_ns_hidden)
    return sorted(n for n in ip.user_ns
                  if n not in hidden and not re.match(r"_i*\d*$", n))


run('''
calls = 0
def bump():
    global calls
    calls += 1

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def work(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
    return total

def make(n):
    keep = []
    for _ in range(n):
        keep.append(bytearray(2**20))
    return len(keep)
''')
names = user_names()

# timeit: the statements run in the user's namespace, number * repeat
# times, and leave no name behind.
result["timeit_one"] = run("%sgtimeit -n 7 -r 3 bump()")
result["timeit_calls"] = ip.user_ns["calls"]
result["timeit_two"] = run("%%sgtimeit -n 5 -r 2\nbump()\nbump(); bump()\n")
result["timeit_calls2"] = ip.user_ns["calls"]
result["timeit_names_kept"] = user_names() == names
json_path = os.path.join(scratch, "t.json")
result["timeit_json"] = run(f"%spyglass timeit -n 2 -r 2 -o {json_path} 1")
with open(json_path) as f:
    result["timeit_json_benchmarks"] = len(json.load(f)["benchmarks"])
result["timeit_bad_unit"] = run("%sgtimeit -u parsec 1")
# The statement is the rest of the line as written.
result["timeit_quoted"] = run('%sgtimeit -n 2 -r 1 "a b".split()')
result["timeit_dashdash"] = run("%sgtimeit -n 2 -r 1 -- -calls")
result["timeit_raises"] = run("%sgtimeit -n 1 -r 1 1/0")

# profile: cProfile's counts, a pstats file, and the kernel usable after
# an exception and a KeyboardInterrupt.
oracle = cProfile.Profile()
oracle.runctx("fib(15)", ip.user_ns, ip.user_ns)
oracle.create_stats()
result["cprofile_fib"] = [list(v[:2]) for k, v in oracle.stats.items()
                          if k[2] == "fib"]
pst = os.path.join(scratch, "p.pstats")
result["profile"] = run(f"%sgprun -s calls -D {pst} fib(15)")
import pstats  # noqa: E402

result["pstats_fib"] = [list(v[:2]) for k, v in pstats.Stats(pst).stats.items()
                        if k[2] == "fib"]
result["profile_raises"] = run("%sgprun fib(2); 1/0")
result["profile_interrupt"] = run("%%sgprun\nraise KeyboardInterrupt\n")
result["profile_after"] = run("%spyglass profile fib(3)")
html = os.path.join(scratch, "p.html")
result["profile_html"] = run(f"%sgprun -o {html} fib(5)")
result["profile_html_ok"] = open(html).read(200).lstrip().lower().startswith(
    "<!doctype html")
result["profile_bad_format"] = run("%sgprun -o x.lprof fib(1)")

# lines: line_profiler's hits, line by line.
try:
    import line_profiler

    lp = line_profiler.LineProfiler(ip.user_ns["work"])
    lp.runcall(ip.user_ns["work"], 50)
    result["lprof_hits"] = {str(ln): hits for k, v in lp.get_stats().timings.items()
                            for ln, hits, _ in v}
except ImportError:
    result["lprof_hits"] = None
lpath = os.path.join(scratch, "w.lprof")
result["lines"] = run(f"%sglprun -f work -D {lpath} work(50)")
with open(lpath, "rb") as f:
    stats = pickle.load(f)
result["lines_hits"] = {str(ln): hits for k, v in stats.timings.items()
                        for ln, hits, _ in v}
result["lines_no_func"] = run("%sglprun work(1)")
result["lines_raises"] = run("%sglprun -f work work(None)")
result["lines_after"] = run("%sglprun -f work work(3)")

# memory: the peak against tracemalloc's, and memory_profiler's table.
tracemalloc.start()
exec("x = bytearray(8 * 2**20); del x", dict(ip.user_ns))
result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
result["memit"] = run("%sgmemit x = bytearray(8 * 2**20); del x")
result["mprun"] = run("%sgmprun -f make make(3)")
result["memory_raises"] = run("%sgmemit 1/0")
result["memory_after"] = run("%sgmemit y = [0] * 10")
result["mprun_raises"] = run("%sgmprun -f make make(None)")
result["mprun_after"] = run("%sgmprun -f make make(1)")

print(json.dumps(result))
