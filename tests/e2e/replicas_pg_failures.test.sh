#!/usr/bin/env bash
# Three rows of the scale-out failure table (docs/DEPLOY.md, "Scale-out"; docs/POSTGRES.md), through
# real `teeliza start` processes on a private PostgreSQL 15 (tests/lib/pg.sh) with the deterministic
# stub model (replicas_driver.py stub):
#   1. four replicas started at the same moment on an empty database: all four get ready and answer;
#      each migration is recorded once, Eliza's tables exist once, no replica logged an error;
#   2. a schema newer than the binary: `teeliza start` refuses with a clear message and a non-zero
#      exit, and the database (schema and rows, pg_dump) is byte for byte what it was;
#   3. pool exhaustion: one replica with TEELIZA_PG_POOL_SIZE=1 and a slow model under 48 concurrent
#      messages while psql holds an ACCESS EXCLUSIVE lock on memories longer than the pool's wait:
#      every answer is 200 or 503 with Retry-After (never a 500, a hang or a reset), the process stays
#      up (/healthz 200), /readyz comes back to 200 once the lock is gone, the 503'd keyed messages
#      retried with their keys are answered, no memory is stored twice, and no sample of
#      pg_stat_activity taken during the load shows more than 1 connection of the replica.
# Outcomes only, never durations: every wait is generous. Skipped (77) without PostgreSQL's server
# binaries, a failure in CI. Prints "N passed, N failed".
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/pg.sh
. "$(dirname "$0")/../lib/pg.sh"
pg_require
e2e_setup pgfail
pg_start
here=$(cd "$(dirname "$0")" && pwd)
latest=$(sed -n 's/^#define PG_SCHEMA_LATEST \([0-9][0-9]*\).*/\1/p' "$here/../../src/lib/agent/store/store_pg_internal.h")

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	TEELIZA_OFFLINE SERVER_PORT EXPRESS_MAX_PAYLOAD TEELIZA_INSTANCE_ID TEELIZA_REQUEST_LEASE API_RATE_LIMIT \
	DATABASE_URL PGSSLMODE TEELIZA_PG_POOL_SIZE
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim"
cd "$tmp"

