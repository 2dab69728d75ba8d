#!/usr/bin/env bash
# Replicas sharing one database (docs/DEPLOY.md, "Scale-out"): two or three `teeliza start` on one
# database with a deterministic stub model (replicas_driver.py stub), behind the round-robin driver
# (replicas_driver.py drive): concurrent messages to shared rooms, 10% resent to another replica with
# the same Idempotency-Key, 5% sent to two at once; then every invariant of the design's test plan is
# checked on the database (each message once, one reply each, in order, no duplicate participants,
# every request done, duplicates answered byte for byte). Then a replica is killed with -9 mid-load:
# its claimed requests are taken over after the (short, test) lease and nothing is lost. Also: the
# same key with another body (422), a bad key (400), a stored reply replayed, /readyz and the 503 with
# Retry-After while the database is gone, and recovery without a restart; the character set on one
# replica seen on another; the instances a verifier lists.
#
# The database is the SQLite file all replicas open (WAL), or PostgreSQL when POSTGRES_URL is set
# (CTest's e2e.replicas_pg runs this under tests/lib/pg.sh, which starts one): the same checks, the
# database going away is a server stop instead of a file moved away, and PostgreSQL is also restarted
# in the middle of a load (503 + Retry-After in the gap, recovery, no duplicates).
# REPLICAS_MESSAGES scales the load (default 1000).
# Prints "N passed, N failed".
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup replicas
here=$(cd "$(dirname "$0")" && pwd)
driver="$here/replicas_driver.py"
messages=${REPLICAS_MESSAGES:-1000}

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT EXPRESS_MAX_PAYLOAD TEELIZA_INSTANCE_ID TEELIZA_REQUEST_LEASE API_RATE_LIMIT
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim"
# a short lease so that the kill test's take-over comes quickly (the default is 120 s)
export TEELIZA_REQUEST_LEASE=3
db="$tmp/data/db.sqlite"
if [ -z "${POSTGRES_URL:-}" ]; then
	export SQLITE_FILE="$db"
elif [ -n "${PG_DIR:-}" ]; then
	# shellcheck source=../lib/pg.sh
	. "$here/../lib/pg.sh" # pg_down / pg_up on the server pg.sh started
fi
cd "$tmp"

passed=0
pass() { ok "$@"; passed=$((passed + 1)); }
check() { # what cond-exit-status(0 = pass) detail
	if [ "$2" = 0 ]; then pass "$1"; else fail "$1: $3"; fi
}

# ---- the stub model ----
python3 "$driver" stub --delay-ms 100 >"$tmp/stub.out" 2>"$tmp/stub.err" &
stub_pid=$!
stub_port=$(e2e_wait_line "$tmp/stub.out" 's/^port \([0-9]*\)$/\1/p' "$stub_pid") || {
	cat "$tmp/stub.err" >&2
	echo "FAIL: the stub model did not start" >&2
	exit 1
}
export OPENAI_API_KEY=stub-key OPENAI_API_URL="http://127.0.0.1:$stub_port/v1"

declare -A pid port
start_replica() { # name
	TEELIZA_INSTANCE_ID="replica-$1" "$TEELIZA" start --non-interactive >"$tmp/$1.out" 2>"$tmp/$1.log" &
	pid[$1]=$!
	port[$1]=$(e2e_wait_line "$tmp/$1.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "${pid[$1]}") || {
		cat "$tmp/$1.log" >&2
		echo "FAIL: replica $1 did not start" >&2
		exit 1
	}
	agent=$(e2e_agent_id "$tmp/$1.log" "${pid[$1]}") || {
		cat "$tmp/$1.log" >&2
		echo "FAIL: replica $1 started no agent" >&2
		exit 1
	}
}
start_replica a
start_replica b
start_replica c
check "three replicas on one database, one agent id" 0 ""
url() { echo "http://127.0.0.1:${port[$1]}$2"; }

# ---- idempotency, by hand ----
say() { # replica key body
	curl -s -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		${2:+-H "Idempotency-Key: $2"} --data "$3" "$(url "$1" "/$agent/message")"
}
code=$(say a key-1 '{"text":"m-1","userId":"u1","roomId":"hand"}')
first=$(cat "$tmp/b")
check "a keyed message is answered" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code $first"
code=$(say b key-1 '{"text":"m-1","userId":"u1","roomId":"hand"}')
check "the same key on another replica returns the stored reply byte for byte" \
	"$([ "$code" = 200 ] && [ "$(cat "$tmp/b")" = "$first" ] && echo 0 || echo 1)" "HTTP $code $(cat "$tmp/b") vs $first"
