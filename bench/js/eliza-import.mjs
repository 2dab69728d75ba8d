// Eliza's own start-up floor: the time and memory it takes Node just to
// import @elizaos/core, client-direct, plugin-tee and adapter-sqlite (no
// database, no model, no agent), the four packages a TEE agent with the direct
// client loads. Each measurement is a fresh node process (module caches and
// V8 start cold, the files are in the page cache as for teeliza's runs):
//
//   node eliza-import.mjs [ELIZA_DIR]     (default: bench/js/eliza, where
//                                          bench/run.sh installs them)
//
// prints one line per run, then the medians as
//   AGENT <tab> id <tab> value <tab> unit <tab> note
// lines that bench/bench_agent.sh puts beside teeliza's start-up figures.
// BENCH_ELIZA_RUNS sets the number of processes (default 3).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULES = ['@elizaos/core', '@elizaos/client-direct', '@elizaos/plugin-tee', '@elizaos/adapter-sqlite'];
const MARK = 'ELIZA_IMPORT ';
const here = path.dirname(fileURLToPath(import.meta.url));

// The file `import(name)` would load from dir/node_modules: these packages
// only export an "import" condition, which createRequire cannot resolve.
function entryOf(dir, name) {
	const pkgDir = path.join(dir, 'node_modules', name);
	const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
	const dot = pkg.exports && pkg.exports['.'];
	const rel = (dot && dot.import && (dot.import.default || dot.import)) || pkg.module || pkg.main;
	if (typeof rel !== 'string') throw new Error(`${name}: no ESM entry in package.json`);
	return { url: pathToFileURL(path.join(pkgDir, rel)).href, version: pkg.version };
}

async function child(dir) {
	const startedMs = performance.now(); // since this process's time origin
	const perModule = {};
	for (const name of MODULES) {
		const { url } = entryOf(dir, name);
		const t0 = performance.now();
		await import(url);
		perModule[name] = performance.now() - t0;
	}
	const mem = process.memoryUsage();
	const cpu = process.cpuUsage();
	const out = {
		cpuMs: (cpu.user + cpu.system) / 1e3,
		importMs: Object.values(perModule).reduce((a, b) => a + b, 0),
		sinceStartMs: performance.now(),
		nodeBootMs: startedMs,
		perModule,
		rssMb: mem.rss / 1048576,
		heapUsedMb: mem.heapUsed / 1048576,
	};
	// the packages log to stdout on import; the marker tells our line apart
	process.stdout.write('\n' + MARK + JSON.stringify(out) + '\n');
	process.exit(0); // core leaves timers and handles open
}

const median = (v) => {
	const s = [...v].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function parent(dir) {
	const runs = Number(process.env.BENCH_ELIZA_RUNS || 3);
	const versions = MODULES.map((n) => `${n}@${entryOf(dir, n).version}`);
	const results = [];
	for (let i = 0; i < runs; i++) {
		const t0 = process.hrtime.bigint();
		const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', dir], {
			encoding: 'utf8',
			maxBuffer: 64 << 20,
		});
		const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
		const line = (r.stdout || '').split('\n').find((l) => l.startsWith(MARK));
		if (r.status !== 0 || !line) {
			console.error(`bench: importing Eliza failed (exit ${r.status}):\n${(r.stderr || '').slice(-3000)}`);
			process.exit(1);
		}
		const m = JSON.parse(line.slice(MARK.length));
		m.wallMs = wallMs;
		results.push(m);
		const mods = MODULES.map((n) => `${n.replace('@elizaos/', '')} ${m.perModule[n].toFixed(0)}`).join(', ');
		console.log(`  run ${i + 1}: imports ${m.importMs.toFixed(0)} ms (${mods}), process start to imported ${m.sinceStartMs.toFixed(0)} ms (CPU ${m.cpuMs.toFixed(0)} ms), ` +
			`spawn to exit ${wallMs.toFixed(0)} ms, RSS ${m.rssMb.toFixed(1)} MB (heap used ${m.heapUsedMb.toFixed(1)} MB)`);
	}
	const med = (f) => median(results.map(f));
	const note = `${versions.join(' ')}, node ${process.version}, median of ${runs} fresh processes`;
	const rows = [
		['eliza.import_ms', med((m) => m.importMs), 'ms', 'the four dynamic imports, in order'],
		['eliza.start_to_imported_ms', med((m) => m.sinceStartMs), 'ms', 'node process start (performance time origin) to the four imported'],
		['eliza.cpu_ms', med((m) => m.cpuMs), 'ms', 'process.cpuUsage() user + system when imported'],
		['eliza.import_rss_mb', med((m) => m.rssMb), 'MB', 'process.memoryUsage().rss after the imports'],
		['eliza.import_heap_mb', med((m) => m.heapUsedMb), 'MB', 'heapUsed after the imports'],
	];
	for (const n of MODULES)
		rows.push([`eliza.import_ms.${n.replace('@elizaos/', '')}`, med((m) => m.perModule[n]), 'ms', '']);
	console.log(`Eliza import (${note})`);
	for (const [id, v, unit, what] of rows)
		console.log(`AGENT\t${id}\t${v.toFixed(2)}\t${unit}\t${what}`);
	console.log(`AGENT\teliza.versions\t${runs}\truns\t${note}`);
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else parent(path.resolve(process.argv[2] || path.join(here, 'eliza')));
