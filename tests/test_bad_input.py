"""Every bad input we know of, against every door: the broker, the test page, the logger's XML-RPC
and gRPC servers. Each gets its status (the JSON envelope where it is HTTP, a fault or a gRPC
code where not), a message with nothing of Python's internals in it, and the doors keep serving.

One test runs the whole table against one running system (starting it per case would cost a
minute); it reports every case that went wrong, not only the first.
"""

from __future__ import annotations

import json
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from testing.grpc_client import call_from_plain_process
from testing.raw_http import RawClient
from testing.running_system import RunningSystem

INTERNALS = ("Traceback", "Error", "Exception", "codec", ".py", "object at", "callback", "errno")


@dataclass(frozen=True)
class Doors:
    broker: int
    page: int
    xmlrpc: int
    grpc: str


@pytest.fixture
def doors(running_system: RunningSystem) -> Doors:
    return Doors(
        running_system.broker_port,
        running_system.page_port,
        running_system.xmlrpc_port,
        running_system.grpc_target,
    )


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_json(path: str, body: str | bytes, extra: bytes = b"") -> bytes:
    raw = body.encode() if isinstance(body, str) else body
    head = (
        b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n%s\r\n"
    )
    return head % (path.encode(), len(raw), extra) + raw


def log_body(name: str, data: str) -> str:
    # json.dumps escapes NUL and lone surrogates (\u0000, \ud800) as a browser's JSON would.
    return json.dumps({"log": {"name": name, "data": data}})


def mail_body(subject: str) -> str:
    mail = {"to": "you@example.com", "subject": subject, "message": "m"}
    return json.dumps({"action": "mail", "mail": mail})


def auth_body(email: str) -> str:
    return json.dumps({"action": "auth", "auth": {"email": email, "password": "p"}})


CHUNKED = b"POST /log-rabbit HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
FRAMING = {
    "malformed chunk size": (CHUNKED + b"zz\r\n{}\r\n0\r\n\r\n", 400, "chunk size"),
    "two Content-Lengths": (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        400,
        "Content-Length",
    ),
    "Content-Length and chunked": (
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "Transfer-Encoding",
    ),
    "header over 16 KiB": (
        b"GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
        431,
        "header fields",
    ),
    "URL over 8 KiB": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414, "target"),
    "not HTTP": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 400, "malformed"),
}

# (door, id, request, expected status, words the message must contain)
HTTP_CASES: list[tuple[str, str, bytes, int, str]] = [
    ("broker", "100,000-deep JSON", post_json("/handle", "[" * 100_000), 400, "deeper than 32"),
    (
        "broker",
        "5,000-deep mail",
        post_json("/handle", '{"action": "mail", "mail": {"to": ' + nested(5000) + "}}"),
        400,
        "deeper than 32",
    ),
    (
        "broker",
        "NUL in the auth email",
        post_json("/handle", auth_body("a\0@example.com")),
        400,
        "auth.email must not contain the character U+0000",
    ),
    (
        "broker",
        "lone surrogate in the auth email",
        post_json("/handle", auth_body("a\ud800@x.com")),
        400,
        "auth.email must not contain the character U+D800",
    ),
    (
        "broker",
        "U+2028 in a mail subject",
        post_json("/handle", mail_body("Hi\u2028Bcc: x@y.z")),
        400,
        "header injection",
    ),
    (
        "broker",
        "NEL in a mail subject",
        post_json("/handle", mail_body("Hi\x85Bcc: x@y.z")),
        400,
        "header injection",
    ),
    (
        "broker",
        "not UTF-8",
        post_json("/handle", b'{"action": "\xff"}'),
        400,
        "malformed JSON body",
    ),
    ("broker", "unknown route", b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404, "not found"),
    ("broker", "wrong method", b"GET /handle HTTP/1.1\r\nHost: t\r\n\r\n", 405, "not allowed"),
    ("page", "unknown route", b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404, "not found"),
    ("page", "wrong method", post_json("/", "{}"), 405, "not allowed"),
]
for route in ("/log-rabbit", "/log-rpc", "/log-grpc"):
    HTTP_CASES += [
        (
            "broker",
            f"NUL in log data via {route}",
            post_json(route, log_body("n", "a\0b")),
            400,
            "log.data must not contain the character U+0000",
        ),
        (
            "broker",
            f"lone surrogate in a log name via {route}",
            post_json(route, log_body("\udc80", "d")),
            400,
            "log.name must not contain the character U+DC80",
        ),
        (
            "broker",
            f"ESC in a log name via {route}",
            post_json(route, log_body("a\x1b", "d")),
            400,
            "log.name must not contain the character U+001B",
        ),
    ]
for door in ("broker", "page", "xmlrpc"):
    HTTP_CASES += [(door, case, *FRAMING[case]) for case in FRAMING]

