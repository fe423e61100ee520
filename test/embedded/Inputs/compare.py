#!/usr/bin/env python3
"""compare.py GOT EXPECTED [TOL]: the numbers of two text files (separated by white space or
commas; words that are not numbers are skipped) agree one for one within TOL relative to
max(1, |expected|) (default 1e-5). Prints "match: N numbers" and exits 0, or names the first difference, exit 1."""
import re
import sys


def numbers(path):
    out = []
    with open(path) as f:
        for word in re.split(r"[\s,]+", f.read()):
            try:
                out.append(float(word))
            except ValueError:
                pass
    return out


def main():
    got, want = numbers(sys.argv[1]), numbers(sys.argv[2])
    tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    if len(got) != len(want) or not want:
        print(f"mismatch: {len(got)} numbers in {sys.argv[1]}, {len(want)} in {sys.argv[2]}")
        return 1
    for i, (g, w) in enumerate(zip(got, want)):
        if abs(g - w) > tol * max(1.0, abs(w)):
            print(f"mismatch: number {i}: {g!r} against {w!r} (tolerance {tol})")
            return 1
    print(f"match: {len(want)} numbers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
