#!/usr/bin/env bash
# Interop with elizaOS 1.x's own client (issue 13): the real
# @elizaos/api-client 1.7.2 from npm, driven by v1_api_client.mjs against
# `teeliza start --simulator` (offline model, TEE plugin on, API_TOKEN as
# X-API-KEY): list agents, create one from a character, start it, update
# it, open a session, chat (http and websocket transports), the wallet
# answer (identical to the 0.1.x route's), a receipt on a v1 reply,
# messages, channels, memories, logs, errors, then delete the session, stop
# and delete the agent; every answer checked against the client's types.
# The 0.1.x routes of the same process answer as before.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}" "${TEELIZA_BUILD:?}" "${TEELIZA_VECTORS:?}"

here="$TEELIZA_SRC/tests/interop"
mods="$TEELIZA_BUILD/interop-v1-api-client" # its own: npm prunes what it was not asked for
mkdir -p "$mods"
cp "$here/v1_api_client.mjs" "$mods/"
# shellcheck source=../lib/npm_install.sh
. "$TEELIZA_SRC/tests/lib/npm_install.sh"
command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
# elizaOS 1.7.2's client, pinned (it brings @elizaos/core 1.7.2, whose types it names)
npm_install_pinned "$mods" @elizaos/api-client@1.7.2

# The character the client creates an agent from: a real elizaOS 1.7.2 file
character="$TEELIZA_VECTORS/v1/characters/mr-tee-1.7.2.character.json"

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup v1-api-client
unset OPENAI_API_KEY REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL ANTHROPIC_API_KEY \
	DSTACK_SIMULATOR_ENDPOINT TEE_KEY_SCHEME TEELIZA_PUBLIC_URL SQLITE_FILE TEE_API PCCS_URL TEE_KMS_ROOT \
	RECEIPT_SIGNATURE
export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEELIZA_SIM_STATE="$tmp/sim" TEE_MODE=LOCAL \
	WALLET_SECRET_SALT=interop-v1 API_TOKEN=v1-interop-token
cd "$tmp"
"$TEELIZA" start --simulator --non-interactive >"$tmp/a.out" 2>"$tmp/a.log" &
agent_pid=$!
api=$(e2e_wait_line "$tmp/a.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent_pid") ||
	fail "agent did not start: $(cat "$tmp/a.log")"
operator_id=$(e2e_wait_line "$tmp/a.log" 's/^Agent Teeliza (\([0-9a-f-]*\)) started.*/\1/p' "$agent_pid") ||
	fail "no started line: $(cat "$tmp/a.log")"

if node "$mods/v1_api_client.mjs" "http://127.0.0.1:$api" "$API_TOKEN" "$character" "$operator_id" >"$tmp/js.out" 2>&1; then
	cat "$tmp/js.out"
	ok "the real @elizaos/api-client 1.7.2: $(grep -c '^ok: ' "$tmp/js.out") checks"
else
	cat "$tmp/js.out" >&2
	echo "--- agent log (last 30 lines) ---" >&2
	tail -n 30 "$tmp/a.log" | cut -c1-300 >&2
	fail "@elizaos/api-client: $(grep '^FAIL' "$tmp/js.out" | head -n 1)"
fi

# 0.1.x beside it, unchanged: its list, its token, its message route
out=$(curl -s -H "Authorization: Bearer $API_TOKEN" "http://127.0.0.1:$api/agents")
check_eq "0.1.x GET /agents: the operator's agent only, its own shape" \
	"$(jq -c '[.agents[] | {id, name, clients}]' <<<"$out")" "[{\"id\":\"$operator_id\",\"name\":\"Teeliza\",\"clients\":[]}]"
check_eq "0.1.x routes do not take X-API-KEY" \
	"$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-KEY: $API_TOKEN" "http://127.0.0.1:$api/agents")" 401
out=$(curl -s -H "Authorization: Bearer $API_TOKEN" -H 'Content-Type: application/json' -d '{"text":"hello"}' \
	"http://127.0.0.1:$api/Teeliza/message")
check_eq "0.1.x POST /:agentId/message: a reply array" "$(jq -r 'type' <<<"$out")" array
kill -TERM "$agent_pid"
wait "$agent_pid" || true
e2e_finish "v1 api-client interop"
