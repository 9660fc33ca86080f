// The dashboard in a real browser: Debian's chromium driven by playwright-core against a running
// bccsink (BASE_URL, TOKEN; run.sh starts the daemon and sends the mail). Checks what the page
// shows against the JSON API, that hostile subjects stay text, that nothing breaks the CSP or
// logs an error, and saves screenshots (SCREENSHOT_DIR/dashboard.png, and the quarantine
// section while it lists messages, dashboard-quarantine.png; the retro-alerts card,
// dashboard-retro.png). Exits 1 on the first
// failure with what was expected.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = process.env.BASE_URL;
const TOKEN = process.env.TOKEN;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '/tmp';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror=alert(1)>';
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const EICAR_SHA = createHash('sha256').update(EICAR).digest('hex');
const WAIT = 15000;

let passed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
class Failure extends Error {}
function check(cond, what, detail) {
  if (!cond) throw new Failure(`${what}${detail === undefined ? '' : `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
}

async function api(path) {
  const res = await fetch(new URL(path, BASE_URL), { headers: { Authorization: `Bearer ${TOKEN}` } });
  check(res.ok, `GET ${path} answered ${res.status}`);
  return res.json();
}

// A confirm() the next step expects (its text), accepted once by watch().
let expectedDialog = null;

// Everything a page must never do: dialogs, console errors, uncaught exceptions, CSP
// violations, requests to another origin. `allow` lists console errors a step expects.
function watch(page, origin, allow = []) {
  const problems = [];
  page.on('dialog', async (d) => {
    // The one dialog a step expects (the quarantine's confirm before a delete) is accepted.
    if (expectedDialog && d.type() === 'confirm' && expectedDialog.test(d.message())) {
      expectedDialog = null;
      await d.accept();
      return;
    }
    problems.push(`dialog ${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error' && !/Content.Security.Policy|Refused to/i.test(m.text())) return;
    if (allow.some((re) => re.test(m.text()))) return;
    problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (new URL(r.url()).origin !== origin) problems.push(`request to another origin: ${r.url()}`);
  });
  return problems;
}

async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

async function login(page, token) {
  await page.goto(BASE_URL);
  await page.locator('#login').waitFor({ state: 'visible', timeout: WAIT });
  await page.fill('#token', token);
  await page.click('#token-form button[type=submit]');
}

async function refreshed(page, after) {
  await page.waitForFunction((n) => Number(document.body.dataset.refreshes || 0) > n, after, { timeout: WAIT });
}

async function main() {
  check(BASE_URL && TOKEN, 'BASE_URL and TOKEN must be set');
  check(existsSync(CHROMIUM), `no chromium at ${CHROMIUM} (deploy/install-deps.sh installs Debian's chromium)`);
  const origin = new URL(BASE_URL).origin;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-sync',
           '--disable-background-networking', '--disable-component-update'],
  });
  console.log(`# ${CHROMIUM} ${browser.version()}, playwright-core ${(await import('playwright-core/package.json', { with: { type: 'json' } })).default.version}`);
  try {
    if (process.env.API_OFF === '1') {
      await apiOff(browser, origin);
    } else {
      await dashboard(browser, origin);
      await wrongToken(browser, origin);
      await unreachable(browser, origin);
    }
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, 0 failed`);
}

async function dashboard(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const problems = watch(page, origin);

  const first = await page.request.get(BASE_URL);
  console.log(`# GET / ${first.status()} ${first.headers()['content-type']}; CSP header: ${first.headers()['content-security-policy'] || '(none; the page has its own meta CSP)'}`);
  await login(page, TOKEN);
  await page.locator('#dashboard').waitFor({ state: 'visible', timeout: WAIT });
  await refreshed(page, 0);
  check((await page.evaluate(() => sessionStorage.getItem('bccsink.token'))) === TOKEN, 'token kept in sessionStorage');
  ok('token form: the dashboard opens with HttpToken');

  // Queue depths: the page and the API agree (refresh again if a number moved in between).
  let overview;
  for (let attempt = 0; ; attempt++) {
    overview = await api('/api/overview');
    const shown = await page.$$eval('#queue dd, #reports dd', (dds) => Object.fromEntries(dds.map((d) => [d.dataset.key, [d.dataset.value, d.textContent]])));
    const want = { ...overview.queue, ...overview.reports };
    const diff = Object.entries(want).filter(([k, v]) => !shown[k] || shown[k][0] !== String(v) || shown[k][1].replace(/,/g, '') !== String(v));
    if (!diff.length && Object.keys(shown).length === Object.keys(want).length) break;
    check(attempt < 3, 'queue depths on the page match /api/overview', { shown, want });
    const n = Number(await page.evaluate(() => document.body.dataset.refreshes));
    await page.click('#refresh');
    await refreshed(page, n);
  }
  check(overview.queue.reported >= 4, 'the daemon reported the test messages', overview.queue);
  ok(`queue depths match /api/overview (${JSON.stringify(overview.queue)})`);

  // Time to verdict: the SLO line says the target and share /api/overview gives.
  const slo = await page.$eval('#verdict-slo', (p) => (p.hidden ? null : p.textContent.replace(/\s+/g, ' ')));
  check(overview.verdict_slo && overview.verdict_slo.target_seconds === 900, '/api/overview has verdict_slo', overview.verdict_slo);
  check(slo && slo.includes('within 15 min') && slo.includes(`${(overview.verdict_slo.ratio * 100).toFixed(1)} %`),
        'the SLO line shows the target and the share', slo);
  ok(`verdict SLO line: ${slo.trim()}`);

  // Analyzer health lists yara, healthy.
  const yara = await page.$eval('#analyzers tr[data-analyzer="yara"]', (tr) => tr.textContent).catch(() => null);
  check(yara && /healthy/.test(yara) && !/unhealthy/.test(yara), 'analyzer health lists yara as healthy', yara);
  ok('analyzer health: yara healthy');

  // The chart: bars summing to the verdicts of /api/stats, axis labels, a legend.
  const stats = await api('/api/stats');
  const want = { clean: 0, suspicious: 0, dangerous: 0, unscanned: 0 };
  for (const iv of stats.intervals) for (const k of Object.keys(want)) want[k] += iv.verdicts[k] || 0;
  const chart = await page.$eval('#chart svg', (s) => ({
    bars: [...s.querySelectorAll('rect.bar')].map((r) => [r.dataset.verdict, Number(r.dataset.count), Number(r.getAttribute('height'))]),
    ticks: s.querySelectorAll('text.tick').length,
    legend: Object.fromEntries([...document.querySelectorAll('#legend strong')].map((e) => [e.dataset.verdict, e.textContent])),
  }));
  const drawn = { clean: 0, suspicious: 0, dangerous: 0, unscanned: 0 };
  for (const [k, c, h] of chart.bars) { drawn[k] += c; check(h > 0, 'every bar has a height', chart.bars); }
  check(chart.bars.length > 0 && JSON.stringify(drawn) === JSON.stringify(want), 'chart bars sum to /api/stats verdicts', { drawn, want, intervals: stats.intervals.length });
  check(want.dangerous >= 2, 'the statistics count the dangerous messages', want);
  check(chart.ticks >= 6, 'chart has axis labels', chart.ticks);
  check(Object.entries(want).every(([k, v]) => chart.legend[k].replace(/,/g, '') === String(v)), 'legend totals', { legend: chart.legend, want });
  ok(`chart: ${chart.bars.length} bar segments for ${stats.intervals.length} interval(s), ${JSON.stringify(want)}`);

  // Recent messages: every dangerous one, newest first; the hostile subject is text.
  const dangerous = (await api('/api/messages?verdict=dangerous')).messages;
  const rows = await page.$$eval('#messages tbody tr', (trs) => trs.map((tr) => ({
    id: tr.dataset.id, verdict: tr.cells[1].textContent, spoof: tr.cells[2].textContent, subject: tr.cells[4].textContent })));
  for (const m of dangerous) check(rows.some((r) => r.id === m.id && r.verdict === 'dangerous'), `recent list shows dangerous ${m.id}`, rows);
  const hostile = rows.find((r) => r.subject === HOSTILE);
  check(hostile && hostile.verdict === 'dangerous', 'the hostile subject is shown as literal text', rows);
  check((await page.$$('#messages img, #report img')).length === 0, 'no <img> element made from a subject');
  const spoof = rows.find((r) => r.spoof === 'spoofed');
  check(spoof, 'the spoofed message is listed with its flag', rows);
  ok(`recent list: ${rows.length} messages, ${dangerous.length} dangerous, hostile subject as text, spoof flagged`);

  // Clicking the EICAR message shows its report with the file's SHA-256 and yara's answer.
  const eicarRow = rows.find((r) => r.subject === 'EICAR inside');
  check(eicarRow, 'the EICAR message is listed', rows);
  await page.click(`#messages tbody tr[data-id="${eicarRow.id}"]`);
  await page.locator(`#report .file[data-sha256="${EICAR_SHA}"]`).waitFor({ timeout: WAIT });
  const panel = await page.$eval('#report', (e) => e.textContent);
  check(panel.includes(EICAR_SHA) && panel.includes('yara') && panel.includes('dangerous'), 'report panel: SHA-256, yara, dangerous', panel.slice(0, 400));
  check((await page.$$eval('#report a', (as) => as.filter((a) => !/^https?:/.test(a.href) || a.rel !== 'noopener noreferrer').length)) === 0, 'report links are http(s) with rel=noopener');
  ok('report panel: the EICAR file with its SHA-256 and yara dangerous');

  await page.click(`#messages tbody tr[data-id="${spoof.id}"]`);
  await page.waitForFunction(() => /203\.0\.113\.9/.test(document.querySelector('#report-body').textContent), null, { timeout: WAIT });
  ok('report panel: the spoof reason names the untrusted hop 203.0.113.9');

  // The mismatch table lists doc -> pe.
  const mism = await page.$$eval('#mismatches tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  check(mism.some((c) => c[0] === 'doc → pe' && Number(c[2]) >= 1), 'mismatch table lists doc → pe', mism);
  ok(`mismatches: ${mism.map((c) => c[0]).join(', ')}`);

  await quarantine(page);
  await retroAlerts(page);

  // Resend: POST from the panel, 202.
  await page.click(`#messages tbody tr[data-id="${eicarRow.id}"]`);
  await page.locator(`#report .file[data-sha256="${EICAR_SHA}"]`).waitFor({ timeout: WAIT });
  const [resend] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/messages/${eicarRow.id}/resend`) && r.request().method() === 'POST'),
    page.click('#report .actions button'),
  ]);
  check(resend.status() === 202, 'resend answered 202', resend.status());
  await page.waitForFunction(() => /queued again/.test(document.querySelector('#report .actions').textContent), null, { timeout: WAIT });
  ok('resend report: POST answered 202, the panel says so');

  const n = Number(await page.evaluate(() => document.body.dataset.refreshes));
  await refreshed(page, n);  // the auto-refresh (10 s) runs
  ok('auto-refresh');
  await page.waitForTimeout(300);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const shot = join(SCREENSHOT_DIR, 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  const csp = await cspViolations(page);
  check(csp.length === 0, 'no CSP violations', csp);
  check(problems.length === 0, 'no dialog, console error or page error', problems);
  ok('no dialog, console error, page error, CSP violation or foreign request');
  console.log(`# screenshot: ${shot}`);
  await context.close();
}

// The retro-alerts card lists what /api/retro lists (run.sh added one whose file name is
// markup, naming mallory's message); a click lists its messages, and a message's button
// opens its report, which names the alert.
async function retroAlerts(page) {
  const alerts = (await api('/api/retro')).alerts;
  check(alerts.length === 1, '/api/retro lists the alert run.sh added', alerts);
  const a = alerts[0];
  await page.waitForFunction(() => document.querySelectorAll('#retro tbody tr').length === 1, null, { timeout: WAIT });
  const cells = await page.$$eval('#retro tbody tr td', (tds) => tds.map((td) => td.textContent));
  check(cells[1] === `${HOSTILE}.exe`, 'the file name is shown as text', cells);
  check(cells[2] === 'dangerous' && cells[3] === 'yara: Evil_Macro' && cells[4] === 'new YARA rules' && cells[5] === '1',
        'the row says now dangerous because yara: Evil_Macro, new YARA rules, 1 message', cells);
  check(await page.isHidden('#retro-empty'), 'the empty note is hidden while there are alerts');
  await page.click(`#retro tbody tr[data-id="${a.id}"]`);
  await page.waitForFunction(() => document.querySelectorAll('#retro-detail tbody tr').length === 1, null, { timeout: WAIT });
  const msg = await page.$$eval('#retro-detail tbody tr td', (tds) => tds.map((td) => td.textContent));
  check(msg[2] === 'mallory@example.org' && msg[5] === 'clean → dangerous', 'the alert lists mallory\'s message, clean → dangerous', msg);
  check((await page.$$('#retro img, #retro-detail img')).length === 0, 'no <img> element made from a file name');
  await page.locator('#retro-card').screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-retro.png') });
  await page.click('#retro-detail tbody tr button');
  await page.waitForFunction(() => /clean → dangerous \(yara: Evil_Macro/.test(document.querySelector('#report-body').textContent), null, { timeout: WAIT });
  ok('retro-alerts: the card lists the alert, its messages, and the message\'s report names it');
}

// The quarantine section lists what /api/quarantine lists (run.sh held the EICAR messages:
// one quarantined, one discarded); Release and Delete (after a confirm) call the API and
// the list is drawn again without them.
async function quarantine(page) {
  const held = (await api('/api/quarantine')).messages;
  check(held.length === 2, '/api/quarantine lists the 2 held messages', held);
  await page.waitForFunction((n) => document.querySelectorAll('#quarantine tbody tr').length === n, held.length, { timeout: WAIT });
  const rows = await page.$$eval('#quarantine tbody tr', (trs) => trs.map((tr) => ({
    id: tr.dataset.id, state: tr.dataset.state, verdict: tr.cells[2].textContent, sender: tr.cells[3].textContent,
    why: tr.cells[5].textContent, buttons: [...tr.querySelectorAll('button')].map((b) => b.textContent) })));
  for (const h of held) {
    check(rows.some((r) => r.id === h.id && r.state === h.state && r.verdict === 'dangerous' && r.sender === h.sender &&
                           r.why === h.why && r.buttons.join() === 'Release,Delete'), `quarantine row for ${h.id}`, rows);
  }
  check(await page.isHidden('#quarantine-empty'), 'the empty note is hidden while messages are held');
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.locator('#quarantine-card').screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-quarantine.png') });
  ok(`quarantine: ${rows.length} held messages listed with Release and Delete`);

  const quarantined = held.find((h) => h.state === 'quarantined');
  const discarded = held.find((h) => h.state === 'discarded');
  const [release] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/quarantine/${quarantined.id}/release`) && r.request().method() === 'POST'),
    page.click(`#quarantine tbody tr[data-id="${quarantined.id}"] button[data-action="release"]`),
  ]);
  check(release.status() === 200, 'release answered 200', release.status());
  await page.waitForFunction((id) => !document.querySelector(`#quarantine tbody tr[data-id="${id}"]`), quarantined.id, { timeout: WAIT });
  const note = await page.$eval('#quarantine-note', (e) => e.textContent);
  check(note.includes(`released: sink ${quarantined.sink} delivers it`), 'the page says which sink delivers it', note);
  const after = (await api(`/api/quarantine/${quarantined.id}`));
  check(after.state === 'deliver' && /^api:127\.0\.0\.1$/.test(after.released_by), 'released by api:127.0.0.1', after);
  ok(`quarantine: Release -> 200, state deliver, released by ${after.released_by}`);

  expectedDialog = new RegExp(`^Delete message ${discarded.id}\\?`);
  const [del] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/quarantine/${discarded.id}/delete`) && r.request().method() === 'POST'),
    page.click(`#quarantine tbody tr[data-id="${discarded.id}"] button[data-action="delete"]`),
  ]);
  check(expectedDialog === null, 'Delete asked for confirmation first');
  check(del.status() === 200, 'delete answered 200', del.status());
  await page.locator('#quarantine-empty').waitFor({ state: 'visible', timeout: WAIT });
  check((await api(`/api/quarantine/${discarded.id}`)).state === 'deleted', 'the discarded message is deleted');
  ok('quarantine: Delete asks confirm(), -> 200, state deleted, the list is empty again');
}

// A wrong token: the API answers 401 and the page asks again.
async function wrongToken(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watch(page, origin, [/status of 401/]);
  await login(page, 'not-the-token');
  await page.locator('#login-error').waitFor({ state: 'visible', timeout: WAIT });
  const text = await page.$eval('#login-error', (e) => e.textContent);
  check(/refused/.test(text) && await page.isHidden('#dashboard'), 'a wrong token brings the form back', text);
  check((await page.evaluate(() => sessionStorage.getItem('bccsink.token'))) === null, 'a refused token is forgotten');
  check(problems.length === 0, 'no unexpected errors with a wrong token', problems);
  ok('wrong token: 401, the form asks again and the token is forgotten');
  await context.close();
}

// The API cannot be reached (requests aborted in the browser): a banner, the last figures stay.
async function unreachable(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watch(page, origin, [/net::ERR_FAILED/]);
  await login(page, TOKEN);
  await refreshed(page, 0);
  await page.route('**/api/**', (route) => route.abort('failed'));
  await page.click('#refresh');
  await page.locator('#banner').waitFor({ state: 'visible', timeout: WAIT });
  const text = await page.$eval('#banner', (e) => e.textContent);
  check(/Cannot reach bccsink/.test(text) && await page.isVisible('#dashboard'), 'a network error shows a banner over the last data', text);
  await page.unroute('**/api/**');
  await page.click('#refresh');
  await page.locator('#banner').waitFor({ state: 'hidden', timeout: WAIT });
  check(problems.length === 0, 'no unexpected errors while unreachable', problems);
  ok('network error: a banner, the last figures stay, gone after the next refresh');
  await context.close();
}

// A daemon without HttpToken: every /api/* is 404, the page says to set HttpToken.
async function apiOff(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = watch(page, origin, [/status of 404/]);
  await login(page, 'any');
  await page.locator('#banner').waitFor({ state: 'visible', timeout: WAIT });
  const text = await page.$eval('#banner', (e) => e.textContent);
  check(/set HttpToken/.test(text) && await page.isHidden('#dashboard'), 'API off: the page says to set HttpToken', text);
  check(problems.length === 0, 'no unexpected errors with the API off', problems);
  ok('API off (no HttpToken): the page says "set HttpToken"');
  await context.close();
}

main().catch((e) => {
  console.error(`FAIL: ${e instanceof Failure ? e.message : e.stack || e}`);
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
