'use strict';
// The web view under load, in headless Debian Chromium (playwright-core, as
// the browser test drives it; tests/browser/harness.js). Not a test: it
// prints figures beside their targets.
//   node bench/web_bench.js --tlflow build/tlflow [--accounts 5000] [--edges 20000]
//                           [--rate 1000] [--seconds 10] [--shot FILE.png]
// 1. tlflow on loopback takes a generated graph (`accounts` accounts, `edges`
//    mention edges, one post each) through its stdin file source.
// 2. Time from navigation to the default slice drawn, and from navigation
//    to #/graph?limit=<accounts> until tlflow.ready and tlflow.graph.order
//    == accounts (target < 2 s; through #f-apply if the page ignores the
//    limit in its address).
// 3. `rate` posts a second on existing edges for `seconds` (each one
//    edge_changed event: --changes-coalesce-ms 0), then: the events the page
//    applied (tlflow.live.applied) against those sent, the page's lag
//    (tlflow.live.lagMs) while they arrive, and how long after the last post
//    the page has applied them all (target: >= 1,000 events/s, not falling behind).
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('../tests/browser/harness');
const { x_feed } = require('../tests/browser/feed');

function parse_args(argv) {
  const o = { tlflow: 'build/tlflow', accounts: 5000, edges: 20000, rate: 1000, seconds: 10, shot: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o) || argv[i + 1] === undefined) {
      console.error('usage: node bench/web_bench.js --tlflow BIN [--accounts N] [--edges N] [--rate N] [--seconds S] [--shot FILE.png]');
      process.exit(2);
    }
    o[k] = k === 'tlflow' || k === 'shot' ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (o.edges > o.accounts * Math.floor((o.accounts - 1) / 4) * 4) {
    console.error('web_bench: too many edges for that many accounts');
    process.exit(2);
  }
  return o;
}

// Distinct (from, to) pairs: each round gives every account one more
// target, from its own quarter of the offsets.
function pairs(accounts, edges) {
  const out = [];
  const span = Math.floor((accounts - 1) / 4);
  for (let k = 0; k < edges; k++) {
    const from = k % accounts;
    const round = Math.floor(k / accounts) % 4;
    const extra = Math.floor(k / (accounts * 4));
    const to = (from + 1 + round * span + ((from * 31 + extra * 7) % span)) % accounts;
    out.push([from, to]);
  }
  return out;
}

