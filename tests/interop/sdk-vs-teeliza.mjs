// Compares, on one tappd endpoint, what the official JS SDK running Eliza's
// plugin algorithm gets with what teeliza's own client gets: the same Solana
// and EVM wallets, report_data = SHA-512("app-data:" + JSON) inside each
// quote, RTMRs in the quote = the SDK's replayRtmrs() = `teeliza replay`.
//
// usage: node sdk-vs-teeliza.mjs TEELIZA ENDPOINT SALT AGENT_ID SCHEME
// Prints one "ok: …" line per check, "FAIL: …" on a mismatch; exits 1 if any failed.
import { execFileSync } from 'node:child_process';
import { pluginFlow } from './plugin-flow.mjs';

const [teeliza, endpoint, salt, agentId, scheme] = process.argv.slice(2);
let failed = 0;
function check(what, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g === w) console.log(`ok: ${what}`);
  else { failed++; console.log(`FAIL: ${what}: got ${g}, want ${w}`); }
}

function teelizaRun(args, input) {
  return execFileSync(teeliza, args, {
    env: { PATH: process.env.PATH, WALLET_SECRET_SALT: salt },
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

const where = `${scheme} over ${endpoint.startsWith('http') ? 'TCP' : 'unix socket'}`;
const js = await pluginFlow(endpoint, salt, agentId, scheme);

for (const chain of ['solana', 'evm']) {
  const c = JSON.parse(teelizaRun(['derive', '--quiet', '--json', '--endpoint', endpoint,
    '--scheme', scheme, '--chain', chain, '--agent-id', agentId]));
  const a = js[`${chain}_attestation`];
  check(`${where}: ${chain} wallet (SDK ${js[chain]})`, c.address, js[chain]);
  check(`${where}: ${chain} attestation JSON`, c.attestation.reportData, a.json);
  check(`${where}: ${chain} SDK quote report_data = SHA-512(app-data:JSON)`, a.quote_report_data, a.expected_report_data);
  check(`${where}: ${chain} SDK replayRtmrs() = RTMRs in the quote`, a.replayed_rtmrs, a.quote_rtmrs);
  check(`${where}: ${chain} teeliza RTMRs = SDK replayRtmrs()`, c.attestation.rtmrs, a.replayed_rtmrs);
  const replay = JSON.parse(teelizaRun(['replay', '--json', '-'], a.event_log));
  check(`${where}: ${chain} teeliza replay of the SDK's event log`,
    [replay.rtmr0, replay.rtmr1, replay.rtmr2, replay.rtmr3], a.replayed_rtmrs);
}
check(`${where}: DeriveKey certificate chain length`, js.certificate_chain_length, 2);
process.exit(failed ? 1 : 0);
