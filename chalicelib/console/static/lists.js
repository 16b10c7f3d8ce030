// A table of one of the API's lists ({items, next}), a page at a time: the dashboards, the rules.
import { request } from "./api.js";
import { emptyState, errorBox, h, pageHeading, replace } from "./dom.js";

const PAGE = 50;

// columns: [heading, class] pairs; row(item) draws one item's <tr>.
export function listPage(main, { title, actions = [], id, path, columns, empty, row }) {
  const status = h("div", { role: "status" });
  const tbody = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "More");
  replace(
    main,
    pageHeading(title, ...actions),
    status,
    h(
      "section",
      { class: "panel" },
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "list", id },
          h("thead", {}, h("tr", {}, columns.map(([text, cls]) => h("th", { scope: "col", class: cls }, text)))),
          tbody,
        ),
      ),
      more,
    ),
  );

  // From the first page again (cursor null), or the page after the one shown.
  async function load(cursor) {
    let page;
    try {
      page = await request("GET", path, { params: { limit: PAGE, cursor } });
    } catch (error) {
      replace(status, errorBox(error));
      return;
    }
    status.replaceChildren();
    if (!cursor) tbody.replaceChildren();
    if (!cursor && !page.items.length) tbody.append(h("tr", {}, h("td", { colspan: columns.length }, emptyState(empty))));
    tbody.append(...page.items.map(row));
    more.hidden = !page.next;
    more.onclick = () => load(page.next);
  }
  load(null);
  return () => load(null);
}
