#!/usr/bin/env python3
"""devices.py — nnc objects run on emulated devices and give what the host gives.

  devices.py --nnc NNC --examples DIR --work DIR --device cortex-m4|aarch64
             [--example iris|xor] [--task predict|train] [--quantize int8|bf16] [--cpu CPU]

Builds the example's executable and trains it on the host (a fraction of a second), then
compiles the example for the device (nnc -c, header beside) and links a test program of
Inputs/device/ with it:
  cortex-m4  a bare-metal program for qemu's mps2-an386 board, linked by arm-none-eabi-gcc
             with -nostdlib and libgcc alone (startup_m4.c: vector table, FPU on, semihosting
             output), run under qemu-system-arm -semihosting;
  aarch64    a static Linux program linked by aarch64-linux-gnu-gcc, run under qemu-aarch64.
Tasks:
  predict    (object with the trained weights) predict.c prints the outputs of the example's
             first rows, one sample per call, then all in one call; both must equal the
             host's `predict` within 1e-5 relative;
             With --quantize, the object and the host's executable are both compiled with the
             weights quantized so, the outputs compared within 1e-3 (an input rounded to the
             other side of an int8 step), and the code + read-only data of the device's
             quantized and float objects (arm-none-eabi-size) are printed side by side;
             With --cpu (aarch64), the object is compiled for that CPU and run under
             qemu-aarch64 -cpu max; its outputs must equal, digit for digit, those of the
             object for the baseline CPU (int8: sdot's i32 sums are the plain rows' sums),
             and its code must contain the instruction CPU_INSTRUCTION names;
  train      (trainable object, xor only) train.c trains from seed 1 as `train --restarts 1
             --seed 1` does on the host, must reach 100 % accuracy, and its weights must equal
             the host's within 1e-5 relative (float rounding differs: the host fuses
             multiply-adds, the Cortex-M4 does not).
Exit 0 on success, 1 on failure, 77 (skipped, with the reason) when a cross tool or
emulator is not installed."""
import argparse
import csv
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEVICE = os.path.join(HERE, "Inputs", "device")
sys.path.insert(0, os.path.join(HERE, "Inputs"))
import compare  # noqa: E402

ROWS = 12
TRAIN_SEED = 1
TOLERANCE = 1e-5
TIMEOUT = 60
TOOLS = {
    "cortex-m4": (["arm-none-eabi-gcc", "qemu-system-arm"], "gcc-arm-none-eabi qemu-system-arm"),
    "aarch64": (["aarch64-linux-gnu-gcc", "qemu-aarch64"], "gcc-aarch64-linux-gnu qemu-user"),
}
CPU_INSTRUCTION = {"neoverse-n1": "sdot", "cortex-a55": "sdot"}
M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]


def run(cmd, cwd, what):
    """cmd's output; exits with FAIL (and the output) if it fails or runs over TIMEOUT seconds."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        sys.exit(f"FAIL: {what}: {' '.join(cmd)} did not finish in {TIMEOUT} s:\n{out}")
    if p.returncode != 0:
        sys.exit(f"FAIL: {what}: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p.stdout


def input_rows(examples, name):
    """The first ROWS rows of the example's data file, its input columns only (as text)."""
    with open(os.path.join(examples, name + ".csv")) as f:
        rows = list(csv.reader(f))
    if not rows[0][0].replace(".", "").replace("-", "").isdigit():
        rows = rows[1:]
    n_inputs = {"iris": 4, "xor": 2}[name]
    return [r[:n_inputs] for r in rows[:ROWS]]


def c_real(text):
    """A CSV number as a C float literal that reads as the same float: 5.1f, 1.0f."""
    return text + ("f" if any(c in text for c in ".eE") else ".0f")


def write_inputs(work, name, rows):
    with open(os.path.join(work, "rows.csv"), "w") as f:
        f.writelines(",".join(r) + "\n" for r in rows)
    with open(os.path.join(work, "inputs.h"), "w") as f:
        f.write(f"#define N_ROWS {len(rows)}\n")
        f.write(f"static const {name}_real rows[N_ROWS][{len(rows[0])}] = {{\n")
        f.writelines("  {" + ", ".join(c_real(v) for v in r) + "},\n" for r in rows)
        f.write("};\n")


