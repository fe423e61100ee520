"""Class 2 of the adversarial suite, class labels and metrics: labels that must not silently
change meaning.

Class labels (a CSV column with `onehot`) may be the integers 0..K−1, other integers (1..K) or
names; training data that are not 0..K−1 build a label map (sorted, stored with the weights in
an LBLS section) through which every later file is read. Refused with file, line and field:
more distinct labels than outputs, an empty label, one longer than 64 bytes or holding a
control character, a number that is not an integer (nan, 1.5: a missing value or a regression
target), and in data scored against trained weights a label the map lacks — or, for weights
trained on 0..K−1, a label outside [0, K). A damaged LBLS section is refused when the weights
are read. The model is the iris example (3 classes, f32); the autoencoder example is scored
as a regression, never by accuracy. Targets learned scaled (`target_scale`) need the TSCL
section they were trained with: weights without it, or with it for a network that declares
none, are refused, and `nnc --weights` refuses to compile outputs that would stay scaled."""
import struct

from adv import case, chain
from cases_numbers_data import idx_values, with_checksum

HEAD = "a,b,c,d,s\n"
NAMES = ["setosa", "versicolor", "virginica"]
TRAIN = "./iris train --quiet --epochs 2 --restarts 1"


def rows(labels):
    """One iris-like row per label (the label column last)."""
    return HEAD + "".join("5.%d,3.%d,1.4,0.2,%s\n" % (i % 10, i % 7, l) for i, l in enumerate(labels))


NAMED = rows(NAMES * 4)


def refused(name, labels, err, **kw):
    """`iris train --data d.csv` refused with exit 1 and nothing written."""
    return case(name, TRAIN + " --data d.csv", models=["iris"], files={"d.csv": rows(labels)}, exit=1,
                err=err, creates=[], **kw)


def trained_named(ctx):
    ctx.sh(TRAIN + " --data named.csv")


def lbls_at(img):
    """The offset of the LBLS section's data in a weights image."""
    at = img.index(b"LBLS")
    return at + 16


def patch_lbls(fn):
    """A setup that rewrites iris.weights' LBLS data with fn(data) (same length) and a valid
    checksum, so only the label section is wrong."""
    def setup(ctx):
        p = ctx.path("iris.weights")
        img = bytearray(open(p, "rb").read())
        at = lbls_at(img)
        n = struct.unpack("<Q", bytes(img[at - 8:at]))[0]
        img[at:at + n] = fn(bytes(img[at:at + n]))
        open(p, "wb").write(with_checksum(img))
    return setup


def set_u32(at, v):
    return lambda d: d[:at] + struct.pack("<I", v) + d[at + 4:]


def damaged(name, fn, err):
    return case(name, "./iris eval --data named.csv", models=["iris"], files={"named.csv": NAMED},
                setup=chain(trained_named, patch_lbls(fn)), exit=1, err=err, creates=[])


def eval_after_named(name, data, err, exit=1, out=None):
    return case(name, "./iris eval --data t.csv", models=["iris"], files={"named.csv": NAMED, "t.csv": data},
                setup=trained_named, exit=exit, err=err, out=out, creates=[])


def r_nn(target_scale):
    """A small regression network `r` over r.csv, its targets scaled or not."""
    return ("network r {\n  input x[2];\n  layer h[4] tanh;\n  output y linear;\n  train {\n"
            "    data \"r.csv\" header inputs 0..1 targets 2%s;\n    epochs 2;\n  }\n}\n"
            % (" target_scale zscore" if target_scale else ""))


R_CSV = "a,b,y\n" + "".join("%d,%d,%d\n" % (i % 5, i % 3, 1000 * i) for i in range(20))


def trained_r(ctx):
    ctx.sh("$NNC r.nn -o r && ./r train --quiet >/dev/null")


def untag_tscl(ctx):
    p = ctx.path("r.weights")
    img = open(p, "rb").read()
    open(p, "wb").write(with_checksum(img.replace(b"TSCL", b"XSCL")))


def scaled_case(name, cmd, err, setup=trained_r, files=None, creates=()):
    f = {"r.nn": r_nn(True), "r.csv": R_CSV}
    f.update(files or {})
    return case(name, cmd, files=f, setup=setup, exit=1, err=err, creates=list(creates))


