#!/usr/bin/env python3
"""One SGD step of any network of dense edge sets, read from `nnc --emit-ir`, on a whole data
file, computed here in numpy: every product's operands rounded to bf16 (round to nearest even)
and the sums in f32, as precision bf16 defines it; or in f32 (--f32). bf16_step.py does the
same for wide.nn alone; this one takes the network's groups, edge sets, biases (learned or
fixed), activations and loss from the dump, so skips, fan-out and several sources work.
Compares the step with the step of nnc's weights:
  bf16_ir_step.py IR.txt INIT.json DATA.csv RATE NNC.json TOL [--f32] [--targets K]
(targets: one one-hot class column after the inputs, or K value columns); prints the largest
difference as a fraction of the largest step, and fails above TOL."""
import json
import re
import sys

import numpy as np


def bf16(a):
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return b.astype(np.uint32).view(np.float32)


def read_ir(path):
    """groups {name: role, size, act, edges [(src, first param)], bias (kind, first, value)},
    the evaluation order and the loss."""
    groups, order, loss = {}, [], None
    for line in open(path):
        m = re.match(r"\s+(input|hidden|output) (\S+)\[(\d+)\]\s*(\S*)", line)
        if m:
            groups[m.group(2)] = dict(role=m.group(1), size=int(m.group(3)), act=m.group(4), edges=[], bias=None)
            continue
        m = re.match(r"\s+dense (\S+)\[\d+\] -> (\S+)\[\d+\] learned params (\d+)\.\.", line)
        if m:
            groups[m.group(2)]["edges"].append((m.group(1), int(m.group(3))))
            continue
        m = re.match(r"\s+bias\s+\S+ -> (\S+) (learned|fixed) (?:params (\d+)\.\.\d+)?(\S+)?", line)
        if m:
            groups[m.group(1)]["bias"] = (m.group(2), int(m.group(3) or 0), float(m.group(4) or 0))
            continue
        m = re.match(r"order: (.*)", line)
        if m:
            order = m.group(1).split()
        m = re.search(r"\bloss (\S+)", line)
        if m and loss is None:
            loss = m.group(1)
    return groups, order, loss


def slope(name):
    return float(name[name.index("(") + 1:-1]) if "(" in name else 0.01


def activate(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name in ("identity", "linear"):
        return z
    if name.startswith("leaky_relu"):
        return np.where(z > 0, z, slope(name) * z)
    if name == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    sys.exit("bf16_ir_step.py: no activation " + name)


def derivative(name, y, z):
    if name == "relu":
        return (y > 0).astype(np.float32)
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    if name in ("identity", "linear"):
        return np.ones_like(y)
    if name.startswith("leaky_relu"):
        return np.where(z > 0, 1, slope(name)).astype(np.float32)
    if name == "softplus":
        return 1 / (1 + np.exp(-z))
    sys.exit("bf16_ir_step.py: no derivative of " + name)


def main():
    a = sys.argv[1:]
    ir, init, data, rate, got, tol = a[0], a[1], a[2], float(a[3]), a[4], float(a[5])
    f32 = "--f32" in a
    n_targets = int(a[a.index("--targets") + 1]) if "--targets" in a else 0
    rnd = (lambda v: np.asarray(v, np.float32)) if f32 else bf16
    mm = lambda u, v: (rnd(u).astype(np.float64) @ rnd(v).astype(np.float64)).astype(np.float32)
    groups, order, loss = read_ir(ir)
    p = np.array(json.load(open(init))["params"], dtype=np.float32)
    rows = np.loadtxt(data, delimiter=",", dtype=np.float64, ndmin=2)
    ins = [g for g in groups if groups[g]["role"] == "input"]
    outs = [g for g in groups if groups[g]["role"] == "output"]
    n_in, n_out = sum(groups[g]["size"] for g in ins), sum(groups[g]["size"] for g in outs)
    acts, off = {}, 0
    for g in ins:
        acts[g] = rows[:, off:off + groups[g]["size"]].astype(np.float32)
        off += groups[g]["size"]
    t = (rows[:, n_in:n_in + n_targets] if n_targets else np.eye(n_out)[rows[:, n_in].astype(int)]).astype(np.float32)
    n = len(rows)
    weights = lambda g, src, o: p[o:o + groups[g]["size"] * groups[src]["size"]].reshape(groups[g]["size"], groups[src]["size"])
    zs = {}
    for g in order:
        z = np.zeros((n, groups[g]["size"]), np.float32)
        for src, o in groups[g]["edges"]:
            z = z + mm(acts[src], weights(g, src, o).T)
        kind, first, value = groups[g]["bias"]
        zs[g] = (z + (p[first:first + groups[g]["size"]] if kind == "learned" else np.float32(value))).astype(np.float32)
        acts[g] = activate(groups[g]["act"], zs[g]).astype(np.float32)
    grads = {g: np.zeros((n, groups[g]["size"]), np.float32) for g in order}
    deltas, off = {}, 0
    for g in outs:
        d = acts[g] - t[:, off:off + groups[g]["size"]]
        off += groups[g]["size"]
        if loss == "cross_entropy":
            deltas[g] = d
        else:
            grads[g] = 2 * d
    new, scale = p.copy(), np.float32(rate / n)
    for g in reversed(order):
        d = deltas[g] if g in deltas else grads[g] * derivative(groups[g]["act"], acts[g], zs[g])
        for src, o in groups[g]["edges"]:
            w = weights(g, src, o)
            if groups[src]["role"] != "input":
                grads[src] = grads[src] + mm(d, w)
            new[o:o + w.size] = (w - scale * mm(d.T, acts[src])).ravel()
        kind, first, _ = groups[g]["bias"]
        if kind == "learned":
            new[first:first + groups[g]["size"]] = p[first:first + groups[g]["size"]] - scale * d.sum(axis=0)
    theirs = np.array(json.load(open(got))["params"], dtype=np.float32)
    worst = np.abs((new - p) - (theirs - p)).max() / np.abs(new - p).max()
    print("step %s: largest difference %.3g of the largest step (tolerance %g)" % ("f32" if f32 else "bf16", worst, tol))
    sys.exit(0 if worst <= tol else 1)


main()
