"""`spyglass record` when the sampler cannot keep its deadlines: each sample
weighs the time since its thread was last read, so a stalled sampler loses
no time and invents none; the deadlines kept, missed and the weights are
in the end report and the JSON metadata; the sampler's thread takes a
real-time priority when its deadlines slip and it is allowed to, says so
once when not, and never changes the target's.

The stall is made, not hoped for: the sampler is stopped with SIGSTOP for
a time the test measures. The bounds then follow from the loop's own
accounting (docs/record.md), not from how busy the machine is."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

# A target that spins, one thread, until told to stop (a file appears),
# then says what scheduling it ran at: policy, nice value, and the CPUs it
# may run on.
SPIN = """
import os, sys, time
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    for _ in range(1000):
        pass
print(os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0),
      *sorted(os.sched_getaffinity(0)), flush=True)
"""
REPORT = re.compile(r"spyglass record: (\d+) ticks in ([\d.]+) s \((\d+) on "
                    r"time, (\d+) late, (\d+) missed\), (\d+) samples")
STAND = re.compile(r"spyglass record: ([\d.]+)% of (\d+) deadlines delivered "
                   r"\(([\d.]+)% on time\) at (.*) priority; the samples "
                   r"stand for ([\d.]+) s of thread time\n")
NOTE = "sampled at normal priority"


def policies(pid):
    """{tid: scheduling policy} of pid's threads (stat field 41)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        out[int(task.name)] = int(stat.rpartition(")")[2].split()[38])
    return out


def child_of(pid):
    """The pid of pid's (first) child."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                return int(d.name)
    raise AssertionError(f"no child of {pid}")


def fifo_threads(pid, want):
    """pid's SCHED_FIFO threads, polled until there are some (want) or a
    second has passed (the loop starts once the target is attached)."""
    end = time.monotonic() + 1.0
    while True:
        got = [t for t, pol in policies(pid).items() if pol == 1]
        if got or not want or time.monotonic() > end:
            return got
        time.sleep(0.01)


def cpus_allowed(pid, tid=None):
    """The CPUs a thread (tid of pid; its main thread by default) may run
    on, as a set."""
    status = Path(f"/proc/{pid}/task/{tid or pid}/status").read_text()
    spec = re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.M).group(1)
    out = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def last_cpu(pid):
    """The CPU pid's main thread last ran on (stat field 39)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[36])


def kept_off(spy, target):
    """Whether one of spy's threads (the sampling one) may run anywhere
    this test may but on the CPU target's main thread is on, polled for a
    few seconds (the target may move; the sampler follows it every few
    ticks)."""
    everywhere = os.sched_getaffinity(0)
    end = time.monotonic() + 5.0
    while True:
        cpu = last_cpu(target)
        for task in Path(f"/proc/{spy}/task").iterdir():
            try:
                if cpus_allowed(spy, task.name) == everywhere - {cpu}:
                    return True
            except (OSError, AttributeError):
                continue
        if time.monotonic() > end:
            return False
        time.sleep(0.02)


# What the target inherits when nobody changes it: this process's policy
# (SCHED_OTHER) and nice value (not 0 when the suite runs under nice).
OWN_SCHEDULING = [str(os.sched_getscheduler(0)),
                  str(os.getpriority(os.PRIO_PROCESS, 0))]


def told_cpus(told):
    """The CPUs SPIN said it may run on."""
    return {int(c) for c in told.split()[2:]}


def can_raise():
    """Whether this test may give a thread SCHED_FIFO."""
    chrt = shutil.which("chrt")
    return bool(chrt) and subprocess.run(
        [chrt, "-f", "1", "true"], capture_output=True).returncode == 0


