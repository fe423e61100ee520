#!/usr/bin/env python3
"""mutate.py — byte-level mutation testing of the nnc front-end.

Takes every .nn file under the given directories, applies random byte-level mutations
(flip, insert, delete, duplicate a span, splice two files, insert a token), runs
`nnc --check` on each mutant and fails if any run crashes, hangs, exits with a status
other than 0 or 1, or exits with 1 without a `file:line:col: error:` line.
Prints `N passed, N failed` at the end. Deterministic for a given --seed."""
import argparse
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import tempfile

TOKENS = [b"network", b"input", b"layer", b"neuron", b"output", b"bias", b"train", b"fixed",
          b"<-", b"..", b"{", b"}", b"[", b"]", b"(", b")", b";", b",", b"*", b"-", b"+", b"/",
          b"softmax", b"relu", b"leaky_relu(", b"0", b"-1", b"1e999", b"99999999999999", b"\"",
          b"/*", b"//", b"\x00", b"\xff", b"\n", b"x", b"h", b"y", b"data", b"loss", b"sgd",
          b"cross_entropy", b"batch 0", b"rate -1", b"[0]", b"[1000000000]"]

ERROR_LINE = re.compile(rb"^[^:\n]+:\d+:\d+: error: ", re.M)


def mutate(rng, data, others):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        pos = rng.randint(0, len(data))
        if op == 0 and data:
            data[min(pos, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[pos:pos] = bytes([rng.randrange(256)])
        elif op == 2 and data:
            del data[pos:pos + rng.randint(1, 16)]
        elif op == 3 and data:
            start = rng.randrange(len(data))
            data[pos:pos] = data[start:start + rng.randint(1, 64)]
        elif op == 4:
            other = rng.choice(others)
            start = rng.randrange(len(other) or 1)
            data[pos:pos] = other[start:start + rng.randint(1, 200)]
        elif op == 5:
            data[pos:pos] = rng.choice(TOKENS)
        else:
            data[pos:pos] = b" " + rng.choice(TOKENS) + b" "
    return bytes(data)


def check(nnc, path):
    try:
        p = subprocess.run([nnc, "--check", path], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "hang"
    except OSError as e:
        return "cannot run nnc: %s" % e
    if p.returncode == 0:
        return None
    if p.returncode == 1 and ERROR_LINE.search(p.stderr):
        return None
    return "exit %d: %s" % (p.returncode, p.stderr[-400:].decode("utf-8", "replace"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", default=None, help="directory to keep failing inputs in")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    seeds = []
    for d in args.dirs:
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith(".nn"):
                    with open(os.path.join(root, f), "rb") as fh:
                        seeds.append(fh.read())
    if not seeds:
        print("no .nn files found", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        mutants = []
        for i in range(args.count):
            path = os.path.join(tmp, "m%05d.nn" % i)
            with open(path, "wb") as fh:
                fh.write(mutate(rng, rng.choice(seeds), seeds))
            mutants.append(path)
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for path, result in zip(mutants, pool.map(lambda p: check(args.nnc, p), mutants)):
                if result:
                    failed += 1
                    if failed <= 10:
                        print("FAIL %s: %s" % (os.path.basename(path), result))
                    if args.keep:
                        os.makedirs(args.keep, exist_ok=True)
                        with open(path, "rb") as src, open(os.path.join(args.keep, os.path.basename(path)), "wb") as dst:
                            dst.write(src.read())
    print("%d passed, %d failed" % (args.count - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
