#!/usr/bin/env python3
"""mkonnx.py — writes the small ONNX models of nnc's ONNX tests, protobuf by hand (pb.py).

  mkonnx.py NAME OUT.onnx          the model NAME (see MODELS)
  mkonnx.py NAME --inputs X.csv --expect Y.csv
                                   for the working models: sample inputs, and the outputs the
                                   model gives for them (evaluated here in Python, in double)
  mkonnx.py compare GOT.csv WANT.csv   exit 1 unless every value is within 1e-5 (relative)
"""
import math
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pb import (DOUBLE, FLOAT, INT64, attr_float, attr_int, attr_tensor, f_bytes, f_int, f_str, graph,  # noqa: E402
                model, node, tensor, value_info)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def weights(n, seed):
    """n small numbers, exact in float: (k mod 17 - 8) / 16."""
    return [((i * 37 + seed * 11) % 17 - 8) / 16 for i in range(n)]


def matrix(rows, cols, seed):
    w = weights(rows * cols, seed)
    return [w[r * cols:(r + 1) * cols] for r in range(rows)]


def flat(m):
    return [v for row in m for v in row]


def matvec(m, x):
    return [sum(a * b for a, b in zip(row, x)) for row in m]


def transpose(m):
    return [list(c) for c in zip(*m)]


# --- working models, with their evaluation -------------------------------------------------

W1, B1 = matrix(8, 4, 1), weights(8, 2)
W2, B2 = matrix(3, 8, 3), weights(3, 4)


def mlp(dtype=FLOAT, opset=13):
    """x[N,4] -> Gemm(transB) -> Relu -> Gemm(transB, alpha 0.5, beta 2) -> Softmax."""
    nodes = [node("Gemm", ["x", "W1", "B1"], ["h"], "fc1", [attr_int("transB", 1)]),
             node("Relu", ["h"], ["hr"], "relu1"),
             node("Gemm", ["hr", "W2", "B2"], ["z"], "fc2",
                  [attr_int("transB", 1), attr_float("alpha", 0.5), attr_float("beta", 2.0)]),
             node("Softmax", ["z"], ["y"], "softmax", [attr_int("axis", -1)])]
    inits = [tensor("W1", [8, 4], flat(W1), dtype), tensor("B1", [8], B1, dtype),
             tensor("W2", [3, 8], flat(W2), dtype), tensor("B2", [3], B2, dtype)]
    return model(graph(nodes, [value_info("x", ["N", 4], dtype)], [value_info("y", ["N", 3], dtype)], inits, "mlp"),
                 opset)


def eval_mlp(x):
    h = [max(0.0, v + b) for v, b in zip(matvec(W1, x), B1)]
    z = [0.5 * v + 2 * b for v, b in zip(matvec(W2, h), B2)]
    e = [math.exp(v - max(z)) for v in z]
    return [v / sum(e) for v in e]


A, C = matrix(4, 6, 5), weights(6, 6)        # MatMul B [4, 6], bias
W3, W4 = matrix(10, 3, 7), matrix(3, 4, 8)   # Gemm B [10, 3]; Gemm B' [3, 4] (transB)


def skip():
    """x[N,2,2] -> Flatten -> MatMul + c -> Tanh = h; Concat(h, x) -> Gemm = z;
    Gemm(x, transB) = s; Identity(z + s) -> Reshape [-1, 3] -> Sigmoid, and LeakyRelu(h) -> Softplus."""
    shape = tensor("", [2], [-1, 3], INT64)
    nodes = [node("Flatten", ["x"], ["xf"], "flat"),
             node("MatMul", ["xf", "A"], ["m"], "mm"),
             node("Add", ["C", "m"], ["mc"], "bias"),
             node("Tanh", ["mc"], ["h"], "tanh"),
             node("Concat", ["h", "xf"], ["cat"], "cat", [attr_int("axis", 1)]),
             node("Gemm", ["cat", "W3"], ["z"], "fc"),
             node("Gemm", ["xf", "W4"], ["s"], "short", [attr_int("transB", 1)]),
             node("Add", ["z", "s"], ["sum"], "join"),
             node("Identity", ["sum"], ["same"], "id"),
             node("Constant", [], ["shape"], "shape", [attr_tensor("value", shape)]),
             node("Reshape", ["same", "shape"], ["r"], "reshape"),
             node("Sigmoid", ["r"], ["y"], "out"),
             node("LeakyRelu", ["h"], ["lh"], "leaky", [attr_float("alpha", 0.25)]),
             node("Softplus", ["lh"], ["y2"], "soft")]
    inits = [tensor("A", [4, 6], flat(A)), tensor("C", [6], C), tensor("W3", [10, 3], flat(W3)),
             tensor("W4", [3, 4], flat(W4))]
    return model(graph(nodes, [value_info("x", ["N", 2, 2])], [value_info("y", ["N", 3]), value_info("y2", ["N", 6])],
                       inits, "skip"))


