// The live graph view (docs/web.md, "Live graph"): the top accounts of a
// slice (GET /graph) or the ego network of one account (GET
// /vertices/{id}/ego), drawn with sigma (WebGL) and kept up to date from the
// changefeed without redrawing from scratch; the account panel and the path
// finder.
import {tlflow} from "./state.js";
import {ApiError, get, getToken, hideBanner, onBanner, query, recordError, showBanner} from "./api.js";
import {layout, nearby, normalize, separate} from "./layout.js";
import {Changefeed} from "./feed.js";

const PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16",
                 "#f97316", "#14b8a6", "#6366f1", "#eab308"];
// Edges translucent, so that the accounts stay readable in a dense drawing.
export const KIND_COLORS = {mention: "rgba(71,85,105,0.55)", reply: "rgba(22,163,74,0.7)",
                            repost: "rgba(234,88,12,0.7)", quote: "rgba(147,51,234,0.7)",
                            link: "rgba(71,85,105,0.55)"};
const NEUTRAL = "#9ca3af";   // accounts without a community (added live, or no analytics)
const PATH_COLOR = "#dc2626";
const MIN_SIZE = 2.5, MAX_SIZE = 18;

const $ = (id) => document.getElementById(id);
let graph = null;
let renderer = null;
let feed = null;
let generation = 0;          // of the current load; a newer load makes older answers moot
let buffering = false;       // a load is running: events wait for its snapshot
let buffered = [];
let meanScore = 1;
let sizeScale = 1;            // smaller discs in a bigger drawing
let edgeType = "arrow";       // one-pixel lines in a big drawing (above 5,000 edges)
let pathMarks = [];          // edges and nodes the current path highlight changed
let selected = null;
let drawSplit = {};
const narrowScreen = window.matchMedia("(max-width: 720px)");
const LABELLED = 40;         // the biggest accounts that may get a label
let labelThreshold = 9;
// The last properties seen in vertex events, so that an account drawn
// later (its edge arrives after its vertex event) gets its handle.
const seen = new Map();
const SEEN_MAX = 20000;

export const communityColor = (c) => (c === null || c === undefined || c < 0 ? NEUTRAL : PALETTE[c % PALETTE.length]);
// A disc's area grows with the score relative to the mean of the drawing:
// accounts of a uniform graph are all of the middle size, hubs stand out.
const nodeSize = (score) => (score > 0 ? Math.min(MAX_SIZE, Math.max(MIN_SIZE, sizeScale * (2 + 3.5 * Math.sqrt(score / meanScore))))
                                       : MIN_SIZE);
const edgeSize = (w) => Math.min(5, 1 + Math.log2(1 + (w || 1)) * 0.5);
const edgeKey = (from, to, kind) => from + "|" + to + "|" + kind;

export function initGraph({onStats}) {
  graph = new window.graphology.Graph({type: "directed", multi: true, allowSelfLoops: true});
  tlflow.graph = graph;
  feed = new Changefeed({onBatch: applyBatch, onStats, onReset: () => load(),
                         onAuthError: (text) => graphMessage("auth", text)});
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    readFilters();
    // The filters go into the address (a link shows the same slice), without
    // a hashchange: this load is the one.
    history.replaceState(null, "", graphHash());
    load();
  });
  $("pause").addEventListener("click", togglePause);
  $("find-form").addEventListener("submit", (e) => {
    e.preventDefault();
    findAccount($("find-input").value.trim());
  });
  $("panel-close").addEventListener("click", closePanel);
  $("path-form").addEventListener("submit", (e) => {
    e.preventDefault();
    findPath();
  });
  for (const list of ["panel-out", "panel-in", "path-result"]) {
    $(list).addEventListener("click", (e) => {
      const li = e.target.closest("li[data-id]");
      if (li && e.target.closest("button")) select(li.dataset.id);
    });
  }
  $("graph-message-token").addEventListener("click", () => $("token-input").focus());
  // The banner's problem, repeated where the drawing should be: an
  // unreachable service or a missing token never leaves a blank canvas.
  // (A token problem only when the graph's own reads were refused: a 403 on
  // a tracking change says nothing about the drawing.)
  onBanner((kind, text, was) => {
    if (kind === "offline") graphMessage(kind, text);
    else if (!kind && (was === "offline" || was === "auth") && $("graph-message").dataset.kind === was) graphMessage(null);
  });
  readFilters();
  // A phone shows the drawing first: the filters fold (the summary says the slice).
  // Also when the window narrows to that width (a phone turned, a window
  // resized); widening opens them again.
  if (narrowScreen.matches) $("filters-box").open = false;
  narrowScreen.addEventListener("change", (e) => {
    $("filters-box").open = !e.matches;
    if (renderer) renderer.setSetting("stagePadding", e.matches ? 60 : 30);
  });
  return feed;
}

