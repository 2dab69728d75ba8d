#!/usr/bin/env bash
# `teeliza start` on PostgreSQL (docs/POSTGRES.md), against a private server
# from tests/lib/pg.sh: two replicas started at the same moment on one empty
# database (the schema is applied once), a message to each, one shared
# conversation in Eliza's tables; two round trips a message (a model that reads its prompt,
# receipts on); and the refusals at start: a remote host
# without sslmode, a DATABASE_URL that is not PostgreSQL's, a schema newer
# than the binary (left unchanged). Skipped (77) without PostgreSQL's server
# binaries, a failure in CI.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/pg.sh
. "$(dirname "$0")/../lib/pg.sh"
pg_require
e2e_setup postgres
pg_start

unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL API_TOKEN \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_MODE WALLET_SECRET_SALT \
	DATABASE_URL PGSSLMODE TEELIZA_PG_POOL_SIZE
export SERVER_HOST=127.0.0.1 TEELIZA_OFFLINE=1
cd "$tmp"

# ---- two replicas, one database ----
TEELIZA_INSTANCE_ID=replica-a "$TEELIZA" start --non-interactive --port 0 >"$tmp/a.out" 2>"$tmp/a.log" &
pid_a=$!
TEELIZA_INSTANCE_ID=replica-b "$TEELIZA" start --non-interactive --port 0 >"$tmp/b.out" 2>"$tmp/b.log" &
pid_b=$!
port_a=$(e2e_wait_line "$tmp/a.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$pid_a") || true
port_b=$(e2e_wait_line "$tmp/b.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$pid_b") || true
id_a=$(e2e_agent_id "$tmp/a.log" "$pid_a") || true
e2e_agent_id "$tmp/b.log" "$pid_b" >/dev/null || true
if [ -z "$port_a" ] || [ -z "$port_b" ]; then
	cat "$tmp/a.log" "$tmp/b.log" >&2
	fail "both replicas start on one empty database"
	e2e_finish "PostgreSQL agent"
fi
ok "both replicas start on one empty database"
check_has "the log names PostgreSQL, not the URL" "$(cat "$tmp/a.log")" "PostgreSQL: 127.0.0.1:$PG_PORT/teeliza_test"
check_has "the Database line names the back-end" "$(cat "$tmp/a.log")" "Database: postgres"
check_eq "the schema was applied once" \
	"$(pg_psql "SELECT string_agg(version::text, ',' ORDER BY version) FROM teeliza_schema_migrations")" "1,2,3"

post() { # port text
	curl --noproxy '*' -s -m 30 -X POST "http://127.0.0.1:$1/Teeliza/message" \
		-H 'Content-Type: application/json' -d "{\"text\":\"$2\",\"userId\":\"bob\"}"
}
reply_a=$(post "$port_a" "hello there")
reply_b=$(post "$port_b" "I feel sad")
check_has "replica A answers" "$reply_a" '"user":"Teeliza"'
check_has "replica B answers" "$reply_b" '"user":"Teeliza"'
check_eq "four memories, alternating user and agent" \
	"$(pg_psql "SELECT string_agg(CASE WHEN \"userId\" = \"agentId\" THEN 'agent' ELSE 'user' END, ',' ORDER BY \"createdAt\")
		FROM memories WHERE \"agentId\" = '$id_a'")" "user,agent,user,agent"
check_eq "the user's messages are the ones sent, A's first" \
	"$(pg_psql "SELECT string_agg(content->>'text', ',' ORDER BY \"createdAt\") FROM memories
		WHERE \"agentId\" = '$id_a' AND \"userId\" <> \"agentId\"")" "hello there,I feel sad"
check_eq "the room has its user and its agent once each" "$(pg_psql "SELECT count(*) FROM participants")" 2
check_eq "each replica is named in pg_stat_activity" \
	"$(pg_psql "SELECT string_agg(DISTINCT application_name, ',') FROM pg_stat_activity
		WHERE application_name LIKE 'teeliza-replica-%'")" "teeliza-replica-a,teeliza-replica-b"
e2e_stop_jobs

