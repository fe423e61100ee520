"""Reads the output of a compiled nnc model's `train` command on stdin and prints one RESULT json line:
the per-epoch speed the runtime reports (samples/s of the epoch's shuffle, gathers and training steps,
without loading or scoring), the seconds per epoch derived from it, the final test accuracy.
usage: cli_result.py THREADS < output"""
import json, re, statistics, sys

threads = int(sys.argv[1])
text = sys.stdin.read()
sps = [float(x) for x in re.findall(r"^epoch \d+/\d+ .* (\d+(?:\.\d+)?) samples/s$", text, re.M)]
acc = re.search(r"^test\s+accuracy ([\d.]+)%", text, re.M)
if not sps:
    sys.exit("cli_result.py: no 'epoch ... samples/s' lines in the output")
mmm = lambda v: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
res = {"bench": "nnc_cli", "threads": threads, "epochs": len(sps), "epoch_s": mmm([60000 / s for s in sps]),
       "samples_per_s": mmm(sps), "test_acc": {str(len(sps)): round(float(acc.group(1)) / 100, 4)} if acc else {}}
print("RESULT " + json.dumps(res))
