// The SDK's DstackClient (@phala/dstack-sdk 0.5.8, under the alias dstack-sdk-058)
// against a running teeliza simulator (the URL is the first argument): GetKey
// requests per second from one Node process with INFLIGHT (default 8) requests
// in flight, for the same path every time (sim.get_key) and a new path every
// request (sim.get_key_fresh), the twins of bench_sim's C rows on the same server.
import { DstackClient } from 'dstack-sdk-058';
import { benchAsync, check } from './harness.mjs';

const url = process.argv[2];
check(url && url.startsWith('http'), 'usage: node dstack.mjs http://127.0.0.1:PORT');
const inflight = Number(process.env.INFLIGHT || 8);
const client = new DstackClient(url);

const k = await client.getKey('wallet/eth', 'signing');
check(k.key.length === 32 && k.signature_chain.length === 2, 'GetKey reply has no key or chain');

let n = 0;
await benchAsync('sim.get_key', () => client.getKey('wallet/eth', 'signing'), inflight, `inflight=${inflight}`);
await benchAsync('sim.get_key_fresh', () => client.getKey(`bench/js/${n++}`, 'signing'), inflight,
	`inflight=${inflight}, a new path each request`);
