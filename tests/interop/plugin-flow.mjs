// Runs Eliza's TEE plugin algorithm (plugin-tee 0.1.9: deriveEd25519Keypair,
// deriveEcdsaKeypair, generateDeriveKeyAttestation) with the official JS SDK
// against a tappd endpoint, and prints what it got as JSON, so the shell test
// can compare it with teeliza's own client.
//
// usage: node plugin-flow.mjs ENDPOINT SALT AGENT_ID SCHEME
//   ENDPOINT  http://host:port or a unix socket path (the SDK's own rule)
//   SCHEME    eliza-v0.1.9 | eliza-v0.1.7 | teeliza
// or import { pluginFlow } from './plugin-flow.mjs'.
import crypto from 'node:crypto';
import { TappdClient } from '@phala/dstack-sdk';
import { Keypair } from '@solana/web3.js';
import { keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export async function pluginFlow(endpoint, salt, agentId, scheme) {

  // (path, subject) per key scheme. The teeliza scheme is recomputed here from
  // its description in docs/KEY-SCHEMES.md, independently of the C code.
  function request(chain) {
    if (scheme === 'eliza-v0.1.7') return ['/', salt];
    if (scheme === 'eliza-v0.1.9') return [salt, chain];
    if (scheme === 'teeliza') {
      const mac = crypto.createHmac('sha256', Buffer.from(salt, 'utf8'))
        .update(Buffer.concat([Buffer.from('teeliza wallet v1\0'), Buffer.from(agentId), Buffer.from('\0'), Buffer.from(chain)]))
        .digest('hex');
      return [`teeliza/v1/${chain}/${mac}`, chain];
    }
    throw new Error(`unknown scheme ${scheme}`);
  }

  const client = new TappdClient(endpoint);

  async function attest(publicKey) {
    const reportData = JSON.stringify({ agentId, publicKey });
    const q = await client.tdxQuote(reportData);
    const quote = Buffer.from(q.quote.replace(/^0x/, ''), 'hex');
    return {
      json: reportData,
      expected_report_data: crypto.createHash('sha512').update('app-data:' + reportData).digest('hex'),
      quote_report_data: quote.subarray(568, 632).toString('hex'),
      quote_rtmrs: [0, 1, 2, 3].map((i) => quote.subarray(376 + 48 * i, 424 + 48 * i).toString('hex')),
      replayed_rtmrs: q.replayRtmrs(),
      event_log: q.event_log,
    };
  }

  const [solPath, solSubject] = request('solana');
  const sol = await client.deriveKey(solPath, solSubject);
  const seed = crypto.createHash('sha256').update(sol.asUint8Array()).digest();
  const keypair = Keypair.fromSeed(Uint8Array.from(seed));
  const solana = keypair.publicKey.toBase58();

  const [evmPath, evmSubject] = request('evm');
  const evmKey = await client.deriveKey(evmPath, evmSubject);
  const evm = privateKeyToAccount(keccak256(evmKey.asUint8Array())).address;

  const out = {
    endpoint,
    scheme,
    solana,
    evm,
    solana_attestation: await attest(solana),
    evm_attestation: await attest(evm),
    certificate_chain_length: sol.certificate_chain.length,
  };
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [endpoint, salt, agentId, scheme] = process.argv.slice(2);
  if (!endpoint || !salt || !agentId || !scheme) {
    console.error('usage: node plugin-flow.mjs ENDPOINT SALT AGENT_ID SCHEME');
    process.exit(64);
  }
  process.stdout.write(JSON.stringify(await pluginFlow(endpoint, salt, agentId, scheme), null, 2) + '\n');
}
