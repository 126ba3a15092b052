// The overview, flows, tracking and exports views (docs/web.md, "Views").
import {tlflow} from "./state.js";
import {ApiError, getToken, get, query, request, recordError, showBanner} from "./api.js";

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en");

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

// ---- overview ----------------------------------------------------------------

const rate = [];          // {t, interactions, posts}: the last 60 stats points
let lastStatus = null;    // for a rate before the first stats event

export function onStats(s) {
  rate.push({t: Date.now(), interactions: s.interactions_per_s, posts: s.posts_per_s});
  if (rate.length > 60) rate.shift();
  if (typeof s.vertices === "number") $("ov-vertices").textContent = fmt.format(s.vertices);
  if (typeof s.edges === "number") $("ov-edges").textContent = fmt.format(s.edges);
  drawRate();
}

function drawRate() {
  const canvas = $("ov-rate");
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const last = rate.length ? rate[rate.length - 1] : null;
  $("ov-rate-now").textContent = last ? "· now " + fmt.format(Math.round(last.interactions)) + "/s (posts " +
      fmt.format(Math.round(last.posts)) + "/s)" : "· waiting for the first figures";
  canvas.dataset.points = String(rate.length);
  if (rate.length < 1) return;
  const top = Math.max(1, ...rate.map((p) => Math.max(p.interactions, p.posts)));
  const x = (i) => (i / (rate.length - 1)) * (w - 4) + 2;
  const y = (v) => h - 3 - (v / top) * (h - 8);
  for (const [key, color] of [["posts", "#94a3b8"], ["interactions", "#2563eb"]]) {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    if (rate.length === 1) {
      // One point (the first stats event): a short flat stroke ending in a
      // dot at the right edge, where the line will grow from.
      const py = y(rate[0][key]);
      ctx.beginPath();
      ctx.moveTo(w - 24, py);
      ctx.lineTo(w - 4, py);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(w - 4, py, 3, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    rate.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p[key])) : ctx.moveTo(x(i), y(p[key]))));
    ctx.stroke();
  }
  ctx.fillStyle = "#64748b";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(fmt.format(Math.round(top)) + "/s", 4, 12);
}

export function initOverview() {
  drawRate();
  initMatrix();
}

export async function refreshOverview() {
  const jobs = [
    get("/status").then((st) => {
      $("ov-vertices").textContent = fmt.format(st.vertices);
      $("ov-edges").textContent = fmt.format(st.edges);
      const ingest = st.ingest || {};
      // Until the changefeed's first stats event: the rate between two polls.
      if (lastStatus && !rate.some((p) => p.fromFeed !== false) && ingest.interactions !== undefined) {
        const dt = (Date.now() - lastStatus.t) / 1000;
        if (dt > 0.5) {
          rate.push({t: Date.now(), fromFeed: false,
                     interactions: Math.max(0, (ingest.interactions - lastStatus.interactions) / dt),
                     posts: Math.max(0, (ingest.posts - lastStatus.posts) / dt)});
          drawRate();
        }
      }
      lastStatus = {t: Date.now(), interactions: ingest.interactions, posts: ingest.posts};
      const body = $("ov-sources").tBodies[0];
      body.replaceChildren();
      for (const src of ingest.sources || []) {
        const tr = document.createElement("tr");
        tr.dataset.source = src.name;
        cell(tr, src.name);
        const state = src.connected ? "connected" : src.finished ? "finished" : "disconnected";
        cell(tr, state, "state-" + state);
        cell(tr, fmt.format(src.messages || 0), "num");
        cell(tr, src.last_error || "");
        body.append(tr);
      }
      if (!body.rows.length) {
        const tr = document.createElement("tr");
        cell(tr, "no sources configured").colSpan = 4;
        body.append(tr);
      }
      const health = {
        "status": st.status, "store": st.store_detail || st.store, "store ok": st.store_ok ? "yes" : "NO",
        "queued writes": st.queued_writes, "version": st.version, "uptime": st.uptime_s + " s",
        "ingest queue": ingest.queue ? ingest.queue.depth + " / " + ingest.queue.capacity : "–",
        "duplicates": ingest.duplicates, "store errors": ingest.store_errors,
      };
      fillKv($("ov-health"), health);
      $("ov-health").dataset.ok = String(!!st.store_ok);
    }),
    get("/metrics", {as: "text"}).then((text) => {
      const want = {tlflow_changes_subscribers: "live subscribers", tlflow_http_connections_open: "open connections",
                    tlflow_changes_overflows_total: "changefeed overflows"};
      const extra = {};
      for (const line of text.split("\n")) {
        const [name, value] = line.split(" ");
        if (want[name]) extra[want[name]] = value;
      }
      fillKv($("ov-health"), extra, true);
    }),
    get("/tracking").then((t) => fillTags($("ov-hashtags"), t.hashtags, false)),
  ];
  const results = await Promise.allSettled(jobs);
  for (const r of results) if (r.status === "rejected") recordError("overview", r.reason);
  tlflow.ready = tlflow.view === "overview" ? true : tlflow.ready;
}