def stalled_run(py, tmp_path, prefix=(), stop_s=0.5):
    """record --idle -r 100 of SPIN into a Chrome trace, the sampler
    stopped for stop_s in the middle. Returns (stderr, the trace's
    metadata, the measured stop, the target's output, the sampler's
    SCHED_FIFO threads seen just after the stall (the loop starts with
    the priority; kept off the target's CPU it holds it throughout, else
    while deadlines slip, as they just did) and the target's policies,
    seen while it ran)."""
    out, flag = tmp_path / "s.trace.json", tmp_path / "stop"
    if flag.exists():  # from an earlier run
        flag.unlink()
    cmd = [*prefix, str(py.spyglass), "record", "--idle", "-r", "100", "-o",
           str(out), "--", str(py.python), "-c", SPIN, str(flag)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=py.env)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.2)  # some samples before the stall
        target = child_of(proc.pid)
        seen = {"target": policies(target),
                "kept_off": len(os.sched_getaffinity(0)) > 1 and
                kept_off(proc.pid, target)}
        t0 = time.monotonic()
        proc.send_signal(signal.SIGSTOP)
        time.sleep(stop_s)
        stopped = time.monotonic() - t0
        proc.send_signal(signal.SIGCONT)
        # The loop holds the priority at least until a second of
        # deadlines kept (src/sampler/loop.h): long enough to be seen.
        seen["fifo"] = fifo_threads(proc.pid, can_raise() and not prefix)
        time.sleep(0.3)  # and some samples after
        flag.write_text("")
        told, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    meta = json.loads(out.read_text())["otherData"]
    return err, meta, stopped, told, seen


def test_weights_cover_a_stalled_sampler(any_py, tmp_path):
    err, meta, stopped, told, seen = stalled_run(any_py, tmp_path)
    m, s = REPORT.search(err), STAND.search(err)
    assert m and s, err
    ticks, on_time, late, missed, samples = (int(m.group(i))
                                             for i in (1, 3, 4, 5, 6))
    weight = float(s.group(5))
    interval = 0.01
    # The stall skipped at least the deadlines it lasted (one may be taken
    # late, and the first one it reached may still have been on time).
    stalled = int(stopped / interval) - 2
    assert missed >= stalled, (missed, stopped, err)
    # One thread, read at every tick (--idle keeps every stack): between
    # its first and last samples the weights add up to the time that
    # passed, which spans the ticks taken and the deadlines missed there.
    # Counting samples alone would say samples * interval and lose the
    # stall; the weights keep it, and claim no more time than went by.
    assert weight >= (samples + stalled - 2) * interval, (weight, err)
    assert weight <= (samples + missed + 1) * interval + 1e-3, (weight, err)
    # The JSON metadata says the same as the end report.
    assert (int(meta["deadlines_on_time"]), int(meta["deadlines_late"]),
            int(meta["deadlines_missed"]), int(meta["ticks"])) == (
                on_time, late, missed, ticks), meta
    assert abs(int(meta["weight_ns"]) / 1e9 - weight) < 1e-3, meta
    # Of the missed deadlines, those lost to a tick's own length.
    assert 0 <= int(meta["deadlines_missed_in_tick"]) <= missed, meta
    assert meta["sampler_priority"] + " priority" in s.group(0), meta
    delivered = 100.0 * ticks / (ticks + missed)
    assert abs(float(s.group(1)) - delivered) < 0.06, s.group(0)
    # The target's scheduling is its own (the policy and nice value it
    # inherits), whatever the sampler got.
    assert told.split()[:2] == OWN_SCHEDULING, told
    assert set(seen["target"].values()) == {0}, seen
    # With another CPU to go to, the sampler keeps off the target's, and
    # only its own thread's affinity changes.
    if len(os.sched_getaffinity(0)) > 1:
        assert seen["kept_off"], seen
        assert int(meta["sampler_cpu_moves"]) >= 1, meta
        assert told_cpus(told) == os.sched_getaffinity(0), told


