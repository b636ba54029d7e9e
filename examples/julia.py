"""A pure-Python Julia set: the CPU-bound example spyglass is shown on.

The classic example of the "Profiling" chapter: on a 1000x1000 grid with 300
iterations, abs() is called 34,219,980 times and list.append 2,002,000 times.

usage: python julia.py [WIDTH [MAX_ITERATIONS]]   (defaults: 1000 300)
"""
import sys
import time

# The area of complex space to investigate.
x1, x2, y1, y2 = -1.8, 1.8, -1.8, 1.8
c_real, c_imag = -0.62772, -0.42193


def calculate_z_serial_purepython(maxiter, zs, cs):
    """Calculate output list using the Julia update rule."""
    output = [0] * len(zs)
    for i in range(len(zs)):
        n = 0
        z = zs[i]
        c = cs[i]
        while abs(z) < 2 and n < maxiter:
            z = z * z + c
            n += 1
        output[i] = n
    return output


def calc_pure_python(desired_width, max_iterations):
    """Build a list of complex coordinates (zs) and parameters (cs), then
    run the Julia set calculation over them."""
    x_step = (x2 - x1) / desired_width
    y_step = (y1 - y2) / desired_width
    x = []
    y = []
    ycoord = y2
    while ycoord > y1:
        y.append(ycoord)
        ycoord += y_step
    xcoord = x1
    while xcoord < x2:
        x.append(xcoord)
        xcoord += x_step
    zs = []
    cs = []
    for ycoord in y:
        for xcoord in x:
            zs.append(complex(xcoord, ycoord))
            cs.append(complex(c_real, c_imag))

    print("Length of x:", len(x))
    print("Total elements:", len(zs))
    start_time = time.time()
    output = calculate_z_serial_purepython(max_iterations, zs, cs)
    end_time = time.time()
    secs = end_time - start_time
    print(calculate_z_serial_purepython.__name__ + " took", secs, "seconds")
    return output


if __name__ == "__main__":
    width = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    output = calc_pure_python(desired_width=width, max_iterations=iterations)
    if (width, iterations) == (1000, 300):
        # This sum is expected for a 1000^2 grid with 300 iterations.
        assert sum(output) == 33219980
