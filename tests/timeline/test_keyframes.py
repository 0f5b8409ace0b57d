"""The keyframe evaluator, on keyframes written by pyJianYingDraft and hand-made bezier curves."""

from __future__ import annotations

import numpy as np
import pytest
from drafts import SEC, pyjy_draft, read_json

import pyJianYingDraft as jy
from draftrender.timeline.keyframes import Keyframe, Keyframes, cubic_bezier
from draftrender.timeline.parse import parse

# CSS ease-in: the editor's curves are cubic beziers on the normalised interval (calibrate).
EASE_IN = ((0.42, 0.0), (1.0, 1.0))


def bezier_by_sampling(u: float, p1, p2) -> float:
    """y at x = u on a cubic bezier from (0,0) to (1,1), by dense sampling: an independent reference."""
    s = np.linspace(0.0, 1.0, 1_000_001)
    x = 3 * (1 - s) ** 2 * s * p1[0] + 3 * (1 - s) * s**2 * p2[0] + s**3
    y = 3 * (1 - s) ** 2 * s * p1[1] + 3 * (1 - s) * s**2 * p2[1] + s**3
    return float(y[np.argmin(np.abs(x - u))])


@pytest.fixture(scope="module")
def keyframed(tmp_path_factory):
    """A draft with a clip keyframed on every visual property and an audio volume ramp."""

    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "v"), jy.TrackSpec(jy.TrackType.audio, "a")])
        seg = jy.VideoSegment(str(media["clip_a"]), jy.trange(SEC // 2, SEC))
        kp = jy.KeyframeProperty
        # Three keyframes, added out of order: the writer sorts them, the parser must too.
        for prop, values in ((kp.position_x, (0.0, 1.0, -1.0)), (kp.alpha, (1.0, 0.0, 1.0)),
                             (kp.rotation, (0.0, 180.0, 360.0)), (kp.brightness, (0.0, 1.0, -1.0))):
            for offset, value in sorted(zip((0, SEC // 2, SEC), values, strict=True), key=lambda p: -p[0]):
                seg.add_keyframe(prop, offset, value)
        script.add_segment(seg, "v")
        audio = jy.AudioSegment(str(media["bgm"]), jy.trange(0, 2 * SEC))
        audio.add_keyframe(SEC // 2, 1.0).add_keyframe(3 * SEC // 2, 0.0)
        script.add_segment(audio, "a")

    return pyjy_draft(tmp_path_factory.mktemp("kf"), build)


def segment(folder, data=None, track=0):
    tl = parse(read_json(folder) if data is None else data, draft_dir=folder)
    return tl.tracks[track].segments[0]


def test_linear_keyframes_at_midpoints_and_keyframes(keyframed):
    seg = segment(keyframed)
    x = seg.keyframes_for("position_x")
    assert [(p.offset, p.value) for p in x.points] == [(0, 0.0), (SEC // 2, 1.0), (SEC, -1.0)]
    # time_offset counts from the segment's own start (0.5 s on the timeline), not from 0.
    assert [x.value_at(t) for t in (0, SEC // 4, SEC // 2, 3 * SEC // 4, SEC)] == [0.0, 0.5, 1.0, 0.0, -1.0]
    assert seg.value_at("alpha", SEC // 4, 1.0) == 0.5
    assert seg.value_at("rotation", 3 * SEC // 4, 0.0) == 270.0
    assert seg.value_at("brightness", SEC // 10, 0.0) == pytest.approx(0.2)


def test_values_hold_before_the_first_and_after_the_last(keyframed):
    audio = segment(keyframed, track=1)
    assert audio.value_at("volume", 0, 1.0) == 1.0
    assert audio.value_at("volume", SEC, 1.0) == 0.5
    assert audio.value_at("volume", 2 * SEC, 1.0) == 0.0


def test_one_keyframe_holds_everywhere():
    kf = Keyframes("alpha", (Keyframe(SEC, 0.25),))
    assert [kf.value_at(t) for t in (0, SEC, 10 * SEC)] == [0.25, 0.25, 0.25]


def test_bezier_curve_from_the_draft(keyframed):
    data = read_json(keyframed)
    group = next(g for g in data["tracks"][0]["segments"][0]["common_keyframes"]
                 if g["property_type"] == "KFTypePositionX")
    first, second, _ = group["keyframe_list"]
    first.update(curveType="BezierCurve", right_control={"x": EASE_IN[0][0], "y": EASE_IN[0][1]})
    second["left_control"] = {"x": EASE_IN[1][0], "y": EASE_IN[1][1]}
    x = segment(keyframed, data).keyframes_for("position_x")
    assert x.points[0].curve == "BezierCurve"
    assert (x.points[0].right_control, x.points[1].left_control) == EASE_IN
    for u in (0.1, 0.25, 0.5, 0.9):
        expected = bezier_by_sampling(u, *EASE_IN)
        assert x.value_at(u * SEC // 2) == pytest.approx(expected, abs=1e-4)
    assert x.value_at(SEC // 4) == pytest.approx(0.3153, abs=1e-3)  # the CSS ease-in table value
    # The second interval keeps its straight line: its own handles are (0, 0).
    assert x.value_at(3 * SEC // 4) == 0.0


def test_curve_without_handles_is_linear():
    a = Keyframe(0, 0.0, curve="BezierCurve")
    b = Keyframe(SEC, 10.0, curve="BezierCurve")
    assert Keyframes("rotation", (a, b)).value_at(SEC // 4) == 2.5


def test_cubic_bezier_end_points_and_symmetry():
    assert cubic_bezier(0.0, *EASE_IN) == pytest.approx(0.0, abs=1e-9)
    assert cubic_bezier(1.0, *EASE_IN) == pytest.approx(1.0, abs=1e-9)
    ease_in_out = ((0.42, 0.0), (0.58, 1.0))
    assert cubic_bezier(0.5, *ease_in_out) == pytest.approx(0.5, abs=1e-6)
    assert cubic_bezier(0.2, *ease_in_out) == pytest.approx(1 - cubic_bezier(0.8, *ease_in_out), abs=1e-6)


def test_property_names_for_every_keyframe_type(keyframed):
    data = read_json(keyframed)
    seg = data["tracks"][0]["segments"][0]
    template = seg["common_keyframes"][0]
    seg["common_keyframes"] = [
        {**template, "property_type": ptype, "keyframe_list": [{"time_offset": 0, "values": [0.5]}]}
        for ptype in ("KFTypePositionX", "KFTypePositionY", "KFTypeScaleX", "KFTypeScaleY", "KFTypeRotation",
                      "KFTypeAlpha", "KFTypeBrightness", "KFTypeContrast", "KFTypeSaturation", "KFTypeVolume")]
    seg["uniform_scale"] = {"on": False, "value": 1.0}
    props = [k.property for k in segment(keyframed, data).keyframes]
    assert props == ["position_x", "position_y", "scale_x", "scale_y", "rotation", "alpha", "brightness",
                     "contrast", "saturation", "volume"]


def test_uniform_scale_keyframes_drive_both_axes(keyframed):
    data = read_json(keyframed)
    seg = data["tracks"][0]["segments"][0]
    seg["uniform_scale"] = {"on": True, "value": 1.0}
    seg["common_keyframes"] = [{"property_type": "KFTypeUniformScale", "keyframe_list": [
        {"time_offset": 0, "values": [1.0]}, {"time_offset": SEC, "values": [3.0]}]}]
    parsed = segment(keyframed, data)
    assert parsed.value_at("scale_x", SEC // 2, 1.0) == 2.0
    assert parsed.value_at("scale_y", SEC // 2, 1.0) == 2.0


def test_keyframes_without_values_are_skipped(keyframed):
    data = read_json(keyframed)
    seg = data["tracks"][0]["segments"][0]
    seg["common_keyframes"] = [
        {"property_type": "KFTypeAlpha", "keyframe_list": [{"time_offset": 0, "values": []}, "junk", 5]},
        {"property_type": "KFTypeRotation", "keyframe_list": [{"time_offset": 0}, {"time_offset": SEC, "values": [9]}]},
    ]
    parsed = segment(keyframed, data)
    assert parsed.keyframes_for("alpha") is None
    assert [(p.offset, p.value) for p in parsed.keyframes_for("rotation").points] == [(SEC, 9.0)]
