'use strict';
// The web view in a real browser: headless Debian Chromium (playwright-core)
// against the tlflow binary on loopback, its stdin a file source the test
// keeps feeding with X v2 posts. Every check reads the DOM or the page's own
// graphology/sigma state (window.tlflow, docs/web-tests.md), and compares it
// with what the REST API answers for the same slice; none looks at pixels.
//   node web_test.js <tlflow binary> <artifacts dir>
// Exits 77 (skipped) without Chromium or playwright-core, 1 on any failure.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const h = require('./harness');
const { x_feed } = require('./feed');

const [bin, artifacts] = process.argv.slice(2);
if (!bin || !artifacts) {
  console.error('usage: node web_test.js <tlflow binary> <artifacts dir>');
  process.exit(2);
}
if (!fs.existsSync(h.chromium_path)) {
  console.log(`SKIPPED: ${h.chromium_path} is missing (scripts/install-deps.sh installs Debian's chromium)`);
  process.exit(77);
}
if (!h.playwright_path()) {
  console.log('SKIPPED: playwright-core is not in tests/support/js/node_modules (scripts/install-deps.sh installs it)');
  process.exit(77);
}

const results = [];
const figures = [];
let page_b = null; // the browser, once launched

async function step(name, f) {
  const t0 = Date.now();
  try {
    const note = await f();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)${note ? ': ' + note : ''}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e && e.message || e}`);
    if (page_b) {
      const file = path.join(artifacts, `failed-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
      await page_b.page.screenshot({ path: file }).catch(() => {});
    }
  }
}

function expect(cond, what) { if (!cond) throw new Error(what); }

function same_set(a, b, what) {
  const sa = new Set(a), sb = new Set(b);
  const missing = [...sb].filter((x) => !sa.has(x));
  const extra = [...sa].filter((x) => !sb.has(x));
  if (missing.length || extra.length || sa.size !== sb.size) {
    throw new Error(`${what}: page has ${sa.size}, API ${sb.size}; missing ${JSON.stringify(missing.slice(0, 5))}, ` +
                    `extra ${JSON.stringify(extra.slice(0, 5))}`);
  }
}

// The slice as query parameters, from the page's tlflow.slice.
function slice_query(slice) {
  const q = new URLSearchParams();
  q.set('by', slice.by || 'pagerank');
  q.set('limit', String(slice.limit || 500));
  for (const k of ['kind', 'hashtag', 'platform']) {
    const v = slice[k];
    if (Array.isArray(v) ? v.length : v) q.set(k, Array.isArray(v) ? v.join(',') : v);
  }
  for (const k of ['since', 'until']) if (slice[k]) q.set(k, slice[k]);
  return q.toString();
}

// What GET /graph answers for the slice: node ids and edge keys with weights.
// A tlflow without that route: the same answer from /rankings (the nodes)
// and the node-link export (the edges among them).
async function api_graph(origin, slice) {
  const q = slice_query(slice);
  const r = await h.api(origin, `/graph?${q}`);
  if (r.status === 404) {
    const ranked = await h.api_json(origin, `/rankings?${q}`);
    const nodes = ranked.rankings.map((n) => n.id);
    const keep = new Set(nodes);
    const exported = await h.api_json(origin, `/export?format=json&${q.replace(/(^|&)(by|limit)=[^&]*/g, '')}`);
    const edges = exported.links.filter((e) => keep.has(e.source) && keep.has(e.target));
    return { nodes, edges: new Map(edges.map((e) => [`${e.source}|${e.target}|${e.kind}`, e.weight])) };
  }
  if (r.status !== 200) throw new Error(`GET /graph?${q}: ${r.status} ${r.text || JSON.stringify(r.json)}`);
  const g = r.json;
  return {
    nodes: g.nodes.map((n) => n.id),
    edges: new Map(g.edges.map((e) => [`${e.from}|${e.to}|${e.kind}`, e.weight])),
  };
}

// The graph the page holds and what sigma draws of it.
async function page_graph(page) {
  return page.evaluate(() => {
    const t = window.tlflow;
    const g = t.graph;
    const r = t.renderer;
    const edges = [];
    g.forEachEdge((key, a, s, d) => edges.push([key, a.weight, s, d, a.kind]));
    let drawn_nodes = 0, drawn_edges = 0;
    g.forEachNode((n) => { const d = r.getNodeDisplayData(n); if (d && !d.hidden) drawn_nodes += 1; });
    g.forEachEdge((e) => { const d = r.getEdgeDisplayData(e); if (d && !d.hidden) drawn_edges += 1; });
    return {
      nodes: g.nodes(), edges, drawn_nodes, drawn_edges, same_graph: r.getGraph() === g,
      count: (document.querySelector('#g-count') || {}).textContent || '',
      loads: t.loads, slice: JSON.parse(JSON.stringify(t.slice)),
    };
  });
}

async function compare_with_api(page, origin, what) {
  const p = await page_graph(page);
  const a = await api_graph(origin, p.slice);
  expect(p.same_graph, `${what}: the renderer draws another graph than tlflow.graph`);
  same_set(p.nodes, a.nodes, `${what}: nodes`);
  same_set(p.edges.map((e) => e[0]), [...a.edges.keys()], `${what}: edges`);
  for (const [key, w] of p.edges) {
    expect(a.edges.get(key) === w, `${what}: weight of ${key}: page ${w}, API ${a.edges.get(key)}`);
  }
  expect(p.drawn_nodes === a.nodes.length, `${what}: sigma draws ${p.drawn_nodes} nodes, API ${a.nodes.length}`);
  expect(p.drawn_edges === a.edges.size, `${what}: sigma draws ${p.drawn_edges} edges, API ${a.edges.size}`);
  const m = p.count.match(/([\d,\s]+)\s*nodes?\D+([\d,\s]+)\s*edges?/);
  expect(m && +m[1].replace(/\D/g, '') === a.nodes.length && +m[2].replace(/\D/g, '') === a.edges.size,
         `${what}: #g-count says "${p.count}", API ${a.nodes.length} nodes · ${a.edges.size} edges`);
  return `${a.nodes.length} nodes, ${a.edges.size} edges (${slice_query(p.slice)})`;
}

async function wait_ready(page, view, timeout = 10000) {
  await page.waitForFunction((v) => window.tlflow && window.tlflow.view === v && window.tlflow.ready === true,
                             view, { timeout, polling: 20 });
}

async function go_view(page, view) {
  await page.click(`button[data-view="${view}"]`);
  await wait_ready(page, view);
}

// The message in the graph area (#graph-message) of that kind, shown: its text.
async function graph_message(page, kind) {
  await page.waitForSelector(`#graph-message[data-kind="${kind}"]:not([hidden])`, { timeout: 10000 })
    .catch(async () => {
      const m = await page.evaluate(() => { const e = document.querySelector('#graph-message'); return e && [e.hidden, e.dataset.kind, e.textContent]; });
      throw new Error(`no #graph-message[data-kind=${kind}] shown: ${JSON.stringify(m)}`);
    });
  const text = (await page.textContent('#graph-message-text')).trim();
  expect(text.length > 20, `#graph-message says "${text}"`);
  return text;
}

