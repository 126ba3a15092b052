// The web view's entry point (docs/web.md): navigation between the views.
const views = ["overview", "graph", "flows", "tracking", "exports"];
const tlflow = {view: "overview", graph: null, renderer: null,
  live: {connected: false, paused: false, applied: 0, lastEventId: null, lagMs: 0},
  slice: {kind: [], hashtag: [], platform: [], since: null, until: null, by: "pagerank", limit: 500,
    around: null, radius: 1},
  loads: 0, ready: false, errors: []};
window.tlflow = tlflow;

function show(name) {
  if (!views.includes(name)) name = "overview";
  tlflow.view = name;
  for (const v of views) {
    document.getElementById("view-" + v).hidden = v !== name;
    document.querySelector(`button[data-view="${v}"]`).setAttribute("aria-current", v === name ? "page" : "false");
  }
  tlflow.ready = true;
}
for (const b of document.querySelectorAll("nav button[data-view]")) {
  b.addEventListener("click", () => { location.hash = "#/" + b.dataset.view; });
}
window.addEventListener("hashchange", () => show(location.hash.replace(/^#\/?/, "")));
show(location.hash.replace(/^#\/?/, ""));
