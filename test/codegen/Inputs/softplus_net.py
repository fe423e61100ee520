"""Prints a network of N softplus neurons whose sum is z = -20 for the input 1 (each weight
-20, learned; bias fixed at 0), summed by a fixed identity output, trained one step on one.csv
(the row 1,1) with rate 10^6: each weight moves by 10^6 * 2(1 - y) * softplus'(-20).
N = 1 gives specialised code; N = 300 is past the code budget, so the neurons are tabled.
usage: softplus_net.py N PRECISION NAME"""
import sys

n, precision, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
print("network %s {\n  input x[1];" % name)
for k in range(n):
    print("  neuron n%d softplus <- -20*x + fixed 0;" % k)
print("  output y identity <- %s + fixed 0;" % " + ".join("fixed 1*n%d" % k for k in range(n)))
print('  train { data "one.csv" inputs 0 targets 1; precision %s; sgd rate 1000000 batch 1; epochs 1; }\n}'
      % precision)
