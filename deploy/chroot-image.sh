#!/usr/bin/env bash
# Build deploy/Dockerfile's images as directory trees, without a Docker
# engine, on fresh Debian 12 roots, then start them the way the images start:
# a check that the Dockerfile's steps work on a clean machine, and the
# measurement of what the runtime stage adds to its base image.
#
#   deploy/chroot-image.sh [--work DIR] [--mirror URL]
#
#   --work DIR    where the roots go (default /tmp/teeliza-chroot); the
#                 debootstrapped base is kept there and reused
#   --mirror URL  Debian mirror for debootstrap (default http://deb.debian.org/debian)
#
# It runs the FROM/WORKDIR/COPY/ENV/RUN steps of the builder stage and of the
# agent target (deploy/Dockerfile uses no other build instructions) in chroots
# of a `debootstrap --variant=minbase bookworm` root set up as
# debian:bookworm-slim is (its dpkg path excludes and apt cache cleaning),
# then starts the simulator target's CMD and HEALTHCHECK, and the agent's
# when `teeliza start` exists, as the image's USER. Needs root, debootstrap
# (installed with apt-get when missing) and the Debian mirror, so CI does not
# run it; tests/e2e/deploy.test.sh checks the rest on every run.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
dockerfile=$src/deploy/Dockerfile
check=$src/tests/e2e/deploy_check.py
work=/tmp/teeliza-chroot
mirror=http://deb.debian.org/debian
die() { echo "chroot-image: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --work) [ $# -ge 2 ] || die "--work needs a value"; work=$2; shift 2 ;;
    --mirror) [ $# -ge 2 ] || die "--mirror needs a value"; mirror=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (chroot, mount)"
mkdir -p "$work"
work=$(cd "$work" && pwd)

mounts=()
pids=()
cleanup() {
  local p m
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---- the base: minbase bookworm, configured as the slim image is ----
base=$work/base
if [ ! -x "$base/bin/sh" ]; then
  command -v debootstrap >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
  rm -rf "$base"
  debootstrap --variant=minbase bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  cat >"$base/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  cat >"$base/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  rm -rf "$base"/var/lib/apt/lists/* "$base"/var/cache/apt/*.bin "$base"/var/cache/apt/archives/*.deb
fi
cp /etc/resolv.conf "$base/etc/resolv.conf"

context=$work/context
rm -rf "$context"
python3 "$check" context "$src" "$context" >/dev/null

# ---- run a target's steps in a copy of the base ----
build_target() { # target root
  local target=$1 root=$2 instr arg workdir=/ from to
  local -a env=()
  rm -rf "$root"
  cp -a "$base" "$root"
  mount -t proc proc "$root/proc"
  mounts+=("$root/proc")
  while IFS=$'\t' read -r instr arg; do
    case $instr in
      FROM|ARG|USER|VOLUME|EXPOSE|HEALTHCHECK|CMD) ;;
      WORKDIR) workdir=$arg; mkdir -p "$root$workdir" ;;
      ENV) read -ra words <<<"$arg"; env+=("${words[@]}") ;;
      COPY)
        read -r from to <<<"$arg"
        case $to in /*) ;; *) to=$workdir/$to ;; esac
        if [ "$from" = --from=builder ]; then
          read -r _ from to <<<"$arg"
          mkdir -p "$root$to"
          cp -a "$work/builder$from." "$root$to"
        elif [ "$from" = . ]; then
          mkdir -p "$root$to"
          cp -a "$context/." "$root$to"
        else
          mkdir -p "$(dirname "$root$to")"
          cp -a "$context/$from" "$root$to"
        fi
        ;;
      RUN)
        echo "chroot-image: $target: RUN ${arg:0:70}..."
        chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
          HOME=/root DEBIAN_FRONTEND=noninteractive "${env[@]}" /bin/sh -c "cd $workdir && $arg" \
          >>"$work/$target.log" 2>&1 || { tail -n 30 "$work/$target.log" >&2; die "$target: RUN failed"; }
        ;;
      *) die "$target: instruction $instr is not interpreted here" ;;
    esac
  done < <(python3 "$check" steps "$dockerfile" "$target")
  umount "$root/proc"
}

: >"$work/builder.log"
: >"$work/agent.log"
t0=$(date +%s)
build_target builder "$work/builder"
t1=$(date +%s)
echo "chroot-image: builder stage: $((t1 - t0)) s (apt downloads included)"
build_target agent "$work/agent"
base_bytes=$(du -sxb "$base" | cut -f1)
agent_bytes=$(du -sxb "$work/agent" | cut -f1)
echo "chroot-image: the runtime stage adds $((agent_bytes - base_bytes)) bytes to its base" \
  "($(awk -v b=$((agent_bytes - base_bytes)) 'BEGIN { printf "%.1f", b / 1048576 }') MB)"

# ---- start the targets as the image's user ----
root=$work/agent
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
user=$(python3 "$check" steps "$dockerfile" agent | awk -F'\t' '$1 == "USER" { u = $2 } END { print u }')
uid=$(chroot "$root" id -u "${user%%:*}")
gid=$(chroot "$root" id -g "${user%%:*}")
[ "$uid" -ne 0 ] || die "the image's USER is root"
run_as() { # cmd... (in /app, clean environment)
  chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/app \
    /bin/sh -c 'cd /app && exec "$@"' sh "$@"
}
# In the background: every step execs the next, so the pid kept is the program's own.
start_as() { # out err cmd...
  local out=$1 err=$2
  shift 2
  (exec chroot --userspec="$uid:$gid" "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/app \
    /bin/sh -c 'cd /app && exec "$@"' sh "$@") >"$out" 2>"$err" &
  pids+=($!)
}
mapfile -d '' sim_cmd < <(python3 "$check" argv "$dockerfile" simulator cmd)
start_as "$work/sim.out" "$work/sim.err" "${sim_cmd[@]}" --port 0
port=""
for _ in $(seq 1 50); do
  port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$work/sim.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/sim.err" >&2; die "the simulator did not start"; }
mapfile -d '' health < <(python3 "$check" argv "$dockerfile" simulator health)
run_as "${health[@]//127.0.0.1:8090/127.0.0.1:$port}" || die "simulator HEALTHCHECK failed"
echo "chroot-image: simulator target runs as uid $uid, HEALTHCHECK passes"

if run_as teeliza --help | grep -q '^  start '; then
  aport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mapfile -d '' agent_cmd < <(python3 "$check" argv "$dockerfile" agent cmd)
  start_as "$work/agent.out" "$work/agent.err" env SERVER_HOST=127.0.0.1 SERVER_PORT="$aport" SQLITE_FILE=/app/data/db.sqlite TEE_MODE=DOCKER \
    DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:$port" WALLET_SECRET_SALT=chroot-image-salt \
    "${agent_cmd[@]}" --character=characters/teeliza.character.json
  up=no
  for _ in $(seq 1 100); do
    if run_as teeliza healthcheck -q "http://127.0.0.1:$aport/hello"; then up=yes; break; fi
    sleep 0.1
  done
  [ "$up" = yes ] || { tail -n 20 "$work/agent.err" >&2; die "the agent did not answer GET /hello"; }
  mapfile -d '' health < <(python3 "$check" argv "$dockerfile" agent health)
  if run_as env SERVER_PORT="$aport" "${health[@]}"; then
    echo "chroot-image: agent target runs, HEALTHCHECK passes"
  else
    echo "chroot-image: agent target runs (GET /hello), but its HEALTHCHECK (GET /healthz) fails" >&2
    exit 1
  fi
else
  echo "chroot-image: this teeliza has no 'start' yet; agent target not started"
fi
echo "chroot-image: done; roots in $work"
