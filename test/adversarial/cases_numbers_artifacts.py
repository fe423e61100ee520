"""Class 2 of the adversarial suite (numbers), compiled artifacts: a model compiled with its
trained weights must compute what `predict` computes, so the input scaling the weights were
trained with (the SCAL section of a weights file, the "scale" of an exported text) must reach
it whole, or be refused with the reason.

The cases train iris.nn (`scale zscore`) or small networks over regression.csv, then hand nnc
and the executables weights files whose scaling section is missing, the wrong size, corrupt
(the file's checksum recomputed, so only the scaling check can catch it) or from a network
scaled otherwise; exported texts with the scaling fields wrong; and inference-only executables
run where no data file exists."""
import re
import struct

from adv import case

ROWS = "5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n7.7,3.0,6.1,2.3\n"
TRAIN_IRIS = "./iris train --quiet --restarts 1 --epochs 5"

# Networks over regression.csv (columns x1, x2, y) with one structure, so their weights files
# fit one another, and different scaling.
SMALL = """network f {
  input  x[2];
  layer  h[4] tanh;
  output y linear;
  train { data "regression.csv" header inputs 0..1 targets 2%s; epochs 2; }
}
"""


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def read_weights(path):
    """(header bytes, params bytes, [(tag, body)])."""
    img = open(path, "rb").read()
    n_params, = struct.unpack_from("<Q", img, 16)
    rb, n_sec = struct.unpack_from("<II", img, 24)
    at = 48 + n_params * rb
    head, params, secs = img[:48], img[48:at], []
    for _ in range(n_sec):
        tag, length = img[at:at + 4], struct.unpack_from("<Q", img, at + 8)[0]
        secs.append((tag, img[at + 16:at + 16 + length]))
        at += 16 + length
    return head, params, secs


def write_weights(path, head, params, secs, length_of=None):
    """A weights file with a correct checksum; length_of(tag, body) may lie about a length."""
    trailer = b"".join(tag + b"\0\0\0\0" + struct.pack("<Q", length_of(tag, body) if length_of else len(body)) + body
                       for tag, body in secs)
    head = head[:28] + struct.pack("<IQ", len(secs), len(trailer)) + head[40:]
    img = head + params + trailer
    img = img[:40] + struct.pack("<Q", fnv1a(img[:40] + img[48:])) + img[48:]
    open(path, "wb").write(img)


def scal(n, mode, offsets, muls):
    return struct.pack("<II", n, mode) + struct.pack("<%dd" % n, *offsets) + struct.pack("<%dd" % n, *muls)


def edit_scal(src, dst, change):
    """Copies weights file src to dst with its SCAL body replaced by change(n, mode, offsets,
    muls) (None: the section dropped)."""
    def setup(ctx):
        head, params, secs = read_weights(ctx.path(src))
        out = []
        for tag, body in secs:
            if tag == b"SCAL":
                n, mode = struct.unpack_from("<II", body)
                off = list(struct.unpack_from("<%dd" % n, body, 8))
                mul = list(struct.unpack_from("<%dd" % n, body, 8 + 8 * n))
                body = change(n, mode, off, mul)
                if body is None:
                    continue
            out.append((tag, body))
        write_weights(ctx.path(dst), head, params, out)
    return setup


def steps(*fns):
    def setup(ctx):
        for f in fns:
            if isinstance(f, str):
                r = ctx.sh(f)
                if r.code != 0:
                    raise RuntimeError("setup '%s' failed: %s" % (f, r.err))
            else:
                f(ctx)
    return setup


def same_as(reference):
    """A check: the command's stdout equals what the shell command `reference` prints."""
    def check(ctx, r):
        want = ctx.sh(reference).out
        return None if r.out == want else "stdout differs from `%s`:\n%s\nwanted:\n%s" % (reference, r.out, want)
    return check


