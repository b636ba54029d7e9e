"""50 MiB of Python heap made inside a @profile'd function and held
after it returns, then freed; prints its own clock around the call."""
import json
import time


@profile  # noqa: F821 (spyglass memory puts it in builtins)
def grow(n):
    return [bytearray(1 << 20) for _ in range(n)]


def main():
    time.sleep(0.1)
    t0 = time.time()
    big = grow(50)
    t1 = time.time()
    time.sleep(0.1)
    t2 = time.time()
    del big
    t3 = time.time()
    time.sleep(0.1)
    print(json.dumps({"call": [t0, t1], "freed": [t2, t3]}), flush=True)


main()
