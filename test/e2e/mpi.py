#!/usr/bin/env python3
"""Data-parallel training under mpirun (docs/mpi.md), on this machine over loopback/shared
memory. --case:
  xor, iris   `mpirun -np 2 ./model train --batch B` ends with the same weights as one process
              with the same global batch: every parameter within TOL = 1e-4 × max(1, |w|)
              (the ranks' gradients are summed in another order of float additions), and the
              same restart is kept;
  refuse      batch 1 under 2 ranks, 'eval' under 2 ranks, and a missing MPI plugin (what an
              nnc built with -DNNC_MPI=OFF sees) each stop with a message and status 2;
  fashion     Fashion-MNIST, 2 epochs: 2 ranks reach the one-process test accuracy (−0.5 points);
  kill        SIGKILL of rank 1 during training ends the whole job (mpirun exits non-zero
              within 30 s, no hang) and the last checkpoint loads (`eval --weights` on it);
  resume      a 2-rank checkpoint (iris, after epoch 50) resumed in one process for 50 more
              epochs gives the weights of 100 epochs in one process (within TOL);
  shard       --shard-data on 2 and 3 ranks: full-batch XOR, Iris (z-score fitted over the
              shards) and, on 3, diabetes (inputs and targets z-scored) end with the weights of
              one process (within TOL); Iris in mini-batches of 8, without and with
              validation (held out of each shard, scored over all), scores within 4 points of
              one process on the whole file;
              a rank whose file has a row fewer, or a changed byte, is refused before training;
  shard-memory  Fashion-MNIST, 1 epoch with --shard-data: the peak resident memory of the
              largest rank (ru_maxrss) falls with K: at K = 2 below 0.8 × one process's, at
              K = 3 below K = 2's.
--mpirun is the launcher; it runs as root here with OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM)."""
import json
import os
import re
import signal
import subprocess
import time

import e2e

TOL = 1e-4
DATA = "/usr/share/datasets/fashion-mnist"
MCA = ["--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader",
       "--mca", "btl_vader_single_copy_mechanism", "none"]

a = e2e.args(lambda p: (p.add_argument("--case", required=True),
                        p.add_argument("--mpirun", default="mpirun")))
