"""Class 2 of the adversarial suite, data: numbers read from files that must not silently change
meaning.

Every number the runtime reads (CSV fields, predict input, IDX values and labels, `weights
import` text) goes through one reader that knows the model's precision: a value beyond it, a
not-finite one or a field that is not a decimal number is refused with file, line (sample) and
field; a first CSV row is a header only when it holds names alone. The models are the examples
(xor and iris are f32) and small networks compiled in the case (`m.nn`, with `precision f64;`
where the case says so). Also the helpers that write IDX and weights files for the resources
cases."""
import struct

from adv import case

# ---- files the cases write ----


def idx(type_code, dims, payload=b""):
    """An IDX file: magic, big-endian dimensions, then the payload as given."""
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_values(type_code, dims, values):
    fmt = {0x08: ">B", 0x09: ">b", 0x0B: ">h", 0x0C: ">i", 0x0D: ">f", 0x0E: ">d"}[type_code]
    return idx(type_code, dims, b"".join(struct.pack(fmt, v) for v in values))


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def with_checksum(img):
    """A weights image (include/nnc/nnrt.h) with its checksum field recomputed."""
    img = bytes(img)
    return img[:40] + struct.pack("<Q", fnv1a(img[48:], fnv1a(img[:40]))) + img[48:]


def patched(img, at, data, checksum=True):
    img = bytes(img[:at]) + data + bytes(img[at + len(data):])
    return with_checksum(img) if checksum else img


def m_nn(precision="f32", inputs=4, outputs=3):
    """An IDX classifier of `inputs` inputs and `outputs` classes."""
    return ("network m {\n  input x[%d];\n  output y[%d] softmax;\n  train {\n"
            "    data \"img.idx\" labels \"lab.idx\";\n    loss cross_entropy;\n    epochs 1;\n"
            "    precision %s;\n  }\n}\n" % (inputs, outputs, precision))


XOR_F64_NN = """network x64 {
  input  x[2];
  layer  h[4] sigmoid;
  output y[1] sigmoid;
  train { data "xor.csv" inputs 0..1 targets 2; epochs 1; precision f64; }
}
"""

TRAIN_XOR = "./xor train --quiet --epochs 1 --restarts 1 --data d.csv"
LABELS3 = idx_values(0x08, [3], [0, 1, 2])


def trained_xor(ctx):
    ctx.sh("./xor train --quiet --epochs 1 --restarts 1")


def compiled(name):
    return lambda ctx: ctx.sh("$NNC %s.nn -o %s" % (name, name))


def compiled_m(ctx):
    ctx.sh("$NNC m.nn -o m")


def csv_refused(name, rows, err, **kw):
    """`xor train --data d.csv` (f32) refused with exit 1 and nothing written."""
    return case(name, TRAIN_XOR, models=["xor"], files={"d.csv": rows}, exit=1, err=err,
                creates=[], **kw)


def predict(name, rows, exit=0, err=None, out=None):
    """`xor predict --input in.csv` with weights trained in setup."""
    return case(name, "./xor predict --input in.csv", models=["xor"], files={"in.csv": rows},
                setup=trained_xor, exit=exit, err=err, out=out, creates=[])


def idx_train(name, images, labels=LABELS3, precision="f32", exit=1, err=None, **kw):
    """`m train` over IDX files; refused cases write nothing."""
    return case(name, "./m train --quiet --restarts 1", files={"m.nn": m_nn(precision),
                "img.idx": images, "lab.idx": labels}, setup=compiled_m, exit=exit, err=err,
                creates=[] if exit else ["m.weights"], **kw)


def import_text(name, text, exit=1, err=None, model="xor"):
    """`xor weights import` of a text from stdin into a new file (none on refusal)."""
    return case(name, "./%s weights import --weights w.weights < w.txt" % model, models=["xor"],
                files={"w.txt": text}, exit=exit, err=err, creates=[] if exit else ["w.weights"])


XOR_PARAMS = 17  # 2·4 + 4 biases + 4 + 1 bias


def params_csv(values):
    return "index,value\n" + "".join("%d,%s\n" % (i, v) for i, v in enumerate(values))


def params_json(values):
    return '{\n  "params": [' + ", ".join(values) + "]\n}\n"


OK17 = ["0.25"] * XOR_PARAMS


def with_value(v, at=3):
    return OK17[:at] + [v] + OK17[at + 1:]


