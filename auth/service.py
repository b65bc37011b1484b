"""The authentication service: checks credentials against PostgreSQL."""

from __future__ import annotations

from typing import Any

from auth.authentication import authenticate
from auth.dependencies import Passwords, Users
from auth.settings import AuthSettings
from common.event_dispatcher import PatientEventDispatcher
from common.ids import new_id
from common.rpc import rpc
from common.settings import Settings
from common.validation import Credentials, validate


class AuthService:
    name = "auth"

    settings = Settings(AuthSettings)
    users = Users()
    passwords = Passwords()
    dispatch = PatientEventDispatcher()

    @rpc
    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        """The user without its password hash; `InvalidCredentials` when the check fails.

        Success is announced as a `user_authenticated` event, which the logger stores; the
        event's id makes a redelivered event one entry.
        """
        credentials = validate(Credentials, {"email": email, "password": password})
        user = authenticate(self.users, self.passwords, credentials.email, credentials.password)
        self.dispatch("user_authenticated", {"email": user["email"], "event_id": new_id()})
        return user
