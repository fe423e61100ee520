"""Class 1 of the adversarial suite, second round: writes aimed where a user slips or an attacker
pushes.

Every output of a model's executable and of nnc aimed at the program itself, at the network's
data, at standard output ("-"), at names with a leading '-', at names too long for the file
system, at paths near PATH_MAX (whose temporary's path is longer still), at one file reached by
two spellings, and at an input of the same run; and what a replaced file keeps (its mode, its
group, the other hard links) under any umask. Faults (signals, another user) are in
cases_faults_redteam.py."""
import hashlib
import os
import shutil
import stat

from adv import Result, case, chain

TRAIN = "./regression train --quiet --epochs 2"
XOR_NN = open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "xor.nn")).read()
LONG = "n" * 256                      # one component past NAME_MAX
NEAR_MAX = "n" * 251                  # fits, but NAME.ckpt does not
# 20 directories of 200 bytes: a file there with a 70-byte name is a 4090-byte path, valid,
# while its temporary's path (11 bytes more) would pass PATH_MAX
DEEP = "/".join(["d" * 200] * 20)
DEEP_FILE = DEEP + "/" + "w" * 70


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def trained(ctx):
    r = ctx.sh(TRAIN)
    assert r.code == 0, r.err


def exported(ctx):
    trained(ctx)
    r = ctx.sh("./regression weights export > w.json")
    assert r.code == 0, r.err


def deep_run(cmd, check):
    """run: cmd in DEEP/ (made first), then check(ctx, result); the tree is removed after (its
    absolute paths pass PATH_MAX, which the suite's snapshot cannot walk)."""
    def run(ctx):
        ctx.sh("mkdir -p " + DEEP)  # relative: the absolute path may pass PATH_MAX already
        try:
            r = ctx.sh(cmd)
            why = check(ctx, r) if r.code == 0 else None
            if why:
                r = Result(97, r.out, r.err + "\n[case] " + why)
            left = ctx.sh("find d* -name '*.tmp.*' | wc -l").out.strip()
            if left != "0":
                r = Result(97, r.out, r.err + "\n[case] a temporary was left")
            return r
        finally:
            shutil.rmtree(ctx.path(DEEP.split("/")[0]))
    return run


def loads(path, model="regression"):
    def check(ctx, r):
        e = ctx.sh("./%s eval --weights '%s'" % (model, path))
        return None if e.code == 0 else "%s does not load: %s" % (path[:60], e.err[-300:])
    return check


def no_training(also=None):
    """Check: the refusal came before any training (no scores printed)."""
    def check(ctx, r):
        if "mse" in r.out or "weights saved" in r.out:
            return "the run trained before refusing"
        return also(ctx, r) if also else None
    return check


def mode_is(path, mode, gid=None, also=None):
    def check(ctx, r):
        st = os.stat(ctx.path(path))
        if st.st_mode & 0o777 != mode:
            return "%s has mode %o, expected %o" % (path, st.st_mode & 0o777, mode)
        if gid is not None and st.st_gid != gid:
            return "%s has group %d, expected %d" % (path, st.st_gid, gid)
        return also(ctx, r) if also else None
    return check


def same_bytes_as(path, ref):
    def check(ctx, r):
        return None if sha(ctx.path(path)) == sha(ctx.path(ref)) else "%s differs from %s" % (path, ref)
    return check


def keep_copy(src, dst):
    """Setup: a copy of src as dst, to compare against afterwards."""
    def setup(ctx):
        with open(ctx.path(src), "rb") as f, open(ctx.path(dst), "wb") as g:
            g.write(f.read())
    return setup



def char_device(ctx):
    """Setup: cdev, a character device like /dev/null (mknod, root)."""
    os.mknod(ctx.path("cdev"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))


