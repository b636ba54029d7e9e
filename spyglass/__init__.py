"""spyglass: a fast native profiler toolkit for CPython.

The work is done in C: the ``spyglass`` executable and the ``_agent``
extension module. This package is thin glue around them. The extension is
imported on first use, so that ``python -m spyglass`` works even where a
source checkout's ``spyglass/`` directory shadows the installed package.
Public names of the agent (its ``__all__``) are re-exported here: e.g.
``spyglass.profile``. ``%load_ext spyglass`` loads the IPython magics
(spyglass/ipython.py).
"""
import os as _os


def executable():
    """Path of the ``spyglass`` executable installed with this package."""
    # Imported here: sysconfig pulls in threading and collections, a cost
    # every in-process command (and its profiles) would pay at start-up.
    import sysconfig

    path = _os.path.join(sysconfig.get_path("scripts"), "spyglass")
    if _os.access(path, _os.X_OK):
        return path
    import shutil

    found = shutil.which("spyglass")
    if found is None:
        raise FileNotFoundError("the spyglass executable is not installed")
    return found


def __getattr__(name):
    # `from spyglass import _agent` looks the name up here first: answer
    # private names with AttributeError so the import system loads them.
    if name.startswith("_") and name != "__version__":
        raise AttributeError(name)
    import importlib

    _agent = importlib.import_module("spyglass._agent")
    if name == "__version__":
        return _agent.__version__
    if name in getattr(_agent, "__all__", ()):
        return getattr(_agent, name)
    raise AttributeError(f"module 'spyglass' has no attribute {name!r}")


def load_ipython_extension(ipython):
    """``%load_ext spyglass``: the magics of spyglass/ipython.py
    (docs/ipython.md). IPython is imported only here, so spyglass needs it
    only for its magics."""
    from spyglass.ipython import load_ipython_extension as load

    load(ipython)
