"""record under load: deadlines kept, time accounted, shares and target
slowdown, spyglass side by side with py-spy and Austin, in one run.

  1. Deadlines under stress-ng --cpu 2 and --cpu 8, at 100 Hz and 1 kHz,
     recording the 70/20/10 target (tests/targets/record_split.py) for
     --seconds (20 by default): the fraction of deadlines delivered (on
     time + late) and missed; the time the profile accounts for against
     the target's own clocks, twice: the stacks holding its loop
     function, main(), against main's wall time (the thread's own truth;
     frames are told apart by file too, as site.py has a main()), and the
     stacks holding the three functions against the wall time each
     measured from its first line to its last (which leaves out its call,
     its return and the loop between them: docs/record.md says why that
     matters under load); and the largest error of the three shares
     against the target's own time.thread_time (and wall time) split.
     spyglass with the priority it may take (root here: SCHED_FIFO) and
     without it (run under setpriv without CAP_SYS_NICE); py-spy default
     and --nonblocking; Austin. Each sampler's deadlines: spyglass counts
     them; for the others, delivered = samples / (rate x the functions'
     wall time), what they took against what they were asked.
  2. Target slowdown, no stress-ng: three workloads (bench/load_workloads.py:
     the book's julia, a ray tracer, json and regular expressions) plain and
     under each sampler at 100 Hz and 1 kHz, --repeat rounds, each round
     every configuration once in a shuffled order. The target measures
     itself around its work: user+sys CPU time (the main figure: load
     moves it far less than wall time), wall time, and the times it was
     stopped (voluntary context switches of a CPU-bound program). Each
     run is compared with the plain run of its round; the table gives the
     median ratio and a distribution-free 95% interval of the median, and
     a second plain run per round measures the noise floor the same way.
     This machine kind (a VM) exposes no hardware counters
     (perf stat -e instructions:u,cycles:u says <not supported>), so
     instructions and cycles are not measured.

  3. Diagnosis of the deadlines spyglass misses with priority
     (--only diagnose): --runs recordings at 1 kHz under stress-ng --cpu 8,
     each with what the metadata says of its loop (deadlines missed while a
     tick still ran against those lost waiting to be woken, those missed
     with the priority raised, the times it raised it and the ticks taken
     raised), the VM's steal time
     over the run (/proc/stat), and the other real-time threads seen on
     the machine halfway through (which a SCHED_FIFO thread at the lowest
     priority waits behind).

--baseline SPYGLASS adds the rows of another spyglass executable (e.g. a
build of an earlier commit) beside this tree's, named "spyglass (before)".
stress-ng always runs under timeout(1), so that no load generator
outlives the benchmark.

py-spy and Austin come from PyPI (py-spy, austin-dist) in .bench/venv
(`make bench-venv`), or --peers DIR. stress-ng from Debian (apt-get
install stress-ng).

usage: python bench/load_bench.py [--version 3.12] [--seconds 20]
           [--repeat 10] [--only deadlines|slowdown|diagnose] [--runs 3]
           [--peers DIR] [--baseline SPYGLASS] [--save PREFIX]
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, installed, machine, median

SPLIT = ROOT / "tests" / "targets" / "record_split.py"
WORKLOADS_PY = ROOT / "bench" / "load_workloads.py"
TMP = Path(tempfile.mkdtemp())
NAMES = ("seventy", "twenty", "ten")
NO_NICE = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps",
           "-sys_nice"]



def named(name, file):
    """A frame's key: its function's name when in the target, else the
    name marked as another file's (site.py's main() runs at every
    start-up, and must not pass for the target's)."""
    return name if file.endswith(SPLIT.name) else f"{name}@{file}"


def func(frame):
    # py-spy: "name (file:line)"
    name, _, where = frame.partition(" (")
    return named(name, where.rpartition(":")[0])


def held(stacks, names):
    """The weight of the stacks holding any of names."""
    return sum(w for s, w in stacks.items() if s & set(names))


