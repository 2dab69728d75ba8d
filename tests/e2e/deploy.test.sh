#!/usr/bin/env bash
# The deployment files end to end, without a Docker engine:
#  1. deploy/Dockerfile has the shape docs/DEPLOY.md describes (tests/e2e/deploy_check.py);
#  2. the build context .dockerignore leaves is enough: deploy/build-and-install.sh,
#     exactly as the builder stage runs it, builds and installs teeliza from a
#     copy of that context into a temporary DESTDIR (apt is not touched: --no-apt);
#  3. every shared library the installed binary needs comes from a package of
#     deploy/runtime-deps.txt (or libc6), so the runtime stage has them;
#  4. the installed binary runs as a non-root user in an /app-like directory,
#     as the images do: the simulator target's CMD and HEALTHCHECK, then the
#     agent's (`teeliza start`, with the cloud manifest's character) and its
#     health, its SQLite file in the data directory, no salt in its logs;
#  5. both compose files parse with Debian's docker-compose (`config -q`), pass
#     the manifest checks, and broken variants of them are caught;
#  6. deploy/footprint.sh measures the installed tree.
set -euo pipefail

src=${TEELIZA_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
check="$src/tests/e2e/deploy_check.py"
dockerfile="$src/deploy/Dockerfile"
prefix=/usr/local

# shellcheck source=../lib/e2e.sh
. "$src/tests/lib/e2e.sh"
e2e_setup deploy
# The non-root user must reach the installed binary and the app directory.
chmod 0755 "$tmp"

# ---- 1. the Dockerfile ----
check_rc "Dockerfile: stages, platform, non-root user, volume, ports, health checks, commands" 0 \
	python3 "$check" dockerfile "$dockerfile"
data_dir=$(python3 "$check" data-dir "$dockerfile")
export TEELIZA_IMAGE_DATA_DIR=$data_dir

# ---- 2. build and install from the Docker build context ----
python3 "$check" context "$src" "$tmp/context" >/dev/null
for f in deploy/build-and-install.sh deploy/build-deps.txt deploy/runtime-deps.txt CMakeLists.txt \
	characters/teeliza.character.json src/cli/main.c; do
	[ -f "$tmp/context/$f" ] || fail "build context lacks $f (.dockerignore excludes it)"
done
if [ -n "$(find "$tmp/context" -maxdepth 1 -name 'build*' -type d)" ] || [ -e "$tmp/context/.git" ]; then
	fail "build context contains build trees or .git"
fi
root="$tmp/root"
if ! bash "$tmp/context/deploy/build-and-install.sh" --no-apt --prefix "$prefix" --destdir "$root" \
	--build-dir "$tmp/build" --jobs 2 >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	echo "deploy/build-and-install.sh failed" >&2
	exit 1
fi
ok "deploy/build-and-install.sh built and installed from the build context"
rm -rf "$tmp/build" "$tmp/context"
bin="$root$prefix/bin/teeliza"
chars="$root$prefix/share/teeliza/characters"
[ -x "$bin" ] || { echo "no $bin" >&2; exit 1; }
[ -f "$chars/teeliza.character.json" ] && ok "characters installed in share/teeliza/characters" ||
	fail "no $chars/teeliza.character.json"
if readelf -S "$bin" | grep -q '\.symtab'; then fail "installed binary is not stripped"; else ok "binary stripped"; fi

# ---- 3. runtime libraries come from deploy/runtime-deps.txt ----
runtime_pkgs=$(sed 's/#.*//' "$src/deploy/runtime-deps.txt" | awk 'NF { print $1 }')
grep -qE -- '-dev$|^(gcc|cmake|ninja-build|pkg-config)$' <<<"$runtime_pkgs" &&
	fail "runtime-deps.txt holds build tools or -dev packages"
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf found no NEEDED libraries"
for lib in $needed; do
	path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
	[ -n "$path" ] || { fail "$lib does not resolve"; continue; }
	pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
	pkg=${pkg%%:*}
	if [ "$pkg" = libc6 ] || grep -qx -- "$pkg" <<<"$runtime_pkgs"; then
		ok "$lib from $pkg"
	else
		fail "$lib comes from '${pkg:-no package}', which deploy/runtime-deps.txt lacks"
	fi
done

# ---- 4. run as a non-root user, as the images do ----
user=teeliza
if [ "$(id -u)" -eq 0 ]; then
	id -u "$user" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" 2>/dev/null ||
		id -u "$user" >/dev/null
	as_user=(setpriv --reuid="$user" --regid="$user" --init-groups --)
else
	user=$(id -un)
	as_user=()
fi
uid=$(id -u "$user")
[ "$uid" -ne 0 ] || { echo "refusing to run the images' user as root" >&2; exit 1; }

# /app of the image: the working directory, the data volume (0700, the user's), characters.
[ "$data_dir" = /app/data ] || { echo "the images' data volume is $data_dir, this test mirrors /app/data" >&2; exit 1; }
app="$tmp/app"
mkdir -p "$app/data"
chown "$user:" "$app/data"
chmod 0700 "$app/data"
ln -s "$chars" "$app/characters"
image_env=(env -i "PATH=$root$prefix/bin:/usr/bin:/bin" "HOME=$app")

# Start a program as the user in $app; its pid goes to $started.
started=""
start_as_user() { # log cmd...
	local log=$1
	shift
	(cd "$app" && exec "${as_user[@]}" "$@") >"$log.out" 2>"$log.err" &
	started=$!
}
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# The simulator target: its CMD as written, on a free port (SIMULATOR_PORT=0) instead of 8090.
mapfile -d '' sim_cmd < <(python3 "$check" argv "$dockerfile" simulator cmd)
start_as_user "$tmp/sim" "${image_env[@]}" SIMULATOR_PORT=0 "${sim_cmd[@]}"
sim_pid=$started
if ! sim_port=$(e2e_wait_line "$tmp/sim.out" 's/^port \([0-9]*\)$/\1/p' "$sim_pid"); then
	cat "$tmp/sim.err" >&2
	echo "the simulator did not start as $user" >&2
	exit 1
fi
[ "$(uid_of "$sim_pid")" = "$uid" ] && ok "simulator runs as $user (uid $uid)" ||
	fail "simulator runs as uid $(uid_of "$sim_pid"), want $uid"

# The simulator target's HEALTHCHECK, as written in the Dockerfile: it probes
# SIMULATOR_PORT, so it passes on the port served and fails on another.
mapfile -d '' sim_health < <(python3 "$check" argv "$dockerfile" simulator health)
closed_port=$(e2e_free_port)
check_rc "simulator HEALTHCHECK (${sim_health[*]}) with SIMULATOR_PORT=$sim_port" 0 \
	"${as_user[@]}" "${image_env[@]}" "SIMULATOR_PORT=$sim_port" "${sim_health[@]}"
check_rc "simulator HEALTHCHECK follows SIMULATOR_PORT (a closed port: unhealthy)" 1 \
	"${as_user[@]}" "${image_env[@]}" "SIMULATOR_PORT=$closed_port" "${sim_health[@]}"
check_rc "healthcheck: wrong route is unhealthy" 1 "$bin" healthcheck -X POST "http://127.0.0.1:$sim_port/prpc/Tappd.Nope"
# tappd's unix socket (PRODUCTION mode): a second simulator serving only a socket.
start_as_user "$tmp/socksim" "${image_env[@]}" teeliza simulator --no-tcp --socket "$app/data/tappd.sock" \
	--state-dir "$app/data/socket-simulator"
for _ in $(seq 1 100); do
	[ -S "$app/data/tappd.sock" ] && break
	kill -0 "$started" 2>/dev/null || break
	sleep 0.1
done
check_rc "healthcheck over tappd's unix socket, as $user" 0 "${as_user[@]}" "$bin" healthcheck -q \
	--unix-socket "$app/data/tappd.sock" -d '{}' http://localhost/prpc/Tappd.Version
check_rc "healthcheck: missing socket is unhealthy" 1 "$bin" healthcheck -q --unix-socket "$tmp/none.sock" http://localhost/
check_rc "healthcheck: refused connection is unhealthy" 1 "$bin" healthcheck -q "http://127.0.0.1:$closed_port/healthz"
check_rc "healthcheck: no URL" 64 "$bin" healthcheck
check_rc "healthcheck: not an http(s) URL" 64 "$bin" healthcheck "ftp://127.0.0.1:$sim_port/"
check_rc "healthcheck: lower-case method" 64 "$bin" healthcheck -X post "http://127.0.0.1:$sim_port/"
check_rc "healthcheck: bad timeout" 64 "$bin" healthcheck -t 0 "http://127.0.0.1:$sim_port/"
check_rc "healthcheck: two URLs" 64 "$bin" healthcheck "http://127.0.0.1:$sim_port/" "http://127.0.0.1:$sim_port/"
check_rc "healthcheck: unknown option" 64 "$bin" healthcheck --bogus "http://127.0.0.1:$sim_port/"
state="$app/data/simulator"
if [ -f "$state/ca.key" ] && [ "$(stat -c '%u %a' "$state/ca.key")" = "$uid 600" ]; then
	ok "simulator state in the data volume, CA key $user's with mode 0600"
else
	fail "simulator state: $(ls -ln "$state" 2>&1 | tr '\n' ' ')"
fi

# The agent's start-up attestation checked as docs/DEPLOY.md tells: from the
# log lines, and from the REST route the log names, under the simulator root.
verify_attestation() { # api-port log
	local port=$1 log=$2 aid qids qid data
	"${as_user[@]}" "$bin" sim-root --state-dir "$app/data/simulator" >"$tmp/root.pem"
	"${as_user[@]}" "$bin" sim-root --state-dir "$app/data/simulator" --collateral >"$tmp/coll.json"
	grep -oE '0x[0-9a-f]{2000,}' "$log" | sed -n 1p >"$tmp/quote.hex"
	data=$(sed -n 's/.*Generating attestation for:  //p' "$log" | sed -n 1p)
	check_rc "the logged quote verifies under the simulator root, bound to the logged JSON" 0 \
		"$bin" verify - --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" --expect-app-data "$data" \
		<"$tmp/quote.hex"
	check_rc "without the simulator root the logged quote is rejected" 2 \
		"$bin" verify "$tmp/quote.hex" --collateral "$tmp/coll.json"
	aid=$(sed -n 's/.*TEE: agent \([0-9a-f-]\{36\}\) wallets.*/\1/p' "$log" | sed -n 1p)
	qids=$(sed -n 's/.*attestation quotes \([0-9a-f-]\{36\}\), \([0-9a-f-]\{36\}\).*/\1 \2/p' "$log" | sed -n 1p)
	[ -n "$aid" ] && [ -n "$qids" ] || { fail "no agent id / quote ids in the agent's log"; return; }
	for qid in $qids; do
		url="http://127.0.0.1:$port/agents/$aid/attestations/$qid"
		if ! curl -sf -H "Authorization: Bearer deploy-test-token" "$url" >"$tmp/att.json" ||
			! curl -sf -H "Authorization: Bearer deploy-test-token" "$url?format=bin" >"$tmp/att.bin"; then
			fail "GET $url failed"
			continue
		fi
		data=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["reportData"])' "$tmp/att.json")
		check_rc "attestation $qid from the REST API verifies, bound to its reportData" 0 \
			"$bin" verify "$tmp/att.bin" --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" \
			--expect-app-data "$data"
	done
}

