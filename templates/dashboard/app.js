// The bccsink dashboard: asks for the API token once (sessionStorage), then every 10 s reads
// /api/overview, /api/stats, /api/messages (every sink's, when several share the
// database), /api/quarantine (SMTP mode's held messages, released or deleted with its
// buttons) and /api/retro (retro-alerts: a file's verdict that turned later; a click lists
// the messages that carried it) and draws them. Subjects, file names and every
// other value come from mail an attacker wrote: they reach the page only as textContent or
// attribute values, never as markup, and only http(s) URLs become links. The chart is
// chart.js's (renderChart); both are classic scripts sharing these helpers.
'use strict';

const TOKEN_KEY = 'bccsink.token';
const REFRESH_MS = 10000;
const QUEUE_KEYS = ['pending', 'analyzing', 'checked', 'reported', 'failed'];
const REPORT_KEYS = ['due', 'sent', 'undeliverable'];

const state = { token: null, busy: false, again: false, timer: null, selected: null, retro: null, stats: null, refreshes: 0 };

const $ = (id) => document.getElementById(id);

// el('td', {class: 'num', text: '3'}, child...): an element; strings become text nodes.
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const num = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const pad = (n) => String(n).padStart(2, '0');

function when(iso, withSeconds) {
  const t = Date.parse(iso);
  if (!iso || Number.isNaN(t)) return iso || '–';
  const d = new Date(t);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
            `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${s}:${pad(d.getSeconds())}` : s;
}

function bytes(n) {
  if (typeof n !== 'number') return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

function badge(verdict) {
  const v = typeof verdict === 'string' && verdict ? verdict : 'none';
  return el('span', { class: `badge v-${v.replace(/[^a-z]/g, '')}`, text: v });
}

// A link only for http(s) URLs; anything else (javascript:, data:...) stays text.
function safeLink(url, label) {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      return el('a', { href: u.href, rel: 'noopener noreferrer', target: '_blank', text: label });
    }
  } catch (e) { /* not a URL: shown as text */ }
  return el('span', { class: 'muted', text: url });
}

// --- the API -----------------------------------------------------------------------------
class ApiError extends Error {
  constructor(kind, status, message, body) {
    super(message);
    this.kind = kind;  // 'auth' | 'off' | 'network' | 'http'
    this.status = status;
    this.body = body;
  }
}

async function api(path, options) {
  let res;
  try {
    res = await fetch(path, Object.assign({}, options, {
      headers: { Accept: 'application/json', Authorization: `Bearer ${state.token}` },
      cache: 'no-store', credentials: 'omit',
    }));
  } catch (e) {
    throw new ApiError('network', 0, e.message || 'network error');
  }
  let body = null;
  try { body = JSON.parse(await res.text()); } catch (e) { body = null; }
  const message = (body && typeof body.error === 'string' && body.error) || res.statusText ||
                  `HTTP ${res.status}`;
  if (res.status === 401) throw new ApiError('auth', 401, message, body);
  if (res.status === 404 && /HttpToken/.test(message)) throw new ApiError('off', 404, message, body);
  if (!res.ok) throw new ApiError('http', res.status, message, body);
  if (body === null || typeof body !== 'object') throw new ApiError('http', res.status, 'not JSON');
  return body;
}

// --- token, banner, refresh ----------------------------------------------------------------
function showBanner(text) {
  $('banner').textContent = text;
  $('banner').hidden = false;
}

function hideBanner() {
  $('banner').hidden = true;
}

function showLogin(message) {
  state.token = null;
  hideBanner();
  $('controls').hidden = true;
  sessionStorage.removeItem(TOKEN_KEY);
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-error').hidden = !message;
  $('token').value = '';
  $('token').focus();
}

function handleError(e) {
  if (e.kind === 'auth') {
    showLogin(`The token was refused (${e.message}). Enter HttpToken again.`);
  } else if (e.kind === 'off') {
    $('dashboard').hidden = true;
    showBanner('The JSON API is off: set HttpToken in bccsink.conf and restart bccsink.');
  } else if (e.kind === 'network') {
    document.body.classList.add('stale');
    showBanner(`Cannot reach bccsink (${e.message}); the figures below are from the last ` +
               'successful refresh. Retrying every 10 s.');
  } else {
    showBanner(`The API answered ${e.status}: ${e.message}`);
  }
}