def eval_skip(x):
    h = [math.tanh(v + c) for v, c in zip(matvec(transpose(A), x), C)]
    z = matvec(transpose(W3), h + x)
    s = matvec(W4, x)
    y = [1 / (1 + math.exp(-(a + b))) for a, b in zip(z, s)]
    y2 = [math.log1p(math.exp(v if v > 0 else 0.25 * v)) for v in h]
    return y + y2


G, BN = matrix(5, 3, 9), [weights(5, s) for s in (10, 11, 12)]  # BatchNormalization: scale, B, mean
VAR = [0.25 + abs(v) for v in weights(5, 13)]


def bn():
    """x[N,3] -> Gemm(transB) -> BatchNormalization (epsilon 0.01) -> Relu -> Dropout."""
    nodes = [node("Gemm", ["x", "G"], ["g"], "fc", [attr_int("transB", 1)]),
             node("BatchNormalization", ["g", "S", "B", "M", "V"], ["n"], "bn", [attr_float("epsilon", 0.01)]),
             node("Relu", ["n"], ["r"], "relu"),
             node("Dropout", ["r"], ["y"], "drop")]
    inits = [tensor("G", [5, 3], flat(G)), tensor("S", [5], BN[0]), tensor("B", [5], BN[1]), tensor("M", [5], BN[2]),
             tensor("V", [5], VAR)]
    return model(graph(nodes, [value_info("x", ["N", 3])], [value_info("y", ["N", 5])], inits, "bn"))


def eval_bn(x):
    g = matvec(G, x)
    eps = f32(0.01)
    return [max(0.0, s * (v - mu) / math.sqrt(var + eps) + b) for v, s, b, mu, var in zip(g, BN[0], BN[1], BN[2], VAR)]


MEAN, SCALE = [0.5, -0.25, 1.0, 0.0], [2.0, 4.0, 0.5, 1.0]   # input scaling: (x - MEAN) * SCALE
TMUL, TOFF = [0.25, 2.0, 0.5], [10.0, -1.0, 3.0]           # output: y / TMUL + TOFF


def scaled():
    """x[N,4] -> Cast(double) -> Sub MEAN -> Mul SCALE -> Cast(float) (nnc's export of an input
    scaling) -> Gemm(transB) -> Relu -> Gemm(transB) -> Cast(double) -> Div TMUL -> Add TOFF ->
    Cast(float) (nnc's export of a target scaling); u[N,4] -> Sub then Div in float (PyTorch's
    (u - mean) / std) -> Mul 2 -> Relu."""
    nodes = [node("Cast", ["x"], ["xd"], "wide", [attr_int("to", DOUBLE)]),
             node("Sub", ["xd", "MEAN"], ["xc"], "centre"),
             node("Mul", ["xc", "SCALE"], ["xs"], "scale"),
             node("Cast", ["xs"], ["xf"], "narrow", [attr_int("to", FLOAT)]),
             node("Gemm", ["xf", "W1", "B1"], ["h"], "fc1", [attr_int("transB", 1)]),
             node("Relu", ["h"], ["hr"], "relu1"),
             node("Gemm", ["hr", "W2", "B2"], ["z"], "fc2", [attr_int("transB", 1)]),
             node("Cast", ["z"], ["zd"], "zwide", [attr_int("to", DOUBLE)]),
             node("Div", ["zd", "TMUL"], ["zdiv"], "unscale"),
             node("Add", ["zdiv", "TOFF"], ["zu"], "shift"),
             node("Cast", ["zu"], ["y"], "znarrow", [attr_int("to", FLOAT)]),
             node("Sub", ["u", "MEANF"], ["c2"], "centre2"),
             node("Div", ["c2", "STD"], ["n2"], "norm2"),
             node("Mul", ["TWO", "n2"], ["m2"], "twice"),
             node("Relu", ["m2"], ["y2"], "relu2")]
    inits = [tensor("MEAN", [4], MEAN, DOUBLE), tensor("SCALE", [4], SCALE, DOUBLE),
             tensor("W1", [8, 4], flat(W1)), tensor("B1", [8], B1), tensor("W2", [3, 8], flat(W2)),
             tensor("B2", [3], B2), tensor("TMUL", [3], TMUL, DOUBLE), tensor("TOFF", [3], TOFF, DOUBLE),
             tensor("MEANF", [1, 4], MEAN), tensor("STD", [4], [0.5, 0.25, 2.0, 1.0]), tensor("TWO", [], [2.0])]
    return model(graph(nodes, [value_info("x", ["N", 4]), value_info("u", ["N", 4])],
                       [value_info("y", ["N", 3]), value_info("y2", ["N", 4])], inits, "scaled"))


