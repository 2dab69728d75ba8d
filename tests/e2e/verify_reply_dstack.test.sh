#!/usr/bin/env bash
# `teeliza verify-reply` on dstack (docs/VERIFIABILITY.md, "Reply bundles"):
# the simulator serves dstack's socket, the agent signs receipts with a
# GetKey reply key (and EIP-191), its bundles carry the key's signature
# chain, and `verify-reply --kms-root` walks it to the simulator's KMS root;
# a wrong root, one byte of the chain or of the EIP-191 signature, and the
# EIP-191 address in the statement are each rejected naming their link.
# Runs in a private mount namespace, as agent_dstack.test.sh does.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"

if [ -z "${VR_DSTACK_IN_NS:-}" ]; then
	for how in "-m" "-rm"; do
		if unshare $how --propagation private true 2>/dev/null; then
			VR_DSTACK_IN_NS=1 exec unshare $how --propagation private bash "$0" "$@"
		fi
	done
	echo "SKIP: cannot make a private mount namespace (unshare -m needs root, unshare -rm user namespaces)"
	exit 77
fi
mount -t tmpfs -o mode=0755 tmpfs "$(readlink -f /var/run)" ||
	{ echo "FAIL: cannot mount a tmpfs on /var/run in the private namespace" >&2; exit 1; }
[ ! -e /var/run/dstack.sock ] || { echo "FAIL: /var/run is not private" >&2; exit 1; }

# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup vr-dstack
command -v jq >/dev/null || { echo "SKIP: jq not installed"; exit 77; }
unset DSTACK_SIMULATOR_ENDPOINT TAPPD_SIMULATOR_ENDPOINT TEE_API TEE_KEY_SCHEME API_TOKEN OPENAI_API_KEY \
	REDPILL_API_KEY OLLAMA_SERVER_URL LOCAL_MODEL_URL LMSTUDIO_SERVER_URL SQLITE_FILE TEELIZA_PUBLIC_URL \
	PCCS_URL TEE_KMS_ROOT

"$TEELIZA" simulator --port 0 --state-dir "$tmp/sim" --dstack-socket /var/run/dstack.sock \
	>"$tmp/sim.out" 2>"$tmp/sim.err" &
sim=$!
e2e_wait_line "$tmp/sim.out" 's/^port \([0-9]*\)$/\1/p' "$sim" >/dev/null || { cat "$tmp/sim.err" >&2; exit 1; }
for _ in $(seq 1 100); do [ -S /var/run/dstack.sock ] && break; sleep 0.1; done
root=$(sed -n 's/^teeliza simulator: KMS root (k256) \([0-9a-f]*\)$/\1/p' "$tmp/sim.err")
[ -n "$root" ] || { cat "$tmp/sim.err" >&2; echo "FAIL: the simulator printed no KMS root" >&2; exit 1; }

export SERVER_HOST=127.0.0.1 SERVER_PORT=0 TEE_MODE=PRODUCTION WALLET_SECRET_SALT="vr-dstack-$$" \
	RECEIPT_SIGNATURE=eip191
cd "$tmp"
"$TEELIZA" start --non-interactive >"$tmp/a.out" 2>"$tmp/a.log" &
agent=$!
port=$(e2e_wait_line "$tmp/a.log" 's/^REST API bound to 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$agent") ||
	{ cat "$tmp/a.log" >&2; echo "FAIL: the agent did not start" >&2; exit 1; }
e2e_wait_line "$tmp/a.log" '/started; model/p' "$agent" >/dev/null || { cat "$tmp/a.log" >&2; exit 1; }
agent_id=$(sed -n 's/^Agent Teeliza (\([0-9a-f-]*\)) started.*/\1/p' "$tmp/a.log")
curl -s -D "$tmp/h" -o "$tmp/b" -H 'Content-Type: application/json' -d '{"text":"hello"}' \
	"http://127.0.0.1:$port/Teeliza/message"
rid=$(sed -n 's/^X-Teeliza-Receipt: \([0-9a-f]*\)\r*$/\1/Ip' "$tmp/h")
curl -sf "http://127.0.0.1:$port/agents/$agent_id/receipts/$rid?bundle=1" >"$tmp/b.json" || fail "GET bundle"
kill -TERM "$agent" "$sim"
wait "$agent" || true
wait "$sim" || true
check_eq "a dstack bundle carries GetKey's chain" "$(jq -r '.keyProvenance.api, (.keyProvenance.signatureChain | length)' \
	"$tmp/b.json" | tr '\n' ' ')" "dstack 2 "
check_eq "and the EIP-191 signature" "$(jq -r '.eip191 | length' "$tmp/b.json")" 130

"$TEELIZA" sim-root --state-dir "$tmp/sim" >"$tmp/root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/sim" --collateral >"$tmp/coll.json"
vr() { "$TEELIZA" verify-reply --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" "$@"; }
check_rc "the reply verifies up to the KMS root" 0 vr "$tmp/b.json" --kms-root "$root"
vr --json "$tmp/b.json" --kms-root "$root" >"$tmp/ok.json" || true
check_eq "--json: the chain reached the pinned root" \
	"$(jq -r '.keyProvenance.verified, .keyProvenance.kmsRoot, .eip191' "$tmp/ok.json" | tr '\n' ' ')" "true $root true "
check_rc "TEE_KMS_ROOT pins it too" 0 env TEE_KMS_ROOT="$root" "$TEELIZA" verify-reply \
	--collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" "$tmp/b.json"
check_rc "without a root the chain is shown, the reply verifies" 0 vr "$tmp/b.json"

expect() { # link rc options...
	local link=$1 rc=$2 got out
	shift 2
	set +e
	out=$(vr --json "$@" 2>&1)
	got=$?
	set -e
	[ "$got" -eq "$rc" ] || fail "$link: exit $got, want $rc: $out"
	[ "$(jq -r .link <<<"$out")" = "$link" ] || fail "$link: named $(jq -r '.link + ": " + .message' <<<"$out")"
	ok "tampered $link: rejected naming it ($(jq -r .message <<<"$out" | cut -c1-90))"
}
other=$(printf '%s' "$root" | sed 's/^\(.\{10\}\)./\1f/')
[ "$other" != "$root" ] || other=$(printf '%s' "$root" | sed 's/^\(.\{10\}\)./\1e/')
expect "key provenance" 2 "$tmp/b.json" --kms-root "$other"
jq '.keyProvenance.signatureChain[1] |= (.[:20] + (if .[20:21] == "0" then "1" else "0" end) + .[21:])' \
	"$tmp/b.json" >"$tmp/t.json"
expect "key provenance" 2 "$tmp/t.json" --kms-root "$root"
jq '.eip191 |= (.[:20] + (if .[20:21] == "0" then "1" else "0" end) + .[21:])' "$tmp/b.json" >"$tmp/t.json"
expect "EIP-191 signature" 2 "$tmp/t.json" --kms-root "$root"
jq '.statement |= sub("\"eip191Address\":\"0x."; "\"eip191Address\":\"0x0")' "$tmp/b.json" >"$tmp/t0.json"
jq '.statement |= sub("\"eip191Address\":\"0x."; "\"eip191Address\":\"0x1")' "$tmp/b.json" >"$tmp/t1.json"
if [ "$(jq -r .statement "$tmp/t0.json")" = "$(jq -r .statement "$tmp/b.json")" ]; then cp "$tmp/t1.json" "$tmp/t.json"; else cp "$tmp/t0.json" "$tmp/t.json"; fi
expect "EIP-191 signature" 2 "$tmp/t.json" --kms-root "$root"
e2e_finish "verify-reply on dstack"
