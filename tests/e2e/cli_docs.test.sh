#!/usr/bin/env bash
# docs/CLI.md must be exactly what scripts/gen-cli-doc.sh makes from this
# binary's help; every subcommand answers --help with exit 0, and
# `teeliza help CMD` prints exactly what `teeliza CMD --help` prints.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"
want=$(bash "$TEELIZA_SRC/scripts/gen-cli-doc.sh" "$TEELIZA")
if ! diff -u "$TEELIZA_SRC/docs/CLI.md" <(printf '%s\n' "$want"); then
	echo "FAIL: docs/CLI.md is stale: run scripts/gen-cli-doc.sh build/teeliza > docs/CLI.md" >&2
	exit 1
fi
echo "ok: docs/CLI.md matches the binary's help"
fails=0
for cmd in $("$TEELIZA" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
	[ "$cmd" = version ] && continue
	if ! own=$("$TEELIZA" "$cmd" --help); then
		echo "FAIL: teeliza $cmd --help does not exit 0" >&2
		fails=$((fails + 1))
	elif [ "$("$TEELIZA" help "$cmd")" != "$own" ]; then
		echo "FAIL: 'teeliza help $cmd' differs from 'teeliza $cmd --help'" >&2
		fails=$((fails + 1))
	else
		echo "ok: teeliza help $cmd"
	fi
done
rc=0
"$TEELIZA" help no-such-command >/dev/null 2>&1 || rc=$?
if [ "$rc" != 64 ]; then echo "FAIL: 'teeliza help no-such-command' exits $rc, want 64" >&2; fails=$((fails + 1)); fi
[ "$fails" -eq 0 ] || exit 1
