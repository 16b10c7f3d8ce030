// The console's one way to the API: the session (tokens), requests, and problem+json errors.
//
// The access token lives in this module's memory only, never in storage or a cookie. The refresh
// token is kept in sessionStorage, so a reload of this tab signs back in without a password; it
// is spent by every refresh (the API rotates it), so it is good for one use only, and it dies with
// the tab. No cookie is involved, so no request can be forged from another site.

// The API's root, from this module's own URL (…/console/assets/<version>/api.js): it works below
// a path prefix too (an API Gateway stage).
const ROOT = new URL("../../../", import.meta.url);
const REFRESH_KEY = "console.refresh";
// Refresh this long before the access token expires, so a request rarely meets a 401.
const EARLY_S = 30;

let access = null;
let claims = null;
let refreshing = null;
let timer = null;
const listeners = new Set();

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }

  get fieldErrors() {
    return this.problem.errors || [];
  }
}

function url(path, params = {}) {
  const target = new URL(path.replace(/^\//, ""), ROOT);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, value);
  }
  return target;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

export function signedIn() {
  return access !== null;
}

export function username() {
  return claims?.preferred_username || claims?.sub || "";
}

function send(method, path, { params, body, token = access } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(url(path, params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
}

async function read(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data || { title: response.statusText });
  return data;
}

// A request with the session's access token; a 401 (an expired token) refreshes once and retries.
export async function request(method, path, options = {}) {
  let response = await send(method, path, options);
  if (response.status === 401 && (await refresh())) response = await send(method, path, options);
  if (response.status === 401) end();
  return read(response);
}

export async function signIn(username, password) {
  keep(await read(await send("POST", "/api/v1/auth/token", { body: { username, password }, token: null })));
}

// Resume the tab's session after a reload; false when there is none to resume.
export function resume() {
  return sessionStorage.getItem(REFRESH_KEY) ? refresh() : Promise.resolve(false);
}

// One refresh at a time: the refresh token is single-use, and a second concurrent use of the same
// token would look like theft to the API, which then revokes the whole session.
function refresh() {
  refreshing ??= rotate().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function rotate() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  const response = await send("POST", "/api/v1/auth/token/refresh", { body: { refresh: token }, token: null });
  if (!response.ok) {
    end();
    return false;
  }
  keep(await response.json());
  return true;
}

export async function signOut() {
  try {
    if (access) await send("POST", "/api/v1/auth/logout");
  } finally {
    end();
  }
}

function keep(tokens) {
  const was = access !== null;
  access = tokens.access;
  claims = decodeClaims(tokens.access);
  sessionStorage.setItem(REFRESH_KEY, tokens.refresh);
  clearTimeout(timer);
  timer = setTimeout(refresh, Math.max(5, tokens.expires_in - EARLY_S) * 1000);
  // A rotation within the session changes nothing the page shows.
  if (!was) notify();
}

function end() {
  const was = access !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
  access = null;
  claims = null;
  sessionStorage.removeItem(REFRESH_KEY);
  clearTimeout(timer);
  if (was) notify();
}

function notify() {
  for (const listener of listeners) listener(signedIn());
}

// Only for showing who is signed in: the API verifies the token, the console never needs to.
function decodeClaims(token) {
  try {
    const payload = atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(payload, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
}
