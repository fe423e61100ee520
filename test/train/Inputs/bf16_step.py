#!/usr/bin/env python3
"""One SGD step of test/quantize/Inputs/wide.nn (80-20 relu-64 tanh-3 softmax, cross-entropy)
on a whole data file, computed here in numpy, with every product's operands rounded to bf16
(round to nearest even) and the sums in f32, as precision bf16 defines it; or in f32 (--f32).
Compares the step it computes (new − initial weights) with the step of nnc's weights:
  bf16_step.py INIT.json DATA.csv RATE NNC.json TOL [--f32]
prints the largest difference as a fraction of the largest step, and fails above TOL."""
import json
import sys

import numpy as np


def bf16(a):
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def main():
    init, data, rate, got, tol = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
    rnd = (lambda a: a.astype(np.float32)) if "--f32" in sys.argv else bf16
    p = np.array(json.load(open(init))["params"], dtype=np.float32)
    sizes = [(80, 20), (20, 64), (64, 3)]
    layers, off = [], 0
    for n_in, n_out in sizes:
        w = p[off:off + n_in * n_out].reshape(n_out, n_in)
        b = p[off + n_in * n_out:off + n_in * n_out + n_out]
        layers.append((w, b, off))
        off += n_in * n_out + n_out
    rows = np.loadtxt(data, delimiter=",", dtype=np.float64)
    x = rows[:, :80].astype(np.float32)
    t = np.eye(3, dtype=np.float32)[rows[:, 80].astype(int)]
    mm = lambda a, b: (rnd(a).astype(np.float64) @ rnd(b).astype(np.float64)).astype(np.float32)
    acts = [x]
    for k, (w, b, _) in enumerate(layers):
        z = mm(acts[-1], w.T) + b
        if k == 0:
            a = np.maximum(z, 0)
        elif k == 1:
            a = np.tanh(z)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        acts.append(a.astype(np.float32))
    d = acts[3] - t
    new = p.copy()
    scale = np.float32(rate / len(x))
    for k in (2, 1, 0):
        w, b, o = layers[k]
        grad_in = mm(d, w) if k > 0 else None
        new[o:o + w.size] = (w - scale * mm(d.T, acts[k])).ravel()
        new[o + w.size:o + w.size + b.size] = b - scale * d.sum(axis=0)
        if k == 2:
            d = grad_in * (1 - acts[2] * acts[2])
        elif k == 1:
            d = grad_in * (acts[1] > 0)
    theirs = np.array(json.load(open(got))["params"], dtype=np.float32)
    step, their_step = new - p, theirs - p
    worst = np.abs(step - their_step).max() / np.abs(step).max()
    print("step %s: largest difference %.3g of the largest step (tolerance %g)" %
          ("f32" if "--f32" in sys.argv else "bf16", worst, tol))
    sys.exit(0 if worst <= tol else 1)


main()
