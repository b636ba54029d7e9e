"""`spyglass record`: the sampling profiler, on every CPython."""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import truth
from terminal import run_on_pty

TARGETS = Path(__file__).resolve().parent / "targets"
# The end report's figures: the ticks (every thread read at once), the
# samples (one per thread stack taken), and the seconds sampling lasted.
END_LINE = re.compile(r"spyglass record: (\d+) ticks in ([\d.]+) s \(\d+ on "
                      r"time, \d+ late, \d+ missed\), (\d+) samples from "
                      r"\d+ process")
HEADER = re.compile(r"(\d+) samples \(thread stacks\) in (\d+) ticks at "
                    r"([\d.]+) ms intervals over ([\d.]+) s\n")


def collapsed(path):
    """{stack tuple: count} from a collapsed-stacks file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        out[tuple(stack.split(";"))] = out.get(tuple(stack.split(";")),
                                              0) + int(n)
    return out


def func(frame):
    return frame.split(" (")[0]


def shares(stacks, names):
    """Share of samples whose innermost frames include each name."""
    total = sum(stacks.values())
    res = {}
    for name in names:
        res[name] = sum(n for s, n in stacks.items()
                        if any(func(f) == name for f in s)) / total
    return res, total


def record(py, *args, out=None, timeout=120):
    proc = py.spy("record", *args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_hot_function_dominates_and_split_is_accurate(py, tmp_path):
    out, report = tmp_path / "r.collapsed", tmp_path / "truth.json"
    names = ("seventy", "twenty", "ten")
    # The target splits its CPU time 70/20/10 by construction and measures
    # what each function got in this run. The sampler counts a thread that
    # is running or waiting for a CPU (state R), so what its shares estimate
    # is each function's wall time, which a busy machine moves away from
    # 70/20/10 (a preempted function lasts a time slice longer): the truth
    # is the wall time the target measured. A run with too few samples to
    # tell a 5-point error is inconclusive and is made longer.
    for seconds in ("4", "12"):
        proc = record(py, "-r", "1000", "-o", out, "--", py.python,
                      TARGETS / "record_split.py", seconds, report)
        stacks = collapsed(out)
        counts = {k: sum(n for s, n in stacks.items()
                         if any(func(f) == k for f in s)) for k in names}
        n = sum(counts.values())
        if truth.halfwidth(0.5, n) < 0.05:
            break
    assert truth.halfwidth(0.5, n) < 0.05, (n, proc.stderr)
    got = json.loads(report.read_text())
    cpu = {k: got[k]["cpu"] for k in names}
    wall = {k: got[k]["wall"] for k in names}
    # The target did what it says, whatever the load.
    assert all(abs(cpu[k] / sum(cpu.values()) - want) < 0.01 for k, want in
               zip(names, (0.70, 0.20, 0.10))), cpu
    assert not truth.share_misses(counts, wall), (counts, wall, proc.stderr)
    # The same check fails for a sampler that gave 10% of the samples to
    # the wrong function.
    for src, dst in (("seventy", "ten"), ("seventy", "twenty"),
                     ("twenty", "ten"), ("ten", "seventy")):
        assert truth.share_misses(truth.moved(counts, src, dst, 0.10),
                                  wall), (src, dst, counts, wall)
    # Line numbers are the spin loop's lines inside spin().
    assert any(re.fullmatch(r"spin \(.*record_split.py:1[34]\)", s[-1])
               for s in stacks)
    # End report: counts and top functions on stderr.
    assert END_LINE.search(proc.stderr), proc.stderr
    assert "Top functions by own (innermost) samples" in proc.stderr
    assert "Top lines by own samples" in proc.stderr
    assert f"wrote {out}" in proc.stderr


def test_threads_do_not_multiply_the_runs_duration(py, tmp_path):
    """Regression: the report said "N samples (X s sampled)" with N the
    samples of every thread and X = N times the interval, so three busy
    threads made a 2 s run read as 6 s; and the end line called the ticks
    "samples" too, a second, different count for the same run. Now there
    is one count of samples, the ticks are called ticks, and the only
    duration is how long sampling lasted: at most the spyglass process's
    own lifetime, measured here with a clock load cannot bend (the
    program's own lifetime, printed for the record, is shorter by
    spyglass's start and end)."""
    out = tmp_path / "t.txt"
    start = time.monotonic()
    proc = record(py, "-o", out, "--", py.python,
                  TARGETS / "record_three_busy.py", "0.5")
    outer = time.monotonic() - start
    lifetime = float(proc.stdout.split()[-1])
    m = END_LINE.search(proc.stderr)
    assert m, proc.stderr
    ticks, secs, samples = int(m.group(1)), float(m.group(2)), int(m.group(3))
    # The three busy threads were sampled together: more samples than
    # ticks, or the test would not tell the two apart.
    assert samples > ticks > 0, proc.stderr
    assert samples <= 4 * ticks, proc.stderr  # four threads at most
    assert secs <= outer, (secs, outer, lifetime, proc.stderr)
    # The text report (its own file, and the end report on stderr) has the
    # same figures in its header, and no other duration or count.
    for text in (out.read_text(), proc.stderr.split("\n\n", 1)[1]):
        h = HEADER.match(text)
        assert h, text[:300]
        assert (int(h.group(1)), int(h.group(2)), float(h.group(4))) == (
            samples, ticks, secs), (h.group(0), m.group(0))
        # Ticks at 10 ms fit in the time sampling lasted.
        assert float(h.group(3)) == 10.0
        assert (ticks - 1) * 0.010 <= secs + 0.005, h.group(0)
    counts = set(re.findall(r"(\d+) samples\b", proc.stderr))
    assert counts == {str(samples)}, proc.stderr
    assert not re.search(r"s sampled", proc.stderr + out.read_text())


def test_function_mode_has_no_lines(py, tmp_path):
    out = tmp_path / "r.collapsed"
    record(py, "--function", "-o", out, "--", py.python,
           TARGETS / "record_split.py", "1")
    lines = {f for s in collapsed(out) for f in s}
    # One frame per function: its label carries the def line only.
    spins = {f for f in lines if func(f) == "spin"}
    assert len(spins) == 1 and spins.pop().endswith("record_split.py:11)")


def test_idle_gil_and_threads(py, tmp_path):
    report = tmp_path / "truth.json"

    def run(*flags):
        out = tmp_path / ("t%d.collapsed" % len(flags))
        record(py, "-r", "200", *flags, "-o", out, "--", py.python,
               TARGETS / "record_threads.py", "1.5", report)
        return collapsed(out)

    workers = ("busy_worker", "sleepy_worker")

    def check_active(stacks):
        """Only a runnable thread is sampled, and the sleeper is runnable
        only while it starts and wakes: for as long as its thread measured
        (schedstat counts time on a CPU and waiting for one, so a loaded
        machine makes that longer instead of failing the test). Against
        each thread's runnable time inside its worker function, the
        sleeper's count may not be too high, the spinner's not too low;
        the rest (the main thread, the threads' start) is at most as long
        as those threads were runnable outside the workers."""
        got = json.loads(report.read_text())
        if any(v is None for r in got.values() for v in r):
            pytest.skip("no /proc/PID/task/TID/schedstat on this kernel")
        spans = {k: got[k][1] - got[k][0] for k in workers}
        spans["other"] = got["main"][1] + sum(got[k][0] for k in workers)
        counts = {k: sum(n for s, n in stacks.items()
                         if any(func(f) == k for f in s)) for k in workers}
        counts["other"] = sum(stacks.values()) - sum(counts.values())
        found = truth.share_misses(counts, spans, {"sleepy_worker": "above",
                                                   "busy_worker": "below"})
        return found, counts, spans

    found, counts, spans = check_active(run())
    assert not found, (found, counts, spans)
    # Were the sleeper counted while it sleeps, or the spinner not at all,
    # the same check would fail. (A quarter of all samples moved to the
    # sleeper: taken from the spinner, the one thread sure to have that
    # many; "other" may hold only a handful.)
    assert truth.share_misses(truth.moved(counts, "busy_worker",
                                          "sleepy_worker", 0.25), spans,
                              {"sleepy_worker": "above"})
    assert truth.share_misses(truth.moved(counts, "busy_worker", "other",
                                          0.25), spans,
                              {"busy_worker": "below"})
    idle, _ = shares(run("--idle"), ["busy_worker", "sleepy_worker"])
    # Three threads (main waits in join): each about a third of samples.
    assert idle["sleepy_worker"] > 0.2 and idle["busy_worker"] > 0.2, idle
    # Holding the GIL: the sleeper holds it only while runnable, so the
    # same truth bounds it.
    found, counts, spans = check_active(run("--idle", "--gil"))
    assert not found, (found, counts, spans)
    threads = run("--idle", "--threads")
    roots = {s[0] for s in threads}
    assert len(roots) == 3 and all(r.startswith("thread (0x")
                                   for r in roots), roots
    # Named as threading names them.
    assert {r.rpartition(": ")[2] for r in roots} == {"MainThread", "busy",
                                                      "sleepy"}, roots


def test_threads_reusing_an_ident_keep_their_names(py, tmp_path):
    # Regression: roots were cached by thread ident alone, which glibc
    # reuses for the next thread started, so "second" and "third" were
    # counted under "first".
    out = tmp_path / "reuse.collapsed"
    proc = record(py, "-r", "200", "--threads", "-o", out, "--", py.python,
                  TARGETS / "record_reuse.py", "0.4")
    names = {s[0].rpartition(": ")[2] for s, n in collapsed(out).items()
             if any(func(f) == "busy" for f in s)}
    assert names == {"first", "second", "third"}, (names, proc.stdout)
    assert "distinct idents of 3" in proc.stdout, proc.stdout
    if proc.stdout.startswith("3 "):
        pytest.skip("the C library gave every thread a new ident: the "
                    "reuse this guards did not happen")


def test_a_thread_named_after_it_was_first_sampled(py, tmp_path):
    # Regression: a thread's name was looked up once, when it was first
    # sampled; one sampled before threading had named it (a thread still
    # starting, or this one, started with _thread and entered in threading
    # later) kept "thread 0x..." for its whole life.
    out = tmp_path / "late.collapsed"
    proc = record(py, "-r", "200", "--idle", "--threads", "-o", out, "--",
                  py.python, TARGETS / "record_late_name.py", "0.5", "1.0")
    stacks = collapsed(out)
    roots = {s[0].rpartition(": ")[2] for s in stacks}
    assert "named" in proc.stdout, proc.stdout
    busy = {s[0].rpartition(": ")[2] for s in stacks
            if any(func(f) == "unnamed_busy" for f in s)}
    assert busy == {"late-named"}, roots
    assert not any(r.startswith("thread 0x") for r in roots), roots


def test_subprocesses_of_a_pool(py, tmp_path):
    out = tmp_path / "p.collapsed"
    record(py, "--subprocesses", "-r", "200", "-o", out, "--", py.python,
           TARGETS / "record_pool.py")
    stacks = collapsed(out)
    procs = {s[0] for s in stacks}
    assert all(p.startswith("process ") for p in procs)
    workers = {s[0] for s in stacks if any(func(f) == "pool_task"
                                           for f in s)}
    assert len(workers) >= 2, procs  # both pool workers were followed
    # Without --subprocesses only the parent is sampled.
    out2 = tmp_path / "p2.collapsed"
    record(py, "-r", "200", "-o", out2, "--", py.python,
           TARGETS / "record_pool.py")
    assert not any(func(f) == "pool_task" for s in collapsed(out2)
                   for f in s)


def test_subprocesses_that_keep_coming_and_going(py, tmp_path):
    """Pools of workers for 2.5 s: more than 10 processes followed. The
    follower scans at 10 Hz; on a machine so busy that it saw fewer (9
    under ASan with four suites running), the pools run for 8 s, and at
    least two children must then have been followed (there are none at
    the start: a follower that follows no new child still fails). No
    share of the workers the target ran is asked for: how many of them,
    each living a fraction of a second, the follower catches depends on
    its speed (under ASan it followed 8 of 201 in 8 s, with 191 reads of
    exiting children dropped)."""
    out = tmp_path / "c.collapsed"
    for seconds in ("2.5", "8"):
        proc = record(py, "--subprocesses", "-r", "1000", "-o", out, "--",
                      py.python, TARGETS / "record_churn.py", seconds)
        m = re.search(r"(\d+) samples from (\d+) process(es)?\b",
                      proc.stderr)
        assert m, proc.stderr
        if int(m.group(2)) > 10:
            break
    assert re.search(r"record_churn: \d+ workers", proc.stderr), proc.stderr
    children = int(m.group(2)) - 1
    assert children >= 2, proc.stderr
    assert any(func(f) == "work" for s in collapsed(out) for f in s)


def test_formats_read_by_their_consumers(py, tmp_path):
    base = ["-r", "500", "--", py.python, TARGETS / "record_split.py", "1"]
    svg, pst, ss, ct = (tmp_path / n for n in
                        ("r.svg", "r.pstats", "r.speedscope.json",
                         "r.trace.json"))
    for path in (svg, pst, ss, ct):
        record(py, "-o", path, *base)
    ET.parse(svg)  # well-formed XML
    assert "seventy" in svg.read_text()
    # pstats: the target's own interpreter loads it.
    check = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); "
             "ks=[k for k in s.stats if k[2]=='seventy']; "
             "assert ks, list(s.stats)[:5]; "
             "assert all(c in s.stats for k in s.stats "
             "for c in s.stats[k][4])")
    res = py.py("-c", check, pst)
    assert res.returncode == 0, res.stderr
    data = json.loads(ss.read_text())
    assert data["$schema"].startswith("https://www.speedscope.app/")
    assert data["profiles"] and data["shared"]["frames"]
    trace = json.loads(ct.read_text())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    assert any(e.get("name", "").startswith("seventy") for e in events)