// The legend against the drawing, and the labels: read from sigma's own
// state (its settings) and the labels the page drew (tlflow.labels), not from pixels.
async function check_legend_and_labels(page, ego) {
  await h.sleep(100);   // a frame for sigma's labels
  const st = await page.evaluate(() => {
    const t = window.tlflow, g = t.graph, r = t.renderer;
    const kinds = new Set(), groups = {}, colors = {};
    g.forEachEdge((_, a) => { if (a.kind !== 'path') kinds.add(a.kind); });
    g.forEachNode((_, a) => {
      const c = a.community === null || a.community === undefined ? -1 : a.community;
      groups[c] = (groups[c] || 0) + 1;
      (colors[c] = colors[c] || new Set()).add(a.color);
    });
    const rgb = (hex) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
    const legend = [...document.querySelectorAll('#legend [data-community]')].map((e) => ({
      c: +e.dataset.community, color: e.dataset.color, text: e.textContent,
      swatch: getComputedStyle(e, '::before').backgroundColor, want_swatch: rgb(e.dataset.color),
    }));
    const legend_kinds = [...document.querySelectorAll('#legend [data-kind]')].map((e) => e.dataset.kind);
    const sizes = g.mapNodes((n, a) => [n, a.size]).sort((a, b) => b[1] - a[1]);
    const threshold = r.getSetting('labelRenderedSizeThreshold');
    const shown = (t.labels || []).map((l) => l.id);
    const too_small = shown.filter((n) => r.scaleSize(r.getNodeDisplayData(n).size) < threshold);
    const visible = document.querySelector('#legend').getBoundingClientRect().height > 0;
    return { kinds: [...kinds], groups, colors: Object.fromEntries(Object.entries(colors).map(([k, v]) => [k, [...v]])),
             legend, legend_kinds, sizes: sizes.slice(0, 50), threshold, shown, too_small, visible, order: g.order };
  });
  expect(st.visible, '#legend is not shown');
  same_set(st.legend_kinds, st.kinds, 'legend: edge kinds');
  const named = Object.entries(st.groups).filter(([c]) => +c >= 0)
    .sort((a, b) => (ego ? a[0] - b[0] : b[1] - a[1] || a[0] - b[0])).slice(0, 8).map(([c]) => +c);
  same_set(st.legend.filter((l) => l.c >= 0).map((l) => l.c), named, 'legend: communities named');
  for (const l of st.legend) {
    expect(JSON.stringify(st.colors[l.c]) === JSON.stringify([l.color]),
           `legend ${l.c}: colour ${l.color}, nodes of it drawn in ${JSON.stringify(st.colors[l.c])}`);
    expect(l.swatch === l.want_swatch, `legend ${l.c}: swatch ${l.swatch}, want ${l.want_swatch}`);
    expect(l.text.includes(String(st.groups[l.c])), `legend ${l.c} says "${l.text}", ${st.groups[l.c]} accounts drawn`);
  }
  // Labels: the threshold lets the biggest accounts through, sigma shows
  // the biggest of them, and none below the threshold.
  const want = Math.min(5, st.order);
  expect(st.shown.length >= want, `sigma shows ${st.shown.length} labels (threshold ${st.threshold} px), want at least ${want}`);
  const top = st.sizes[0][1];
  expect(st.shown.some((n) => st.sizes.some(([m, sz]) => m === n && sz === top)),
         `no label among the biggest accounts (size ${top}); shown ${JSON.stringify(st.shown.slice(0, 5))}`);
  expect(st.threshold <= st.sizes[Math.min(st.sizes.length, 40) - 1][1], `threshold ${st.threshold} px is above the 40th biggest size`);
  expect(st.too_small.length === 0, `labels below the threshold: ${JSON.stringify(st.too_small.slice(0, 5))}`);
  const lab = await check_labels(page);
  return `${lab}; legend ${st.legend_kinds.join('/')} and ${st.legend.length} ${ego ? 'distances' : 'communities'}; ` +
         `${st.shown.length} labels, threshold ${st.threshold.toFixed(2)} px`;
}

