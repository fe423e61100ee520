#!/usr/bin/env python3
"""XOR reaches 100 % accuracy: examples/xor.nn trained with its own settings (10 restarts,
the best kept), then `./xor eval` on the four rows."""
import e2e

a = e2e.args()
xor = e2e.compile_example(a, "xor")
out = e2e.run([xor, "train", "--quiet"])
if "restart 10/10" not in out:
    e2e.fail("training did not run the 10 restarts of xor.nn", out)
ev = e2e.run([xor, "eval", "--weights", "xor.weights"])
acc = e2e.metric(ev, "eval", "accuracy")
if acc != 100.0:
    e2e.fail("XOR accuracy %.2f%%, expected 100%% (best of 10 restarts)" % acc, out + ev)
e2e.ok("XOR accuracy 100%% after restarts (%s)" % ev.splitlines()[1].strip())
