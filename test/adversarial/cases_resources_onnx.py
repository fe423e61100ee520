"""Class 3 of the adversarial suite, ONNX import: hostile model files end in one message and
exit 1, in bounded time and memory: a file that never ends, graphs nested past any stack,
files of millions of tiny messages, tensors that declare more than they hold, graphs of
100,000 nodes (imported in linear time, then refused by the size check of code generation)."""
import os
import sys

from adv import case

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx", "Inputs"))
import mkonnx  # noqa: E402
import pb  # noqa: E402


def dev_zero_model(ctx):
    os.symlink("/dev/zero", ctx.path("zero.onnx"))


def chain(n):
    nodes = [pb.node("Relu", ["x" if i == 0 else "t%d" % (i - 1)], ["t%d" % i if i < n - 1 else "y"]) for i in range(n)]
    return pb.model(pb.graph(nodes, [pb.value_info("x", ["N", 4])], [pb.value_info("y", ["N", 4])]))


def huge_tensor():
    t = pb.f_int(1, 1 << 24) + pb.f_int(1, 1 << 24) + pb.f_int(2, pb.FLOAT) + pb.f_str(8, "W")
    return mkonnx.one_node("Gemm", (), "fc", ("x", "W"), [t])


def lying_tensor():
    t = pb.f_int(1, 4) + pb.f_int(1, 1000) + pb.f_int(2, pb.FLOAT) + pb.f_str(8, "W") + pb.f_bytes(9, b"\0" * 16)
    return mkonnx.one_node("Gemm", (), "fc", ("x", "W"), [t])


CASES = [
    case("onnx-model-from-dev-zero", "$NNC --check zero.onnx", setup=dev_zero_model, exit=1,
         err=r"'zero\.onnx': model larger than 64 MiB", timeout=60),
    case("onnx-graphs-nested-100000-deep", "$NNC --check deep.onnx", files={"deep.onnx": mkonnx.nested(100000)},
         exit=1, err=r"nested more than 32 deep", timeout=30),
    case("onnx-three-million-empty-nodes", "$NNC --check many.onnx", files={"many.onnx": pb.model(pb.f_bytes(1, b"") * 3000000)},
         exit=1, err=r"too complex to read", timeout=30),
    case("onnx-tensor-declares-2^48-elements", "$NNC --check huge.onnx", files={"huge.onnx": huge_tensor()},
         exit=1, err=r"initializer 'W' is too large", timeout=30),
    case("onnx-tensor-holds-less-than-it-declares", "$NNC --check lie.onnx", files={"lie.onnx": lying_tensor()},
         exit=1, err=r"initializer 'W' has 4 elements for its shape of 4000", timeout=30),
    case("onnx-chain-of-100000-nodes", "$NNC chain.onnx -o chain", files={"chain.onnx": chain(100000)},
         creates=["chain"], timeout=60),
    case("onnx-truncated-at-every-tenth-byte",
         "for n in $(seq 1 10 570); do head -c $n m.onnx > cut.onnx; $NNC --check cut.onnx 2>>log;"
         " test $? = 1 || exit 9; done; rm cut.onnx; grep -c 'not a valid ONNX model' log",
         files={"m.onnx": mkonnx.mlp()}, out=r"^57\n", creates=["log"], timeout=120),
]