check "and says so (Idempotent-Replayed)" "$(grep -qi '^Idempotent-Replayed: true' "$tmp/h" && echo 0 || echo 1)" \
	"$(cat "$tmp/h")"
code=$(say c key-1 '{"text":"m-2","userId":"u1","roomId":"hand"}')
check "the same key with another body is refused with 422" "$([ "$code" = 422 ] && echo 0 || echo 1)" "HTTP $code"
code=$(say a "$(printf 'k%.0s' $(seq 1 129))" '{"text":"m-3"}')
check "a key longer than 128 characters is refused with 400" "$([ "$code" = 400 ] && echo 0 || echo 1)" "HTTP $code"
code=$(say b "" '{"text":"m-4","messageId":"body-key-1","userId":"u1","roomId":"hand"}')
first=$(cat "$tmp/b")
code2=$(say c "" '{"text":"m-4","messageId":"body-key-1","userId":"u1","roomId":"hand"}')
check "a body messageId works as the key" "$([ "$code" = 200 ] && [ "$code2" = 200 ] && [ "$(cat "$tmp/b")" = "$first" ] && echo 0 || echo 1)" \
	"HTTP $code/$code2"
n=$(curl -s "$(url a "/agents/$agent/hand/memories")" | python3 -c 'import json,sys; m=json.load(sys.stdin)["memories"]; print(len(m), sum(1 for x in m if x["content"].get("text") in ("m-1","m-4")))')
check "each message once in the room, with one reply each (4 rows, 2 of them the messages)" \
	"$([ "$n" = "4 2" ] && echo 0 || echo 1)" "got $n"

# ---- a character set on one replica is seen on the others ----
curl -s "$(url c "/agents/$agent")" |
	python3 -c 'import json,sys; c=json.load(sys.stdin)["character"]; c["bio"]=["set on replica b"]; print(json.dumps(c))' \
	>"$tmp/char.json"
