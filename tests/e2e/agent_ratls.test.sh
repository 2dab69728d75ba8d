#!/usr/bin/env bash
# `teeliza start --tls` on the simulator's dstack API: the REST API serves
# HTTPS (not HTTP) on its port with GetTlsKey's RA-TLS certificate; the
# agent's statements name that key (tlsKey); `teeliza verify --ra-tls`
# checks the certificate <-> quote binding and then the quote, and a copy of
# the certificate re-signed with another key (the same extensions) is
# refused, naming the binding. TEE_API=tappd with --tls is refused.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"
# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup agent-ratls
unset DSTACK_SIMULATOR_ENDPOINT TAPPD_SIMULATOR_ENDPOINT TEE_API TEE_KEY_SCHEME API_TOKEN OPENAI_API_KEY \
	REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL SQLITE_FILE TEELIZA_PUBLIC_URL \
	RECEIPT_SIGNATURE PCCS_URL

e2e_simulator sim --state-dir "$tmp/sim" --dstack-socket "$tmp/dstack.sock"
for _ in $(seq 1 100); do [ -S "$tmp/dstack.sock" ] && break; sleep 0.1; done
"$TEELIZA" sim-root --state-dir "$tmp/sim" >"$tmp/root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/sim" --collateral >"$tmp/coll.json"

export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEE_MODE=LOCAL TEE_API=dstack DSTACK_SIMULATOR_ENDPOINT="$tmp/dstack.sock" \
	WALLET_SECRET_SALT="ratls-e2e-salt-$$"
cd "$tmp"

# TEE_API=tappd: refused before anything listens.
check_rc "--tls with TEE_API=tappd is refused" 78 env TEE_API=tappd "$TEELIZA" start --tls --non-interactive
check_has "and says why" "$(cat "$tmp/err")" "tappd does not have"

"$TEELIZA" start --tls --non-interactive >"$tmp/agent.out" 2>"$tmp/agent.log" &
agent=$!
e2e_wait_line "$tmp/agent.log" '/started; model/p' "$agent" >/dev/null ||
	{ cat "$tmp/agent.log" >&2; echo "FAIL: the agent did not start" >&2; exit 1; }
