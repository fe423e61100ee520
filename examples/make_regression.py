#!/usr/bin/env python3
"""make_regression.py — writes regression.csv, the data of regression.nn.

400 samples of y = sin(x1) * x2 with x1 uniform in [-pi, pi] and x2 uniform in [-1, 1],
from a fixed seed, so the file is the same on every run. Usage: python3 make_regression.py
[OUT.csv] (default: regression.csv beside this script)."""
import math
import os
import random
import sys

N_SAMPLES = 400
SEED = 20240501


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "regression.csv")
    rng = random.Random(SEED)
    with open(out, "w", newline="\n") as f:
        f.write("x1,x2,y\n")
        for _ in range(N_SAMPLES):
            x1 = rng.uniform(-math.pi, math.pi)
            x2 = rng.uniform(-1.0, 1.0)
            f.write("%.6f,%.6f,%.6f\n" % (x1, x2, math.sin(x1) * x2))


if __name__ == "__main__":
    main()
