// Charts drawn by uPlot (vendored: vendor/uplot/VENDORED.json). Each chart's container keeps
// its uPlot instance as `container.chart`, so what is drawn can be read back (chart.data).
import { formatNumber, formatShortTime } from "./dom.js";

const uPlot = globalThis.uPlot;
const HEIGHT = 220;

function colours() {
  const css = getComputedStyle(document.documentElement);
  const read = (name) => css.getPropertyValue(name).trim();
  return { bar: read("--chart-bar"), line: read("--chart-line"), fill: read("--chart-fill"), grid: read("--border"), text: read("--muted") };
}

function axis(c, extra = {}) {
  return { stroke: c.text, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 }, ...extra };
}

// uPlot's time ticks, in 24-hour, year-month-day form (its defaults are 12-hour and M/D/YY).
// Columns: tick increment (s), the tick's format, then the format when the year, month, day,
// hour, minute or second changes under it (null: keep the tick's), and whether those extend it.
const TIME_TICKS = [
  [3600 * 24 * 365, "{YYYY}", null, null, null, null, null, null, 1],
  [3600 * 24 * 28, "{YYYY}-{MM}", null, null, null, null, null, null, 1],
  [3600 * 24, "{MM}-{DD}", "\n{YYYY}", null, null, null, null, null, 1],
  [3600, "{HH}:{mm}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
  [60, "{HH}:{mm}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
  [1, "{HH}:{mm}:{ss}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
];

// Counts are whole numbers: no tick at 0.5 events.
const COUNT_STEPS = [1, 2, 5].flatMap((m) => [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8].map((p) => m * p)).sort((a, b) => a - b);

// Room for a whole HH:mm:ss label between two ticks.
const timeAxis = (c) => axis(c, { values: TIME_TICKS, space: 80 });
const countAxis = (c) => axis(c, { incrs: COUNT_STEPS, values: (u, splits) => splits.map(formatNumber), size: 56 });

function mount(container, options, data, summary) {
  const width = () => Math.max(container.clientWidth, 200);
  const chart = new uPlot({ width: width(), height: HEIGHT, ...options }, data, container);
  const observer = new ResizeObserver(() => {
    if (Math.abs(chart.width - width()) > 1) chart.setSize({ width: width(), height: HEIGHT });
  });
  observer.observe(container);
  container.chart = chart;
  // The canvas says nothing to a screen reader; the summary does.
  container.setAttribute("role", "img");
  container.setAttribute("aria-label", summary);
  return {
    chart,
    destroy() {
      observer.disconnect();
      chart.destroy();
      delete container.chart;
    },
  };
}

const seconds = (labels) => labels.map((iso) => Date.parse(iso) / 1000);
const countValue = (u, v) => (v === null || v === undefined ? "–" : formatNumber(v));

function peakText(labels, values, name) {
  const total = values.reduce((sum, v) => sum + v, 0);
  if (!values.length) return `${name}: no data`;
  const peak = values.indexOf(Math.max(...values));
  return `${name}: ${values.length} buckets, ${formatNumber(total)} events, most (${formatNumber(values[peak])}) at ${formatShortTime(labels[peak])}`;
}

// Counts over time as bars, one per bucket of `stepS` seconds. onSelect(fromIso, toIso) is called
// when the user drags across the chart.
export function timeBars(container, { labels, values, stepS, name = "events", onSelect }) {
  const c = colours();
  const xs = seconds(labels);
  const options = {
    series: [
      { value: (u, v) => (v === null ? "–" : formatShortTime(v * 1000)) },
      { label: name, fill: c.bar, stroke: c.bar, width: 0, paths: uPlot.paths.bars({ size: [0.85, 80], align: 1 }), points: { show: false }, value: countValue },
    ],
    scales: {
      x: { time: true, range: (u, min, max) => [xs.length ? xs[0] : min, (xs.length ? xs[xs.length - 1] : max) + stepS] },
      y: { range: (u, min, max) => [0, Math.max(1, max)] },
    },
    axes: [timeAxis(c), countAxis(c)],
    cursor: { drag: { x: Boolean(onSelect), y: false, setScale: false }, points: { show: false } },
    hooks: onSelect
      ? {
          setSelect: [
            (u) => {
              if (u.select.width < 2) return;
              const start = u.posToVal(u.select.left, "x");
              const end = u.posToVal(u.select.left + u.select.width, "x");
              u.setSelect({ left: 0, width: 0 }, false);
              onSelect(new Date(start * 1000).toISOString(), new Date(end * 1000).toISOString());
            },
          ],
        }
      : {},
  };
  return mount(container, options, [xs, values], peakText(labels, values, name));
}

// Counts over time as a line with its area filled: a dashboard's count_over_time widget.
export function timeLine(container, { labels, values, name = "events" }) {
  const c = colours();
  const options = {
    series: [
      { value: (u, v) => (v === null ? "–" : formatShortTime(v * 1000)) },
      { label: name, stroke: c.line, fill: c.fill, width: 2, points: { size: 4 }, value: countValue },
    ],
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
    axes: [timeAxis(c), countAxis(c)],
  };
  return mount(container, options, [seconds(labels), values], peakText(labels, values, name));
}

// One bar per category (a top_terms widget): x is the category's position, labelled with its name.
export function categoryBars(container, { labels, values, name = "events" }) {
  const c = colours();
  const xs = labels.map((_, i) => i);
  const options = {
    series: [
      { value: (u, v) => (v === null ? "–" : (labels[v] ?? "")) },
      { label: name, fill: c.bar, stroke: c.bar, width: 0, paths: uPlot.paths.bars({ size: [0.6, 120] }), points: { show: false }, value: countValue },
    ],
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(labels.length, 1) - 0.5] },
      y: { range: (u, min, max) => [0, Math.max(1, max)] },
    },
    axes: [
      axis(c, { splits: () => xs, values: (u, splits) => splits.map((i) => labels[i] ?? ""), grid: { show: false } }),
      countAxis(c),
    ],
    cursor: { drag: { x: false, y: false }, points: { show: false } },
  };
  const summary = labels.map((label, i) => `${label} ${formatNumber(values[i])}`).join(", ");
  return mount(container, options, [xs, values], `${name} by value: ${summary || "no data"}`);
}