CASES = [
    # ---- the program's own executable: `--save regression` used to overwrite ./regression --
    case("save-is-the-program-itself", TRAIN + " --save regression", models=["regression"], exit=2,
         err=r"--save: regression is this program's own executable; give another name", check=no_training()),
    case("save-is-the-program-by-absolute-path", TRAIN + ' --save "$PWD/regression"', models=["regression"],
         exit=2, err=r"is this program's own executable", check=no_training()),
    case("checkpoint-is-the-program-another-spelling", "mkdir sub && " + TRAIN + " --checkpoint sub/../regression",
         models=["regression"], exit=2, err=r"--checkpoint: sub/\.\./regression is this program's own executable",
         creates=["sub"]),
    case("log-is-the-program-through-a-hard-link", "ln regression r2 && " + TRAIN + " --log r2",
         models=["regression"], exit=2, err=r"--log: r2 is this program's own executable", creates=["r2"],
         check=same_bytes_as("r2", "regression")),
    case("plot-is-the-program-through-a-symlink", "ln -s regression r2 && " + TRAIN + " --plot ./r2",
         models=["regression"], exit=2, err=r"--plot: \./r2 is this program's own executable", creates=["r2"]),
    case("import-over-the-program-itself", "./regression weights import --weights ./regression --input w.json",
         models=["regression"], setup=exported, exit=2, err=r"--weights: \./regression is this program's own executable"),
    case("import-over-its-own-input", "./regression weights import --weights w.json --input ./w.json",
         models=["regression"], setup=exported, exit=2, err=r"--weights w\.json is the --input file"),
    # ---- the compiler: nnc itself, the network's data, standard output, leading '-' ---------
    case("compiler-output-is-nnc-itself", "cp $NNC ./nnc && ./nnc $EXAMPLES/xor.nn -o nnc",
         exit=2, err=r"nnc: error: output file 'nnc' is nnc itself", creates=["nnc"],
         check=lambda ctx, r: None if ctx.sh("cmp -s nnc $NNC").code == 0 else "./nnc was changed"),
    case("compiler-output-is-the-training-data", "$NNC xor.nn -o xor.csv", models=["xor"], exit=2,
         err=r"nnc: error: output file 'xor\.csv' is the network's training data"),
    case("compiler-header-is-the-training-data", "$NNC -c xor.nn -o x.o --header ./xor.csv", models=["xor"],
         exit=2, err=r"nnc: error: output file '\./xor\.csv' is the network's training data", creates=[]),
    # a network `xor` training on a file `xor`: the default output name is the data
    case("compiler-default-output-is-the-training-data", "$NNC net.nn", exit=2,
         files={"net.nn": XOR_NN.replace('"xor.csv"', '"xor"'),
                "xor": open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "xor.csv")).read()},
         err=r"output file 'xor' is the network's training data", creates=[]),
    case("compiler-executable-to-standard-output-refused", "$NNC $EXAMPLES/xor.nn -o -", exit=2,
         err=r"an executable cannot be written to standard output \(-o -\)", creates=[]),
    case("compiler-output-with-leading-dash", "$NNC -O0 $EXAMPLES/xor.nn -o -m && ./-m info", out=r"network\s+xor",
         creates=["-m"]),
    case("compiler-object-with-leading-dash", "$NNC -c $EXAMPLES/xor.nn -o -x.o --header -x.h", creates=["-x.o", "-x.h"]),
    # the executable goes into the device; its object used to be written beside it (cdev.o)
    case("compiler-executable-to-a-device-leaves-nothing-beside-it", "$NNC -O0 $EXAMPLES/xor.nn -o cdev",
         setup=char_device, needs=lambda ctx: None if os.geteuid() == 0 else "needs root (mknod)", creates=[]),
    # a device as --save has no default checkpoint beside it (cdev.ckpt, /dev/null.ckpt)
    case("save-to-a-device-has-no-default-checkpoint", TRAIN + " --save cdev --checkpoint-every 1",
         models=["regression"], setup=char_device, needs=lambda ctx: None if os.geteuid() == 0 else "needs root (mknod)",
         out=r"weights saved to cdev", creates=[]),
    # ---- "-" is standard output for the text outputs, refused for the binary ones -------------
    case("log-to-standard-output", TRAIN + " --save r.w --log -", models=["regression"],
         out=r"restart,epoch,loss.*\n1,2,", creates=["r.w"]),
    case("plot-to-standard-output", TRAIN + " --save r.w --plot -", models=["regression"],
         out=r"<svg .*</svg>", creates=["r.w"]),
    case("save-to-dash-refused", TRAIN + " --save -", models=["regression"], exit=2,
         err=r"--save: '-' \(standard output\) cannot hold weights", creates=[], check=no_training()),
    case("checkpoint-to-dash-refused", TRAIN + " --checkpoint -", models=["regression"], exit=2,
         err=r"--checkpoint: '-' \(standard output\) cannot hold weights", creates=[]),
    case("import-to-dash-refused", "./regression weights import --weights - --input w.json", models=["regression"],
         setup=exported, exit=2, err=r"--weights: '-' \(standard output\) cannot hold weights"),
    # ---- names the file system cannot hold: refused before training, not after ----------------
    case("save-name-too-long", TRAIN + " --save " + LONG, models=["regression"], exit=1,
         err=r"--save: cannot write n{256}: File name too long", creates=[], check=no_training()),
    case("default-checkpoint-name-too-long", TRAIN + " --save " + NEAR_MAX, models=["regression"], exit=1,
         err=r"the checkpoint: cannot write n{251}\.ckpt: File name too long", creates=[], check=no_training()),
    case("log-name-too-long", TRAIN + " --save r.w --log " + LONG, models=["regression"], exit=1,
         err=r"--log: cannot write n{256}: File name too long", creates=[]),
    case("compiler-output-name-too-long", "$NNC -O0 $EXAMPLES/xor.nn -o " + LONG, exit=1,
         err=r"nnc: error: cannot write 'n{256}': File name too long", creates=[]),
    # a name of exactly NAME_MAX bytes is valid: the linker's files inside the private
    # directory used to be NAME and NAME.o, and NAME.o is too long
    case("compiler-executable-name-at-name-max", "$NNC -O0 $EXAMPLES/xor.nn -o " + "x" * 255 + " && ./" + "x" * 255
         + " info", out=r"network\s+xor", creates=["x" * 255]),
    case("names-with-spaces-newlines-and-dashes", TRAIN + " --save ' -a b.w' --log 'l\nx.csv' --plot -p.svg",
         models=["regression"], out=r"weights saved to  -a b\.w", creates=[" -a b.w", "l\nx.csv", "-p.svg"],
         check=loads(" -a b.w")),
    case("mpi-save-is-the-program-itself", "mpirun -np 2 ./regression train --quiet --epochs 2 --save regression",
         models=["regression"], env={"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"},
         needs=lambda ctx: None if shutil.which("mpirun") else "needs mpirun", exit=(1, 2),
         err=r"--save: regression is this program's own executable", creates=[]),
    # SAVE.diverged of a 250-byte SAVE is past NAME_MAX: the new name loses its first bytes
    # rather than the last good weights being lost
    case("diverged-name-of-a-long-save-is-cut", "./regression train --quiet --rate 0.2 --epochs 20 --save " + "b" * 250,
         models=["regression"], setup=lambda ctx: ctx.sh(TRAIN + " --save " + "b" * 250), exit=1,
         err=r"the last good weights were saved to b{246}\.diverged \(not to b{250}:", creates=["b*.diverged"],
         check=loads("b" * 246 + ".diverged")),
    # ---- paths near PATH_MAX: the temporary goes through the directory, so they work ---------
    case("save-path-near-path-max", models=["regression"], out=r"weights saved to d",
         run=deep_run(TRAIN + " --checkpoint-every 1 --save " + DEEP_FILE + " --log " + DEEP + "/l",
                      loads(DEEP_FILE)), creates=[]),
    case("import-path-near-path-max", models=["regression"], setup=exported, creates=[],
         run=deep_run("./regression weights import --weights " + DEEP_FILE + " --input w.json", loads(DEEP_FILE))),
    case("compiler-dump-path-near-path-max", creates=[],
         run=deep_run("$NNC --emit-ir $EXAMPLES/xor.nn -o " + DEEP_FILE,
                      lambda ctx, r: None if ctx.sh("test -s " + DEEP_FILE).code == 0 else "the dump is empty")),
    # ---- one file, two spellings; an output that is an input ----------------------------------
    case("save-and-log-one-new-file-two-spellings", "mkdir sub && " + TRAIN + " --save ./sub/../a.w --log a.w",
         models=["regression"], exit=2, err=r"--save and --log both name \./sub/\.\./a\.w", creates=["sub"]),
    case("log-and-plot-absolute-and-relative", TRAIN + ' --save r.w --log "$PWD/t.txt" --plot t.txt',
         models=["regression"], exit=2, err=r"--log and --plot both name", creates=[]),
    case("plot-is-the-test-data-by-hard-link", "ln regression.csv t.csv && " + TRAIN + " --test regression.csv --plot t.csv",
         models=["regression"], exit=2, err=r"--plot t\.csv is the (training|test) data file", creates=["t.csv"]),
    # ---- what a replaced file keeps ------------------------------------------------------------
    # another hard link to the old file keeps the old bytes: the name is replaced, not the file
    case("hard-link-keeps-the-old-weights", "ln regression.weights backup.w && " + TRAIN + " --epochs 4",
         models=["regression"], setup=chain(trained, keep_copy("regression.weights", "old.w")),
         may_change=["regression.weights"], creates=["backup.w"], check=same_bytes_as("backup.w", "old.w")),
    case("replaced-file-keeps-mode-and-group", TRAIN + " --epochs 4", models=["regression"],
         setup=chain(trained, lambda ctx: (os.chown(ctx.path("regression.weights"), -1, 65534),
                                           os.chmod(ctx.path("regression.weights"), 0o640))),
         needs=lambda ctx: None if os.geteuid() == 0 else "needs root (to give the file another group)",
         may_change=["regression.weights"], check=mode_is("regression.weights", 0o640, 65534)),
    case("compiler-replaced-dump-keeps-group", "$NNC --emit-ir $EXAMPLES/xor.nn -o x.ir", files={"x.ir": "old\n"},
         setup=lambda ctx: os.chown(ctx.path("x.ir"), -1, 65534),
         needs=lambda ctx: None if os.geteuid() == 0 else "needs root (to give the file another group)",
         may_change=["x.ir"], check=mode_is("x.ir", 0o644, 65534)),
    case("umask-077-new-files-private", "umask 077; " + TRAIN + " --save n.w --log n.log --checkpoint n.ck "
         "--checkpoint-every 1", models=["regression"], creates=["n.w", "n.log", "n.ck"],
         check=mode_is("n.w", 0o600, also=mode_is("n.log", 0o600, also=mode_is("n.ck", 0o600)))),
    case("umask-000-keeps-an-existing-mode", "umask 000; " + TRAIN + " --save r.w", models=["regression"],
         files={"r.w": "NNCW: an earlier weights file\n"}, setup=lambda ctx: os.chmod(ctx.path("r.w"), 0o604), may_change=["r.w"],
         check=mode_is("r.w", 0o604, also=loads("r.w"))),
    # ---- resuming from the file the run replaces is allowed -----------------------------------
    case("resume-from-the-checkpoint-it-replaces",
         TRAIN + " --save a.w --checkpoint c.ck --checkpoint-every 1 && ./regression train --quiet --epochs 4 "
         "--resume c.ck --checkpoint c.ck --checkpoint-every 1 --save a.w", models=["regression"],
         out=r"resuming from c\.ck: restart 1/1 after epoch 2/4", creates=["a.w", "c.ck"], check=loads("c.ck")),
    case("resume-from-the-weights-it-replaces", "./regression train --quiet --epochs 3 --resume regression.weights",
         models=["regression"], setup=trained, out=r"starting from the weights in regression\.weights",
         may_change=["regression.weights"], check=loads("regression.weights")),
    # ---- a device that refuses the bytes (/dev/full): said, never "saved" ---------------------
    case("save-to-dev-full-reported", TRAIN + " --save /dev/full", models=["regression"], exit=1,
         err=r"/dev/full: cannot write: No space left on device", creates=[],
         check=lambda ctx, r: "claims the weights were saved" if "saved" in r.out else None),
    case("log-and-plot-to-dev-full-weights-saved", TRAIN + " --save a.w --log /dev/full --plot /dev/full",
         models=["regression"], exit=1, err=r"/dev/full: cannot write: No space left on device.*"
         r"\(the weights were saved to a\.w\)", creates=["a.w"], check=loads("a.w")),
    case("checkpoint-to-dev-full-warns-and-goes-on", TRAIN + " --save a.w --checkpoint /dev/full --checkpoint-every 1",
         models=["regression"], err=r"warning: no checkpoint after epoch 1: /dev/full: cannot write: No space left",
         out=r"weights saved to a\.w", creates=["a.w"]),
    case("compiler-outputs-to-dev-full", "$NNC --emit-llvm $EXAMPLES/xor.nn -o /dev/full", exit=1,
         err=r"nnc: error: cannot write '/dev/full': No space left on device", creates=[]),
    # ---- a reader that goes away ----------------------------------------------------------------
    # the log into a pipe whose reader quit: training goes on, the weights are saved, exit 1
    case("log-into-a-closed-pipe-still-saves",
         "(./regression train --quiet --epochs 300 --patience 0 --save r.w --log -; echo status $? >&2) | head -1",
         models=["regression"], err=[r"-: cannot write: Broken pipe \(the weights were saved to r\.w\)", r"status 1"],
         creates=["r.w"], check=loads("r.w")),
    case("export-into-a-closed-pipe-writes-nothing", "./regression weights export | head -c 10", models=["regression"],
         setup=trained, out=r"^\{", creates=[]),
]
