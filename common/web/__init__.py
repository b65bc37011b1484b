"""The system's one HTTP core: every HTTP server in it runs on `common.web.server.HttpServer`.

`entrypoint.http` is the `@http(method, path)` decorator; `server` the shared server; `connection`
and `reader` how a client's bytes become a request; `settings` its address and limits.
"""
