// Time ranges: the presets, an absolute from/to, how each reads in the URL and in an API call.
import { h } from "./dom.js";

const PRESETS = [
  ["15m", "Last 15 minutes"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
];
const CUSTOM = "custom";

// From the page's URL: range=<preset>, or from=<ISO>&to=<ISO> (an absolute range).
export function rangeFrom(params, fallback) {
  const from = params.get("from");
  if (from) return { from, to: params.get("to") || "" };
  const preset = params.get("range");
  return { preset: PRESETS.some(([key]) => key === preset) ? preset : fallback };
}

export function rangeToParams(range) {
  return range.preset ? { range: range.preset } : { from: range.from, to: range.to };
}

// What the API takes: a relative range is resolved by the API at the time of the request.
export function apiWindow(range) {
  if (range.preset) return { from: `now-${range.preset}` };
  return { from: range.from, to: range.to || undefined };
}

let controls = 0;

// A preset <select> plus, for "Custom range", two datetime-local inputs. Choosing a preset calls
// onPick at once; an absolute range waits for the surrounding form's submit.
export function timeRangeControl(initial, onPick) {
  const id = `range-${++controls}`;
  const select = h(
    "select",
    { id, class: "range-select", "aria-label": "Time range" },
    PRESETS.map(([key, label]) => h("option", { value: key, selected: initial.preset === key }, label)),
    h("option", { value: CUSTOM, selected: !initial.preset }, "Custom range…"),
  );
  const from = h("input", { type: "datetime-local", id: `${id}-from`, step: "1", value: toLocalInput(initial.from) });
  const to = h("input", { type: "datetime-local", id: `${id}-to`, step: "1", value: toLocalInput(initial.to) });
  const custom = h(
    "span",
    { class: "range-custom", hidden: Boolean(initial.preset) },
    h("label", { for: from.id }, "From"),
    from,
    h("label", { for: to.id }, "To"),
    to,
  );
  select.addEventListener("change", () => {
    custom.hidden = select.value !== CUSTOM;
    if (select.value === CUSTOM) {
      if (!from.value) from.value = toLocalInput(new Date(Date.now() - 3600_000).toISOString());
      from.focus();
    } else {
      onPick();
    }
  });
  return {
    el: h("span", { class: "range" }, select, custom),
    value() {
      if (select.value !== CUSTOM) return { preset: select.value };
      return { from: fromLocalInput(from.value), to: fromLocalInput(to.value) };
    },
    // An absolute range picked elsewhere (a drag across the histogram).
    set(range) {
      select.value = range.preset || CUSTOM;
      custom.hidden = Boolean(range.preset);
      from.value = toLocalInput(range.from);
      to.value = toLocalInput(range.to);
    },
  };
}

const pad = (n) => String(n).padStart(2, "0");

function toLocalInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// datetime-local has no timezone: the user means their own, so it is sent as UTC with a Z.
function fromLocalInput(value) {
  const d = value ? new Date(value) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString() : "";
}