os.environ["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
os.environ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"


def mpirun(np, cmd):
    return [a.mpirun, "-np", str(np)] + MCA + cmd


def params(exe, weights):
    out = e2e.run([exe, "weights", "export", "--weights", weights])
    return json.JSONDecoder().raw_decode(out)[0]["params"]  # a note may follow (target scaling)


def kept(out):
    m = re.search(r"^kept restart (\d+)/", out, re.M)
    return m.group(1) if m else None


def compare(exe, w1, w2, label, out1="", out2=""):
    p1, p2 = params(exe, w1), params(exe, w2)
    if len(p1) != len(p2):
        e2e.fail("%s: %d vs %d parameters" % (label, len(p1), len(p2)))
    if kept(out1) != kept(out2):
        e2e.fail("%s: one process kept restart %s, 2 ranks restart %s" % (label, kept(out1), kept(out2)),
                 out1 + "\n" + out2)
    worst = max(abs(x - y) / max(1.0, abs(x)) for x, y in zip(p1, p2))
    if worst > TOL:
        e2e.fail("%s: weights differ by %.3g (relative) > %g" % (label, worst, TOL), out2)
    return worst


def same_weights(name, flags, np=2, rank_flags=(), last=True):
    exe = e2e.compile_example(a, name)
    os.chdir(a.examples)  # the .nn files name their data relative to examples/
    common = [exe, "train", "--quiet", "--threads", "1"] + flags
    out1 = e2e.run(common + ["--save", os.path.join(a.work, "one.weights"),
                             "--checkpoint", os.path.join(a.work, "one.ckpt")])
    out2 = e2e.run(mpirun(np, common + list(rank_flags) + ["--save", os.path.join(a.work, "two.weights"),
                                                          "--checkpoint", os.path.join(a.work, "two.ckpt")]))
    if out2.count("weights saved to") != 1:
        e2e.fail("%s: expected one summary (from rank 0), got %d" % (name, out2.count("weights saved to")), out2)
    worst = compare(exe, os.path.join(a.work, "one.weights"), os.path.join(a.work, "two.weights"),
                    name, out1, out2)
    msg = "%s %s: %d ranks = 1 process within %.2g (relative, tolerance %g)" % (
        name, " ".join(flags + list(rank_flags)), np, worst, TOL)
    if last:
        e2e.ok(msg)
    print("ok: " + msg)


def expect_refusal(cmd, what, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=60, env=env)
    if p.returncode != 2 or what not in p.stdout:
        e2e.fail("expected status 2 and '%s', got status %d" % (what, p.returncode), p.stdout)


def refuse():
    exe = e2e.compile_example(a, "xor")
    os.chdir(a.examples)
    expect_refusal(mpirun(2, [exe, "train", "--batch", "1", "--save", a.work + "/x.weights"]),
                   "per-sample SGD (batch 1) runs in one process only")
    expect_refusal(mpirun(2, [exe, "eval", "--initial"]), "only 'train' is data-parallel under mpirun")
    env = dict(os.environ, NNRT_MPI_PLUGIN="/nonexistent/libnnrt_mpi.so")
    expect_refusal(mpirun(2, ["-x", "NNRT_MPI_PLUGIN", exe, "train", "--batch", "4"]),
                   "the MPI plugin libnnrt_mpi.so cannot be loaded", env)
    # what a launcher's environment alone triggers, without mpirun
    env = dict(os.environ, OMPI_COMM_WORLD_SIZE="2", OMPI_COMM_WORLD_RANK="0",
               NNRT_MPI_PLUGIN="/nonexistent/libnnrt_mpi.so")
    expect_refusal([exe, "train", "--batch", "4"], "started by mpirun with 2 processes", env)
    e2e.ok("batch 1, eval and a missing plugin under mpirun -np 2 are refused with status 2")


def fashion():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        e2e.skip("%s is missing (apt-get install dataset-fashion-mnist)" % DATA)
    exe = e2e.compile_example(a, "fashion")
    out1 = e2e.run([exe, "train", "--epochs", "2", "--save", "one.weights"], timeout=600)
    t1 = e2e.run.seconds
    out2 = e2e.run(mpirun(2, [exe, "train", "--epochs", "2", "--save", "two.weights"]), timeout=600)
    t2 = e2e.run.seconds
    acc1, acc2 = e2e.metric(out1, "test", "accuracy"), e2e.metric(out2, "test", "accuracy")
    if acc2 < acc1 - 0.5:
        e2e.fail("2 ranks: test accuracy %.2f%% < one process's %.2f%% − 0.5" % (acc2, acc1), out2)
    e2e.ok("Fashion-MNIST, 2 epochs: test accuracy %.2f%% on 2 ranks (%.1f s), %.2f%% in one process (%.1f s)"
           % (acc2, t2, acc1, t1))


def rank_pids(root, rank):
    """Descendants of root whose environment says OMPI_COMM_WORLD_RANK=rank."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        except OSError:
            kids = []
        todo += [int(k) for k in kids]
        try:
            env = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if ("OMPI_COMM_WORLD_RANK=%d" % rank).encode() in env:
            found.append(pid)
    return found


def kill():
    open("wide.nn", "w").write(e2e.WIDE_NN % os.path.join(a.examples, "regression.csv"))
    e2e.run([a.nnc, "wide.nn", "-o", "wide"])
    log = open("train.out", "w")
    p = subprocess.Popen(mpirun(2, ["./wide", "train", "--quiet", "--save", "wide.weights", "--checkpoint",
                                    "wide.ckpt", "--checkpoint-every", "1"]), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while not os.path.exists("wide.ckpt") and time.time() < deadline and p.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)
    victims = rank_pids(p.pid, 1)
    if p.poll() is not None or not victims:
        e2e.fail("no rank 1 to kill (mpirun status %s)" % p.poll(), open("train.out").read())
    t0 = time.time()
    os.kill(victims[0], signal.SIGKILL)
    try:
        status = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        e2e.fail("the job still runs 30 s after rank 1 was killed: it hangs", open("train.out").read())
    log.close()
    out = open("train.out").read()
    if status == 0 or not re.search(r"signal 9|Killed|killed", out):
        e2e.fail("mpirun exited with status %d and no word of the killed rank" % status, out)
    ev = e2e.run(["./wide", "eval", "--weights", "wide.ckpt", "--data", os.path.join(a.examples, "regression.csv")],
                 what="eval of the checkpoint left by the killed job")
    e2e.ok("rank 1 killed: the job ended in %.1f s (status %d) with a message; the checkpoint loads (%s)"
           % (time.time() - t0, status, ev.strip().splitlines()[-1]))


def resume():
    exe = e2e.compile_example(a, "iris")
    os.chdir(a.examples)
    w = lambda f: os.path.join(a.work, f)
    base = [exe, "train", "--quiet", "--batch", "8", "--restarts", "1", "--threads", "1"]
    e2e.run(base + ["--epochs", "100", "--save", w("ref.weights"), "--checkpoint", w("ref.ckpt")])
    e2e.run(mpirun(2, base + ["--epochs", "50", "--save", w("half.weights"), "--checkpoint", w("two.ckpt"),
                              "--checkpoint-every", "50"]))
    out = e2e.run(base + ["--epochs", "100", "--resume", w("two.ckpt"), "--save", w("resumed.weights"),
                          "--checkpoint", w("resumed.ckpt")])
    if not re.search(r"resuming from \S+: restart 1/1 after epoch 50/100", out):
        e2e.fail("no 'resuming from ...: restart 1/1 after epoch 50/100' line", out)
    worst = compare(exe, w("ref.weights"), w("resumed.weights"), "iris resume")
    e2e.ok("a 2-rank checkpoint resumed in one process = one process throughout, within %.2g" % worst)


def accuracy_on(exe, weights, data):
    return e2e.metric(e2e.run([exe, "eval", "--weights", weights, "--data", data]), "eval", "accuracy")


def shard_refusals():
    exe = e2e.compile_example(a, "iris")
    os.chdir(a.examples)
    # each rank reads --data relative to its own working directory: rank 1 gets another file
    rows = open("iris.csv").read().splitlines(True)
    for d, text in (("same", rows), ("fewer", rows[:-1]), ("changed", rows[:-1] + [rows[-1].replace("5.9", "5.8")])):
        os.makedirs(os.path.join(a.work, d), exist_ok=True)
        open(os.path.join(a.work, d, "iris.csv"), "w").write("".join(text))
    for d, what in (("fewer", "149 samples here, 150 on rank 0"), ("changed", "its bytes differ from rank 0's")):
        cmd = [exe, "train", "--shard-data", "--validation", "0", "--batch", "8", "--data", "iris.csv",
               "--save", a.work + "/r.weights"]
        p = subprocess.run([a.mpirun] + MCA + ["-np", "1", "-wdir", os.path.join(a.work, "same")] + cmd +
                           [":", "-np", "1", "-wdir", os.path.join(a.work, d)] + cmd,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        if p.returncode == 0 or "rank 1 on" not in p.stdout or what not in p.stdout:
            e2e.fail("rank 1 with a file %s: expected 'rank 1 on HOST: ... %s', status %d" % (d, what, p.returncode),
                     p.stdout)
    # a FANN file (counts line, then inputs and outputs lines) cannot be sharded
    xor = e2e.compile_example(a, "xor")
    open(os.path.join(a.work, "xor.fann"), "w").write("4 2 1\n0 0\n0\n0 1\n1\n1 0\n1\n1 1\n0\n")
    expect_refusal(mpirun(2, [xor, "train", "--shard-data", "--batch", "4", "--data", os.path.join(a.work, "xor.fann"),
                              "--save", a.work + "/x.weights"]), "--shard-data reads CSV and IDX files")
    print("ok: --shard-data: a rank with a row fewer or a changed value stops before training; FANN refused")


def shard():
    shard_refusals()
    for np in (2, 3):
        same_weights("xor", ["--batch", "4"], np, ["--shard-data"], last=False)
        same_weights("iris", ["--batch", "150", "--validation", "0", "--epochs", "100", "--restarts", "1"], np,
                     ["--shard-data"], last=False)
    # z-score inputs and targets (target_scale) fitted over the shards
    same_weights("diabetes", ["--batch", "442", "--validation", "0", "--epochs", "30"], 3, ["--shard-data"], last=False)
    exe = e2e.compile_example(a, "iris")
    os.chdir(a.examples)
    flags = [exe, "train", "--quiet", "--batch", "8", "--momentum", "0.5", "--validation", "0", "--epochs", "30",
             "--restarts", "1"]
    e2e.run(flags + ["--save", a.work + "/one.weights", "--checkpoint", a.work + "/one.ckpt"])
    e2e.run(mpirun(3, flags + ["--shard-data", "--save", a.work + "/three.weights", "--checkpoint",
                               a.work + "/three.ckpt"]))
    acc1, acc3 = (accuracy_on(exe, a.work + f, "iris.csv") for f in ("/one.weights", "/three.weights"))
    if acc3 < acc1 - 4:
        e2e.fail("iris, 3 sharded ranks: accuracy %.2f%% < one process's %.2f%% − 4" % (acc3, acc1))
    print("ok: iris, batch 8, 3 sharded ranks: accuracy %.2f%% on the whole file, one process %.2f%%" % (acc3, acc1))
    # validation (the example's 0.2) held out of each shard, scored over all of them
    flags = [exe, "train", "--batch", "8", "--momentum", "0.5", "--epochs", "30", "--restarts", "2",
             "--patience", "5"]
    e2e.run(flags + ["--save", a.work + "/one.weights", "--checkpoint", a.work + "/one.ckpt"])
    out = e2e.run(mpirun(3, flags + ["--shard-data", "--save", a.work + "/three.weights", "--checkpoint",
                                     a.work + "/three.ckpt"]))
    if not re.search(r"^kept restart \d/2 \(validation loss", out, re.M):
        e2e.fail("iris with validation, 3 sharded ranks: no 'kept restart N/2 (validation loss ...)'", out)
    acc1, acc3 = (accuracy_on(exe, a.work + f, "iris.csv") for f in ("/one.weights", "/three.weights"))
    if acc3 < acc1 - 4:
        e2e.fail("iris with validation, 3 sharded ranks: accuracy %.2f%% < one process's %.2f%% − 4" % (acc3, acc1))
    e2e.ok("iris, validation 0.2, 3 sharded ranks: accuracy %.2f%% on the whole file, one process %.2f%%"
           % (acc3, acc1))


MAXRSS = ("import resource, subprocess, sys\n"
          "rc = subprocess.call(sys.argv[1:])\n"
          "print('maxrss %d KB' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
          "sys.exit(rc)\n")


def shard_memory():
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        e2e.skip("%s is missing (apt-get install dataset-fashion-mnist)" % DATA)
    exe = e2e.compile_example(a, "fashion")
    open("maxrss.py", "w").write(MAXRSS)
    peak, acc = {}, {}
    for k in (1, 2, 3):
        cmd = ["python3", "maxrss.py", exe, "train", "--quiet", "--epochs", "1", "--batch", "512",
               "--save", "f%d.weights" % k, "--checkpoint", "f%d.ckpt" % k] + (["--shard-data"] if k > 1 else [])
        out = e2e.run(mpirun(k, cmd) if k > 1 else cmd, timeout=600)
        peak[k] = max(int(v) for v in re.findall(r"^maxrss (\d+) KB", out, re.M)) / 1024
        acc[k] = e2e.metric(out, "test", "accuracy")
    if not (peak[2] < 0.8 * peak[1] and peak[3] < peak[2]):
        e2e.fail("peak memory per rank does not fall with K: %s MB" % peak)
    if min(acc[2], acc[3]) < acc[1] - 6:
        e2e.fail("sharded test accuracy %.2f%%, %.2f%% < one process's %.2f%% − 6" % (acc[2], acc[3], acc[1]))
    e2e.ok("Fashion-MNIST, peak resident memory of the largest rank: K=1 %.0f MB, K=2 %.0f MB, K=3 %.0f MB "
           "(test accuracy %.2f%%, %.2f%%, %.2f%%)" % (peak[1], peak[2], peak[3], acc[1], acc[2], acc[3]))


cases = {"xor": lambda: same_weights("xor", ["--batch", "4"]),
         "shard": shard, "shard-memory": shard_memory,
         "iris": lambda: same_weights("iris", ["--batch", "8", "--momentum", "0.5"]),
         "refuse": refuse, "fashion": fashion, "kill": kill, "resume": resume}
if a.case not in cases:
    e2e.fail("unknown --case %s" % a.case)
cases[a.case]()
