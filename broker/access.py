"""Who may do what at the broker: the access token on protected routes, the client's address,
and the JSON-only rule for requests that change state.

- A route declared `@http(..., protected=True)` runs only for a request with a valid access
  token (`Authorization: Bearer <JWT>`, common/tokens.py), checked here with the shared key, no
  call to auth; otherwise 401 with `WWW-Authenticate: Bearer`, before any worker starts.
- The client address is the socket's peer. Behind a proxy, every client would be the proxy: a
  peer listed in TRUSTED_PROXIES is believed about the client it forwards (the last entry of
  X-Forwarded-For, the one the proxy itself added); anyone else's X-Forwarded-For is ignored.
- POST, PUT, PATCH and DELETE with a body need `Content-Type: application/json` (415). A browser
  sends a cross-origin request with another type (text/plain, a form) without asking first, so
  it would run before CORS could say no; with JSON it must ask (a preflight), and only the
  allowed origins get a yes.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from common.errors import UnsupportedMediaType
from common.tokens import TokenKeys, bearer_token

STATE_CHANGING = frozenset(("POST", "PUT", "PATCH", "DELETE"))
JSON_ONLY = "Content-Type must be application/json"
USER_ID_KEY = "broker.user_id"  # in the request's environ, for a protected route's method


def require_json(request: Request) -> None:
    """A bodyless request without a Content-Type (`curl -XPOST .../`) carries nothing to run."""
    if request.method not in STATE_CHANGING or request.mimetype == "application/json":
        return
    if request.mimetype or request.content_length:
        raise UnsupportedMediaType(JSON_ONLY)


def check_token(request: Request, keys: TokenKeys) -> dict[str, Any]:
    """The token's claims (`Unauthorized` when missing or invalid); the user id is kept in the
    request's environ for the route's method."""
    claims = keys.verify(bearer_token(request.headers.get("Authorization")))
    request.environ[USER_ID_KEY] = claims["sub"]
    return claims


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    peer = request.remote_addr or ""
    if peer in trusted_proxies:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer
