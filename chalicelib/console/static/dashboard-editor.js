// Creating and editing a dashboard: name, description, and widgets to add, remove and reorder.
// The console checks nothing itself: the API validates, and its field errors ({path, message})
// are shown beside the fields whose JSON path they name.
import { request } from "./api.js";
import { errorBox, h, replace } from "./dom.js";
import { LEVELS } from "./logs.js";

const VIEWS = [
  ["count_over_time", "Count over time"],
  ["top_terms", "Top values"],
  ["stat", "Single number"],
];
const STATS = ["count", "min", "max", "avg", "sum"];
const FRESH = { title: "", query: {}, view: { type: "count_over_time", interval: "5m" } };

const list = (text) => text.split(",").map((part) => part.trim()).filter(Boolean);

export function render(main, params, { match, navigate }) {
  const id = match[1] ? decodeURIComponent(match[1]) : null;
  const state = { name: "", description: "", widgets: [] };
  const heading = h("h1", { tabindex: "-1" }, id ? "Edit dashboard" : "New dashboard");
  const summary = h("div", { class: "form-errors" });
  const name = h("input", { id: "dashboard-name", dataset: { path: "$.name" }, autocomplete: "off" });
  const description = h("textarea", { id: "dashboard-description", rows: 2, dataset: { path: "$.description" } });
  const widgets = h("ol", { class: "widget-editors", id: "widget-editors" });
  const add = h("button", { type: "button", id: "add-widget" }, "+ Add widget");
  const save = h("button", { type: "submit", class: "primary" }, "Save dashboard");
  const cancel = h("a", { class: "button", href: id ? `#/dashboards/${encodeURIComponent(id)}` : "#/dashboards" }, "Cancel");
  const remove = id ? h("button", { type: "button", class: "danger" }, "Delete dashboard") : null;
  const form = h(
    "form",
    { class: "editor", novalidate: true, "aria-labelledby": "editor-title" },
    summary,
    h("div", { class: "field", dataset: { path: "$.name" } }, h("label", { for: name.id }, "Name"), name),
    h("div", { class: "field", dataset: { path: "$.description" } }, h("label", { for: description.id }, "Description"), description),
    h("div", { class: "widgets-field", dataset: { path: "$.widgets" } }, h("h2", {}, "Widgets"), widgets, add),
    h("div", { class: "actions" }, save, cancel, remove),
  );
  heading.id = "editor-title";
  replace(main, h("div", { class: "page-head" }, heading), form);

  name.addEventListener("input", () => (state.name = name.value));
  description.addEventListener("input", () => (state.description = description.value));
  add.addEventListener("click", () => {
    state.widgets.push(structuredClone(FRESH));
    drawWidgets();
    widgets.lastElementChild.querySelector("input").focus();
  });

  function drawWidgets(focus) {
    replace(widgets, state.widgets.map((widget, index) => widgetEditor(widget, index, state.widgets.length, move)));
    if (!focus) return;
    // The focus stays on the widget that moved: on the same button, or on the other one once
    // the widget reached the top or the bottom.
    const tools = widgets.children[focus.index];
    const same = tools.querySelector(`[data-action="${focus.action}"]`);
    (same.disabled ? tools.querySelector(`[data-action="${focus.action === "up" ? "down" : "up"}"]`) : same).focus();
  }

  function move(index, to, action) {
    if (to === null) {
      state.widgets.splice(index, 1);
      drawWidgets();
      (widgets.children[Math.min(index, state.widgets.length - 1)]?.querySelector("input") || add).focus();
      return;
    }
    const [widget] = state.widgets.splice(index, 1);
    state.widgets.splice(to, 0, widget);
    drawWidgets({ index: to, action });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    save.disabled = true;
    try {
      const body = payload(state);
      const saved = id
        ? await request("PUT", `/api/v1/dashboards/${encodeURIComponent(id)}`, { body })
        : await request("POST", "/api/v1/dashboards", { body });
      navigate(`/dashboards/${encodeURIComponent(saved.id)}`);
    } catch (error) {
      showErrors(form, summary, error);
    } finally {
      save.disabled = false;
    }
  });

  remove?.addEventListener("click", async () => {
    if (!window.confirm(`Delete the dashboard “${state.name}”?`)) return;
    try {
      await request("DELETE", `/api/v1/dashboards/${encodeURIComponent(id)}`);
      navigate("/dashboards");
    } catch (error) {
      replace(summary, errorBox(error));
    }
  });

  if (id) {
    request("GET", `/api/v1/dashboards/${encodeURIComponent(id)}`).then(
      (dashboard) => {
        Object.assign(state, { name: dashboard.name, description: dashboard.description || "", widgets: dashboard.widgets });
        name.value = state.name;
        description.value = state.description;
        drawWidgets();
      },
      (error) => replace(summary, errorBox(error)),
    );
  } else {
    state.widgets.push(structuredClone(FRESH));
    drawWidgets();
  }
}

// What the form holds, as the API's dashboard body: empty optional fields are left out, and a
// view carries only the fields of its type.
function payload(state) {
  const body = { name: state.name, widgets: state.widgets.map(widgetBody) };
  if (state.description) body.description = state.description;
  return body;
}

function widgetBody(widget) {
  const query = {};
  if (widget.query?.q) query.q = widget.query.q;
  if (widget.query?.level?.length) query.level = widget.query.level;
  if (widget.query?.service?.length) query.service = widget.query.service;
  const view = { type: widget.view.type };
  const keep = { count_over_time: ["interval"], top_terms: ["field", "n"], stat: ["stat", "field"] }[view.type] || [];
  for (const key of keep) {
    const value = widget.view[key];
    if (value !== undefined && value !== null && value !== "") view[key] = value;
  }
  return { title: widget.title, ...(Object.keys(query).length ? { query } : {}), view };
}