CASES = [
    # ---- CSV fields against f32 (the examples are f32) ----
    csv_refused("csv-f32-overflow", "x1,x2,y\n0,0,0\n0,1e39,1\n",
                r"d\.csv:3: field 2: '1e39' is out of range for f32 \(max 3\.4e38\)"),
    csv_refused("csv-f32-negative-overflow", "x1,x2,y\n-3.5e38,0,0\n",
                r"d\.csv:2: field 1: '-3\.5e38' is out of range for f32"),
    csv_refused("csv-f32-rounds-to-inf", "x1,x2,y\n0,3.4028236e38,0\n",
                r"d\.csv:2: field 2: '3\.4028236e38' is out of range for f32"),
    csv_refused("csv-f32-target-overflow", "x1,x2,y\n0,0,1e300\n",
                r"d\.csv:2: field 3: '1e300' is out of range for f32"),
    predict("predict-f32-largest-finite-accepted", "3.4028234e38,0\n", out=r"^[-0-9.e+]+\n$"),
    predict("predict-f32-underflow-reads-as-zero", "1e-50,-1e-60\n", out=r"^[-0-9.e+]+\n$"),
    predict("predict-f32-overflow-refused", "0,0\n1,2e38\n2e39,0\n",
            exit=1, err=r"in\.csv:3: field 1: '2e39' is out of range for f32"),
    csv_refused("csv-huge-exponent", "x1,x2,y\n1e999999999999,0,0\n",
                r"d\.csv:2: field 1: '1e999999999999' is out of range for f32"),
    predict("predict-tiny-exponent-reads-as-zero", "1e-999999,0\n", out=r"^[-0-9.e+]+\n$"),
    case("csv-f64-overflow", "./x64 train --quiet --data d.csv", files={"x64.nn": XOR_F64_NN,
         "d.csv": "x1,x2,y\n0,1e309,1\n"}, setup=compiled("x64"), exit=1, creates=[],
         err=r"d\.csv:2: field 2: '1e309' is out of range for f64 \(max 1\.8e308\)"),
    case("csv-f64-accepts-beyond-f32", "./x64 train --quiet --data d.csv --epochs 0",
         files={"x64.nn": XOR_F64_NN, "d.csv": "x1,x2,y\n0,1e39,1\n1,1,0\n"},
         setup=compiled("x64"), exit=0, creates=["x64.weights"]),
    # ---- words that are not decimal numbers ----
    csv_refused("csv-hex-float", "x1,x2,y\n0,0x1p3,1\n", r"d\.csv:2: field 2: '0x1p3' is not a number"),
    csv_refused("csv-hex-integer", "x1,x2,y\n0x10,0,1\n", r"d\.csv:2: field 1: '0x10' is not a number"),
    csv_refused("csv-nan", "x1,x2,y\n0,0,0\nnan,0,1\n", r"d\.csv:3: field 1: 'nan' is not a finite number"),
    csv_refused("csv-nan-mixed-case", "x1,x2,y\n0,NaN,1\n", r"d\.csv:2: field 2: 'NaN' is not a finite number"),
    csv_refused("csv-inf", "x1,x2,y\n0,0,inf\n", r"d\.csv:2: field 3: 'inf' is not a finite number"),
    csv_refused("csv-negative-infinity", "x1,x2,y\n-Infinity,0,1\n",
                r"d\.csv:2: field 1: '-Infinity' is not a finite number"),
    csv_refused("csv-empty-field", "x1,x2,y\n0,,1\n", r"d\.csv:2: field 2: '' is not a number"),
    csv_refused("csv-space-inside-number", "x1,x2,y\n0,1 2,1\n", r"d\.csv:2: field 2: '1 2' is not a number"),
    csv_refused("csv-trailing-garbage", "x1,x2,y\n0,1.5x,1\n", r"d\.csv:2: field 2: '1\.5x' is not a number"),
    csv_refused("csv-comma-decimal", "x1;x2;y\n0,5;1;1\n", r"d\.csv: target column 2 is out of range: rows have 1 field "),
    csv_refused("csv-lone-exponent", "x1,x2,y\n0,1e,1\n", r"d\.csv:2: field 2: '1e' is not a number"),
    csv_refused("csv-lone-dot", "x1,x2,y\n0,.,1\n", r"d\.csv:2: field 2: '\.' is not a number"),
    # ---- the first row: header or data ----
    csv_refused("csv-typo-in-first-row", "1.0,2.x,1\n0,1,1\n1,0,1\n",
                r"d\.csv:1: field 2: '2\.x' is not a number, but field 1 is: .*'header' or 'noheader'"),
    csv_refused("csv-numeric-column-name", "x1,2,y\n0,1,1\n",
                r"d\.csv:1: field 1: 'x1' is not a number, but field 2 is"),
    predict("predict-typo-in-first-row", "0,1x\n1,1\n", exit=1,
            err=r"in\.csv:1: field 2: '1x' is not a number, but field 1 is"),
    case("csv-bom-before-data-row", "./xor eval --data d.csv", models=["xor"], setup=trained_xor,
         files={"d.csv": b"\xef\xbb\xbf0,0,0\n0,1,1\n1,0,1\n1,1,0\n"}, exit=0,
         out=r"4 samples from d\.csv", creates=[]),
    case("csv-bom-before-header", "./xor eval --data d.csv", models=["xor"], setup=trained_xor,
         files={"d.csv": b"\xef\xbb\xbfx1,x2,y\r\n0,0,0\r\n0,1,1\r\n"}, exit=0,
         out=r"2 samples from d\.csv", creates=[]),
    predict("predict-bom-before-data", b"\xef\xbb\xbf0,1\n1,1\n", out=r"^[-0-9.e+]+\n[-0-9.e+]+\n$"),
    case("csv-names-only-first-row-is-header", "./xor eval --data d.csv", models=["xor"],
         setup=trained_xor, files={"d.csv": "a,b,c\n0,0,0\n"}, exit=0, out=r"1 samples? from d\.csv",
         creates=[]),
    case("csv-crlf-and-quotes", "./xor eval --data d.csv", models=["xor"], setup=trained_xor,
         files={"d.csv": '"x1","x2","y"\r\n"0","1","1"\r\n1,1,0\r\n'}, exit=0,
         out=r"2 samples from d\.csv", creates=[]),
    # ---- columns named in another order than the training data's ----
    case("csv-eval-columns-reordered", "./xor eval --data d.csv", models=["xor"], setup=trained_xor,
         files={"d.csv": "y,x2,x1\n0,0,0\n1,1,0\n"}, exit=1, creates=[],
         err=r"d\.csv: column 0 is 'y', but in \S*xor\.csv it is 'x1', which is column 2 here: the columns are in "
             r"another order"),
    case("csv-test-columns-reordered", TRAIN_XOR + " --test t.csv", models=["xor"],
         files={"d.csv": "x1,x2,y\n0,0,0\n0,1,1\n", "t.csv": "x2,x1,y\n0,0,0\n1,0,1\n"}, exit=1, creates=[],
         err=r"t\.csv: column 0 is 'x2', but in d\.csv it is 'x1', which is column 1 here"),
    case("csv-eval-reordered-columns-chosen", "./xor eval --data d.csv --inputs 2,1 --targets 0", models=["xor"],
         setup=trained_xor, files={"d.csv": "y,x2,x1\n0,0,0\n1,1,0\n"}, exit=0, out=r"2 samples from d\.csv",
         creates=[]),
    case("csv-eval-other-names-read", "./xor eval --data d.csv", models=["xor"], setup=trained_xor,
         files={"d.csv": "a,b,c\n0,0,0\n1,1,0\n"}, exit=0, out=r"2 samples from d\.csv", creates=[]),
    predict("predict-input-columns-reordered", "x2,x1\n0,1\n", exit=1,
            err=r"in\.csv:1: column 0 is 'x2', but the network's input 0 is 'x1' \(column 0 of \S*xor\.csv\), "
                r"which is column 1 here"),
    predict("predict-whole-rows-reordered", "y,x2,x1\n0,0,1\n", exit=1,
            err=r"in\.csv:1: column 0 is 'y', but the network's input 0 is 'x1' \(column 0 of \S*xor\.csv\), "
                r"which is column 2 here"),
    case("predict-stdin-columns-reordered", "printf 'x2,x1\\n0,1\\n' | ./xor predict", models=["xor"],
         setup=trained_xor, exit=1, creates=[], err=r"<stdin>:1: column 0 is 'x2', but the network's input 0 is 'x1'"),
    predict("predict-input-columns-in-order", "x1,x2\n0,1\n", out=r"\A[-0-9.e+]+\n\Z"),
    # ---- class labels (iris: 3 classes, one-hot) ----
    case("csv-label-out-of-range", "./iris train --quiet --epochs 1 --restarts 1 --data d.csv",
         models=["iris"], files={"d.csv": "a,b,c,d,s\n5.1,3.5,1.4,0.2,0\n5,3,1,0,1\n5,3,1,0,2\n5,3,1,0,3\n"},
         exit=1, creates=[], err=r"d\.csv:5: field 5: label '3' would be class 4, but the network has 3 outputs"),
    case("csv-label-fraction", "./iris train --quiet --epochs 1 --restarts 1 --data d.csv",
         models=["iris"], files={"d.csv": "a,b,c,d,s\n5.1,3.5,1.4,0.2,1.5\n"}, exit=1, creates=[],
         err=r"d\.csv:2: field 5: label '1\.5' is not an integer"),
    case("csv-label-nan", "./iris train --quiet --epochs 1 --restarts 1 --data d.csv",
         models=["iris"], files={"d.csv": "a,b,c,d,s\n5.1,3.5,1.4,0.2,nan\n"}, exit=1, creates=[],
         err=r"d\.csv:2: field 5: label 'nan' is not an integer"),
    case("csv-label-huge", "./iris train --quiet --epochs 1 --restarts 1 --data d.csv",
         models=["iris"], files={"d.csv": "a,b,c,d,s\n5.1,3.5,1.4,0.2,1e39\n"}, exit=1, creates=[],
         err=r"d\.csv:2: field 5: label '1e39' is beyond the integers a class label may be"),
    csv_refused("csv-probability-target-above-one", "x1,x2,y\n0,0,2\n", r"target 2 is outside \[0, 1\]"),
    # ---- IDX values against the model's precision ----
    idx_train("idx-f64-beyond-f32", idx_values(0x0E, [3, 2, 2], [0, 1, 2, 3, 4, 5, 1e39, 7, 8, 9, 10, 11]),
              err=r"img\.idx: sample 2, value 3: 1e\+39 is out of range for f32"),
    idx_train("idx-f64-nan", idx_values(0x0E, [3, 4], [0] * 9 + [float("nan")] + [0, 0]),
              err=r"img\.idx: sample 3, value 2: nan is not a finite number"),
    idx_train("idx-f32-inf", idx_values(0x0D, [3, 4], [0, float("-inf")] + [0] * 10),
              err=r"img\.idx: sample 1, value 2: -inf is not a finite number"),
    idx_train("idx-f64-beyond-f32-in-f64-model", idx_values(0x0E, [3, 4], [1e39] + [0] * 11),
              precision="f64", exit=0),
    idx_train("idx-i32-values", idx_values(0x0C, [3, 4], [2**31 - 1, -2**31] + [5] * 10), exit=0),
    idx_train("idx-label-out-of-range", idx_values(0x08, [3, 4], [1] * 12), labels=idx_values(0x08, [3], [0, 3, 1]),
              err=r"lab\.idx: label 3 of sample 2 is out of range \[0, 3\)"),
    idx_train("idx-label-fraction", idx_values(0x08, [3, 4], [1] * 12), labels=idx_values(0x0D, [3], [0, 1, 1.5]),
              err=r"lab\.idx: label 1\.5 of sample 3 is out of range"),
    idx_train("idx-label-negative", idx_values(0x08, [3, 4], [1] * 12), labels=idx_values(0x09, [3], [0, -1, 1]),
              err=r"lab\.idx: label -1 of sample 2 is out of range"),
    # ---- weights import: text numbers in the model's precision ----
    import_text("import-csv-beyond-f32", params_csv(with_value("1e39")),
                err=r"<stdin>:5: field 2: '1e39' is out of range for f32"),
    import_text("import-json-beyond-f32", params_json(with_value("-4e38", at=16)),
                err=r"<stdin>:2: parameter 16: '-4e38' is out of range for f32"),
    import_text("import-json-nan", params_json(with_value("NaN")),
                err=r"<stdin>:2: parameter 3: 'NaN' is not a finite number"),
    import_text("import-csv-inf", params_csv(with_value("inf")), err=r"<stdin>:5: field 2: 'inf' is not a finite"),
    import_text("import-json-hex", params_json(with_value("0x10")), err=r"parameter 3: '0x10' is not a number"),
    import_text("import-json-garbage", params_json(with_value("true")), err=r"parameter 3: 'true' is not a number"),
    import_text("import-csv-too-few", params_csv(OK17[:16]), err=r"<stdin>: 16 parameters, the network has 17"),
    import_text("import-csv-too-many", params_csv(OK17 + ["1"]),
                err=r"<stdin>:19: more than the 17 parameters of the network"),
    import_text("import-json-too-many", params_json(OK17 * 100),
                err=r"<stdin>:2: more than the 17 parameters of the network"),
    import_text("import-json-unclosed", '{"params": [1, 2', err=r"the array is not closed|expected"),
    import_text("import-csv-wrong-index", "index,value\n0,1\n5,1\n", err=r"<stdin>:3: field 1: expected index 1, found '5'"),
    import_text("import-bom-csv", b"\xef\xbb\xbf" + params_csv(OK17).encode(), exit=0),
    import_text("import-f32-underflow-accepted", params_json(with_value("1e-60")), exit=0),
]
