'use strict';
// What the browser test and bench/web_bench.js share: tlflow started on
// loopback with its stdin as a file source, the REST calls, and headless
// Debian Chromium driven by playwright-core with every request that leaves
// the tlflow origin blocked and recorded.
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const chromium_path = process.env.TLFLOW_CHROMIUM || '/usr/bin/chromium';
// Without the networking switches Chromium calls Google's hosts (component
// updates, sync, field trials); swiftshader gives WebGL without a GPU.
const chromium_args = [
  '--headless', '--no-sandbox', '--disable-gpu',
  '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-default-apps', '--disable-domain-reliability',
  '--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication',
  '--metrics-recording-only', '--no-default-browser-check',
];

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function free_port() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// fetch() against tlflow; `token` adds the bearer header. Answers
// {status, json|text, headers}.
async function api(origin, target, { method = 'GET', body, token, raw = false } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(origin + target, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const buf = Buffer.from(await r.arrayBuffer());
  const out = { status: r.status, headers: r.headers, body: buf };
  if (!raw) {
    const text = buf.toString('utf8');
    try { out.json = JSON.parse(text); } catch { out.text = text; }
  }
  return out;
}

async function api_json(origin, target, opts) {
  const r = await api(origin, target, opts);
  if (r.status < 200 || r.status >= 300) {
    throw new Error(`${opts && opts.method || 'GET'} ${target}: ${r.status} ${r.text || JSON.stringify(r.json)}`);
  }
  return r.json;
}

// tlflow on 127.0.0.1:<free port>, its own data directory, stdin as the
// source `file:-` (write() adds posts). `extra`: more flags; `env`: more
// environment (secrets go there, never in flags).
async function start_tlflow(bin, { data_dir, extra = [], env = {}, log } = {}) {
  const port = await free_port();
  const args = ['--host', '127.0.0.1', '--port', String(port), '--data-dir', data_dir,
                '--source', 'file:-', '--log-level', 'warn', ...extra];
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = [];
  const keep = (chunk) => { out.push(chunk.toString()); if (log) log(chunk.toString()); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.stdin.on('error', () => {}); // EPIPE once stopped
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, sig) => { exited = { code, sig }; resolve(exited); }));
  const origin = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`tlflow exited (${JSON.stringify(exited)}) at start: ${out.join('')}`);
    try {
      const r = await fetch(origin + '/status');
      if (r.status === 200) { await r.arrayBuffer(); break; }
    } catch { /* not listening yet */ }
    if (Date.now() - t0 > 20000) { child.kill('SIGKILL'); throw new Error(`tlflow did not answer /status in 20 s: ${out.join('')}`); }
    await sleep(25);
  }
  return {
    port, origin, child, output: () => out.join(''),
    written: 0, // lines written to stdin
    write(lines) {
      this.written += lines.split('\n').length - 1;
      return new Promise((r) => (child.stdin.write(lines) ? r() : child.stdin.once('drain', r)));
    },
    // Until tlflow has taken in every line written (GET /status, `ingest`)
    // and its queue is empty; then `quiet` ms for the last batch and the
    // changefeed's coalescing window.
    async settle({ token, quiet = 400, timeout = 20000 } = {}) {
      await until(`tlflow to ingest ${this.written} posts`, async () => {
        const s = await api_json(origin, '/status', { token });
        return s.ingest && s.ingest.messages >= this.written && s.ingest.queue.depth === 0;
      }, { timeout });
      await sleep(quiet);
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exit;
        clearTimeout(t);
      }
      return exited;
    },
  };
}

// Waits until f() (async) is truthy; its value, or throws naming `what`.
async function until(what, f, { timeout = 10000, every = 20 } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try { last = await f(); } catch (e) { last = undefined; if (Date.now() - t0 > timeout) throw e; }
    if (last) return last;
    if (Date.now() - t0 > timeout) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(every);
  }
}

// Headless Chromium with a fresh profile under TMPDIR. `allowed()` names the
// one origin the page may reach (it changes when another tlflow starts);
// anything else is aborted and kept in `foreign`. Console errors and page
// exceptions are kept in `console_errors` unless `expect_errors` matches them.
async function launch_browser({ viewport = { width: 1280, height: 800 }, allowed, timeout = 5000 }) {
  const { chromium } = require(playwright_path());
  // The profile and Chromium's own temporary files (it leaves some in
  // TMPDIR when it is killed) in one folder, removed by close().
  // Chromium's singleton socket lives in its TMPDIR and a socket path has at
  // most 107 bytes: a deep TMPDIR (a build tree's) gets a short folder of
  // its own in the system's, removed by close() too.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tlflow-chromium-'));
  const profile = path.join(root, 'profile');
  let tmp = path.join(root, 'tmp');
  if (tmp.length > 48) tmp = fs.mkdtempSync(path.join(fs.existsSync('/tmp') ? '/tmp' : os.tmpdir(), 'tlflow-chromium-'));
  else fs.mkdirSync(tmp);
  const remove = () => {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromium_path, headless: true, args: chromium_args,
      viewport, acceptDownloads: true, ignoreDefaultArgs: ['--enable-automation'],
      env: { ...process.env, TMPDIR: tmp },
    });
  } catch (e) {
    remove();
    throw e;
  }
  context.setDefaultTimeout(timeout);
  const b = {
    context, profile, foreign: [], console_errors: [], expect_errors: null,
    async close() {
      await context.close().catch(() => {});
      remove();
    },
  };
  const local = (url) => {
    if (/^(data|blob|about):/.test(url)) return true;
    try { return new URL(url).origin === allowed(); } catch { return false; }
  };
  // Recorded by the 'request' listener below, which sees it first.
  await context.route((url) => !local(url.href), (route) => route.abort('blockedbyclient'));
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (b.expect_errors && b.expect_errors.test(text)) return;
      b.console_errors.push(`${page.url()}: ${text}`);
    });
    page.on('pageerror', (err) => b.console_errors.push(`${page.url()}: uncaught ${err.message}`));
    page.on('websocket', (ws) => { if (!local(ws.url().replace(/^ws/, 'http'))) b.foreign.push(ws.url()); });
    page.on('request', (req) => { if (!local(req.url())) b.foreign.push(req.url()); });
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  b.page = context.pages()[0] || await context.newPage();
  return b;
}

// playwright-core as scripts/install-deps.sh installs it (npm ci in
// tests/support/js), else wherever node finds one.
const js_modules = path.join(__dirname, '..', 'support', 'js', 'node_modules');
function playwright_path() {
  for (const p of [path.join(js_modules, 'playwright-core'), 'playwright-core']) {
    try { return require.resolve(p); } catch { /* next */ }
  }
  return null;
}

module.exports = { api, api_json, start_tlflow, launch_browser, until, sleep, free_port, playwright_path, chromium_path };