# The agent target, when `teeliza start` exists: the cloud manifest's character,
# the local compose's wiring (TEE_MODE=DOCKER, simulator endpoint), an API token.
character=$(sed -n 's/.*"--character=\([^"]*\)".*/\1/p' "$src/deploy/docker-compose.yaml")
[ -n "$character" ] && [ -f "$app/$character" ] && ok "cloud manifest's character $character is in the image" ||
	fail "cloud manifest's character '$character' is not installed"
if "$bin" --help | grep -q '^  start '; then
	agent_port=$(e2e_free_port)
	salt="deploy-test-salt-$$-do-not-log"
	mapfile -d '' agent_cmd < <(python3 "$check" argv "$dockerfile" agent cmd)
	agent_env=("${image_env[@]}" SERVER_HOST=127.0.0.1 "SERVER_PORT=$agent_port" "SQLITE_FILE=$app/data/db.sqlite"
		TEE_MODE=DOCKER "DSTACK_SIMULATOR_ENDPOINT=http://127.0.0.1:$sim_port" "WALLET_SECRET_SALT=$salt"
		API_TOKEN=deploy-test-token)
	start_as_user "$tmp/agent" "${agent_env[@]}" "${agent_cmd[@]}" "--character=$character"
	agent_pid=$started
	up=no
	for _ in $(seq 1 150); do
		if "$bin" healthcheck -q -t 1000 "http://127.0.0.1:$agent_port/hello"; then up=yes; break; fi
		kill -0 "$agent_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$up" = yes ]; then
		ok "agent answers GET /hello"
		[ "$(uid_of "$agent_pid")" = "$uid" ] && ok "agent runs as $user" ||
			fail "agent runs as uid $(uid_of "$agent_pid"), want $uid"
		# With the token, a 404 means no /healthz route yet; anything else means it
		# exists, and then the HEALTHCHECK (which sends no token) must pass.
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer deploy-test-token" \
			"http://127.0.0.1:$agent_port/healthz" || true)
		if [ "$code" = 404 ]; then
			echo "NOTE: the agent has no GET /healthz yet; the agent image's HEALTHCHECK needs it"
		else
			mapfile -d '' agent_health < <(python3 "$check" argv "$dockerfile" agent health)
			check_rc "agent HEALTHCHECK (with API_TOKEN set)" 0 \
				"${as_user[@]}" "${agent_env[@]}" "${agent_health[@]}"
		fi
		if [ -f "$app/data/db.sqlite" ] && [ "$(stat -c %u "$app/data/db.sqlite")" = "$uid" ]; then
			ok "SQLite file in the data volume, owned by $user"
		else
			fail "no $user-owned db.sqlite in the data volume: $(ls -ln "$app/data" | tr '\n' ' ')"
		fi
		if grep -qF -- "$salt" "$tmp/agent.out" "$tmp/agent.err"; then
			fail "the agent logged WALLET_SECRET_SALT"
		else
			ok "the salt is not in the agent's logs"
		fi
		check_rc "API_TOKEN guards the API" 22 curl -sf "http://127.0.0.1:$agent_port/agents"
		verify_attestation "$agent_port" "$tmp/agent.err"
	else
		fail "agent did not answer GET /hello as $user: $(tail -n 5 "$tmp/agent.err" | tr '\n' ' ')"
	fi