AE_IDX_NN = """network aei {
  input x[16];
  layer h[4] sigmoid;
  output y[16] sigmoid;
  train { data "img.idx" targets inputs scale 1/255; epochs 3; }
}
"""
AE_IDX = idx_values(0x08, [20, 4, 4], [(i * 37) % 256 for i in range(320)])

ML_HEAD = "x1,x2,x3,x4,big,bright,mixed\n"


def compiled_ml(ctx):
    r = ctx.sh("$NNC $EXAMPLES/multilabel.nn -o ml")
    assert r.code == 0, r.err


AUTOENCODER = "$NNC $EXAMPLES/autoencoder.nn -o ae && ./ae train --quiet --epochs 5 --save ae.weights"

CASES = [
    # ---- training data that cannot make a label map ----
    refused("labels-more-than-outputs", ["a", "b", "c", "a", "d"],
            r"d\.csv:6: field 5: label 'd' would be class 4, but the network has 3 outputs \(labels so far: a, b, c\)"),
    refused("labels-zero-to-k", [0, 1, 2, 3], r"d\.csv:5: field 5: label '3' would be class 4, but the network has 3"),
    refused("labels-empty", ["a", "", "b"], r"d\.csv:3: field 5: the class label is empty"),
    refused("labels-longer-than-64-bytes", ["a", "x" * 65], r"d\.csv:3: field 5: label 'x{40}\.\.\.' is longer than 64 bytes"),
    refused("labels-control-character", ["a", "b\x01c"], r"d\.csv:3: field 5: label 'b\?c' holds a control character"),
    refused("labels-nan-among-names", ["a", "b", "nan"], r"d\.csv:4: field 5: label 'nan' is not an integer"),
    refused("labels-fraction-among-integers", [1, 2, 2.5], r"d\.csv:4: field 5: label '2\.5' is not an integer"),
    refused("labels-integer-beyond-2-53", [1, "1e300"], r"d\.csv:3: field 5: label '1e300' is beyond the integers"),
    # ---- later data read through the map of the weights ----
    eval_after_named("labels-unknown-in-eval", rows(["setosa", "iris"]),
                     r"t\.csv:3: field 5: label 'iris' is not one of the 3 classes seen in training "
                     r"\(setosa, versicolor, virginica\)"),
    eval_after_named("labels-index-instead-of-name", rows(["setosa", "0"]),
                     r"t\.csv:3: field 5: label '0' is not one of the 3 classes"),
    eval_after_named("labels-named-eval-ok", rows(["virginica", "setosa"]), None, exit=0,
                     out=r"class\s+precision.*setosa\s.*confusion matrix.*\n\s+setosa\s+versicolor\s+virginica\n"),
    case("labels-unknown-in-train-test", TRAIN + " --data named.csv --test t.csv --inputs 0..3 --targets 4 --onehot",
         models=["iris"],
         files={"named.csv": NAMED, "t.csv": rows(["setosa", "Setosa"])}, exit=1, creates=[],
         err=r"t\.csv:3: field 5: label 'Setosa' is not one of the 3 classes seen in training"),
    case("labels-zero-based-weights-refuse-one-based-data", "./iris eval --data t.csv", models=["iris"],
         files={"t.csv": rows([1, 2, 3])}, setup=lambda ctx: ctx.sh(TRAIN), exit=1, creates=[],
         err=r"t\.csv:4: field 5: label 3 is out of range \[0, 3\)"),
    # ---- training resumed from weights reads its data through their map ----
    # data lacking a class keep every output on its class: after 0 epochs the resumed weights
    # answer as the weights they started from (a map rebuilt from the data would be shifted)
    case("labels-resume-on-data-lacking-a-class",
         TRAIN + " --epochs 0 --data part.csv --resume iris.weights --save r.weights >/dev/null && "
         "./iris predict --class --input in.csv > a.out && ./iris predict --class --weights r.weights "
         "--input in.csv > b.out && cmp a.out b.out && cat b.out",
         models=["iris"], files={"named.csv": NAMED, "part.csv": rows(NAMES[1:] * 4),
                                 "in.csv": "5.1,3.5,1.4,0.2\n5.2,3.1,1.4,0.2\n"},
         setup=trained_named,
         exit=0, out=r"\A((setosa|versicolor|virginica)\n){2}\Z", creates=["r.weights", "r.weights.ckpt", "a.out", "b.out"]),
    case("labels-resume-named-weights-refuse-unknown-label", TRAIN + " --data t.csv --resume iris.weights",
         models=["iris"], files={"named.csv": NAMED, "t.csv": rows(["setosa", "0"])}, setup=trained_named,
         exit=1, creates=[], err=r"t\.csv:3: field 5: label '0' is not one of the 3 classes seen in training "
         r"\(setosa, versicolor, virginica\) \(resuming iris\.weights: its outputs are these classes\)"),
    case("labels-resume-zero-based-weights-refuse-names", TRAIN + " --data named.csv --resume iris.weights",
         models=["iris"], files={"named.csv": NAMED}, setup=lambda ctx: ctx.sh(TRAIN), exit=1, creates=[],
         err=r"named\.csv:2: field 5: label 'setosa' is not an integer \(resuming iris\.weights, whose outputs "
             r"are the classes 0\.\.2: the labels must be these integers\)"),
    # other data scaled by the statistics the weights carry: after 0 epochs the same weights
    case("scale-resume-keeps-the-weights-statistics", "./rs train --quiet --epochs 0 --restarts 1 --data part.csv "
         "--resume rs.weights --save r2.weights >/dev/null && cmp rs.weights r2.weights",
         files={"rs.nn": r_nn(True).replace("network r ", "network rs ").replace("targets 2", "targets 2 scale zscore"),
                "r.csv": R_CSV, "part.csv": "a,b,y\n0,0,5\n1,2,7\n4,1,30\n"},
         setup=lambda ctx: ctx.sh("$NNC rs.nn -o rs && ./rs train --quiet >/dev/null"), exit=0,
         creates=["r2.weights", "r2.weights.ckpt"]),
    # ---- predict --class prints the labels as written ----
    case("labels-one-based-predict", TRAIN + " --data d.csv >/dev/null && ./iris predict --class --input in.csv",
         models=["iris"], files={"d.csv": rows([1, 2, 3] * 4), "in.csv": "5.1,3.5,1.4,0.2\n6.5,3.0,5.5,1.8\n"},
         exit=0, out=r"\A[123]\n[123]\n\Z", creates=["iris.weights", "iris.weights.ckpt"],
         may_change=["iris.weights"]),
    case("labels-names-with-commas-quoted", TRAIN + " --data d.csv >/dev/null && ./iris predict --class --input in.csv",
         models=["iris"], files={"d.csv": rows(['"a,b"', '"say ""hi"""', "c"] * 4),
                                 "in.csv": "5.1,3.5,1.4,0.2\n5.2,3.1,1.4,0.2\n5.3,3.2,1.4,0.2\n"},
         exit=0, out=r'\A(("a,b"|"say ""hi"""|c)\n){3}\Z', creates=["iris.weights", "iris.weights.ckpt"],
         may_change=["iris.weights"]),
    # ---- a damaged label section ----
    damaged("labels-section-more-labels-than-outputs", set_u32(0, 4),
            r"iris\.weights: corrupted class label section: 4 labels for a network of 3 outputs"),
    damaged("labels-section-no-labels", set_u32(0, 0),
            r"iris\.weights: corrupted class label section: 0 labels"),
    damaged("labels-section-bytes-after-labels", set_u32(0, 2),
            r"iris\.weights: corrupted class label section: \d+ bytes after its labels"),
    damaged("labels-section-empty-label", set_u32(4, 0), r"iris\.weights: corrupted class label section: label 1"),
    damaged("labels-section-label-beyond-section", set_u32(4, 1000000),
            r"iris\.weights: corrupted class label section: label 1"),
    damaged("labels-section-escape-in-label", lambda d: d[:8] + b"\x1b" + d[9:],
            r"iris\.weights: corrupted class label section: label 1"),
    damaged("labels-section-nul-in-label", lambda d: d[:8] + b"\0" + d[9:],
            r"iris\.weights: corrupted class label section: label 1"),
    # ---- target scaling ----
    scaled_case("target-scale-section-missing", "./r eval", setup=chain(trained_r, untag_tscl),
                err=r"r\.weights: no target scaling, but network 'r' scales its targets by z-score fitted on its "
                    r"training data"),
    scaled_case("target-scale-not-declared", "./plain eval --weights r.weights", files={"plain.nn": r_nn(False)},
                setup=chain(trained_r, lambda ctx: ctx.sh("$NNC plain.nn -o plain")),
                err=r"r\.weights: the weights were trained on targets scaled by z-score, but network 'r' declares "
                    r"no target scaling"),
    scaled_case("target-scale-not-compiled-in", "$NNC r.nn --weights r.weights -o r2",
                err=r"network 'r' learns scaled targets \(target_scale\): compiled with its weights it would "
                    r"predict scaled values"),
    scaled_case("target-scale-import-refused", "./r weights export > w.json && ./r weights import --weights new.weights "
                "--input w.json", err=[r"note: the text form leaves out the weights file's target scaling",
                                       r"w\.json: network 'r' learns scaled targets \(target_scale\), whose statistics "
                                       r"the text forms do not carry"], creates=["w.json"]),
    case("target-scale-predict-original-units", "./r predict --input in.csv", files={
         "r.nn": r_nn(True), "r.csv": R_CSV, "in.csv": "1,1\n"}, setup=trained_r, exit=0,
         out=r"\A-?[0-9]{3,5}(\.[0-9]+)?\n\Z", creates=[]),
    # an autoencoder reproduces the inputs it sees: scaled, not the raw pixels
    case("targets-inputs-are-scaled", "$NNC aei.nn -o aei && ./aei train --quiet >/dev/null && ./aei eval",
         files={"aei.nn": AE_IDX_NN, "img.idx": AE_IDX}, exit=0, out=r"eval\s+mse 0\.[0-9]+\s",
         creates=["aei", "aei.weights", "aei.weights.ckpt"]),
    # ---- targets a multilabel network or cross-entropy cannot mean ----
    case("multilabel-target-above-one", "./ml train --quiet --epochs 1 --restarts 1 --data d.csv --save w.w",
         files={"d.csv": ML_HEAD + "0.1,0.2,0.3,0.4,1,0,1\n0.5,0.6,0.7,0.8,2,0,1\n"}, setup=compiled_ml, exit=1,
         creates=[], err=r"d\.csv: sample 2, target 1: 2 is outside \[0, 1\], but the metric is multilabel"),
    case("multilabel-eval-target-above-one", "./ml eval --initial --data d.csv",
         files={"d.csv": ML_HEAD + "0.1,0.2,0.3,0.4,1,0,1.5\n"}, setup=compiled_ml, exit=1, creates=[],
         err=r"d\.csv: sample 1, target 3: 1\.5 is outside \[0, 1\], but the metric is multilabel"),
    case("cross-entropy-negative-target", "./ml train --quiet --epochs 1 --restarts 1 --data d.csv --save w.w "
         "--metric regression", files={"d.csv": ML_HEAD + "0.1,0.2,0.3,0.4,1,-0.5,1\n0.5,0.6,0.7,0.8,0,0,1\n"},
         setup=compiled_ml, exit=1, creates=[],
         err=r"d\.csv: sample 1, target 2: -0\.5 is negative, but the loss is cross_entropy"),
    # a multilabel network's outputs are labels of their own: no one class, no class distribution
    case("multilabel-predict-class-refused", "./ml predict --initial --class --input in.csv",
         files={"in.csv": "0.1,0.2,0.3,0.4\n"}, setup=compiled_ml, exit=2, creates=[],
         err=r"--class: network 'multilabel' is scored as multilabel: each output is the probability of a yes/no "
             r"label of its own"),
    case("multilabel-predict-proba-refused", "./ml predict --initial --proba --input in.csv",
         files={"in.csv": "0.1,0.2,0.3,0.4\n"}, setup=compiled_ml, exit=2, creates=[],
         err=r"--proba: network 'multilabel' is scored as multilabel"),
    # ---- metrics ----
    case("metric-flag-unknown", "./iris eval --metric accuracy", models=["iris"], exit=2, creates=[],
         err=r"--metric: expected auto, classification, multilabel or regression, got 'accuracy'"),
    case("metric-autoencoder-is-regression", AUTOENCODER + " && ./ae eval --weights ae.weights", exit=0,
         out=r"\nmetric regression\n.*eval\s+mse [0-9.e-]+\s+rmse", check=lambda ctx, r: (
             "scored by accuracy" if "accuracy" in r.out or "confusion" in r.out else None),
         creates=["ae", "ae.weights", "ae.weights.ckpt"], timeout=120),
]