// The renderer is made when the view is first shown: sigma needs a sized container.
export function showGraph() {
  if (!renderer) {
    const fg = getComputedStyle(document.body).color;
    const R = window.Sigma.rendering;
    renderer = new window.Sigma(graph, $("sigma"), {
      labelColor: {color: fg},
      allowInvalidContainer: true,
      defaultEdgeType: "arrow",
      // "thin": one-pixel GL lines (two vertices an edge, no blending of a
      // wide quad): a big drawing's first frame costs a software renderer
      // a fraction of the quads' ("line") time.
      edgeProgramClasses: {arrow: R.EdgeArrowProgram, line: R.EdgeRectangleProgram, thin: R.EdgeLineProgram},
      renderEdgeLabels: false,
      // The labels are drawn by drawLabels (after each frame), not by
      // sigma's label grid: its cells let neighbouring labels overlap.
      renderLabels: false,
      labelRenderedSizeThreshold: labelThreshold,
      labelSize: 13,
      labelWeight: "600",
      zIndex: true,
      // On a phone more room at the edges: fewer labels move to the left
      // of their disc or into the canvas (drawLabels).
      stagePadding: narrowScreen.matches ? 60 : 30,
      minCameraRatio: 0.02,
      maxCameraRatio: 20,
    });
    tlflow.renderer = renderer;
    renderer.on("afterRender", drawLabels);
    // The area changes size without a window resize (the legend grows, the
    // panel opens): sigma measures its container when it draws.
    new ResizeObserver(() => renderer.scheduleRender()).observe($("sigma"));
    renderer.on("clickNode", ({node}) => select(node));
    renderer.on("enterNode", () => $("sigma").classList.add("pointer"));
    renderer.on("leaveNode", () => $("sigma").classList.remove("pointer"));
  } else {
    renderer.resize();
    renderer.refresh();
  }
  if (tlflow.loads === 0) load();
}

// ---- filters ---------------------------------------------------------------

function isoOf(local) {
  if (!local) return null;
  // datetime-local gives "YYYY-MM-DDTHH:MM[:SS]", read as UTC.
  return (local.length === 16 ? local + ":00" : local) + "Z";
}

