#!/usr/bin/env python3
"""Each network is scored by what it is for. The autoencoder example (sigmoid outputs that
reproduce intensities, 'targets inputs') gets a regression metric, never an accuracy or a
confusion matrix, and reaches the MSE its comment states; the multi-label example reaches its
stated label accuracy with per-label scores; iris with its species written 1..3, or as names,
predicts the original labels with `predict --class`, and a label the training data never had
is refused with its line; regression targets in large units (y·1000 + 5000) learned with
`target_scale zscore` are scored and predicted in those units."""
import csv
import os
import re

import e2e

a = e2e.args()


def stated(name, pattern):
    m = re.search(pattern, open(os.path.join(a.examples, name + ".nn")).read())
    if not m:
        e2e.fail("examples/%s.nn does not state its score (%s) in its comment" % (name, pattern))
    return float(m.group(1))


def autoencoder():
    bound = stated("autoencoder", r"MSE below ([0-9.]+)")
    exe = e2e.compile_example(a, "autoencoder")
    out = e2e.run([exe, "train", "--quiet"])
    ev = e2e.run([exe, "eval"])
    if "metric regression" not in ev or re.search(r"accuracy|confusion", ev):
        e2e.fail("the autoencoder is not scored as a regression", out + ev)
    mse = e2e.metric(ev, "eval", "mse")
    if not mse < bound:
        e2e.fail("autoencoder MSE %g, the example states below %g" % (mse, bound), out + ev)
    return "autoencoder MSE %g < %g" % (mse, bound)


def multilabel():
    bound = stated("multilabel", r"label accuracy\s+above ([0-9.]+)%")
    exe = e2e.compile_example(a, "multilabel")
    out = e2e.run([exe, "train", "--quiet"])
    ev = e2e.run([exe, "eval"])
    acc = e2e.metric(ev, "eval", "accuracy")
    if "metric multilabel" not in ev or not re.search(r"^label\s+precision\s+recall\s+f1", ev, re.M):
        e2e.fail("the multi-label network has no per-label scores", ev)
    if not acc > bound:
        e2e.fail("multi-label label accuracy %g%%, the example states above %g%%" % (acc, bound), out + ev)
    return "multi-label label accuracy %g%% > %g%%" % (acc, bound)


def relabelled_iris(names, tag):
    rows = list(csv.reader(open(os.path.join(a.examples, "iris.csv"))))
    path = os.path.join(a.work, "iris_%s.csv" % tag)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows[0])
        for r in rows[1:]:
            w.writerow(r[:4] + [names[int(r[4])]])
    return path, rows[1:]


def labelled_iris(exe, names, tag):
    data, rows = relabelled_iris(names, tag)
    weights = os.path.join(a.work, tag + ".weights")
    e2e.run([exe, "train", "--quiet", "--data", data, "--epochs", "40", "--restarts", "1", "--save", weights])
    inputs = os.path.join(a.work, tag + "_inputs.csv")
    with open(inputs, "w") as f:
        f.writelines(",".join(r[:4]) + "\n" for r in rows)
    out = e2e.run([exe, "predict", "--class", "--weights", weights, "--input", inputs]).split()
    want = [names[int(r[4])] for r in rows]
    right = sum(o == w for o, w in zip(out, want))
    if len(out) != len(want) or set(out) - set(names) or right < 0.9 * len(want):
        e2e.fail("predict --class gave %d of %d original labels right" % (right, len(want)), " ".join(out))
    bad = os.path.join(a.work, tag + "_bad.csv")
    with open(bad, "w") as f:
        f.write("sepal_length,sepal_width,petal_length,petal_width,species\n")
        f.write("5.1,3.5,1.4,0.2,%s\n5.0,3.3,1.4,0.2,other\n" % names[0])
    msg = e2e.run([exe, "eval", "--weights", weights, "--data", bad], ok=(1,))
    if not re.search(r"_bad\.csv:3: field 5: label 'other' is not one of the 3 classes seen in training", msg):
        e2e.fail("an unknown label in eval data is not refused with its line", msg)
    return right


def labels():
    exe = e2e.compile_example(a, "iris")
    one_based = labelled_iris(exe, ["1", "2", "3"], "one_based")
    named = labelled_iris(exe, ["setosa", "versicolor", "virginica"], "named")
    return "iris labelled 1..3: %d/150, by name: %d/150 predicted with their labels" % (one_based, named)


def target_scaling():
    rows = list(csv.reader(open(os.path.join(a.examples, "regression.csv"))))
    data = os.path.join(a.work, "prices.csv")
    with open(data, "w") as f:
        f.write(",".join(rows[0]) + "\n")
        f.writelines("%s,%s,%.3f\n" % (r[0], r[1], float(r[2]) * 1000 + 5000) for r in rows[1:])
    src = open(os.path.join(a.examples, "regression.nn")).read()
    src = src.replace('"regression.csv" header inputs 0..1 targets 2;',
                      '"%s" header inputs 0..1 targets 2 target_scale zscore;' % data)
    src = src.replace("network regression", "network prices")
    if "target_scale" not in src:
        e2e.fail("examples/regression.nn has changed its data line; update this test")
    open(os.path.join(a.work, "prices.nn"), "w").write(src)
    exe = os.path.join(a.work, "prices")
    e2e.run([a.nnc, os.path.join(a.work, "prices.nn"), "-o", exe])
    out = e2e.run([exe, "train", "--quiet"])
    ev = e2e.run([exe, "eval"])
    mse, r2 = e2e.metric(ev, "eval", "mse"), e2e.metric(ev, "eval", "r2")
    if not (r2 > 0.95 and 10 < mse < 20000):
        e2e.fail("scaled targets: MSE %g, R² %g (expected in the data's units, R² > 0.95)" % (mse, r2), out + ev)
    pred = float(e2e.run([exe, "predict", "--input", data, "--inputs", "0..1"]).split()[0])
    want = float(rows[1][2]) * 1000 + 5000
    if abs(pred - want) > 300:
        e2e.fail("predict gives %g for a target of %g: not in the original units" % (pred, want))
    return "target_scale: MSE %g in the data's units (R² %g), predict %g for %g" % (mse, r2, pred, want)


e2e.ok("; ".join([autoencoder(), multilabel(), labels(), target_scaling()]))
