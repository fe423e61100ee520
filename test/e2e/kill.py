#!/usr/bin/env python3
"""`kill -9` at any moment of training leaves a loadable weights file: a network wide enough
that every checkpoint is about 1 MB (parameters, velocity, best-so-far copies), trained with a
checkpoint after every epoch, is killed with SIGKILL at --moments seeded random moments; after
each kill the checkpoint must load (`./wide eval --weights wide.ckpt` exits 0 and scores it).
Only a kill before the first checkpoint may leave no file, and most moments are after it.
A kill in the middle of a save leaves its temporary `wide.ckpt.tmp.XXXXXX` beside the intact
checkpoint (a killed process cannot clean up; the name says what it is): each is counted and
removed before the next moment."""
import glob
import os
import random
import signal
import subprocess
import time

import e2e


a = e2e.args(lambda p: (p.add_argument("--seed", type=int, default=1),
                        p.add_argument("--moments", type=int, default=8)))
open("wide.nn", "w").write(e2e.WIDE_NN % os.path.join(a.examples, "regression.csv"))
e2e.run([a.nnc, "wide.nn", "-o", "wide"])
rng = random.Random(a.seed)
with_file = 0
for i in range(a.moments):
    for f in ["wide.ckpt", "wide.weights"] + glob.glob("wide.ckpt.tmp.*") + glob.glob("wide.weights.tmp.*"):
        if os.path.exists(f):
            os.remove(f)
    moment = rng.uniform(0.15, 1.5)
    log = open("train-%d.out" % i, "w")
    p = subprocess.Popen(["./wide", "train", "--quiet", "--save", "wide.weights", "--checkpoint", "wide.ckpt",
                          "--checkpoint-every", "1"], stdout=log, stderr=subprocess.STDOUT)
    time.sleep(moment)
    if p.poll() is not None:
        e2e.fail("moment %d: training ended by itself (status %d) before the kill" % (i, p.returncode),
                 open("train-%d.out" % i).read())
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    log.close()
    if not os.path.exists("wide.ckpt"):
        print("moment %d: %.3f s: killed before the first checkpoint" % (i, moment))
        continue
    with_file += 1
    out = e2e.run(["./wide", "eval", "--weights", "wide.ckpt"],
                  what="moment %d (%.3f s): ./wide eval --weights wide.ckpt" % (i, moment))
    mse = e2e.metric(out, "eval", "mse")
    print("moment %d: %.3f s: wide.ckpt (%d bytes) loads, mse %g%s" % (
        i, moment, os.path.getsize("wide.ckpt"), mse, ", the killed save's temporary left beside it"
        if glob.glob("wide.ckpt.tmp.*") else ""))
if with_file < min(5, a.moments):
    e2e.fail("only %d of %d kills came after the first checkpoint; need 5" % (with_file, a.moments))
e2e.ok("%d kills -9 (seed %d), every checkpoint left behind loads" % (with_file, a.seed))
