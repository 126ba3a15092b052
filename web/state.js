// The page's shared state, also the test hooks (docs/web.md, "Test hooks").
export const tlflow = {
  view: "overview",
  graph: null,
  renderer: null,
  live: {connected: false, paused: false, applied: 0, lastEventId: null, lagMs: null, lagMaxMs: null, waiting: 0,
         lastAppliedAt: null},
  slice: {kind: [], hashtag: [], platform: [], since: null, until: null, by: "pagerank", limit: 500,
          around: null, radius: 1},
  loads: 0,
  ready: false,
  labels: [],
  errors: [],
};
window.tlflow = tlflow;
