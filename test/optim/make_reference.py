#!/usr/bin/python3
"""Writes reference.json: the weights PyTorch's torch.optim reaches from given initial weights
on a tiny data set, for each optimizer and option nnc implements, per-sample and mini-batch, in
f64 and f32. check_reference.py trains the same network with nnc and compares.

Run with the Python that has torch (Debian's python3-torch): /usr/bin/python3 make_reference.py.
The suite never runs this script; it reads the committed reference.json.

The network is `input x[2]; layer h[3] tanh; output y[2] linear`, its weights literal in the
.nn file. nnc's parameters are laid out as torch's nn.Linear ones: h's weights (3 rows of 2),
h's biases, y's weights (2 rows of 3), y's biases. nnc's squared loss of a sample is
Σ (ŷ − y)² with no ½, and a step uses the batch's summed gradient divided by the batch size:
torch's loss here is therefore ((ŷ − y)²).sum() / n for a batch of n (the last batch of an
epoch may be smaller). Samples are visited in data order (`shuffle off`).

The full-batch optimizers (rprop, irprop) step once per epoch on the whole data set's gradient
(mode full_batch, written with batch 0: their setting has no batch). rprop is torch.optim.Rprop;
irprop is FANN's iRPROP− (fann_update_weights_irpropm), which torch lacks: its rule is written
below over torch's gradients, as nnc documents it (a step floor of 1e-4, growth when the
gradient or the previous one is 0, no move after a sign change or on a zero gradient).

The scheduled cases add lines to the train block (`decay ...`, `warmup ...`, `clip ...`) and
train with torch.optim.lr_scheduler (stepped once per epoch, the warmup in steps once per
update, ReduceLROnPlateau on the epoch's mean training loss) and torch.nn.utils.clip_grad_*
(on the batch's mean gradient, before the step); "flags" are the executable's flags that say
the same over a network compiled without those lines.

The dropout cases put `dropout P` on h: nnc's mask of each sample is reproduced here bit for
bit (runtime/dropout.c: splitmix64 of (seed, epoch, row), seed 1, the default) and applied in
torch as PyTorch's nn.Dropout does, h·mask with mask 0 or 1/(1 − P). The dropout_wide cases
train a wider network (20-32-24-3, sigmoid and ReLU layers each with dropout, literal weights
in "wide"), whose groups are wide enough for nnc's vector kernels."""
import json
import math
import os

import torch

W1 = [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]
B1 = [0.01, 0.02, 0.03]
W2 = [[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]]
B2 = [0.05, -0.05]
DATA = [[0.1, 0.2, 0.3, -0.1], [0.5, -0.4, 0.2, 0.6], [-0.3, 0.8, -0.5, 0.1],
        [0.9, 0.1, 0.4, 0.4], [-0.7, -0.2, 0.0, -0.3], [0.2, 0.6, 0.7, 0.2]]

