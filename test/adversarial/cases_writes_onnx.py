"""Class 1 of the adversarial suite, ONNX import: what `nnc model.onnx` and `nnc --emit-nn`
write. No output may replace the model it reads (whatever the model's file is called, since a
model is known by its first byte too); --emit-nn writes its two files, the .nn source and the
weights, or neither; a refused model leaves nothing behind."""
import os
import sys

from adv import case

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx", "Inputs"))
import mkonnx  # noqa: E402

MLP = mkonnx.mlp()
CONV = mkonnx.MODELS["conv"]()


def mkdir(*names):
    def setup(ctx):
        for n in names:
            os.makedirs(ctx.path(n), exist_ok=True)
    return setup


CASES = [
    case("onnx-emit-nn-source-names-the-model", "$NNC --emit-nn m.onnx -o m.onnx", files={"m.onnx": MLP},
         exit=2, err=r"output file 'm\.onnx' is the input file", creates=[]),
    # the weights go to m.weights beside -o m.nn: here that is the model itself
    case("onnx-emit-nn-weights-name-the-model", "$NNC --emit-nn m.weights -o m.nn", files={"m.weights": MLP},
         exit=2, err=r"output file 'm\.weights' is the input file", creates=[]),
    # a model without the .onnx suffix is known by its first byte; its default executable
    # would be itself
    case("onnx-default-executable-is-the-model", "$NNC mlp", files={"mlp": MLP}, exit=2,
         err=r"output file 'mlp' is the input file", creates=[]),
    case("onnx-emit-nn-weights-path-is-a-directory", "$NNC --emit-nn m.onnx -o m.nn", files={"m.onnx": MLP},
         setup=mkdir("m.weights"), exit=2, err=r"output file 'm\.weights' is a directory", creates=[]),
    case("onnx-emit-nn-into-a-missing-directory", "$NNC --emit-nn m.onnx -o no/such/m.nn", files={"m.onnx": MLP},
         exit=(1, 2), err=r"no/such", creates=[]),
    case("onnx-emit-nn-writes-source-and-weights", "$NNC --emit-nn m.onnx && $NNC m.nn --weights m.weights -o m2",
         files={"m.onnx": MLP}, creates=["m.nn", "m.weights", "m2"]),
    case("onnx-emit-nn-replaces-both-whole", "$NNC --emit-nn m.onnx -o m.nn && grep -q 'network m' m.nn",
         files={"m.onnx": MLP, "m.nn": "old source\n", "m.weights": "old weights\n"},
         may_change=["m.nn", "m.weights"], creates=[]),
    case("onnx-refused-model-writes-nothing", "$NNC conv.onnx -o out", files={"conv.onnx": CONV}, exit=1,
         err=r"node 'conv1' \(Conv\): not supported", creates=[]),
    case("onnx-refused-model-emit-nn-writes-nothing", "$NNC --emit-nn conv.onnx -o out.nn", files={"conv.onnx": CONV},
         exit=1, err=r"not supported", creates=[]),
    case("onnx-object-and-header-of-a-model", "$NNC -c m.onnx -o m.o --header m.h", files={"m.onnx": MLP},
         creates=["m.o", "m.h"]),
    case("onnx-header-names-the-model", "$NNC -c m.onnx -o m.o --header m.onnx", files={"m.onnx": MLP}, exit=2,
         err=r"header file 'm\.onnx' is the input file", creates=[]),
]
