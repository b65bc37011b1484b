"""A received request as a werkzeug Request, through the WSGI environ werkzeug reads.

The body is already whole (and de-chunked), so the environ says so: `CONTENT_LENGTH` is its
length, `wsgi.input` holds it, `wsgi.input_terminated` lets werkzeug read it without a guess, and
`Transfer-Encoding` is not passed on. Header names with an underscore are dropped, as nginx and
werkzeug's own server do: in the environ `X_Forwarded_For` and `X-Forwarded-For` would be one key.
"""

from __future__ import annotations

import sys
from io import BytesIO
from typing import Any
from urllib.parse import unquote_to_bytes

from httptools import HttpParserInvalidURLError, parse_url
from werkzeug.wrappers import Request

from common.web.reader import HttpError, IncomingRequest

_NOT_PASSED_ON = frozenset(("HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"))


def base_environ(host: str, port: int) -> dict[str, Any]:
    """What every request to a server shares."""
    return {
        "SCRIPT_NAME": "",
        "SERVER_NAME": host or "0.0.0.0",
        "SERVER_PORT": str(port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }


def split_target(target: bytes) -> tuple[bytes, bytes]:
    """Path and query of a request target: origin form (`/a?b`) or absolute form."""
    if not target.startswith(b"/"):
        try:
            url = parse_url(target)
        except HttpParserInvalidURLError:
            raise HttpError(400, "malformed request target") from None
        return url.path or b"/", url.query or b""
    path, _, query = target.partition(b"?")
    return path, query.partition(b"#")[0]


def build_request(
    incoming: IncomingRequest, base: dict[str, Any], with_body: bool = True
) -> Request:
    environ = base.copy()
    path, query = split_target(incoming.target)
    if b"%" in path:
        path = unquote_to_bytes(path)
    body = b"".join(incoming.body) if with_body else b""
    environ["REQUEST_METHOD"] = incoming.method
    environ["PATH_INFO"] = path.decode("latin-1")
    environ["QUERY_STRING"] = query.decode("latin-1")
    environ["SERVER_PROTOCOL"] = "HTTP/" + incoming.version
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = BytesIO(body)
    for raw_name, raw_value in incoming.headers:
        if b"_" in raw_name:
            continue
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ[name] = value
            continue
        key = "HTTP_" + name
        if key in _NOT_PASSED_ON:
            continue
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return Request(environ)
