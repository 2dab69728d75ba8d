// Drives the agent's dashboard in headless chromium (see dashboard_browser.test.sh).
import { createRequire } from 'node:module';
import path from 'node:path';
import assert from 'node:assert/strict';

const require = createRequire(path.join(process.env.PW_DIR, 'node_modules', 'noop.js'));
const { chromium } = require('playwright-core');

const base = process.env.BASE;
const shots = process.env.SHOTS;
let failures = 0;
function check(what, cond, detail) {
  if (cond) console.log('ok: ' + what);
  else { failures++; console.error('FAIL: ' + what + (detail ? ': ' + detail : '')); }
}

async function api(p, init) {
  const res = await fetch(base + p, init);
  return { status: res.status, body: await res.json() };
}

// The chain view's links under root, as the page shows them (its colours included).
const LINK_IDS = 'root pck qe quote rtmr identity kms-root app-key keys receipt signature chain';
const GREEN = 'rgb(226, 245, 233)'; // --ok-bg
const RED = 'rgb(253, 228, 228)';   // --bad-bg
function chainLinks(page, root) {
  return page.$$eval(root + ' [data-testid=chain-links] li', (ls) => ls.map((l) => ({
    id: l.dataset.link, status: l.dataset.status, text: l.textContent, bg: getComputedStyle(l).backgroundColor })));
}

// With API_TOKEN: the page itself needs no token, then asks for it; the wallets appear once it is given.
if (process.env.TOKEN) {
  const auth = { headers: { Authorization: 'Bearer ' + process.env.TOKEN } };
  const list = await (await fetch(base + '/agents', auth)).json();
  const v = await (await fetch(base + '/dashboard/api/agents/' + list.agents[0].id, auth)).json();
  check('without the token the API says 401', (await fetch(base + '/agents')).status === 401);
  const ctx = await chromium.launchPersistentContext(process.env.PROFILE, {
    executablePath: process.env.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    const res = await page.goto(base + '/dashboard');
    check('the page loads without the token', res.status() === 200);
    await page.waitForSelector('#token-form:not([hidden])');
    check('the page asks for the token', /API_TOKEN/.test(await page.textContent('#status')));
    await page.fill('#token', process.env.TOKEN);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('[data-testid=wallet-solana]');
    const shown = (await page.textContent('[data-testid=wallet-solana]')).trim();
    check('with the token the page shows the API\'s wallet', shown === v.wallets[0].address, shown);
    check('the token form is hidden again', await page.isHidden('#token-form'));
  } finally {
    await ctx.close();
  }
  process.exit(failures > 0 ? 1 : 0);
}

// A separately started simulator: green simulator-rooted verdicts, and the RA explorer with a pasted root.
// An agent on the dstack API: each wallet card shows its GetKey key chain up to the KMS root.
if (process.env.DSTACK) {
  const v = (await api('/dashboard/api/agents/' + (await api('/agents')).body.agents[0].id)).body;
  const ctx = await chromium.launchPersistentContext(process.env.PROFILE, {
    executablePath: process.env.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(20000);
    await page.goto(base + '/dashboard');
    await page.waitForSelector('[data-testid=key-chain] h4');
    const chains = await page.$$eval('#view-agents [data-testid=key-chain]',
      (b) => b.map((x) => ({ verified: x.dataset.verified, text: x.textContent })));
    check('dstack: a key chain per wallet', chains.length === 2, JSON.stringify(chains));
    check('dstack: each names its GetKey path', chains.every((c, i) => c.text.includes(v.wallets[i].keyChain.path) &&
      c.text.includes('teeliza/dstack/v1/')), JSON.stringify(chains));
    check('dstack: each shows the app key and the KMS root it recovered',
      chains.every((c, i) => c.text.includes(v.wallets[i].keyChain.appKey) && c.text.includes(v.wallets[i].keyChain.kmsRoot)),
      JSON.stringify(chains));
    if (process.env.DSTACK === 'pinned') {
      check('dstack: each chain verified to the pinned root', chains.every((c) => c.verified === 'true' &&
        c.text.includes('verified to the pinned KMS root')), JSON.stringify(chains));
    } else {
      check('dstack: without a pinned root, each says the kms-root link is not proven', chains.every((c) =>
        c.verified === 'false' && c.text.includes('broken at link kms-root') && c.text.includes('no KMS root pinned')),
        JSON.stringify(chains));
    }
    await page.screenshot({ path: path.join(shots, 'dashboard-dstack.png'), fullPage: true });
    // The chain of trust on dstack: the reply key's GetKey chain to the KMS root, too.
    const id = (await api('/agents')).body.agents[0].id;
    await api('/' + id + '/message', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'hello', userId: 'e2e', roomId: 'e2e' }) });
    await page.click('nav button[data-view=chain]');
    await page.waitForSelector('[data-chain-agent] [data-testid=chain-links]');
    const links = await chainLinks(page, '[data-chain-agent]');
    if (process.env.DSTACK === 'pinned') {
      check('dstack: every link of the chain green, to the pinned KMS root', links.length === 12 &&
        links.every((l) => l.status === 'ok' && l.bg === GREEN), JSON.stringify(links));
    } else {
      check('dstack: every link green but the unpinned KMS root', links.length === 12 && links.every((l) =>
        l.id === 'kms-root' ? l.status === 'not-checked' && l.text.includes('no KMS root is pinned') : l.status === 'ok'),
      JSON.stringify(links));
    }
    await page.screenshot({ path: path.join(shots, 'dashboard-dstack-chain.png'), fullPage: true });
  } finally {
    await ctx.close();
  }
  process.exit(failures > 0 ? 1 : 0);
}

