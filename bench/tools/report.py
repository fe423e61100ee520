"""Turns bench/results/raw.tsv (rep, tag, max RSS KiB, wall s, command, json) into the markdown tables of
bench/results/table.md: medians with min–max over all repetitions, nnc's speed-up over each peer, the
targets met or missed. usage: report.py RAW.tsv ENV.txt"""
import json, statistics, sys
from collections import defaultdict

BASELINE_PEAK1 = 287.5             # GFLOP/s, 1-core AVX-512 FMA peak of the machine the targets were set on
FLOP = 1_007_104                   # training flop per sample, 784-256-128-10
INFER_FLOP = 470_272               # forward flop per sample, 784-256-128-10
DATA_MB = 70000 * (784 + 10) * 4 / 1e6   # train + test inputs and one-hot targets as float32

runs = defaultdict(list)
for line in open(sys.argv[1]):
    rep, tag, rss, wall, cmd, js = line.rstrip("\n").split("\t")
    runs[tag].append({"rep": int(rep), "rss_mb": int(rss) * 1024 / 1e6, "wall": float(wall), "cmd": cmd,
                      "r": json.loads(js) if js else {}})
env = open(sys.argv[2]).read() if len(sys.argv) > 2 else ""

def agg(tag, key, k=1.0):
    """median of the runs' medians, min of their minima, max of their maxima (None if absent)"""
    rs = [x["r"][key] for x in runs.get(tag, []) if key in x["r"]]
    if not rs: return None
    if not isinstance(rs[0], dict): rs = [{"median": v, "min": v, "max": v, "n": 1} for v in rs]
    return {"median": statistics.median(r["median"] for r in rs) * k, "min": min(r["min"] for r in rs) * k,
            "max": max(r["max"] for r in rs) * k, "n": sum(r.get("n", 1) for r in rs), "runs": len(rs)}

def plain(tag, field):
    v = [x[field] for x in runs.get(tag, [])]
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v), "runs": len(v)} if v else None

def med(s): return s["median"] if s else None
def f(x, d=2): return "-" if x is None else f"{x:,.{d}f}"
def mm(s, d=2): return "-" if not s else f"{f(s['median'], d)} ({f(s['min'], d)}–{f(s['max'], d)})"
def ratio(a, b, d=2): return "-" if a is None or b is None or b == 0 else f"{a / b:,.{d}f}×"
def last_acc(tag):
    v = []
    for x in runs.get(tag, []):
        a = x["r"].get("test_acc") or {}
        if a: v.append(a[max(a, key=int)])
    return f"{statistics.median(v):.4f}" if v else "-"
def cmd(tag): return f"`{runs[tag][0]['cmd']}`" if runs.get(tag) else "-"
def table(head, rows):
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows: print("| " + " | ".join(map(str, r)) + " |")
    print()

reps = max((x["rep"] for v in runs.values() for x in v), default=0)
print(f"Medians over {reps} repetition(s), implementations alternated round-robin in each; `x (a–b)` = median "
      "(min–max) over every epoch / block / chunk of every repetition (the median is the median of the runs' medians). "
      "**×** columns: the peer's time ÷ nnc's time (above 1: nnc is faster).\n")
print("```\n" + env.strip() + "\n```\n")

def cpu_kind():
    """the CPU as env.txt names it, with its family (AMD family 26 is Zen 5) and its widest vector extension"""
    field = lambda k: next((l.split(":", 1)[1].strip() for l in env.splitlines() if l.split(":")[0].strip() == k), "?")
    name, fam, model = field("model name"), field("cpu family"), field("model")
    zen = {"23": "Zen 1/2", "25": "Zen 3/4", "26": "Zen 5"}.get(fam) if "AMD" in name else None
    ext = field("vector extensions").split()
    vec = "AVX-512 + AMX" if "amx_tile" in ext else "AVX-512" if "avx512f" in ext else "AVX2" if "avx2" in ext else "?"
    return f"{name} (family {fam} model {model}{': ' + zen if zen else ''}), {vec}"

print(f"**CPU: {cpu_kind()}**: every table below was measured on it, in this run.\n")

