"""Getting every medium of a timeline onto local disk once, and probing it.

Owns: the on-disk media cache (keyed by URL, filled by atomic renames, trimmed least recently
used first, partial files of killed downloads removed), concurrent downloads,
and collecting every missing, unreachable or unreadable medium into one MaterialUnreachable.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import time
from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..errors import MaterialUnreachable, UnsafeSource
from ..timeline.model import Media, Timeline
from ..http import FetchFailed, fetch_to_file, new_session, run_sync
from .probe import Probe, probe

CACHE_ENV = "DRAFTRENDER_CACHE"
SHOWN_FAILURES = 3  # media named in the one-line error; the rest are counted
EXTENSION = re.compile(r"^\.[A-Za-z0-9]{1,5}$")

Progress = Callable[[int, int], None]


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "draftrender" / "media"


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where `url` is cached: the sha256 of the URL, with the extension of its path kept
    so that decoders that go by extension still can."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix
    suffix = suffix.lower() if EXTENSION.match(suffix) else ""
    return cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest() + suffix)


def prepare_media(timeline: Timeline, *, cache_dir: Path | None = None, timeout: float = 60.0,
                  deadline: float | None = None, max_bytes: int = 2 << 30, max_cache_bytes: int | None = None,
                  concurrency: int = 8, retries: int = 3,
                  allow_private_urls: bool = True, progress: Progress | None = None) -> dict[str, Probe]:
    """Fetch and probe every medium of the timeline, keyed by Media.id.

    Local files are read in place; URLs are downloaded into the cache (a later call reuses
    them without a request). `timeout` is the seconds a download may stall before it is
    retried or given up; `deadline` the seconds one download may take in all, retries
    included. With `max_cache_bytes`, the cache is then trimmed to that size, least recently
    used first (this timeline's media stay). Raises one MaterialUnreachable naming every
    medium that failed.
    """
    media = timeline.media()
    if all(m.path is not None for m in media):
        # Nothing to download: the files are probed on threads, without an event loop, so a
        # local draft's render does not import asyncio and ssl (8 MB of memory).
        return _probe_local(media, timeline.draft_dir, concurrency=max(1, concurrency), progress=progress)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    probes = run_sync(lambda: _prepare_all(
        media, timeline.draft_dir, cache, timeout=timeout, deadline=deadline, max_bytes=max_bytes,
        concurrency=max(1, concurrency), retries=retries,
        allow_private_urls=allow_private_urls, progress=progress))
    if max_cache_bytes is not None:
        trim_cache(cache, max_cache_bytes, keep={p.path for p in probes.values()})
    return probes


def trim_cache(cache_dir: Path, max_bytes: int, keep: Collection[Path] = ()) -> None:
    """Remove the least recently used downloads (by modification time: a cache hit touches
    its file) until the cache holds at most `max_bytes`; files in `keep` stay."""
    files = []
    with os.scandir(cache_dir) as entries:
        for entry in entries:
            if entry.is_file() and not entry.name.endswith(".part"):  # a part is its download's
                st = entry.stat()
                files.append((st.st_mtime_ns, st.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        if path not in keep:
            path.unlink(missing_ok=True)
            total -= size


def remove_partial_downloads(cache_dir: Path, pid: int | None = None) -> None:
    """Remove the partial files of the downloads of a killed process `pid`, or of every
    download (when none can be running, as a service starts)."""
    for part in Path(cache_dir).glob(f".*.{pid}-*.part" if pid else ".*.part"):
        part.unlink(missing_ok=True)


PART_OWNER = re.compile(r"\.(\d+)-[0-9a-f]{8}\.part$")  # the pid of the process writing a part


def remove_orphaned_downloads(cache_dir: Path) -> None:
    """Remove the partial files of downloads whose process is gone (a Celery worker killed
    mid-download): a part is named .NAME.PID-XXXXXXXX.part by the process that writes it.
    For a cache that only this machine's processes write to."""
    for part in Path(cache_dir).glob(".*.part"):
        owner = PART_OWNER.search(part.name)
        if owner and not _alive(int(owner[1])):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Running, or stopped: not gone, and not a zombie (a killed process its parent has not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc to read: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: alive
            pass
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"  # the state follows the command name in parentheses


def _probe_local(media: tuple[Media, ...], draft_dir: Path | None, *, concurrency: int,
                 progress: Progress | None) -> dict[str, Probe]:
    """Every medium probed where it lies, `concurrency` at a time."""
    def one(m: Media) -> Probe | BaseException:
        try:
            path = _local_path(m, draft_dir)
            assert path is not None  # every medium has a path here
            return probe(path)
        except Exception as exc:  # noqa: BLE001 - collected: one error names every medium that failed
            return exc

    if progress:
        progress(0, len(media))
    results = []
    with concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="draftrender-probe") as pool:
        for result in pool.map(one, media):
            results.append(result)
            if progress:
                progress(len(results), len(media))
    return _collected(media, results)


async def _prepare_all(media: tuple[Media, ...], draft_dir: Path | None, cache: Path, *,
                       timeout: float, deadline: float | None, max_bytes: int, concurrency: int, retries: int,
                       allow_private_urls: bool, progress: Progress | None) -> dict[str, Probe]:
    import asyncio

    total, done = len(media), 0
    gate = asyncio.Semaphore(concurrency)
    downloads: dict[str, asyncio.Future[Path]] = {}  # one download per URL, shared by media
    if progress:
        progress(0, total)

    session = None

    async def download(url: str) -> Path:
        nonlocal session
        dest = cache_path(cache, url)
        if dest.is_file() and dest.stat().st_size > 0:
            now = time.time_ns()  # finer than the file system's own clock: no ties with a download
            os.utime(dest, ns=(now, now))  # used now: among the last to go when the cache is trimmed
            return dest
        if session is None:  # made on the first download: a local draft never imports aiohttp
            session = new_session(allow_private_urls=allow_private_urls, limit=concurrency)
        async with gate:
            return await fetch_to_file(url, dest, session=session, timeout=timeout, deadline=deadline,
                                       max_bytes=max_bytes, retries=retries,
                                       allow_private_urls=allow_private_urls)

    async def one(m: Media) -> Probe:
        nonlocal done
        try:
            path = _local_path(m, draft_dir)
            if path is None:
                url = str(m.url)  # _local_path answers None only for an http(s) URL
                if url not in downloads:
                    downloads[url] = asyncio.ensure_future(download(url))
                path = await downloads[url]
            async with gate:
                return await _probe_medium(m, path, cached=path.parent == cache)
        finally:
            done += 1
            if progress:
                progress(done, total)

    try:
        results = await asyncio.gather(*(one(m) for m in media), return_exceptions=True)
    finally:
        if session is not None:
            await session.close()

    return _collected(media, results)


def _collected(media: tuple[Media, ...], results: list) -> dict[str, Probe]:
    """The probes by medium id; one MaterialUnreachable naming every medium that failed."""
    probes, failures = {}, []
    for m, result in zip(media, results, strict=True):
        if isinstance(result, Probe):
            probes[m.id] = result
        elif isinstance(result, BaseException):
            failures.append((_short_failure(m, result), _describe_failure(m, result)))
    if failures:
        shown = "; ".join(short for short, _ in failures[:SHOWN_FAILURES])
        more = len(failures) - SHOWN_FAILURES
        raise MaterialUnreachable(
            f"{len(failures)} of {len(media)} media unreachable: {shown}"
            + (f"; and {more} more (all of them: --json, or the error body's materials)" if more > 0 else ""),
            [full for _, full in failures])
    return probes


def _local_path(m: Media, draft_dir: Path | None) -> Path | None:
    """The file to read in place, or None when the medium must be downloaded."""
    if m.path is not None:
        path = Path(m.path)
        return path if path.is_absolute() or draft_dir is None else draft_dir / path
    if m.url is None:
        raise _Missing()
    if urlsplit(m.url).scheme.lower() not in ("http", "https"):
        raise FetchFailed(m.url, "not an http(s) URL")
    return None


async def _probe_medium(m: Media, path: Path, *, cached: bool) -> Probe:
    import asyncio

    try:
        return await asyncio.to_thread(probe, path)
    except MaterialUnreachable as exc:
        if not cached:
            raise
        # A corrupt body must not poison the cache: the next call downloads again.
        path.unlink(missing_ok=True)
        why = exc.reason
        raise MaterialUnreachable(f"unreadable download from {m.url}: {why}", [str(m.url)]) from None


class _Missing(Exception):
    """A medium the parser found neither on disk nor on the web."""


def _short_failure(m: Media, exc: BaseException) -> str:
    """The failure in a few words, for the one-line message that names only a few."""
    name = m.name or m.written_path or m.id
    if isinstance(exc, _Missing):
        return f"{name}: {_refusal(m) or 'missing'}"
    return _describe_failure(m, exc)


def _refusal(m: Media) -> str:
    """Why a file that exists was not read, when the media roots refused it."""
    for place in m.looked_in:
        path, _, why = place.partition(" (refused: ")
        if why.startswith("it is outside the allowed media folders") and Path(path).is_file():
            return f"{path} is outside the allowed media folders (add its folder with --media-root)"
    return ""


def _describe_failure(m: Media, exc: BaseException) -> str:
    name = m.name or m.written_path or m.id
    if isinstance(exc, _Missing):
        where = ", ".join(m.looked_in) or m.written_path or "nowhere"
        refused = _refusal(m)
        return f"{name}: {refused} (looked in {where})" if refused else f"{name}: missing (looked in {where})"
    if isinstance(exc, FetchFailed):
        return f"{name}: {exc.reason} from {exc.url}"
    if isinstance(exc, UnsafeSource):
        return f"{name}: {exc}"
    if isinstance(exc, MaterialUnreachable):
        return f"{name}: {exc}"
    if isinstance(exc, OSError):
        return f"{name}: {exc.strerror or exc} ({m.location})"
    return f"{name}: {type(exc).__name__}: {exc} ({m.location})"