function stop() {
  clearInterval(state.timer);
  state.timer = null;
}

function start(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  $('controls').hidden = false;
  if (!state.timer) state.timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  refresh();
}

function rangeHours() {
  return Number($('range').value) || 24;
}

async function refresh() {
  if (!state.token) return;
  // Asked while one runs (a button's action just changed something): once more after it.
  if (state.busy) { state.again = true; return; }
  state.busy = true;
  const since = new Date(Date.now() - rangeHours() * 3600e3).toISOString();
  const calls = [
    api('api/overview'),
    api(`api/stats?since=${encodeURIComponent(since)}`),
    api('api/messages?verdict=dangerous&limit=50'),
    api('api/messages?verdict=suspicious&limit=50'),
    api('api/messages?limit=200'),  // spoofed ones of any verdict: the API has no spoof filter
    api('api/quarantine?limit=100'),  // quarantined, discarded and rejected
    api('api/retro?limit=20'),  // retro-alerts, newest first
  ];
  try {
    const results = await Promise.allSettled(calls);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    const fatal = failed.find((e) => e.kind === 'auth') || failed.find((e) => e.kind === 'off') ||
                  failed.find((e) => e.kind === 'network');
    if (fatal) {
      handleError(fatal);
      return;
    }
    const [overview, stats, dangerous, suspicious, recent, quarantine, retro] = results.map((r) => r.value);
    $('dashboard').hidden = false;
    document.body.classList.remove('stale');
    if (overview) renderOverview(overview);
    if (stats) {
      state.stats = stats;
      renderChart(stats);
      renderSinks(stats);
      renderMismatches(stats);
    }
    if (dangerous && suspicious && recent) {
      const spoofed = (recent.messages || []).filter((m) => m.spoofed === true);
      renderMessages([...(dangerous.messages || []), ...(suspicious.messages || []), ...spoofed]);
    }
    if (quarantine) renderQuarantine(quarantine.messages || []);
    if (retro) renderRetro(retro.alerts || []);
    if (failed.length) handleError(failed[0]);
    else hideBanner();
    $('updated').textContent = `updated ${when(new Date().toISOString(), true)}`;
    state.refreshes++;
    document.body.dataset.refreshes = String(state.refreshes);
  } finally {
    state.busy = false;
    if (state.again) {
      state.again = false;
      refresh();
    }
  }
}

// --- overview: queue, reports, analyzers ---------------------------------------------------
function counts(dl, keys, values) {
  dl.replaceChildren();
  for (const k of keys) {
    const v = values ? values[k] : undefined;
    dl.append(el('div', { class: `count c-${k}` },
                 el('dt', { text: k }),
                 el('dd', { text: num(v), data: { key: k, value: String(v ?? '') } })));
  }
}

function renderOverview(o) {
  $('version').textContent = o.version ? `v${o.version}` : '';
  counts($('queue'), QUEUE_KEYS, o.queue);
  counts($('reports'), REPORT_KEYS, o.reports);
  $('spool-free').textContent = bytes(o.spool_free_bytes);
  renderVerdictSlo(o.verdict_slo);
  const body = $('analyzers').tBodies[0];
  body.replaceChildren();
  const list = Array.isArray(o.analyzers) ? o.analyzers : [];
  for (const a of list) {
    const ok = a.healthy === true;
    body.append(el('tr', { data: { analyzer: String(a.name) } },
      el('td', { text: String(a.name) }),
      el('td', {}, el('span', { class: `badge ${ok ? 'healthy' : 'unhealthy'}`,
                                text: ok ? 'healthy' : 'unhealthy' })),
      el('td', { class: 'num', text: num(a.submitted) }),
      el('td', { class: 'num', text: num(a.answered) }),
      el('td', { class: `num${a.errors ? ' bad' : ''}`, text: num(a.errors) }),
      el('td', { class: 'num', text: num(a.in_flight) }),
      el('td', { class: 'num', text: typeof a.latency_ms_p50 === 'number' ? `${num(a.latency_ms_p50)} ms` : '–' }),
      el('td', { class: 'clip', text: a.last_error || '', title: a.last_error || '' })));
  }
  $('analyzers').hidden = list.length === 0;
  $('analyzers-empty').hidden = list.length !== 0;
}

