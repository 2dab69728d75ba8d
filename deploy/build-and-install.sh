#!/usr/bin/env bash
# Build teeliza (Release) and install it under DESTDIR/PREFIX. This is the one
# build step of the image: deploy/Dockerfile's builder stage RUNs it, and
# tests/e2e/deploy.test.sh runs it on the CI machine, so what the image gets is
# what CI has built, installed and started.
#
#   deploy/build-and-install.sh [--prefix DIR] [--destdir DIR] [--build-dir DIR] [--jobs N] [--no-apt]
#
#   --prefix DIR     install prefix (default /usr/local)
#   --destdir DIR    staging root, as CMake's DESTDIR (default: none, install into PREFIX itself)
#   --build-dir DIR  CMake build tree (default <source>/build-release)
#   --jobs N         parallel compile jobs (default: nproc)
#   --no-apt         never call apt-get; fail when a package of deploy/build-deps.txt is missing
#
# Packages of deploy/build-deps.txt that are missing are installed with apt-get
# (as root, or through sudo); when all are present apt is not touched.
#
# Result: DESTDIR/PREFIX/bin/teeliza (stripped) and
# DESTDIR/PREFIX/share/teeliza/characters/*.character.json.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/local
destdir=
build_dir=$src/build-release
jobs=$(nproc)
use_apt=yes

die() { echo "build-and-install: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a value"; destdir=$2; shift 2 ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; build_dir=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; jobs=$2; shift 2 ;;
    --no-apt) use_apt=no; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path: $prefix" ;; esac
case $jobs in ''|*[!0-9]*|0) die "--jobs must be a positive number: $jobs" ;; esac
if [ -n "$destdir" ]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
fi

# Package names of a list file: first word of each line, comments dropped.
read_list() { sed 's/#.*//' "$1" | awk 'NF { print $1 }'; }

missing=()
while read -r pkg; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done < <(read_list "$src/deploy/build-deps.txt")
if [ ${#missing[@]} -gt 0 ]; then
  [ "$use_apt" = yes ] || die "missing build packages (and --no-apt given): ${missing[*]}"
  sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing build packages and not root: ${missing[*]}"
    sudo=sudo
  fi
  echo "build-and-install: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Only the program is built: the tests and benchmarks are configured with the
# project but stay unbuilt.
cmake -S "$src" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$build_dir" --target teeliza_cli -j "$jobs"
DESTDIR=$destdir cmake --install "$build_dir" --strip

bin=$destdir$prefix/bin/teeliza
[ -x "$bin" ] || die "nothing installed at $bin"
if ldd "$bin" | grep -q 'not found'; then
  ldd "$bin" >&2
  die "$bin needs libraries this machine lacks"
fi
"$bin" version >/dev/null || die "$bin does not run"
echo "build-and-install: installed $("$bin" version) into ${destdir:-}$prefix"