# ---- the machine, measured in this run: every "% FMA peak" and every bound below uses it ----
pk1, pk2 = agg("peak1", "fma512_gflops"), agg("peak2", "fma512_gflops")
PEAK1 = med(pk1) or BASELINE_PEAK1
PEAK1_AVX2 = med(agg("peak1", "fma256_gflops")) or PEAK1   # the peak of code compiled for AVX2 (--cpu x86-64-v3)
print("## 0. This machine: clock and fp32 FMA peak (`tools/peak.c`, 12 independent FMA chains)\n")
rows = []
for t, th in (("peak1", 1), ("peak2", 2)):
    if not runs.get(t): continue
    rows.append((th, mm(agg(t, "ghz")), mm(agg(t, "fma256_gflops"), 1), mm(agg(t, "fma512_gflops"), 1),
                 f(med(agg(t, "flop_per_cycle_core_512")), 1), cmd(t)))
table(["cores", "GHz", "AVX2 GFLOP/s", "AVX-512 GFLOP/s", "flop/cycle/core (512)", "command"], rows)
print(f"The targets of the benchmark issue were set on a machine measured at {BASELINE_PEAK1} GFLOP/s per core "
      f"(4.49 GHz, 64 flop/cycle: two 512-bit FMAs a cycle); this run measured {PEAK1:.1f}. Percentages of peak and the "
      "*bound here* column of the targets use this run's figure: the best any implementation can do on this machine.\n")

ep = lambda t: agg(t, "epoch_s")
NAMES = {
    "nnc_mb": "**nnc** (C driver of the compiled object)", "cli_mb1": "**nnc** `train` command",
    "cli_mb2": "**nnc** `train --threads 2`",
    "nnc_mb_avx2": "**nnc** `--cpu x86-64-v3` (AVX2), C driver", "cli_mb1_avx2": "**nnc** `--cpu x86-64-v3` (AVX2), `train`", "c_mb": "hand-written C (-O3 -march=native -ffast-math)",
    "torch1": "PyTorch (OpenBLAS forced to Haswell, AVX2)", "torch1_auto": "PyTorch (OpenBLAS autodetect: Cooperlake)",
    "torch2": "PyTorch, OMP_WAIT_POLICY=PASSIVE (Haswell)", "torch2_auto": "PyTorch, PASSIVE (Cooperlake)",
    "cli_mb1_bf16": "**nnc** `train`, `precision bf16`", "torch1_bf16": "PyTorch, bf16 autocast (autodetect)",
    "sklearn1": "scikit-learn, momentum 0 (Cooperlake)", "sklearn2": "scikit-learn, momentum 0 (Cooperlake)",
    "nnc_ps": "**nnc** (C driver of the compiled object)", "cli_ps": "**nnc** `train` command",
    "c_ps": "hand-written C `mlp_c persample`", "fann": "FANN 2.2 incremental (fann_train_epoch)",
}
AVX2 = {"nnc_mb_avx2", "cli_mb1_avx2"}   # compiled for AVX2: % of the AVX2 FMA peak
BF16 = {"cli_mb1_bf16": "cli_mb1", "torch1_bf16": "torch1_auto"}   # mixed precision: its f32 run
THR = {"cli_mb2": 2, "torch2": 2, "torch2_auto": 2, "sklearn2": 2, "cli_mpi1": 1, "cli_mpi2": 2}

def train_table(tags, drv, cli):
    rows = []
    for t in tags:
        s = ep(t)
        if not s: continue
        th = THR.get(t, 1)
        gf = FLOP * 60000 / s["median"] / 1e9
        ref_cli = "cli_mb2" if th == 2 else cli
        pct = f"{100 * gf / PEAK1_AVX2:.0f}% of AVX2" if t in AVX2 else f"{100 * gf / (PEAK1 * th):.0f}%"
        if t in BF16: pct += " of f32"
        rows.append((NAMES[t], th, mm(s), f(60000 / s["median"], 0), f(gf, 1), pct,
                     last_acc(t), ratio(med(s), med(ep(drv))), ratio(med(s), med(ep(ref_cli))), f(med(plain(t, "rss_mb")), 0), cmd(t)))
    table(["implementation", "thr", "s/epoch", "samples/s", "GFLOP/s", "% FMA peak", "test acc", "× nnc driver",
           "× nnc CLI (same thr)", "peak RSS MB", "command"], rows)