# ---- a message costs two round trips (docs/POSTGRES.md, "Round trips") ----
# With a model that reads its prompt (the deterministic stub of replicas_driver.py, which answers
# with a hash of the last "m-<n>" in the prompt) and receipts on (--simulator): the message's write
# and the prompt's read go as one pipeline, the reply and its receipt as another. The stub's answer
# shows the prompt held the message just written. teeliza_db_round_trips_total counts waits for the
# server; the readiness ping and the character check add at most one each per second, whatever the
# load, so the bound allows for them (a slower run only loosens it).
python3 "$(dirname "$0")/replicas_driver.py" stub >"$tmp/stub.out" 2>"$tmp/stub.err" &
stub_pid=$!
stub_port=$(e2e_wait_line "$tmp/stub.out" 's/^port \([0-9]*\)$/\1/p' "$stub_pid") || true
env -u TEELIZA_OFFLINE OPENAI_API_KEY=stub-key OPENAI_API_URL="http://127.0.0.1:$stub_port/v1" \
	WALLET_SECRET_SALT=round-trips TEELIZA_SIM_STATE="$tmp/sim" TEELIZA_INSTANCE_ID=replica-c \
	"$TEELIZA" start --simulator --non-interactive --port 0 >"$tmp/c.out" 2>"$tmp/c.log" &
pid_c=$!
port_c=$(e2e_wait_line "$tmp/c.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$pid_c") || true
if [ -z "$stub_port" ] || [ -z "$port_c" ] || ! e2e_agent_id "$tmp/c.log" "$pid_c" >/dev/null; then
	cat "$tmp/stub.err" "$tmp/c.log" >&2
	fail "a replica with a model and receipts starts"
else
	round_trips() {
		curl --noproxy '*' -s -m 10 "http://127.0.0.1:$port_c/metrics" | sed -n 's/^teeliza_db_round_trips_total //p'
	}
	say() { # text: the reply body; headers in $tmp/h
		curl --noproxy '*' -s -m 30 -D "$tmp/h" -X POST "http://127.0.0.1:$port_c/Teeliza/message" \
			-H 'Content-Type: application/json' -d "{\"text\":\"$1\",\"userId\":\"carol\",\"roomId\":\"rt-room\"}"
	}
	say m-0 >/dev/null # the conversation exists from here on
	n=40 echoed=0 receipts=0
	before=$(round_trips)
	t0=$(date +%s%N)
	for i in $(seq 1 $n); do
		out=$(say "m-$i")
		want="echo:$(printf 'm-%s' "$i" | sha256sum | cut -c1-8)"
		[[ "$out" == *"$want"* ]] && echoed=$((echoed + 1))
		grep -qi '^X-Teeliza-Receipt: [0-9a-f]' "$tmp/h" && receipts=$((receipts + 1))
	done
	after=$(round_trips)
	t1=$(date +%s%N)
	spent=$((after - before))
	secs=$(((t1 - t0) / 1000000000 + 1)) # whole seconds, rounded up
	# each periodic check runs at most once a second, plus once at each end of the window
	allowed=$((2 * n + 2 * (secs + 2)))
	echo "round trips: $spent for $n messages in under $secs s (at most $allowed: 2 a message + periodic checks)"
	check_eq "every prompt held the message just written (the read sees the write)" "$echoed" "$n"
	check_eq "every reply carries a receipt" "$receipts" "$n"
	if [ -n "$spent" ] && [ "$spent" -ge "$((2 * n))" ] && [ "$spent" -le "$allowed" ]; then
		ok "two round trips a message on PostgreSQL ($spent for $n)"
	else
		fail "two round trips a message on PostgreSQL: $spent for $n messages, allowed $((2 * n))..$allowed"
	fi
fi
e2e_stop_jobs

# ---- refusals at start ----
check_rc "a remote host without sslmode is refused" 78 env POSTGRES_URL='postgresql://u:pw@db.example.com/x' \
	"$TEELIZA" start --non-interactive --port 0
check_has "... saying why" "$(cat "$tmp/err")" "without an explicit sslmode"
check_lacks "... without the password" "$(cat "$tmp/err")" "pw@"
check_rc "a DATABASE_URL that is not PostgreSQL's is refused" 78 env -u POSTGRES_URL DATABASE_URL='mysql://u@db/x' \
	"$TEELIZA" start --non-interactive --port 0
check_has "... saying why" "$(cat "$tmp/err")" "DATABASE_URL"
pg_psql "INSERT INTO teeliza_schema_migrations (version, name, profile) VALUES (999, 'future', 'portable')"
check_rc "a schema newer than the binary is refused" 3 "$TEELIZA" start --non-interactive --port 0
check_has "... saying so" "$(cat "$tmp/err")" "newer than this teeliza understands"
check_eq "... and left as it was" \
	"$(pg_psql "SELECT string_agg(version::text, ',' ORDER BY version) FROM teeliza_schema_migrations")" "1,2,3,999"

e2e_finish "PostgreSQL agent"