# name: (nnc setting, torch optimizer class, its keyword arguments)
OPTIMIZERS = {
    "sgd_momentum": ("sgd rate 0.05 momentum 0.9", torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov": ("sgd rate 0.05 momentum 0.9 nesterov on", torch.optim.SGD,
                     dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": ("sgd rate 0.05 momentum 0.5 weight_decay 0.01", torch.optim.SGD,
                         dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    "sgd_dampening": ("sgd rate 0.05 momentum 0.9 dampening 0.3", torch.optim.SGD,
                      dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd_weight_decay_plain": ("sgd rate 0.05 weight_decay 0.1", torch.optim.SGD, dict(lr=0.05, weight_decay=0.1)),
    "adam": ("adam rate 0.01", torch.optim.Adam, dict(lr=0.01)),
    "adam_amsgrad": ("adam rate 0.01 betas 0.8 0.95 amsgrad on", torch.optim.Adam,
                     dict(lr=0.01, betas=(0.8, 0.95), amsgrad=True)),
    "adam_weight_decay": ("adam rate 0.01 eps 1e-6 weight_decay 0.1", torch.optim.Adam,
                          dict(lr=0.01, eps=1e-6, weight_decay=0.1)),
    "adamw": ("adamw rate 0.01", torch.optim.AdamW, dict(lr=0.01)),
    "adamw_amsgrad": ("adamw rate 0.02 weight_decay 0.5 amsgrad on", torch.optim.AdamW,
                      dict(lr=0.02, weight_decay=0.5, amsgrad=True)),
    "rmsprop": ("rmsprop rate 0.01", torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop_momentum": ("rmsprop rate 0.01 momentum 0.5 weight_decay 0.01", torch.optim.RMSprop,
                         dict(lr=0.01, momentum=0.5, weight_decay=0.01)),
    "rmsprop_centered": ("rmsprop rate 0.01 alpha 0.9 eps 1e-6 momentum 0.3 centered on", torch.optim.RMSprop,
                         dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.3, centered=True)),
}
MODES = {"per_sample": (1, 2), "mini_batch": (4, 3)}  # batch, epochs

LR = torch.optim.lr_scheduler

class IRprop(torch.optim.Optimizer):
    """FANN's iRPROP− as nnc implements it: Δ = clamp(max(Δ, 1e-4)·f, Δmin, Δmax) with
    f = η− after a sign change (then g = 0), else η+; p −= sign(g)·Δ; Δ starts at lr."""

    def __init__(self, params, lr=0.1, etas=(0.5, 1.2), step_sizes=(0.0, 50.0)):
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            (down, up), (lo, hi) = group["etas"], group["step_sizes"]
            for p in group["params"]:
                st = self.state[p]
                if not st:
                    st["prev"] = torch.zeros_like(p)
                    st["step"] = torch.full_like(p, group["lr"])
                g = p.grad.clone()
                prod = g * st["prev"]
                factor = torch.where(prod < 0, torch.full_like(p, down), torch.full_like(p, up))
                d = torch.clamp(st["step"], min=1e-4) * factor
                d = d.clamp(lo, hi)
                g[prod < 0] = 0
                p.add_(-g.sign() * d)
                st["prev"].copy_(g)
                st["step"].copy_(d)


# name: (nnc setting, optimizer class, its keyword arguments): one step per epoch on all data
FULL_BATCH = {
    "rprop": ("rprop", torch.optim.Rprop, dict(lr=0.01)),
    "rprop_options": ("rprop rate 0.05 etas 0.3 1.5 step_sizes 0.001 0.2", torch.optim.Rprop,
                      dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(0.001, 0.2))),
    "irprop": ("irprop", IRprop, dict()),
    "irprop_options": ("irprop rate 0.02 etas 0.4 1.3 step_sizes 0.01 1", IRprop,
                       dict(lr=0.02, etas=(0.4, 1.3), step_sizes=(0.01, 1.0))),
}
FULL_BATCH_EPOCHS = 12


def wave_data(n):
    """n rows of a smooth function, written out by check_reference.py the same way: more rows
    than one chunk of a full-batch gradient (1024), so the chunked sum is checked too."""
    return [[math.sin(0.37 * i), math.cos(1.3 * i), 0.5 * math.sin(0.11 * i + 1), 0.3 * math.cos(0.07 * i)]
            for i in range(n)]


WAVE_ROWS = 2600


def warmup_then_cosine(opt):
    return {"epoch": LR.SequentialLR(opt, [LR.LinearLR(opt, start_factor=0.2, total_iters=2),
                                           LR.CosineAnnealingLR(opt, T_max=4, eta_min=0.001)], milestones=[2])}


def step_warmup_cosine(opt):
    step = LR.LinearLR(opt, start_factor=0.1, total_iters=5)  # chained: the rates multiply
    return {"step": step, "epoch": LR.CosineAnnealingLR(opt, T_max=6)}


