"""Class 3 of the adversarial suite, data: reads bounded by what a file declares.

CSV, IDX (plain and gzip) and weights files that are empty, truncated, endless (/dev/zero, a
pipe), directories, headers that lie about their size, dimensions that overflow, gzip bombs:
each is refused quickly with a message naming the file, without reading or allocating more than
the file declares or the reader's documented bound. A case that limits memory with `ulimit -v`
is skipped under AddressSanitizer (which reserves terabytes of address space)."""
import gzip
import struct
import zlib

from adv import case, sanitized
from cases_numbers_data import LABELS3, compiled_m, idx, idx_values, m_nn, patched, trained_xor, \
    with_checksum

TRAIN_XOR = "./xor train --quiet --epochs 1 --restarts 1 --data %s"
CSV_LINE_LIMIT = (1 << 20) + 1024 * 3            # xor: 2 inputs, 1 output
IMPORT_LIMIT = (1 << 20) + 64 * 17               # xor: 17 parameters
IMAGES = idx_values(0x08, [3, 2, 2], range(12))


def csv_refused(name, path, err, files=None, **kw):
    return case(name, TRAIN_XOR % path, models=["xor"], files=files or {}, exit=1, err=err,
                creates=[], **kw)


def predict_refused(name, path, err, files=None, **kw):
    return case(name, "./xor predict --input %s" % path, models=["xor"], files=files or {},
                setup=trained_xor, exit=1, err=err, creates=[], **kw)


def idx_refused(name, images, err, labels=LABELS3, cmd="./m train --quiet", **kw):
    files = {"m.nn": m_nn(), "lab.idx": labels}
    if images is not None:
        files["img.idx"] = images
    return case(name, cmd, files=files, setup=kw.pop("setup", compiled_m), exit=kw.pop("exit", 1), err=err,
                creates=[], **kw)


def asan_build(ctx):
    return "AddressSanitizer reserves more address space than ulimit -v allows" \
        if sanitized(ctx) else None


