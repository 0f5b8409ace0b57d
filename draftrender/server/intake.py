"""What a gen_video request asks for: its draft_url, wait and options checked, and the
draft fetched and hashed so identical requests can share one task.

Only http(s) URLs are taken: a request may never name a file on the server.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import math
from concurrent.futures import Executor
from dataclasses import dataclass

from ..errors import DraftUrlMissing, InvalidDraftUrl, InvalidRequest
from ..options import option_values, render_options
from ..timeline.load import check_url, load_source
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


async def fetch_draft(url: str, config: ServerConfig, threads: Executor) -> FetchedDraft:
    """The draft at `url`, through the same loader (and errors) as the library.

    `threads` are the service's own: a slow draft host must not take the default executor,
    which serves the video files."""
    loop = asyncio.get_running_loop()
    src = await loop.run_in_executor(threads, functools.partial(
        load_source, url, max_bytes=config.max_draft_bytes, allow_private_urls=config.allow_private_urls))
    canonical = await loop.run_in_executor(threads, functools.partial(
        json.dumps, src.data, sort_keys=True, ensure_ascii=False))
    return FetchedDraft(src.data, src.base_url or url, hashlib.sha256(canonical.encode("utf-8")).hexdigest())


def task_key(request: GenVideoRequest, draft: FetchedDraft) -> str:
    """Same draft_url, same options, same draft content: same key, same task."""
    ident = json.dumps([request.draft_url, request.options, draft.sha256], sort_keys=True)
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()
