"""Class 1 of the adversarial suite: writes that could destroy what was there.

Every case starts from files a user already has (a trained weights file, a source file, an
executable) and checks that a command which fails, is misdirected or is attacked leaves them
intact (adv.py hashes every file before and after) and says what happened. Outputs of the
compiler (executable, object, assembly, LLVM IR, header, dumps) and of a model's executable
(weights, checkpoint, log, plot, `weights import`) are each aimed at an input, at an empty
name, at a directory, at a missing directory, and at a planted symlink. Faults (disk full,
kills, concurrency, another user, memory limits) are in cases_faults.py."""
import os

from adv import case, chain

V_NN = "network v { input x[1]; output y[1] linear; }\n"
# xor.nn's network under file names a default output could collide with
XOR_NN = open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "xor.nn")).read()
TRAIN = "./regression train --quiet --epochs 3"


def trained(ctx):
    """Setup: a trained regression.weights, as a user has after `train`."""
    r = ctx.sh(TRAIN)
    assert r.code == 0, r.err


def compiled_here(ctx):
    """Setup: the regression example compiled in the case's directory, so that its train block
    names the case's regression.csv (the shared executable names the one it was compiled
    beside)."""
    r = ctx.sh("$NNC regression.nn -o regression")
    assert r.code == 0, r.err


def trained_xor(ctx):
    r = ctx.sh("./xor train --quiet --epochs 3")
    assert r.code == 0, r.err


def loads(path, model="regression"):
    """Check: path is a complete weights file of model."""
    def check(ctx, r):
        e = ctx.sh("./%s eval --weights %s" % (model, path))
        return None if e.code == 0 else "%s does not load: %s" % (path, e.err)
    return check


def regular(path, also=None):
    """Check: path is now a regular file (a symlink there was replaced, not followed)."""
    def check(ctx, r):
        if os.path.islink(ctx.path(path)) or not os.path.isfile(ctx.path(path)):
            return "%s is not a regular file" % path
        return also(ctx, r) if also else None
    return check


def mode_is(path, mode, also=None):
    def check(ctx, r):
        got = os.stat(ctx.path(path)).st_mode & 0o777
        if got != mode:
            return "%s has mode %o, expected %o" % (path, got, mode)
        return also(ctx, r) if also else None
    return check


def links(**pairs):
    """Setup: symlinks NAME -> TARGET."""
    def setup(ctx):
        for name, target in pairs.items():
            os.symlink(target, ctx.path(name.replace("__", ".")))
    return setup


def devices_intact(ctx, r):
    """Check: /dev/null is still the null device and /dev/stdout still a link into /proc. A
    write path that renamed a file over them is caught here, and the damage repaired (root)."""
    import stat
    problem = None
    if not stat.S_ISCHR(os.lstat("/dev/null").st_mode):
        problem = "/dev/null was replaced by a file"
        os.remove("/dev/null")
        os.system("mknod -m 666 /dev/null c 1 3")
    if not os.path.islink("/dev/stdout"):
        problem = "/dev/stdout was replaced by a file"
        os.remove("/dev/stdout")
        os.symlink("/proc/self/fd/1", "/dev/stdout")
    return problem


def mkdir(*names):
    def setup(ctx):
        for n in names:
            os.makedirs(ctx.path(n), exist_ok=True)
    return setup


