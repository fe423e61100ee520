"""Reads bench/optim.sh's raw.tsv (seed, tag, RESULT json) and prints its markdown table:
per tool, s/epoch (median over every epoch of every seed, via the per-run medians' median),
the final test accuracy (mean and range over the seeds), and the ratios the optimizer work is judged by.
usage: optim_table.py raw.tsv"""
import json, statistics, sys

runs = {}
for line in open(sys.argv[1]):
    seed, tag, js = line.rstrip("\n").split("\t")
    if js:
        runs.setdefault(tag, []).append(json.loads(js))

def acc(r):
    a = r["test_acc"]
    return 100 * (a if isinstance(a, float) else a[max(a, key=int)])

sec = {t: statistics.median(r["epoch_s"]["median"] for r in rs) for t, rs in runs.items() if t != "state"}
print("| run | seeds | s/epoch (median) | test accuracy, mean (min–max) |")
print("|---|---|---|---|")
for t in ("nnc_sgd", "nnc_adam", "torch_sgd", "torch_adam"):
    if t in runs:
        a = [acc(r) for r in runs[t]]
        print(f"| {t} | {len(a)} | {sec[t]:.3f} | {statistics.mean(a):.2f}% ({min(a):.2f}–{max(a):.2f}) |")
print()
def ratio(name, a, b, target):
    if a in sec and b in sec:
        print(f"| {name} | {sec[a] / sec[b]:.2f}× | {target} |")
print("| ratio | measured | target |")
print("|---|---|---|")
ratio("nnc Adam / nnc SGD (s/epoch)", "nnc_adam", "nnc_sgd", "≤ 1.1×")
ratio("PyTorch Adam / nnc Adam (s/epoch; nnc's speed-up)", "torch_adam", "nnc_adam", "≥ 1.8×")
ratio("PyTorch SGD / nnc SGD (s/epoch; for reference)", "torch_sgd", "nnc_sgd", "")
if "state" in runs and "nnc_sgd" in sec:
    step_us = sec["nnc_sgd"] / (60000 / 64) * 1e6   # SGD's batch-64 step
    st = runs["state"][0]
    print(f"| Adam's f32 m and v alone, read and written once (state_floor) / nnc SGD's step "
          f"| {st['floor_us']:.0f} of {step_us:.0f} µs = {100 * st['floor_us'] / step_us:.0f} % "
          f"| ≤ 1.1× needs ≤ 10 % |")
    print(f"| Adam's whole f32 update over the parameters (state_floor) / nnc SGD's step "
          f"| {st['adam_us']:.0f} µs = {100 * st['adam_us'] / step_us:.0f} % | |")
if "nnc_adam" in runs and "torch_adam" in runs:
    d = statistics.mean(map(acc, runs["nnc_adam"])) - statistics.mean(map(acc, runs["torch_adam"]))
    print(f"| nnc Adam − PyTorch Adam (test accuracy, points) | {d:+.2f} | ≥ −0.5 (reaches PyTorch's) |")
