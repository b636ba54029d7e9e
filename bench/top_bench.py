"""spyglass top against py-spy top, in one run: what the live view costs.

Each tool is attached (--pid) to the same running target
(bench/targets_deep.py, spinning at stack depth 10, then 100) at 100 Hz
with a 1 s refresh, drawing on a pseudo-terminal of 40x120 whose output is
read and thrown away, for --seconds; then it is told to quit (q for
spyglass, Ctrl-C for py-spy, which has no quit key), and its CPU time
(user + system from wait4, all its threads) over its wall time is its CPU
share. The tools alternate within each round; medians of --repeat rounds.
py-spy comes from PyPI (py-spy) in .bench/venv (make bench-venv).

usage: python bench/top_bench.py [--version 3.12] [--repeat 3]
           [--seconds 8] [--exe PATH]
--exe measures another spyglass executable in place of the venv's.
"""
import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from benchlib import ROOT, installed, machine, median

DEEP = Path(__file__).resolve().parent / "targets_deep.py"
BENCH_BIN = ROOT / ".bench" / "venv" / "bin"
RATE = 100


def on_pty(argv, seconds, quit_key, env):
    """Run argv on a 40x120 pty for seconds, drain what it draws, then
    type quit_key; its (cpu seconds, wall seconds, bytes drawn)."""
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    drawn = 0
    quit_at = t0 + seconds
    quitted = False
    while True:
        left = quit_at - time.monotonic()
        if left <= 0 and not quitted:
            os.write(fd, quit_key)
            quitted = True
            # One that ignores its key is stopped all the same.
            quit_at = time.monotonic() + 10
        if left <= 0 and quitted and time.monotonic() > quit_at:
            os.kill(pid, signal.SIGKILL)
        if select.select([fd], [], [], max(0.05, min(left, 0.5)))[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the tool closed the pty
                break
            if not data:
                break
            drawn += len(data)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    os.close(fd)
    return ru.ru_utime + ru.ru_stime, wall, drawn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", default="3.12")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--exe")
    a = ap.parse_args()
    py = installed([a.version])[0]
    spyglass = a.exe or py.spyglass
    pyspy = str(BENCH_BIN / "py-spy")
    if not os.path.exists(pyspy):
        sys.exit("py-spy is not in .bench/venv: run make bench-venv")
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
    version = subprocess.run([pyspy, "--version"], capture_output=True,
                             text=True).stdout.strip()
    print(f"machine: {machine()}")
    print(f"CPython {a.version}; {version}; {RATE} Hz, 1 s refresh, "
          f"{a.seconds:g} s per run, {a.repeat} rounds\n")
    print("| target depth | tool | CPU (median) | range | CPU per tick | "
          "drawn |")
    print("|---|---|---|---|---|---|")
    for depth in (10, 100):
        target = subprocess.Popen([py.python, str(DEEP), str(depth),
                                   "100000"], env=py.env)
        time.sleep(1)  # its interpreter is up and spinning
        tools = {
            "spyglass top": ([spyglass, "top", "-r", str(RATE), "--delay",
                              "1", "--pid", str(target.pid)], b"q"),
            "py-spy top": ([pyspy, "top", "-r", str(RATE), "--pid",
                            str(target.pid)], b"\x03"),
        }
        got = {name: [] for name in tools}
        for _ in range(a.repeat):
            for name, (argv, key) in tools.items():
                got[name].append(on_pty(argv, a.seconds, key, env))
        target.kill()
        target.wait()
        for name, runs in got.items():
            shares = [100 * cpu / wall for cpu, wall, _ in runs]
            per = median([cpu / (wall * RATE) for cpu, wall, _ in runs])
            drawn = median([d / wall for _, wall, d in runs])
            print(f"| {depth} | {name} | {median(shares):.2f}% | "
                  f"{min(shares):.2f}-{max(shares):.2f}% | "
                  f"{per * 1e6:.0f} us | {drawn / 1024:.1f} KiB/s |")


if __name__ == "__main__":
    main()