function readFilters() {
  const kinds = [...document.querySelectorAll('input[name="kind"]')];
  const checked = kinds.filter((k) => k.checked).map((k) => k.value);
  const limit = Math.max(1, Math.min(10000, parseInt($("f-limit").value, 10) || 500));
  const radius = Math.max(1, Math.min(2, parseInt($("f-radius").value, 10) || 1));
  $("f-limit").value = limit;
  $("f-radius").value = radius;
  Object.assign(tlflow.slice, {
    kind: checked.length === kinds.length ? [] : checked,
    hashtag: $("f-hashtag").value.split(",").map((t) => t.trim().replace(/^#/, "")).filter(Boolean),
    platform: $("f-platform").value ? [$("f-platform").value] : [],
    since: isoOf($("f-since").value),
    until: isoOf($("f-until").value),
    by: $("f-by").value,
    limit,
    around: $("f-ego").value.trim() || null,
    radius,
  });
}

// The filters as the address's parameters: `#/graph?hashtag=ai&limit=2000`.
function filterParams(s = tlflow.slice) {
  return {...sliceParams(s), by: s.by === "pagerank" ? null : s.by, limit: s.limit === 500 ? null : s.limit,
          around: s.around, radius: s.around && s.radius !== 1 ? s.radius : null};
}

export const graphHash = () => "#/graph" + query(filterParams());

// Sets the filter form from the address's parameters; true when the slice
// changed (then the caller loads).
export function filtersFromUrl(search) {
  const q = new URLSearchParams(search);
  const list = (k) => (q.get(k) || "").split(",").map((v) => v.trim()).filter(Boolean);
  const kinds = list("kind");
  for (const box of document.querySelectorAll('input[name="kind"]')) box.checked = !kinds.length || kinds.includes(box.value);
  $("f-hashtag").value = list("hashtag").join(", ");
  $("f-platform").value = list("platform")[0] || "";
  const local = (v) => (v ? v.replace(/Z$/, "").slice(0, 19) : "");
  $("f-since").value = local(q.get("since"));
  $("f-until").value = local(q.get("until"));
  $("f-by").value = q.get("by") || "pagerank";
  if (!$("f-by").value) $("f-by").value = "pagerank";
  $("f-limit").value = q.get("limit") || "500";
  $("f-ego").value = q.get("around") || "";
  $("f-radius").value = q.get("radius") || "1";
  const before = JSON.stringify(tlflow.slice);
  readFilters();
  return JSON.stringify(tlflow.slice) !== before;
}

// The slice as query parameters (what /graph, /changes and /exports take).
export function sliceParams(s = tlflow.slice) {
  return {kind: s.kind, hashtag: s.hashtag, platform: s.platform, since: s.since, until: s.until};
}

// ---- loading -----------------------------------------------------------------

// A full load: subscribe first (so nothing between the snapshot and the
// subscription is lost: events wait, then apply over the snapshot, where
// they are idempotent: an edge event carries the edge's weight, not a
// delta), then the snapshot, then draw.
export async function load() {
  const gen = ++generation;
  const s = {...tlflow.slice};
  tlflow.ready = false;
  tlflow.loads++;
  buffering = true;
  buffered = [];
  const live = s.around ? {...sliceParams(s), around: s.around, radius: s.radius} : sliceParams(s);
  feed.start(query(live).slice(1));
  $("g-status").textContent = "loading…";
  let data;
  const t0 = performance.now();
  try {
    data = s.around ? await loadEgo(s) : await loadTop(s);
  } catch (e) {
    if (gen !== generation) return;
    buffering = false;
    $("g-status").textContent = "";
    if (!(e instanceof ApiError) || (e.status !== 0 && e.status !== 401 && e.status !== 403)) {
      showBanner("error", "The graph could not be loaded: " + e.message);
      graphMessage("error", "The graph could not be loaded: " + e.message + ". Change the filters and Apply.");
    } else if (!$("banner").hidden) {
      graphMessage($("banner").dataset.kind, $("banner").textContent);
    }
    recordError("graph load", e);
    tlflow.ready = true;
    return;
  }
  if (gen !== generation) return;
  hideBanner("error");
  graphMessage(null);
  const t1 = performance.now();
  draw(data, s);
  buffering = false;
  const waiting = buffered;
  buffered = [];
  if (waiting.length) applyBatch(waiting);
  const t2 = performance.now();
  // startMs: the load's start since the navigation; fetchMs: the
  // snapshot's request and JSON; drawMs: the layout (layoutMs), the
  // graphology graph (buildMs), sigma's indexing and first frame
  // (renderMs); readyMs (since the navigation): the next animation frame.
  const timing = {startMs: Math.round(t0), fetchMs: Math.round(t1 - t0), drawMs: Math.round(t2 - t1), ...drawSplit};
  tlflow.timing = timing;
  $("g-status").textContent = (data.truncated ? "truncated · " : "") +
      (data.accounts !== undefined ? data.accounts + " accounts in the slice · " : "") +
      "drawn in " + Math.round(t2 - t0) + " ms";
  if (selected && graph.hasNode(selected)) openPanel(selected);
  if (!graph.order) {
    graphMessage("empty", s.around ? "No interactions around " + s.around + " in this slice." :
                 "No interactions in this slice yet. New ones appear here as they arrive.");
  }
  // Ready at the second animation frame: the first begins once the drawing
  // is submitted, the second once the browser has produced that frame (with
  // a software renderer that is most of the cost: 150-300 ms here).
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (gen !== generation) return;
    timing.readyMs = Math.round(performance.now());
    tlflow.ready = true;
  }));
}

async function loadTop(s) {
  const params = {by: s.by, limit: s.limit, ...sliceParams(s)};
  try {
    return await get("/graph" + query(params));
  } catch (e) {
    // A service without GET /graph: the same slice from /rankings and the
    // slice's JSON export (heavier: the export has every edge of the slice).
    if (!(e instanceof ApiError) || e.status !== 404 || !/no route/.test(e.message)) throw e;
  }
  const [ranked, exported] = await Promise.all([
    get("/rankings" + query(params)),
    get("/export" + query({format: "json", ...sliceParams(s)})),
  ]);
  const top = new Map(ranked.rankings.map((r) => [r.id, r]));
  const info = new Map(exported.nodes.map((n) => [n.id, n]));
  const nodes = ranked.rankings.map((r) => ({...r, location: (info.get(r.id) || {}).location, community: null}));
  const edges = [];
  for (const l of exported.links || exported.edges || []) {
    const from = l.source ?? l.from, to = l.target ?? l.to;
    if (top.has(from) && top.has(to)) edges.push({from, to, kind: l.kind, weight: l.weight});
  }
  return {by: s.by, limit: s.limit, accounts: ranked.vertices, truncated: false, nodes, edges};
}

