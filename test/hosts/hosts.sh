#!/bin/sh
# test/hosts/hosts.sh — test hosts on one machine: Linux network namespaces on a bridge.
#
#   hosts.sh check                 exit 0 if hosts can be made here, else print why and exit 77
#   hosts.sh up ROOT N [HIDE...]   make hosts 1..N under the new directory ROOT (see below)
#   hosts.sh run ROOT K CMD...     run CMD on host K (what an ssh to it would do)
#   hosts.sh kill ROOT K           SIGKILL every process on host K (a host that dies)
#   hosts.sh link ROOT K up|down   take host K's network link down (a pulled cable) or up
#   hosts.sh down ROOT             kill every process of the hosts, remove them and ROOT
#
# Produces, for `up`: namespaces nnc<ID>-sw (the switch: a bridge br0) and nnc<ID>-h1..hN,
# ID random per ROOT so that runs at the same time never collide, none touching the
# machine's own network. Host K has loopback and eth0 with address 10.77.0.K/24 (a veth pair
# whose other end is port vK of the bridge), hostname nodeK (its own UTS namespace) and its
# own files: ROOT/hK is seen, on host K only, at ROOT/node — the same path on every host
# with different contents, as on a cluster without a shared file system (the other hosts'
# directories look empty). The directories
# HIDE... (e.g. the source and build trees) appear empty on the hosts, so what a host runs
# must have been installed into its ROOT/hK. ROOT/hostfile lists the hosts for mpirun,
# ROOT/agent is Open MPI's launcher agent (`--mca plm_rsh_agent ROOT/agent`): it is called
# as `agent ADDRESS CMD...` and runs CMD on the host of that address, like ssh.
# Every command is idempotent where it can be; `down` of a ROOT that is gone does nothing.
set -eu

SUBNET=10.77.0
self=$(readlink -f "$0")

die() { echo "hosts.sh: $*" >&2; exit 1; }

cmd_check() {
  if [ "$(id -u)" != 0 ]; then echo "test hosts need root (network namespaces); running as $(id -un)"; exit 77; fi
  for t in ip unshare mount; do
    command -v $t >/dev/null 2>&1 || { echo "test hosts need '$t' (iproute2, util-linux)"; exit 77; }
  done
  probe=nncprobe$$
  if ! err=$(ip netns add $probe 2>&1); then echo "cannot make a network namespace: $err"; exit 77; fi
  ok=1
  ip -n $probe link add br0 type bridge 2>/dev/null || ok=0
  ip -n $probe link add eth0 type veth peer name v1 2>/dev/null || ok=0
  ip netns del $probe
  [ $ok = 1 ] || { echo "the kernel cannot make bridges or veth pairs in a namespace"; exit 77; }
}

load() { # ROOT -> ID, N, HIDE from ROOT/hosts.env
  [ -f "$1/hosts.env" ] || die "$1 holds no test hosts (no hosts.env)"
  . "$1/hosts.env"
}

ns() { echo "nnc$ID-$1"; }

cmd_up() {
  root=$1 n=$2; shift 2
  case $n in [1-9]) ;; *) die "N must be 1..9, not '$n'" ;; esac
  mkdir "$root" || die "$root exists already"
  root=$(readlink -f "$root")
  ID=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
  { echo "ID=$ID"; echo "N=$n"; echo "HIDE='$*'"; } > "$root/hosts.env"
  trap 'cmd_down "$root"' EXIT INT TERM
  ip netns add "$(ns sw)"
  ip -n "$(ns sw)" link add br0 type bridge
  ip -n "$(ns sw)" link set br0 up
  : > "$root/hostfile"
  k=1
  while [ $k -le $n ]; do
    h=$(ns h$k)
    ip netns add "$h"
    ip link add eth0 netns "$h" type veth peer name v$k netns "$(ns sw)"
    ip -n "$(ns sw)" link set v$k master br0 up
    ip -n "$h" addr add $SUBNET.$k/24 dev eth0
    ip -n "$h" link set eth0 up
    ip -n "$h" link set lo up
    mkdir -p "$root/h$k"
    echo "$SUBNET.$k slots=1" >> "$root/hostfile"
    k=$((k + 1))
  done
  mkdir -p "$root/node"
  cp "$self" "$root/hosts.sh" # the hosts see no source tree
  printf '#!/bin/sh\n# Open MPI launcher agent: agent ADDRESS CMD... runs CMD on that test host.\nexec %s/hosts.sh agent %s "$@"\n' \
    "$root" "$root" > "$root/agent"
  chmod +x "$root/agent"
  wait_for_links "$root"
  trap - EXIT INT TERM
}

