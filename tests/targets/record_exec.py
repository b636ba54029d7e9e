"""A child that is Python twice, as subprocess's children are between fork
and exec: forked from this parent (a copy of it, running before_exec), then
exec'ing a new interpreter (running after_exec). `record --subprocesses`
once kept the reader opened on the copy, which failed every sample after
the exec, and never followed the new interpreter."""
import os
import sys
import time


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def before_exec():
    spin(1.0)


def after_exec():
    spin(1.5)


if __name__ == "__main__":
    if sys.argv[1:] == ["--after"]:
        after_exec()
        sys.exit(0)
    pid = os.fork()
    if pid == 0:
        before_exec()
        os.execv(sys.executable, [sys.executable, __file__, "--after"])
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(
        os, "waitstatus_to_exitcode") else status >> 8)
