// Timing harness for the JS reference, the twin of bench/bench_util.c: warm
// up, then loop for a fixed time (BENCH_SECONDS, default 2) and print
//   RESULT <tab> id <tab> JS <tab> 1 <tab> ops/s <tab> ops per CPU-second <tab> note
// lines that bench/run.sh puts beside the C numbers.
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SECONDS = Number(process.env.BENCH_SECONDS || 2);

// tests/vectors of the repository, unless TEELIZA_VECTORS says otherwise
export const VECTORS = process.env.TEELIZA_VECTORS ||
	path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../tests/vectors');

const now = () => Number(process.hrtime.bigint()) / 1e9;

const cpuNow = () => {
	const u = process.cpuUsage();
	return (u.user + u.system) / 1e6;
};

// ops per CPU-second of the process as well: the machine is shared, so this
// is the rate the code would reach with a core to itself
function report(id, ops, secs, cpu, note = '') {
	const rate = ops / secs;
	const perCpu = cpu > 0 ? ops / cpu : 0;
	console.log(`${id.padEnd(22)} JS  1 thread  ${rate.toFixed(0).padStart(11)} ops/s ${perCpu.toFixed(0).padStart(11)} ops/CPU-s  (${ops} ops, ${secs.toFixed(2)} s, ${cpu.toFixed(2)} CPU-s)${note ? '  ' + note : ''}`);
	console.log(`RESULT\t${id}\tJS\t1\t${rate.toFixed(0)}\t${perCpu.toFixed(0)}\t${note}`);
}

// A synchronous operation, run back to back.
export function benchSync(id, fn, note = '') {
	for (let i = 0; i < 20; i++) fn();
	const c0 = cpuNow();
	const t0 = now();
	const end = t0 + SECONDS;
	let ops = 0, t = t0;
	while (t < end) {
		fn();
		ops++;
		t = now();
	}
	report(id, ops, t - t0, cpuNow() - c0, note);
}

// An async operation kept `inflight` times in flight.
export async function benchAsync(id, fn, inflight, note = '') {
	for (let i = 0; i < 20; i++) await fn();
	const c0 = cpuNow();
	const t0 = now();
	const end = t0 + SECONDS;
	let ops = 0;
	const lane = async () => {
		while (now() < end) {
			await fn();
			ops++;
		}
	};
	await Promise.all(Array.from({ length: inflight }, lane));
	report(id, ops, now() - t0, cpuNow() - c0, note);
}

export function check(ok, what) {
	if (!ok) {
		console.error(`bench: ${what}`);
		process.exit(1);
	}
}

// A loopback HTTP server answering every POST with a fixed JSON object, so
// that a real @phala/dstack-sdk TappdClient call returns a response object
// whose own asUint8Array() / replayRtmrs() can be timed on chosen inputs.
export async function fakeTappd(reply) {
	const body = JSON.stringify(reply);
	const server = http.createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
			res.end(body);
		});
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}
