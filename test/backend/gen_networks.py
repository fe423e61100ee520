#!/usr/bin/env python3
"""gen_networks.py — writes the .nn networks the back-end harness checks, and its table.

  gen_networks.py grid   OUTDIR            the gradient-check grid: every activation x loss x
                                           {layered, skip} x {f32, f64}
  gen_networks.py random OUTDIR N SEED     N random networks (deterministic in SEED)
  gen_networks.py literal OUTDIR N SEED    N random networks with literal weight vectors and
                                           matrices and per-neuron sums `h[i] <- ...`
  gen_networks.py table  OUT.c FILE.nn...  the C table of descriptors for the harness

Random networks are layered (a chain of dense layers) or general DAGs: skip edges, single
neurons, groups fed from several groups, indexed edges x[i], declared bias neurons, learned,
initial and fixed literal weights, every activation, both losses, f32 and f64, sizes 1..20.
Literal weights and the init range are scaled by 1/sqrt(fan-in) so that sigmoid and softmax
outputs stay away from saturation, where f32 loses every digit of log(1 - y)."""
import math
import os
import random
import sys

HIDDEN_ACTS = ["identity", "sigmoid", "relu", "tanh", "leaky_relu", "softplus", "step"]


def act_text(act, rng=None):
    if act == "leaky_relu":
        slope = 0.1 if rng is None else rng.choice([None, 0.05, 0.1, 0.2, 0.3])
        return "leaky_relu" if slope is None else "leaky_relu(%g)" % slope
    return act


def train_block(loss, prec, init_a, seed):
    return ("  train {\n    loss %s;\n    precision %s;\n    init uniform(%g, %g) seed %d;\n  }\n"
            % (loss, prec, -init_a, init_a, seed))


# --- the gradient-check grid -----------------------------------------------------------

def grid_layered(name, act, out_act, out_size, loss, prec):
    return ("network %s {\n  input  x[3];\n  layer  h1[5] %s;\n  layer  h2[4] %s;\n"
            "  output y[%d] %s;\n%s}\n"
            % (name, act, act, out_size, out_act, train_block(loss, prec, 0.6, 11)))


def grid_skip(name, act, out_act, out_size, loss, prec):
    return ("network %s {\n"
            "  input  x[3];\n"
            "  input  u[2];\n"
            "  neuron a %s <- x - 0.4*u[1] + 0.1;\n"
            "  layer  h[4] %s <- 0.5*x + a - fixed 0.2*u;\n"
            "  bias   b;\n"
            "  neuron c %s <- h[0] + fixed 0.7*h[2] + u + 0.3*b;\n"
            "  output y[%d] %s <- h + c + 0.25*x[1] + fixed 0.3*a;\n%s}\n"
            % (name, act, act, act, out_size, out_act, train_block(loss, prec, 0.6, 12)))


def write_grid(outdir):
    cases = []
    for prec in ["f32", "f64"]:
        for shape, build in [("layered", grid_layered), ("skip", grid_skip)]:
            for act in HIDDEN_ACTS:
                a = act_text(act)
                out = "identity" if act == "step" else a
                cases.append(("grid_%s_squared_%s_%s" % (act, shape, prec), build, a, out, 2, "squared", prec))
                cases.append(("grid_%s_xent_%s_%s" % (act, shape, prec), build, a, "sigmoid", 2,
                              "cross_entropy", prec))
            cases.append(("grid_softmax_xent_%s_%s" % (shape, prec), build, "tanh", "softmax", 3,
                          "cross_entropy", prec))
    for name, build, act, out, size, loss, prec in cases:
        with open(os.path.join(outdir, name + ".nn"), "w") as f:
            f.write(build(name, act, out, size, loss, prec))


# --- random networks -------------------------------------------------------------------

