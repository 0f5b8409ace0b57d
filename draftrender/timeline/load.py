"""Turning what the user gave into draft JSON.

Owns: telling a path, a draft folder, a URL and a wrapper URL apart; unwrapping wrapper URLs;
choosing the active timeline in a draft folder; fetching and decoding the bytes; and the
errors for empty, malformed, encrypted and oversized drafts. Nothing here interprets the
draft beyond "is there something to render".
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..http import FetchFailed, fetch_bytes, format_size, run_sync
from ..errors import (
    AmbiguousDraft,
    DraftEmpty,
    DraftNotFound,
    DraftUrlMissing,
    EncryptedDraft,
    InvalidDraftUrl,
    MalformedDraft,
    UnsafeSource,
)

DRAFT_FILES = ("draft_content.json", "draft_info.json")  # the second is what macOS editors write
WRAPPER_PARAMS = ("drafid", "draft_id", "draft_url")  # compared lower-cased
MAX_UNWRAP = 3
LOAD_RETRIES = 2
LOAD_BACKOFF = 0.1
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


@dataclass(frozen=True, slots=True)
class DraftSource:
    data: dict  # the parsed draft JSON (top-level object)
    draft_dir: Path | None  # folder holding the draft, for relative media; None for URL/dict
    origin: str  # what the user gave, for messages
    base_url: str | None = None  # the URL the JSON came from (relative media URLs resolve against it)


def load_source(source: str | os.PathLike | dict | None, *, timeline: str | None = None,
                timeout: float = 30.0, max_bytes: int = 64 << 20,
                allow_private_urls: bool = True) -> DraftSource:
    """Read a draft from a path, a draft folder, an http(s) or wrapper URL, or a parsed dict."""
    if isinstance(source, dict):
        return DraftSource(check_draft(source, "the given draft"), None, "the given draft")
    if source is None or (isinstance(source, str) and not source.strip()):
        raise DraftUrlMissing("no draft given: pass a draft_content.json path, a draft folder or a URL")
    if isinstance(source, os.PathLike):
        return _load_path(Path(source), timeline, max_bytes)
    if not isinstance(source, str):
        raise InvalidDraftUrl(f"a draft source must be a path, a URL or a dict, not {type(source).__name__}")
    text = source.strip()
    if _looks_like_url(text):
        return _load_url(text, timeout, max_bytes, allow_private_urls)
    return _load_path(Path(text).expanduser(), timeline, max_bytes)


# ---------------------------------------------------------------- URLs


def _looks_like_url(text: str) -> bool:
    m = SCHEME.match(text)
    # One letter is a Windows drive (C:\...), not a scheme.
    return m is not None and len(m.group(1)) > 1 and ("://" in text or m.group(1).lower() in ("http", "https"))


def check_url(url: str) -> str:
    """The URL, if it is a usable http(s) URL; else InvalidDraftUrl."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidDraftUrl(f"invalid draft URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidDraftUrl(f"draft URL {url!r} must use http or https, not {parts.scheme or 'no scheme'}")
    if not parts.hostname or any(c.isspace() for c in url):
        raise InvalidDraftUrl(f"invalid draft URL {url!r}: no host")
    return url


def unwrap_url(url: str) -> str:
    """The real JSON URL inside a wrapper URL (drafId / draft_id / draft_url in the query or
    in the `#` fragment, as the Coze plugin writes it); a plain URL comes back unchanged."""
    for depth in range(MAX_UNWRAP):
        inner = _wrapped(url)
        if inner is None:
            if depth == 0 and urlsplit(url).fragment.startswith("/"):
                # "#/route?..." is a web app's page (the Coze plugin's viewer), not a draft.
                raise InvalidDraftUrl(f"{url} is a wrapper page's address without the draft's: it needs "
                                      f"drafId=<the draft JSON's http(s) URL> (or draft_id=, draft_url=)")
            return url
        url = inner
    return url


def _wrapped(url: str) -> str | None:
    parts = urlsplit(url)
    fragment_query = parts.fragment.split("?", 1)[-1]  # "#/cozeToJianyin?drafId=..."
    for query in (parts.query, fragment_query):
        for raw_key, raw_value in _raw_params(query):
            if unquote(raw_key).lower() not in WRAPPER_PARAMS:
                continue
            if "?" in raw_value or "#" in raw_value:
                # An unencoded inner URL keeps its own query: take the rest of the string,
                # or a signed URL would lose its signature to the outer parser.
                raw_value = query.split(raw_key + "=", 1)[1]
            value = unquote(raw_value).strip()  # "+" stays: signatures carry it literally
            for _ in range(2):  # encoded twice by some services
                if not SCHEME.match(value) and "%3a" in value[:10].lower():
                    value = unquote(value)
            if not value.lower().startswith(("http://", "https://")):
                raise InvalidDraftUrl(f"wrapper URL {url!r} carries {raw_key}={value!r}, not an http(s) URL")
            return value
    return None


