#!/usr/bin/env python3
"""Trains the networks of reference.json (written by make_reference.py with PyTorch) with nnc
and compares the weights with PyTorch's: every optimizer and option, per-sample and mini-batch,
rprop and irprop on the whole data set, f64 to 1e-10 and f32 to 1e-5, relative to the reference value, or to 0.01 for a smaller one (the rounding of a weight
and compares the weights with PyTorch's: every optimizer and option, every step-size schedule
(with warmup) and gradient clipping, per-sample and mini-batch, f64 to 1e-10 and f32 to 1e-5, relative to the reference value, or to 0.01 for a smaller one (the rounding of a weight
near 0 comes from sums of terms of the size of the others).

Usage: check_reference.py --nnc NNC --work DIR [--threads N] [--mpirun MPIRUN] [--resume] [--flags]
                          [--only SUBSTRING]
--threads N: the mini-batch cases train on N threads (the same numbers are expected).
--mpirun: the mini-batch cases train data-parallel on 2 processes (the gradients are summed in
another order: the same tolerances hold).
--flags: each network is compiled with `sgd rate 0.5` and trained with the case's optimizer
given by the executable's flags (--optimizer adam --beta1 0.8 ...), and its schedule, warmup
and clipping by theirs (--schedule cosine --period 5 ...): the same numbers.
The dropout cases put `dropout P` on h (kept with --flags: it is the network's); the
dropout_wide cases train a 20-32-24-3 network (literal weights "wide" of reference.json).
The scheduled cases also compare each epoch's rate in the log with PyTorch's (relative 1e-8
(the log has 9 digits), but for a warmup in steps, whose rate changes within the epoch.
--resume: each case trains its first epoch with a checkpoint, then resumes for the rest: the
weights must be exactly those of one uninterrupted run (the checkpoint carries the
optimizer's state and step count), and a checkpoint is refused by another optimizer."""
import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = {"f64": 1e-10, "f32": 1e-5}

NET = """network ref {
  input x[2];
  layer h[3] tanh%(dropout)s <- %(w1)s*x + %(b1)s;
  output y[2] linear <- %(w2)s*h + %(b2)s;
  train {
    data "%(data)s" header inputs 0..1 targets 2..3;
    %(setting)s%(batch)s;
    %(extra)s
    epochs %(epochs)d;
    shuffle off;
    precision %(precision)s;
  }
}
"""


WIDE_NET = """network ref {
  input x[20];
  layer h[32] sigmoid dropout %(p1)r <- %(w1)s*x + %(b1)s;
  layer g[24] relu dropout %(p2)r <- %(w2)s*h + %(b2)s;
  output y[3] linear <- %(w3)s*g + %(b3)s;
  train {
    data "wide.csv" header inputs 0..19 targets 20..22;
    %(setting)s%(batch)s;
    epochs %(epochs)d;
    shuffle off;
    precision %(precision)s;
  }
}
"""


def wide_net(ref, case, setting):
    """The network of the dropout_wide cases (make_reference.py), wide.csv written once."""
    if not os.path.exists("wide.csv"):
        write_data("wide.csv", ref["wide"]["data"], ["x%d" % i for i in range(20)] + ["t0", "t1", "t2"])
    L = ref["wide"]["layers"]
    return WIDE_NET % {"p1": case["wide"][0], "p2": case["wide"][1], "w1": literal(L[0]["w"]),
                       "b1": literal(L[0]["b"]), "w2": literal(L[1]["w"]), "b2": literal(L[1]["b"]),
                       "w3": literal(L[2]["w"]), "b3": literal(L[2]["b"]), "setting": setting,
                       "batch": " batch %d" % case["batch"], "epochs": case["epochs"],
                       "precision": case["precision"]}


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print("FAIL: %s exited with %d\n%s" % (" ".join(cmd), r.returncode, r.stdout))
        sys.exit(1)
    return r.stdout


def literal(v):
    return json.dumps(v)


def mpirun(a):
    os.environ["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    os.environ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return [a.mpirun, "-np", "2", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
            "--mca", "btl_vader_single_copy_mechanism", "none"]


