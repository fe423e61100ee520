#!/usr/bin/env python3
"""Networks written with literal weight matrices, vectors and per-neuron sums compute exactly
the numbers they are written with: `./m predict --initial` gives, for random inputs, the
outputs a reference in plain Python computes from the same numbers (to the 9 digits predict
prints in f64, to the precision of a float in f32); `weights export --initial` lists the
literal initial weights in the parameter order; backpropagation through per-edge fixed weights passes gradcheck; the seed's
network written as groups with per-neuron sums predicts what it predicts neuron by neuron;
and weights of a network are refused for one whose fixed literal weights differ."""
import math
import os
import random

import e2e

H = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [1.0, -1.1, 0.12]]
HB = [0.01, -0.02, 0.03, -0.04]
F = [[0.5, -0.25, 1.5, 0.75], [-1.0, 2.0, 0.5, -0.5]]
FB = [0.1, 0.2]
Y = [[0.5, -0.3], [0.2, 0.4], [-0.6, 0.9]]
YX = [0.2, -0.1, 0.3]
YB = [0.1, -0.1, 0.05]

LIT_NN = """network lit {
  input x[3];
  bias one;
  layer h[4] tanh <- [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [1.0, -1.1, .12]]*x
                     + [0.01, -0.02, 0.03, -0.04];
  layer f[2] relu <- fixed [[0.5, -0.25, 1.5, 0.75], [-1, 2, 0.5, -0.5]]*h + fixed [0.1, 0.2]*one;
  output y[3] softmax;
  y[0] <- 0.5*f[0] - 0.3*f[1] + 0.2*x[0] + 0.1;
  y[1] <- [0.2, 0.4]*f - 0.1*x[0] - 0.1;
  y[2] <- [-0.6, 0.9]*f + 0.3*x[0] + 0.05;
  train { loss cross_entropy; precision %s; }
}
"""


def reference(x):
    h = [math.tanh(sum(w * v for w, v in zip(row, x)) + b) for row, b in zip(H, HB)]
    f = [max(0.0, sum(w * v for w, v in zip(row, h)) + b) for row, b in zip(F, FB)]
    z = [sum(w * v for w, v in zip(row, f)) + wx * x[0] + b for row, wx, b in zip(Y, YX, YB)]
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / sum(e) for v in e]


def compile_net(a, name, text):
    path = os.path.join(a.work, name + ".nn")
    with open(path, "w") as fh:
        fh.write(text)
    exe = os.path.join(a.work, name)
    e2e.run([a.nnc, path, "-o", exe])
    return exe


def predictions(exe, rows, *flags):
    with open("in.csv", "w") as fh:
        fh.write("".join(",".join(repr(v) for v in r) + "\n" for r in rows))
    out = e2e.run([exe, "predict", "--input", "in.csv"] + list(flags))
    return [[float(v) for v in line.split(",")] for line in out.split()]


def check_predict(a, precision, tol):
    exe = compile_net(a, "lit_" + precision, LIT_NN % precision)
    rng = random.Random(7)
    rows = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(50)]
    got = predictions(exe, rows, "--initial")
    for r, g in zip(rows, got):
        want = reference(r)
        if any(abs(p - q) > tol * max(1.0, abs(q)) for p, q in zip(g, want)):
            e2e.fail("%s: predict --initial for %s gives %s, the literal weights give %s" % (precision, r, g, want))
    return exe


def check_export(exe):
    out = e2e.run([exe, "weights", "export", "--initial", "--format", "csv"])
    got = [float(line.split(",")[1]) for line in out.split()[1:]]
    want = [w for row in H for w in row] + HB + [w for row in Y for w in row] + YX + YB
    if got != want:
        e2e.fail("the initial parameters are %s, the literal weights %s" % (got, want), out)


def check_gradcheck(exe):
    rng = random.Random(3)
    with open("g.csv", "w") as fh:
        for _ in range(8):
            x = [rng.uniform(-2, 2) for _ in range(3)]
            c = rng.randrange(3)
            fh.write(",".join(repr(v) for v in x) + "," + ",".join("1" if i == c else "0" for i in range(3)) + "\n")
    out = e2e.run([exe, "gradcheck", "--data", "g.csv", "--inputs", "0..2", "--targets", "3..5"])
    if "PASS" not in out:
        e2e.fail("gradcheck through fixed literal weights", out)


SEED_NEURONS = """network seed {
  input  n1;
  bias   n2;
  neuron n3 relu    <- fixed 0.5*n1 + fixed 0.1*n2;
  neuron n4 relu    <- - fixed 0.3*n1 + fixed 0.2*n2;
  bias   n5;
  neuron n6 sigmoid <- fixed 0.7*n3 + fixed 1.1*n4 - fixed 0.2*n5;
  neuron n7 sigmoid <- fixed 0.4*n4 + fixed 0.9*n5;
  bias   n8;
  output n9 identity <- fixed 1.5*n6 - fixed 0.8*n7 + fixed 0.05*n8;
  train { precision f64; }
}
"""

SEED_GROUPS = """network seed {
  input  n1;
  layer  a[2] relu <- fixed [0.5, -0.3]*n1 + fixed [0.1, 0.2];
  bias   n5;
  layer  b[2] sigmoid;
  b[0] <- fixed 0.7*a[0] + fixed 1.1*a[1] - fixed 0.2*n5;
  b[1] <- fixed 0.4*a[1] + fixed 0.9*n5;
  output n9 identity <- fixed [1.5, -0.8]*b + fixed 0.05;
  train { precision f64; }
}
"""


def check_seed_grouped(a):
    rows = [[x / 4.0] for x in range(-8, 9)]
    by_neuron = predictions(compile_net(a, "seed_neurons", SEED_NEURONS), rows, "--initial")
    by_group = predictions(compile_net(a, "seed_groups", SEED_GROUPS), rows, "--initial")
    if by_neuron != by_group:
        e2e.fail("the seed as groups predicts %s, neuron by neuron %s" % (by_group, by_neuron))


def check_fingerprint(a):
    one = compile_net(a, "fixed_one", "network q { input x[2]; output y identity <- fixed [1, 2]*x + 0.5; }")
    other = compile_net(a, "fixed_other", "network q { input x[2]; output y identity <- fixed [1, 3]*x + 0.5; }")
    with open("q.csv", "w") as fh:
        fh.write("1,2,3\n")
    e2e.run([one, "train", "--data", "q.csv", "--epochs", "1", "--quiet", "--save", "q.weights"])
    out = e2e.run([other, "predict", "--weights", "q.weights", "--input", "q.csv"], ok=(1,))
    if "another network" not in out:
        e2e.fail("weights of a network with other fixed literal weights were not refused", out)


a = e2e.args()
exe64 = check_predict(a, "f64", 1e-8)  # predict prints 9 significant digits
check_predict(a, "f32", 2e-6)
check_export(exe64)
check_gradcheck(exe64)
check_seed_grouped(a)
check_fingerprint(a)
e2e.ok("literal weight matrices, vectors and per-neuron sums predict their own numbers (f64, f32)")
