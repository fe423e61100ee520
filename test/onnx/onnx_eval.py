"""onnx_eval.py — a small NumPy evaluator of the ONNX operators nnc's export writes (Gemm,
Add, Sub, Mul, Div, Cast, Relu, Sigmoid, Tanh, LeakyRelu, Softplus, Softmax, LogSoftmax,
Greater, Concat), written from the operator specifications, independent of nnc: it checks
exported graphs (export_check.py) against nnc's own outputs. Needs numpy and onnx
(Debian's python3-numpy, python3-onnx; run with /usr/bin/python3)."""
import numpy as np
from onnx import numpy_helper, helper, TensorProto

DTYPES = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.BOOL: np.bool_}


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _gemm(a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    a = a.T if transA else a
    b = b.T if transB else b
    y = alpha * (a @ b) if alpha != 1.0 else a @ b
    if c is not None:
        y = y + (beta * c if beta != 1.0 else c)
    return y.astype(a.dtype)


def _op(op, ins, at):
    x = ins[0]
    if op == "Gemm":
        return _gemm(*ins, **at)
    if op in ("Add", "Sub", "Mul", "Div"):
        f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
        return f(ins[0], ins[1]).astype(np.result_type(ins[0], ins[1]))
    if op == "Cast":
        return x.astype(DTYPES[at["to"]])
    if op == "Relu":
        return np.maximum(x, x.dtype.type(0))
    if op == "Sigmoid":
        return (1 / (1 + np.exp(-x))).astype(x.dtype)
    if op == "Tanh":
        return np.tanh(x)
    if op == "LeakyRelu":
        alpha = x.dtype.type(at.get("alpha", 0.01))
        return np.where(x >= 0, x, alpha * x).astype(x.dtype)
    if op == "Softplus":
        return np.log1p(np.exp(x)).astype(x.dtype)
    if op == "Softmax":
        return _softmax(x, at.get("axis", -1)).astype(x.dtype)
    if op == "LogSoftmax":
        axis = at.get("axis", -1)
        s = x - np.max(x, axis=axis, keepdims=True)
        return (s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))).astype(x.dtype)
    if op == "Greater":
        return np.greater(ins[0], ins[1])
    if op == "Concat":
        return np.concatenate(ins, axis=at["axis"])
    raise ValueError("onnx_eval: operator %s is not evaluated" % op)


def run(model, x):
    """The graph's single output for the single input x (an array of the input's type)."""
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x
    for node in g.node:
        ins = [env[name] if name else None for name in node.input]
        while ins and ins[-1] is None:
            ins.pop()
        env[node.output[0]] = _op(node.op_type, ins, _attrs(node))
    return env[g.output[0].name]


def input_dtype(model):
    return DTYPES[model.graph.input[0].type.tensor_type.elem_type]
