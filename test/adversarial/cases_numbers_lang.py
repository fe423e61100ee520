"""Class 2 of the adversarial suite, the language and the command line: numbers that would
silently change meaning, and settings that would be accepted and mean nothing.

A literal is checked against the network's precision where it is written (weights, biases,
init ranges, scale factors); every numeric setting and its flag obey one limit (nnc/limits.h)
stated in the same words; a setting or flag that cannot act (scale on test data, early
stopping without validation, overlapping columns, a label file for CSV data) is refused with
its location or as a usage error (exit 2); NaN reaching the generated code comes out as NaN."""
import math
import struct

from adv import case

F32_MAX = r"3\.4028235e\+38"


def net(train="", body="output y linear;", name="m"):
    """A one-input network with the given output declaration and train block contents."""
    return "network %s {\n  input x;\n  %s\n  train {\n%s  }\n}\n" % (name, body, train)


def source(name, text, err, exit=1):
    """`nnc --check m.nn` must fail with err (a regex) and exit 1; nothing else is written."""
    return case(name, "$NNC --check m.nn", files={"m.nn": text}, exit=exit, err=err, creates=[])


def accepted(name, text):
    """`nnc --check m.nn` accepts a value at its limit."""
    return case(name, "$NNC --check m.nn", files={"m.nn": text}, exit=0, creates=[])


def flag(name, args, err, model="xor", exit=2):
    """A flag of a compiled example refused as a usage error (exit 2), nothing written."""
    return case(name, "./%s %s" % (model, args), models=[model], exit=exit, err=err, creates=[])


def rule(text):
    """A limit's rule as a regex: brackets and parentheses taken literally."""
    return text.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")


RATE = rule("a number in (0, 1000000]")
BATCH = rule("an integer from 1 to 1048576 (1: per-sample SGD)")
EPOCHS = rule("an integer from 0 to 1000000000")
RESTARTS = rule("an integer from 1 to 1000000")
PATIENCE = rule("an integer from 0 to 1000000000 (0: off)")
MOMENTUM = rule("a number in [0, 1)")
VALIDATION = rule("a number in [0, 1) (0: none)")
EVERY = rule("an integer from 0 to 1000000000 (0: only on interrupt)")


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def poison_weights(model, index, value=float("nan")):
    """A setup: trains model for 0 epochs into good.weights, then writes bad.weights, the same file
    with parameter index (negative: from the end) replaced by value and the FNV-1a checksum
    (bytes 40..48) recomputed, so that only a check of the values themselves can refuse it."""
    def setup(ctx):
        r = ctx.sh("./%s train --quiet --epochs 0 --restarts 1 --save good.weights" % model)
        assert r.code == 0, r.err
        img = bytearray(open(ctx.path("good.weights"), "rb").read())
        n, rb = struct.unpack_from("<qI", img, 16)
        struct.pack_into("<f" if rb == 4 else "<d", img, 48 + (index % n) * rb, value)
        struct.pack_into("<Q", img, 40, fnv1a(bytes(img[:40]) + bytes(img[48:])))
        open(ctx.path("bad.weights"), "wb").write(bytes(img))
    return setup


def nan_weight(name, model, index, inputs):
    """predict with a crafted weights file holding one NaN parameter: refused, or NaN out."""
    return case(name, "./%s predict --weights bad.weights --input %s.csv --inputs %s" % (model, model, inputs),
                models=[model], setup=poison_weights(model, index), exit=(0, 1), check=refused_or_nan, creates=[])


def refused_or_nan(ctx, r):
    """Either a reader refuses the non-finite value (exit 1, saying where), or the run goes on
    and every output is NaN: never a finite number computed from a NaN."""
    if r.code == 1:
        return None if ("nan" in r.err.lower() or "finite" in r.err.lower()) else "refused without naming the value"
    if r.code != 0:
        return "exit %d" % r.code
    vals = [v for line in r.out.split() for v in line.split(",")]
    if not vals:
        return "no output"
    finite = [v for v in vals if math.isfinite(float(v))]
    return "finite outputs from NaN: %s" % finite if finite else None


