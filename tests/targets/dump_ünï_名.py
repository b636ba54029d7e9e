"""Target for tests/test_dump.py: non-ASCII function and file names.

Names of each str kind: latin-1 (grüße), UCS-2 (函数) and UCS-4 (𠀀𠀁, a
CJK Extension B pair that NFKC leaves alone). The file name itself is
UCS-2. Arguments as dump_oracle.py.
"""
import faulthandler
import sys
import threading
import time

TB_FILE, READY_FILE = sys.argv[1:3]


def park():
    with open(TB_FILE, "w") as f:
        faulthandler.dump_traceback(f, all_threads=True)
    with open(READY_FILE, "w") as f:
        f.write(str(threading.get_ident()))
    while True:
        time.sleep(3600)  # PARK_SLEEP


def 𠀀𠀁():
    park()


def 函数():
    𠀀𠀁()


def grüße():
    函数()


grüße()