function fillKv(dl, rows, append = false) {
  if (!append) dl.replaceChildren();
  for (const [k, v] of Object.entries(rows)) {
    if (v === undefined || v === null) continue;
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = typeof v === "number" ? fmt.format(v) : String(v);
    dl.append(dt, dd);
  }
}

function fillTags(ul, tags, removable) {
  ul.replaceChildren();
  for (const tag of tags) {
    const li = document.createElement("li");
    li.dataset.tag = tag;
    const span = document.createElement("span");
    span.textContent = "#" + tag;
    li.append(span);
    if (removable) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "remove";
      b.textContent = "×";
      b.setAttribute("aria-label", "Stop tracking #" + tag);
      li.append(b);
    }
    ul.append(li);
  }
  if (!tags.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = removable ? "nothing tracked: the sources follow what they are given" : "none";
    ul.append(li);
  }
}

// ---- flows -------------------------------------------------------------------------

// The busiest locations (by weight in and out) as a matrix, each cell
// shaded in six steps of its share of the heaviest cell (classes: the CSP
// allows no style attributes). The cells are one tab stop: the arrow keys,
// Home and End move between them (a roving tabindex), and the cell focused
// is spelt out under the matrix.
const MATRIX_SIZE = 10;
const place = (loc) => loc || "(unknown)";

function flowsMatrix(flows) {
  const total = new Map();
  for (const f of flows) {
    for (const k of [f.from ?? "", f.to ?? ""]) total.set(k, (total.get(k) || 0) + f.weight);
  }
  const top = [...total.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MATRIX_SIZE).map((e) => e[0]);
  const weight = new Map(flows.map((f) => [(f.from ?? "") + "\u0000" + (f.to ?? ""), f.weight]));
  const heaviest = Math.max(1, ...top.flatMap((a) => top.map((b) => weight.get(a + "\u0000" + b) || 0)));
  const table = $("flows-matrix");
  const head = document.createElement("tr");
  const corner = document.createElement("th");
  corner.className = "corner";
  corner.textContent = "from ↓ · to →";
  head.append(corner);
  for (const to of top) {
    const th = document.createElement("th");
    th.textContent = place(to);
    th.scope = "col";
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  let first = true;
  for (const from of top) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = place(from);
    th.scope = "row";
    tr.append(th);
    for (const to of top) {
      const w = weight.get(from + "\u0000" + to) || 0;
      const step = w ? 1 + Math.min(5, Math.floor((w / heaviest) * 5)) : 0;
      const td = cell(tr, w ? fmt.format(w) : "", "num heat-" + step);
      td.dataset.from = from;
      td.dataset.to = to;
      td.dataset.weight = String(w);
      td.dataset.heat = String(step);
      td.tabIndex = first ? 0 : -1;
      first = false;
      td.title = place(from) + " → " + place(to) + ": weight " + fmt.format(w);
      td.setAttribute("aria-label", place(from) + " to " + place(to) + ": weight " + fmt.format(w));
    }
    body.append(tr);
  }
  $("flows-scale-max").textContent = fmt.format(heaviest);
  $("flows-detail").textContent = top.length ? "" : "no interactions between locations yet";
}

