"""The worker pool: a full queue answers 503, the time limit answers 504, and a restart
in the middle of a render loses no task."""

from __future__ import annotations

import os
import signal
import time

import pytest
from service_harness import ServeProcess, pid_alive, probe_mp4, publish, tiny_draft

from draftrender.server.app import POOL, STORE
from draftrender.service.store import DataDirInUse, TaskStore
from draftrender.service.tasks import PROCESSING, Task


def wait_gone(pid: int, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < end, f"worker {pid} is still running"
        time.sleep(0.05)


def test_a_full_queue_answers_503_with_retry_after(tmp_path, http_server, gates, start_service):
    gate = gates()
    urls = [publish(http_server, tiny_draft(tmp_path / f"d{i}", color=(i * 60, 0, 0)), f"/q{i}", gate=gate)
            for i in range(3)]
    service = start_service(workers=1, queue_size=1)
    running = service.gen_video(urls[0], wait=0)
    gate.wait_reached()
    waiting = service.gen_video(urls[1], wait=0)
    assert (running.status, waiting.status) == (202, 202)
    assert service.task(waiting.json["task_id"])["status"] == "queued"

    busy = service.gen_video(urls[2], wait=0)
    assert busy.status == 503 and busy.json["detail"] == "服务繁忙"
    assert int(busy.headers["Retry-After"]) > 0
    # Joining a task that exists is never refused.
    assert service.gen_video(urls[1], wait=0).json["task_id"] == waiting.json["task_id"]

    gate.open()
    assert service.gen_video(urls[1], wait=60).status == 200
    assert service.gen_video(urls[2], wait=60).status == 200  # room again


def test_a_render_past_its_time_limit_answers_504_and_its_worker_is_killed(
        tmp_path, http_server, gates, start_service):
    gate = gates()  # never opened during the test: the download, and so the render, never ends
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/slow", gate=gate)
    # Long enough for a fresh worker process to start and reach the download on a loaded machine.
    service = start_service(task_timeout=5.0)
    started = service.gen_video(url, wait=0).json
    gate.wait_reached()
    pid = service.on_loop(lambda: service.app[STORE].get(started["task_id"]).worker_pid)

    reply = service.gen_video(url, wait=60)
    assert reply.status == 504, reply.body
    assert reply.json["detail"] == "处理超时" and "5 s limit" in reply.json["message"]
    assert reply.json["task_id"] == started["task_id"]
    task = service.task(started["task_id"])
    assert task["status"] == "failed" and task["error"]["status"] == 504 and task["stage"] == "download"
    wait_gone(pid)
    assert service.on_loop(lambda: len(service.app[POOL].running)) == 0


def test_a_restart_mid_render_runs_the_task_again(tmp_path, http_server, gates):
    data = tmp_path / "data"
    early_url = publish(http_server, tiny_draft(tmp_path / "early", color=(0, 0, 200)), "/early")
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts", seconds=0.5), "/restart", gate=gate)
    args = ("--allow-private-urls", "--workers", "1")

    serve = ServeProcess(data, *args, log=tmp_path / "serve.log")
    try:
        early = serve.gen_video(early_url, wait=60).json
        task_id = serve.gen_video(url, wait=0).json["task_id"]
        gate.wait_reached()
        worker = serve.wait_for(task_id, lambda t: t["stage"] == "download")
        assert worker["status"] == "processing" and worker["attempts"] == 1
        pid = TaskStore(data).get(task_id).worker_pid
    finally:
        serve.kill()
    # The worker notices its service is gone and ends: no render outlives the service.
    wait_gone(pid)

    serve = ServeProcess(data, *args, log=tmp_path / "serve.log", port=serve.port)
    try:
        # Finished work survives: the task and its video.
        assert serve.task(early["task_id"])["status"] == "completed"
        assert serve.download(early["video_url"]).status == 200
        again = serve.wait_for(task_id, lambda t: t["status"] == PROCESSING and t["attempts"] == 2)
        assert again["task_id"] == task_id
        gate.open()
        done = serve.wait_for(task_id, lambda t: t["status"] != PROCESSING)
        assert done["status"] == "completed", done
        video = serve.download(done["video_url"])
        assert probe_mp4(video.body, tmp_path / "got.mp4") == (320, 180, 0.5)
    finally:
        serve.stop()


def test_a_task_interrupted_too_often_fails_with_the_reason(tmp_path):
    store = TaskStore(tmp_path / "data")
    task = store.add(Task(id="a" * 32, key="k", draft_url="http://x.example/d.json", options={}), {"tracks": [1]})
    task.status, task.attempts = PROCESSING, 2
    store.update(task)
    assert store.recover(max_attempts=2) == []
    failed = store.get(task.id)
    assert failed.status == "failed" and failed.error["status"] == 500
    assert "stopped during this render 2 times" in failed.error["message"]
    store.close()


def test_one_service_per_data_dir(start_service):
    first = start_service()
    with pytest.raises(DataDirInUse, match="in use"):
        start_service(data_dir=first.config.data_dir)


def test_a_worker_that_dies_fails_its_task_with_the_reason(tmp_path, http_server, gates, start_service):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/oom", gate=gate)
    service = start_service()
    task_id = service.gen_video(url, wait=0).json["task_id"]
    gate.wait_reached()
    # What the kernel's OOM killer would do.
    os.kill(service.on_loop(lambda: service.app[STORE].get(task_id).worker_pid), signal.SIGKILL)
    reply = service.gen_video(url, wait=30)
    assert reply.status == 500 and reply.json["detail"] == "视频渲染失败"
    assert "killed by signal 9" in reply.json["message"]
