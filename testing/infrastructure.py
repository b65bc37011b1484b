"""Where the tests find the shared infrastructure that `make infra` starts (overridable with
TEST_* environment variables). Tests never change these servers: each uses its own vhost,
database or token."""

from __future__ import annotations

import os

POSTGRES_ADMIN_URI = os.environ.get(
    "TEST_POSTGRES_ADMIN_URI", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MONGO_URI = os.environ.get("TEST_MONGO_URI", "mongodb://127.0.0.1:27017")
SMTP_HOST = os.environ.get("TEST_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("TEST_SMTP_PORT", "1025"))
MAILDEV_API = os.environ.get("TEST_MAILDEV_API", "http://127.0.0.1:8025")
