"""make.py — writes mlp.onnx, an MLP ending in LogSoftmax (4 → 6 relu → 3 log-softmax,
operator set 13, batch axis 'N'), built with ONNX's helper API, with inputs.csv and the
outputs NumPy computes for them (expected.csv). test/onnx/log-softmax.test compiles the model
with nnc and compares; the suite needs neither onnx nor numpy, only these committed files.
Regenerate with Debian's python3-onnx and python3-numpy: /usr/bin/python3 make.py"""
import os

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper, save

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
W1 = rng.normal(0, 0.8, (6, 4)).astype(np.float32)
b1 = rng.normal(0, 0.2, 6).astype(np.float32)
W2 = rng.normal(0, 0.8, (3, 6)).astype(np.float32)
b2 = rng.normal(0, 0.2, 3).astype(np.float32)
inits = [numpy_helper.from_array(a, n) for a, n in ((W1, "W1"), (b1, "b1"), (W2, "W2"), (b2, "b2"))]
nodes = [
    helper.make_node("Gemm", ["x", "W1", "b1"], ["z1"], name="fc1", transB=1),
    helper.make_node("Relu", ["z1"], ["h"], name="relu"),
    helper.make_node("Gemm", ["h", "W2", "b2"], ["z2"], name="fc2", transB=1),
    helper.make_node("LogSoftmax", ["z2"], ["y"], name="lsm", axis=-1),
]
graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
model = helper.make_model(graph, producer_name="make.py", opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 7
checker.check_model(model, full_check=True)
save(model, os.path.join(HERE, "mlp.onnx"))

x = rng.uniform(-3, 3, (12, 4)).astype(np.float32)
z = np.maximum(x @ W1.T + b1, 0) @ W2.T + b2
s = z - z.max(axis=1, keepdims=True)
y = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
np.savetxt(os.path.join(HERE, "inputs.csv"), x, fmt="%.9g", delimiter=",")
np.savetxt(os.path.join(HERE, "expected.csv"), y.astype(np.float32), fmt="%.9g", delimiter=",")
