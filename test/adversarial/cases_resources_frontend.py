"""Class 3 of the adversarial suite, the compiler's side: resources and bounds.

Sources of 100,000 terms, layers, neurons and edges must be checked in linear time (each case
has a timeout a quadratic front-end misses by far, even in a sanitizer build); hostile sources
(NUL bytes, binary files, /dev/zero, a directory, floods of diagnostics, a line of a megabyte)
end in a located message; networks beyond what nnc compiles are refused at once; an out of
memory anywhere in nnc (its arenas, LLVM's C++ allocations) ends in 'out of memory' and exit
3. Crafted checkpoints (one field out of its range, the FNV-1a checksum recomputed) are refused
with the field named before any of it reaches arithmetic."""
import math
import os
import struct
import sys

from adv import Result, case, sanitized

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "tools"))
import gen_large  # noqa: E402


def big(shape, n):
    return gen_large.generate(shape, n)


# --- crafting weights files and checkpoints (format: include/nnc/nnrt.h) -------------------

HEADER = 48
CHECKSUM_AT = 40
CKPT_FIELDS = ["restart", "epoch", "run_seed", "steps", "run_best", "bad_epochs", "global_best",
               "global_best_restart"]


def fnv1a(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def parse(img):
    """(header bytes, params bytes, [(tag, data)]) of a weights file image."""
    n_params, real_bytes, n_sections = struct.unpack_from("<qII", img, 16)
    end = HEADER + n_params * real_bytes
    sections, at = [], end
    for _ in range(n_sections):
        tag, _zero, length = struct.unpack_from("<4sIQ", img, at)
        sections.append((tag.decode(), img[at + 16:at + 16 + length]))
        at += 16 + length
    return img[:HEADER], img[HEADER:end], sections


def build(header, params, sections):
    """The image with the section count, trailer size and checksum made consistent."""
    trailer = b"".join(struct.pack("<4sIQ", t.encode(), 0, len(d)) + d for t, d in sections)
    head = bytearray(header)
    struct.pack_into("<IQ", head, 28, len(sections), len(trailer))
    img = bytearray(bytes(head) + params + trailer)
    h = fnv1a(img[CHECKSUM_AT + 8:], fnv1a(img[:CHECKSUM_AT]))
    struct.pack_into("<Q", img, CHECKSUM_AT, h)
    return bytes(img)


def rewrite(path, edit):
    with open(path, "rb") as f:
        header, params, sections = parse(f.read())
    sections = edit(sections)
    with open(path, "wb") as f:
        f.write(build(header, params, sections))


def set_field(name, value):
    """An edit that sets one CKPT field (an int, or a float for the losses)."""
    def edit(sections):
        out = []
        for tag, data in sections:
            if tag == "CKPT":
                data = bytearray(data)
                i = CKPT_FIELDS.index(name)
                fmt = "<d" if isinstance(value, float) else ("<Q" if name == "run_seed" else "<q")
                struct.pack_into(fmt, data, 8 * i, value)
                data = bytes(data)
            out.append((tag, data))
        return out
    return edit


def resize_section(tag_to_change, delta):
    def edit(sections):
        return [(t, d[:len(d) + delta] if delta < 0 else d + b"\0" * delta) if t == tag_to_change else (t, d)
                for t, d in sections]
    return edit


def nan_in_section(tag_to_change):
    def edit(sections):
        out = []
        for t, d in sections:
            if t == tag_to_change:
                d = bytearray(d)
                d[0:8] = struct.pack("<d", math.nan)  # xor is f64: the first real
                d = bytes(d)
            out.append((t, d))
        return out
    return edit


def drop_section(tag_to_drop):
    return lambda sections: [(t, d) for t, d in sections if t != tag_to_drop]


TRAIN = "./xor train --quiet --epochs 4 --restarts 2"


def checkpoint_case(name, edit, err, exit=1, extra_setup=""):
    """xor trained 2 epochs of restart 1 with a checkpoint every epoch, the checkpoint edited,
    then resumed: refused with a message naming what is wrong; the checkpoint untouched."""
    def setup(ctx):
        r = ctx.sh(TRAIN + " --epochs 2 --restarts 1 --checkpoint c.ckpt --checkpoint-every 1 --save x.weights"
                   + extra_setup)
        assert r.code == 0, r.err
        rewrite(ctx.path("c.ckpt"), edit)
    return case("ckpt-" + name, TRAIN + " --resume c.ckpt --save y.weights", models=["xor"], setup=setup,
                exit=exit, err=err, creates=[])


# --- out of memory under ulimit -v ---------------------------------------------------------

def skip_sanitized(ctx):
    return "a sanitizer build maps terabytes of shadow memory: no ulimit -v" if sanitized(ctx) else None


def under_ulimits(cmd, start_kib=150000, stop_kib=600000, step_kib=10000, oom=3, message="nnc: error: out of memory"):
    """Runs cmd under growing ulimit -v until it succeeds or has run out of memory 3 times.
    Every run must exit 0, `oom` (out of memory, with the message) or 127 (the loader could
    not map a library: before the program runs); at least one must be `oom`. The Result is
    the first bad run, or exit `oom` with all stderr."""
    def run(ctx):
        errs, saw_oom = [], 0
        for kib in range(start_kib, stop_kib, step_kib):
            r = ctx.sh("ulimit -v %d; %s" % (kib, cmd), timeout=120)
            errs.append("[ulimit -v %d: exit %d] %s" % (kib, r.code, r.err[-300:]))
            if r.code not in (0, oom, 127):
                return Result(r.code, r.out, "\n".join(errs))
            if r.code == oom:
                if message not in r.err:
                    return Result(99, r.out, "\n".join(errs))
                saw_oom += 1
            if r.code == 0 or saw_oom == 3:
                break
        return Result(oom if saw_oom else 0, "", "\n".join(errs))
    return run


def short_stderr(limit):
    return lambda ctx, r: None if len(r.err) < limit else "stderr has %d bytes, expected < %d" % (len(r.err), limit)


XOR_SRC = "network v {\n  input x[2];\n  layer h[2] tanh;\n  output y[1] sigmoid;\n}\n"
WIDE_SRC = "network wide {\n  input x[1000];\n  layer h[1000] tanh;\n  output y[1] sigmoid;\n}\n"


def wide_weights(ctx):
    """wide.weights: the initial weights of WIDE_SRC, through its executable's text form."""
    r = ctx.sh("$NNC wide.nn -O0 -o wide && ./wide weights export --initial --format csv | "
               "./wide weights import --weights wide.weights && rm wide", timeout=120)
    assert r.code == 0, r.err

CASES = [
    # --- size: linear time on 100,000 of everything --------------------------------------
    case("check-100k-terms", "$NNC --check big.nn", files={"big.nn": big("terms", 100000)}, timeout=20),
    case("check-100k-layers", "$NNC --check big.nn", files={"big.nn": big("layers", 100000)}, timeout=20),
    case("check-100k-neurons", "$NNC --check big.nn", files={"big.nn": big("neurons", 100000)}, timeout=20),
    case("check-100k-unit-layers", "$NNC --check big.nn", files={"big.nn": big("unit_layers", 100000)},
         timeout=20),
    case("check-100k-edges", "$NNC --check big.nn", files={"big.nn": big("edges", 100000)}, timeout=20),
    case("emit-ir-30k-layers", "$NNC --emit-ir big.nn -o big.ir", files={"big.nn": big("layers", 30000)},
         creates=["big.ir"], timeout=20),
    # a setting of 100,000 values, 20,000 networks, 100,000 unknown names, 100,000 duplicates
    case("setting-of-100k-values", "$NNC --check s.nn", exit=1, err=r"more errors not shown|epochs",
         files={"s.nn": "network s { input x[1]; output y[1] linear;\n train { epochs "
                + " ".join(str(i) for i in range(100000)) + "; } }\n"}, timeout=20),
    case("50k-networks", "$NNC --check n.nn", exit=1, err=r"only one network per file.*more errors not shown",
         files={"n.nn": "".join("network n%d { input x; output y[1] linear; }\n" % i for i in range(50000))},
         timeout=20),
    case("100k-unknown-names", "$NNC --check u.nn", exit=1,
         err=r"unknown neuron or layer 'q0'.*100000 errors generated",
         files={"u.nn": "network u { input x[2];\n" + "".join("neuron n%d tanh <- x;\n" % i for i in range(20000))
                + " output y[1] linear <- " + " + ".join("q%d" % i for i in range(100000)) + ";\n}\n"}, timeout=20),
    case("100k-duplicate-edges", "$NNC --check d.nn", exit=1, err=r"'y' already has an edge from 'x'",
         files={"d.nn": "network d { input x[4];\n output y[1] linear <- "
                + " + ".join("x[%d]" % (i % 4) for i in range(100000)) + ";\n}\n"}, timeout=20),
    case("50k-dead-neurons-warn-capped", "$NNC --check w.nn", err=r"does not feed any output.*more warnings not shown",
         files={"w.nn": "network w { input x[2];\n" + "".join("neuron n%d tanh <- x;\n" % i for i in range(50000))
                + " output y[1] linear <- x;\n}\n"}, timeout=20, check=short_stderr(100000)),
    case("megabyte-line-shown-as-window", "$NNC --check l.nn", exit=1, err=r"l\.nn:1:\d+: error: unexpected character '\$'",
         files={"l.nn": "network l { input x; output y[1] linear <- " + "x + " * 250000 + "$ x; }\n"},
         timeout=20, check=short_stderr(2000)),
    case("deep-call-nesting", "$NNC --check n.nn", exit=1, err=r"n\.nn:\d+:\d+: error:",
         files={"n.nn": "network n { input x; output y[1] linear; train { init " + "f(" * 100000 + ")" * 100000
                + "; } }\n"}, timeout=20),
    # --- hostile sources -----------------------------------------------------------------
    case("nul-byte-in-source", "$NNC --check z.nn", exit=1, err=r"z\.nn:2:10: error: unexpected byte 0x00",
         files={"z.nn": b"network z {\n  input x\0[2];\n  output y[1] sigmoid;\n}\n"}),
    case("binary-source", "$NNC --check b.nn", exit=1, err=r"b\.nn:1:2: error: unexpected byte 0x",
         files={"b.nn": bytes((i * 7919 + 13) % 256 for i in range(200000))}, timeout=20),
    case("dev-zero-source", "$NNC --check /dev/zero", exit=1,
         err=r"nnc: error: '/dev/zero': source larger than 64 MiB", timeout=30),
    case("endless-pipe-source", "yes 'network a { input x; }' | $NNC --check /dev/stdin", exit=1,
         err=r"source larger than 64 MiB", timeout=30),
    case("directory-source", "mkdir d.nn && $NNC --check d.nn", exit=1,
         err=r"nnc: error: cannot read 'd\.nn': Is a directory"),
    case("source-from-a-pipe", "cat v.nn | $NNC --check /dev/stdin", files={"v.nn": XOR_SRC}),
    # --- large networks compile, their small groups walked from tables --------------------
    case("5000-layers-compile", "$NNC -c big.nn -o big.o", files={"big.nn": big("layers", 4999)},
         creates=["big.o"], timeout=60),
    case("1500-terms-in-one-neuron-compile", "$NNC -c big.nn -o big.o", files={"big.nn": big("terms", 1500)},
         creates=["big.o"], timeout=60),
    case("20000-chained-neurons-compile", "$NNC -c big.nn -o big.o", files={"big.nn": big("edges", 20000)},
         creates=["big.o"], timeout=120),
    case("20000-input-groups-compile", "$NNC -c big.nn -o big.o", files={"big.nn": big("inputs", 20000)},
         creates=["big.o"], timeout=60),
    case("20000-output-groups-compile", "$NNC -c big.nn -o big.o", files={"big.nn": big("outputs", 20000)},
         creates=["big.o"], timeout=60),
    # --- out of memory: exit 3 and the message, never an abort --------------------------
    # A million trained weights compiled in: little for the front-end, much for LLVM.
    case("oom-in-llvm", run=under_ulimits("$NNC -c wide.nn --weights wide.weights -o wide.o"), exit=3,
         needs=skip_sanitized, files={"wide.nn": WIDE_SRC}, setup=wide_weights, timeout=600),
    case("oom-in-the-arena", run=under_ulimits("$NNC --check big.nn", step_kib=20000), exit=3, needs=skip_sanitized,
         files={"big.nn": big("neurons", 100000)}, timeout=600),
    # a compiled model's training set that does not fit: a message and exit 1, not a crash
    case("oom-in-a-model-loading-data", models=["xor"], exit=1, needs=skip_sanitized,
         run=under_ulimits("./xor train --quiet --epochs 1 --restarts 1 --data big.csv --save q.weights",
                           start_kib=10000, stop_kib=400000, step_kib=20000, oom=1, message="out of memory"),
         files={"big.csv": "".join("%d,%d,%d\n" % (i & 1, i >> 1 & 1, (i ^ i >> 1) & 1) for i in range(1000000))},
         timeout=600),
    # --- crafted checkpoints -------------------------------------------------------------
    checkpoint_case("restart-int64-max", set_field("restart", 2**63 - 1),
                    r"c\.ckpt: checkpoint field 'restart' is 9223372036854775807, must be a restart index"),
    checkpoint_case("restart-negative", set_field("restart", -1), r"checkpoint field 'restart' is -1"),
    checkpoint_case("restart-beyond-restarts", set_field("restart", 5),
                    r"the checkpoint is in restart 6 but only 2 restarts are asked for", exit=2),
    checkpoint_case("epoch-int62", set_field("epoch", 2**62),
                    r"checkpoint field 'epoch' is 4611686018427387904, must be an epoch count from 0"),
    checkpoint_case("epoch-beyond-epochs", set_field("epoch", 7),
                    r"the checkpoint is after epoch 7 but only 4 epochs are asked for \(give --epochs 7 or more\)",
                    exit=2),
    checkpoint_case("epoch-negative", set_field("epoch", -3), r"checkpoint field 'epoch' is -3"),
    checkpoint_case("steps-negative", set_field("steps", -1), r"checkpoint field 'steps' is -1, must be from 0 to 2\^53"),
    checkpoint_case("steps-int64-max", set_field("steps", 2**63 - 1), r"checkpoint field 'steps' is 9223372036854775807"),
    checkpoint_case("bad-epochs-beyond-epoch", set_field("bad_epochs", 100),
                    r"checkpoint field 'bad_epochs' is 100, must be from 0 to 2 \(the epoch\)"),
    checkpoint_case("bad-epochs-int64-min", set_field("bad_epochs", -2**63), r"checkpoint field 'bad_epochs' is -9223372036854775808"),
    checkpoint_case("best-restart-ahead", set_field("global_best_restart", 1),
                    r"checkpoint field 'global_best_restart' is 1, must be from -1 to 0"),
    checkpoint_case("best-restart-below-minus-one", set_field("global_best_restart", -2),
                    r"checkpoint field 'global_best_restart' is -2"),
    checkpoint_case("run-best-nan", set_field("run_best", math.nan), r"checkpoint field 'run_best' is -?nan"),
    checkpoint_case("global-best-minus-inf", set_field("global_best", -math.inf), r"checkpoint field 'global_best' is -inf"),
    checkpoint_case("best-restart-without-gbst", set_field("global_best_restart", 0),
                    r"checkpoint has a best restart but no section GBST"),
    checkpoint_case("ckpt-section-short", resize_section("CKPT", -8), r"checkpoint section CKPT has 56 bytes, must have 64"),
    checkpoint_case("ckpt-section-long", resize_section("CKPT", 8), r"checkpoint section CKPT has 72 bytes, must have 64"),
    checkpoint_case("velo-section-short", resize_section("VELO", -8), r"checkpoint section VELO has \d+ bytes, must have \d+"),
    checkpoint_case("velo-section-nan", nan_in_section("VELO"), r"checkpoint section VELO holds a value that is not finite"),
]