# name: (optimizer setting, train-block lines, the same as flags, torch optimizer, its keyword
# arguments, schedulers of an optimizer, clipping (kind, value) or None)
SCHEDULED = {
    "cosine": ("adam rate 0.02", "decay cosine 5 min_rate 0.001;",
               ["--schedule", "cosine", "--period", "5", "--min-rate", "0.001"], torch.optim.Adam, dict(lr=0.02),
               lambda opt: {"epoch": LR.CosineAnnealingLR(opt, T_max=5, eta_min=0.001)}, None),
    "cosine_restarts": ("sgd rate 0.1", "decay cosine_restarts 2 mult 2 min_rate 0.01;",
                        ["--schedule", "cosine_restarts", "--period", "2", "--period-mult", "2", "--min-rate", "0.01"],
                        torch.optim.SGD, dict(lr=0.1),
                        lambda opt: {"epoch": LR.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.01)}, None),
    "warmup_cosine": ("adamw rate 0.02", "decay cosine 4 min_rate 0.001; warmup 2 epochs from 0.2;",
                      ["--schedule", "cosine", "--period", "4", "--min-rate", "0.001", "--warmup", "2", "--warmup-from",
                       "0.2"], torch.optim.AdamW, dict(lr=0.02), warmup_then_cosine, None),
    "warmup_steps_cosine": ("rmsprop rate 0.01", "decay cosine 6; warmup 5 steps from 0.1;",
                            ["--schedule", "cosine", "--period", "6", "--warmup", "5", "--warmup-steps", "--warmup-from",
                             "0.1"], torch.optim.RMSprop, dict(lr=0.01), step_warmup_cosine, None),
    "plateau": ("adam rate 0.05", "decay plateau factor 0.5 patience 0 threshold 0.05;",
                ["--schedule", "plateau", "--factor", "0.5", "--plateau-patience", "0", "--threshold", "0.05"],
                torch.optim.Adam, dict(lr=0.05),
                lambda opt: {"plateau": LR.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.05)}, None),
    "plateau_cooldown": ("sgd rate 0.2", "decay plateau factor 0.5 patience 1 threshold 0.1 cooldown 1 min_rate 0.04;",
                         ["--schedule", "plateau", "--factor", "0.5", "--plateau-patience", "1", "--threshold", "0.1",
                          "--cooldown", "1", "--min-rate", "0.04"], torch.optim.SGD, dict(lr=0.2),
                         lambda opt: {"plateau": LR.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=0.1,
                                                                      cooldown=1, min_lr=0.04)}, None),
    "clip_norm": ("sgd rate 0.1 momentum 0.9", "clip norm 0.05;", ["--clip-norm", "0.05"], torch.optim.SGD,
                  dict(lr=0.1, momentum=0.9), lambda opt: {}, ("norm", 0.05)),
    "clip_value": ("adam rate 0.01", "clip value 0.02;", ["--clip-value", "0.02"], torch.optim.Adam, dict(lr=0.01),
                   lambda opt: {}, ("value", 0.02)),
    "clip_warmup_cosine": ("adamw rate 0.02 weight_decay 0.1", "decay cosine 4 min_rate 0.001; warmup 2 epochs from "
                           "0.2; clip norm 0.1 value 0.05;",
                           ["--schedule", "cosine", "--period", "4", "--min-rate", "0.001", "--warmup", "2",
                            "--warmup-from", "0.2", "--clip-norm", "0.1", "--clip-value", "0.05"], torch.optim.AdamW,
                           dict(lr=0.02, weight_decay=0.1), warmup_then_cosine, ("both", (0.1, 0.05))),
}
SCHEDULED_MODES = {"per_sample": (1, 8), "mini_batch": (4, 8)}  # batch, epochs


# name: (nnc setting, torch optimizer class, its keyword arguments), trained with dropout on h
DROPOUT = {
    "dropout_sgd": ("sgd rate 0.1 momentum 0.5", torch.optim.SGD, dict(lr=0.1, momentum=0.5)),
    "dropout_adamw": ("adamw rate 0.02", torch.optim.AdamW, dict(lr=0.02)),
    "dropout_sgd_plain": ("sgd rate 0.1", torch.optim.SGD, dict(lr=0.1)),  # per sample: the fused step
}
DROPOUT_P = 0.4
DROPOUT_SEED = 1
DROPOUT_MODES = {"per_sample": (1, 4), "mini_batch": (4, 4)}  # batch, epochs
U64 = (1 << 64) - 1


def splitmix64(z):
    """One splitmix64 step from state z (runtime/rng.c)."""
    z = (z + 0x9E3779B97F4A7C15) & U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def dropout_mask(p, seed, epoch, row, units):
    """nnc's mask of the sample of data row `row` in epoch `epoch` (from 0): unit u kept, as
    1/(1 − p), when U = (h(key + u) >> 11)·2^-53 ≥ p, with key = h(h(h(seed) ^ epoch) ^ row)."""
    key = splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ row)
    us = [(splitmix64((key + u) & U64) >> 11) * 2.0 ** -53 for u in range(units)]
    return [1 / (1 - p) if U >= p else 0.0 for U in us]


