"""Small pyperformance-style workloads that measure what a sampler costs
them, for bench/load_bench.py's slowdown table.

  julia N     the book's Julia set (examples/julia.py) on an N x N grid
  raytrace N  a pure-Python ray tracer: N x N pixels, three spheres, a
              plane, shadows and two reflections (objects, floats, calls)
  jsonre N    N rounds of json.dumps/loads of a list of records and regex
              searches over the text (C-accelerated modules, allocation)

The last line printed is the workload's own measure of itself, taken by
the process around the work only (start-up and the samplers' attaching
left out):

  WALL CPU VCSW NVCSW

wall seconds (perf_counter), user+sys seconds of the process
(process_time), and the voluntary and involuntary context switches the
kernel counted for the process meanwhile (/proc/self/status). A CPU-bound
program switches voluntarily only when something stops it (a ptrace stop,
a signal), so VCSW counts the times a sampler stopped it.
"""
import io
import json
import math
import random
import re
import runpy
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

JULIA = Path(__file__).resolve().parent.parent / "examples" / "julia.py"


def switches():
    """(voluntary, involuntary) context switches of the whole process."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.endswith("ctxt_switches") or "ctxt_switches:" in line:
            key, _, n = line.partition(":")
            got[key.strip()] = int(n)
    return got.get("voluntary_ctxt_switches", 0), got.get(
        "nonvoluntary_ctxt_switches", 0)


def julia(n):
    sys.argv = [str(JULIA), str(n)]
    with redirect_stdout(io.StringIO()):  # the book's own prints
        runpy.run_path(str(JULIA), run_name="__main__")


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o):
        return Vec(self.x - o.x, self.y - o.y, self.z - o.z)

    def scale(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z

    def unit(self):
        return self.scale(1.0 / math.sqrt(self.dot(self)))


class Sphere:
    def __init__(self, centre, radius, colour, mirror):
        self.centre, self.radius = centre, radius
        self.colour, self.mirror = colour, mirror

    def hit(self, origin, d):
        """Distance along the unit ray to the nearest hit, or None."""
        oc = origin - self.centre
        b = oc.dot(d)
        disc = b * b - oc.dot(oc) + self.radius * self.radius
        if disc < 0:
            return None
        t = -b - math.sqrt(disc)
        return t if t > 1e-6 else None

    def normal(self, p):
        return (p - self.centre).unit()


class Plane:
    def __init__(self, height, colour):
        self.height, self.colour, self.mirror = height, colour, 0.2

    def hit(self, origin, d):
        if abs(d.y) < 1e-9:
            return None
        t = (self.height - origin.y) / d.y
        return t if t > 1e-6 else None

    def normal(self, p):
        return Vec(0.0, 1.0, 0.0)


SCENE = [Sphere(Vec(0.0, 1.0, 5.0), 1.0, Vec(0.9, 0.2, 0.2), 0.5),
         Sphere(Vec(-2.0, 0.7, 6.0), 0.7, Vec(0.2, 0.9, 0.2), 0.3),
         Sphere(Vec(2.0, 0.5, 4.0), 0.5, Vec(0.2, 0.2, 0.9), 0.7),
         Plane(0.0, Vec(0.8, 0.8, 0.8))]
LIGHT = Vec(-3.0, 5.0, 0.0)


def nearest(origin, d):
    best, what = None, None
    for obj in SCENE:
        t = obj.hit(origin, d)
        if t is not None and (best is None or t < best):
            best, what = t, obj
    return best, what


def trace(origin, d, depth):
    t, obj = nearest(origin, d)
    if obj is None:
        return Vec(0.1, 0.1, 0.2)
    p = origin + d.scale(t)
    n = obj.normal(p)
    to_light = (LIGHT - p).unit()
    lit = max(0.0, n.dot(to_light))
    if lit > 0 and nearest(p, to_light)[1] is not None:
        lit *= 0.3  # in shadow
    colour = obj.colour.scale(0.1 + 0.9 * lit)
    if depth > 0 and obj.mirror > 0:
        r = d - n.scale(2 * d.dot(n))
        colour = colour.scale(1 - obj.mirror) + trace(
            p, r.unit(), depth - 1).scale(obj.mirror)
    return colour


def raytrace(n):
    eye = Vec(0.0, 1.0, 0.0)
    total = 0.0
    for j in range(n):
        for i in range(n):
            d = Vec((i - n / 2) / n, (n / 2 - j) / n, 1.0).unit()
            total += trace(eye, d, 2).x
    return total


WORDS = ("alpha beta gamma delta epsilon zeta theta kappa lambda sigma "
         "omega").split()
EMAIL = re.compile(r"\b[a-z]+\.[a-z]+@[a-z]+\.example\b")
DATE = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])-([0-2]\d)\b")


def records(rng, k):
    return [{"id": i,
             "name": " ".join(rng.choice(WORDS) for _ in range(3)),
             "mail": f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@"
                     f"{rng.choice(WORDS)}.example",
             "date": f"20{rng.randint(10, 29)}-{rng.randint(1, 12):02d}-"
                     f"{rng.randint(1, 28):02d}",
             "score": rng.random(), "tags": rng.sample(WORDS, 4)}
            for i in range(k)]


def jsonre(n):
    rng = random.Random(7)
    found = 0
    for _ in range(n):
        text = json.dumps(records(rng, 200), indent=1)
        back = json.loads(text)
        found += len(EMAIL.findall(text)) + sum(
            1 for m in DATE.finditer(text) if m.group(2) == "06")
        found += sum(1 for r in back if r["score"] > 0.5)
    return found


WORKLOADS = {"julia": julia, "raytrace": raytrace, "jsonre": jsonre}


def main():
    work, n = WORKLOADS[sys.argv[1]], int(sys.argv[2])
    v0, n0 = switches()
    w0, c0 = time.perf_counter(), time.process_time()
    work(n)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    v1, n1 = switches()
    print(f"{wall:.6f} {cpu:.6f} {v1 - v0} {n1 - n0}", flush=True)


if __name__ == "__main__":
    main()