print("## 1. Fashion-MNIST 784-256-128-10 ReLU, softmax + cross-entropy, mini-batch 64 SGD, lr 0.1\n")
print("Seconds per 60,000-sample epoch (shuffle + batch gather + training; no loading, no evaluation). "
      f"GFLOP/s at {FLOP / 1e6:.3f} MFLOP per training sample; % of the FMA peak of the threads used ({PEAK1:.1f} GFLOP/s per core, section 0). "
      "The nnc `train` figure is the samples/s the runtime prints per epoch. The `--cpu x86-64-v3` rows (code for CPUs "
      f"without AVX-512) are against the AVX2 FMA peak ({PEAK1_AVX2:.1f} GFLOP/s per core, section 0).\n")
train_table(["nnc_mb", "cli_mb1", "nnc_mb_avx2", "cli_mb1_avx2", "cli_mb1_bf16", "cli_mb2", "c_mb", "torch1", "torch1_auto",
             "torch1_bf16", "torch2", "torch2_auto", "sklearn1", "sklearn2"], "nnc_mb", "cli_mb1")

def bf16_table():
    """mixed precision (bf16 products, f32 sums and weights) against the same program in f32, 1 thread"""
    rows = []
    for t, f32 in BF16.items():
        b, a = ep(t), ep(f32)
        if not b: continue
        rows.append((NAMES[t], f(60000 / b["median"], 0), f(60000 / med(a), 0) if a else "-", ratio(med(a), b["median"]),
                     last_acc(t), last_acc(f32), cmd(t)))
    if not rows: return
    print("Mixed precision, 1 thread: the bf16 run against the same program in f32 (nnc `precision bf16` against "
          "`cli_mb1`, PyTorch's `torch.autocast(\"cpu\", dtype=torch.bfloat16)` against `torch1_auto`). "
          "**bf16 / f32**: samples/s of bf16 ÷ samples/s of f32 (above 1: bf16 is faster); test accuracy after the last epoch.\n")
    table(["bf16 run", "bf16 samples/s", "f32 samples/s", "bf16 / f32", "bf16 test acc", "f32 test acc", "command"], rows)

bf16_table()
print("## 2. The same network the seed's way: sigmoid units, squared error, per-sample SGD (FANN/C lr 0.3 = nnc rate 0.15)\n")
train_table(["nnc_ps", "cli_ps", "c_ps", "fann"], "nnc_ps", "cli_ps")

print("## 3. Inference (trained networks above, 1 thread unless stated)\n")
rows = []
INF = [("nnc_mb", "ReLU", "nnc_mb"), ("c_mb", "ReLU", "nnc_mb"), ("torch1", "ReLU", "nnc_mb"), ("torch1_auto", "ReLU", "nnc_mb"),
       ("torch2", "ReLU", "nnc_mb"), ("torch2_auto", "ReLU", "nnc_mb"),
       ("nnc_ps", "sigmoid", "nnc_ps"), ("c_ps", "sigmoid", "nnc_ps"), ("fann", "sigmoid", "nnc_ps")]
for t, net, ref in INF:
    l, b = agg(t, "infer1_us"), agg(t, "infer_batch10k_samples_per_s")
    if not l: continue
    rows.append((NAMES[t], net, THR.get(t, 1), mm(l, 1), ratio(med(l), med(agg(ref, "infer1_us")), 1), mm(b, 0),
                 ratio(med(agg(ref, "infer_batch10k_samples_per_s")), med(b), 2), cmd(t)))
table(["implementation", "net", "thr", "1-sample latency µs", "× nnc latency", "batch-10k samples/s", "× nnc throughput", "command"], rows)
b64 = agg("nnc_mb", "infer_batch64_samples_per_s")
if b64: print(f"nnc's batch figure is one `forward` call with n = 10,000; in calls of 64 samples (as mlp_c's predict) it is {mm(b64, 0)} samples/s.\n")

