"use strict";

/*
 * The signed-in session, shared by the log dashboard and the test page (one browser tab).
 *
 * A sign-in goes through the broker (`POST /handle`, action auth). Its answer carries the user
 * and, when the broker issues tokens, `access_token`, `expires_in` and `refresh_token`. They are
 * kept in this tab's sessionStorage, never in a cookie: other tabs and other origins never see
 * them, and closing the tab forgets them. Calls send `Authorization: Bearer <access token>`;
 * a 401 is answered by one refresh (`POST /auth/refresh`, rotating the refresh token) and one
 * retry, and when that fails too the session is over: it is forgotten and the caller is told
 * (`expired`), so the page can ask for a new sign-in. A broker that issues no token (before
 * issue 10) gives a session without one: calls go out without the header.
 */

const BrokerSession = (() => {
  const STORAGE_KEY = "nameko.session";
  const REQUEST_TIMEOUT_MS = 15000;
  // Refresh this long before the access token expires rather than wait for a 401.
  const REFRESH_MARGIN_MS = 30000;
  const config = JSON.parse(document.getElementById("app-config").textContent);
  let refreshing = null; // the refresh in flight: refresh tokens rotate, so only one at a time

  function load() {
    try {
      const session = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
      return session && typeof session === "object" ? session : null;
    } catch {
      return null;
    }
  }

  function save(session) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  }

  function forget() {
    sessionStorage.removeItem(STORAGE_KEY);
  }

  function withTokens(session, data) {
    const expiresIn = Number(data.expires_in);
    return {
      ...session,
      accessToken: typeof data.access_token === "string" ? data.access_token : null,
      refreshToken: typeof data.refresh_token === "string" ? data.refresh_token : session.refreshToken ?? null,
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : null,
    };
  }

  /* Keeps what a successful sign-in answered: the user (without the tokens) and the tokens. */
  function adopt(data) {
    const { access_token: _a, refresh_token: _r, token_type: _t, expires_in: _e, ...user } = data ?? {};
    const session = withTokens({ user }, data ?? {});
    save(session);
    return session;
  }

  function parseBody(text) {
    if (text === "") return { json: false, value: "(empty body)" };
    try {
      return { json: true, value: JSON.parse(text) };
    } catch {
      return { json: false, value: text };
    }
  }

  /* One HTTP exchange: {status, statusText, body: {json, value}, headers} or {failure}. */
  async function request(method, path, body = null, token = null) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const init = { method, signal: controller.signal, headers: { Accept: "application/json" } };
    if (body !== null) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    if (token) init.headers.Authorization = `Bearer ${token}`;
    try {
      const response = await fetch(config.brokerUrl + path, init);
      const parsed = parseBody(await response.text());
      return { status: response.status, statusText: response.statusText, body: parsed, headers: response.headers };
    } catch (error) {
      const failure = error.name === "AbortError"
        ? `no answer from the broker within ${REQUEST_TIMEOUT_MS / 1000} s`
        : `could not reach the broker at ${config.brokerUrl} (${error.message})`;
      return { failure };
    } finally {
      clearTimeout(timer);
    }
  }

  function succeeded(result) {
    return result.status >= 200 && result.status < 300 && !(result.body.json && result.body.value?.error);
  }

  function message(result) {
    if (result.failure) return result.failure;
    const { json, value } = result.body;
    if (json && typeof value?.message === "string") return value.message;
    return `HTTP ${result.status} ${result.statusText}`.trim();
  }

  async function signIn(email, password) {
    const result = await request("POST", "/handle", { action: "auth", auth: { email, password } });
    if (succeeded(result)) result.session = adopt(result.body.value.data);
    return result;
  }

  /* Trades the refresh token for new tokens; resolves to true when that worked. */
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = (async () => {
      const session = load();
      if (!session?.refreshToken) return false;
      const result = await request("POST", "/auth/refresh", { refresh_token: session.refreshToken });
      if (!succeeded(result) || typeof result.body.value.data?.access_token !== "string") return false;
      save(withTokens(session, result.body.value.data));
      return true;
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  /*
   * A call on behalf of the signed-in user. Resolves to request()'s result; `expired: true`
   * (and no session any more) when the broker refused the token and no refresh helped.
   */
  async function call(method, path, body = null) {
    let session = load();
    if (session?.expiresAt && session.refreshToken && Date.now() > session.expiresAt - REFRESH_MARGIN_MS) {
      await refresh();
      session = load();
    }
    let result = await request(method, path, body, session?.accessToken);
    if (result.status === 401 && (await refresh())) {
      result = await request(method, path, body, load()?.accessToken);
    }
    if (result.status === 401) {
      forget();
      result.expired = true;
    }
    return result;
  }

  /* Revokes the refresh token when there is one (best effort) and forgets the session. */
  async function signOut() {
    const session = load();
    let result = null;
    if (session?.refreshToken) {
      result = await request("POST", "/auth/logout", { refresh_token: session.refreshToken }, session.accessToken);
    }
    forget();
    return result;
  }

  return { config, load, adopt, forget, request, call, signIn, signOut, succeeded, message };
})();
