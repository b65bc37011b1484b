"""The authentication service: checks credentials against PostgreSQL, throttles sign-in attempts
and issues the tokens the broker checks."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer

from auth.authentication import authenticate
from auth.dependencies import AuthDatabase, Passwords
from auth.lockout import lockout_mail
from auth.models import User
from auth.sessions import Sessions
from auth.settings import AuthSettings
from auth.throttling import Attempt
from common.errors import ServiceError
from common.event_dispatcher import PatientEventDispatcher
from common.ids import new_id
from common.ops import Operations
from common.rpc import rpc
from common.settings import Settings
from common.tracing import CallTracer
from common.validation import Credentials, RefreshRequest, validate

SWEEP_SECONDS = 300


class AuthService:
    name = "auth"

    tracer = CallTracer()
    ops = Operations()
    settings = Settings(AuthSettings)
    db = AuthDatabase()
    passwords = Passwords()
    dispatch = PatientEventDispatcher()

    @rpc(expected_exceptions=ServiceError)
    def authenticate(
        self, email: str, password: str, client_address: str | None = None
    ) -> dict[str, Any]:
        """The user without its password hash, plus an access and a refresh token;
        `InvalidCredentials` when the check fails, `TooManyRequests` when throttled
        (auth/throttling.py). `client_address` is the address the broker saw.

        Success is announced as a `user_authenticated` event, which the logger stores; a failure
        that locks an account mails its owner (a `send_mail_requested` event).
        """
        credentials = validate(Credentials, {"email": email, "password": password})
        attempt = Attempt(
            self.db.throttle,
            credentials.email,
            client_address,
            self.settings.account_limit,
            self.settings.address_limit,
        )

        def mail_the_owner(user: User) -> None:
            self.dispatch(
                "send_mail_requested",
                lockout_mail(
                    user.email,
                    user.first_name,
                    client_address,
                    self.settings.login_account_max_failures,
                    attempt.locked_for,
                ),
            )

        user = authenticate(
            self.db.users,
            self.passwords,
            credentials.email,
            credentials.password,
            throttle=attempt,
            on_lock=mail_the_owner,
            client=client_address,
        )
        # The event's id makes a redelivered event one entry.
        self.dispatch("user_authenticated", {"email": user.email, "event_id": new_id()})
        return {**user.to_public(), **self._sessions().start(user.id)}

    @rpc(expected_exceptions=ServiceError)
    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """New tokens for a refresh token, which is revoked (rotation); `Unauthorized` when it is
        unknown, expired or revoked (a revoked one revokes its whole family)."""
        request = validate(RefreshRequest, {"refresh_token": refresh_token})
        return self._sessions().refresh(request.refresh_token)

    @rpc(expected_exceptions=ServiceError)
    def logout(self, refresh_token: str) -> None:
        """Revoke the refresh token's family (the sign-in it came from)."""
        request = validate(RefreshRequest, {"refresh_token": refresh_token})
        self._sessions().end(request.refresh_token)

    @timer(interval=SWEEP_SECONDS)
    def sweep_throttle(self) -> None:
        """Forget throttle windows that have passed."""
        settings = self.settings
        self.db.throttle.sweep(max(settings.login_account_window, settings.login_address_window))

    def _sessions(self) -> Sessions:
        return Sessions(
            self.db.refresh_tokens, self.settings.token_keys, self.settings.refresh_token_seconds
        )
