// REST calls of the page: the token, the error banner, the page-level error log.
import {tlflow} from "./state.js";

const TOKEN_KEY = "tlflow.token";
let token = sessionStorage.getItem(TOKEN_KEY) || "";

export function getToken() { return token; }
export function setToken(value) {
  token = (value || "").trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  hideBanner("auth");
}

// A token given as #token=... (e.g. a link from a deployment script) is kept
// for the session and taken out of the address bar and the history.
export function tokenFromUrl() {
  const m = /^#token=([^&]*)(?:&(.*))?$/.exec(location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search + (m[2] ? "#" + m[2] : "#/overview"));
}

export function authHeaders() {
  return token ? {Authorization: "Bearer " + token} : {};
}

// The banner shows one problem at a time; an "offline" banner goes away by
// itself with the next answer, "auth" when the token changes.
// Listeners (the graph view repeats the problem in its drawing area) get
// (kind, text) when the banner shows and (null) when it goes.
const banner = () => document.getElementById("banner");
const bannerListeners = [];
export function onBanner(f) { bannerListeners.push(f); }
export function showBanner(kind, text) {
  const b = banner();
  if (b.dataset.kind === kind && b.textContent === text && !b.hidden) return;
  b.dataset.kind = kind;
  b.textContent = text;
  b.hidden = false;
  for (const f of bannerListeners) f(kind, text);
}
export function hideBanner(kind) {
  const b = banner();
  if (!b.hidden && (!kind || b.dataset.kind === kind)) {
    const was = b.dataset.kind;
    b.hidden = true;
    delete b.dataset.kind;
    b.textContent = "";
    for (const f of bannerListeners) f(null, "", was);
  }
}

export function recordError(where, err) {
  const message = err && err.message ? err.message : String(err);
  tlflow.errors.push({where, message, at: new Date().toISOString()});
  if (tlflow.errors.length > 200) tlflow.errors.splice(0, tlflow.errors.length - 200);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// Shows what a refused or failed call means for the user.
export function explain(status, code, message) {
  if (status === 401) {
    showBanner("auth", token ? "The token was refused (401 Unauthorized: " + message + "). Enter another one in the Token field above."
                             : "This tlflow service needs a token (401 Unauthorized). Enter an API token or JWT in the Token field above.");
  } else if (status === 403) {
    showBanner("auth", "The token lacks the permission for this (403 Forbidden: " + message + "). Use a token with that scope.");
  }
}

export const offlineText = () =>
  "The tlflow service at " + location.host + " cannot be reached: it is stopped or the network is down. Retrying…";

// fetch() with the token; JSON in and out. Throws ApiError: status 0 when
// the service cannot be reached. A status in `expect` (e.g. 404 no_path for
// the path finder) is an answer, not a page error: not logged.
export async function request(path, {method = "GET", body, signal, as = "json", expect = []} = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {method, headers, signal, cache: "no-store",
                             body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    if (e.name === "AbortError") throw e;
    showBanner("offline", offlineText());
    const err = new ApiError(0, "offline", "unreachable: " + method + " " + path);
    recordError(path, err);
    throw err;
  }
  hideBanner("offline");
  if (!res.ok) {
    let code = "http_" + res.status, message = res.statusText;
    try {
      const doc = await res.json();
      if (doc && doc.error) ({code, message} = doc.error);
    } catch (_) { /* not the error object */ }
    explain(res.status, code, message);
    const err = new ApiError(res.status, code, message);
    if (!expect.includes(res.status)) recordError(method + " " + path, err);
    throw err;
  }
  if (as === "response") return res;
  if (as === "text") return res.text();
  if (as === "blob") return res.blob();
  return res.status === 204 ? null : res.json();
}

export const get = (path, opts) => request(path, opts);

// `k=v&…` of the non-empty values (arrays as comma lists).
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === "") continue;
    if (Array.isArray(v)) {
      if (v.length) q.set(k, v.join(","));
    } else {
      q.set(k, String(v));
    }
  }
  const s = q.toString();
  return s ? "?" + s : "";
}