print("## 4. Tiny networks, sigmoid, squared error, per-sample SGD, 1 thread (µs per sample)\n")
rows = []
for net, name in (("xor", "XOR 2-4-1, lr 0.5"), ("iris", "Iris 4-8-3, lr 0.1")):
    rt, ri = agg(f"tiny_nnc_{net}", "train_ns", 1e-3), agg(f"tiny_nnc_{net}", "infer_ns", 1e-3)
    for impl, label in (("nnc", "**nnc**"), ("c", "hand-written C -O3 -march=native"), ("fann", "FANN 2.2"), ("torch", "PyTorch")):
        t = f"tiny_{impl}_{net}"
        tr, inf = agg(t, "train_ns", 1e-3), agg(t, "infer_ns", 1e-3)
        if not tr: continue
        accs = [x["r"]["train_acc"] for x in runs[t]]
        rows.append((name, label, mm(tr, 3), ratio(med(tr), med(rt)), mm(inf, 3), ratio(med(inf), med(ri)),
                     f"{statistics.median(accs):.3f}", cmd(t)))
table(["net", "implementation", "train µs/sample", "× nnc train", "infer µs/sample", "× nnc infer", "train acc", "command"], rows)

print("## 5. nnc compile time and peak memory of training\n")
rows = []
for t, what in (("cc_fmnist_relu", "784-256-128-10 ReLU/softmax (object + header)"), ("cc_fmnist_sig", "784-256-128-10 sigmoid (object + header)"),
                ("cc_xor", "XOR 2-4-1 (object + header)"), ("cc_iris", "Iris 4-8-3 (object + header)"),
                ("cc_fmnist_relu_exe", "784-256-128-10 ReLU, whole executable (compile + link)")):
    s = plain(t, "wall")
    if s: rows.append((what, mm(s, 2), f(med(plain(t, "rss_mb")), 0), cmd(t)))
table(["model", "wall s", "nnc peak RSS MB", "command"], rows)
rows = []
for t in ("cli_mb1", "cli_mb2", "cli_ps", "nnc_mb", "nnc_ps", "c_mb", "torch1", "torch2", "sklearn1", "fann"):
    s = plain(t, "rss_mb")
    net = "sigmoid per-sample" if t in ("cli_ps", "nnc_ps", "fann") else "ReLU batch 64"
    if s: rows.append((NAMES[t] + (", 2 threads" if THR.get(t) == 2 else ""), net, mm(s, 0), f"{s['median'] / DATA_MB:.2f}×"))
print(f"Peak RSS of the whole training process (`/usr/bin/time`), against the data set in memory: 70,000 samples × "
      f"(784 inputs + 10 one-hot targets) × 4 bytes = {DATA_MB:.1f} MB.\n")
table(["training process", "net", "peak RSS MB", "÷ data set"], rows)

print("## 6. Data-parallel training over Open MPI: samples/s with 1 and 2 ranks (ReLU net)\n")
print("The same `train` command as workload 1 under `mpirun` (shared memory, one core per rank), beside nnc's own "
      "2-thread mode and PyTorch on 2 threads; at the global batch of workload 1 (64) and at 512. "
      "**×**: samples/s of that batch's 2-rank run ÷ the row's (above 1: 2 ranks are faster).\n")
NAMES.update({"cli_mpi1": "**nnc** `mpirun -np 1 … train`", "cli_mpi2": "**nnc** `mpirun -np 2 … train`",
              "cli_mpi1_b512": "**nnc** `mpirun -np 1 … train --batch 512`",
              "cli_mpi2_b512": "**nnc** `mpirun -np 2 … train --batch 512`",
              "cli_t2_b512": "**nnc** `train --batch 512 --threads 2`"})
THR.update({"cli_mpi2_b512": 2, "cli_t2_b512": 2})
rows = []
for batch, tags, ref in ((64, ("cli_mpi1", "cli_mpi2", "cli_mb1", "cli_mb2", "torch2", "torch2_auto"), "cli_mpi2"),
                         (512, ("cli_mpi1_b512", "cli_mpi2_b512", "cli_t2_b512"), "cli_mpi2_b512")):
    for t in tags:
        e = ep(t)
        if not e: continue
        rows.append((NAMES[t], batch, THR.get(t, 1), f(60000 / e["median"], 0), f"{f(60000 / e['max'], 0)}–{f(60000 / e['min'], 0)}",
                     last_acc(t), ratio(e["median"], med(ep(ref))), cmd(t)))
