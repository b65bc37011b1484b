"use strict";

/*
 * The log dashboard: sign in through the broker, then the stored log entries newest first,
 * filtered (level, name, a time range, a search over data) and paged by the broker's keyset
 * cursors (`next`: older, `prev`: newer; never an offset), one entry's details from
 * `GET /logs/{id}`, an auto-refresh that can be paused, and sign-out. The session (and its
 * token) is session.js's. Everything received is written with textContent, never as HTML.
 */

const PAGE_SIZE = 20;
const AUTO_REFRESH_MS = 5000;
// A search answers what it found within the logger's time budget (a short page, even an empty
// one) and a cursor that goes on: the page asks again, within these bounds, to fill a page.
const FILL_BUDGET_MS = 3000;
const FILL_MAX_CALLS = 10;

const byTestId = (testId) => document.querySelector(`[data-testid="${testId}"]`);

const state = {
  filters: {},
  cursor: null, // null: the newest page
  direction: "older",
  depth: 0, // pages away from the newest
  page: { entries: [], next: null, prev: null },
  shownQuery: null, // the filters and cursor the rows shown answer
  paused: false,
  generation: 0,
  timer: null,
};

/* ---- Views ---- */

function showSignIn(message = "", kind = "") {
  stopAutoRefresh();
  closeEntry();
  document.body.dataset.view = "signin";
  byTestId("signin").hidden = false;
  byTestId("logs-view").hidden = true;
  const notice = byTestId("signin-message");
  notice.textContent = message;
  notice.className = `notice ${kind}`.trim();
  byTestId("signin-password").value = "";
  byTestId("signin-email").focus();
}

function showLogs(session) {
  document.body.dataset.view = "logs";
  byTestId("signin").hidden = true;
  byTestId("logs-view").hidden = false;
  byTestId("user-email").textContent = session.user?.email ?? "(unknown user)";
  goNewest();
  startAutoRefresh();
}

function sessionEnded(result) {
  showSignIn(`Your session has ended (${BrokerSession.message(result)}). Please sign in again.`, "failed");
}

/* ---- Sign-in and sign-out ---- */

async function signIn(event) {
  event.preventDefault();
  const button = byTestId("btn-signin");
  const notice = byTestId("signin-message");
  button.disabled = true;
  notice.textContent = "Signing in…";
  notice.className = "notice";
  const result = await BrokerSession.signIn(byTestId("signin-email").value, byTestId("signin-password").value);
  button.disabled = false;
  if (result.session) {
    showLogs(result.session);
    return;
  }
  const retry = result.headers?.get("Retry-After");
  const status = result.failure ? "" : ` (HTTP ${result.status})`;
  const wait = retry ? ` Try again in ${retry} s.` : "";
  notice.textContent = `Sign-in failed: ${BrokerSession.message(result)}${status}.${wait}`;
  notice.className = "notice failed";
}

async function signOut() {
  await BrokerSession.signOut();
  showSignIn("Signed out.", "ok");
}

/* ---- The listing ---- */

function formatTime(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value ?? "") : date.toLocaleString();
}

function listPath(cursor, limit) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filters)) if (value) params.set(key, value);
  if (cursor) params.set("cursor", cursor);
  params.set("limit", String(limit));
  return `/logs?${params}`;
}

/*
 * One page from the broker, filled up when a search stopped short: further calls follow the
 * cursor that continues the travel, and their entries join the page on that side.
 * Resolves to {page, complete} or {result} (the failed call).
 */