passed=0
ok() { # e2e.sh's, counted (check_rc, check_has and check_lacks call it)
	echo "ok: $*"
	passed=$((passed + 1))
}
pass() { ok "$@"; }
check() { # what cond-exit-status(0 = pass) detail
	if [ "$2" = 0 ]; then pass "$1"; else fail "$1: $3"; fi
}
check_same() { # what got want
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
psql_db() { # database sql
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d "$1" -c "$2"
}
code_of() { # url: the HTTP status ("000" when no answer)
	curl --noproxy '*' -s -m 30 -o /dev/null -w '%{http_code}' "$1" || true
}
wait_code() { # want url: 0 once url answers want (120 s at most)
	for _ in $(seq 1 240); do
		[ "$(code_of "$2")" = "$1" ] && return 0
		sleep 0.5
	done
	return 1
}

# ---- the stub model (slow, so that requests pile up in part 3) ----
python3 "$here/replicas_driver.py" stub --delay-ms 300 >"$tmp/stub.out" 2>"$tmp/stub.err" &
stub_pid=$!
stub_port=$(e2e_wait_line "$tmp/stub.out" 's/^port \([0-9]*\)$/\1/p' "$stub_pid") || {
	cat "$tmp/stub.err" >&2
	echo "FAIL: the stub model did not start" >&2
	exit 1
}
export OPENAI_API_KEY=stub-key OPENAI_API_URL="http://127.0.0.1:$stub_port/v1"

declare -A pid port
gate=""
# start_replica NAME [ENV=VALUE...]: `teeliza start` in the background, its log in $tmp/NAME.log; with
# $gate set (a FIFO), only once the gate opens (open_gate), at the same moment as the others behind it
start_replica() {
	local name=$1
	shift
	(
		if [ -n "$gate" ]; then read -r _ <"$gate" || true; fi
		exec env TEELIZA_INSTANCE_ID="replica-$name" "$@" "$TEELIZA" start --non-interactive
	) >"$tmp/$name.out" 2>"$tmp/$name.log" &
	pid[$name]=$!
}
# every reader of the FIFO blocks until its last writer closes it: hold it open while they queue up
open_gate() {
	exec 9<>"$gate"
	sleep 1
	exec 9>&-
	gate=""
}
# the replica's port once its REST API is bound, waiting generously; "" when it never is
replica_port() { # name
	local got=""
	for _ in $(seq 1 6); do # e2e_wait_line waits 10 s; a migration behind three others may take longer
		got=$(e2e_wait_line "$tmp/$1.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "${pid[$1]}") && break
		kill -0 "${pid[$1]}" 2>/dev/null || break
	done
	echo "$got"
}
post() { # name key body: HTTP status; headers in $tmp/h, body in $tmp/b
	curl --noproxy '*' -s -m 60 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		${2:+-H "Idempotency-Key: $2"} --data "$3" "http://127.0.0.1:${port[$1]}/Teeliza/message" || true
}

# ==== 1. four replicas at the same moment on an empty database ====
PGAPPNAME=teeliza-test-locker "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE four" >/dev/null
four_url="postgresql://postgres@127.0.0.1:$PG_PORT/four"
gate="$tmp/gate"
mkfifo "$gate"
for r in r1 r2 r3 r4; do start_replica "$r" POSTGRES_URL="$four_url"; done
open_gate
for r in r1 r2 r3 r4; do
	port[$r]=$(replica_port "$r")
	if [ -n "${port[$r]}" ] && wait_code 200 "http://127.0.0.1:${port[$r]}/readyz"; then
		pass "replica $r started with the others on the empty database and is ready (/readyz 200)"
	else
		fail "replica $r did not get ready: $(tail -n 5 "$tmp/$r.log")"
		port[$r]=0
	fi
done
for r in r1 r2 r3 r4; do
	n=${r#r}
	code=$(post "$r" "four-$n" "{\"text\":\"m-$n\",\"userId\":\"u$n\",\"roomId\":\"four\"}")
	check "replica $r answers a message" "$([ "$code" = 200 ] && grep -q '"user":"Teeliza"' "$tmp/b" && echo 0 || echo 1)" \
		"HTTP $code $(head -c 300 "$tmp/b")"
done
check_same "each migration recorded exactly once (1..$latest)" \
	"$(psql_db four "SELECT string_agg(version::text || 'x' || n::text, ',' ORDER BY version)
		FROM (SELECT version, count(*) AS n FROM teeliza_schema_migrations GROUP BY version) v")" \
	"$(seq -s, -f '%gx1' 1 "$latest")"
eliza_tables="accounts cache goals knowledge logs memories participants relationships rooms"
check_same "each of Eliza's tables exists once" \
	"$(psql_db four "SELECT string_agg(relname || '=' || n::text, ' ' ORDER BY relname) FROM (
		SELECT c.relname, count(*) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		WHERE c.relkind = 'r' AND s.nspname NOT IN ('pg_catalog', 'information_schema')
		AND c.relname = ANY (string_to_array('${eliza_tables// /,}', ',')) GROUP BY c.relname) t")" \
	"$(for t in $eliza_tables; do printf '%s=1 ' "$t"; done | sed 's/ $//')"
check_same "the four user messages and four replies are in one shared room, once each" \
	"$(psql_db four "SELECT count(*) FILTER (WHERE \"userId\" <> \"agentId\") || '+' ||
		count(*) FILTER (WHERE \"userId\" = \"agentId\") FROM memories")" "4+4"
errs=$(grep -iHE 'error|fail|duplicate|unique|cannot|refus' "$tmp"/r[1-4].log || true)
check "no replica logged a migration (or any other) error" "$([ -z "$errs" ] && echo 0 || echo 1)" "$errs"
for r in r1 r2 r3 r4; do
	kill "${pid[$r]}" 2>/dev/null || true
	wait "${pid[$r]}" 2>/dev/null || true
done

# ==== 2. a schema newer than the binary ====
psql_db four "INSERT INTO teeliza_schema_migrations (version, name, profile) VALUES ($((latest + 1)), 'future', 'portable')"
# schema and rows; newer pg_dump brackets its output in \restrict KEY ... \unrestrict KEY with a random key
dump() {
	"$PG_BIN/pg_dump" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d four --no-owner | sed '/^\\\(un\)\{0,1\}restrict /d' >"$1"
}
dump "$tmp/before.sql"
check_rc "teeliza start on a schema newer than the binary exits non-zero" 3 \
	env TEELIZA_INSTANCE_ID=replica-new POSTGRES_URL="$four_url" "$TEELIZA" start --non-interactive
check_has "... saying why" "$(cat "$tmp/err")" \
	"the PostgreSQL schema is at version $((latest + 1)), newer than this teeliza understands ($latest)"
check_lacks "... before it serves anything" "$(cat "$tmp/err")" "REST API bound"
dump "$tmp/after.sql"
check "... and changes nothing (pg_dump of schema and rows the same before and after)" \
	"$(cmp -s "$tmp/before.sql" "$tmp/after.sql" && grep -q 'teeliza_schema_migrations' "$tmp/before.sql" && echo 0 || echo 1)" \
	"$(diff "$tmp/before.sql" "$tmp/after.sql" | head -n 20)"
check_same "... and leaves no connection behind" \
	"$(psql_db four "SELECT count(*) FROM pg_stat_activity WHERE datname = 'four' AND pid <> pg_backend_pid()")" 0

# ==== 3. pool exhaustion: pool of 1, slow model, memories locked past the pool's wait ====
# The lock holds the replica's one connection in a store call on memories, so every other store call
# waits for the pool past its wait (PG_POOL_WAIT_MS) and gets TEELIZA_ERR_TIMEOUT. The lock is let go
# as soon as the replica logs the first such timeout: the requests failing at that moment then find
# the database answering again, the moment a busy database was once mistaken for a failed model
# (500). lock_s is only the upper bound, should that line never come.
pool_wait_s=$(($(sed -n 's/^#define PG_POOL_WAIT_MS \([0-9][0-9]*\).*/\1/p' "$here/../../src/lib/agent/store/store_pg_internal.h") / 1000))
lock_s=$((pool_wait_s * 4 + 30))
start_replica pool TEELIZA_PG_POOL_SIZE=1
port[pool]=$(replica_port pool)
if [ -z "${port[pool]}" ] || ! wait_code 200 "http://127.0.0.1:${port[pool]}/readyz"; then
	cat "$tmp/pool.log" >&2
	echo "FAIL: the pool-of-1 replica did not start" >&2
	exit 1
fi
code=$(post pool warm '{"text":"m-0","userId":"u0","roomId":"pool-0"}')
check "the pool-of-1 replica answers before the load" "$([ "$code" = 200 ] && echo 0 || echo 1)" "HTTP $code"

# samples of the replica's connections, until the load is over
: >"$tmp/conns"
(
	while [ ! -e "$tmp/load.done" ]; do
		pg_psql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'teeliza-replica-pool'" \
			>>"$tmp/conns" 2>/dev/null || true
		sleep 0.3
	done
) &
sampler=$!
# the lock, held from psql (its own connection, not the replica's)
PGAPPNAME=teeliza-test-locker "$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U postgres -d teeliza_test -v ON_ERROR_STOP=1 \
	-c "BEGIN; LOCK TABLE memories IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($lock_s); COMMIT;" \
	>"$tmp/lock.out" 2>&1 &
locker=$!
for _ in $(seq 1 100); do
	[ "$(pg_psql "SELECT count(*) FROM pg_locks WHERE relation = 'memories'::regclass
		AND mode = 'AccessExclusiveLock' AND granted")" = 1 ] && break
	sleep 0.2
done
# 48 clients at once: half keyed (retried afterwards with their key), half without a key
python3 - "${port[pool]}" 48 >"$tmp/load.json" 2>"$tmp/load.err" <<'EOF' &
import http.client, json, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
out, lock = [], threading.Lock()
def one(i):
    key = "pool-%d" % i if i % 2 else None
    body = json.dumps({"text": "m-%d" % (100 + i), "userId": "u%d" % (i % 8), "roomId": "pool-%d" % (i % 4)})
    hdr = {"Content-Type": "application/json"}
    if key:
        hdr["Idempotency-Key"] = key
    rec = {"i": i, "key": key, "body": body}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        c.request("POST", "/Teeliza/message", body=body, headers=hdr)
        r = c.getresponse()
        rec.update(status=r.status, retry_after=r.getheader("Retry-After"), text=r.read().decode()[:300])
        c.close()
    except Exception as e:  # a reset, a hang past the timeout: reported, never hidden
        rec.update(status=0, error=repr(e))
    with lock:
        out.append(rec)
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps(sorted(out, key=lambda r: r["i"])))
EOF
load=$!
for _ in $(seq 1 $((lock_s * 2))); do
	grep -q 'stayed busy' "$tmp/pool.log" && break
	sleep 0.5
done
check "the replica's pool of 1 ran dry (it logged a pool wait timeout)" \
	"$(grep -q 'stayed busy' "$tmp/pool.log" && echo 0 || echo 1)" "$(tail -n 5 "$tmp/pool.log")"
pg_psql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'teeliza-test-locker'" >/dev/null
wait "$locker" || true
wait "$load" || true
touch "$tmp/load.done"
wait "$sampler" || true

summary=$(python3 -c '
import json, sys
recs = json.load(open(sys.argv[1]))
bad = [r for r in recs if not (r["status"] == 200 or (r["status"] == 503 and r.get("retry_after")))]
print(len(recs), sum(r["status"] == 200 for r in recs), sum(r["status"] == 503 and bool(r.get("retry_after")) for r in recs), len(bad))
for r in bad[:5]: print("  bad:", json.dumps(r), file=sys.stderr)
' "$tmp/load.json" 2>"$tmp/bad.txt" || echo "0 0 0 parse-error")
read -r total n200 n503 nbad <<<"$summary"
echo "load: $total requests, $n200 answered 200, $n503 answered 503 with Retry-After, $nbad otherwise"
check "every one of the 48 concurrent messages is answered 200, or 503 with Retry-After" \
	"$([ "$total" = 48 ] && [ "$nbad" = 0 ] && echo 0 || echo 1)" "$summary $(cat "$tmp/bad.txt" "$tmp/load.err")"
check "the store was really exhausted (some 503s)" "$([ "${n503:-0}" -gt 0 ] && echo 0 || echo 1)" "$summary"
check "the replica is alive after the load" "$(kill -0 "${pid[pool]}" 2>/dev/null && echo 0 || echo 1)" \
	"$(tail -n 5 "$tmp/pool.log")"
check_same "/healthz is 200" "$(code_of "http://127.0.0.1:${port[pool]}/healthz")" 200
check "/readyz is 200 again once the lock is gone" \
	"$(wait_code 200 "http://127.0.0.1:${port[pool]}/readyz" && echo 0 || echo 1)" "$(tail -n 5 "$tmp/pool.log")"
# the keyed messages that got 503, again with their keys, until answered
python3 - "${port[pool]}" "$tmp/load.json" >"$tmp/retry.out" 2>&1 <<'EOF' || true
import http.client, json, sys, time
port = int(sys.argv[1])
left = [r for r in json.load(open(sys.argv[2])) if r["key"] and r["status"] != 200]
ok = 0
for r in left:
    for _ in range(60):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request("POST", "/Teeliza/message", body=r["body"],
                  headers={"Content-Type": "application/json", "Idempotency-Key": r["key"]})
        resp = c.getresponse()
        resp.read()
        c.close()
        if resp.status == 200:
            ok += 1
            break
        time.sleep(float(resp.getheader("Retry-After") or 1))
print("retried %d, answered %d" % (len(left), ok))
EOF
check "every 503'd keyed message retried with its key is answered" \
	"$(grep -qE '^retried ([0-9]+), answered \1$' "$tmp/retry.out" && echo 0 || echo 1)" "$(cat "$tmp/retry.out")"
check_same "no message stored twice" \
	"$(pg_psql "SELECT count(*) FROM (SELECT content->>'text' FROM memories WHERE \"userId\" <> \"agentId\"
		GROUP BY 1 HAVING count(*) > 1) d")" 0
answered=$(python3 -c '
import json, sys
recs = json.load(open(sys.argv[1]))
print(1 + sum(1 for r in recs if r["key"] or r["status"] == 200))' "$tmp/load.json")
check_same "each answered message has its one user row and one reply (warm-up, keyed, unkeyed 200s)" \
	"$(pg_psql "SELECT count(*) FILTER (WHERE \"userId\" <> \"agentId\") || '+' ||
		count(*) FILTER (WHERE \"userId\" = \"agentId\") FROM memories")" "$answered+$answered"
check_same "every keyed request is done" \
	"$(pg_psql "SELECT count(*) FROM teeliza_requests WHERE state <> 'done'")" 0
max_conns=$(sort -n "$tmp/conns" | tail -n 1)
check "never more than 1 connection of the replica in pg_stat_activity ($(wc -l <"$tmp/conns") samples, max ${max_conns:-none})" \
	"$([ -s "$tmp/conns" ] && [ "${max_conns:-9}" -le 1 ] && echo 0 || echo 1)" "$(sort -n "$tmp/conns" | uniq -c)"

echo "$passed passed, $fails failed"
e2e_finish "PostgreSQL failure table"