async function loadEgo(s) {
  // The ego route takes every slice filter; at most 1,000 accounts.
  const params = {radius: s.radius, limit: Math.min(s.limit, 1000), ...sliceParams(s)};
  const ego = await get("/vertices/" + encodeURIComponent(s.around) + "/ego" + query(params));
  // Sized by the weight that ties them to the centre; coloured by distance.
  const nodes = ego.nodes.map((n) => ({...n, score: n.distance === 0 ? null : n.weight, community: n.distance}));
  const top = Math.max(1, ...nodes.map((n) => n.score || 0));
  for (const n of nodes) if (n.score === null) n.score = top;
  return {truncated: ego.truncated, nodes, edges: ego.edges};
}

function draw(data, s) {
  const nodes = data.nodes || [];
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const edges = [];
  for (const e of data.edges || []) {
    const a = index.get(e.from), b = index.get(e.to);
    if (a !== undefined && b !== undefined) edges.push([a, b, e.weight]);
  }
  const tl = performance.now();
  const pos = layout(nodes, edges);
  const tb = performance.now();
  const scored = nodes.filter((n) => n.score > 0);
  meanScore = scored.length ? scored.reduce((a, n) => a + n.score, 0) / scored.length : 1;
  sizeScale = nodes.length > 2000 ? 0.6 : nodes.length > 500 ? 0.8 : 1;
  edgeType = edges.length > 5000 ? "thin" : "arrow";
  const sizes = nodes.map((n) => nodeSize(n.score));
  if (nodes.length <= 1000) separate(pos, sizes);
  normalize(pos);
  pathMarks = [];
  // A new graphology graph, filled before sigma sees it: filling the drawn
  // one would have sigma index every node and edge as it is added, then
  // again for the frame. setGraph() indexes it once and draws it.
  const g = new window.graphology.Graph({type: "directed", multi: true, allowSelfLoops: true});
  nodes.forEach((n, i) => {
    g.addNode(n.id, {
      x: pos[2 * i], y: pos[2 * i + 1], size: sizes[i], color: communityColor(n.community),
      label: n.handle ? "@" + n.handle : n.id, community: n.community ?? null, score: n.score ?? null,
      rank: n.rank ?? null, platform: n.platform, name: n.name, location: n.location,
    });
  });
  for (const e of data.edges || []) {
    if (!g.hasNode(e.from) || !g.hasNode(e.to)) continue;
    const key = edgeKey(e.from, e.to, e.kind);
    if (g.hasEdge(key)) continue;
    g.addDirectedEdgeWithKey(key, e.from, e.to, {kind: e.kind, weight: e.weight,
                                                  size: edgeSize(e.weight), color: KIND_COLORS[e.kind] || NEUTRAL, type: edgeType});
  }
  graph = g;
  tlflow.graph = g;
  tlflow.drawnFor = s;
  // The legend first: it takes height from the drawing area, which sigma
  // measures when it draws.
  renderLegend(!!s.around);
  const tr = performance.now();
  // The labels of the biggest accounts: sigma draws a label when the disc
  // is at least this many pixels, and then the biggest of each 100 px cell.
  const desc = sizes.slice().sort((a, b) => b - a);
  labelThreshold = desc.length ? Math.max(2, Math.min(9, desc[Math.min(desc.length, LABELLED) - 1] - 0.01)) : 9;
  if (renderer) {
    renderer.setSetting("labelRenderedSizeThreshold", labelThreshold);
    renderer.getCamera().setState({x: 0.5, y: 0.5, ratio: 1, angle: 0});
    renderer.setGraph(g);
  }
  drawSplit = {layoutMs: Math.round(tb - tl), buildMs: Math.round(tr - tb), renderMs: Math.round(performance.now() - tr)};
  updateCount();
}

// ---- labels ----------------------------------------------------------------------

// The labels, drawn after each frame on sigma's label canvas: the accounts
// whose disc is at least labelRenderedSizeThreshold pixels (set per drawing
// just under the 40th biggest; more when zoomed in), biggest first (then
// by rank), right of the disc, or left of it, or moved into the canvas
// (a label never crosses the canvas's edge), unless its box would overlap
// a label placed before it. The biggest account drawn is always labelled. The boxes
// placed are in tlflow.labels.
const LABEL_GAP = 3;          // px between a disc and its label (as sigma's)
const LABEL_PAD = 2;          // px kept free around a label's box
const LABEL_TRIES = 300;      // candidates looked at a frame, at most
let labelOrder = [], labelOrderOf = null, labelOrderSize = -1;
const labelWidths = new Map();

