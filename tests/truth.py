"""Ground truths for the tests whose figures depend on time.

The machine the suite runs on may be busy: a program then gets a fraction
of a CPU, is preempted for whole time slices, wakes late from sleeps. A
test that compares a measurement with what a program was *meant* to do
("70% of the time in seventy()", "sleep 0.01 is 5x faster than sleep
0.05", "300 samples in 1.5 s") fails then although nothing is wrong. So the
timing-sensitive tests compare with what *happened in the same run*,
measured by the program itself (its own CPU or wall time per function, its
thread's run-queue time from /proc), and derive the tolerance from the
number of samples, never from a guess of how noisy the machine is. See
docs/testing.md.
"""
import math

# Four standard deviations of a normal law, two-sided: a correct sampler
# fails one check in about 16,000.
P_FLOOR = math.erfc(4 / math.sqrt(2))


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p), summed in log space (n may be in
    the tens of thousands)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    lp, lq = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
             + i * lp + (n - i) * lq for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def binom_p_value(k, n, p, side="both"):
    """How likely a count this far from n*p is, if each of n samples falls
    in the class with probability p: "above" (k too high), "below", or
    "both" (twice the smaller tail)."""
    above = 1.0 - binom_cdf(k - 1, n, p)
    below = binom_cdf(k, n, p)
    if side == "above":
        return above
    if side == "below":
        return below
    return min(1.0, 2 * min(above, below))


def share_misses(counts, truth, side="both", floor=P_FLOOR):
    """Classes whose sample counts disagree with the truth.

    counts: {name: samples attributed}; truth: {name: seconds (or any
    weight) the program measured for it}. Each class's share of the
    samples must be a likely draw of a binomial law with n = the samples of
    all the classes and p = the class's share of the truth. side says which
    tail is tested: "both", "above" (the truth is an upper bound), "below",
    or a {name: side} dict, where a class left out is not tested. Returns
    {name: (share, expected share, p-value)} for those that fail.
    """
    n = sum(counts.values())
    total = sum(truth.values())
    assert n > 0 and total > 0, (counts, truth)
    sides = side if isinstance(side, dict) else dict.fromkeys(truth, side)
    misses = {}
    for name, sd in sides.items():
        k = counts.get(name, 0)
        pv = binom_p_value(k, n, truth[name] / total, sd)
        if pv < floor:
            misses[name] = (round(k / n, 4), round(truth[name] / total, 4),
                            pv)
    return misses


def halfwidth(p, n, sigmas=4.0):
    """Half the width of the interval share_misses() accepts, about: the
    smallest error in a share that a run of n samples can tell."""
    return sigmas * math.sqrt(p * (1 - p) / n)


def moved(counts, src, dst, fraction):
    """counts with `fraction` of all samples taken from src and given to dst:
    what a sampler that misattributed them would have reported."""
    k = min(counts[src], round(fraction * sum(counts.values())))
    out = dict(counts)
    out[src] -= k
    out[dst] = out.get(dst, 0) + k
    return out


def spin_code(seconds=0.3):
    """`python -c` source that computes for `seconds` of its own CPU time.

    A sampler test needs its target to be on CPU long enough to be seen,
    however busy the machine: a fixed amount of work (sum(range(3000000)),
    some 50 ms) can end before a loaded machine lets the sampler read it,
    and then the recording is rightly empty."""
    return ("import time\n"
            f"end = time.thread_time() + {seconds}\n"
            "while time.thread_time() < end:\n"
            "    pass\n")
