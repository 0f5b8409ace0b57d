"""What a gen_video request asks for: its draft_url, wait and options checked, and the
draft fetched and hashed so identical requests can share one task.

Only http(s) URLs are taken: a request may never name a file on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
from concurrent.futures import Executor
from dataclasses import dataclass

from ..errors import DraftUrlMissing, InvalidDraftUrl, InvalidRequest, ServiceBusy
from ..options import option_values, render_options
from ..timeline.load import check_url, fetch_draft_bytes, parse_draft
from .config import ServerConfig

MAX_URL_LENGTH = 8192


@dataclass(frozen=True)
class GenVideoRequest:
    draft_url: str
    options: dict
    wait: float


def read_request(body, config: ServerConfig) -> GenVideoRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object with draft_url")
    url = body.get("draft_url")
    if url is None or (isinstance(url, str) and not url.strip()):
        raise DraftUrlMissing("draft_url is required")
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise InvalidDraftUrl(f"draft_url must be an http(s) URL of at most {MAX_URL_LENGTH} characters")
    url = check_url(url.strip())
    return GenVideoRequest(url, read_options(body.get("options")), read_wait(body.get("wait"), config))


def read_options(options) -> dict:
    """The request's render options, checked against draftrender/options.py; only those given."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidRequest("options must be a JSON object")
    return option_values(render_options(options), options)


def read_wait(wait, config: ServerConfig) -> float:
    if wait is None or wait is True:
        return config.default_wait
    if wait is False:
        return 0.0
    if isinstance(wait, str):
        try:
            wait = float(wait)
        except ValueError:
            raise InvalidRequest(f"wait must be a number of seconds, not {wait!r}") from None
    if not isinstance(wait, (int, float)) or not math.isfinite(wait) or wait < 0:
        raise InvalidRequest(f"wait must be a number of seconds ≥ 0, not {wait!r}")
    return min(float(wait), config.max_wait)


@dataclass(frozen=True)
class FetchedDraft:
    data: dict
    base_url: str  # after unwrapping a wrapper URL
    sha256: str  # of the draft as parsed, so reformatting alone is not a change


class DraftFetches:
    """At most `limit` drafts downloading at once (each may hold up to --max-draft-mb): one
    more is answered 503 with Retry-After at once, never left waiting."""

    def __init__(self, limit: int):
        self.limit, self.active = limit, 0

    @contextlib.asynccontextmanager
    async def slot(self):
        if self.active >= self.limit:
            raise ServiceBusy(f"{self.active} drafts are being fetched, the most this service fetches at once; "
                              "retry later")
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1


async def fetch_draft(url: str, config: ServerConfig, threads: Executor,
                      fetches: DraftFetches | None = None) -> FetchedDraft:
    """The draft at `url`, through the same loader (and errors) as the library.

    Downloaded on the event loop (a slow host holds no thread), within the draft deadline, as
    one of `fetches` when given; parsed and hashed on `threads`, the service's own, so the
    loop stays free."""
    async with fetches.slot() if fetches is not None else contextlib.nullcontext():
        base_url, raw = await fetch_draft_bytes(url, timeout=config.draft_timeout, max_bytes=config.max_draft_bytes,
                                                allow_private_urls=config.allow_private_urls)
    data, canonical = await asyncio.get_running_loop().run_in_executor(threads, parsed_and_canonical, raw, base_url)
    return FetchedDraft(data, base_url, hashlib.sha256(canonical.encode("utf-8")).hexdigest())


def parsed_and_canonical(raw: bytes, url: str) -> tuple[dict, str]:
    data = parse_draft(raw, url)
    return data, json.dumps(data, sort_keys=True, ensure_ascii=False)


def task_key(request: GenVideoRequest, draft: FetchedDraft, owner: str | None = None) -> str:
    """Same draft_url, same options, same draft content, same owner: same key, same task."""
    ident = json.dumps([request.draft_url, request.options, draft.sha256] + ([owner] if owner else []),
                       sort_keys=True)
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()