// --- the verdict SLO: the share checked within BccVerdictSlo, the oldest pending copy -----
function seconds(n) {
  if (typeof n !== 'number') return '–';
  const short = (v) => v.toFixed(1).replace(/\.0$/, '');  // "15 min", "2.5 h"
  if (n >= 3600) return `${short(n / 3600)} h`;
  if (n >= 60) return `${short(n / 60)} min`;
  return `${short(n)} s`;
}

function renderVerdictSlo(slo) {
  $('verdict-slo').hidden = !slo;
  if (!slo) return;
  $('slo-target').textContent = seconds(slo.target_seconds);
  const ratio = $('slo-ratio');
  ratio.textContent = typeof slo.ratio === 'number' ? `${(slo.ratio * 100).toFixed(1)} %` : '–';
  ratio.title = `${num(slo.within)} within, ${num(slo.late)} late or failed, ${num(slo.overdue)} still waiting past it`;
  ratio.classList.toggle('bad', typeof slo.ratio === 'number' && slo.ratio < 0.99);
  const oldest = $('slo-oldest');
  oldest.textContent = seconds(slo.oldest_pending_seconds);
  oldest.classList.toggle('bad', slo.oldest_pending_seconds > slo.target_seconds);
}

// --- sinks: each one's share of the statistics, when several share the database ---------
function renderSinks(stats) {
  const list = Array.isArray(stats.sinks) ? stats.sinks : [];
  $('sinks').textContent = 'Messages by sink: ' +
    list.map((s) => `${String(s.sink)} ${num((s.totals || {}).messages)}`).join(' · ');
  $('sinks').hidden = list.length < 2;
}

// --- mismatches -----------------------------------------------------------------------------
function renderMismatches(stats) {
  const list = ((stats.totals || {}).mismatches || []).slice()
    .sort((a, b) => (b.count - a.count) || String(a.extension).localeCompare(String(b.extension)))
    .slice(0, 10);
  const body = $('mismatches').tBodies[0];
  body.replaceChildren(...list.map((mm) => el('tr', {},
    el('td', { text: `${mm.extension} → ${mm.family}` }),
    el('td', { class: 'mono', text: String(mm.true_type || '') }),
    el('td', { class: 'num', text: num(mm.count) }))));
  $('mismatches').hidden = list.length === 0;
  $('mismatches-empty').hidden = list.length !== 0;
}

// --- recent messages and the report panel ------------------------------------------------------
function renderMessages(all) {
  const byId = new Map(all.map((m) => [String(m.id), m]));
  const rows = [...byId.values()].sort((a, b) =>
    (Date.parse(b.received_at) || 0) - (Date.parse(a.received_at) || 0) || String(b.id).localeCompare(String(a.id)))
    .slice(0, 50);
  const body = $('messages').tBodies[0];
  body.replaceChildren(...rows.map((msg) => {
    const tr = el('tr', { tabindex: '0', class: msg.id === state.selected ? 'selected' : '', data: { id: String(msg.id) } },
      el('td', { class: 'nowrap', text: when(msg.received_at), title: String(msg.received_at || '') }),
      el('td', {}, badge(msg.verdict)),
      el('td', {}, msg.spoofed ? el('span', { class: 'badge spoofed', text: 'spoofed' }) : ''),
      el('td', { class: 'clip sender', text: String(msg.sender || ''), title: String(msg.sender || '') }),
      el('td', { class: 'clip subject', text: String(msg.subject ?? ''), title: String(msg.subject ?? '') }),
      el('td', { class: 'num', text: num(msg.files) }),
      el('td', { class: 'clip sink', text: String(msg.sink ?? ''), title: String(msg.sink ?? '') }));
    tr.addEventListener('click', () => openReport(msg.id));
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openReport(msg.id); });
    return tr;
  }));
  $('messages').hidden = rows.length === 0;
  $('messages-empty').hidden = rows.length !== 0;
}

