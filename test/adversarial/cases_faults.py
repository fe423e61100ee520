"""Class 4 of the adversarial suite: faults while files are written.

A disk that fills (a small tmpfs), kill -9 at many moments of a save, SIGINT and SIGTERM,
several processes saving to one path, another user (nobody) writing where it may not, and an
address-space limit (ulimit -v) small enough that a save cannot allocate. Each case checks that
every file that existed before is intact or replaced by a complete one, that no torn file is
ever left under a real name, and that the message names the file and the reason. Cases that
need root (mount, setpriv) are skipped with the reason elsewhere."""
import errno
import glob
import hashlib
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import time

from adv import Result, case

TRAIN = "./regression train --quiet --epochs 3"
# A network whose checkpoints are about 1 MB (parameters, velocity, the best-so-far copy),
# trained on 20 rows so that its time goes to writing checkpoints.
WIDE_NN = """network wide {
  input  x[2];
  layer  h1[300] tanh;
  layer  h2[300] tanh;
  output y linear;
  train {
    data       "w.csv" header inputs 0..1 targets 2;
    sgd        rate 0.001 momentum 0.9 batch 4;
    epochs     1000000;
    validation 0.2;
  }
}
"""
NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups"


# ---- helpers -----------------------------------------------------------------------------

def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def failed(r, why):
    """A Result that fails the case (no case expects status 97) and says why."""
    return Result(97, r.out, r.err + "\n[case] " + why)


def need_root(ctx):
    return None if os.geteuid() == 0 else "needs root (to mount a tmpfs or change user)"


def need_nobody(ctx):
    """The user nobody must reach the case directory and the model's data (a private parent
    directory, as under /root, keeps it out)."""
    why = need_root(ctx)
    if why:
        return why
    r = ctx.sh(NOBODY + " ./regression train --quiet --epochs 0 --save /dev/null --checkpoint /dev/null")
    return None if r.code == 0 else "the user nobody cannot run the model here: " + r.err.strip()[:200]


def need_mount(ctx):
    why = need_root(ctx)
    if why:
        return why
    probe = ctx.path(".probe")
    os.mkdir(probe)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode == 0:
        subprocess.run(["umount", probe])
    os.rmdir(probe)
    return None if p.returncode == 0 else "cannot mount a tmpfs: " + p.stdout.decode().strip()


def need_ulimit(ctx):
    r = ctx.sh("ulimit -v 200000 && ./regression info")
    return None if r.code == 0 else "ulimit -v stops this build from starting (sanitizers?)"


def fill(d):
    """Fills the file system of d to the last page."""
    fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def files_in(d):
    return {n: sha(os.path.join(d, n)) for n in os.listdir(d) if os.path.isfile(os.path.join(d, n))}


def on_full_disk(act, put=(), size="256k", then=None):
    """run: mounts a tmpfs at full/, copies the files put ((src, name) pairs) into it, fills
    it, then act(ctx) -> Result. Afterwards every file in full/ must be as before: nothing
    torn, nothing replaced, no temporary left. then(ctx, r) -> None or a problem."""
    def run(ctx):
        d = ctx.path("full")
        os.mkdir(d)
        # room for the files put there, however large this build makes them (a sanitizer
        # build's executables are megabytes)
        need = sum(os.path.getsize(ctx.path(src)) for src, _ in put) + (1 << 20)
        want = int(size[:-1]) << {"k": 10, "m": 20}[size[-1]]
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % max(want, need), "tmpfs", d], check=True)
        try:
            for src, name in put:
                shutil.copy2(ctx.path(src), os.path.join(d, name))
            fill(d)
            before = files_in(d)
            r = act(ctx)
            after = files_in(d)
            if after != before:
                return failed(r, "full/ changed: %s -> %s" % (sorted(before), sorted(after)))
            why = then(ctx, r) if then else None
            return failed(r, why) if why else r
        finally:
            subprocess.run(["umount", d])
    return run


