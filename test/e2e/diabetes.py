#!/usr/bin/env python3
"""Defaults that train, and runs that fail say why (examples/diabetes.nn: 442 patients, ten
measurements on very different scales, a score from 25 to 346).

- diabetes.csv is what make_diabetes.py writes;
- `./diabetes train` with the example's settings (the default step size, per-sample SGD,
  inputs and targets scaled) trains for each of 5 seeds: exit 0, no divergence, no warning,
  R² above 0.6 on the whole file;
- the same network without 'target_scale' diverges, and the error names the cause
  ('target_scale zscore') and keeps the weights file untouched;
- a classifier over the same measurements (score >= 140) with unscaled inputs stays at the
  majority class: train warns that it learned nothing and names 'scale zscore' (exit 0); with
  'scale zscore' it learns (no warning)."""
import os
import subprocess
import sys

import e2e

a = e2e.args()
gen = os.path.join(a.work, "diabetes.csv")
subprocess.run([sys.executable, os.path.join(a.examples, "make_diabetes.py"), gen], check=True)
if open(gen).read() != open(os.path.join(a.examples, "diabetes.csv")).read():
    e2e.fail("examples/diabetes.csv is not what examples/make_diabetes.py writes")

exe = e2e.compile_example(a, "diabetes")
for seed in range(1, 6):
    out = e2e.run([exe, "train", "--quiet", "--seed", str(seed), "--save", "d%d.weights" % seed])
    if "diverged" in out or "warning" in out:
        e2e.fail("seed %d: the example did not train quietly with the default step size" % seed, out)
    ev = e2e.run([exe, "eval", "--weights", "d%d.weights" % seed])
    r2 = e2e.metric(ev, "eval", "r2")
    if not r2 > 0.6:
        e2e.fail("seed %d: R² %g, expected above 0.6" % (seed, r2), out + ev)

text = open(os.path.join(a.examples, "diabetes.nn")).read().replace("diabetes.csv", gen)
open("unscaled_targets.nn", "w").write(text.replace(" target_scale zscore", "").replace("network diabetes",
                                                                                     "network unscaled_targets"))
e2e.run([a.nnc, "unscaled_targets.nn", "-o", "unscaled_targets"])
exe = os.path.join(a.work, "unscaled_targets")
out = e2e.run([exe, "train", "--quiet", "--save", "u.weights"], ok=(1,))
if "training diverged (likely cause: the targets are not scaled" not in out or "target_scale zscore" not in out:
    e2e.fail("the divergence of unscaled targets does not name the cause", out)
if os.path.exists("u.weights"):
    e2e.fail("a diverged run wrote the save path", out)

rows = open(gen).read().splitlines()
with open("classes.csv", "w") as f:
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        v = r.split(",")
        f.write(",".join(v[:10] + [str(int(float(v[10]) >= 140))]) + "\n")
CLASSIFIER = """network %s {
  input  m[10];
  layer  h[8] tanh;
  output s[2] softmax;
  train {
    data "classes.csv" header inputs 0..9 targets 10 onehot%s;
    loss cross_entropy;
    epochs 30;
    validation 0.2;
  }
}
"""
for name, scale in (("raw", ""), ("scaled", " scale zscore")):
    open(name + ".nn", "w").write(CLASSIFIER % (name, scale))
    e2e.run([a.nnc, name + ".nn", "-o", name])
    out = e2e.run([os.path.join(a.work, name), "train", "--quiet"])
    warned = "no better than always answering the most common class" in out
    if name == "raw" and (not warned or "add 'scale zscore' to the data" not in out):
        e2e.fail("a classifier at chance on unscaled inputs is not reported with its cause", out)
    if name == "scaled" and warned:
        e2e.fail("a classifier that learned was reported at chance", out)
e2e.ok("diabetes trains with the default step size (5 seeds); unscaled targets and inputs are named")
