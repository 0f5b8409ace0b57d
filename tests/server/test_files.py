"""Videos are served with HTTP Range support, so a browser can seek."""

from __future__ import annotations

from service_harness import publish, tiny_draft


def test_range_requests(tmp_path, http_server, start_service):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/range")
    service = start_service()
    video_url = service.gen_video(url).json["video_url"]
    full = service.download(video_url)
    size = len(full.body)
    assert full.status == 200 and full.headers["Accept-Ranges"] == "bytes" and size > 1000

    head = service.download(video_url, {"Range": "bytes=0-99"})
    assert head.status == 206 and head.headers["Content-Range"] == f"bytes 0-99/{size}"
    assert head.body == full.body[:100]
    middle = service.download(video_url, {"Range": "bytes=500-"})
    assert middle.status == 206 and middle.headers["Content-Range"] == f"bytes 500-{size - 1}/{size}"
    assert middle.body == full.body[500:]
    tail = service.download(video_url, {"Range": "bytes=-64"})
    assert tail.status == 206 and tail.body == full.body[-64:]
    beyond = service.download(video_url, {"Range": f"bytes={size + 10}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