def sh(cmd):
    return lambda ctx: ctx.sh(cmd)


def trained(ctx):
    r = ctx.sh(TRAIN)
    assert r.code == 0, r.err


def wait_for(pred, timeout=5.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.01)
    return False


def signal_training(cmd, sig=signal.SIGINT, log="t.log"):
    """act: starts cmd (which writes --log LOG), waits until an epoch is logged (the log's
    temporary has a row), sends sig, and returns how it ended."""
    def act(ctx):
        p = ctx.popen(cmd)

        def logged():
            return any(os.path.getsize(f) > 60 for f in glob.glob(ctx.path(log + ".tmp.*")))
        ready = wait_for(logged)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        r = Result(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
        return r if ready else failed(r, "no epoch was logged within 5 s")
    return act


def loads(path, model="regression", data=""):
    def check(ctx, r):
        e = ctx.sh("./%s eval --weights %s %s" % (model, path, data))
        return None if e.code == 0 else "%s does not load: %s" % (path, e.err)
    return check


def resumes_after(ctx, r, path):
    """Check: the checkpoint the interrupted run names resumes for one more epoch."""
    m = re.search(r"checkpoint after epoch (\d+)", r.err)
    if not m:
        return "no 'checkpoint after epoch N' in the message"
    e = ctx.sh("./regression train --quiet --epochs %d --restarts 1 --resume %s --save c.w"
               % (int(m.group(1)) + 1, path))
    return None if e.code == 0 else "--resume %s failed: %s" % (path, e.err)


def compile_wide(ctx):
    with open(ctx.path("regression.csv")) as f:
        rows = f.readlines()[:21]
    with open(ctx.path("w.csv"), "w") as f:
        f.writelines(rows)
    with open(ctx.path("wide.nn"), "w") as f:
        f.write(WIDE_NN)
    r = ctx.sh("$NNC -O0 wide.nn -o wide && ./wide train --quiet --epochs 2 --checkpoint wide.ckpt "
               "--checkpoint-every 1 --save wide.weights")
    assert r.code == 0, r.err


def as_nobody(cmd):
    return "%s sh -c '%s'" % (NOBODY, cmd)


def dirs_for_nobody(ctx):
    """ro/ (root's, read-only for others, with a trained weights file) and rw/ (anyone's)."""
    os.chmod(ctx.dir, 0o755)
    os.makedirs(ctx.path("ro"))
    os.makedirs(ctx.path("rw"))
    os.chmod(ctx.path("rw"), 0o777)
    trained(ctx)
    shutil.copy2(ctx.path("regression.weights"), ctx.path("ro", "regression.weights"))


# ---- kill -9 and signals -----------------------------------------------------------------

def kill_during_checkpoints(ctx):
    """20 kills -9 at seeded random moments of a run that writes a 1 MB checkpoint after every
    epoch: after each, wide.ckpt is a complete checkpoint (it loads: right size, checksum)."""
    rng = random.Random(11)
    cmd = "./wide train --quiet --checkpoint wide.ckpt --checkpoint-every 1 --save wide.weights"
    last = Result(0, "", "")
    for i in range(20):
        p = ctx.popen(cmd)
        time.sleep(rng.uniform(0.01, 0.25))
        p.kill()
        p.communicate()
        last = ctx.sh("./wide eval --weights wide.ckpt")
        if last.code != 0:
            return failed(last, "kill %d: wide.ckpt does not load" % i)
    left = len(glob.glob(ctx.path("wide.ckpt.tmp.*")))
    return Result(0, "%d kills; %d killed mid-write (a temporary left)\n" % (20, left), "")


def kill_during_final_save(ctx):
    """Kills -9 at moments across short runs: regression.weights is always either the file
    trained before or the complete result of the new run."""
    rng = random.Random(5)
    old = sha(ctx.path("regression.weights"))
    r = ctx.sh("./regression train --quiet --epochs 2 --save ref.w")
    new = sha(ctx.path("ref.w"))
    os.remove(ctx.path("ref.w"))
    for i in range(15):
        p = ctx.popen("./regression train --quiet --epochs 2")
        time.sleep(rng.uniform(0.0, 0.08))
        p.kill()
        p.communicate()
        if sha(ctx.path("regression.weights")) not in (old, new):
            return failed(r, "kill %d: regression.weights is neither the old nor the new file" % i)
    return Result(0, "", "")


def kill_during_compile(ctx):
    """Kills -9 nnc at moments across a compile over an existing executable: xor always runs."""
    rng = random.Random(3)
    for i in range(6):
        p = ctx.popen("$NNC -O0 $EXAMPLES/xor.nn -o xor")
        time.sleep(rng.uniform(0.05, 0.6))
        p.kill()
        p.communicate()
        r = ctx.sh("./xor info")
        if r.code != 0:
            return failed(r, "kill %d: ./xor does not run" % i)
    return Result(0, "", "")


# ---- concurrency -------------------------------------------------------------------------

def concurrent(cmds, expect_from):
    """act: runs cmds at once; every one must succeed. expect_from(ctx) -> the paths whose
    contents the shared result may have (one complete result, never a mix)."""
    def act(ctx):
        ps = [ctx.popen(c) for c in cmds]
        outs = [(p, p.communicate(timeout=60)) for p in ps]
        err = "".join(e.decode(errors="replace") for _, (_, e) in outs)
        out = "".join(o.decode(errors="replace") for _, (o, _) in outs)
        r = Result(max(p.returncode for p, _ in outs), out, err)
        if r.code != 0:
            return r
        shared, refs = expect_from(ctx)
        if sha(ctx.path(shared)) not in {sha(ctx.path(f)) for f in refs}:
            return failed(r, "%s is none of the complete results %s" % (shared, refs))
        return r
    return act


def seeds_ref(n, shared):
    """The results the n seeded runs would have written alone (computed after the race)."""
    def refs(ctx):
        for k in range(1, n + 1):
            r = ctx.sh("./regression train --quiet --epochs 5 --seed %d --save ref%d.w" % (k, k))
            assert r.code == 0, r.err
        return shared, ["ref%d.w" % k for k in range(1, n + 1)]
    return refs


def make_texts(ctx):
    for k in range(1, 4):
        r = ctx.sh("./regression weights export --initial --seed %d > w%d.json && "
                   "./regression weights import --weights ref%d.w --input w%d.json" % (k, k, k, k))
        assert r.code == 0, r.err


XOR_WIDER = open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "xor.nn")).read() \
    .replace("[4]", "[7]")


