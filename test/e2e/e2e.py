"""e2e.py — shared helpers of the end-to-end tests in test/e2e (imported by each test script).

Every test takes --nnc (the compiler), --examples (examples/) and --work (a scratch
directory, emptied first), compiles an example with nnc into an executable and runs it the way
a user would. A failure prints 'FAIL: <reason>' and the output of the command that failed, and
exits with status 1; a missing prerequisite prints 'SKIP: <reason>' and exits with 77."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

SKIP = 77


# A network wide enough that its checkpoints take ~1 MB and its epochs a while: the kill and
# MPI tests interrupt its training (data: a CSV with inputs in columns 0..1, target in 2).
WIDE_NN = """// wide.nn — written by the end-to-end tests
network wide {
  input  x[2];
  layer  h1[256] tanh;
  layer  h2[256] tanh;
  output y linear;
  train {
    data       "%s" header inputs 0..1 targets 2;
    sgd        rate 0.001 momentum 0.9 batch 8;
    epochs     1000000;
    validation 0.2;
  }
}
"""


def fail(msg, output=None):
    if output:
        sys.stdout.write("---- output ----\n%s\n----------------\n" % output.rstrip())
    print("FAIL: " + msg)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def args(extra=None):
    """Parses the common flags (and extra(parser) ones); makes and enters the work directory."""
    p = argparse.ArgumentParser()
    p.add_argument("--nnc", required=True)
    p.add_argument("--examples", required=True)
    p.add_argument("--work", required=True)
    if extra:
        extra(p)
    a = p.parse_args()
    a.nnc = os.path.abspath(a.nnc)
    a.examples = os.path.abspath(a.examples)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    os.chdir(a.work)
    return a


def run(cmd, timeout=600, ok=(0,), what=None, stdout_only=False):
    """Runs cmd (a list); returns its stdout+stderr (only stdout with stdout_only, for output
    parsed word by word); fails the test on another exit status, showing both."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE if stdout_only else subprocess.STDOUT,
                           timeout=timeout, universal_newlines=True)
    except subprocess.TimeoutExpired as e:
        out = e.output.decode() if isinstance(e.output, bytes) else (e.output or "")
        fail("%s did not finish within %d s" % (what or " ".join(cmd), timeout), out)
    if p.returncode not in ok:
        fail("%s exited with status %d" % (what or " ".join(cmd), p.returncode), p.stdout + (p.stderr or ""))
    run.seconds = time.time() - t0
    return p.stdout


def compile_example(a, name, out=None):
    """nnc examples/NAME.nn -o NAME; returns the executable's path."""
    exe = os.path.join(a.work, out or name)
    run([a.nnc, os.path.join(a.examples, name + ".nn"), "-o", exe])
    return exe


def metric(output, line, key):
    """The number after KEY on the first line starting with LINE ('eval', 'test', ...) in output:
    metric(out, 'eval', 'accuracy') is 96.67 for 'eval   accuracy 96.67% (29/30) ...'."""
    m = re.search(r"^%s\s.*?\b%s\s+(-?[0-9.eE+-]+|nan|inf)" % (re.escape(line), re.escape(key)), output,
                  re.M)
    if not m:
        fail("no '%s ... %s N' line in the output" % (line, key), output)
    return float(m.group(1))


def ok(msg):
    print("PASS: " + msg)
    sys.exit(0)
