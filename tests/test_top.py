"""`spyglass top`: the live view, driven in tmux as a user would (keys
sent with send-keys, the screen read with capture-pane), on CPython 3.8 and
3.13 (the reader is record's, tested on every version in test_record.py).
The figures are checked against what the target measured of itself in the
same run (tests/truth.py); docs/top.md says what each key does."""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

import truth
from conftest import MARK, one_error

TARGETS = Path(__file__).resolve().parent / "targets"
SPLIT = TARGETS / "top_split.py"
# The terminal tests run on the versions the issue asks for (tmux is slow);
# a missing one is a visible skip, as for every test of `py`.
TOP_VERSIONS = ("3.8", "3.13")
on_top_versions = pytest.mark.py_versions(*TOP_VERSIONS)
NAMES = ("hot", "warm", "cold")
ROW = re.compile(r"^\s*([\d.]+)%\s+([\d.]+)%\s+([\d.]+)s\s+([\d.]+)s  (.*)$")


class Tmux:
    """A shell in a detached tmux session of its own server."""

    def __init__(self, env, cwd, cols=120, rows=40):
        if not shutil.which("tmux"):
            pytest.skip("tmux is not installed: top is not checked on a "
                        "terminal (apt-get install tmux)")
        self.sock = f"sg-top-{os.getpid()}-{id(self)}"
        self.env = dict(env)
        self.env.pop("NO_COLOR", None)
        # The shell's settings on its own command line (a tmux server
        # passes on only some of its environment). LC_ALL=C: ASCII
        # markers, which capture-pane keeps as they are.
        self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows),
                  "-c", str(cwd), "env PS1='PROMPT$ ' LC_ALL=C TERM=screen "
                  "sh")
        self.wait(lambda s: "PROMPT$" in s)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null",
                               *args], env=self.env, capture_output=True,
                              text=True, check=True).stdout

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def type(self, line):
        self.tmux("send-keys", "-t", "0", "-l", line)
        self.tmux("send-keys", "-t", "0", "Enter")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def wait(self, pred, timeout=90):
        """The screen once pred(screen) holds (polled); fails with the
        last screen after timeout seconds, which only a hang reaches."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            assert time.monotonic() < deadline, s
            time.sleep(0.05)

    def pane_pid(self):
        return int(self.tmux("display-message", "-p", "-t", "0",
                             "#{pane_pid}"))

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                       capture_output=True)


@pytest.fixture
def tmux_factory():
    made = []

    def make(*a, **kw):
        made.append(Tmux(*a, **kw))
        return made[-1]
    yield make
    for t in made:
        t.close()


def rows(screen):
    """{label: (own %, total %, own s, total s)} of the table's rows."""
    out = {}
    for line in screen.splitlines():
        m = ROW.match(line)
        if m:
            out.setdefault(m.group(5).strip(),
                           tuple(float(x) for x in m.groups()[:4]))
    return out


def first_row(screen):
    return next((m.group(5) for m in map(ROW.match, screen.splitlines())
                 if m), None)


def samples(screen, window=False):
    """Total Samples, or those of the last window."""
    m = re.search(r"Total Samples (\d+) \((\d+) in the last", screen)
    return int(m.group(2 if window else 1)) if m else -1


def by_func(table):
    """Own % and own seconds of hot, warm and cold (function rows)."""
    got = {}
    for label, vals in table.items():
        name = label.split(" (")[0]
        if name in NAMES:
            got[name] = vals
    return got


def check_split(screen, truth_file):
    """The hot function leads and each share of own time is the target's
    measured share of wall time (the sampler counts a thread that runs or
    waits for a CPU), within 3 points or what the samples can tell."""
    assert first_row(screen).startswith("hot ("), screen
    got = by_func(rows(screen))
    assert set(got) == set(NAMES), screen
    wall = {k: v["wall"] for k, v in json.loads(truth_file.read_text())
            .items()}
    cpu = {k: v["cpu"] for k, v in json.loads(truth_file.read_text())
           .items()}
    # The target did what it says, whatever the load.
    assert abs(cpu["hot"] / sum(cpu.values()) - 0.7) < 0.01, cpu
    # OwnTime (since the start), then %Own (the last window).
    for col, n in ((2, samples(screen)), (0, samples(screen, True))):
        total = sum(v[col] for v in got.values())
        for k in NAMES:
            share, want = got[k][col] / total, wall[k] / sum(wall.values())
            tol = max(0.03, truth.halfwidth(want, n))
            assert abs(share - want) <= tol, (k, col, share, want, tol,
                                              screen)


