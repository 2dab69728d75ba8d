#!/usr/bin/env bash
# Measure what the teeliza runtime image holds beyond its base: the stripped
# binary, every shared library the dynamic loader maps for it (the whole ldd
# closure, loader and libc included), and the bundled files (characters).
# Also estimates the apt layer of the runtime stage: the installed size of the
# packages deploy/runtime-deps.txt pulls in that debian:bookworm-slim does not
# already have (bookworm-slim is the Essential and Priority: required
# packages plus apt, and their dependencies).
#
#   deploy/footprint.sh [--root DESTDIR] [--prefix /usr/local] [--markdown]
#
#   --root DIR   an install tree made by deploy/build-and-install.sh --destdir DIR;
#                without it, the script builds one in a temporary directory
#   --markdown   a table for docs/PERFORMANCE.md instead of tab-separated lines
#
# Tab-separated output: name, bytes, what. Names: binary, library (one line
# each), libraries, bundled, total, apt_layer_estimate.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=
prefix=/usr/local
markdown=no
die() { echo "footprint: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || die "--root needs a value"; root=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
    --markdown) markdown=yes; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
if [ -z "$root" ]; then
  tmp=$(mktemp -d /tmp/teeliza-footprint.XXXXXX)
  root=$tmp/root
  bash "$src/deploy/build-and-install.sh" --prefix "$prefix" --destdir "$root" --build-dir "$tmp/build" \
    --jobs 2 >"$tmp/build.log" 2>&1 || { tail -n 30 "$tmp/build.log" >&2; die "build failed"; }
fi
bin=$root$prefix/bin/teeliza
share=$root$prefix/share/teeliza
[ -x "$bin" ] || die "no installed binary at $bin"

lines=()
emit() { lines+=("$1"$'\t'"$2"$'\t'"$3"); }

bin_bytes=$(stat -c %s "$bin")
emit binary "$bin_bytes" "bin/teeliza (stripped)"

# The ldd closure, each real file once (several sonames can share one file).
lib_bytes=0
nlibs=0
declare -A seen=()
while read -r path; do
  real=$(readlink -f "$path")
  [ -n "${seen[$real]:-}" ] && continue
  seen[$real]=1
  size=$(stat -c %s "$real")
  pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null || echo "?:")
  emit library "$size" "$(basename "$path") (${pkg%%:*})"
  lib_bytes=$((lib_bytes + size))
  nlibs=$((nlibs + 1))
done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
[ "$nlibs" -gt 0 ] || die "ldd listed no libraries for $bin"
emit libraries "$lib_bytes" "$nlibs shared libraries mapped at run time (ldd closure, loader and libc included)"

bundled_bytes=0
nfiles=0
if [ -d "$share" ]; then
  while read -r size; do
    bundled_bytes=$((bundled_bytes + size))
    nfiles=$((nfiles + 1))
  done < <(find "$share" -type f -printf '%s\n')
fi
emit bundled "$bundled_bytes" "$nfiles files under share/teeliza (characters)"
total=$((bin_bytes + lib_bytes + bundled_bytes))
emit total "$total" "binary + libraries + bundled files"

# apt layer estimate: the dependency closure of runtime-deps.txt, less the
# closure of what bookworm-slim is made of (the Essential and Priority:
# required packages, plus apt), summed over dpkg's Installed-Size (KiB).
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^[ <]' | sort -u
}
size_of() {
  dpkg-query -W -f='${Installed-Size}' "$1" 2>/dev/null || apt-cache show --no-all-versions "$1" 2>/dev/null |
    sed -n 's/^Installed-Size: //p' | head -n 1
}
mapfile -t wanted < <(sed 's/#.*//' "$src/deploy/runtime-deps.txt" | awk 'NF { print $1 }')
mapfile -t base_set < <(dpkg-query -W -f='${Package} ${Priority} ${Essential}\n' |
  awk '$2 == "required" || $3 == "yes" { print $1 }')
apt_kib=0
napt=0
while read -r pkg; do
  kib=$(size_of "$pkg")
  [ -n "$kib" ] || continue
  apt_kib=$((apt_kib + kib))
  napt=$((napt + 1))
done < <(comm -23 <(closure "${wanted[@]}") <(closure "${base_set[@]}" apt))
[ "$napt" -gt 0 ] || die "could not resolve the packages of deploy/runtime-deps.txt with apt-cache"
emit apt_layer_estimate "$((apt_kib * 1024))" "Installed-Size of the $napt packages runtime-deps.txt adds to bookworm-slim"

if [ "$markdown" = no ]; then
  printf '%s\n' "${lines[@]}"
  exit 0
fi
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
echo "| part | MB | what |"
echo "|---|---:|---|"
for l in "${lines[@]}"; do
  IFS=$'\t' read -r name bytes what <<<"$l"
  [ "$name" = library ] && continue
  echo "| $name | $(mb "$bytes") | $what |"
done
