#!/usr/bin/python3
"""export.py — writes the PyTorch models of test/onnx/pytorch-round-trip.test: each exported
with torch.onnx.export (Debian's python3-torch), sample inputs NAME.x.csv and torch's outputs
NAME.y.csv (f32). The suite needs none of this: run it by hand to regenerate the files.

  seq    nn.Sequential MLP: Linear, ReLU, Linear, Sigmoid, Linear (operator set 9)
  flat   Flatten of [N, 3, 4], Linear, LeakyReLU(0.1), Linear, Softplus, Linear, Tanh,
         Linear, Softmax (operator set 13)
  skip   ReLU and Tanh layers, then torch.cat of the last layer and the input (a skip
         connection), Linear, Softmax (operator set 17)
  bn     Linear, BatchNorm1d (its running statistics set), ReLU, Dropout, Linear (eval mode,
         operator set 13)
  norm   the inputs normalised, (x - mean) / std with constant mean and std (a Sub and a Div
         in float), then Linear, ReLU, Linear (operator set 13)

Usage: export.py [NAME...] (default: all).
"""
import sys

import numpy as np
import torch
import torch.nn as nn


class Skip(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(6, 16), nn.Linear(16, 16), nn.Linear(16 + 6, 3)

    def forward(self, x):
        h = torch.tanh(self.b(torch.relu(self.a(x))))
        return torch.softmax(self.out(torch.cat([h, x], dim=1)), dim=1)


class Norm(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([5.8, 3.0, 3.8, 1.2]))
        self.register_buffer("std", torch.tensor([0.83, 0.43, 1.76, 0.76]))
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def main():
    torch.manual_seed(0)
    models = {
        "seq": (nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8), nn.Sigmoid(), nn.Linear(8, 3)),
                torch.randn(7, 4), 9),
        "flat": (nn.Sequential(nn.Flatten(), nn.Linear(12, 10), nn.LeakyReLU(0.1), nn.Linear(10, 5), nn.Softplus(),
                               nn.Linear(5, 2), nn.Tanh(), nn.Linear(2, 4), nn.Softmax(dim=1)),
                 torch.randn(7, 3, 4), 13),
        "skip": (Skip(), torch.randn(7, 6), 17),
        "bn": (nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2)),
               torch.randn(7, 5), 13),
        "norm": (Norm(), torch.randn(7, 4) * torch.tensor([0.83, 0.43, 1.76, 0.76]) + torch.tensor([5.8, 3.0, 3.8, 1.2]),
                 13),
    }
    bn = models["bn"][0][1]
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.5, 0.5)
    for name, (model, x, opset) in models.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        model.eval()
        torch.onnx.export(model, x, name + ".onnx", input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
        with torch.no_grad():
            y = model(x).numpy()
        np.savetxt(name + ".x.csv", x.reshape(len(x), -1).numpy(), delimiter=",", fmt="%.9g")
        np.savetxt(name + ".y.csv", y, delimiter=",", fmt="%.9g")


if __name__ == "__main__":
    main()
