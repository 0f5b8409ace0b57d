"""HTTP fetching shared by the draft loader (timeline/), the media fetcher (assets/), the
generation providers (generate/) and the webhooks (service/): none of them owns it.

Owns: one GET with a stall timeout and an overall deadline, the size cap enforced while
streaming, retries with exponential backoff (5xx, timeouts, dropped connections; never 4xx),
redirects followed by hand, the private-address guard (a resolver that refuses private
answers, so the address checked is the address connected to, on every hop), and running
these coroutines from synchronous code.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from .errors import UnsafeSource

if TYPE_CHECKING:  # aiohttp is imported where a request is made: a local render never pays for it
    import aiohttp

T = TypeVar("T")

CHUNK = 1 << 16
MAX_REDIRECTS = 5
BACKOFF = 0.25  # seconds before the first retry; doubles each time
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "draftrender/0.1"


class FetchFailed(Exception):
    """A fetch that produced no body. Internal: callers turn it into the error their
    context needs (a missing draft, an unreachable medium)."""

    def __init__(self, url: str, reason: str, *, status: int | None = None,
                 retryable: bool = False, too_large: bool = False):
        super().__init__(f"{reason} ({url})")
        self.url = url
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.too_large = too_large


# ---------------------------------------------------------------- running from sync code


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    Inside a running event loop (a Jupyter cell, an aiohttp handler calling the sync API),
    asyncio.run would refuse, so the coroutine gets its own loop in a worker thread.
    """
    import asyncio  # here, not at the top: a local draft's render never needs it (with ssl, 8 MB)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="draftrender-io") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


# ---------------------------------------------------------------- private-address guard


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global also excludes shared (CGNAT) space, which is_private misses.
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


async def ensure_public_url(url: str) -> None:
    """Raise UnsafeSource unless every address the URL's host resolves to is public.

    A check ahead of a request, for callers that only need an answer; a fetch itself goes
    through PublicResolver, which checks the very addresses it connects to.
    """
    import asyncio

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, parts.port or 443, type=socket.SOCK_STREAM)  # runs in the default executor
    except (OSError, ValueError, UnicodeError):
        return  # unresolvable: the request itself reports "host not found"
    _refuse_private(host, [str(info[4][0]) for info in infos])


def _refuse_private(host: str, addresses: list[str]) -> None:
    private = sorted({a for a in addresses if not _is_public(a)})
    if private:
        raise UnsafeSource(f"refusing host {host}: it resolves to a private address ({', '.join(private)}); "
                           "--allow-private-urls allows it")


def _refuse_private_literal(url: str) -> None:
    """aiohttp connects to an IP literal without asking the resolver: checked here."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name: PublicResolver checks what it resolves to
    _refuse_private(host, [host])


def base_resolver():
    """The DNS resolver every fetch starts from (tests substitute it)."""
    import aiohttp

    return aiohttp.DefaultResolver()


class PublicResolver:
    """An aiohttp resolver that refuses hosts resolving to private, loopback or link-local
    addresses. aiohttp connects only to the addresses a resolver returns, so no second
    lookup can answer differently (DNS rebinding), and every redirect hop is checked."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[dict]:
        infos = await self.inner.resolve(host, port, family)
        _refuse_private(host, [info["host"] for info in infos])
        return infos

    async def close(self) -> None:
        await self.inner.close()


def new_session(*, allow_private_urls: bool, limit: int = 100) -> aiohttp.ClientSession:
    """A client session whose connections pass the private-address guard unless allowed."""
    import aiohttp

    resolver = base_resolver()
    if not allow_private_urls:
        resolver = PublicResolver(resolver)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, resolver=resolver))


# ---------------------------------------------------------------- one request


def _client_timeout(stall: float) -> aiohttp.ClientTimeout:
    import aiohttp

    # No total: a large medium may take minutes; a stalled one is cut after `stall` s.
    return aiohttp.ClientTimeout(total=None, sock_connect=stall, sock_read=stall)


def _connection_failure(url: str, exc: Exception) -> FetchFailed:
    import aiohttp

    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(
            getattr(exc, "os_error", None), socket.gaierror):
        host = urlsplit(url).hostname
        return FetchFailed(url, f"host {host} not found", retryable=False)
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            why = "connection refused"
        else:
            why = (os_error.strerror or str(os_error)) if os_error else str(exc)
        return FetchFailed(url, f"cannot connect: {why.lower()}", retryable=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return FetchFailed(url, "invalid URL", retryable=False)
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError)):
        return FetchFailed(url, "connection closed before the body was complete", retryable=True)
    return FetchFailed(url, f"connection failed: {type(exc).__name__}", retryable=True)


