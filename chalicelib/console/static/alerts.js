// Alerts: the rules with their state, last value and threshold; one rule's history as a timeline
// (opened, notifications sent, resolved).
import { request } from "./api.js";
import { emptyState, errorBox, formatNumber, formatShortTime, formatTime, h, querySummary, replace, timeElement } from "./dom.js";
import { listPage } from "./lists.js";

const AUTO_REFRESH_MS = 30_000;
const PAGE = 50;

const condition = (rule) => `count ${rule.comparison} ${formatNumber(rule.threshold)} in ${rule.window}`;

function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, state === "firing" ? "Firing" : "OK");
}

export function renderList(main) {
  const refresh = h("button", { type: "button" }, "Refresh");
  const reload = listPage(main, {
    title: "Alerts",
    actions: [refresh],
    id: "alerts",
    path: "/api/v1/alerts",
    columns: [["State"], ["Rule"], ["Last value", "number"], ["Threshold"], ["Query"], ["Last evaluated"]],
    empty: "No alert rules yet.",
    row: (rule) =>
      h(
        "tr",
        { class: `rule rule-${rule.state}`, dataset: { id: rule.id } },
        h("td", {}, stateBadge(rule.state), rule.enabled ? null : h("span", { class: "muted" }, " (disabled)")),
        h("td", {}, h("a", { href: `#/alerts/${encodeURIComponent(rule.id)}` }, rule.name)),
        h("td", { class: "number last-value" }, formatNumber(rule.last_value)),
        h("td", { class: "threshold" }, condition(rule)),
        h("td", { class: "query" }, querySummary(rule.query)),
        h("td", {}, timeElement(rule.last_evaluated_at, formatShortTime)),
      ),
  });
  refresh.addEventListener("click", reload);
  const timer = setInterval(reload, AUTO_REFRESH_MS);
  return () => clearInterval(timer);
}

export function renderRule(main, params, { match }) {
  const id = decodeURIComponent(match[1]);
  const title = h("h1", { tabindex: "-1" }, "Alert rule");
  const status = h("div", { role: "status" });
  const facts = h("dl", { class: "facts", id: "rule-facts" });
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const older = h("button", { type: "button", hidden: true }, "Older events");
  replace(
    main,
    h("div", { class: "page-head" }, title, h("a", { class: "button", href: "#/alerts" }, "All alerts")),
    status,
    h("section", { class: "panel" }, facts),
    h("section", { class: "panel" }, h("h2", {}, "History"), timeline, older),
  );

  request("GET", `/api/v1/alerts/${encodeURIComponent(id)}`).then(
    (rule) => {
      title.replaceChildren(rule.name, " ", stateBadge(rule.state));
      document.title = `${rule.name} · Console`;
      const channels = rule.channels.map((c) => (c.type === "email" ? `email ${c.to}` : `webhook ${c.url}`));
      const rows = [
        ["State", stateBadge(rule.state)],
        ["Last value", formatNumber(rule.last_value)],
        ["Threshold", condition(rule)],
        ["Query", querySummary(rule.query)],
        ["Channels", channels.join(", ")],
        ["Enabled", rule.enabled ? "yes" : "no"],
        ["Last evaluated", timeElement(rule.last_evaluated_at)],
      ];
      replace(facts, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
    },
    (error) => replace(status, errorBox(error)),
  );

  async function load(cursor) {
    let page;
    try {
      page = await request("GET", `/api/v1/alerts/${encodeURIComponent(id)}/events`, { params: { limit: PAGE, cursor } });
    } catch (error) {
      replace(status, errorBox(error));
      return;
    }
    if (!cursor && !page.items.length) timeline.append(h("li", { class: "quiet" }, emptyState("It has never fired.")));
    for (const event of page.items) timeline.append(eventEntry(event));
    older.hidden = !page.next;
    older.onclick = () => load(page.next);
  }
  load(null);
}

// One firing, its steps in the order they happen: opened, the firing notifications, resolved,
// the resolved notifications.
function eventEntry(event) {
  const notified = (transition) =>
    event.notifications
      .filter((n) => n.transition === transition)
      .map((n) => ({
        at: n.at,
        kind: n.ok ? "notified" : "failed",
        text: `${transition === "resolved" ? "Resolved" : "Firing"} notification to ${n.channel} ${n.ok ? "sent" : `failed: ${n.error || "unknown error"}`}`,
      }));
  const steps = [
    { at: event.opened_at, kind: "opened", text: `Opened at ${formatNumber(event.open_value)} (${conditionText(event.condition || {})})` },
    ...notified("firing"),
  ];
  if (event.resolved_at) steps.push({ at: event.resolved_at, kind: "resolved", text: `Resolved at ${formatNumber(event.resolve_value)}` }, ...notified("resolved"));
  const heading =
    event.status === "open"
      ? ["Firing since ", timeElement(event.opened_at, formatShortTime)]
      : ["Fired ", timeElement(event.opened_at, formatShortTime), " – ", timeElement(event.resolved_at, formatShortTime)];
  return h(
    "li",
    { class: `event event-${event.status}` },
    h("h3", {}, heading),
    h(
      "ol",
      { class: "steps" },
      steps.map((step) => h("li", { class: `step step-${step.kind}` }, timeElement(step.at, formatTime), " ", step.text)),
    ),
  );
}

function conditionText(c) {
  return [c.comparison, c.threshold !== undefined ? formatNumber(c.threshold) : "", c.window ? `in ${c.window}` : ""].filter(Boolean).join(" ");
}