def test_priority_raised_or_said_once(any_py, tmp_path):
    """With the right to, the sampling thread (one of spyglass's) runs
    SCHED_FIFO while its deadlines slip (the stall makes them); without it
    (root without CAP_SYS_NICE, as setpriv makes it), one line says so,
    the end report names the normal priority and the metadata counts no
    raise. The target runs SCHED_OTHER either way."""
    if not can_raise():
        prefixes = [()]
    elif os.geteuid() == 0 and shutil.which("setpriv"):
        prefixes = [(), ("setpriv", "--bounding-set", "-sys_nice",
                         "--inh-caps", "-sys_nice")]
    else:
        prefixes = [()]
    for prefix in prefixes:
        allowed = can_raise() and not prefix
        err, meta, _, told, seen = stalled_run(any_py, tmp_path, prefix,
                                               stop_s=0.05)
        fifo = seen["fifo"]
        raises, raised = (int(meta["sampler_raises"]),
                          int(meta["sampler_raised_ticks"]))
        if allowed:
            assert len(fifo) == 1, seen
            assert meta["sampler_priority"] == "real-time (SCHED_FIFO)"
            assert NOTE not in err, err
            # Raised (at the start) and held for some ticks, never more
            # than were taken.
            assert int(meta["deadlines_missed"]) >= 1, meta
            assert raises >= 1 and 1 <= raised <= int(meta["ticks"]), meta
        else:
            assert not fifo, seen
            assert (raises, raised) == (0, 0), meta
            assert meta["sampler_priority"] == "normal", meta
            assert err.count(NOTE) == 1, err
            assert "at normal priority; the samples" in err, err
        assert told.split()[:2] == OWN_SCHEDULING, (prefix, told)
        assert set(seen["target"].values()) == {0}, (prefix, seen)


def test_text_report_weighs_samples(any_py, tmp_path):
    """The text report's shares and times are the weights': a stall of the
    sampler while one function runs is that function's time, its sample
    counts beside it; the header says what the samples stand for, and the
    shares add up to the whole."""
    out = tmp_path / "w.txt"
    flag = tmp_path / "stop"
    proc = subprocess.Popen(
        [str(any_py.spyglass), "record", "--idle", "-r", "100", "-o",
         str(out), "--", str(any_py.python), "-c", SPIN, str(flag)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=any_py.env)
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.1)
    proc.send_signal(signal.SIGSTOP)
    time.sleep(0.3)
    proc.send_signal(signal.SIGCONT)
    time.sleep(0.1)
    flag.write_text("")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    text = out.read_text()
    h = re.match(r"(\d+) samples .* over [\d.]+ s\nThey stand for ([\d.]+) s "
                 r"of thread time", text)
    assert h, text[:300]
    samples, weight = int(h.group(1)), float(h.group(2))
    assert weight >= samples * 0.01 + 0.25, text[:300]
    own = text.split("Top functions by own (innermost) samples:")[1]
    rows = [l.split() for l in own.split("\n\n")[0].splitlines()[2:]]
    assert rows and all(re.fullmatch(r"[\d.]+%", r[0]) and
                        r[1].endswith("s") for r in rows), own
    # Own times and counts add up to the header's when every function is
    # shown (at most 20 are).
    assert sum(float(r[1][:-1]) for r in rows) <= weight + 0.01, own
    if len(rows) < 20:
        assert abs(sum(float(r[1][:-1]) for r in rows) - weight) < 0.01, own
        assert sum(int(r[4]) for r in rows) == samples, own
        assert abs(sum(float(r[0][:-1]) for r in rows) - 100) < 1, own


def test_timeline_json_has_the_deadlines(any_py, tmp_path):
    """The memory timeline samples on the same loop: its JSON's metadata
    has the deadlines its end report counts, and its priority."""
    out = tmp_path / "t.json"
    proc = any_py.spy("timeline", "-i", "0.005", "-o", out, "-c",
                      "import time; time.sleep(0.3)")
    assert proc.returncode == 0, proc.stderr
    m = re.search(r"\((\d+) on time, (\d+) late, (\d+) missed\)",
                  proc.stderr)
    assert m, proc.stderr
    meta = json.loads(out.read_text())["metadata"]
    assert (meta["deadlines_on_time"], meta["deadlines_late"],
            meta["deadlines_missed"]) == m.groups(), (meta, proc.stderr)
    want = "real-time (SCHED_FIFO)" if can_raise() else "normal"
    assert meta["sampler_priority"] == want, meta
    assert (NOTE in proc.stderr) == (want == "normal"), proc.stderr