class Net:
    def __init__(self, rng, name):
        self.rng = rng
        self.name = name
        self.lines = []
        self.groups = []       # (name, size) that later groups may be fed from
        self.consumed = set()
        self.biases = []       # declared bias neurons
        self.max_fan = 1
        self.bias_used = False

    def literal(self, fan):
        w = self.rng.uniform(0.1, 1.0) / math.sqrt(fan)
        return "%.3g" % max(w, 0.01)

    def ref_terms(self, src, size):
        """One or more terms from src: the whole group, or some of its neurons."""
        rng = self.rng
        if size > 1 and rng.random() < 0.3:
            idx = rng.sample(range(size), rng.randint(1, min(3, size)))
            return [("%s[%d]" % (src, i), 1) for i in idx]
        return [(src, size)]

    def weighted(self, ref, fan):
        r = self.rng.random()
        sign = self.rng.choice(["+", "-"])
        if r < 0.5:
            return "+", ref                             # learned
        if r < 0.8:
            return sign, "%s*%s" % (self.literal(fan), ref)          # initial literal
        return sign, "fixed %s*%s" % (self.literal(fan), ref)        # fixed

    def bias_term(self):
        r = self.rng.random()
        if r < 0.4:
            return None
        if r < 0.65:
            return self.rng.choice(["+", "-"]), "%.2g" % self.rng.uniform(0.05, 0.5)
        if r < 0.8:
            return self.rng.choice(["+", "-"]), "fixed %.2g" % self.rng.uniform(0.05, 0.5)
        if self.biases:
            b = self.rng.choice(self.biases)
            self.bias_used = True
            return self.rng.choice([("+", b), ("+", "%.2g*%s" % (self.rng.uniform(0.05, 0.5), b))])
        return None

    def sum_from(self, sources):
        terms, fan = [], 0
        for src, size in sources:
            for ref, width in self.ref_terms(src, size):
                terms.append(ref)
                fan += width
            self.consumed.add(src)
        self.max_fan = max(self.max_fan, fan)
        parts = [self.weighted(ref, fan) for ref in terms]
        b = self.bias_term()
        if b:
            parts.append(b)
        self.rng.shuffle(parts)
        text = ""
        for i, (sign, t) in enumerate(parts):
            if i == 0:
                text += ("-" if sign == "-" else "") + t
            else:
                text += " %s %s" % (sign, t)
        return text

    def pick_sources(self, k):
        k = min(k, len(self.groups))
        return self.rng.sample(self.groups, k)


def random_layered(rng, name, loss, prec):
    net = Net(rng, name)
    n_in = rng.randint(1, 20)
    net.lines.append("  input  x[%d];" % n_in)
    prev = n_in
    for i in range(rng.randint(1, 3)):
        size = rng.randint(1, 20)
        act = act_text(rng.choice(HIDDEN_ACTS[:-1] if i == 0 else HIDDEN_ACTS), rng)
        net.max_fan = max(net.max_fan, prev)
        if rng.random() < 0.25:   # still layered: literal weights on the edges from the layer below
            src = "x" if i == 0 else "h%d" % i
            net.lines.append("  layer  h%d[%d] %s <- %s*%s + %.2g;"
                             % (i + 1, size, act, net.literal(prev), src, rng.uniform(0.05, 0.5)))
        else:
            net.lines.append("  layer  h%d[%d] %s;" % (i + 1, size, act))
        prev = size
    net.max_fan = max(net.max_fan, prev)
    out_size, out_act = output_kind(rng, loss)
    net.lines.append("  output y[%d] %s;" % (out_size, out_act))
    return net


def output_kind(rng, loss):
    if loss == "cross_entropy":
        if rng.random() < 0.5:
            return rng.randint(2, 10), "softmax"
        return rng.randint(1, 10), "sigmoid"
    acts = ["identity", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "step"]
    return rng.randint(1, 10), act_text(rng.choice(acts), rng)


