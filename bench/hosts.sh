#!/bin/bash
# bench/hosts.sh — step time of data-parallel training over TCP between 2 test hosts, against
# the step-time model of docs/mpi.md.
#   bench/hosts.sh [BUILD]     BUILD: a build directory of nnc with the MPI plugin (default ../build)
# Makes 2 test hosts (test/hosts/hosts.sh: network namespaces on a bridge, root only), installs
# nnc into each, and trains examples/fashion.nn for 1 epoch at global batch 64, 512 and 4096:
# in one process (1 thread), and under mpirun -np 2 (one rank per host, 1 thread each, Open MPI
# over TCP only) on an unshaped link and on a link shaped to RATE by a token bucket (tc tbf on
# each host's eth0). Prints one table row per run: measured ms per step (B / the samples/s
# rank 0 prints) and the model's
#   T = T_c·B/(64·K) + T_u + 2(K−1)/K · S/BW + 2(K−1)·α
# with T_c from the one-process run at batch 64 measured here, T_u = 0.1 ms, S = 0.94 MB,
# BW = RATE, α = 25 µs (the unshaped link has no BW to model: its row shows the measurement).
# The kernel here may lack sch_netem (delay): then only the rate is shaped, and it says so.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
HOSTS=$SRC/test/hosts/hosts.sh
RATE_MBIT=${RATE_MBIT:-1000}
BATCHES=${BATCHES:-"64 512 4096"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

"$HOSTS" check >/dev/null || { echo "bench/hosts.sh: $("$HOSTS" check)" >&2; exit 1; }
ROOT=/tmp/nnc-bench-hosts-$$
trap '"$HOSTS" down "$ROOT"' EXIT INT TERM
"$HOSTS" up "$ROOT" 2 "$BUILD" "$SRC"
WORK=$(mktemp -d)
trap '"$HOSTS" down "$ROOT"; rm -rf "$WORK"' EXIT INT TERM
"$BUILD/nnc" "$SRC/examples/fashion.nn" -o "$WORK/fashion"
for k in 1 2; do
  cmake --install "$BUILD" --prefix "$ROOT/h$k/prefix" >/dev/null
  cp "$WORK/fashion" "$ROOT/h$k/prefix/bin/"
done

# samples/s of the (last) epoch line
speed() { sed -n 's/^epoch .* \([0-9][0-9]*\) samples\/s.*/\1/p' | tail -1; }

mpi() {
  "$HOSTS" run "$ROOT" 1 mpirun --host 10.77.0.1,10.77.0.2 -np 2 --mca plm_rsh_agent "$ROOT/agent" \
    --mca plm_rsh_no_tree_spawn 1 --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 \
    --mca oob_tcp_if_include 10.77.0.0/24 --bind-to none prefix/bin/fashion train --epochs 1 --threads 1 \
    --save f.weights "$@" 2>&1
}

shape() { # RATE_MBIT or "off"
  for k in 1 2; do
    ip netns exec "$(. "$ROOT/hosts.env"; echo "nnc$ID-h$k")" tc qdisc del dev eth0 root 2>/dev/null || true
    [ "$1" = off ] || ip netns exec "$(. "$ROOT/hosts.env"; echo "nnc$ID-h$k")" \
      tc qdisc add dev eth0 root tbf rate "${1}mbit" burst 256kb latency 100ms
  done
}

ns1=$(. "$ROOT/hosts.env"; echo "nnc$ID-h1")
if ip netns exec "$ns1" tc qdisc add dev eth0 root netem delay 1ms 2>/dev/null; then
  ip netns exec "$ns1" tc qdisc del dev eth0 root; NETEM=yes
else
  NETEM="no (sch_netem is not in this kernel: rate shaped with tbf, no added delay)"
fi

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores; netem: $NETEM"
echo "| run | B | samples/s | ms/step measured | ms/step model |"
echo "|---|---|---|---|---|"
TC=""
for b in $BATCHES; do
  s=$(cd "$WORK" && ./fashion train --epochs 1 --threads 1 --batch "$b" --save f.weights 2>&1 | speed)
  [ -n "$TC" ] || TC=$(awk -v s="$s" 'BEGIN { printf "%.4f", 64 / s * 1000 }')
  awk -v s="$s" -v b="$b" 'BEGIN { printf "| one process, 1 thread | %d | %d | %.2f | |\n", b, s, b / s * 1000 }'
done
for link in off "$RATE_MBIT"; do
  shape "$link"
  for b in $BATCHES; do
    s=$(mpi --batch "$b" | speed)
    awk -v s="$s" -v b="$b" -v tc="$TC" -v r="$link" 'BEGIN {
      k = 2; bw = r == "off" ? 0 : r * 1e6 / 8; S = 0.94e6
      model = bw ? sprintf("%.2f", tc * b / (64 * k) + 0.1 + 2 * (k - 1) / k * S / bw * 1000 + 2 * (k - 1) * 0.025) : "–"
      printf "| 2 hosts, TCP, link %s | %d | %d | %.2f | %s |\n", r == "off" ? "unshaped" : r " Mbit/s", b, s, b / s * 1000, model }'
  done
done
echo "# T_c = $TC ms per 64 samples (one process, batch 64, this run)"
