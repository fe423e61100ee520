#!/usr/bin/env python3
"""`train --resume` continues where the checkpoint stopped, bit-exactly. For each model:
  1. a reference run, uninterrupted, with a checkpoint every N epochs and a --log;
  2. at --moments seeded random moments, the same run killed with SIGKILL, then
     `train --resume CKPT` with the same flags.
Checks: the resume reports 'resuming from CKPT: restart r/R after epoch k/E'; its --log
starts at restart r, epoch k+1 and every row (losses, accuracies, step size; not the
seconds) equals the reference's from there on; the final weights file is byte-identical.
Models: regression.nn (momentum, mini-batches, validation; 2000 epochs, checkpoint every
epoch) and xor.nn (10 restarts: the best-so-far restart rides in the checkpoint; every 50).
--case early_stop instead resumes regression.nn from the checkpoint of the very epoch at
which early stopping ends its run (epoch 2556 of 3000, patience 40), which must finish with
the reference's weights and no further epoch."""
import csv
import os
import random
import re
import signal
import subprocess
import time

import e2e


def log_rows(path):
    with open(path) as f:
        return [tuple(r[:7]) for r in csv.reader(f)][1:]  # drop the header and 'seconds'


def flags(tag, every, epochs):
    return ["--quiet", "--epochs", str(epochs), "--save", tag + ".weights", "--checkpoint", tag + ".ckpt",
            "--checkpoint-every", str(every), "--log", tag + ".csv"]


def reference(exe, every, epochs):
    e2e.run([exe, "train"] + flags("ref", every, epochs))
    return log_rows("ref.csv"), open("ref.weights", "rb").read()


def resume_and_compare(exe, tag, every, epochs, ref_rows, ref_weights, label, ended=False):
    out = e2e.run([exe, "train", "--resume", tag + ".ckpt"] + flags(tag, every, epochs), what=label + ": resume")
    m = re.search(r"resuming from \S+: restart (\d+)/\d+ after epoch (\d+)/(\d+)", out)
    if not m:
        e2e.fail(label + ": no 'resuming from ...: restart r/R after epoch k/E' line", out)
    restart, epoch = int(m.group(1)), int(m.group(2))
    rows = log_rows(tag + ".csv")
    start = [i for i, r in enumerate(ref_rows) if r[0] == str(restart) and r[1] == str(epoch + 1)]
    if ended and rows:
        e2e.fail("%s: the run had ended, yet the resume trained %d more epochs" % (label, len(rows)), out)
    if epoch < epochs and not ended:
        if not rows or rows[0][:2] != (str(restart), str(epoch + 1)):
            e2e.fail("%s: the resumed log starts at %s, expected restart %d epoch %d" % (
                label, rows[0][:2] if rows else "nothing", restart, epoch + 1), out)
        expect = ref_rows[start[0]:] if start else []
        for j, (got, want) in enumerate(zip(rows, expect)):
            if got != want:
                e2e.fail("%s: log row %d after the resume differs from the uninterrupted run:\n  got  %s\n  want %s"
                         % (label, j, ",".join(got), ",".join(want)), out)
        if len(rows) != len(expect):
            e2e.fail("%s: the resumed run logged %d epochs, the uninterrupted one %d from that point" % (
                label, len(rows), len(expect)), out)
    got = open(tag + ".weights", "rb").read()
    if got != ref_weights:
        e2e.fail("%s: final weights differ from the uninterrupted run's (%d vs %d bytes)" % (
            label, len(got), len(ref_weights)), out)
    return restart, epoch


def killed_runs(a, exe, every, epochs, window, rng):
    ref_rows, ref_weights = reference(exe, every, epochs)
    for i in range(a.moments):
        tag = "cut%d" % i
        moment = rng.uniform(*window)
        p = subprocess.Popen([exe, "train"] + flags(tag, every, epochs), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(moment)
        if p.poll() is not None:
            print("%s: moment %d (%.3f s): training had finished; not a resume" % (exe, i, moment))
            continue
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        if not os.path.exists(tag + ".ckpt"):
            print("%s: moment %d (%.3f s): killed before the first checkpoint" % (exe, i, moment))
            continue
        r, k = resume_and_compare(exe, tag, every, epochs, ref_rows, ref_weights,
                                  "%s, kill at %.3f s" % (os.path.basename(exe), moment))
        print("%s: killed at %.3f s, resumed at restart %d after epoch %d: same epochs, same weights" % (
            os.path.basename(exe), moment, r, k))
        a.resumed += 1


def early_stop_case(a):
    exe = e2e.compile_example(a, "regression")
    ref_rows, ref_weights = reference(exe, 1, 3000)
    stops = re.findall(r"^1,(\d+),", open("ref.csv").read(), re.M)
    last = int(stops[-1])
    if last >= 3000:
        e2e.skip("regression.nn no longer stops early within 3000 epochs")
    # a checkpoint written exactly after the epoch at which the run stopped early
    e2e.run([exe, "train"] + flags("es", last, 3000))
    resume_and_compare(exe, "es", last, 3000, ref_rows, ref_weights,
                       "resume from the checkpoint of epoch %d, where early stopping ended the run" % last, ended=True)
    e2e.ok("resuming from the checkpoint of the early-stop epoch %d changes nothing" % last)


a = e2e.args(lambda p: (p.add_argument("--seed", type=int, default=1),
                        p.add_argument("--moments", type=int, default=5),
                        p.add_argument("--case", default="kill")))
a.resumed = 0
if a.case == "early_stop":
    early_stop_case(a)
rng = random.Random(a.seed)
killed_runs(a, e2e.compile_example(a, "regression"), 1, 2000, (0.05, 0.8), rng)
killed_runs(a, e2e.compile_example(a, "xor"), 50, 2000, (0.05, 2.0), rng)
if a.resumed < 5:
    e2e.fail("only %d of the kills could be resumed; need 5" % a.resumed)
e2e.ok("%d runs killed at seeded random moments resumed bit-exactly (seed %d)" % (a.resumed, a.seed))