CASES = [
    # ---- the compiler: an output naming an input --------------------------------------
    # nnc refuses to write its output over its own input, as gcc does.
    case("output-names-the-source", "$NNC v.nn -o v.nn",
         files={"v.nn": V_NN}, exit=2, err=r"v\.nn"),
    case("object-names-the-source", "$NNC -c v.nn -o ./v.nn", files={"v.nn": V_NN}, exit=2,
         err=r"output file '\./v\.nn' is the input file", creates=[]),
    case("assembly-names-the-source", "$NNC -S v.nn -o v.nn", files={"v.nn": V_NN}, exit=2,
         err=r"output file 'v\.nn' is the input file", creates=[]),
    case("llvm-ir-names-the-source", "$NNC --emit-llvm v.nn -o v.nn", files={"v.nn": V_NN}, exit=2,
         err=r"output file 'v\.nn' is the input file", creates=[]),
    case("ir-dump-names-the-source", "$NNC --emit-ir v.nn -o v.nn", files={"v.nn": V_NN}, exit=2,
         err=r"output file 'v\.nn' is the input file", creates=[]),
    case("header-names-the-source", "$NNC -c v.nn -o v.o --header v.nn", files={"v.nn": V_NN},
         exit=2, err=r"header file 'v\.nn' is the input file", creates=[]),
    case("output-is-a-hard-link-of-the-source", "ln v.nn same.nn && $NNC v.nn -o same.nn",
         files={"v.nn": V_NN}, exit=2, err=r"output file 'same\.nn' is the input file",
         creates=["same.nn"]),
    case("output-is-a-symlink-to-the-source", "$NNC v.nn -S -o alias.s", files={"v.nn": V_NN},
         setup=links(alias__s="v.nn"), exit=2, err=r"output file 'alias\.s' is the input file"),
    case("output-through-another-directory-is-the-source", "mkdir sub && $NNC v.nn -o sub/../v.nn",
         files={"v.nn": V_NN}, exit=2, err=r"is the input file", creates=["sub"]),
    # a source file named like the default output: `nnc xor` would write the executable `xor`
    case("default-executable-is-the-source", "$NNC xor", files={"xor": XOR_NN}, exit=2,
         err=r"output file 'xor' is the input file", creates=[]),
    case("default-object-is-the-source", "$NNC -c xor.o", files={"xor.o": XOR_NN}, exit=2,
         err=r"output file 'xor\.o' is the input file", creates=[]),
    case("default-llvm-ir-is-the-source", "$NNC --emit-llvm xor.ll", files={"xor.ll": XOR_NN},
         exit=2, err=r"output file 'xor\.ll' is the input file", creates=[]),
    case("output-names-the-weights-input", "$NNC $EXAMPLES/xor.nn --weights xor.weights -o xor.weights",
         models=["xor"], setup=trained_xor, exit=2,
         err=r"output file 'xor\.weights' is the weights file \(--weights\)", creates=[]),
    case("output-and-header-one-new-file", "$NNC -c $EXAMPLES/xor.nn -o m.h --header ./m.h", exit=2,
         err=r"output file 'm\.h' is also the header file", creates=[]),
    # ---- the compiler: empty, directory, missing directory, failed compile -------------
    case("output-empty-name", "$NNC $EXAMPLES/xor.nn -o ''", exit=2,
         err=r"option '-o' needs a value, not an empty string", creates=[]),
    case("header-empty-name", "$NNC -c $EXAMPLES/xor.nn --header ''", exit=2,
         err=r"option '--header' needs a value, not an empty string", creates=[]),
    case("output-is-a-directory", "$NNC $EXAMPLES/xor.nn -o out", setup=mkdir("out"), exit=2,
         err=r"output file 'out' is a directory"),
    case("output-ends-in-slash", "$NNC -S $EXAMPLES/xor.nn -o new/", exit=2,
         err=r"output file 'new/' is a directory", creates=[]),
    case("output-in-missing-directory", "$NNC $EXAMPLES/xor.nn -o missing/xor", exit=1,
         err=r"cannot write 'missing/xor': No such file or directory", creates=[]),
    case("header-in-missing-directory", "$NNC -c $EXAMPLES/xor.nn -o x.o --header missing/x.h",
         exit=1, err=r"cannot write 'missing/x\.h'", creates=["x.o"]),
    case("failed-compile-keeps-executable", "$NNC bad.nn -o xor", models=["xor"],
         files={"bad.nn": "network xor { input x[2]; output y frobnicate; }\n"}, exit=1,
         err=r"frobnicate", creates=[]),
    # ---- the compiler: symlinks at the output and at temporary-like names -------------
    # the output is replaced by a regular file; the file the link pointed to is not written
    case("compiler-output-symlink-replaced", "$NNC --emit-ir $EXAMPLES/xor.nn -o out.ir",
         files={"victim.txt": "precious\n"}, setup=links(out__ir="victim.txt"), may_change=["out.ir"],
         check=regular("out.ir"), creates=[]),
    case("compiler-executable-symlink-replaced", "$NNC $EXAMPLES/xor.nn -o xor && ./xor info",
         files={"victim": "precious\n"}, setup=links(xor="victim"), may_change=["xor"],
         out=r"network\s+xor", check=regular("xor"), creates=[]),
    case("compiler-temp-names-planted", "$NNC -c $EXAMPLES/xor.nn -o xor.o --header xor.h",
         files={"victim.txt": "precious\n"},
         setup=links(xor__o__tmp="victim.txt", xor__h__tmp="victim.txt", xor__tmp="victim.txt",
                     xor__o__tmp__XXXXXX="victim.txt"),
         creates=["xor.o", "xor.h"]),
    case("compiler-keeps-the-mode-of-a-replaced-file", "$NNC --emit-llvm $EXAMPLES/xor.nn -o x.ll",
         files={"x.ll": "old\n"}, setup=lambda ctx: os.chmod(ctx.path("x.ll"), 0o600),
         may_change=["x.ll"], check=mode_is("x.ll", 0o600), creates=[]),
    case("compiler-executable-replaced-is-executable", "$NNC $EXAMPLES/xor.nn -o xor && ./xor info",
         files={"xor": "old text\n"}, may_change=["xor"], out=r"network\s+xor",
         check=mode_is("xor", 0o755), creates=[]),
    # what is not a file to replace (a device, a pipe, /dev/stdout) is written in place
    case("compile-to-dev-null", "$NNC $EXAMPLES/xor.nn -o /dev/null && $NNC -c $EXAMPLES/xor.nn -o /dev/null "
         "--header /dev/stdout", out=r"#define XOR_N_INPUTS 2", creates=[], check=devices_intact),
    case("train-outputs-to-devices", "./regression train --quiet --epochs 2 --save /dev/null --plot /dev/null "
         "--log /dev/stdout --checkpoint /dev/null --checkpoint-every 1 | cat", models=["regression"],
         out=r"restart,epoch,loss.*\n1,2,.*weights saved to /dev/null", creates=[], check=devices_intact),
    # ---- training: a run that fails never replaces the weights ------------------------
    # A diverging run over a trained weights file: exit 1, and the trained file is untouched.
    case("diverged-run-keeps-trained-weights", "./regression train --quiet --rate 1000 --epochs 5",
         models=["regression"], setup=lambda ctx: ctx.sh("./regression train --quiet --epochs 5"),
         exit=1, err=r"diverge"),
    # it diverges in epoch 2: epoch 1's weights go to a new file, never over the trained one
    case("diverged-later-writes-a-new-file", "./regression train --quiet --rate 0.2 --epochs 20",
         models=["regression"], setup=trained, exit=1,
         err=r"epoch 2: .*diverged.*saved to regression\.weights\.diverged \(not to regression\.weights",
         creates=["regression.weights.diverged"], check=loads("regression.weights.diverged")),
    case("diverged-twice-takes-the-next-name", "./regression train --quiet --rate 0.2 --epochs 20",
         models=["regression"],
         setup=chain(trained, lambda ctx: ctx.sh("./regression train --quiet --rate 0.2 --epochs 20")),
         exit=1, err=r"saved to regression\.weights\.diverged\.2 ",
         creates=["regression.weights.diverged.2"], check=loads("regression.weights.diverged.2")),
    case("diverged-name-planted-symlink", "./regression train --quiet --rate 0.2 --epochs 20",
         models=["regression"], files={"victim.txt": "precious\n"},
         setup=chain(trained, links(regression__weights__diverged="victim.txt")), exit=1,
         err=r"saved to regression\.weights\.diverged\.2 ", creates=["regression.weights.diverged.2"]),
    case("diverged-name-is-a-fifo", "./regression train --quiet --rate 0.2 --epochs 20",
         models=["regression"], setup=chain(trained, lambda ctx: os.mkfifo(ctx.path("regression.weights.diverged"))),
         exit=1, err=r"saved to regression\.weights\.diverged\.2 ", creates=["regression.weights.diverged.2"],
         check=loads("regression.weights.diverged.2")),
    case("diverged-in-first-epoch-saves-nothing", "./regression train --quiet --rate 50 --save new.weights",
         models=["regression"], exit=1, err=r"no epoch had finished, so no weights were saved",
         creates=[]),
    case("bad-data-keeps-trained-weights", TRAIN + " --data bad.csv", models=["regression"],
         files={"bad.csv": "x1,x2,y\n0.1,0.2,0.3\n0.4,oops,0.6\n"}, setup=trained, exit=1,
         err=r"bad\.csv:3", creates=[]),
    case("missing-data-keeps-log-and-plot", TRAIN + " --data none.csv --log t.log --plot t.svg",
         models=["regression"], files={"t.log": "old log\n", "t.svg": "<svg/>\n"}, exit=1,
         err=r"none\.csv", creates=[]),
    # ---- training: output paths checked before training starts ------------------------
    case("save-ends-in-slash", TRAIN + " --save out/", models=["regression"], setup=mkdir("out"),
         exit=2, err=r"--save: out/ is a directory; give a file name"),
    case("save-is-a-directory", TRAIN + " --save out", models=["regression"], setup=mkdir("out"),
         exit=2, err=r"--save: out is a directory"),
    case("save-empty-name", TRAIN + " --save ''", models=["regression"], exit=2,
         err=r"--save: expected a file name", creates=[]),
    case("checkpoint-empty-name", TRAIN + " --checkpoint=", models=["regression"], exit=2,
         err=r"--checkpoint: expected a file name", creates=[]),
    case("log-empty-name", TRAIN + " --log ''", models=["regression"], exit=2,
         err=r"--log: expected a file name", creates=[]),
    case("plot-empty-name", TRAIN + " --plot ''", models=["regression"], exit=2,
         err=r"--plot: expected a file name", creates=[]),
    case("checkpoint-is-a-directory", TRAIN + " --checkpoint /tmp --checkpoint-every 1",
         models=["regression"], exit=2, err=r"--checkpoint: /tmp is a directory", creates=[]),
    case("save-equals-checkpoint", TRAIN + " --save a.w --checkpoint ./a.w --checkpoint-every 1",
         models=["regression"], exit=2, err=r"--save and --checkpoint both name a\.w", creates=[]),
    case("save-names-the-data", TRAIN + " --data regression.csv --save regression.csv", models=["regression"], exit=2,
         err=r"--save regression\.csv is the training data file", creates=[]),
    case("log-names-the-data", TRAIN + " --data regression.csv --log ./regression.csv", models=["regression"], exit=2,
         err=r"--log \./regression\.csv is the training data file", creates=[]),
    # the train block's data are the network's data even while --data names others (eval,
    # predict and export refit scaling statistics on them)
    case("save-names-the-train-block-data", TRAIN + " --data d.csv --save ./regression.csv", models=["regression"],
         setup=chain(compiled_here, lambda ctx: ctx.sh("cp regression.csv d.csv")), exit=2, creates=[],
         err=r"--save \./regression\.csv is the training data file"),
    case("plot-names-the-weights", TRAIN + " --plot regression.weights", models=["regression"],
         setup=trained, exit=2, err=r"and --plot both name regression\.weights"),
    case("log-names-the-resumed-file", TRAIN + " --resume regression.weights --save b.w --log regression.weights",
         models=["regression"], setup=trained, exit=2,
         err=r"--log regression\.weights is the --resume file"),
    case("save-in-missing-directory", TRAIN + " --save nowhere/r.w", models=["regression"], exit=1,
         err=r"--save: cannot write nowhere/r\.w: directory nowhere/ does not exist", creates=[]),
    case("checkpoint-in-missing-directory", TRAIN + " --checkpoint nowhere/r.ckpt", models=["regression"],
         exit=1, err=r"directory nowhere/ does not exist", creates=[]),
    case("checkpoint-setting-empty", "$NNC bad.nn --check", exit=1,
         files={"bad.nn": "network t { input x; output y sigmoid;\n train { checkpoint \"\" every 1; } }\n"},
         err=r"bad\.nn:2:21: error: 'checkpoint' expects a file name, got an empty string", creates=[]),
    case("checkpoint-setting-directory", "$NNC bad.nn -o t", exit=1,
         files={"bad.nn": "network t { input x; output y sigmoid;\n train { checkpoint \"/tmp\"; } }\n"},
         err=r"bad\.nn:2:21: error: 'checkpoint' expects a file name, got the directory \"/tmp\"",
         creates=[]),
    # ---- training: symlinks at the outputs and at temporary-like names ----------------
    case("weights-symlink-replaced-not-followed", TRAIN, models=["regression"],
         files={"victim.txt": "precious\n"}, setup=links(regression__weights="victim.txt"),
         may_change=["regression.weights"], check=regular("regression.weights", loads("regression.weights")),
         creates=[]),
    # the temporary used to be the fixed name NAME.tmp, opened through any symlink there
    case("weights-temp-names-planted", TRAIN, models=["regression"], files={"victim.txt": "precious\n"},
         setup=chain(trained, links(regression__weights__tmp="victim.txt",
                                    regression__weights__tmp__aaaaaa="victim.txt",
                                    regression__weights__ckpt__tmp="victim.txt")),
         may_change=["regression.weights"], check=loads("regression.weights"), creates=[]),
    case("checkpoint-log-plot-symlinks-replaced",
         TRAIN + " --checkpoint c.ckpt --checkpoint-every 1 --log t.log --plot t.svg",
         models=["regression"], files={"v1.txt": "precious\n", "v2.txt": "precious\n", "v3.txt": "precious\n"},
         setup=links(c__ckpt="v1.txt", t__log="v2.txt", t__svg="v3.txt", t__log__tmp="v1.txt"),
         may_change=["c.ckpt", "t.log", "t.svg"], check=regular("t.log", regular("t.svg", loads("c.ckpt"))),
         creates=["regression.weights"]),
    case("save-keeps-the-mode-of-the-file-it-replaces", TRAIN, models=["regression"],
         setup=chain(trained, lambda ctx: os.chmod(ctx.path("regression.weights"), 0o600)),
         may_change=["regression.weights"], check=mode_is("regression.weights", 0o600), creates=[]),
    # ---- weights import ----------------------------------------------------------------
    case("import-bad-text-keeps-weights",
         "./regression weights import --weights regression.weights --input bad.json", models=["regression"],
         files={"bad.json": "{\"weights\": [1, 2, \n"}, setup=trained, exit=1, err=r"bad\.json", creates=[]),
    case("import-through-symlink-replaces-the-link",
         "./regression weights export > w.json && ./regression weights import --weights out.w --input w.json",
         models=["regression"], files={"victim.txt": "precious\n"},
         setup=chain(trained, links(out__w="victim.txt")), may_change=["out.w"],
         check=regular("out.w", loads("out.w")), creates=["w.json"]),
    case("import-names-the-data", "./regression weights export > w.json && "
         "./regression weights import --weights regression.csv --input w.json", models=["regression"],
         setup=chain(compiled_here, trained), exit=2, creates=["w.json"],
         err=r"--weights regression\.csv is the training data file; give another name"),
    case("import-names-the-data-by-symlink", "./regression weights export > w.json && "
         "./regression weights import --weights d.csv --input w.json", models=["regression"],
         setup=chain(compiled_here, trained, links(d__csv="regression.csv")), exit=2, creates=["w.json"],
         err=r"--weights d\.csv is the training data file"),
    case("export-onnx-names-the-data", "./regression weights export --onnx regression.csv", models=["regression"],
         setup=chain(compiled_here, trained), exit=2, creates=[], err=r"--onnx regression\.csv is the training data file"),
    case("import-into-a-directory", "./regression weights export > w.json && "
         "./regression weights import --weights out --input w.json", models=["regression"], setup=chain(trained, mkdir("out")),
         exit=2, err=r"--weights: out is a directory; give a file name", creates=["w.json"]),
    case("import-into-missing-directory",
         "./regression weights export > w.json && ./regression weights import --weights nowhere/r.w --input w.json",
         models=["regression"], setup=trained, exit=1,
         err=r"--weights: cannot write nowhere/r\.w: directory nowhere/ does not exist", creates=["w.json"]),
]