def shares_from(stacks):
    """{name: share} of the weight whose stack holds each name, among the
    three."""
    by = {n: held(stacks, (n,)) for n in NAMES}
    total = sum(by.values()) or 1
    return {n: by[n] / total for n in NAMES}


def folded(path, parse, count=False):
    """{frozenset of function names: weight} of a folded file (or its
    number of lines, with count)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        stack, _, n = line.rpartition(" ")
        key = frozenset(parse(f) for f in stack.split(";"))
        out[key] = out.get(key, 0) + (1 if count else int(n.split(",")[0]))
    return out


def speedscope(path):
    """{frozenset of names: seconds} of spyglass's JSON."""
    doc = json.loads(Path(path).read_text())
    frames = doc["shared"]["frames"]
    out = {}
    for prof in doc["profiles"]:
        for s, w in zip(prof["samples"], prof["weights"]):
            key = frozenset(named(frames[i]["name"], frames[i]["file"])
                            for i in s)
            out[key] = out.get(key, 0) + w / 1e9
    return out


def austin_frame(f):
    # file:function:line (Austin 3); the function is the middle field.
    parts = f.rsplit(":", 2)
    return named(parts[1], parts[0]) if len(parts) == 3 else f


def target_args(secs):
    return [str(SPLIT), str(secs), str(TMP / "truth.json"),
            str(TMP / "loop.json")]


