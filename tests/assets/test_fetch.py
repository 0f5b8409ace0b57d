"""draftrender.assets.prepare_media: local media, downloads into the cache, retries, limits,
and one error naming every medium that failed. HTTP goes to a real aiohttp server on
127.0.0.1 (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from aiohttp import web
from drafts import full_pyjy_draft
from loopback_dns import LoopbackDNS

import draftrender
from draftrender import http
from draftrender.assets import cache_path, default_cache_dir, prepare_media
from draftrender.assets.fetch import remove_orphaned_downloads
from draftrender.errors import MaterialUnreachable
from draftrender.timeline.model import Canvas, Media, Segment, TimeRange, Timeline, Track
from media_factory import make_clip, make_image, make_tone

SECOND = 1_000_000


def timeline_of(*media: Media, draft_dir=None) -> Timeline:
    """A minimal timeline: each medium as one segment, visual ones on a video track."""
    tracks = []
    for kind in ("video", "audio"):
        chosen = [m for m in media if (m.kind == "audio") == (kind == "audio")]
        segments = tuple(Segment(id=f"s{i}", track_index=len(tracks), index=i, kind=kind, material=m,
                                 target=TimeRange(i * SECOND, SECOND), source=TimeRange(0, SECOND))
                         for i, m in enumerate(chosen))
        if segments:
            tracks.append(Track(index=len(tracks), id=kind, type=kind, name=kind, muted=False, segments=segments))
    return Timeline(canvas=Canvas(320, 180), fps=Fraction(30), duration=len(media) * SECOND,
                    tracks=tuple(tracks), draft_dir=draft_dir)


def local(media_id, path, kind="video") -> Media:
    return Media(id=media_id, kind=kind, name=path.name, written_path=str(path), path=path)


def remote(media_id, url, name, kind="video") -> Media:
    return Media(id=media_id, kind=kind, name=name, written_path=url, url=url)


def cached_files(cache) -> list:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


@pytest.fixture
def clip_bytes(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("src") / "clip.mp4", audio_hz=440).read_bytes()


def test_local_media_are_probed_in_place(tmp_path):
    clip = make_clip(tmp_path / "a.mp4")
    photo = make_image(tmp_path / "b.png")
    tone = make_tone(tmp_path / "c.wav")
    seen = []
    probes = prepare_media(
        timeline_of(local("v", clip), local("p", photo, "photo"), local("a", tone, "audio")),
        cache_dir=tmp_path / "cache", progress=lambda done, total: seen.append((done, total)))
    assert set(probes) == {"v", "p", "a"}
    assert probes["v"].path == clip and probes["v"].kind == "video"
    assert probes["p"].kind == "photo" and probes["a"].kind == "audio"
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert cached_files(tmp_path / "cache") == []


def test_relative_path_resolves_against_draft_dir(tmp_path):
    make_image(tmp_path / "media" / "p.jpg")
    m = Media(id="p", kind="photo", name="p.jpg", written_path="media/p.jpg", path=Path("media/p.jpg"))
    probes = prepare_media(timeline_of(m, draft_dir=tmp_path), cache_dir=tmp_path / "cache")
    assert probes["p"].width == 320


def test_download_then_cache_hit(http_server, tmp_path, clip_bytes):
    url = http_server.serve("/media/clip.MP4", clip_bytes, content_type="video/mp4")
    cache = tmp_path / "cache"
    timeline = timeline_of(remote("v", url, "clip.mp4"))
    first = prepare_media(timeline, cache_dir=cache)["v"]
    assert first.path == cache / (hashlib.sha256(url.encode()).hexdigest() + ".mp4")
    assert first.path.read_bytes() == clip_bytes
    assert (first.kind, first.width, first.height, first.has_audio) == ("video", 320, 180, True)
    assert cached_files(cache) == [first.path.name]  # no temporary file left beside it

    second = prepare_media(timeline, cache_dir=cache)["v"]
    assert second == first
    assert http_server.hits["/media/clip.MP4"] == 1  # the second call made no request


def test_same_url_downloaded_once(http_server, tmp_path, clip_bytes):
    url = http_server.serve("/same.mp4", clip_bytes)
    probes = prepare_media(timeline_of(remote("a", url, "one"), remote("b", url, "two")),
                           cache_dir=tmp_path / "cache")
    assert probes["a"].path == probes["b"].path
    assert http_server.hits["/same.mp4"] == 1


def test_concurrent_downloads(http_server, tmp_path, clip_bytes):
    active, peak = [0], [0]

    async def slowish(request):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await asyncio.sleep(0.1)
        active[0] -= 1
        return web.Response(body=clip_bytes)

    media = [remote(f"m{i}", http_server.route(f"/c{i}.mp4", slowish), f"c{i}.mp4") for i in range(4)]
    probes = prepare_media(timeline_of(*media), cache_dir=tmp_path / "cache", concurrency=2)
    assert len(probes) == 4
    assert peak[0] == 2  # in parallel, and never more than `concurrency` at once


def test_retries_5xx_then_succeeds(http_server, tmp_path, clip_bytes):
    async def flaky(request):
        if http_server.hits["/flaky.mp4"] < 3:
            return web.Response(status=502)
        return web.Response(body=clip_bytes)

    url = http_server.route("/flaky.mp4", flaky)
    probes = prepare_media(timeline_of(remote("v", url, "flaky.mp4")), cache_dir=tmp_path / "cache", retries=3)
    assert probes["v"].kind == "video"
    assert http_server.hits["/flaky.mp4"] == 3


def test_missing_and_unreachable_listed_together(http_server, tmp_path, clip_bytes):
    good = http_server.serve("/ok.mp4", clip_bytes)
    corrupt = http_server.serve("/broken.mp4", b"\x00\x01 not a video " * 100)
    lost = Media(id="lost", kind="video", name="holiday.mp4", written_path="D:/clips/holiday.mp4",
                 looked_in=("D:/clips/holiday.mp4", str(tmp_path / "holiday.mp4")))
    media = [remote("ok", good, "ok.mp4"), lost,
             remote("404", http_server.url("/nope.mp4"), "nope.mp4"),
             remote("bad", corrupt, "broken.mp4"),
             local("gone", tmp_path / "deleted.png", "photo")]
    cache = tmp_path / "cache"
    with pytest.raises(MaterialUnreachable) as exc:
        prepare_media(timeline_of(*media), cache_dir=cache)
    message = str(exc.value)
    assert "\n" not in message and message.startswith("4 of 5 media unreachable: holiday.mp4: missing; nope.mp4")
    assert message.endswith("; and 1 more (all of them: --json, or the error body's materials)")
    listed = "; ".join(exc.value.materials)
    assert "holiday.mp4: missing (looked in D:/clips/holiday.mp4, " in listed
    assert f"nope.mp4: HTTP 404 from {http_server.url('/nope.mp4')}" in listed
    assert f"broken.mp4: unreadable download from {corrupt}: " in listed
    assert f"deleted.png: media file not found: {tmp_path / 'deleted.png'}" in listed
    assert "ok.mp4" not in listed
    assert len(exc.value.materials) == 4
    assert http_server.hits["/nope.mp4"] == 1  # 4xx is not retried
    # Only the good download stays cached: the corrupt body is dropped, nothing is half-written.
    assert cached_files(cache) == [cache_path(cache, good).name]


def test_size_cap(http_server, tmp_path, clip_bytes):
    url = http_server.serve("/big.mp4", clip_bytes)
    with pytest.raises(MaterialUnreachable, match="larger than the 1 KiB cap"):
        prepare_media(timeline_of(remote("v", url, "big.mp4")), cache_dir=tmp_path / "cache", max_bytes=1024)
    assert cached_files(tmp_path / "cache") == []


def test_connection_dropped_midway_leaves_nothing(http_server, tmp_path, clip_bytes):
    async def cut(request):
        resp = web.StreamResponse(headers={"Content-Length": str(len(clip_bytes))})
        await resp.prepare(request)
        await resp.write(clip_bytes[:2000])
        request.transport.close()  # the server goes away mid-body
        return resp

    url = http_server.route("/cut.mp4", cut)
    with pytest.raises(MaterialUnreachable, match="cut.mp4"):
        prepare_media(timeline_of(remote("v", url, "cut.mp4")), cache_dir=tmp_path / "cache", retries=1)
    assert http_server.hits["/cut.mp4"] == 2  # a dropped connection is retried
    assert cached_files(tmp_path / "cache") == []


def test_stalled_download_times_out(http_server, tmp_path):
    async def never(request):
        await asyncio.sleep(30)
        return web.Response()

    url = http_server.route("/stall.mp4", never)
    started = time.monotonic()
    with pytest.raises(MaterialUnreachable, match=r"timed out after 0\.3 s"):
        prepare_media(timeline_of(remote("v", url, "stall.mp4")), cache_dir=tmp_path / "cache",
                      timeout=0.3, retries=0)
    assert time.monotonic() - started < 1.5


def test_private_url_refused(http_server, tmp_path, clip_bytes):
    url = http_server.serve("/p.mp4", clip_bytes)
    with pytest.raises(MaterialUnreachable, match="private address"):
        prepare_media(timeline_of(remote("v", url, "p.mp4")), cache_dir=tmp_path / "cache",
                      allow_private_urls=False)
    assert http_server.hits["/p.mp4"] == 0


def test_a_medium_whose_name_resolves_to_loopback_is_refused_at_connect(http_server, tmp_path, clip_bytes,
                                                                       monkeypatch):
    monkeypatch.setattr(http, "base_resolver", LoopbackDNS)
    url = http_server.serve("/rebound.mp4", clip_bytes).replace("127.0.0.1", "media.example.com")
    tl = timeline_of(remote("v", url, "rebound.mp4"))
    with pytest.raises(MaterialUnreachable, match=r"media.example.com: it resolves to a private address \(127"):
        prepare_media(tl, cache_dir=tmp_path / "cache", allow_private_urls=False)
    assert http_server.hits["/rebound.mp4"] == 0
    assert prepare_media(tl, cache_dir=tmp_path / "cache", allow_private_urls=True)["v"].kind == "video"
    assert http_server.hits["/rebound.mp4"] == 1


def test_the_cache_is_trimmed_least_recently_used_first(http_server, tmp_path):
    clips = {name: make_clip(tmp_path / "src" / f"{name}.mp4", color=color).read_bytes()
             for name, color in (("a", (200, 0, 0)), ("b", (0, 200, 0)), ("c", (0, 0, 200)))}
    urls = {name: http_server.serve(f"/{name}.mp4", body) for name, body in clips.items()}
    cache = tmp_path / "cache"
    cap = len(clips["a"]) + max(len(clips["b"]), len(clips["c"]))  # fits two, not three
    for name in ("a", "b", "a", "c"):  # a is used again after b: b is the least recently used
        prepare_media(timeline_of(remote(name, urls[name], f"{name}.mp4")), cache_dir=cache, max_cache_bytes=cap)
    left = {name for name, body in clips.items() if body in {p.read_bytes() for p in cache.iterdir()}}
    assert left == {"a", "c"}, ({n: len(b) for n, b in clips.items()}, cap)
    assert http_server.hits["/a.mp4"] == 1  # the second use was a cache hit


def test_non_http_url_is_unreachable(tmp_path):
    with pytest.raises(MaterialUnreachable, match="not an http"):
        prepare_media(timeline_of(remote("v", "ftp://host/a.mp4", "a.mp4")), cache_dir=tmp_path / "cache")


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("DRAFTRENDER_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DRAFTRENDER_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "draftrender", "media")


def test_cache_path_keeps_only_a_sane_extension(tmp_path):
    assert cache_path(tmp_path, "https://h/v/a.MOV?sig=1").suffix == ".mov"
    assert cache_path(tmp_path, "https://h/v/download").suffix == ""
    assert cache_path(tmp_path, "https://h/v/a.b/../x.weird-ext").suffix == ""


def test_a_local_render_never_imports_the_http_client_or_an_event_loop(tmp_path):
    # aiohttp costs about 20 MB of memory and 0.15 s to import, asyncio and ssl 8 MB more:
    # only URLs should pay for them.
    draft = full_pyjy_draft(tmp_path)
    code = ("import sys, draftrender; draftrender.render_frame(sys.argv[1], 0.5); "
            "print(*(m in sys.modules for m in ('aiohttp', 'asyncio', 'ssl')))")
    out = subprocess.run([sys.executable, "-c", code, str(draft)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]


def test_local_media_that_fail_are_all_named_without_an_event_loop(tmp_path):
    tl = draftrender.load_draft(full_pyjy_draft(tmp_path))
    media = tl.media()
    assert all(m.path is not None for m in media)  # all local: probed on threads
    for m in media:
        Path(m.path if Path(m.path).is_absolute() else tl.draft_dir / m.path).write_bytes(b"not media")
    with pytest.raises(MaterialUnreachable) as caught:
        prepare_media(tl)
    assert f"{len(media)} of {len(media)} media unreachable" in str(caught.value)


def test_only_the_partial_files_of_dead_processes_are_orphans(tmp_path):
    reaped = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    zombie.kill()  # killed and not yet reaped: a zombie, as a killed worker is until its parent waits
    try:
        for pid, name in ((int(reaped.stdout), "a"), (zombie.pid, "b"), (os.getpid(), "c")):
            (tmp_path / f".{name}.mp4.{pid}-0123abcd.part").write_bytes(b"x")
        (tmp_path / "d.mp4").write_bytes(b"x")
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # until it has died, leaving it unreaped
        remove_orphaned_downloads(tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".c.mp4.{os.getpid()}-0123abcd.part", "d.mp4"]
    finally:
        zombie.wait()
