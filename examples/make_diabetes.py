#!/usr/bin/env python3
"""make_diabetes.py — writes diabetes.csv, the data of diabetes.nn.

442 patients shaped like the classic diabetes regression data (Efron et al., 2004): ten
measurements on very different scales (age in years, sex 1/2, body-mass index, mean blood
pressure, six blood serum values from ~3 to ~300) and a disease-progression score a year
later, from about 25 to 350. The values are synthetic: drawn from a fixed seed with the
original's ranges and a target that depends mostly on BMI, blood pressure and two serum
values, plus noise, so the file is the same on every run.
Usage: python3 make_diabetes.py [OUT.csv] (default: diabetes.csv beside this script)."""
import os
import random
import sys

N_SAMPLES = 442
SEED = 20040401
COLUMNS = ["age", "sex", "bmi", "bp", "tc", "ldl", "hdl", "tch", "ltg", "glu", "progression"]


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def patient(rng):
    age = clamp(rng.gauss(48.5, 13.1), 19, 79)
    sex = rng.choice([1, 2])
    bmi = clamp(rng.gauss(26.4, 4.4), 18.0, 42.2)
    bp = clamp(rng.gauss(94.6, 13.8) + 0.2 * (age - 48.5), 62, 133)
    tc = clamp(rng.gauss(189.1, 34.6), 97, 301)
    ldl = clamp(0.8 * (tc - 189.1) + rng.gauss(115.4, 18.0), 41.6, 242.4)
    hdl = clamp(rng.gauss(49.8, 12.9) - 0.5 * (bmi - 26.4), 22, 99)
    tch = clamp(tc / hdl + rng.gauss(0, 0.5), 2, 9.1)
    ltg = clamp(rng.gauss(4.64, 0.52) + 0.02 * (bmi - 26.4), 3.26, 6.11)
    glu = clamp(rng.gauss(91.3, 11.5) + 0.5 * (bmi - 26.4), 58, 124)
    y = (152.1 + 10.0 * (bmi - 26.4) + 1.0 * (bp - 94.6) + 70.0 * (ltg - 4.64) - 0.6 * (hdl - 49.8)
         + 0.25 * (glu - 91.3) - 9.0 * (sex - 1.5) + 0.15 * (bmi - 26.4) ** 2 + rng.gauss(0, 40.0))
    return [round(age), sex, round(bmi, 1), round(bp), round(tc), round(ldl, 1), round(hdl),
            round(tch, 2), round(ltg, 4), round(glu), round(clamp(y, 25, 346))]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             "diabetes.csv")
    rng = random.Random(SEED)
    with open(out, "w", newline="\n") as f:
        f.write(",".join(COLUMNS) + "\n")
        for _ in range(N_SAMPLES):
            f.write(",".join(str(v) for v in patient(rng)) + "\n")


if __name__ == "__main__":
    main()
