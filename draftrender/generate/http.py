"""HTTP for the remote adapters: one call with a timeout, retried like a production client.

Owns: retries with exponential backoff and jitter (tenacity) on 429, 5xx and connection
errors, honouring Retry-After; which calls may be retried (a submit only where the job
cannot have been created: 429, 502, 503, 504, or a connection never made, so credits are
never charged twice); the Bearer key kept out of every message; streaming a result to disk.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential, wait_random

from ..http import ensure_public_url, new_session
from ..errors import UnsafeSource
from .base import ProviderError

# An API's error body → (code, message); each adapter reads its own error shape.
ErrorReader = Callable[[int, Any], tuple[str | None, str]]
SUBMIT_RETRY_STATUSES = frozenset({429, 502, 503, 504})
CHUNK = 1 << 16


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any  # the JSON body, or None when it is not JSON


class _Retry(Exception):
    """A failed attempt worth another: its error, and how long the server asked us to wait."""

    def __init__(self, error: ProviderError, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class _WaitRetryAfter(wait_base):
    """The server's Retry-After when it gave one (capped), else exponential backoff with jitter."""

    def __init__(self, fallback: wait_base, cap: float):
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap)
        return self.fallback(retry_state)


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ApiClient:
    """Calls one provider's API with its key, timeout and retry settings."""

    def __init__(self, name: str, base_url: str, key: str, read_error: ErrorReader, *, timeout: float = 60.0,
                 retries: int = 4, backoff: float = 1.0, max_backoff: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.read_error = read_error
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep  # how retries wait (tests record the waits instead)

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=_WaitRetryAfter(wait_exponential(multiplier=self.backoff, max=self.max_backoff)
                                 + wait_random(0, self.backoff), cap=max(self.max_backoff, 60.0)),
            retry=retry_if_exception_type(_Retry),
            reraise=True,
            sleep=self.sleep,
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _headers(self, url: str) -> dict[str, str]:
        # The key goes only to the API's own host, never to a CDN that serves results.
        if self._key and urlsplit(url).netloc == urlsplit(self.base_url).netloc:
            return {"Authorization": f"Bearer {self._key}"}
        return {}

    async def call(self, method: str, path: str, *, json_body: Any = None,
                   form: Callable[[], aiohttp.FormData] | None = None,
                   params: dict[str, str] | None = None, submit: bool = False) -> Response:
        """One API call, retried as its kind allows; a non-2xx answer raises ProviderError.

        `form` makes the multipart body afresh for each attempt (a body is read only once).
        """
        url = self.base_url + path
        try:
            async for attempt in self._retrying():
                with attempt:
                    return await self._once(method, url, path, json_body, form, params, submit)
        except _Retry as e:
            raise e.error from None
        raise AssertionError("unreachable")  # tenacity either returns, or re-raises the last error

    async def _once(self, method: str, url: str, path: str, json_body: Any,
                    form: Callable[[], aiohttp.FormData] | None,
                    params: dict[str, str] | None, submit: bool) -> Response:
        what = f"{self.name}: {method} {path}"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session, \
                    session.request(method, url, json=json_body, data=form() if form else None, params=params,
                                    headers=self._headers(url)) as r:
                raw = await r.read()
                headers = {k.lower(): v for k, v in r.headers.items()}
        except aiohttp.ClientConnectorError as e:  # never connected: nothing was sent, any call may retry
            raise _Retry(ProviderError(f"{what}: cannot connect ({self._redact(str(e.os_error or e))})",
                                       code="connection_error")) from None
        except (TimeoutError, aiohttp.ClientError) as e:
            reason = (f"no answer within {self.timeout:g} s" if isinstance(e, asyncio.TimeoutError)
                      else self._redact(str(e) or type(e).__name__))
            error = ProviderError(f"{what}: {reason}", code="connection_error")
            if submit:  # the request may have reached the provider: submitting again could pay twice
                raise error from None
            raise _Retry(error) from None
        body = _json(raw)
        if 200 <= r.status < 300:
            return Response(r.status, headers, body)
        code, message = self.read_error(r.status, body)
        error = ProviderError(f"{what} answered {r.status}{' ' + code if code else ''}: "
                              f"{self._redact(message or raw[:200].decode('utf-8', 'replace'))}",
                              code=code, http_status=r.status)
        retryable = r.status in SUBMIT_RETRY_STATUSES if submit else (r.status == 429 or r.status >= 500)
        if retryable:
            raise _Retry(error, retry_after(headers.get("retry-after")))
        raise error

    async def download(self, url: str, dest: Path) -> Path:
        """Stream `url` (a path on the API, or a result URL) into `dest`, which appears only when complete."""
        full = url if url.startswith(("http://", "https://")) else self.base_url + url
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            async for attempt in self._retrying():
                with attempt:
                    await self._fetch(full, part)
            os.replace(part, dest)
        except _Retry as e:
            raise e.error from None
        finally:
            part.unlink(missing_ok=True)
        return dest

    async def _fetch(self, url: str, part: Path) -> None:
        shown = urlsplit(url)._replace(query="").geturl()  # signed URLs carry secrets in the query
        # A result URL on another host than the configured API's was named by the provider's answer:
        # it passes the same private-address guard as a draft's media, at connect time.
        foreign = urlsplit(url).hostname != urlsplit(self.base_url).hostname
        timeout = aiohttp.ClientTimeout(total=None, sock_read=self.timeout, sock_connect=self.timeout)
        try:
            if foreign:
                await ensure_public_url(url)
            async with new_session(allow_private_urls=not foreign) as session, \
                    session.get(url, headers=self._headers(url), timeout=timeout) as r:
                if r.status != 200:
                    raw = await r.read()
                    code, message = self.read_error(r.status, _json(raw))
                    said = f": {self._redact(message)}" if message else ""
                    error = ProviderError(f"{self.name}: downloading {shown} answered {r.status}"
                                          f"{' ' + code if code else ''}{said}",
                                          code=code, http_status=r.status)
                    if r.status == 429 or r.status >= 500:
                        raise _Retry(error, retry_after(r.headers.get("Retry-After")))
                    raise error
                with open(part, "wb") as out:
                    async for chunk in r.content.iter_chunked(CHUNK):
                        out.write(chunk)
        except UnsafeSource as e:
            raise ProviderError(f"{self.name}: result {shown} refused: {e}", code="unsafe_url") from None
        except (TimeoutError, aiohttp.ClientError) as e:
            raise _Retry(ProviderError(f"{self.name}: downloading {shown} failed: {type(e).__name__} {e}".strip(),
                                       code="connection_error")) from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
