// The dashboard in a real browser: starts ratelimitd, opens /dashboard in
// Debian's headless Chromium, reads the numbers, sends traffic to /v1/check
// (some of it denied), checks the page shows exactly that traffic without a
// reload, and saves a screenshot.
//
//   node dashboard_test.mjs RATELIMITD_BINARY ARTIFACT_DIR
//
// Chromium is driven over its DevTools protocol on a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so the test
// needs nothing but node and chromium. CHROMIUM overrides /usr/bin/chromium.
// Exits 1 with a message on any failure, also when chromium is missing.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const [binary, artifactDir] = process.argv.slice(2);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const children = [];
let userDataDir = null;
let finishing = false;

// Reports the failure and ends the test (from event handlers).
function report(message) {
  if (finishing) return;
  console.error('FAIL: ' + message);
  finish(1);
}

// Reports the failure and stops the calling async code.
function fail(message) {
  report(message);
  throw new Error('test failed');
}

// Ends the children (by their PIDs), waits for them, removes the profile.
async function finish(code) {
  finishing = true;
  const exits = children
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => new Promise((resolve) => {
        child.on('exit', resolve);
        child.kill('SIGTERM');
        setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 5000).unref();
      }));
  await Promise.all(exits);
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5 });
  process.exit(code);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `probe` (async, returns a value or null) every 100 ms until it
// returns non-null or `ms` pass.
async function waitFor(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (Date.now() > deadline) fail('timed out after ' + ms + ' ms waiting for ' + what);
    await sleep(100);
  }
}

function startRatelimitd() {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--listen', '127.0.0.1:0', '--threads', '1'],
                        { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => report('ratelimitd exited early (' + code + '): ' + out));
  });
}

function post(port, target, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: 'POST',
                               headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

// A DevTools protocol client on Chromium's pipe.
function startChromium() {
  if (!fs.existsSync(chromiumPath)) {
    fail('chromium not found at ' + chromiumPath +
         ' (install Debian\'s chromium: scripts/setup.sh, or set CHROMIUM)');
  }
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratelimitd-dashboard-'));
  const child = spawn(chromiumPath, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', '--user-data-dir=' + userDataDir, '--remote-debugging-pipe',
    'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  child.on('exit', (code) => report('chromium exited (' + code + '): ' + stderr));
  const toBrowser = child.stdio[3];
  const fromBrowser = child.stdio[4];
  let nextId = 1;
  const pending = new Map();
  let buffer = Buffer.alloc(0);
  fromBrowser.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let end = buffer.indexOf(0); end !== -1; end = buffer.indexOf(0)) {
      const message = JSON.parse(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + 1);
      const waiter = pending.get(message.id);
      if (!waiter) continue;  // an event
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(waiter.method + ': ' + message.error.message));
      else waiter.resolve(message.result);
    }
  });
  const send = (method, params = {}, sessionId = undefined) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject, method });
    toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  });
  return { send };
}