def same_outputs_as(reference, rel=1e-6):
    """A check: the command's stdout has the rows of numbers `reference` prints, each within rel
    of the other relative to the larger of the two or to 1. Weights compiled in as constants are
    summed in another order than weights read from a file, so f32 outputs agree to rounding."""
    def check(ctx, r):
        want = ctx.sh(reference).out
        rows = lambda text: [line.split(",") for line in text.splitlines()]
        def close(a, b):
            try:
                x, y = float(a), float(b)
            except ValueError:
                return a == b
            return abs(x - y) <= rel * max(abs(x), abs(y), 1.0)
        got_rows, want_rows = rows(r.out), rows(want)
        same = len(got_rows) == len(want_rows) and all(
            len(g) == len(w) and all(close(a, b) for a, b in zip(g, w)) for g, w in zip(got_rows, want_rows))
        return None if same else "stdout differs from `%s` by more than %g:\n%s\nwanted:\n%s" % (
            reference, rel, r.out, want)
    return check


def with_values(i, offset=None, mul=None):
    def change(n, mode, off, m):
        if offset is not None:
            off[i] = offset
        if mul is not None:
            m[i] = mul
        return scal(n, mode, off, m)
    return change


IRIS_BAD = dict(models=["iris"], files={"rows.csv": ROWS})


def iris_bad(name, change, cmd, exit, err, **kw):
    """A case over bad.weights: iris.weights with its SCAL section changed."""
    return case("artifact-" + name, cmd, exit=exit, err=err,
                setup=steps(TRAIN_IRIS, edit_scal("iris.weights", "bad.weights", change)),
                creates=[], **dict(IRIS_BAD, **kw))


NNC_BAD = "$NNC --weights bad.weights iris.nn -o m"
PREDICT_BAD = "./iris predict --weights bad.weights --input rows.csv"
NO_STATS = r"bad\.weights: the weights file has no input scaling, but network 'iris' scales its inputs by z-score"