else
	echo "NOTE: this teeliza has no 'start' command yet; agent run skipped"
fi

# ---- 5. compose files ----
if ! command -v docker-compose >/dev/null 2>&1; then
	fail "docker-compose is missing (bash scripts/install-deps.sh installs Debian's)"
else
	: >"$tmp/empty.env"
	check_rc "docker-compose config: cloud manifest with API_TOKEN" 0 \
		env -u WALLET_SECRET_SALT API_TOKEN=t docker-compose --env-file "$tmp/empty.env" -f "$src/deploy/docker-compose.yaml" config -q
	check_rc "docker-compose config: cloud manifest refuses to start without API_TOKEN" 1 \
		env -u WALLET_SECRET_SALT -u API_TOKEN docker-compose --env-file "$tmp/empty.env" -f "$src/deploy/docker-compose.yaml" config -q
	grep -q 'API_TOKEN' "$tmp/err" || fail "the missing-token error does not name API_TOKEN"
	check_rc "docker-compose config: cloud manifest refuses an empty API_TOKEN" 1 \
		env -u WALLET_SECRET_SALT API_TOKEN= docker-compose --env-file "$tmp/empty.env" -f "$src/deploy/docker-compose.yaml" config -q
	env -u WALLET_SECRET_SALT -u API_RATE_LIMIT API_TOKEN=t docker-compose --env-file "$tmp/empty.env" \
		-f "$src/deploy/docker-compose.yaml" config >"$tmp/cloud.yaml" 2>"$tmp/err" || true
	grep -q 'API_RATE_LIMIT: .120.' "$tmp/cloud.yaml" && ok "cloud manifest: API_RATE_LIMIT defaults to 120 per minute" ||
		fail "cloud manifest: no API_RATE_LIMIT 120 by default: $(grep -i rate "$tmp/cloud.yaml" | tr '\n' ' ')"
	check_rc "docker-compose config: local stack without API_TOKEN" 0 \
		env -u API_TOKEN docker-compose --env-file "$src/deploy/.env.example" -f "$src/deploy/docker-compose.local.yaml" config -q
	# The simulator-on-the-host path: TEELIZA_SIMULATOR replaces the service next door.
	env TEELIZA_SIMULATOR=http://host.docker.internal:8090 docker-compose --env-file "$src/deploy/.env.example" \
		-f "$src/deploy/docker-compose.local.yaml" config >"$tmp/local.yaml" 2>"$tmp/err" || true
	grep -q 'DSTACK_SIMULATOR_ENDPOINT: http://host.docker.internal:8090' "$tmp/local.yaml" &&
		ok "local stack: TEELIZA_SIMULATOR points the agent at a simulator on the host" ||
		fail "local stack: TEELIZA_SIMULATOR not used: $(grep SIMULATOR "$tmp/local.yaml" | tr '\n' ' ')"
	check_rc "docker-compose config: local stack with .env.example" 0 \
		docker-compose --env-file "$src/deploy/.env.example" -f "$src/deploy/docker-compose.local.yaml" config -q
	check_rc "docker-compose config: local stack refuses to start without WALLET_SECRET_SALT" 1 \
		env -u WALLET_SECRET_SALT docker-compose --env-file "$tmp/empty.env" -f "$src/deploy/docker-compose.local.yaml" config -q
	grep -q 'WALLET_SECRET_SALT' "$tmp/err" || fail "the missing-salt error does not name WALLET_SECRET_SALT"
