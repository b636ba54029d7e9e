"""The executable's global behaviour: version, help, unknown commands, the
request it hands to the agent, and what the extension exports."""
import subprocess

import pytest

from conftest import ROOT


def test_version(any_py):
    proc = any_py.spy("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("spyglass 0.")


def test_no_arguments_is_usage_error(any_py):
    proc = any_py.spy()
    assert proc.returncode == 2
    assert "usage: spyglass" in proc.stderr


def test_help_lists_commands(any_py):
    proc = any_py.spy("--help")
    assert proc.returncode == 0
    for cmd in ("time", "timeit"):
        assert f"  {cmd} " in proc.stdout


def test_unknown_command(any_py):
    proc = any_py.spy("frobnicate")
    assert proc.returncode == 2
    assert proc.stderr == ("spyglass: error: unknown command 'frobnicate' "
                           "(see 'spyglass --help')\n")


def test_every_command_has_help(any_py):
    listing = any_py.spy("--help").stdout.split("commands:")[1]
    names = [l.split()[0] for l in listing.splitlines() if l.startswith("  ")]
    assert names
    for name in names:
        proc = any_py.spy(name, "--help")
        assert proc.returncode == 0, name
        assert proc.stdout.startswith("usage: spyglass " + name), name


def test_executable_does_not_link_libpython(any_py):
    out = subprocess.run(["ldd", any_py.spyglass], capture_output=True,
                         text=True).stdout
    assert "libpython" not in out
    assert "libc.so" in out


def test_python_m_spyglass(py):
    proc = py.py("-m", "spyglass", "--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("spyglass ")


# ---- the request handed to the agent ---------------------------------------

RUN_REQUEST = ("import sys; from spyglass import _agent; "
               "sys.exit(_agent.run_request(sys.argv[1:]))")


def release(py):
    return py.spy("--version").stdout.split()[1]


def captured_launch(py, tmp_path, *args):
    """What the executable execs for `spyglass ARGS` (an in-process command
    under --python): the fake interpreter records its argv instead of
    running."""
    fake = tmp_path / "fake-python"
    out = tmp_path / "argv"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {out}\n")
    fake.chmod(0o755)
    proc = py.spy(args[0], "--python", fake, *args[1:])
    assert proc.returncode == 0, proc.stderr
    argv = out.read_bytes().split(b"\0")[:-1]
    assert argv[0] == b"-c"
    return argv[1], argv[2:]  # the glue, the request


def test_request_is_versioned_and_canonical(py, tmp_path):
    _, request = captured_launch(py, tmp_path, "timeit", "-n", "3", "-u",
                                 "msec", "-s", "x = 1", "pass")
    assert request[:4] == [b"spyglass-request=3",
                           f"release={release(py)}".encode(),
                           f"install={ROOT}".encode(), b"command=timeit"]
    # Validated values, not the user's flags: the agent parses no options.
    assert b"number=3" in request and b"unit=msec" in request
    assert not any(a.startswith(b"-") for a in request)


@pytest.mark.parametrize("args,fmt", [
    (["profile", "-c", "pass"], b"format=text"),
    (["profile", "-o", "x.SVG", "-c", "pass"], b"format=flamegraph"),
    (["profile", "-f", "collapsed", "-o", "x", "-c", "pass"],
     b"format=collapsed"),
    (["lines", "-o", "x.lprof", "-c", "pass"], b"format=lprof"),
    (["lines", "-o", "x.out", "-c", "pass"], b"format=text"),
])
def test_request_carries_the_chosen_format(any_py, tmp_path, args, fmt):
    # The executable picks the format (writers' registry); the agent is
    # told, and does not pick again.
    _, request = captured_launch(any_py, tmp_path, *args)
    assert [a for a in request if a.startswith(b"format=")] == [fmt]


def run_request(py, glue, request):
    return py.run([py.python.encode(), b"-c", glue, *request])


def test_agent_refuses_another_release(py, tmp_path):
    # An executable of another release: the real request with its release
    # field changed, through the real glue, into this venv's agent.
    glue, request = captured_launch(py, tmp_path, "timeit", "-n", "1",
                                    "pass")
    request[1] = b"release=9.9.9"
    proc = run_request(py, glue, request)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"spyglass: error: spyglass 9.9.9 cannot drive the agent of "
        f"{py.python} (spyglass {release(py)}): reinstall it with "
        f"{py.python} -m pip install {ROOT}\n")


def test_agent_refuses_another_request_format(py, tmp_path):
    # Same release, another format (two builds of one release from trees
    # that differ): refused by the format version.
    glue, request = captured_launch(py, tmp_path, "profile", "-c", "pass")
    ours = int(request[0].split(b"=")[1])
    request[0] = b"spyglass-request=%d" % (ours + 1)
    proc = run_request(py, glue, request)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert (f"spyglass {release(py)} (request format {ours + 1}) cannot "
            f"drive the agent of {py.python} (spyglass {release(py)}, "
            f"request format {ours}): reinstall it with {py.python} -m pip "
            f"install {ROOT}") in lines[0]


def test_agent_refuses_a_request_it_cannot_run(py, tmp_path):
    # A hand-made request of the right release that names a format which
    # cannot hold a function profile: one line, and the program never runs
    # (it is not the executable's to lose data over).
    glue, request = captured_launch(py, tmp_path, "profile", "-c",
                                    "print('ran')")
    request = [b"format=lprof" if a.startswith(b"format=") else a
               for a in request]
    proc = run_request(py, glue, request)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == ("spyglass: error: profile: the request names no "
                           "format for a function profile: 'lprof'\n")
    glue, request = captured_launch(py, tmp_path, "timeit", "pass")
    proc = run_request(py, glue, [a for a in request
                                  if not a.startswith(b"stmt=")])
    assert proc.returncode == 1
    assert proc.stderr == ("spyglass: error: timeit: the request is not a "
                           "valid timeit run\n")


def test_agent_older_than_requests_is_refused(any_py, tmp_path):
    # An agent from before requests existed (no run_request), shadowing the
    # installed one through PYTHONPATH.
    fake = tmp_path / "spyglass"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "_agent.py").write_text("__version__ = '0.0.9'\n")
    env = dict(any_py.env, PYTHONPATH=str(tmp_path))
    proc = any_py.spy("timeit", "pass", env=env)
    assert proc.returncode == 2
    python = any_py.venv / "bin" / "python3"  # the one next to spyglass
    assert proc.stderr == (
        f"spyglass: error: spyglass {release(any_py)} cannot drive the agent "
        f"of {python} (spyglass 0.0.9): reinstall it with {python} -m pip "
        f"install {ROOT}\n")