def eval_scaled(x):
    xs = [f32((v - m) * s) for v, m, s in zip(x[:4], MEAN, SCALE)]
    h = [max(0.0, v + b) for v, b in zip(matvec(W1, xs), B1)]
    y = [(v + b) / t + o for v, b, t, o in zip(matvec(W2, h), B2, TMUL, TOFF)]
    y2 = [max(0.0, 2 * (v - m) / s) for v, m, s in zip(x[4:], MEAN, [0.5, 0.25, 2.0, 1.0])]
    return y + y2


WORKING = {"bn": (bn, eval_bn, 3), "mlp": (mlp, eval_mlp, 4), "mlp-f64": (lambda: mlp(DOUBLE), eval_mlp, 4),
           "mlp-opset9": (lambda: mlp(opset=9), eval_mlp, 4), "skip": (skip, eval_skip, 4),
           "scaled": (scaled, eval_scaled, 8)}


def sample_inputs(width):
    return [[f32(((r * 7 + c * 5) % 11 - 5) / 4) for c in range(width)] for r in range(6)]


# --- models nnc refuses: one per diagnostic -----------------------------------------------------

def one_node(op, attrs=(), name="n", inputs=("x",), inits=(), x=("N", 4), y=("N", 4), opset=13, elem=FLOAT,
             extra_inputs=()):
    nodes = [node(op, list(inputs), ["y"], name, attrs)]
    ins = [value_info("x", list(x), elem)] + list(extra_inputs)
    return model(graph(nodes, ins, [value_info("y", list(y))], list(inits)), opset)


def gemm_relu(attrs, w, c):
    """x[N,4] -> Gemm(W [4,4], C [4], attrs) -> Relu."""
    nodes = [node("Gemm", ["x", "W", "C"], ["h"], "fc", attrs), node("Relu", ["h"], ["y"], "relu")]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4])],
                       [tensor("W", [4, 4], w), tensor("C", [4], c)]))


def opset_twice():
    """A Softmax over axes 1.. of [N, 2, 3], which opset 11 reads as the whole sample and 13 does
    not, in a model importing the default operator set as 11 and as 13."""
    g = graph([node("Softmax", ["x"], ["y"], "sm", [attr_int("axis", 1)])], [value_info("x", ["N", 2, 3])],
              [value_info("y", ["N", 2, 3])])
    imports = f_bytes(8, f_str(1, "") + f_int(2, 11)) + f_bytes(8, f_str(1, "ai.onnx") + f_int(2, 13))
    return f_int(1, 8) + f_str(2, "mkonnx") + imports + f_bytes(7, g)


def relu_chain(n, width):
    """x[N,width] -> n Relus in a row: each an identity matrix of width² parameters in nnc."""
    nodes = [node("Relu", ["x" if i == 0 else "r%d" % (i - 1)], ["r%d" % i if i < n - 1 else "y"], "relu%d" % i)
             for i in range(n)]
    return model(graph(nodes, [value_info("x", ["N", width])], [value_info("y", ["N", width])]))


