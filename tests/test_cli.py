"""The executable's global behaviour: version, help, unknown commands."""
import subprocess


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