port=$(sed -n 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/agent.log" | head -n 1)
tls_key=$(sed -n 's/^HTTPS (RA-TLS):.*SubjectPublicKeyInfo) \([0-9a-f]*\)$/\1/p' "$tmp/agent.log")
check_eq "the TLS key is logged" "${#tls_key}" 64
check_has "links are https" "$(cat "$tmp/agent.log")" "Dashboard: https://localhost:$port/dashboard"

# HTTPS replaces HTTP on the port.
check_eq "GET /healthz over HTTPS" "$(curl -sk "https://127.0.0.1:$port/healthz" | jq -r .status)" ok
# The agent image's HEALTHCHECK, as deploy/Dockerfile writes it, passes against an agent serving HTTPS.
mapfile -d '' agent_health < <(python3 "$TEELIZA_SRC/tests/e2e/deploy_check.py" argv "$TEELIZA_SRC/deploy/Dockerfile" \
	agent health)
check_rc "the image's HEALTHCHECK passes with start --tls" 0 env "PATH=$(dirname "$TEELIZA"):/usr/bin:/bin" \
	"SERVER_PORT=$port" "${agent_health[@]}"
check_rc "healthcheck over https checks the certificate by default" 1 "$TEELIZA" healthcheck -q \
	"https://127.0.0.1:$port/healthz"
check_rc "healthcheck --insecure over https" 0 "$TEELIZA" healthcheck -q --insecure "https://127.0.0.1:$port/healthz"
check_rc "healthcheck --insecure is for loopback only" 64 "$TEELIZA" healthcheck -q --insecure \
	"https://example.com:$port/healthz"
check_rc "... not a name that starts like one" 64 "$TEELIZA" healthcheck -q --insecure \
	"https://127.0.0.1.example.com:$port/healthz"
check_rc "... nor user info before a loopback address" 64 "$TEELIZA" healthcheck -q --insecure \
	"https://127.0.0.1@example.com:$port/healthz"
agents=$(curl -sk "https://127.0.0.1:$port/agents") || fail "GET /agents over HTTPS"
agent_uuid=$(jq -r '.agents[0].id' <<<"$agents")
check_eq "REST over HTTPS: /agents" "$(jq -r '.agents[0].name' <<<"$agents")" Teeliza
reply=$(curl -sk -D "$tmp/rh" -H 'Content-Type: application/json' -d '{"text":"hello"}' \
	"https://127.0.0.1:$port/Teeliza/message") || fail "POST message over HTTPS"
check_eq "POST /Teeliza/message over HTTPS" "$(jq -r '.[0].text | length > 0' <<<"$reply")" true
if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then fail "plain HTTP is still served on the port"; else
	ok "plain HTTP is not served on the port"; fi

# The statements name the TLS key.
rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/rh")
rec=$(curl -sk "https://127.0.0.1:$port/agents/$agent_uuid/receipts/$rid") || fail "GET receipt"
sq=$(curl -sk "https://127.0.0.1:$port/agents/$agent_uuid/attestations/$(jq -r .statementQuoteId <<<"$rec")") ||
	fail "GET the reply-key statement's quote"
check_eq "the reply-key statement names the TLS key" "$(jq -r '.reportData | fromjson | .tlsKey' <<<"$sq")" "$tls_key"
fresh=$(curl -sk "https://127.0.0.1:$port/agents/$agent_uuid/attestation?nonce=000102030405060708090a0b0c0d0e0f") ||
	fail "GET fresh attestation"
check_eq "the fresh attestation's statement names the TLS key" "$(jq -r '.statement | fromjson | .tlsKey' <<<"$fresh")" \
	"$tls_key"

# verify --ra-tls: binding, then the quote with the certificate's event log and app id.
check_rc "verify --ra-tls" 0 "$TEELIZA" verify --ra-tls "127.0.0.1:$port" --trust-root "$tmp/root.pem" \
	--collateral "$tmp/coll.json"
out=$(cat "$tmp/out")
check_has "verify --ra-tls: the TLS key" "$out" "TLS key            $tls_key"
check_has "verify --ra-tls: the binding" "$out" 'binding            ok'
check_has "verify --ra-tls: trusted under the simulator root" "$out" "Verdict: TRUSTED"
check_has "verify --ra-tls: the app identity from the certificate's log" "$out" "(replayed, equals the quote's)"
check_rc "verify --ra-tls --json" 0 "$TEELIZA" verify --ra-tls "127.0.0.1:$port" --trust-root "$tmp/root.pem" \
	--collateral "$tmp/coll.json" --json
check_eq "verify --json: raTls.tlsKey" "$(jq -r .raTls.tlsKey "$tmp/out")" "$tls_key"
check_rc "verify --ra-tls without the simulator root fails" 2 "$TEELIZA" verify --ra-tls "127.0.0.1:$port" \
	--collateral "$tmp/coll.json"
check_rc "verify --ra-tls with another app id fails" 2 "$TEELIZA" verify --ra-tls "127.0.0.1:$port" \
	--trust-root "$tmp/root.pem" --collateral "$tmp/coll.json" --expect-app-id 0000000000000000000000000000000000000000

# --cert: the same certificate from a file; a copy re-signed with another key is refused on the binding.
openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null | openssl x509 >"$tmp/leaf.pem"
check_rc "verify --cert (PEM)" 0 "$TEELIZA" verify --cert "$tmp/leaf.pem" --trust-root "$tmp/root.pem" \
	--collateral "$tmp/coll.json"
openssl x509 -in "$tmp/leaf.pem" -outform der -out "$tmp/leaf.der"
check_rc "verify --cert (DER)" 0 "$TEELIZA" verify --cert "$tmp/leaf.der" --trust-root "$tmp/root.pem" \
	--collateral "$tmp/coll.json"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/other.key"
openssl x509 -in "$tmp/leaf.pem" -signkey "$tmp/other.key" -out "$tmp/swapped.pem" 2>/dev/null
check_has "the re-signed copy keeps the quote extension" "$(openssl x509 -in "$tmp/swapped.pem" -noout -text)" \
	"1.3.6.1.4.1.62397.1.1"
check_rc "a certificate with a swapped key is refused" 2 "$TEELIZA" verify --cert "$tmp/swapped.pem" \
	--trust-root "$tmp/root.pem" --collateral "$tmp/coll.json"
check_has "naming the binding" "$(cat "$tmp/err")" "RA-TLS binding"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/plain.key" -subj /CN=plain \
	-out "$tmp/plain.pem" 2>/dev/null
check_rc "a certificate without the quote extension is refused" 2 "$TEELIZA" verify --cert "$tmp/plain.pem" \
	--trust-root "$tmp/root.pem" --collateral "$tmp/coll.json"
check_has "naming the extension" "$(cat "$tmp/err")" "no RA-TLS quote extension (1.3.6.1.4.1.62397.1.1)"
check_rc "--ra-tls and a QUOTE are not both taken" 64 "$TEELIZA" verify --ra-tls "127.0.0.1:$port" "$tmp/leaf.pem" \
	--collateral "$tmp/coll.json"
check_rc "a plain HTTP port gives no handshake" 69 "$TEELIZA" verify --ra-tls "127.0.0.1:$sim_port" \
	--collateral "$tmp/coll.json"

kill -TERM "$agent"
wait "$agent" || true
e2e_finish "RA-TLS"