table(["run", "batch", "cores", "samples/s", "min–max", "test acc", "×", "command"], rows)

# ---- workload 7: cost as work grows (run only when named: --only 'peak1 cli_mb1 torch1_auto grow growcc') ----
def dims_of(hidden): return [784] + hidden + [10]
def weights(d): return sum(a * b for a, b in zip(d, d[1:]))
def train_flop(d):
    """per sample, as workload 1 counts it: forward 2W, weight gradients 2W, input gradients of every layer but the first"""
    w = weights(d)
    return 4 * w + 2 * (w - d[0] * d[1])

GROW = [("784-256-128-10 (workload 1)", [256, 128], "cli_mb1", "torch1_auto"),
        ("784-1024-1024-10", [1024, 1024], "grow_nnc_w1024", "grow_torch_w1024"),
        ("784-512×8-10", [512] * 8, "grow_nnc_d8x512", "grow_torch_d8x512"),
        ("784-4096-10", [4096], "grow_nnc_w4096", "grow_torch_w4096")]
if any(runs.get(t) for _, _, t, _ in GROW[1:]):
    print("## 7. Cost as work grows: wider and deeper networks, 1 thread, batch 64\n")
    print(f"CPU: {cpu_kind()}; 1 core (`taskset -c 0`), this run's 1-core AVX-512 FMA peak {PEAK1:.1f} GFLOP/s (section 0). "
          "Fashion-MNIST, ReLU, softmax + cross-entropy, plain SGD lr 0.1; s/epoch as in section 1. MFLOP per sample counted as "
          "workload 1's: forward 2W, weight gradients 2W, input gradients of every layer but the first (W: weights).\n")
    rows = []
    for net, hidden, nnc_tag, torch_tag in GROW:
        d = dims_of(hidden); fl = train_flop(d)
        for t, label in ((nnc_tag, "**nnc** `train`"), (torch_tag, "PyTorch (OpenBLAS autodetect)")):
            e = ep(t)
            if not e: continue
            gf = fl * 60000 / e["median"] / 1e9
            rows.append((net, f"{weights(d):,}", f(fl / 1e6, 2), label, mm(e), f(60000 / e["median"], 0), f(gf, 1),
                         f"{100 * gf / PEAK1:.0f}%", last_acc(t), ratio(e["median"], med(ep(nnc_tag))),
                         f(med(plain(t, "rss_mb")), 0), cmd(t)))
    table(["network", "weights", "MFLOP/sample", "implementation", "s/epoch", "samples/s", "GFLOP/s", "% FMA peak",
           "test acc", "× nnc", "peak RSS MB", "command"], rows)

GRID = [(f"d{k}_w256", k, 256) for k in (1, 2, 4, 8, 16, 32, 64)] + [(f"d2_w{w}", 2, w) for w in (16, 64, 1024, 4096)]
if any(runs.get("growcc_" + m) for m, _, _ in GRID):
    print("## 7b. Compile time against network size\n")
    print(f"CPU: {cpu_kind()}; 1 core. `nnc -c` (object + header) and `nnc NET.nn -o EXE` (the whole executable: "
          "compile and link) of 784-(hidden layers)-10 ReLU/softmax networks (`tools/gen_large.py fmnist_deep D`, "
          "`fmnist_wide W`). CPU s = user + system of nnc and its children (wall time on a shared machine measures the "
          "neighbours); peak RSS of nnc.\n")
    rows = []
    for m, depth, width in sorted(GRID, key=lambda g: (g[2] != 256, g[2], g[1])):
        c, x = "growcc_" + m, "growcc_exe_" + m
        if not runs.get(c): continue
        d = dims_of([width] * depth)
        rows.append((depth, width, f"{weights(d) + sum(d[1:]):,}", mm(agg(c, "cpu_s")), f(med(plain(c, "wall"))),
                     f(med(plain(c, "rss_mb")), 0), mm(agg(x, "cpu_s")), f(med(plain(x, "wall"))), f(med(plain(x, "rss_mb")), 0)))
    table(["hidden layers", "width", "parameters", "`-c` CPU s", "`-c` wall s", "`-c` peak RSS MB", "executable CPU s",
           "executable wall s", "executable peak RSS MB"], rows)

