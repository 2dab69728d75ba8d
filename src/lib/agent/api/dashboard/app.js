// teeliza dashboard: plain DOM, no framework, no CDN. Every value from the
// agent is put in the page as text (never as HTML).
'use strict';

const state = { agents: [], logSeq: 0, logTimer: null };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function setStatus(text) {
  document.getElementById('status').textContent = text || '';
}

function token() {
  return sessionStorage.getItem('teeliza-token') || '';
}

// fetch with the API token when one was given; a 401 asks for it.
async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = Object.assign({}, opts.headers || {});
  if (token()) opts.headers.Authorization = 'Bearer ' + token();
  const res = await fetch(path, opts);
  if (res.status === 401) {
    document.getElementById('token-form').hidden = false;
    throw new Error('the API wants a token: enter API_TOKEN above');
  }
  return res;
}

async function apiJson(path, options) {
  const res = await api(path, options);
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    throw new Error(path + ': HTTP ' + res.status + ', not JSON');
  }
  return { status: res.status, body };
}

function shortHex(h) {
  return h && h.length > 24 ? h.slice(0, 12) + '…' + h.slice(-10) : (h || '');
}

// Where a verdict is rooted, in words; only 'intel' is Intel's.
const ROOTS = {
  intel: 'Intel-rooted',
  simulator: 'Simulator-rooted (not Intel)',
  caller: 'Rooted in your trust root (not Intel)',
};

function badgeFor(v) {
  if (!v) return el('span', { class: 'badge none', text: 'no verdict' });
  let cls = 'failed';
  let text = 'Failed';
  if (v.verdict === 'trusted' || v.verdict === 'untrusted') {
    const root = ROOTS[v.rootedIn] ? v.rootedIn : 'unknown';
    text = (ROOTS[root] || 'Unknown root') + (v.verdict === 'untrusted' ? ', untrusted' : ', trusted');
    cls = v.verdict + ' ' + root;
  } else if (!v.verdict) {
    text = 'Not verified';
  }
  return el('span', { class: 'badge ' + cls, 'data-testid': 'verdict-badge', text });
}

function verdictBlock(v) {
  const reason = v ? (v.reason || v.error || '') : '';
  return el('div', { class: 'verdict', 'data-testid': 'verdict' },
    badgeFor(v),
    el('span', { class: 'reason', 'data-testid': 'verdict-label', text: v ? (v.label || '') : '' }),
    reason && v && v.label && v.label.indexOf(reason) < 0 ? el('div', { class: 'muted', text: reason }) : null);
}

function kvTable(rows) {
  const t = el('table');
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === '') continue;
    t.append(el('tr', {}, el('th', { text: k }), el('td', { class: 'hex mono', text: String(v) })));
  }
  return t;
}

function copyButton(getText) {
  const b = el('button', { type: 'button', class: 'secondary', text: 'Copy' });
  b.addEventListener('click', async () => {
    const text = getText();
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = 'Copied';
    } catch (e) {
      b.textContent = 'Select + Ctrl-C';
    }
    setTimeout(() => { b.textContent = 'Copy'; }, 1500);
  });
  return b;
}

function quoteBox(hex) {
  const ta = el('textarea', { readonly: '', spellcheck: 'false', 'data-testid': 'quote' });
  ta.value = hex;
  return el('div', { class: 'quote-box' }, ta, copyButton(() => hex));
}

function tappdInfoBlock(info) {
  if (!info) return null;
  if (info.error) return el('p', { class: 'muted', text: 'Info unavailable: ' + info.error });
  let tcb = {};
  try { tcb = typeof info.tcb_info === 'string' ? JSON.parse(info.tcb_info) : (info.tcb_info || {}); } catch (e) { tcb = {}; }
  return el('div', {},
    el('h4', { text: 'Info (tappd or dstack)' }),
    kvTable([['app id', info.app_id], ['instance id', info.instance_id], ['app name', info.app_name],
      ['compose hash', info.compose_hash || tcb.compose_hash], ['device id', info.device_id || tcb.device_id],
      ['MRTD', tcb.mrtd]]));
}