let editors = 0;

function widgetEditor(widget, index, count, move) {
  const n = ++editors;
  const path = `$.widgets[${index}]`;
  widget.query ??= {};
  const field = (label, input, key, extra = {}) => {
    input.id = `w${n}-${key}`;
    input.dataset.path = `${path}.${key}`;
    return h("div", { class: "field", dataset: { path: `${path}.${key}` }, ...extra }, h("label", { for: input.id }, label), input);
  };
  const bind = (input, read) => {
    input.addEventListener("input", () => read(input.value));
    input.addEventListener("change", () => read(input.value));
    return input;
  };

  const title = bind(h("input", { value: widget.title || "", autocomplete: "off" }), (v) => (widget.title = v));
  const q = bind(h("input", { value: widget.query.q || "", autocomplete: "off", placeholder: "timeout" }), (v) => (widget.query.q = v));
  const services = bind(h("input", { value: (widget.query.service || []).join(", "), autocomplete: "off", placeholder: "api, worker" }), (v) => (widget.query.service = list(v)));
  const levels = h(
    "fieldset",
    { class: "levels", dataset: { path: `${path}.query.level` } },
    h("legend", {}, "Levels"),
    LEVELS.map((level) =>
      h(
        "label",
        { class: `chip level-${level}` },
        h("input", {
          type: "checkbox",
          value: level,
          checked: (widget.query.level || []).includes(level),
          onchange: (event) => {
            const chosen = new Set(widget.query.level || []);
            if (event.target.checked) chosen.add(level);
            else chosen.delete(level);
            widget.query.level = LEVELS.filter((l) => chosen.has(l));
          },
        }),
        ` ${level}`,
      ),
    ),
  );
  const type = h("select", {}, VIEWS.map(([value, label]) => h("option", { value, selected: widget.view.type === value }, label)));
  const interval = bind(h("input", { value: widget.view.interval || "", placeholder: "5m", autocomplete: "off" }), (v) => (widget.view.interval = v));
  const term = bind(h("input", { value: widget.view.type === "top_terms" ? widget.view.field || "" : "", placeholder: "service", autocomplete: "off" }), (v) => (widget.view.field = v));
  const top = bind(h("input", { type: "number", min: 1, max: 50, value: widget.view.n ?? "", placeholder: "10" }), (v) => (widget.view.n = v === "" ? undefined : Number(v)));
  const stat = h("select", {}, STATS.map((s) => h("option", { value: s, selected: (widget.view.stat || "count") === s }, s)));
  bind(stat, (v) => (widget.view.stat = v));
  const statField = bind(h("input", { value: widget.view.type === "stat" ? widget.view.field || "" : "", placeholder: "latency_ms", autocomplete: "off" }), (v) => (widget.view.field = v));

  const options = {
    count_over_time: [field("Interval", interval, "view.interval")],
    top_terms: [field("Field", term, "view.field"), field("How many", top, "view.n")],
    stat: [field("Statistic", stat, "view.stat"), field("Field", statField, "view.field")],
  };
  const viewFields = h("div", { class: "view-fields" });
  const showView = () => {
    replace(viewFields, options[widget.view.type]);
    if (widget.view.type === "stat") widget.view.stat ??= stat.value;
    widget.view.field = { top_terms: term.value, stat: statField.value }[widget.view.type];
  };
  type.addEventListener("change", () => {
    widget.view.type = type.value;
    showView();
  });
  showView();

  const label = `widget ${index + 1}`;
  const button = (text, action, aria, onclick, disabled = false) =>
    h("button", { type: "button", dataset: { action }, "aria-label": aria, onclick, disabled }, text);
  return h(
    "li",
    { class: "widget-editor", dataset: { path } },
    h(
      "fieldset",
      {},
      h("legend", {}, `Widget ${index + 1}`),
      h(
        "div",
        { class: "widget-tools" },
        button("↑", "up", `Move ${label} up`, () => move(index, index - 1, "up"), index === 0),
        button("↓", "down", `Move ${label} down`, () => move(index, index + 1, "down"), index === count - 1),
        button("Remove", "remove", `Remove ${label}`, () => move(index, null)),
      ),
      field("Title", title, "title"),
      h("div", { class: "query-fields" }, field("Query", q, "query.q"), field("Services", services, "query.service"), levels),
      h("div", { class: "view-row" }, field("View", type, "view.type", { dataset: { path: `${path}.view` } }), viewFields),
    ),
  );
}

function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// Each field error goes under the element whose data-path is its path, or the nearest ancestor
// path that has one ($.widgets[1].view.interval → $.widgets[1].view → $.widgets[1] → $).
function showErrors(form, summary, error) {
  replace(summary, errorBox(error));
  for (const { path, message } of error.fieldErrors) {
    const target = nearest(form, path);
    if (!target) continue;
    const input = target.matches("input, select, textarea") ? target : target.querySelector(":scope > input, :scope > select, :scope > textarea");
    input?.setAttribute("aria-invalid", "true");
    const holder = target.matches("input, select, textarea") ? target.parentElement : target;
    holder.append(h("p", { class: "field-error" }, message));
  }
}

function nearest(form, path) {
  for (let p = path; p; p = parent(p)) {
    const found = [...form.querySelectorAll("[data-path]")].find((el) => el.dataset.path === p && !el.matches("input, select, textarea"));
    if (found) return found;
  }
  return null;
}

function parent(path) {
  const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
  return cut > 0 ? path.slice(0, cut) : null;
}
