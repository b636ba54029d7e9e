"""spyglass timeit against python -m timeit, on every CPython present.

For the seed chapter's three statements and for `pass` (the per-loop
overhead of the timing loop itself): best time per loop from each tool,
runs interleaved, repeated, medians of the bests. spyglass times the three
statements in one command, as the user would; timeit once per statement.

usage: python bench/timeit_compare.py [--repeat K] [--versions 3.8,3.12]
"""
import argparse
import re

from benchlib import callgrind_instructions, installed, machine, median

SEED = ["'-'.join(str(n) for n in range(100))",
        "'-'.join([str(n) for n in range(100)])",
        "'-'.join(map(str, range(100)))"]
RESULT = re.compile(r"(\d+) loops?, best of \d+: ([\d.e+-]+) "
                    r"(nsec|usec|msec|sec) per loop")
SCALE = {"nsec": 1e-9, "usec": 1e-6, "msec": 1e-3, "sec": 1.0}


def bests(text):
    return [float(t) * SCALE[u] for _, t, u in RESULT.findall(text)]


def per_loop_instructions(py, tool):
    """Instructions per loop of `pass` under callgrind: the difference
    between 400k and 200k loops, so start-up and calibration cancel."""
    counts = []
    for n in (200000, 400000):
        if tool == "timeit":
            code = f"import timeit; timeit.main(['-n','{n}','-r','1','pass'])"
            argv = [py.python, "-c", code]
        else:
            argv = [py.spyglass, "timeit", "-n", str(n), "-r", "1", "pass"]
        counts.append(callgrind_instructions(argv, env=py.env,
                                             exec_chain=tool != "timeit"))
    return (counts[1] - counts[0]) / 200000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--versions")
    ap.add_argument("--callgrind-only", action="store_true")
    args = ap.parse_args()
    pys = installed(args.versions.split(",") if args.versions else None)
    print("Per-loop cost of the timing loop (`pass`), callgrind "
          "instructions per loop:\n")
    print("| CPython | python -m timeit | spyglass timeit |")
    print("|---|---:|---:|")
    for py in pys:
        print(f"| {py.version} | {per_loop_instructions(py, 'timeit'):.1f} "
              f"| {per_loop_instructions(py, 'spyglass'):.1f} |")
    print()
    if args.callgrind_only:
        return
    print(f"Machine: {machine()}. Best per loop (timeit's figure), median "
          f"of {args.repeat} interleaved runs of each tool.\n")
    print("| CPython | statement | python -m timeit | spyglass timeit | "
          "ratio |")
    print("|---|---|---:|---:|---:|")
    for py in pys:
        ours = {s: [] for s in SEED + ["pass"]}
        theirs = {s: [] for s in SEED + ["pass"]}
        for _ in range(args.repeat):
            out = py.spy("timeit", *SEED, check=True).stdout
            for s, b in zip(SEED, bests(out)):
                ours[s].append(b)
            for s in SEED:
                out = py.py("-m", "timeit", s, check=True).stdout
                theirs[s].append(bests(out)[0])
            n = "10000000"
            ours["pass"].append(bests(py.spy("timeit", "-n", n, "pass",
                                             check=True).stdout)[0])
            theirs["pass"].append(bests(py.py("-m", "timeit", "-n", n,
                                              "pass", check=True).stdout)[0])
        for s in SEED + ["pass"]:
            a, b = median(theirs[s]), median(ours[s])
            unit = 1e9 if s == "pass" else 1e6
            name = "ns" if s == "pass" else "µs"
            print(f"| {py.version} | `{s}` | {a * unit:.2f} {name} | "
                  f"{b * unit:.2f} {name} | {b / a:.3f} |")


if __name__ == "__main__":
    main()
