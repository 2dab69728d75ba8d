// The SDK's TappdClient against a running teeliza simulator (the URL is the
// first argument): DeriveKey and TdxQuote requests per second from one Node
// process with INFLIGHT (default 8) requests in flight. This measures the JS
// client stack beside teeliza's C client (bench_sim) on the same server.
import { TappdClient } from '@phala/dstack-sdk';
import { benchAsync, check } from './harness.mjs';

const url = process.argv[2];
check(url && url.startsWith('http'), 'usage: node tappd.mjs http://127.0.0.1:PORT');
const inflight = Number(process.env.INFLIGHT || 8);
const client = new TappdClient(url);

const k = await client.deriveKey('bench', 'bench');
check(k.key.startsWith('-----BEGIN PRIVATE KEY-----'), 'DeriveKey reply has no key');
const q = await client.tdxQuote('hello');
check(typeof q.quote === 'string' && q.replayRtmrs().length === 4, 'TdxQuote reply has no quote or log');

await benchAsync('sim.derive_key', () => client.deriveKey('bench', 'bench'), inflight, `inflight=${inflight}`);
await benchAsync('sim.tdx_quote', () => client.tdxQuote('hello'), inflight, `inflight=${inflight}`);