def build_m4(args, work, name, flags, program):
    obj = os.path.join(work, name + "-m4.o")
    run([args.nnc, "-c", os.path.join(args.examples, name + ".nn"), *flags,
         "--target", "thumbv7em-none-eabihf", "--cpu", "cortex-m4", "-o", obj, "--header", name + ".h"], work, "nnc")
    elf = os.path.join(work, name + "-m4.elf")
    run(["arm-none-eabi-gcc", *M4_FLAGS, "-O2", "-std=c11", "-ffreestanding", "-nostdlib", "-Wall", "-Wextra",
         "-Werror", "-fno-tree-loop-distribute-patterns", "-Wl,--gc-sections", f"-DNET={name}", f"-DUP={name.upper()}",
         f"-I{args.include}", f"-I{work}", f"-I{DEVICE}", "-T", os.path.join(DEVICE, "mps2.ld"),
         os.path.join(DEVICE, "startup_m4.c"), os.path.join(DEVICE, program), obj, "-lgcc", "-o", elf],
        work, "linking the Cortex-M4 program with libgcc alone")
    return ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
            "-semihosting-config", "enable=on,target=native", "-kernel", elf]


def build_aarch64(args, work, name, flags, program, cpu=None):
    suffix = "-a64" + (f"-{cpu}" if cpu else "")
    obj = os.path.join(work, name + suffix + ".o")
    run([args.nnc, "-c", os.path.join(args.examples, name + ".nn"), *flags, "--target", "aarch64-linux-gnu",
         *(["--cpu", cpu] if cpu else []), "-o", obj, "--header", name + ".h"], work, "nnc")
    exe = os.path.join(work, name + suffix)
    run(["aarch64-linux-gnu-gcc", "-O2", "-std=c11", "-static", "-Wall", "-Wextra", "-Werror", f"-DNET={name}",
         f"-DUP={name.upper()}", f"-I{args.include}", f"-I{work}", f"-I{DEVICE}",
         os.path.join(DEVICE, "linux_io.c"), os.path.join(DEVICE, program), obj, "-o", exe],
        work, "linking the aarch64 program")
    return ["qemu-aarch64", "-cpu", "max", exe] if cpu else ["qemu-aarch64", exe]


def cpu_task(args, work, name, flags, program):
    """With --cpu: 0 if the object for args.cpu has its instruction and the same outputs, digit
    for digit, as the baseline object's."""
    if args.device != "aarch64" or args.cpu not in CPU_INSTRUCTION:
        sys.exit(f"FAIL: --cpu is written for aarch64 and {', '.join(sorted(CPU_INSTRUCTION))}")
    got = run(build_aarch64(args, work, name, flags, program, args.cpu), work, f"the {args.cpu} program")
    code = run(["aarch64-linux-gnu-objdump", "-d", os.path.join(work, f"{name}-a64-{args.cpu}.o")], work, "objdump")
    instruction = CPU_INSTRUCTION[args.cpu]
    if not any(line.split("\t")[2:3] == [instruction] for line in code.splitlines()):
        print(f"FAIL: the {args.cpu} object has no {instruction}")
        return 1
    baseline = run(build_aarch64(args, work, name, flags, program), work, "the baseline program")
    if got != baseline:
        print(f"FAIL: the {args.cpu} program's outputs differ from the baseline's:\n{got}\n{baseline}")
        return 1
    print(f"{args.device}: {name}: {args.cpu} ({instruction}): outputs equal to the baseline CPU's, digit for digit")
    return 0


def write_data(work, name, rows, seed):
    """data.h of train.c: xor.csv's inputs and targets (the first 2 columns, then 1)."""
    with open(os.path.join(work, "data.h"), "w") as f:
        f.write(f"#define N_ROWS {len(rows)}\n#define SEED {seed}u\n")
        for var, cols in (("rows", slice(0, 2)), ("targets", slice(2, 3))):
            f.write(f"static const {name}_real {var}[N_ROWS][{len(rows[0][cols])}] = {{\n")
            f.writelines("  {" + ", ".join(c_real(v) for v in r[cols]) + "},\n" for r in rows)
            f.write("};\n")


def predict_task(args, work, name):
    """Inputs for predict.c and the host's outputs for them, twice (its two passes)."""
    run(["./" + name, "train", "--seed", "1", "--quiet"], work, "training on the host")
    rows = input_rows(args.examples, name)
    write_inputs(work, name, rows)
    flags, host = ["--weights", name + ".weights"], "./" + name
    if args.quantize:
        flags += ["--quantize", args.quantize]
        host = f"./{name}-{args.quantize}"
        run([args.nnc, os.path.join(args.examples, name + ".nn"), *flags, "-o", host], work, "nnc")
    expected = run([host, "predict", "--input", "rows.csv"], work, "predict on the host")
    what = f"{len(rows)} rows, outputs" + (f" ({args.quantize})" if args.quantize else "")
    return what, expected * 2, flags


