#!/usr/bin/env python3
"""What train shows on a terminal and in a pipe (examples/xor.nn and examples/iris.nn).

On a terminal (a pseudo-terminal here, its output replayed as a screen would show it: \\r to
column 0, \\033[K erases to the end of the line): every epoch's line stays on screen once, no
progress line is left behind or cut into, and the final messages ("early stop after ...",
the restart lines, "kept restart", "weights saved to") start at column 0. In a pipe: the
same epoch lines, plain, with no \\r and no escape sequence at all."""
import os
import pty
import re
import select
import subprocess

import e2e

EPOCH = re.compile(r"^(\[(\d+)/(\d+)\] )?epoch (\d+)/(\d+)  loss \S+  .*samples/s$")
FIRST_WORDS = ("epoch ", "[", "restart ", "early stop after epoch ", "kept ", "metric ", "train ",
               "weights saved to ", "warning: ")


def on_terminal(cmd):
    """Runs cmd with stdout and stderr on a pseudo-terminal; returns (status, raw bytes)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL, close_fds=True)
    os.close(slave)
    raw = b""
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            p.kill()
            e2e.fail("%s did not finish on the terminal" % " ".join(cmd), raw.decode(errors="replace"))
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        raw += chunk
    os.close(master)
    return p.wait(), raw.decode(errors="replace")


def screen(raw):
    """The lines a terminal shows after raw: \\r, \\n, \\033[K and printable text."""
    lines, line, col, i = [], [], 0, 0
    while i < len(raw):
        c = raw[i]
        if raw.startswith("\033[K", i):
            del line[col:]
            i += 3
            continue
        if c == "\r":
            col = 0
        elif c == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    if line:
        lines.append("".join(line))
    return lines


def check_lines(lines, restarts, epochs, what, out):
    """Every line begins with a known first word; every epoch of every run once (epochs <= 50
    or the run stopped early: 'early stop after epoch N' ends a run at N)."""
    seen = {}
    for ln in lines:
        if not ln.startswith(FIRST_WORDS):
            e2e.fail("%s: a line does not start with a message of train: %r" % (what, ln), out)
        if re.search(r"samples/s  left ", ln):
            e2e.fail("%s: a progress line was left on screen: %r" % (what, ln), out)
        m = EPOCH.match(ln)
        if ln.startswith(("epoch ", "[")) and not m:
            e2e.fail("%s: an epoch line was cut into: %r" % (what, ln), out)
        if m:
            key = (int(m.group(2) or 1), int(m.group(4)))
            seen[key] = seen.get(key, 0) + 1
    last = {}
    run = 1
    for ln in lines:
        m = re.match(r"early stop after epoch (\d+)", ln)
        if m:
            last[run] = int(m.group(1))
        if ln.startswith("restart "):
            run += 1
    for r in range(1, restarts + 1):
        for e in range(1, last.get(r, epochs) + 1):
            if seen.get((r, e)) != 1:
                e2e.fail("%s: the line of epoch %d of run %d is on screen %d times, expected once"
                         % (what, e, r, seen.get((r, e), 0)), out)


a = e2e.args()
xor = e2e.compile_example(a, "xor")
iris = e2e.compile_example(a, "iris")

cmd = [xor, "train", "--epochs", "30", "--restarts", "2"]
status, raw = on_terminal(cmd)
if status != 0:
    e2e.fail("xor train on a terminal exited with %d" % status, raw)
if "\r" not in raw.replace("\r\n", "\n"):
    e2e.fail("no live line (\\r) on a terminal", raw)
lines = screen(raw)
check_lines(lines, 2, 30, "xor on a terminal", raw)
if not any(ln.startswith("weights saved to xor.weights") for ln in lines):
    e2e.fail("no 'weights saved to' line at column 0", raw)

piped = e2e.run(cmd)
if "\r" in piped or "\033" in piped:
    e2e.fail("a \\r or an escape sequence in a pipe", piped)
check_lines(piped.splitlines(), 2, 30, "xor in a pipe", piped)

# early stopping ends a run at a line of its own, after that epoch's line
cmd = [iris, "train", "--epochs", "50", "--patience", "2", "--restarts", "1"]
status, raw = on_terminal(cmd)
lines = screen(raw)
stop = [i for i, ln in enumerate(lines) if ln.startswith("early stop after epoch ")]
if status != 0 or not stop:
    e2e.fail("iris train --patience 2 on a terminal: status %d, no 'early stop after' line at column 0"
             % status, raw)
n = int(re.match(r"early stop after epoch (\d+)", lines[stop[0]]).group(1))
if not lines[stop[0] - 1].startswith("epoch %d/50  loss" % n):
    e2e.fail("the line before 'early stop after epoch %d' is not that epoch's line" % n, raw)
check_lines([ln for ln in lines if not ln.startswith("kept the weights")], 1, 50, "iris on a terminal", raw)
e2e.ok("on a terminal every epoch line stays once and final messages start at column 0; "
       "a pipe gets plain lines")
