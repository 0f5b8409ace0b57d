"""The holes a hostile probe of the service found (issue 16), each closed and kept closed:
every test drives the real service on loopback the way the probe did."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import re
import socket
import time
from pathlib import Path
from urllib.parse import quote

import av
import numpy as np
from aiohttp import web
from PIL import Image
from drafts import draft_file, edit_json
from loopback_dns import LoopbackDNS
from service_harness import publish, tiny_draft

from draftrender import http
from draftrender.http import run_sync


def swap_cube(path: Path, n: int = 3) -> Path:
    """A .cube LUT that swaps red and blue."""
    rows = [f"{b / (n - 1)} {g / (n - 1)} {r / (n - 1)}" for b in range(n) for g in range(n) for r in range(n)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"LUT_3D_SIZE {n}\n" + "\n".join(rows) + "\n")
    return path


def first_frame(data: bytes, tmp: Path) -> np.ndarray:
    tmp.write_bytes(data)
    with av.open(str(tmp)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def with_lut(folder: Path, lut_path: str) -> None:
    def edit(d: dict) -> None:
        d["materials"].setdefault("effects", []).append({"id": "lut1", "type": "lut", "name": "swap",
                                                         "path": lut_path, "value": 1.0})
        d["tracks"][0]["segments"][0]["extra_material_refs"].append("lut1")
    edit_json(folder, edit)


def test_lut_files_pass_the_media_roots(tmp_path, start_service, http_server):
    """A LUT is read only under --media-root: /dev/zero or a .cube elsewhere is left out and
    reported; one inside a root is applied."""
    inside = swap_cube(tmp_path / "library" / "swap.cube")
    outside = swap_cube(tmp_path / "elsewhere" / "swap.cube")
    service = start_service(media_roots=(tmp_path / "library",))
    results = {}
    for name, lut in (("inside", str(inside)), ("outside", str(outside)), ("zero", "/dev/zero"),
                      ("relative", "swap.cube")):
        folder = tiny_draft(tmp_path / name, color=(200, 90, 40))
        with_lut(folder, lut)
        http_server.serve(f"/{name}/media/clip.mp4", (folder / "media" / "clip.mp4").read_bytes())
        url = http_server.serve(f"/{name}/draft_content.json", draft_file(folder).read_bytes())
        reply = service.gen_video(url)
        assert reply.status == 200, reply.body
        pixel = first_frame(service.download(reply.json["video_url"]).body, tmp_path / f"{name}.mp4")[90, 160]
        results[name] = (pixel, [n["reason"] for n in reply.json["fidelity"] if n["feature"] == "LUT swap"])

    pixel, notes = results["inside"]
    assert pixel[2] > 150 and pixel[0] < 90 and notes == []  # red and blue swapped
    for name in ("outside", "zero", "relative"):
        pixel, notes = results[name]
        assert pixel[0] > 150 and pixel[2] < 90, name  # left out: the clip's own colour
        assert len(notes) == 1, (name, notes)
    assert "outside the allowed media folders" in results["outside"][1][0]
    assert "outside the allowed media folders" in results["zero"][1][0]
    assert "is not a local file" in results["relative"][1][0]


# ---------------------------------------------------------------- slow and many connections


def raw_exchange(service, data: bytes) -> bytes:
    """Send `data` on a fresh connection and read until the service closes it."""
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as s:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
        return received


def test_a_request_head_that_never_ends_is_cut_off(start_service):
    service = start_service(request_timeout=1)
    assert raw_exchange(service, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") == b""


def test_a_body_shorter_than_its_length_is_answered_408(start_service):
    service = start_service(request_timeout=1)
    answer = raw_exchange(service, b"POST /v1/gen_video HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 1000\r\n\r\n{")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["detail"] == "请求超时"


def test_connections_past_the_limit_get_503_and_one_log_line(start_service, caplog):
    service = start_service(max_connections=3)
    held = []
    for _ in range(3):  # kept-alive connections that each had an answer: counted as open
        s = socket.create_connection(("127.0.0.1", service.port), timeout=30)
        s.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(12) == b"HTTP/1.1 200"
        held.append(s)
    with caplog.at_level(logging.WARNING, logger="draftrender.server"):
        for _ in range(20):
            answer = raw_exchange(service, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 ") and b"Retry-After: 10" in answer
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["detail"] == "服务繁忙"
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == ["refused 1 connection(s) since the last report: 3 open, the limit is 3 (--max-connections)"]
    for s in held:
        s.close()
    end = time.monotonic() + 30
    while service.call("GET", "/openapi.json").status != 200:  # once the closes have reached it
        assert time.monotonic() < end


# ---------------------------------------------------------------- DNS rebinding


def test_a_name_that_resolves_to_loopback_at_connect_time_is_refused(tmp_path, start_service, http_server,
                                                                     monkeypatch):
    dns = LoopbackDNS()
    monkeypatch.setattr(http, "base_resolver", lambda: dns)
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/rebind").replace("127.0.0.1", "rebind.example.com")
    # The substituted resolver does lead to the loopback server when private URLs are allowed...
    assert run_sync(lambda: http.fetch_bytes(url, allow_private_urls=True)).startswith(b"{")
    assert http_server.hits["/rebind/draft_content.json"] == 1
    # ...and the service, which refuses them, checks the very answer it would connect to.
    dns.asked.clear()
    reply = start_service(allow_private_urls=False).gen_video(url)
    assert reply.status == 400 and reply.json["detail"] == "draft_url格式无效", reply.body
    assert "rebind.example.com" in reply.json["message"] and "private address (127.0.0.1)" in reply.json["message"]
    assert dns.asked and set(dns.asked) == {"rebind.example.com"}
    assert http_server.hits["/rebind/draft_content.json"] == 1


# ---------------------------------------------------------------- memory: output and picture areas


def test_the_output_area_is_capped_with_a_clear_400(tmp_path, start_service, http_server):
    folder = tiny_draft(tmp_path / "drafts")
    url = publish(http_server, folder, "/area")
    service = start_service(max_output_pixels=320 * 180 // 4)
    reply = service.gen_video(url)
    assert reply.status == 400 and reply.json["detail"] == "请求参数无效", reply.body
    assert "320×180 (0.1 megapixels), over this service's" in reply.json["message"]
    assert "cap (--max-output-pixels)" in reply.json["message"]
    assert "options.scale ≤ 0.5" in reply.json["message"]
    assert http_server.hits["/area/media/clip.mp4"] == 0  # refused before any download
    small = service.gen_video(url, options={"scale": 0.5})
    assert small.status == 200 and (small.json["width"], small.json["height"]) == (160, 90)

    # The largest canvas a draft may have is refused at the default cap, which allows 4K.
    edit_json(folder, lambda d: d["canvas_config"].update(width=8192, height=8192))
    huge = publish(http_server, folder, "/huge")
    reply = start_service(data_dir=tmp_path / "default").gen_video(huge)
    assert reply.status == 400 and "8192×8192 (67.1 megapixels)" in reply.json["message"], reply.body
    assert "options.scale ≤ 0.36" in reply.json["message"]


def test_a_picture_too_large_to_decode_is_refused_from_its_header(tmp_path, start_service, http_server):
    folder = tiny_draft(tmp_path / "drafts")
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(path="media/big.png", type="photo"))
    big = tmp_path / "big.png"
    Image.new("1", (9000, 8000)).save(big)  # 72 megapixels in about 10 KB
    http_server.serve("/bigpng/media/big.png", big.read_bytes(), content_type="image/png")
    url = http_server.serve("/bigpng/draft_content.json", draft_file(folder).read_bytes())
    reply = start_service().gen_video(url)
    assert reply.status == 400 and reply.json["detail"] == "素材无法访问", reply.body
    assert "9000×8000 (72 megapixels), over the 67-megapixel cap" in reply.json["message"]


# ---------------------------------------------------------------- slow draft and media hosts


def test_slow_draft_hosts_hold_no_thread_and_one_fetch_too_many_gets_503(tmp_path, start_service, http_server,
                                                                          gates):
    folder = tiny_draft(tmp_path / "drafts")
    publish(http_server, folder, "/slow")
    gate, body = gates(), draft_file(folder).read_bytes()

    async def held_draft(request: web.Request) -> web.Response:
        await gate.hold()
        return web.Response(body=body, content_type="application/json")

    url = http_server.route("/slow/draft_content.json", held_draft)
    service = start_service(draft_fetches=2)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        held = [pool.submit(service.gen_video, url + f"?n={n}") for n in range(2)]
        end = time.monotonic() + 30
        while http_server.hits["/slow/draft_content.json"] < 2:
            assert time.monotonic() < end
            time.sleep(0.05)
        busy = service.gen_video(url + "?n=3")
        assert busy.status == 503 and busy.headers["Retry-After"] == "10", busy.body
        assert busy.json["detail"] == "服务繁忙" and "drafts are being fetched" in busy.json["message"]
        assert service.call("GET", "/v1/gen_video").status == 200  # the service answers meanwhile
        gate.open()
        assert [f.result().status for f in held] == [200, 200]


def test_a_medium_that_trickles_meets_the_download_deadline(tmp_path, start_service, http_server):
    folder = tiny_draft(tmp_path / "drafts")
    url = http_server.serve("/trickle/draft_content.json", draft_file(folder).read_bytes())

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        await response.prepare(request)
        for _ in range(600):  # never stalls, never ends (within the test's patience)
            await response.write(b"\0" * 16)
            await asyncio.sleep(0.1)
        return response

    http_server.route("/trickle/media/clip.mp4", trickle)
    service = start_service(media_timeout=1)
    reply = service.gen_video(url)
    assert reply.status == 400 and reply.json["detail"] == "素材无法访问", reply.body
    assert "timed out after 1 s" in reply.json["message"]
    assert list((tmp_path / "data").rglob("*.part")) == []  # no partial download left behind


# ---------------------------------------------------------------- the media cache, Host, task ownership


def test_a_killed_download_leaves_no_partial_file(tmp_path, start_service, http_server, gates):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/killed", gate=gate)
    service = start_service()
    task_id = service.gen_video(url, wait=0).json["task_id"]
    gate.wait_reached()
    cache = tmp_path / "data" / "cache"
    assert len(list(cache.glob(".*.part"))) == 1  # the download in progress
    assert service.call("DELETE", f"/v1/gen_video/{task_id}").json["cancelled"] is True
    assert list(cache.glob(".*.part")) == []  # removed with its worker, not left for retention


def test_the_media_cache_is_capped(tmp_path, start_service, http_server):
    service = start_service(max_cache_bytes=1)
    for name, color in (("first", (200, 0, 0)), ("second", (0, 200, 0))):
        url = publish(http_server, tiny_draft(tmp_path / name, color=color), f"/{name}")
        assert service.gen_video(url).status == 200
    cached = list((tmp_path / "data" / "cache").iterdir())
    # Only the newest render's medium is left; the other, used less recently, went.
    assert [p.read_bytes() for p in cached] == [(tmp_path / "second" / "tiny" / "media" / "clip.mp4").read_bytes()]


def test_video_urls_never_come_from_the_host_header(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/host")
    service = start_service()
    evil = {"Host": "evil.example"}
    reply = service.call("POST", "/v1/gen_video", {"draft_url": url, "wait": 30}, headers=evil)
    assert reply.status == 200 and reply.json["video_url"].startswith(service.url + "/files/"), reply.body
    assert service.call("GET", "/openapi.json", headers=evil).json["servers"] == [{"url": service.url}]


def test_tasks_belong_to_the_key_that_made_them(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/owned")
    service = start_service(api_keys=frozenset({"k-alice", "k-bob"}), admin_keys=frozenset({"k-admin"}))
    alice, bob, admin = ({"Authorization": f"Bearer {k}"} for k in ("k-alice", "k-bob", "k-admin"))
    made = service.call("POST", "/v1/gen_video", {"draft_url": url, "wait": 30}, headers=alice)
    assert made.status == 200, made.body
    task_id = made.json["task_id"]
    status = f"/v1/gen_video_status?draft_url={quote(url, safe='')}"
    for path in (f"/v1/gen_video/{task_id}", status):
        assert service.call("GET", path, headers=bob).status == 404
        assert service.call("GET", path, headers=alice).json["task_id"] == task_id
        assert service.call("GET", path, headers=admin).json["task_id"] == task_id
    assert service.call("GET", "/v1/gen_video", headers=bob).json["total"] == 0
    assert service.call("GET", "/v1/gen_video", headers=admin).json["total"] == 1
    assert service.call("DELETE", f"/v1/gen_video/{task_id}", headers=bob).status == 404
    # Bob's identical request makes his own task rather than joining Alice's.
    own = service.call("POST", "/v1/gen_video", {"draft_url": url, "wait": 30}, headers=bob)
    assert own.status == 200 and own.json["task_id"] != task_id
    assert [t["task_id"] for t in service.call("GET", "/v1/gen_video", headers=alice).json["tasks"]] == [task_id]
    assert service.call("DELETE", f"/v1/gen_video/{task_id}", headers=alice).json["deleted"] is True


# ---------------------------------------------------------------- the description and the server agree


def test_the_description_refuses_what_the_server_refuses(start_service):
    service = start_service()
    paths = service.call("GET", "/openapi.json").json["paths"]
    params = {p["name"]: p["schema"] for p in paths["/v1/gen_video"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"], params["offset"]["minimum"]) == (1, 100, 0)
    body = paths["/v1/gen_video"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["draft_url"]["minLength"] == 1 and body["properties"]["wait"]["minimum"] == 0
    status = paths["/v1/gen_video_status"]["get"]["parameters"][0]["schema"]
    assert re.search(status["pattern"], "a") and not re.search(status["pattern"], " \t")  # blank is refused
    for query in ("limit=0", "limit=101", "offset=-1", "limt=5", "offset=1&offset=2"):
        reply = service.call("GET", f"/v1/gen_video?{query}")
        assert reply.status == 400 and reply.json["detail"] == "请求参数无效", (query, reply.body)
    assert service.call("GET", "/v1/gen_video?limit=1&offset=0&status=queued").status == 200
    assert service.call("GET", "/v1/gen_video_status?draft_url=%20").status == 400
