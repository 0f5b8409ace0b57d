"""Draft JSON → Timeline on drafts written by pyJianYingDraft and pycapcut.

Every feature of the model is read from a real writer's output (hand edits only where the
writers cannot express a feature), and every hostile draft ends in one clear error.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest
from drafts import SEC, STICKER_ID, full_capcut_draft, full_pyjy_draft, material_json, pyjy_draft, read_json
from media_factory import make_clip, make_image, make_tone
from shared import SAMPLES, names, require

import pyJianYingDraft as jy
from draftrender.effects.registry import support
from draftrender.errors import DraftEmpty, MalformedDraft
from draftrender.timeline.model import (
    Animation,
    Background,
    Chroma,
    Crop,
    Media,
    NamedEffect,
    SolidColor,
    Sticker,
    Stroke,
    Text,
    TextBackground,
    Timeline,
    Track,
)
from draftrender.timeline.parse import MAX_SEGMENTS, parse



# ---------------------------------------------------------------- helpers and fixtures


@pytest.fixture(scope="module")
def pyjy_folder(tmp_path_factory) -> Path:
    return full_pyjy_draft(tmp_path_factory.mktemp("pyjy"))


@pytest.fixture(scope="module")
def capcut_folder(tmp_path_factory) -> Path:
    return full_capcut_draft(tmp_path_factory.mktemp("capcut"))


@pytest.fixture
def pyjy_data(pyjy_folder) -> dict:
    """A fresh copy of the pyJianYingDraft draft's JSON, to edit in memory."""
    return read_json(pyjy_folder)


@pytest.fixture(scope="module")
def pyjy(pyjy_folder) -> Timeline:
    return load(pyjy_folder)


@pytest.fixture(scope="module")
def capcut(capcut_folder) -> Timeline:
    return load(capcut_folder)


def load(folder: Path, data: dict | None = None) -> Timeline:
    return parse(read_json(folder) if data is None else data, draft_dir=folder, origin="draft_content.json")


def track(tl: Timeline, name: str) -> Track:
    return next(t for t in tl.tracks if t.name == name)


def seg_json(data: dict, track_name: str, i: int = 0) -> dict:
    return next(t for t in data["tracks"] if t["name"] == track_name)["segments"][i]


def ref_of_kind(data: dict, seg: dict, kind: str) -> dict:
    """The material of this kind that a segment's extra_material_refs point at."""
    for ref in seg["extra_material_refs"]:
        try:
            k, item = material_json(data, ref)
        except KeyError:  # pyJianYingDraft names a speed on text segments without writing it
            continue
        if k == kind:
            return item
    raise KeyError(kind)


def order(tl: Timeline) -> list[tuple[int, int]]:
    return [(s.track_index, s.index) for s in tl.visual_segments()]


def notes_at(tl: Timeline, ti: int | None, si: int | None) -> dict[str, tuple[str, str]]:
    return {n.feature: (n.status, n.reason) for n in tl.fidelity if (n.track, n.segment) == (ti, si)}


# ---------------------------------------------------------------- canvas, fps, duration


def test_canvas_fps_and_duration_from_pyjianyingdraft(pyjy):
    assert (pyjy.canvas.width, pyjy.canvas.height, pyjy.canvas.ratio) == (1920, 1080, "original")
    assert pyjy.fps == Fraction(30)
    assert pyjy.duration == 3 * SEC
    assert pyjy.declared_duration == 3 * SEC
    assert pyjy.app_source == "lv"
    assert pyjy.origin == "draft_content.json"


def test_canvas_and_platform_from_pycapcut(capcut):
    assert (capcut.canvas.width, capcut.canvas.height) == (1080, 1920)
    assert capcut.fps == 30
    assert capcut.duration == 2 * SEC
    assert capcut.app_source == "cc"


def test_pycapcut_segments_and_materials(capcut):
    v0, v1 = track(capcut, "main").segments
    assert (v0.material.name, v1.material.kind) == ("clip_a.mp4", "photo")
    assert (v0.transition.effect.name, v1.animations[0].type, v1.animations[0].effect.name) == ("叠化", "in", "渐显")
    over = track(capcut, "over").segments[0]
    assert (over.clip.scale_x, over.clip.scale_y, over.target.duration) == (0.5, 0.5, 2 * SEC)
    bgm = track(capcut, "bgm").segments[0]
    assert (bgm.volume, bgm.fade.fade_in, bgm.fade.fade_out) == (0.8, 200_000, 400_000)
    caption = track(capcut, "caption").segments[0].material
    assert caption.text == "CapCut 字幕"
    assert [(s.start, s.end, s.size, s.color) for s in caption.styles] == [(0, 9, 8.0, (0.0, 1.0, 0.0, 1.0))]


def test_missing_fps_is_30(pyjy_folder, pyjy_data):
    del pyjy_data["fps"]
    assert load(pyjy_folder, pyjy_data).fps == Fraction(30)


@pytest.mark.parametrize("fps, expected", [
    (25, Fraction(25)), (60.0, Fraction(60)), (12.5, Fraction(25, 2)),
    (29.97, Fraction(30000, 1001)), (23.976, Fraction(24000, 1001)), (59.94, Fraction(60000, 1001))])
def test_fps_as_written(pyjy_folder, pyjy_data, fps, expected):
    pyjy_data["fps"] = fps
    assert load(pyjy_folder, pyjy_data).fps == expected


def test_unusable_fps_falls_back_to_30_and_says_so(pyjy_folder, pyjy_data):
    pyjy_data["fps"] = "fast"
    tl = load(pyjy_folder, pyjy_data)
    assert tl.fps == 30
    assert notes_at(tl, None, None)["fps"][0] == "approximated"


def test_missing_canvas_config_is_1920x1080_and_reported(pyjy_folder, pyjy_data):
    del pyjy_data["canvas_config"]
    tl = load(pyjy_folder, pyjy_data)
    assert (tl.canvas.width, tl.canvas.height) == (1920, 1080)
    assert notes_at(tl, None, None)["canvas"][0] == "approximated"


def test_duration_comes_from_visible_tracks_not_the_declared_field(pyjy_folder, pyjy_data):
    pyjy_data["duration"] = 99 * SEC
    for name, i in (("main", 2), ("caption", 1)):
        seg_json(pyjy_data, name, i)["visible"] = False
    next(t for t in pyjy_data["tracks"] if t["name"] == "bgm")["attribute"] = 1
    tl = load(pyjy_folder, pyjy_data)
    # The grade filter runs to 3 s, but effects and filters do not make the video longer.
    assert tl.duration == 2 * SEC
    assert tl.declared_duration == 99 * SEC


# ---------------------------------------------------------------- tracks and segments