def stress(cpus, secs):
    """stress-ng --cpu cpus for at most secs, under timeout(1): stopped by
    the caller when done, and by timeout if the caller never gets to."""
    p = subprocess.Popen(["timeout", str(int(secs) + 1), "stress-ng",
                          "--cpu", str(cpus), "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return p


def unstress(p):
    p.terminate()  # timeout passes it on to stress-ng
    p.wait()


def run_spyglass(py, rate, secs, priority, exe=None):
    out = TMP / "sg.json"
    cmd = ([] if priority else NO_NICE) + [
        str(exe or py.spyglass), "record", "-r", str(rate), "-o", str(out),
        "--", str(py.python)] + target_args(secs)
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    m = re.search(r"\((\d+) on time, (\d+) late, (\d+) missed\)", p.stderr)
    w = re.search(r"stand for ([\d.]+) s", p.stderr)
    d = re.search(r"ticks in ([\d.]+) s", p.stderr)
    if p.returncode or not m or not w or not d:
        raise RuntimeError(p.stderr[-2000:])
    on, late, missed = (int(x) for x in m.groups())
    due = on + late + missed
    return {"delivered": (on + late) / due, "missed": missed / due,
            "stacks": speedscope(out),
            "whole": (float(w.group(1)), float(d.group(1)))}


def run_pyspy(peers, py, rate, secs, nonblocking):
    out = TMP / "pyspy.txt"
    cmd = [str(peers / "py-spy"), "record", "-r", str(rate), "-f", "raw",
           "-o", str(out)] + (["--nonblocking"] if nonblocking else []) + [
        "--", str(py.python)] + target_args(secs)
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    # py-spy counts samples: each stands for one interval.
    stacks = {k: n / rate for k, n in folded(out, func).items()}
    return {"stacks": stacks, "samples": held(stacks, NAMES) * rate}


def run_austin(peers, py, rate, secs):
    out = TMP / "austin.txt"
    cmd = [str(peers / "austin"), "-i", str(int(1e6 / rate)), "-o",
           str(out), str(py.python)] + target_args(secs)
    p = subprocess.run(cmd, capture_output=True, text=True, env=py.env)
    if p.returncode:
        raise RuntimeError(p.stderr[-2000:])
    # Austin weighs each sample by the time since the previous one (us).
    stacks = {k: us / 1e6 for k, us in folded(out, austin_frame).items()}
    counts = folded(out, austin_frame, count=True)
    return {"stacks": stacks, "samples": held(counts, NAMES)}


def truth():
    """The target's own measures: each function's CPU and wall time, and
    under "loop" main's (the whole loop)."""
    got = json.loads((TMP / "truth.json").read_text())
    got["loop"] = json.loads((TMP / "loop.json").read_text())
    return got


def figures(r, got, rate, run_wall):
    """One row's figures from a run and the target's truth."""
    cpu = sum(got[k]["cpu"] for k in NAMES)
    fwall = sum(got[k]["wall"] for k in NAMES)
    shares = shares_from(r["stacks"])
    # Samples the peers took in the three functions, of those their rate
    # asked for while the functions ran.
    delivered = r.get("delivered", min(1.0, r.get("samples", 0) /
                                       (rate * fwall)))
    # The whole profile against how long sampling lasted (spyglass's own
    # figure; for the peers, their whole run, start-up included).
    whole, span = r.get("whole", (sum(r["stacks"].values()), run_wall))
    return {
        "delivered": delivered, "missed": r.get("missed", 1 - delivered),
        "thread": held(r["stacks"], ("main",)) /
        got["loop"]["wall"],
        "functions": held(r["stacks"], NAMES) / fwall,
        "coverage": fwall / got["loop"]["wall"],
        "whole": whole / span,
        "err_cpu": max(abs(shares[k] - got[k]["cpu"] / cpu) for k in NAMES),
        "err_wall": max(abs(shares[k] - got[k]["wall"] / fwall)
                        for k in NAMES)}


def deadlines(py, peers, secs, save, baseline=None, only=None):
    samplers = [("spyglass (priority)", "sg", True)] + (
        [("spyglass (before, priority)", "before", True)]
        if baseline else []) + [
                ("spyglass (no priority)", "sg", False),
                ("py-spy", "pyspy", False),
                ("py-spy --nonblocking", "pyspy", True),
                ("Austin", "austin", None)]
    samplers = [s for s in samplers if not only or s[0] in only]
    print(f"### Deadlines under load ({secs:g} s each, the 70/20/10 target)"
          "\n")
    print("| load | rate | sampler | delivered | missed | accounted / the "
          "thread's wall (main) | accounted / the functions' own wall | "
          "whole profile / sampling time | share error vs thread_time (vs "
          "wall), points | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for cpus in (2, 8):
        # Each run lasts secs and some start-up; the margin is generous.
        stress_p = stress(cpus, 2 * len(samplers) * (secs + 10))
        try:
            for rate in (100, 1000):
                for label, kind, flag in samplers:
                    if kind == "austin" and not (peers / "austin").exists():
                        continue
                    t0 = time.monotonic()
                    if kind == "sg":
                        r = run_spyglass(py, rate, secs, flag)
                    elif kind == "before":
                        r = run_spyglass(py, rate, secs, flag, baseline)
                    elif kind == "pyspy":
                        r = run_pyspy(peers, py, rate, secs, flag)
                    else:
                        r = run_austin(peers, py, rate, secs)
                    f = figures(r, truth(), rate, time.monotonic() - t0)
                    f.update(load=cpus, rate=rate, sampler=label,
                             loadavg=os.getloadavg()[0])
                    rows.append(f)
                    print(f"| --cpu {cpus} | {rate} Hz | {label} | "
                          f"{100 * f['delivered']:.1f}% | "
                          f"{100 * f['missed']:.1f}% | "
                          f"{100 * f['thread']:.2f}% | "
                          f"{100 * f['functions']:.2f}% | "
                          f"{100 * f['whole']:.1f}% | "
                          f"{100 * f['err_cpu']:.1f} "
                          f"({100 * f['err_wall']:.1f}) | "
                          f"{f['loadavg']:.1f} |", flush=True)
        finally:
            unstress(stress_p)
    print()
    if save:
        Path(save).write_text(json.dumps(rows))


WORKLOADS = (("julia", 160), ("raytrace", 120), ("jsonre", 30))
LINE = re.compile(r"^([\d.]+) ([\d.]+) (\d+) (\d+)$", re.M)


def samplers(py, peers, only=None, baseline=None):
    """(name, argv prefix) of each run of the slowdown table: plain twice
    (the second measures the noise floor), then each sampler at each
    rate."""
    configs = [("plain", []), ("plain again", [])]
    for rate in (100, 1000):
        sg = [str(py.spyglass), "record", "-r", str(rate), "-o",
              str(TMP / "s.json"), "--"]
        if baseline:
            configs.append((f"spyglass (before) {rate} Hz",
                            [str(baseline)] + sg[1:]))
        configs += [
            (f"spyglass {rate} Hz", sg),
            (f"spyglass (no priority) {rate} Hz", NO_NICE + sg),
            (f"py-spy {rate} Hz", [str(peers / "py-spy"), "record", "-r",
                                   str(rate), "-f", "raw", "-o",
                                   str(TMP / "p.txt"), "--"]),
            (f"py-spy --nonblocking {rate} Hz",
             [str(peers / "py-spy"), "record", "--nonblocking", "-r",
              str(rate), "-f", "raw", "-o", str(TMP / "p.txt"), "--"])]
        if (peers / "austin").exists():
            configs.append((f"Austin {rate} Hz", [
                str(peers / "austin"), "-i", str(int(1e6 / rate)), "-o",
                str(TMP / "a.txt")]))
    return [c for c in configs if not only or c[0] in only or
            c[0].startswith("plain")]


def median_ci(xs):
    """The median of xs and a distribution-free interval around it of at
    least 95% confidence: order statistics k and n-k+1, k the largest with
    P(Binomial(n, 1/2) < k) <= 2.5%."""
    xs = sorted(xs)
    n, k, tail = len(xs), 0, 0.0
    while True:
        nxt = tail + math.comb(n, k) / 2 ** n
        if nxt > 0.025:
            break
        tail, k = nxt, k + 1
    if k == 0:  # too few runs for an interval
        return median(xs), xs[0], xs[-1]
    return median(xs), xs[k - 1], xs[n - k]


def pct(ratios):
    m, lo, hi = median_ci(ratios)
    return (f"{100 * (m - 1):+.1f}% [{100 * (lo - 1):+.1f}, "
            f"{100 * (hi - 1):+.1f}]")


def slowdown_runs(py, peers, repeat, work, size, seed, only, baseline):
    """{config: [(wall, cpu, voluntary, involuntary switches) per round]}
    and the failed runs; each round runs every config once, in a shuffled
    order, so that the machine's drift falls on all alike."""
    configs = samplers(py, peers, only, baseline)
    got = {name: [] for name, _ in configs}
    failed = {}
    rng = random.Random(seed)
    for _ in range(repeat):
        order = list(configs)
        rng.shuffle(order)
        for name, pre in order:
            cmd = pre + [str(py.python), str(WORKLOADS_PY), work, str(size)]
            p = subprocess.run(cmd, capture_output=True, text=True,
                               env=py.env)
            m = LINE.findall(p.stdout)
            if p.returncode or not m:
                # Austin now and then fails to see the Python it started
                # (under load): the run is counted as failed, not timed.
                failed[name] = failed.get(name, 0) + 1
                got[name].append(None)
                continue
            w, c, v, n = m[-1]
            got[name].append((float(w), float(c), int(v), int(n)))
    return configs, got, failed


def slowdown(py, peers, repeat, save, only=None, works=None, baseline=None):
    print(f"### Target slowdown ({repeat} rounds, each config once per "
          "round in a shuffled order)\n")
    print("Ratios are per round, against that round's plain run; median "
          "[95% interval of the median]. *plain again* against *plain* is "
          "the noise floor.\n")
    raw = {}
    for i, (work, size) in enumerate(WORKLOADS):
        if works and work not in works:
            continue
        configs, got, failed = slowdown_runs(py, peers, repeat, work, size,
                                             i, only, baseline)
        raw[work] = {"size": size, "runs": got}
        base = got["plain"]
        print(f"#### {work} {size}\n")
        print("| run | user+sys median | user+sys vs plain | wall median | "
              "wall vs plain | stopped (voluntary switches) | preempted "
              "(involuntary switches) | failed |")
        print("|---|---|---|---|---|---|---|---|")
        for name, _ in configs:
            pairs = [(r, b) for r, b in zip(got[name], base) if r and b]
            ok = [r for r, _ in pairs]
            if not ok:
                print(f"| {name} | - | - | - | - | - | - | "
                      f"{failed.get(name, 0)} |")
                continue
            cpu = [r[1] / b[1] for r, b in pairs]
            wall = [r[0] / b[0] for r, b in pairs]
            vs = "" if name == "plain" else pct(cpu)
            ws = "" if name == "plain" else pct(wall)
            print(f"| {name} | {median([r[1] for r in ok]):.3f} s | {vs} | "
                  f"{median([r[0] for r in ok]):.3f} s | {ws} | "
                  f"{median([r[2] for r in ok]):g} | "
                  f"{median([r[3] for r in ok]):g} | "
                  f"{failed.get(name, 0)} |", flush=True)
        print()
    pooled(raw)
    if save:
        Path(save).write_text(json.dumps(raw))


def pooled(raw):
    """The table over all workloads: each run against its round's plain
    one, pooled; the per-workload medians beside."""
    names = list(next(iter(raw.values()))["runs"]) if raw else []
    print("#### Pooled over " + ", ".join(raw) + "\n")
    print("| run | user+sys vs plain: median [95%] | per workload | wall vs "
          "plain: median [95%] | per workload | stopped per run | preempted, "
          "more than plain |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        if name == "plain":
            continue
        cpu, wall, per_cpu, per_wall, stops, more = [], [], [], [], [], []
        for w in raw.values():
            pairs = [(r, b) for r, b in zip(w["runs"][name], w["runs"]["plain"])
                     if r and b]
            c = [r[1] / b[1] for r, b in pairs]
            t = [r[0] / b[0] for r, b in pairs]
            cpu += c
            wall += t
            per_cpu.append(f"{100 * (median(c) - 1):+.1f}%" if c else "-")
            per_wall.append(f"{100 * (median(t) - 1):+.1f}%" if t else "-")
            stops += [r[2] for r, _ in pairs]
            more += [r[3] - b[3] for r, b in pairs]
        if not cpu:
            continue
        print(f"| {name} | {pct(cpu)} | {' / '.join(per_cpu)} | {pct(wall)} "
              f"| {' / '.join(per_wall)} | {median(stops):g} | "
              f"{median(more):+g} |")
    print()


def cpu_times():
    """(steal, total) jiffies of all CPUs, from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0]
         .split()[1:]]
    return f[7], sum(f[:8])


def rt_threads(skip):
    """The real-time threads on the machine but skip's (a pid), as
    "comm:priority" strings (stat fields 40 and 41)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == skip:
            continue
        try:
            tasks = list((proc / "task").iterdir())
        except OSError:
            continue
        for t in tasks:
            try:
                stat = (t / "stat").read_text()
            except OSError:
                continue
            rest = stat.rpartition(")")[2].split()
            if int(rest[38]) in (1, 2):  # SCHED_FIFO, SCHED_RR
                comm = stat[stat.index("(") + 1:stat.rindex(")")]
                out.append(f"{comm}:{rest[37]}")
    return out


def diagnose(py, secs, runs, baseline):
    """Where the deadlines spyglass misses with priority at 1 kHz under
    stress-ng --cpu 8 go: see the module's docstring."""
    exes = [("spyglass", py.spyglass)] + (
        [("spyglass (before)", baseline)] if baseline else [])
    print(f"### Deadlines at 1 kHz under --cpu 8, with priority ({secs:g} s "
          "each)\n")
    print("| run | sampler | delivered | missed | of which while a tick ran "
          "| while raised | raises | ticks raised | steal | other real-time "
          "threads | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    stress_p = stress(8, runs * len(exes) * (secs + 15))
    try:
        for i in range(runs):
            for label, exe in exes:
                out = TMP / "diag.trace.json"
                cmd = [str(exe), "record", "-r", "1000", "-o", str(out),
                       "--", str(py.python)] + target_args(secs)
                s0 = cpu_times()
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True,
                                     env=py.env)
                time.sleep(secs / 2)
                others = rt_threads(p.pid)
                _, err = p.communicate()
                s1 = cpu_times()
                if p.returncode:
                    raise RuntimeError(err[-2000:])
                meta = json.loads(out.read_text())["otherData"]
                on, late, missed = (int(meta[k]) for k in (
                    "deadlines_on_time", "deadlines_late",
                    "deadlines_missed"))
                due = on + late + missed
                row = {"sampler": label, "delivered": (on + late) / due,
                       "missed": missed, "due": due,
                       "in_tick": meta.get("deadlines_missed_in_tick"),
                       "missed_raised": meta.get("deadlines_missed_raised"),
                       "raises": meta.get("sampler_raises"),
                       "raised": meta.get("sampler_raised_ticks"),
                       "steal": (s1[0] - s0[0]) / max(1, s1[1] - s0[1]),
                       "rt": others, "loadavg": os.getloadavg()[0]}
                rows.append(row)
                raised = ("-" if row["raised"] is None else
                          f"{100 * int(row['raised']) / (on + late):.0f}%")
                print(f"| {i + 1} | {label} | "
                      f"{100 * row['delivered']:.2f}% | {missed} of {due} | "
                      f"{row['in_tick'] or '-'} | "
                      f"{row['missed_raised'] or '-'} | "
                      f"{row['raises'] or '-'} | "
                      f"{raised} | {100 * row['steal']:.1f}% | "
                      f"{', '.join(sorted(set(others))) or 'none'} | "
                      f"{row['loadavg']:.1f} |", flush=True)
    finally:
        unstress(stress_p)
    print()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="3.12")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--only", choices=("deadlines", "slowdown", "diagnose"))
    ap.add_argument("--runs", type=int, default=3, help="diagnose: runs")
    ap.add_argument("--baseline", type=Path, help="another spyglass "
                    "executable, whose rows are added as spyglass (before)")
    ap.add_argument("--workload", action="append", help="only this "
                    "slowdown workload (julia, raytrace, jsonre; repeatable)")
    ap.add_argument("--sampler", action="append", help="only this "
                    "run, by its name in the table (repeatable): besides "
                    "the plain ones in the slowdown table")
    ap.add_argument("--save", help="the raw figures as JSON, to PREFIX-"
                    "deadlines.json and PREFIX-slowdown.json")
    ap.add_argument("--peers", type=Path,
                    default=ROOT / ".bench" / "venv" / "bin")
    a = ap.parse_args()
    if not (a.peers / "py-spy").exists():
        sys.exit(f"no py-spy in {a.peers}: make bench-venv, or --peers DIR")
    if a.only != "slowdown" and not shutil.which("stress-ng"):
        sys.exit("no stress-ng: apt-get install stress-ng")
    (py,) = installed([a.version])
    print(f"Machine: {machine()}; load average before: "
          f"{os.getloadavg()[0]:.1f}; CPython {py.version}; uid "
          f"{os.geteuid()}\n")
    if a.only == "diagnose":
        rows = diagnose(py, a.seconds, a.runs, a.baseline)
        if a.save:
            Path(f"{a.save}-diagnose.json").write_text(json.dumps(rows))
        return
    if a.only != "slowdown":
        deadlines(py, a.peers, a.seconds,
                  a.save and f"{a.save}-deadlines.json", a.baseline,
                  a.sampler)
    if a.only != "deadlines":
        slowdown(py, a.peers, a.repeat, a.save and f"{a.save}-slowdown.json",
                 a.sampler, a.workload, a.baseline)


if __name__ == "__main__":
    main()
