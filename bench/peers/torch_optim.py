"""PyTorch MLP 784-256-128-10 (ReLU, cross-entropy) on Fashion-MNIST, batch 64, constant rate,
with torch.optim.Adam or SGD: the peer of bench/optim.sh.
usage: torch_optim.py THREADS EPOCHS OPTIMIZER(adam|sgd) LR SEED
Prints per-epoch lines on stderr and one RESULT line: seconds per epoch, the final test accuracy."""
import os, sys, time
th, epochs, opt_name, lr, seed = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # before importing torch; env may override
    os.environ.setdefault(v, str(th))
import torch
from torch import nn
from fmnist import load
from stats import mmm, emit

torch.set_num_threads(th)
torch.manual_seed(seed)
Xtr, ytr, Xte, yte = map(torch.from_numpy, load())
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
# PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay — the same as nnc's adam
opt = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[opt_name](model.parameters(), lr=lr)
lossf = nn.CrossEntropyLoss()

times = []
for ep in range(1, epochs + 1):
    t0 = time.perf_counter()
    perm = torch.randperm(len(Xtr))
    Xs, ys = Xtr[perm], ytr[perm]
    for i in range(0, len(Xs), 64):
        opt.zero_grad()
        lossf(model(Xs[i:i + 64]), ys[i:i + 64]).backward()
        opt.step()
    times.append(time.perf_counter() - t0)
    print(f"epoch {ep} {times[-1]:.2f}s", file=sys.stderr)
with torch.no_grad():
    acc = (model(Xte).argmax(1) == yte).float().mean().item()
emit(bench="torch_optim", threads=th, optimizer=opt_name, lr=lr, seed=seed, torch=torch.__version__,
     epoch_s=mmm(times), test_acc=acc)
