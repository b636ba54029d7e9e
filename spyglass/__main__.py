"""``python -m spyglass ARGS``: the same as running ``spyglass ARGS``."""
import os
import sys

from spyglass import executable

if __name__ == "__main__":
    exe = executable()
    os.execv(exe, [exe] + sys.argv[1:])
