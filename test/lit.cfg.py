# lit configuration of nnc's tests: every .nn and .test file under test/ is a test; RUN
# lines use %nnc (the compiler), %examples (examples/), %cc (the C compiler), %compare
# (test/embedded/Inputs/compare.py) and FileCheck.
import os
import shutil
import lit.formats

config.name = "nnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".nn", ".test"]
config.excludes = ["Inputs", "runtime", "CMakeLists.txt", "lit.cfg.py", "fuzz", "adversarial"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nnc_obj_root, "test")

config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.nnc_obj_root, config.environment.get("PATH", os.environ["PATH"])])
for var in ("HOME", "TMPDIR", "OPENBLAS_CORETYPE", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TERM"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

# The host's x86 vector features (from /proc/cpuinfo), for tests that run code compiled for a
# named x86-64 level: REQUIRES: host-avx2, host-avx512f; and those that expect the runtime to
# refuse code for extensions the host lacks.
try:
    with open("/proc/cpuinfo") as f:
        flags = next((line.split() for line in f if line.startswith("flags")), [])
except OSError:
    flags = []
for flag in ("avx2", "fma", "avx512f", "avx512_fp16", "avx512_vp2intersect", "avx512_bf16", "amx_bf16"):
    if flag in flags:
        config.available_features.add("host-" + flag)

config.substitutions.append(("%nnc", os.path.join(config.nnc_obj_root, "nnc")))
config.substitutions.append(("%examples", os.path.join(config.nnc_src_root, "examples")))
config.substitutions.append(("%include", os.path.join(config.nnc_src_root, "include")))
config.substitutions.append(("%cc", config.c_compiler))
# %compare GOT EXPECTED TOL: the numbers of two files agree within TOL relative
config.substitutions.append(("%compare", "python3 " + os.path.join(config.nnc_src_root, "test", "embedded", "Inputs", "compare.py")))
config.substitutions.append(("%rtlib", os.path.join(config.nnc_obj_root, "runtime")))

# qemu-aarch64: aarch64 Linux programs are linked (aarch64-linux-gnu-gcc) and run (qemu-user)
if shutil.which("aarch64-linux-gnu-gcc") and shutil.which("qemu-aarch64"):
    config.available_features.add("qemu-aarch64")

# qemu-cortex-m4: bare-metal Cortex-M4 programs are linked (arm-none-eabi-gcc) and run
# (qemu-system-arm's mps2-an386 board, semihosting)
if shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"):
    config.available_features.add("qemu-cortex-m4")

# qemu-riscv64: riscv64 Linux programs without a C library are linked (clang-19 with its lld,
# both installed by bootstrap.sh) and run
if shutil.which("clang-19") and os.path.exists("/usr/lib/llvm-19/bin/ld.lld") and shutil.which("qemu-riscv64"):
    config.available_features.add("qemu-riscv64")
