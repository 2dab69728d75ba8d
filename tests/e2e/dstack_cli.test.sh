#!/usr/bin/env bash
# The dstack subcommands end to end against `teeliza simulator`, over TCP and
# its dstack unix socket: get-key (spec §1.9's table byte for byte), get-quote,
# attest, emit-event (seen in the next quote's event log), get-tls-key, sign,
# verify-sig, tee-version, info and quote on the dstack API; the API choice
# (TEE_API, TEE_MODE, the endpoint variables) and its log lines; bad input with
# dstack's words; verify-key: success, every broken link, the app id from a
# quote's event log, and the §1.9 vectors up to the root 0321529e….
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
: "${TEELIZA_VECTORS:?path of tests/vectors}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup dstack
# A command whose output a check needs and that fails stops the test (set -e): say where.
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

table="$TEELIZA_VECTORS/dstack-getkey-table.json"
# The vector table as shell variables, read once (python3 starts slowly on a loaded machine):
# tv NAME or tv rows I FIELD prints a value.
eval "$(python3 -c 'import json,shlex,sys; d=json.load(open(sys.argv[1]))
for k in ("app_id", "app_public_key", "kms_root", "kms_signature"): print("tv_%s=%s" % (k, shlex.quote(d[k])))
for i, r in enumerate(d["rows"]):
	for k, v in r.items(): print("tv_rows_%d_%s=%s" % (i, k, shlex.quote(v)))' "$table")"
tv() { local IFS=_ n; n="tv_$*"; printf '%s\n' "${!n}"; }
# A field of the JSON on stdin: jf signature_chain 0 is .signature_chain[0] (objects as JSON text).
jf() {
	local p="" k
	for k in "$@"; do
		case $k in [0-9]*) p="$p[$k]" ;; *) p="$p[\"$k\"]" ;; esac
	done
	jq -r ".$p"
}
# Flip the byte at index $2 of hex $1 (xor 0x01).
flip() { python3 -c 'import sys; b=bytearray.fromhex(sys.argv[1]); b[int(sys.argv[2])]^=1; print(b.hex())' "$1" "$2"; }

root=$(tv kms_root)
app_id=$(tv app_id)
[ "${root:0:8}" = 0321529e ] || { echo "cannot read $table" >&2; exit 1; }

# ---- a simulator with dstack's public simulator keys, on TCP and a dstack socket ----
dsock="$tmp/dstack.sock"
tsock="$tmp/tappd.sock"
e2e_simulator sim --state-dir "$tmp/state" --dev-key --dstack-socket "$dsock" --tappd-socket "$tsock"
for _ in $(seq 1 100); do [ -S "$dsock" ] && break; sleep 0.1; done
[ -S "$dsock" ] || { echo "FAIL: no $dsock" >&2; exit 1; }
url="http://127.0.0.1:$sim_port"
echo "simulator on $url and $dsock"
unset TEE_MODE TEE_API DSTACK_SIMULATOR_ENDPOINT TAPPD_SIMULATOR_ENDPOINT || true