def both_say(rule_re):
    """The compiler's message and the flag's message state the same rule."""
    def check(ctx, r):
        import re
        return None if len(re.findall(rule_re, r.err)) >= 2 else "the two messages differ: " + r.err
    return check


CASES = [
    # --- literals against the precision, at the number ---------------------------------
    source("f32-literal-weight", net(body="output y linear <- 3.5e38*x;"),
           r"m\.nn:3:22: error: weight 3\.5e\+38 is out of range for f32 \(at most " + F32_MAX),
    source("f32-literal-bias", net(body="output y linear <- x + 4e38;"),
           r"m\.nn:3:26: error: bias 4e\+38 is out of range for f32"),
    source("f32-negative-bias", net(body="output y linear <- x - 1e39;"),
           r"m\.nn:3:\d+: error: bias -1e\+39 is out of range for f32"),
    source("f32-fixed-weight", net(body="output y linear <- fixed 1e39*x;"),
           r"m\.nn:3:\d+: error: fixed weight 1e\+39 is out of range for f32"),
    source("f32-weight-in-hidden-layer", "network m {\n  input x[2];\n  layer h[3] relu <- 2*x + 5e38;\n"
           "  output y linear;\n}\n", r"m\.nn:3:\d+: error: bias 5e\+38 is out of range for f32"),
    source("f32-precision-written-later-still-checks", net("    precision f32;\n", "output y linear <- 3.41e38*x;"),
           r"error: weight 3\.41e\+38 is out of range for f32"),
    accepted("f64-weight-beyond-float-is-fine", net("    precision f64;\n", "output y linear <- 3.5e38*x + 1e300;")),
    source("literal-beyond-double", net(body="output y linear <- 1e400*x;"),
           r"m\.nn:3:\d+: error: number '1e400' is out of range"),
    source("literal-beyond-double-in-setting", net("    rate 1e999;\n"), r"error: number '1e999' is out of range"),
    source("quotient-overflows-double", net("    rate 1e300/1e-300;\n"), r"error: 'rate' expects " + RATE + ", got inf"),
    # --- init ranges ----------------------------------------------------------------------
    source("uniform-ends-beyond-f32", net("    init uniform(-1e308, 1e308);\n"),
           r"m\.nn:5:\d+: error: uniform\(-1e\+308, 1e\+308\) is out of range for f32: both ends must be at most " + F32_MAX),
    source("uniform-width-overflows-f64", net("    precision f64;\n    init uniform(-1e308, 1e308);\n"),
           r"error: uniform\(-1e\+308, 1e\+308\) is out of range: its width b - a overflows a double"),
    source("normal-std-beyond-f32", net("    init normal(0, 1e39);\n"),
           r"error: normal\(0, 1e\+39\) is out of range for f32: its draws reach \|mean\| \+ 9\*std"),
    source("normal-draws-reach-beyond-f32", net("    init normal(0, 1e38);\n"),
           r"error: normal\(0, 1e\+38\) is out of range for f32"),
    source("normal-mean-beyond-f32", net("    init normal(-3.4e38, 1e37);\n"), r"error: normal\(-3\.4e\+38, 1e\+37\) is out of range"),
    # --- scale factors and the test data's scale -----------------------------------------
    source("scale-factor-beyond-f32", net('    data "d.csv" scale 1e39;\n'),
           r"m\.nn:5:\d+: error: scale factor 1e\+39 is out of range: a factor is nonzero and at most " + F32_MAX),
    source("scale-factor-zero", net('    data "d.csv" scale 0;\n'), r"error: scale factor 0 is out of range: a factor is nonzero"),
    source("scale-factor-divides-by-zero", net('    data "d.csv" scale 1/0;\n'), r"error: division by zero"),
    source("scale-on-test-refused", net('    data "d.csv" scale zscore;\n    test "t.csv" scale 1/255;\n'),
           r"m\.nn:6:18: error: 'scale' on 'test' data: test data are scaled as the training data are"),
    # --- each setting over its limit, the rule stated, the value as written ----------------
    source("rate-over-limit-shown-as-written", net("    rate 1000001;\n"), r"m\.nn:5:10: error: 'rate' expects " + RATE + ", got 1000001\n"),
    source("rate-zero", net("    sgd rate 0;\n"), r"error: 'rate' expects " + RATE + ", got 0"),
    accepted("rate-at-limit", net("    rate 1000000;\n")),
    source("momentum-one", net("    momentum 1;\n"), r"m\.nn:5:14: error: 'momentum' expects " + MOMENTUM + ", got 1"),
    source("validation-one", net("    validation 1;\n"), r"error: 'validation' expects " + VALIDATION + ", got 1"),
    source("batch-over-limit", net("    batch 1048577;\n"), r"error: 'batch' expects " + BATCH + ", got 1048577"),
    accepted("batch-at-limit", net("    batch 1048576;\n")),
    source("epochs-over-limit", net("    epochs 1000000001;\n"), r"error: 'epochs' expects " + EPOCHS + ", got 1000000001"),
    source("restarts-over-limit", net("    restarts 1000001;\n"), r"error: 'restarts' expects " + RESTARTS + ", got 1000001"),
    source("patience-over-limit", net("    validation 0.1;\n    patience 1000000001;\n"),
           r"error: 'patience' expects " + PATIENCE + ", got 1000000001"),
    source("decay-factor-over-one", net("    decay exponential 1.5;\n"), r"error: 'decay exponential' expects " + rule("a number in (0, 1]")),
    source("decay-inverse-over-limit", net("    decay inverse 1e7;\n"),
           r"error: 'decay inverse' expects " + rule("a number in [0, 1000000]") + ", got 10000000"),
    source("decay-every-zero", net("    decay step 0.5 every 0;\n"), r"error: 'every' expects " + rule("an integer from 1 to 1000000000")),
    source("checkpoint-every-negative", net('    checkpoint "c.ckpt" every -1;\n'), r"error: 'every' expects " + EVERY),
    source("leaky-slope-one", net(body="output y leaky_relu(1);"), r"error: leaky_relu slope must be in \[0, 1\), got 1"),
    source("fractional-integer-setting", net("    epochs 2.5;\n"), r"error: 'epochs' expects " + EPOCHS + ", got 2.5"),
    # --- accepted but meaningless ---------------------------------------------------------
    source("early-stop-without-validation", net("    early_stop patience 5;\n"),
           r"m\.nn:5:5: error: early stopping needs validation data"),
    source("columns-input-and-target", net('    data "d.csv" inputs 0 targets 0;\n'), r"error: column 0 is both an input and a target"),
    # --- the same limits on the command line, in the same words --------------------------
    flag("flag-rate-over-limit", "train --rate 1000001", r"error: --rate: expected " + RATE + ", got '1000001'"),
    flag("flag-rate-nan", "train --rate nan", r"error: --rate: expected " + RATE + ", got 'nan'"),
    flag("flag-rate-inf", "train --rate inf", r"error: --rate: expected " + RATE + ", got 'inf'"),
    flag("flag-rate-beyond-double", "train --rate 1e400", r"error: --rate: expected " + RATE),
    flag("flag-batch-over-limit", "train --batch 1048577", r"error: --batch: expected " + BATCH + ", got '1048577'"),
    flag("flag-epochs-over-limit", "train --epochs 1000000001", r"error: --epochs: expected " + EPOCHS),
    flag("flag-restarts-over-limit", "train --restarts 1000001", r"error: --restarts: expected " + RESTARTS),
    flag("flag-momentum-one", "train --momentum 1", r"error: --momentum: expected " + MOMENTUM),
    flag("flag-validation-one", "train --validation 1", r"error: --validation: expected " + VALIDATION),
    flag("flag-patience-over-limit", "train --validation 0.5 --patience 1000000001", r"error: --patience: expected " + PATIENCE),
    flag("flag-checkpoint-every-negative", "train --checkpoint-every -1", r"error: --checkpoint-every: expected " + EVERY),
    flag("flag-threads-over-limit", "train --threads 100000", r"error: --threads: expected " + rule("an integer from 1 to 256")),
    flag("flag-samples-zero", "gradcheck --samples 0", r"error: --samples: expected " + rule("an integer from 1 to 1000000")),
    case("flag-at-limits-accepted", "./xor train --quiet --epochs 0 --restarts 1000000 --batch 1048576 --rate 1000000 "
         "--momentum 0.999 --save w.weights", models=["xor"], exit=0, out=r"weights saved to w\.weights", creates=["w.weights"]),
    case("setting-and-flag-same-words", "$NNC --check m.nn; ./xor train --batch 0", models=["xor"],
         files={"m.nn": net("    batch 0;\n")}, exit=2, check=both_say(BATCH + r", got '?0")),
] + [
    # each limit refused in the train block and as a flag by one rule, stated the same way
    case("same-rule-%s" % key, "$NNC --check m.nn; ./xor train %s" % args, models=["xor"],
         files={"m.nn": net(setting)}, exit=2, check=both_say(rule_re + r", got '?" + got))
    for key, setting, args, rule_re, got in [
        ("rate", "    rate 1000001;\n", "--rate 1000001", RATE, "1000001"),
        ("momentum", "    momentum 1;\n", "--momentum 1", MOMENTUM, "1"),
        ("validation", "    validation 1;\n", "--validation 1", VALIDATION, "1"),
        ("batch", "    batch 1048577;\n", "--batch 1048577", BATCH, "1048577"),
        ("epochs", "    epochs -1;\n", "--epochs -1", EPOCHS, "-1"),
        ("restarts", "    restarts 0;\n", "--restarts 0", RESTARTS, "0"),
        ("patience", "    validation 0.5;\n    patience -1;\n", "--validation 0.5 --patience -1", PATIENCE, "-1"),
        ("checkpoint-every", '    checkpoint "c" every -1;\n', "--checkpoint-every -1", EVERY, "-1"),
    ]
] + [
    flag("flag-patience-without-validation", "train --patience 5", r"error: early stopping \(patience 5\) needs validation data"),
    flag("flag-validation-zero-ends-early-stop", "train --validation 0", r"error: early stopping \(patience 40\) needs validation data",
         model="regression"),
    flag("flag-columns-overlap", "train --inputs 0..1 --targets 0", r"error: --inputs/--targets/--onehot: column 0 is both an input and a target"),
    flag("flag-inputs-count", "train --inputs 0", r"error: --inputs selects 1 input column but the network has 2 inputs"),
    flag("flag-predict-inputs-count", "predict --initial --inputs 0..2 --input xor.csv",
         r"error: --inputs selects 3 input columns but the network has 2 inputs"),
    flag("flag-onehot-several-targets", "train --targets 3,4 --inputs 0..2,5 --onehot",
         r"'onehot' needs exactly one target column", model="iris"),
    flag("flag-labels-for-csv", "train --labels xor.csv", r"error: .*xor\.csv is CSV data: a label file \(xor\.csv\) is for IDX images"),
    flag("flag-test-labels-without-test", "train --test-labels xor.csv", r"error: --test-labels needs test data: give --test FILE"),
    flag("flag-seed-without-initial", "predict --seed 3 --input xor.csv --inputs 0..1",
         r"error: --seed seeds the initial weights of --initial; 'predict' without --initial"),
    case("flag-columns-on-idx-data", "./iris train --data img.idx --labels lab.idx --inputs 0..3", models=["iris"],
         files={"img.idx": bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]) + bytes(range(8)),
                "lab.idx": bytes([0, 0, 8, 1, 0, 0, 0, 2, 0, 2])},
         exit=2, err=r"--inputs, --targets and --onehot select CSV columns; the data are IDX images", creates=[]),
    source("idx-source-with-csv-options", net('    data "i.idx" labels "l.idx" noheader targets 0;\n'),
           r"error: 'header', 'noheader', 'inputs', 'targets' and 'onehot' are for CSV files"),
    # --- NaN through the generated code ---------------------------------------------------
    # (CSV readers refuse NaN fields, so a crafted weights file carries the NaN in)
    nan_weight("nan-first-weight-sigmoid-net", "xor", 0, "0..1"),
    nan_weight("nan-output-bias-sigmoid-net", "xor", -1, "0..1"),
    nan_weight("nan-weight-tanh-skip-net", "regression", 5, "0..1"),
    nan_weight("nan-weight-softmax-net", "iris", 3, "0..3"),
    nan_weight("nan-weight-parity-net", "parity", -3, "0..2"),
]
