#!/usr/bin/env python3
"""adv.py — the adversarial suite: bad input, hostile files and faults, one case at a time.

Consumes: --nnc (the compiler), --examples (examples/), --work (a scratch directory, emptied
first), --class C (runs the cases of test/adversarial/cases_C.py and cases_C_*.py; several
allowed), optional --filter SUBSTR.
Produces: one line per case, `PASS class/name` or `FAIL class/name: why` with the command's
output, then `N passed, N failed`; exit status 1 if any case failed.

A case runs in a fresh directory holding its files and the example executables it names. Every
file there before the command runs is hashed; afterwards each must be intact (same bytes, same
symlink target, same mode) unless the case lists it in `may_change`. New files must match the
case's `creates` globs when it gives them (a temporary left behind is a failure). The exit status
must be `exit`, and `err` / `out` (regular expressions, re.S) must be found in stderr / stdout.
A case's timeout is multiplied by 4 when nnc is built with AddressSanitizer.

Each case module defines CASES, a list of case(...) values; see case() below. Example executables
are compiled once per run from examples/ (MODELS) and copied into each case that asks for them.
"""
import argparse
import fnmatch
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (source under examples/, data files it trains on, copied beside the executable)
MODELS = {
    "xor": ("xor.nn", ["xor.csv"]),
    "iris": ("iris.nn", ["iris.csv"]),
    "regression": ("regression.nn", ["regression.csv"]),
    "seed": ("seed.nn", ["seed.csv"]),
    "parity": ("parity.nn", ["parity.csv"]),
}


class Case:
    def __init__(self, name, cmd=None, exit=0, err=None, out=None, files=None, models=(),
                 may_change=(), creates=None, setup=None, run=None, check=None, timeout=60,
                 env=None, needs=None):
        self.name, self.cmd, self.exit, self.err, self.out = name, cmd, exit, err, out
        self.files, self.models, self.may_change = files or {}, list(models), list(may_change)
        self.creates, self.setup, self.run, self.check = creates, setup, run, check
        self.timeout, self.env, self.needs = timeout, env or {}, needs


def case(name, cmd=None, **kw):
    """One case. cmd: a shell command run in the case directory, with $NNC the compiler and
    $EXAMPLES examples/. exit: the expected status (an int, or a tuple of allowed ones).
    err/out: regular expressions stderr/stdout must contain (a list: all of them).
    files: {path: str or bytes} written first. models: example executables copied in (their
    data files too), e.g. ['xor']. may_change: files the command may replace or remove.
    creates: globs every new file must match (None: any new file is fine). setup(ctx): runs
    after the files are written, before the snapshot. run(ctx) -> Result: replaces cmd for
    cases that drive processes themselves (kills, concurrency). check(ctx, result) -> None or a
    message: a further assertion. needs(ctx) -> None or a reason to skip (counted as passed,
    printed as SKIP). timeout: seconds before the case fails as a hang."""
    return Case(name, cmd, **kw)


def chain(*steps):
    """A setup that runs each of steps(ctx) in turn."""
    def setup(ctx):
        for s in steps:
            s(ctx)
    return setup


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