if (process.env.SEPARATE) {
  const fs = await import('node:fs');
  const otherQuote = fs.readFileSync(process.env.OTHER_QUOTE, 'utf8').trim();
  const otherRoot = fs.readFileSync(process.env.OTHER_ROOT, 'utf8');
  const otherColl = fs.readFileSync(process.env.OTHER_COLLATERAL, 'utf8');
  const ctx = await chromium.launchPersistentContext(process.env.PROFILE, {
    executablePath: process.env.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const errors = [];
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push('page error: ' + e.message));
    page.setDefaultTimeout(20000);
    await page.goto(base + '/dashboard');
    await page.waitForSelector('#view-agents [data-testid=verdict-badge]');
    const badges = await page.$$eval('#view-agents [data-testid=verdict-badge]',
      (b) => b.map((x) => ({ text: x.textContent, cls: x.className, bg: getComputedStyle(x).backgroundColor })));
    check('separate simulator: a verdict per wallet, simulator-rooted and trusted',
      badges.length === 2 && badges.every((b) => b.text.startsWith('Simulator-rooted') && b.cls.includes('trusted')),
      JSON.stringify(badges));
    // Green (--ok-bg #e2f5e9), not the red of "no collateral".
    check('separate simulator: the verdicts are green', badges.every((b) => b.bg === 'rgb(226, 245, 233)'),
      JSON.stringify(badges));
    const label = await page.textContent('#view-agents [data-testid=verdict-label]');
    check('separate simulator: the verdict says it is not Intel', /NOT Intel/.test(label), label);
    await page.screenshot({ path: path.join(shots, 'dashboard-separate-simulator.png'), fullPage: true });

    // RA explorer: another simulator's quote with its collateral; without its root it fails, with it it is
    // trusted and labelled as rooted in the root given.
    await page.click('nav button[data-view=explorer]');
    await page.fill('#verify-quote', otherQuote);
    await page.fill('#verify-collateral', otherColl);
    await page.click('#verify-form button[type=submit]');
    await page.waitForSelector('#verify-result [data-testid=verdict-badge]');
    let xBadge = await page.textContent('#verify-result [data-testid=verdict-badge]');
    let xText = await page.textContent('#verify-result');
    check('RA explorer: another simulator\'s quote without its root fails', xBadge === 'Failed' &&
      xText.includes('untrusted_root'), xBadge);
    await page.fill('#verify-root', otherRoot);
    await page.click('#verify-form button[type=submit]');
    await page.waitForFunction(() => {
      const b = document.querySelector('#verify-result [data-testid=verdict-badge]');
      return b && b.textContent !== 'Failed';
    });
    xBadge = await page.textContent('#verify-result [data-testid=verdict-badge]');
    const xLabel = await page.textContent('#verify-result [data-testid=verdict-label]');
    check('RA explorer: with the pasted root it is trusted, rooted in that root', xBadge ===
      'Rooted in your trust root (not Intel), trusted', xBadge);
    check('RA explorer: the label says the root was given and is not Intel', /trust root you gave \(NOT Intel\)/.test(xLabel),
      xLabel);
    await page.screenshot({ path: path.join(shots, 'dashboard-explorer-root.png'), fullPage: false });
    check('separate simulator: no console errors', errors.length === 0, JSON.stringify(errors));
  } finally {
    await ctx.close();
  }
  for (const f of ['dashboard-separate-simulator.png', 'dashboard-explorer-root.png']) console.log('screenshot: ' + path.join(shots, f));
  process.exit(failures > 0 ? 1 : 0);
}

