"""Drives the log dashboard in headless Chromium through a plan of steps; prints what it saw.

A separate, plain Python process, like page_driver.py (Playwright's sync API hangs under
eventlet). The tests keep the assertions; this script performs the steps read from stdin and
writes one JSON document to stdout:

    plan   = {"url", "broker_url", "artifacts", "name", "timeout_ms", "steps": [step]}
    step   = {"do": "sign_in", "email", "password", "expect": "logs" | "signin"}
           | {"do": "fill" | "select", "values": {testid: value}}
           | {"do": "click", "testid"}              a click; nothing waited for
           | {"do": "click_list", "testid"}         a click, then the list's next load
           | {"do": "click_settle", "testid"}       ... or the return to sign-in
           | {"do": "wait_rows", "texts": [...]}    Refresh until rows hold every text
           | {"do": "wait_view", "view"}            signin | logs
           | {"do": "wait_loads", "at_least"}       the list has loaded that many times
           | {"do": "wait_more_loads", "count"}     ... that many more times from now
           | {"do": "open_entry", "id"} | {"do": "close_entry"}
           | {"do": "tamper_session", "access_token", "refresh_token"}   (None: kept)
           | {"do": "reload"} | {"do": "sleep", "ms"}
           | {"do": "snapshot", "name"} | {"do": "screenshot", "name"} | {"do": "phone", "name"}
    result = {"snapshots": {name: snapshot}, "requests": [{"method", "url", "auth", "at"}],
              "phone": {name: {"scrollWidth", "viewportWidth"}}, "simulated_401": int,
              "retries": [the status of a failed load tried again],
              "console_errors": [...], "page_errors": [...]}

`tamper_session` replaces the stored tokens. A broker that checks tokens refuses them with a
401; one that does not yet (before issue 10's tokens) is made to, here: a request carrying the
tampered token is answered 401 by the driver (counted in `simulated_401`), so the page's
handling of a refused token is tested either way.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, sync_playwright

sys.path.insert(0, str(Path(__file__).parent))
from page_driver import CHROMIUM, CHROMIUM_ARGS, LAPTOP, PHONE, by_test_id

SNAPSHOT = """() => {
  const t = (id) => document.querySelector(`[data-testid="${id}"]`);
  const rows = [...document.querySelectorAll('[data-testid="log-row"]')].map((row) => ({
    id: row.dataset.id,
    ...Object.fromEntries(
      [...row.querySelectorAll("td")].map((td) => [td.dataset.field, td.textContent]),
    ),
  }));
  const fields = Object.fromEntries(
    [...document.querySelectorAll('[data-testid="entry-fields"] dd')].map(
      (dd) => [dd.dataset.field, dd.textContent],
    ),
  );
  return {
    view: document.body.dataset.view,
    rows,
    empty: document.querySelector('[data-testid="entries-body"] td.empty')?.textContent ?? null,
    signin_message: t("signin-message").textContent,
    signin_message_class: t("signin-message").className,
    user_email: t("user-email").textContent,
    list_title: t("list-title").textContent,
    list_status: t("list-status").textContent,
    list_note: t("list-note").textContent,
    page_label: t("page-label").textContent,
    older_disabled: t("btn-older").disabled,
    newer_disabled: t("btn-newer").disabled,
    paused: t("btn-pause").getAttribute("aria-pressed") === "true",
    loads: Number(t("entries").dataset.loads),
    list_state: t("entries").dataset.state,
    session: JSON.parse(sessionStorage.getItem("nameko.session")),
    cookies: document.cookie,
    dialog_open: t("entry-dialog").open,
    entry_status: t("entry-status").textContent,
    entry_fields: fields,
    entry_data: t("entry-data").textContent,
  };
}"""

LIST_LOADED = """before => {
  const table = document.querySelector('[data-testid="entries"]');
  return Number(table.dataset.loads) > before && table.dataset.state !== "loading";
}"""


class Driver:
    def __init__(self, page: Page, plan: dict[str, Any], result: dict[str, Any]) -> None:
        self.page = page
        self.plan = plan
        self.result = result
        self.timeout = plan.get("timeout_ms", 20_000)
        self.artifacts = Path(plan["artifacts"])
        self.tampered: str | None = None

    def loads(self) -> int:
        return int(self.page.get_attribute(by_test_id("entries"), "data-loads") or 0)

    def wait_next_load(self, before: int) -> None:
        self.page.wait_for_function(LIST_LOADED, arg=before, timeout=self.timeout)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.artifacts / f"dashboard-{name}.png"), full_page=True)

    def run(self, step: dict[str, Any]) -> None:
        getattr(self, "do_" + step["do"])(step)

    def do_sign_in(self, step: dict[str, Any]) -> None:
        self.page.fill(by_test_id("signin-email"), step["email"])
        self.page.fill(by_test_id("signin-password"), step["password"])
        before = self.loads()
        self.page.click(by_test_id("btn-signin"))
        if step["expect"] == "logs":
            self.page.wait_for_function(
                "() => document.body.dataset.view === 'logs'", timeout=self.timeout
            )
            self.wait_next_load(before)
        else:
            self.page.locator(f"{by_test_id('signin-message')}.failed").wait_for(
                timeout=self.timeout
            )

    def do_fill(self, step: dict[str, Any]) -> None:
        for test_id, value in step["values"].items():
            self.page.fill(by_test_id(test_id), value)

    def do_select(self, step: dict[str, Any]) -> None:
        for test_id, value in step["values"].items():
            self.page.select_option(by_test_id(test_id), value)

    def do_click(self, step: dict[str, Any]) -> None:
        self.page.click(by_test_id(step["testid"]))

    def do_click_list(self, step: dict[str, Any]) -> None:
        before = self.loads()
        self.page.click(by_test_id(step["testid"]))
        self.wait_next_load(before)
        self.retry_a_failed_load()

    def retry_a_failed_load(self) -> None:
        """A load that failed (on a machine this busy, the logger's MongoDB deadline can pass)
        is tried again once, with Refresh, as a user would; the failure is kept in `retries`."""
        if self.page.get_attribute(by_test_id("entries"), "data-state") != "error":
            return
        status = self.page.inner_text(by_test_id("list-status"))
        if "HTTP 4" in status:  # the request's own fault: asking again changes nothing
            return
        self.result["retries"].append(status)
        before = self.loads()
        self.page.click(by_test_id("btn-refresh"))
        self.wait_next_load(before)

    def do_click_settle(self, step: dict[str, Any]) -> None:
        """A click, then the list's next load or the return to sign-in, whichever comes."""
        before = self.loads()
        self.page.click(by_test_id(step["testid"]))
        self.page.wait_for_function(
            f"before => document.body.dataset.view === 'signin' || ({LIST_LOADED})(before)",
            arg=before,
            timeout=self.timeout,
        )

    def do_wait_rows(self, step: dict[str, Any]) -> None:
        """RabbitMQ's entries are stored a moment later, by the listener: Refresh until seen."""
        deadline = time.monotonic() + self.timeout / 1000
        while True:
            shown = self.page.inner_text(by_test_id("entries-body"))
            if all(text in shown for text in step["texts"]) or time.monotonic() > deadline:
                return
            self.do_click_list({"testid": "btn-refresh"})
            self.page.wait_for_timeout(300)

    def do_wait_view(self, step: dict[str, Any]) -> None:
        self.page.wait_for_function(
            "view => document.body.dataset.view === view", arg=step["view"], timeout=self.timeout
        )

    def do_wait_loads(self, step: dict[str, Any]) -> None:
        self.page.wait_for_function(
            "n => Number(document.querySelector('[data-testid=\"entries\"]').dataset.loads) >= n",
            arg=step["at_least"],
            timeout=self.timeout,
        )

    def do_wait_more_loads(self, step: dict[str, Any]) -> None:
        self.do_wait_loads({"at_least": self.loads() + step["count"]})

    def do_open_entry(self, step: dict[str, Any]) -> None:
        row = self.page.locator(f'[data-testid="log-row"][data-id="{step["id"]}"]')
        row.locator(by_test_id("open-entry")).click()
        self.page.wait_for_function(
            "() => ['ready', 'error'].includes("
            "document.querySelector('[data-testid=\"entry-dialog\"]').dataset.state)",
            timeout=self.timeout,
        )

    def do_close_entry(self, step: dict[str, Any]) -> None:
        self.page.click(by_test_id("btn-close-entry"))

    def do_tamper_session(self, step: dict[str, Any]) -> None:
        self.tampered = step["access_token"]
        self.page.evaluate(
            """([access, refresh]) => {
              const session = JSON.parse(sessionStorage.getItem("nameko.session"));
              session.accessToken = access;
              session.refreshToken = refresh ?? session.refreshToken;
              sessionStorage.setItem("nameko.session", JSON.stringify(session));
            }""",
            [step["access_token"], step["refresh_token"]],
        )

    def do_reload(self, step: dict[str, Any]) -> None:
        self.page.reload(wait_until="load")

    def do_sleep(self, step: dict[str, Any]) -> None:
        self.page.wait_for_timeout(step["ms"])

    def do_snapshot(self, step: dict[str, Any]) -> None:
        # Auto-refresh (every 5 s) may have started a load since the step before: read the
        # view once that load has ended, not halfway through it.
        self.page.wait_for_function(
            "() => document.body.dataset.view !== 'logs' ||"
            " document.querySelector('[data-testid=\"entries\"]').dataset.state !== 'loading'",
            timeout=self.timeout,
        )
        self.result["snapshots"][step["name"]] = self.page.evaluate(SNAPSHOT)

    def do_screenshot(self, step: dict[str, Any]) -> None:
        self.shot(step["name"])

    def do_phone(self, step: dict[str, Any]) -> None:
        self.page.set_viewport_size(PHONE)
        self.page.wait_for_timeout(100)
        self.result["phone"][step["name"]] = self.page.evaluate(
            "() => ({scrollWidth: document.documentElement.scrollWidth,"
            " viewportWidth: window.innerWidth})"
        )
        self.shot(f"{step['name']}-phone")
        self.page.set_viewport_size(LAPTOP)

    def refuse_tampered(self, route: Route) -> None:
        """Requests to the broker: a tampered token gets a 401, from the broker or from here."""
        request = route.request
        if self.tampered is None or request.headers.get("authorization") != (
            f"Bearer {self.tampered}"
        ):
            route.continue_()
            return
        response = route.fetch()
        if response.status == 401:
            route.fulfill(response=response)
            return
        self.result["simulated_401"] += 1
        origin = urlsplit(self.plan["url"])
        route.fulfill(
            status=401,
            headers={
                "Content-Type": "application/json",
                "WWW-Authenticate": "Bearer",
                "Access-Control-Allow-Origin": f"{origin.scheme}://{origin.netloc}",
            },
            body=json.dumps({"error": True, "message": "invalid token"}),
        )


def record_request(result: dict[str, Any], started: float, request: Any) -> None:
    result["requests"].append(
        {
            "method": request.method,
            "url": request.url,
            "auth": request.headers.get("authorization"),
            "at": round(time.monotonic() - started, 3),
        }
    )


def drive(plan: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "snapshots": {},
        "requests": [],
        "phone": {},
        "simulated_401": 0,
        "retries": [],
        "console_errors": [],
        "page_errors": [],
    }
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=LAPTOP, timezone_id="UTC")
            page = context.new_page()
            driver = Driver(page, plan, result)
            page.on("request", lambda request: record_request(result, started, request))
            page.on("pageerror", lambda error: result["page_errors"].append(str(error)))
            page.on(
                "console",
                lambda message: (
                    message.type == "error" and result["console_errors"].append(message.text)
                ),
            )
            broker = urlsplit(plan["broker_url"])
            page.route(f"{broker.scheme}://{broker.netloc}/**", driver.refuse_tampered)
            page.goto(plan["url"], wait_until="load")
            page.wait_for_function("() => document.body.dataset.view !== 'loading'")
            for step in plan["steps"]:
                driver.run(step)
        finally:
            browser.close()
    return result


if __name__ == "__main__":
    json.dump(drive(json.load(sys.stdin)), sys.stdout)
