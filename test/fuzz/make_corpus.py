#!/usr/bin/env python3
"""make_corpus.py — writes the seed corpora of the reader fuzz targets into corpus/<target>/.

Consumes: examples/*.csv (the first lines), the weights format of include/nnc/nnrt.h, and
optionally a checkpoint file of the toy network (`toy_xor train --checkpoint-every 1
--validation 0.25`) to copy into corpus/checkpoint/. Produces: small seed files; the first
byte of a csv or idx seed is the target's option byte (see fuzz_csv.c, fuzz_idx.c). Inputs
that once crashed a target are added by hand as crash-<name> and never regenerated."""
import gzip
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def head(name, lines):
    with open(os.path.join(EXAMPLES, name), "rb") as f:
        return b"".join(f.readlines()[:lines])


def csv_seeds():
    xor = head("xor.csv", 5)
    put("csv", "xor-detect", b"\x00" + xor)
    put("csv", "xor-header", b"\x02" + xor)
    put("csv", "xor-f32-gz", b"\x28" + xor)
    put("csv", "xor-predict", b"\x10" + b"0,1\n1,1\n")
    put("csv", "iris-onehot", b"\x06" + b"1,2,0\n3,4,2\n5,6,1\n")
    put("csv", "regression", b"\x00" + head("regression.csv", 4))
    put("csv", "bom", b"\x00\xef\xbb\xbfx1,x2,y\r\n0,1,1\r\n")
    put("csv", "typo-header", b"\x00" + b"1.0,2.x,3\n1,2,3\n")
    put("csv", "quoted", b"\x00" + b'"x, one","say ""y""",z\n"0",  "1" ,"1,5"\n"0,1,0\n')
    put("csv", "gz-then-rows", b"\x00" + gzip.compress(xor, mtime=0) + b"1,1,0\n")
    put("csv", "gz-members-padded", b"\x08" + gzip.compress(xor[:9], mtime=0) + gzip.compress(xor[9:], mtime=0)
        + bytes(16))
    put("csv", "f32-range", b"\x08" + b"1e39,-3.5e38,1\n1e-50,0,0\n")
    put("csv", "words", b"\x01" + b"nan,inf,-Infinity\n0x1p3,1e,.5\n\"1\",\" 2 \",3\n")
    put("csv", "gzip-file", b"\x00" + gzip.compress(xor))


def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_seeds():
    u8 = idx(0x08, [3, 2, 2], bytes(range(1, 13)))
    f64 = idx(0x0E, [3, 2, 2], b"".join(struct.pack(">d", v) for v in [1e39, -2, 0.5, 3] * 3))
    f32 = idx(0x0D, [3, 4], b"".join(struct.pack(">f", v) for v in [1.5, -2, 0.25, 8] * 3))
    i32 = idx(0x0C, [3, 4], b"".join(struct.pack(">i", v) for v in range(12)))
    labels = idx(0x08, [3], bytes([0, 1, 2]))
    put("idx", "images-u8", b"\x00" + u8)
    put("idx", "images-u8-gz", b"\x02" + u8)
    put("idx", "images-f64-f32model", b"\x04" + f64)
    put("idx", "images-f32", b"\x00" + f32)
    put("idx", "images-i32-predict", b"\x08" + i32)
    put("idx", "labels", b"\x01" + labels)
    put("idx", "labels-gz", b"\x03" + labels)
    put("idx", "labels-i16", b"\x01" + idx(0x0B, [3], struct.pack(">hhh", 0, 2, 1)))
    put("idx", "dims-overflow", b"\x00" + idx(0x08, [0x20000, 0x10000, 0x80000000], b""))
    put("idx", "declared-8gib", b"\x00" + idx(0x08, [2, 0x10000, 0x10000], b"\x01" * 16))
    put("idx", "gzip-file", b"\x00" + gzip.compress(u8))
    put("idx", "gzip-then-garbage", b"\x00" + gzip.compress(u8, mtime=0) + b"\x1f\x8bgarbage")


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def weights(fingerprint, rb, params, sections=()):
    fmt = "<f" if rb == 4 else "<d"
    body = b"".join(struct.pack(fmt, v) for v in params)
    trailer = b"".join(tag + b"\0" * 4 + struct.pack("<Q", len(data)) + data for tag, data in sections)
    head_ = b"NNCW" + struct.pack("<IQQIIQ", 1, fingerprint, len(params), rb, len(sections), len(trailer))
    img = head_ + b"\0" * 8 + body + trailer
    checksum = fnv1a(img[48:], fnv1a(img[:40]))
    return img[:40] + struct.pack("<Q", checksum) + img[48:]


def weights_seeds():
    params = [0.1 * (i - 6) for i in range(13)]
    scal = struct.pack("<II", 2, 2) + struct.pack("<4d", 1.0, 2.0, 0.5, 0.25)
    put("weights", "toy-f64", weights(0x746f790000000008, 8, params))
    put("weights", "toy-f32-scaled", weights(0x746f790000000004, 4, params, [(b"SCAL", scal)]))
    put("weights", "toy-f64-header-lies", weights(0x746f790000000008, 8, params)[:48])
    put("weights", "json", ("{\n  \"fingerprint\": \"0x746f790000000008\",\n  \"params\": [" +
                            ", ".join("%.17g" % v for v in params) + "]\n}\n").encode())
    put("weights", "csv", ("index,value\n" + "".join("%d,%.9g\n" % (i, v) for i, v in enumerate(params))).encode())
    put("weights", "toy-f64-sections", weights(0x746f790000000008, 8, params, [(b"XTRA", b""), (b"SCAL", scal),
                                                                                (b"SCAL", scal)]))
    put("weights", "json-structure", b'{"fingerprint": "0x746f790000000008", "x": [[{"params": [1]}], "\\u00e9\\""],'
        b' "scale": {"mode": "zscore", "offset": [0x10, 1e400], "multiplier": [1, 2], "mode": 1},'
        b' "params": [1, 2,], "params": []} trailing')
    put("weights", "csv-out-of-range", b"\xef\xbb\xbfindex,value\n0,1e39\n1,nan\n")


def main():
    csv_seeds()
    idx_seeds()
    weights_seeds()
    if len(sys.argv) > 1:
        os.makedirs(os.path.join(HERE, "corpus", "checkpoint"), exist_ok=True)
        shutil.copy(sys.argv[1], os.path.join(HERE, "corpus", "checkpoint", "toy-ckpt"))
        put("checkpoint", "toy-f64", weights(0x746f790000000008, 8, [0.1 * i for i in range(13)]))


if __name__ == "__main__":
    main()
