#!/usr/bin/env node
// The README's pictures of the web view: tlflow on the shipped sample
// conversation (samples/x-v2-sample.ndjson), the live graph of its top
// accounts drawn in headless Chromium at 1280×800 and at phone width.
//   node scripts/web-screenshot.js [--tlflow build/tlflow] [--limit 150] [--out docs/img]
// Needs what the browser test needs (scripts/install-deps.sh: chromium and
// playwright-core in tests/support/js). Loopback only.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('../tests/browser/harness.js');

async function main() {
  const o = { tlflow: 'build/tlflow', limit: 150, out: 'docs/img' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o) || argv[i + 1] === undefined) {
      console.error('usage: node scripts/web-screenshot.js [--tlflow BIN] [--limit N] [--out DIR]');
      process.exit(2);
    }
    o[k] = k === 'limit' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!fs.existsSync(h.chromium_path) || !h.playwright_path()) {
    console.error('web-screenshot: needs /usr/bin/chromium and playwright-core (scripts/install-deps.sh)');
    process.exit(77);
  }
  const root = path.join(__dirname, '..');
  const sample = fs.readFileSync(path.join(root, 'samples', 'x-v2-sample.ndjson'), 'utf8');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tlflow-web-shot-'));
  let t = null, b = null;
  try {
    t = await h.start_tlflow(o.tlflow, { data_dir: path.join(work, 'data'), extra: ['--analytics-refresh', '0'] });
    await t.write(sample.endsWith('\n') ? sample : sample + '\n');
    await t.settle({ timeout: 60000 });
    fs.mkdirSync(o.out, { recursive: true });
    for (const [name, viewport] of [['web-graph.png', { width: 1280, height: 800 }],
                                    ['web-graph-phone.png', { width: 390, height: 844 }]]) {
      b = await h.launch_browser({ viewport, allowed: () => t.origin, timeout: 60000 });
      await b.page.goto(`${t.origin}/#/graph?limit=${o.limit}`);
      await b.page.waitForFunction(() => window.tlflow && window.tlflow.ready && window.tlflow.graph &&
                                         window.tlflow.graph.order > 0, null, { timeout: 60000 });
      await h.sleep(500);
      const file = path.join(o.out, name);
      await b.page.screenshot({ path: file });
      const [n, m] = await b.page.evaluate(() => [window.tlflow.graph.order, window.tlflow.graph.size]);
      console.log(`${file}: ${n} accounts, ${m} edges drawn`);
      await b.close();
      b = null;
    }
  } finally {
    if (b) await b.close();
    if (t) await t.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