# Every port of the bridge is up before anything is launched (no STP: an up port forwards).
wait_for_links() {
  load "$1"
  k=1
  while [ $k -le "$N" ]; do
    tries=0
    until [ "$(ip -n "$(ns sw)" -o link show v$k | grep -c 'state UP')" = 1 ]; do
      tries=$((tries + 1)); [ $tries -lt 100 ] || die "port v$k of the bridge never came up"; sleep 0.05
    done
    k=$((k + 1))
  done
}

# What ssh to host K does: a shell in its namespaces, its hostname, its files at ROOT/node.
cmd_run() {
  root=$(readlink -f "$1") k=$2; shift 2
  load "$root"
  [ -n "$k" ] && [ "$k" -ge 1 ] && [ "$k" -le "$N" ] || die "no host $k (1..$N)"
  exec ip netns exec "$(ns h$k)" unshare --uts --mount --propagation private \
    sh -c 'root=$1 k=$2 hide=$3; shift 3
           hostname node$k
           # called from another host (the launcher agent under mpirun): first its view undone
           if mountpoint -q "$root/node"; then
             for d in "$root/node" "$root"/h[0-9] $hide; do ! mountpoint -q "$d" || umount -l "$d"; done
           fi
           for d in $hide; do # a directory inside one hidden before is gone already
             [ -d "$d" ] || continue
             case $root/ in "$d"/*) ;; *) mount -t tmpfs -o size=1m nnc-hidden "$d" ;; esac
           done
           for d in "$root"/h[0-9]; do [ "$d" = "$root/h$k" ] || mount -t tmpfs -o size=1m nnc-hidden "$d"; done
           mount --bind "$root/h$k" "$root/node"
           cd "$root/node"
           exec "$@"' host "$root" "$k" "$HIDE" "$@"
}

# Called by Open MPI as `agent ADDRESS CMD...` (CMD may be one string of a whole command line).
cmd_agent() {
  root=$1 addr=$2; shift 2
  case $addr in $SUBNET.[1-9]) ;; *) echo "agent: unknown host $addr" >&2; exit 255 ;; esac
  cmd_run "$root" "${addr##*.}" sh -c "$*"
}

cmd_kill() {
  load "$1"
  pids=$(ip netns pids "$(ns h$2)" 2>/dev/null || true)
  [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
}

cmd_link() {
  load "$1"
  ip -n "$(ns h$2)" link set eth0 "$3"
}

cmd_down() {
  [ -f "$1/hosts.env" ] || return 0
  load "$1"
  for h in $(ip netns list | awk '{print $1}' | grep "^nnc$ID-" || true); do
    pids=$(ip netns pids "$h" 2>/dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    ip netns del "$h" 2>/dev/null || true
  done
  rm -rf "$1"
}

[ $# -ge 1 ] || die "usage: hosts.sh check|up|run|kill|link|down|agent ..."
c=$1; shift
case $c in
  check) cmd_check ;;
  up) [ $# -ge 2 ] || die "usage: hosts.sh up ROOT N [HIDE...]"; cmd_up "$@" ;;
  run) [ $# -ge 3 ] || die "usage: hosts.sh run ROOT K CMD..."; cmd_run "$@" ;;
  agent) cmd_agent "$@" ;;
  kill) [ $# -eq 2 ] || die "usage: hosts.sh kill ROOT K"; cmd_kill "$@" ;;
  link) [ $# -eq 3 ] || die "usage: hosts.sh link ROOT K up|down"; cmd_link "$@" ;;
  down) [ $# -eq 1 ] || die "usage: hosts.sh down ROOT"; cmd_down "$@" ;;
  *) die "unknown command '$c'" ;;
esac
