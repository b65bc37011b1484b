"""Dispatch by URL with werkzeug's router, as Nameko's `@http` does, with JSON 404 and 405."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect
from werkzeug.wrappers import Request, Response

from common.envelope import error_response


class Router:
    """Maps each request to the entrypoint whose rule matches (`rule.endpoint` is the provider,
    which answers through `handle_request`).

    A path that is exactly a rule without variables, with one of its methods, is looked up in a
    dict: werkzeug's matcher gives the same answer for those, at several times the cost, and they
    are the busy routes (`/ping`, `/log-rabbit`). Everything else goes through werkzeug.
    """

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self._static = {
            (rule.rule, method): rule.endpoint
            for rule in url_map.iter_rules()
            if not rule.arguments
            for method in rule.methods or ()
        }

    def respond(self, request: Request) -> Response:
        provider = self._static.get((request.path, request.method))
        if provider is not None:
            request.path_values = {}
            return provider.handle_request(request)
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