def check_resume(name, case, straight):
    """The first epoch with a checkpoint, then --resume to the end: the same weights, bit for bit."""
    exe = "./" + name
    run([exe, "train", "--quiet", "--epochs", "1", "--checkpoint", name + ".ckpt", "--checkpoint-every", "1",
         "--save", name + ".first"])
    run([exe, "train", "--quiet", "--resume", name + ".ckpt", "--save", name + ".resumed"])
    resumed = json.loads(run([exe, "weights", "export", "--weights", name + ".resumed"]))["params"]
    if resumed != straight:
        return "resumed from the checkpoint of epoch 1, the weights differ from one run's"
    other = "adam" if not case["setting"].startswith("adam ") else "rmsprop"
    r = subprocess.run([exe, "train", "--quiet", "--resume", name + ".ckpt", "--optimizer", other, "--save",
                        name + ".other"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 2 or "the checkpoint holds the state of" not in r.stdout:
        return "--optimizer %s resumed a checkpoint of %s (status %d): %s" % (
            other, case["setting"].split()[0], r.returncode, r.stdout)
    return None


PAIRS = {"betas": ("beta1", "beta2"), "etas": ("eta-minus", "eta-plus"), "step_sizes": ("step-min", "step-max")}


def setting_flags(setting):
    """`adam rate 0.01 betas 0.8 0.95 amsgrad on` as flags: --optimizer adam --rate 0.01 ..."""
    words = setting.split()
    flags, i = ["--optimizer", words[0]], 1
    while i < len(words):
        key = words[i]
        if key in PAIRS:
            flags += ["--" + PAIRS[key][0], words[i + 1], "--" + PAIRS[key][1], words[i + 2]]
            i += 3
        elif words[i + 1] == "on":
            flags.append("--" + key)
            i += 2
        else:
            flags += ["--" + key.replace("_", "-"), words[i + 1]]
            i += 2
    return flags


def wave_data(n):
    """make_reference.py's wave_data: the rows of the cases with wave_rows."""
    return [[math.sin(0.37 * i), math.cos(1.3 * i), 0.5 * math.sin(0.11 * i + 1), 0.3 * math.cos(0.07 * i)]
            for i in range(n)]


def write_data(path, rows, names=("x0", "x1", "t0", "t1")):
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n" + "".join(",".join(repr(v) for v in row) + "\n" for row in rows))


def data_file(case):
    """data.csv, or for a case with wave_rows a file of that many rows (written once)."""
    if "wave_rows" not in case:
        return "data.csv"
    path = "wave%d.csv" % case["wave_rows"]
    if not os.path.exists(path):
        write_data(path, wave_data(case["wave_rows"]))
    return path
def check_rates(name, case):
    """Each epoch's rate in the log against the rate torch's scheduler gave that epoch."""
    if "rates" not in case or "steps" in case.get("extra", ""):
        return None
    with open(name + ".log") as fh:
        rows = list(csv.DictReader(fh))
    got = [float(r["rate"]) for r in rows]
    if len(got) != len(case["rates"]) or any(abs(g - w) > 1e-8 * w for g, w in zip(got, case["rates"])):
        return "the rates of the epochs differ\n  nnc   %s\n  torch %s" % (got, case["rates"])
    return None


def check_case(a, ref, case):
    name = case["name"].replace(".", "_")
    setting = "sgd rate 0.5" if a.flags else case["setting"]
    if "wide" in case:
        text = wide_net(ref, case, setting)
    else:
        text = NET % {"w1": literal(ref["w1"]), "b1": literal(ref["b1"]), "w2": literal(ref["w2"]),
                      "b2": literal(ref["b2"]), "setting": setting, "data": data_file(case),
                      "batch": " batch %d" % case["batch"] if case["batch"] else "",
                      "epochs": case["epochs"], "precision": case["precision"],
                      "extra": "" if a.flags else case.get("extra", ""),
                      "dropout": " dropout %r" % case["dropout"] if "dropout" in case else ""}
    with open(name + ".nn", "w") as fh:
        fh.write(text)
    run([a.nnc, name + ".nn", "-o", name])
    several = case["batch"] != 1  # a mini-batch, or the whole data set (batch 0: rprop, irprop)
    flags = ["--threads", str(a.threads)] if a.threads > 1 and several else []
    flags += setting_flags(case["setting"]) + case.get("flags", []) if a.flags else []
    launch = mpirun(a) if a.mpirun and several else []
    run(launch + ["./" + name, "train", "--quiet", "--save", name + ".weights", "--log", name + ".log"] + flags)
    got = json.loads(run(["./" + name, "weights", "export", "--weights", name + ".weights"]))["params"]
    problem = check_rates(name, case)
    if problem:
        return problem
    if a.resume:
        problem = check_resume(name, case, got)
        if problem:
            return problem
    want, tol = case["params"], TOLERANCE[case["precision"]]
    if len(got) != len(want):
        return "%d parameters, the reference has %d" % (len(got), len(want))
    worst = max(abs(g - w) / max(abs(w), 1e-2) for g, w in zip(got, want))
    if not worst <= tol:
        return "relative difference %.3g > %g\n  nnc   %s\n  torch %s" % (worst, tol, got, want)
    case["worst"] = worst
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnc", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default="")
    p.add_argument("--mpirun")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--flags", action="store_true")
    a = p.parse_args()
    a.nnc = os.path.abspath(a.nnc)
    with open(os.path.join(HERE, "reference.json")) as fh:
        ref = json.load(fh)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)
    write_data("data.csv", ref["data"])
    cases = [c for c in ref["cases"] if a.only in c["name"]]
    failed = 0
    for case in cases:
        problem = check_case(a, ref, case)
        print("%s %s%s" % ("FAIL" if problem else "ok  ", case["name"],
                           ": " + problem if problem else "  (relative difference %.2g)" % case["worst"]))
        failed += problem is not None
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed or not cases else 0


sys.exit(main())