WIDE_SIZES = [20, 32, 24, 3]
WIDE_P = [0.3, 0.5]
WIDE_MODES = {"per_sample": (1, 2, 0.0), "mini_batch": (5, 3, 0.5)}  # batch, epochs, momentum


def wide_reference():
    """Literal weights (w, b per layer) and 40 rows of 20 inputs and 3 targets."""
    layers = []
    for k in range(3):
        n_in, n_out = WIDE_SIZES[k], WIDE_SIZES[k + 1]
        w = [[round(0.4 * math.sin(1.7 * i + 0.9 * j + k) / math.sqrt(n_in) * 3, 6) for j in range(n_in)]
             for i in range(n_out)]
        b = [round(0.05 * math.cos(i + k), 6) for i in range(n_out)]
        layers.append({"w": w, "b": b})
    data = [[round(math.sin(0.3 * r + j), 6) for j in range(20)] + [round(math.cos(0.2 * r + k), 6) for k in range(3)]
            for r in range(40)]
    return {"layers": layers, "data": data}


def wide_setting(momentum):
    return "sgd rate 0.01" + (" momentum %g" % momentum if momentum else "")


def train_wide(wide, dtype, batch, epochs, momentum):
    """SGD (rate 0.01, the momentum given) with nnc's masks on both hidden layers."""
    ts = []
    for layer in wide["layers"]:
        ts += [torch.tensor(layer["w"], dtype=dtype, requires_grad=True),
               torch.tensor(layer["b"], dtype=dtype, requires_grad=True)]
    data = torch.tensor(wide["data"], dtype=dtype)
    x, t = data[:, :20], data[:, 20:]
    opt = torch.optim.SGD(ts, lr=0.01, momentum=momentum)
    rates = [WIDE_P[0]] * WIDE_SIZES[1] + [WIDE_P[1]] * WIDE_SIZES[2]
    for epoch in range(epochs):
        for lo in range(0, len(x), batch):
            xb, tb = x[lo:lo + batch], t[lo:lo + batch]
            masks = []
            for r in range(lo, lo + len(xb)):
                key = splitmix64(splitmix64(splitmix64(DROPOUT_SEED) ^ epoch) ^ r)
                us = [(splitmix64((key + u) & U64) >> 11) * 2.0 ** -53 for u in range(len(rates))]
                masks.append([1 / (1 - p) if U >= p else 0.0 for U, p in zip(us, rates)])
            m = torch.tensor(masks, dtype=dtype)
            h = torch.sigmoid(xb @ ts[0].T + ts[1]) * m[:, :WIDE_SIZES[1]]
            g = torch.relu(h @ ts[2].T + ts[3]) * m[:, WIDE_SIZES[1]:]
            y = g @ ts[4].T + ts[5]
            opt.zero_grad()
            (((y - tb) ** 2).sum() / len(xb)).backward()
            opt.step()
    return [float(v) for p in ts for v in p.detach().reshape(-1)]


def clip(net, how):
    if how is None:
        return
    kind, value = how
    if kind in ("value", "both"):
        torch.nn.utils.clip_grad_value_(net.parameters(), value if kind == "value" else value[1])
    if kind in ("norm", "both"):
        torch.nn.utils.clip_grad_norm_(net.parameters(), value if kind == "norm" else value[0])


