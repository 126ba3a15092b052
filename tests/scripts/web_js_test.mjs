// The web view's pure modules under Node (no browser): the Server-Sent
// Events parser the page reads the changefeed with (web/sse.js) and the
// layout (web/layout.js). The page itself runs in Chromium in
// integration.web_browser.
//   node tests/scripts/web_js_test.mjs <web folder>
import assert from "node:assert/strict";
import path from "node:path";
import {pathToFileURL} from "node:url";

const web = process.argv[2];
if (!web) {
  console.error("usage: node web_js_test.mjs <web folder>");
  process.exit(2);
}
const load = (name) => import(pathToFileURL(path.join(web, name)).href);
const {SseParser} = await load("sse.js");
const {layout, separate, normalize, nearby} = await load("layout.js");

let failed = 0;
function check(name, f) {
  try {
    f();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

// What tlflow sends (docs/live.md): retry first, events, a stats event
// without id, heartbeat comments.
const stream =
  "retry: 2000\n\n" +
  "id: 41.0\nevent: vertex_created\ndata: {\"id\":\"41.0\",\"type\":\"vertex_created\"}\n\n" +
  ": heartbeat\n\n" +
  "event: stats\ndata: {\"type\":\"stats\",\"posts_per_s\":1.5}\n\n" +
  "id: 41.1\r\nevent: edge_created\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n";

function parse(pieces) {
  const events = [];
  const retries = [];
  const p = new SseParser((e) => events.push(e), (ms) => retries.push(ms));
  for (const piece of pieces) p.push(piece);
  return {events, retries};
}

check("sse: events, ids, types, multi-line data, CRLF, comments, retry", () => {
  const {events, retries} = parse([stream]);
  assert.deepEqual(retries, [2000]);
  assert.deepEqual(events.map((e) => [e.id, e.type]),
                   [["41.0", "vertex_created"], [null, "stats"], ["41.1", "edge_created"]]);
  assert.equal(events[2].data, "{\"a\":\n1}");
  assert.deepEqual(JSON.parse(events[0].data), {id: "41.0", type: "vertex_created"});
});

check("sse: the same events whatever the pieces the network cuts the text into", () => {
  const whole = parse([stream]).events;
  for (const size of [1, 2, 3, 7, 13, 64]) {
    const pieces = [];
    for (let i = 0; i < stream.length; i += size) pieces.push(stream.slice(i, i + size));
    assert.deepEqual(parse(pieces).events, whole, `pieces of ${size}`);
  }
});

check("sse: an event is dispatched only at its blank line; no data, no event", () => {
  assert.equal(parse(["id: 1\nevent: x\ndata: {}\n"]).events.length, 0);
  assert.equal(parse(["id: 1\nevent: x\n\n"]).events.length, 0);
  assert.deepEqual(parse(["data:no space\n\n"]).events[0].data, "no space");
  assert.deepEqual(parse(["retry: soon\n\n"]).retries, []);
});

// A graph with communities: 2,000 accounts, 8,000 edges, mostly inside.
function graph(n, m, communities) {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes = Array.from({length: n}, (_, i) => ({id: "a" + i, community: i % communities, score: rnd()}));
  const edges = [];
  for (let k = 0; k < m; k++) {
    const a = Math.floor(rnd() * n);
    let b = Math.floor(rnd() * n);
    if (rnd() < 0.8) b = (b - (b % communities) + (a % communities)) % n;
    edges.push([a, b, 1 + Math.floor(rnd() * 3)]);
  }
  return {nodes, edges};
}

check("layout: deterministic, finite, the unit square after normalize", () => {
  const {nodes, edges} = graph(2000, 8000, 12);
  const a = layout(nodes, edges);
  const b = layout(nodes, edges);
  assert.deepEqual(a, b);
  assert.ok(a.every(Number.isFinite));
  normalize(a);
  let minX = 1, maxX = 0, minY = 1, maxY = 0;
  for (let i = 0; i < nodes.length; i++) {
    minX = Math.min(minX, a[2 * i]); maxX = Math.max(maxX, a[2 * i]);
    minY = Math.min(minY, a[2 * i + 1]); maxY = Math.max(maxY, a[2 * i + 1]);
  }
  assert.ok(minX >= -1e-9 && minY >= -1e-9 && maxX <= 1 + 1e-9 && maxY <= 1 + 1e-9);
  assert.ok(Math.abs(Math.max(maxX - minX, maxY - minY) - 1) < 1e-9, "the larger side spans [0, 1]");
});

check("layout: accounts of a community end nearer each other than to the others", () => {
  const {nodes, edges} = graph(600, 3000, 4);
  const p = layout(nodes, edges);
  let inside = 0, across = 0, ni = 0, na = 0;
  for (let i = 0; i < 600; i += 7) {
    for (let j = i + 1; j < 600; j += 11) {
      const d = Math.hypot(p[2 * i] - p[2 * j], p[2 * i + 1] - p[2 * j + 1]);
      if (nodes[i].community === nodes[j].community) { inside += d; ni++; } else { across += d; na++; }
    }
  }
  assert.ok(inside / ni < 0.8 * (across / na), `mean distance inside ${inside / ni}, across ${across / na}`);
});

check("layout: 5,000 accounts and 20,000 edges within a second", () => {
  const {nodes, edges} = graph(5000, 20000, 40);
  const t0 = performance.now();
  layout(nodes, edges);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${Math.round(ms)} ms`);
  console.log(`     (5,000 / 20,000 laid out in ${Math.round(ms)} ms)`);
});

check("separate: no two discs overlap on a 480 px screen once it is done", () => {
  const {nodes, edges} = graph(60, 200, 3);
  const p = layout(nodes, edges);
  const sizes = nodes.map((_, i) => 4 + (i % 5) * 2);
  separate(p, sizes);
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < 60; i++) {
    minX = Math.min(minX, p[2 * i]); maxX = Math.max(maxX, p[2 * i]);
    minY = Math.min(minY, p[2 * i + 1]); maxY = Math.max(maxY, p[2 * i + 1]);
  }
  const unit = Math.max(maxX - minX, maxY - minY) / 480;
  for (let i = 0; i < 60; i++) {
    for (let j = i + 1; j < 60; j++) {
      const d = Math.hypot(p[2 * i] - p[2 * j], p[2 * i + 1] - p[2 * j + 1]) / unit;
      assert.ok(d >= sizes[i] + sizes[j], `accounts ${i} and ${j}: ${d.toFixed(1)} px apart, radii ${sizes[i]} + ${sizes[j]}`);
    }
  }
});

check("nearby: the same place for the same id, near the neighbour", () => {
  assert.deepEqual(nearby("twitter:1", 0.5, 0.5), nearby("twitter:1", 0.5, 0.5));
  assert.notDeepEqual(nearby("twitter:1", 0.5, 0.5), nearby("twitter:2", 0.5, 0.5));
  const [x, y] = nearby("twitter:1", 0.2, 0.3);
  assert.ok(Math.abs(Math.hypot(x - 0.2, y - 0.3) - 0.04) < 1e-9);
});

console.log(failed ? `${failed} failed` : "all passed");
process.exit(failed ? 1 : 0);