def _raw_params(query: str) -> list[tuple[str, str]]:
    # parse_qsl would decode values before we can tell an encoded inner URL from a raw one.
    pairs = []
    for item in query.split("&"):
        key, sep, value = item.partition("=")
        if sep:
            pairs.append((key, value))
    return pairs


def _load_url(given: str, timeout: float, max_bytes: int, allow_private_urls: bool) -> DraftSource:
    url, raw = run_sync(lambda: fetch_draft_bytes(given, timeout=timeout, max_bytes=max_bytes,
                                                  allow_private_urls=allow_private_urls))
    return DraftSource(parse_draft(raw, url), None, given, base_url=url)


async def fetch_draft_bytes(given: str, *, timeout: float = 30.0, max_bytes: int = 64 << 20,
                            allow_private_urls: bool = True) -> tuple[str, bytes]:
    """(the draft's own URL after unwrapping, its bytes), fetched on the running event loop
    within `timeout` seconds in all; parse them with parse_draft."""
    url = check_url(unwrap_url(check_url(given)))
    try:
        raw = await fetch_bytes(url, timeout=timeout, deadline=timeout, max_bytes=max_bytes, retries=LOAD_RETRIES,
                                backoff=LOAD_BACKOFF, allow_private_urls=allow_private_urls)
    except UnsafeSource as refused:
        raise InvalidDraftUrl(f"draft URL {url} refused: {refused}") from None
    except FetchFailed as failure:
        if failure.too_large:
            raise MalformedDraft(f"draft at {url} is larger than the {format_size(max_bytes)} cap") from None
        raise DraftNotFound(f"draft not found at {url}: {failure.reason}") from None
    return url, raw


# ---------------------------------------------------------------- local files and folders


def _load_path(path: Path, timeline: str | None, max_bytes: int) -> DraftSource:
    if path.is_dir():
        file = find_timeline_file(path, timeline)
        return DraftSource(_read_draft_file(file, max_bytes), path.resolve(), str(path))
    if path.is_file():
        return DraftSource(_read_draft_file(path, max_bytes), draft_root(path), str(path))
    raise DraftNotFound(f"no such draft file or folder: {path}")


def draft_root(file: Path) -> Path:
    """The draft folder for a draft file: Timelines/<id>/draft_content.json belongs to the
    folder two levels up, which is where media placeholders point."""
    parent = file.resolve().parent
    if parent.parent.name == "Timelines":
        return parent.parent.parent
    return parent


def _read_draft_file(path: Path, max_bytes: int) -> dict:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise MalformedDraft(f"draft {path} is {format_size(size)}, over the {format_size(max_bytes)} cap")
        raw = path.read_bytes()
    except OSError as exc:
        raise DraftNotFound(f"cannot read draft {path}: {exc.strerror or exc}") from None
    return parse_draft(raw, str(path))


def _draft_file_in(folder: Path) -> Path | None:
    return next((folder / n for n in DRAFT_FILES if (folder / n).is_file()), None)


def _read_json_quietly(path: Path) -> dict:
    # Side files (project.json, timeline_layout.json) only help to choose: a broken one is ignored.
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _find_key(data, key: str, depth: int = 3):
    """The first value of `key` in nested dicts, a few levels deep (shapes vary by version)."""
    if isinstance(data, dict):
        if data.get(key):
            return data[key]
        children = list(data.values())
    elif isinstance(data, list):
        children = data
    else:
        return None
    if depth == 0:
        return None
    for child in children:
        found = _find_key(child, key, depth - 1)
        if found:
            return found
    return None


def _deleted_ids(project: dict) -> set[str]:
    """Timeline ids that project.json marks deleted, whatever the flag is called."""
    listed = project.get("timelines") or project.get("timeline_list") or []
    if isinstance(listed, dict):
        listed = [dict(v, id=v.get("id", k)) for k, v in listed.items() if isinstance(v, dict)]
    deleted = set()
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and any("delet" in k.lower() and v for k, v in item.items()):
            deleted.add(str(item.get("id", "")))
    return deleted