code=$(curl -s -o "$tmp/b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data @"$tmp/char.json" \
	"$(url b "/agents/$agent/set")")
check "POST /agents/:id/set on replica b" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code $(head -c 300 "$tmp/b")"
sleep 1.2
bio=$(curl -s "$(url c "/agents/$agent")" | python3 -c 'import json,sys; print(json.load(sys.stdin)["character"]["bio"])')
check "replica c runs the new character without a restart" \
	"$([ "$bio" = "['set on replica b']" ] && echo 0 || echo 1)" "bio $bio"
grep -q 'set on another replica, runs here now' "$tmp/c.log" && pass "replica c logged the change" ||
	fail "replica c did not log the change"

# ---- the round-robin load ----
python3 "$driver" drive --ports "${port[a]},${port[b]},${port[c]}" --agent "$agent" --db "$db" --run load \
	--messages "$messages" >"$tmp/load.out" 2>&1 || true
cat "$tmp/load.out"
lp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$tmp/load.out")
lf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$tmp/load.out")
passed=$((passed + ${lp:-0}))
fails=$((fails + ${lf:-1}))

# ---- kill -9 a replica mid-load ----
python3 "$driver" drive --ports "${port[a]},${port[b]}" --agent "$agent" --db "$db" --run kill \
	--messages $((messages / 2)) --rooms 25 --kill-pid "${pid[a]}" --kill-at 0.5 --expect-takeover \
	>"$tmp/kill.out" 2>&1 || true
cat "$tmp/kill.out"
wait "${pid[a]}" 2>/dev/null || true
kp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$tmp/kill.out")
kf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$tmp/kill.out")
passed=$((passed + ${kp:-0}))
fails=$((fails + ${kf:-1}))
grep -q 'taken over' "$tmp/b.log" "$tmp/c.log" && pass "a survivor logged the take-over" ||
	fail "no replica logged a take-over"

# ---- readiness: the database goes away and comes back ----
code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$(url b /readyz)")
check "/readyz is 200 with the database" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code $(cat "$tmp/b")"
db_away() {
	if [ -z "${POSTGRES_URL:-}" ]; then mv "$db" "$db.away"; else pg_down; fi
}
db_back() {
	if [ -z "${POSTGRES_URL:-}" ]; then mv "$db.away" "$db"; else pg_up; fi
}
if [ -z "${POSTGRES_URL:-}" ] || [ -n "${PG_DIR:-}" ]; then
	db_away
	sleep 1.2
	code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$(url b /readyz)")
	check "/readyz is 503 while the database is gone" "$([ "$code" = 503 ] && echo 0 || echo 1)" "HTTP $code"
	code=$(say b key-gone '{"text":"m-gone","userId":"u1","roomId":"hand"}')
	check "a message then gets 503 with Retry-After" \
		"$([ "$code" = 503 ] && grep -qi '^Retry-After: ' "$tmp/h" && echo 0 || echo 1)" "HTTP $code $(cat "$tmp/h")"
	code=$(curl -s -o /dev/null -w '%{http_code}' "$(url b /healthz)")
	check "/healthz stays 200 (the process is fine)" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code"
	db_back
	sleep 1.2
	code=$(curl -s -o /dev/null -w '%{http_code}' "$(url b /readyz)")
	check "/readyz is 200 again without a restart" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code"
	code=$(say b key-gone '{"text":"m-gone","userId":"u1","roomId":"hand"}')
	check "and the retried message is answered" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code"
	grep -q 'Database unreachable' "$tmp/b.log" && grep -q 'Database reachable again' "$tmp/b.log" &&
		pass "the replica logged both changes" || fail "no readiness lines in the log"
fi

# ---- PostgreSQL stops while a reply is being recorded as done ----
# A trigger holds the completion of one key, so that the stop falls exactly between the reply's
# memories and its record: the answer goes out, the completion is kept (never given up) and
# recorded once the server is back, and a retry on another replica gets that reply back.
if [ -n "${POSTGRES_URL:-}" ] && [ -n "${PG_DIR:-}" ]; then
	pg_psql "CREATE FUNCTION teeliza_test_hold() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
		PERFORM pg_sleep(60); RETURN NEW; END \$\$; CREATE TRIGGER teeliza_test_hold BEFORE UPDATE ON teeliza_requests
		FOR EACH ROW WHEN (NEW.state = 'done' AND NEW.\"requestKey\" = 'key-held') EXECUTE FUNCTION teeliza_test_hold()"
	held_body='{"text":"m-held","userId":"u1","roomId":"hand"}'
	say b key-held "$held_body" >"$tmp/held.code" &
	held_pid=$!
	for _ in $(seq 300); do # until the completion sits in the trigger
		[ "$(pg_psql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")" = 0 ] || break
		sleep 0.1
	done
	pg_down
	wait "$held_pid" || true
	held=$(cat "$tmp/b")
	check "a reply whose record meets the stop is still sent" "$([ "$(cat "$tmp/held.code")" = 200 ] && echo 0 || echo 1)" \
		"HTTP $(cat "$tmp/held.code") $held"
	pg_up
	pg_psql "DROP TRIGGER teeliza_test_hold ON teeliza_requests; DROP FUNCTION teeliza_test_hold()"
	for _ in $(seq 100); do # the replica's own retry records it (api_idem_pending.c)
		grep -q 'request key-held answered; recording it as done waits' "$tmp/b.log" &&
			grep -q 'Request key-held: recorded as done once' "$tmp/b.log" && break
		sleep 0.1
	done
	grep -q 'request key-held answered; recording it as done waits' "$tmp/b.log" &&
		grep -q 'Request key-held: recorded as done once' "$tmp/b.log" &&
		pass "its completion was kept and recorded once the server was back" ||
		fail "its completion was not kept and recorded: $(grep 'key-held' "$tmp/b.log" | head -n 5)"
	state=$(pg_psql "SELECT state FROM teeliza_requests WHERE \"requestKey\" = 'key-held'")
	check "its claim is done" "$([ "$state" = done ] && echo 0 || echo 1)" "state $state"
	code=$(say c key-held "$held_body")
	check "a retry on another replica gets the sent reply back, not a second run" \
		"$([ "$code" = 200 ] && [ "$(cat "$tmp/b")" = "$held" ] && grep -qi '^Idempotent-Replayed: true' "$tmp/h" &&
			echo 0 || echo 1)" "HTTP $code $(cat "$tmp/h")"
fi

# ---- PostgreSQL restarted in the middle of a load (the driver retries 503s with the same keys) ----
if [ -n "${POSTGRES_URL:-}" ] && [ -n "${PG_DIR:-}" ]; then
	python3 "$driver" drive --ports "${port[b]},${port[c]}" --agent "$agent" --run restart \
		--messages $((messages / 2)) --rooms 25 >"$tmp/restart.out" 2>&1 &
	drive_pid=$!
	# roughly mid-load (never a timing assertion: the checks below must hold wherever the restart falls)
	sleep 2
	pg_down
	sleep 2
	pg_up
	wait "$drive_pid" || true
	cat "$tmp/restart.out"
	# the answers that found the database gone at their completion: kept, then recorded (api_idem_pending.c)
	grep -h 'recording it as done waits\|recorded as done once\|not recorded' "$tmp/b.log" "$tmp/c.log" | head -n 20 || true
	rp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$tmp/restart.out")
	rf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$tmp/restart.out")
	passed=$((passed + ${rp:-0}))
	fails=$((fails + ${rf:-1}))
	code=$(curl -s -o /dev/null -w '%{http_code}' "$(url c /readyz)")
	check "after the restart /readyz is 200 on a replica that was not restarted" \
		"$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code"
fi

# ---- TEE: quotes per replica and boot, wallets derived alike and never stored ----
# two more replicas in TEE mode on their own database, sharing one simulator state (one simulated KMS)
tee_db="$tmp/tee/db.sqlite"
for r in ta tb; do
	if [ -z "${POSTGRES_URL:-}" ]; then export SQLITE_FILE="$tee_db"; fi
	TEE_MODE=LOCAL WALLET_SECRET_SALT=e2e-replicas TEELIZA_INSTANCE_ID="replica-$r" \
		"$TEELIZA" start --simulator --non-interactive >"$tmp/$r.out" 2>"$tmp/$r.log" &
	pid[$r]=$!
	port[$r]=$(e2e_wait_line "$tmp/$r.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "${pid[$r]}") || {
		cat "$tmp/$r.log" >&2
		echo "FAIL: TEE replica $r did not start" >&2
		exit 1
	}
	e2e_agent_id "$tmp/$r.log" "${pid[$r]}" >/dev/null || fail "TEE replica $r started no agent"
done
for r in ta tb; do
	say "$r" "quote-$r" '{"text":"please give me a remote attestation","userId":"v","roomId":"tee"}' >/dev/null
	say "$r" "wallet-$r" '{"text":"what is your wallet address?","userId":"v","roomId":"tee"}' >/dev/null
	grep -o '0x[0-9a-fA-F]\{40\}' "$tmp/b" | head -n 1 >"$tmp/wallet-$r" || true
done
check "both replicas derive the same wallet" \
	"$([ -s "$tmp/wallet-ta" ] && cmp -s "$tmp/wallet-ta" "$tmp/wallet-tb" && echo 0 || echo 1)" \
	"$(cat "$tmp/wallet-ta" "$tmp/wallet-tb" 2>/dev/null)"
curl -s "$(url ta "/agents/$agent/instances")" >"$tmp/instances.json"
got=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(i["instanceId"] for i in d["instances"])), all(i["attestations"] >= 1 and len(i["bootId"]) == 36 for i in d["instances"]))' "$tmp/instances.json" 2>&1)
check "GET /agents/:id/instances lists both replicas' boots" "$([ "$got" = "replica-ta replica-tb True" ] && echo 0 || echo 1)" \
	"$got $(head -c 400 "$tmp/instances.json")"
