"""Target for tests/test_dump.py: a subinterpreter (3.12+) parked in its
own code, run from a thread of the main interpreter.

    python dump_subinterp.py TRACEBACK_FILE READY_FILE
"""
import sys
import threading
import time

import parked

try:
    import _xxsubinterpreters as si  # 3.12
except ImportError:
    import _interpreters as si  # 3.13

TB_FILE, READY_FILE = sys.argv[1:3]
SUB = """
import time
def sub_park():
    open(%r, "w").write("sub")
    while True:
        time.sleep(3600)  # SUB_SLEEP
sub_park()
""" % (READY_FILE + ".sub",)


def runner(interp):
    si.run_string(interp, SUB)


def park():
    with open(READY_FILE, "w") as f:
        f.write(str(threading.get_ident()))
    while True:
        time.sleep(3600)  # PARK_SLEEP


interp = si.create()
thread = threading.Thread(target=runner, args=(interp,), name="runner",
                          daemon=True)
thread.start()
import os
while not os.path.exists(READY_FILE + ".sub"):
    time.sleep(0.01)
parked.wait_until(lambda: parked.in_sleep(thread.native_id))
park()