// --- quarantine: release or delete a held message ---------------------------------------------
function renderQuarantine(rows) {
  const body = $('quarantine').tBodies[0];
  body.replaceChildren(...rows.map((h) => {
    const id = String(h.id);
    const rcpts = list(h.recipients);
    const release = el('button', { type: 'button', text: 'Release', data: { action: 'release' } });
    const remove = el('button', { type: 'button', class: 'danger', text: 'Delete', data: { action: 'delete' } });
    release.addEventListener('click', () => changeHeld(id, 'release', [release, remove]));
    remove.addEventListener('click', () => changeHeld(id, 'delete', [release, remove]));
    return el('tr', { data: { id, state: String(h.state) } },
      el('td', { class: 'nowrap', text: when(h.since), title: String(h.since || '') }),
      el('td', { text: String(h.state) }),
      el('td', {}, badge(h.verdict)),
      el('td', { class: 'clip', text: String(h.sender || ''), title: String(h.sender || '') }),
      el('td', { class: 'clip', text: rcpts, title: rcpts }),
      el('td', { class: 'clip why', text: String(h.why || ''), title: String(h.why || '') }),
      el('td', { class: 'clip sink', text: String(h.sink ?? ''), title: String(h.sink ?? '') }),
      el('td', { class: 'actions' }, release, remove));
  }));
  $('quarantine').hidden = rows.length === 0;
  $('quarantine-empty').hidden = rows.length !== 0;
}