async function fetchPage(cursor, direction) {
  const started = Date.now();
  let page = null;
  for (let calls = 0; ; calls += 1) {
    const onward = page === null ? cursor : direction === "older" ? page.next : page.prev;
    const limit = PAGE_SIZE - (page?.entries.length ?? 0);
    const result = await BrokerSession.call("GET", listPath(onward, limit));
    if (!BrokerSession.succeeded(result)) return { result };
    const answer = result.body.value.data ?? { entries: [], next: null, prev: null };
    if (page === null) {
      page = answer;
    } else if (direction === "older") {
      page = { entries: [...page.entries, ...answer.entries], next: answer.next, prev: page.prev };
    } else {
      page = { entries: [...answer.entries, ...page.entries], next: page.next, prev: answer.prev };
    }
    const more = direction === "older" ? page.next : page.prev;
    const full = page.entries.length >= PAGE_SIZE;
    if (full || !more || calls + 1 >= FILL_MAX_CALLS || Date.now() - started > FILL_BUDGET_MS) {
      return { page, complete: full || !more };
    }
  }
}

async function load() {
  const generation = ++state.generation;
  const table = byTestId("entries");
  const query = JSON.stringify([state.filters, state.cursor]);
  table.dataset.state = "loading";
  const outcome = await fetchPage(state.cursor, state.direction);
  if (generation !== state.generation) return; // a newer load has started: it wins
  if (outcome.result) {
    if (outcome.result.expired) {
      sessionEnded(outcome.result);
      return;
    }
    table.dataset.state = "error";
    if (query !== state.shownQuery) {
      // The rows shown answer another query: they must not pass for this one's.
      state.page = { entries: [], next: null, prev: null };
      byTestId("entries-body").replaceChildren();
      state.shownQuery = null;
    }
    const status = outcome.result.failure ? "" : `HTTP ${outcome.result.status}: `;
    setStatus(`Could not load the entries: ${status}${BrokerSession.message(outcome.result)}`, false);
  } else {
    state.page = outcome.page;
    state.shownQuery = query;
    render(outcome);
    table.dataset.state = "ready";
  }
  table.dataset.loads = String(Number(table.dataset.loads) + 1);
}

function setStatus(text, ok) {
  const status = byTestId("list-status");
  status.textContent = text;
  status.classList.toggle("ok", ok === true);
  status.classList.toggle("failed", ok === false);
}

function cell(text, className, field) {
  const td = document.createElement("td");
  td.className = className;
  td.dataset.field = field;
  td.textContent = text ?? "";
  return td;
}

function entryRow(entry) {
  const row = document.createElement("tr");
  row.dataset.testid = "log-row";
  row.dataset.id = entry.id;
  const time = document.createElement("td");
  time.dataset.field = "created_at";
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  open.dataset.testid = "open-entry";
  open.textContent = formatTime(entry.created_at);
  open.title = `${entry.created_at}: show this entry`;
  open.addEventListener("click", () => openEntry(entry.id));
  time.append(open);
  const level = cell(entry.level ?? "–", `level level-${entry.level ?? "none"}`, "level");
  row.append(time, level, cell(entry.name, "name", "name"), cell(entry.data, "data", "data"));
  return row;
}

function render({ page, complete }) {
  const rows = page.entries.map(entryRow);
  if (rows.length === 0) {
    const row = document.createElement("tr");
    const empty = cell(complete ? "No entries match." : "Nothing found yet.", "empty", "empty");
    empty.colSpan = 4;
    row.append(empty);
    rows.push(row);
  }
  byTestId("entries-body").replaceChildren(...rows);
  const filtered = Object.values(state.filters).some(Boolean);
  byTestId("list-title").textContent = filtered ? "Matching entries" : "Newest entries";
  byTestId("page-label").textContent = state.cursor === null ? "Newest page" : `Page ${state.depth + 1}`;
  byTestId("btn-older").disabled = !page.next;
  byTestId("btn-newer").disabled = !page.prev;
  byTestId("btn-newest").disabled = state.cursor === null;
  byTestId("list-note").textContent = complete
    ? ""
    : "The search stopped after its time budget: Older goes on searching older entries.";
  const clock = new Date().toLocaleTimeString();
  setStatus(`${page.entries.length} shown, updated ${clock}`, true);
}

function goNewest() {
  state.cursor = null;
  state.direction = "older";
  state.depth = 0;
  load();
}