function labelCandidates(g) {
  if (labelOrderOf !== g || labelOrderSize !== g.order) {
    labelOrder = g.mapNodes((id, a) => [id, a.size || 0, a.rank ?? Infinity])
      .sort((a, b) => b[1] - a[1] || a[2] - b[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map((e) => e[0]);
    labelOrderOf = g;
    labelOrderSize = g.order;
  }
  return labelOrder;
}

function drawLabels() {
  const r = renderer, g = r.getGraph();
  const placed = [];
  tlflow.labels = placed;
  if (!g.order) return;
  const ctx = r.getCanvases().labels.getContext("2d");
  const {width, height} = r.getDimensions();
  const size = r.getSetting("labelSize");
  const color = r.getSetting("labelColor").color;
  ctx.font = r.getSetting("labelWeight") + " " + size + "px " + r.getSetting("labelFont");
  ctx.fillStyle = color;
  if (labelWidths.size > 5000) labelWidths.clear();
  const threshold = r.getSetting("labelRenderedSizeThreshold");
  const boxH = size + 3;
  const free = (b) => placed.every((o) => b.x + b.width + LABEL_PAD <= o.x || o.x + o.width + LABEL_PAD <= b.x ||
                                          b.y + b.height + LABEL_PAD <= o.y || o.y + o.height + LABEL_PAD <= b.y);
  let tries = 0;
  for (const id of labelCandidates(g)) {
    if (!g.hasNode(id)) continue;
    const d = r.getNodeDisplayData(id);
    if (!d || d.hidden || !d.label) continue;
    const px = r.scaleSize(d.size);
    if (px < threshold || ++tries > LABEL_TRIES) break;   // sorted by size: none further
    const {x, y} = r.framedGraphToViewport(d);
    if (x < 0 || x > width || y < 0 || y > height) continue;
    let w = labelWidths.get(d.label);
    if (w === undefined) labelWidths.set(d.label, w = ctx.measureText(d.label).width);
    // The box's top: the baseline is a third of the font size below the centre.
    const top = y + size / 3 - size * 0.8 - 1;
    // Right of the disc as sigma draws; left of it when the right would
    // cross the canvas's edge (or is taken); moved into the canvas when
    // neither side fits: a label is never cut at the drawing's edge.
    const toRight = x + px + LABEL_GAP, toLeft = x - px - LABEL_GAP - w;
    const sides = [];
    if (toRight + w <= width) sides.push(["right", toRight]);
    if (toLeft >= 0) sides.push(["left", toLeft]);
    if (!sides.length) sides.push(["inside", Math.max(0, Math.min(width - w, toRight))]);
    for (const [side, left] of sides) {
      const box = {id, side, x: left, y: top, width: w, height: boxH};
      if (!free(box)) continue;
      placed.push(box);
      ctx.fillText(d.label, box.x, box.y + 1 + size * 0.8);
      break;
    }
  }
}

// The message over the drawing area (#graph-message, data-kind = offline |
// auth | error | empty), or none.
function graphMessage(kind, text) {
  const box = $("graph-message");
  if (!kind) {
    box.hidden = true;
    delete box.dataset.kind;
    return;
  }
  const drawn = graph.order > 0;
  let say = text;
  if (kind === "offline") {
    say = (drawn ? "Not live. " : "Nothing to draw. ") + text +
          (drawn ? " The drawing is the last one received." : "");
  } else if (kind === "auth") {
    say = (drawn ? "Not live. " : "Nothing to draw. ") + text;
  }
  box.dataset.kind = kind;
  box.classList.toggle("over", drawn);
  $("graph-message-text").textContent = say;
  $("graph-message-token").hidden = kind !== "auth";
  $("graph-message-token").textContent = getToken() ? "Enter another token" : "Enter a token";
  box.hidden = false;
}

function updateCount() {
  if (tlflow.drawnFor) renderLegend(!!tlflow.drawnFor.around);
  $("g-count").textContent = graph.order + " nodes · " + graph.size + " edges";
  const sl = tlflow.slice;
  $("filters-summary").textContent = [graph.order + " nodes", sl.around ? "around " + sl.around : "top " + sl.limit + " by " + sl.by,
    ...sl.hashtag.map((h) => "#" + h), ...sl.kind, ...sl.platform].join(" · ");
}

// ---- live updates ------------------------------------------------------------

// What a change does to the drawing (docs/web.md, "Live update rules"):
// drawn edges and accounts are updated or removed; an edge between two drawn
// accounts is added; an edge reaching outside adds the missing accounts
// while the drawing holds fewer than the limit, else it is left out.
// Nothing is laid out again: a new account is placed next to its drawn
// neighbour.
function applyBatch(events) {
  if (buffering) {
    buffered.push(...events);
    return;
  }
  if (!tlflow.drawnFor) {
    // Nothing drawn yet (the feed runs for the overview's figures).
    tlflow.live.applied += events.length;
    return;
  }
  const limit = tlflow.slice.limit;
  for (const ev of events) {
    tlflow.live.applied++;
    switch (ev.type) {
      case "vertex_created":
      case "vertex_updated": {
        const v = ev.vertex;
        if (v) {
          seen.delete(v.id);
          seen.set(v.id, v.properties || {});
          if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value);
        }
        if (v && graph.hasNode(v.id)) {
          const p = v.properties || {};
          graph.mergeNodeAttributes(v.id, {label: p.handle ? "@" + p.handle : v.id, name: p.name,
                                           platform: p.platform, location: p.location});
        }
        break;
      }
      case "vertex_removed":
        if (ev.vertex && graph.hasNode(ev.vertex.id)) graph.dropNode(ev.vertex.id);
        break;
      case "edge_created":
      case "edge_changed": {
        const e = ev.edge;
        if (!e) break;
        const key = edgeKey(e.from, e.to, e.kind);
        if (graph.hasEdge(key)) {
          // Weight 0 means "unknown here" (a Gremlin store's ingested edge).
          if (e.weight > 0) graph.mergeEdgeAttributes(key, {weight: e.weight, size: edgeSize(e.weight)});
          break;
        }
        const missing = (graph.hasNode(e.from) ? 0 : 1) + (graph.hasNode(e.to) ? 0 : 1) - (e.from === e.to && !graph.hasNode(e.from) ? 1 : 0);
        if (missing > limit - graph.order) break;
        addLiveNode(e.from, e.to);
        addLiveNode(e.to, e.from);
        if ($("graph-message").dataset.kind === "empty") graphMessage(null);
        graph.addDirectedEdgeWithKey(key, e.from, e.to, {kind: e.kind, weight: e.weight || 1,
                                                          size: edgeSize(e.weight), color: KIND_COLORS[e.kind] || NEUTRAL, type: edgeType});
        break;
      }
      case "edge_removed": {
        const e = ev.edge;
        if (e) {
          const key = edgeKey(e.from, e.to, e.kind);
          if (graph.hasEdge(key)) graph.dropEdge(key);
        }
        break;
      }
      default:
        break;
    }
  }
  updateCount();
}

function addLiveNode(id, near, extra = {}) {
  if (graph.hasNode(id)) return;
  let x = 0.5, y = 0.5;   // the drawing fills the unit square (layout.js, normalize)
  if (near && graph.hasNode(near)) ({x, y} = graph.getNodeAttributes(near));
  const [nx, ny] = nearby(id, x, y);
  const p = seen.get(id) || {};
  graph.addNode(id, {x: nx, y: ny, size: MIN_SIZE, color: NEUTRAL, label: p.handle ? "@" + p.handle : id,
                     name: p.name, platform: p.platform, location: p.location, community: null,
                     score: null, rank: null, added: "live", ...extra});
}

function togglePause() {
  const paused = !tlflow.live.paused;
  tlflow.live.paused = paused;
  $("pause").setAttribute("aria-pressed", String(paused));
  $("pause").textContent = paused ? "Resume" : "Pause";
  // Paused: the subscription stays and its events wait unapplied (a
  // reconnection meanwhile resumes from the last event seen); resuming
  // applies them in one batch, or reloads if more than 200,000 waited.
  if (paused) feed.hold();
  else if (!feed.resume()) load();
}

// Opens the panel of an account typed in (the keyboard's way to a node):
// a drawn id or handle, else the best match of GET /search.
async function findAccount(text) {
  const status = $("find-status");
  status.textContent = "";
  if (!text) return;
  const handle = "@" + text.replace(/^@/, "");
  let id = graph.hasNode(text) ? text : graph.findNode((_, a) => a.label === handle);
  if (!id) {
    try {
      const r = await get("/search" + query({q: text.replace(/^@/, ""), limit: 1}));
      const hit = (r.results || r.accounts || r.vertices || [])[0];
      id = hit && (hit.id || hit.vertex);
    } catch (e) {
      recordError("account search", e);
    }
  }
  if (!id) {
    status.textContent = "no account matches";
    return;
  }
  status.textContent = graph.hasNode(id) ? "" : "not drawn: its panel only";
  select(id);
  $("panel-id").focus();
}

// ---- the account panel ---------------------------------------------------------

function select(id) {
  selected = id;
  openPanel(id);
  if (renderer && graph.hasNode(id)) {
    const d = renderer.getNodeDisplayData(id);
    if (d) renderer.getCamera().animate({x: d.x, y: d.y}, {duration: 300});
    for (const n of graph.filterNodes((_, a) => a.highlighted && !a.onPath)) graph.setNodeAttribute(n, "highlighted", false);
    graph.setNodeAttribute(id, "highlighted", true);
  }
}

function closePanel() {
  $("panel").hidden = true;
  if (selected && graph.hasNode(selected)) graph.setNodeAttribute(selected, "highlighted", false);
  selected = null;
}

function personItem(id, detail, attrs) {
  const li = document.createElement("li");
  li.dataset.id = id;
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = attrs && attrs.label && attrs.label !== id ? attrs.label : id;
  b.title = id;
  li.append(b);
  if (detail) {
    const span = document.createElement("span");
    span.className = "detail";
    span.textContent = detail;
    li.append(span);
  }
  return li;
}

async function openPanel(id) {
  const panel = $("panel");
  panel.hidden = false;
  panel.dataset.id = id;
  $("panel-id").textContent = id;
  const attrs = graph.hasNode(id) ? graph.getNodeAttributes(id) : null;
  $("panel-rank").textContent = attrs && attrs.rank ? String(attrs.rank) : "–";
  $("panel-rank").title = attrs && attrs.rank ? "by " + tlflow.slice.by + (attrs.score ? ", score " + attrs.score : "") : "not among the drawn top accounts";
  $("panel-community").textContent = "…";
  for (const l of ["panel-props", "panel-out", "panel-in"]) $(l).replaceChildren();
  const enc = encodeURIComponent(id);
  const stale = () => $("panel").dataset.id !== id;
  const jobs = [
    get("/vertices/" + enc, {expect: [404]}).then((v) => {
      if (stale()) return;
      const dl = $("panel-props");
      const rows = {...v.properties, in_degree: v.in_degree, out_degree: v.out_degree};
      for (const [k, val] of Object.entries(rows)) {
        const dt = document.createElement("dt"), dd = document.createElement("dd");
        dt.textContent = k;
        dd.textContent = typeof val === "object" ? JSON.stringify(val) : String(val);
        dl.append(dt, dd);
      }
    }),
    // The account's community in the slice drawn (404: not in that slice).
    get("/vertices/" + enc + "/community" + query(sliceParams()), {expect: [404, 422]}).then((c) => {
      if (stale()) return;
      $("panel-community").textContent = String(c.community);
      $("panel-community").title = c.size + " accounts, " + c.algorithm + ", modularity " + (c.modularity ?? 0).toFixed(3);
    }, (e) => {
      if (!stale()) $("panel-community").textContent = "–";
      if (!(e instanceof ApiError) || e.status === 0 || e.status >= 500) throw e;
    }),
  ];
  for (const [dir, list] of [["out", "panel-out"], ["in", "panel-in"]]) {
    jobs.push(get("/vertices/" + enc + "/neighbors" + query({direction: dir, limit: 1000})).then((r) => {
      if (stale()) return;
      const ul = $(list);
      const rows = r.neighbors.slice().sort((a, b) => b.weight - a.weight || (a.id < b.id ? -1 : 1));
      for (const n of rows) {
        ul.append(personItem(n.id, n.kind + " ×" + n.weight, graph.hasNode(n.id) ? graph.getNodeAttributes(n.id) : null));
      }
      if (!rows.length) ul.append(Object.assign(document.createElement("li"), {className: "empty", textContent: "none"}));
    }));
  }
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === "rejected") recordError("account panel", r.reason);
}

