"""Class 3 of the adversarial suite, red team: the structure of what the readers take in.

Weights files whose trailer sections are at their limits (16 and 17 sections, zero lengths,
lengths past the end, a tag given twice, tags this runtime does not know); `weights import`
JSON that is not one well-formed object (repeated keys, text after it, trailing commas,
unclosed strings, nesting without end) and exact round trips of f32 and f64 weights; IDX
files of every value type and with dimensions at their edges; gzip data in several members,
padded, damaged, or followed by bytes that are not gzip (which zlib alone skips silently);
a FIFO as a data file. Each refused file names itself and exits 1; nothing crashes."""
import gzip
import struct

from adv import case
from cases_numbers_artifacts import import_case, json_array
from cases_numbers_data import LABELS3, OK17, XOR_F64_NN, compiled_m, idx, idx_train, idx_values, \
    import_text, m_nn, params_json, patched, with_checksum
from cases_resources_data import weights_case, with_section, write, xor_weights

EVAL = "./xor eval --weights w.weights"
GZ_ROWS = b"0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def section(tag, data=b""):
    return tag + bytes(4) + struct.pack("<Q", len(data)) + data


def scal(mode=2, values=(0.5, 0.5, 1.0, 1.0)):
    return section(b"SCAL", struct.pack("<II", 2, mode) + struct.pack("<4d", *values))


def weights_ok(name, make):
    """eval of a weights file made by make(xor image) that must be read: exit 0."""
    def setup(ctx):
        write(ctx, "w.weights", make(xor_weights(ctx)))
    return case(name, EVAL, models=["xor"], setup=setup, out=r"eval\s+accuracy", creates=[])


def sections(img, secs):
    for s in secs:
        img = with_section(img, s)
    return img


def with_count(img, n):
    return patched(img, 28, struct.pack("<I", n))


def gz(data):
    return gzip.compress(data, mtime=0)


def csv_gz(name, data, exit=0, err=None, path="d.csv.gz"):
    """`xor train --data PATH` of the bytes given."""
    return case(name, "./xor train --quiet --epochs 1 --restarts 1 --data " + path, models=["xor"],
                files={path: data}, exit=exit, err=err, out=None if exit else r"weights saved",
                creates=[] if exit else ["xor.weights"], may_change=["xor.weights"])


IMG4 = lambda code, values: idx_values(code, [3, 4], values)  # noqa: E731  3 samples of 4 values


def roundtrip(name, nn, fmt):
    """export, import into b.weights, export again: the texts and the binary files identical."""
    exe = "x64" if nn else "xor"
    setup_cmd = ("$NNC x64.nn -o x64 && " if nn else "") + "./%s train --quiet --restarts 1 --epochs 3" % exe
    cmd = ("./{e} weights export --format {f} > a.txt && ./{e} weights import --weights b.weights < a.txt && "
           "./{e} weights export --weights b.weights --format {f} > b.txt && cmp a.txt b.txt && "
           "cmp {e}.weights b.weights && echo same").format(e=exe, f=fmt)
    return case(name, cmd, models=["xor"], files={"x64.nn": XOR_F64_NN} if nn else {},
                setup=lambda ctx: ctx.sh(setup_cmd), out=r"same")


