"""export_check.py — ONNX export of every example network and of the networks in
Inputs/export/ (and of an imported model ending in LogSoftmax), each checked four ways:
  1. `./NET weights export --onnx` and `nnc --emit-onnx NET.nn --weights W` write the same bytes,
     and so does the executable `nnc NET.nn --weights W` compiles (weights and scaling built in);
  2. onnx.checker.check_model(full_check=True) accepts the model;
  3. the graph evaluated by onnx_eval.py (NumPy) gives ./NET predict's outputs within 1e-5
     relative to max(1, |value|);
  4. `nnc EXPORTED.onnx -o m2` predicts exactly what `nnc NET.nn --weights W` predicts (the
     same printed digits: both compile the weights and the input scaling in; within 1e-5 for
     ROUND_TRIP_ROUNDED), or, for a network with target scaling (TARGET_SCALED), what
     ./NET predict prints within 1e-5 (docs/onnx.md, "Export").
Run with /usr/bin/python3 (Debian's python3-onnx and python3-numpy); exits 77 (skipped),
with the reason, when they cannot be imported."""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys

try:
    import numpy as np
    import onnx
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import onnx_eval
except ImportError as e:
    print("skipped: %s (install python3-onnx and python3-numpy, run with /usr/bin/python3)" % e)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

# name, source (examples/ or Inputs/export/), how its weights are made: every example
# (examples/*.nn, found when the script runs), then the networks of Inputs/export/
EXPORT_CASES = [("mixed", "export", "train"), ("wide", "export", "train"), ("classes", "export", "train")]

