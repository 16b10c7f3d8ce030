// Dashboards: the list, and one dashboard drawn widget by widget for a time range, refreshed on
// the interval the user picks (both in the URL).
import { request } from "./api.js";
import { categoryBars, timeLine } from "./charts.js";
import { emptyState, errorBox, formatNumber, formatShortTime, h, querySummary, replace, timeElement } from "./dom.js";
import { listPage } from "./lists.js";
import { apiWindow, rangeFrom, rangeToParams, timeRangeControl } from "./time.js";

const REFRESH = [
  ["", "Off"],
  ["10s", "10 s"],
  ["30s", "30 s"],
  ["1m", "1 min"],
  ["5m", "5 min"],
];
const REFRESH_MS = { "10s": 10_000, "30s": 30_000, "1m": 60_000, "5m": 300_000 };

export function renderList(main) {
  listPage(main, {
    title: "Dashboards",
    actions: [h("a", { class: "button primary", href: "#/dashboards/new" }, "New dashboard")],
    id: "dashboards",
    path: "/api/v1/dashboards",
    columns: [["Name"], ["Widgets", "number"], ["Description"], ["Updated"]],
    empty: "No dashboards yet.",
    row: (dashboard) =>
      h(
        "tr",
        {},
        h("td", {}, h("a", { href: `#/dashboards/${encodeURIComponent(dashboard.id)}` }, dashboard.name)),
        h("td", { class: "number" }, formatNumber(dashboard.widgets.length)),
        h("td", {}, dashboard.description || ""),
        h("td", {}, timeElement(dashboard.updated_at, formatShortTime)),
      ),
  });
}

export function renderDashboard(main, params, { setUrl, match }) {
  const id = decodeURIComponent(match[1]);
  const range = timeRangeControl(rangeFrom(params, "1h"), () => controls.requestSubmit());
  const every = h(
    "select",
    { id: "refresh-every", "aria-label": "Refresh every" },
    REFRESH.map(([value, label]) => h("option", { value, selected: (params.get("refresh") || "") === value }, label)),
  );
  const updated = h("span", { class: "updated", "aria-live": "polite" });
  const controls = h(
    "form",
    { class: "toolbar", "aria-label": "Dashboard range" },
    range.el,
    h("label", { for: every.id }, "Refresh"),
    every,
    h("button", { type: "submit" }, "Apply"),
    updated,
  );
  const title = h("h1", { tabindex: "-1" }, "Dashboard");
  const description = h("p", { class: "description" });
  const status = h("div", { role: "status" });
  const grid = h("div", { class: "widgets", id: "widgets" });
  replace(
    main,
    h(
      "div",
      { class: "page-head" },
      title,
      h("a", { class: "button", href: `#/dashboards/${encodeURIComponent(id)}/edit` }, "Edit"),
      h("a", { class: "button", href: "#/dashboards" }, "All dashboards"),
    ),
    description,
    controls,
    status,
    grid,
  );

  let charts = [];
  let timer = null;
  let sequence = 0;

  request("GET", `/api/v1/dashboards/${encodeURIComponent(id)}`).then(
    (dashboard) => {
      title.textContent = dashboard.name;
      description.textContent = dashboard.description || "";
      document.title = `${dashboard.name} · Console`;
    },
    () => {},
  );

  async function draw() {
    const mine = ++sequence;
    let data;
    try {
      data = await request("GET", `/api/v1/dashboards/${encodeURIComponent(id)}/data`, { params: apiWindow(range.value()) });
    } catch (error) {
      if (mine === sequence) replace(status, errorBox(error));
      return;
    }
    if (mine !== sequence) return;
    status.replaceChildren();
    title.textContent = data.name;
    for (const chart of charts) chart.destroy();
    charts = [];
    replace(grid, data.widgets.length ? data.widgets.map(widgetCard) : emptyState("This dashboard has no widgets yet."));
    for (const [index, widget] of data.widgets.entries()) {
      const body = grid.children[index].querySelector(".widget-body");
      const chart = drawWidget(body, widget);
      if (chart) charts.push(chart);
    }
    replace(updated, "Updated ", timeElement(new Date().toISOString(), (iso) => formatShortTime(iso).slice(11)));
  }

  function schedule() {
    clearInterval(timer);
    const ms = REFRESH_MS[every.value];
    if (ms) timer = setInterval(draw, ms);
  }

  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    setUrl(`/dashboards/${encodeURIComponent(id)}`, { ...rangeToParams(range.value()), refresh: every.value }, { push: true });
    schedule();
    draw();
  });
  every.addEventListener("change", () => controls.requestSubmit());

  schedule();
  draw();
  return () => {
    sequence++;
    clearInterval(timer);
    for (const chart of charts) chart.destroy();
  };
}

function widgetCard(widget, index) {
  return h(
    "article",
    { class: `widget widget-${widget.view.type}`, dataset: { index: String(index) } },
    h("h2", {}, widget.title),
    h("p", { class: "widget-query" }, querySummary(widget.query)),
    h("div", { class: "widget-body" }),
  );
}

function drawWidget(body, widget) {
  const view = widget.view;
  if (widget.error) {
    replace(body, h("p", { class: "error", role: "alert" }, widget.error));
    return null;
  }
  if (view.type === "stat") {
    const what = view.field ? `${view.stat} of ${view.field}` : view.stat;
    replace(
      body,
      h("p", { class: "stat-value" }, formatNumber(widget.value)),
      h("p", { class: "stat-caption" }, `${what} · ${formatNumber(widget.count)} of ${formatNumber(widget.total)} events`),
    );
    return null;
  }
  const chart = h("div", { class: "chart" });
  if (view.type === "count_over_time") {
    replace(body, chart, h("p", { class: "caption" }, `${formatNumber(widget.total)} events · every ${view.interval}`));
    return timeLine(chart, { labels: widget.labels, values: widget.values, name: widget.title });
  }
  const other = widget.other ? ` · ${formatNumber(widget.other)} in other values` : "";
  replace(body, chart, h("p", { class: "caption" }, `top ${widget.labels.length} values of ${view.field} · ${formatNumber(widget.total)} events${other}`));
  return categoryBars(chart, { labels: widget.labels, values: widget.values, name: widget.title });
}