function reportDataBlock(rd) {
  if (!rd || !rd.json) return el('p', { class: 'muted', text: 'No report data stored.' });
  const rows = [];
  if (rd.binds && typeof rd.binds === 'object') {
    for (const [k, v] of Object.entries(rd.binds)) rows.push([k, typeof v === 'object' ? JSON.stringify(v) : v]);
  }
  return el('div', {},
    el('p', {},
      'report_data = ' + (rd.hash || 'SHA-512("app-data:" ‖ json)') + ' ',
      el('span', { class: rd.matches ? 'ok' : 'bad', text: rd.matches ? '✓ matches the quote' : '✗ does not match the quote' })),
    kvTable(rows),
    el('details', {}, el('summary', { text: 'exact JSON and hashes' }),
      kvTable([['json', rd.json], ['in quote', rd.inQuote], ['recomputed', rd.expected]])));
}

function rtmrBlock(att) {
  const t = el('table', {}, el('tr', {}, el('th', { text: 'RTMR' }), el('th', { text: 'in the quote' }),
    el('th', { text: 'replayed from the event log' }), el('th', { text: '' })));
  (att.replay || []).forEach((r) => {
    t.append(el('tr', {}, el('th', { text: 'RTMR' + r.rtmr }), el('td', { class: 'hex', text: r.quoted || '' }),
      el('td', { class: 'hex', text: r.replayed }),
      el('td', { class: r.matches ? 'ok' : 'bad', text: r.matches ? '✓' : '✗' })));
  });
  if (!att.replay) {
    (att.rtmrs || []).forEach((h, i) => t.append(el('tr', {}, el('th', { text: 'RTMR' + i }), el('td', { class: 'hex', text: h || '' }))));
  }
  return t;
}

function eventLogBlock(att) {
  if (att.eventLogError) return el('p', { class: 'muted', text: 'Event log: ' + att.eventLogError });
  const rows = att.eventLog || [];
  const t = el('table', {}, el('tr', {}, el('th', { text: '#' }), el('th', { text: 'IMR' }), el('th', { text: 'type' }),
    el('th', { text: 'event' }), el('th', { text: 'digest' }), el('th', { text: 'RTMR after this event' })));
  for (const r of rows) {
    t.append(el('tr', {}, el('td', { text: r.index }), el('td', { text: r.imr }), el('td', { text: '0x' + Number(r.eventType).toString(16) }),
      el('td', { text: r.event }), el('td', { class: 'hex', title: r.digest, text: shortHex(r.digest) }),
      el('td', { class: 'hex', title: r.running, text: shortHex(r.running) })));
  }
  return el('details', {}, el('summary', { text: 'event log: ' + rows.length + ' events (the chain of trust into each RTMR)' }),
    el('div', { class: 'scroll' }, t));
}

// Where the wallet's key came from: dstack's GetKey chain walked to the KMS root, or tappd (no chain).
function keyChainBlock(kc) {
  if (!kc) return null;
  if (kc.api !== 'dstack') {
    return el('div', { 'data-testid': 'key-chain' }, el('h4', { text: 'key chain' }),
      el('p', { class: 'muted', text: 'tappd key: ' + (kc.note || 'no KMS chain') }));
  }
  const mark = (ok, text) => el('span', { class: ok ? 'ok' : 'bad', text: (ok ? '✓ ' : '✗ ') + text });
  const rows = [['GetKey path', kc.path], ['purpose', kc.purpose === '' ? '""' : kc.purpose], ['algorithm', kc.algorithm],
    ['key (public)', kc.publicKey || ''], ['app key (from chain[0])', kc.appKey || ''],
    ['app id', (kc.appId || '') + (kc.appIdFromEventLog ? ' (attested app-id event' +
      (kc.eventLogBoundToQuote ? ', log bound to the quote\'s RTMR3)' : ')') : '')],
    ['KMS root (from chain[1])', (kc.kmsRoot || '') + (kc.kmsRootPinned ? ' (compared with TEE_KMS_ROOT)' : ' (no root pinned)')]];
  return el('div', { 'data-testid': 'key-chain', 'data-verified': kc.verified ? 'true' : 'false' },
    el('h4', {}, 'key chain (dstack GetKey) ',
      kc.verified ? mark(true, 'verified to the pinned KMS root') : mark(false, 'broken at link ' + kc.brokenLink)),
    kc.verified ? '' : el('p', { class: 'bad', text: kc.message || '' }),
    kvTable(rows));
}

