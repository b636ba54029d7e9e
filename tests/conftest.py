"""The test matrix: every test that runs Python runs on each CPython 3.8-3.13.

tests/venvs.py makes one venv per version with spyglass installed the way a
user installs it. A version that is missing is a visible skip, never a
silent pass.
"""
import pytest

from venvs import (NEUTRAL_CWD, ROOT, SANITIZE, VENVS, VERSIONS, Py,  # noqa
                   find_interpreter, install, selected_versions)

_cache = {}


def get_py(version):
    """The Py for a version, installing on first use; skips when absent."""
    if version not in _cache:
        _cache[version] = install(version)
    if _cache[version] is None:
        pytest.skip(f"CPython {version} not found (pyenv or PATH)")
    return _cache[version]


def pytest_generate_tests(metafunc):
    if "py" in metafunc.fixturenames:
        metafunc.parametrize("py", selected_versions(), indirect=True,
                             ids=[f"py{v}" for v in selected_versions()])


@pytest.fixture
def py(request):
    return get_py(request.param)


@pytest.fixture(scope="session")
def any_py():
    """One installed version, for tests of the executable alone."""
    for v in reversed(selected_versions()):
        if find_interpreter(v):
            return get_py(v)
    pytest.skip("no CPython 3.8-3.13 found")


@pytest.fixture(scope="session")
def root():
    return ROOT


def pytest_terminal_summary(terminalreporter):
    missing = [v for v in selected_versions() if find_interpreter(v) is None]
    if missing:
        terminalreporter.write_line(
            "spyglass: CPython versions not found, their tests were skipped: "
            + ", ".join(missing), yellow=True)