fi
check_rc "cloud manifest checks" 0 python3 "$check" cloud "$src/deploy/docker-compose.yaml"
check_rc "local compose checks" 0 python3 "$check" local "$src/deploy/docker-compose.local.yaml"

# Broken variants must be caught, each with its own complaint.
mutant() { # kind file sed-expression expected-complaint
	sed "$3" "$2" >"$tmp/mutant.yaml"
	if cmp -s "$2" "$tmp/mutant.yaml"; then
		fail "mutation '$3' changed nothing"
		return
	fi
	if python3 "$check" "$1" "$tmp/mutant.yaml" >"$tmp/out" 2>&1; then
		fail "checker accepted $1 manifest with '$3'"
	elif grep -qF -- "$4" "$tmp/out"; then
		ok "caught: $4"
	else
		fail "'$3': complaint lacks '$4': $(tr '\n' ' ' <"$tmp/out")"
	fi
}
cloud="$src/deploy/docker-compose.yaml"
local_yaml="$src/deploy/docker-compose.local.yaml"
mutant cloud "$cloud" 's#- tee-data:/app/data$#- tee-data:/app/data/db.sqlite#' "nothing mounted on /app/data"
mutant cloud "$cloud" 's#- tee-data:/app/data$#- ./data:/app/data#' "not from a named volume"
mutant cloud "$cloud" 's#"3000:3000"#"3000:80"#' "targets container port 80"
mutant cloud "$cloud" 's#restart: always#restart: unless-stopped#' "restart must be 'always'"
mutant cloud "$cloud" '\#/var/run/tappd.sock:/var/run/tappd.sock#d' "no /var/run/tappd.sock"
mutant cloud "$cloud" 's#WALLET_SECRET_SALT=${WALLET_SECRET_SALT}#WALLET_SECRET_SALT=hunter2#' \
	"WALLET_SECRET_SALT has a value written in the file"
