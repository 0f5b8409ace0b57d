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
from ..render.encode import NVENC_PRESETS
from ..timeline.load import check_url, load_source
from .config import ServerConfig

MAX_URL_LENGTH = 8192


def _number(lo: float, hi: float, integer: bool = False):
    def check(name: str, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidRequest(f"option {name} must be a number, not {value!r}")
        if integer and value != int(value):
            raise InvalidRequest(f"option {name} must be a whole number, not {value!r}")
        if not lo <= value <= hi:
            raise InvalidRequest(f"option {name} must be between {lo:g} and {hi:g}, not {value!r}")
        return int(value) if integer else value
    return check


def _choice(*allowed: str):
    def check(name: str, value):
        if value not in allowed:
            raise InvalidRequest(f"option {name} must be one of {', '.join(allowed)}, not {value!r}")
        return value
    return check


# The render options a caller may set, and what each accepts.
OPTIONS = {
    "scale": _number(0.05, 4), "fps": _number(1, 240), "crf": _number(0, 51, integer=True),
    "encoder": _choice("libx264", "nvenc", "auto"), "codec": _choice("h264", "h265"),
    "preset": _choice(*NVENC_PRESETS), "bitrate": _number(100_000, 200_000_000, integer=True),
    "start": _number(0, 86_400), "end": _number(0, 86_400),
}


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
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidRequest("options must be a JSON object")
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise InvalidRequest(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    checked = {k: OPTIONS[k](k, v) for k, v in sorted(options.items()) if v is not None}
    if checked.get("end") is not None and checked["end"] <= checked.get("start", 0):
        raise InvalidRequest(f"option end ({checked['end']}) must come after start ({checked.get('start', 0)})")
    return checked


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
