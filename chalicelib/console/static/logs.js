// The logs explorer: a query, filters and a time range (all in the URL), a histogram of counts
// over time, and the hits newest first, a page at a time; a row opens to the event's full JSON.
import { request } from "./api.js";
import { timeBars } from "./charts.js";
import { emptyState, errorBox, formatNumber, formatTime, h, pageHeading, replace, timeElement } from "./dom.js";
import { apiWindow, rangeFrom, rangeToParams, timeRangeControl } from "./time.js";

export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];
const PAGE_SIZE = 50;
const INTERVAL_S = { s: 1, m: 60, h: 3600, d: 86400 };

const split = (text) => (text || "").split(",").map((part) => part.trim()).filter(Boolean);

function intervalSeconds(interval) {
  const match = /^(\d+)([smhd])$/.exec(interval || "");
  return match ? Number(match[1]) * INTERVAL_S[match[2]] : 60;
}

export function render(main, params, { setUrl }) {
  const initialLevels = split(params.get("level"));
  const q = h("input", {
    type: "search",
    id: "logs-q",
    name: "q",
    value: params.get("q") || "",
    placeholder: "timeout AND service:api",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "logs-q-help",
  });
  const levelCounts = new Map();
  const levelBoxes = LEVELS.map((level) => {
    const count = h("span", { class: "count" });
    levelCounts.set(level, count);
    const box = h("input", { type: "checkbox", name: "level", value: level, checked: initialLevels.includes(level) });
    return h("label", { class: `chip level-${level}` }, box, ` ${level} `, count);
  });
  const service = h("input", {
    id: "logs-service",
    name: "service",
    value: params.get("service") || "",
    placeholder: "api, worker",
    list: "logs-services",
    autocomplete: "off",
  });
  const services = h("datalist", { id: "logs-services" });
  const range = timeRangeControl(rangeFrom(params, "1h"), () => form.requestSubmit());
  const form = h(
    "form",
    { class: "query-bar", role: "search", "aria-label": "Log search" },
    h(
      "div",
      { class: "query-row" },
      h("label", { for: q.id, class: "visually-hidden" }, "Query"),
      q,
      range.el,
      h("button", { type: "submit", class: "primary" }, "Search"),
    ),
    h(
      "p",
      { id: "logs-q-help", class: "help" },
      "Words match the message; field:value any field (",
      h("code", {}, "service:api AND latency_ms:[90 TO 99]"),
      "). AND by default.",
    ),
    h(
      "div",
      { class: "filter-row" },
      h("fieldset", { class: "levels" }, h("legend", {}, "Level"), levelBoxes),
      h("label", { for: service.id, class: "service-filter" }, "Service ", service),
      services,
    ),
  );

  const status = h("div", { class: "status", role: "status", "aria-live": "polite" });
  const summary = h("p", { class: "summary", id: "logs-summary" });
  const histogram = h("div", { class: "chart", id: "histogram" });
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "hits", id: "hits" },
    h("caption", { class: "visually-hidden" }, "Log events, newest first"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", class: "toggle-col" }, h("span", { class: "visually-hidden" }, "Details")),
        h("th", { scope: "col" }, "Time"),
        h("th", { scope: "col" }, "Level"),
        h("th", { scope: "col" }, "Service"),
        h("th", { scope: "col" }, "Message"),
      ),
    ),
    tbody,
  );
  const newer = h("button", { type: "button", disabled: true }, "← Newer");
  const older = h("button", { type: "button", disabled: true }, "Older →");
  const position = h("span", { class: "position" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of hits" }, newer, position, older);

  replace(
    main,
    pageHeading("Logs"),
    form,
    status,
    h("section", { class: "panel", "aria-labelledby": "histogram-title" }, h("h2", { id: "histogram-title", class: "visually-hidden" }, "Events over time"), summary, histogram),
    h("section", { class: "panel" }, h("div", { class: "table-wrap" }, table), pager),
  );

  let chart = null;
  let sequence = 0;
  // The window of the first page, resolved by the API; later pages keep it, so paging through a
  // relative range ("last hour") does not drift as time passes.
  let pinned = null;
  let cursors = [];
  let query = {};

  function readForm() {
    return {
      q: q.value.trim(),
      level: levelBoxes.map((label) => label.querySelector("input")).filter((box) => box.checked).map((box) => box.value).join(","),
      service: split(service.value).join(","),
      range: range.value(),
    };
  }

  function urlParams(state) {
    return { q: state.q, level: state.level, service: state.service, ...rangeToParams(state.range) };
  }

  async function search(state, { push }) {
    if (push) setUrl("/logs", urlParams(state), { push: true });
    query = { q: state.q, level: state.level, service: state.service };
    pinned = null;
    cursors = [];
    await load(apiWindow(state.range), null);
  }

  async function load(span, cursor) {
    const mine = ++sequence;
    status.replaceChildren("Searching…");
    let result;
    try {
      result = await request("GET", "/api/v1/logs/search", {
        params: { ...query, ...span, limit: PAGE_SIZE, cursor: cursor || undefined },
      });
    } catch (error) {
      if (mine === sequence) replace(status, errorBox(error));
      return;
    }
    if (mine !== sequence) return;
    status.replaceChildren();
    if (!pinned) {
      pinned = { from: result.from, to: result.to };
      drawOverview(result);
    }
    drawHits(result, cursor);
  }

  function drawOverview(result) {
    chart?.destroy();
    const buckets = result.histogram.buckets;
    replace(
      summary,
      h("strong", {}, formatNumber(result.total)),
      result.total === 1 ? " hit" : " hits",
      " from ",
      timeElement(result.from),
      " to ",
      timeElement(result.to),
      ` · ${result.histogram.interval} buckets`,
    );
    chart = timeBars(histogram, {
      labels: buckets.map((b) => b.t),
      values: buckets.map((b) => b.count),
      stepS: intervalSeconds(result.histogram.interval),
      onSelect: (from, to) => {
        range.set({ from, to });
        search({ ...readForm(), range: { from, to } }, { push: true });
      },
    });
    for (const [level, count] of levelCounts) count.textContent = formatNumber(result.levels[level] || 0);
    replace(services, Object.keys(result.services).map((name) => h("option", { value: name })));
  }

  function drawHits(result, cursor) {
    const first = cursors.length * PAGE_SIZE;
    replace(tbody, result.hits.length ? result.hits.map(hitRows) : h("tr", {}, h("td", { colspan: 5 }, emptyState("No events match."))));
    position.textContent = result.count ? `${formatNumber(first + 1)}–${formatNumber(first + result.count)} of ${formatNumber(result.total)}` : "";
    newer.disabled = cursors.length === 0;
    older.disabled = !result.next;
    older.onclick = () => {
      cursors.push(cursor);
      load(pinned, result.next);
    };
    newer.onclick = () => load(pinned, cursors.pop());
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(readForm(), { push: true });
  });
  // A level filter applies as soon as it is ticked, as a preset range does.
  for (const label of levelBoxes) label.querySelector("input").addEventListener("change", () => form.requestSubmit());

  search(readForm(), { push: false });
  return () => {
    sequence++;
    chart?.destroy();
  };
}

let rows = 0;

function hitRows(hit) {
  const id = `event-${++rows}`;
  const toggle = h("button", { type: "button", class: "expand", "aria-expanded": "false", "aria-controls": id, "aria-label": "Show the event's JSON" });
  const detail = h("tr", { class: "detail", id, hidden: true }, h("td", { colspan: 5 }, h("pre", {}, JSON.stringify(hit, null, 2))));
  const flip = () => {
    const open = detail.hidden;
    detail.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.setAttribute("aria-label", open ? "Hide the event's JSON" : "Show the event's JSON");
    row.classList.toggle("open", open);
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    flip();
  });
  const row = h(
    "tr",
    {
      class: "hit",
      // A click opens the row too, unless it ends selecting text to copy.
      onclick: () => {
        if (!window.getSelection()?.toString()) flip();
      },
    },
    h("td", { class: "toggle-col" }, toggle),
    h("td", { class: "time" }, timeElement(hit.timestamp, formatTime)),
    h("td", {}, h("span", { class: `level level-${hit.level}` }, hit.level)),
    h("td", { class: "service" }, hit.service ?? ""),
    h("td", { class: "message" }, hit.message ?? ""),
  );
  return [row, detail];
}
