"use strict";

/*
 * The test page: each button sends one request from this browser to the broker and shows
 * exactly what went out (Sent), what came back (Received), and a running Output log with the
 * start and end times, the duration and the HTTP status. Failures are shown, never swallowed.
 * Everything is written with textContent: nothing received is ever parsed as HTML.
 */

const CONFIG = JSON.parse(document.getElementById("app-config").textContent);
const REQUEST_TIMEOUT_MS = 15000;
const LOGS_LIMIT = 10;
// A log sent through RabbitMQ is stored later, by the listener: after a log button the list is
// reloaded at these delays until the new entry shows up.
const LOG_RELOAD_DELAYS_MS = [0, 250, 500, 1000, 2000, 4000];

const byTestId = (testId) => document.querySelector(`[data-testid="${testId}"]`);
const field = (testId) => byTestId(testId).value;

function logEntry() {
  return { name: field("log-name"), data: field("log-data") };
}

function mailMessage() {
  const mail = { to: field("mail-to"), subject: field("mail-subject"), message: field("mail-message") };
  // An empty sender is left out so that the mailer's configured default applies.
  return field("mail-from") ? { from: field("mail-from"), ...mail } : mail;
}

const ACTIONS = {
  broker: { label: "Test Broker", path: "/", body: () => null },
  auth: {
    label: "Test Auth",
    path: "/handle",
    body: () => ({ action: "auth", auth: { email: field("auth-email"), password: field("auth-password") } }),
  },
  "log-rabbit": {
    label: "Test Log via RabbitMQ",
    path: "/log-rabbit",
    body: () => ({ action: "log", log: { ...logEntry(), level: field("log-level") } }),
    logs: true,
  },
  "log-rpc": {
    label: "Test Log via RPC",
    path: "/log-rpc",
    body: () => ({ action: "log", log: logEntry() }),
    logs: true,
  },
  "log-grpc": {
    label: "Test Log via gRPC",
    path: "/log-grpc",
    body: () => ({ action: "log", log: logEntry() }),
    logs: true,
  },
  mail: { label: "Test Mail", path: "/handle", body: () => ({ action: "mail", mail: mailMessage() }) },
};

function clock(date) {
  const pad = (number, width = 2) => String(number).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function parseBody(text) {
  if (text === "") return { json: false, value: "(empty body)" };
  try {
    return { json: true, value: JSON.parse(text) };
  } catch {
    return { json: false, value: text };
  }
}

/* One HTTP exchange with the broker. Resolves to {status, statusText, body} or {failure}. */
async function callBroker(method, path, bodyText) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  const init = { method, signal: controller.signal, headers: { Accept: "application/json" } };
  if (bodyText !== null) {
    init.body = bodyText;
    init.headers["Content-Type"] = "application/json";
  }
  try {
    const response = await fetch(CONFIG.brokerUrl + path, init);
    const body = parseBody(await response.text());
    return { status: response.status, statusText: response.statusText, body };
  } catch (error) {
    const failure = error.name === "AbortError"
      ? `no answer from the broker within ${REQUEST_TIMEOUT_MS / 1000} s`
      : `could not reach the broker at ${CONFIG.brokerUrl} (${error.message}): is it running,`
        + ` and does it allow this page's origin (CORS)?`;
    return { failure };
  } finally {
    clearTimeout(timer);
  }
}

function isSuccess(result) {
  return result.status >= 200 && result.status < 300 && !(result.body.json && result.body.value?.error);
}

function describe(result) {
  if (result.failure) return result.failure;
  const { json, value } = result.body;
  return json && typeof value?.message === "string" ? value.message : String(value).slice(0, 200);
}

function setStatus(element, text, ok) {
  element.textContent = text;
  element.classList.toggle("ok", ok === true);
  element.classList.toggle("failed", ok === false);
}

function showSent(path, bodyText) {
  byTestId("sent-request").textContent = `POST ${CONFIG.brokerUrl}${path}`;
  byTestId("sent").textContent = bodyText === null
    ? "(no body)"
    : JSON.stringify(JSON.parse(bodyText), null, 2);
}

function showReceived(result) {
  const received = byTestId("received");
  if (result === null) {
    received.textContent = "Waiting for the answer…";
    setStatus(byTestId("received-status"), "pending", null);
    return;
  }
  if (result.failure) {
    received.textContent = `(no response)\n${result.failure}`;
    setStatus(byTestId("received-status"), "network error", false);
    return;
  }
  const { json, value } = result.body;
  received.textContent = json ? JSON.stringify(value, null, 2) : value;
  setStatus(byTestId("received-status"), `${result.status} ${result.statusText}`.trim(), isSuccess(result));
}