CASES = [
    # ---- weights files: the SCAL section missing, the wrong size, corrupt ----
    iris_bad("scal-missing-compiled", lambda *a: None, NNC_BAD, 1, NO_STATS),
    iris_bad("scal-missing-object", lambda *a: None, "$NNC --weights bad.weights -c iris.nn -o m.o --header m.h",
             1, NO_STATS),
    iris_bad("scal-for-3-inputs", lambda n, mode, off, mul: scal(3, mode, off[:3], mul[:3]), PREDICT_BAD, 1,
             r"bad\.weights: the input scaling section \(56 bytes, for 3 inputs\) does not fit the network's 4 "
             r"inputs \(72 bytes\)"),
    iris_bad("scal-short-body", lambda n, mode, off, mul: scal(n, mode, off, mul)[:-8], NNC_BAD, 1,
             r"input scaling section \(64 bytes, for 4 inputs\) does not fit the network's 4 inputs"),
    iris_bad("scal-4-bytes", lambda *a: b"\4\0\0\0", PREDICT_BAD, 1,
             r"input scaling section \(4 bytes\) does not fit"),
    iris_bad("scal-zero-std", with_values(2, mul=0.0), PREDICT_BAD, 1,
             r"bad\.weights: input scaling section: input 2: offset [-0-9.e+]+ and multiplier 0 are not a zscore "
             r"scaling \(finite offset, finite positive multiplier\)"),
    iris_bad("scal-nan-offset", with_values(0, offset=float("nan")), NNC_BAD, 1,
             r"input scaling section: input 0: offset nan and multiplier"),
    iris_bad("scal-infinite-multiplier", with_values(3, mul=float("inf")), "./iris eval --weights bad.weights", 1,
             r"input 3: offset [-0-9.e+]+ and multiplier inf are not a zscore scaling"),
    iris_bad("scal-negative-multiplier", with_values(1, mul=-1.5), NNC_BAD, 1,
             r"input 1: offset [-0-9.e+]+ and multiplier -1\.5 are not a zscore scaling"),
    iris_bad("scal-unknown-mode", lambda n, mode, off, mul: scal(n, 9, off, mul), PREDICT_BAD, 1,
             r"bad\.weights: input scaling section: unknown input scaling mode 9"),
    iris_bad("scal-mode-none", lambda n, mode, off, mul: scal(n, 0, off, mul), NNC_BAD, 1,
             r"unknown input scaling mode 0"),
    iris_bad("scal-minmax-in-zscore-network", lambda n, mode, off, mul: scal(n, 3, off, mul), PREDICT_BAD, 1,
             r"bad\.weights: the weights were trained on inputs scaled by min-max, but network 'iris' declares "
             r"z-score"),
    iris_bad("scal-weights-export", with_values(0, mul=0.0), "./iris weights export --weights bad.weights", 1,
             r"input 0: offset [-0-9.e+]+ and multiplier 0 are not a zscore scaling"),

    # ---- weights of a network scaled otherwise (the same structure, so the same fingerprint) ----
    case("artifact-scaled-weights-into-unscaled-network", "./plain predict --weights f.weights --input rows.csv",
         models=["regression"], files={"f.nn": SMALL % " scale zscore", "plain.nn": SMALL % "",
                                       "rows.csv": "0.5,0.25\n"},
         setup=steps("$NNC f.nn -o f && ./f train --quiet", "$NNC plain.nn -o plain"),
         exit=1, err=r"f\.weights: the weights were trained on inputs scaled by z-score, but network 'f' declares "
                     r"no scaling"),
    case("artifact-unscaled-weights-compiled-into-scaled-network", "$NNC --weights plain.weights f.nn -o m",
         models=["regression"], files={"f.nn": SMALL % " scale minmax", "plain.nn": SMALL % ""},
         setup=steps("$NNC plain.nn -o plain && ./plain train --quiet --save plain.weights"), creates=[],
         exit=1, err=r"plain\.weights: the weights file has no input scaling, but network 'f' scales its inputs "
                     r"by min-max fitted on its training data"),
    case("artifact-other-factor", "$NNC --weights f.weights g.nn -o m",
         models=["regression"], files={"f.nn": SMALL % " scale 1/4", "g.nn": SMALL % " scale 1/5"},
         setup=steps("$NNC f.nn -o f && ./f train --quiet"), creates=[],
         exit=1, err=r"f\.weights: the weights were trained on inputs scaled by a factor of 0\.25, but network 'f' "
                     r"declares a factor of 0\.2 "),
    # A factor is known at compile time: weights without their SCAL section still compile, and
    # the compiled model scales by it.
    case("artifact-factor-without-section-compiles", "cd alone && ./m predict --input ../rows.csv",
         models=["regression"], files={"f.nn": SMALL % " scale 1/4", "rows.csv": "0.5,0.25\n-2,3\n"},
         setup=steps("$NNC f.nn -o f && ./f train --quiet",
                     edit_scal("f.weights", "bare.weights", lambda *a: None),
                     "mkdir alone && $NNC --weights bare.weights f.nn -o alone/m"),
         check=same_outputs_as("./f predict --weights f.weights --input rows.csv")),

    # ---- inference-only executables where no data file exists (the training data removed:
    # the executable names it by its absolute path) ----
    case("artifact-inference-predict-without-data", "cd alone && ./m predict --input ../rows.csv",
         models=["iris"], files={"rows.csv": ROWS},
         setup=steps(TRAIN_IRIS, "mkdir alone && $NNC --weights iris.weights iris.nn -o alone/m && rm iris.csv"),
         check=same_outputs_as("./iris predict --input rows.csv")),
    case("artifact-inference-eval-without-training-data", "cd alone && ./m eval --data flowers.csv",
         models=["iris"],
         setup=steps(TRAIN_IRIS, "mkdir alone && $NNC --weights iris.weights iris.nn -o alone/m",
                     "mv iris.csv alone/flowers.csv"),
         out=r"eval   accuracy [0-9.]+% \(\d+/150\)",
         check=same_as("./iris eval --data alone/flowers.csv | tail -n +2 | sed '1s/^/iris: 150 samples from "
                       "flowers.csv\\n/'")),
    case("artifact-inference-export-without-data", "cd alone && ./m weights export --format csv",
         models=["iris"],
         setup=steps(TRAIN_IRIS, "mkdir alone && $NNC --weights iris.weights iris.nn -o alone/m && rm iris.csv"),
         out=r"scale,zscore\nscale\.offset\[0\],", check=same_as("./iris weights export --format csv")),
    # Its forward uses the weights compiled in: a weights file given to it would be ignored.
    case("artifact-inference-refuses-weights", "./m predict --weights iris.weights --input rows.csv",
         models=["iris"], files={"rows.csv": ROWS},
         setup=steps(TRAIN_IRIS, "$NNC --weights iris.weights iris.nn -o m"),
         exit=2, err=r"this model was compiled with its trained weights \(nnc --weights\): it takes no --weights"),

    # ---- weights import: the scaling fields of an exported text ----
]


