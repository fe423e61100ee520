#!/usr/bin/env python3
"""make_spiral.py — writes spiral.csv, the data of spiral.nn.

The two-spiral problem of Lang and Witbrock (1988), one of FANN's benchmark sets: 194 points
on two interlocking spirals, three turns each, 97 points a spiral, the class of a point its
spiral. Point i of the first spiral (i = 0 … 96) is at angle i·π/16 and radius
6.5·(104 − i)/104, the second spiral is the first turned by half a turn; coordinates are
divided by 6.5 so they lie in [−1, 1]. No randomness: the file is the same on every run.
Usage: python3 make_spiral.py [OUT.csv] (default: spiral.csv beside this script)."""
import math
import os
import sys


def points():
    rows = []
    for i in range(97):
        angle, radius = i * math.pi / 16, (104 - i) / 104
        x, y = radius * math.sin(angle), radius * math.cos(angle)
        rows.append((x, y, 1))
        rows.append((0.0 - x, 0.0 - y, 0))
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "spiral.csv")
    with open(out, "w") as fh:
        fh.write("x,y,spiral\n")
        for x, y, c in points():
            fh.write("%.6f,%.6f,%d\n" % (x, y, c))


main()
