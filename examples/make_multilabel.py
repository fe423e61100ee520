#!/usr/bin/env python3
"""make_multilabel.py — writes multilabel.csv, the data of multilabel.nn.

400 samples of 4 inputs uniform in [0, 1] and 3 labels, each 0 or 1, any number of them
present at once: 'big' (x1 + x2 > 1), 'bright' (x3 > 0.5) and 'mixed' (|x1 − x4| > 0.3),
from a fixed seed, so the file is the same on every run. Usage: python3 make_multilabel.py
[OUT.csv] (default: multilabel.csv beside this script)."""
import os
import random
import sys

N_SAMPLES = 400
SEED = 20240503


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "multilabel.csv")
    rng = random.Random(SEED)
    with open(out, "w", newline="\n") as f:
        f.write("x1,x2,x3,x4,big,bright,mixed\n")
        for _ in range(N_SAMPLES):
            x = [rng.random() for _ in range(4)]
            labels = [x[0] + x[1] > 1, x[2] > 0.5, abs(x[0] - x[3]) > 0.3]
            f.write(",".join("%.4f" % v for v in x) + "," + ",".join(str(int(b)) for b in labels) + "\n")


if __name__ == "__main__":
    main()
