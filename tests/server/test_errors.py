"""Every error row of the gen_video contract, and the service's own guards: API keys, the
private-address refusal, local-path confinement and the size caps."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from drafts import draft_file, edit_json
from service_harness import publish, tiny_draft


def assert_error(reply, status: int, detail: str, *fragments: str) -> dict:
    assert reply.status == status, reply.body
    body = reply.json
    assert body["detail"] == detail
    assert body["message"] and "\n" not in body["message"]
    for fragment in fragments:
        assert fragment in body["message"]
    return body


@pytest.mark.parametrize("body", [{}, {"draft_url": ""}, {"draft_url": "  "}, {"draft_url": None}])
def test_missing_draft_url(start_service, body):
    assert_error(start_service().call("POST", "/v1/gen_video", body), 400, "draft_url是必填项")


@pytest.mark.parametrize("draft_url", ["not a url", "ftp://example.com/d.json", "/etc/passwd",
                                       "file:///etc/passwd", "http://", 123])
def test_invalid_draft_url(start_service, draft_url):
    # Never a path on the server: a request may only name an http(s) URL.
    assert_error(start_service().gen_video(draft_url), 400, "draft_url格式无效")


def test_draft_not_found(start_service, http_server):
    reply = start_service().gen_video(http_server.url("/missing/draft_content.json"))
    assert_error(reply, 404, "草稿不存在", "HTTP 404")


@pytest.mark.parametrize("content", [b"", b"  \n", json.dumps({"tracks": [], "materials": {}}).encode()])
def test_draft_empty(start_service, http_server, content):
    url = http_server.serve("/empty/draft_content.json", content)
    assert_error(start_service().gen_video(url), 400, "草稿内容为空")


def test_material_unreachable(tmp_path, start_service, http_server):
    folder = tiny_draft(tmp_path / "drafts")
    url = http_server.serve("/nomedia/draft_content.json", draft_file(folder).read_bytes())
    body = assert_error(start_service().gen_video(url), 400, "素材无法访问", "clip.mp4", "HTTP 404")
    assert body["task_id"]


def test_render_failure_is_500_and_polling_sees_the_same_failure(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/fail")
    service = start_service()
    # A range that starts after the 1 s timeline: the renderer refuses it.
    first = assert_error(service.gen_video(url, options={"start": 50}), 500, "视频渲染失败", "empty")
    again = assert_error(service.gen_video(url, options={"start": 50}), 500, "视频渲染失败")
    assert again["task_id"] == first["task_id"]
    task = service.task(first["task_id"])
    assert task["status"] == "failed" and task["error"]["detail"] == "视频渲染失败"


def test_unknown_task(start_service):
    service = start_service()
    assert_error(service.call("GET", "/v1/gen_video/" + "0" * 32), 404, "任务不存在")
    assert_error(service.call("DELETE", "/v1/gen_video/nope"), 404, "任务不存在")
    assert_error(service.call("GET", "/files/" + "0" * 32 + ".mp4"), 404, "任务不存在")
    assert_error(service.call("GET", "/v1/gen_video_status?draft_url=http://x.example/d.json"), 404, "任务不存在")


@pytest.mark.parametrize("body, fragment", [
    ({"draft_url": "http://x.example/d.json", "options": {"speed": 2}}, "unknown option"),
    ({"draft_url": "http://x.example/d.json", "options": {"scale": 99}}, "option scale 99: input should be less"),
    ({"draft_url": "http://x.example/d.json", "options": {"encoder": "gpu"}}, "option encoder 'gpu': input should be"),
    ({"draft_url": "http://x.example/d.json", "options": {"start": 2, "end": 1}}, "after start"),
    ({"draft_url": "http://x.example/d.json", "wait": -1}, "wait"),
    ([1, 2], "JSON object"),
])
def test_bad_requests(start_service, body, fragment):
    assert_error(start_service().call("POST", "/v1/gen_video", body), 400, "请求参数无效", fragment)


def test_not_json(start_service):
    reply = start_service().call("POST", "/v1/gen_video", raw=b"draft_url=x", headers={"Content-Type": "text/plain"})
    assert_error(reply, 400, "请求参数无效", "JSON")


def test_request_size_cap(start_service):
    reply = start_service(max_request_bytes=1024).gen_video("http://x.example/" + "a" * 4000)
    assert_error(reply, 413, "请求体过大")


def test_draft_size_cap(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/big")
    assert_error(start_service(max_draft_bytes=1024).gen_video(url), 400, "草稿格式错误", "cap")


def test_media_size_cap(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/bigmedia")
    assert_error(start_service(max_media_bytes=100).gen_video(url), 400, "素材无法访问", "cap")


def test_local_media_paths_are_confined_to_media_roots(tmp_path, start_service, http_server):
    folder = tiny_draft(tmp_path / "drafts")
    local = folder / "media" / "clip.mp4"
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(path=str(local)))
    url = http_server.serve("/local/draft_content.json", draft_file(folder).read_bytes())
    refused = start_service(data_dir=tmp_path / "no_roots").gen_video(url)
    assert_error(refused, 400, "素材无法访问", "outside the allowed media folders")
    allowed = start_service(data_dir=tmp_path / "with_root", media_roots=(folder / "media",)).gen_video(url)
    assert allowed.status == 200 and allowed.json["duration"] == 1.0


def test_ssrf_refused_without_allow_private_urls(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/private")
    service = start_service(allow_private_urls=False)
    for given in (url, url.replace("127.0.0.1", "localhost"), "http://169.254.169.254/latest/meta-data/",
                  "http://[::1]:9/d.json", f"https://ts.fyshark.com/#/cozeToJianyin?drafId={quote(url, safe='')}"):
        assert_error(service.gen_video(given), 400, "draft_url格式无效", "private address", "--allow-private-urls")
    assert http_server.hits["/private/draft_content.json"] == 0
    assert http_server.hits["/private/media/clip.mp4"] == 0
    assert service.call("GET", "/v1/gen_video").json["total"] == 0


def test_api_keys(tmp_path, start_service, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/keys")
    service = start_service(api_keys=frozenset({"k-one", "k-two"}))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "k-one"},
                    {"Authorization": "Basic k-one"}):
        reply = service.call("POST", "/v1/gen_video", {"draft_url": url}, headers=headers)
        assert_error(reply, 401, "未授权", "Bearer")
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(service.call("GET", "/v1/gen_video", headers=headers), 401, "未授权")
    assert http_server.hits["/keys/draft_content.json"] == 0  # refused before any fetch

    ok = service.call("POST", "/v1/gen_video", {"draft_url": url}, headers={"Authorization": "Bearer k-two"})
    assert ok.status == 200
    # The page, the description and the (unguessable) video URLs need no key.
    for path in ("/", "/docs", "/openapi.json", ok.json["video_url"][len(service.url):]):
        assert service.call("GET", path).status == 200
