#!/usr/bin/env python3
"""A compiled artifact carries everything `predict` uses. For networks trained with each kind
of input scaling (iris.nn's `scale zscore` in f32, `scale minmax` in f64, a constant
`scale 1/4` in f32, and `scale zscore` over 20 inputs, so that the batch kernels scale whole
vectors of inputs and not only the last ones):

1. `nnc --weights W -c --header` gives an object that a small C program links; run in a
   directory where no data file exists, its NAME_forward (over all rows at once, which takes the
   batch kernels, and row by row) and NAME_evaluate on raw inputs give the outputs of
   `./model predict --weights W` to 1e-6 relative;
2. the inference-only executable (`nnc --weights W model.nn -o m`), alone in an empty
   directory, predicts what the training executable predicts with W, and evaluates what it
   evaluates;
3. `weights export` (JSON and CSV) carries the scaling, and `weights import` of either gives
   back W byte for byte; the inference-only executable exports the same text.

Takes --cc (the C compiler, default cc) besides the common flags."""
import os
import shutil

import e2e

NETWORKS = {
    # name: (source, data file, number of inputs)
    "iris": (None, "iris.csv", 4),
    "mm": ("""network mm {
  input  x[2];
  layer  h[16] tanh;
  output y linear <- h + x;
  train {
    data      "regression.csv" header inputs 0..1 targets 2 scale minmax;
    sgd       rate 0.05 batch 4;
    epochs    30;
    precision f64;
  }
}
""", "regression.csv", 2),
    "fac": ("""network fac {
  input  x[2];
  layer  h[24] relu;
  output y linear;
  train {
    data   "regression.csv" header inputs 0..1 targets 2 scale 1/4;
    sgd    rate 0.02 batch 1;
    epochs 20;
  }
}
""", "regression.csv", 2),
    # 20 inputs: whole vectors of inputs through the batch kernels' transpose, not only its tail
    "wide": ("""network wide {
  input  x[20];
  layer  h[12] sigmoid;
  output y[2] linear;
  train {
    data   "wide.csv" header inputs 0..19 targets 20..21 scale zscore;
    sgd    rate 0.01 batch 8;
    epochs 10;
  }
}
""", "wide.csv", 20),
}


def write_wide_csv():
    """wide.csv: 300 rows of 20 inputs on different scales and 2 targets, deterministic."""
    rows = [",".join("x%d" % i for i in range(20)) + ",t0,t1"]
    for k in range(300):
        x = [((k * 37 + i * 11) % 101 - 50) * (i + 1) * 0.37 + i * 10 for i in range(20)]
        rows.append(",".join("%.6g" % v for v in x) + ",%.6g,%.6g" % (sum(x[:10]) * 0.001, x[3] * x[7] * 1e-4))
    open("wide.csv", "w").write("\n".join(rows) + "\n")


# Reads rows of raw inputs (CSV, no header) from argv[1]; prints NAME_forward's outputs for all
# rows at once, then row by row, then NAME_evaluate's, each row on a line.
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>

#include "@N@.h"

static void print_rows(const @N@_real *y, long n) {
  for (long k = 0; k < n; k++)
    for (int o = 0; o < @U@_N_OUTPUTS; o++)
      printf("%.17g%c", (double)y[k * @U@_N_OUTPUTS + o], o + 1 < @U@_N_OUTPUTS ? ',' : '\n');
}

