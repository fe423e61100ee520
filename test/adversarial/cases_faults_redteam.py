"""Class 4 of the adversarial suite, second round: signals and other users while files are
written.

A closed terminal (SIGHUP) ends training like Ctrl-C, with a checkpoint, unless the hangup is
ignored (nohup); nnc interrupted at any moment of a compile leaves no temporary behind; and
another user is refused before training, with the reason, where the final rename could not
replace the file: a file the user may not write, another user's file in a sticky directory, a
directory that is not writable although the file is."""
import os
import random
import shutil
import signal
import time

from adv import Result, case, chain
from cases_faults import NOBODY, as_nobody, dirs_for_nobody, failed, loads, need_nobody, signal_training, trained


def nobody_owns(path, mode):
    """Setup step: path (a copy of the trained weights) owned by nobody with mode."""
    def setup(ctx):
        shutil.copy2(ctx.path("regression.weights"), ctx.path(path))
        os.chown(ctx.path(path), 65534, 65534)
        os.chmod(ctx.path(path), mode)
    return setup


def roots(path, mode, dir_mode=None):
    """Setup step: path (a copy of the trained weights) owned by root with mode."""
    def setup(ctx):
        shutil.copy2(ctx.path("regression.weights"), ctx.path(path))
        os.chmod(ctx.path(path), mode)
        if dir_mode is not None:
            os.chmod(os.path.dirname(ctx.path(path)), dir_mode)
    return setup



def untrained(ctx, r):
    """Check: the refusal came before training (no scores, no 'weights saved')."""
    return "the run trained before refusing" if "mse" in r.out or "saved" in r.out else None


def interrupt_compile(sig, moments, cmd="$NNC -O0 $EXAMPLES/xor.nn -o xor"):
    """run: nnc compiling over an existing ./xor, interrupted with sig at each moment (seconds,
    seeded, across the compile and the link): no temporary is left (the suite's `creates`
    catches one) and ./xor always runs."""
    def run(ctx):
        rng = random.Random(sig)
        r = Result(0, "", "")
        for i in range(moments):
            p = ctx.popen(cmd)
            time.sleep(rng.uniform(0.02, 0.25))
            p.send_signal(sig)
            out, err = p.communicate(timeout=30)
            if p.returncode not in (0, -sig):
                return failed(Result(p.returncode, out.decode(), err.decode()), "interrupt %d: status %d" % (i, p.returncode))
            r = ctx.sh("./xor info")
            if r.code != 0:
                return failed(r, "interrupt %d: ./xor does not run" % i)
        return Result(0, "", "")
    return run