def ulimit_sweep(model, cmd, step_kb, steps):
    """act: finds the smallest address-space limit at which `./MODEL info` runs, then runs cmd
    under limits from there up by step_kb: each run either succeeds with a complete weights
    file, or fails with exit 1 and 'out of memory' and leaves the weights file as it was."""
    def act(ctx):
        lo, hi = 1000, 400000
        while hi - lo > 256:
            mid = (lo + hi) // 2
            ok = ctx.sh("ulimit -v %d && ./%s info" % (mid, model)).code == 0
            lo, hi = (lo, mid) if ok else (mid, hi)
        weights = ctx.path(model + ".weights")
        old = sha(weights)
        seen = set()
        r = Result(0, "", "")
        for k in range(steps):
            limit = hi + k * step_kb
            r = ctx.sh("ulimit -v %d && %s" % (limit, cmd))
            if r.code == 0:
                seen.add("ok")
                why = loads(model + ".weights", model)(ctx, r)
                if why:
                    return failed(r, "limit %d kB: %s" % (limit, why))
            elif r.code == 1 and "out of memory" in r.err:
                seen.add("oom")
                if sha(weights) != old:
                    return failed(r, "limit %d kB: a failed run changed %s.weights" % (limit, model))
            else:
                return failed(r, "limit %d kB: exit %d" % (limit, r.code))
        if seen != {"ok", "oom"}:
            return failed(r, "the limits from %d kB did not reach both outcomes: %s" % (hi, seen))
        return Result(0, "", "")
    return act