// POST api/quarantine/ID/release|delete; a delete is confirmed first (it cannot be undone).
async function changeHeld(id, action, buttons) {
  if (action === 'delete' &&
      !window.confirm(`Delete message ${id}? It will never be delivered (the row is kept as deleted).`)) {
    return;
  }
  for (const b of buttons) b.disabled = true;
  const note = $('quarantine-note');
  note.textContent = action === 'release' ? 'Releasing…' : 'Deleting…';
  try {
    const a = await api(`api/quarantine/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    note.textContent = action === 'release'
      ? `Message ${id} released: sink ${String(a.delivered_by || a.sink)} delivers it.`
      : `Message ${id} deleted.`;
  } catch (e) {
    if (e.kind === 'http') note.textContent = `${action === 'release' ? 'Release' : 'Delete'} refused (${e.status}): ${e.message}`;
    else handleError(e);
  } finally {
    for (const b of buttons) b.disabled = false;
    refresh();
  }
}

// --- retro-alerts: a file's verdict that turned; a click lists the messages that carried it ---
function renderRetro(rows) {
  const body = $('retro').tBodies[0];
  body.replaceChildren(...rows.map((a) => {
    const id = String(a.id);
    const because = [String(a.analyzer || ''), list(a.threats)].filter(Boolean).join(': ');
    const report = [String(a.report_status || ''), a.report_error ? String(a.report_error) : ''].filter(Boolean).join(': ');
    const tr = el('tr', { tabindex: '0', class: id === state.retro ? 'selected' : '', data: { id, status: String(a.report_status || '') } },
      el('td', { class: 'nowrap', text: when(a.created_at), title: String(a.created_at || '') }),
      el('td', { class: 'clip file', text: String(a.file_name || a.sha256 || ''), title: `${String(a.file_path || '')} ${String(a.sha256 || '')}` }),
      el('td', {}, badge(a.verdict)),
      el('td', { class: 'clip', text: because, title: because }),
      el('td', { class: 'clip', text: String(a.cause_text || a.cause || ''), title: String(a.cause || '') }),
      el('td', { class: 'num', text: num(a.message_count) }),
      el('td', { class: 'clip', text: report, title: report }),
      el('td', { class: 'clip sink', text: String(a.sink ?? ''), title: String(a.sink ?? '') }));
    tr.addEventListener('click', () => openRetro(id));
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openRetro(id); });
    return tr;
  }));
  $('retro').hidden = rows.length === 0;
  $('retro-empty').hidden = rows.length !== 0;
}

// GET api/retro/ID: the messages that carried the file, each opening its report.
async function openRetro(id) {
  state.retro = id;
  for (const tr of $('retro').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
  const detail = $('retro-detail');
  detail.hidden = false;
  detail.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  try {
    const a = await api(`api/retro/${encodeURIComponent(id)}`);
    if (state.retro !== id) return;
    const rows = (a.messages || []).map((m) => {
      const rcpts = list(m.original_recipients && m.original_recipients.length ? m.original_recipients : m.recipients);
      const open = el('button', { type: 'button', class: 'plain mono', text: String(m.id) });
      open.addEventListener('click', () => openReport(String(m.id)));
      return el('tr', { data: { id: String(m.id) } },
        el('td', {}, open),
        el('td', { class: 'nowrap', text: when(m.received_at), title: String(m.received_at || '') }),
        el('td', { class: 'clip', text: String(m.sender || '<>'), title: String(m.sender || '') }),
        el('td', { class: 'clip', text: rcpts, title: rcpts }),
        el('td', { class: 'clip', text: String(m.file_path || ''), title: String(m.file_path || '') }),
        el('td', {}, badge(m.earlier_verdict), ' → ', badge(m.verdict)));
    });
    detail.replaceChildren(
      el('p', { class: 'small', text: `${String(a.file_name || a.sha256)} (SHA-256 ${String(a.sha256)}) is now ${String(a.verdict)} ` +
                                      `because ${String(a.analyzer)}: ${list(a.threats) || '–'} (${String(a.cause_text || a.cause)}).` }),
      el('table', { class: 'data small retro-messages' },
        el('thead', {}, el('tr', {}, ...['Message', 'Received', 'Sender', 'Recipients', 'File', 'Verdict'].map((h) => el('th', { text: h })))),
        el('tbody', {}, ...rows)));
  } catch (e) {
    if (e.kind === 'http') detail.replaceChildren(el('p', { class: 'error', text: `No retro-alert: ${e.message}` }));
    else handleError(e);
  }
}

function selectRow(id) {
  for (const tr of $('messages').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
}

function closeReport() {
  state.selected = null;
  selectRow(null);
  $('report').hidden = true;
  $('messages-area').classList.remove('with-report');
}

async function openReport(id) {
  state.selected = id;
  selectRow(id);
  $('report').hidden = false;
  $('messages-area').classList.add('with-report');
  $('report-body').replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  try {
    const r = await api(`api/messages/${encodeURIComponent(id)}`);
    if (state.selected === id) renderReport(id, r);
  } catch (e) {
    if (e.kind === 'http' || state.selected !== id) {
      if (state.selected === id) {
        const why = e.body && e.body.state ? ` (state: ${e.body.state})` : '';
        $('report-body').replaceChildren(el('p', { class: 'error', text: `No report: ${e.message}${why}` }));
      }
    } else {
      handleError(e);
    }
  }
}

function facts(pairs) {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v, cls] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(el('dt', { text: k }), v instanceof Node ? el('dd', {}, v) : el('dd', { class: cls || '', text: String(v) }));
  }
  return dl;
}

const list = (a) => (Array.isArray(a) ? a.join(', ') : '');

function fileBlock(f) {
  const head = el('div', { class: 'file-head' },
    el('strong', { class: 'clip', text: String(f.name || f.path || '(unnamed)'), title: String(f.path || '') }),
    f.verdict ? badge(f.verdict) : el('span', { class: 'badge v-none', text: 'not analysed' }),
    f.extension_mismatch ? el('span', { class: 'badge mismatch', text: `mismatch: .${f.extension} is ${f.family}` }) : null);
  const analyzers = el('table', { class: 'data small' },
    el('thead', {}, el('tr', {}, ...['Analyzer', 'Verdict', 'Score', 'Threats', 'Report', 'Reason'].map((h) => el('th', { text: h })))),
    el('tbody', {}, ...(f.analyzers || []).map((a) => el('tr', {},
      el('td', { text: String(a.analyzer) }),
      el('td', {}, badge(a.verdict)),
      el('td', { class: 'num', text: a.score === undefined ? '' : String(a.score) }),
      el('td', { text: list(a.threats) }),
      el('td', {}, a.report_url ? safeLink(String(a.report_url), 'report') : ''),
      el('td', { class: 'clip', text: String(a.reason || ''), title: String(a.reason || '') })))));
  return el('div', { class: 'file', data: { sha256: String(f.sha256 || '') } }, head, facts([
    ['Path', f.path],
    ['Size', typeof f.size === 'number' ? `${num(f.size)} bytes` : ''],
    ['True type', [f.true_type, f.description].filter(Boolean).join(' — ')],
    ['Family', f.family],
    ['Mismatch', f.extension_mismatch ? `named .${f.extension}, really ${f.family}` : 'no'],
    ['SHA-256', f.sha256, 'mono hash'],
    ['MD5', f.md5, 'mono hash'],
    ['Threats', list(f.threats)],
    ['Reason', f.reason],
    // Analysed from memory, its bytes not kept in DataDir/files (BccMaxStoredPerMessage).
    ['Not kept', f.not_kept || ''],
  ]), (f.analyzers || []).length ? analyzers : null);
}

function renderReport(id, r) {
  const msg = r.message || {};
  const status = $('report-body');
  const note = el('span', { class: 'muted small', 'aria-live': 'polite' });
  const resend = el('button', { type: 'button', text: 'Resend report' });
  resend.addEventListener('click', async () => {
    resend.disabled = true;
    note.textContent = 'Sending…';
    try {
      const a = await api(`api/messages/${encodeURIComponent(id)}/resend`, { method: 'POST' });
      note.textContent = `Report queued again (${a.report || 'due'}).`;
      refresh();
    } catch (e) {
      if (e.kind === 'http') note.textContent = `Resend refused (${e.status}): ${e.message}`;
      else handleError(e);
    } finally {
      resend.disabled = false;
    }
  });
  status.replaceChildren(
    el('div', { class: 'report-title' }, badge(r.verdict), r.spoofed ? el('span', { class: 'badge spoofed', text: 'spoofed' }) : null,
       el('h3', { text: String(msg.subject ?? '') || '(no subject)' })),
    facts([
      ['Queue id', r.id || id, 'mono'],
      ['Sink', r.sink],
      ['State', r.state],
      ['Received', when(msg.received_at, true)],
      ['Checked', when(msg.checked_at, true)],
      ['From', msg.from],
      ['To', list(msg.to)],
      ['Envelope sender', msg.envelope_sender],
      ['Envelope recipients', list(msg.envelope_recipients)],
      ['Original recipients', list(msg.original_recipients)],
      ['Client', [msg.client_ip, msg.helo && `(${msg.helo})`].filter(Boolean).join(' ')],
      ['Origin', [msg.origin_ip, msg.origin_helo && `(${msg.origin_helo})`].filter(Boolean).join(' ')],
      ['Message-ID', msg.message_id, 'mono'],
      ['Spoof', r.spoofed ? (r.spoof_reason || 'spoofed') : 'no', r.spoofed ? 'bad' : ''],
      ['Report mail', [r.report_status, r.report_attempts ? `${r.report_attempts} ${r.report_attempts === 1 ? 'try' : 'tries'}` : ''].filter(Boolean).join(', ')],
      ['Report error', r.report_error, 'bad'],
      ['Failure', r.failure, 'bad'],
      ['Errors', list(r.errors), 'bad'],
      ['Retro-alerts', (r.retro || []).map((x) => `${x.earlier_verdict} → ${x.verdict} (${x.analyzer}: ${list(x.threats)}, ${when(x.created_at)})`).join('; '), 'bad'],
    ]),
    // Another sink's message: its headers and bytes are in that sink's spool.
    ...(r.content_here === false ? [el('p', { class: 'note', text: String(r.content_error || '') })] : []),
    el('div', { class: 'actions' }, resend, note),
    el('h3', { text: `Files (${(r.files || []).length})` }),
    ...(r.files || []).map(fileBlock));
}

// --- wiring -----------------------------------------------------------------------------------
document.addEventListener('DOMContentLoaded', () => {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (token) start(token);
  });
  $('logout').addEventListener('click', () => { stop(); closeReport(); showLogin(''); });
  $('refresh').addEventListener('click', () => refresh());
  $('range').addEventListener('change', () => refresh());
  $('report-close').addEventListener('click', closeReport);
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeReport(); });
  let resize = null;
  window.addEventListener('resize', () => {
    clearTimeout(resize);
    resize = setTimeout(() => { if (state.stats && !$('dashboard').hidden) renderChart(state.stats); }, 150);
  });
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) start(saved);
  else showLogin('');
});