def find_timeline_file(folder: Path, timeline: str | None = None) -> Path:
    """The draft file of a draft folder: its root file, or the active Timelines/<id>/ one."""
    root_file = _draft_file_in(folder)
    timelines_dir = folder / "Timelines"
    timelines = {}
    if timelines_dir.is_dir():
        for sub in sorted(timelines_dir.iterdir()):
            file = _draft_file_in(sub) if sub.is_dir() else None
            if file is not None:
                timelines[sub.name] = file

    if timeline is not None:
        if timeline in timelines:
            return timelines[timeline]
        if root_file is not None and str(_read_json_quietly(root_file).get("id", "")) == timeline:
            return root_file
        known = ", ".join(timelines) or "none"
        raise DraftNotFound(f"timeline {timeline!r} not found in {folder} (timelines: {known})")
    if not timelines:
        if root_file is None:
            raise DraftNotFound(f"no {' or '.join(DRAFT_FILES)} in draft folder {folder}")
        return root_file
    chosen = _active_timeline(folder, root_file, timelines)
    if chosen is None:
        raise AmbiguousDraft(
            f"draft folder {folder} holds timelines {', '.join(timelines)} and none is marked "
            f"active: pass timeline=<id> to choose one")
    return timelines[chosen]


def _active_timeline(folder: Path, root_file: Path | None, timelines: dict[str, Path]) -> str | None:
    # The order the editors' own files decide in; the root file may be a stale mirror.
    project = _read_json_quietly(folder / "Timelines" / "project.json")
    candidates = [
        _find_key(_read_json_quietly(folder / "timeline_layout.json"), "activeTimeline"),
        _read_json_quietly(root_file).get("id") if root_file is not None else None,
        _find_key(project, "main_timeline_id", depth=1),
    ]
    for candidate in candidates:
        if isinstance(candidate, str) and candidate in timelines:
            return candidate
    alive = [t for t in timelines if t not in _deleted_ids(project)]
    return alive[0] if len(alive) == 1 else None


# ---------------------------------------------------------------- bytes to draft


def parse_draft(raw: bytes, origin: str) -> dict:
    """The draft object in `raw`, or the error that says why there is none."""
    text = _decode(raw)
    if text is not None and not text.strip():
        raise DraftEmpty(f"draft {origin} is empty")
    if text is None or not text.lstrip().startswith(("{", "[")):
        if looks_encrypted(raw):
            raise EncryptedDraft(
                f"draft {origin} is encrypted (JianYing 6 and later encrypt saved drafts): "
                f"re-save or export it unencrypted, or produce it with a draft writer")
        start = (text if text is not None else raw.decode("latin-1")).strip()[:20]
        raise MalformedDraft(f"draft {origin} is not JSON: it starts with {start!r}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedDraft(
            f"invalid JSON in draft {origin} at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise MalformedDraft(f"draft {origin} is nested too deeply to read") from None
    return check_draft(data, origin)


def check_draft(data, origin: str) -> dict:
    if not isinstance(data, dict):
        raise MalformedDraft(f"draft {origin} must be a JSON object, not a {type(data).__name__}")
    if not data.get("tracks") and not data.get("materials"):
        raise DraftEmpty(f"draft {origin} has no tracks and no materials")
    return data


def _decode(raw: bytes) -> str | None:
    """Text of a JSON file in UTF-8 (with or without BOM) or UTF-16; None if it is neither."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    elif raw.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif len(raw) >= 2 and raw[0] and not raw[1]:
        encodings = ["utf-16-le", "utf-8"]  # "{\0" : UTF-16 written without a BOM
    elif len(raw) >= 2 and not raw[0] and raw[1]:
        encodings = ["utf-16-be", "utf-8"]
    else:
        encodings = ["utf-8"]
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


BASE64_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_\r\n")


def looks_encrypted(raw: bytes) -> bool:
    """Whether non-JSON content looks like the blob JianYing 6+ saves: mostly base64, or
    binary. HTML error pages and other text do not."""
    sample = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]
    if len(sample) < 32:
        return False
    base64_share = sum(b in BASE64_BYTES for b in sample) / len(sample)
    control = sum(b < 9 or 13 < b < 32 or b == 127 for b in sample)
    invalid_utf8 = sample.decode("utf-8", errors="replace").count("\ufffd")
    return base64_share > 0.95 or (control + invalid_utf8) / len(sample) > 0.1
