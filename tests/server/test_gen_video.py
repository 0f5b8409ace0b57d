"""POST /v1/gen_video end to end, the polling pattern, and the routes around a task."""

from __future__ import annotations

import time

from service_harness import pid_alive, probe_mp4, publish, tiny_draft

from draftrender.server.app import STORE
from draftrender.service.store import video_name


def test_a_draft_renders_end_to_end(tmp_path, http_server, start_service):
    url = publish(http_server, tiny_draft(tmp_path / "drafts", seconds=1.0), "/e2e")
    service = start_service()
    reply = service.gen_video(url, wait=60)
    assert reply.status == 200, reply.body
    body = reply.json
    assert body["message"] == "视频生成成功"
    assert body["video_url"].startswith(service.url + "/files/") and body["task_id"]
    assert (body["width"], body["height"], body["duration"]) == (320, 180, 1.0)
    assert body["size_bytes"] > 0 and isinstance(body["fidelity"], list)
    assert {"parse", "download", "render", "encode", "store"} <= set(body["stages"])

    video = service.download(body["video_url"])
    assert video.status == 200 and video.headers["Content-Type"] == "video/mp4"
    assert len(video.body) == body["size_bytes"]
    assert probe_mp4(video.body, tmp_path / "got.mp4") == (320, 180, 1.0)


def test_polling_joins_one_task(tmp_path, http_server, gates, start_service):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/poll", gate=gate)
    service = start_service()
    first = service.gen_video(url, wait=0)
    assert first.status == 202
    assert first.json["message"] == "视频生成中" and first.json["status"] in ("queued", "processing")
    assert 0 <= first.json["progress"] <= 100
    gate.wait_reached()
    again = service.gen_video(url, wait=0)
    assert again.status == 202 and again.json["task_id"] == first.json["task_id"]
    assert again.json["stage"] == "download" and again.json["status"] == "processing"

    gate.open()
    done = service.gen_video(url, wait=60)
    assert done.status == 200 and done.json["task_id"] == first.json["task_id"]
    # One render: the medium was fetched once, and the list holds one task.
    assert http_server.hits["/poll/media/clip.mp4"] == 1
    assert service.call("GET", "/v1/gen_video").json["total"] == 1
    # A completed task answers at once, without rendering again.
    assert service.gen_video(url, wait=0).json["video_url"] == done.json["video_url"]


def test_other_options_or_changed_content_start_a_new_task(tmp_path, http_server, start_service):
    folder = tiny_draft(tmp_path / "drafts")
    url = publish(http_server, folder, "/change")
    service = start_service()
    first = service.gen_video(url).json
    half = service.gen_video(url, options={"scale": 0.5}).json
    assert half["task_id"] != first["task_id"] and (half["width"], half["height"]) == (160, 90)

    # Same URL, edited draft: a new task; the old result is not served for the new content.
    publish(http_server, tiny_draft(tmp_path / "drafts2", seconds=0.5), "/change")
    edited = service.gen_video(url).json
    assert edited["task_id"] != first["task_id"] and edited["duration"] == 0.5


def test_task_routes(tmp_path, http_server, gates, start_service):
    done_url = publish(http_server, tiny_draft(tmp_path / "a", color=(200, 0, 0)), "/a")
    gate = gates()
    held_url = publish(http_server, tiny_draft(tmp_path / "b", color=(0, 200, 0)), "/b", gate=gate)
    service = start_service()
    done = service.gen_video(done_url).json
    held = service.gen_video(held_url, wait=0).json
    gate.wait_reached()

    task = service.task(done["task_id"])
    assert task["status"] == "completed" and task["progress"] == 100 and task["error"] is None
    assert task["video_url"] == done["video_url"] and task["fidelity"] == done["fidelity"]
    assert set(task["stages"]) >= {"parse", "download", "render", "encode", "store"}
    by_url = service.call("GET", "/v1/gen_video_status?draft_url=" + held_url).json
    assert by_url["task_id"] == held["task_id"] and by_url["status"] == "processing"
    assert by_url["stage"] == "download"

    everything = service.call("GET", "/v1/gen_video").json
    assert [t["task_id"] for t in everything["tasks"]] == [held["task_id"], done["task_id"]]
    page = service.call("GET", "/v1/gen_video?limit=1&offset=1").json
    assert page["total"] == 2 and [t["task_id"] for t in page["tasks"]] == [done["task_id"]]
    completed = service.call("GET", "/v1/gen_video?status=completed").json
    assert completed["total"] == 1 and completed["tasks"][0]["task_id"] == done["task_id"]
    assert service.call("GET", "/v1/gen_video?status=nonsense").status == 400

    # DELETE cancels a running task (its worker is stopped) and removes a finished one.
    store = service.app[STORE]
    pid = service.on_loop(lambda: store.get(held["task_id"]).worker_pid)
    assert pid and pid_alive(pid)
    cancelled = service.call("DELETE", f"/v1/gen_video/{held['task_id']}").json
    assert cancelled == {"task_id": held["task_id"], "deleted": True, "cancelled": True}
    assert service.call("GET", f"/v1/gen_video/{held['task_id']}").status == 404
    removed = service.call("DELETE", f"/v1/gen_video/{done['task_id']}").json
    assert removed["deleted"] and not removed["cancelled"]
    assert service.download(done["video_url"]).status == 404
    assert service.call("GET", "/v1/gen_video").json["total"] == 0
    end = time.monotonic() + 10
    while pid_alive(pid):
        assert time.monotonic() < end, "the cancelled worker is still running"
        time.sleep(0.05)


def test_openapi_describes_every_route(start_service):
    service = start_service()
    spec = service.call("GET", "/openapi.json").json
    routes = {(r.method.lower(), r.resource.canonical) for r in service.app.router.routes() if r.method != "HEAD"}
    assert routes == {(method, path) for path, ops in spec["paths"].items() for method in ops}
    docs = service.call("GET", "/docs")
    assert docs.status == 200 and b"/openapi.json" in docs.body


def test_retention_removes_old_tasks_and_files(tmp_path, http_server, start_service):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/old")
    service = start_service(retention_hours=1)
    done = service.gen_video(url).json
    store = service.app[STORE]
    video = store.storage.path(video_name(done["task_id"]))
    assert video.is_file()
    # What the hourly sweep does, an hour and a bit later.
    assert service.on_loop(lambda: store.expire(before=time.time() + 1)) == [done["task_id"]]
    assert not video.exists() and service.call("GET", f"/v1/gen_video/{done['task_id']}").status == 404