function initMatrix() {
  const table = $("flows-matrix");
  const describe = (td) => {
    const w = Number(td.dataset.weight);
    const back = table.querySelector(`td[data-from="${CSS.escape(td.dataset.to)}"][data-to="${CSS.escape(td.dataset.from)}"]`);
    $("flows-detail").textContent = place(td.dataset.from) + " → " + place(td.dataset.to) + ": weight " + fmt.format(w) +
        (back && td !== back ? " (the other way: " + fmt.format(Number(back.dataset.weight)) + ")" : "");
  };
  const focus = (td) => {
    for (const other of table.querySelectorAll('td[tabindex="0"]')) other.tabIndex = -1;
    td.tabIndex = 0;
    td.focus();
    describe(td);
  };
  table.addEventListener("focusin", (e) => { if (e.target.matches("td[data-from]")) describe(e.target); });
  table.addEventListener("click", (e) => { const td = e.target.closest("td[data-from]"); if (td) focus(td); });
  table.addEventListener("keydown", (e) => {
    const td = e.target.closest("td[data-from]");
    if (!td) return;
    const row = td.parentElement, rows = [...table.tBodies[0].rows];
    const col = [...row.cells].indexOf(td), r = rows.indexOf(row);
    const last = row.cells.length - 1;
    const to = {ArrowRight: [r, Math.min(last, col + 1)], ArrowLeft: [r, Math.max(1, col - 1)],
                ArrowDown: [Math.min(rows.length - 1, r + 1), col], ArrowUp: [Math.max(0, r - 1), col],
                Home: [e.ctrlKey ? 0 : r, 1], End: [e.ctrlKey ? rows.length - 1 : r, last]}[e.key];
    if (!to) return;
    e.preventDefault();
    focus(rows[to[0]].cells[to[1]]);
  });
}

export async function refreshFlows() {
  const r = await get("/flows" + query({by: "location", limit: 500}));
  flowsMatrix(r.flows);
  const table = $("flows-table");
  const head = document.createElement("tr");
  for (const h of ["From", "To", "Weight", "Interactions", ""]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  const top = Math.max(1, ...r.flows.map((f) => f.weight));
  for (const f of r.flows) {
    const tr = document.createElement("tr");
    tr.dataset.from = f.from;
    tr.dataset.to = f.to;
    tr.dataset.weight = String(f.weight);
    cell(tr, f.from || "(unknown)");
    cell(tr, f.to || "(unknown)");
    cell(tr, fmt.format(f.weight), "num");
    cell(tr, fmt.format(f.edges ?? 0), "num");
    const bar = document.createElement("meter");
    bar.min = 0;
    bar.max = top;
    bar.value = f.weight;
    cell(tr, "").append(bar);
    body.append(tr);
  }
  if (!r.flows.length) {
    const tr = document.createElement("tr");
    cell(tr, "no interactions between known locations yet").colSpan = 5;
    body.append(tr);
  }
}

// ---- tracking ------------------------------------------------------------------------

export function initTracking() {
  $("track-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const tag = $("track-input").value.trim().replace(/^#/, "");
    if (!tag) return;
    try {
      const t = await request("/tracking/hashtags", {method: "POST", body: {hashtag: tag}});
      $("track-input").value = "";
      showTracking(t, "tracking #" + tag);
    } catch (err) {
      trackStatus(err.message, true);
    }
  });
  $("track-list").addEventListener("click", async (e) => {
    const b = e.target.closest("button.remove");
    if (!b) return;
    const tag = b.closest("li[data-tag]").dataset.tag;
    try {
      const t = await request("/tracking/hashtags/" + encodeURIComponent(tag), {method: "DELETE"});
      showTracking(t, "no longer tracking #" + tag);
    } catch (err) {
      trackStatus(err.message, true);
    }
  });
}

function trackStatus(text, isError) {
  const p = $("track-status");
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}

function showTracking(t, message) {
  fillTags($("track-list"), t.hashtags, true);
  fillTags($("ov-hashtags"), t.hashtags, false);
  $("track-list").dataset.keywords = (t.keywords || []).join(",");
  if (message) trackStatus(message + " (applied)", false);
}

export async function refreshTracking() {
  showTracking(await get("/tracking"));
}

// ---- exports -------------------------------------------------------------------------

const jobs = new Map();   // id → {row, timer}
const JOBS_KEY = "tlflow.exports";   // the ids of the jobs started in this tab, kept over reloads

function saveJobs() {
  sessionStorage.setItem(JOBS_KEY, JSON.stringify([...jobs.keys()].slice(-50)));
}