def count_is(pattern, n, also=None):
    def check(ctx, r):
        got = r.err.count(pattern)
        if got != n:
            return "'%s' appears %d times in stderr, expected %d" % (pattern, got, n)
        return also(ctx, r) if also else None
    return check


def mode_owner(path, mode, uid):
    def check(ctx, r):
        st = os.stat(ctx.path(path))
        if stat.S_IMODE(st.st_mode) != mode or st.st_uid != uid:
            return "%s: mode %o uid %d, expected %o uid %d" % (path, stat.S_IMODE(st.st_mode), st.st_uid, mode, uid)
        return None
    return check


CASES = [
    # ---- disk full (a small tmpfs filled to the last page) -------------------------------
    # the checkpoint cannot be written: one warning, training goes on, the final save succeeds
    case("disk-full-checkpoint-training-goes-on", models=["regression"], setup=trained, needs=need_mount,
         run=on_full_disk(sh("./regression train --quiet --epochs 4 --checkpoint full/r.ckpt --checkpoint-every 1")),
         err=r"warning: no checkpoint after epoch 1: full/r\.ckpt: cannot write: No space left on device; "
             r"training goes on", out=r"weights saved to regression\.weights", may_change=["regression.weights"],
         creates=["full"], check=count_is("warning:", 1, loads("regression.weights"))),
    case("disk-full-save-keeps-the-old-weights", models=["regression"], setup=trained, needs=need_mount,
         run=on_full_disk(sh(TRAIN + " --epochs 5 --save full/r.w"), put=[("regression.weights", "r.w")]),
         exit=1, err=r"full/r\.w: cannot write: No space left on device", creates=["full"]),
    case("disk-full-log-keeps-the-old-log", models=["regression"], setup=trained, needs=need_mount,
         run=on_full_disk(sh(TRAIN + " --save r.w --log full/t.log"), put=[("regression.csv", "t.log")]),
         exit=1, err=r"full/t\.log: cannot write: No space left on device \(the weights were saved to r\.w\)",
         creates=["full", "r.w"], check=loads("r.w")),
    case("disk-full-plot-keeps-the-old-plot", models=["regression"], needs=need_mount,
         files={"old.svg": "<svg/>\n"},
         run=on_full_disk(sh(TRAIN + " --save r.w --plot full/p.svg"), put=[("old.svg", "p.svg")]),
         exit=1, err=r"full/p\.svg: cannot write: No space left on device \(the weights were saved",
         creates=["full", "r.w"]),
    case("disk-full-import-keeps-the-old-weights", models=["regression"], setup=trained, needs=need_mount,
         run=on_full_disk(sh("./regression weights export --initial > w.json && "
                             "./regression weights import --weights full/r.w --input w.json"),
                          put=[("regression.weights", "r.w")]),
         exit=1, err=r"full/r\.w: cannot write: No space left on device", creates=["full", "w.json"]),
    case("disk-full-compiler-executable", models=["xor"], needs=need_mount,
         run=on_full_disk(sh("$NNC -O0 $EXAMPLES/xor.nn -o full/xor"), put=[("xor", "xor")], size="2m"),
         exit=1, err=r"nnc: error: (cannot write|linking) 'full/xor'", creates=["full"]),
    case("disk-full-compiler-ir-dump", needs=need_mount, files={"x.ir": "old dump\n"},
         run=on_full_disk(sh("$NNC --emit-ir $EXAMPLES/iris.nn -o full/x.ir"), put=[("x.ir", "x.ir")]),
         exit=1, err=r"nnc: error: cannot write 'full/x\.ir': No space left on device", creates=["full"]),
    case("disk-full-header", needs=need_mount, files={"x.h": "/* old */\n"},
         run=on_full_disk(sh("$NNC -c $EXAMPLES/xor.nn -o x.o --header full/x.h"), put=[("x.h", "x.h")]),
         exit=1, err=r"nnc: error: cannot write 'full/x\.h': No space left on device", creates=["full", "x.o"]),
    # interrupted with the checkpoint's disk full: the checkpoint goes beside --save instead
    case("disk-full-interrupt-checkpoint-goes-beside-save", models=["regression"], needs=need_mount,
         run=on_full_disk(signal_training("./regression train --epochs 1000000 --checkpoint full/r.ckpt "
                                          "--save r.w --log t.log")),
         exit=130, err=[r"warning: full/r\.ckpt: cannot write: No space left on device",
                        r"written to r\.w\.interrupted; continue with --resume r\.w\.interrupted"],
         creates=["full", "r.w.interrupted", "t.log"], check=loads("r.w.interrupted")),
    case("disk-full-diverged-says-nothing-was-saved", models=["regression"], needs=need_mount,
         files={"old.w": "NNCW: an earlier weights file\n"},
         run=on_full_disk(sh("./regression train --quiet --rate 0.2 --epochs 20 --save full/r.w"),
                          put=[("old.w", "r.w")]),
         exit=1, err=r"diverged.*the last good weights could not be saved: full/r\.w\.diverged: cannot write: "
                     r"No space left on device", creates=["full"]),
    # ---- kill -9 and signals -------------------------------------------------------------
    case("kill-9-during-1mb-checkpoint-saves", models=["regression"], setup=compile_wide,
         run=kill_during_checkpoints, may_change=["wide.ckpt", "wide.weights"],
         creates=["wide.ckpt.tmp.*"], timeout=60),
    case("kill-9-during-the-final-save", models=["regression"], setup=trained, run=kill_during_final_save,
         may_change=["regression.weights"], creates=["regression.weights.tmp.*"]),
    case("kill-9-during-compile-keeps-the-executable", models=["xor"], run=kill_during_compile,
         may_change=["xor"], creates=["xor.tmp.*", "xor.tmp.*/*"]),
    case("sigint-keeps-save-and-writes-checkpoint", models=["regression"], setup=trained,
         run=signal_training("./regression train --epochs 1000000 --log t.log"), exit=130,
         err=r"interrupted in epoch \d+: checkpoint after epoch \d+ written to regression\.weights\.ckpt",
         creates=["regression.weights.ckpt", "t.log"], check=loads("regression.weights.ckpt")),
    case("sigterm-checkpoint-resumes", models=["regression"], setup=trained,
         run=signal_training("./regression train --epochs 1000000 --save r.w --checkpoint c.ckpt --log t.log",
                             sig=signal.SIGTERM),
         exit=130, err=r"written to c\.ckpt; continue with --resume c\.ckpt", creates=["c.ckpt", "t.log"],
         check=lambda ctx, r: resumes_after(ctx, r, "c.ckpt")),
    # ---- concurrency -----------------------------------------------------------------------
    case("two-saves-to-one-path", models=["regression"],
         run=concurrent(["./regression train --quiet --epochs 5 --seed %d --save shared.w" % k for k in (1, 2)],
                        seeds_ref(2, "shared.w")),
         out=r"weights saved to shared\.w.*weights saved to shared\.w", creates=["shared.w", "ref*.w"]),
    case("four-saves-to-one-path", models=["regression"],
         run=concurrent(["./regression train --quiet --epochs 5 --seed %d --save shared.w" % k for k in (1, 2, 3, 4)],
                        seeds_ref(4, "shared.w")),
         creates=["shared.w", "ref*.w"]),
    case("three-imports-to-one-path", models=["regression"], setup=make_texts,
         run=concurrent(["./regression weights import --weights shared.w --input w%d.json" % k for k in (1, 2, 3)],
                        lambda ctx: ("shared.w", ["ref1.w", "ref2.w", "ref3.w"])),
         creates=["shared.w"]),
    case("two-checkpointing-runs-to-one-checkpoint", models=["regression"],
         run=concurrent(["./regression train --quiet --epochs 30 --seed %d --checkpoint shared.ckpt "
                         "--checkpoint-every 1 --save r%d.w" % (k, k) for k in (1, 2)],
                        lambda ctx: ("r1.w", ["r1.w"])),
         creates=["shared.ckpt", "r1.w", "r2.w"], check=loads("shared.ckpt")),
    case("two-compiles-to-one-output", files={"xor7.nn": XOR_WIDER},
         run=concurrent(["$NNC -O0 $EXAMPLES/xor.nn -o m", "$NNC -O0 xor7.nn -o m"], lambda ctx: ("m", ["m"])),
         creates=["m"], check=lambda ctx, r: None if ctx.sh("./m info").code == 0 else "./m does not run"),
    # ---- another user ------------------------------------------------------------------------
    case("nobody-save-in-readonly-directory", as_nobody("./regression train --quiet --epochs 2 --save ro/regression.weights"),
         models=["regression"], setup=dirs_for_nobody, needs=need_nobody, exit=1,
         err=r"--save: cannot write ro/regression\.weights: Permission denied", creates=[]),
    case("nobody-checkpoint-in-readonly-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w --checkpoint ro/r.ckpt"),
         models=["regression"], setup=dirs_for_nobody, needs=need_nobody, exit=1,
         err=r"--checkpoint: cannot write ro/r\.ckpt: Permission denied", creates=[]),
    case("nobody-import-in-readonly-directory",
         as_nobody("./regression weights export > rw/w.json && ./regression weights import --weights ro/regression.weights --input rw/w.json"),
         models=["regression"], setup=dirs_for_nobody, needs=need_nobody, exit=1,
         err=r"--weights: cannot write ro/regression\.weights: Permission denied", creates=["rw/w.json"]),
    case("nobody-compile-in-readonly-directory", as_nobody("$NNC -O0 $EXAMPLES/xor.nn -o ro/xor"),
         setup=dirs_for_nobody, models=["regression"], needs=need_nobody, exit=1,
         err=r"nnc: error: cannot write 'ro/xor': Permission denied", creates=[]),
    case("nobody-trains-into-its-directory",
         as_nobody("umask 022; ./regression train --quiet --epochs 2 --save rw/r.w --log rw/t.log --plot rw/p.svg"),
         models=["regression"], setup=dirs_for_nobody, needs=need_nobody,
         creates=["rw/r.w", "rw/t.log", "rw/p.svg"], check=mode_owner("rw/r.w", 0o644, 65534)),
    # a sticky directory: nobody may not replace root's file there; refused before training
    case("nobody-cannot-replace-roots-file-in-sticky-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w"), models=["regression"],
         setup=lambda ctx: (dirs_for_nobody(ctx), shutil.copy2(ctx.path("regression.weights"), ctx.path("rw", "r.w")),
                            os.chmod(ctx.path("rw"), 0o1777)),
         needs=need_nobody, exit=1, err=r"--save: cannot write rw/r\.w: Permission denied", creates=[]),
    # ---- address-space limits ------------------------------------------------------------------
    case("ulimit-v-sweep-train", models=["regression"], setup=trained, needs=need_ulimit,
         run=ulimit_sweep("regression", TRAIN + " --checkpoint-every 1", 400, 10)),
    case("ulimit-v-sweep-1mb-checkpoints", models=["regression"], setup=compile_wide, needs=need_ulimit,
         run=ulimit_sweep("wide", "./wide train --quiet --epochs 2 --checkpoint-every 1 --checkpoint wide.ckpt",
                          700, 12),
         may_change=["wide.ckpt"]),
]
