"""bcrypt hashing and checking.

Hashes from the Go system (`$2a$` prefix) verify as well as Python's own (`$2b$`). bcrypt ignores
everything past 72 bytes and the `bcrypt` package refuses such input, so longer passwords never
match anything (no stored hash can have come from one).
"""

from __future__ import annotations

import bcrypt

COST = 12
MAX_PASSWORD_BYTES = 72


def hash_password(password: str, cost: int = COST) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii")


def check_password(password: str, hashed: str) -> bool:
    secret = password.encode("utf-8")
    if len(secret) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(secret, hashed.encode("ascii"))
    except ValueError:  # a malformed hash in the database must not become a server error
        return False


# Checked against when the email is unknown, so that "no such user" costs as much as "wrong
# password": response times must not reveal which emails exist.
UNKNOWN_USER_HASH = hash_password("no user has this password", cost=COST)
