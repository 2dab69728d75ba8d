// RTMR replay of the 30-event log with the SDK's own replayRtmrs() (JSON.parse,
// four filters, 30 SHA-384 extends, hex), on the log bench_replay.c builds:
// imr i%4, event_type 1, digest SHA-384("e"+i), event "e"+i, no payload.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { TappdClient } from '@phala/dstack-sdk';
import { benchSync, check, fakeTappd, VECTORS } from './harness.mjs';

const expect = JSON.parse(fs.readFileSync(`${VECTORS}/plugin-tee.json`, 'utf8')).replay_30_event_log.rtmrs;
const events = Array.from({ length: 30 }, (_, i) => ({
	imr: i % 4,
	event_type: 1,
	digest: crypto.createHash('sha384').update(`e${i}`).digest('hex'),
	event: `e${i}`,
	event_payload: '',
}));
const tappd = await fakeTappd({ quote: '0x', event_log: JSON.stringify(events) });
const resp = await new TappdClient(tappd.url).tdxQuote('hello');
tappd.close();

check(JSON.stringify(resp.replayRtmrs()) === JSON.stringify(expect), 'RTMRs differ from the vector');
benchSync('replay.30', () => resp.replayRtmrs(), `${resp.event_log.length} bytes of JSON`);