def test_tracks_of_every_type_with_their_materials(pyjy):
    assert [(t.index, t.type, t.name, t.muted) for t in pyjy.tracks] == [
        (0, "video", "main", False), (1, "video", "pip", False), (2, "audio", "bgm", False),
        (3, "text", "caption", False), (4, "sticker", "stickers", False), (5, "effect", "fx", False),
        (6, "filter", "grade", False)]
    kinds = {t.name: [type(s.material).__name__ for s in t.segments] for t in pyjy.tracks}
    assert kinds == {"main": ["Media", "Media", "Media"], "pip": ["Media"], "bgm": ["Media"],
                     "caption": ["Text", "Text"], "stickers": ["Sticker"], "fx": ["NamedEffect"],
                     "grade": ["NamedEffect"]}
    main = track(pyjy, "main").segments
    assert [m.material.kind for m in main] == ["video", "video", "photo"]
    assert track(pyjy, "bgm").segments[0].material.kind == "audio"
    fx, grade = track(pyjy, "fx").segments[0], track(pyjy, "grade").segments[0]
    assert (fx.material.kind, fx.material.name, fx.target.start, fx.target.duration) == (
        "video_effect", "DV界面", SEC // 2, SEC)
    assert (grade.material.kind, grade.material.name, grade.material.intensity) == ("filter", "亢奋", 0.7)
    sticker = track(pyjy, "stickers").segments[0].material
    assert isinstance(sticker, Sticker) and sticker.resource_id == STICKER_ID


def test_target_and_source_ranges(pyjy):
    main = track(pyjy, "main").segments
    assert [(s.target.start, s.target.duration) for s in main] == [(0, SEC), (SEC, SEC), (2 * SEC, SEC)]
    assert (main[0].source.start, main[0].source.duration) == (SEC // 2, SEC)
    assert (main[1].source.start, main[1].source.duration) == (0, 2 * SEC)
    assert main[0].target.end == SEC
    caption = track(pyjy, "caption").segments[0]
    assert caption.source is None
    bgm = track(pyjy, "bgm").segments[0]
    assert (bgm.source.start, bgm.source.duration, bgm.target.duration) == (0, 3 * SEC, 3 * SEC)


def test_missing_target_start_means_zero(pyjy_folder, pyjy_data):
    del seg_json(pyjy_data, "pip")["target_timerange"]["start"]
    assert track(load(pyjy_folder, pyjy_data), "pip").segments[0].target.start == 0


def test_speed_comes_from_the_segment(pyjy_folder, pyjy_data, pyjy):
    assert [s.speed for s in track(pyjy, "main").segments] == [1.0, 2.0, 1.0]
    # Editors often leave the speeds material at its default: the segment's value wins.
    s1 = seg_json(pyjy_data, "main", 1)
    ref_of_kind(pyjy_data, s1, "speeds")["speed"] = 9.0
    assert track(load(pyjy_folder, pyjy_data), "main").segments[1].speed == 2.0


def test_curve_speed_from_a_speeds_material_in_mode_1(pyjy_folder, pyjy_data):
    s0 = seg_json(pyjy_data, "main", 0)
    ref_of_kind(pyjy_data, s0, "speeds").update(mode=1, curve_speed={
        "id": "curve", "name": "蒙太奇",
        "speed_points": [{"x": 1.0, "y": 1.0}, {"x": 0.0, "y": 1.0}, {"x": 0.5, "y": 3.0}]})
    seg = track(load(pyjy_folder, pyjy_data), "main").segments[0]
    assert seg.speed_curve.points == ((0.0, 1.0), (0.5, 3.0), (1.0, 1.0))
    assert seg.speed_curve.name == "蒙太奇"
    assert seg.speed == 1.0


def test_reverse_volume_and_tone(pyjy_folder, pyjy_data, pyjy):
    assert track(pyjy, "bgm").segments[0].volume == 0.3
    assert track(pyjy, "main").segments[0].volume == 1.0
    assert not track(pyjy, "main").segments[1].reverse
    s1 = seg_json(pyjy_data, "main", 1)
    s1["reverse"], s1["volume"], s1["is_tone_modify"] = True, 2.5, True
    seg = track(load(pyjy_folder, pyjy_data), "main").segments[1]
    assert (seg.reverse, seg.volume, seg.tone_modify) == (True, 2.5, True)


def test_hidden_segment_is_kept_but_not_drawn(pyjy_folder, pyjy_data):
    seg_json(pyjy_data, "caption", 1)["visible"] = False
    tl = load(pyjy_folder, pyjy_data)
    hidden = track(tl, "caption").segments[1]
    assert hidden.visible is False
    assert (3, 1) not in order(tl)
    assert notes_at(tl, 3, 1) == {}  # drawn as the editor shows it: nothing to report


@pytest.mark.parametrize("attribute, shown, muted", [(0, True, False), (1, True, True), (2, False, False),
                                                     (3, False, True), (4, True, False), (5, True, True)])
def test_track_attribute_bits_mute_sound_and_hide_pictures(pyjy_folder, pyjy_data, attribute, shown, muted):
    # 1 mutes the sound only, 2 hides the pictures, 4 locks the track in the editor.
    next(t for t in pyjy_data["tracks"] if t["name"] == "pip")["attribute"] = attribute
    tl = load(pyjy_folder, pyjy_data)
    assert (track(tl, "pip").muted, track(tl, "pip").hidden) == (muted, not shown)
    assert any(ti == 1 for ti, _ in order(tl)) == shown
    assert notes_at(tl, 1, None) == {}


@pytest.mark.parametrize("mid", ["no-such-id", 7, None])
def test_a_dangling_material_id_leaves_out_that_segment_and_says_which(pyjy_folder, pyjy_data, mid):
    seg_json(pyjy_data, "main", 2)["material_id"] = mid
    tl = load(pyjy_folder, pyjy_data)
    assert [s.index for s in track(tl, "main").segments] == [0, 1]
    assert len(track(tl, "caption").segments) == 2
    status, reason = notes_at(tl, 0, 2)["missing material"]
    assert status == "ignored"
    assert f"tracks[0].segments[2].material_id {mid!r} is in no materials list" in reason
    assert tl.duration == 3 * SEC  # the segment's time stays in the timeline, empty


def test_a_draft_whose_every_material_is_gone_keeps_its_length(pyjy_folder, pyjy_data):
    for t in pyjy_data["tracks"]:
        for seg in t["segments"]:
            seg["material_id"] = "gone"
    tl = load(pyjy_folder, pyjy_data)
    assert not tl.segments and tl.duration == 3 * SEC
    assert sum(n.feature == "missing material" for n in tl.fidelity) == 10


def test_empty_segment_is_dropped_keeping_the_others_indexes(pyjy_folder, pyjy_data):
    seg_json(pyjy_data, "main", 1)["target_timerange"]["duration"] = 0
    tl = load(pyjy_folder, pyjy_data)
    assert [s.index for s in track(tl, "main").segments] == [0, 2]
    assert notes_at(tl, 0, 1)["empty segment"][0] == "ignored"


# ---------------------------------------------------------------- draw order


def test_draw_order_follows_render_index_from_pyjianyingdraft(pyjy):
    # pyJianYingDraft writes each segment's render_index as its track's position.
    assert [s.render_index for s in pyjy.segments] == [0, 0, 0, 1, 2, 3, 3, 4, 5, 6]
    assert order(pyjy) == [(0, 0), (0, 1), (0, 2), (1, 0), (3, 0), (3, 1), (4, 0), (5, 0), (6, 0)]


def test_type_bases_from_pycapcut_and_ties_by_track_order(capcut):
    assert [(t.name, [s.render_index for s in t.segments]) for t in capcut.tracks] == [
        ("main", [0, 0]), ("over", [0]), ("bgm", [0]), ("stickers", [14000]), ("caption", [15000])]
    # main and over share render_index 0: the earlier track draws first.
    assert order(capcut) == [(0, 0), (0, 1), (1, 0), (3, 0), (4, 0)]


def test_render_index_beats_track_order(capcut_folder):
    data = read_json(capcut_folder)
    data["tracks"].insert(0, data["tracks"].pop())  # the caption track first in the list
    tl = load(capcut_folder, data)
    assert tl.tracks[0].name == "caption"
    assert order(tl) == [(1, 0), (1, 1), (2, 0), (4, 0), (0, 0)]


def test_missing_render_index_falls_back_to_the_type_base(pyjy_folder, pyjy_data):
    for t in pyjy_data["tracks"]:
        for s in t["segments"]:
            del s["render_index"]
    tl = load(pyjy_folder, pyjy_data)
    # video 0 (main, pip by track order), effect 10000, filter 11000, sticker 14000, text 15000
    assert order(tl) == [(0, 0), (0, 1), (0, 2), (1, 0), (5, 0), (6, 0), (4, 0), (3, 0), (3, 1)]


def test_track_render_index_when_render_index_is_missing(pyjy_folder, pyjy_data):
    pip = seg_json(pyjy_data, "pip")
    del pip["render_index"]
    pip["track_render_index"] = 7
    tl = load(pyjy_folder, pyjy_data)
    assert track(tl, "pip").segments[0].render_index == 7
    assert order(tl)[-1] == (1, 0)


# ---------------------------------------------------------------- geometry


def test_clip_transform_scale_rotation_alpha_and_flip(pyjy):
    pip = track(pyjy, "pip").segments[0]
    c = pip.clip
    assert (c.alpha, c.rotation, c.scale_x, c.scale_y, c.x, c.y) == (0.6, 30.0, 0.4, 0.4, 0.5, 0.25)
    assert (c.flip_horizontal, c.flip_vertical) == (True, False)
    # scale_x / scale_y keyframes turn uniform scale off in pyJianYingDraft.
    assert c.uniform_scale is False
    photo = track(pyjy, "main").segments[2].clip
    assert (photo.flip_horizontal, photo.flip_vertical, photo.uniform_scale) == (False, True, True)
    caption = track(pyjy, "caption").segments[0].clip
    assert (caption.x, caption.y) == (0.0, -0.8)


def test_audio_segment_has_the_neutral_clip(pyjy):
    c = track(pyjy, "bgm").segments[0].clip
    assert (c.alpha, c.scale_x, c.scale_y, c.x, c.y, c.rotation) == (1.0, 1.0, 1.0, 0.0, 0.0, 0.0)


def test_empty_flip_and_uniform_scale_objects_mean_defaults(pyjy_folder, pyjy_data):
    pip = seg_json(pyjy_data, "pip")
    pip["clip"]["flip"], pip["uniform_scale"] = {}, {}
    c = track(load(pyjy_folder, pyjy_data), "pip").segments[0].clip
    assert (c.flip_horizontal, c.flip_vertical, c.uniform_scale) == (False, False, True)


def test_crop_of_a_photo(pyjy):
    photo = track(pyjy, "main").segments[2].material
    assert photo.crop == Crop(0.1, 0.2, 0.9, 0.8)
    assert not photo.crop.is_full
    assert track(pyjy, "main").segments[0].material.crop.is_full


def test_media_metadata_from_the_writer(pyjy):
    clip, _, photo = (s.material for s in track(pyjy, "main").segments)
    assert (clip.name, clip.width, clip.height, clip.duration) == ("clip_a.mp4", 320, 180, 2 * SEC)
    # Photos carry the editor's 3 h duration; the segment's times are what count.
    assert (photo.kind, photo.duration) == ("photo", 10_800_000_000)
    # The same material on two segments is one medium.
    assert track(pyjy, "main").segments[0].material is track(pyjy, "main").segments[1].material
    assert [m.name for m in pyjy.media()] == ["clip_a.mp4", "photo.png", "clip_b.mp4", "bgm.wav"]


def test_solid_colour_video_material(pyjy_folder, pyjy_data):
    _, photo = material_json(pyjy_data, seg_json(pyjy_data, "main", 2)["material_id"])
    photo.update(type="color", color="#00FF0080", path="")
    m = track(load(pyjy_folder, pyjy_data), "main").segments[2].material
    assert isinstance(m, SolidColor)
    assert m.color == (0.0, 1.0, 0.0, 128 / 255)


# ---------------------------------------------------------------- keyframes


def test_keyframes_of_every_visual_property_and_volume(pyjy):
    s0 = track(pyjy, "main").segments[0]
    assert sorted(k.property for k in s0.keyframes) == sorted([
        "position_x", "position_y", "rotation", "alpha", "brightness", "contrast", "saturation", "volume",
        "scale_x", "scale_y"])
    mid = SEC // 2
    expected = {"position_x": 0.0, "position_y": 0.5, "rotation": 45.0, "alpha": 0.5, "brightness": 0.0,
                "contrast": 0.5, "saturation": -0.5, "volume": 1.0, "scale_x": 1.5, "scale_y": 1.5}
    assert {p: pytest.approx(s0.value_at(p, mid, -99.0)) for p in expected} == expected
    assert s0.value_at("position_x", SEC // 4, 0.0) == pytest.approx(-0.25)
    assert s0.value_at("alpha", -5, 1.0) == 0.0  # before the first keyframe: hold it
    assert s0.value_at("rotation", 5 * SEC, 0.0) == 90.0  # after the last: hold it
    assert s0.value_at("flip", mid, 7.0) == 7.0  # not keyframed: the static value


def test_separate_scale_keyframes_when_uniform_scale_is_off(pyjy):
    pip = track(pyjy, "pip").segments[0]
    assert pip.value_at("scale_x", SEC, pip.clip.scale_x) == pytest.approx(0.6)
    assert pip.value_at("scale_y", SEC, pip.clip.scale_y) == pytest.approx(0.5)
    assert pip.value_at("rotation", SEC, pip.clip.rotation) == 30.0


def test_audio_volume_keyframes(pyjy):
    bgm = track(pyjy, "bgm").segments[0]
    assert [k.property for k in bgm.keyframes] == ["volume"]
    assert bgm.value_at("volume", 1_500_000, bgm.volume) == pytest.approx(0.5)


def test_unknown_keyframe_property_is_kept_and_reported(pyjy_folder, pyjy_data):
    seg_json(pyjy_data, "pip")["common_keyframes"].append({
        "property_type": "KFTypeHologram", "keyframe_list": [{"time_offset": 0, "values": [1.0]}]})
    tl = load(pyjy_folder, pyjy_data)
    assert track(tl, "pip").segments[0].keyframes_for("KFTypeHologram").value_at(0) == 1.0
    assert notes_at(tl, 1, 0)["keyframes KFTypeHologram"] == ("ignored", "unknown keyframed property")


# ---------------------------------------------------------------- attached materials


def test_audio_fades(pyjy):
    f0, f_bgm = track(pyjy, "main").segments[0].fade, track(pyjy, "bgm").segments[0].fade
    assert (f0.fade_in, f0.fade_out) == (200_000, 300_000)
    assert (f_bgm.fade_in, f_bgm.fade_out) == (500_000, SEC)
    assert track(pyjy, "main").segments[1].fade is None


def test_background_canvases_blur_and_colour(pyjy, capcut):
    main = track(pyjy, "main").segments
    assert main[0].background == Background("blur", blur=0.375)
    assert main[1].background == Background("color", color=(0.2, 0.4, 0.6, 1.0))
    assert main[2].background is None
    assert track(capcut, "main").segments[0].background == Background("blur", blur=0.0625)


def test_mask_prefers_common_mask_over_masks(pyjy_folder, pyjy_data, pyjy):
    mask = track(pyjy, "pip").segments[0].mask
    assert (mask.shape, mask.name, mask.height, mask.feather, mask.invert) == ("circle", "圆形", 0.5, 0.2, False)
    # size 0.5 of the 320 px height, as a fraction of the 180 px width
    assert mask.width == pytest.approx(0.5 * 320 / 180)
    pip = seg_json(pyjy_data, "pip")
    mask_id = next(r for r in pip["extra_material_refs"] if material_json(pyjy_data, r)[0] in ("masks", "common_mask"))
    next(m for m in pyjy_data["materials"]["common_mask"] if m["id"] == mask_id)["config"]["centerX"] = 0.3
    assert track(load(pyjy_folder, pyjy_data), "pip").segments[0].mask.center_x == 0.3
    pyjy_data["materials"]["common_mask"] = []  # older editors: masks alone
    assert track(load(pyjy_folder, pyjy_data), "pip").segments[0].mask.center_x == 0.0


def test_capcut_rectangle_mask(capcut):
    mask = track(capcut, "over").segments[0].mask
    assert (mask.shape, mask.width, mask.height) == ("rectangle", 0.5, 0.5)


def test_chroma_key(pyjy):
    assert track(pyjy, "pip").segments[0].chroma == Chroma((0.0, 1.0, 0.0, 1.0), 0.4, 0.1, 0.0, 0.0)


def test_mix_mode_transition_filters_and_effects(pyjy):
    pip = track(pyjy, "pip").segments[0]
    assert (pip.mix_mode.kind, pip.mix_mode.name) == ("mix_mode", "滤色")
    s0, s1 = track(pyjy, "main").segments[:2]
    assert (s0.transition.effect.name, s0.transition.duration, s0.transition.is_overlap) == ("叠化", 400_000, True)
    assert s1.transition is None
    assert [(f.kind, f.name, f.intensity) for f in s1.filters] == [("filter", "亢奋", 0.6)]
    assert [(e.kind, e.name) for e in s1.effects] == [("video_effect", "DV界面")]


def test_animations_in_out_group_and_text(pyjy):
    main = track(pyjy, "main").segments
    summary = [[(a.type, a.effect.name, a.start, a.duration) for a in s.animations] for s in main]
    assert summary == [[("in", "渐显", 0, 500_000)], [("out", "渐隐", 500_000, 500_000)], [("group", "三分割", 0, SEC)]]
    caption = track(pyjy, "caption").segments[0]
    assert [(a.type, a.effect.name, a.start, a.duration) for a in caption.animations] == [
        ("in", "复古打字机", 0, 800_000), ("out", "向上溶解", 1_500_000, 500_000)]
    assert isinstance(main[0].animations[0], Animation) and main[0].animations[0].effect.id == "624705"


def test_dangling_extra_material_refs_are_tolerated(pyjy_folder, pyjy_data):
    seg_json(pyjy_data, "main", 1)["extra_material_refs"] += ["no-such-id", 42, None]
    seg_json(pyjy_data, "caption", 1)["extra_material_refs"] = ["no-such-speed"]
    tl = load(pyjy_folder, pyjy_data)
    assert [f.name for f in track(tl, "main").segments[1].filters] == ["亢奋"]


def test_lut_from_the_effects_list(pyjy_folder, pyjy_data):
    cube = pyjy_folder / "luts" / "film.cube"
    cube.parent.mkdir(exist_ok=True)
    cube.write_text("LUT_3D_SIZE 2\n")
    pyjy_data["materials"]["effects"].append({"id": "lut1", "type": "lut", "name": "胶片", "path": "luts/film.cube",
                                              "value": 0.8})
    seg_json(pyjy_data, "main", 0)["extra_material_refs"].append("lut1")
    seg = track(load(pyjy_folder, pyjy_data), "main").segments[0]
    assert [(f.kind, f.name, f.path, f.intensity) for f in seg.filters] == [("lut", "胶片", str(cube.resolve()), 0.8)]


@pytest.mark.parametrize("written, reason", [
    ("/dev/zero", "outside the allowed media folders"), ("luts/none.cube", "was not found"),
    ("../outside.cube", "climbs out of the draft folder")])
def test_a_lut_file_goes_through_the_media_locator_and_roots(pyjy_folder, pyjy_data, tmp_path, written, reason):
    (pyjy_folder.parent / "outside.cube").write_text("LUT_3D_SIZE 2\n")
    pyjy_data["materials"]["effects"].append({"id": "lut1", "type": "lut", "name": "胶片", "path": written})
    seg_json(pyjy_data, "main", 0)["extra_material_refs"].append("lut1")
    tl = parse(pyjy_data, draft_dir=pyjy_folder, origin="draft_content.json", media_roots=(tmp_path,))
    assert track(tl, "main").segments[0].filters == ()
    (note,) = [n for n in tl.fidelity if n.feature == "LUT 胶片"]
    assert note.status == "ignored" and reason in note.reason


# ---------------------------------------------------------------- text


def test_text_with_parsed_styles(pyjy):
    t = track(pyjy, "caption").segments[0].material
    assert isinstance(t, Text) and t.text == "你好 World"
    (style,) = t.styles
    assert (style.start, style.end, style.size) == (0, 8, 12.0)
    assert style.color == (1.0, 0.8, 0.0, 1.0)
    assert (style.bold, style.italic, style.underline) == (True, True, True)
    (stroke,) = style.strokes
    assert stroke.color == (0.0, 0.0, 0.5, 1.0) and stroke.width == pytest.approx(0.1)
    (shadow,) = style.shadows
    assert shadow.color == (0.2, 0.3, 0.4, 0.8)
    assert (shadow.distance, shadow.angle) == (8.0, -60.0) and shadow.diffuse == pytest.approx(15 / 100 / 6)
    assert (style.font_id, style.font_path) == (jy.FontType.文轩体.value.resource_id, "D:")
    assert (t.alignment, t.vertical, t.wrap) == (1, False, True)
    assert (t.letter_spacing, t.line_spacing, t.line_max_width) == (pytest.approx(0.1), pytest.approx(0.22), 0.6)
    assert t.global_alpha == 0.9
    assert t.background == TextBackground(color=(16 / 255, 32 / 255, 48 / 255, 0.5), style=1, round_radius=0.2,
                                          width=0.14, height=0.14, horizontal_offset=0.0, vertical_offset=0.0)


def test_vertical_right_aligned_text(pyjy):
    t = track(pyjy, "caption").segments[1].material
    assert (t.text, t.vertical, t.alignment, t.background) == ("竖排", True, 2, None)
    assert t.styles[0].color == (1.0, 1.0, 1.0, 1.0) and t.styles[0].strokes == ()


def test_style_range_as_object_and_several_styles(pyjy_folder, pyjy_data):
    _, mat = material_json(pyjy_data, seg_json(pyjy_data, "caption")["material_id"])
    mat["content"] = json.dumps({"text": "你好 World", "styles": [
        {"range": {"start": 0, "end": 2}, "size": 15, "fill": {"content": {"solid": {"color": [1, 0, 0]}}}},
        {"range": {"start": 3, "end": 8}, "fill": {"content": {"solid": {"color": [0, 0, 1], "alpha": 0.5}}}},
    ]}, ensure_ascii=False)
    styles = track(load(pyjy_folder, pyjy_data), "caption").segments[0].material.styles
    assert [(s.start, s.end, s.size, s.color) for s in styles] == [
        (0, 2, 15.0, (1.0, 0.0, 0.0, 1.0)), (3, 8, 6.0, (0.0, 0.0, 1.0, 0.5))]


@pytest.mark.parametrize("width, height, size", [(1920, 1080, 6.0), (1080, 1920, 10.0)])
def test_default_text_size_by_canvas_orientation(pyjy_folder, pyjy_data, width, height, size):
    pyjy_data["canvas_config"].update(width=width, height=height)
    _, mat = material_json(pyjy_data, seg_json(pyjy_data, "caption")["material_id"])
    content = json.loads(mat["content"])
    del content["styles"][0]["size"]
    mat["content"] = json.dumps(content)
    assert track(load(pyjy_folder, pyjy_data), "caption").segments[0].material.styles[0].size == size


def test_flat_fields_when_styles_are_missing(pyjy_folder, pyjy_data):
    _, mat = material_json(pyjy_data, seg_json(pyjy_data, "caption")["material_id"])
    mat.update(content=json.dumps({"text": "旧 style"}), text_color="#FF0000", text_alpha=0.75, font_size=7,
               check_flag=7 | 8 | 32, border_width=0.06, border_color="#00FF00", has_shadow=True,
               shadow_color="#0000FF", shadow_alpha=0.5, shadow_distance=3, shadow_angle=-30,
               font_path="fonts/old.ttf", font_name="旧体")
    (style,) = track(load(pyjy_folder, pyjy_data), "caption").segments[0].material.styles
    assert (style.start, style.end, style.size) == (0, 7, 7.0)
    assert style.color == (1.0, 0.0, 0.0, 0.75)
    assert [(s.color, s.width) for s in style.strokes] == [((0.0, 1.0, 0.0, 1.0), 0.06)]
    assert [(s.color, s.distance, s.angle) for s in style.shadows] == [((0.0, 0.0, 1.0, 0.5), 3.0, -30.0)]
    # No such file in the draft folder: only its name is kept, to look up installed fonts.
    assert (style.font_path, style.font_name) == ("old.ttf", "旧体")


def test_old_markup_content(pyjy_folder, pyjy_data):
    _, mat = material_json(pyjy_data, seg_json(pyjy_data, "caption")["material_id"])
    mat["content"] = '<font id="" path="C:/f.ttf"><color=(1,1,1,1)><size=8>[旧字幕]</size></color></font>'
    assert track(load(pyjy_folder, pyjy_data), "caption").segments[0].material.text == "旧字幕"


def test_old_rich_text_markup_sets_colour_size_outline_and_font(pyjy_folder, pyjy_data):
    # As CapCut 2.2 writes it (shared/real_drafts CAA-Video): the markup, not the flat fields, styles it.
    _, mat = material_json(pyjy_data, seg_json(pyjy_data, "caption")["material_id"])
    mat["content"] = ('<outline color=(0.27451,0.61569,0.95294,1) width=0.08><size=15><color=(0.75294,0.9451,'
                      '0.96078,1)><font id="" path="/Applications/CapCut.app/f.ttf">[CAA Project]</font></color>'
                      '</size></outline>')
    mat.update(text_color="#FF0000", font_size=6.0)
    text = track(load(pyjy_folder, pyjy_data), "caption").segments[0].material
    (style,) = text.styles
    assert text.text == "CAA Project"
    assert (style.start, style.end, style.size) == (0, 11, 15.0)
    assert style.color == (0.75294, 0.9451, 0.96078, 1.0)
    assert style.strokes == (Stroke((0.27451, 0.61569, 0.95294, 1.0), 0.08),)
    assert style.font_path == "f.ttf"  # not found here: looked up among installed fonts by name


@pytest.mark.parametrize("saturation, noted", [(0, False), (0.4, True)])
def test_an_hsl_material_is_reported_only_when_it_changes_something(pyjy_folder, pyjy_data, saturation, noted):
    # As CapCut writes it (shared/real_drafts Rolik): a panel opened and left at zero changes nothing.
    pyjy_data["materials"]["hsl"] = [{"id": "hsl-1", "type": "hsl", "hsl_color_type": 1, "hue": 0,
                                      "saturation": saturation, "lightness": 0}]
    seg_json(pyjy_data, "pip")["extra_material_refs"].append("hsl-1")
    notes = notes_at(load(pyjy_folder, pyjy_data), 1, 0)
    assert ("hsl adjustment" in notes) == noted
    assert not any(feature.startswith("material") for feature in notes)


def test_old_top_level_keyframes_are_reported(pyjy_folder, pyjy_data):
    pyjy_data["keyframes"] = {"videos": [{"id": "kf-1", "time_offset": 0}]}
    seg_json(pyjy_data, "pip")["keyframe_refs"] = ["kf-1"]
    assert notes_at(load(pyjy_folder, pyjy_data), 1, 0)["old keyframes"][0] == "ignored"


def test_glow_is_reported_and_word_timings_only_with_a_karaoke_animation(pyjy_folder, pyjy_data):
    seg = seg_json(pyjy_data, "caption")
    _, mat = material_json(pyjy_data, seg["material_id"])
    mat["check_flag"] |= 64
    mat["words"] = {"text": ["你好", "World"], "start_time": [0, 500_000], "end_time": [500_000, SEC]}
    tl = load(pyjy_folder, pyjy_data)
    t = track(tl, "caption").segments[0].material
    assert t.glow
    assert [(w.text, w.start, w.end) for w in t.words] == [("你好", 0, 500_000), ("World", 500_000, SEC)]
    notes = notes_at(tl, 3, 0)
    assert notes["text glow"][0] == "ignored"
    # Auto-captions carry word timings that change nothing on screen: no note.
    assert "karaoke word timing" not in notes

    ref_of_kind(pyjy_data, seg, "material_animations")["animations"][0].update(name="卡拉OK", id="", resource_id="")
    notes = notes_at(load(pyjy_folder, pyjy_data), 3, 0)
    assert notes["karaoke word timing"][0] == "approximated"


def test_text_bubble_and_fancy_text_are_reported(tmp_path):
    def build(script, media):
        script.append_track(jy.TrackSpec(jy.TrackType.text, "caption"))
        seg = jy.TextSegment("花字", jy.trange(0, SEC))
        seg.add_bubble("bubble-effect", "bubble-resource").add_effect("7296357486490144036")
        script.add_segment(seg, "caption")

    folder = pyjy_draft(tmp_path, build)
    tl = load(folder)
    notes = notes_at(tl, 0, 0)
    assert notes["text bubble bubble-resource"][0] == "ignored"
    assert notes["text effect style (花字) 7296357486490144036"][0] == "approximated"


# ---------------------------------------------------------------- the fidelity report


def expect(tl: Timeline, ti: int, si: int, feature: str, family: str, name: str = "") -> None:
    """The report holds exactly what the effect registry says the renderer does with this feature."""
    status, reason = support(family, name)
    got = notes_at(tl, ti, si).get(feature)
    assert got == (None if status == "rendered" else (status, reason)), feature


def test_named_features_appear_per_segment_with_status_and_reason(pyjy):
    expect(pyjy, 0, 0, "transition 叠化", "transition", "叠化")
    expect(pyjy, 0, 0, "in animation 渐显", "animation", "渐显")
    expect(pyjy, 0, 1, "out animation 渐隐", "animation", "渐隐")
    expect(pyjy, 0, 1, "filter 亢奋", "filter", "亢奋")
    expect(pyjy, 0, 1, "video effect DV界面", "video_effect", "DV界面")
    expect(pyjy, 0, 2, "group animation 三分割", "animation", "三分割")
    expect(pyjy, 1, 0, "mask circle", "mask")
    expect(pyjy, 1, 0, "chroma key", "chroma")
    expect(pyjy, 1, 0, "mix mode 滤色", "mix_mode", "滤色")
    expect(pyjy, 3, 0, "in animation 复古打字机", "animation", "复古打字机")
    expect(pyjy, 3, 0, "out animation 向上溶解", "animation", "向上溶解")
    expect(pyjy, 5, 0, "video effect DV界面", "video_effect", "DV界面")
    expect(pyjy, 6, 0, "filter 亢奋", "filter", "亢奋")


def test_nothing_is_dropped_silently(pyjy):
    assert notes_at(pyjy, 4, 0) == {
        f"sticker {STICKER_ID}": ("ignored", "stickers are editor resources known only by id")}
    # pyJianYingDraft writes the echo into audio_effects, a kind the renderer does not read.
    assert notes_at(pyjy, 2, 0)["material audio_effects"] == ("ignored", "this material kind is not rendered")
    for n in pyjy.fidelity:
        assert n.status in ("approximated", "ignored") and n.reason
        assert set(n.to_json()) == {"track", "segment", "feature", "status", "reason"}


def test_unknown_material_kind_and_track_type_are_reported(pyjy_folder, pyjy_data):
    pyjy_data["materials"]["holograms"] = [{"id": "holo-1", "type": "hologram"}]
    seg_json(pyjy_data, "main", 0)["extra_material_refs"].append("holo-1")
    pyjy_data["tracks"].append({"type": "lyrics", "name": "words", "segments": [{"material_id": "x"}]})
    pyjy_data["materials"]["beats"] = [{"id": "beat-1"}]
    seg_json(pyjy_data, "pip")["material_id"] = "beat-1"
    tl = load(pyjy_folder, pyjy_data)
    assert notes_at(tl, 0, 0)["material holograms"] == ("ignored", "this material kind is not rendered")
    assert notes_at(tl, 7, None) == {"track type 'lyrics'": ("ignored", "unknown track type")}
    assert notes_at(tl, 1, 0) == {"video segment material 'beats'": ("ignored", "unknown material kind")}
    assert track(tl, "pip").segments == ()


def test_unknown_video_material_type_is_reported(pyjy_folder, pyjy_data):
    _, photo = material_json(pyjy_data, seg_json(pyjy_data, "main", 2)["material_id"])
    photo["type"] = "hologram"
    tl = load(pyjy_folder, pyjy_data)
    assert notes_at(tl, 0, 2) == {"video material type 'hologram'": ("ignored", "unknown video material type")}


# ---------------------------------------------------------------- the shared samples


def make_sample_media(folder: Path, data: dict) -> None:
    """Real media at each path a sample names (they are rewritten to media/...)."""
    for kind in ("videos", "audios"):
        for m in data["materials"].get(kind, []):
            path = folder / m["path"]
            if path.exists():
                continue
            if path.suffix == ".mp4":
                make_clip(path, width=64, height=36, seconds=0.2)
            elif path.suffix in (".png", ".jpg"):
                make_image(path, (64, 36))
            elif path.suffix == ".wav":
                make_tone(path, seconds=0.2)


@pytest.mark.parametrize("name", names(SAMPLES))
def test_every_shared_sample_parses(name, tmp_path):
    require(SAMPLES)
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    make_sample_media(tmp_path, data)
    tl = parse(data, draft_dir=tmp_path, origin=name)

    assert (tl.canvas.width, tl.canvas.height) == (data["canvas_config"]["width"], data["canvas_config"]["height"])
    assert tl.fps == Fraction(data.get("fps") or 30).limit_denominator(1001)
    ends = [s["target_timerange"].get("start", 0) + s["target_timerange"]["duration"]
            for t in data["tracks"] if t["type"] in ("video", "audio", "text", "sticker")
            for s in t["segments"] if s.get("visible", True)]
    assert tl.duration == max(ends)
    assert [len(t.segments) for t in tl.tracks] == [len(t["segments"]) for t in data["tracks"]]
    assert [t.type for t in tl.tracks] == [t["type"] for t in data["tracks"]]
    for m in tl.media():
        assert not m.missing, m.looked_in
        assert m.path == (tmp_path / m.written_path).resolve()
    for seg, raw in zip(tl.segments, (s for t in data["tracks"] for s in t["segments"]), strict=True):
        assert (seg.target.start, seg.target.duration) == (raw["target_timerange"].get("start", 0),
                                                           raw["target_timerange"]["duration"])
        if isinstance(seg.material, Text):
            assert seg.material.text == json.loads(material_json(data, raw["material_id"])[1]["content"])["text"]
    for n in tl.fidelity:
        assert n.status in ("approximated", "ignored") and n.reason


# ---------------------------------------------------------------- malformed and hostile drafts


def deep_list(depth: int) -> list:
    junk: list = []
    for _ in range(depth):
        junk = [junk]
    return junk


def _seg(d, name="main", i=0):
    return seg_json(d, name, i)


HOSTILE = {
    # wrong types at each level
    "tracks not a list": (lambda d: d.update(tracks={"a": 1}), MalformedDraft, "tracks must be a list, not an object"),
    "materials not an object": (lambda d: d.update(materials=[]), MalformedDraft,
                                "materials must be an object, not a list"),
    "canvas not an object": (lambda d: d.update(canvas_config="1080p"), MalformedDraft,
                             "canvas_config must be an object, not a string"),
    "canvas width a string": (lambda d: d["canvas_config"].update(width="wide"), MalformedDraft,
                              "canvas_config.width must be a number, not a string 'wide'"),
    "track not an object": (lambda d: d["tracks"].__setitem__(2, "bgm"), MalformedDraft,
                            "tracks[2] must be an object, not a string"),
    "segments an object": (lambda d: d["tracks"][1].update(segments={}), MalformedDraft,
                           "tracks[1].segments must be a list, not an object"),
    "segments a number": (lambda d: d["tracks"][1].update(segments=5), MalformedDraft,
                          "tracks[1].segments must be a list, not a number"),
    "segment not an object": (lambda d: d["tracks"][0]["segments"].__setitem__(2, [1, 2]), MalformedDraft,
                              "tracks[0].segments[2] must be an object, not a list"),
    "target_timerange a list": (lambda d: _seg(d, "main", 2).update(target_timerange=[0, 5]), MalformedDraft,
                                "tracks[0].segments[2].target_timerange must be an object, not a list"),
    "target_timerange missing": (lambda d: _seg(d, "main", 2).pop("target_timerange"), MalformedDraft,
                                 "tracks[0].segments[2].target_timerange is missing"),
    "duration a string": (lambda d: _seg(d, "main", 2)["target_timerange"].update(duration="1s"), MalformedDraft,
                          "tracks[0].segments[2].target_timerange.duration must be a number, not a string '1s'"),
    "start a boolean": (lambda d: _seg(d, "pip")["source_timerange"].update(start=True), MalformedDraft,
                        "tracks[1].segments[0].source_timerange.start must be a number, not a boolean"),
    "speed a string": (lambda d: _seg(d).update(speed="2x"), MalformedDraft,
                       "tracks[0].segments[0].speed must be a number, not a string '2x'"),
    "refs a string": (lambda d: _seg(d).update(extra_material_refs="abc"), MalformedDraft,
                      "tracks[0].segments[0].extra_material_refs must be a list"),
    "keyframes an object": (lambda d: _seg(d).update(common_keyframes={"a": 1}), MalformedDraft,
                            "tracks[0].segments[0].common_keyframes must be a list"),
    "keyframe value a string": (lambda d: _seg(d)["common_keyframes"][0]["keyframe_list"][1].update(values=["x"]),
                                MalformedDraft,
                                "tracks[0].segments[0].common_keyframes[0].keyframe_list[1].values must be a number"),
    "clip scale a string": (lambda d: _seg(d, "pip")["clip"]["scale"].update(x="big"), MalformedDraft,
                            "tracks[1].segments[0].clip.scale.x must be a number, not a string 'big'"),
    "attribute a string": (lambda d: d["tracks"][2].update(attribute="mute"), MalformedDraft,
                           "tracks[2].attribute must be a number, not a string 'mute'"),
    # values no editor writes
    "negative duration": (lambda d: _seg(d, "main", 2)["target_timerange"].update(duration=-40), MalformedDraft,
                          "tracks[0].segments[2].target_timerange has a negative duration"),
    "negative start": (lambda d: _seg(d, "bgm")["source_timerange"].update(start=-1), MalformedDraft,
                       "tracks[2].segments[0].source_timerange has a negative start"),
    "past 24 h": (lambda d: _seg(d)["target_timerange"].update(start=10**30), MalformedDraft,
                  "tracks[0].segments[0].target_timerange runs past the 24 h limit"),
    "zero speed": (lambda d: _seg(d).update(speed=0), MalformedDraft,
                   "tracks[0].segments[0].speed is 0.0; it must be above 0 and at most 100"),
    "negative volume": (lambda d: _seg(d, "bgm").update(volume=-0.5), MalformedDraft,
                        "tracks[2].segments[0].volume is -0.5; it must not be negative"),
    "huge canvas": (lambda d: d["canvas_config"].update(width=100_000, height=100_000), MalformedDraft,
                    "canvas_config.width is 100000; it must be 2 to 8192"),
    "tiny canvas": (lambda d: d["canvas_config"].update(height=1), MalformedDraft,
                    "canvas_config.height is 1; it must be 2 to 8192"),
    "NaN duration": (lambda d: _seg(d, "main", 2)["target_timerange"].update(duration=float("nan")), MalformedDraft,
                     "tracks[0].segments[2].target_timerange.duration must be a finite number, not nan"),
    "inf speed": (lambda d: _seg(d).update(speed=float("inf")), MalformedDraft,
                  "tracks[0].segments[0].speed must be a finite number, not inf"),
    "NaN alpha": (lambda d: _seg(d, "pip")["clip"].update(alpha=float("nan")), MalformedDraft,
                  "tracks[1].segments[0].clip.alpha must be a finite number, not nan"),
    "-inf keyframe offset": (lambda d: _seg(d)["common_keyframes"][0]["keyframe_list"][0].update(
        time_offset=float("-inf")), MalformedDraft,
        "tracks[0].segments[0].common_keyframes[0].keyframe_list[0].time_offset must be a finite number, not -inf"),
    # nothing to render
    "no tracks, no materials": (lambda d: d.update(tracks=[], materials={}), DraftEmpty,
                                "the draft has no tracks and no materials"),
    "tracks without segments": (lambda d: [t.update(segments=[]) for t in d["tracks"]], DraftEmpty,
                                "the draft's tracks hold no segments"),
}


class counted_calls:
    """Counts the Python function calls made inside the block: work, counted alike on any
    machine, where a wall-clock limit fails on a busy one."""

    def __enter__(self) -> counted_calls:
        self.n = 0
        sys.setprofile(self._count)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(None)

    def _count(self, frame, event, arg) -> None:
        if event == "call":
            self.n += 1


# Calls measured: at most ~3 000 for a malformed draft, ~100 to refuse 100 000 segments, ~4 000
# for the deep junk; a walk over the 100 000 segments or levels would make over 100 000.
MALFORMED_CALLS = 20_000
JUNK_CALLS = 40_000


@pytest.mark.parametrize("case", list(HOSTILE))
def test_malformed_draft_ends_in_one_clear_line(case, pyjy_folder, pyjy_data):
    edit, error, message = HOSTILE[case]
    edit(pyjy_data)
    with counted_calls() as calls, pytest.raises(error) as caught:
        load(pyjy_folder, pyjy_data)
    assert calls.n < MALFORMED_CALLS  # no retry or walk runs away
    text = str(caught.value)
    assert text.startswith("draft_content.json: ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize("data, message", [
    ([], "the draft must be a JSON object, not a list"),
    ("draft", "the draft must be a JSON object, not a string"),
    (None, "the draft must be a JSON object, not null"),
    (3.5, "the draft must be a JSON object, not a number"),
])
def test_a_draft_that_is_not_an_object(data, message):
    with pytest.raises(MalformedDraft, match=f"^x.json: {message}$"):
        parse(data, origin="x.json")


def test_a_100000_segment_draft_is_refused_quickly_in_little_memory(pyjy_folder, pyjy_data):
    template = _seg(pyjy_data, "caption")
    pyjy_data["tracks"][3]["segments"] = [
        {**template, "target_timerange": {"start": i * 1000, "duration": 1000}} for i in range(100_000)]
    tracemalloc.start()
    try:
        with counted_calls() as calls, pytest.raises(MalformedDraft) as caught:
            load(pyjy_folder, pyjy_data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == f"draft_content.json: the draft has 100008 segments; the limit is {MAX_SEGMENTS}"
    assert calls.n < MALFORMED_CALLS  # refused before any segment is parsed
    assert peak < 5 << 20


def test_deeply_nested_junk_neither_crashes_nor_hangs(pyjy_folder, pyjy_data):
    _seg(pyjy_data)["junk"] = deep_list(100_000)  # an unknown field: ignored
    pyjy_data["materials"]["junk"] = [{"id": "deep", "payload": deep_list(100_000)}]
    _, mat = material_json(pyjy_data, _seg(pyjy_data, "caption", 1)["material_id"])
    mat["content"] = '{"text": "x", "styles": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with counted_calls() as calls:
        tl = load(pyjy_folder, pyjy_data)
    assert calls.n < JUNK_CALLS  # far fewer than the 100 000 levels: the junk is never walked
    assert track(tl, "caption").segments[1].material.styles  # the flat-field fallback


@pytest.mark.parametrize("where, junk", [
    ("keyframe_list", 5), ("speed_points", 5), ("speed_points", [{"x": "a", "y": None}, {"x": 1, "y": 2}]),
    ("animations", 5), ("adjust_params", 7), ("styles", 5), ("strokes", 5), ("shadows", "dark"),
    ("track_render_index", float("nan")), ("mask config", 5), ("canvas colour", 5), ("chroma colour", 5),
])
def test_junk_in_optional_fields_is_tolerated(where, junk, pyjy_folder, pyjy_data):
    d = pyjy_data
    s0, s1, pip, cap = _seg(d), _seg(d, "main", 1), _seg(d, "pip"), _seg(d, "caption")
    text = material_json(d, cap["material_id"])[1]
    style = json.loads(text["content"])
    edits = {
        "keyframe_list": lambda: s0["common_keyframes"][0].update(keyframe_list=junk),
        "speed_points": lambda: ref_of_kind(d, s0, "speeds").update(mode=1, curve_speed={"speed_points": junk}),
        "animations": lambda: ref_of_kind(d, s0, "material_animations").update(animations=junk),
        "adjust_params": lambda: ref_of_kind(d, s1, "video_effects").update(adjust_params=junk),
        "styles": lambda: style.update(styles=junk),
        "strokes": lambda: style["styles"][0].update(strokes=junk),
        "shadows": lambda: style["styles"][0].update(shadows=junk),
        "track_render_index": lambda: (pip.pop("render_index"), pip.update(track_render_index=junk)),
        "mask config": lambda: [m.update(config=junk) for m in d["materials"]["common_mask"]],
        "canvas colour": lambda: ref_of_kind(d, s1, "canvases").update(color=junk),
        "chroma colour": lambda: ref_of_kind(d, pip, "chromas").update(color=junk),
    }
    edits[where]()
    text["content"] = json.dumps(style)
    tl = load(pyjy_folder, d)
    assert len(tl.segments) == 10


def test_a_bad_colour_is_reported_not_fatal(pyjy_folder, pyjy_data):
    ref_of_kind(pyjy_data, _seg(pyjy_data, "main", 1), "canvases")["color"] = "#zzz"
    tl = load(pyjy_folder, pyjy_data)
    assert track(tl, "main").segments[1].background.color == (0.0, 0.0, 0.0, 1.0)
    assert notes_at(tl, None, None)["canvas colour"][0] == "approximated"


def test_parsed_timeline_is_immutable(pyjy):
    with pytest.raises(AttributeError):
        pyjy.duration = 0  # type: ignore[misc]
    assert isinstance(track(pyjy, "main").segments[0].material, Media)
    assert isinstance(track(pyjy, "fx").segments[0].material, NamedEffect)