// The jobs this tab started before a reload, as the service knows them now
// (a job it no longer has, 404, is forgotten).
async function restoreJobs() {
  let ids = [];
  try {
    ids = JSON.parse(sessionStorage.getItem(JOBS_KEY) || "[]");
  } catch (_) { /* not ours */ }
  for (const id of ids.reverse()) {
    try {
      const job = await get("/exports/" + encodeURIComponent(id), {expect: [404]});
      track(job, false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) continue;
    }
  }
  saveJobs();
}

export function initExports(currentSlice) {
  $("export-format").addEventListener("change", () => {
    $("export-part").disabled = $("export-format").value !== "csv";
  });
  restoreJobs();
  $("export-part").disabled = $("export-format").value !== "csv";
  $("export-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const format = $("export-format").value;
    const body = {format, ...currentSlice()};
    for (const k of Object.keys(body)) {
      if (body[k] === null || (Array.isArray(body[k]) && !body[k].length)) delete body[k];
    }
    if (format === "csv") body.part = $("export-part").value;
    if ($("export-scores").checked) body.include = "pagerank,community";
    try {
      const job = await request("/exports", {method: "POST", body});
      track(job);
    } catch (err) {
      showBanner("error", "The export could not start: " + err.message);
    }
  });
}

export function describeSlice(s) {
  const parts = [];
  if (s.kind && s.kind.length) parts.push("kind " + s.kind.join(", "));
  if (s.hashtag && s.hashtag.length) parts.push("#" + s.hashtag.join(", #"));
  if (s.platform && s.platform.length) parts.push(s.platform.join(", "));
  if (s.since) parts.push("since " + s.since);
  if (s.until) parts.push("until " + s.until);
  $("export-slice").textContent = parts.length ? parts.join(" · ") : "the whole graph";
}

function track(job, newest = true) {
  const body = $("export-jobs").tBodies[0];
  const tr = document.createElement("tr");
  tr.dataset.id = job.id;
  cell(tr, job.id.slice(0, 8)).title = job.id;
  cell(tr, job.format + (job.part ? " (" + job.part + ")" : ""));
  cell(tr, job.state, "state");
  const progress = document.createElement("progress");
  progress.max = 1;
  cell(tr, "").append(progress);
  cell(tr, "", "file");
  if (newest) body.prepend(tr); else body.append(tr);
  jobs.set(job.id, {row: tr});
  saveJobs();
  update(job);
}

function update(job) {
  const entry = jobs.get(job.id);
  if (!entry) return;
  const tr = entry.row;
  tr.dataset.state = job.state;
  tr.querySelector(".state").textContent = job.state + (job.error ? ": " + job.error : "");
  tr.querySelector("progress").value = job.progress || 0;
  tr.querySelector("progress").textContent = Math.round((job.progress || 0) * 100) + "%";
  if (job.state === "queued" || job.state === "running") {
    entry.timer = setTimeout(async () => {
      try {
        update(await get("/exports/" + encodeURIComponent(job.id)));
      } catch (e) {
        if (!(e instanceof ApiError) || e.status === 0) update(job);   // retry while offline
        else tr.querySelector(".state").textContent = "unknown: " + e.message;
      }
    }, 400);
    return;
  }
  if (job.state !== "done" || tr.querySelector("a.download")) return;
  const a = document.createElement("a");
  a.className = "download";
  a.download = job.file_name || "tlflow-export";
  a.textContent = "Download" + (job.bytes !== undefined ? " (" + fmt.format(job.bytes) + " bytes)" : "");
  const url = job.file || "/exports/" + encodeURIComponent(job.id) + "/file";
  a.href = url;
  if (getToken()) {
    // The file needs the Authorization header a plain link cannot send: at
    // the first click it is fetched with the token, then the link follows
    // an object URL of it.
    a.addEventListener("click", async (e) => {
      if (a.dataset.fetched === "1") return;
      e.preventDefault();
      try {
        const blob = await request(url, {as: "blob"});
        a.href = URL.createObjectURL(blob);
        a.dataset.fetched = "1";
        a.click();
      } catch (err) {
        recordError("export download", err);
        tr.querySelector(".file").append(" download failed: " + err.message);
      }
    });
  }
  tr.querySelector(".file").append(a);
}
