"""The executable's global behaviour: version, help, unknown commands, the
request it hands to the agent, and what the extension exports."""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import MARK, ROOT, one_error
from venvs import find_interpreter


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
    running. It is a script, so the executable asks it what it is: that
    question goes to the real python."""
    fake = tmp_path / "fake-python"
    out = tmp_path / "argv"
    fake.write_text(f"#!/bin/sh\ncase \"$2\" in *spyglass-probe*) exec "
                    f"{py.python} \"$@\";; esac\n"
                    f"printf '%s\\0' \"$@\" > {out}\n")
    fake.chmod(0o755)
    proc = py.spy(args[0], "--python", fake, *args[1:])
    assert proc.returncode == 0, proc.stderr
    argv = out.read_bytes().split(b"\0")[:-1]
    assert argv[0] == b"-c"
    return argv[1], argv[2:]  # the glue, the request


def test_request_is_versioned_and_canonical(py, tmp_path):
    _, request = captured_launch(py, tmp_path, "timeit", "-n", "3", "-u",
                                 "msec", "-s", "x = 1", "pass")
    assert request[:4] == [b"spyglass-request=8",
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


# ---- the interpreter: --python, checked before anything runs ---------------

PYENV = Path.home() / ".pyenv" / "versions"


def old_python(version):
    """pyenv's python2.7 or python3.7, or a skip that says it is missing."""
    for d in sorted(PYENV.glob(version + ".*")):
        exe = d / "bin" / f"python{version}"
        if exe.exists():
            return str(exe)
    pytest.skip(f"no pyenv Python {version} to refuse")


def run_marked(py, tmp_path, cmd, *options):
    """`spyglass CMD OPTIONS -c MARK marker`: whether the program ran."""
    marker = tmp_path / "ran"
    proc = py.spy(cmd, *options, "-c", MARK, marker, cwd=tmp_path)
    return proc, marker.exists()


@pytest.mark.parametrize("cmd", ["profile", "lines", "record"])
@pytest.mark.parametrize("python,status,says", [
    ("/bin/true", 2, "'/bin/true' is not a Python interpreter"),
    ("/bin/echo", 2, "'/bin/echo' is not a Python interpreter"),
    ("{tmp}/no-such-python", 127, "Python interpreter '{tmp}/no-such-python'"
     " not found"),
    ("no-such-python-in-path", 127, "'no-such-python-in-path' not found"),
    ("{tmp}", 127, "cannot run Python interpreter '{tmp}': Is a directory"),
    ("2.7", 2, "is Python 2.7; spyglass runs under CPython 3.8-3.13"),
    ("3.7", 2, "is Python 3.7; spyglass runs under CPython 3.8-3.13"),
])
def test_python_that_is_not_a_supported_python(any_py, tmp_path, cmd,
                                               python, status, says):
    if python in ("2.7", "3.7"):
        python = old_python(python)
    python = python.format(tmp=tmp_path)
    proc, ran = run_marked(any_py, tmp_path, cmd, "--python", python)
    one_error(proc, status, f"spyglass: error: {cmd}: ",
              says.format(tmp=tmp_path))
    assert proc.stdout == ""
    assert not ran


@pytest.mark.parametrize("cmd", ["profile", "lines"])
def test_python_without_spyglass_says_how_to_install(py, tmp_path, cmd):
    bare = find_interpreter(py.version)  # pyenv's, no spyglass in it
    proc, ran = run_marked(py, tmp_path, cmd, "--python", bare)
    line = one_error(proc, 2, f"{bare} (Python {py.version}) cannot import "
                     "spyglass._agent")
    # A way that works: the tree this executable was built from (spyglass
    # is not on PyPI).
    assert line.endswith(f"install spyglass {release(py)} for it: {bare} -m "
                         f"pip install {ROOT}"), line
    assert not ran


def test_install_hint_once_the_source_tree_is_gone(any_py, tmp_path):
    """The executable names the tree it was built from for `pip install`
    (spyglass is on no package index, so no name would do); once that tree
    is gone, the hint says so and what PATH must hold."""
    tree = tmp_path / "src-tree"
    files = subprocess.run(["git", "-C", ROOT, "ls-files", "-z"],
                           capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    bin_dir = Path(any_py.python).parent
    # The build runs as a developer's does: without the sanitizer run's
    # preloaded libasan, under which the compiler itself would not start.
    env = {k: v for k, v in any_py.env.items()
           if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                        "LSAN_OPTIONS")}
    env["PATH"] = f"{bin_dir}:{any_py.env['PATH']}"
    for step in (["meson", "setup", "b", "--buildtype=plain"],
                 ["ninja", "-C", "b", "spyglass"]):
        proc = subprocess.run([str(bin_dir / step[0]), *step[1:]], cwd=tree,
                              env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    exe = tmp_path / "spyglass"
    shutil.move(str(tree / "b" / "spyglass"), exe)
    shutil.rmtree(tree)
    bare = find_interpreter(any_py.version)
    proc = any_py.run([exe, "profile", "--python", bare, "-c", "pass"])
    line = one_error(proc, 2, "cannot import spyglass._agent")
    assert line.endswith(
        f"install spyglass {release(any_py)} for it: {bare} -m pip install "
        f"PATH (a checkout or sdist of spyglass {release(any_py)}; {tree}, "
        "which this spyglass was built from, is gone)"), line


@pytest.mark.parametrize("cmd", ["profile", "lines"])
def test_python_runs_the_program_under_it(py, any_py, tmp_path, cmd):
    # Another venv's spyglass runs the program under py's interpreter,
    # by name from PATH too.
    check = f"import sys; assert sys.version_info[:2] == " \
            f"{tuple(map(int, py.version.split('.')))}"
    for python in (py.python, f"python{py.version}"):
        env = dict(any_py.env, PATH=f"{py.venv}/bin:{any_py.env['PATH']}")
        proc = any_py.spy(cmd, "--python", python, "-c", check, env=env)
        assert proc.returncode == 0, proc.stderr


def test_python_wrapper_script_is_asked(py, tmp_path):
    # Not an ELF executable (as a pyenv shim): asked what it is, then run.
    wrapper = tmp_path / "py-wrapper"
    wrapper.write_text(f"#!/bin/sh\nexec {py.python} \"$@\"\n")
    wrapper.chmod(0o755)
    proc, ran = run_marked(py, tmp_path, "profile", "--python", wrapper)
    assert proc.returncode == 0, proc.stderr
    assert ran


@pytest.mark.parametrize("cmd", ["profile", "lines"])
def test_short_p_is_not_the_interpreter(any_py, tmp_path, cmd):
    # -p is the pid in record and dump (py-spy's); the interpreter is
    # --python, long only, so `-p PYTHON` is refused, not misread.
    proc, ran = run_marked(any_py, tmp_path, cmd, "-p", any_py.python)
    one_error(proc, 2, f"spyglass: error: {cmd}: -p is not an option here; "
              "the interpreter is --python PYTHON")
    assert not ran