async def _stream(session: aiohttp.ClientSession, url: str, write: Callable[[bytes], Any], *,
                  stall: float, max_bytes: int, allow_private_urls: bool) -> None:
    """One attempt: GET `url`, following redirects, and hand the body to `write` in chunks."""
    import aiohttp

    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchFailed(url, "not an http(s) URL")
        if not allow_private_urls:
            _refuse_private_literal(url)
        try:
            async with session.get(url, allow_redirects=False, timeout=_client_timeout(stall),
                                   headers={"User-Agent": USER_AGENT}) as resp:
                if resp.status in REDIRECT_STATUSES and "Location" in resp.headers:
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if resp.status >= 400:
                    raise FetchFailed(url, f"HTTP {resp.status}", status=resp.status,
                                      retryable=resp.status >= 500)
                declared = resp.content_length
                if declared is not None and declared > max_bytes:
                    raise _too_large(url, max_bytes)
                received = 0
                async for chunk in resp.content.iter_chunked(CHUNK):
                    received += len(chunk)
                    # Counted while reading: Content-Length may be absent, wrong, or compressed.
                    if received > max_bytes:
                        raise _too_large(url, max_bytes)
                    write(chunk)
                return
        except FetchFailed:
            raise
        except TimeoutError:
            raise FetchFailed(url, f"timed out after {stall:g} s", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise _connection_failure(url, exc) from None
    raise FetchFailed(url, f"more than {MAX_REDIRECTS} redirects")


def _too_large(url: str, max_bytes: int) -> FetchFailed:
    return FetchFailed(url, f"larger than the {format_size(max_bytes)} cap", too_large=True)


def format_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


async def _with_retries(session: aiohttp.ClientSession | None, url: str,
                        attempt: Callable[[aiohttp.ClientSession], Coroutine[Any, Any, T]], *,
                        deadline: float | None, retries: int, backoff: float,
                        allow_private_urls: bool) -> T:
    """Run `attempt` until it succeeds, retrying what may be transient, within `deadline` s."""
    import asyncio

    loop = asyncio.get_running_loop()
    end = None if deadline is None else loop.time() + deadline
    own = session is None
    client = new_session(allow_private_urls=allow_private_urls) if session is None else session
    try:
        for n in range(retries + 1):
            left = None if end is None else end - loop.time()
            try:
                async with asyncio.timeout(left):
                    return await attempt(client)
            except TimeoutError:
                # Only the overall deadline lands here: _stream turns stalls into FetchFailed.
                raise FetchFailed(url, f"timed out after {deadline:g} s", retryable=False) from None
            except FetchFailed as failure:
                delay = backoff * 2 ** n
                if (not failure.retryable or n == retries
                        or (end is not None and loop.time() + delay >= end)):
                    raise
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")
    finally:
        if own:
            await client.close()


# ---------------------------------------------------------------- public fetchers


async def fetch_bytes(url: str, *, session: aiohttp.ClientSession | None = None,
                      timeout: float = 30.0, deadline: float | None = None,
                      max_bytes: int = 64 << 20, retries: int = 2, backoff: float = BACKOFF,
                      allow_private_urls: bool = True) -> bytes:
    """The body of `url`, at most `max_bytes` long.

    `timeout`: seconds without progress (connecting, or between chunks) before an attempt
    is abandoned; `deadline`: seconds for the whole fetch, retries included.
    `session`, when given, must come from new_session (it carries the address guard).
    Raises FetchFailed, or UnsafeSource from the private-address guard.
    """

    async def attempt(s: aiohttp.ClientSession) -> bytes:
        chunks: list[bytes] = []
        await _stream(s, url, chunks.append, stall=timeout, max_bytes=max_bytes,
                      allow_private_urls=allow_private_urls)
        return b"".join(chunks)

    return await _with_retries(session, url, attempt, deadline=deadline, retries=retries,
                               backoff=backoff, allow_private_urls=allow_private_urls)


async def fetch_to_file(url: str, dest: Path, *, session: aiohttp.ClientSession | None = None,
                        timeout: float = 60.0, deadline: float | None = None,
                        max_bytes: int = 2 << 30, retries: int = 3, backoff: float = BACKOFF,
                        allow_private_urls: bool = True) -> Path:
    """Download `url` to `dest`. The body goes to a temporary name beside it and is renamed
    into place only when complete, so `dest` never holds half a download."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name: the service removes a killed worker's partial files at once.
    part = dest.with_name(f".{dest.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")

    async def attempt(s: aiohttp.ClientSession) -> None:
        # A fresh file per attempt: a retry must not append to what a failed one wrote.
        with open(part, "wb") as out:
            # Plain writes on the loop: a 64 KiB chunk to local disk is quicker than a hop
            # to a worker thread.
            await _stream(s, url, out.write, stall=timeout, max_bytes=max_bytes,
                          allow_private_urls=allow_private_urls)

    try:
        await _with_retries(session, url, attempt, deadline=deadline, retries=retries,
                            backoff=backoff, allow_private_urls=allow_private_urls)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest
