"""PyTorch inference of nnc's trained Fashion-MNIST net 784-256-128-10 (ReLU), in float and with
torch.quantization.quantize_dynamic (int8 weights, per-batch activation scales) on its nn.Linear
layers: test accuracy, one-sample latency (per repetition the median of 100 blocks of 100 calls)
and batch-10,000 throughput, on 1 thread. The weights are nnc's (`weights export`, JSON).
usage: torch_quant.py WEIGHTS.json REPS   (one markdown table row per model on stdout)"""
import json
import os
import statistics
import sys
import time

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # before importing torch
    os.environ.setdefault(v, "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402
from fmnist import load  # noqa: E402

torch.set_num_threads(1)
if "fbgemm" in torch.backends.quantized.supported_engines:  # x86's int8 kernels (this torch picks onednn)
    torch.backends.quantized.engine = "fbgemm"
params = torch.tensor(json.load(open(sys.argv[1]))["params"], dtype=torch.float32)
reps = int(sys.argv[2])
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
at = 0
for layer in (model[0], model[2], model[4]):  # nnc's order: each layer's weights [out][in], then its biases
    n = layer.weight.numel()
    layer.weight.data = params[at:at + n].reshape(layer.weight.shape).clone()
    at += n
    layer.bias.data = params[at:at + layer.out_features].clone()
    at += layer.out_features
assert at == params.numel(), "not the 784-256-128-10 network"
quantized = torch.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
_, _, Xte, yte = map(torch.from_numpy, load())
for name, m in (("PyTorch float", model), ("PyTorch quantize_dynamic int8", quantized)):
    lat, thr = [], []
    with torch.no_grad():
        acc = (m(Xte).argmax(1) == yte).float().mean().item()
        for _ in range(reps):
            blocks = []
            for b in range(100):
                t0 = time.perf_counter()
                for i in range(100):
                    m(Xte[b * 100 + i:b * 100 + i + 1])
                blocks.append((time.perf_counter() - t0) / 100)
            lat.append(statistics.median(blocks))
            t0 = time.perf_counter()
            m(Xte)
            thr.append(len(Xte) / (time.perf_counter() - t0))
    print(f"| {name} | {100 * acc:.2f} % | {statistics.median(lat) * 1e6:.2f} | | {statistics.median(thr):.0f} | |")
