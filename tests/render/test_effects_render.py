"""Effects in rendered frames: drafts written by pyJianYingDraft on a 320×180 canvas, their
transitions, animations, masks, chroma keys, blend modes and filters checked on pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyJianYingDraft as jy
import pytest
from drafts import STICKER_ID, edit_json
from media_factory import LEVEL_BASE, LEVEL_STEP, make_clip, make_image
from shared import SAMPLES, require

import draftrender

SEC = 1_000_000
W, H = 320, 180
RED = (220, 30, 30)
BLUE = (30, 40, 220)
WHITE = (255, 255, 255)


def close(pixel, colour, tol=10) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel[:3], int) - np.asarray(colour, int)) <= tol))


def draft(root: Path, build, name: str = "fx") -> Path:
    """A 320×180 draft folder: `build(script, media)` adds tracks and segments."""
    script = jy.DraftFolder(str(root)).create_draft(name, W, H, 30, allow_replace=True)
    folder = root / name
    media = folder / "media"
    files = {
        "red": make_clip(media / "red.mp4", width=W, height=H, seconds=2.0, color=RED),
        "blue": make_clip(media / "blue.mp4", width=W, height=H, seconds=2.0, color=BLUE),
        "counter": make_clip(media / "counter.mp4", width=W, height=H, seconds=2.0),
        "white": make_image(media / "white.png", (W, H), WHITE),
        "square": make_image(media / "square.png", (90, 90), RED),
    }
    build(script, files)
    script.save()
    return folder


def two_clips(transition: jy.TransitionType, duration: int = 400_000, first: str = "red", second: str = "blue"):
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
        a = jy.VideoSegment(str(media[first]), jy.trange(0, SEC))
        a.add_transition(transition, duration=duration)
        script.add_segment(a, "main")
        script.add_segment(jy.VideoSegment(str(media[second]), jy.trange(SEC, SEC)), "main")

    return build


def frame(folder: Path, t: float) -> np.ndarray:
    return draftrender.render_frame(folder, t).astype(int)


# ---------------------------------------------------------------- transitions


def test_dissolve_between_red_and_blue_is_purple_at_the_cut(tmp_path):
    folder = draft(tmp_path, two_clips(jy.TransitionType.叠化))
    purple = [(a + b) / 2 for a, b in zip(RED, BLUE, strict=True)]
    assert close(frame(folder, 1.0)[90, 160], purple)
    # A quarter of the way in the outgoing clip dominates, three quarters in the incoming one.
    assert close(frame(folder, 0.9)[90, 160], [0.75 * a + 0.25 * b for a, b in zip(RED, BLUE, strict=True)])
    assert close(frame(folder, 1.1)[90, 160], [0.25 * a + 0.75 * b for a, b in zip(RED, BLUE, strict=True)])
    assert close(frame(folder, 0.7)[90, 160], RED) and close(frame(folder, 1.3)[90, 160], BLUE)


def test_push_up_moves_the_outgoing_clip_up_and_brings_the_incoming_one_from_below(tmp_path):
    folder = draft(tmp_path, two_clips(jy.TransitionType.上移, duration=500_000))
    img = frame(folder, 1.0)  # the midpoint: each fills half the canvas
    assert close(img[20, 160], RED) and close(img[160, 160], BLUE)
    # The boundary sits half way down, where the eased push puts it.
    column = img[:, 160, 2]
    assert abs(int(np.argmax(column > 125)) - H // 2) <= 2


def test_the_outgoing_clip_keeps_playing_past_its_end(tmp_path):
    # A wipe to the left uncovers the incoming clip from the right; the outgoing clip's left
    # half still shows, and its frame counter runs on past the segment's one second.
    folder = draft(tmp_path, two_clips(jy.TransitionType.向左擦除, duration=SEC, first="counter"))
    img = frame(folder, 1.2)  # p = 0.7: the left 30 % is still the outgoing clip
    low_nibble = round((img[90, 20:60].mean() - LEVEL_BASE) / LEVEL_STEP)
    assert low_nibble == 36 % 16, "source frame 36 (1.2 s), not the held frame 29"
    assert close(img[90, 300], BLUE)


def test_fade_through_black_is_black_at_the_cut(tmp_path):
    folder = draft(tmp_path, two_clips(jy.TransitionType.闪黑))
    assert close(frame(folder, 1.0)[90, 160], (0, 0, 0), 4)


# ---------------------------------------------------------------- animations


def white_under(top_build):
    """A white photo on the bottom track, and the layer under test on the track above."""

    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "bg")])
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "top")])
        script.add_segment(jy.VideoSegment(str(media["white"]), jy.trange(0, 2 * SEC)), "bg")
        script.add_segment(top_build(media), "top")

    return build


def test_fade_in_is_half_transparent_half_way_through_the_intro(tmp_path):
    def top(media):
        seg = jy.VideoSegment(str(media["red"]), jy.trange(0, 2 * SEC))
        seg.add_animation(jy.IntroType.渐显, SEC // 2)
        seg.add_animation(jy.OutroType.渐隐, SEC // 2)
        return seg

    folder = draft(tmp_path, white_under(top))
    half = [(a + 255) / 2 for a in RED]
    assert close(frame(folder, 0.25)[90, 160], half)
    assert close(frame(folder, 1.0)[90, 160], RED)
    assert close(frame(folder, 1.75)[90, 160], half)


def test_a_russian_named_group_animation_is_drawn_as_its_chinese_name(tmp_path):
    # CapCut in Russian writes the group animation 缩放 as "Зум 1", with the same resource id.
    def top(media):
        seg = jy.VideoSegment(str(media["square"]), jy.trange(0, 2 * SEC),
                              clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5))
        seg.add_animation(jy.GroupAnimationType.缩放, 2 * SEC)
        return seg

    folder = draft(tmp_path, white_under(top))
    chinese = [frame(folder, t) for t in (0.3, 1.0)]

    def russian(data):
        for item in data["materials"]["material_animations"]:
            for animation in item["animations"]:
                animation["name"] = "Зум 1"

    edit_json(folder, russian)
    assert all(np.array_equal(a, frame(folder, t)) for a, t in zip(chinese, (0.3, 1.0), strict=True))
    assert not np.array_equal(chinese[0], chinese[1])  # the animation moves the picture
    notes = {n.feature: n.reason for n in draftrender.load_draft(folder).fidelity}
    assert "drawn as zoom in" in notes["group animation Зум 1 (缩放)"]


def test_a_sticker_with_a_local_image_is_drawn_like_a_photo(tmp_path):
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "bg"), jy.TrackSpec(jy.TrackType.sticker, "stickers")])
        script.add_segment(jy.VideoSegment(str(media["white"]), jy.trange(0, 2 * SEC)), "bg")
        script.add_segment(jy.StickerSegment(STICKER_ID, jy.trange(0, 2 * SEC),
                                             clip_settings=jy.ClipSettings(transform_x=0.5)), "stickers")

    folder = draft(tmp_path, build)
    assert close(frame(folder, 0.5)[90, 240], WHITE)  # known only by its id: not drawn, and reported

    square = str(folder / "media" / "square.png")
    edit_json(folder, lambda d: d["materials"]["stickers"][0].update(path=square))
    img = frame(folder, 0.5)
    # The 90×90 square, fitted inside the 320×180 canvas (180×180), centred at x = 240.
    assert close(img[90, 240], RED) and close(img[10, 240], RED) and close(img[90, 140], WHITE)
    assert not [n for n in draftrender.load_draft(folder).fidelity if n.feature.startswith("sticker")]


def test_slide_left_intro_arrives_from_the_right(tmp_path):
    def top(media):
        seg = jy.VideoSegment(str(media["square"]), jy.trange(0, 2 * SEC),
                              clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5))
        seg.add_animation(jy.IntroType.向左滑动, SEC // 2)
        return seg

    folder = draft(tmp_path, white_under(top))
    img = frame(folder, 0.25)  # half way (eased): half the canvas width right of its place
    assert close(img[90, 160], WHITE)
    red = np.flatnonzero(np.all(np.abs(img[90] - RED) <= 12, axis=1))
    assert abs(red[0] - (160 + W / 2 - 45)) <= 1 and red[-1] == W - 1  # the 90 px square, half off screen
    settled = frame(folder, 1.0)
    red = np.flatnonzero(np.all(np.abs(settled[90] - RED) <= 12, axis=1))
    assert abs((red[0] + red[-1] + 1) / 2 - 160) <= 1


def test_typewriter_reveals_the_text_from_the_left(tmp_path):
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.text, "caption")])
        seg = jy.TextSegment("ABCDEFGH", jy.trange(0, 2 * SEC), style=jy.TextStyle(size=12, color=(1.0, 1.0, 1.0)))
        seg.add_animation(jy.TextIntro.打字机_I, SEC)
        script.add_segment(seg, "caption")

    folder = draft(tmp_path, build)
    full = frame(folder, 1.5)
    half = frame(folder, 0.5)
    ink = lambda img: np.flatnonzero((img[..., 0] > 128).any(axis=0))  # noqa: E731 - columns with ink
    left, right = ink(full)[0], ink(full)[-1]
    shown = ink(half)
    assert shown.size and abs(shown[0] - left) <= 1, "the first letters are in place already"
    assert shown[-1] < (left + right) / 2 + 8 and shown[-1] > left + (right - left) / 3


# ---------------------------------------------------------------- masks, chroma, blend modes


def test_circle_mask_is_sized_against_the_material_and_moves_with_the_layer(tmp_path):
    def top(media):
        seg = jy.VideoSegment(str(media["square"]), jy.trange(0, 2 * SEC),
                              clip_settings=jy.ClipSettings(transform_x=0.5))
        seg.add_mask(jy.MaskType.圆形, size=0.5)  # a circle half the material's height across
        return seg

    folder = draft(tmp_path, white_under(top))
    img = frame(folder, 0.5)
    cx, cy = 160 + 80, 90  # the layer's centre: transform x 0.5 moves it a quarter canvas right
    # The 90 px square fits the 180 px canvas height at 2×: the circle is 0.5 × 180 = 90 px across.
    assert close(img[cy, cx], RED) and close(img[cy, cx + 40], RED, 14) and close(img[cy, cx + 50], WHITE)
    assert close(img[cy + 40, cx + 40], WHITE)  # inside the square, outside the circle


@pytest.mark.parametrize("shape, notch_covered", [(jy.MaskType.矩形, True), (jy.MaskType.爱心, False)])
def test_heart_masks_are_hearts_not_rectangles(tmp_path, shape, notch_covered):
    # pyJianYingDraft writes the heart and the star with resource_type geometric_shape.
    def top(media):
        seg = jy.VideoSegment(str(media["square"]), jy.trange(0, 2 * SEC))
        seg.add_mask(shape, size=0.8)
        return seg

    img = frame(draft(tmp_path, white_under(top)), 0.5)
    # The 90 px square drawn 180 px tall: the mask box is 0.8 × 180 = 144 px tall, from y = 18.
    assert close(img[90, 160], RED)
    assert close(img[24, 160], RED if notch_covered else WHITE, 14), "the heart's notch at the top middle"


def test_chroma_key_removes_the_green_and_keeps_the_rest(tmp_path):
    def top(media):
        green = np.zeros((90, 160, 3), np.uint8)
        green[:] = (20, 220, 40)
        green[30:60, 60:100] = RED
        path = media["white"].parent / "greenscreen.png"
        from PIL import Image
        Image.fromarray(green).save(path)
        seg = jy.VideoSegment(str(path), jy.trange(0, 2 * SEC))
        seg.add_chroma("#00FF00FF", intensity=30)
        return seg

    folder = draft(tmp_path, white_under(top))
    img = frame(folder, 0.5)
    assert close(img[20, 20], WHITE) and close(img[160, 300], WHITE)
    assert close(img[90, 160], RED)


@pytest.mark.parametrize("mode, formula", [
    (jy.MixModeType.滤色, lambda b, s: 255 - (255 - b) * (255 - s) / 255),
    (jy.MixModeType.正片叠底, lambda b, s: b * s / 255),
    (jy.MixModeType.变暗, min),
])
def test_blend_mode_mixes_by_its_formula_inside_the_layer_only(tmp_path, mode, formula):
    under, over = (200, 120, 40), (60, 140, 220)

    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "bg")])
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "top")])
        script.add_segment(jy.VideoSegment(str(make_image(media["white"].parent / "under.png", (W, H), under)),
                                           jy.trange(0, SEC)), "bg")
        seg = jy.VideoSegment(str(make_image(media["white"].parent / "over.png", (90, 90), over)), jy.trange(0, SEC),
                              clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5))
        seg.set_mix_mode(mode)
        script.add_segment(seg, "top")

    img = frame(draft(tmp_path, build), 0.5)
    assert close(img[90, 160], [formula(b, s) for b, s in zip(under, over, strict=True)], 3)
    assert close(img[90, 20], under, 3), "outside the layer the backdrop is untouched"


# ---------------------------------------------------------------- filters and effects


def test_a_filter_track_grades_everything_below_it_and_a_segment_filter_only_its_layer(tmp_path):
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "bg")])
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "top")])
        script.append_tracks([jy.TrackSpec(jy.TrackType.filter, "grade")])
        script.add_segment(jy.VideoSegment(str(media["red"]), jy.trange(0, 2 * SEC)), "bg")
        square = jy.VideoSegment(str(media["square"]), jy.trange(0, 2 * SEC),
                                 clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5))
        square.add_filter(jy.FilterType.黑白记忆, 100)
        script.add_segment(square, "top")
        script.add_filter(jy.FilterType.黑白记忆, jy.trange(SEC, SEC), "grade", intensity=100)

    folder = draft(tmp_path, build)
    img = frame(folder, 0.5)
    grey = lambda px: max(px[:3]) - min(px[:3]) <= 6  # noqa: E731
    assert grey(img[90, 160]), "the square's own filter greys it"
    assert close(img[90, 20], RED), "the clip below keeps its colour"
    assert grey(frame(folder, 1.5)[90, 20]), "the filter track greys everything below it"


def test_the_fidelity_report_says_what_each_name_is_drawn_as(tmp_path):
    def build(script, media):
        two_clips(jy.TransitionType.叠化)(script, media)
        script.append_tracks([jy.TrackSpec(jy.TrackType.filter, "grade")])
        script.add_filter(jy.FilterType.KE1, jy.trange(0, SEC), "grade")

    tl = draftrender.load_draft(draft(tmp_path, build))
    notes = {n.feature: (n.status, n.reason) for n in tl.fidelity}
    assert notes["transition 叠化"] == ("approximated", "drawn as dissolve (keyword '叠化')")
    assert notes["filter KE1"][0] == "ignored"


# ---------------------------------------------------------------- the shared samples


def test_the_samples_show_their_masks_filters_and_transitions(tmp_path):
    from test_samples import sample_folder

    require(SAMPLES)
    capcut = sample_folder(tmp_path, "pycapcut_CC_full_draft_content.json")
    img = draftrender.render_frame(capcut, 2.0, scale=0.25).astype(int)  # 270×480
    centre, corner = img[240, 135], img[20, 20]
    # The clip inside its circle mask, greyed by the filter BW 2 at 70 %; the blue clip is (40, 90, 200).
    assert max(centre) - min(centre) < 0.4 * (200 - 40), centre
    assert corner[2] > corner[0] + 60, "outside the mask: the blurred blue background"
    mid = draftrender.render_frame(capcut, 4.0, scale=0.25).astype(int)  # Cutout Flip, drawn as a push left
    assert close(mid[240, 200], (200, 60, 40), 25), "the incoming photo fills the right half"
    assert mid[240, 20][2] > mid[240, 20][0] + 30, "the outgoing clip, pushed left"

    pyjy = sample_folder(tmp_path, "pyjy_A_full_draft_content.json")
    up = draftrender.render_frame(pyjy, 3.0, scale=0.25).astype(int)  # 上移 at its midpoint
    assert up[250, 20][1] > up[250, 20][0] + 60, "the incoming clip's green background rises from below"
    assert not up[20, 20][1] > up[20, 20][0] + 60, "the top half is still the outgoing clip"
