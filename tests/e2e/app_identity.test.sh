#!/usr/bin/env bash
# App identity end to end: `teeliza compose-hash` of an app-compose.json, a
# simulator started with it (--compose), its GetQuote answer checked by
# `teeliza verify --event-log` against --expect-compose-hash, --expect-app-id,
# --expect-os-image-hash and --expect-key-provider; each wrong value, a
# tampered event, an identity event emitted after system-ready, and a log
# that is not the quote's rejected, naming the link, with verify's exit codes.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"
# shellcheck source=../lib/e2e.sh
. "$TEELIZA_SRC/tests/lib/e2e.sh"
e2e_setup app-identity

cat >"$tmp/app-compose.json" <<'JSON'
{
  "manifest_version": 2,
  "name": "teeliza",
  "runner": "docker-compose",
  "docker_compose_file": "services:\n  teeliza:\n    image: teeliza:latest\n",
  "kms_enabled": true,
  "public_logs": false
}
JSON

# compose-hash: the SDK's text, its hash, and the note about a file that is not that text
check_rc "compose-hash of a pretty file" 0 "$TEELIZA" compose-hash "$tmp/app-compose.json"
hash=$(cat "$tmp/out")
check_has "a note gives the raw hash" "$(cat "$tmp/err")" "is not byte for byte the SDK's JSON; deployed as it is, the OS would measure $(sha256sum "$tmp/app-compose.json" | cut -d' ' -f1)"
"$TEELIZA" compose-hash --canonical "$tmp/app-compose.json" >"$tmp/canonical.json" 2>/dev/null
printf '%s' "$(cat "$tmp/canonical.json")" >"$tmp/app-compose.canonical.json"
check_eq "--canonical" "$(cat "$tmp/app-compose.canonical.json")" \
	'{"docker_compose_file":"services:\n  teeliza:\n    image: teeliza:latest\n","kms_enabled":true,"manifest_version":2,"name":"teeliza","public_logs":false,"runner":"docker-compose"}'
check_eq "sha256 of the canonical text" "$(sha256sum "$tmp/app-compose.canonical.json" | cut -d' ' -f1)" "$hash"
check_rc "compose-hash --raw of the canonical text" 0 "$TEELIZA" compose-hash --raw "$tmp/app-compose.canonical.json"
check_eq "--raw" "$(cat "$tmp/out")" "$hash"
check_eq "no note for the canonical text" "$(cat "$tmp/err")" ""
check_eq "stdin" "$("$TEELIZA" compose-hash - <"$tmp/app-compose.canonical.json")" "$hash"
echo '[1]' >"$tmp/array.json"
check_rc "an array is refused" 3 "$TEELIZA" compose-hash "$tmp/array.json"
check_has "why" "$(cat "$tmp/err")" "app-compose is not a JSON object"
check_rc "a missing file" 74 "$TEELIZA" compose-hash "$tmp/nope.json"
check_rc "two files" 64 "$TEELIZA" compose-hash "$tmp/array.json" "$tmp/array.json"
check_rc "--raw with --normalize" 64 "$TEELIZA" compose-hash --raw --normalize "$tmp/array.json"

# a simulator running that compose file; the OS measures the file's bytes
e2e_simulator sim --state-dir "$tmp/state" --compose "$tmp/app-compose.canonical.json"
base="http://127.0.0.1:$sim_port"
"$TEELIZA" sim-root --state-dir "$tmp/state" >"$tmp/root.pem"
"$TEELIZA" sim-root --state-dir "$tmp/state" --collateral >"$tmp/coll.json"
getquote() { # file
	curl -sf -X POST -H 'Content-Type: application/json' -d '{"report_data":"00"}' "$base/GetQuote" >"$1"
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["quote"])' "$1" >"$1.quote"
}
getquote "$tmp/gq.json"
verify() { # answer-file args...
	local f=$1
	shift
	"$TEELIZA" verify "$f.quote" --collateral "$tmp/coll.json" --trust-root "$tmp/root.pem" --event-log "$f" "$@"
}

check_rc "verify --event-log, no expectation" 0 verify "$tmp/gq.json" --json
ident() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))["appIdentity"]; print(eval(sys.argv[2]))' "$tmp/out" "$1"; }
check_eq "the compose hash the quote carries" "$(ident 'd["composeHash"]')" "$hash"
check_eq "app id = the compose hash's first 20 bytes" "$(ident 'd["appId"]')" "${hash:0:40}"
os=$(ident 'd["osImageHash"]')
kms=$(ident 'd["keyProvider"]["id"]')
kp_text=$(ident 'd["keyProvider"]["text"]')
check_eq "key provider" "$(ident 'd["keyProvider"]["name"]')" kms

