#!/usr/bin/env bash
# Simulated quotes checked by an independent DCAP verifier: Phala's pure-JS
# @phala/dcap-qvl 0.3.9 (npm). A quote from a running `teeliza simulator`,
# with `teeliza sim-root` and its collateral, must verify as UpToDate with no
# advisories when the simulator root is the trust anchor, and must fail with
# Intel's root and when one report_data byte is changed.
set -euo pipefail

: "${TEELIZA:?path of the teeliza binary}"
: "${TEELIZA_BUILD:?build directory}"
DCAPQVL_VERSION=0.3.9
NODE_DIR="$TEELIZA_BUILD/interop-dcapqvl"

command -v node >/dev/null || { echo "FAIL: node is required (scripts/install-deps.sh installs it)" >&2; exit 1; }
# shellcheck source=../lib/npm_install.sh
. "$(dirname "$0")/../lib/npm_install.sh"
npm_install_pinned "$NODE_DIR" "@phala/dcap-qvl@$DCAPQVL_VERSION"

# shellcheck source=../lib/e2e.sh
. "$(dirname "$0")/../lib/e2e.sh"
e2e_setup dcapqvl
work=$tmp
e2e_simulator sim --state-dir "$work/state"
port=$sim_port

# "hello world" as hex; the simulator hashes it as tappd does: SHA-512("app-data:" ‖ data)
curl -sf -X POST "http://127.0.0.1:$port/prpc/Tappd.TdxQuote" \
	-H 'Content-Type: application/json' -d '{"report_data":"68656c6c6f20776f726c64"}' >"$work/resp.json"
"$TEELIZA" sim-root --state-dir "$work/state" >"$work/root.pem"
"$TEELIZA" sim-root --state-dir "$work/state" --collateral >"$work/collateral.json"

cat >"$work/check.cjs" <<'EOF'
const { QuoteVerifier } = require('@phala/dcap-qvl');
const crypto = require('crypto');
const fs = require('fs');
const [respFile, collFile, rootFile] = process.argv.slice(2);

const quote = Buffer.from(JSON.parse(fs.readFileSync(respFile, 'utf8')).quote.replace(/^0x/, ''), 'hex');
const coll = JSON.parse(fs.readFileSync(collFile, 'utf8'));
const simRoot = new crypto.X509Certificate(fs.readFileSync(rootFile, 'utf8')).raw;
const now = Math.floor(Date.now() / 1000);
const expectRd = crypto.createHash('sha512').update('app-data:hello world').digest('hex');
let failures = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

const r = QuoteVerifier.newWithRootCa(simRoot).verify(quote, coll, now);
check(r.status === 'UpToDate', `sim root: status ${r.status}`);
check(Array.isArray(r.advisory_ids) && r.advisory_ids.length === 0, `sim root: advisories ${JSON.stringify(r.advisory_ids)}`);
check(r.report.type === 'td10', `sim root: report type ${r.report.type}`);
check(quote.subarray(568, 632).toString('hex') === expectRd, 'report_data = SHA-512("app-data:" ‖ data)');

const fails = (fn) => { try { fn(); return null; } catch (e) { return e.message; } };
let msg = fails(() => QuoteVerifier.newProd().verify(quote, coll, now));
check(msg !== null, `Intel root rejects it (${msg})`);
const tampered = Buffer.from(quote);
tampered[568] ^= 1;
msg = fails(() => QuoteVerifier.newWithRootCa(simRoot).verify(tampered, coll, now));
check(msg !== null, `changed report_data rejected (${msg})`);
msg = fails(() => QuoteVerifier.newWithRootCa(simRoot).verify(quote, coll, now + 60 * 86400));
check(msg !== null, `collateral 60 days later rejected (${msg})`);
process.exit(failures ? 1 : 0);
EOF
NODE_PATH="$NODE_DIR/node_modules" node "$work/check.cjs" "$work/resp.json" "$work/collateral.json" "$work/root.pem"