def test_text_format_top_functions_and_lines(py, tmp_path):
    out, report = tmp_path / "r.txt", tmp_path / "truth.json"
    record(py, "-r", "500", "-o", out, "--", py.python,
           TARGETS / "record_split.py", "1", report)
    text = out.read_text()
    m = re.match(r"(\d+) samples \(thread stacks\) in \d+ ticks at 2 ms "
                 r"intervals", text)
    assert m, text[:200]
    own = text.split("Top functions by own (innermost) samples:")[1]
    # The innermost function is spin(); the three callers hold it in turn.
    first = own.splitlines()[2]
    # Shares and times from the samples' weights, then the samples.
    assert re.search(r"\d+\.\d% +[\d.]+s +\d+\.\d% +[\d.]+s +\d+ +\d+  "
                     r"spin \(", first), own
    tot = text.split("Top functions by total (on the stack) samples:")[1]
    table = [l.split() for l in tot.split("\n\n")[0].splitlines()[2:]]
    rows = [(l.split("  ")[-1].split(" (")[0], int(l.split()[5])) for l in
            tot.split("\n\n")[0].splitlines()[2:]]
    # Ordered by time; no function on more stacks than were taken.
    times = [float(r[3].rstrip("s")) for r in table]
    totals = [n for _, n in rows]
    assert times == sorted(times, reverse=True) and max(totals) <= int(
        m.group(1)), tot
    # The three callers' totals are the wall time each had in this run
    # (what the target measured; see the split test above).
    got = json.loads(report.read_text())
    counts = {name: n for name, n in rows if name in got}
    assert len(counts) == 3, tot
    wall = {k: v["wall"] for k, v in got.items()}
    assert not truth.share_misses(counts, wall), (counts, wall)
    lines = text.split("Top lines by own samples:")[1]
    assert re.search(r"record_split.py:1[34] \(spin\)", lines)