LOG_INFO = "RPCServer.LogInfo"
XMLRPC_CASES = {
    "NUL in Data": (
        xmlrpc.client.dumps(({"Name": "n", "Data": "a\0b"},), LOG_INFO),
        400,
        "malformed",
    ),
    "control character reference": (
        xmlrpc.client.dumps(({"Name": "n", "Data": "PLACEHOLDER"},), LOG_INFO).replace(
            "PLACEHOLDER", "&#1;"
        ),
        400,
        "malformed",
    ),
    "not XML": ("\x00\x01garbage", 400, "malformed"),
    "empty Name": (xmlrpc.client.dumps(({"Name": "", "Data": "d"},), LOG_INFO), 400, "Name"),
}

GRPC_CASES = {
    "garbage bytes": ({"raw": "ffffffff0102"}, "INVALID_ARGUMENT", "malformed LogRequest"),
    "bad UTF-8 in a string": ({"raw": "0a070a0561ff62fe63"}, "INVALID_ARGUMENT", "malformed"),
    "NUL in the name": (
        {"name": "a\0b", "data": "d"},
        "INVALID_ARGUMENT",
        "name must not contain the character U+0000",
    ),
    "ESC in the data": (
        {"name": "n", "data": "\x1b[31m"},
        "INVALID_ARGUMENT",
        "data must not contain the character U+001B",
    ),
}


def internal_words(message: str) -> list[str]:
    return [word for word in INTERNALS if word in message]


def http_problem(port: int, raw: bytes, status: int, words: str) -> str | None:
    client = RawClient(port)
    try:
        client.send(raw)
        response = client.response()
    finally:
        client.close()
    if response.status != status:
        return f"status {response.status}, body {response.body[:200]!r}"
    if response.headers.get("content-type") != "application/json":
        return f"not JSON: {response.headers.get('content-type')} {response.body[:200]!r}"
    body = response.json()
    if body.get("error") is not True or words not in body.get("message", ""):
        return f"envelope {body}"
    if leaked := internal_words(body["message"]):
        return f"internals {leaked} in {body['message']!r}"
    return None


def xmlrpc_problem(port: int, body: str, code: int, words: str) -> str | None:
    response = requests.post(f"http://127.0.0.1:{port}/", data=body.encode(), timeout=10)
    if response.status_code != 200:
        return f"HTTP {response.status_code} {response.text[:200]!r}"
    try:
        xmlrpc.client.loads(response.content)
    except xmlrpc.client.Fault as fault:
        if fault.faultCode != code or words not in fault.faultString:
            return f"fault {fault.faultCode} {fault.faultString!r}"
        if leaked := internal_words(fault.faultString):
            return f"internals {leaked} in {fault.faultString!r}"
        return None
    return "no fault"


def still_serving(doors: Doors) -> list[str]:
    problems = []
    for name, port in (("broker", doors.broker), ("page", doors.page)):
        if requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code != 200:
            problems.append(f"{name} stopped answering /ping")
    entry = {"Name": "after", "Data": "tab\tand\nnewline are fine"}
    with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{doors.xmlrpc}/") as proxy:
        if proxy.RPCServer.LogInfo(entry) != "Processed payload via RPC: after":
            problems.append("XML-RPC stopped serving")
    [outcome] = call_from_plain_process(doors.grpc, [{"name": "after", "data": "d"}])
    if outcome != {"code": "OK", "result": "logged!"}:
        problems.append(f"gRPC stopped serving: {outcome}")
    response = requests.post(
        f"http://127.0.0.1:{doors.broker}/log-rabbit", json={"log": {"name": "n", "data": "d"}}
    )
    if response.status_code != 202:
        problems.append(f"broker stopped logging: {response.status_code}")
    return problems


def test_every_bad_input_at_every_door(doors: Doors):
    ports = {"broker": doors.broker, "page": doors.page, "xmlrpc": doors.xmlrpc}
    problems: dict[str, Any] = {}
    for door, case, raw, status, words in HTTP_CASES:
        if problem := http_problem(ports[door], raw, status, words):
            problems[f"{door}: {case}"] = problem
    for case, (body, code, words) in XMLRPC_CASES.items():
        if problem := xmlrpc_problem(doors.xmlrpc, body, code, words):
            problems[f"xmlrpc: {case}"] = problem
    outcomes = call_from_plain_process(doors.grpc, [call for call, _, _ in GRPC_CASES.values()])
    for (case, (_, code, words)), outcome in zip(GRPC_CASES.items(), outcomes, strict=True):
        details = outcome.get("details") or ""
        if outcome["code"] != code or words not in details or internal_words(details):
            problems[f"grpc: {case}"] = outcome
    problems.update(dict.fromkeys(still_serving(doors), "after the bad input"))

    assert problems == {}
