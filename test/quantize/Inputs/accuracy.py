#!/usr/bin/env python3
"""accuracy.py GOT EXPECTED POINTS: the `accuracy N%` printed by two `eval` runs differ by at
most POINTS percentage points. Prints "within POINTS points" and exits 0, or the two, exit 1."""
import re
import sys


def accuracy(path):
    with open(path) as f:
        found = re.findall(r"accuracy\s+([0-9.]+)%", f.read())
    return float(found[-1])


got, want, tol = accuracy(sys.argv[1]), accuracy(sys.argv[2]), float(sys.argv[3])
if abs(got - want) > tol:
    print(f"accuracy {got}% against {want}%: more than {tol} points apart")
    sys.exit(1)
print(f"within {tol} points")