all=(--expect-compose-hash "$hash" --expect-app-id "${hash:0:40}" --expect-os-image-hash "$os" --expect-key-provider "$kms")
check_rc "every expectation met" 0 verify "$tmp/gq.json" "${all[@]}"
check_has "text output" "$(cat "$tmp/out")" "  compose-hash       $hash"
check_rc "the key provider's whole payload" 0 verify "$tmp/gq.json" --expect-key-provider "$kp_text"

zero64=0000000000000000000000000000000000000000000000000000000000000000
check_rc "wrong compose hash" 2 verify "$tmp/gq.json" --expect-compose-hash "$zero64"
check_has "names compose-hash" "$(cat "$tmp/out")" "app identity: compose-hash is $hash, expected $zero64"
check_has "failure app_identity" "$(cat "$tmp/out")" "failure            app_identity"
check_rc "wrong app id" 2 verify "$tmp/gq.json" --expect-app-id "${zero64:0:40}"
check_has "names app-id" "$(cat "$tmp/out")" "app identity: app-id is ${hash:0:40}"
check_rc "wrong OS image hash" 2 verify "$tmp/gq.json" --expect-os-image-hash "$zero64"
check_has "names os-image-hash" "$(cat "$tmp/out")" "app identity: os-image-hash is $os"
check_rc "wrong key provider" 2 verify "$tmp/gq.json" --expect-key-provider 0x00
check_has "names key-provider" "$(cat "$tmp/out")" "app identity: key-provider id is $kms (kms), expected 0x00"
check_rc "--json names the failure" 2 verify "$tmp/gq.json" --expect-compose-hash "$zero64" --json
check_eq "failure" "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["failure"])' "$tmp/out")" app_identity

# the event log is checked against the quote's RTMR3
python3 - "$tmp/gq.json" "$tmp/tampered.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
log = json.loads(d["event_log"])
for e in log:
    if e["event"] == "os-image-hash":
        p = e["event_payload"]
        e["event_payload"] = p[:-1] + ("0" if p[-1] != "0" else "1")
d["event_log"] = json.dumps(log)
json.dump(d, open(sys.argv[2], "w"))
PY
cp "$tmp/gq.json.quote" "$tmp/tampered.json.quote"
check_rc "one byte of an event payload" 2 verify "$tmp/tampered.json"
check_has "event log does not match RTMR3" "$(cat "$tmp/out")" "event log does not match RTMR3 (quoted "
check_has "failure event_log" "$(cat "$tmp/out")" "failure            event_log"
echo '[{"imr":3}]' >"$tmp/bad.json"
cp "$tmp/gq.json.quote" "$tmp/bad.json.quote"
check_rc "an event log that does not parse" 3 verify "$tmp/bad.json"
check_has "says so" "$(cat "$tmp/out")" "event log does not parse: event 0: missing"
echo 'not json' >"$tmp/junk.json"
cp "$tmp/gq.json.quote" "$tmp/junk.json.quote"
check_rc "an event log file that is not JSON" 3 verify "$tmp/junk.json"
check_rc "--expect-* without --event-log" 64 "$TEELIZA" verify "$tmp/gq.json.quote" --collateral "$tmp/coll.json" \
	--expect-compose-hash "$hash"
check_rc "a short --expect-compose-hash" 64 verify "$tmp/gq.json" --expect-compose-hash 00
check_rc "a bad --expect-key-provider" 64 verify "$tmp/gq.json" --expect-key-provider xyz

# the app emits its own compose-hash after system-ready: RTMR3 carries it, the identity ignores it
curl -sf -X POST -H 'Content-Type: application/json' \
	-d "{\"event\":\"compose-hash\",\"payload\":\"$zero64\"}" "$base/EmitEvent" >/dev/null
getquote "$tmp/gq2.json"
check_rc "after an emitted compose-hash: still the OS's" 0 verify "$tmp/gq2.json" --expect-compose-hash "$hash"
check_rc "the emitted one is not the app's identity" 2 verify "$tmp/gq2.json" --expect-compose-hash "$zero64"
check_has "names compose-hash" "$(cat "$tmp/out")" "app identity: compose-hash is $hash"
# the older log no longer matches the newer quote's RTMR3
cp "$tmp/gq2.json.quote" "$tmp/gq.json.quote"
check_rc "an older log against a newer quote" 2 verify "$tmp/gq.json"
check_has "event log does not match RTMR3" "$(cat "$tmp/out")" "event log does not match RTMR3"

e2e_finish "app identity"
