// The console's shell: the session, the header, and the router. Views live in the URL's fragment
// (#/logs?q=…), which never reaches a server: a query can be bookmarked and shared without landing
// in anyone's access log.
import * as session from "./api.js";
import * as alerts from "./alerts.js";
import * as editor from "./dashboard-editor.js";
import * as dashboards from "./dashboards.js";
import { h, replace } from "./dom.js";
import * as logs from "./logs.js";
import * as signin from "./signin.js";

const ROUTES = [
  { pattern: /^\/logs$/, view: logs.render, section: "logs", title: "Logs" },
  { pattern: /^\/dashboards$/, view: dashboards.renderList, section: "dashboards", title: "Dashboards" },
  { pattern: /^\/dashboards\/new$/, view: editor.render, section: "dashboards", title: "New dashboard" },
  { pattern: /^\/dashboards\/([^/]+)\/edit$/, view: editor.render, section: "dashboards", title: "Edit dashboard" },
  { pattern: /^\/dashboards\/([^/]+)$/, view: dashboards.renderDashboard, section: "dashboards", title: "Dashboard" },
  { pattern: /^\/alerts$/, view: alerts.renderList, section: "alerts", title: "Alerts" },
  { pattern: /^\/alerts\/([^/]+)$/, view: alerts.renderRule, section: "alerts", title: "Alert rule" },
];
const HOME = "/logs";
const SECTIONS = [
  ["logs", "Logs"],
  ["dashboards", "Dashboards"],
  ["alerts", "Alerts"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const account = document.getElementById("account");
let cleanup = null;
let shown = null;

function parse(hash) {
  const [path, query = ""] = hash.replace(/^#/, "").split("?", 2);
  return { path: path || HOME, params: new URLSearchParams(query) };
}

function fragment(path, params) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== ""));
  return `#${path}${query.size ? `?${query}` : ""}`;
}

// A view's own state change (a new query): the URL follows without drawing the view again.
function setUrl(path, params, { push = false } = {}) {
  const target = fragment(path, params);
  if (target === location.hash) return;
  history[push ? "pushState" : "replaceState"](null, "", target);
  shown = location.href;
}

function navigate(path, params = {}) {
  location.hash = fragment(path, params);
}

function route({ focus = true } = {}) {
  shown = location.href;
  cleanup?.();
  cleanup = null;
  drawHeader();
  if (!session.signedIn()) {
    document.title = "Sign in · Console";
    signin.render(main);
    return;
  }
  const { path, params } = parse(location.hash);
  const found = ROUTES.map((r) => ({ ...r, match: r.pattern.exec(path) })).find((r) => r.match);
  if (!found) {
    navigate(HOME);
    return;
  }
  document.title = `${found.title} · Console`;
  markSection(found.section);
  cleanup = found.view(main, params, { setUrl, navigate, match: found.match }) || null;
  if (focus) main.querySelector("h1")?.focus({ preventScroll: true });
}

function drawHeader() {
  const signedIn = session.signedIn();
  nav.hidden = !signedIn;
  replace(
    nav,
    h("ul", {}, SECTIONS.map(([key, label]) => h("li", {}, h("a", { href: `#/${key}`, dataset: { section: key } }, label)))),
  );
  replace(
    account,
    signedIn
      ? [
          h("span", { class: "who" }, session.username()),
          h("button", { type: "button", id: "sign-out", onclick: () => session.signOut() }, "Sign out"),
        ]
      : [],
  );
}

function markSection(section) {
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function onHistory() {
  if (location.href !== shown) route();
}

document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", onHistory);
window.addEventListener("popstate", onHistory);
session.onSessionChange(() => route());

session.resume().then(
  (resumed) => resumed || route({ focus: false }),
  () => route({ focus: false }),
);
