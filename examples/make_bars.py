#!/usr/bin/env python3
"""make_bars.py — writes bars.csv, the data of autoencoder.nn.

300 images of 4×4 pixels, each a few horizontal or vertical bars (never both) drawn with
intensity 0.6–1.0 over background noise 0–0.2, row by row, from a fixed seed, so the file is
the same on every run. Usage: python3 make_bars.py [OUT.csv] (default: bars.csv beside this
script)."""
import os
import random
import sys

N_SAMPLES = 300
SEED = 20240502


def image(rng):
    px = [[rng.uniform(0.0, 0.2) for _ in range(4)] for _ in range(4)]
    bars = [i for i in range(4) if rng.random() < 0.4] or [rng.randrange(4)]
    vertical = rng.random() < 0.5
    for b in bars:
        for k in range(4):
            r, c = (k, b) if vertical else (b, k)
            px[r][c] = rng.uniform(0.6, 1.0)
    return [v for row in px for v in row]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "bars.csv")
    rng = random.Random(SEED)
    with open(out, "w", newline="\n") as f:
        f.write(",".join("p%d" % i for i in range(16)) + "\n")
        for _ in range(N_SAMPLES):
            f.write(",".join("%.3f" % v for v in image(rng)) + "\n")


if __name__ == "__main__":
    main()
