"""Drives the test page in headless Chromium and reports what the page showed, as JSON.

Run as a separate, plain Python process by the browser tests: Playwright's sync API hangs in a
process that eventlet has monkey-patched (as pytest's is, for Nameko). The tests keep the
assertions; this script only performs the steps of a plan read from stdin and writes one JSON
document to stdout:

    plan   = {"url", "screenshot", "phone_screenshot", "timeout_ms",
              "steps": [{"name", "fill": {testid: value}, "click": testid, "wait_for_log": text}]}
    result = {"initial": snapshot, "steps": {name: snapshot}, "requests": [url],
              "console_errors": [text], "page_errors": [text], "phone": {...}}

Chromium is Debian's (`apt-get install chromium`); Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from playwright.sync_api import ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Debian's package; CHROMIUM_PATH points elsewhere on a machine that has it somewhere else.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

SNAPSHOT_FIELDS = {
    "sent_request": "sent-request",
    "sent": "sent",
    "received": "received",
    "received_status": "received-status",
    "logs": "logs-body",
    "logs_status": "logs-status",
    "system_status": "system-status",
    "system_checks": "system-checks",
    "system_numbers": "system-numbers",
}


def by_test_id(test_id: str) -> str:
    return f'[data-testid="{test_id}"]'


def snapshot(page: Page) -> dict[str, Any]:
    """The visible text of every panel, the newest Output entry and the mail catcher link."""
    shot = {key: page.inner_text(by_test_id(test_id)) for key, test_id in SNAPSHOT_FIELDS.items()}
    shot["mail_ui_href"] = page.get_attribute(by_test_id("mail-ui-link"), "href")
    entries = page.locator(by_test_id("output-entry"))
    shot["output"] = entries.last.inner_text() if entries.count() else ""
    shot["output_class"] = entries.last.get_attribute("class") if entries.count() else ""
    return shot


def record_console_error(result: dict[str, Any], message: ConsoleMessage) -> None:
    if message.type == "error":
        result["console_errors"].append(message.text)


def completed_requests(page: Page) -> int:
    return int(page.get_attribute(by_test_id("output"), "data-completed") or 0)


def run_step(page: Page, step: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
    for test_id, value in step.get("fill", {}).items():
        page.fill(by_test_id(test_id), value)
    before = completed_requests(page)
    page.click(by_test_id(step["click"]))
    # app.js counts finished requests on the Output panel: wait for this one to be written.
    page.wait_for_function(
        "count => Number(document.querySelector('[data-testid=output]').dataset.completed) > count",
        arg=before,
        timeout=timeout_ms,
    )
    shown = None
    if step.get("wait_for_log"):
        rows = page.locator(by_test_id("log-row")).filter(has_text=step["wait_for_log"])
        try:
            rows.first.wait_for(timeout=timeout_ms)
            shown = True
        except PlaywrightTimeout:
            shown = False
    return {**snapshot(page), "log_shown": shown}


def drive(plan: dict[str, Any]) -> dict[str, Any]:
    timeout_ms = plan.get("timeout_ms", 15_000)
    result: dict[str, Any] = {"requests": [], "console_errors": [], "page_errors": [], "steps": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=LAPTOP)
            page.on("request", lambda request: result["requests"].append(request.url))
            page.on("pageerror", lambda error: result["page_errors"].append(str(error)))
            page.on("console", lambda message: record_console_error(result, message))
            page.goto(plan["url"], wait_until="load")
            # The first load of the log list has finished (the status is hidden while empty).
            page.locator(by_test_id("logs-status")).wait_for(state="visible", timeout=timeout_ms)
            # The System panel's first look at the broker has finished (ready or not).
            page.locator(by_test_id("system-status")).wait_for(state="visible", timeout=timeout_ms)
            result["initial"] = snapshot(page)
            for step in plan["steps"]:
                result["steps"][step["name"]] = run_step(page, step, timeout_ms)
            # The panel shows traffic from its second look at the broker on (every 5 s): the
            # steps may all be done before that.
            with contextlib.suppress(PlaywrightTimeout):  # the test says what it showed
                page.wait_for_function(
                    "() => document.querySelector('[data-testid=system-numbers]')"
                    ".innerText.includes('requests/s')",
                    timeout=timeout_ms,
                )
            result["system_numbers"] = page.inner_text(by_test_id("system-numbers"))
            page.screenshot(path=plan["screenshot"], full_page=True)
            page.set_viewport_size(PHONE)
            result["phone"] = page.evaluate(
                "() => ({scrollWidth: document.documentElement.scrollWidth,"
                " viewportWidth: window.innerWidth})"
            )
            page.screenshot(path=plan["phone_screenshot"], full_page=True)
        finally:
            browser.close()
    return result


if __name__ == "__main__":
    json.dump(drive(json.load(sys.stdin)), sys.stdout)