@on_top_versions
def test_keys_split_resize_and_quit(py, tmp_path, tmux_factory):
    """One run of top on the 70/20/10 target: the split, each key, a
    resize, the program's end, q; then -o against record's profile."""
    stop, tf = tmp_path / "stop", tmp_path / "truth.json"
    out = tmp_path / "top.collapsed"
    t = tmux_factory(py.env, tmp_path)
    t.type("stty -a > before.txt")
    t.type(f"{py.spyglass} top -r 1000 --delay 1 -o {out} -- {py.python} "
           f"{SPLIT} {tf} {stop}; echo status=$?; stty -a > after.txt")
    # Enough samples that the cumulative shares can tell 3 points.
    s = t.wait(lambda s: samples(s) >= 3800 and first_row(s) is not None)
    check_split(s, tf)
    assert "*OwnTime" in s and "Function (file:def line)" in s

    def after(key, pred):
        t.keys(key)
        return t.wait(pred)

    # 1-4: the sort column, marked.
    s = after("1", lambda s: "*%Own" in s)
    assert first_row(s).startswith("hot (")
    s = after("4", lambda s: "*TotalTime" in s)
    assert re.match(r"(<module>|main) \(", first_row(s)), s
    s = after("2", lambda s: "*%Total" in s)
    s = after("3", lambda s: "*OwnTime" in s)
    assert first_row(s).startswith("hot (")
    # L: rows per line, the spin loop's lines; back per function.
    s = after("L", lambda s: "Function (file:line)" in s)
    lines = [l for l in rows(s) if l.startswith("hot (")]
    assert re.fullmatch(r"hot \(top_split.py:(1[89]|20)\)", lines[0]), s
    s = after("L", lambda s: "(file:def line)" in s)
    assert "hot (top_split.py:16)" in rows(s), s
    # t: one thread, then all again.
    s = after("t", lambda s: "Thread: MainThread" in s)
    s = after("t", lambda s: "Thread:" not in s)
    # /: a filter by function name, then cleared.
    t.keys("/")
    t.tmux("send-keys", "-t", "0", "-l", "warm")
    s = after("Enter", lambda s: "Filter: warm" in s and
              "Enter applies" not in s)
    assert {l.split(" (")[0] for l in rows(s)} == {"warm"}, s
    t.keys("/")
    s = after("C-u", lambda s: "Filter: _" in s)
    s = after("Enter", lambda s: "Filter:" not in s and "cold (" in s)
    # ?: the help, closed by any key.
    s = after("?", lambda s: "reset the counts" in s)
    s = after("x", lambda s: "*OwnTime" in s)
    # P: the view stays as it is while sampling goes on; space resumes.
    s = after("P", lambda s: "[paused]" in s)
    frozen = samples(s)
    time.sleep(1.5)  # more than a refresh delay
    assert samples(t.screen()) == frozen
    s = after("Space", lambda s: "[paused]" not in s)
    s = t.wait(lambda s: samples(s) > frozen)
    # R: the counts start again.
    before = samples(s)
    s = after("R", lambda s: 0 <= samples(s) < before)
    # w: everything sampled so far (since the start, not since R) written
    # while the program runs; the prompt offers -o's file.
    s = after("w", lambda s: f"Write to: {out}_" in s)
    t.keys("C-u")
    t.tmux("send-keys", "-t", "0", "-l", "mid.collapsed")
    s = after("Enter", lambda s: "wrote mid.collapsed (collapsed, " in s)
    mid = (tmp_path / "mid.collapsed").read_text()
    assert set(functions_paths(tmp_path / "mid.collapsed")) == {
        ("<module>", "main", k) for k in NAMES}, mid
    assert sum(int(l.rpartition(" ")[2]) for l in mid.splitlines()) >= \
        before
    # Resize: the frame fits the new size, footer on the last line.
    t.tmux("resize-window", "-t", "0", "-x", "60", "-y", "16")
    s = t.wait(lambda s: len(s.splitlines()[0]) <= 60 and
               s.splitlines()[-1].startswith("Press q"))
    assert all(len(l) <= 60 for l in s.splitlines()), s
    assert len(s.splitlines()) == 16
    # The program ends: the view says so and keeps its data until q.
    stop.touch()
    s = t.wait(lambda s: "the program exited with status 0" in s)
    assert rows(s)
    t.keys("q")
    s = t.wait(lambda s: "status=0" in s and s.rstrip().endswith("PROMPT$"))
    assert_terminal_unchanged(t, tmp_path)
    check_same_shape(py, tmp_path, out, tf)


