"""The test matrix: every test that runs Python runs on each CPython 3.8-3.13.

tests/venvs.py makes one venv per version with spyglass installed the way a
user installs it. A version that is missing is a visible skip, never a
silent pass.
"""
import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from venvs import (NEUTRAL_CWD, ROOT, SANITIZE, VENVS, VERSIONS, Py,  # noqa
                   find_interpreter, install, selected_versions)

_cache = {}
# version -> the Future of its venv's build, started at collection.
_builds = {}

# A suite started in the background by a shell without job control
# (`make test &` in a script) inherits SIGINT and SIGQUIT ignored, and every
# program it starts would too: python then never raises KeyboardInterrupt,
# spyglass keeps an ignored stop signal ignored, and the tests of Ctrl-C
# fail or wait. The tests are about spyglass, not about how the suite was
# started: give them the dispositions of a terminal's foreground.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)

# `python -c MARK FILE` (or a command's -c) creates FILE: a test that it
# stays absent knows the program never started.
MARK = "import sys; open(sys.argv[1], 'w').close()"


def one_error(proc, status, *needles):
    """proc failed with `status` and exactly one `spyglass: error:` line
    holding each needle; the line."""
    assert proc.returncode == status, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("spyglass: error: "), \
        proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def get_py(version):
    """The Py for a version, installing on first use; skips when absent."""
    if version not in _cache:
        build = _builds.get(version)
        _cache[version] = build.result() if build else install(version)
    if _cache[version] is None:
        pytest.skip(f"CPython {version} not found (pyenv or PATH)")
    return _cache[version]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "py_versions(*versions): run on these CPythons only (of "
        "those selected), for tests whose oracle is too slow for all six")


def pytest_generate_tests(metafunc):
    if "py" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("py_versions")
        vs = [v for v in selected_versions() if not only or v in only.args]
        metafunc.parametrize("py", vs, indirect=True,
                             ids=[f"py{v}" for v in vs])


@pytest.fixture
def py(request):
    return get_py(request.param)


@pytest.fixture(scope="session")
def any_py():
    """One installed version, for tests of the executable alone."""
    v = _newest_found()
    if v is None:
        pytest.skip("no CPython 3.8-3.13 found")
    return get_py(v)


def _newest_found():
    """The newest selected version installed here (any_py's), or None."""
    return next((v for v in reversed(selected_versions())
                 if find_interpreter(v)), None)


@pytest.fixture(scope="session")
def root():
    return ROOT


# nodeid -> the CPython version it runs on ("" for tests of the executable
# alone or of no Python), filled at collection.
_versions = {}
NO_VERSION = "no version"


def pytest_collection_modifyitems(config, items):
    for item in items:
        spec = getattr(item, "callspec", None)
        v = spec.params.get("py", "") if spec else ""
        # A py_versions marker naming none of the selected versions leaves
        # an empty parameter set: pytest skips that test, with no version.
        _versions[item.nodeid] = v if isinstance(v, str) else ""
    # SPYGLASS_TEST_VERSIONED_ONLY=1: only the tests that run a CPython, for
    # a second pass beside one that runs the others (make test).
    if os.environ.get("SPYGLASS_TEST_VERSIONED_ONLY") == "1":
        drop = [i for i in items if not _versions[i.nodeid]]
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = [i for i in items if _versions[i.nodeid]]


def pytest_collection_finish(session):
    """The versions the tests to run (after -k) need, built now."""
    needed = {_versions.get(item.nodeid, "") for item in session.items}
    if any("any_py" in getattr(item, "fixturenames", ())
           for item in session.items):
        needed.add(_newest_found() or "")
    _prebuild(sorted(needed - {""}, key=VERSIONS.index))


def _prebuild(versions):
    """Build the venvs the collected tests need, three at a time, while the
    tests of no version run: one after the other, on first use, they took
    a third of a fresh clone's run (each compiles spyglass and fetches its
    packages). A test waits for its version's build only."""
    if not versions:
        return
    pool = ThreadPoolExecutor(max_workers=3,
                              thread_name_prefix="venv-build")
    for v in versions:
        _builds[v] = pool.submit(install, v)
    pool.shutdown(wait=False)


def _outcomes(stats):
    """{nodeid: outcome}: one per test, the worst of its phases (a test
    that failed and then errored in teardown counts once, as failed)."""
    rank = {"passed": 0, "xpassed": 0, "xfailed": 1, "skipped": 1,
            "error": 2, "failed": 3}
    out = {}
    for key, reports in stats.items():
        if key not in rank:
            continue
        for rep in reports:
            nodeid = getattr(rep, "nodeid", None)
            if nodeid is None:
                continue
            if rank[key] >= rank.get(out.get(nodeid), -1):
                out[nodeid] = key
    return out


def _skip_reason(rep):
    longrepr = getattr(rep, "longrepr", None)
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason[9:] if reason.startswith("Skipped: ") else reason
    return str(longrepr)


def per_version_lines(stats):
    """`3.8: 77 passed, 0 failed, 2 skipped` per CPython, in the order of
    VERSIONS, then `no version: ...`, then one line per reason for a skip
    (with the versions it hit) so that no oracle goes missing unseen."""
    outcomes = _outcomes(stats)
    table = {}
    for nodeid, outcome in outcomes.items():
        v = _versions.get(nodeid, "") or NO_VERSION
        row = table.setdefault(v, dict.fromkeys(
            ("passed", "failed", "skipped", "error", "xfailed", "xpassed"),
            0))
        row[outcome] += 1
    order = [v for v in VERSIONS if v in table]
    order += sorted(v for v in table if v not in VERSIONS and
                    v != NO_VERSION)
    order += [NO_VERSION] if NO_VERSION in table else []
    lines = []
    for v in order:
        row = table[v]
        text = (f"{v}: {row['passed']} passed, {row['failed']} failed, "
                f"{row['skipped']} skipped")
        text += "".join(f", {row[k]} {k}" for k in ("error", "xfailed",
                                                    "xpassed") if row[k])
        lines.append(text)
    reasons = {}
    for rep in stats.get("skipped", []):
        if outcomes.get(getattr(rep, "nodeid", None)) == "skipped":
            v = _versions.get(rep.nodeid, "") or NO_VERSION
            reasons.setdefault(_skip_reason(rep), []).append(v)
    for reason, vs in sorted(reasons.items()):
        counted = ", ".join(f"{v} x{vs.count(v)}" if vs.count(v) > 1 else v
                            for v in dict.fromkeys(vs))
        lines.append(f"skipped ({counted}): {reason}")
    return lines


def pytest_terminal_summary(terminalreporter):
    missing = [v for v in selected_versions() if find_interpreter(v) is None]
    if missing:
        terminalreporter.write_line(
            "spyglass: CPython versions not found, their tests were skipped: "
            + ", ".join(missing), yellow=True)
    lines = per_version_lines(terminalreporter.stats)
    if lines:
        terminalreporter.write_sep("-", "results per CPython")
        for line in lines:
            terminalreporter.write_line(line)
