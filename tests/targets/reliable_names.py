"""Target for tests/test_reliability_remote.py: a stack through functions
with names a reader must not choke on, parked until killed.

    python reliable_names.py READY_FILE

The stack, innermost first: park, a function named with a NUL, one named
with terminal escape sequences (ESC, a C1 CSI, a right-to-left override),
one named with 5,000 characters and compiled from a file name as long,
then <module>. READY_FILE gets, as JSON, each frame's (name, file, line)
from the target's own traceback.extract_stack (the oracle), innermost
first.
"""
import json
import sys
import time
import traceback

READY = sys.argv[1]
LONG = "f" + "x" * 4999
LONG_FILE = "/nonexistent/" + "d" * 5000 + ".py"
NUL = "be\x00fore"
ESCAPES = "evil\x1b[31mRED\x9b2J\u202egnp"


def park():
    stack = [(f.name, f.filename, f.lineno)
             for f in reversed(traceback.extract_stack())]
    with open(READY + ".tmp", "w") as f:
        json.dump(stack, f)
    import os
    os.rename(READY + ".tmp", READY)
    while True:
        time.sleep(3600)  # PARK_SLEEP


def nul():
    park()


def escapes():
    nul()


nul.__code__ = nul.__code__.replace(co_name=NUL)
escapes.__code__ = escapes.__code__.replace(co_name=ESCAPES)
if sys.version_info >= (3, 11):
    nul.__code__ = nul.__code__.replace(co_qualname=NUL)
    escapes.__code__ = escapes.__code__.replace(co_qualname=ESCAPES)
ns = {"escapes": escapes}
exec(compile(f"def {LONG}():\n    escapes()\n", LONG_FILE, "exec"), ns)
ns[LONG]()
