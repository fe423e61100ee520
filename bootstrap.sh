#!/usr/bin/env bash
# bootstrap.sh — sets up nnc on a Debian 12 machine and runs it.
#   ./bootstrap.sh demo   install what is missing, build nnc, compile examples/fashion.nn
#                         and train it (progress, then the test accuracy)
#   ./bootstrap.sh test   install what is missing, build nnc with warnings as errors and
#                         run the whole test suite (ctest)
#   ./bootstrap.sh sanitize   the test suite built with ASan + UBSan, and the fuzz target
#   ./bootstrap.sh deps   only install the Debian packages
# Run as root (or with sudo). The build goes to ./build.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake make gcc flex bison llvm-19-dev llvm-19-tools libzstd-dev zlib1g-dev python3
          clang-19 lld-19 libfuzzer-19-dev libclang-rt-19-dev dataset-fashion-mnist file
          openmpi-bin libopenmpi-dev iproute2 graphviz
          libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata python3-onnx python3-numpy
          gcc-arm-none-eabi qemu-system-arm qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
}

build() {
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build build -j"$(nproc)"
}

case "${1:-}" in
  deps) install_deps ;;
  demo)
    install_deps
    build
    mkdir -p build/demo
    echo "bootstrap: nnc examples/fashion.nn -o build/demo/fashion"
    build/nnc examples/fashion.nn -o build/demo/fashion
    cd build/demo && ./fashion train
    ;;
  test)
    install_deps
    build -DNNC_WERROR=ON
    # tests that keep both cores busy (lit, the backend build, MPI, --threads 2) say so
    # (PROCESSORS 2 in test/), so ctest runs the single-core ones two at a time
    cd build && ctest --output-on-failure -j"$(nproc)"
    ;;
  sanitize)
    # the suite again with ASan + UBSan, plus the libFuzzer target (clang)
    install_deps
    CC=clang-19 CXX=clang++-19 cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DNNC_SANITIZE=ON -DNNC_FUZZ=ON >/dev/null
    cmake --build build-sanitize -j"$(nproc)"
    # executables nnc links must be linked by clang too; the install test is not about memory
    cd build-sanitize && CC=clang-19 ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -j"$(nproc)" -E '^e2e.install$'
    ;;
  *)
    echo "usage: $0 demo|test|sanitize|deps" >&2
    exit 2
    ;;
esac