def test_names_are_escaped_in_the_flame_graph(py, tmp_path):
    d = tmp_path / "a&b\"c'"
    d.mkdir()
    target = d / "evil.py"
    target.write_text(
        "import sys, time\n"
        "def f():\n"
        "    end = time.perf_counter() + 1.0\n"
        "    while time.perf_counter() < end: pass\n"
        "name = '<script>alert(1)</script>'\n"
        "kw = {'co_name': name}\n"
        "if sys.version_info >= (3, 11): kw['co_qualname'] = name\n"
        "f.__code__ = f.__code__.replace(**kw)\n"
        "f()\n")
    out = tmp_path / "e.svg"
    record(py, "-r", "500", "-o", out, "--", py.python, target)
    text = out.read_text()
    root = ET.fromstring(text)  # still well-formed
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # The only script elements are spyglass's own.
    scripts = [e for e in root.iter() if e.tag.endswith("script")]
    assert all("alert(1)" not in (e.text or "") for e in scripts)
    assert "a&amp;b" in text


# A program that says when it runs its own code, then spins.
READY_SPIN = "print('ready', flush=True)\nwhile True: pass\n"


class Sampling:
    """`spyglass record ARGS` of a program that prints "ready" first
    (READY_SPIN), with stderr on a pseudo-terminal so that spyglass shows
    its progress line. started() returns once the program runs and
    spyglass's progress line has moved on twice since (ticks taken while
    the program ran its own code): an event, not a guess of how long a busy
    machine needs. finish() collects the rest of stderr."""

    def __init__(self, py, *args):
        master, slave = os.openpty()
        self.proc = subprocess.Popen([py.spyglass, "record",
                                      *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=slave,
                                     env=py.env, text=True)
        os.close(slave)
        self.fd, self.text = master, ""

    def _read(self, until=None, timeout=60):
        """Read until until(text) holds, or to the end (None), or what is
        there already (False)."""
        deadline = time.monotonic() + timeout
        while not (until and until(self.text)):
            left = deadline - time.monotonic()
            assert left > 0, self.text[-500:]
            if not select.select([self.fd], [], [],
                                 0 if until is False else left)[0]:
                if until is False:
                    return
                continue
            try:
                data = os.read(self.fd, 4096)
            except OSError:  # EIO: every writer has closed the terminal
                data = b""
            if not data:
                assert not until, self.text[-500:]
                return
            self.text += data.decode(errors="replace")

    def started(self):
        assert self.proc.stdout.readline() == "ready\n"
        self._read(False)  # progress written before the program was ready
        mark = len(self.text)
        self._read(lambda t: len(re.findall(r"record: \d+ samples in \d+ "
                                            r"ticks", t[mark:])) >= 2)

    def finish(self):
        self.proc.wait(timeout=60)
        self._read()
        os.close(self.fd)
        return self.text.replace("\r\n", "\n")


def complete(out, report):
    """The file holds every stack the end report counted (at least one):
    nothing lost, whatever a busy machine let the sampler take."""
    m = re.search(r"(\d+) samples from", report)
    assert m, report[-2000:]
    assert sum(collapsed(out).values()) == int(m.group(1)) > 0, report


def test_ctrl_c_writes_a_complete_profile(py, tmp_path):
    out = tmp_path / "c.collapsed"
    run = Sampling(py, "-o", out, "--", py.python, "-c", READY_SPIN)
    run.started()
    run.proc.send_signal(signal.SIGINT)  # to spyglass alone: it forwards it
    err = run.finish()
    # The program got the signal: KeyboardInterrupt, as from a terminal.
    assert "KeyboardInterrupt" in err
    assert run.proc.returncode in (1, 130), err
    complete(out, err)


def test_sigterm_writes_profile_and_propagates(py, tmp_path):
    out = tmp_path / "t.collapsed"
    run = Sampling(py, "-o", out, "--", py.python, "-c", READY_SPIN)
    run.started()
    run.proc.terminate()
    err = run.finish()
    assert run.proc.returncode == 128 + signal.SIGTERM, err
    complete(out, err)


def test_short_lived_program(py, tmp_path):
    out = tmp_path / "s.collapsed"
    # 50 ms of its own CPU time: on a busy machine it lasts longer, as the
    # sampler's start does.
    code = ("import time\nt = time.thread_time()\n"
            "while time.thread_time() - t < 0.05: pass\n")
    proc = record(py, "-r", "1000", "-o", out, "--", py.python, "-c", code)
    assert sum(collapsed(out).values()) > 5, proc.stderr


def test_closed_stderr_does_not_lose_the_profile(py, tmp_path):
    out = tmp_path / "p.collapsed"
    proc = subprocess.Popen([py.spyglass, "record", "-r", "1000", "-o",
                             str(out), "--", py.python,
                             str(TARGETS / "record_split.py"), "0.5"],
                            stderr=subprocess.PIPE, env=py.env)
    proc.stderr.close()  # the reader of the report went away
    proc.wait(timeout=60)  # 500 deadlines: 10 samples are 2% of them
    assert proc.returncode == 0
    assert sum(collapsed(out).values()) > 10


def test_exit_status_and_output_are_the_programs(py, tmp_path):
    out = tmp_path / "x.collapsed"
    proc = py.spy("record", "-o", out, "--", py.python, "-c",
                  "import sys; print('hello'); sys.exit(3)")
    assert proc.returncode == 3
    assert proc.stdout == "hello\n"
    assert out.exists()


def test_attach_by_pid(py, tmp_path):
    target = subprocess.Popen([py.python, str(TARGETS / "record_split.py"),
                               "30"], env=py.env)
    try:
        # Attached once the target runs its main loop (a busy machine may
        # take long to start it).
        deadline = time.monotonic() + 60
        while "    main (" not in py.spy("dump", "--pid",
                                          str(target.pid)).stdout:
            assert time.monotonic() < deadline and target.poll() is None
            time.sleep(0.05)
        out = tmp_path / "a.collapsed"
        # -p is the pid, as in py-spy.
        proc = record(py, "-p", str(target.pid), "-r", "1000", "-d",
                      "1.5", "-o", out)
        complete(out, proc.stderr)
        sh, total = shares(collapsed(out), ["seventy"])
        # seventy has 70% of the CPU time and about as much of the wall
        # time; 0.5 is more than 4 standard errors below from 100 samples
        # on (at 1 kHz for 1.5 s a sampler takes far more, unless broken).
        assert total >= 100 and sh["seventy"] > 0.5, (sh, total)
        assert target.poll() is None  # the target is untouched
    finally:
        target.kill()
        target.wait()


WHO = ("import json, sys\n"
       "print(json.dumps([sys.executable, sys.argv[1:]]))\n" +
       truth.spin_code() + "sys.exit(3)\n")


def ran_as(proc, out):
    """(sys.executable, sys.argv[1:]) printed by WHO, which exits 3 after
    0.3 s of CPU time: the recording has it."""
    assert proc.returncode == 3, proc.stderr
    exe, args = json.loads(proc.stdout)
    assert "<module>" in out.read_text()
    return exe, args


def test_script_module_and_code(py, tmp_path):
    """SCRIPT, -m MODULE and -c CODE run as python runs them, under the
    interpreter the in-process commands use (the python next to this
    spyglass), with their arguments, stdout and exit status."""
    (tmp_path / "who.py").write_text(WHO)
    here = Path(py.python).parent
    for i, target in enumerate((["who.py"], ["-m", "who"], ["-c", WHO])):
        out = tmp_path / f"{i}.collapsed"
        proc = py.spy("record", "-o", out, *target, "a", "-c", "--",
                      cwd=tmp_path)
        exe, args = ran_as(proc, out)
        assert Path(exe).parent == here, exe
        assert args == ["a", "-c", "--"], target  # the program's own


def test_python_picks_the_interpreter(py, any_py, tmp_path):
    out = tmp_path / "x.collapsed"
    proc = any_py.spy("record", "-o", out, "--python", py.python, "-c", WHO)
    exe, _ = ran_as(proc, out)
    assert exe == py.python


def test_non_python_program(any_py, tmp_path):
    out = tmp_path / "n.collapsed"
    proc = any_py.spy("record", "-o", out, "--", "sh", "-c",
                      "echo from-sh; sleep 2.5; exit 4")
    assert proc.returncode == 4
    assert proc.stdout == "from-sh\n"  # its output is not lost
    assert proc.stderr.startswith("spyglass: error: record: 'sh' is not a "
                                  "Python program")


@pytest.mark.parametrize("args,code,msg", [
    ([], 2, "nothing to record"),
    (["--pid", "1", "--", "true"], 2, "not both"),
    (["-r", "0", "--", "true"], 2, "-r/--rate takes a number"),
    (["-f", "bogus", "--", "true"], 2, "unknown format 'bogus'"),
    (["-o", "x.unknownext", "--", "true"], 2, "cannot tell the format"),
    (["--pid", "abc"], 2, "--pid takes a whole number"),
    (["-p", "abc"], 2, "-p/--pid takes a whole number"),
    (["-p", "1", "-c", "pass"], 2, "not both"),
    (["-p", "1", "-m", "json.tool"], 2, "not both"),
    (["--pid", "1", "x.py"], 2, "not both"),
    (["no-such-script.py", "a"], 2, "can't open file 'no-such-script.py': "
     "[Errno 2] No such file or directory"),
    (["--python", "/bin/true", "--", "true"], 2,
     "--python is the interpreter of SCRIPT, -m and -c"),
    (["--python", "/bin/true", "-p", "1"], 2,
     "--python is the interpreter of SCRIPT, -m and -c"),
    (["--frob"], 2, "unknown option '--frob'"),
    (["--", "/no/such/program"], 127, "cannot run '/no/such/program'"),
    (["--pid", "999999999", "-d", "1"], 1, ""),
])
def test_bad_input(any_py, args, code, msg, tmp_path):
    proc = any_py.spy("record", *args, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spyglass: error: "), \
        proc.stderr
    assert msg in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_progress_line_on_a_terminal(py, tmp_path):
    """One live line (samples, ticks, errors, elapsed) when stderr is a
    terminal;
    none otherwise."""
    out = tmp_path / "t.collapsed"
    text = run_on_pty([py.spyglass, "record", "-o", str(out), "--",
                       py.python, str(TARGETS / "record_split.py"), "1"],
                      py.env)
    assert re.search(r"\rspyglass record: \d+ samples in \d+ ticks, \d+ "
                     r"errors, [\d.]+ s",
                     text.replace("\x1b[K", "")), text[:300]
    plain = py.spy("record", "-o", tmp_path / "u.collapsed", "--", py.python,
                   "-c", "pass")
    assert "errors," not in plain.stderr


def test_subprocesses_beyond_a_thousand_are_followed(py, tmp_path):
    """Regression: followed processes were kept in a fixed array of 1024
    that never shrank, so after that many children (Python or not) a
    churning pool's later children were silently not sampled. 1100
    `sleep` children come and go, then a Python child runs late_work.
    The follower must have seen more than 1024 of them for the test to
    mean anything; on a machine so busy that its scans fell behind the
    0.4 s children, the run is repeated with children that live 2 s, then
    8 s (under ASan with four suites running, 613 of the 2 s children were
    seen)."""
    out = tmp_path / "many.collapsed"
    for life in ("0.4", "2", "8"):
        proc = record(py, "--subprocesses", "-r", "100", "-o", out, "--",
                      py.python, TARGETS / "record_many.py", "1100", life)
        assert "1100 children" in proc.stdout
        # The late child was followed however many came before...
        late = [s for s in collapsed(out) if any(func(f) == "late_work"
                                                  for f in s)]
        assert late, proc.stderr
        assert late[0][0].startswith("process ") and "--late" in late[0][0]
        # ...and the follower saw the old cap passed.
        m = re.search(r"(\d+) subprocesses not followed: not Python \(\d+ "
                      r"sleep", proc.stderr)
        assert m, proc.stderr
        if int(m.group(1)) > 1024:
            break
    assert int(m.group(1)) > 1024, proc.stderr


def test_subprocess_that_execs_python_is_followed_again(py, tmp_path):
    """Regression: a child followed while it was the forked copy of its
    Python parent kept that reader after it exec'd a new interpreter: every
    sample of it failed from then on, and the new interpreter was never
    sampled. The sampler now hands such a child back to the follower."""
    out = tmp_path / "exec.collapsed"
    proc = record(py, "--subprocesses", "-r", "200", "-o", out, "--",
                  py.python, TARGETS / "record_exec.py")
    funcs = {func(f) for s in collapsed(out) for f in s}
    assert "before_exec" in funcs, proc.stderr  # the copy was followed
    assert "after_exec" in funcs, proc.stderr  # and so was the new one
    m = re.search(r"; (\d+) process reads and \d+ thread walks dropped",
                  proc.stderr)
    assert m and int(m.group(1)) < 50, proc.stderr


def thread_reads(pid):
    """{tid: read syscalls so far} of each thread of pid (the kernel's
    per-thread accounting, /proc/PID/task/TID/io)."""
    res = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            io = Path(f"/proc/{pid}/task/{tid}/io").read_text()
        except OSError:
            continue
        res[int(tid)] = int(re.search(r"syscr: (\d+)", io).group(1))
    return res


def test_idle_subprocesses_cost_the_sampling_tick_nothing(py, tmp_path):
    """Regression: the tick itself scanned /proc (one read per process on
    the machine, ten times a second) and retried opening each non-Python
    child, so ~100 idle children made samples late or missed. The ground
    truth, which load cannot distort: the read system calls of the sampling
    thread (the main one) while the recording runs, against one scan's
    worth. At 2 Hz, a window of 1.5 s holds at most 4 ticks, each of which
    reads one /proc file per target thread; one scan alone would read more
    than 100."""
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/io").exists():
        pytest.skip("no per-thread I/O accounting in /proc")
    out = tmp_path / "idle.collapsed"
    spy = subprocess.Popen([py.spyglass, "record", "--subprocesses", "-r",
                            "2", "-o", str(out), "--", py.python,
                            str(TARGETS / "record_idle_kids.py"), "100",
                            "4"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=py.env)
    try:
        assert spy.stdout.readline() == "ready\n"
        time.sleep(0.5)
        before = thread_reads(spy.pid)
        time.sleep(1.5)
        after = thread_reads(spy.pid)
    finally:
        _, err = spy.communicate(timeout=120)
    assert spy.returncode == 0, err
    main = after[spy.pid] - before[spy.pid]
    assert main < 50, (main, err)
    # The scans happened, in the follower's thread.
    others = sum(after[t] - before.get(t, 0) for t in after if t != spy.pid)
    assert others > 100, (others, err)
    assert re.search(r"100 subprocesses not followed: not Python \(\d+ "
                     r"sleep, \d+ sleep, \d+ sleep, \.\.\.\)", err), err
    assert err.count("not followed") == 1  # reported once