function goOlder() {
  if (!state.page.next) return;
  state.cursor = state.page.next;
  state.direction = "older";
  state.depth += 1;
  load();
}

function goNewer() {
  if (!state.page.prev) return;
  state.cursor = state.page.prev;
  state.direction = "newer";
  state.depth = Math.max(0, state.depth - 1);
  load();
}

/* ---- Filters ---- */

function isoFromLocal(value) {
  if (!value) return "";
  const date = new Date(value); // datetime-local: the browser's time zone
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

function applyFilters(event) {
  event?.preventDefault();
  state.filters = {
    level: byTestId("filter-level").value,
    name: byTestId("filter-name").value.trim(),
    q: byTestId("filter-q").value,
    since: isoFromLocal(byTestId("filter-since").value),
    until: isoFromLocal(byTestId("filter-until").value),
  };
  goNewest();
}

function resetFilters() {
  byTestId("filters").reset();
  applyFilters();
}

/* ---- Auto-refresh ---- */

function startAutoRefresh() {
  stopAutoRefresh();
  if (state.paused) return;
  state.timer = setInterval(() => {
    if (!document.hidden && byTestId("entries").dataset.state !== "loading") load();
  }, AUTO_REFRESH_MS);
}

function stopAutoRefresh() {
  clearInterval(state.timer);
  state.timer = null;
}

function togglePause() {
  state.paused = !state.paused;
  const button = byTestId("btn-pause");
  button.textContent = state.paused ? "Resume auto-refresh" : "Pause auto-refresh";
  button.setAttribute("aria-pressed", String(state.paused));
  if (state.paused) {
    stopAutoRefresh();
  } else {
    load();
    startAutoRefresh();
  }
}

/* ---- One entry ---- */

async function openEntry(id) {
  const dialog = byTestId("entry-dialog");
  const status = byTestId("entry-status");
  byTestId("entry-fields").replaceChildren();
  byTestId("entry-data").textContent = "";
  status.textContent = "Loading…";
  status.className = "status";
  dialog.dataset.state = "loading";
  if (!dialog.open) dialog.showModal();
  const result = await BrokerSession.call("GET", `/logs/${encodeURIComponent(id)}`);
  if (result.expired) {
    sessionEnded(result);
    return;
  }
  if (!BrokerSession.succeeded(result)) {
    const gone = result.status === 404 ? "This entry is not stored (any more)." : BrokerSession.message(result);
    status.textContent = gone;
    status.className = "status failed";
    dialog.dataset.state = "error";
    return;
  }
  const entry = result.body.value.data;
  status.textContent = "";
  const fields = [];
  for (const key of ["id", "level", "name", "created_at", "updated_at", "request_id"]) {
    if (entry[key] === undefined) continue;
    const term = document.createElement("dt");
    term.textContent = key;
    const value = document.createElement("dd");
    value.dataset.field = key;
    value.textContent = String(entry[key]);
    fields.push(term, value);
  }
  byTestId("entry-fields").replaceChildren(...fields);
  byTestId("entry-data").textContent = entry.data;
  dialog.dataset.state = "ready";
}

function closeEntry() {
  const dialog = byTestId("entry-dialog");
  if (dialog.open) dialog.close();
}

/* ---- Wiring ---- */

byTestId("signin-form").addEventListener("submit", signIn);
byTestId("btn-signout").addEventListener("click", signOut);
byTestId("filters").addEventListener("submit", applyFilters);
byTestId("btn-reset").addEventListener("click", resetFilters);
byTestId("btn-refresh").addEventListener("click", () => load());
byTestId("btn-pause").addEventListener("click", togglePause);
byTestId("btn-older").addEventListener("click", goOlder);
byTestId("btn-newer").addEventListener("click", goNewer);
byTestId("btn-newest").addEventListener("click", goNewest);
byTestId("btn-close-entry").addEventListener("click", closeEntry);

const existing = BrokerSession.load();
if (existing) {
  showLogs(existing);
} else {
  showSignIn();
}
