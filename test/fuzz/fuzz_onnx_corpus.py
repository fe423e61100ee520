#!/usr/bin/env python3
"""fuzz_onnx_corpus.py — writes the seed corpus of fuzz_onnx into corpus/onnx/: the working
models of test/onnx/Inputs/mkonnx.py and a few it refuses (each under 2 KB)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "onnx", "Inputs"))
import mkonnx  # noqa: E402

SEEDS = ["mlp", "bn", "mlp-f64", "mlp-opset9", "skip", "conv", "softmax-hidden", "softmax-axis", "gemm-c-batch",
         "reshape-batch", "concat-batch", "unused-input", "output-constant", "nested"]

out = os.path.join(HERE, "corpus", "onnx")
os.makedirs(out, exist_ok=True)
for name in SEEDS:
    make = mkonnx.WORKING[name][0] if name in mkonnx.WORKING else mkonnx.MODELS[name]
    with open(os.path.join(out, name), "wb") as f:
        f.write(make())
