// The changefeed (GET /changes, docs/live.md) read with fetch() streaming and
// parsed as Server-Sent Events: EventSource cannot send the Authorization
// header. Events are queued and handed over once per animation frame, so a
// burst of thousands of events costs one batch, not thousands of redraws.
import {authHeaders, explain, hideBanner, offlineText, recordError, showBanner} from "./api.js";
import {tlflow} from "./state.js";
import {SseParser} from "./sse.js";

const MAX_HELD = 200000;  // events kept while paused
const LAG_WINDOW_MS = 10000;  // the largest lag shown is over this window
const fmt = new Intl.NumberFormat("en");

// The live indicator (#live-status in the graph view, #ov-live in the
// overview): connected or not, paused with how many events waiting, and
// the measured delay from an event's arrival to its application.
export function renderLive() {
  const l = tlflow.live;
  const state = l.paused ? "paused" : l.connected ? "live" : "off";
  let text;
  if (l.paused) {
    text = "Paused · " + fmt.format(l.waiting) + " waiting";
  } else if (!l.connected) {
    text = "Not connected";
  } else if (l.lagMs === null) {
    text = "Live · no change yet";
  } else {
    const idle = Date.now() - l.lastAppliedAt;
    text = "Live · lag " + fmt.format(l.lagMs) + " ms (max " + fmt.format(l.lagMaxMs) + " ms, last 10 s)" +
           (idle > 5000 ? " · last change " + fmt.format(Math.round(idle / 1000)) + " s ago" : "");
  }
  for (const id of ["live-status", "ov-live"]) {
    const el = document.getElementById(id);
    if (!el) continue;
    el.dataset.state = state;
    if (el.textContent !== text) el.textContent = text;
  }
}

export class Changefeed {
  // onBatch(events): change events in order (objects with id, type, ...);
  // onStats(stats); onReset(): the resume point was lost, reload;
  // onAuthError(text): the subscription was refused (401, 403).
  constructor({onBatch, onStats, onReset, onAuthError}) {
    this.onBatch = onBatch;
    this.onAuthError = onAuthError;
    this.onStats = onStats;
    this.onReset = onReset;
    this.params = "";
    this.controller = null;
    this.queue = [];
    this.frame = 0;      // the scheduled flush (animation frame or timer)
    this.burst = false;
    this.held = false;   // paused: events queue up unapplied
    this.overrun = false; // more queued while paused than kept: reload on resume
    this.retryMs = 2000;
    this.generation = 0;
    this.chunkAt = 0;    // when the text being parsed arrived
    this.lags = [];      // [appliedAt, lag ms] of the batches of the last LAG_WINDOW_MS
    setInterval(() => renderLive(), 1000);
  }

  // (Re)subscribes with the slice query `params` ("kind=reply&…"); with
  // `resume`, from the last event seen, else from the newest change.
  start(params, {resume = false} = {}) {
    this.stop();
    this.queue.length = 0;
    this.overrun = false;
    this.params = params;
    if (!resume) tlflow.live.lastEventId = null;
    const generation = ++this.generation;
    this.loop(generation);
  }

  stop() {
    this.generation++;
    if (this.controller) this.controller.abort();
    this.controller = null;
    tlflow.live.connected = false;
  }

  async loop(generation) {
    while (generation === this.generation) {
      try {
        await this.read(generation);
      } catch (e) {
        if (e.name === "AbortError" || generation !== this.generation) return;
        recordError("GET /changes", e);
      }
      tlflow.live.connected = false;
      if (generation !== this.generation) return;
      await new Promise((r) => setTimeout(r, this.retryMs));
    }
  }

