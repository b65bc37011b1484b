"use strict";

/*
 * The System panel: every few seconds, the broker's readiness (GET /health: each dependency and
 * whether it is ready) and a few numbers from its metrics (GET /metrics: requests per second
 * and the p99 latency of its routes since the previous look). Written with textContent only.
 */

const STATUS_CONFIG = JSON.parse(document.getElementById("app-config").textContent);
const STATUS_PERIOD_MS = 5000;
// Routes that are the panel's own traffic, not the system's.
const OWN_ROUTES = new Set(["health", "metrics"]);
let previous = null;

function brokerSamples(text) {
  /* {calls, buckets: Map(le -> count)} summed over the broker's routes, the panel's excepted. */
  const calls = { total: 0 };
  const buckets = new Map();
  for (const line of text.split("\n")) {
    const match = /^(nameko_entrypoint_calls_total|nameko_entrypoint_duration_seconds_bucket)\{(.*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.service !== "broker" || OWN_ROUTES.has(labels.entrypoint)) continue;
    const value = Number(match[3]);
    if (match[1] === "nameko_entrypoint_calls_total") calls.total += value;
    else buckets.set(labels.le, (buckets.get(labels.le) || 0) + value);
  }
  return { calls: calls.total, buckets, at: performance.now() };
}

function p99Ms(now, before) {
  const bounds = [...now.buckets.keys()].sort((a, b) => Number(a) - Number(b));
  const delta = (le) => now.buckets.get(le) - (before.buckets.get(le) || 0);
  const count = delta("+Inf");
  if (!count) return null;
  const bound = bounds.find((le) => delta(le) >= 0.99 * count);
  return bound === "+Inf" ? Infinity : Number(bound) * 1000;
}

function showChecks(checks) {
  const list = document.querySelector('[data-testid="system-checks"]');
  list.replaceChildren(...Object.entries(checks).map(([name, check]) => {
    const item = document.createElement("li");
    item.dataset.testid = "system-check";
    item.className = check.ready ? "ok" : "failed";
    item.textContent = `${name}: ${check.ready ? "ready" : "NOT READY"} (${check.detail})`;
    return item;
  }));
}

async function refreshStatus() {
  const badge = document.querySelector('[data-testid="system-status"]');
  const numbers = document.querySelector('[data-testid="system-numbers"]');
  try {
    const health = await fetch(`${STATUS_CONFIG.brokerUrl}/health`, { headers: { Accept: "application/json" } });
    const body = await health.json();
    badge.textContent = health.ok ? "ready" : body.message;
    badge.className = `status ${health.ok ? "ok" : "failed"}`;
    showChecks(body.data || {});
    const now = brokerSamples(await (await fetch(`${STATUS_CONFIG.brokerUrl}/metrics`)).text());
    if (previous) {
      const seconds = (now.at - previous.at) / 1000;
      const rate = (now.calls - previous.calls) / seconds;
      const p99 = p99Ms(now, previous);
      const latency = p99 === null ? "no requests" : p99 === Infinity ? "p99 over 30 s" : `p99 under ${p99} ms`;
      numbers.textContent = `broker: ${rate.toFixed(1)} requests/s, ${latency} (last ${seconds.toFixed(0)} s)`;
    }
    previous = now;
  } catch (error) {
    badge.textContent = "broker unreachable";
    badge.className = "status failed";
    numbers.textContent = `could not ask the broker: ${error.message}`;
  }
}

refreshStatus();
setInterval(refreshStatus, STATUS_PERIOD_MS);
