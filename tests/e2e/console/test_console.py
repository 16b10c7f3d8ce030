"""The console as a person uses it, in headless Chromium: sign in and out, the logs explorer,
a dashboard built in the editor and drawn as charts, and the alerts with their history. What
each test reads is what the page shows (text, the charts' own data, the URL), and every page
must get through its test without a console error or a CSP violation (tests/e2e/console/browser.py).

The tests run in this order and share one signed-in page; screenshots of each page at 1280 px
go to docs/screenshots/.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from chalicelib.auth.service import INVALID_CREDENTIALS
from chalicelib.console.routes import CONSOLE_CSP
from tests.e2e.console.conftest import Account, Tab, evaluate_alerts, new_tab, sign_in
from tests.e2e.console.data import parse, shown_time
from tests.support.browser import PHONE, screenshot
from tests.support.stack import wait_for

STORAGE = "() => ({session: {...sessionStorage}, local: {...localStorage}, cookie: document.cookie})"
CHART = "(selector) => { const c = document.querySelector(selector).chart; return {x: c.data[0], y: c.data[1]}; }"
HIT_ROWS = "rows => rows.map(r => [...r.cells].slice(1).map(c => c.textContent))"


def hit_rows(events: list[dict[str, Any]]) -> list[list[str]]:
    return [[shown_time(e["timestamp"]), e["level"], e["service"], e["message"]] for e in events]


def fragment(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).fragment.partition("?")[2])


def wait_text(page: Any, selector: str, text: str, *, part: bool = False) -> None:
    """Until the element's text is `text` (or, with part, contains it)."""
    page.wait_for_function(
        "([s, t, part]) => { const text = document.querySelector(s)?.textContent.trim() ?? '';"
        " return part ? text.includes(t) : text === t; }",
        arg=[selector, text, part],
    )


# -- session --------------------------------------------------------------------------------


def test_sign_in_keeps_the_access_token_in_memory_rotates_the_refresh_token_and_signs_out(
    fresh_tab: Tab, account: Account
):
    page = fresh_tab.page
    fresh_tab.open("#/logs?q=timeout")
    page.wait_for_selector("#signin-username")
    assert page.title() == "Sign in · Console"
    screenshot(page, "sign-in")

    fresh_tab.watch.expect(r"status of 401")
    sign_in(fresh_tab, account.username, "not the password 1")
    wait_text(page, ".signin-status .error p", INVALID_CREDENTIALS)

    sign_in(fresh_tab, account.username)
    page.wait_for_selector("#sign-out")
    assert page.text_content(".account .who") == account.username
    # The view the URL named when the session began.
    assert page.input_value("#logs-q") == "timeout"
    stored = page.evaluate(STORAGE)
    assert stored["local"] == {} and stored["cookie"] == ""
    assert list(stored["session"]) == ["console.refresh"]
    first = stored["session"]["console.refresh"]
    # The refresh token (id.secret) is all that is stored; the access token is a JWT (eyJ...).
    assert first.count(".") == 1 and not first.startswith("eyJ")

    # A reload loses the in-memory access token: the tab signs back in by spending the refresh
    # token, which the API rotates.
    with page.expect_response("**/api/v1/auth/token/refresh") as rotated:
        page.reload()
    assert rotated.value.status == 200
    page.wait_for_selector("#sign-out")
    second = page.evaluate(STORAGE)["session"]["console.refresh"]
    assert second != first

    with page.expect_response("**/api/v1/auth/logout") as out:
        page.click("#sign-out")
    assert out.value.status == 204
    page.wait_for_selector("#signin-username")
    assert page.evaluate(STORAGE)["session"] == {}
    # Signing out revoked the session on the server too, not only in the tab.
    refused = requests.post(f"{fresh_tab.base}/api/v1/auth/token/refresh", json={"refresh": second}, timeout=10)
    assert refused.status_code == 401


def test_the_page_has_its_own_csp_and_the_browser_enforces_it(fresh_tab: Tab):
    page = fresh_tab.page
    response = page.goto(f"{fresh_tab.base}/console")
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["cache-control"] == "no-cache"
    page.wait_for_selector("#signin-username")
    # Every script, style and icon the page loads is allowed by it: nothing was refused so far.
    assert fresh_tab.watch.errors == []
    # The API keeps its own, stricter policy.
    api = requests.get(f"{fresh_tab.base}/health/live", timeout=10)
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"

    outcome = page.evaluate(
        """async () => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
          const sent = await fetch("http://127.0.0.2:9/").then(() => "sent", () => "refused");
          return [window.inlineRan ?? false, getComputedStyle(document.body).color, sent];
        }"""
    )
    assert outcome[0] is False and outcome[1] != "rgb(255, 0, 0)" and outcome[2] == "refused"

    def violations() -> list[str]:
        return sorted(e for e in fresh_tab.watch.errors if e.startswith("CSP violation"))

    # Violation events are dispatched after the task that caused them.
    for _ in range(40):
        if len(violations()) >= 3:
            break
        page.wait_for_timeout(50)
    assert violations() == [
        "CSP violation: connect-src blocked http://127.0.0.2:9/",
        "CSP violation: script-src-elem blocked inline",
        "CSP violation: style-src-attr blocked inline",
    ]
    fresh_tab.watch.expect(r"CSP violation|Content Security Policy|Fetch API cannot load")