def random_dag(rng, name, loss, prec):
    net = Net(rng, name)
    for i in range(rng.randint(1, 2)):
        size = rng.randint(1, 20)
        net.lines.append("  input  x%d[%d];" % (i, size))
        net.groups.append(("x%d" % i, size))
    net.consumed.update(g for g, _ in net.groups[1:])  # extra inputs may stay unused
    if rng.random() < 0.4:
        net.lines.append("  bias   b0;")
        net.biases.append("b0")
    for i in range(rng.randint(1, 5)):
        act = act_text(rng.choice(HIDDEN_ACTS), rng)
        srcs = net.pick_sources(rng.randint(1, 3))
        if rng.random() < 0.4:
            net.lines.append("  neuron n%d %s <- %s;" % (i, act, net.sum_from(srcs)))
            net.groups.append(("n%d" % i, 1))
        else:
            size = rng.randint(1, 20)
            net.lines.append("  layer  h%d[%d] %s <- %s;" % (i, size, act, net.sum_from(srcs)))
            net.groups.append(("h%d" % i, size))
    unused = [g for g in net.groups if g[0] not in net.consumed]
    n_out = rng.randint(1, 2)
    for i in range(n_out):
        srcs = unused if i == 0 else []
        extra = [g for g in net.pick_sources(rng.randint(1, 2)) if g not in srcs]
        srcs = srcs + extra
        size, act = output_kind(rng, loss)
        net.lines.append("  output y%d[%d] %s <- %s;" % (i, size, act, net.sum_from(srcs)))
    if net.biases and not net.bias_used:
        net.lines.remove("  bias   b0;")
    return net


def write_random(outdir, count, seed):
    rng = random.Random(seed)
    for i in range(count):
        name = "rnd%03d" % i
        loss = rng.choice(["squared", "cross_entropy"])
        prec = rng.choice(["f32", "f64"])
        net = (random_layered if rng.random() < 0.35 else random_dag)(rng, name, loss, prec)
        init_a = round(min(1.0, 1.7 / math.sqrt(net.max_fan)), 3)
        text = "// generated by gen_networks.py random (seed %d)\nnetwork %s {\n%s\n%s}\n" % (
            seed, name, "\n".join(net.lines), train_block(loss, prec, init_a, 100 + i))
        with open(os.path.join(outdir, name + ".nn"), "w") as f:
            f.write(text)


# --- literal weight vectors and matrices, per-neuron sums --------------------------------

def numbers(rng, n, fan):
    return [rng.choice([-1, 1]) * max(0.01, rng.uniform(0.1, 1.0) / math.sqrt(fan)) for _ in range(n)]


def vector(vals):
    return "[%s]" % ", ".join("%.3g" % v for v in vals)


def matrix(rows):
    return "[%s]" % ", ".join(vector(r) for r in rows)


def literal_term(rng, src, src_size, size, fan):
    """Edges from the whole group src into a group of size neurons: learned, or a literal
    (a matrix, or a vector when one side is one neuron), initial or fixed."""
    kind = rng.choice(["learned", "initial", "fixed"])
    if kind == "learned":
        return src
    rows = [numbers(rng, src_size, fan) for _ in range(size)]
    lit = matrix(rows) if size > 1 and src_size > 1 else vector([w for r in rows for w in r])
    return ("fixed " if kind == "fixed" else "") + lit + "*" + src


def literal_bias(rng, size):
    kind = rng.choice(["learned", "initial", "fixed"])
    if kind == "learned":
        return ""
    return " + " + ("fixed " if kind == "fixed" else "") + vector(numbers(rng, size, 4))


def scalar(pre, w, ref=None):
    """A term with a number as its weight: the sign goes before it, as the grammar wants."""
    return ("- " if w < 0 else "+ ") + pre + "%.3g" % abs(w) + ("*" + ref if ref else "")