class Masked(torch.nn.Module):
    """Multiplies each row by the mask the caller set (dropout as nn.Dropout applies it)."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, h):
        return h if self.mask is None else h * self.mask


def train(opt_class, kwargs, dtype, batch, epochs, schedulers=None, clipping=None, rates=None, rows=DATA,
          dropout=0.0):
    drop = Masked()
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), drop, torch.nn.Linear(3, 2)).to(dtype)
    with torch.no_grad():
        for p, v in zip(net.parameters(), (W1, B1, W2, B2)):
            p.copy_(torch.tensor(v, dtype=dtype))
    data = torch.tensor(rows, dtype=dtype)
    x, t = data[:, :2], data[:, 2:]
    extra = {} if opt_class in (torch.optim.SGD, IRprop) else {"foreach": False}
    batch = batch or len(rows)
    opt = opt_class(net.parameters(), **kwargs, **extra)
    sched = schedulers(opt) if schedulers else {}
    for epoch in range(epochs):
        total = 0.0
        if rates is not None:
            rates.append(opt.param_groups[0]["lr"])
        for lo in range(0, len(rows), batch):
            xb, tb = x[lo:lo + batch], t[lo:lo + batch]
            if dropout > 0:
                drop.mask = torch.tensor([dropout_mask(dropout, DROPOUT_SEED, epoch, r, 3)
                                          for r in range(lo, lo + len(xb))], dtype=dtype)
            opt.zero_grad()
            summed = ((net(xb) - tb) ** 2).sum()
            total += float(summed)
            (summed / len(xb)).backward()
            clip(net, clipping)
            opt.step()
            if "step" in sched:
                sched["step"].step()
        if "epoch" in sched:
            sched["epoch"].step()
        if "plateau" in sched:
            sched["plateau"].step(total / len(rows))
    return [float(v) for p in net.parameters() for v in p.detach().reshape(-1)]


def main():
    cases = []
    for name, (setting, opt_class, kwargs) in OPTIMIZERS.items():
        for mode, (batch, epochs) in MODES.items():
            for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
                cases.append({"name": f"{name}.{mode}.{precision}", "setting": setting, "batch": batch,
                              "epochs": epochs, "precision": precision,
                              "params": train(opt_class, kwargs, dtype, batch, epochs)})
    for name, (setting, opt_class, kwargs) in FULL_BATCH.items():
        for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            cases.append({"name": f"{name}.full_batch.{precision}", "setting": setting, "batch": 0,
                          "epochs": FULL_BATCH_EPOCHS, "precision": precision,
                          "params": train(opt_class, kwargs, dtype, 0, FULL_BATCH_EPOCHS)})
    for name in ("rprop_options", "irprop"):  # f64 only: the data are written as decimal text
        setting, opt_class, kwargs = FULL_BATCH[name]
        cases.append({"name": f"{name}.full_batch_wave.f64", "setting": setting, "batch": 0, "epochs": 6,
                      "precision": "f64", "wave_rows": WAVE_ROWS,
                      "params": train(opt_class, kwargs, torch.float64, 0, 6, rows=wave_data(WAVE_ROWS))})
    for name, (setting, extra, flags, opt_class, kwargs, schedulers, clipping) in SCHEDULED.items():
        for mode, (batch, epochs) in SCHEDULED_MODES.items():
            for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
                rates = []
                params = train(opt_class, kwargs, dtype, batch, epochs, schedulers, clipping, rates)
                cases.append({"name": f"{name}.{mode}.{precision}", "setting": setting, "extra": extra,
                              "flags": flags, "batch": batch, "epochs": epochs, "precision": precision,
                              "rates": rates, "params": params})
    for name, (setting, opt_class, kwargs) in DROPOUT.items():
        for mode, (batch, epochs) in DROPOUT_MODES.items():
            for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
                cases.append({"name": f"{name}.{mode}.{precision}", "setting": setting, "batch": batch,
                              "epochs": epochs, "precision": precision, "dropout": DROPOUT_P,
                              "params": train(opt_class, kwargs, dtype, batch, epochs, dropout=DROPOUT_P)})
    wide = wide_reference()
    for mode, (batch, epochs, momentum) in WIDE_MODES.items():
        for precision, dtype in (("f64", torch.float64), ("f32", torch.float32)):
            cases.append({"name": f"dropout_wide.{mode}.{precision}", "setting": wide_setting(momentum),
                          "batch": batch, "epochs": epochs, "precision": precision, "wide": WIDE_P,
                          "params": train_wide(wide, dtype, batch, epochs, momentum)})
    out = {"torch": torch.__version__, "w1": W1, "b1": B1, "w2": W2, "b2": B2, "data": DATA, "wide": wide, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    head = json.dumps({k: v for k, v in out.items() if k != "cases"})[:-1]
    with open(path, "w") as fh:  # one case a line
        fh.write(head + ', "cases": [\n' + ",\n".join(json.dumps(c) for c in cases) + "\n]}\n")
    print(f"{len(cases)} cases written to {path}")


main()