mutant cloud "$cloud" 's#REDPILL_API_KEY=${REDPILL_API_KEY}#REDPILL_API_KEY=${REDPILL_API_KEY:-sk-123}#' \
	"REDPILL_API_KEY has a value written in the file"
mutant cloud "$cloud" 's#TEE_MODE=PRODUCTION#TEE_MODE=LOCAL#' "TEE_MODE must be PRODUCTION"
mutant cloud "$cloud" 's#SQLITE_FILE=/app/data/db.sqlite#SQLITE_FILE=/app/db.sqlite#' "is not in the image's data volume"
mutant cloud "$cloud" 's#\["teeliza", "start"#["pnpm", "start"#' "command must be the list"
mutant cloud "$cloud" 's#"start", "--non-interactive", #"start", #' "command lacks --non-interactive"
mutant local "$local_yaml" 's#http://simulator:8090#http://localhost:8090#' "the simulator service unless overridden"
mutant local "$local_yaml" 's#${TEELIZA_SIMULATOR:-http://simulator:8090}#http://simulator:8090#' \
	"the simulator service unless overridden"
mutant local "$local_yaml" 's#^    image: teeliza-simulator:local$#&\n    command: ["teeliza", "simulator", "--listen", "0.0.0.0"]#' \
	"overrides the image's command"
