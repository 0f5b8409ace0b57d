"""Compound clips (复合片段): the nested draft rendered by the same engine, placed like a video.

Both drafts are written by pyJianYingDraft; the outer one is then edited the way the editor
saves a compound clip (shared/real_drafts Temp__2): a `videos` material with an empty path,
and a `drafts` material holding the nested draft, named in the segment's extra_material_refs.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
import pytest
from drafts import SEC, edit_json, read_json
from media_factory import index_levels, make_clip, make_image

import draftrender
from draftrender.render.chunks import render_chunked
from draftrender.render.pipeline import with_options

W, H = 320, 180
BLUE = (40, 60, 220)


def inner_draft(root: Path) -> dict:
    """2 s: the frame-counter clip over the whole canvas, a blue square in the top-left quarter,
    and a 440 Hz tone from the clip."""
    script = jy.DraftFolder(str(root)).create_draft("inner", W, H, 30, allow_replace=True)
    media = root / "inner" / "media"
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "counter"), jy.TrackSpec(jy.TrackType.video, "square")])
    counter = make_clip(media / "counter.mp4", width=W, height=H, seconds=2.0, audio_hz=440)
    script.add_segment(jy.VideoSegment(str(counter), jy.trange(0, 2 * SEC)), "counter")
    square = make_image(media / "square.png", (90, 90), BLUE)
    script.add_segment(jy.VideoSegment(str(square), jy.trange(0, 2 * SEC), clip_settings=jy.ClipSettings(
        scale_x=0.5, scale_y=0.5, transform_x=-0.5, transform_y=0.5)), "square")
    script.save()
    return read_json(root / "inner")


def compound_draft(root: Path, nested: dict, *, speed: float = 2.0, scale: float = 0.5) -> Path:
    """An outer 1 s draft whose one segment is a compound clip of `nested`, at `speed` and `scale`."""
    script = jy.DraftFolder(str(root)).create_draft("outer", W, H, 30, allow_replace=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    stand_in = make_clip(root / "outer" / "media" / "stand_in.mp4", width=W, height=H, seconds=2.0)
    script.add_segment(jy.VideoSegment(str(stand_in), jy.trange(0, SEC), speed=speed,
                                       clip_settings=jy.ClipSettings(scale_x=scale, scale_y=scale)), "main")
    script.save()
    folder = root / "outer"

    def as_compound(data: dict) -> None:
        video = data["materials"]["videos"][0]
        video.update(path="", material_name="Compound clip1")
        data["materials"]["drafts"] = [{"id": "drafts-1", "combination_id": "c-1", "type": "combination",
                                        "draft": nested}]
        data["tracks"][0]["segments"][0]["extra_material_refs"].append("drafts-1")

    edit_json(folder, as_compound)
    (folder / "media" / "stand_in.mp4").unlink()  # only the nested media exist
    return folder


def close(pixel, colour, tol=14) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel[:3], int) - np.asarray(colour, int)) <= tol))


def test_the_nested_layers_land_at_their_pixels_with_the_outer_scale_and_speed(tmp_path):
    folder = compound_draft(tmp_path, inner_draft(tmp_path))
    img = draftrender.render_frame(folder, 0.25)
    # The nested 320×180 canvas, halved, sits in x 80–240, y 45–135; black around it.
    assert close(img[20, 20], (0, 0, 0)) and close(img[160, 300], (0, 0, 0))
    # The nested square (x 35–125, y 0–90 inside) lands at x 97–142, y 45–90.
    assert close(img[67, 120], BLUE)
    # At speed 2, 0.25 s out is 0.5 s in: the counter's frame 15 (left and right halves' greys).
    left, right = index_levels(15)
    assert close(img[120, 90], (left,) * 3) and close(img[120, 220], (right,) * 3)


def test_the_nested_sound_plays_at_the_outer_speed(tmp_path):
    folder = compound_draft(tmp_path, inner_draft(tmp_path), speed=2.0, scale=1.0)
    result = draftrender.render(folder, tmp_path / "out.mp4", preset="ultrafast")
    with av.open(str(result.output)) as f:
        sound = np.concatenate([frame.to_ndarray() for frame in f.decode(audio=0)], axis=1)[0]
    window = sound[12_000:36_000] * np.hanning(24_000)
    peak_hz = np.argmax(np.abs(np.fft.rfft(window))) * 48_000 / 24_000
    assert result.duration == pytest.approx(1.0, abs=0.04)
    assert abs(peak_hz - 440) <= 4  # the speed change keeps the pitch, as for any video
    assert np.sqrt(np.mean(sound[12_000:36_000] ** 2)) > 0.1


def test_compound_clips_nest_and_the_depth_is_bounded(tmp_path):
    nested = inner_draft(tmp_path)
    for _ in range(2):  # a compound clip of a compound clip of the inner draft
        nested = read_json(compound_draft(tmp_path, nested, speed=1.0, scale=1.0))
    img = draftrender.render_frame(tmp_path / "outer", 0.5)
    assert close(img[22, 80], BLUE)  # the square, where the inner draft puts it: nothing scaled

    deep = nested
    for _ in range(4):
        deep = read_json(compound_draft(tmp_path, deep, speed=1.0, scale=1.0))
    timeline = draftrender.load_draft(tmp_path / "outer")
    notes = [n for n in timeline.fidelity if "nest more than 4 deep" in n.reason]
    assert len(notes) == 1 and notes[0].status == "ignored"


def test_a_chunked_render_keeps_the_compound_clips_picture_and_sound(tmp_path):
    folder = compound_draft(tmp_path, inner_draft(tmp_path), speed=1.0, scale=1.0)
    out = render_chunked(draftrender.load_draft(folder), tmp_path / "chunked.mp4",
                         with_options(preset="ultrafast"), 0.5)
    with av.open(str(out.output)) as f:
        sound = np.concatenate([frame.to_ndarray() for frame in f.decode(audio=0)], axis=1)[0]
    with av.open(str(out.output)) as f:
        pictures = [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]
    assert len(pictures) == 30 and close(pictures[20][67, 80], BLUE)  # the nested square, unscaled
    assert np.sqrt(np.mean(sound[12_000:36_000] ** 2)) > 0.1  # the nested clip's tone


def test_a_compound_clip_draws_the_nested_timeline_alone_with_no_file_between(tmp_path, monkeypatch):
    folder = compound_draft(tmp_path, inner_draft(tmp_path), speed=1.0, scale=1.0)
    written: list[Path] = []
    real_open = av.open

    def open_noting_writes(file, mode="r", *args, **kwargs):
        if mode == "w":
            written.append(Path(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(av, "open", open_noting_writes)
    compound = draftrender.render(folder, tmp_path / "compound.mp4", preset="ultrafast", audio=False)
    assert len(written) == 1 and written[0].name.startswith(".compound.mp4.part")  # the output only
    alone = draftrender.render(tmp_path / "inner", tmp_path / "alone.mp4", preset="ultrafast", audio=False, end=1.0)
    with real_open(str(compound.output)) as a, real_open(str(alone.output)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    assert len(pairs) == 30
    for x, y in pairs:
        diff = x.to_ndarray(format="rgb24").astype(int) - y.to_ndarray(format="rgb24").astype(int)
        assert np.abs(diff).max() <= 2