def test_run_request_wants_a_request(any_py):
    proc = any_py.py("-c", RUN_REQUEST, "timeit", "-n", "1", "pass")
    assert proc.returncode == 2
    assert proc.stderr == ("spyglass: error: not a spyglass request: "
                           "in-process commands are started by the spyglass "
                           "executable\n")


def test_request_carries_any_bytes(py, tmp_path):
    # The program's arguments reach it byte for byte, as under python:
    # '=', empty, option-like, newlines, invalid UTF-8, a request header.
    args = [b"a=b", b"", b"--", b"-m", b"x\ny", b"\xff\xfe", b"\xe9t\xe9",
            b"spyglass-request=1", b"release=0"]
    code = (b"import os, sys; sys.stdout.write(repr([os.fsencode(a) for a "
            b"in sys.argv]))")
    plain = py.run([py.python.encode(), b"-c", code, *args], text=False)
    out = tmp_path / "p.pstats"
    ours = py.run([py.spyglass.encode(), b"profile", b"-o", str(out).encode(),
                   b"-c", code, *args], text=False)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == plain.stdout
    assert b"\\xff\\xfe" in plain.stdout
    lines = tmp_path / "x.txt"
    ours = py.run([py.spyglass.encode(), b"lines", b"-o",
                   str(lines).encode(), b"-c", code, *args], text=False)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.startswith(plain.stdout)


def test_extension_exports_only_its_init(py):
    # Hidden visibility: the extension's namespace holds PyInit__agent and
    # nothing of spyglass's own code (which could clash with another
    # extension's symbols).
    so = py.py("-c", "import spyglass._agent as a; print(a.__file__)")
    assert so.returncode == 0, so.stderr
    nm = subprocess.run(["nm", "-D", "--defined-only", so.stdout.strip()],
                        capture_output=True, text=True)
    assert nm.returncode == 0, nm.stderr
    names = [line.split()[-1] for line in nm.stdout.splitlines()]
    assert names == ["PyInit__agent"], names