# ---- targets ----
print("## Targets (ratios of medians in this run)\n")
print("*bound here*: the best value reachable on this machine at 100 % of the FMA peak measured in section 0 "
      "(compute floor: 1.007 MFLOP per training sample, 0.470 MFLOP per inference); a target beyond it cannot be met here "
      "by any implementation.\n")
T = []
def target(name, value, ok, txt, bound=None):
    T.append((name, txt if value is not None else "-", "-" if value is None else ("**met**" if ok(value) else "missed"),
              bound or ""))
def r(a, b): return None if a is None or b is None else a / b
PEAK2 = med(pk2) or 2 * PEAK1
floor_epoch1, floor_epoch2 = FLOP * 60000 / (PEAK1 * 1e9), FLOP * 60000 / (PEAK2 * 1e9)
floor_us = INFER_FLOP / (PEAK1 * 1e3)
def up_to(peer_s, floor):
    return f"≤ {peer_s / floor:.2f}×" if peer_s else None
for n, ref in (("nnc driver", "nnc_mb"), ("nnc `train`", "cli_mb1")):
    x = r(med(ep("torch1")), med(ep(ref))); target(f"w1 {n} ≥ 2.5× PyTorch 1 thread (Haswell kernel)", x, lambda v: v >= 2.5, f"{x:.2f}×" if x else "", up_to(med(ep("torch1")), floor_epoch1))
    x = r(med(ep("torch1_auto")), med(ep(ref))); target(f"w1 {n} vs PyTorch 1 thread with the autodetected kernel (≥ 1.8×)", x, lambda v: v >= 1.8, f"{x:.2f}×" if x else "", up_to(med(ep("torch1_auto")), floor_epoch1))
    x = r(med(ep("c_mb")), med(ep(ref))); target(f"w1 {n} faster than hand-written C", x, lambda v: v > 1, f"{x:.2f}×" if x else "", up_to(med(ep("c_mb")), floor_epoch1))
for n, t in (("nnc driver", "nnc_mb_avx2"), ("nnc `train`", "cli_mb1_avx2")):
    x = None if not ep(t) else 100 * FLOP * 60000 / med(ep(t)) / 1e9 / PEAK1_AVX2
    target(f"w1 {n} compiled for AVX2 (`--cpu x86-64-v3`) ≥ 75 % of the AVX2 FMA peak", x, lambda v: v >= 75, f"{x:.1f} %" if x else "", "≤ 100 %")
x = r(med(ep("torch2")), med(ep("cli_mb2"))); target("w1 nnc `train --threads 2` ≥ 1.7× PyTorch 2 threads (PASSIVE, Haswell)", x, lambda v: v >= 1.7, f"{x:.2f}×" if x else "", up_to(med(ep("torch2")), floor_epoch2))
x = r(med(ep("torch2_auto")), med(ep("cli_mb2"))); target("w1 nnc `train --threads 2` vs PyTorch 2 threads, autodetected kernel (≥ 1.7×)", x, lambda v: v >= 1.7, f"{x:.2f}×" if x else "", up_to(med(ep("torch2_auto")), floor_epoch2))
x = r(med(ep("cli_mb1")), med(ep("cli_mb2"))); target("w1 nnc `train --threads 2` ≥ 1.8× nnc `train` on 1 thread (batch 64)", x, lambda v: v >= 1.8, f"{x:.2f}×" if x else "", "≤ 2×")
x = r(med(ep("cli_mpi1_b512")), med(ep("cli_mpi2_b512"))); target("w6 nnc `mpirun -np 2` ≥ 1.8× 1 rank (batch 512, shared memory)", x, lambda v: v >= 1.8, f"{x:.2f}×" if x else "", "≤ 2×")
def acc_of(tag):
    a = last_acc(tag)
    return None if a == "-" else float(a)