# Examples whose training data come from the OS: skipped with the reason when absent.
NEEDS = {"fashion": "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "classes": FASHION}

# nnc --weights refuses these (compiled in, their outputs would be in scaled units). Their
# export divides the outputs by the target scaling in double; the importer folds that into the
# output layer's weights, so the import predicts what the trained executable predicts within
# TOLERANCE, not bit for bit (predict prints the unscaled value in double, the model a float).
TARGET_SCALED = {"wide", "diabetes"}

# The importer reads these back as another network computing the same function: several
# input groups become one (their edge sets dense from the whole input, zeros elsewhere), and
# an edge set from one neuron of a wider group becomes dense from the group, so sums are
# added in another order. Their outputs agree within TOLERANCE, not bit for bit.
ROUND_TRIP_ROUNDED = {"mixed"}


def cases(examples):
    found = sorted(f[:-3] for f in os.listdir(examples) if f.endswith(".nn"))
    return [(name, "examples", "train") for name in found] + EXPORT_CASES


TOLERANCE = 1e-5


def run(cmd, cwd, **kw):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    return r


def must(cmd, cwd, **kw):
    r = run(cmd, cwd, **kw)
    if r.returncode != 0:
        raise SystemExit("FAIL: %s exited %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r.stdout


def n_inputs(exe, cwd):
    return int(re.search(r"^inputs\s+(\d+)", must([exe, "info"], cwd), re.M).group(1))


def sample_rows(name, width):
    rng = random.Random(name)
    if name in ("classes", "fashion"):
        return [[rng.randint(0, 255) for _ in range(width)] for _ in range(8)]
    if name.startswith("parity") or name == "xor":
        return [[rng.randint(0, 1) for _ in range(width)] for _ in range(8)]
    return [[round(rng.uniform(-2, 2), 4) for _ in range(width)] for _ in range(16)]


def parse_rows(text):
    return np.array([[float(v) for v in line.split(",")] for line in text.strip().splitlines()])


def close(got, want):
    return np.all(np.abs(got - want) <= TOLERANCE * np.maximum(1.0, np.abs(want)))


def check(args, name, where, how):
    src = os.path.join(args.examples if where == "examples" else os.path.join(HERE, "Inputs", "export"), name + ".nn")
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    exe = os.path.join(work, name)
    must([args.nnc, src, "-o", exe], work)
    must([exe, "train", "--epochs", "2", "--restarts", "1", "--quiet", "--save", "w.weights"], work)
    must([exe, "weights", "export", "--weights", "w.weights", "--onnx", "run.onnx"], work)
    must([args.nnc, "--emit-onnx", src, "--weights", "w.weights", "-o", "nnc.onnx"], work)
    with open(os.path.join(work, "run.onnx"), "rb") as a, open(os.path.join(work, "nnc.onnx"), "rb") as b:
        if a.read() != b.read():
            raise SystemExit("FAIL %s: weights export --onnx and nnc --emit-onnx wrote different models" % name)
    # an executable compiled with the weights (and their scaling) exports the same model
    if run([args.nnc, src, "--weights", "w.weights", "-o", "compiled"], work).returncode == 0:
        must([os.path.join(work, "compiled"), "weights", "export", "--onnx", "compiled.onnx"], work)
        with open(os.path.join(work, "run.onnx"), "rb") as a, open(os.path.join(work, "compiled.onnx"), "rb") as b:
            if a.read() != b.read():
                raise SystemExit("FAIL %s: the executable compiled with its weights exports another model" % name)
    elif name not in TARGET_SCALED:
        raise SystemExit("FAIL %s: nnc %s --weights w.weights failed" % (name, src))
    model = onnx.load(os.path.join(work, "run.onnx"))
    onnx.checker.check_model(model, full_check=True)

    rows = sample_rows(name, n_inputs(exe, work))
    csv = "".join(",".join(str(v) for v in r) + "\n" for r in rows)
    with open(os.path.join(work, "rows.csv"), "w") as f:
        f.write(csv)
    predicted = must([exe, "predict", "--weights", "w.weights", "--input", "rows.csv"], work)
    x = np.array(rows, dtype=onnx_eval.input_dtype(model))
    got = onnx_eval.run(model, x).astype(np.float64)
    want = parse_rows(predicted)
    if got.shape != want.shape or not close(got, want):
        raise SystemExit("FAIL %s: the exported graph computes\n%s\nbut predict printed\n%s" % (name, got, want))

    r = run([args.nnc, "run.onnx", "-o", "m2"], work)
    if r.returncode != 0:
        raise SystemExit("FAIL %s: nnc run.onnx exited %d\n%s" % (name, r.returncode, r.stderr))
    again = must([os.path.join(work, "m2"), "predict", "--input", "rows.csv"], work)
    if name in TARGET_SCALED:
        # no executable compiles the weights in: the trained one (predicted above) is the reference
        if not close(parse_rows(again), want):
            raise SystemExit("FAIL %s: the imported export predicts\n%s\nnot\n%s" % (name, again, predicted))
        trip = "round trip within %g (target scaling folded into the output layer)" % TOLERANCE
    else:
        # an imported model has its weights compiled in: the same network compiled with
        # --weights is what it must equal bit for bit (compiled-in weights may round differently
        # from the trained executable's, docs/onnx.md "Export")
        compiled = must([os.path.join(work, "compiled"), "predict", "--input", "rows.csv"], work)
        if name in ROUND_TRIP_ROUNDED:
            if not close(parse_rows(again), parse_rows(compiled)):
                raise SystemExit("FAIL %s: the imported export predicts\n%s\nnot\n%s" % (name, again, compiled))
            trip = "round trip within %g (another network, the same function)" % TOLERANCE
        elif again != compiled:
            raise SystemExit("FAIL %s: the imported export predicts\n%s\nnot\n%s" % (name, again, compiled))
        else:
            trip = "round trip bit-identical"
    print("%-12s %3d nodes: checker ok, NumPy within %g of predict, %s"
          % (name, len(model.graph.node), TOLERANCE, trip))


def check_reexport(args):
    """An imported model (an MLP ending in LogSoftmax) exported again: the checker accepts it
    and NumPy computes what the imported model predicts."""
    work = os.path.join(args.work, "reexport")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(HERE, "Inputs", "log_softmax")
    must([args.nnc, os.path.join(src, "mlp.onnx"), "-o", "mlp"], work)
    must([args.nnc, "--emit-onnx", os.path.join(src, "mlp.onnx"), "-o", "again.onnx"], work)
    model = onnx.load(os.path.join(work, "again.onnx"))
    onnx.checker.check_model(model, full_check=True)
    if "LogSoftmax" not in [n.op_type for n in model.graph.node]:
        raise SystemExit("FAIL reexport: no LogSoftmax in the export")
    predicted = must([os.path.join(work, "mlp"), "predict", "--input", os.path.join(src, "inputs.csv")], work)
    x = np.loadtxt(os.path.join(src, "inputs.csv"), delimiter=",", dtype=np.float32, ndmin=2)
    got = onnx_eval.run(model, x).astype(np.float64)
    if not close(got, parse_rows(predicted)):
        raise SystemExit("FAIL reexport: the exported graph computes\n%s\nbut predict printed\n%s" % (got, predicted))
    print("%-12s %3d nodes: checker ok, NumPy within %g of predict" % ("reexport", len(model.graph.node), TOLERANCE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--only", help="one case")
    args = ap.parse_args()
    args.nnc = os.path.abspath(args.nnc)
    args.examples = os.path.abspath(args.examples)
    args.work = os.path.abspath(args.work)
    passed = 0
    for name, where, how in cases(args.examples):
        if args.only and name != args.only:
            continue
        if name in NEEDS and not os.path.exists(NEEDS[name]):
            print("%-12s skipped: %s is not installed" % (name, NEEDS[name]))
            continue
        check(args, name, where, how)
        passed += 1
    if not args.only or args.only == "reexport":
        check_reexport(args)
        passed += 1
    print("%d passed, 0 failed" % passed)


if __name__ == "__main__":
    main()