class Ctx:
    """What a case's callables see: its directory, the compiler and helpers to run commands."""

    def __init__(self, opts, d):
        self.dir, self.nnc, self.examples, self.opts = d, opts.nnc, opts.examples, opts

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def env(self, extra=None):
        e = dict(os.environ, NNC=self.nnc, EXAMPLES=self.examples)
        e.update(extra or {})
        return e

    def sh(self, cmd, timeout=60, env=None, stdin=None):
        """Runs cmd with sh in the case directory; a Result (code -1 on a hang)."""
        try:
            p = subprocess.run(["sh", "-c", cmd], cwd=self.dir, env=self.env(env), input=stdin,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
            return Result(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
        except subprocess.TimeoutExpired as e:
            return Result(-1, (e.stdout or b"").decode(errors="replace"), "(timed out after %d s)" % timeout)

    def popen(self, cmd, env=None):
        return subprocess.Popen(["sh", "-c", "exec " + cmd], cwd=self.dir, env=self.env(env),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def snapshot(d):
    """path -> (kind, content hash or link target, mode) for everything under d."""
    snap = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                snap[rel] = ("link", os.readlink(p), 0)
            elif stat.S_ISDIR(st.st_mode):
                snap[rel] = ("dir", "", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                try:
                    with open(p, "rb") as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            h.update(block)
                    snap[rel] = ("file", h.hexdigest(), stat.S_IMODE(st.st_mode))
                except PermissionError:
                    snap[rel] = ("file", "unreadable", stat.S_IMODE(st.st_mode))
            else:
                snap[rel] = ("other", "", stat.S_IMODE(st.st_mode))
    return snap


def damage(before, after, may_change, creates):
    """What the command did that it must not have: a message, or None."""
    for rel, was in sorted(before.items()):
        if any(fnmatch.fnmatch(rel, g) for g in may_change):
            continue
        if rel not in after:
            return "%s was removed" % rel
        if after[rel] != was:
            return "%s was changed (%s -> %s)" % (rel, was[0], after[rel][0])
    if creates is not None:
        for rel in sorted(set(after) - set(before)):
            if not any(fnmatch.fnmatch(rel, g) for g in creates):
                return "unexpected new file %s" % rel
    return None


def sanitized(ctx):
    """Whether nnc and the executables it links are the sanitizer build (--sanitized, from
    CMake: the string __asan_init is in every nnc, whose static LLVM names it)."""
    return ctx.opts.sanitized


def build_models(opts):
    """Compiles every example of MODELS once into WORK/_models/NAME/."""
    for name, (src, data) in MODELS.items():
        d = os.path.join(opts.work, "_models", name)
        os.makedirs(d)
        for f in [src] + data:
            shutil.copy(os.path.join(opts.examples, f), d)
        p = subprocess.run([opts.nnc, src, "-o", name], cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if p.returncode != 0:
            sys.exit("adv.py: cannot compile examples/%s:\n%s" % (src, p.stdout.decode()))


def prepare(opts, c, d):
    os.makedirs(d)
    for m in c.models:
        md = os.path.join(opts.work, "_models", m)
        for f in os.listdir(md):
            shutil.copy2(os.path.join(md, f), d)
    for rel, content in c.files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)


def expect_text(what, pats, text):
    for pat in [pats] if isinstance(pats, str) else (pats or []):
        if not re.search(pat, text, re.S):
            return "%s does not match /%s/" % (what, pat)
    return None


def run_case(opts, cls, c):
    """Returns (verdict, message): verdict 'PASS', 'FAIL' or 'SKIP'."""
    d = os.path.join(opts.work, cls, c.name)
    prepare(opts, c, d)
    ctx = Ctx(opts, d)
    if c.setup:
        c.setup(ctx)
    if c.needs:
        why = c.needs(ctx)
        if why:
            return "SKIP", why
    before = snapshot(d)
    t0 = time.time()
    timeout = c.timeout * opts.slowdown
    r = c.run(ctx) if c.run else ctx.sh(c.cmd, timeout, c.env)
    secs = time.time() - t0
    want = c.exit if isinstance(c.exit, tuple) else (c.exit,)
    problem = None
    if r.code == -1:
        problem = "hung (no exit within %d s)" % timeout
    elif r.code not in want:
        problem = "exit status %d, expected %s" % (r.code, " or ".join(map(str, want)))
    problem = (problem or expect_text("stderr", c.err, r.err) or expect_text("stdout", c.out, r.out)
               or damage(before, snapshot(d), c.may_change, c.creates)
               or (c.check(ctx, r) if c.check else None))
    if problem:
        return "FAIL", "%s\n  command: %s\n  ---- stdout ----\n%s\n  ---- stderr ----\n%s" % (
            problem, c.cmd or "(custom run)", r.out[-3000:], r.err[-3000:])
    return "PASS", "%.1f s" % secs


def load_cases(cls):
    """The CASES of every cases_CLASS.py and cases_CLASS_*.py, in file name order."""
    cases = []
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, "cases_%s.py" % cls)) +
                       glob.glob(os.path.join(HERE, "cases_%s_*.py" % cls))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        cases += mod.CASES
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit("adv.py: class %s: duplicate case names %s" % (cls, ", ".join(sorted(dup))))
    return cases


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnc", required=True)
    p.add_argument("--examples", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--class", dest="classes", action="append", required=True)
    p.add_argument("--filter", default="")
    p.add_argument("--sanitized", type=int, default=0, help="1: nnc and its runtime are the sanitizer build")
    opts = p.parse_args()
    opts.nnc, opts.examples = os.path.abspath(opts.nnc), os.path.abspath(opts.examples)
    opts.work = os.path.abspath(opts.work)
    opts.slowdown = 4 if opts.sanitized else 1  # timeouts catch hangs, not slowness
    shutil.rmtree(opts.work, ignore_errors=True)
    os.makedirs(opts.work)
    build_models(opts)
    passed = failed = 0
    for cls in opts.classes:
        for c in load_cases(cls):
            if opts.filter not in c.name:
                continue
            verdict, msg = run_case(opts, cls, c)
            print("%s %s/%s: %s" % (verdict, cls, c.name, msg), flush=True)
            if verdict == "FAIL":
                failed += 1
            else:
                passed += 1
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
