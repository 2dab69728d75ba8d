// @phala/dcap-qvl 0.3.9 on the TDX sample quote and its collateral at
// now = 1752919234 (UpToDate): parse only, and full verification with the
// collateral JSON parsed on every call (dcap-qvl keeps nothing between calls).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { benchSync, check, VECTORS } from './harness.mjs';

const require = createRequire(import.meta.url);
const { Quote, verify } = require('@phala/dcap-qvl');

const NOW = 1752919234;
const quote = new Uint8Array(fs.readFileSync(`${VECTORS}/dcapqvl-tdx_quote`));
const collText = fs.readFileSync(`${VECTORS}/dcapqvl-tdx_quote_collateral.json`, 'utf8');

check(verify(quote, JSON.parse(collText), NOW).status === 'UpToDate', 'dcap-qvl does not say UpToDate');
benchSync('dcap.parse', () => Quote.parse(quote));
benchSync('dcap.verify.parse', () => verify(quote, JSON.parse(collText), NOW));
const coll = JSON.parse(collText);
benchSync('dcap.verify.reuse', () => verify(quote, coll, NOW), 'same collateral object; dcap-qvl still re-parses it');