// What the API says, independently of the page.
const { body: agentsBody } = await api('/agents');
const agent = agentsBody.agents[0];
const { body: view } = await api('/dashboard/api/agents/' + agent.id);
const apiSol = view.wallets.find((w) => w.chain === 'solana').address;
const apiEvm = view.wallets.find((w) => w.chain === 'evm').address;
// The agent's own WALLET_ADDRESS answer, through the chat route.
const { body: said } = await api('/' + agent.id + '/message', {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ text: "what's your wallet address?", userId: 'e2e', roomId: 'e2e' })
});
const saidText = said.map((m) => m.text).join(' ');
check('the agent names the same Solana wallet as the API', saidText.includes(apiSol), saidText);

const ctx = await chromium.launchPersistentContext(process.env.PROFILE, {
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const consoleErrors = [];
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push('page error: ' + e.message));
  page.on('requestfailed', (r) => consoleErrors.push('request failed: ' + r.url()));
  page.setDefaultTimeout(20000);

  const res = await page.goto(base + '/dashboard');
  check('GET /dashboard is 200', res.status() === 200, String(res.status()));
  await page.waitForSelector('[data-testid=wallet-solana]');
  const shownSol = (await page.textContent('[data-testid=wallet-solana]')).trim();
  const shownEvm = (await page.textContent('[data-testid=wallet-evm]')).trim();
  check('the page shows the API\'s Solana wallet', shownSol === apiSol, shownSol + ' vs ' + apiSol);
  check('the page shows the API\'s EVM wallet', shownEvm === apiEvm, shownEvm + ' vs ' + apiEvm);
  const badges = await page.$$eval('#view-agents [data-testid=verdict-badge]', (b) => b.map((x) => x.textContent));
  check('a verdict per wallet, simulator-rooted', badges.length === 2 && badges.every((t) => t.startsWith('Simulator-rooted')),
    JSON.stringify(badges));
  const label = await page.textContent('#view-agents [data-testid=verdict-label]');
  check('the verdict says it is not Intel', /NOT Intel/.test(label), label);
  const ticks = await page.$$eval('#view-agents .wallet .ok', (e) => e.length);
  check('report_data and RTMR replays match (ticks shown)', ticks >= 2 * 5, String(ticks));
  const quote = await page.inputValue('#view-agents [data-testid=quote] >> nth=0');
  check('the quote is shown as hex', /^0x04000200[0-9a-f]+$/.test(quote), quote.slice(0, 20));
  check('tappd Info is shown', (await page.textContent('#view-agents')).includes('compose hash'));
  const chainNotes = await page.$$eval('#view-agents [data-testid=key-chain]', (b) => b.map((x) => x.textContent));
  check('tappd wallets say they have no KMS chain', chainNotes.length === 2 &&
    chainNotes.every((t) => t.includes('no KMS signature chain')), JSON.stringify(chainNotes));
  // Open the Solana wallet's event log so the screenshot shows the chain of trust.
  await page.click('.wallet[data-chain=solana] details:last-of-type > summary');
  const rows = await page.$$eval('.wallet[data-chain=solana] details:last-of-type tr', (r) => r.length);
  check('the event log table has rows', rows > 1, String(rows));
  await page.screenshot({ path: path.join(shots, 'dashboard.png'), fullPage: true });

  // RA explorer: the quote pasted back gets the same verdict through POST /verify.
  await page.click('nav button[data-view=explorer]');
  await page.fill('#verify-quote', quote);
  await page.click('#verify-form button[type=submit]');
  await page.waitForSelector('#verify-result [data-testid=verdict-badge]');
  const xBadge = await page.textContent('#verify-result [data-testid=verdict-badge]');
  check('the RA explorer verifies the pasted quote as simulator-rooted', xBadge.startsWith('Simulator-rooted'), xBadge);
  check('the RA explorer shows decoded fields', (await page.textContent('#verify-result')).includes('td_attributes'));
  await page.screenshot({ path: path.join(shots, 'dashboard-explorer.png'), fullPage: false });
  // Bad input is refused with a clear message; chromium logs that one 400 as a console error, nothing else may appear.
  check('no console errors before the deliberate bad input', consoleErrors.length === 0, JSON.stringify(consoleErrors));
  consoleErrors.length = 0;
  await page.fill('#verify-quote', 'not a quote');
  await page.click('#verify-form button[type=submit]');
  await page.waitForSelector('#verify-result [data-testid=verify-error]');
  const xErr = await page.textContent('#verify-result [data-testid=verify-error]');
  check('the RA explorer shows the 400 for non-hex', xErr.startsWith('HTTP 400') && xErr.includes('not hex'), xErr);
  check('the only console message of the bad input is its 400', consoleErrors.length <= 1 &&
    consoleErrors.every((m) => m.includes('status of 400')), JSON.stringify(consoleErrors));
  consoleErrors.length = 0;

  // Logs: recent lines, never the salt.
  await page.click('nav button[data-view=logs]');
  await page.waitForFunction(() => document.getElementById('logs').textContent.includes('REST API bound to'));
  const logs = await page.textContent('#logs');
  check('the logs view shows the agent\'s lines', logs.includes('wallets (key scheme'));
  check('the logs view never shows the salt', !logs.includes(process.env.SALT));

  // Chat: the agent answers through POST /:agentId/message.
  await page.click('nav button[data-view=chat]');
  await page.fill('#chat-input', "what's your wallet address?");
  await page.click('#chat-form button[type=submit]');
  await page.waitForSelector('#chat-log .msg.agent');
  const reply = await page.textContent('#chat-log');
  check('the chat box answers with the wallet', reply.includes(apiSol), reply);
  await page.screenshot({ path: path.join(shots, 'dashboard-chat.png'), fullPage: false });

  // Chain of trust: the agent's latest reply link by link, every link the simulator has green.
  await page.click('nav button[data-view=chain]');
  await page.waitForSelector('[data-chain-agent] [data-testid=chain-links]');
  const links = await chainLinks(page, '[data-chain-agent]');
  check('chain: twelve links, root to hash chain', links.map((l) => l.id).join(' ') === LINK_IDS, JSON.stringify(links));
  check('chain: every link green but the KMS ones, which tappd does not have', links.every((l) =>
    (l.id === 'kms-root' || l.id === 'app-key') ? l.status === 'not-checked' && l.text.includes('tappd')
      : l.status === 'ok' && l.bg === GREEN), JSON.stringify(links));
  check('chain: the root is named a simulator\'s, not Intel', links[0].text.includes('NOT Intel'), links[0].text);
  check('chain: the summary says every link holds', (await page.textContent('[data-chain-agent] [data-testid=chain-summary]'))
    .startsWith('✓ every link holds'));
  const receiptRows = await page.$$eval('[data-chain-agent] [data-testid=chain-receipts] tr[data-status]',
    (r) => r.map((x) => x.dataset.status));
  check('chain: recent receipts listed, each checked', receiptRows.length >= 2 && receiptRows.every((x) => x === 'ok'),
    JSON.stringify(receiptRows));
  await page.screenshot({ path: path.join(shots, 'dashboard-chain.png'), fullPage: true });

  // The paste box: the bundle as served holds; each tampered link is named, red, with its reason.
  const chain = (await api('/dashboard/api/agents/' + agent.id + '/chain')).body;
  const rid = chain.latest.receipt.id;
  const bundle = (await api('/agents/' + agent.id + '/receipts/' + rid + '?bundle=1')).body;
  const answer = (await api('/agents/' + agent.id + '/receipts/' + rid)).body;
  const flipAt = (h, i) => h.slice(0, i) + (h[i] === '0' ? '1' : '0') + h.slice(i + 1);
  async function paste(text) {
    await page.fill('#reply-paste', text);
    await page.evaluate(() => document.getElementById('reply-result').replaceChildren());
    await page.click('#reply-form button[type=submit]');
    await page.waitForSelector('#reply-result [data-testid=chain-links], #reply-result [data-testid=reply-error]');
    return chainLinks(page, '#reply-result');
  }
  let got = await paste(JSON.stringify(bundle));
  check('paste: the bundle as served holds', got.every((l) => l.status !== 'fail') &&
    got.find((l) => l.id === 'signature').status === 'ok', JSON.stringify(got));
  got = await paste(JSON.stringify(answer));
  check('paste: the receipt route\'s answer is checked against its agent\'s statement', got.length === 12 &&
    got.every((l) => l.status !== 'fail'), JSON.stringify(got));
  const tampered = [
    ['a signature byte', Object.assign({}, bundle, { signature: flipAt(bundle.signature, 10) }), 'signature',
      'Ed25519 signature does not verify'],
    ['a receipt field', Object.assign({}, answer, { receipt: answer.receipt.replace('"roomId":"', '"roomId":"x') }),
      'signature', 'does not verify'],
    ['the prev hash', Object.assign({}, bundle, { prev: flipAt(bundle.prev, 3) }), 'chain', 'is not the receipt\'s'],
    ['a quote byte', Object.assign({}, bundle, { quote: flipAt(bundle.quote, 400) }), 'quote', 'quote signature is invalid'],
    ['an event', Object.assign({}, bundle, { eventLog: bundle.eventLog.replace('"digest":"', '"digest":"0') }), 'rtmr',
      'digest'],
  ];
  for (const [what, b, id, why] of tampered) {
    got = await paste(JSON.stringify(b));
    const red = got.filter((l) => l.status === 'fail');
    check('paste: ' + what + ' turns link ' + id + ' red, with its reason', red.length === 1 && red[0].id === id &&
      red[0].text.includes(why) && red[0].bg === RED, JSON.stringify(red));
  }
  await page.screenshot({ path: path.join(shots, 'dashboard-chain-tampered.png'), fullPage: false });
  // Hostile strings are text: an agent id that is markup shows as itself, and nothing runs.
  const hostile = '<img src=x onerror=window.__pwned=1>';
  got = await paste(JSON.stringify(Object.assign({}, bundle, {
    receipt: bundle.receipt.replace(/"agentId":"[^"]*"/, '"agentId":"' + hostile + '"') })));
  const shownText = await page.textContent('#reply-result');
  check('paste: a hostile agent id is shown as text', shownText.includes(hostile), shownText.slice(0, 200));
  check('paste: and is not markup', (await page.$$('#reply-result img')).length === 0 &&
    await page.evaluate(() => window.__pwned === undefined));
  check('paste: its broken link is still named', got.some((l) => l.status === 'fail'), JSON.stringify(got));

  check('no console errors after it', consoleErrors.length === 0, JSON.stringify(consoleErrors));
} finally {
  await ctx.close();
}
for (const f of ['dashboard.png', 'dashboard-explorer.png', 'dashboard-chat.png', 'dashboard-chain.png',
  'dashboard-chain-tampered.png']) console.log('screenshot: ' + path.join(shots, f));
if (failures > 0) {
  console.error(failures + ' check(s) failed');
  process.exit(1);
}