function walletBlock(w) {
  const box = el('div', { class: 'wallet', 'data-chain': w.chain },
    el('h3', {}, (w.chain === 'evm' ? 'EVM' : 'Solana') + ' wallet '),
    el('div', { class: 'mono hex', 'data-testid': 'wallet-' + w.chain, text: w.address }));
  box.append(keyChainBlock(w.keyChain) || '');
  if (w.attestationError) {
    box.append(el('p', { class: 'bad', text: 'Attestation: ' + w.attestationError }));
    return box;
  }
  const att = w.attestation || {};
  box.append(verdictBlock(att.verdict),
    el('h4', { text: 'derive-time quote (' + (att.quoteBytes || 0) + ' bytes, id ' + w.quoteId + ')' }),
    quoteBox(att.quote || ''),
    el('h4', { text: 'what report_data binds' }), reportDataBlock(att.reportData),
    el('h4', { text: 'RTMR0–3' }), rtmrBlock(att), eventLogBlock(att));
  return box;
}

async function loadAgents() {
  const box = document.getElementById('agents');
  const { body } = await apiJson('/agents');
  state.agents = body.agents || [];
  fillChatAgents();
  box.replaceChildren();
  if (state.agents.length === 0) box.append(el('p', { class: 'muted', text: 'No agent is running.' }));
  for (const a of state.agents) {
    const card = el('div', { class: 'card', 'data-agent': a.id }, el('h2', { text: a.name }), el('div', { class: 'muted mono', text: a.id }),
      el('p', { class: 'muted', text: 'loading wallets and attestation…' }));
    box.append(card);
    const { status, body: d } = await apiJson('/dashboard/api/agents/' + encodeURIComponent(a.id));
    card.lastChild.remove();
    if (status !== 200) {
      card.append(el('p', { class: 'bad', text: d.error || ('HTTP ' + status) }));
      continue;
    }
    const tee = d.tee || {};
    card.append(el('p', {}, tee.enabled ? 'TEE plugin on' + (tee.simulated ? ' (simulator)' : '') +
      (tee.api ? ', ' + tee.api + ' API' : '') +
      (tee.keyScheme ? ', key scheme ' + tee.keyScheme : '') : 'TEE plugin off (TEE_MODE not set)'));
    if (d.walletsError) card.append(el('p', { class: 'bad', text: 'Wallets unavailable: ' + d.walletsError }));
    card.append(tappdInfoBlock(d.tappdInfo) || '');
    for (const w of d.wallets || []) card.append(walletBlock(w));
  }
}