CASES = [
    # ---- weights trailer sections at their limits ----
    weights_case("rn-weights-scal-section-twice", lambda img: sections(img, [scal(), scal()]),
                 r"w\.weights: corrupted trailer: section 1 repeats the tag 'SCAL'"),
    weights_case("rn-weights-unknown-section-twice", lambda img: sections(img, [section(b"XTRA", b"a"),
                 section(b"XTRA", b"b")]), r"w\.weights: corrupted trailer: section 1 repeats the tag 'XTRA'"),
    weights_ok("rn-weights-unknown-section-skipped", lambda img: sections(img, [section(b"XTRA", b"later")])),
    weights_ok("rn-weights-zero-length-unknown-section", lambda img: sections(img, [section(b"\0\1\2\3")])),
    weights_ok("rn-weights-sixteen-sections", lambda img: sections(img, [section(b"T%03d" % i) for i in range(16)])),
    weights_case("rn-weights-seventeen-sections",
                 lambda img: sections(img, [section(b"T%03d" % i) for i in range(17)]),
                 r"w\.weights: corrupted header"),
    weights_case("rn-weights-zero-length-scal", lambda img: sections(img, [section(b"SCAL")]),
                 r"w\.weights: the input scaling section \(0 bytes\) does not fit the network's 2 inputs"),
    weights_case("rn-weights-section-count-zero-with-trailer",
                 lambda img: with_count(sections(img, [section(b"XTRA", b"abc")]), 0),
                 r"w\.weights: corrupted trailer"),
    weights_case("rn-weights-section-count-one-too-many",
                 lambda img: with_count(sections(img, [section(b"XTRA", b"abc")]), 2),
                 r"w\.weights: corrupted trailer section 1"),
    weights_case("rn-weights-section-length-past-end",
                 lambda img: patched(sections(img, [section(b"XTRA", b"abc")]), 48 + 17 * 4 + 8,
                                     struct.pack("<Q", 4)),
                 r"w\.weights: corrupted trailer section 0"),
    weights_case("rn-weights-section-length-huge",
                 lambda img: patched(sections(img, [section(b"XTRA", b"abc")]), 48 + 17 * 4 + 8,
                                     struct.pack("<Q", 2**64 - 8)),
                 r"w\.weights: corrupted trailer section 0"),

    # ---- weights import: one well-formed JSON object ----
    import_text("rn-import-json-params-twice", params_json(OK17)[:-2] + ', "params": [1]\n}\n',
                err=r"<stdin>:\d+: not valid JSON: a key is repeated in one object"),
    import_text("rn-import-json-params-twice-after-many-keys", "{" + "".join('"k%d": %d, ' % (i, i) for i in
                range(300)) + '"params": [1],\n' + params_json(OK17)[2:],
                err=r"<stdin>:2: not valid JSON: a key is repeated in one object"),
    import_text("rn-import-json-text-after-object", params_json(OK17) + "garbage\n",
                err=r"<stdin>:4: not valid JSON: text after the end of the object"),
    import_text("rn-import-json-second-object", params_json(OK17) + params_json(OK17),
                err=r"<stdin>:4: not valid JSON: text after the end of the object"),
    import_text("rn-import-json-nested-params-skipped",
                '{"notes": {"params": [1]}, "x": ["params", {"params": 2}],\n' + params_json(OK17)[2:], exit=0),
    import_text("rn-import-json-trailing-comma", params_json(OK17 + [""]),
                err=r"<stdin>:2: not valid JSON: expected a value"),
    import_text("rn-import-json-deep-nesting", '{"junk": ' + "[" * 100000 + "]" * 100000 + ',\n' +
                params_json(OK17)[2:], err=r"<stdin>:1: not valid JSON: nested more than 32 deep"),
    import_text("rn-import-json-unclosed-string", '{"model": "xor,\n' + params_json(OK17)[2:],
                err=r"<stdin>:1: not valid JSON: a control character or line end inside a string"),
    import_text("rn-import-json-bad-escape", '{"model": "x\\q",\n' + params_json(OK17)[2:],
                err=r"<stdin>:1: not valid JSON: an unknown escape in a string"),
    import_text("rn-import-json-escaped-quotes-in-strings", '{"model": "say \\"params\\": [1]\\u0021",\n' +
                params_json(OK17)[2:], exit=0),
    import_text("rn-import-json-bom", "\ufeff" + params_json(OK17), exit=0),
    import_text("rn-import-json-missing-colon", '{"params" [' + ", ".join(OK17) + "]}\n",
                err=r"<stdin>:1: not valid JSON: expected ':' after a key"),
    import_text("rn-import-json-bad-fingerprint", '{"fingerprint": "0xZZ",\n' + params_json(OK17)[2:],
                err=r"<stdin>:1: \"fingerprint\": expected \"0x\" and 16 hexadecimal digits"),
    import_text("rn-import-json-top-level-array", "[" + ", ".join(OK17) + "]\n",
                err=r"<stdin>:1: not valid JSON: expected '\{'"),
    import_text("rn-import-csv-quoted-values", "index,value\n" + "".join('%d,"%s"\n' % (i, v) for i, v in
                enumerate(OK17)), exit=0),
    import_text("rn-import-csv-unclosed-quote", "index,value\n0,\"0.25\n",
                err=r"<stdin>:2: field 2: a quote is not closed on its line"),
    import_case("rn-scale-offset-hexadecimal", json_array("offset", "0x10, 1, 2, 3"),
                r"w\.txt:\d+: scale\.offset: value 0: '0x10' is not a number"),
    import_case("rn-scale-multiplier-spaces-inside", json_array("multiplier", "1, 2 3, 4"),
                r"w\.txt:\d+: not valid JSON|scale\.multiplier"),
    import_case("rn-scale-keys-twice", lambda t: t.replace('"mode": "zscore",', '"mode": "zscore", "mode": "minmax",'),
                r"w\.txt:\d+: not valid JSON: a key is repeated in one object"),
    roundtrip("rn-roundtrip-f64-json-exact", True, "json"),
    roundtrip("rn-roundtrip-f64-csv-exact", True, "csv"),
    roundtrip("rn-roundtrip-f32-csv-exact", False, "csv"),
    case("rn-roundtrip-scaled-json-exact", "./iris weights export > a.txt && ./iris weights import --weights "
         "b.weights < a.txt && cmp iris.weights b.weights && echo same", models=["iris"],
         setup=lambda ctx: ctx.sh("./iris train --quiet --restarts 1 --epochs 3"), out=r"same"),

    # ---- IDX: every value type, dimensions at their edges ----
    idx_train("rn-idx-sbyte-negative", IMG4(0x09, range(-128, -116)), exit=0),
    idx_train("rn-idx-short-big-endian", IMG4(0x0B, [-32768, 32767, 256, -1] * 3), exit=0),
    idx_train("rn-idx-int-big-endian", IMG4(0x0C, [-2**31, 2**31 - 1, 65536, -1] * 3), exit=0),
    idx_train("rn-idx-f32", IMG4(0x0D, [1e3, -1e-45, 0.5, -0.0] * 3), exit=0),
    idx_train("rn-idx-f64-in-f64-model", IMG4(0x0E, [1e3, -1e-320, 0.5, -0.0] * 3), precision="f64", exit=0),
    idx_train("rn-idx-labels-short", IMG4(0x08, range(12)), labels=idx_values(0x0B, [3], [2, 1, 0]), exit=0),
    idx_train("rn-idx-ndim-0", idx(0x08, []), err=r"img\.idx: not an IDX file \(magic 0x00000800\)"),
    idx_train("rn-idx-ndim-255", idx(0x08, [1] * 255, b"\1"),
              err=r"img\.idx: samples have 1 values but the network has 4 inputs"),
    idx_train("rn-idx-zero-size-inner-dim", idx(0x08, [3, 0, 4]),
              err=r"img\.idx: samples have 0 values but the network has 4 inputs"),
    idx_train("rn-idx-pixels-not-inputs", idx_values(0x08, [3, 5], range(15)),
              err=r"img\.idx: samples have 5 values but the network has 4 inputs"),
    idx_train("rn-idx-labels-two-dims", IMG4(0x08, range(12)), labels=idx_values(0x08, [3, 1], [0, 1, 2]),
              err=r"lab\.idx: a label file has 1 dimension, this one has 2"),
    idx_train("rn-idx-label-equals-outputs", IMG4(0x08, range(12)), labels=idx_values(0x08, [3], [0, 3, 1]),
              err=r"lab\.idx: label 3 of sample 2 is out of range \[0, 3\)"),
    idx_train("rn-idx-label-negative", IMG4(0x08, range(12)), labels=idx_values(0x09, [3], [0, -1, 1]),
              err=r"lab\.idx: label -1 of sample 2 is out of range"),
    idx_train("rn-idx-label-fraction", IMG4(0x08, range(12)), labels=idx_values(0x0D, [3], [0, 1.5, 1]),
              err=r"lab\.idx: label 1\.5 of sample 2"),
    idx_train("rn-idx-label-nan", IMG4(0x08, range(12)), labels=idx_values(0x0E, [3], [0, float("nan"), 1]),
              err=r"lab\.idx: label nan of sample 2"),
    idx_train("rn-idx-gz-two-members", gz(IMG4(0x08, range(12))[:10]) + gz(IMG4(0x08, range(12))[10:]),
              exit=0),
    idx_train("rn-idx-gz-then-garbage", gz(IMG4(0x08, range(12))) + b"trailing",
              err=r"img\.idx: 8 bytes after the end of the gzip data \(at byte \d+\) that are not gzip data"),
    idx_train("rn-idx-labels-gz-then-garbage", IMG4(0x08, range(12)), labels=gz(LABELS3) + b"\1",
              err=r"lab\.idx: 1 bytes after the end of the gzip data"),

    # ---- gzip CSV ----
    csv_gz("rn-csv-gz-two-members", gz(GZ_ROWS[:8]) + gz(GZ_ROWS[8:])),
    csv_gz("rn-csv-gz-zero-padding", gz(GZ_ROWS) + bytes(512)),
    csv_gz("rn-csv-gz-then-plain-rows", gz(GZ_ROWS) + b"1,1,1\n", exit=1,
           err=r"d\.csv\.gz: 6 bytes after the end of the gzip data \(at byte \d+\) that are not gzip data"),
    csv_gz("rn-csv-gz-corrupt-crc", (lambda z: z[:-8] + bytes([z[-8] ^ 1]) + z[-7:])(gz(GZ_ROWS)), exit=1,
           err=r"d\.csv\.gz: read error: incorrect data check"),
    csv_gz("rn-csv-gz-corrupt-length", (lambda z: z[:-4] + bytes([z[-4] ^ 1]) + z[-3:])(gz(GZ_ROWS)), exit=1,
           err=r"d\.csv\.gz: read error: incorrect length check"),
    csv_gz("rn-csv-gz-truncated-member", gz(GZ_ROWS) + gz(GZ_ROWS)[:15], exit=1,
           err=r"d\.csv\.gz: read error: unexpected end of file"),
    csv_gz("rn-csv-gzip-without-extension", gz(GZ_ROWS), path="d.csv"),
    csv_gz("rn-csv-plain-with-gz-extension", GZ_ROWS),
    case("rn-csv-fifo", "mkfifo p.csv && (printf '0,0,0\\n1,1,0\\n' > p.csv &) && "
         "./xor train --quiet --epochs 1 --restarts 1 --data p.csv && rm p.csv", models=["xor"],
         out=r"train\s+accuracy [0-9.]+% \(\d+/2\)", creates=["xor.weights"], may_change=["xor.weights"]),
    case("rn-predict-input-fifo", "./xor train --quiet --epochs 1 --restarts 1 && mkfifo p.csv && "
         "(printf '0,1\\n1,1\\n' > p.csv &) && ./xor predict --input p.csv && rm p.csv", models=["xor"],
         out=r"saved to xor\.weights\n[0-9.e-]+\n[0-9.e-]+\n$", creates=["xor.weights"]),
    # labels belong to IDX images: a CSV file given with --labels is refused, not read as CSV
    # with the labels ignored
    case("rn-csv-with-labels", "./xor train --quiet --epochs 1 --restarts 1 --data xor.csv --labels xor.csv",
         models=["xor"], exit=2, err=r"xor\.csv is CSV data: a label file \(xor\.csv\) is for IDX images", creates=[]),
]
