"""Shared fixtures: a real aiohttp server on 127.0.0.1 for tests that fetch over HTTP.

The server runs its own event loop in a background thread, so the synchronous API under
test can call it like any remote host. Routes can be added while it runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from service_harness import Loopback
from service_harness import gates, start_service  # noqa: F401 - the service fixtures, for every test folder

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopbackServer:
    def __init__(self) -> None:
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()  # requests per path, to prove cache hits

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes | str = b"", *, status: int = 200,
              content_type: str = "application/octet-stream") -> str:
        """Answer GET `path` with a fixed body; returns its URL."""
        data = body.encode() if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.Response:
            return web.Response(body=data, status=status, content_type=content_type)

        return self.route(path, handler)

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)


@pytest.fixture
def http_server():
    """A LoopbackServer on a free port, stopped after the test."""
    server = LoopbackServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._dispatch)
    running = Loopback(app)
    server.port = running.port
    try:
        yield server
    finally:
        running.close()