def gz_stream(path, head, size, fill=0):
    """head then `size` bytes of `fill`, gzip-compressed into path as it is compressed."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = bytes([fill]) * (1 << 20)
    with open(path, "wb") as f:
        f.write(z.compress(head))
        for _ in range(size >> 20):
            f.write(z.compress(block))
        f.write(z.flush())


def write(ctx, name, data):
    with open(ctx.path(name), "wb") as f:
        f.write(data)


def xor_weights(ctx):
    trained_xor(ctx)
    with open(ctx.path("xor.weights"), "rb") as f:
        return f.read()


def weights_case(name, make, err, cmd="./xor eval --weights w.weights", **kw):
    """eval of a weights file made by make(image of a trained xor.weights) in setup."""
    def setup(ctx):
        write(ctx, "w.weights", make(xor_weights(ctx)))
    return case(name, cmd, models=["xor"], setup=setup, exit=1, err=err, creates=[], **kw)


def scal_section(mode, values):
    data = struct.pack("<II", 2, mode) + struct.pack("<4d", *values)
    return b"SCAL" + bytes(4) + struct.pack("<Q", len(data)) + data


def with_section(img, section):
    """img with one more trailer section (count and trailer size updated, checksum too)."""
    n, tb = struct.unpack_from("<IQ", img, 28)
    return with_checksum(img[:28] + struct.pack("<IQ", n + 1, tb + len(section)) + img[40:] + section)


def f64_image(img):
    """The xor image rewritten as f64 weights: 17 doubles, precision 8."""
    params = struct.unpack_from("<17f", img, 48)
    return with_checksum(img[:24] + struct.pack("<I", 8) + img[28:48] + struct.pack("<17d", *params))


# 4·(2^62+1) = (2^31+2^16+1)(2^31−2^16+1)·4 ≡ 4 (mod 2^64): 1 sample of 4 values if it wraps
WRAPPING_DIMS = [1, 4, 2**31 + 2**16 + 1, 2**31 - 2**16 + 1]

CASES = [
    # ---- CSV files that are not data, or never end ----
    csv_refused("csv-empty-file", "d.csv", r"d\.csv: empty file", files={"d.csv": ""}),
    csv_refused("csv-blank-lines-only", "d.csv", r"d\.csv: empty file", files={"d.csv": "\n  \n\t\n"}),
    csv_refused("csv-header-only", "d.csv", r"d\.csv: no data rows after the header", files={"d.csv": "x1,x2,y\n"}),
    csv_refused("csv-directory", "d", r"d: read error: Is a directory", files={"d/keep": ""}),
    csv_refused("csv-missing-file", "nope.csv", r"nope\.csv: cannot open: No such file or directory"),
    # /dev/zero is not a regular file: read as CSV without looking into it first (a pipe's
    # first bytes would be lost); its first byte is a NUL
    csv_refused("csv-dev-zero", "/dev/zero", r"/dev/zero:1: NUL byte in a text line", timeout=20),
    csv_refused("csv-dev-zero-with-labels", "/dev/zero --labels /dev/zero",
                r"/dev/zero: not an IDX file \(magic 0x00000000\)", timeout=20),
    case("csv-endless-line-from-pipe", "yes 1 | tr -d '\\n' | " + TRAIN_XOR % "-", models=["xor"],
         exit=1, err=r"<stdin>:1: line longer than %d bytes" % CSV_LINE_LIMIT, creates=[], timeout=30),
    csv_refused("csv-long-line", "d.csv", r"d\.csv:2: line longer than %d bytes" % CSV_LINE_LIMIT,
                files={"d.csv": "x1,x2,y\n" + "1" * (CSV_LINE_LIMIT + 10) + ",0,0\n"}),
    csv_refused("csv-nul-byte", "d.csv", r"d\.csv:2: NUL byte in a text line", files={"d.csv": b"x1,x2,y\n0,0\x00,0\n"}),
    # lines ended by CR alone read as one line whose fields run together across the CRs
    csv_refused("csv-cr-line-ends", "d.csv", r"d\.csv:1: a carriage return inside the line \(lines ended by CR "
                r"alone, as in old Mac text\?\): end each line with LF or CR LF",
                files={"d.csv": "x1,x2,y\r0,0,0\r0,1,1\r"}),
    predict_refused("predict-input-cr-line-ends", "in.csv", r"in\.csv:1: a carriage return inside the line",
                    files={"in.csv": "0,1\r1,1\r"}),
    # UTF-16 text (a spreadsheet's "Unicode text") is a NUL between every letter
    csv_refused("csv-utf16-le", "d.csv", r"d\.csv:1: UTF-16 text \(it starts with the byte-order mark FF FE\): save "
                r"it as UTF-8", files={"d.csv": b"\xff\xfe" + "x1,x2,y\n0,0,0\n".encode("utf-16-le")}),
    csv_refused("csv-utf16-be", "d.csv", r"d\.csv:1: UTF-16 text \(it starts with the byte-order mark FE FF\)",
                files={"d.csv": b"\xfe\xff" + "x1,x2,y\n0,0,0\n".encode("utf-16-be")}),
    csv_refused("csv-ragged-row", "d.csv", r"d\.csv:3: expected 3 fields, found 2",
                files={"d.csv": "x1,x2,y\n0,0,0\n0,1\n"}),
    csv_refused("csv-extra-field", "d.csv", r"d\.csv:2: expected 3 fields, found 4",
                files={"d.csv": "x1,x2,y\n0,0,0,0\n"}),
    csv_refused("csv-blank-line-between-rows", "d.csv", r"d\.csv:3: empty line",
                files={"d.csv": "x1,x2,y\n0,0,0\n\n1,1,0\n"}),
    case("csv-very-wide-row-is-read", TRAIN_XOR % "d.csv", models=["xor"], exit=0, creates=["xor.weights"],
         files={"d.csv": ",".join(["0"] * 100000) + "\n"}),
    csv_refused("csv-gz-truncated", "d.csv.gz", r"d\.csv\.gz: read error: unexpected end of file",
                files={"d.csv.gz": gzip.compress(b"x1,x2,y\n" + b"0,1,1\n" * 1000)[:-12]}),
    case("csv-gz-bomb-one-line", TRAIN_XOR % "d.csv.gz", models=["xor"],
         setup=lambda ctx: gz_stream(ctx.path("d.csv.gz"), b"x1,x2,y\n", 256 << 20, fill=ord("1")),
         exit=1, err=r"d\.csv\.gz:2: line longer than %d bytes" % CSV_LINE_LIMIT, creates=[], timeout=20),
    predict_refused("predict-input-dev-zero", "/dev/zero", r"/dev/zero:1: NUL byte in a text line",
                    timeout=20),
    predict_refused("predict-input-nul-bytes", "in.csv", r"in\.csv:1: NUL byte", files={"in.csv": b"1\x00\x00"}),
    predict_refused("predict-input-directory", "d", r"d: read error: Is a directory", files={"d/keep": ""}),
    predict_refused("predict-input-empty", "in.csv", r"in\.csv: empty file", files={"in.csv": ""}),
    predict_refused("predict-input-ragged", "in.csv", r"in\.csv:2: expected 2 fields, found 3",
                    files={"in.csv": "0,1\n0,1,2\n"}),
    # ---- IDX: headers, sizes, gzip ----
    idx_refused("idx-wrong-magic", b"P5\n2 2\n255\n" + bytes(4), r"img\.idx: not an IDX file \(magic 0x50350a32\)"),
    idx_refused("idx-unknown-type", idx(0x07, [3, 4], bytes(12)), r"img\.idx: not an IDX file \(magic 0x00000702\)"),
    idx_refused("idx-empty-file", b"", r"img\.idx: empty file"),
    idx_refused("idx-truncated-header", idx(0x08, [3, 2, 2])[:9],
                r"img\.idx: truncated: the header of 3 dimensions needs 16 bytes, found 9"),
    idx_refused("idx-dims-wrap-past-2-64", idx(0x08, WRAPPING_DIMS, bytes(4)),
                r"img\.idx: dimensions too large", labels=idx_values(0x08, [1], [0])),
    idx_refused("idx-dims-product-2-64", idx(0x08, [0x20000, 0x10000, 0x80000000]), r"img\.idx: dimensions too large"),
    idx_refused("idx-dims-over-256-gib", idx(0x0E, [2**31, 2**5]), r"img\.idx: dimensions too large"),
    case("idx-declared-8gib-plain", "ulimit -v 1500000; ./m predict --input big.idx",
         files={"m.nn": m_nn(), "img.idx": IMAGES, "lab.idx": LABELS3,
                "big.idx": idx(0x08, [2**31, 2, 2], bytes(16))},
         setup=lambda ctx: (compiled_m(ctx), ctx.sh("./m train --quiet")),
         needs=asan_build, exit=1, creates=[],
         err=r"big\.idx: truncated: expected 8589934592 bytes of data, found 16"),
    case("idx-declared-8gib-gz", "ulimit -v 1500000; ./m predict --input big.idx.gz",
         files={"m.nn": m_nn(), "img.idx": IMAGES, "lab.idx": LABELS3,
                "big.idx.gz": gzip.compress(idx(0x08, [2**31, 2, 2], bytes(16)))},
         setup=lambda ctx: (compiled_m(ctx), ctx.sh("./m train --quiet")),
         needs=asan_build, exit=1, creates=[],
         err=r"big\.idx\.gz: truncated: expected 8589934592 bytes of data, found 16"),
    idx_refused("idx-gzip-bomb", None, r"img\.idx\.gz: 256 or more unexpected bytes after the data",
                cmd="./m train --quiet --data img.idx.gz --labels lab.idx", timeout=20,
                setup=lambda ctx: (compiled_m(ctx), gz_stream(ctx.path("img.idx.gz"), IMAGES, 256 << 20))),
    idx_refused("idx-gzip-bomb-labels", IMAGES, r"lab\.idx\.gz: 256 or more unexpected bytes after the data",
                cmd="./m train --quiet --labels lab.idx.gz", timeout=20,
                setup=lambda ctx: (compiled_m(ctx), gz_stream(ctx.path("lab.idx.gz"), LABELS3, 256 << 20))),
    idx_refused("idx-gz-truncated", None, r"img\.idx\.gz: read error: unexpected end of file",
                cmd="./m train --quiet --data img.idx.gz --labels lab.idx",
                setup=lambda ctx: (compiled_m(ctx), write(ctx, "img.idx.gz", gzip.compress(IMAGES)[:-10]))),
    idx_refused("idx-plain-truncated", IMAGES[:-1], r"img\.idx: truncated: expected 12 bytes of data, found 11"),
    idx_refused("idx-plain-trailing-bytes", IMAGES + b"abc", r"img\.idx: 3 unexpected bytes after the data"),
    idx_refused("idx-label-count-mismatch", IMAGES, r"img\.idx: 3 samples but \S*lab\.idx has 2 labels",
                labels=idx_values(0x08, [2], [0, 1])),
    idx_refused("idx-labels-two-dims", IMAGES, r"lab\.idx: a label file has 1 dimension, this one has 2",
                labels=idx_values(0x08, [3, 1], [0, 1, 2])),
    idx_refused("idx-no-samples", idx(0x08, [0, 2, 2]), r"img\.idx: no samples"),
    idx_refused("idx-shape-mismatch", idx_values(0x08, [3, 5], range(15)),
                r"img\.idx: samples have 5 values but the network has 4 inputs"),
    idx_refused("idx-labels-missing", IMAGES, r"nope\.idx: cannot open: No such file",
                cmd="./m train --quiet --labels nope.idx"),
    # '-' is standard input for IDX files as for CSV (a pipe given with labels is IDX images)
    case("idx-images-from-stdin", "cat img.idx | ./m eval --data - --labels lab.idx", files={"m.nn": m_nn(),
         "img.idx": IMAGES, "lab.idx": LABELS3}, setup=lambda ctx: (compiled_m(ctx), ctx.sh("./m train --quiet")),
         exit=0, out=r"m: 3 samples from -\n", creates=[]),
    case("idx-labels-from-stdin", "./m train --quiet --labels - < lab.idx", files={"m.nn": m_nn(),
         "img.idx": IMAGES, "lab.idx": LABELS3}, setup=compiled_m, exit=0, creates=["m.weights"]),
    idx_refused("idx-stdin-truncated", None, r"<stdin>: truncated: the header of 3 dimensions needs 16 bytes, found 10",
                cmd="head -c 10 img.idx | ./m train --quiet --data - --labels lab.idx",
                setup=lambda ctx: (compiled_m(ctx), write(ctx, "img.idx", IMAGES))),
    idx_refused("idx-images-and-labels-both-stdin", IMAGES, r"--data and --labels both read standard input",
                cmd="./m train --quiet --data - --labels - < img.idx", exit=2),
    idx_refused("idx-label-f32-near-an-integer", IMAGES, r"lab\.idx: label 2\.00000024 of sample 3 is out of range",
                labels=idx(0x0D, [3], struct.pack(">3f", 0, 1, 2.0000002))),
    # ---- weights files ----
    case("weights-dev-zero", "./xor eval --weights /dev/zero", models=["xor"], exit=1, timeout=20,
         err=r"/dev/zero: not an nnc weights file", creates=[]),
    case("weights-dev-urandom", "./xor eval --weights /dev/urandom", models=["xor"], exit=1, timeout=20,
         err=r"/dev/urandom: not an nnc weights file", creates=[]),
    case("resume-from-dev-zero", "./xor train --quiet --resume /dev/zero", models=["xor"], exit=1,
         timeout=20, err=r"/dev/zero: not an nnc weights file", creates=[]),
    case("weights-pipe-goes-on-after-the-end", "cat xor.weights /dev/zero | ./xor eval --weights /dev/stdin",
         models=["xor"], setup=trained_xor, exit=1, timeout=20, creates=[],
         err=r"/dev/stdin: unexpected bytes after the end of the weights \(\d+ bytes declared\)"),
    case("weights-pipe-header-declares-huge-trailer", "cat w.weights /dev/zero | ./xor eval --weights /dev/stdin",
         models=["xor"], exit=1, timeout=20, creates=[],
         setup=lambda ctx: write(ctx, "w.weights", patched(xor_weights(ctx), 32, struct.pack("<Q", 2**39))),
         err=r"corrupted header: 549755813888 bytes of trailer sections"),
    # train --resume reads the file's label map and scaling before the data, then resumes
    # from it: a pipe gives its bytes once, and is read once
    case("resume-from-a-pipe", "cat xor.weights | ./xor train --quiet --epochs 1 --restarts 1 --resume /dev/stdin "
         "--save r.w", models=["xor"], setup=trained_xor, exit=0, creates=["r.w", "r.w.ckpt"],
         err=r"\A(warning: [^\n]*\n)*\Z"),
    case("resume-checkpoint-from-a-pipe", "cat c.ckpt | ./xor train --epochs 3 --restarts 2 --resume /dev/stdin "
         "--save r.w", models=["xor"], setup=lambda ctx: ctx.sh("./xor train --quiet --epochs 2 --restarts 2 "
                                                                 "--checkpoint c.ckpt --checkpoint-every 1"),
         exit=0, out=r"resuming from /dev/stdin: restart 2/2 after epoch 2/3", creates=["r.w"], may_change=["c.ckpt"]),
    # '-' is standard input for weights as for data, and only one file can read it
    case("weights-from-stdin", "cat xor.weights | ./xor eval --weights -", models=["xor"], setup=trained_xor,
         exit=0, out=r"eval\s+accuracy", creates=[]),
    case("resume-from-stdin", "cat xor.weights | ./xor train --quiet --epochs 1 --restarts 1 --resume - --save r.w",
         models=["xor"], setup=trained_xor, exit=0, creates=["r.w", "r.w.ckpt"]),
    case("stdin-for-data-and-test", "cat xor.csv | " + TRAIN_XOR % "- --test -", models=["xor"], exit=2, creates=[],
         err=r"--data and --test both read standard input \('-'\); give a file for one of them"),
    case("stdin-for-data-and-resume", "cat xor.weights | " + TRAIN_XOR % "- --resume -", models=["xor"],
         setup=trained_xor, exit=2, creates=[], err=r"--data and --resume both read standard input"),
    case("stdin-for-predict-rows-and-weights", "cat xor.weights | ./xor predict --weights -", models=["xor"],
         setup=trained_xor, exit=2, creates=[], err=r"--input and --weights both read standard input"),
    case("stdin-for-eval-data-and-weights", "cat xor.weights | ./xor eval --weights - --data -", models=["xor"],
         setup=trained_xor, exit=2, creates=[], err=r"--data and --weights both read standard input"),
    # standard output is no input file: data from standard input, log to standard output
    case("data-from-stdin-log-to-stdout", "cat xor.csv | " + TRAIN_XOR % "- --log - --save r.w", models=["xor"],
         exit=0, out=r"\Arestart,epoch,", creates=["r.w", "r.w.ckpt"]),
    weights_case("weights-giant-declared-params", lambda img: patched(img, 16, struct.pack("<Q", 2**40)),
                 r"w\.weights: 1099511627776 parameters, the network has 17"),
    weights_case("weights-params-beyond-bound", lambda img: patched(img, 16, struct.pack("<Q", 2**63)),
                 r"w\.weights: corrupted header"),
    weights_case("weights-section-count-lies", lambda img: patched(img, 28, struct.pack("<I", 200)),
                 r"w\.weights: corrupted header"),
    weights_case("weights-truncated", lambda img: img[:-5], r"w\.weights: truncated: expected (\d+) bytes, found \d+"),
    weights_case("weights-header-only", lambda img: img[:48], r"w\.weights: truncated: expected \d+ bytes, found 48"),
    weights_case("weights-short-header", lambda img: img[:20], r"w\.weights: truncated: the header needs 48 bytes, found 20"),
    weights_case("weights-trailing-bytes", lambda img: img + b"abc", r"w\.weights: 3 unexpected bytes after the end"),
    weights_case("weights-empty", lambda img: b"", r"w\.weights: empty file"),
    weights_case("weights-wrong-precision", f64_image, r"w\.weights: f64 weights, the network is f32"),
    weights_case("weights-flipped-byte", lambda img: patched(img, 60, b"\x7f", checksum=False),
                 r"w\.weights: checksum mismatch"),
    weights_case("weights-nan-parameter", lambda img: patched(img, 48 + 4 * 3, struct.pack("<f", float("nan"))),
                 r"w\.weights: parameter 3 is nan, not a finite number"),
    weights_case("weights-inf-parameter", lambda img: patched(img, 48 + 4 * 16, struct.pack("<f", float("inf"))),
                 r"w\.weights: parameter 16 is inf, not a finite number"),
    weights_case("weights-scaling-mode-corrupted", lambda img: with_section(img, scal_section(9, [0, 0, 1, 1])),
                 r"w\.weights: input scaling section: unknown input scaling mode 9"),
    weights_case("weights-scaling-nan", lambda img: with_section(img, scal_section(2, [0, 0, float("nan"), 1])),
                 r"w\.weights: input scaling section: input 0: offset 0 and multiplier nan are not a zscore scaling"),
    case("weights-directory", "./xor eval --weights d", models=["xor"], files={"d/keep": ""}, exit=1,
         err=r"d: read error: Is a directory", creates=[]),
    # ---- weights import text ----
    case("import-endless-input", "./xor weights import --weights w.weights < /dev/zero", models=["xor"],
         exit=1, timeout=20, creates=[], err=r"<stdin>: more than %d bytes" % IMPORT_LIMIT),
    case("import-long-text", "./xor weights import --weights w.weights --input t.txt", models=["xor"],
         files={"t.txt": " " * (IMPORT_LIMIT + 1)}, exit=1, creates=[],
         err=r"t\.txt: more than %d bytes" % IMPORT_LIMIT),
    case("import-binary", "./xor weights import --weights w.weights --input xor.weights", models=["xor"],
         setup=trained_xor, exit=1, creates=[], err=r"xor\.weights: read error or binary data"),
]
