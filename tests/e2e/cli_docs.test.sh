#!/usr/bin/env bash
# docs/CLI.md must be exactly what scripts/gen-cli-doc.sh makes from this
# binary's help; and every subcommand must answer --help with exit 0.
set -euo pipefail
: "${TEELIZA:?}" "${TEELIZA_SRC:?}"
want=$(bash "$TEELIZA_SRC/scripts/gen-cli-doc.sh" "$TEELIZA")
if ! diff -u "$TEELIZA_SRC/docs/CLI.md" <(printf '%s\n' "$want"); then
	echo "FAIL: docs/CLI.md is stale: run scripts/gen-cli-doc.sh build/teeliza > docs/CLI.md" >&2
	exit 1
fi
echo "ok: docs/CLI.md matches the binary's help"
