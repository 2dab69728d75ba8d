#!/usr/bin/env bash
# docs/CLI.md must be exactly what scripts/gen-cli-doc.sh makes from this
# binary's help; every subcommand answers --help with exit 0, and
# `teeliza help CMD` prints exactly what `teeliza CMD --help` prints.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"
# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
want=$(bash "$TEELIZA_SRC/scripts/gen-cli-doc.sh" "$TEELIZA")
if ! diff -u "$TEELIZA_SRC/docs/CLI.md" <(printf '%s\n' "$want"); then
	echo "FAIL: docs/CLI.md is stale: run scripts/gen-cli-doc.sh build/teeliza > docs/CLI.md" >&2
	exit 1
fi
ok "docs/CLI.md matches the binary's help"
for cmd in $("$TEELIZA" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
	[ "$cmd" = version ] && continue
	if ! own=$("$TEELIZA" "$cmd" --help); then
		fail "teeliza $cmd --help does not exit 0"
	elif [ "$("$TEELIZA" help "$cmd")" != "$own" ]; then
		fail "'teeliza help $cmd' differs from 'teeliza $cmd --help'"
	else
		ok "teeliza help $cmd"
	fi
done
rc=0
"$TEELIZA" help no-such-command >/dev/null 2>&1 || rc=$?
if [ "$rc" != 64 ]; then fail "'teeliza help no-such-command' exits $rc, want 64"; fi
e2e_finish "CLI docs"