// The labels drawn (tlflow.labels: their boxes on the screen), checked
// against sigma's own state and a measure of their own, not pixels: each
// box is as wide as its text measured at sigma's label font, stands beside
// its disc (right of it, 3 px off, as sigma draws; `left`: the mirror
// image, when the right crosses the canvas's edge or is taken; `inside`:
// moved into the canvas when neither side fits) on the disc's line, and
// inside the canvas; no two boxes overlap; an account big enough for a label
// but not labelled is on the screen with every place its label could go
// taken by a label already drawn.
async function check_labels(page) {
  const st = await page.evaluate(() => {
    const t = window.tlflow, g = t.graph, r = t.renderer;
    const { width, height } = r.getDimensions();
    const ctx = document.createElement('canvas').getContext('2d');
    const size = r.getSetting('labelSize');
    ctx.font = `${r.getSetting('labelWeight')} ${size}px ${r.getSetting('labelFont')}`;
    const threshold = r.getSetting('labelRenderedSizeThreshold');
    const at = (n) => {
      const d = r.getNodeDisplayData(n), p = r.framedGraphToViewport(d);
      return { id: n, label: d.label, nx: p.x, ny: p.y, px: r.scaleSize(d.size), measured: ctx.measureText(d.label || '').width };
    };
    const labels = (t.labels || []).map((b) => ({ ...b, ...at(b.id) }));
    const drawn = new Set(labels.map((l) => l.id));
    const skipped = g.filterNodes((n, a) => !drawn.has(n) && a.label && r.scaleSize(a.size) >= threshold).map(at)
      .filter((n) => n.nx >= 0 && n.nx <= width && n.ny >= 0 && n.ny <= height);
    return { width, height, size, labels, skipped };
  });
  const bad = [];
  const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const right = (l) => l.nx + l.px + 3, left = (l) => l.nx - l.px - 3 - l.measured;
  for (const l of st.labels) {
    if (Math.abs(l.width - l.measured) > 0.5) bad.push(`${l.label}: box ${l.width.toFixed(1)} px wide, text ${l.measured.toFixed(1)} px`);
    const want = l.side === 'right' ? right(l) : l.side === 'left' ? left(l) : null;
    if (want === null ? l.side !== 'inside' : Math.abs(l.x - want) > 0.5) {
      bad.push(`${l.label} (${l.side}): box at x ${l.x.toFixed(1)}, disc at ${l.nx.toFixed(1)} (${l.px.toFixed(1)} px)`);
    }
    const fits = (x) => x >= 0 && x + l.measured <= st.width;
    if (l.side === 'right' && !fits(right(l)) || l.side === 'left' && !fits(left(l)) ||
        l.side === 'inside' && (fits(right(l)) || fits(left(l)))) bad.push(`${l.label}: placed ${l.side} at x ${l.x.toFixed(1)}, disc at ${l.nx.toFixed(1)}, canvas ${st.width} px`);
    if (l.x < -0.5 || l.x + l.width > st.width + 0.5 && l.width <= st.width) {
      bad.push(`${l.label} crosses the canvas's edge: x ${l.x.toFixed(1)} to ${(l.x + l.width).toFixed(1)}, canvas ${st.width} px`);
    }
    if (Math.abs(l.y + l.height / 2 - l.ny) > l.height / 2) bad.push(`${l.label}: box at y ${l.y.toFixed(1)}, disc at ${l.ny.toFixed(1)}`);
  }
  for (let i = 0; i < st.labels.length; i++) {
    for (let j = i + 1; j < st.labels.length; j++) {
      if (overlap(st.labels[i], st.labels[j])) bad.push(`${st.labels[i].label} overlaps ${st.labels[j].label}`);
    }
  }
  for (const n of st.skipped) {
    const y = n.ny + st.size / 3 - st.size * 0.8 - 1;
    // (with the 2 px kept free around a label)
    let xs = [right(n), left(n)].filter((x) => x >= 0 && x + n.measured <= st.width);
    if (!xs.length) xs = [Math.max(0, Math.min(st.width - n.measured, right(n)))];
    const spots = xs.map((x) => ({ x: x - 2, y: y - 2, width: n.measured + 4, height: st.size + 7 }));
    if (spots.some((b) => !st.labels.some((l) => overlap(b, l)))) bad.push(`${n.label} (${n.px.toFixed(1)} px) has room for a label but none`);
  }
  expect(bad.length === 0, `labels: ${bad.slice(0, 6).join('; ')}${bad.length > 6 ? ` (+${bad.length - 6})` : ''}`);
  return `${st.labels.length} labels apart, ${st.skipped.length} skipped for room`;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) });
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  for (const f of fs.readdirSync(artifacts)) if (f.endsWith('.png')) fs.rmSync(path.join(artifacts, f));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tlflow-web-test-'));
  const started = Date.now();
  const feed = new x_feed({ tags: ['rust', 'climate'] });
  const n_accounts = 30;
  let t = null, t2 = null;
  let allowed = null;
  try {
    t = await h.start_tlflow(bin, {
      data_dir: path.join(work, 'open'),
      // computed per request: the page's /graph and the test's answer alike
      extra: ['--track', 'rust,climate', '--analytics-refresh', '0', '--changes-coalesce-ms', '100'],
    });
    allowed = t.origin;
    // A ring with chords, in two hashtags and two kinds: 30 accounts.
    let lines = '';
    for (let i = 0; i < n_accounts; i++) {
      for (const [d, kind] of [[1, 'mention'], [7, 'mention'], [3, 'reply']]) {
        if (kind === 'reply' && i % 2) continue;
        const j = (i + d) % n_accounts;
        lines += feed.post(i, j, { kind, tag: i % 3 === 0 ? 'climate' : 'rust' });
      }
    }
    await t.write(lines);
    await t.settle();

    page_b = await h.launch_browser({ allowed: () => allowed });
    const { page } = page_b;

    await step('graph view draws the slice GET /graph answers', async () => {
      await page.goto(`${t.origin}/#/graph`);
      await wait_ready(page, 'graph');
      await page.waitForFunction(() => window.tlflow.graph && window.tlflow.graph.order > 0, null, { timeout: 5000 });
      const note = await compare_with_api(page, t.origin, 'first load');
      const legend = await check_legend_and_labels(page, false);
      await shot(page, 'graph-1280');
      return `${note}; ${legend}`;
    });

    await step('new interactions appear live, without a reload, within 2 s', async () => {
      const before = await page.evaluate(() => ({ loads: window.tlflow.loads, applied: window.tlflow.live.applied,
                                                  connected: window.tlflow.live.connected }));
      expect(before.connected, 'tlflow.live.connected is false');
      const key_of = (i, j, kind) => `${feed.id(i)}|${feed.id(j)}|${kind}`;
      const w0 = await page.evaluate((k) => window.tlflow.graph.hasEdge(k) && window.tlflow.graph.getEdgeAttribute(k, 'weight'),
                                     key_of(0, 1, 'mention'));
      expect(w0 > 0, `edge ${key_of(0, 1, 'mention')} is not in the page`);
      const cases = [
        ['heavier edge', feed.post(0, 1, { tag: 'climate' }),
          ([k, w]) => window.tlflow.graph.hasEdge(k) && window.tlflow.graph.getEdgeAttribute(k, 'weight') === w,
          [key_of(0, 1, 'mention'), w0 + 1]],
        ['new edge between drawn accounts', feed.post(5, 20, { kind: 'reply', tag: 'rust' }),
          ([k]) => window.tlflow.graph.hasEdge(k), [key_of(5, 20, 'reply')]],
        ['new account', feed.post(n_accounts, 2, { tag: 'rust' }),
          ([k]) => window.tlflow.graph.hasNode(k.split('|')[0]) && window.tlflow.graph.hasEdge(k),
          [key_of(n_accounts, 2, 'mention')]],
      ];
      const delays = [];
      for (const [what, line, pred, arg] of cases) {
        const t0 = Date.now();
        await t.write(line);
        try {
          await page.waitForFunction(pred, arg, { timeout: 5000, polling: 10 });
        } catch {
          throw new Error(`${what}: not in the page 5 s after the post was written`);
        }
        const ms = Date.now() - t0;
        // The indicator shows the page's own measure: arrival to application,
        // never more than the time since the post was written.
        const live = await page.evaluate(() => ({ lag: window.tlflow.live.lagMs, text: document.querySelector('#live-status').textContent,
                                                  state: document.querySelector('#live-status').dataset.state }));
        expect(live.state === 'live' && live.text.includes(`lag ${live.lag} ms`),
               `#live-status says "${live.text}" (${live.state}), tlflow.live.lagMs ${live.lag}`);
        expect(live.lag >= 0 && live.lag <= ms + 50, `${what}: lag ${live.lag} ms, but applied ${ms} ms after the post`);
        delays.push(`${what} ${ms} ms (page lag ${live.lag} ms)`);
        figures.push(`live delay (${what}): ${ms} ms after the post, ${live.lag} ms from arrival to the drawing`);
        expect(ms <= 2000, `${what}: ${ms} ms after the post (target 2 s)`);
      }
      const after = await page.evaluate(() => ({ loads: window.tlflow.loads, applied: window.tlflow.live.applied }));
      expect(after.loads === before.loads, `tlflow.loads went ${before.loads} -> ${after.loads}: the page reloaded`);
      expect(after.applied >= before.applied + 3, `tlflow.live.applied went ${before.applied} -> ${after.applied}`);
      return delays.join(', ');
    });

    await step('Pause holds live changes, Resume applies them', async () => {
      const key = `${feed.id(3)}|${feed.id(4)}|mention`;
      const w0 = await page.evaluate((k) => window.tlflow.graph.getEdgeAttribute(k, 'weight'), key);
      await page.click('#pause');
      await page.waitForFunction(() => window.tlflow.live.paused === true &&
                                 document.querySelector('#pause').getAttribute('aria-pressed') === 'true', null, { timeout: 3000 });
      await t.write(feed.post(3, 4, { tag: 'rust' }));
      await t.settle();
      // The indicator says paused and counts the event waiting.
      await page.waitForFunction(() => window.tlflow.live.waiting >= 1 &&
                                 /Paused · [1-9]\d* waiting/.test(document.querySelector('#live-status').textContent) &&
                                 document.querySelector('#live-status').dataset.state === 'paused', null, { timeout: 5000 })
        .catch(async () => { throw new Error(`paused: #live-status says "${await page.textContent('#live-status')}"`); });
      const arrived = Date.now();
      await h.sleep(500);
      const held = await page.evaluate((k) => window.tlflow.graph.getEdgeAttribute(k, 'weight'), key);
      expect(held === w0, `paused, the weight of ${key} went ${w0} -> ${held}`);
      await page.click('#pause');
      await page.waitForFunction(([k, w]) => window.tlflow.live.paused === false &&
                                 document.querySelector('#pause').getAttribute('aria-pressed') === 'false' &&
                                 window.tlflow.graph.getEdgeAttribute(k, 'weight') === w, [key, w0 + 1], { timeout: 5000 })
        .catch(async () => {
          throw new Error(`resumed: weight ${await page.evaluate((k) => window.tlflow.graph.getEdgeAttribute(k, 'weight'), key)}, ` +
                          `want ${w0 + 1}; live ${JSON.stringify(await page.evaluate(() => window.tlflow.live))}`);
        });
      // The event waited through the pause: the lag shown says so.
      const waited = Date.now() - arrived;
      const live = await page.evaluate(() => ({ lag: window.tlflow.live.lagMs, text: document.querySelector('#live-status').textContent }));
      expect(live.lag >= 500 && live.lag <= waited + 1000 && live.text.includes(`lag ${live.lag.toLocaleString('en')} ms`),
             `after Resume: lag ${live.lag} ms, "${live.text}"; the event waited at least 500 ms`);
      return `${key}: ${w0} while paused, ${w0 + 1} after Resume; lag shown ${live.lag} ms`;
    });

    await step('after live changes the page still equals GET /graph', async () => {
      await t.settle();
      return compare_with_api(page, t.origin, 'after live changes');
    });

    await step('a hashtag filter redraws the hashtag slice', async () => {
      const loads = await page.evaluate(() => window.tlflow.loads);
      await page.fill('#f-hashtag', 'climate');
      await page.click('#f-apply');
      await page.waitForFunction((l) => window.tlflow.loads === l + 1 && window.tlflow.ready, loads, { timeout: 10000 });
      const slice = await page.evaluate(() => window.tlflow.slice.hashtag);
      expect(JSON.stringify(slice) === '["climate"]', `tlflow.slice.hashtag is ${JSON.stringify(slice)}`);
      const note = await compare_with_api(page, t.origin, 'hashtag=climate');
      // A rust post between two drawn accounts stays out of a climate slice.
      const nodes = await page.evaluate(() => window.tlflow.graph.nodes());
      const a = nodes.map((id) => +id.split(':')[1] - feed.base).filter((i) => i >= 0 && i < n_accounts);
      expect(a.length >= 2, 'climate slice has fewer than two feed accounts');
      const applied = await page.evaluate(() => window.tlflow.live.applied);
      await t.write(feed.post(a[0], a[1], { kind: 'reply', tag: 'rust' }) + feed.post(a[1], a[0], { kind: 'reply', tag: 'climate' }));
      await page.waitForFunction((k) => window.tlflow.graph.hasEdge(k), `${feed.id(a[1])}|${feed.id(a[0])}|reply`, { timeout: 5000 });
      await t.settle();
      await compare_with_api(page, t.origin, 'hashtag=climate after a rust and a climate post');
      await shot(page, 'graph-filtered-1280');
      return `${note}; live events applied ${await page.evaluate(() => window.tlflow.live.applied) - applied}`;
    });

    await step('a kind filter redraws the kind slice', async () => {
      const loads = await page.evaluate(() => window.tlflow.loads);
      await page.fill('#f-hashtag', '');
      for (const k of ['mention', 'reply', 'repost', 'quote']) await page.setChecked(`input[name="kind"][value="${k}"]`, k === 'reply');
      await page.click('#f-apply');
      await page.waitForFunction((l) => window.tlflow.loads === l + 1 && window.tlflow.ready, loads, { timeout: 10000 });
      const slice = await page.evaluate(() => window.tlflow.slice);
      expect(JSON.stringify(slice.kind) === '["reply"]' && !(slice.hashtag || []).length,
             `tlflow.slice is ${JSON.stringify(slice)}`);
      return compare_with_api(page, t.origin, 'kind=reply');
    });

    await step('clearing the filters redraws the whole graph', async () => {
      const loads = await page.evaluate(() => window.tlflow.loads);
      for (const k of ['mention', 'reply', 'repost', 'quote']) await page.setChecked(`input[name="kind"][value="${k}"]`, true);
      await page.click('#f-apply');
      await page.waitForFunction((l) => window.tlflow.loads === l + 1 && window.tlflow.ready, loads, { timeout: 10000 });
      return compare_with_api(page, t.origin, 'all kinds');
    });

    await step('an account in "Around account" draws GET /vertices/{id}/ego', async () => {
      const id = feed.id(10);
      let loads = await page.evaluate(() => window.tlflow.loads);
      try {
        await page.fill('#f-ego', id);
        await page.fill('#f-radius', '1');
        await page.click('#f-apply');
        await page.waitForFunction((l) => window.tlflow.loads === l + 1 && window.tlflow.ready, loads, { timeout: 10000 });
        const api = await h.api_json(t.origin, `/vertices/${encodeURIComponent(id)}/ego?radius=1&limit=500`);
        const p = await page_graph(page);
        expect(p.slice.around === id && p.slice.radius === 1, `tlflow.slice is ${JSON.stringify(p.slice)}`);
        same_set(p.nodes, api.nodes.map((n) => n.id), `ego of ${id}: nodes`);
        const want = new Map(api.edges.map((e) => [`${e.from}|${e.to}|${e.kind}`, e.weight]));
        same_set(p.edges.map((e) => e[0]), [...want.keys()], `ego of ${id}: edges`);
        for (const [key, w] of p.edges) expect(want.get(key) === w, `ego: weight of ${key}: page ${w}, API ${want.get(key)}`);
        const legend = await check_legend_and_labels(page, true);
        await shot(page, 'graph-ego-1280');
        return `${api.nodes.length} accounts, ${api.edges.length} edges around ${id}; ${legend}`;
      } finally {
        loads = await page.evaluate(() => window.tlflow.loads);
        await page.fill('#f-ego', '');
        await page.click('#f-apply');
        await page.waitForFunction((l) => window.tlflow.loads === l + 1 && window.tlflow.ready, loads, { timeout: 10000 });
      }
    });

    await step('a slice in the address (#/graph?kind=&hashtag=) draws that slice', async () => {
      await page.goto('about:blank');
      try {
        await page.goto(`${t.origin}/#/graph?kind=mention&hashtag=rust`);
        await wait_ready(page, 'graph');
        const slice = await page.evaluate(() => window.tlflow.slice);
        expect(JSON.stringify(slice.kind) === '["mention"]' && JSON.stringify(slice.hashtag) === '["rust"]',
               `tlflow.slice is ${JSON.stringify(slice)}`);
        const note = await compare_with_api(page, t.origin, 'kind=mention&hashtag=rust from the address');
        // A slice with nothing in it says so where the drawing would be.
        await page.goto('about:blank');
        await page.goto(`${t.origin}/#/graph?hashtag=nosuchtag`);
        await wait_ready(page, 'graph');
        expect(await page.evaluate(() => window.tlflow.graph.order) === 0, 'hashtag=nosuchtag draws accounts');
        const empty = await graph_message(page, 'empty');
        await shot(page, 'graph-empty-1280');
        return `${note}; an empty slice: "${empty}"`;
      } finally {
        // The next steps (the export among them) want the whole graph.
        await page.goto('about:blank');
        await page.goto(`${t.origin}/#/graph`);
        await wait_ready(page, 'graph');
      }
    });

    let clicked = null;
    await step('clicking a node opens its panel with the API neighbours', async () => {
      // Layouts settle; then the account with most neighbours that no other
      // node overlaps on screen.
      await h.sleep(300);
      const target = await page.evaluate(() => {
        const t = window.tlflow;
        const r = t.renderer;
        const box = r.getContainer().getBoundingClientRect();
        const pos = {};
        t.graph.forEachNode((n) => {
          // Sigma 3's display data holds framed-graph coordinates (0..1):
          // graphToViewport() wants the graph's own, the node's attributes.
          const d = r.getNodeDisplayData(n);
          const p = r.framedGraphToViewport ? r.framedGraphToViewport(d) : r.graphToViewport(t.graph.getNodeAttributes(n));
          pos[n] = { x: p.x, y: p.y, size: d.size };
        });
        const ids = Object.keys(pos).sort((a, b) => t.graph.degree(b) - t.graph.degree(a));
        for (const id of ids) {
          const p = pos[id];
          if (p.x < 5 || p.y < 5 || p.x > box.width - 5 || p.y > box.height - 5) continue;
          const clear = ids.every((o) => o === id || Math.hypot(pos[o].x - p.x, pos[o].y - p.y) > p.size + pos[o].size + 4);
          if (clear) return { id, x: box.left + p.x, y: box.top + p.y };
        }
        return null;
      });
      expect(target, 'no node is clear of the others on screen');
      await page.mouse.click(target.x, target.y);
      await page.waitForSelector('#panel:not([hidden])', { timeout: 5000 });
      await page.waitForFunction((id) => (document.querySelector('#panel-id') || {}).textContent.includes(id), target.id, { timeout: 5000 })
        .catch(async () => { throw new Error(`#panel-id is "${await page.textContent('#panel-id')}", clicked ${target.id}`); });
      clicked = target.id;
      const enc = encodeURIComponent(target.id);
      for (const dir of ['out', 'in']) {
        const api = await h.api_json(t.origin, `/vertices/${enc}/neighbors?direction=${dir}&limit=1000`);
        const shown = await page.$$eval(`#panel-${dir} li[data-id]`, (els) => els.map((e) => e.dataset.id));
        same_set(shown, api.neighbors.map((n) => n.id), `${target.id} ${dir}-neighbours`);
      }
      await shot(page, 'graph-panel-1280');
      return `${target.id} at (${Math.round(target.x)}, ${Math.round(target.y)})`;
    });

    await step('the path finder shows the path GET /paths answers', async () => {
      expect(clicked, 'no panel open (previous step failed)');
      // The drawn account farthest from the clicked one, undirected.
      const far = await page.evaluate((src) => {
        const g = window.tlflow.graph;
        const dist = { [src]: 0 };
        const q = [src];
        while (q.length) {
          const n = q.shift();
          g.forEachNeighbor(n, (m) => { if (!(m in dist)) { dist[m] = dist[n] + 1; q.push(m); } });
        }
        return Object.keys(dist).sort((a, b) => dist[b] - dist[a] || (a < b ? -1 : 1))[0];
      }, clicked);
      const api = await h.api_json(t.origin, `/paths/${encodeURIComponent(clicked)}/${encodeURIComponent(far)}`);
      await page.fill('#path-to', far);
      await page.click('#path-go');
      await page.waitForSelector('#path-result li[data-id]', { timeout: 5000 });
      const shown = await page.$$eval('#path-result li[data-id]', (els) => els.map((e) => e.dataset.id));
      expect(JSON.stringify(shown) === JSON.stringify(api.path),
             `page shows ${JSON.stringify(shown)}, API ${JSON.stringify(api.path)}`);
      const marked = await page.evaluate(() => {
        const out = [];
        window.tlflow.graph.forEachEdge((k, a, s, d) => { if (a.path) out.push([s, d]); });
        return out;
      });
      for (let i = 0; i + 1 < api.path.length; i++) {
        const [u, v] = [api.path[i], api.path[i + 1]];
        expect(marked.some(([s, d]) => (s === u && d === v) || (s === v && d === u)),
               `the path's edge ${u} - ${v} has no path: true in tlflow.graph`);
      }
      await shot(page, 'graph-path-1280');
      return `${api.length} hops: ${api.path.join(' > ')}`;
    });

    await step('phone width (390 x 844): filters folded, keyboard reaches them, no horizontal scroll', async () => {
      const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      // Narrowing the window folds the filters.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForFunction(() => !document.querySelector('#filters-box').open, null, { timeout: 3000 })
        .catch(() => { throw new Error('#filters-box stays open at 390 px'); });
      // A page opened at that width starts folded; the drawing is on the first screen.
      await page.goto('about:blank');
      await page.goto(`${t.origin}/#/graph`);
      await wait_ready(page, 'graph');
      await h.sleep(300);
      expect(!(await page.evaluate(() => document.querySelector('#filters-box').open)), '#filters-box is open at start at 390 px');
      const box = await page.evaluate(() => { const r = document.querySelector('#sigma').getBoundingClientRect(); return [r.top, r.width, r.height]; });
      expect(box[0] < 844 / 2 && box[1] > 300 && box[2] > 300, `the drawing is at top ${box[0]}, ${box[1]} x ${box[2]} px`);
      let o = await overflow();
      expect(o <= 0, `the graph view is ${o} px wider than a 390 px screen`);
      // Labels at that width: none crosses the drawing's edge, none overlaps another.
      const labels = await check_labels(page);
      await shot(page, 'graph-390');
      // The keyboard: Tab from the top of the page reaches the summary, Enter
      // unfolds it, the next Tab is the first filter.
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      let tabs = 0;
      for (; tabs < 30; tabs++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(() => document.activeElement && document.activeElement.matches('#filters-box > summary'))) break;
      }
      expect(tabs < 30, 'Tab never reaches the filters\' summary');
      await page.keyboard.press('Enter');
      expect(await page.evaluate(() => document.querySelector('#filters-box').open), 'Enter on the summary does not unfold the filters');
      await page.keyboard.press('Tab');
      const next = await page.evaluate(() => document.activeElement.id);
      expect(next === 'f-hashtag', `after the summary Tab goes to #${next}, not #f-hashtag`);
      const outside = await page.evaluate(() => [...document.querySelectorAll('#filters input, #filters select, #filters button, #find-input, #find-go')]
        .filter((e) => { const r = e.getBoundingClientRect(); return r.width === 0 || r.left < 0 || r.right > window.innerWidth; })
        .map((e) => e.id || e.name || e.value));
      expect(outside.length === 0, `controls off the 390 px screen: ${JSON.stringify(outside)}`);
      o = await overflow();
      expect(o <= 0, `with the filters open the page is ${o} px wider than the screen`);
      await shot(page, 'graph-390-filters');
      // Every other view at that width.
      const wide = [];
      for (const v of ['overview', 'flows', 'tracking', 'exports']) {
        await go_view(page, v);
        await h.sleep(100);
        const ov = await overflow();
        if (ov > 0) wide.push(`${v} +${ov} px`);
      }
      await shot(page, 'exports-390');
      expect(wide.length === 0, `wider than a 390 px screen: ${wide.join(', ')}`);
      await page.setViewportSize({ width: 1280, height: 800 });
      await go_view(page, 'graph');
      await page.waitForFunction(() => document.querySelector('#filters-box').open, null, { timeout: 3000 })
        .catch(() => { throw new Error('#filters-box stays folded at 1280 px'); });
      o = await overflow();
      expect(o <= 0, `at 1280 px the page is ${o} px wider than the screen`);
      return `${tabs + 1} Tabs to the filters; no view wider than the screen; at 390 px ${labels}`;
    });

    await step('overview shows the API counts', async () => {
      await go_view(page, 'overview');
      const v = (await h.api_json(t.origin, '/vertices/count')).count;
      const e = (await h.api_json(t.origin, '/edges/count')).count;
      const num = async (sel) => +(await page.textContent(sel)).replace(/\D/g, '');
      await h.until('#ov-vertices and #ov-edges to show the counts',
                    async () => (await num('#ov-vertices')) === v && (await num('#ov-edges')) === e, { timeout: 5000 })
        .catch(async () => { throw new Error(`#ov-vertices "${await page.textContent('#ov-vertices')}", #ov-edges "${await page.textContent('#ov-edges')}", API ${v} / ${e}`); });
      await page.waitForFunction(() => document.querySelector('#ov-live').dataset.state === 'live' &&
                                 /^Live · /.test(document.querySelector('#ov-live').textContent), null, { timeout: 5000 })
        .catch(async () => { throw new Error(`#ov-live says "${await page.textContent('#ov-live')}"`); });
      // The rate chart draws from its first point on (one point: a short
      // flat stroke and a dot), never an empty canvas once a figure came.
      await page.waitForFunction(() => +document.querySelector('#ov-rate').dataset.points >= 1, null, { timeout: 5000 })
        .catch(() => { throw new Error('#ov-rate has no point after 5 s'); });
      const chart = await page.evaluate(() => {
        const c = document.querySelector('#ov-rate');
        const px = c.getContext('2d').getImageData(0, 14, c.width, c.height - 14).data;
        let inked = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] > 0) inked++;
        return { points: +c.dataset.points, inked };
      });
      expect(chart.inked > 20, `#ov-rate with ${chart.points} point(s) draws ${chart.inked} pixels below its scale`);
      const rate_points = chart.points;
      await shot(page, 'overview-1280');
      await page.setViewportSize({ width: 390, height: 844 });
      await h.sleep(200);
      await shot(page, 'overview-390');
      await page.setViewportSize({ width: 1280, height: 800 });
      return `${v} vertices, ${e} edges; rate chart inked with ${rate_points} point(s)`;
    });

    await step('flows: the matrix and the table hold the API flows', async () => {
      await go_view(page, 'flows');
      const api = await h.api_json(t.origin, '/flows?by=location&limit=1000');
      const want = new Map(api.flows.map((f) => [`${f.from}|${f.to}`, f.weight]));
      const rows = await page.$$eval('#flows-table tr[data-from][data-to]',
                                     (els) => els.map((r) => [r.dataset.from, r.dataset.to, r.dataset.weight, r.textContent]));
      expect(rows.length === Math.min(want.size, 500), `#flows-table has ${rows.length} rows, /flows ${want.size} flows`);
      for (const [from, to, weight, text] of rows) {
        const w = want.get(`${from}|${to}`) ?? want.get(`${from || 'null'}|${to || 'null'}`);
        expect(w !== undefined, `row ${from} -> ${to} is not in /flows`);
        if (weight !== undefined) expect(Number(weight) === w, `row ${from} -> ${to}: data-weight ${weight}, /flows ${w}`);
        expect(text.replace(/[,\s]/g, '').includes(String(w)), `row ${from} -> ${to} does not show the weight ${w}`);
      }
      // The matrix: the ten busiest locations (weight in and out), rows
      // from, columns to, each cell the /flows weight (0 when none), shaded
      // by it.
      const total = new Map();
      for (const f of api.flows) for (const k of [f.from ?? '', f.to ?? '']) total.set(k, (total.get(k) || 0) + f.weight);
      const busiest = [...total.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10).map((e) => e[0]);
      const by_pair = new Map(api.flows.map((f) => [`${f.from ?? ''}|${f.to ?? ''}`, f.weight]));
      const m = await page.evaluate(() => ({
        rows: [...document.querySelectorAll('#flows-matrix tbody tr')].map((tr) =>
          [...tr.querySelectorAll('td')].map((td) => [td.dataset.from, td.dataset.to, +td.dataset.weight, td.textContent, +td.dataset.heat,
                                                     td.className])),
        stops: document.querySelectorAll('#flows-matrix td[tabindex="0"]').length,
      }));
      expect(m.rows.length === busiest.length, `the matrix has ${m.rows.length} rows, want ${busiest.length}`);
      const heat = [];
      m.rows.forEach((row, i) => {
        expect(row.length === busiest.length, `matrix row ${i} has ${row.length} cells`);
        row.forEach(([from, to, w, text, step, cls], j) => {
          expect(from === busiest[i] && to === busiest[j], `cell (${i}, ${j}) is ${from} -> ${to}, want ${busiest[i]} -> ${busiest[j]}`);
          const want_w = by_pair.get(`${from}|${to}`) || 0;
          expect(w === want_w, `cell ${from} -> ${to}: ${w}, /flows ${want_w}`);
          expect(text.replace(/\D/g, '') === (want_w ? String(want_w) : ''), `cell ${from} -> ${to} shows "${text}", /flows ${want_w}`);
          expect(cls.includes(`heat-${step}`) && (step === 0) === (w === 0), `cell ${from} -> ${to}: weight ${w}, class "${cls}"`);
          heat.push([w, step]);
        });
      });
      heat.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < heat.length; i++) expect(heat[i][1] >= heat[i - 1][1], `shading not monotonic in the weight: ${JSON.stringify(heat)}`);
      // One tab stop; the arrows move along a row and down a column.
      expect(m.stops === 1, `${m.stops} matrix cells in the tab order, want 1`);
      await page.focus('#flows-matrix td[tabindex="0"]');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowDown');
      const at = await page.evaluate(() => { const a = document.activeElement; return [a.dataset.from, a.dataset.to, document.querySelector('#flows-detail').textContent]; });
      if (busiest.length > 1) {
        expect(at[0] === busiest[1] && at[1] === busiest[1], `after Right and Down the focus is on ${at[0]} -> ${at[1]}, want ${busiest[1]} -> ${busiest[1]}`);
        const w11 = by_pair.get(`${busiest[1]}|${busiest[1]}`) || 0;
        expect(at[2].includes(`weight ${w11}`), `#flows-detail says "${at[2]}", want weight ${w11}`);
      }
      await shot(page, 'flows-1280');
      await page.setViewportSize({ width: 390, height: 844 });
      await h.sleep(200);
      await shot(page, 'flows-390');
      const ov = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await page.setViewportSize({ width: 1280, height: 800 });
      expect(ov <= 0, `the flows view is ${ov} px wider than a 390 px screen`);
      return `matrix ${busiest.length} x ${busiest.length}, ${rows.length} rows`;
    });

    await step('adding and removing a hashtag in the tracking view changes GET /tracking', async () => {
      await go_view(page, 'tracking');
      await page.fill('#track-input', 'browsertest');
      await page.click('#track-add');
      await h.until('GET /tracking to hold browsertest',
                    async () => (await h.api_json(t.origin, '/tracking')).hashtags.includes('browsertest'), { timeout: 5000 });
      await page.waitForSelector('#track-list li[data-tag="browsertest"]', { timeout: 5000 });
      await shot(page, 'tracking-1280');
      await page.click('#track-list li[data-tag="browsertest"] button.remove');
      await h.until('GET /tracking to drop browsertest',
                    async () => !(await h.api_json(t.origin, '/tracking')).hashtags.includes('browsertest'), { timeout: 5000 });
      await page.waitForSelector('#track-list li[data-tag="browsertest"]', { state: 'detached', timeout: 5000 });
      return JSON.stringify((await h.api_json(t.origin, '/tracking')).hashtags);
    });

    await step('an export from the page downloads a file NetworkX reads with the API counts', async () => {
      await go_view(page, 'exports');
      await page.selectOption('#export-format', 'graphml');
      await page.click('#export-start');
      const link = '#export-jobs tr[data-state="done"] a.download';
      await page.waitForSelector(link, { timeout: 15000 });
      await shot(page, 'exports-1280');
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), page.click(link)]);
      const file = path.join(work, 'export.graphml');
      await download.saveAs(file);
      const py = 'import sys, networkx as nx; g = nx.read_graphml(sys.argv[1]); print(g.number_of_nodes(), g.number_of_edges())';
      const [n, m] = execFileSync('/usr/bin/python3', ['-c', py, file]).toString().trim().split(' ').map(Number);
      const v = (await h.api_json(t.origin, '/vertices/count')).count;
      const e = (await h.api_json(t.origin, '/edges/count')).count;
      expect(n === v && m === e, `NetworkX reads ${n} nodes, ${m} edges; API ${v} / ${e}`);
      // The tab's jobs survive a reload (sessionStorage), listed once.
      const id = await page.getAttribute('#export-jobs tr[data-state="done"]', 'data-id');
      await page.reload();
      await go_view(page, 'exports');
      await page.waitForSelector(`#export-jobs tr[data-id="${id}"][data-state="done"] a.download`, { timeout: 10000 })
        .catch(() => { throw new Error(`job ${id} is not listed after a reload`); });
      await page.selectOption('#export-format', 'csv');
      await page.selectOption('#export-format', 'graphml');
      const rows = await page.$$eval(`#export-jobs tr[data-id="${id}"]`, (els) => els.length);
      expect(rows === 1, `job ${id} is listed ${rows} times after a reload and a format change`);
      return `${download.suggestedFilename()}: ${n} nodes, ${m} edges; listed again after a reload`;
    });

    await step('the page caught no error of its own while tlflow ran', async () => {
      const errs = await page.evaluate(() => (window.tlflow.errors || []).map((e) => JSON.stringify(e)));
      expect(errs.length === 0, `tlflow.errors: ${JSON.stringify(errs.slice(0, 5))}`);
    });

    await step('a graph that cannot be loaded shows the error banner; the next load clears it', async () => {
      page_b.expect_errors = /status of 404|Failed to load resource/;
      try {
        await page.goto('about:blank');
        await page.goto(`${t.origin}/#/graph?around=${encodeURIComponent('twitter:1')}`);
        await page.waitForSelector('#banner[data-kind="error"]:not([hidden])', { timeout: 10000 });
        const msg = await graph_message(page, 'error');
        await shot(page, 'banner-error-1280');
        return `banner "${(await page.textContent('#banner')).trim()}"; graph area "${msg}"`;
      } finally {
        page_b.expect_errors = null;
        await page.goto('about:blank');
        await page.goto(`${t.origin}/#/graph`);
        await wait_ready(page, 'graph');
        await page.waitForSelector('#banner', { state: 'hidden', timeout: 5000 });
        await page.waitForSelector('#graph-message', { state: 'hidden', timeout: 5000 });
      }
    });

    await step('stopping tlflow shows the unreachable banner', async () => {
      await go_view(page, 'graph');
      page_b.expect_errors = /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to fetch|Failed to load resource/;
      await t.stop();
      const t0 = Date.now();
      await page.waitForSelector('#banner[data-kind="offline"]:not([hidden])', { timeout: 15000 });
      const ms = Date.now() - t0;
      const banner = (await page.textContent('#banner')).trim();
      expect(/cannot be reached/.test(banner), `#banner says "${banner}"`);
      const msg = await graph_message(page, 'offline');
      expect(/Not live/.test(msg), `over a drawing the graph area says "${msg}"`);
      await shot(page, 'banner-offline-1280');
      // A page opened while the service is down: the graph area says so too
      // (the page's own files answer from the cache of this tab: a reload of
      // the view, not of the document).
      await page.evaluate(() => { window.tlflow.graph.clear(); location.hash = '#/graph?limit=499'; });
      await page.waitForFunction(() => /Nothing to draw/.test(document.querySelector('#graph-message-text').textContent),
                                 null, { timeout: 10000 }).catch(() => {});
      const empty = await graph_message(page, 'offline');
      expect(/Nothing to draw/.test(empty), `over an empty drawing the graph area says "${empty}"`);
      return `${ms} ms after tlflow stopped; graph area "${msg}", then "${empty}"`;
    });

    const token = require('crypto').randomBytes(24).toString('hex');
    const jwt_secret = require('crypto').randomBytes(32).toString('hex');
    // An HS256 JWT with these scopes, valid for an hour.
    const jwt = (scopes) => {
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'web-test', scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + 3600 })}`;
      return `${body}.${require('crypto').createHmac('sha256', jwt_secret).update(body).digest('base64url')}`;
    };
    await step('--auth-reads without a token shows the token banner; the token loads the graph', async () => {
      t2 = await h.start_tlflow(bin, {
        data_dir: path.join(work, 'auth'), extra: ['--auth-reads', '--analytics-refresh', '0'],
        env: { TLFLOW_API_TOKEN: token, TLFLOW_JWT_SECRET: jwt_secret },
      });
      allowed = t2.origin;
      const f2 = new x_feed({ base: 4000000000, tags: ['rust'] });
      let l2 = '';
      for (let i = 0; i < 8; i++) l2 += f2.post(i, (i + 1) % 8);
      await t2.write(l2);
      await t2.settle({ token, quiet: 0 });
      page_b.expect_errors = /status of 40[13]|Failed to load resource/;
      await page.goto(`${t2.origin}/#/graph`);
      await page.waitForSelector('#banner[data-kind="auth"]:not([hidden])', { timeout: 10000 });
      let banner = (await page.textContent('#banner')).trim();
      expect(/needs a token/.test(banner) && /401/.test(banner), `no token: #banner says "${banner}"`);
      let msg = await graph_message(page, 'auth');
      expect(/needs a token/.test(msg), `no token: the graph area says "${msg}"`);
      expect(await page.evaluate(() => window.tlflow.graph.order) === 0, 'no token, yet a drawing');
      await shot(page, 'banner-auth-1280');
      // The message's button leads to the token field.
      await page.click('#graph-message-token');
      expect(await page.evaluate(() => document.activeElement && document.activeElement.id) === 'token-input',
             '#graph-message-token does not focus #token-input');
      // A wrong token: refused, said so in both places.
      await page.fill('#token-input', 'not-' + token);
      await page.click('#token-save');
      await page.waitForFunction(() => /refused/.test(document.querySelector('#banner').textContent), null, { timeout: 10000 })
        .catch(async () => { throw new Error(`wrong token: #banner says "${await page.textContent('#banner')}"`); });
      msg = await graph_message(page, 'auth');
      expect(/refused/.test(msg), `wrong token: the graph area says "${msg}"`);
      banner = (await page.textContent('#banner')).trim();
      // A valid JWT without tlflow's read scope: 403, said so in both places.
      await page.fill('#token-input', jwt(['openid']));
      await page.click('#token-save');
      await page.waitForFunction(() => /403/.test(document.querySelector('#banner').textContent), null, { timeout: 10000 })
        .catch(async () => { throw new Error(`JWT without the scope: #banner says "${await page.textContent('#banner')}"`); });
      await page.waitForFunction(() => /403/.test(document.querySelector('#graph-message-text').textContent), null, { timeout: 10000 })
        .catch(() => {});
      msg = await graph_message(page, 'auth');
      expect(/permission/.test(msg) && /403/.test(msg), `JWT without the scope: the graph area says "${msg}"`);
      const forbidden = (await page.textContent('#banner')).trim();
      await page.fill('#token-input', token);
      await page.click('#token-save');
      await page.waitForSelector('#banner', { state: 'hidden', timeout: 10000 });
      await page.waitForSelector('#graph-message', { state: 'hidden', timeout: 10000 });
      page_b.expect_errors = null;
      await wait_ready(page, 'graph');
      await page.waitForFunction(() => window.tlflow.graph && window.tlflow.graph.order === 8, null, { timeout: 10000 });
      const kept = await page.evaluate(() => sessionStorage.getItem('tlflow.token'));
      expect(kept === token, 'sessionStorage["tlflow.token"] does not hold the token');
      // A token in the URL fragment is taken, then removed from the URL.
      await page.evaluate(() => sessionStorage.clear());
      await page.goto(`${t2.origin}/#token=${token}`);
      await page.waitForFunction(() => window.tlflow && window.tlflow.ready, null, { timeout: 10000 });
      const url = page.url();
      expect(!url.includes(token), `the token stays in the URL: ${url.replace(token, '<token>')}`);
      expect(await page.evaluate(() => sessionStorage.getItem('tlflow.token')) === token, '#token= was not kept');
      // A read-only JWT: the graph loads; a tracking change is 403 in the
      // banner and the tracking view, and leaves the graph area alone.
      await page.fill('#token-input', jwt(['tlflow:read']));
      await page.click('#token-save');
      await page.waitForFunction(() => window.tlflow.graph && window.tlflow.graph.order === 8 && window.tlflow.ready, null, { timeout: 10000 });
      page_b.expect_errors = /status of 403|Failed to load resource/;
      await go_view(page, 'tracking');
      await page.fill('#track-input', 'forbiddentag');
      await page.click('#track-add');
      await page.waitForSelector('#banner[data-kind="auth"]:not([hidden])', { timeout: 10000 });
      const track_banner = (await page.textContent('#banner')).trim();
      expect(/403/.test(track_banner) && /permission/.test(track_banner), `tracking with a read-only JWT: #banner says "${track_banner}"`);
      expect(/permission|forbidden|lacks/i.test(await page.textContent('#track-status')), `#track-status says "${await page.textContent('#track-status')}"`);
      await go_view(page, 'graph');
      expect(await page.evaluate(() => document.querySelector('#graph-message').hidden), 'a 403 on tracking shows a message in the graph area');
      page_b.expect_errors = null;
      return `"${banner}"; "${forbidden}"; then 8 nodes with the token; a read-only JWT's tracking change: "${track_banner}"`;
    });

    await step('no console error and no request to another origin', async () => {
      const foreign = [...new Set(page_b.foreign)];
      expect(foreign.length === 0, `requests to other origins: ${JSON.stringify(foreign.slice(0, 5))}`);
      expect(page_b.console_errors.length === 0, `console errors: ${JSON.stringify(page_b.console_errors.slice(0, 5))}`);
    });
  } finally {
    if (page_b) await page_b.close();
    if (t) await t.stop();
    if (t2) await t2.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const f of figures) console.log(`figure: ${f}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`screenshots: ${artifacts}`);
  console.log(`run time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`FAIL: ${e && e.stack || e}`);
  process.exit(1);
});
