"""Results are never lost: every command's -o, on every CPython.

- An -o that cannot be written is refused before the program runs (a marker
  file the program would create proves it did not start), exit 2, one line.
- One that fails at write time (/dev/full) still delivers the result: to a
  fallback file whose path the one error line gives, which the real oracle
  parses (pstats.Stats, json, an XML parser, line_profiler); exit 74.
- Writes are atomic: a write cut short (a file size limit: killed by
  SIGXFSZ, or EFBIG inside Python) leaves the old file as it was, and the
  target's name only ever appears by a rename (inotify).
- `| head -1` ends quietly: no error line, no traceback.
"""
import ctypes
import fcntl
import json
import os
import re
import resource
import select
import signal
import shutil
import struct
import subprocess
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

COMMANDS = ["time", "profile", "lines", "memory", "record", "dump"]
# The extension each command's -o gets in the refusal tests.
EXT = {"time": "json", "profile": "pstats", "lines": "lprof", "memory": "svg",
       "record": "svg", "dump": "json"}
ERROR = "spyglass: error: "

# The program: marks that it ran, works a little (so that record has
# samples and lines has hits), and exits with the status asked for.
PROG = """\
import sys, time
def work(n):
    return sum(i * i for i in range(n))
open(sys.argv[1], "w").close()
stop = time.perf_counter() + 0.2
while time.perf_counter() < stop:
    work(1000)
sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
"""


def write_prog(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROG)
    return prog


@contextmanager
def python_target(py, depth=0, threads=1):
    """A Python process for dump: `threads` threads parked `depth` frames
    deep, running once it says so."""
    code = f"""
import sys, threading, time
ready = threading.Barrier({threads} + 1)
def park(n):
    if n:
        return park(n - 1)
    ready.wait()
    time.sleep(600)
for _ in range({threads}):
    threading.Thread(target=park, args=({depth},), daemon=True).start()
ready.wait()
print("ready", flush=True)
time.sleep(600)
"""
    proc = subprocess.Popen([py.python, "-c", code], stdout=subprocess.PIPE,
                            text=True, env=py.env)
    try:
        assert proc.stdout.readline() == "ready\n"
        # Parked: the threads are past the barrier, in their sleeps.
        time.sleep(0.1)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def command_args(py, cmd, out, prog, marker, status=0, pid=None):
    """argv (after `spyglass`) running cmd with -o out."""
    run = [str(prog), str(marker)] + ([str(status)] if status else [])
    if cmd == "time":
        return ["time", "-n", "1", "-o", out, "--", py.python, *run]
    if cmd in ("profile", "lines", "memory"):
        return [cmd, "-o", out, *run]
    if cmd == "record":
        return ["record", "-o", out, "--", py.python, *run]
    assert cmd == "dump"
    return ["dump", "--pid", str(pid), "-o", out]


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith(ERROR)]


# ---- refused before the program runs -------------------------------------

def readonly_dir(py, d):
    """Make d read-only for what runs through the returned wrapper (argv
    prefix, run with cwd=d): a read-only bind mount for root (whom mode
    bits do not stop), mode bits otherwise; skip visibly when neither
    holds here."""
    if os.geteuid() != 0:
        for p in d.iterdir():
            p.chmod(0o444)
        d.chmod(0o555)
        wrap = []
    elif shutil.which("unshare"):
        # cd after the mount: a cwd taken before it sees the writable one.
        wrap = ["unshare", "-m", "sh", "-c",
                'mount --bind -o ro "$0" "$0" && cd "$0" && exec "$@"',
                str(d)]
    else:
        pytest.skip("no way to make a read-only directory as root here "
                    "(no unshare)")
    probe = py.run(wrap + ["sh", "-c", 'touch "$0/.probe" || exit 9',
                           str(d)], cwd=d)
    if probe.returncode != 9:
        pytest.skip(f"cannot make a read-only directory here: "
                    f"{probe.stderr.strip()}")
    return wrap


@pytest.fixture
def restore_modes(tmp_path):
    yield
    for p in [tmp_path, *tmp_path.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)


