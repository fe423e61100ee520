#!/usr/bin/env python3
"""Iris reaches >= 95 % accuracy on flowers it never saw. iris.nn's `validation 0.2` is held
out of the data it is given but still chosen from it, so the test holds out its own split:
of each species, every 5th flower in file order (10 per species, 30 in all) goes to
iris-test.csv and the other 120 to iris-train.csv. `./iris train --data iris-train.csv` with
the file's settings (its validation split, restarts and seed), then
`./iris eval --data iris-test.csv` (the inputs scaled with the statistics saved in the
weights file)."""
import os

import e2e

THRESHOLD = 95.0

a = e2e.args()
rows = open(os.path.join(a.examples, "iris.csv")).read().splitlines()
header, rows = rows[0], [r for r in rows[1:] if r.strip()]
seen, train, test = {}, [header], [header]
for r in rows:
    species = r.split(",")[4]
    k = seen[species] = seen.get(species, 0) + 1
    (test if k % 5 == 0 else train).append(r)
if len(train) != 121 or len(test) != 31:
    e2e.fail("iris.csv: expected 150 flowers, 50 per species; split into %d/%d" % (len(train) - 1, len(test) - 1))
for name, lines in (("iris-train.csv", train), ("iris-test.csv", test)):
    open(name, "w").write("\n".join(lines) + "\n")

iris = e2e.compile_example(a, "iris")
out = e2e.run([iris, "train", "--quiet", "--data", "iris-train.csv"])
ev = e2e.run([iris, "eval", "--weights", "iris.weights", "--data", "iris-test.csv"])
acc = e2e.metric(ev, "eval", "accuracy")
if acc < THRESHOLD:
    e2e.fail("held-out accuracy %.2f%% < %.0f%%" % (acc, THRESHOLD), out + ev)
e2e.ok("Iris held-out accuracy %.2f%% (30 flowers, trained on 120)" % acc)