mutant cloud "$cloud" 's#API_TOKEN=${API_TOKEN:?[^}]*}#API_TOKEN=${API_TOKEN}#' "API_TOKEN must be required"
mutant cloud "$cloud" 's#${API_RATE_LIMIT:-120}#${API_RATE_LIMIT:-0}#' "API_RATE_LIMIT must default to a limit"
mutant cloud "$cloud" '/API_RATE_LIMIT=/d' "API_RATE_LIMIT must default to a limit"
mutant dockerfile "$dockerfile" 's#127.0.0.1:${SIMULATOR_PORT:-8090}/#127.0.0.1:8090/#' \
	'the HEALTHCHECK does not probe ${SIMULATOR_PORT}'
mutant dockerfile "$dockerfile" 's#--port \\"${SIMULATOR_PORT:-8090}\\"##' "CMD does not serve --port"
mutant dockerfile "$dockerfile" '/^ARG DEBIAN_FRONTEND=noninteractive$/d' \
	"apt-get runs without DEBIAN_FRONTEND=noninteractive"
mutant local "$local_yaml" '/host-gateway/d' "extra_hosts lacks host.docker.internal:host-gateway"
mutant local "$local_yaml" 's#- agent-data:/app/data#- agent-data:/app/db.sqlite#' "nothing mounted on /app/data"
mutant local "$local_yaml" 's#OPENAI_API_KEY=${OPENAI_API_KEY:-}#OPENAI_API_KEY=sk-live#' \
	"OPENAI_API_KEY has a value written in the file"

# ---- 6. footprint ----
if bash "$src/deploy/footprint.sh" --root "$root" --prefix "$prefix" >"$tmp/footprint" 2>"$tmp/err"; then
	total=$(awk -F'\t' '$1 == "total" { print $2 }' "$tmp/footprint")
	bin_bytes=$(awk -F'\t' '$1 == "binary" { print $2 }' "$tmp/footprint")
	if [ "$bin_bytes" = "$(stat -c %s "$bin")" ] && [ "${total:-0}" -gt "$bin_bytes" ]; then
		ok "footprint: binary $bin_bytes bytes, total $total bytes"
	else
		fail "footprint numbers do not add up: $(tr '\n' ' ' <"$tmp/footprint")"
	fi
else
	fail "deploy/footprint.sh failed: $(head -c 300 "$tmp/err")"
fi

e2e_finish deploy