// ---- paths -------------------------------------------------------------------------

function clearPath() {
  for (const m of pathMarks) {
    if (m.edge && graph.hasEdge(m.edge)) {
      if (m.added) graph.dropEdge(m.edge);
      else graph.mergeEdgeAttributes(m.edge, {path: false, color: m.color, size: m.size, zIndex: 0});
    }
    if (m.node && graph.hasNode(m.node)) graph.mergeNodeAttributes(m.node, {highlighted: false, onPath: false});
  }
  pathMarks = [];
}

async function findPath() {
  const from = $("panel").dataset.id;
  const to = $("path-to").value.trim();
  const out = $("path-result");
  out.replaceChildren();
  if (!from || !to) return;
  let r;
  try {
    r = await get("/paths/" + encodeURIComponent(from) + "/" + encodeURIComponent(to), {expect: [404]});
  } catch (e) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = e.code === "no_path" ? "no path" : e.code === "vertex_not_found" ? "no such account" : e.message;
    out.append(li);
    return;
  }
  clearPath();
  const path = r.path;
  // Accounts of the path not drawn yet join the drawing between their neighbours.
  path.forEach((id, i) => {
    if (!graph.hasNode(id)) {
      const prev = path.slice(0, i).reverse().find((p) => graph.hasNode(p));
      addLiveNode(id, prev || path.slice(i + 1).find((p) => graph.hasNode(p)), {added: "path"});
    }
    graph.mergeNodeAttributes(id, {highlighted: true, onPath: true});
    pathMarks.push({node: id});
    out.append(personItem(id, i === 0 ? "start" : "", graph.getNodeAttributes(id)));
  });
  for (let i = 0; i + 1 < path.length; i++) await markStep(path[i], path[i + 1]);
  updateCount();
}