link=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"][1]["lastAttestation"])' "$tmp/instances.json" 2>/dev/null || true)
code=$(curl -s -o "$tmp/q" -w '%{http_code}' "$(url ta "$link")")
check "each listed quote can be fetched from any replica, with its instance" \
	"$([ "$code" = 200 ] && grep -q '"instanceId":"replica-tb"' "$tmp/q" && echo 0 || echo 1)" "HTTP $code $link"
if [ -z "${POSTGRES_URL:-}" ]; then
	schema=$(python3 -c 'import sqlite3,sys; print(" ".join(r[0] or "" for r in sqlite3.connect(sys.argv[1]).execute("SELECT sql FROM sqlite_master")))' "$tee_db")
	check "no wallet, key or salt is stored in the database" \
		"$(grep -Eiq 'wallet|private|secret|salt|seed' <<<"$schema" && echo 1 || echo 0)" "schema mentions one"
fi

# ---- TEE: replies answered at the same moment by both replicas form one receipt chain ----
# (docs/VERIFIABILITY.md, "Replicas"): every reply carries its receipt, and the agent's chain, walked
# from its head on the receipt route, is 1..N with each prev the hash of the one before, which
# `teeliza verify-reply --chain` accepts under a bundle's verified key.
burst=24 burst_pids=()
for i in $(seq "$burst"); do
	r=$([ $((i % 2)) = 0 ] && echo ta || echo tb)
	curl -s -D "$tmp/burst-$i.h" -o "$tmp/burst-$i.b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		--data "{\"text\":\"together $i\",\"userId\":\"chain-$i\",\"roomId\":\"chain\"}" \
		"$(url "$r" "/$agent/message")" >"$tmp/burst-$i.code" &
	burst_pids+=($!)
done
wait "${burst_pids[@]}" || true
rids=() missing=""
for i in $(seq "$burst"); do
	rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]\{64\}\)\r*$/\1/Ip' "$tmp/burst-$i.h")
	if [ "$(cat "$tmp/burst-$i.code")" = 200 ] && [ -n "$rid" ]; then rids+=("$rid"); else missing="$missing $i"; fi
