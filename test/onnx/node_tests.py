#!/usr/bin/env python3
"""node_tests.py — ONNX's backend node tests of the operators nnc imports, run through nnc.

Usage: node_tests.py --nnc build/nnc --data /usr/share/libonnx-testdata/data/node --work DIR

Every test directory of ONNX's node tests (model.onnx, test_data_set_*/input_K.pb and
output_K.pb) whose name starts with one of PREFIXES must be listed in node_tests.txt:

  run [const=K,...]   compiled by nnc into an executable whose `predict` must give the
                      expected outputs (|a - b| <= 1e-7 + 1e-3·|b|, ONNX's own tolerance).
                      const=K: graph input K is made an initializer holding its test value
                      first (the node tests feed weights as inputs; nnc needs them constant).
  refuse [const=K,...] REASON
                      nnc must refuse the model cleanly (exit 1, a message naming the file);
                      REASON is why it is out of scope (docs/onnx.md repeats it).

Samples are rows: the first axis of an input of 2 or more axes is the batch, an input of one
axis is one sample. Exit status 0 if every test passed, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb  # noqa: E402

PREFIXES = ("test_gemm", "test_matmul_", "test_add", "test_relu", "test_sigmoid", "test_tanh", "test_leakyrelu",
            "test_softplus", "test_softmax", "test_logsoftmax", "test_identity", "test_flatten", "test_reshape",
            "test_concat", "test_constant", "test_batchnorm", "test_dropout", "test_greater", "test_cast_",
            "test_sub", "test_mul", "test_div")
NOT_OURS = ("test_constant_pad", "test_constantofshape", "test_softplus_expanded",  # other operators
            "test_greater_equal")


def read_manifest(path):
    tests = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, what, *rest = line.split(None, 2)
            tests[name] = (what, rest[0] if rest else "")
    return tests


def samples(tensors):
    """Rows of the CSV nnc's predict reads: the inputs' values of each sample side by side."""
    rows = None
    parts = []
    for dims, vals in tensors:
        n = dims[0] if len(dims) >= 2 else 1
        if rows is not None and n != rows:
            raise ValueError("inputs with different batch sizes")
        rows = n
        parts.append((len(vals) // n if n else 0, vals))
    return [[v for w, vals in parts for v in vals[r * w:(r + 1) * w]] for r in range(rows or 0)]


def close(got, want):
    return len(got) == len(want) and all(abs(a - b) <= 1e-7 + 1e-3 * abs(b) for a, b in zip(got, want))


def run_test(args, name, what, opts):
    src = os.path.join(args.data, name)
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    data = open(os.path.join(src, "model.onnx"), "rb").read()
    inputs = pb.graph_inputs(data)
    const = [int(k) for k in opts.split()[0][len("const="):].split(",")] if opts.startswith("const=") else []
    sets = sorted(d for d in os.listdir(src) if d.startswith("test_data_set_"))
    if const:
        ds = os.path.join(src, sets[0])
        data = pb.freeze_inputs(data, {inputs[k]: open(os.path.join(ds, "input_%d.pb" % k), "rb").read()
                                       for k in const})
    model = os.path.join(work, "model.onnx")
    with open(model, "wb") as f:
        f.write(data)
    if what == "refuse":
        p = subprocess.run([args.nnc, "--check", model], capture_output=True, text=True, timeout=60)
        ok = p.returncode == 1 and model in p.stderr and "internal error" not in p.stderr
        return ok, p.stderr.strip().splitlines()[-1:] if p.stderr else ["(no message)"]
    exe = os.path.join(work, "model")
    p = subprocess.run([args.nnc, "-O0", model, "-o", exe], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return False, [p.stderr.strip()]
    for ds in sets:
        d = os.path.join(src, ds)
        live = [k for k in range(len(inputs)) if k not in const]
        x = samples([pb.read_tensor(open(os.path.join(d, "input_%d.pb" % k), "rb").read()) for k in live])
        outs = sorted(f for f in os.listdir(d) if f.startswith("output_"))
        want_parts = [pb.read_tensor(open(os.path.join(d, o), "rb").read()) for o in outs]
        want = [v for row in samples(want_parts) for v in row] if len(want_parts) > 1 else want_parts[0][1]
        csv = "".join(",".join("%.9g" % v for v in row) + "\n" for row in x)
        p = subprocess.run([exe, "predict"], input=csv, capture_output=True, text=True, timeout=60)
        got = [float(v) for line in p.stdout.split() for v in line.split(",")]
        if p.returncode != 0 or not close(got, want):
            return False, ["%s: predict exit %d, got %s, want %s" % (ds, p.returncode, got[:8], want[:8]), p.stderr]
    return True, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", required=True)
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data/node")
    ap.add_argument("--work", required=True)
    ap.add_argument("--manifest", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_tests.txt"))
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    args.nnc = os.path.abspath(args.nnc)
    args.work = os.path.abspath(args.work)
    tests = read_manifest(args.manifest)
    found = sorted(d for d in os.listdir(args.data) if d.startswith(PREFIXES) and not d.startswith(NOT_OURS))
    failed = [d + ": not listed in node_tests.txt" for d in found if d not in tests]
    counts = {"run": 0, "refuse": 0}
    for name in found:
        if name not in tests:
            continue
        what, rest = tests[name]
        ok, notes = run_test(args, name, what, rest)
        counts[what] += ok
        if args.v or not ok:
            print("%s %s %s" % ("PASS" if ok else "FAIL", what, name), *notes, sep="\n    ")
        if not ok:
            failed.append(name)
    for name in sorted(set(tests) - set(found)):
        print("note: %s is listed but not in %s" % (name, args.data))
    print("node tests: %d run and passed, %d refused as out of scope, %d failed" %
          (counts["run"], counts["refuse"], len(failed)))
    for f in failed:
        print("FAILED:", f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