# -- logs -----------------------------------------------------------------------------------


def test_logs_explorer_shows_the_histogram_and_the_hits_page_by_page(tab: Tab, account: Account):
    page, data = tab.page, account.data
    everything = data.matching()
    tab.open(f"#/logs?from={data.window['from']}&to={data.window['to']}")
    wait_text(page, ".pager .position", f"1–50 of {len(everything)}")

    # The window is 10 minutes, so the API picked 5 s buckets: 120 bars, empty ones included.
    chart = page.evaluate(CHART, "#histogram")
    assert len(chart["x"]) == 120
    assert chart["x"][0] == data.t0.timestamp() and chart["x"][1] - chart["x"][0] == 5
    assert chart["y"] == data.counts_per(5, everything)
    assert page.text_content("#logs-summary").startswith(f"{len(everything)} hits from ")
    assert page.eval_on_selector_all("#hits tbody tr.hit", HIT_ROWS) == hit_rows(everything[:50])

    page.click("text=Older →")
    wait_text(page, ".pager .position", f"51–{len(everything)} of {len(everything)}")
    assert page.eval_on_selector_all("#hits tbody tr.hit", HIT_ROWS) == hit_rows(everything[50:])
    page.click("text=← Newer")
    wait_text(page, ".pager .position", f"1–50 of {len(everything)}")

    # A row opens to the event's full JSON, from the keyboard too.
    toggle = page.locator("#hits tbody tr.hit button.expand").first
    toggle.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#hits tbody tr.detail").first
    assert detail.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    shown = json.loads(detail.text_content())
    newest = everything[0]
    assert {k: shown[k] for k in newest if k != "timestamp"} == {k: v for k, v in newest.items() if k != "timestamp"}
    assert parse(shown["timestamp"]) == parse(newest["timestamp"]) and shown["id"]
    screenshot(page, "logs")
    page.keyboard.press("Space")
    assert detail.is_hidden()

    # Dragging across the histogram zooms into what it covers.
    area = page.locator("#histogram .u-over").bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.3, area["y"] + 20)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.6, area["y"] + 20, steps=4)
    page.mouse.up()
    page.wait_for_function("(from) => !location.hash.includes(from)", arg=data.window["from"])
    zoom = {k: parse(v[0]) for k, v in fragment(page).items()}
    assert data.t0 < zoom["from"] < zoom["to"] < data.t1
    inside = [e for e in everything if zoom["from"] <= parse(e["timestamp"]) < zoom["to"]]
    wait_text(page, "#logs-summary", f"{len(inside)} hits from ", part=True)


