"""Drafts whose materials generate their own clips: through a fake vibegen, from the cache, or a placeholder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import pyJianYingDraft as jy
from drafts import SEC, edit_json, material_json, pyjy_draft
from generation_clips import frames_at, video_info
from generation_fakes import KEY, WALK, FakeVibegen, Script, serve
from media_factory import frame_index

import draftrender
from draftrender.errors import DraftRenderError, MalformedDraft

REQUEST = {"model": "seedance 2.0", "prompt": "雏菊花田", "seconds": 1, "size": "320x180"}


def generating_draft(root, request: dict, kind: str = "video"):
    """A pyJianYingDraft draft whose one picture is to be generated: a stand-in photo, then the field."""
    holder: dict = {}

    def build(script: jy.ScriptFile, media) -> None:
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
        segment = jy.VideoSegment(str(media["photo"]), jy.trange(0, SEC))
        holder["id"] = segment.material_instance.material_id
        script.add_segment(segment, "main")

    folder = pyjy_draft(root, build, width=320, height=180)

    def edit(data: dict) -> None:
        _, material = material_json(data, holder["id"])
        material.update(type=kind, draftrender_generation=request)

    edit_json(folder, edit)
    return folder


@pytest.fixture
def vibegen(tmp_path, result_video):
    """A fake vibegen, and a providers file sending seedance models to it."""

    def start(script: Script):
        fake = FakeVibegen(result_video, script)
        server = serve(fake)
        (tmp_path / "key.txt").write_text(KEY)
        providers = tmp_path / "providers.toml"
        providers.write_text(f'[providers.vibegen]\nkind = "vibegen"\nbase_url = "{server.url}"\n'
                             f'key_file = "{tmp_path / "key.txt"}"\nmodels = ["seedance*"]\n'
                             f'poll_interval = 0.01\nmax_poll_interval = 0.02\nbackoff = 0.01\ndeadline = 20\n')
        servers.append(server)
        return fake, providers

    servers: list = []
    yield start
    for server in servers:
        server.close()


def test_a_draft_renders_its_generated_clip_then_takes_it_from_the_cache(tmp_path, vibegen):
    fake, providers = vibegen(Script(WALK))
    folder = generating_draft(tmp_path, REQUEST)
    events: list[dict] = []
    options = dict(cache_dir=tmp_path / "cache", providers=providers, audio=False)
    result = draftrender.render(folder, tmp_path / "a.mp4", progress=events.append, **options)
    assert not [n for n in result.fidelity if "generated" in n.feature]
    # The fake's clip shows its frame numbers: the render shows that clip, frame for frame.
    frames = frames_at(tmp_path / "a.mp4", [0, 10, 20])
    assert [frame_index(f.astype(np.uint8)) for f in frames] == [0, 10, 20]
    assert {"stage": "generate", "done": 1, "total": 1} in events
    assert events.index({"stage": "generate", "done": 1, "total": 1}) < events.index(
        next(e for e in events if e["stage"] == "download"))
    calls = len(fake.calls)
    assert [c.method for c in fake.calls].count("POST") == 1
    draftrender.render(folder, tmp_path / "b.mp4", **options)
    assert len(fake.calls) == calls  # the second render asked nothing: the clip came from the cache
    assert video_info(tmp_path / "b.mp4")[:2] == (320, 180)


def test_a_failed_generation_fails_the_render_in_one_line(tmp_path, vibegen):
    _, providers = vibegen(Script(["pending", "failed"], error="Content policy violation"))
    folder = generating_draft(tmp_path, REQUEST)
    with pytest.raises(DraftRenderError) as caught:
        draftrender.render(folder, tmp_path / "a.mp4", cache_dir=tmp_path / "cache", providers=providers)
    message = str(caught.value)
    assert "material photo.png (seedance 2.0): its clip could not be generated: vibegen job " in message
    assert message.endswith("failed: Content policy violation") and "\n" not in message
    assert not (tmp_path / "a.mp4").exists()


def test_with_placeholders_a_failed_generation_shows_grey_and_is_reported(tmp_path, vibegen):
    _, providers = vibegen(Script(["pending", "failed"], error="Content policy violation"))
    folder = generating_draft(tmp_path, REQUEST)
    result = draftrender.render(folder, tmp_path / "a.mp4", cache_dir=tmp_path / "cache", providers=providers,
                                placeholders=True, audio=False)
    notes = [n for n in result.fidelity if n.feature.startswith("generated material")]
    assert len(notes) == 1 and notes[0].status == "approximated"
    assert notes[0].feature == "generated material photo.png (seedance 2.0)"
    assert notes[0].reason.startswith("generation failed, a grey placeholder is shown: vibegen job ")
    frame = frames_at(tmp_path / "a.mp4", [15])[0]
    assert np.abs(frame - 96).max() <= 3


def test_a_photo_material_gets_a_still_of_a_local_clip(tmp_path):
    request = {"model": "local-title", "prompt": "静", "seconds": 0.5, "size": "160x90", "seed": 1}
    folder = generating_draft(tmp_path, request, kind="photo")
    frame = draftrender.render_frame(folder, 0.5, cache_dir=tmp_path / "cache")
    stills = list((tmp_path / "cache" / "generated" / "clips").glob("*.still.png"))
    assert len(stills) == 1
    assert frame.shape == (180, 320, 3)
    assert np.abs(frame.astype(int) - (200, 60, 40)).mean() > 30  # not the stand-in photo's flat red
    assert frame.reshape(-1, 3).std(axis=0).max() > 3  # a gradient, with a title


def test_a_bad_request_names_the_material_and_field(tmp_path):
    folder = generating_draft(tmp_path, {"model": "local-title", "seconds": -1})
    with pytest.raises(MalformedDraft, match=r"material photo.png draftrender_generation.seconds: Input should be "
                                             r"greater than 0"):
        draftrender.render(folder, tmp_path / "a.mp4", cache_dir=tmp_path / "cache")
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(draftrender_generation="local-title"))
    with pytest.raises(MalformedDraft, match="draftrender_generation must be an object on a video or photo material"):
        draftrender.load_draft(folder)
    assert json.loads((folder / "draft_content.json").read_text())["materials"]["videos"][0]["type"] == "video"
