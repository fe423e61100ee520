#!/usr/bin/env python3
"""Dropout against over-fitting, and what it must leave alone.

A wide network (one ReLU layer of 512) learns diabetes.csv's progression score from its first
80 patients (Adam, 300 epochs, batch 8) and is scored on the other 362: without dropout it fits
the 80 almost exactly and the test loss stays far above the training loss; with `dropout P` on
the layer the gap (test loss − training loss, both in eval, without dropout) must be smaller.
Both runs have a fixed seed, so the numbers are reproducible; docs/language.md records them.
Then: `dropout 0` trains the very weights of no dropout (bit for bit); two runs with dropout
and one seed give the same weights; eval and predict of the weights trained with dropout are
the same from the executable without dropout (only training drops units)."""
import os
import subprocess

import e2e

P = 0.5
NET = """network %(name)s {
  input  measures[10];
  layer  h[512] relu%(dropout)s;
  output progression linear;
  train {
    data "train.csv" header inputs 0..9 targets 10 scale zscore target_scale zscore;
    adam rate 0.001 batch 8;
    epochs 300;
    seed 3;
  }
}
"""

a = e2e.args()
rows = open(os.path.join(a.examples, "diabetes.csv")).read().splitlines()
header, rows = rows[0], [r for r in rows[1:] if r.strip()]
open("train.csv", "w").write("\n".join([header] + rows[:80]) + "\n")
open("test.csv", "w").write("\n".join([header] + rows[80:]) + "\n")


def build(name, dropout):
    open(name + ".nn", "w").write(NET % {"name": name, "dropout": dropout})
    e2e.run([a.nnc, name + ".nn", "-o", name])
    return "./" + name


def train(exe, weights):
    e2e.run([exe, "train", "--quiet", "--save", weights])
    return open(weights, "rb").read()


def losses(exe, weights):
    ev = [e2e.run([exe, "eval", "--weights", weights, "--data", f]) for f in ("train.csv", "test.csv")]
    return e2e.metric(ev[0], "eval", "loss"), e2e.metric(ev[1], "eval", "loss"), ev


plain, drop, zero = build("plain", ""), build("drop", " dropout %g" % P), build("zero", " dropout 0")
w_plain, w_drop = train(plain, "plain.weights"), train(drop, "drop.weights")
report = []
for label, exe, w in (("no dropout", plain, "plain.weights"), ("dropout %g" % P, drop, "drop.weights")):
    tr, te, _ = losses(exe, w)
    report.append((label, tr, te, te - tr))
    print("%-12s train loss %.4f  test loss %.4f  gap %.4f" % (label, tr, te, te - tr))
if not report[1][3] < report[0][3]:
    e2e.fail("the gap with dropout (%.4f) is not smaller than without (%.4f)" % (report[1][3], report[0][3]))

if train(zero, "zero.weights") != w_plain:
    e2e.fail("dropout 0 trained other weights than no dropout")
if train(drop, "again.weights") != w_drop:
    e2e.fail("two runs with dropout and one seed trained different weights")
mine, theirs = losses(drop, "drop.weights")[2], losses(plain, "drop.weights")[2]
strip = lambda outs: [l for o in outs for l in o.splitlines() if l.startswith("eval")]
if strip(mine) != strip(theirs):
    e2e.fail("eval of the same weights differs with and without dropout", "\n".join(mine + theirs))
rows_in = "".join(",".join(r.split(",")[:10]) + "\n" for r in rows[80:100])
pred = [subprocess.run([exe, "predict", "--weights", "drop.weights"], input=rows_in, stdout=subprocess.PIPE,
                       universal_newlines=True).stdout for exe in (drop, plain)]
if pred[0] != pred[1] or len(pred[0].splitlines()) != 20:
    e2e.fail("predict of the same weights differs with and without dropout", pred[0] + pred[1])
e2e.ok("dropout %g: gap %.4f, without: %.4f; dropout 0 = none, reproducible, eval/predict unaffected"
       % (P, report[1][3], report[0][3]))