def relu_then(op, name="conv1"):
    nodes = [node("Relu", ["x"], ["r"], "relu"), node(op, ["r"], ["y"], name)]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4])]))


def nested(depth):
    """A Relu whose attribute holds a graph holding a node holding an attribute ... depth deep."""
    g = b""
    for _ in range(depth):
        g = f_bytes(1, f_str(4, "Relu") + f_bytes(5, f_str(1, "g") + f_bytes(6, g)))
    return model(g)


def softmax_hidden():
    nodes = [node("Softmax", ["x"], ["s"], "sm", [attr_int("axis", -1)]),
             node("Gemm", ["s", "W"], ["y"], "fc")]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 2])],
                       [tensor("W", [4, 2], weights(8, 1))]))


def softmax_and_linear():
    nodes = [node("Softmax", ["x"], ["y"], "sm", [attr_int("axis", -1)]), node("Relu", ["x"], ["y2"], "r")]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4]), value_info("y2", ["N", 4])]))


def step(b=0.0, after="Cast", output="y", to=FLOAT):
    """Gemm → Greater(z, B) → Cast (a step unit, as nnc exports one), or another node after
    the Greater, or the Greater's boolean as the graph's output."""
    nodes = [node("Gemm", ["x", "W", "C"], ["z"], "fc", [attr_int("transB", 1)]),
             node("Greater", ["z", "B"], ["p"], "gt")]
    if after == "Cast":
        nodes.append(node("Cast", ["p"], ["y"], "cast", [attr_int("to", to)]))
    elif after:
        nodes.append(node(after, ["p"], ["y"], "after"))
    inits = [tensor("W", [3, 4], weights(12, 1)), tensor("C", [3], weights(3, 2)), tensor("B", [], [b])]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info(output, ["N", 3])], inits))


def external_data():
    t = f_int(1, 4) + f_int(2, FLOAT) + f_str(8, "W") + f_bytes(13, f_str(1, "location") + f_str(2, "w.bin")) + f_int(14, 1)
    return one_node("Add", inputs=("x", "W"), inits=[t])


def two_definitions():
    nodes = [node("Relu", ["x"], ["y"], "a"), node("Sigmoid", ["x"], ["y"], "b")]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4])]))


def unused_input():
    nodes = [node("Relu", ["x"], ["y"], "a")]
    return model(graph(nodes, [value_info("x", ["N", 4]), value_info("unused", ["N", 2])], [value_info("y", ["N", 4])]))


def scaled_and_raw():
    """x scaled (Sub) for one Relu, read unscaled by another."""
    nodes = [node("Sub", ["x", "M"], ["s"], "centre"), node("Relu", ["s"], ["a"], "relu1"),
             node("Relu", ["x"], ["b"], "relu2"), node("Add", ["a", "b"], ["y"], "join")]
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4])], [tensor("M", [4], weights(4, 1))]))


def cast_double(after):
    """x cast to double, then read by `after` (or the graph's output)."""
    nodes = [node("Cast", ["x"], ["d" if after else "y"], "wide", [attr_int("to", DOUBLE)])]
    if after:
        nodes.append(node(after, ["d"], ["y"], "after"))
    return model(graph(nodes, [value_info("x", ["N", 4])], [value_info("y", ["N", 4])]))