async function markStep(u, v) {
  let keys = graph.directedEdges(u, v);
  if (!keys.length) keys = graph.directedEdges(v, u);
  if (!keys.length) {
    // Not drawn (outside the top accounts or the slice): ask the store.
    for (const [a, b] of [[u, v], [v, u]]) {
      try {
        const r = await get("/edges" + query({from: a, to: b, limit: 10}));
        for (const e of r.edges) {
          const key = edgeKey(e.from, e.to, e.kind);
          if (!graph.hasEdge(key)) {
            graph.addDirectedEdgeWithKey(key, e.from, e.to, {kind: e.kind, weight: e.weight, size: edgeSize(e.weight), color: KIND_COLORS[e.kind] || NEUTRAL, type: edgeType});
            pathMarks.push({edge: key, added: true});
          }
          keys.push(key);
        }
      } catch (e) {
        recordError("path edges", e);
      }
      if (keys.length) break;
    }
  }
  if (!keys.length) {
    const key = edgeKey(u, v, "path");
    graph.addDirectedEdgeWithKey(key, u, v, {kind: "path", weight: 1, size: 2, color: PATH_COLOR});
    pathMarks.push({edge: key, added: true});
    keys.push(key);
  }
  for (const key of keys) {
    const a = graph.getEdgeAttributes(key);
    if (!pathMarks.some((m) => m.edge === key)) pathMarks.push({edge: key, color: a.color, size: a.size});
    graph.mergeEdgeAttributes(key, {path: true, color: PATH_COLOR, size: Math.max(3, a.size || 1), zIndex: 1});
  }
}

