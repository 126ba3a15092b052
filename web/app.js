// The web view's entry point (docs/web.md): navigation, the token form,
// polling of the open view, the page-level error log. `window.tlflow` (the
// test hooks) is defined in state.js, first.
import {tlflow} from "./state.js";
import {getToken, hideBanner, query, recordError, setToken, tokenFromUrl} from "./api.js";
import {filtersFromUrl, graphHash, initGraph, load, showGraph, sliceParams} from "./graph.js";
import {describeSlice, initExports, initOverview, initTracking, onStats, refreshFlows, refreshOverview,
        refreshTracking} from "./views.js";

const views = ["overview", "graph", "flows", "tracking", "exports"];
const $ = (id) => document.getElementById(id);

window.addEventListener("error", (e) => recordError("page", e.error || e.message));
window.addEventListener("unhandledrejection", (e) => recordError("page", e.reason));
document.addEventListener("securitypolicyviolation", (e) =>
  recordError("csp", new Error(e.violatedDirective + " blocked " + e.blockedURI)));

tokenFromUrl();
$("token-input").value = getToken();
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setToken($("token-input").value);
  reloadAll();
});
$("token-clear").addEventListener("click", () => {
  setToken("");
  $("token-input").value = "";
  reloadAll();
});

let poll = 0;

// Each view's data: loaded when shown, the overview and the export jobs
// refreshed while shown.
async function refresh(name) {
  clearTimeout(poll);
  try {
    if (name === "overview") await refreshOverview();
    else if (name === "flows") await refreshFlows();
    else if (name === "tracking") await refreshTracking();
    else if (name === "exports") describeSlice(tlflow.slice);
    if (name !== "graph" && tlflow.view === name) tlflow.ready = true;
  } catch (e) {
    recordError(name, e);
    if (tlflow.view === name) tlflow.ready = true;
  }
  if (name === "overview" && tlflow.view === "overview") poll = setTimeout(() => refresh("overview"), 5000);
}

// `#/graph?limit=2000&hashtag=ai`: the view, and for the graph its filters.
function route() {
  const m = /^#\/?([a-z]*)(?:\?(.*))?$/.exec(location.hash) || [];
  const name = views.includes(m[1]) ? m[1] : "overview";
  if (name === "graph" && filtersFromUrl(m[2] || "") && tlflow.loads > 0) load();
  show(name);
}

function show(name) {
  if (!views.includes(name)) name = "overview";
  tlflow.view = name;
  tlflow.ready = false;
  for (const v of views) {
    $("view-" + v).hidden = v !== name;
    const b = document.querySelector(`button[data-view="${v}"]`);
    if (v === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  if (name === "graph") {
    showGraph();
    if (tlflow.loads > 0 && !document.querySelector("#g-status").textContent.startsWith("loading")) {
      tlflow.ready = true;
    }
  } else {
    refresh(name);
  }
}

function reloadAll() {
  hideBanner();
  if (tlflow.view === "graph" || tlflow.loads > 0) load();
  else feed.start(query(sliceParams()).slice(1));
  if (tlflow.view !== "graph") refresh(tlflow.view);
}

for (const b of document.querySelectorAll("nav button[data-view]")) {
  b.addEventListener("click", () => {
    location.hash = b.dataset.view === "graph" ? graphHash() : "#/" + b.dataset.view;
  });
}
window.addEventListener("hashchange", () => {
  tokenFromUrl();
  route();
});

const feed = initGraph({onStats});
initOverview();
initTracking();
initExports(() => sliceParams());
// The changefeed runs from the start: its stats feed the overview; the
// graph view restarts it with its filters when it loads.
if (!location.hash.startsWith("#/graph")) feed.start("");
route();