def hangup_ignored(ctx):
    """run: training under an ignored SIGHUP (as nohup starts it) survives a hangup, then stops
    with a checkpoint on SIGTERM."""
    p = ctx.popen("sh -c \"trap '' HUP; exec ./regression train --epochs 1000000 --patience 0 --save r.w "
                  "--checkpoint c.ckpt\"")
    time.sleep(0.5)
    p.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    alive = p.poll() is None
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    r = Result(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    return r if alive else failed(r, "a hangup ignored by the caller ended training")


CASES = [
    # ---- a closed terminal ---------------------------------------------------------------
    # SIGHUP used to kill training outright: no checkpoint, the log left as a temporary
    case("sighup-writes-a-checkpoint", models=["regression"], setup=trained,
         run=signal_training("./regression train --epochs 1000000 --patience 0 --save r.w --log t.log",
                             sig=signal.SIGHUP),
         exit=130, err=r"checkpoint after epoch \d+ written to r\.w\.ckpt; continue with --resume r\.w\.ckpt",
         creates=["r.w.ckpt", "t.log"], check=loads("r.w.ckpt")),
    case("sighup-ignored-as-under-nohup", models=["regression"], run=hangup_ignored, exit=130,
         err=r"written to c\.ckpt", creates=["c.ckpt"], check=loads("c.ckpt")),
    # ---- nnc interrupted: no DEST.tmp.XXXXXX/ left, the old executable intact ----------------
    case("sigterm-during-compile-leaves-no-temporary", models=["xor"], run=interrupt_compile(signal.SIGTERM, 12),
         may_change=["xor"], creates=[]),
    case("sigint-during-compile-leaves-no-temporary", models=["xor"], run=interrupt_compile(signal.SIGINT, 12),
         may_change=["xor"], creates=[]),
    case("signals-during-object-and-header-leave-no-temporary", models=["xor"],
         run=interrupt_compile(signal.SIGTERM, 8, "$NNC -c $EXAMPLES/xor.nn -o x.o --header x.h"),
         creates=["x.o", "x.h"]),
    case("sighup-during-compile-leaves-no-temporary", models=["xor"], run=interrupt_compile(signal.SIGHUP, 8),
         may_change=["xor"], creates=[]),
    # ---- another user: refused before training, with the reason ------------------------------
    # a read-only file of one's own: the rename would replace it; the shell's `>` would not
    case("nobody-own-readonly-weights-refused-before-training",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w"), models=["regression"],
         setup=chain(dirs_for_nobody, nobody_owns("rw/r.w", 0o444)), needs=need_nobody, exit=1,
         err=r"--save: cannot write rw/r\.w: Permission denied \(a file is replaced only by a user who may write it\)",
         check=untrained),
    # root's file in a directory anyone may write (not sticky): not nobody's to replace
    case("nobody-cannot-replace-roots-file-in-open-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w"), models=["regression"],
         setup=chain(dirs_for_nobody, roots("rw/r.w", 0o644)), needs=need_nobody, exit=1,
         err=r"--save: cannot write rw/r\.w: Permission denied", check=untrained),
    # root's world-writable file in a sticky directory: writable, but the rename is refused
    case("nobody-roots-writable-file-in-sticky-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w --log rw/t.log"), models=["regression"],
         setup=chain(dirs_for_nobody, roots("rw/r.w", 0o666, 0o1777)), needs=need_nobody, exit=1,
         err=r"--save: cannot write rw/r\.w: Operation not permitted \(another user's file in a sticky directory\)",
         check=untrained),
    case("nobody-checkpoint-in-sticky-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w --checkpoint rw/c.ckpt"), models=["regression"],
         setup=chain(dirs_for_nobody, roots("rw/c.ckpt", 0o666, 0o1777)), needs=need_nobody, exit=1,
         err=r"--checkpoint: cannot write rw/c\.ckpt: Operation not permitted", check=untrained),
    # a writable file in a directory that is not: said as it is
    case("nobody-writable-file-in-readonly-directory",
         as_nobody("./regression train --quiet --epochs 2 --save ro/r.w"), models=["regression"],
         setup=chain(dirs_for_nobody, roots("ro/r.w", 0o666)), needs=need_nobody, exit=1,
         err=r"--save: cannot write ro/r\.w: Permission denied \(its directory is not writable, and a file is "
             r"replaced by renaming a new one over it\)", check=untrained),
    case("nobody-import-over-roots-file", as_nobody("./regression weights export --initial > rw/w.json && "
                                                    "./regression weights import --weights rw/r.w --input rw/w.json"),
         models=["regression"], setup=chain(dirs_for_nobody, roots("rw/r.w", 0o644)), needs=need_nobody, exit=1,
         err=r"--weights: cannot write rw/r\.w: Permission denied", creates=["rw/w.json"]),
    case("nobody-compile-over-own-readonly-file", as_nobody("$NNC -O0 $EXAMPLES/xor.nn -o rw/x.ir --emit-ir"),
         models=["regression"], setup=chain(dirs_for_nobody, nobody_owns("rw/x.ir", 0o444)), needs=need_nobody,
         exit=1, err=r"nnc: error: cannot write 'rw/x\.ir': Permission denied \(a file is replaced only by a user who "
                     r"may write it\)"),
    case("nobody-compile-over-roots-file-in-sticky-directory", as_nobody("$NNC -O0 $EXAMPLES/xor.nn -o rw/xor"),
         models=["regression"], setup=chain(dirs_for_nobody, roots("rw/xor", 0o666, 0o1777)), needs=need_nobody,
         exit=1, err=r"nnc: error: cannot write 'rw/xor': Operation not permitted \(another user's file in a sticky "
                     r"directory\)"),
    # a drop-box directory nobody may write but not read (-wx): the save goes through it
    case("nobody-saves-into-a-write-only-directory",
         as_nobody("./regression train --quiet --epochs 2 --save wo/r.w --log wo/t.log && "
                   "./regression train --quiet --epochs 2 --save wo/r.w && $NNC --emit-ir $EXAMPLES/xor.nn -o wo/x.ir"),
         models=["regression"], setup=chain(dirs_for_nobody, lambda ctx: (os.mkdir(ctx.path("wo")), os.chmod(ctx.path("wo"), 0o733))),
         needs=need_nobody, out=r"weights saved to wo/r\.w", creates=["wo/r.w", "wo/t.log", "wo/x.ir"]),
    # --save /dev/null used to be refused for want of a writable /dev for /dev/null.ckpt
    case("nobody-trains-without-keeping-weights", as_nobody("./regression train --quiet --epochs 2 --save /dev/null"),
         models=["regression"], setup=dirs_for_nobody, needs=need_nobody, out=r"weights saved to /dev/null",
         creates=[]),
    # nobody's own writable file in root's sticky directory: nobody may replace it
    case("nobody-replaces-own-file-in-sticky-directory",
         as_nobody("./regression train --quiet --epochs 2 --save rw/r.w"), models=["regression"],
         setup=chain(dirs_for_nobody, nobody_owns("rw/r.w", 0o644), lambda ctx: os.chmod(ctx.path("rw"), 0o1777)),
         needs=need_nobody, may_change=["rw/r.w"], out=r"weights saved to rw/r\.w", check=loads("rw/r.w")),
]