  async read(generation) {
    const controller = new AbortController();
    this.controller = controller;
    const headers = {...authHeaders(), Accept: "text/event-stream"};
    let url = "/changes" + (this.params ? "?" + this.params : "");
    const last = tlflow.live.lastEventId;
    if (last) url += (this.params ? "&" : "?") + "after=" + encodeURIComponent(last);
    let res;
    try {
      res = await fetch(url, {headers, signal: controller.signal, cache: "no-store"});
    } catch (e) {
      if (e.name !== "AbortError") {
        showBanner("offline", offlineText());
      }
      throw e;
    }
    if (!res.ok) {
      const text = await res.text();
      if (res.status === 401 || res.status === 403) {
        let message = res.statusText;
        try {
          message = JSON.parse(text).error.message || message;
        } catch (_) { /* not the error object */ }
        explain(res.status, "http_" + res.status, message);
        if (this.onAuthError) this.onAuthError(document.getElementById("banner").textContent);
      }
      throw new Error("GET /changes: " + res.status + " " + text.slice(0, 200));
    }
    hideBanner("offline");
    tlflow.live.connected = true;
    renderLive();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser((event) => this.dispatch(event), (ms) => { this.retryMs = ms; });
    for (;;) {
      const {value, done} = await reader.read();
      if (done || generation !== this.generation) break;
      this.chunkAt = performance.now();
      parser.push(value);
    }
  }

  dispatch(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (e) {
      recordError("changefeed event", e);
      return;
    }
    if (event.type === "stats") {
      if (this.onStats) this.onStats(data);
      return;
    }
    if (event.id) tlflow.live.lastEventId = event.id;
    if (event.type === "reset") {
      this.queue.length = 0;
      if (this.onReset) this.onReset(data);
      return;
    }
    if (event.type === "overflow") {
      // The stream ends after it; the reconnection resumes from the last id
      // (or gets reset when that is gone).
      recordError("changefeed", new Error("overflow: " + (data.reason || "")));
      return;
    }
    data.receivedAt = this.chunkAt || performance.now();
    if (this.held && this.queue.length >= MAX_HELD) {
      this.queue.length = 0;
      this.overrun = true;
    }
    if (this.overrun) return;
    this.queue.push(data);
    tlflow.live.waiting = this.queue.length;
    this.schedule();
  }

  // Pause: the subscription stays, its events wait (at most MAX_HELD: past
  // that they are dropped and resume() asks for a reload).
  hold() {
    this.held = true;
    renderLive();
  }

  // Applies what waited; false when too much did and the caller must reload.
  resume() {
    this.held = false;
    const ok = !this.overrun;
    this.overrun = false;
    if (!ok) this.queue.length = 0;
    this.schedule();
    renderLive();
    return ok;
  }

  // Once per animation frame while the events trickle in; during a burst
  // (the last batch was big) at most every 200 ms: each batch costs sigma
  // one redraw of the whole drawing, which a software renderer pays dearly,
  // so fewer, bigger batches keep the reader ahead of the stream. A hidden
  // page gets no animation frames: a timer then.
  schedule() {
    if (this.frame || this.held) return;
    const wait = this.burst ? 200 : document.hidden ? 100 : 0;
    if (wait) {
      this.frame = setTimeout(() => this.flush(), wait);
    } else {
      this.frame = requestAnimationFrame(() => this.flush());
    }
  }

  flush() {
    this.frame = 0;
    if (this.held) return;
    this.burst = this.queue.length > 20;
    if (!this.queue.length) return;
    const batch = this.queue;
    this.queue = [];
    try {
      this.onBatch(batch);
    } catch (e) {
      recordError("applying changes", e);
    }
    // The lag: from the arrival of the batch's oldest event (it waited
    // longest: in the queue, paused, behind a burst) to now, when the
    // drawing holds it.
    const now = performance.now();
    const lag = Math.round(now - batch[0].receivedAt);
    this.lags.push([now, lag]);
    while (this.lags.length && this.lags[0][0] < now - LAG_WINDOW_MS) this.lags.shift();
    const live = tlflow.live;
    live.lagMs = lag;
    live.lagMaxMs = Math.max(...this.lags.map((x) => x[1]));
    live.waiting = this.queue.length;
    live.lastAppliedAt = Date.now();
    renderLive();
  }
}
