// Wallets from dstack's GetKey, @phala/dstack-sdk 0.5.8 against `teeliza derive`:
//   node dstack_wallets.mjs TEELIZA ENDPOINT CASES
// For CASES random (path, purpose, algorithm): the SDK's
// toViemAccountSecure(await client.getKey(path, purpose, algorithm)) and
// toKeypairSecure(...) must give the addresses that
// `teeliza derive --scheme dstack-sdk --path P --purpose Q --algorithm A` prints.
// Then the dstack scheme, recomputed here from docs/KEY-SCHEMES.md's byte recipe
// with node's HMAC: GetKey(path, chain, alg) through the SDK must give the
// wallets `teeliza derive --scheme dstack` prints, and teeliza's JSON must name
// that path and purpose.
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { DstackClient } from 'dstack-sdk-058';
import { toViemAccountSecure } from 'dstack-sdk-058/viem';
import { toKeypairSecure } from 'dstack-sdk-058/solana';

const [teeliza, endpoint, casesArg] = process.argv.slice(2);
const cases = Number(casesArg ?? 8);
const agentId = 'b850bc30-45f8-0041-a00a-83df46d8555d';
const salt = 'interop-salt-' + randomBytes(8).toString('hex');
const client = new DstackClient(endpoint);
let fails = 0;

function derive(args) {
  const env = { ...process.env, WALLET_SECRET_SALT: salt };
  for (const k of ['TEE_MODE', 'TEE_API', 'TEE_KEY_SCHEME', 'DSTACK_SIMULATOR_ENDPOINT', 'TAPPD_SIMULATOR_ENDPOINT'])
    delete env[k];
  return execFileSync(teeliza, ['derive', '--agent-id', agentId, '--endpoint', endpoint, '--quiet', ...args],
    { env, encoding: 'utf8' });
}

function check(what, got, want) {
  if (got !== want) {
    fails++;
    console.error(`FAIL: ${what}: teeliza ${got}, SDK ${want}`);
  } else {
    console.log(`ok: ${what}: ${got}`);
  }
}

// Paths and purposes as users write them: ASCII with separators, and beyond ASCII over TCP only
// (over a unix socket the SDK's Content-Length counts UTF-16 units, docs/INTEROP.md).
const overSocket = endpoint.startsWith('/');
function randomText() {
  const parts = ['wallet', 'eth', 'sol', 'main', 'x', '/', '-', ':', ' ', ...(overSocket ? [] : ['ключ', 'ü', '😀'])];
  let s = '';
  for (let i = randomInt(1, 6); i > 0; i--) s += parts[randomInt(parts.length)] + randomBytes(randomInt(0, 4)).toString('hex');
  return s;
}

for (let i = 0; i < cases; i++) {
  const path = randomText();
  const purpose = i % 3 === 0 ? '' : randomText();
  const algorithm = i % 2 === 0 ? 'secp256k1' : 'ed25519';
  const key = await client.getKey(path, purpose, algorithm);
  const evm = toViemAccountSecure(key).address;
  const sol = toKeypairSecure(key).publicKey.toBase58();
  const common = ['--scheme', 'dstack-sdk', '--path', path, '--purpose', purpose, '--algorithm', algorithm, '--no-attest'];
  check(`EVM of getKey(${JSON.stringify(path)}, ${JSON.stringify(purpose)}, ${algorithm})`,
    derive([...common, '--chain', 'evm']).trim(), evm);
  check(`Solana of getKey(${JSON.stringify(path)}, ${JSON.stringify(purpose)}, ${algorithm})`,
    derive([...common, '--chain', 'solana']).trim(), sol);
}

// The dstack scheme's recipe, from the documentation.
for (const [chain, algorithm] of [['solana', 'ed25519'], ['evm', 'secp256k1']]) {
  const mac = createHmac('sha256', Buffer.from(salt, 'utf8'))
    .update(Buffer.concat([Buffer.from('teeliza dstack wallet v1\0' + agentId + '\0' + chain, 'utf8')]))
    .digest('hex');
  const path = `teeliza/dstack/v1/${chain}/${mac}`;
  const key = await client.getKey(path, chain, algorithm);
  const want = chain === 'evm' ? toViemAccountSecure(key).address : toKeypairSecure(key).publicKey.toBase58();
  const out = JSON.parse(derive(['--scheme', 'dstack', '--chain', chain, '--json']));
  check(`dstack scheme ${chain} address`, out.address, want);
  check(`dstack scheme ${chain} GetKey path`, out.getKey.path, path);
  check(`dstack scheme ${chain} GetKey purpose/algorithm`, `${out.getKey.purpose}/${out.getKey.algorithm}`,
    `${chain}/${algorithm}`);
  check(`dstack scheme ${chain} signature chain`, out.getKey.signatureChain.join(','),
    key.signature_chain.map((s) => Buffer.from(s).toString('hex')).join(','));
}

if (fails) {
  console.error(`${fails} check(s) failed`);
  process.exit(1);
}
console.log('all dstack wallet interop checks passed');
