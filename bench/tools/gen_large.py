#!/usr/bin/env python3
"""gen_large.py — writes a large .nn source of a given shape and size to standard output.

Used by bench/frontend.sh to measure how nnc's front-end and code generation scale, and by the
adversarial suite to build big inputs. Every shape yields a valid network (nnc --check exits 0)
whose size grows linearly in N:

  terms        one neuron whose sum has N terms, each from its own input neuron x[i]
  layers       a chain of N dense layers of 4 neurons each
  neurons      N single neurons fed from the inputs, all summed into the output
  unit_layers  a chain of N one-neuron layers
  edges        a chain of N single neurons, each fed from the 3 before it (about 3N edge sets)
  inputs       N single input neurons, all summed into the output
  outputs      N single output neurons, each fed from one hidden layer
  mlp          a dense K-32-K/4 network of about N weights (K = N/40), the everyday shape
  fmnist_deep  784-256-...-256-10 with N ReLU hidden layers of 256, Fashion-MNIST's train block
  fmnist_wide  784-N-N-10, two ReLU hidden layers of N neurons, Fashion-MNIST's train block

usage: gen_large.py SHAPE N
"""
import sys


def header(name, inputs):
    return [f"network {name} {{", f"  input x[{inputs}];"]


def train_block():
    return ["  train {", '    data "d.csv" inputs 0..3 targets 4;', "    epochs 1;", "  }", "}"]


def terms(n):
    out = [f"network big {{", f"  input x[{n}];"]
    sum_ = " + ".join(f"{0.001 * (i % 7 + 1):g}*x[{i}]" for i in range(n))
    out.append(f"  output y[1] sigmoid <- {sum_} + 0.1;")
    out.append("}")
    return out


def layers(n):
    out = header("big", 4)
    out += [f"  layer h{i}[4] tanh;" for i in range(n)]
    out.append("  output y[1] sigmoid;")
    return out + train_block()


def neurons(n):
    out = header("big", 4)
    out += [f"  neuron n{i} relu <- {0.1 * (i % 5 + 1):g}*x[{i % 4}] + 0.1;" for i in range(n)]
    out.append("  output y[1] sigmoid <- " + " + ".join(f"n{i}" for i in range(n)) + ";")
    return out + train_block()


def unit_layers(n):
    out = header("big", 4)
    out += [f"  layer h{i}[1] tanh;" for i in range(n)]
    out.append("  output y[1] sigmoid;")
    return out + train_block()


def edges(n):
    out = header("big", 4)
    out.append("  neuron n0 tanh <- x;")
    for i in range(1, n):
        refs = [f"n{j}" for j in range(max(0, i - 3), i)]
        out.append(f"  neuron n{i} tanh <- " + " + ".join(refs) + ";")
    out.append(f"  output y[1] sigmoid <- n{n - 1};")
    return out + train_block()


def inputs(n):
    out = ["network big {"] + [f"  input a{i};" for i in range(n)]
    out.append("  output y[1] sigmoid <- " + " + ".join(f"a{i}" for i in range(n)) + ";")
    return out + ["}"]


def outputs(n):
    out = header("big", 4) + ["  layer h[8] tanh;"]
    out += [f"  output o{i} sigmoid <- h;" for i in range(n)]
    return out + ["}"]


def mlp(n):
    k = max(1, n // 40)
    out = header("big", k) + ["  layer h[32] sigmoid;", f"  output y[{max(1, k // 4)}] sigmoid;"]
    return out + ["}"]


def fmnist_train_block():
    fm = "/usr/share/datasets/fashion-mnist"
    return ["  output class[10] softmax;", "  train {",
            f'    data "{fm}/train-images-idx3-ubyte.gz" labels "{fm}/train-labels-idx1-ubyte.gz" scale 1/255;',
            f'    test "{fm}/t10k-images-idx3-ubyte.gz" labels "{fm}/t10k-labels-idx1-ubyte.gz";',
            "    loss cross_entropy;", "    sgd rate 0.1 batch 64;", "    epochs 1;", "    init he seed 1;", "  }", "}"]


def relu_layers(widths):
    return [f"  layer h{i + 1}[{w}] relu;" for i, w in enumerate(widths)]


def fmnist_deep(n):
    return header("deep", 784) + relu_layers([256] * n) + fmnist_train_block()


def fmnist_wide(n):
    return header("wide", 784) + relu_layers([n, n]) + fmnist_train_block()


SHAPES = {"terms": terms, "layers": layers, "neurons": neurons, "unit_layers": unit_layers, "edges": edges,
          "inputs": inputs, "outputs": outputs, "mlp": mlp,
          "fmnist_deep": fmnist_deep, "fmnist_wide": fmnist_wide}


def generate(shape, n):
    """The source text of SHAPE with size N."""
    return "\n".join(SHAPES[shape](n)) + "\n"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit(__doc__)
    sys.stdout.write(generate(sys.argv[1], int(sys.argv[2])))


if __name__ == "__main__":
    main()
