#!/usr/bin/env python3
"""`predict` as a program uses it: examples/iris.nn trained briefly, then

- a conversation through pipes: one row written, its answer read (with a time limit) before
  the next row is written, so predict must answer each row before it reads the next;
- whole rows of the training data (iris.csv, five columns with its header) give the answers of
  the four measurement columns the data source names as inputs;
- rows that are neither one field per input nor a whole data row, and rows that could be
  either, are refused with a message that says what to give;
- `--proba` prints the class and then each class's probability."""
import os
import select
import subprocess
import time

import e2e

a = e2e.args()
iris = e2e.compile_example(a, "iris")
e2e.run([iris, "train", "--quiet", "--epochs", "20", "--restarts", "1"])
rows = open(os.path.join(a.examples, "iris.csv")).read().splitlines()[1:]


def read_line(p, timeout=10):
    """One line of p's output, or a failure when none comes within timeout seconds."""
    ready, _, _ = select.select([p.stdout], [], [], timeout)
    if not ready:
        p.kill()
        e2e.fail("predict gave no answer within %d s to a row written into its pipe (does it read "
                 "all of its input before answering?)" % timeout)
    return p.stdout.readline()


def run(cmd, stdin=None, ok=(0,)):
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    if p.returncode not in ok:
        e2e.fail("%s exited with status %d" % (" ".join(cmd), p.returncode), p.stdout + p.stderr)
    return p


# ---- a conversation through pipes ----
p = subprocess.Popen([iris, "predict", "--class"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     universal_newlines=True, bufsize=1)
answers = []
for row in (rows[0], rows[60], rows[120]):   # a setosa, a versicolor, a virginica
    p.stdin.write(",".join(row.split(",")[:4]) + "\n")
    p.stdin.flush()
    answers.append(read_line(p).strip())
p.stdin.close()
if p.wait(timeout=10) != 0:
    e2e.fail("predict exited with status %d after its input ended" % p.returncode)
if answers != ["0", "1", "2"]:
    e2e.fail("the three flowers were answered %s, expected 0, 1, 2" % answers)

# ---- whole data rows: the data source's input columns ----
measures = "".join(",".join(r.split(",")[:4]) + "\n" for r in rows)
by_inputs = run([iris, "predict"], measures).stdout
whole = run([iris, "predict", "--input", os.path.join(a.examples, "iris.csv")]).stdout
if whole != by_inputs or len(whole.splitlines()) != 150:
    e2e.fail("whole rows of iris.csv (header, 5 columns) did not give the answers of their 4 input columns",
             whole[:400] + "\n--- from the input columns ---\n" + by_inputs[:400])
piped = run([iris, "predict"], "\n".join(rows[:3]) + "\n").stdout
if piped != "".join(by_inputs.splitlines(True)[:3]):
    e2e.fail("whole rows through standard input did not give the answers of their input columns", piped)

# ---- rows of neither width, and rows that could be either ----
bad = run([iris, "predict"], "1,2,3\n", ok=(1,))
want = ("<stdin>:1: a row of 3 fields, but the network has 4 inputs and the rows of its training data (%s) "
        "have 5 fields: give one field per input, or whole data rows (their inputs are columns 0..3), or "
        "choose the input columns with --inputs COLS" % os.path.join(a.examples, "iris.csv"))
if want not in bad.stderr:
    e2e.fail("a row of 3 fields: expected the message\n  %s" % want, bad.stderr)
with open("swap.nn", "w") as f:
    f.write('network swap { input x[2]; output y[2] identity;\n'
            '  train { data "swap.csv" inputs 1 0 targets inputs; epochs 1; } }\n')
with open("swap.csv", "w") as f:
    f.write("1,2\n3,4\n")
e2e.run([a.nnc, "swap.nn", "-o", "swap"])
e2e.run(["./swap", "train", "--quiet"])
amb = run(["./swap", "predict"], "1,2\n", ok=(2,))
if "rows of 2 fields are both one field per input and whole rows of the training data" not in amb.stderr or \
        "say which with --inputs 0..1 or --inputs 1,0" not in amb.stderr:
    e2e.fail("rows that are both the inputs and whole data rows were not refused as ambiguous", amb.stderr)
if run(["./swap", "predict", "--inputs", "1,0"], "1,2\n").stdout != run(["./swap", "predict", "--inputs", "0..1"],
                                                                      "2,1\n").stdout:
    e2e.fail("--inputs 1,0 on 1,2 and --inputs 0..1 on 2,1 predicted differently")

# ---- the rows before a bad one are answered ----
part = run([iris, "predict", "--class"], rows[0][:-2] + "\n" + "5,x,1,1\n", ok=(1,))
if part.stdout != "0\n" or "<stdin>:2: field 2: 'x' is not a number" not in part.stderr:
    e2e.fail("a bad second row: expected the first row's answer, then the message", part.stdout + part.stderr)

# ---- --proba: the class and each class's probability ----
proba = run([iris, "predict", "--proba"], measures).stdout.splitlines()
classes = run([iris, "predict", "--class"], measures).stdout.splitlines()
for line, cls in zip(proba, classes):
    f = line.split(",")
    p_ = [float(v) for v in f[1:]]
    if len(f) != 4 or f[0] != cls or abs(sum(p_) - 1) > 1e-5 or p_.index(max(p_)) != int(cls):
        e2e.fail("--proba line '%s': expected the class (%s) and 3 probabilities summing to 1, the class's "
                 "the largest" % (line, cls))
if len(proba) != 150:
    e2e.fail("--proba printed %d lines for 150 rows" % len(proba))
e2e.ok("predict answers each row of a pipe before reading the next (%s), takes the input columns of whole "
       "data rows, refuses other widths and ambiguous ones with a message, and prints probabilities (%s)"
       % (" ".join(answers), proba[0]))
