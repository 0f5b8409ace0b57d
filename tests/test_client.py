"""GenVideoClient against the real service: results come back, errors come back as the
draftrender.errors class the service raised."""

from __future__ import annotations

import pytest
from service_harness import publish, tiny_draft

from draftrender.client import GenVideoClient
from draftrender.errors import (
    DraftNotFound,
    DraftUrlMissing,
    MaterialUnreachable,
    RenderFailed,
    ServiceBusy,
    Unauthorized,
)


def test_gen_video_waits_for_the_result(tmp_path, http_server, gates, start_service, monkeypatch):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/client", gate=gate)
    service = start_service()
    client = GenVideoClient(service.url)
    pending = client.gen_video(url, wait=False)
    assert pending["message"] == "视频生成中" and pending["status"] in ("queued", "processing")
    gate.open()
    # wait=True polls until done; a short server-side wait makes it poll more than once.
    monkeypatch.setattr("draftrender.client.SERVER_WAIT", 0.2)
    result = client.gen_video(url)
    assert result["message"] == "视频生成成功" and result["task_id"] == pending["task_id"]
    assert (result["width"], result["height"], result["duration"]) == (320, 180, 1.0)
    assert client.task(result["task_id"])["status"] == "completed"
    assert client.status(url)["task_id"] == result["task_id"]
    assert client.tasks(status="completed")["total"] == 1
    assert client.delete(result["task_id"])["deleted"]


def test_errors_map_back_to_the_hierarchy(tmp_path, http_server, start_service):
    service = start_service()
    client = GenVideoClient(service.url)
    with pytest.raises(DraftUrlMissing) as missing:
        client.gen_video("")
    assert missing.value.status == 400 and missing.value.detail == "draft_url是必填项"
    with pytest.raises(DraftNotFound, match="HTTP 404"):
        client.gen_video(http_server.url("/nothing.json"))

    folder = tiny_draft(tmp_path / "drafts")
    url = http_server.serve("/nomedia/draft_content.json", (folder / "draft_content.json").read_bytes())
    with pytest.raises(MaterialUnreachable) as unreachable:
        client.gen_video(url)
    assert unreachable.value.task_id

    url = publish(http_server, folder, "/bad-range")
    with pytest.raises(RenderFailed) as failed:
        client.gen_video(url, options={"start": 50})
    assert failed.value.status == 500 and "empty" in str(failed.value)


def test_api_key_and_busy(tmp_path, http_server, gates, start_service):
    gate = gates()
    urls = [publish(http_server, tiny_draft(tmp_path / f"d{i}", color=(0, i * 90, 0)), f"/k{i}", gate=gate)
            for i in range(2)]
    service = start_service(api_keys=frozenset({"secret"}), queue_size=0)
    with pytest.raises(Unauthorized):
        GenVideoClient(service.url).gen_video(urls[0])
    client = GenVideoClient(service.url, api_key="secret")
    client.gen_video(urls[0], wait=False)
    gate.wait_reached()
    with pytest.raises(ServiceBusy) as busy:
        client.gen_video(urls[1], wait=False)
    assert busy.value.status == 503 and busy.value.retry_after > 0
    gate.open()
    assert client.gen_video(urls[0])["video_url"]


def test_an_unreachable_service():
    with pytest.raises(ConnectionError, match="cannot reach"):
        GenVideoClient("http://127.0.0.1:9").gen_video("http://x.example/d.json")