function appendOutput(label, path, started, ended, result) {
  const output = byTestId("output");
  const item = document.createElement("li");
  item.className = isSuccess(result) ? "ok" : "failed";
  item.dataset.testid = "output-entry";
  const status = result.failure ? "network error" : `HTTP ${result.status} ${result.statusText}`.trim();
  const lines = [
    `${clock(started)}  ${label}: POST ${CONFIG.brokerUrl}${path}`,
    `${clock(ended)}  ${status} in ${ended - started} ms: ${describe(result)}`,
  ];
  for (const line of lines) {
    const span = document.createElement("span");
    span.textContent = line;
    item.append(span);
  }
  output.append(item);
  output.dataset.completed = String(Number(output.dataset.completed) + 1);
  output.scrollTop = output.scrollHeight; // the newest entry in view, without moving the page
}

function setBusy(busy) {
  document.body.dataset.busy = String(busy);
  for (const button of document.querySelectorAll("button[data-action]")) button.disabled = busy;
}

async function run(actionName) {
  const action = ACTIONS[actionName];
  const body = action.body();
  const bodyText = body === null ? null : JSON.stringify(body);
  showSent(action.path, bodyText);
  showReceived(null);
  setBusy(true);
  const started = new Date();
  const result = await callBroker("POST", action.path, bodyText);
  const ended = new Date();
  showReceived(result);
  appendOutput(action.label, action.path, started, ended, result);
  setBusy(false);
  // A sign-in here signs this tab in for the log list (and the dashboard): see session.js.
  if (actionName === "auth" && isSuccess(result)) BrokerSession.adopt(result.body.value.data);
  if (action.logs && isSuccess(result)) await reloadLogsUntil(body.log);
}

/* ---- The newest stored log entries (GET /logs) ---- */

let logsGeneration = 0;

function formatTime(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value ?? "") : date.toLocaleString();
}

function renderLogs(entries, emptyText = "No log entries stored yet.") {
  const rows = entries.map((entry) => {
    const row = document.createElement("tr");
    row.dataset.testid = "log-row";
    const created = formatTime(entry.created_at);
    for (const [text, title] of [[created, String(entry.created_at ?? "")], [entry.name, ""], [entry.data, ""]]) {
      const cell = document.createElement("td");
      cell.textContent = text ?? "";
      if (title) cell.title = title;
      row.append(cell);
    }
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 3;
    cell.className = "empty";
    cell.textContent = emptyText;
    row.append(cell);
    rows.push(row);
  }
  byTestId("logs-body").replaceChildren(...rows);
}

/* Loads the list once; resolves to the entries, or null when it could not be loaded. */
async function loadLogs() {
  const generation = ++logsGeneration;
  // With this tab's token, if it has one (the list needs a signed-in user once tokens exist).
  const result = await BrokerSession.call("GET", `/logs?limit=${LOGS_LIMIT}`);
  if (generation !== logsGeneration) return null; // a newer reload has started: it wins
  const status = byTestId("logs-status");
  if (result.expired || result.status === 401) {
    renderLogs([], "Not signed in.");
    setStatus(status, "Sign in (Test Auth, or the log dashboard) to list the stored entries.", false);
    return null;
  }
  if (!isSuccess(result)) {
    const code = result.failure ? "" : `HTTP ${result.status}: `;
    setStatus(status, `Could not load the log entries: ${code}${describe(result)}`, false);
    return null;
  }
  const entries = Array.isArray(result.body.value.data?.entries) ? result.body.value.data.entries : [];
  renderLogs(entries);
  setStatus(status, `${entries.length} shown, loaded at ${clock(new Date())}`, true);
  return entries;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function reloadLogsUntil(sent) {
  for (const delay of LOG_RELOAD_DELAYS_MS) {
    await sleep(delay);
    const entries = await loadLogs();
    if (entries === null) return;
    if (entries.some((entry) => entry.name === sent.name && entry.data === sent.data)) return;
  }
  setStatus(byTestId("logs-status"), "The new entry is not listed yet; press Refresh in a moment.", false);
}

/* ---- Wiring ---- */

for (const button of document.querySelectorAll("button[data-action]")) {
  button.addEventListener("click", () => run(button.dataset.action));
}
byTestId("btn-refresh-logs").addEventListener("click", () => loadLogs());
byTestId("btn-clear-output").addEventListener("click", () => byTestId("output").replaceChildren());
loadLogs();