// The legend (#legend): the edge kinds drawn, and what a node's colour
// means: the communities drawn (largest first, at most 8 named, with their
// number of accounts), or in an ego view the distance from the centre.
function renderLegend(ego) {
  const legend = $("legend");
  legend.replaceChildren();
  const row = (title) => {
    const div = document.createElement("div");
    div.className = "legend-row";
    const t = document.createElement("span");
    t.className = "legend-title";
    t.textContent = title;
    div.append(t);
    legend.append(div);
    return div;
  };
  const key = (parent, className, text, data) => {
    const item = document.createElement("span");
    item.className = "key " + className;
    item.textContent = text;
    Object.assign(item.dataset, data);
    parent.append(item);
    return item;
  };
  const kinds = new Map();
  graph.forEachEdge((_, a) => { if (a.kind !== "path") kinds.set(a.kind, (kinds.get(a.kind) || 0) + 1); });
  const edges = row("Edges");
  for (const kind of ["mention", "reply", "repost", "quote", "link"]) {
    if (kinds.has(kind)) key(edges, "kind-" + kind, kind, {kind});
  }
  if (!kinds.size) key(edges, "", "none drawn", {});
  const groups = new Map();
  graph.forEachNode((_, a) => {
    const c = a.community ?? -1;
    groups.set(c, (groups.get(c) || 0) + 1);
  });
  const nodes = row(ego ? "Distance" : "Communities");
  const order = [...groups.entries()].filter(([c]) => c >= 0).sort((a, b) => (ego ? a[0] - b[0] : b[1] - a[1] || a[0] - b[0]));
  const shown = order.slice(0, 8);
  for (const [c, n] of shown) {
    const text = ego ? (c === 0 ? "centre" : c === 1 ? "1 hop" : c + " hops") + " · " + n : "#" + c + " · " + n;
    const k = key(nodes, "dot sw-" + (c % PALETTE.length), text, {community: String(c), color: communityColor(c)});
    k.title = ego ? n + " accounts at distance " + c : "community " + c + ": " + n + " accounts drawn";
  }
  if (order.length > shown.length) {
    key(nodes, "more", "+" + (order.length - shown.length) + " more (colours repeat)", {});
  }
  if (groups.has(-1)) {
    key(nodes, "dot sw-none", (order.length ? "added live · " : "no community data · ") + groups.get(-1), {community: "-1", color: NEUTRAL});
  }
  key(nodes, "note", "size: " + (ego ? "weight to the centre" : "score"), {});
}