int main(int argc, char **argv) {
  enum { MAX = 4096 };
  static @N@_real x[MAX * @U@_N_INPUTS], y[MAX * @U@_N_OUTPUTS], t[MAX * @U@_N_OUTPUTS];
  FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
  long n = 0;
  double v;
  if (!f) return 2;
  for (long i = 0; fscanf(f, " %lf ,", &v) == 1 && i < MAX * @U@_N_INPUTS; i++) x[i] = (@N@_real)v, n = i + 1;
  n /= @U@_N_INPUTS;
  void *scratch = aligned_alloc(64, (size_t)((@U@_SCRATCH_BYTES(n) + 63) / 64 * 64));
  if (!scratch || n == 0) return 3;
  @N@_forward(NULL, n, x, y, scratch);
  print_rows(y, n);
  for (long k = 0; k < n; k++) @N@_forward(NULL, 1, x + k * @U@_N_INPUTS, y + k * @U@_N_OUTPUTS, scratch);
  print_rows(y, n);
  @N@_evaluate(NULL, n, x, t, y, scratch);
  print_rows(y, n);
  free(scratch);
  return 0;
}
"""

REL = 1e-6


def numbers(text):
    return [[float(v) for v in line.split(",")] for line in text.split("\n") if line.strip()]


def same_outputs(what, got, want):
    """got and want: lists of rows; each value within REL of the other, relative to the larger of
    the two or to 1, whichever is larger: f32 outputs near zero (a softmax's unlikely classes)
    carry the rounding of the larger numbers they were computed from, not their own."""
    if len(got) != len(want):
        e2e.fail("%s: %d rows, predict gave %d" % (what, len(got), len(want)))
    worst = 0.0
    for r, (g, w) in enumerate(zip(got, want)):
        if len(g) != len(w):
            e2e.fail("%s: row %d has %d outputs, predict gave %d" % (what, r + 1, len(g), len(w)))
        for a, b in zip(g, w):
            rel = abs(a - b) / max(abs(a), abs(b), 1.0)
            worst = max(worst, rel)
            if rel > REL:
                e2e.fail("%s: row %d: %.9g, predict gave %.9g (relative difference %.3g > %g)"
                         % (what, r + 1, a, b, rel, REL))
    return worst


def empty_dir(name):
    d = os.path.join(A.work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def train(name):
    src, data, n_in = NETWORKS[name]
    if not os.path.exists(data):
        shutil.copy(os.path.join(A.examples, data), A.work)
    if src is None:
        shutil.copy(os.path.join(A.examples, name + ".nn"), A.work)
    else:
        open(name + ".nn", "w").write(src)
    e2e.run([A.nnc, name + ".nn", "-o", name])
    e2e.run(["./" + name, "train", "--quiet", "--restarts", "1", "--epochs", "30", "--save", name + ".weights"])
    rows = [r.split(",")[:n_in] for r in open(data).read().splitlines()[1:] if r.strip()]
    open(name + "-in.csv", "w").write("".join(",".join(r) + "\n" for r in rows))
    return e2e.run(["./" + name, "predict", "--weights", name + ".weights", "--input", name + "-in.csv"])


def in_dir(name, d, cmd):
    """Runs cmd in directory d with network name's training data moved out of the way (the
    executables name it by its absolute path)."""
    data = os.path.join(A.work, NETWORKS[name][1])
    os.rename(data, data + ".away")
    os.chdir(d)
    try:
        return e2e.run(cmd)
    finally:
        os.chdir(A.work)
        os.rename(data + ".away", data)


def check_object(name, want):
    """1: the object linked into a C program, run with no data file around."""
    up = name.upper()
    e2e.run([A.nnc, "--weights", name + ".weights", "-c", name + ".nn", "-o", name + "-inf.o",
             "--header", name + ".h"])
    open(name + "-main.c", "w").write(PROGRAM.replace("@N@", name).replace("@U@", up))
    e2e.run([A.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", ".", "-I", A.include, name + "-main.c",
             name + "-inf.o", "-lm", "-o", name + "-main"])
    d = empty_dir(name + "-object")
    shutil.copy(name + "-main", d)
    shutil.copy(name + "-in.csv", os.path.join(d, "rows.txt"))
    out = in_dir(name, d, ["./" + name + "-main", "rows.txt"])
    rows = numbers(out)
    n = len(rows) // 3
    worst = 0.0
    for k, how in enumerate(("NAME_forward on all rows", "NAME_forward row by row", "NAME_evaluate")):
        worst = max(worst, same_outputs("%s: %s" % (name, how), rows[k * n:(k + 1) * n], want))
    return worst


def check_executable(name, want):
    """2: the inference-only executable alone in an empty directory, no data file anywhere."""
    e2e.run([A.nnc, "--weights", name + ".weights", name + ".nn", "-o", name + "-inf"])
    d = empty_dir(name + "-exe")
    shutil.copy(name + "-inf", d)
    shutil.copy(name + "-in.csv", os.path.join(d, "rows.txt"))
    got = in_dir(name, d, ["./" + name + "-inf", "predict", "--input", "rows.txt"])
    if got != want:
        same_outputs("%s: inference-only predict" % name, numbers(got), numbers(want))
    data = NETWORKS[name][1]
    shutil.copy(data, os.path.join(d, "other-name.csv"))
    ev = in_dir(name, d, ["./" + name + "-inf", "eval", "--data", "other-name.csv"])
    os.remove(os.path.join(d, "other-name.csv"))
    ref = e2e.run(["./" + name, "eval", "--weights", name + ".weights", "--data", data])
    if ev.splitlines()[1:] != ref.splitlines()[1:]:
        e2e.fail("%s: the inference-only eval differs from the training executable's" % name, ev + ref)
    return got == want


def check_text(name):
    """3: export -> import round trip with the scaling."""
    w = name + ".weights"
    for fmt in ("json", "csv"):
        text = e2e.run(["./" + name, "weights", "export", "--weights", w, "--format", fmt])
        if "scale" not in text:
            e2e.fail("%s: weights export --format %s writes no scaling" % (name, fmt), text)
        open("%s-export.%s" % (name, fmt), "w").write(text)
        back = "%s-%s.weights" % (name, fmt)
        e2e.run(["./" + name, "weights", "import", "--weights", back, "--input", "%s-export.%s" % (name, fmt)])
        if open(back, "rb").read() != open(w, "rb").read():
            e2e.fail("%s: weights export --format %s then import does not give the weights file back" % (name, fmt))
        inf = in_dir(name, os.path.join(A.work, name + "-exe"), ["./" + name + "-inf", "weights", "export", "--format", fmt])
        if inf != text:
            e2e.fail("%s: the inference-only executable exports other %s than the training one" % (name, fmt),
                     inf + text)


def extra(p):
    p.add_argument("--cc", default="cc")


A = e2e.args(extra)
A.include = os.path.join(os.path.dirname(A.examples), "include")
write_wide_csv()
report = []
for net in NETWORKS:
    predicted = train(net)
    worst = check_object(net, numbers(predicted))
    exact = check_executable(net, predicted)
    check_text(net)
    report.append("%s: object within %.2g, executable %s" % (net, worst, "identical" if exact else "within 1e-6"))
e2e.ok("compiled artifacts agree with predict with no data file (%s)" % "; ".join(report))