# ---- every method, over TCP (DSTACK_SIMULATOR_ENDPOINT) and the unix socket (--endpoint) ----
for via in tcp unix; do
	if [ $via = tcp ]; then
		run() { env TEE_MODE=LOCAL DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" "$@"; }
	else
		run() { cmd=$1; shift; "$TEELIZA" "$cmd" --endpoint "$dsock" "$@"; }
	fi
	for i in 0 1 2 3; do
		out=$(run get-key "$(tv rows $i path)" --purpose "$(tv rows $i purpose)" --algorithm "$(tv rows $i algorithm)" -q)
		check_eq "$via: get-key row $i key (§1.9)" "$(jf key <<<"$out")" "$(tv rows $i key)"
		check_eq "$via: get-key row $i chain[0] (§1.9)" "$(jf signature_chain 0 <<<"$out")" "$(tv rows $i chain0)"
		check_eq "$via: get-key row $i chain[1]" "$(jf signature_chain 1 <<<"$out")" "$(tv kms_signature)"
	done
	check_has "$via: get-key --json is indented" "$(run get-key a --json -q)" '  "key": "'
	check_eq "$via: tee-version" "$(run tee-version -q | jf version)" "0.5.11"

	out=$(run get-quote hello -q)
	check_eq "$via: get-quote report data is DATA, zero-padded at the end" "$(jf report_data <<<"$out")" \
		"68656c6c6f$(printf '0%.0s' $(seq 1 118))"
	q=$(jf quote <<<"$out")
	check_eq "$via: get-quote: the quote's report data is the same" "${q:1136:128}" "$(jf report_data <<<"$out")"
	check_eq "$via: get-quote --hex" "$(run get-quote 0x68656c6c6f --hex -q | jf report_data)" "$(jf report_data <<<"$out")"
	check_eq "$via: attest: a V0 blob" "$(run attest hello -q | jf attestation | cut -c1-2)" "00"

	check_rc "$via: emit-event" 0 run emit-event "e2e-$via" cafe --hex -q
	check_has "$via: emit-event shows in the next quote's event log" "$(run get-quote x -q | jf event_log)" "\"e2e-$via\""

	out=$(run sign "to sign" -q)
	sig=$(jf signature <<<"$out")
	pub=$(jf public_key <<<"$out")
	check_eq "$via: sign: signature_chain[0] is the signature" "$(jf signature_chain 0 <<<"$out")" "$sig"
	check_rc "$via: verify-sig accepts it" 0 run verify-sig "to sign" --signature "$sig" --public-key "$pub" -q
	check_eq "$via: verify-sig prints the agent's answer" "$(cat "$tmp/out")" '{"valid":true}'
	check_rc "$via: verify-sig refuses other data" 2 run verify-sig "to sign!" --signature "$sig" --public-key "$pub" -q
	check_eq "$via: verify-sig says so" "$(cat "$tmp/out")" '{"valid":false}'
	out=$(run sign "to sign" --algorithm ed25519 -q)
	check_rc "$via: ed25519 sign/verify" 0 run verify-sig "to sign" --algorithm ed25519 \
		--signature "$(jf signature <<<"$out")" --public-key "$(jf public_key <<<"$out")" -q

	out=$(run get-tls-key --subject e2e.example --alt-name e2e.example --ra-tls -q)
	check_has "$via: get-tls-key key" "$(jf key <<<"$out")" "-----BEGIN PRIVATE KEY-----"
	check_has "$via: get-tls-key chain" "$(jf certificate_chain 0 <<<"$out")" "-----BEGIN CERTIFICATE-----"
done

# ---- info and quote speak both APIs ----
out=$(TEE_API=dstack DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" info --json -q)
check_eq "info on dstack: app id" "$(jf app_id <<<"$out")" "$app_id"
check_has "info on dstack: tcb_info decoded" "$(jf tcb_info <<<"$out")" '"mr_aggregated"'
check_has "info on dstack: dstack's fields" "$out" '"vm_config"'
check_rc "info on dstack over the socket" 0 env TEE_API=dstack "$TEELIZA" info --endpoint "$dsock" -q
check_has "info on dstack over the socket: the reply" "$(cat "$tmp/out")" '"app_id":'
out=$(DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" info --json -q)
check_lacks "info without TEE_API is still tappd's" "$out" '"vm_config"'
check_has "info without TEE_API: tappd's fields" "$out" '"mr_key_provider"'
check_has "info on tappd: tcb_info decoded" "$(jf tcb_info <<<"$out")" '"rtmr0"'
"$TEELIZA" quote hello --endpoint "$dsock" -q >/dev/null 2>&1 && fail "quote on a dstack socket without TEE_API" ||
	ok "quote without TEE_API speaks tappd, which a dstack socket does not serve"
out=$(TEE_API=dstack "$TEELIZA" quote hello --endpoint "$dsock" -q)
q=$(sed -n 's/^quote: 0x//p' <<<"$out")
check_eq "quote on dstack: report data = SHA-512(app-data:DATA), as on tappd" "${q:1136:128}" \
	"$(printf 'app-data:hello' | sha512sum | cut -d' ' -f1)"
check_eq "quote on dstack: rtmr3 is the quote's" "$(sed -n 's/^rtmr3: //p' <<<"$out")" "${q:$((2 * (48 + 328 + 48 * 3))):96}"
out=$(TEE_API=dstack DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" quote abc --hash raw --json -q)
check_has "quote --hash raw on dstack: DATA as is, padded at the end" "$(jf quote <<<"$out")" \
	"616263$(printf '0%.0s' $(seq 1 122))"

# ---- the choice of API and endpoint, and its log lines ----
check_rc "get-key: TEE_MODE unset is LOCAL" 0 env DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" get-key a
check_has "get-key: says so" "$(cat "$tmp/err")" "TEE_MODE is not set; taken as LOCAL"
check_has "get-key: the SDK's line" "$(cat "$tmp/err")" "Using simulator endpoint: $url"
check_has "get-key: names the dstack API" "$(cat "$tmp/err")" "(dstack API"
check_rc "TEE_API=tappd refuses a dstack method" 78 env TEE_API=tappd DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" get-key a
check_has "TEE_API=tappd: why" "$(cat "$tmp/err")" "get-key is a method of the dstack API, but TEE_API=tappd"
check_rc "bad TEE_API" 78 env TEE_API=Dstack DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" info
check_has "bad TEE_API: the message" "$(cat "$tmp/err")" "Invalid TEE_API: Dstack. Must be one of: dstack, tappd"
check_rc "bad TEE_MODE" 78 env TEE_MODE=OFF "$TEELIZA" get-key a
check_rc "PRODUCTION with DSTACK_SIMULATOR_ENDPOINT" 0 env TEE_MODE=PRODUCTION DSTACK_SIMULATOR_ENDPOINT="$dsock" \
	TEE_API=dstack "$TEELIZA" tee-version
check_has "PRODUCTION with an endpoint variable warns" "$(cat "$tmp/err")" "TEE: WARNING: TEE_MODE=PRODUCTION, but DSTACK_SIMULATOR_ENDPOINT"
check_rc "TAPPD_SIMULATOR_ENDPOINT leads tappd's info" 0 env TEE_MODE=LOCAL TAPPD_SIMULATOR_ENDPOINT="$url" \
	DSTACK_SIMULATOR_ENDPOINT="http://127.0.0.1:1" "$TEELIZA" info
check_has "TAPPD_SIMULATOR_ENDPOINT: the SDK's line" "$(cat "$tmp/err")" "Using tappd endpoint: $url"
check_rc "TEE_API=dstack info goes to DSTACK_SIMULATOR_ENDPOINT" 0 env TEE_MODE=LOCAL TEE_API=dstack \
	TAPPD_SIMULATOR_ENDPOINT="http://127.0.0.1:1" DSTACK_SIMULATOR_ENDPOINT="$url" "$TEELIZA" info
check_has "TEE_API=dstack info: the line" "$(cat "$tmp/err")" "(dstack API, TEE_API=dstack;"
check_rc "a tappd socket is not dstack" 69 "$TEELIZA" get-key a --endpoint "$tsock" -q
check_has "a tappd socket is not dstack: said" "$(cat "$tmp/err")" "does not serve the dstack 0.5 API"
check_rc "a missing socket" 69 "$TEELIZA" get-key a --endpoint "$tmp/nope.sock" -q
check_has "a missing socket: the SDK's words" "$(cat "$tmp/err")" "Unix socket file $tmp/nope.sock does not exist"

# ---- bad input: clear errors, dstack's words where the SDK shows them ----
ep=(--endpoint "$dsock" -q)
check_rc "unknown algorithm" 3 "$TEELIZA" get-key a --algorithm rsa "${ep[@]}"
check_has "unknown algorithm: the agent's words" "$(cat "$tmp/err")" 'Unsupported algorithm: "rsa"'
check_rc "report data over 64 bytes" 3 "$TEELIZA" get-quote "$(printf 'a%.0s' $(seq 1 65))" "${ep[@]}"
check_eq "report data over 64 bytes: the SDK's words" "$(cat "$tmp/err")" \
	"teeliza get-quote: Report data is too large, it should be less than 64 bytes."
check_rc "64 bytes are fine" 0 "$TEELIZA" get-quote "$(printf 'a%.0s' $(seq 1 64))" "${ep[@]}"
check_rc "attest over 64 bytes" 3 "$TEELIZA" attest "$(printf 'a%.0s' $(seq 1 65))" "${ep[@]}"
check_rc "bad hex" 3 "$TEELIZA" get-quote 0xzz --hex "${ep[@]}"
check_rc "empty event name" 3 "$TEELIZA" emit-event "" x "${ep[@]}"
check_has "empty event name: the SDK's words" "$(cat "$tmp/err")" "Event name cannot be empty"
check_rc "prehashed data not 32 bytes" 3 "$TEELIZA" sign abc --algorithm secp256k1_prehashed "${ep[@]}"
check_has "prehashed: the SDK's words" "$(cat "$tmp/err")" "Pre-hashed signing requires a 32-byte digest, but received 3 bytes"
check_rc "sign: unknown algorithm" 3 "$TEELIZA" sign abc --algorithm p256 "${ep[@]}"
check_rc "verify-sig without a signature" 64 "$TEELIZA" verify-sig abc --public-key 00 "${ep[@]}"
check_rc "verify-sig: malformed key (the agent's 400)" 69 "$TEELIZA" verify-sig abc --signature "$sig" --public-key 0011 "${ep[@]}"
check_rc "get-key without PATH" 64 "$TEELIZA" get-key "${ep[@]}"
check_rc "get-tls-key: bad --not-after" 64 "$TEELIZA" get-tls-key --not-after soon "${ep[@]}"

# ---- verify-key: the §1.9 table to the root 0321529e… ----
for i in 0 1 2 3; do
	printf '{"key":"%s","signature_chain":["%s","%s"]}' "$(tv rows $i key)" "$(tv rows $i chain0)" \
		"$(tv kms_signature)" >"$tmp/row$i.json"
	check_rc "verify-key §1.9 row $i" 0 "$TEELIZA" verify-key "$tmp/row$i.json" --purpose "$(tv rows $i purpose)" \
		--algorithm "$(tv rows $i algorithm)" --app-id "$app_id" --kms-root "$root"
	check_has "verify-key §1.9 row $i: the app key" "$(cat "$tmp/out")" "$(tv app_public_key)"
	check_rc "verify-key §1.9 row $i from flags, public key only" 0 "$TEELIZA" verify-key \
		--public-key "$(tv rows $i public_key)" --chain "$(tv rows $i chain0)" --chain "$(tv kms_signature)" \
		--purpose "$(tv rows $i purpose)" --algorithm "$(tv rows $i algorithm)" --app-id "$app_id" --kms-root "$root"
done

# ---- verify-key on what get-key prints: success, and each broken link ----
TEELIZA_KEY() { "$TEELIZA" get-key wallet/eth --purpose signing "${ep[@]}"; }
TEELIZA_KEY >"$tmp/k.json"
key=$(jf key <"$tmp/k.json")
c0=$(jf signature_chain 0 <"$tmp/k.json")
c1=$(jf signature_chain 1 <"$tmp/k.json")
vk() { "$TEELIZA" verify-key "$@"; }
good=(--purpose signing --app-id "$app_id" --kms-root "$root")
check_rc "verify-key: get-key's output verifies" 0 vk "$tmp/k.json" "${good[@]}"
check_has "verify-key: verified" "$(cat "$tmp/out")" "verified: the key chains to the pinned KMS root"
check_rc "verify-key: from stdin, --json" 0 vk - "${good[@]}" --json <"$tmp/k.json"
check_eq "verify-key --json: verified" "$(jf verified <"$tmp/out")" "true"
check_eq "verify-key --json: kms_root" "$(jf kms_root <"$tmp/out")" "$root"
check_rc "verify-key: the simulator's root from sim-root --kms-root" 0 vk "$tmp/k.json" --purpose signing \
	--app-id "$app_id" --kms-root "$("$TEELIZA" sim-root --kms-root --dev-key --state-dir "$tmp/state")"

# each broken link is named (stderr "teeliza verify-key: <link>: …"; --json broken_link)
broken() { # what want-exit want-link args...
	local what=$1 want=$2 link=$3
	shift 3
	check_rc "verify-key: $what" "$want" vk "$@" --json
	check_eq "verify-key: $what: the link" "$(jf broken_link <"$tmp/out")" "$link"
	check_has "verify-key: $what: stderr names it" "$(cat "$tmp/err")" "teeliza verify-key: $link: "
}
broken "chain[0] r flipped" 2 kms-root --key "$key" --chain "$(flip "$c0" 0)" --chain "$c1" "${good[@]}"
broken "chain[0] recid flipped" 2 kms-root --key "$key" --chain "$(flip "$c0" 64)" --chain "$c1" "${good[@]}"
c0_27=$(python3 -c 'import sys; b=bytearray.fromhex(sys.argv[1]); b[64]=27; print(b.hex())' "$c0")
broken "chain[0] in the Ethereum form (recid 27)" 2 app-signature --key "$key" --chain "$c0_27" --chain "$c1" "${good[@]}"
broken "chain[1] s flipped" 2 kms-root --key "$key" --chain "$c0" --chain "$(flip "$c1" 40)" "${good[@]}"
broken "chain[1] r flipped (no point has that x)" 2 kms-signature --key "$key" --chain "$c0" --chain "$(flip "$c1" 5)" "${good[@]}"
broken "chain[1] empty (no KMS)" 2 kms-signature --key "$key" --chain "$c0" --chain "" "${good[@]}"
broken "wrong purpose" 2 kms-root "$tmp/k.json" --purpose signing2 --app-id "$app_id" --kms-root "$root"
broken "wrong kms root" 2 kms-root "$tmp/k.json" --purpose signing --app-id "$app_id" --kms-root "$(tv app_public_key)"
broken "a kms root that is not a key" 3 input "$tmp/k.json" --purpose signing --app-id "$app_id" --kms-root "$(flip "$root" 10)"
broken "wrong app id" 2 kms-root "$tmp/k.json" --purpose signing --app-id "$(flip "$app_id" 0)" --kms-root "$root"
broken "key and public key disagree" 2 key "$tmp/k.json" --public-key "$(tv rows 0 public_key)" "${good[@]}"
broken "a short chain entry" 3 input --key "$key" --chain "${c0:2}" --chain "$c1" "${good[@]}"
check_rc "verify-key: no root pinned" 1 vk "$tmp/k.json" --purpose signing --app-id "$app_id"
check_has "verify-key: no root pinned: the recovered root is shown" "$(cat "$tmp/out")" "$root"

# the app id from a quote's event log (the app-id event before system-ready)
"$TEELIZA" get-quote bind "${ep[@]}" >"$tmp/q.json"
check_rc "verify-key: app id from the quote's event log" 0 vk "$tmp/k.json" --purpose signing --kms-root "$root" \
	--quote "$tmp/q.json"
check_has "verify-key: the log is bound to the quote" "$(cat "$tmp/out")" "the app-id event of a log bound to the quote's RTMR3"
broken "--app-id against the attested one" 2 app-id "$tmp/k.json" --purpose signing --kms-root "$root" \
	--quote "$tmp/q.json" --app-id "$(flip "$app_id" 19)"
jf event_log <"$tmp/q.json" >"$tmp/log.json"
jf quote <"$tmp/q.json" >"$tmp/q.hex"
check_rc "verify-key: --quote as hex with --event-log" 0 vk "$tmp/k.json" --purpose signing --kms-root "$root" \
	--quote "$tmp/q.hex" --event-log "$tmp/log.json"
"$TEELIZA" emit-event late x "${ep[@]}"
"$TEELIZA" get-quote late "${ep[@]}" >"$tmp/q2.json"
broken "a log that is not the quote's" 2 event-log "$tmp/k.json" --purpose signing --kms-root "$root" \
	--quote "$tmp/q2.json" --event-log "$tmp/log.json"
check_rc "verify-key: no GetKey result" 64 vk --kms-root "$root"
check_rc "verify-key: not JSON" 3 vk /dev/null --kms-root "$root"
check_rc "verify-key: a missing file" 74 vk "$tmp/nope.json" --kms-root "$root"
check_rc "verify-key: --purpose against the file's" 3 vk - --purpose b --kms-root "$root" \
	<<<'{"key":"'"$key"'","signature_chain":["'"$c0"'","'"$c1"'"],"purpose":"a"}'

# ---- a simulator with its own KMS root (no --dev-key): sim-root --kms-root pins it ----
e2e_simulator own --state-dir "$tmp/own"
own_root=$("$TEELIZA" sim-root --kms-root --state-dir "$tmp/own")
check_rc "own root: get-key" 0 "$TEELIZA" get-key p --purpose q --endpoint "http://127.0.0.1:$sim_port" -q
cp "$tmp/out" "$tmp/own.json"
own_app=$(TEE_API=dstack "$TEELIZA" info --endpoint "http://127.0.0.1:$sim_port" -q | jf app_id)
check_rc "own root: verify-key to sim-root --kms-root" 0 vk "$tmp/own.json" --purpose q --app-id "$own_app" \
	--kms-root "$own_root"
broken "own root: not dstack's simulator root" 2 kms-root "$tmp/own.json" --purpose q --app-id "$own_app" --kms-root "$root"

e2e_finish "dstack CLI"
