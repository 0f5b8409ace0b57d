"""A first user's hour (issue 15): what a new user tripped over, each fixed and kept so."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyJianYingDraft as jy
import pytest
from drafts import edit_json
from media_factory import make_clip, make_image
from service_harness import publish, tiny_draft

import draftrender
from draftrender.cli import main
from draftrender.errors import InvalidDraftUrl, InvalidOption, MaterialUnreachable
from draftrender.render.encode import VideoEncoder
from draftrender.server.config import ServerConfig

SEC = 1_000_000


def draftrender_cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "draftrender", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def still_draft(root: Path, seconds: float) -> Path:
    """A 320×180 draft of one photo held for `seconds`: cheap to make, as long to render as asked."""
    script = jy.DraftFolder(str(root)).create_draft("still", 320, 180, 30, allow_replace=True)
    photo = make_image(root / "still" / "media" / "photo.png", (320, 180))
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    script.add_segment(jy.VideoSegment(jy.VideoMaterial(str(photo)), jy.trange(0, round(seconds * SEC))), "main")
    script.save()
    return root / "still"


# 1 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    before = os.umask(umask)
    try:
        out = tmp_path / "out.mp4"
        with VideoEncoder(out, 64, 36, Fraction(25)) as encoder:
            encoder.write_frame(np.zeros((36, 64, 3), np.uint8))
    finally:
        os.umask(before)
    assert out.stat().st_mode & 0o777 == mode


# 2 -------------------------------------------------------------------------------------------


def test_a_failure_is_replayed_saying_so_and_never_after_a_restart(tmp_path, http_server, start_service):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/replay")
    service = start_service(data_dir=tmp_path / "data")
    first = service.gen_video(url, options={"start": 50}).json
    again = service.gen_video(url, options={"start": 50}).json
    assert again["task_id"] == first["task_id"] and again["replayed"] is True
    assert again["message"].startswith(first["message"])
    assert f"[replayed: task {first['task_id']} failed" in again["message"]
    assert "to try again now, change the draft or the options, or restart the service" in again["message"]
    service.stop()
    restarted = start_service(data_dir=tmp_path / "data").gen_video(url, options={"start": 50}).json
    assert restarted["task_id"] != first["task_id"] and "replayed" not in restarted


# 3 -------------------------------------------------------------------------------------------


def test_sigterm_removes_the_partial_output(tmp_path):
    folder = still_draft(tmp_path, seconds=120)
    out = tmp_path / "out" / "long.mp4"
    proc = draftrender_cli("render", str(folder), "-o", str(out), "--preset", "ultrafast", "--no-audio")
    try:
        while not list(out.parent.glob(".long.mp4.part-*")):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert (proc.returncode, err.splitlines()[-1]) == (143, "draftrender: terminated")
    assert list(out.parent.iterdir()) == []


# 4 -------------------------------------------------------------------------------------------


def test_serve_says_serving_only_once_it_serves(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = draftrender_cli("serve", "--port", str(port), "--data-dir", str(tmp_path / "data"))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "serving" not in err and "draftrender: error: cannot serve:" in err


# 5, 6, 7 -------------------------------------------------------------------------------------


def test_a_refused_draft_url_is_the_drafts_refusal_and_names_the_flag(tmp_path, http_server):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/private")
    with pytest.raises(InvalidDraftUrl) as caught:
        draftrender.load_draft(url, allow_private_urls=False)
    assert caught.value.detail == "draft_url格式无效"
    assert str(caught.value) == (f"draft URL {url} refused: refusing host 127.0.0.1: it resolves to a private "
                                 "address (127.0.0.1); --allow-private-urls allows it")


def test_a_medium_outside_the_media_roots_is_refused_not_missing(tmp_path):
    folder = tiny_draft(tmp_path / "drafts")
    elsewhere = tmp_path / "elsewhere" / "clip.mp4"
    elsewhere.parent.mkdir()
    shutil.move(folder / "media" / "clip.mp4", elsewhere)
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(path=str(elsewhere)))
    with pytest.raises(MaterialUnreachable) as caught:
        draftrender.render_frame(folder, 0.5, media_roots=[tmp_path / "drafts"])
    assert str(caught.value) == (f"1 of 1 media unreachable: clip.mp4: {elsewhere} is outside the allowed media "
                                 "folders (add its folder with --media-root)")


def test_a_wrapper_url_without_the_draft_says_what_it_lacks():
    with pytest.raises(InvalidDraftUrl, match=r"is a wrapper page's address without the draft's: it needs "
                                              r"drafId=<the draft JSON's http\(s\) URL>"):
        draftrender.load_draft("https://ts.fyshark.com/#/cozeToJianyin?from=coze")


# 8 -------------------------------------------------------------------------------------------


def test_missing_media_name_a_few_and_list_all_in_json(tmp_path, capsys):
    script = jy.DraftFolder(str(tmp_path)).create_draft("many", 320, 180, 30, allow_replace=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    clip = make_clip(tmp_path / "clip.mp4", seconds=0.2)
    for n in range(5):
        copy = shutil.copy(clip, tmp_path / f"shot_{n}.mp4")
        script.add_segment(jy.VideoSegment(jy.VideoMaterial(str(copy)), jy.trange(n * SEC // 5, SEC // 5)), "main")
    script.save()
    for n in range(5):
        (tmp_path / f"shot_{n}.mp4").unlink()
    assert main(["render", str(tmp_path / "many"), "-o", str(tmp_path / "many.mp4"), "--json"]) == 1
    err = capsys.readouterr()
    line = err.err.strip()
    assert line.startswith("draftrender: error: 5 of 5 media unreachable: shot_0.mp4: missing; shot_1.mp4: "
                           "missing; shot_2.mp4: missing; and 2 more (all of them: --json")
    assert len(line) < 200
    body = json.loads(err.out)
    assert body["detail"] == "素材无法访问" and len(body["materials"]) == 5
    assert body["materials"][4].startswith("shot_4.mp4: missing (looked in ")


# 9 -------------------------------------------------------------------------------------------


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    folder = still_draft(tmp_path, seconds=1)
    assert main(["render", str(folder), "-o", str(tmp_path / "p.mp4"), "--preset", "ultrafast"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert all(re.fullmatch(r"draftrender: \w+ \d+% \(\d+/\d+ (frames|steps)(, [\d.]+/s)?(, ETA \d+ s)?\)", line)
               for line in lines), lines
    assert lines[0] == "draftrender: download 0% (0/1 steps)"  # each stage's start
    assert len([line for line in lines if line.startswith("draftrender: render 100% (30/30 frames, ")]) == 1


def test_the_service_logs_each_tasks_end(tmp_path, http_server, start_service, caplog):
    url = publish(http_server, tiny_draft(tmp_path / "drafts"), "/logged")
    caplog.set_level("INFO", logger="draftrender.tasks")
    task = start_service().gen_video(url).json
    ends = [r.getMessage() for r in caplog.records if r.name == "draftrender.tasks"]
    assert len(ends) == 1 and ends[0].startswith(f"task {task['task_id']} completed in ")
    assert " s: 1.0 s of video, " in ends[0] and ends[0].endswith("x realtime")


# 10, 11 --------------------------------------------------------------------------------------


def test_the_default_wait_answers_inside_common_client_timeouts(start_service):
    assert ServerConfig.default_wait <= 30  # nginx and load balancers give up at 60 s
    spec = start_service().call("GET", "/openapi.json").json
    body = spec["paths"]["/v1/gen_video"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["wait"]["default"] == ServerConfig.default_wait
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"waits {ServerConfig.default_wait:g} s by default" in readme


@pytest.mark.parametrize("name", ["clip.avi", "clip.mov", "clip.MKV"])
def test_an_output_name_for_another_container_is_refused(tmp_path, capsys, name):
    folder = still_draft(tmp_path, seconds=1)
    assert main(["render", str(folder), "-o", str(tmp_path / name)]) == 1
    stem = name.rsplit(".", 1)[0]
    assert capsys.readouterr().err == (f"draftrender: error: output {name}: draftrender writes MP4 video; "
                                       f"name it {stem}.mp4\n")
    assert not (tmp_path / name).exists()
    with pytest.raises(InvalidOption):
        draftrender.render(folder, tmp_path / name)
