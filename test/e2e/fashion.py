#!/usr/bin/env python3
"""Fashion-MNIST reaches >= 85 % test accuracy in 5 epochs: examples/fashion.nn (its own
settings: 5 epochs, its test set) trained with `./fashion train`; the 'test accuracy' line it
prints at the end is the 10,000 test images. Skipped when Debian's dataset-fashion-mnist is not
installed. --threads T is passed through (default 1)."""
import os

import e2e

THRESHOLD = 85.0
DATA = "/usr/share/datasets/fashion-mnist"

a = e2e.args(lambda p: p.add_argument("--threads", default="1"))
if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
    e2e.skip("%s is missing (apt-get install dataset-fashion-mnist)" % DATA)
exe = e2e.compile_example(a, "fashion")
out = e2e.run([exe, "train", "--threads", a.threads], timeout=900)
secs = e2e.run.seconds
epochs = [l for l in out.splitlines() if l.startswith("epoch ")]
if not epochs or not epochs[-1].startswith("epoch 5/5"):
    e2e.fail("expected 5 epochs, the last epoch line is %r" % (epochs[-1] if epochs else None), out)
acc = e2e.metric(out, "test", "accuracy")
if acc < THRESHOLD:
    e2e.fail("Fashion-MNIST test accuracy %.2f%% after 5 epochs < %.0f%% (%.1f s)" % (acc, THRESHOLD, secs), out)
e2e.ok("Fashion-MNIST test accuracy %.2f%% after 5 epochs in %.1f s" % (acc, secs))