async function main() {
  const o = parse_args(process.argv.slice(2));
  if (!fs.existsSync(h.chromium_path) || !h.playwright_path()) {
    console.error('web_bench: needs /usr/bin/chromium and playwright-core (scripts/install-deps.sh)');
    process.exit(77);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tlflow-web-bench-'));
  let t = null, b = null;
  try {
    t = await h.start_tlflow(o.tlflow, {
      data_dir: path.join(work, 'data'),
      // analytics per request: /graph always sees the whole generated graph
      extra: ['--changes-coalesce-ms', '0', '--wal-sync', 'interval', '--analytics-refresh', '0'],
    });
    const feed = new x_feed({ tags: ['rust'] });
    const all = pairs(o.accounts, o.edges);
    let t0 = Date.now();
    for (let i = 0; i < all.length; i += 2000) {
      await t.write(all.slice(i, i + 2000).map(([a, c]) => feed.post(a, c)).join(''));
    }
    await h.until('the generated graph', async () => (await h.api_json(t.origin, '/edges/count')).count >= o.edges,
                  { timeout: 120000, every: 100 });
    const vertices = (await h.api_json(t.origin, '/vertices/count')).count;
    console.log(`graph: ${vertices} accounts, ${o.edges} edges ingested in ${Date.now() - t0} ms`);

    b = await h.launch_browser({ allowed: () => t.origin, timeout: 60000 });
    const { page } = b;
    // Chromium's first start compiles shaders and fills caches: one warm-up
    // load of the default slice, as a returning user would have.
    await page.goto(`${t.origin}/#/graph`);
    await page.waitForFunction(() => window.tlflow && window.tlflow.ready, null, { timeout: 60000 });

    const want = Math.min(vertices, 10000);
    const drawn = () => window.tlflow && window.tlflow.ready && window.tlflow.view === 'graph' && window.tlflow.graph &&
      window.tlflow.graph.order;
    const nav = [], full = [], splits = [];
    for (let run = 0; run < 3; run++) {
      await page.goto('about:blank');
      t0 = Date.now();
      await page.goto(`${t.origin}/#/graph`);
      await page.waitForFunction(drawn, null, { timeout: 60000, polling: 10 });
      const first = Date.now() - t0;
      const shown = await page.evaluate(() => [window.tlflow.graph.order, window.tlflow.graph.size]);
      nav.push(first);
      // The whole graph: the limit in the address (#/graph?limit=N) from a
      // blank page; a page that ignores it gets it through the form.
      await page.goto('about:blank');
      t0 = Date.now();
      await page.goto(`${t.origin}/#/graph?limit=${want}`);
      await page.waitForFunction(drawn, null, { timeout: 60000, polling: 10 });
      let how = 'navigation to #/graph?limit=' + want;
      if ((await page.evaluate(() => window.tlflow.graph.order)) !== want) {
        how = '#f-apply with #f-limit ' + want + ' (the address gave fewer)';
        const loads = await page.evaluate(() => window.tlflow.loads);
        await page.fill('#f-limit', String(want));
        t0 = Date.now();
        await page.click('#f-apply');
        await page.waitForFunction((l) => window.tlflow.loads > l && window.tlflow.ready, loads, { timeout: 60000, polling: 10 });
      }
      const ms = Date.now() - t0;
      const [order, size, timing, origin, dom] = await page.evaluate(() => [window.tlflow.graph.order, window.tlflow.graph.size,
        JSON.stringify(window.tlflow.timing || null), performance.timeOrigin,
        (performance.getEntriesByType('navigation')[0] || {}).loadEventEnd]);
      const tm = JSON.parse(timing) || {};
      splits.push({ before: Math.round(origin - t0), ready: tm.readyMs, seen: Math.round(t0 + ms - origin), load: Math.round(dom || 0) });
      full.push(ms);
      if (o.shot && run === 2) await page.screenshot({ path: o.shot });
      console.log(`load ${run + 1}: navigation to the default slice drawn (${shown[0]} nodes, ${shown[1]} edges) ${first} ms; ` +
                  `${how} to ${order} nodes and ${size} edges drawn ${ms} ms (tlflow.timing ${timing})` +
                  (order !== want ? ` (${want} nodes expected)` : ''));
    }
    for (const [i, sp] of splits.entries()) {
      console.log(`load ${i + 1} of ${want}: ${sp.before} ms from the navigation's start to the page's time origin; ` +
                  `tlflow.ready ${sp.ready} ms after it (the load event ${sp.load} ms), noticed ${sp.seen} ms after it`);
    }
    nav.sort((x, y) => x - y);
    full.sort((x, y) => x - y);
    console.log(`navigation to the default slice drawn: median ${nav[1]} ms`);
    console.log(`time to ${want} accounts drawn: median ${full[1]} ms (target < 2000 ms) ${full[1] < 2000 ? 'OK' : 'MISSED'}`);

    // The live rate.
    await h.sleep(500);
    const before = await page.evaluate(() => ({ applied: window.tlflow.live.applied, loads: window.tlflow.loads }));
    const total = Math.round(o.rate * o.seconds);
    // A changefeed reader beside the page: when tlflow delivered the events,
    // to tell the service's delay from the page's.
    const feed_abort = new AbortController();
    const delivered = { n: 0, at: 0 };
    const reader = fetch(`${t.origin}/changes`, { signal: feed_abort.signal }).then(async (r) => {
      let rest = '';
      for await (const chunk of r.body) {
        const lines = (rest + Buffer.from(chunk).toString()).split('\n');
        rest = lines.pop();
        for (const l of lines) if (l.startsWith('event: edge_')) { delivered.n += 1; delivered.at = Date.now(); }
      }
    }).catch(() => {});
    const lags = [];
    let backlog_max = 0;      // events tlflow delivered that the page had not applied yet
    let applied_at_end = null; // applied when the last post was written
    const sampler = setInterval(() => {
      const n = delivered.n;
      page.evaluate(() => [window.tlflow.live.lagMs, window.tlflow.live.applied]).then(([l, a]) => {
        if (typeof l === 'number') lags.push(l);
        backlog_max = Math.max(backlog_max, n - (a - before.applied));
      }).catch(() => {});
    }, 250);
    // Frames the page drew meanwhile (sigma redraws on the frame after a change).
    await page.evaluate(() => {
      const f = (window.__bench_frames = { n: 0, longest: 0, last: performance.now(), on: true });
      const tick = (now) => {
        f.longest = Math.max(f.longest, now - f.last);
        f.last = now;
        f.n += 1;
        if (f.on) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await h.sleep(300);
    const start = Date.now();
    let sent = 0;
    let k = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * o.rate));
      if (due > sent) {
        let chunk = '';
        for (; sent < due; sent++) {
          const [a, c] = all[(k = (k + 7919) % all.length)];
          chunk += feed.post(a, c);
        }
        await t.write(chunk);
      }
      await h.sleep(5);
    }
    const send_ms = Date.now() - start;
    applied_at_end = (await page.evaluate(() => window.tlflow.live.applied)) - before.applied;
    let applied = 0;
    let caught_up = null;
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      applied = (await page.evaluate(() => window.tlflow.live.applied)) - before.applied;
      if (applied >= total) { caught_up = Date.now() - start - send_ms; break; }
      await h.sleep(20);
    }
    clearInterval(sampler);
    const frames = await page.evaluate(() => { window.__bench_frames.on = false; return window.__bench_frames; });
    feed_abort.abort();
    await reader;
    const after = await page.evaluate(() => ({ loads: window.tlflow.loads, connected: window.tlflow.live.connected }));
    lags.sort((x, y) => x - y);
    const pct = (p) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] : NaN);
    const rate = (sent / send_ms) * 1000;
    console.log(`live: ${sent} posts sent in ${send_ms} ms (${rate.toFixed(0)}/s); page applied ${applied} events` +
                (caught_up === null ? ', still behind 30 s after the last post' : `, all of them ${caught_up} ms after the last post`));
    console.log(`  tlflow's changefeed delivered ${delivered.n} edge events, the last ${delivered.at ? delivered.at - start - send_ms : NaN} ms after the last post`);
    console.log(`  frames drawn: ${frames.n} in ${((send_ms + (caught_up || 30000) + 300) / 1000).toFixed(1)} s, longest ${frames.longest.toFixed(0)} ms`);
    console.log(`  page lag (tlflow.live.lagMs): p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${lags.length ? lags[lags.length - 1] : NaN} ms; ` +
                `reloads during the run: ${after.loads - before.loads}; still connected: ${after.connected}`);
    const ok = caught_up !== null && caught_up < 2000 && applied_at_end >= 0.9 * sent && after.loads === before.loads &&
      rate >= 0.95 * o.rate;
    console.log(`  while posts were sent the page applied ${applied_at_end} (${((applied_at_end / send_ms) * 1000).toFixed(0)}/s); ` +
                `largest backlog (delivered, not applied): ${backlog_max} events`);
    console.log(`applied ${o.rate} events/s: ${ok ? 'kept up' : 'fell behind'} (target >= 1000/s without falling behind: ` +
                `caught up within 2 s, >= 90% applied while sending) ${ok && o.rate >= 1000 ? 'OK' : 'MISSED'}`);
    const errs = b.console_errors.length + (await page.evaluate(() => (window.tlflow.errors || []).length));
    if (errs) console.log(`page errors: ${JSON.stringify(b.console_errors.slice(0, 3))}`);
    if (b.foreign.length) console.log(`requests to other origins: ${JSON.stringify(b.foreign.slice(0, 3))}`);
  } finally {
    if (b) await b.close();
    if (t) await t.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`web_bench: ${e && e.stack || e}`);
  process.exit(1);
});
