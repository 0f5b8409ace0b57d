"""How the service listens: the runner and site that `draftrender serve` and the tests use.

Owns the limits a slow or hostile client meets before any handler runs: a deadline for a
request's head (aiohttp's keep-alive timer, which also runs from the moment a connection
opens), a cap on open connections below the process's descriptor limit (connections past
it are answered 503 and closed at once), and one rate-limited log line for what was refused
instead of a traceback per socket.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import signal
import time
from collections.abc import Callable

from aiohttp import web

from .app import create_app
from .config import ServerConfig

log = logging.getLogger("draftrender.server")

# Descriptors kept free for what the service itself opens: the task store, draft fetches,
# worker sockets and pipes, video files being served.
RESERVED_FDS = 256
REFUSED_LINGER = 1.0  # seconds a refused connection waits for the client to close it
SUMMARY_EVERY = 60.0  # seconds between two log lines about refused connections
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Connection: close\r\nRetry-After: %d\r\nContent-Length: %d\r\n\r\n")
BUSY_BODY = '{"detail": "服务繁忙", "message": "too many open connections; retry later", "error": "ServiceBusy"}'


def connection_limit(config: ServerConfig) -> int:
    """The configured cap, or one that leaves RESERVED_FDS of the descriptor limit free."""
    if config.max_connections:
        return config.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, soft - RESERVED_FDS) if soft != resource.RLIM_INFINITY else 4096


def service_runner(app: web.Application, config: ServerConfig, **options) -> web.AppRunner:
    # keepalive_timeout also runs from the moment a connection opens: a client that has not
    # sent a whole request head by then is cut off (a slow-headers client holds nothing).
    return web.AppRunner(app, handler_cancellation=True, keepalive_timeout=config.request_timeout, **options)


class RefusalLog:
    """Counts refused connections; says so at the first, then at most once a minute."""

    def __init__(self) -> None:
        self.count = 0
        self.since = 0.0

    def refused(self, why: str) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.since >= SUMMARY_EVERY:
            log.warning("refused %d connection(s) since the last report: %s", self.count, why)
            self.count, self.since = 0, now


class _Counted(asyncio.Protocol):
    """The request handler's protocol, counted while its connection is open."""

    def __init__(self, site: LimitedSite, inner: asyncio.Protocol):
        self.site, self.inner = site, inner
        site.open += 1

    def connection_made(self, transport):
        self.inner.connection_made(transport)

    def data_received(self, data):
        self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received()

    def pause_writing(self):
        self.inner.pause_writing()

    def resume_writing(self):
        self.inner.resume_writing()

    def connection_lost(self, exc):
        self.site.open -= 1
        self.inner.connection_lost(exc)


class _Refused(asyncio.Protocol):
    """A connection past the cap: 503, then closed once the client has closed its side (a
    close with its request unread would reset the connection and lose the answer), or
    after REFUSED_LINGER seconds at most."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after

    def connection_made(self, transport):
        body = BUSY_BODY.encode()
        transport.write(BUSY % (self.retry_after, len(body)) + body)
        transport.write_eof()
        asyncio.get_running_loop().call_later(REFUSED_LINGER, transport.close)

    def eof_received(self):
        return False  # the transport closes itself


class LimitedSite(web.BaseSite):
    """A TCP site that serves at most `limit` connections at once."""

    def __init__(self, runner: web.AppRunner, config: ServerConfig, host: str, port: int):
        super().__init__(runner)
        self.host, self.port, self.config = host, port, config
        self.limit = connection_limit(config)
        self.open = 0
        self.refusals = RefusalLog()

    @property
    def name(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def protocol(self) -> asyncio.Protocol:
        if self.open >= self.limit:
            self.refusals.refused(f"{self.open} open, the limit is {self.limit} (--max-connections)")
            return _Refused(self.config.retry_after)
        server = self._runner.server
        assert server is not None  # the runner is set up before a site starts
        return _Counted(self, server())

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.protocol, self.host, self.port, reuse_address=True)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, refusals: RefusalLog) -> None:
    """Out of descriptors anyway (other processes, a low limit): asyncio logs a traceback for
    each failed accept; count them into the summary instead."""
    default = loop.get_exception_handler()

    def handle(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            refusals.refused(f"out of file descriptors ({exc.strerror})")
            return
        if default is not None:
            default(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


async def serve(config: ServerConfig, ready: Callable[[], None] = lambda: None) -> None:
    """Run the service until SIGINT or SIGTERM, then stop it cleanly; `ready` is called once it
    is serving (the data dir claimed, the port bound)."""
    runner = service_runner(create_app(config), config)
    await runner.setup()
    try:
        site = LimitedSite(runner, config, config.host, config.port)
        await site.start()
        loop = asyncio.get_running_loop()
        quiet_accept_errors(loop, site.refusals)
        ready()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
