"""Dispatch by URL with werkzeug's router, as Nameko's `@http` does, with JSON 404 and 405."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect
from werkzeug.wrappers import Request, Response

from common.envelope import error_response


class Router:
    """Maps each request to the entrypoint whose rule matches (`rule.endpoint` is the provider,
    which answers through `handle_request`)."""

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map

    def respond(self, request: Request) -> Response:
        adapter = self.url_map.bind(
            request.host,
            path_info=request.path,
            default_method=request.method,
            query_args=request.environ["QUERY_STRING"],
        )
        try:
            provider, values = adapter.match()
        except RequestRedirect as redirect:  # e.g. `//` merged into `/`
            return redirect.get_response()
        except MethodNotAllowed as exc:
            return error_response(
                405, "method not allowed", {"Allow": ", ".join(exc.valid_methods or ())}
            )
        except NotFound:
            return error_response(404, "not found")
        except HTTPException as exc:
            return error_response(exc.code or 400, exc.name.lower())
        request.path_values = values
        return provider.handle_request(request)
