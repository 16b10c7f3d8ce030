// Building the page without innerHTML: every value the API returns (a log message, a dashboard
// name) becomes a text node, so nothing a user logged can turn into markup or script.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (typeof value !== "string" && key in el) el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

// Local time, to the millisecond: log lines of one second must stay apart.
export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? "");
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function formatShortTime(iso) {
  return formatTime(iso).slice(0, 19);
}

const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

export function formatNumber(value) {
  return typeof value === "number" ? numbers.format(value) : "–";
}

export function timeElement(iso, format = formatTime) {
  return iso ? h("time", { datetime: iso, title: iso }, format(iso)) : "–";
}

// A heading the router focuses after each navigation, so a screen reader announces the page.
export function pageHeading(text, ...extra) {
  return h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, text), ...extra);
}

// An API failure as a person reads it: the problem's detail, and each field error.
export function errorBox(error) {
  const problem = error?.problem || {};
  const detail = problem.detail || problem.title || error?.message || "Something went wrong";
  const fields = (problem.errors || []).map((e) => h("li", {}, h("code", {}, e.path), " ", e.message));
  return h("div", { class: "error", role: "alert" }, h("p", {}, detail), fields.length ? h("ul", {}, fields) : null);
}

// A saved log query ({q, level, service}) in a few words.
export function querySummary(query) {
  const parts = [];
  if (query?.q) parts.push(`q: ${query.q}`);
  if (query?.level?.length) parts.push(`level: ${query.level.join(", ")}`);
  if (query?.service?.length) parts.push(`service: ${query.service.join(", ")}`);
  return parts.join(" · ") || "all events";
}

export function emptyState(text) {
  return h("p", { class: "empty" }, text);
}
