"""Signing in to the broker as a test client does: `/handle` auth, then the access token in an
`Authorization: Bearer` header for the routes that require one.

Before the broker issued tokens (issue 10), a sign-in answered no `access_token`; the headers are
then empty, so tests written this way pass with and without protected routes.
"""

from __future__ import annotations

import requests

ADMIN = {"email": "admin@example.com", "password": "verysecret"}


def sign_in(broker_url: str, credentials: dict[str, str] = ADMIN) -> dict:
    """The `data` of a successful sign-in (the user, and the tokens when the broker issues them)."""
    response = requests.post(
        broker_url + "/handle", json={"action": "auth", "auth": credentials}, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["data"]


def bearer_headers(broker_url: str, credentials: dict[str, str] = ADMIN) -> dict[str, str]:
    token = sign_in(broker_url, credentials).get("access_token")
    return {"Authorization": f"Bearer {token}"} if token else {}