def neuron_sums(rng, name, size, srcs):
    """One sum per neuron of name: per source one kind for the whole group; a fixed source
    may be left out of some neurons (a fixed 0), and some neurons name its neurons one by one."""
    kinds = {src: rng.choice(["learned", "initial", "fixed"]) for src, _ in srcs}
    bias = rng.choice(["learned", "initial", "fixed"])
    fan = sum(n for _, n in srcs)
    lines = []
    for j in range(size):
        terms = []
        for src, n in srcs:
            k = kinds[src]
            if k == "fixed" and len(terms) > 0 and rng.random() < 0.3:
                continue
            pre = "fixed " if k == "fixed" else ""
            if k == "learned":
                terms += ["+ " + src] if rng.random() < 0.5 or n == 1 else ["+ %s[%d]" % (src, i) for i in range(n)]
            elif n > 1 and rng.random() < 0.5:
                terms += [scalar(pre, w, "%s[%d]" % (src, i)) for i, w in enumerate(numbers(rng, n, fan))]
            else:
                terms.append("+ " + pre + vector(numbers(rng, n, fan)) + "*" + src)
        if bias != "learned":
            terms.append(scalar("fixed " if bias == "fixed" else "", numbers(rng, 1, 4)[0]))
        text = " ".join(terms)
        lines.append("  %s[%d] <- %s;" % (name, j, text[2:] if text.startswith("+ ") else text))
    return lines


def random_literal(rng, name, loss):
    lines = []
    groups = [("x", rng.randint(1, 12))]
    used = set()
    lines.append("  input  x[%d];" % groups[0][1])
    for i in range(rng.randint(1, 3)):
        size, act = rng.randint(1, 12), act_text(rng.choice(HIDDEN_ACTS), rng)
        srcs = rng.sample(groups, min(len(groups), rng.randint(1, 2)))
        used.update(srcs)
        gname = "h%d" % i
        if rng.random() < 0.5:
            lines.append("  layer  %s[%d] %s;" % (gname, size, act))
            lines += neuron_sums(rng, gname, size, srcs)
        else:
            fan = sum(n for _, n in srcs)
            sums = " + ".join(literal_term(rng, src, n, size, fan) for src, n in srcs)
            lines.append("  layer  %s[%d] %s <- %s%s;" % (gname, size, act, sums, literal_bias(rng, size)))
        groups.append((gname, size))
    size, act = output_kind(rng, loss)
    srcs = [g for g in groups[1:] if g not in used] + ([groups[0]] if rng.random() < 0.5 else [])
    lines.append("  output y[%d] %s;" % (size, act))
    lines += neuron_sums(rng, "y", size, srcs)
    return lines


def write_literal(outdir, count, seed):
    rng = random.Random(seed)
    for i in range(count):
        name = "lit%03d" % i
        loss, prec = rng.choice(["squared", "cross_entropy"]), rng.choice(["f32", "f64"])
        lines = random_literal(rng, name, loss)
        text = "// generated by gen_networks.py literal (seed %d)\nnetwork %s {\n%s\n%s}\n" % (
            seed, name, "\n".join(lines), train_block(loss, prec, 0.3, 100 + i))
        with open(os.path.join(outdir, name + ".nn"), "w") as f:
            f.write(text)


# --- the harness's table ---------------------------------------------------------------

def write_table(out, files):
    names = [os.path.splitext(os.path.basename(f))[0] for f in files]
    with open(out, "w") as f:
        f.write("/* generated by gen_networks.py table: the networks the harness checks. */\n")
        f.write("#include \"harness.h\"\n\n")
        for n in names:
            f.write("extern const nnc_model %s_model;\n" % n)
        f.write("\nconst BackendCase backend_cases[] = {\n")
        for n, p in zip(names, files):
            f.write("  {\"%s\", \"%s\", &%s_model},\n" % (n, os.path.abspath(p), n))
        f.write("};\nconst int backend_n_cases = %d;\n" % len(names))


def main(argv):
    if len(argv) >= 3 and argv[1] == "grid":
        write_grid(argv[2])
    elif len(argv) == 5 and argv[1] == "random":
        write_random(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 5 and argv[1] == "literal":
        write_literal(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) >= 3 and argv[1] == "table":
        write_table(argv[2], argv[3:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