MODELS = {
    "scaled-and-raw": scaled_and_raw,
    "double-into-relu": lambda: cast_double("Relu"),
    "double-output": lambda: cast_double(None),
    "mul-two-values": lambda: one_node("Mul", (), "mul", ("x", "x")),
    "div-constant-by-value": lambda: one_node("Div", (), "div", ("W", "x"), [tensor("W", [4], weights(4, 1))]),
    "div-by-zero": lambda: model(graph([node("Relu", ["x"], ["r"], "relu"), node("Div", ["r", "Z"], ["y"], "div")],
                                       [value_info("x", ["N", 4])], [value_info("y", ["N", 4])],
                                       [tensor("Z", [], [0.0])])),
    "mul-by-infinity": lambda: one_node("Mul", (), "mul", ("x", "K"), [tensor("K", [], [float("inf")])]),
    "scale-by-zero": lambda: one_node("Div", (), "div", ("x", "Z"), [tensor("Z", [], [0.0])]),
    "conv": lambda: relu_then("Conv"),
    "conv-unnamed": lambda: relu_then("Conv", ""),
    "custom-domain": lambda: model(graph([f_str(1, "x") + f_str(2, "y") + f_str(3, "q") + f_str(4, "Relu") +
                                          f_str(7, "com.example")], [value_info("x", ["N", 4])],
                                         [value_info("y", ["N", 4])])),
    "empty": lambda: b"",
    "no-graph": lambda: f_int(1, 8) + f_bytes(8, f_int(2, 13)),
    "nested": lambda: nested(40),
    "no-opset": lambda: f_int(1, 8) + f_bytes(7, graph([], [value_info("x", ["N", 4])], [value_info("x", ["N", 4])])),
    "opset-22": lambda: one_node("Relu", opset=22),
    "gemm-opset-8": lambda: one_node("Gemm", inputs=("x", "W"), inits=[tensor("W", [4, 4], weights(16, 1))], opset=8),
    "log-softmax": lambda: one_node("LogSoftmax", [attr_int("axis", -1)], "lsm"),
    "step": step,
    "greater-not-zero": lambda: step(b=0.5),
    "greater-into-relu": lambda: step(after="Relu"),
    "greater-output": lambda: step(after=None, output="p"),
    "cast-to-int64": lambda: one_node("Cast", [attr_int("to", INT64)], "cast"),
    "gemm-trans-a": lambda: one_node("Gemm", [attr_int("transA", 1)], "fc", ("x", "W"), [tensor("W", [4, 4], weights(16, 1))]),
    "gemm-b-input": lambda: one_node("Gemm", (), "fc", ("x", "W"), extra_inputs=[value_info("W", [4, 4])]),
    "gemm-c-batch": lambda: one_node("Gemm", (), "fc", ("x", "W", "C"), [tensor("W", [4, 4], weights(16, 1)),
                                                                       tensor("C", [2, 4], weights(8, 2))], x=(2, 4)),
    "gemm-b-rows": lambda: one_node("Gemm", (), "fc", ("x", "W"), [tensor("W", [3, 4], weights(12, 1))]),
    "matmul-a-constant": lambda: one_node("MatMul", (), "mm", ("W", "x"), [tensor("W", [4, 4], weights(16, 1))]),
    "leaky-alpha": lambda: one_node("LeakyRelu", [attr_float("alpha", 1.5)], "leaky"),
    "softmax-axis": lambda: one_node("Softmax", [attr_int("axis", -1)], "sm", x=("N", 2, 3), y=("N", 2, 3)),
    "softmax-one": lambda: one_node("Softmax", [attr_int("axis", -1)], "sm", x=("N", 1), y=("N", 1)),
    "softmax-hidden": softmax_hidden,
    "softmax-and-linear": softmax_and_linear,
    "add-shapes": lambda: one_node("Add", (), "add", ("x", "z"), extra_inputs=[value_info("z", ["N", 2])]),
    "add-constants": lambda: one_node("Add", (), "add", ("W", "W"), [tensor("W", [4], weights(4, 1))]),
    "add-batch-constant": lambda: one_node("Add", (), "add", ("x", "W"), [tensor("W", [2, 4], weights(8, 1))], x=(2, 4)),
    "concat-batch": lambda: one_node("Concat", [attr_int("axis", 0)], "cat", ("x", "x")),
    "flatten-axis0": lambda: one_node("Flatten", [attr_int("axis", 0)], "flat"),
    "reshape-batch": lambda: one_node("Reshape", (), "rs", ("x", "S"), [tensor("S", [1], [-1], INT64)], x=(2, 4)),
    "input-axis": lambda: one_node("Relu", x=("N", "M")),
    "input-type": lambda: one_node("Relu", x=("N", 4), elem=INT64),
    "input-rank-one-batch": lambda: one_node("Relu", x=("N",)),
    "output-constant": lambda: model(graph([node("Constant", [], ["y"], "k", [attr_tensor("value", tensor("", [1], [1.0]))])],
                                           [value_info("x", ["N", 4])], [value_info("y", [1])])),
    "output-missing": lambda: model(graph([], [value_info("x", ["N", 4])], [value_info("y", ["N", 4])])),
    "undefined-input": lambda: one_node("Relu", inputs=("later",)),
    "defined-twice": two_definitions,
    "external-data": external_data,
    "tensor-size": lambda: one_node("Add", (), "add", ("x", "W"), [tensor("W", [5], weights(4, 1))]),
    "unused-input": unused_input,
    "gemm-empty": lambda: one_node("Gemm", (), "fc", ("x", "W"), [tensor("W", [4, 0], [])], y=("N", 0)),
    "many-nodes": lambda: model(f_bytes(1, b"") * 1500000),
    "dropout-mask": lambda: model(graph([node("Dropout", ["x"], ["y", "mask"], "drop")], [value_info("x", ["N", 4])],
                                        [value_info("y", ["N", 4])])),
    "dropout-training": lambda: one_node("Dropout", (), "drop", ("x", "", "T"), [tensor("T", [], [1], INT64)]),
    "batchnorm-training": lambda: one_node("BatchNormalization", [attr_int("training_mode", 1)], "bn",
                                           ("x", "S", "S", "S", "S"), [tensor("S", [4], [1, 1, 1, 1])], opset=15),
    "batchnorm-channels": lambda: one_node("BatchNormalization", (), "bn", ("x", "S", "S", "S", "S"),
                                           [tensor("S", [3], [1, 1, 1])]),
    "batchnorm-variance": lambda: one_node("BatchNormalization", [attr_float("epsilon", 0.0)], "bn",
                                           ("x", "S", "B", "B", "V"), [tensor("S", [4], [1, 1, 1, 1]),
                                                                       tensor("B", [4], [0, 0, 0, 0]),
                                                                       tensor("V", [4], [1, -1, 1, 1])]),
    "reshape-size": lambda: one_node("Reshape", (), "rs", ("x", "S"), [tensor("S", [2], [-1, -5], INT64)]),
    "opset-twice": opset_twice,
    "div-by-subnormal": lambda: model(graph([node("Relu", ["x"], ["r"], "relu"), node("Div", ["r", "Z"], ["y"], "div")],
                                            [value_info("x", ["N", 4], DOUBLE)], [value_info("y", ["N", 4], DOUBLE)],
                                            [tensor("Z", [], [5e-324], DOUBLE)])),
    "attribute-twice": lambda: one_node("LeakyRelu", [attr_float("alpha", 0.1), attr_float("alpha", 0.2)], "leaky"),
    "relu-chain-wide": lambda: relu_chain(3, 1 << 24),
    "relu-chain-long": lambda: relu_chain(1000, 512),
    "input-twice": lambda: one_node("Relu", extra_inputs=[value_info("x", ["N", 4])]),
    "gemm-alpha-infinite": lambda: gemm_relu([attr_float("alpha", float("inf"))], weights(16, 1), weights(4, 2)),
    "gemm-bias-nan": lambda: gemm_relu((), weights(16, 1), [0.5, float("nan"), 0, 0]),
    "gemm-weights-overflow": lambda: one_node("Gemm", [attr_float("alpha", 1e30)], "fc", ("x", "W"),
                                              [tensor("W", [4, 4], [1e30] * 16)]),
}


def write_csv(path, rows):
    with open(path, "w") as f:
        for row in rows:
            f.write(",".join("%.17g" % v for v in row) + "\n")


def read_csv(path):
    with open(path) as f:
        return [float(v) for line in f for v in line.strip().split(",") if v]


def main(argv):
    if argv[1] == "compare":
        got, want = read_csv(argv[2]), read_csv(argv[3])
        bad = len(got) != len(want) or any(abs(a - b) > 1e-5 * max(1.0, abs(b)) for a, b in zip(got, want))
        if bad:
            print("got  %s\nwant %s" % (got, want))
        return 1 if bad else 0
    name = argv[1]
    if len(argv) == 3:
        make = WORKING[name][0] if name in WORKING else MODELS[name]
        with open(argv[2], "wb") as f:
            f.write(make())
        return 0
    _, evaluate, width = WORKING[name]
    x = sample_inputs(width)
    write_csv(argv[argv.index("--inputs") + 1], x)
    write_csv(argv[argv.index("--expect") + 1], [evaluate(row) for row in x])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