done
check "every reply answered by two replicas at once carries X-Teeliza-Receipt" "$([ -z "$missing" ] && echo 0 || echo 1)" \
	"none on replies$missing; $(grep -h 'no receipt for this reply' "$tmp/ta.log" "$tmp/tb.log" | head -n 2)"
grep -q 'no receipt for this reply' "$tmp/ta.log" "$tmp/tb.log" && fail "a TEE replica logged a reply without a receipt" ||
	pass "no TEE replica logged a reply without a receipt"
walked=$(python3 - "$(url ta "/agents/$agent/receipts")" "$tmp/chain.json" "${rids[@]}" <<'PY' 2>&1
import hashlib, json, sys, urllib.request
base, out, rids = sys.argv[1], sys.argv[2], sys.argv[3:]
get = lambda rid: json.load(urllib.request.urlopen(f"{base}/{rid}", timeout=30))
got = {rid: get(rid) for rid in rids}
rid = max(got, key=lambda r: got[r]["seq"])
chain, bad = [], []
while True:
    r = got.get(rid) or get(rid)
    if hashlib.sha256(r["receipt"].encode()).hexdigest() != rid: bad.append(f"id {r['seq']}")
    chain.append(r)
    prev = json.loads(r["receipt"])["prev"]
    if r["seq"] == 1:
        if prev != "0" * 64: bad.append("prev of seq 1")
        break
    rid = prev
chain.reverse()
bad += [f"seq {r['seq']} at {i}" for i, r in enumerate(chain, 1) if r["seq"] != i]
ids = {r["id"] for r in chain}
bad += [f"reply receipt {x[:12]} not in the chain" for x in rids if x not in ids]
json.dump(chain, open(out, "w"))
print(len(chain), " ".join(bad) or "ok", chain[-1]["id"])
PY
)
check "the receipt chain walked from its head is 1..N, every reply's receipt in it" \
	"$([ "${walked#* }" != "$walked" ] && [ "$(cut -d' ' -f2 <<<"$walked")" = ok ] && [ "${walked%% *}" -ge "$burst" ] &&
		echo 0 || echo 1)" "$walked"
head_id=$(cut -d' ' -f3 <<<"$walked")
"$TEELIZA" sim-root >"$tmp/root.pem"
"$TEELIZA" sim-root --collateral >"$tmp/coll.json"
curl -sf "$(url tb "/agents/$agent/receipts/$head_id?bundle=1")" >"$tmp/head-bundle.json" || true
rc=0
"$TEELIZA" verify-reply --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" "$tmp/head-bundle.json" \
	--chain "$tmp/chain.json" >"$tmp/vr.out" 2>"$tmp/vr.err" || rc=$?
check "teeliza verify-reply --chain accepts the whole chain both replicas wrote" "$rc" \
	"exit $rc: $(head -c 400 "$tmp/vr.out") $(head -c 400 "$tmp/vr.err")"

echo "$passed passed, $fails failed"
e2e_finish "replicas"