function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj || {})) {
    const name = prefix ? prefix + '.' + k : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, name, out);
    else out.push([name, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return out;
}

async function verifyQuote(ev) {
  ev.preventDefault();
  const result = document.getElementById('verify-result');
  const quote = document.getElementById('verify-quote').value.trim();
  const coll = document.getElementById('verify-collateral').value.trim();
  const root = document.getElementById('verify-root').value.trim();
  const now = document.getElementById('verify-now').value.trim();
  const req = { quote };
  if (root) req.trustRoot = root;
  result.replaceChildren(el('p', { class: 'muted', text: 'verifying…' }));
  try {
    if (coll) req.collateral = JSON.parse(coll);
    if (now) req.now = Number(now);
  } catch (e) {
    result.replaceChildren(el('p', { class: 'bad', text: 'The collateral is not JSON: ' + e.message }));
    return;
  }
  const { status, body } = await apiJson('/verify', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
  result.replaceChildren();
  if (status !== 200) {
    result.append(el('p', { class: 'bad', 'data-testid': 'verify-error', text: 'HTTP ' + status + ': ' + (body.error || '') }));
    if (body.quote) result.append(el('h4', { text: 'decoded fields' }), kvTable(flatten(body.quote, '', [])));
    return;
  }
  const summary = Object.assign({}, body);
  delete summary.quote;
  result.append(verdictBlock(body), el('h4', { text: 'verdict' }), kvTable(flatten(summary, '', [])));
  if (body.quote) result.append(el('h4', { text: 'decoded fields' }), kvTable(flatten(body.quote, '', [])));
}

// The chain of trust as the server judged it (POST /verify/reply, GET /dashboard/api/agents/:id/chain).
const LINK_MARKS = { ok: '✓', fail: '✗', 'not-checked': '–' };

function linkStatus(s) {
  return Object.prototype.hasOwnProperty.call(LINK_MARKS, s) ? s : 'not-checked';
}

function linkList(links) {
  const ol = el('ol', { class: 'chain', 'data-testid': 'chain-links' });
  for (const l of links || []) {
    const st = linkStatus(l.status);
    ol.append(el('li', { class: 'link ' + st, 'data-link': String(l.id), 'data-status': st },
      el('span', { class: 'mark', text: LINK_MARKS[st] }),
      el('span', { class: 'name', text: String(l.name) }),
      el('div', { class: 'reason', text: String(l.reason) })));
  }
  return ol;
}

function chainVerdict(v) {
  const r = v.receipt || {};
  const root = ROOTS[v.rootedIn] ? ' — ' + ROOTS[v.rootedIn] : '';
  return el('div', { 'data-testid': 'chain-verdict' },
    el('p', { class: 'chain-summary ' + (v.ok ? 'ok' : 'fail'), 'data-testid': 'chain-summary',
      text: v.ok ? '✓ every link holds' + root : '✗ broken at ' + (v.link || '?') + ': ' + (v.message || '') }),
    kvTable([['receipt', r.id], ['seq', r.seq], ['agent', r.agentId], ['reply key', r.replyKey],
      ['collateral', v.collateralSource]]),
    linkList(v.links));
}

// A receipt's time (ms since 1970) for people; anything else as it came.
function isoTime(t) {
  const d = new Date(typeof t === 'number' ? t : NaN);
  return Number.isNaN(d.getTime()) ? String(t === undefined || t === null ? '' : t) : d.toISOString();
}

function receiptsTable(rows) {
  const t = el('table', { 'data-testid': 'chain-receipts' }, el('tr', {}, el('th', { text: 'seq' }),
    el('th', { text: 'receipt id' }), el('th', { text: 'time' }), el('th', { text: 'room' }), el('th', { text: '' }),
    el('th', { text: 'check' })));
  for (const r of rows || []) {
    const st = linkStatus(r.status);
    t.append(el('tr', { class: 'receipt-' + st, 'data-status': st }, el('td', { text: r.seq }),
      el('td', { class: 'hex', title: r.id, text: shortHex(r.id) }),
      el('td', { text: isoTime(r.time) }),
      el('td', { text: r.roomId || '' }), el('td', { class: st === 'ok' ? 'ok' : (st === 'fail' ? 'bad' : ''), text: LINK_MARKS[st] }),
      el('td', { class: 'muted', text: r.reason || '' })));
  }
  return t;
}

async function loadChains() {
  const box = document.getElementById('chains');
  const { body } = await apiJson('/agents');
  state.agents = body.agents || [];
  box.replaceChildren();
  if (state.agents.length === 0) box.append(el('p', { class: 'muted', text: 'No agent is running.' }));
  for (const a of state.agents) {
    const card = el('div', { class: 'card', 'data-chain-agent': a.id }, el('h3', { text: a.name }),
      el('p', { class: 'muted', text: 'checking its chain…' }));
    box.append(card);
    const { status, body: d } = await apiJson('/dashboard/api/agents/' + encodeURIComponent(a.id) + '/chain');
    card.lastChild.remove();
    if (status !== 200) {
      card.append(el('p', { class: 'bad', text: d.error || ('HTTP ' + status) }));
      continue;
    }
    if (!d.latest) {
      card.append(el('p', { class: 'muted', 'data-testid': 'chain-note', text: d.note || 'no receipt yet' }));
      continue;
    }
    card.append(el('h4', { text: 'latest reply, link by link' }), chainVerdict(d.latest),
      el('h4', { text: 'recent receipts (newest first)' }), receiptsTable(d.receipts));
  }
}

async function checkReply(ev) {
  ev.preventDefault();
  const result = document.getElementById('reply-result');
  const req = { bundle: document.getElementById('reply-paste').value };
  const kms = document.getElementById('reply-kms').value.trim();
  if (kms) req.kmsRoot = kms;
  result.replaceChildren(el('p', { class: 'muted', text: 'checking…' }));
  const { status, body } = await apiJson('/verify/reply', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(req) });
  result.replaceChildren();
  if (status !== 200) {
    result.append(el('p', { class: 'bad', 'data-testid': 'reply-error', text: 'HTTP ' + status + ': ' + (body.error || '') }));
    return;
  }
  result.append(chainVerdict(body));
}

async function pollLogs() {
  try {
    const { status, body } = await apiJson('/dashboard/api/logs?after=' + state.logSeq);
    if (status === 200) {
      const pre = document.getElementById('logs');
      for (const l of body.lines) {
        pre.append(new Date(l.time).toISOString().slice(11, 23) + '  ' + l.line + '\n');
        state.logSeq = l.seq;
      }
    }
  } catch (e) {
    setStatus(e.message);
  }
}

function fillChatAgents() {
  const sel = document.getElementById('chat-agent');
  const keep = sel.value;
  sel.replaceChildren(...state.agents.map((a) => el('option', { value: a.id, text: a.name })));
  if (keep) sel.value = keep;
}

function chatLine(who, text, cls) {
  const log = document.getElementById('chat-log');
  log.append(el('div', { class: 'msg ' + cls }, el('span', { class: 'who', text: who + ':' }), el('span', { class: 'text', text })));
  log.scrollTop = log.scrollHeight;
}

async function sendChat(ev) {
  ev.preventDefault();
  const input = document.getElementById('chat-input');
  const agentId = document.getElementById('chat-agent').value;
  const text = input.value.trim();
  if (!text || !agentId) return;
  input.value = '';
  chatLine('You', text, 'user');
  const agent = state.agents.find((a) => a.id === agentId);
  const { status, body } = await apiJson('/' + encodeURIComponent(agentId) + '/message', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text, userId: 'dashboard', userName: 'dashboard', roomId: 'dashboard-' + agentId })
  });
  if (status !== 200) {
    chatLine('error', (body && (body.error || body.details)) || ('HTTP ' + status), 'bad');
    return;
  }
  for (const m of body) chatLine(agent ? agent.name : 'Agent', m.text || '', 'agent');
}

function show(view) {
  for (const b of document.querySelectorAll('nav button')) b.classList.toggle('active', b.dataset.view === view);
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + view;
  clearInterval(state.logTimer);
  if (view === 'chain') guard(loadChains)();
  if (view === 'logs') {
    pollLogs();
    state.logTimer = setInterval(pollLogs, 2000);
  }
}

function guard(fn) {
  return (...args) => fn(...args).catch((e) => setStatus(e.message));
}

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('nav button')) b.addEventListener('click', () => show(b.dataset.view));
  document.getElementById('verify-form').addEventListener('submit', guard(verifyQuote));
  document.getElementById('reply-form').addEventListener('submit', guard(checkReply));
  document.getElementById('chat-form').addEventListener('submit', guard(sendChat));
  document.getElementById('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('teeliza-token', document.getElementById('token').value);
    document.getElementById('token-form').hidden = true;
    setStatus('');
    guard(loadAgents)();
  });
  guard(loadAgents)();
});
