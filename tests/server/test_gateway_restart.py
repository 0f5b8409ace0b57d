"""kill -9 of `draftrender serve` mid-generation, then a restart on the same data dir: a task
waiting on a remote job polls that job again and never submits it twice; a local generation
runs again; no partial file is ever served."""

from __future__ import annotations

import time

import av
from generation_fakes import KEY as SERVER_KEY
from generation_fakes import FakeVibegen, Script, provider_toml, serve
from media_factory import make_clip
from service_harness import ServeProcess

KEY = "sk-restart"
AUTH = {"Authorization": f"Bearer {KEY}"}


def wait(check, what: str, timeout: float = 60):
    end = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < end, what
        time.sleep(0.1)
    return result


def status(service, path: str) -> dict:
    reply = service.call("GET", path, headers=AUTH)
    assert reply.status == 200, reply.body
    return reply.json


def test_kill_mid_generation_then_restart(tmp_path, monkeypatch):
    fake = FakeVibegen(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(["pending", "processing"]))
    served = serve(fake)
    providers = tmp_path / "providers.toml"
    providers.write_text(provider_toml("vibegen", served, key_env="FAKE_VIBEGEN_KEY", models="seedance*"),
                         encoding="utf-8")
    monkeypatch.setenv("FAKE_VIBEGEN_KEY", SERVER_KEY)
    args = ("--api-key", KEY, "--providers", str(providers))
    data = tmp_path / "data"
    service = ServeProcess(data, *args, log=tmp_path / "serve.log")
    try:
        remote = service.call("POST", "/api/v1/generations", {"model": "seedance 2.0", "prompt": "城市", "duration": 5},
                              headers=AUTH).json["data"]["id"]
        local = service.call("POST", "/v1/videos", {"model": "local-title", "prompt": "重新开始", "seconds": "4",
                                                    "size": "640x360"}, headers=AUTH).json["id"]
        wait(lambda: status(service, f"/api/v1/tasks/{remote}")["data"]["status"] == "processing",
             "the remote job never ran")
        wait(lambda: status(service, f"/v1/videos/{local}")["status"] == "in_progress", "local job never started")
        assert service.call("GET", f"/v1/videos/{local}/content", headers=AUTH).status == 404
    finally:
        service.kill()
    polls_before = fake.polls()
    service = ServeProcess(data, *args, log=tmp_path / "serve.log")
    try:
        fake.release()
        done = wait(lambda: (t := status(service, f"/api/v1/tasks/{remote}")["data"])["status"] == "completed" and t,
                    "the remote job was not resumed")
        assert len(fake.submits()) == 1  # polled again, never submitted twice
        assert fake.polls() > polls_before
        assert service.download(done["video_url"]).body == fake.video.read_bytes()
        video = wait(lambda: (v := status(service, f"/v1/videos/{local}"))["status"] != "in_progress"
                     and v["status"] != "queued" and v, "the local job did not run again", timeout=120)
        assert video["status"] == "completed", video
        content = service.call("GET", f"/v1/videos/{local}/content", headers=AUTH)
        path = tmp_path / "local.mp4"
        path.write_bytes(content.body)
        with av.open(str(path)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 120  # 4 s at 30 fps, whole
    finally:
        service.stop()
        served.close()
