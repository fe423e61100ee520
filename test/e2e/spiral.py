#!/usr/bin/env python3
"""RPROP trains where SGD struggles: examples/spiral.nn (the two-spiral problem, 194 points)
trained with its own settings (FANN's iRPROP−, 3000 epochs, best of 3 restarts) reaches at
least 95 % training accuracy, and so does torch's Rprop (--optimizer rprop --rate 0.1);
per-sample SGD with the same epochs and restarts, at each of the step sizes 0.01, 0.1 and
0.5, stays below 70 % (near chance: 50 %). Every accuracy is printed."""
import e2e

a = e2e.args()
spiral = e2e.compile_example(a, "spiral")


def accuracy(flags, save):
    out = e2e.run([spiral, "train", "--quiet", "--save", save] + flags)
    ev = e2e.run([spiral, "eval", "--weights", save])
    acc = e2e.metric(ev, "eval", "accuracy")
    print("%-40s accuracy %6.2f%%" % (" ".join(flags) or "irprop (spiral.nn)", acc))
    return acc, out + ev


for flags in ([], ["--optimizer", "rprop", "--rate", "0.1"]):
    acc, out = accuracy(flags, "rprop.weights")
    if acc < 95:
        e2e.fail("%s reached %.2f%% on the two spirals, expected at least 95%%" % (" ".join(flags) or "irprop", acc),
                 out)
best_sgd = 0
for rate in ("0.01", "0.1", "0.5"):
    acc, out = accuracy(["--optimizer", "sgd", "--rate", rate], "sgd.weights")
    best_sgd = max(best_sgd, acc)
    if acc >= 70:
        e2e.fail("per-sample SGD at rate %s reached %.2f%%: the comparison no longer shows RPROP's gain" % (rate, acc),
                 out)
e2e.ok("RPROP at least 95%% on the two spirals; per-sample SGD at most %.2f%%" % best_sgd)