def test_logs_query_filters_and_range_live_in_the_url(tab: Tab, account: Account, chromium: Any):
    page, data = tab.page, account.data
    tab.open("#/logs")
    page.wait_for_selector("#hits tbody tr")

    # A preset: the last 24 hours hold every event shipped, the burst included.
    page.select_option(".range-select", "24h")
    total = len(data.events) + len(data.burst)
    wait_text(page, "#logs-summary", "30m buckets", part=True)
    assert page.text_content(".pager .position") == f"1–50 of {total}"
    assert fragment(page)["range"] == ["24h"]
    assert sum(page.evaluate(CHART, "#histogram")["y"]) == total

    # An absolute range, typed as local time (the browser runs in UTC), then words and a level.
    page.select_option(".range-select", "custom")
    page.fill(".range-custom input >> nth=0", data.t0.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill(".range-custom input >> nth=1", data.t1.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#logs-q", "timeout")
    page.check("input[name=level][value=error]")
    expected = data.matching("timeout", "error")
    wait_text(page, ".pager .position", f"1–{len(expected)} of {len(expected)}")
    assert fragment(page) == {"q": ["timeout"], "level": ["error"], **{k: [v] for k, v in data.window.items()}}
    assert page.eval_on_selector_all("#hits tbody tr.hit", HIT_ROWS) == hit_rows(expected)
    assert page.evaluate(CHART, "#histogram")["y"] == data.counts_per(5, expected)

    # The URL is the view: opened in another tab (which signs in first), it shows the same.
    shared = new_tab(chromium, tab.base)
    try:
        shared.page.goto(page.url)
        sign_in(shared, account.username)
        wait_text(shared.page, ".pager .position", f"1–{len(expected)} of {len(expected)}")
        assert shared.page.input_value("#logs-q") == "timeout"
        assert shared.page.is_checked("input[name=level][value=error]")
        assert shared.page.eval_on_selector_all("#hits tbody tr.hit", HIT_ROWS) == hit_rows(expected)
        shared.watch.check()
    finally:
        shared.context.close()


# -- dashboards -----------------------------------------------------------------------------

WIDGETS = [
    {
        "title": "timeout latency",
        "query": {"q": "timeout"},
        "view": {"type": "stat", "stat": "avg", "field": "latency_ms"},
    },
    {
        "title": "errors per minute",
        "query": {"level": ["error"]},
        "view": {"type": "count_over_time", "interval": "1m"},
    },
    {"title": "busiest services", "view": {"type": "top_terms", "field": "service", "n": 3}},
]


def widget(page: Any, n: int) -> Any:
    return page.locator("#widget-editors > li").nth(n)


def test_dashboard_editor_adds_removes_reorders_and_shows_the_apis_errors(tab: Tab, account: Account):
    page = tab.page
    tab.open("#/dashboards/new")
    page.fill("#dashboard-name", "checkout health")
    # The first widget is there already: errors per minute, with an interval the API refuses.
    first = widget(page, 0)
    first.get_by_label("Title").fill("errors per minute")
    first.locator("input[value=error]").check()
    first.get_by_label("Interval").fill("1 minute")

    page.click("#add-widget")
    widget(page, 1).get_by_label("Title").fill("scratch")
    page.click("#add-widget")
    third = widget(page, 2)
    third.get_by_label("Title").fill("busiest services")
    third.get_by_label("View").select_option("top_terms")
    third.get_by_label("Field").fill("service")
    third.get_by_label("How many").fill("0")
    page.click("#add-widget")
    fourth = widget(page, 3)
    fourth.get_by_label("Title").fill("timeout latency")
    fourth.get_by_label("Query").fill("timeout")
    fourth.get_by_label("View").select_option("stat")
    fourth.get_by_label("Statistic").select_option("avg")
    fourth.get_by_label("Field").fill("latency_ms")

    page.get_by_label("Remove widget 2").click()
    assert page.locator("#widget-editors > li").count() == 3
    # Moved up twice from the keyboard; the focus follows the widget it moved (onto "down" once
    # it is at the top).
    focused = "document.activeElement.getAttribute('aria-label')"
    page.get_by_label("Move widget 3 up").focus()
    page.keyboard.press("Enter")
    assert page.evaluate(focused) == "Move widget 2 up"
    page.keyboard.press("Enter")
    assert page.evaluate(focused) == "Move widget 1 down"
    titles = [widget(page, n).get_by_label("Title").input_value() for n in range(3)]
    assert titles == ["timeout latency", "errors per minute", "busiest services"]

    tab.watch.expect(r"status of 400")
    with page.expect_response("**/api/v1/dashboards") as refused:
        page.click("text=Save dashboard")
    assert refused.value.status == 400
    # The errors shown are the API's own, each beside the field its path names.
    sent = refused.value.request.post_data_json
    api_errors = requests.post(f"{tab.base}/api/v1/dashboards", json=sent, headers=account.headers, timeout=10)
    errors = api_errors.json()["errors"]
    assert sorted(e["path"] for e in errors) == ["$.widgets[1].view.interval", "$.widgets[2].view.n"]
    page.wait_for_selector(".field-error")
    for error in errors:
        index = int(error["path"][len("$.widgets[")])
        beside = widget(page, index).locator(".field-error").all_text_contents()
        assert beside == [error["message"]]
    assert page.locator(".form-errors .error li").all_text_contents() == [f"{e['path']} {e['message']}" for e in errors]
    screenshot(page, "dashboard-edit", full_page=True)

    widget(page, 1).get_by_label("Interval").fill("1m")
    widget(page, 2).get_by_label("How many").fill("3")
    page.click("text=Save dashboard")
    page.wait_for_url(re.compile(r"#/dashboards/[0-9a-f-]{36}$"))
    dashboard_id = urlsplit(page.url).fragment.split("/")[2]
    saved = requests.get(f"{tab.base}/api/v1/dashboards/{dashboard_id}", headers=account.headers, timeout=10).json()
    assert saved["name"] == "checkout health" and saved["widgets"] == WIDGETS
    page.wait_for_selector(".stat-value")


def test_dashboard_draws_each_widget_for_the_range_and_refreshes(tab: Tab, account: Account):
    page, data = tab.page, account.data
    created = requests.post(
        f"{tab.base}/api/v1/dashboards",
        json={"name": "service health", "description": "The ten minutes under test", "widgets": WIDGETS},
        headers=account.headers,
        timeout=10,
    )
    dashboard_id = created.json()["id"]
    tab.open(f"#/dashboards/{dashboard_id}?from={data.window['from']}&to={data.window['to']}")
    page.wait_for_selector(".widget-stat .stat-value")
    page.wait_for_selector(".widget-top_terms .chart canvas")

    timeouts = data.matching("timeout")
    assert page.text_content(".widget-stat .stat-value") == f"{data.average('latency_ms', timeouts):g}"
    assert (
        page.text_content(".widget-stat .stat-caption")
        == f"avg of latency_ms · {len(timeouts)} of {len(timeouts)} events"
    )
    per_minute = page.evaluate(CHART, ".widget-count_over_time .chart")
    assert per_minute["x"] == [(data.t0.timestamp() + 60 * m) for m in range(10)]
    assert per_minute["y"] == data.counts_per(60, data.matching(level="error"))
    top = data.top("service", 3)
    assert page.evaluate(CHART, ".widget-top_terms .chart")["y"] == [count for _, count in top]
    label = ", ".join(f"{name} {count}" for name, count in top)
    assert page.get_attribute(".widget-top_terms .chart", "aria-label") == f"busiest services by value: {label}"
    assert page.text_content("h1") == "service health"
    screenshot(page, "dashboard")

    # Every 10 s: the clock jumps ahead, and the page asks for the data again.
    page.select_option("#refresh-every", "10s")
    page.wait_for_function("() => location.hash.includes('refresh=10s')")
    with page.expect_request("**/api/v1/dashboards/*/data?*"):
        page.clock.fast_forward("00:11")

    tab.open("#/dashboards")
    page.wait_for_selector(f"#dashboards a[href='#/dashboards/{dashboard_id}']")
    screenshot(page, "dashboards")


# -- alerts ---------------------------------------------------------------------------------


def test_alerts_show_state_value_threshold_and_history(tab: Tab, account: Account, stack):
    page = tab.page

    def resolved() -> bool:
        evaluate_alerts(stack)
        rule = account.rules["checkout burst"]
        return (
            requests.get(f"{tab.base}/api/v1/alerts/{rule}", headers=account.headers, timeout=10).json()["state"]
            == "ok"
        )

    wait_for(resolved, timeout_s=40, interval_s=1)
    tab.open("#/alerts")
    page.wait_for_selector("#alerts tbody tr.rule")
    rows = page.eval_on_selector_all(
        "#alerts tbody tr.rule", "rows => rows.map(r => [...r.cells].slice(0, 5).map(c => c.textContent.trim()))"
    )
    assert {row[1]: row for row in rows} == {
        "errors this hour": ["Firing", "errors this hour", str(account.data.errors), "count > 5 in 1h", "level: error"],
        "checkout burst": ["OK", "checkout burst", "0", "count > 5 in 30s", "service: checkout"],
        "never": ["OK", "never", "0", "count > 0 in 5m", "q: nosuchword"],
    }
    assert page.locator("tr.rule-firing .state-firing").count() == 1
    screenshot(page, "alerts")

    inbox = f"email:{account.username}@example.com"
    page.click("text=errors this hour")
    page.wait_for_selector("#timeline .event")
    assert page.text_content("h1") == "errors this hour Firing"
    assert page.locator("#timeline > li.event-open h3").text_content().startswith("Firing since ")
    assert _steps(page) == [f"Opened at {account.data.errors} (> 5 in 1h)", f"Firing notification to {inbox} sent"]

    page.click("text=All alerts")
    page.click("text=checkout burst")
    page.wait_for_selector("#timeline .event-resolved")
    assert _steps(page) == [
        "Opened at 6 (> 5 in 30s)",
        f"Firing notification to {inbox} sent",
        "Resolved at 0",
        f"Resolved notification to {inbox} sent",
    ]
    screenshot(page, "alert-history")


def _steps(page: Any) -> list[str]:
    """The timeline's steps without their times."""
    return page.eval_on_selector_all(
        "#timeline .step",
        "steps => steps.map(s => s.textContent.slice(s.querySelector('time').textContent.length + 1))",
    )


# -- small screens --------------------------------------------------------------------------


def test_every_page_fits_a_phone_screen(chromium: Any, account: Account, signed_in: Tab):
    phone = new_tab(chromium, signed_in.base, PHONE)
    page, data = phone.page, account.data
    try:
        phone.open(f"#/logs?from={data.window['from']}&to={data.window['to']}")
        sign_in(phone, account.username)
        page.wait_for_selector("#hits tbody tr.hit")
        screenshot(page, "logs-phone")
        for view in ("#/logs", "#/dashboards", "#/alerts", "#/dashboards/new"):
            page.evaluate("(f) => { location.hash = f; }", view)
            page.wait_for_selector("main h1")
            page.wait_for_load_state("networkidle")
            width = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], (view, width)
        phone.watch.check()
    finally:
        phone.context.close()