async function main() {
  if (!binary || !artifactDir) fail('usage: node dashboard_test.mjs RATELIMITD_BINARY ARTIFACT_DIR');
  const port = await startRatelimitd();
  const browser = startChromium();
  const { targetId } = await browser.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await browser.send('Target.attachToTarget', { targetId, flatten: true });
  const page = (method, params) => browser.send(method, params, sessionId);
  await page('Page.enable');
  await page('Emulation.setDeviceMetricsOverride',
             { width: 1280, height: 1000, deviceScaleFactor: 1, mobile: false });
  const url = 'http://127.0.0.1:' + port + '/dashboard';
  await page('Page.navigate', { url });

  const evaluate = async (expression) => {
    const r = await page('Runtime.evaluate', { expression, returnByValue: true });
    if (r.exceptionDetails) fail('page script error: ' + JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  // What the page shows, read from its elements.
  const read = () => evaluate(`(() => {
    if (!document.body || !document.getElementById('connection')) return { snapshots: 0 };  // loading
    const v = (id) => document.getElementById(id)?.dataset.value;
    const rows = (id) => [...document.querySelectorAll('#' + id + ' tbody tr')].map((tr) => ({
      name: tr.dataset.name, allowed: tr.dataset.allowed, blocked: tr.dataset.blocked,
      text: tr.textContent }));
    return {
      snapshots: Number(document.body.dataset.snapshots || 0),
      connection: document.getElementById('connection').textContent,
      total: v('total'), allowed: v('allowed'), blocked: v('blocked'),
      blockRate: document.getElementById('block-rate').textContent,
      rateNow: Number(v('rate-now') || 0),
      byScope: rows('by-scope'), top: rows('top-limited'), status: rows('status'),
      alerts: document.getElementById('alerts').textContent.trim(),
      liveLines: document.querySelectorAll('#live-chart polyline').length,
      seriesBars: document.querySelectorAll('#series-chart rect').length,
    };
  })()`);

  const before = await waitFor('the first snapshot', 30000, async () => {
    const s = await read();
    return s.snapshots >= 1 ? s : null;
  });
  const expect = (ok, what, seen) => {
    if (!ok) fail(what + ' (page shows ' + JSON.stringify(seen) + ')');
  };
  expect(before.total === '0' && before.allowed === '0' && before.blocked === '0',
         'a fresh server shows 0 decisions', before);
  expect(before.connection === 'live', 'the page is connected', before);
  const ready = before.status.find((r) => r.name === 'status');
  expect(ready && ready.text.includes('ready'), 'the status panel shows ready', before.status);
  console.log('before traffic:', JSON.stringify({ total: before.total, blocked: before.blocked }));

  // Traffic: "dash-user" may pass 4 times of 10; "other" 5 of 5.
  for (let i = 0; i < 10; ++i) {
    const r = await post(port, '/v1/check', { key: 'dash-user', limit: 4, window_ms: 600000 });
    expect(r.status === 200 && r.body.allowed === i < 4, 'decision ' + i + ' of dash-user', r);
  }
  for (let i = 0; i < 5; ++i) await post(port, '/v1/check', { key: 'other', limit: 10, window_ms: 600000 });

  // The numbers change without a reload; at the snapshot that first shows
  // them, the live rate is above zero.
  let rateSeen = 0;
  const after = await waitFor('the page to show 15 decisions', 20000, async () => {
    const s = await read();
    rateSeen = Math.max(rateSeen, s.rateNow);
    return s.total === '15' ? s : null;
  });
  expect(after.allowed === '9' && after.blocked === '6', '9 allowed and 6 blocked', after);
  expect(after.blockRate === '40.0%', 'block rate 40.0%', after);
  expect(after.top.length === 1 && after.top[0].name === 'dash-user' && after.top[0].blocked === '6',
         'dash-user is the most limited, with 6 blocked', after.top);
  const noScope = after.byScope.find((r) => r.name === '');
  expect(noScope && noScope.allowed === '9' && noScope.blocked === '6',
         'the by-scope table counts /v1/check under (none)', after.byScope);
  expect(rateSeen > 0, 'the live decisions/s rose above 0', rateSeen);
  expect(after.liveLines === 2 && after.seriesBars >= 2, 'both charts are drawn', after);
  expect(after.alerts === 'none', 'no alert below the minimum volume', after.alerts);
  expect(after.snapshots > before.snapshots, 'snapshots kept arriving', after);
  console.log('after traffic:', JSON.stringify({ total: after.total, allowed: after.allowed,
                                                 blocked: after.blocked, rate: after.blockRate }));

  await sleep(1200);  // one more snapshot, so the live chart has a line
  const shot = await page('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  fs.mkdirSync(artifactDir, { recursive: true });
  const file = path.resolve(artifactDir, 'dashboard.png');
  fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
  console.log('screenshot: ' + file);
  await finish(0);
}

process.on('unhandledRejection', (e) => report(String((e && e.stack) || e)));
setTimeout(() => report('the whole test took over 90 s'), 90000).unref();
main();