def assert_terminal_unchanged(t, tmp_path):
    """`stty -a` after top as before (the window's size aside, which a
    resize changes)."""
    t.type("echo done")
    t.wait(lambda s: "\ndone" in s)

    def settings(name):
        return re.sub(r"rows \d+; columns \d+;", "",
                      (tmp_path / name).read_text())
    assert settings("after.txt") == settings("before.txt")


def functions_paths(path):
    """{stack of function names: samples}, the frames of the three
    functions and their callers only (imports and reports left out)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        names = tuple(f.split(" (")[0] for f in stack.split(";"))
        if names[-1] in NAMES:
            out[names] = out.get(names, 0) + int(n)
    return out


def check_same_shape(py, tmp_path, top_out, top_truth):
    """-o of top holds the stacks record writes for the same target, in
    the same proportions (each a likely draw of its run's truth)."""
    stop, tf = tmp_path / "stop2", tmp_path / "truth2.json"
    rec = tmp_path / "rec.collapsed"
    timer = threading.Timer(2.0, stop.touch)
    timer.start()
    proc = py.spy("record", "-r", "1000", "-o", rec, "--", py.python, SPLIT,
                  tf, stop)
    timer.cancel()
    assert proc.returncode == 0, proc.stderr
    a, b = functions_paths(top_out), functions_paths(rec)
    assert set(a) == set(b) == {("<module>", "main", k) for k in NAMES}, \
        (a, b)
    for paths, tfile in ((a, top_truth), (b, tf)):
        wall = {k: v["wall"] for k, v in json.loads(tfile.read_text())
                .items()}
        counts = {p[-1]: n for p, n in paths.items()}
        assert not truth.share_misses(counts, wall), (counts, wall, tfile)


def spy_pid(t):
    """The spyglass the tmux shell runs."""
    shell = t.pane_pid()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{shell}/task").iterdir():
            for pid in (task / "children").read_text().split():
                if "spyglass" in Path(f"/proc/{pid}/cmdline").read_text():
                    return int(pid)
        time.sleep(0.05)
    raise AssertionError("spyglass did not start")


@pytest.mark.py_versions(TOP_VERSIONS[-1])  # terminal handling: any one
@pytest.mark.parametrize("how,status", [("q", 0), ("ctrl-c", 130),
                                        ("sigterm", 143)])
def test_terminal_restored_on_signals(py, tmp_path, tmux_factory, how,
                                      status):
    """q (which stops the launched program), Ctrl-C (the terminal's SIGINT
    to the program and spyglass) and a SIGTERM to spyglass (passed on to
    the program) end top while the program runs: the shell's prompt is
    back, the terminal's settings as they were; after a signal the
    program's status is spyglass's, after q spyglass succeeds."""
    t = tmux_factory(py.env, tmp_path, cols=80, rows=24)
    t.type("stty -a > before.txt")
    t.type(f"{py.spyglass} top -- {py.python} -c 'while True: pass'; "
           "echo status=$?; stty -a > after.txt")
    t.wait(lambda s: "Total Samples" in s and samples(s) > 0)
    if how == "q":
        t.keys("q")
    elif how == "ctrl-c":
        t.keys("C-c")
    else:
        os.kill(spy_pid(t), signal.SIGTERM)
    t.wait(lambda s: f"status={status}" in s and
           s.rstrip().endswith("PROMPT$"))
    assert_terminal_unchanged(t, tmp_path)


@pytest.mark.py_versions(TOP_VERSIONS[-1])
def test_ctrl_z_gives_the_terminal_back_until_fg(py, tmp_path, tmux_factory):
    """Ctrl-Z stops top (and the program) with the terminal as it was; fg
    brings the view back, redrawn; q ends it."""
    t = tmux_factory(py.env, tmp_path, cols=80, rows=24)
    t.type("stty -a > before.txt")
    # Alone on its line: a stopped job would let a list go on.
    t.type(f"{py.spyglass} top -- {py.python} -c 'while True: pass'")
    t.wait(lambda s: samples(s) > 0)
    t.keys("C-z")
    t.wait(lambda s: "Stopped" in s and s.rstrip().endswith("PROMPT$"))
    t.type("stty -a > after.txt")
    assert_terminal_unchanged(t, tmp_path)
    t.type("fg")
    t.wait(lambda s: "Press q to quit" in s and samples(s) > 0)
    t.keys("q")
    t.wait(lambda s: s.rstrip().endswith("PROMPT$"))
    t.type("echo status=$?; stty -a > after.txt")
    t.wait(lambda s: "status=0" in s)
    assert_terminal_unchanged(t, tmp_path)


def test_plain_snapshots_off_a_terminal(any_py, tmp_path):
    """stdout a pipe: a plain snapshot every --delay, no escape sequence,
    the last one saying the program ended; its status is spyglass's."""
    # The spinning function's file name holds escape sequences (a clear
    # screen, a window title): the view shows them as '?'.
    code = ("import time\nt = time.time() + 1.2\n"
            "src = 'def spin():\\n    while time.time() < t: pass\\n'\n"
            "exec(compile(src, 'evil\\x1b[2J\\x1b]0;x\\x07.py', 'exec'))\n"
            "spin()\nraise SystemExit(3)\n")
    proc = any_py.spy("top", "--delay", "0.4", "-c", code)
    assert proc.returncode == 3, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "spin (evil?[2J?]0;x?.py:1)" in proc.stdout
    shots = proc.stdout.split("Collecting samples from ")
    assert len(shots) >= 3, proc.stdout
    assert "the program exited with status 3" in shots[-1]
    assert not re.search(r" $", proc.stdout, re.M)  # no trailing blanks
    assert re.search(r"^\s*[\d.]+%\s+[\d.]+%\s+[\d.]+s\s+[\d.]+s  spin \(",
                     shots[-1], re.M), shots[-1]


@pytest.mark.parametrize("form", [["prog.py"], ["-m", "prog"]])
def test_script_and_module(any_py, tmp_path, form):
    """SCRIPT ARGS and -m MODULE ARGS run under the venv's python with
    their arguments, and are what the header names."""
    (tmp_path / "prog.py").write_text(
        "import sys, time\nt = time.time() + 0.3\n"
        "while time.time() < t: pass\nprint(sys.argv[1:])\n")
    proc = any_py.spy("top", "--delay", "0.2", *form, "a b", "-c",
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "['a b', '-c']" in proc.stdout.splitlines()
    shot = proc.stdout.split("Collecting samples from ")[-1]
    assert shot.startswith(f"'{any_py.python}"), shot
    assert f"{' '.join(form)} a b -c' (python v" in shot, shot


def test_subprocesses_live_across_children(any_py, tmp_path):
    """--subprocesses: the pool's workers are sampled and counted as they
    run; the snapshot's table holds their function."""
    proc = any_py.spy("top", "--subprocesses", "--delay", "0.3", "--",
                      any_py.python, TARGETS / "record_pool.py")
    assert proc.returncode == 0, proc.stderr
    counts = [int(n) for n in re.findall(r"Processes: (\d+)", proc.stdout)]
    assert max(counts) >= 2, proc.stdout  # the pool's workers, at least
    last = proc.stdout.split("Collecting samples from ")[-1]
    assert first_row(last).startswith("pool_task ("), last


@pytest.mark.parametrize("args,msg", [
    ([], "nothing to watch"),
    (["--delay", "0", "-p", "1"], "--delay takes a number"),
    (["-r", "x", "-p", "1"], "-r/--rate"),
    (["-f", "svg", "-p", "1"], "-f/--format is the format of -o FILE"),
    (["-o", "x.nope", "-p", "1"], "x.nope"),
    (["-o", "-", "-f", "collapsed", "-c", MARK, "mark"], "give -o FILE"),
    (["-o", "/no/such/dir/x.svg", "-c", MARK, "mark"], "/no/such/dir"),
    (["-p", "1", "--", "true"], "not both"),
    (["--python", "/bin/true", "-p", "1"], "--python is the interpreter"),
    (["--frob"], "unknown option '--frob'"),
])
def test_bad_input(any_py, args, msg, tmp_path):
    proc = any_py.spy("top", *args, cwd=tmp_path)
    one_error(proc, 2, "top: ", msg)
    assert not list(tmp_path.iterdir())  # nothing ran, nothing written


def read_snapshots(proc, on_snapshot=None):
    """The plain snapshots proc prints until it ends; on_snapshot(k) is
    called as the k-th (from 1) begins."""
    out, k = [], 0
    for line in proc.stdout:
        if line.startswith("Collecting samples from "):
            k += 1
            if on_snapshot:
                on_snapshot(k)
        out.append(line)
    proc.wait(timeout=60)
    return "".join(out).split("Collecting samples from ")[1:]


MIB = 1 << 20
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": MIB, "GiB": 1 << 30}


def header(shot):
    """A snapshot's header figures (cpu and rss None before the first
    window has them)."""
    g = re.search(r"GIL: ([\d.]+)%, Active: ([\d.]+)%", shot)
    c = re.search(r"CPU: +([\d.]+)% (\S+)  RSS: ([\d.]+) (\w+) (\S+)", shot)
    return {
        "gil": float(g.group(1)), "active": float(g.group(2)),
        "cpu": float(c.group(1)) if c else None,
        "rss": float(c.group(3)) * UNITS[c.group(4)] if c else None,
        "rss_trend": c.group(5) if c else "",
        "window": samples("Collecting samples from " + shot, window=True),
        "late": "late by a whole interval" in shot,
    }


def test_header_figures(any_py, tmp_path):
    """The header against what the program did: asleep (with --idle, its
    samples counted, yet no GIL, nothing active, no CPU), then 96 MiB made
    resident and 0.7 CPU seconds spun (the GIL held, active, the RSS trend
    rising); spyglass stopped for 0.6 s is warned of as late samples; the
    log's last snapshot says the program ended, without a q to press."""
    code = ("import time\ntime.sleep(1.8)\nb = b'x' * (96 << 20)\n"
            "c0 = time.process_time()\n"
            "while time.process_time() < c0 + 0.7: pass\n"
            "time.sleep(0.4)\n")
    proc = subprocess.Popen(
        [any_py.spyglass, "top", "--idle", "--delay", "0.3", "-c", code],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(any_py.env, LC_ALL="C"), cwd=tmp_path)

    def pause(k):
        if k == 2:  # asleep still: its deadlines pass unsampled
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.6)
            proc.send_signal(signal.SIGCONT)
    shots = read_snapshots(proc, pause)
    assert proc.returncode == 0, proc.stderr.read()
    hs = [header(s) for s in shots]
    assert any(h["gil"] == 0 and h["active"] == 0 and h["window"] > 0 and
               h["cpu"] is not None and h["cpu"] <= 5 and
               h["rss"] < 64 * MIB for h in hs), shots
    busy = [h for h in hs if h["gil"] >= 95 and h["active"] >= 95 and
            h["rss"] is not None and h["rss"] >= 96 * MIB]
    assert busy, shots
    # One thread: at most one CPU, and some of it in the windows it spun.
    assert all(h["cpu"] <= 110 for h in busy), shots
    assert any(h["cpu"] > 0 for h in busy), shots
    # The trend: low before the allocation, high after.
    assert any(re.fullmatch(r"_+.*#", h["rss_trend"]) for h in busy), shots
    assert any(h["late"] for h in hs), shots
    assert "the program exited with status 0" in shots[-1]
    assert "until q" not in "".join(shots)


def test_attach_gil_threads(any_py, tmp_path):
    """-p with --gil --idle --threads: two threads spin while the main one
    waits in join; only the GIL's holder is counted, so the waiting main
    thread (kept by --idle otherwise) has no share of a window inside the
    spin, each spinner a row of its own; then the process's end."""
    code = ("import sys, threading, time\n"
            "def spin():\n"
            "    c0 = time.thread_time()\n"
            "    while time.thread_time() < c0 + 0.8: pass\n"
            "ts = [threading.Thread(target=spin, name=f'w{i}') "
            "for i in range(2)]\n"
            "print('ready', flush=True)\nsys.stdin.readline()\n"
            "[t.start() for t in ts]\n[t.join() for t in ts]\n")
    target = subprocess.Popen([any_py.python, "-c", code], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              env=any_py.env)
    try:
        assert target.stdout.readline() == "ready\n"
        proc = subprocess.Popen(
            [any_py.spyglass, "top", "-p", str(target.pid), "--gil",
             "--idle", "--threads", "--delay", "0.3"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=any_py.env, cwd=tmp_path)

        def go(k):
            if k == 1:  # attached: start the threads
                target.stdin.write("\n")
                target.stdin.flush()
        shots = read_snapshots(proc, go)
    finally:
        target.kill()
        target.wait()
    assert proc.returncode == 0, proc.stderr.read()
    assert f"process {target.pid} ended" in shots[-1]

    def both_spin(shot):
        t = rows("\n".join(shot.splitlines()[1:]))
        spin = [v for k, v in t.items() if re.match(r"w[01]: spin \(", k)]
        main = [v for k, v in t.items() if k.startswith("MainThread: ")]
        return len(spin) == 2 and all(v[0] > 0 for v in spin), main
    # The windows where the main thread starts or joins them may hold a
    # sample of it holding the GIL; one inside the spin has none.
    windows = [main for ok, main in map(both_spin, shots) if ok]
    assert any(all(v[1] == 0 for v in main) for main in windows), shots


ENTER, LEAVE = b"\x1b[?1049h", b"\x1b[0m\x1b[?25h\x1b[?1049l"


def frames_on_pty(argv, env, frames=4, timeout=60, before_quit=None,
                  quit_key=b"q", stdin_null=False):
    """Run argv on a new pty (its stdin /dev/null if stdin_null) until it
    has drawn `frames` frames, call before_quit(), type quit_key, read to
    its end; everything it wrote and its exit status."""
    pid, fd = pty.fork()
    if pid == 0:
        if stdin_null:
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.execve(argv[0], argv, env)
    out, quit_sent = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 0.5)[0]:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the pty is closed
            break
        if not data:
            break
        out += data
        if not quit_sent and out.count(b"\x1b[H") > frames:
            if before_quit:
                before_quit()
            os.write(fd, quit_key)
            quit_sent = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return out, os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("term,no_color,colour", [
    ("xterm-256color", None, True), ("vt100", None, False),
    ("xterm", "1", False)])
def test_screen_bytes(any_py, tmp_path, term, no_color, colour):
    """What top writes to a terminal: the alternate screen first, cleared
    once and then overwritten in place frame after frame (no flicker),
    colours only where TERM has them and NO_COLOR is unset (bold and
    reverse everywhere), and the terminal given back after the last
    frame."""
    env = dict(any_py.env, TERM=term, LC_ALL="C")
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = no_color
    out, status = frames_on_pty(
        [any_py.spyglass, "top", "--delay", "0.1", "-c",
         "while True: pass"], env)
    assert status == 0, out
    assert out.startswith(ENTER), out[:200]
    assert out.count(b"\x1b[2J") == 1, out  # on entering only
    assert out.count(b"\x1b[H") > 4  # each frame from the top left
    assert out.rfind(LEAVE) > out.rfind(b"\x1b[H"), out[-400:]
    assert (b"\x1b[7m" in out) and (b"\x1b[1m" in out)
    assert (b"\x1b[32m" in out) == colour, out[:600]


def test_error_after_the_view(any_py, tmp_path):
    """An error of spyglass's own at the end (-o's directory removed while
    the view ran) is printed once the terminal is given back, not drawn
    over by the view, and the exit status says the output went
    elsewhere."""
    gone = tmp_path / "gone"
    gone.mkdir()
    env = dict(any_py.env, TERM="xterm", LC_ALL="C", TMPDIR=str(tmp_path))
    out, status = frames_on_pty(
        [any_py.spyglass, "top", "--delay", "0.1", "-o",
         str(gone / "x.collapsed"), "-c", "while True: pass"], env,
        before_quit=gone.rmdir)
    assert status == 74, out
    err = out.rfind(b"spyglass: error: top: cannot write")
    assert err > out.rfind(LEAVE) > 0, out[-600:]
    saved = re.search(rb"saved the result to (\S+) instead", out[err:])
    assert saved and Path(saved.group(1).decode()).parent == tmp_path


def test_no_keys_without_a_terminal_stdin(any_py):
    """stdout a terminal, stdin not: the view runs without keys and says
    that Ctrl-C (the terminal's SIGINT) is what quits; it does."""
    env = dict(any_py.env, TERM="xterm", LC_ALL="C")
    out, status = frames_on_pty(
        [any_py.spyglass, "top", "--delay", "0.1", "-c",
         "while True: pass"], env, quit_key=b"\x03", stdin_null=True)
    assert status == 130, out  # the program's, as Ctrl-C gives it
    assert b"Press Ctrl-C to quit (no keys" in out and b"Press q" not in out
    assert out.rfind(LEAVE) > out.rfind(b"\x1b[H"), out[-400:]
