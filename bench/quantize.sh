#!/bin/bash
# bench/quantize.sh — float, bf16 and int8 inference of the Fashion-MNIST network side by side:
# trains examples/fashion.nn (3 epochs, once; the weights are kept in bench/build/quant), compiles
# it with its weights three ways (nnc -c --quantize), and runs drivers/nnc_quant.c pinned to CPU 0.
#   bench/quantize.sh [REPS]      (default 5; NNC=path/to/nnc, default build/nnc of the checkout)
# Prints a markdown table: test accuracy, one-sample latency and batch-10,000 throughput, and
# each as a ratio to nnc's float, measured in the same run (the batch also in the thread's CPU
# time, steadier on a shared machine); then PyTorch's float and dynamic
# int8 (torch.quantization.quantize_dynamic) of the same trained weights, on 1 thread too.
# tools/peak.c measures CPU 0's fp32 FMA peak just before: each throughput is also given as a
# multiple of that peak's bound (the samples/s of a float forward at 100 % of the peak), and
# tools/dot_peak.c the rates of vpdpbusd and vdpbf16ps against the FMA's.
set -euo pipefail
cd "$(dirname "$0")"
NNC=${NNC:-../build/nnc}
. ./packages.sh
install_packages /dev/null python3-torch python3-numpy libopenblas-dev dataset-fashion-mnist zlib1g-dev gcc
W=build/quant
mkdir -p $W
cp ../examples/fashion.nn $W/
$NNC $W/fashion.nn -o $W/fashion
[ -f $W/fashion.weights ] || (cd $W && ./fashion train --epochs 3 --quiet --save fashion.weights)
for s in float bf16 int8; do
  q=; [ $s = float ] || q="--quantize $s"
  $NNC -c $W/fashion.nn --weights $W/fashion.weights $q --prefix q_$s -o $W/q_$s.o --header $W/q_$s.h
done
gcc -O2 -Wall -I../include -I$W -o $W/nnc_quant drivers/nnc_quant.c $W/q_float.o $W/q_bf16.o $W/q_int8.o -lz
gcc -O2 -march=native -pthread -o $W/peak tools/peak.c
PEAK=$(taskset -c 0 $W/peak 1 | sed -n 's/.*"fma512_gflops": \([0-9.]*\).*/\1/p')
gcc -O2 -Wall -o $W/dot_peak tools/dot_peak.c
taskset -c 0 $W/dot_peak
echo "nnc $(git -C .. rev-parse --short HEAD), $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg), taskset -c 0 $W/nnc_quant ${1:-5} $PEAK"
taskset -c 0 $W/nnc_quant "${1:-5}" "$PEAK"
(cd $W && ./fashion weights export --weights fashion.weights > fashion.json)
PYTHONPATH=peers taskset -c 0 /usr/bin/python3 peers/torch_quant.py $W/fashion.json "${1:-5}"