for peer in ("torch1", "torch1_auto"):
    x = None if acc_of("cli_mb1") is None or acc_of(peer) is None else 100 * (acc_of("cli_mb1") - acc_of(peer))
    target(f"w1 nnc `train` test accuracy within 1 point of {NAMES[peer]}", x, lambda v: v >= -1, f"{x:+.2f} points" if x is not None else "")
for peer in ("fann", "c_ps"):
    x = None if acc_of("cli_ps") is None or acc_of(peer) is None else 100 * (acc_of("cli_ps") - acc_of(peer))
    target(f"w2 nnc `train` test accuracy the same as {NAMES[peer]} or better (±0.5 point: one seed)", x, lambda v: v >= -0.5, f"{x:+.2f} points" if x is not None else "")
for n, ref in (("nnc driver", "nnc_ps"), ("nnc `train`", "cli_ps")):
    x = r(med(ep("fann")), med(ep(ref))); target(f"w2 {n} ≥ 13× FANN", x, lambda v: v >= 13, f"{x:.2f}×" if x else "", up_to(med(ep("fann")), floor_epoch1))
    x = r(med(ep("c_ps")), med(ep(ref))); target(f"w2 {n} faster than hand-written C", x, lambda v: v > 1, f"{x:.2f}×" if x else "", up_to(med(ep("c_ps")), floor_epoch1))
l = med(agg("nnc_mb", "infer1_us")); target("w3 nnc 1-sample latency ≤ 4 µs (ReLU net)", l, lambda v: v <= 4, f"{l:.2f} µs" if l else "", f"≥ {floor_us:.2f} µs")
ls = med(agg("nnc_ps", "infer1_us")); target("w3 nnc 1-sample latency ≤ 4 µs (sigmoid net)", ls, lambda v: v <= 4, f"{ls:.2f} µs" if ls else "", f"≥ {floor_us:.2f} µs")
x = r(med(agg("fann", "infer1_us")), ls); target("w3 latency ≥ 10× FANN (sigmoid nets)", x, lambda v: v >= 10, f"{x:.1f}×" if x else "", up_to(med(agg("fann", "infer1_us")), floor_us))
x = r(med(agg("torch1", "infer1_us")), l); target("w3 latency ≥ 10× PyTorch (Haswell kernel)", x, lambda v: v >= 10, f"{x:.1f}×" if x else "", up_to(med(agg("torch1", "infer1_us")), floor_us))
x = r(med(agg("torch1_auto", "infer1_us")), l); target("w3 latency ≥ 10× PyTorch (autodetected kernel)", x, lambda v: v >= 10, f"{x:.1f}×" if x else "", up_to(med(agg("torch1_auto", "infer1_us")), floor_us))
b = med(agg("nnc_mb", "infer_batch10k_samples_per_s")); target("w3 batch-10k ≥ 500k samples/s", b, lambda v: v >= 5e5, f"{b:,.0f} samples/s" if b else "", f"≤ {PEAK1 * 1e9 / INFER_FLOP:,.0f} samples/s")
for net in ("xor", "iris"):
    for k in ("train_ns", "infer_ns"):
        x = r(med(agg(f"tiny_nnc_{net}", k)), med(agg(f"tiny_c_{net}", k)))
        target(f"w4 {net} {k[:-3]}: nnc time ÷ hand-written C ≤ 1.0", x, lambda v: v <= 1.0, f"{x:.2f}" if x else "")
for t in ("cc_fmnist_relu", "cc_fmnist_sig", "cc_xor", "cc_iris", "cc_fmnist_relu_exe"):
    x = med(plain(t, "wall")); target(f"w5 compile {t[3:]} ≤ 1 s", x, lambda v: v <= 1.0, f"{x:.2f} s" if x else "")
for t in ("cli_mb1", "cli_ps"):
    x = med(plain(t, "rss_mb")); target(f"w5 peak RSS of `{t}` training ≤ 1.5× data set ({1.5 * DATA_MB:.0f} MB)", x, lambda v: v <= 1.5 * DATA_MB,
                                        f"{x:.0f} MB = {x / DATA_MB:.2f}×" if x else "")
table(["target", "measured", "status", "bound here"], T)