def m4_sizes(args, work, name):
    """Code + read-only data (the text column of arm-none-eabi-size) of the Cortex-M4 object
    with the quantized weights and of the float one, as a line."""
    plain = os.path.join(work, name + "-float-m4.o")
    run([args.nnc, "-c", os.path.join(args.examples, name + ".nn"), "--weights", name + ".weights",
         "--target", "thumbv7em-none-eabihf", "--cpu", "cortex-m4", "-o", plain], work, "nnc")
    sizes = []
    for obj in (os.path.join(work, name + "-m4.o"), plain):
        out = run(["arm-none-eabi-size", obj], work, "arm-none-eabi-size").splitlines()
        sizes.append(int(out[1].split()[0]))
    return (f"cortex-m4: {name}: code + read-only data {sizes[0]} bytes {args.quantize}, {sizes[1]} float "
            f"({100.0 * sizes[0] / sizes[1]:.0f} %)")


def train_task(args, work, name):
    """data.h for train.c and the weights of the host's run from the same seed."""
    if name != "xor":
        sys.exit("FAIL: the training task is written for the xor example")
    with open(os.path.join(args.examples, "xor.csv")) as f:
        rows = [r for r in csv.reader(f)][1:]
    write_data(work, name, rows, TRAIN_SEED)
    run(["./xor", "train", "--restarts", "1", "--seed", str(TRAIN_SEED), "--quiet", "--save", "host.weights"],
        work, "training on the host")
    weights = run(["./xor", "weights", "export", "--weights", "host.weights", "--format", "csv"], work, "export")
    return "trained from its seed to weights", f"accuracy: {len(rows)}/{len(rows)}\n" + weights, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--device", choices=sorted(TOOLS), required=True)
    ap.add_argument("--example", default="iris", choices=["iris", "xor"])
    ap.add_argument("--task", default="predict", choices=["predict", "train"])
    ap.add_argument("--quantize", choices=["int8", "bf16"])
    ap.add_argument("--cpu")
    ap.add_argument("--sanitized", type=int, default=0, help="1: nnc and its runtime are the sanitizer build")
    args = ap.parse_args()
    args.nnc, args.examples, args.work = (os.path.abspath(p) for p in (args.nnc, args.examples, args.work))
    args.include = os.path.join(os.path.dirname(os.path.abspath(args.examples)), "include")
    tools, packages = TOOLS[args.device]
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (Debian: apt-get install {packages})")
        return 77
    if args.task == "train" and args.sanitized:
        print("skipped: the host's reference run would use the sanitizer build's runtime (clang, -O0), whose "
              "rounding the device is not held to; the release build compares them")
        return 77
    name, work = args.example, args.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run([args.nnc, os.path.join(args.examples, name + ".nn"), "-o", name], work, "nnc")
    what, expected, flags = (predict_task if args.task == "predict" else train_task)(args, work, name)
    with open(os.path.join(work, "expected.txt"), "w") as f:
        f.write(expected)
    if args.cpu and cpu_task(args, work, name, flags, args.task + ".c"):
        return 1
    build = build_m4 if args.device == "cortex-m4" else build_aarch64
    got = run(build(args, work, name, flags, args.task + ".c"), work, f"the {args.device} program")
    with open(os.path.join(work, "got.txt"), "w") as f:
        f.write(got)
    if args.task == "train" and expected.splitlines()[0] not in got.splitlines():
        print(f"FAIL: the {args.device} program did not reach {expected.splitlines()[0]}:\n{got}")
        return 1
    tolerance = 1e-3 if args.quantize else TOLERANCE
    sys.argv = ["compare.py", os.path.join(work, "got.txt"), os.path.join(work, "expected.txt"), str(tolerance)]
    status = compare.main()
    if args.quantize and args.device == "cortex-m4":
        print(m4_sizes(args, work, name))
    print(f"{args.device}: {name}: {what} {'equal to' if status == 0 else 'different from'} the host's")
    return status


if __name__ == "__main__":
    sys.exit(main())
