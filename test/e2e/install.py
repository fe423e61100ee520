#!/usr/bin/env python3
"""The installed-nnc flow: `cmake --install BUILD --prefix WORK/prefix`, then
  - the installed layout: bin/nnc, include/nnc/*.h, lib/libnnrt.a (where nnc looks: bin/../lib),
    lib/pkgconfig/nnrt.pc, lib/cmake/nnc/nncConfig.cmake;
  - pkg-config: the installed nnc compiles xor.nn to an object and a header, and a small C
    program is built with `cc ... $(pkg-config --cflags --libs nnrt)` and run;
  - CMake: examples/embed configured with -DCMAKE_PREFIX_PATH=WORK/prefix, built and run
    (it must find nnc in the prefix, not the build tree)."""
import os
import shutil
import subprocess

import e2e

MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <nnc/nnrt.h>
#include "xor.h"
int main(void) {
  xor_real p[XOR_N_PARAMS], x[2] = {1, 0}, y[1];
  void *s = aligned_alloc(64, (XOR_SCRATCH_BYTES(1) + 63) / 64 * 64);
  nnrt_error err;
  xor_init(p, 1);
  if (nnrt_weights_save("init.weights", &xor_model, p, NULL, &err) != NNRT_OK) { puts(err.msg); return 1; }
  if (nnrt_weights_load("init.weights", &xor_model, p, NULL, &err) != NNRT_OK) { puts(err.msg); return 1; }
  xor_forward(p, 1, x, y, s);
  printf("pkg-config build: xor(1, 0) with initial weights = %g\n", y[0]);
  free(s);
  return 0;
}
"""

a = e2e.args(lambda p: (p.add_argument("--build", required=True), p.add_argument("--source", required=True),
                        p.add_argument("--cmake", default="cmake"), p.add_argument("--cc", default="cc")))
prefix = os.path.join(a.work, "prefix")
e2e.run([a.cmake, "--install", a.build, "--prefix", prefix])
for f in ("bin/nnc", "include/nnc/nnrt.h", "include/nnc/model.h", "lib/libnnrt.a", "lib/pkgconfig/nnrt.pc",
          "lib/cmake/nnc/nncConfig.cmake", "lib/cmake/nnc/nncConfigVersion.cmake"):
    if not os.path.exists(os.path.join(prefix, f)):
        e2e.fail("the install did not put %s in place" % f, e2e.run(["find", prefix]))
nnc = os.path.join(prefix, "bin", "nnc")
xor_nn = os.path.join(a.source, "examples", "xor.nn")

# the installed nnc links an executable against the installed runtime
env_dir = os.environ.pop("NNC_RUNTIME_DIR", None)
e2e.run([nnc, xor_nn, "-o", "xor"], what="installed nnc xor.nn -o xor")
out = e2e.run(["./xor", "train", "--quiet"])
print("installed nnc: ./xor train: " + out.strip().splitlines()[-1])

# pkg-config
if shutil.which("pkg-config"):
    e2e.run([nnc, "-c", xor_nn, "-o", "xor.o", "--header", "xor.h"])
    open("main.c", "w").write(MAIN)
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "nnrt"], env=env, stdout=subprocess.PIPE,
                        universal_newlines=True)
    if pc.returncode != 0:
        e2e.fail("pkg-config --cflags --libs nnrt failed with the installed nnrt.pc")
    e2e.run([a.cc, "-o", "app", "main.c", "xor.o", "-I."] + pc.stdout.split(), what="cc with pkg-config flags")
    print(e2e.run(["./app"]).strip())
else:
    print("pkg-config is not installed: its flow is not checked")

# CMake package: examples/embed
embed = os.path.join(a.work, "embed")
cfg = e2e.run([a.cmake, "-S", os.path.join(a.source, "examples", "embed"), "-B", embed,
               "-DCMAKE_PREFIX_PATH=" + prefix], what="configuring examples/embed")
cache = open(os.path.join(embed, "CMakeCache.txt")).read()
if "nnc_DIR:PATH=" + os.path.join(prefix, "lib", "cmake", "nnc") not in cache:
    e2e.fail("examples/embed did not find nnc in the installed prefix", cfg)
e2e.run([a.cmake, "--build", embed], what="building examples/embed")
os.chdir(embed)
out = e2e.run(["./embed"], what="examples/embed ./embed")
print(out.rstrip())
if "embed: ok" not in out:
    e2e.fail("./embed did not print 'embed: ok'", out)
if env_dir is not None:
    os.environ["NNC_RUNTIME_DIR"] = env_dir
e2e.ok("installed nnc: layout, pkg-config build, examples/embed built with find_package(nnc) and run")
