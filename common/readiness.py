"""Readiness that tells the truth: each extension of a service says whether what it needs answers.

An extension (dependency provider, entrypoint, shared extension) that depends on something
outside the process has a `readiness()` method returning `{name: Check}`: the queue consumer
RabbitMQ and the queues it consumes, auth's users store PostgreSQL, the logger's storage MongoDB,
the mailer's SMTP client the mail server, the broker's RPC proxies whether anyone consumes their
service's queue. `container_readiness` asks every extension of a container; `health_response` is
the `GET /health` answer (common/ops.py): 200 when every *required* check passes, else 503, with
each check in `data`. A check that is not required (the broker's view of the services behind it)
is reported but never makes the service unready: the broker still serves its other routes when
the mailer is down.

Checks run when asked (a probe every few seconds), each bounded by a short timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from common import metrics
from common.envelope import json_response

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds a check may take


@dataclass(frozen=True, slots=True)
class Check:
    ready: bool
    detail: str
    required: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "detail": self.detail, "required": self.required}


def run_check(probe: Any, required: bool = True) -> Check:
    """`probe()` returns a detail string when the dependency answers and raises when not."""
    try:
        return Check(True, str(probe()), required)
    except Exception as exc:
        return Check(False, f"{type(exc).__name__}: {exc}"[:300], required)


def merged(first: Check, second: Check) -> Check:
    """Two extensions checking the same dependency (two queue consumers on RabbitMQ)."""
    return Check(
        first.ready and second.ready,
        f"{first.detail}; {second.detail}",
        first.required or second.required,
    )


def container_readiness(container: Any) -> dict[str, Check]:
    checks: dict[str, Check] = {}
    for extension in sorted(container.extensions, key=lambda e: type(e).__name__):
        readiness = getattr(extension, "readiness", None)
        if readiness is None:
            continue
        try:
            for name, check in readiness().items():
                checks[name] = merged(checks[name], check) if name in checks else check
        except Exception as exc:  # a broken check says so instead of breaking the probe
            log.exception("readiness check of %r failed", extension)
            checks[type(extension).__name__] = Check(False, f"check failed: {exc}")
    for name, check in checks.items():
        metrics.READY.labels(container.service_name, name).set(1 if check.ready else 0)
    return checks


def health_response(container: Any) -> Response:
    checks = container_readiness(container)
    failing = sorted(name for name, check in checks.items() if check.required and not check.ready)
    data = {name: check.as_json() for name, check in sorted(checks.items())}
    if failing:
        return json_response(503, f"not ready: {', '.join(failing)}", data=data)
    return json_response(200, "ready", data=data)
