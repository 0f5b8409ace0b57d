"""The page at `/`, loaded in headless Chromium: the task list shows, with live progress,
and a finished video plays (its <video> element reports the duration)."""

from __future__ import annotations

import re
import time
import shutil
import subprocess

import pytest
from service_harness import publish, tiny_draft

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(url: str, profile) -> str:
    """The page's DOM after its scripts ran (Chromium's virtual time: the 1 s polls run at once)."""
    run = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup --test installs it)")
def test_the_page_lists_tasks_and_plays_a_finished_video(tmp_path, http_server, gates, start_service):
    service = start_service(workers=2)
    done = service.gen_video(publish(http_server, tiny_draft(tmp_path / "a"), "/page-a")).json
    gate = gates()
    held = service.gen_video(publish(http_server, tiny_draft(tmp_path / "b", color=(0, 200, 0)), "/page-b",
                                     gate=gate), wait=0).json
    gate.wait_reached()

    dom = dump_dom(service.url + "/", tmp_path / "profile")
    rows = dict(re.findall(r'<li class="task [a-z]+" data-task-id="([0-9a-f]+)"(.*?)</li>', dom, re.S))
    assert set(rows) == {done["task_id"], held["task_id"]}, dom[-3000:]
    assert 'data-status="processing"' in rows[held["task_id"]]
    assert '<span class="stage">download</span>' in rows[held["task_id"]]
    finished = rows[done["task_id"]]
    assert 'data-status="completed"' in finished and f'src="{done["video_url"]}"' in finished
    duration = re.search(r'<video[^>]*data-duration="([0-9.]+)"', finished)
    assert duration, f"the video element reported no duration: {finished}"
    assert float(duration.group(1)) == pytest.approx(1.0, abs=0.05)
    assert "320×180, 1.00 s" in finished


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup --test installs it)")
def test_the_page_lists_generations_beside_renders_and_plays_them(tmp_path, start_service):
    service = start_service()
    made = service.call("POST", "/v1/videos", {"model": "local-title", "prompt": "页面", "seconds": "1",
                                               "size": "320x180"}).json
    service_video = service.call("GET", f"/v1/videos/{made['id']}").json
    end = time.monotonic() + 60
    while service_video["status"] != "completed":
        assert time.monotonic() < end and service_video["status"] != "failed", service_video
        time.sleep(0.1)
        service_video = service.call("GET", f"/v1/videos/{made['id']}").json
    dom = dump_dom(service.url + "/", tmp_path / "profile")
    listed = re.search(r'<ul id="generations">(.*?)</ul>', dom, re.S)
    assert listed and f'data-task-id="{made["id"]}"' in listed.group(1), dom[-3000:]
    assert 'data-generation="openai"' in listed.group(1) and "openai · local-title" in listed.group(1)
    assert "320×180, 1.00 s" in listed.group(1)  # the video element loaded and played its metadata


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup --test installs it)")
def test_the_docs_page_describes_every_option(tmp_path, start_service):
    dom = dump_dom(start_service().url + "/docs", tmp_path / "profile")
    assert "options.crf (integer 0–51, default 20): quality: lower is better" in dom, dom[-3000:]
    assert "options.preset (ultrafast | superfast | veryfast" in dom
    assert "options.fps (number or null 1–240): output frame rate" in dom
    assert "draft_url (string): http(s) URL of the draft JSON" in dom