CASES = ["missing dir", "a directory", "read-only dir", "read-only file",
         "/proc/x"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("cmd", COMMANDS)
def test_unwritable_output_is_refused_before_the_program_runs(
        py, tmp_path, cmd, case, restore_modes):
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    ext = EXT[cmd]
    wrap, cwd = [], tmp_path
    old = None
    if case == "missing dir":
        out = tmp_path / "nope" / f"x.{ext}"
    elif case == "a directory":
        out = tmp_path / f"x.{ext}"
        out.mkdir()
    elif case.startswith("read-only"):
        ro = tmp_path / "ro"
        ro.mkdir()
        if case == "read-only file":
            out = ro / f"old.{ext}"
            old = b"the previous result\n"
            out.write_bytes(old)
        else:
            out = ro / f"x.{ext}"
        wrap, cwd = readonly_dir(py, ro), ro
    else:
        out = Path(f"/proc/x.{ext}")
    args = command_args(py, cmd, str(out), prog, marker, pid=dead_pid())
    proc = py.run(wrap + [py.spyglass, *args], cwd=cwd, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"{ERROR}{cmd}: cannot write '{out}': "), proc.stderr
    assert not marker.exists(), "the program ran"
    if old is not None:
        assert out.read_bytes() == old
    elif case != "a directory":
        assert not out.exists()


def test_record_refuses_an_unwritable_current_directory(py, tmp_path,
                                                        restore_modes):
    """Without -o, record writes spyglass-PID-TIME.svg here: this
    directory must take it, before anything runs."""
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    ro = tmp_path / "ro"
    ro.mkdir()
    wrap = readonly_dir(py, ro)
    proc = py.run(wrap + [py.spyglass, "record", "--", py.python, str(prog),
                          str(marker)], cwd=ro, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"{ERROR}record: cannot write the flamegraph in the current "
        "directory: "), proc.stderr
    assert not marker.exists()


# ---- delivered when the write fails --------------------------------------

SAVED = re.compile(r"cannot write (?:'(.*)'|to stdout): No space left on "
                   r"device; saved the result to (.+) instead$")


def saved_path(proc, fallback_dir):
    """The fallback file the one error line names (checked to be in
    fallback_dir, the $TMPDIR given)."""
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    m = SAVED.search(lines[0])
    assert m, lines[0]
    path = Path(m.group(2))
    assert path.parent == fallback_dir and path.is_file(), path
    return path


def check_with_oracle(py, path, cmd):
    """Parse a delivered result with what reads its format."""
    ext = path.name.split(".", 1)[1]
    if ext == "pstats":
        proc = py.py("-c", "import pstats, sys; s = pstats.Stats(sys.argv[1])"
                     "; print(sorted({f for _, _, f in s.stats}))", path)
        assert proc.returncode == 0, proc.stderr
        assert "'work'" in proc.stdout
    elif ext == "lprof":
        proc = py.py("-c", "import sys\ntry:\n import line_profiler\n"
                     "except ImportError:\n sys.exit(3)\n"
                     "s = line_profiler.load_stats(sys.argv[1])\n"
                     "print(sorted(f for _, _, f in s.timings))", path)
        if proc.returncode == 3:
            pytest.skip("line_profiler is not installed: no oracle")
        assert proc.returncode == 0, proc.stderr
        assert "'work'" in proc.stdout
    elif ext == "json":
        data = json.loads(path.read_text())
        assert data["results"] if cmd == "time" else data
    elif ext == "svg":
        assert ET.parse(path).getroot().tag.endswith("svg")
    else:
        assert ext in ("txt", "lprof.txt")  # lines: the kernprof table
        want = {"time": "Time (mean", "profile": "function calls",
                "lines": "Timer unit", "memory": "Filename: ",
                "dump": "Thread "}[cmd]
        assert want in path.read_text()


def fallback_env(py, tmp_path):
    """An empty directory for fallback files, and an env naming it
    $TMPDIR."""
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    return fallback, dict(py.env, TMPDIR=str(fallback))


def dev_full(tmp_path, ext):
    """full.EXT: /dev/full under a name whose extension picks a format."""
    full = tmp_path / f"full.{ext}"
    full.symlink_to("/dev/full")
    return full


DELIVERIES = [("time", "json"), ("time", "txt"), ("profile", "pstats"),
              ("profile", "svg"), ("profile", "txt"), ("lines", "lprof"),
              ("lines", "txt"), ("memory", "svg"), ("memory", "txt"),
              ("record", "svg"), ("record", "pstats"),
              ("dump", "json"), ("dump", "txt")]


@pytest.mark.parametrize("cmd,ext", DELIVERIES)
def test_a_failed_write_is_delivered_to_a_fallback_file(py, tmp_path, cmd,
                                                        ext):
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    full = dev_full(tmp_path, ext)
    fallback, env = fallback_env(py, tmp_path)
    with python_target(py) as pid:
        args = command_args(py, cmd, str(full), prog, marker, pid=pid)
        proc = py.spy(*args, env=env, timeout=120)
    assert proc.returncode == 74, proc.stderr
    check_with_oracle(py, saved_path(proc, fallback), cmd)


@pytest.mark.parametrize("cmd", ["profile", "lines", "memory", "record"])
def test_the_programs_failure_outranks_a_failed_write(py, tmp_path, cmd):
    """The program's own status is what its caller checks; the result is
    still delivered."""
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    full = dev_full(tmp_path, EXT[cmd])
    fallback, env = fallback_env(py, tmp_path)
    args = command_args(py, cmd, str(full), prog, marker, status=3)
    proc = py.spy(*args, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    check_with_oracle(py, saved_path(proc, fallback), cmd)
    # And written where asked, the status is the program's.
    out = tmp_path / f"out.{EXT[cmd]}"
    args = command_args(py, cmd, str(out), prog, marker, status=3)
    proc = py.spy(*args, timeout=120)
    assert proc.returncode == 3 and not error_lines(proc.stderr), proc.stderr
    check_with_oracle(py, out, cmd)


@pytest.mark.parametrize("cmd", ["time", "profile", "lines", "memory",
                                 "dump"])
def test_a_failed_stdout_is_delivered_to_a_fallback_file(py, tmp_path, cmd):
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    fallback, env = fallback_env(py, tmp_path)
    with python_target(py) as pid:
        args = command_args(py, cmd, "-", prog, marker, pid=pid)
        if cmd in ("profile", "lines", "memory"):
            args = [cmd, *args[3:]]  # no -o: the table on stdout
        with open("/dev/full", "w") as full:
            proc = py.spy(*args, env=env, stdout=full, stderr=subprocess.PIPE,
                          capture_output=False, timeout=120)
    assert proc.returncode == 74, proc.stderr
    path = saved_path(proc, fallback)
    assert path.name.endswith(".txt")
    check_with_oracle(py, path, cmd)


# ---- atomic writes -------------------------------------------------------

OLD = b"the previous result, which must survive\n"


def limit_file_size(nbytes):
    def preexec():
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return preexec


@pytest.mark.parametrize("cmd", COMMANDS)
def test_a_write_cut_short_leaves_the_old_file(py, tmp_path, cmd):
    """A file size limit cuts the write short: the executable is killed
    there (SIGXFSZ), Python (which ignores SIGXFSZ) gets EFBIG. Either way
    the old file is what it was. The cut is at twice the old file's
    length, less than any result: half the probe's size was not (a flame
    graph's size follows what was sampled, and a busy machine gave the
    second run fewer stacks than the probe)."""
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    ext = EXT[cmd]
    out, probe = tmp_path / f"out.{ext}", tmp_path / f"probe.{ext}"
    fallback, env = fallback_env(py, tmp_path)
    with python_target(py) as pid:
        proc = py.spy(*command_args(py, cmd, str(probe), prog, marker,
                                    pid=pid), timeout=120)
        assert proc.returncode == 0, proc.stderr
        cut = 2 * len(OLD)
        assert probe.stat().st_size > 2 * cut
        out.write_bytes(OLD)
        proc = py.spy(*command_args(py, cmd, str(out), prog, marker,
                                    pid=pid),
                      env=env, preexec_fn=limit_file_size(cut),
                      errors="surrogateescape", timeout=120)
    assert out.read_bytes() == OLD
    if proc.returncode != -signal.SIGXFSZ:
        # Not killed: told, and delivered (the fallback is cut too: the
        # last resort is stdout, a pipe here).
        assert proc.returncode == 74, proc.stderr
        assert "printed the result on stdout instead" in proc.stderr
        printed = proc.stdout.encode("utf-8", "surrogateescape")
        assert len(printed) > cut
        left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        assert not left, left


# inotify(7), through libc.
IN_MODIFY, IN_CREATE, IN_MOVED_TO, IN_ALL_EVENTS = 0x2, 0x100, 0x80, 0xfff


def inotify_events(fd):
    """[(name, mask)] read so far from an inotify descriptor."""
    events = []
    while select.select([fd], [], [], 0)[0]:
        buf = os.read(fd, 1 << 16)
        i = 0
        while i < len(buf):
            _, mask, _, n = struct.unpack_from("iIII", buf, i)
            name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
            events.append((name, mask))
            i += 16 + n
    return events


@pytest.mark.parametrize("cmd", COMMANDS)
def test_the_result_replaces_the_old_file_by_rename(py, tmp_path, cmd):
    """Watched by inotify, the target's name is never created or modified
    in place: it appears by a rename of the complete file, which keeps the
    old file's mode."""
    prog, marker = write_prog(tmp_path), tmp_path / "ran"
    out = tmp_path / f"out.{EXT[cmd]}"
    out.write_bytes(OLD)
    out.chmod(0o640)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    try:
        assert libc.inotify_add_watch(fd, str(tmp_path).encode(),
                                      IN_ALL_EVENTS) >= 0
        with python_target(py) as pid:
            proc = py.spy(*command_args(py, cmd, str(out), prog, marker,
                                        pid=pid), timeout=120)
        events = [m for name, m in inotify_events(fd) if name == out.name]
    finally:
        os.close(fd)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() != OLD
    assert any(m & IN_MOVED_TO for m in events), events
    assert not any(m & (IN_MODIFY | IN_CREATE) for m in events), events
    assert out.stat().st_mode & 0o777 == 0o640


# ---- `| head -1` ---------------------------------------------------------

def big_script(tmp_path):
    """2000 functions, each called once: a long table for profile and
    lines (every function of the script's file)."""
    p = tmp_path / "big.py"
    p.write_text("".join(f"def f{i}(x):\n    return x + {i}\n\n"
                         for i in range(2000)) +
                 "for i in range(2000):\n    globals()[f'f{i}'](i)\n")
    return p


def deep_script(tmp_path):
    """Time spent at 20 recursion depths: long collapsed stacks."""
    p = tmp_path / "deep.py"
    p.write_text("""\
import time
def rec(n, stop):
    if n:
        return rec(n - 1, stop)
    while time.perf_counter() < stop:
        pass
for d in range(200, 400, 10):
    rec(d, time.perf_counter() + 0.03)
""")
    return p


F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def run_into_head(py, args, cwd):
    """Run spyglass ARGS with stdout into a one-page pipe, read its first
    line and close the pipe, as `| head -1` does. (rc, stderr, line)."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 4096)
    with open(cwd / "stderr", "w+") as err:
        proc = subprocess.Popen([py.spyglass, *args], stdout=w, stderr=err,
                                env=py.env, cwd=cwd)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            line = f.readline()
        rc = proc.wait(timeout=120)
        err.seek(0)
        return rc, err.read(), line


@pytest.mark.parametrize("cmd", COMMANDS)
def test_head_ends_the_output_quietly(py, tmp_path, cmd):
    big, deep = big_script(tmp_path), deep_script(tmp_path)
    # dump's: four threads 500 frames deep.
    target = (python_target(py, depth=500, threads=4) if cmd == "dump"
              else nullcontext())
    with target as pid:
        args = {
            "time": ["time", "-n", "1", *["true"] * 200],
            "profile": ["profile", str(big)],
            "lines": ["lines", str(big)],
            "memory": ["memory", str(big)],
            "record": ["record", "-r", "200", "-o", "-", "-f", "collapsed",
                       "--", py.python, str(deep)],
            "dump": ["dump", "--pid", str(pid)],
        }[cmd]
        rc, stderr, line = run_into_head(py, args, tmp_path)
    assert line, stderr
    # Nothing about the closed pipe: no error line, no traceback, no
    # "Exception ignored" from Python's final flush.
    assert not error_lines(stderr), stderr
    for word in ("Traceback", "Exception ignored", "Broken pipe",
                 "BrokenPipeError"):
        assert word not in stderr, stderr
    # Killed by SIGPIPE as coreutils are, or exit 141 (what a shell shows
    # for that) where SIGPIPE is ignored (Python, record).
    assert rc in (141, -signal.SIGPIPE), (rc, stderr)


FORKS = '''
import os
import sys


def work():
    return sum(range(1000))


pid = os.fork()
work()
if pid:
    _, status = os.waitpid(pid, 0)
    print("child status", os.waitstatus_to_exitcode(status)
          if hasattr(os, "waitstatus_to_exitcode") else status >> 8)
else:
    print("child done", flush=True)
    sys.exit(3)
'''


@pytest.mark.parametrize("cmd", ["profile", "lines", "memory", "dis"])
def test_a_forked_child_that_runs_to_the_end_writes_nothing(any_py, tmp_path,
                                                            cmd):
    """Regression: a child the program forks, which runs the rest of the
    program (no os._exit), came back into the agent and wrote its own
    results (its report on stdout, or its file over the parent's). It now
    ends as python would, with its status; only the process spyglass
    started writes: here the report, on stdout, comes once, after the
    parent learnt the child's status."""
    (tmp_path / "forks.py").write_text(FORKS)
    args = [cmd]
    if cmd in ("lines", "dis"):
        args += ["--func", "__main__:work"]
    proc = any_py.spy(*args, "forks.py", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "child status 3" in lines, proc.stdout
    assert lines[:lines.index("child status 3")] == ["child done"], \
        proc.stdout
    assert "work" in proc.stdout  # the parent's report