def import_case(name, edit, err, fmt="json", model="iris", exit=1):
    """iris.weights exported as fmt, the text changed by edit(text), imported to new.weights."""
    def setup(ctx):
        r = ctx.sh(TRAIN_IRIS + " && ./iris weights export --format %s > w.txt" % fmt)
        if r.code:
            raise RuntimeError(r.err)
        text = open(ctx.path("w.txt")).read()
        open(ctx.path("w.txt"), "w").write(edit(text))
    return case("artifact-import-" + name, "./%s weights import --weights new.weights --input w.txt" % model,
                models=["iris"], setup=setup, creates=[], exit=exit, err=err)


def json_array(key, values):
    def edit(text):
        if '"%s": [' % key not in text:
            return text
        start = text.index('"%s": [' % key) + len(key) + 5
        return text[:start] + values + text[text.index("]", start):]
    return edit


def csv_drop(prefix):
    return lambda text: "".join(l for l in text.splitlines(True) if not l.startswith(prefix))


CASES += [
    import_case("unknown-mode", lambda t: t.replace('"mode": "zscore"', '"mode": "zcore"'),
                r"w\.txt:\d+: scale\.mode: unknown input scaling mode 'zcore' \(expected factor, zscore or minmax\)"),
    import_case("mode-of-another-scaling", lambda t: t.replace('"mode": "zscore"', '"mode": "minmax"'),
                r"w\.txt: the weights were trained on inputs scaled by min-max, but network 'iris' declares z-score"),
    import_case("three-offsets", json_array("offset", "1, 2, 3"),
                r"w\.txt: the input scaling has 3 offsets and 4 multipliers, the network has 4 inputs"),
    import_case("five-multipliers", json_array("multiplier", "1, 2, 3, 4, 5"),
                r"w\.txt:\d+: scale\.multiplier: more than the network's 4 input scaling multipliers"),
    import_case("nan-multiplier", json_array("multiplier", "1, nan, 3, 4"),
                r"w\.txt:\d+: scale\.multiplier: value 1: 'nan' is not a finite number"),
    import_case("zero-multiplier", json_array("multiplier", "1, 2, 0, 4"),
                r"w\.txt: scale: input 2: offset [-0-9.e+]+ and multiplier 0 are not a zscore scaling"),
    import_case("huge-offset", json_array("offset", "1, 2, 1e999, 4"),
                r"scale\.offset: value 2: '1e999' is out of range for f64"),
    import_case("scale-not-an-object", lambda t: t.replace('"scale": {', '"scale": [{').replace('},\n  "params"', '}],\n  "params"'),
                r"w\.txt:\d+: \"scale\": expected \{\"mode\": \"zscore\""),
    import_case("json-without-scale", lambda t: re.sub(r'  "scale": \{[^}]*\},\n', "", t),
                r"w\.txt: no input scaling, but network 'iris' scales its inputs by z-score fitted on its "
                r"training data"),
    import_case("csv-without-scale", csv_drop("scale"),
                r"w\.txt: no input scaling, but network 'iris' scales its inputs by z-score", fmt="csv"),
    import_case("csv-offset-out-of-order", lambda t: t.replace("scale.offset[0]", "scale.offset[9]"),
                r"w\.txt:\d+: field 1: expected scale\.offset\[0\], found 'scale\.offset\[9\]'", fmt="csv"),
    import_case("csv-value-before-mode", lambda t: t.replace("scale,zscore\n", ""),
                r"w\.txt:\d+: a scaling value before the scaling mode", fmt="csv"),
    import_case("csv-mode-twice", lambda t: t + "scale,zscore\n",
                r"w\.txt:\d+: the input scaling is given twice", fmt="csv"),
    import_case("csv-missing-multiplier", csv_drop("scale.multiplier[3]"),
                r"w\.txt: the input scaling has 4 offsets and 3 multipliers", fmt="csv"),
    import_case("csv-bad-number", lambda t: t.replace("scale.multiplier[1],", "scale.multiplier[1],x"),
                r"w\.txt:\d+: field 2: 'x[0-9.e+-]*' is not a finite number", fmt="csv"),
    import_case("csv-unknown-scale-row", lambda t: t + "scale.mean[0],1\n",
                r"w\.txt:\d+: field 1: expected scale, scale\.offset\[i\] or scale\.multiplier\[i\], found "
                r"'scale\.mean\[0\]'", fmt="csv"),
]
