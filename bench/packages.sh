# bench/packages.sh — sourced by the bench scripts: `install_packages LOG PKG...` installs those of
# the Debian packages that are missing (apt-get, through sudo unless root), its output appended
# to LOG. The peers need them all: without libopenblas-dev, for one, PyTorch's float matmul
# falls back to the reference BLAS (libblas3), some 30 times slower.
install_packages() {
  local log=$1
  shift
  dpkg -s "$@" >/dev/null 2>&1 && return 0
  echo "installing packages: $*" >&2
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y "$@" >>"$log" 2>&1 || { $sudo apt-get update >>"$log" 2>&1 && $sudo apt-get install -y "$@" >>"$log" 2>&1; }
}
