#!/usr/bin/env bash
# Writes docs/CLI.md from the binary's own help, so the reference cannot drift:
# tests/e2e/cli_docs.test.sh fails when the file differs from what this prints.
# usage: scripts/gen-cli-doc.sh [path/to/teeliza] > docs/CLI.md
set -euo pipefail
bin=${1:-build/teeliza}

cat <<'HEAD'
# The `teeliza` command line

One binary, one subcommand per job. This file is generated from the binary's own `--help` by
`scripts/gen-cli-doc.sh`; a test checks it is current.

## Exit codes

Every subcommand uses the same codes:

| code | meaning |
|---|---|
| 0 | success (`verify`: trusted under the policy; `verify-reply`: every link holds and the quote is trusted; `verify-key`: verified up to the pinned KMS root) |
| 1 | `verify`, `verify-reply`: the quote verified, but its status is not accepted by the policy; `verify-key`: every link holds, but no KMS root was pinned |
| 2 | a check failed: a signature, chain, hash, RTMR or report_data did not verify |
| 3 | bad input data (malformed quote, JSON, hex, PEM, event log) |
| 64 | bad command line |
| 69 | tappd, the dstack guest agent or another server is unreachable, timed out, or answered an error |
| 70 | internal error |
| 74 | a file could not be read or written |
| 78 | bad configuration (invalid `TEE_MODE`, missing `WALLET_SECRET_SALT`, a bad setting or `.env` line) |

HEAD
echo '## `teeliza --help`'
echo
echo '```'
"$bin" --help
echo '```'
for cmd in $("$bin" --help | awk '/^commands:/{f=1;next} f && /^  [a-z]/{print $1}'); do
	[ "$cmd" = version ] && continue
	echo
	echo "## \`teeliza $cmd\`"
	echo
	echo '```'
	"$bin" "$cmd" --help
	echo '```'
done
