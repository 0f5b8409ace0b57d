"""Frames composed in YUV: the same picture as the RGB path, without its round trip.

Drafts are written by pyJianYingDraft on a 320×180 canvas over clips tagged BT.709 (as phones
write them); each test checks which path a frame took and what its pixels are.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
import pytest
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter
from media_factory import make_clip, make_image
from PIL import Image

import draftrender
from draftrender.assets import prepare_media
from draftrender.effects.transform import Placement
from draftrender.render.compositor import draw
from draftrender.render.frames import FrameRenderer
from draftrender.render.plan import frame_plan
from draftrender.render.video import VideoReader, source_matrix
from draftrender.render.yuv import YuvCanvas, overlay, planes, yuv_colour

SEC = 1_000_000
W, H = 320, 180
ORANGE, BLUE = (200, 60, 40), (30, 80, 200)


def clip_draft(root: Path, clip: jy.ClipSettings | None = None, *, size=(W, H), bt709: bool = True,
               caption: str | None = "字幕 YUV", pip: jy.ClipSettings | None = None,
               background: tuple = (), canvas=(W, H)) -> Path:
    script = jy.DraftFolder(str(root)).create_draft("yuv", *canvas, 30, allow_replace=True)
    folder = root / "yuv"
    main = make_clip(folder / "media" / "main.mp4", width=size[0], height=size[1], color=ORANGE, bt709=bt709)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.video, "pip"),
                          jy.TrackSpec(jy.TrackType.text, "caption")])
    seg = jy.VideoSegment(str(main), jy.trange(0, SEC), clip_settings=clip)
    if background:
        seg.add_background_filling(*background)  # ("color", 0, "#RRGGBBAA") or ("blur",)
    script.add_segment(seg, "main")
    if pip is not None:
        small = make_clip(folder / "media" / "pip.mp4", width=W, height=H, color=BLUE, bt709=True)
        script.add_segment(jy.VideoSegment(str(small), jy.trange(0, SEC), clip_settings=pip), "pip")
    if caption is not None:
        script.add_segment(jy.TextSegment(caption, jy.trange(0, SEC), style=jy.TextStyle(size=10, color=(1, 1, 1)),
                                          clip_settings=jy.ClipSettings(transform_y=-0.6)), "caption")
    script.save()
    return folder


def composed(folder: Path, t: float = 0.5):
    """(compose()'s frame, render()'s RGB) for the frame at t seconds."""
    tl = draftrender.load_draft(folder)
    frames = FrameRenderer(tl, prepare_media(tl), tl.canvas.width, tl.canvas.height)
    start = int(t * SEC)
    _, _, layers = next(frame_plan(tl, tl.fps, start, start + SEC // 30))
    try:
        return frames.compose(layers), frames.render(layers)
    finally:
        frames.close()


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU709,
                          src_color_range=ColorRange.MPEG).to_ndarray().astype(int)


def close(pixel, colour, tol=6) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel[:3], int) - np.asarray(colour)) <= tol))


def test_a_full_frame_video_under_a_caption_is_composed_in_yuv_like_the_rgb_path(tmp_path):
    frame, rgb = composed(clip_draft(tmp_path))
    assert isinstance(frame, av.VideoFrame) and frame.format.name == "yuv420p"
    yuv_rgb = to_rgb(frame)
    assert close(yuv_rgb[20, 20], ORANGE) and close(rgb[20, 20], ORANGE)
    caption_rows = slice(int(H * 0.7), int(H * 0.9))
    assert (yuv_rgb[caption_rows].min(axis=2) > 200).sum() > 100  # white glyph pixels came through
    diff = np.abs(yuv_rgb - rgb.astype(int))
    assert diff.mean() < 1.5 and np.percentile(diff, 99.5) <= 24  # glyph edges differ by chroma siting only


def test_pixels_no_overlay_touches_keep_the_decoders_yuv_exactly(tmp_path):
    folder = clip_draft(tmp_path)
    frame, _ = composed(folder)
    with av.open(str(folder / "media" / "main.mp4")) as f:
        source = next(f.decode(video=0))
    y, u, v = planes(frame)
    sy, su, sv = planes(source)
    top = slice(0, int(H * 0.6))  # above the caption's box
    assert np.array_equal(y[top], sy[top])
    assert np.array_equal(u[:H // 4], su[:H // 4]) and np.array_equal(v[:H // 4], sv[:H // 4])


def test_a_picture_in_picture_video_is_pasted_in_yuv_too(tmp_path):
    # scale 0.5 → 160×90 at centre (240, 45): left 160, top 0, both even.
    pip = jy.ClipSettings(scale_x=0.5, scale_y=0.5, transform_x=0.5, transform_y=0.5)
    frame, rgb = composed(clip_draft(tmp_path, pip=pip, caption=None))
    assert isinstance(frame, av.VideoFrame)
    out = to_rgb(frame)
    assert close(out[45, 240], BLUE) and close(out[2, 162], BLUE) and close(out[45, 156], ORANGE)
    assert close(out[95, 240], ORANGE)
    assert np.abs(out - rgb.astype(int)).max() <= 6


def test_a_picture_on_an_odd_pixel_lands_exactly_in_luma(tmp_path):
    # scale 0.5 → 160×90 centred at (161, 90): left edge 81 and top edge 45, both odd.
    pip = jy.ClipSettings(scale_x=0.5, scale_y=0.5, transform_x=2 / W)
    frame, rgb = composed(clip_draft(tmp_path, pip=pip, caption=None))
    assert isinstance(frame, av.VideoFrame)
    y, _, _ = planes(frame)
    main_y, pip_y = yuv_colour(ORANGE)[0], yuv_colour(BLUE)[0]
    assert abs(int(y[90, 80]) - main_y) <= 3 and abs(int(y[90, 81]) - pip_y) <= 3
    assert abs(int(y[90, 240]) - pip_y) <= 3 and abs(int(y[90, 241]) - main_y) <= 3
    diff = np.abs(to_rgb(frame) - rgb.astype(int)).max(axis=2)
    edges = np.zeros((H, W), bool)  # chroma may land half a pixel off: only along the PiP's edges
    edges[43:48, 79:243] = edges[133:138, 79:243] = edges[43:138, 79:84] = edges[43:138, 238:243] = True
    assert diff[~edges].max() <= 6 and diff[edges].max() > 6


@pytest.mark.parametrize("scale", [0.51, 0.333])
def test_a_picture_scaled_to_an_odd_size_is_pasted_whole(tmp_path, scale):
    # 320·scale × 180·scale rounds to odd widths or heights: chroma planes of ceil(n / 2).
    pip = jy.ClipSettings(scale_x=scale, scale_y=scale, transform_x=0.3, transform_y=0.2)
    frame, rgb = composed(clip_draft(tmp_path, pip=pip, caption=None))
    assert isinstance(frame, av.VideoFrame)
    diff = np.abs(to_rgb(frame) - rgb.astype(int)).max(axis=2)
    assert (diff > 6).mean() < 0.02  # only along the picture's edges
    cx, cy = round(W / 2 + 0.3 * W / 2), round(H / 2 - 0.2 * H / 2)
    assert close(to_rgb(frame)[cy, cx], BLUE)


def test_a_zooming_photo_is_scaled_and_converted_in_one_pass(tmp_path):
    script = jy.DraftFolder(str(tmp_path)).create_draft("photo", W, H, 30, allow_replace=True)
    folder = tmp_path / "photo"
    photo = make_image(folder / "media" / "photo.jpg", (960, 540), ORANGE)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    seg = jy.VideoSegment(str(photo), jy.trange(0, SEC))
    seg.add_keyframe(jy.KeyframeProperty.uniform_scale, 0, 1.0)
    seg.add_keyframe(jy.KeyframeProperty.uniform_scale, SEC, 1.5)
    script.add_segment(seg, "main")
    script.save()
    for t in (0.1, 0.5, 0.9):
        frame, rgb = composed(folder, t)
        assert isinstance(frame, av.VideoFrame)
        assert np.abs(to_rgb(frame) - rgb.astype(int)).max() <= 6


def gradient_photo(path: Path, alpha: bool) -> Path:
    """A 640×480 photo of smooth gradients (colour that chroma subsampling keeps), saved with
    an alpha channel opaque all over when `alpha`."""
    y, x = np.mgrid[0:480, 0:640]
    rgb = np.stack([x * 255 // 639, y * 255 // 479, 255 - (x + y) * 255 // 1118], axis=-1).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.dstack([rgb, np.full((480, 640), 255, np.uint8)]) if alpha else rgb).save(path, quality=95)
    return path


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg"])
def test_a_photo_zoomed_past_the_canvas_is_drawn_from_its_visible_part_whatever_its_format(tmp_path, name):
    # A PNG whose alpha is opaque everywhere draws like the JPEG: in YUV, one resampling of
    # the part on the canvas, landing where the RGB path draws the whole picture.
    script = jy.DraftFolder(str(tmp_path)).create_draft("zoom", W, H, 30, allow_replace=True)
    folder = tmp_path / "zoom"
    photo = gradient_photo(folder / "media" / name, alpha=name.endswith(".png"))
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    seg = jy.VideoSegment(str(photo), jy.trange(0, SEC), clip_settings=jy.ClipSettings(transform_x=0.2))
    seg.add_keyframe(jy.KeyframeProperty.uniform_scale, 0, 1.0)
    seg.add_keyframe(jy.KeyframeProperty.uniform_scale, SEC, 3.0)
    script.add_segment(seg, "main")
    script.save()
    for t in (0.1, 0.5, 0.9):
        frame, rgb = composed(folder, t)
        assert isinstance(frame, av.VideoFrame)
        assert np.abs(to_rgb(frame) - rgb.astype(int)).max() <= 6, t


def stacked_draft(root: Path, overlay) -> Path:
    """The main orange clip, one segment `overlay(folder)` on the track above it, a caption."""
    script = jy.DraftFolder(str(root)).create_draft("stack", W, H, 30, allow_replace=True)
    folder = root / "stack"
    main = make_clip(folder / "media" / "main.mp4", color=ORANGE, bt709=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.video, "overlay"),
                          jy.TrackSpec(jy.TrackType.text, "caption")])
    script.add_segment(jy.VideoSegment(str(main), jy.trange(0, SEC)), "main")
    script.add_segment(overlay(folder), "overlay")
    script.add_segment(jy.TextSegment("两层 RGB", jy.trange(0, SEC), style=jy.TextStyle(size=10, color=(1, 1, 1)),
                                      clip_settings=jy.ClipSettings(transform_y=-0.6)), "caption")
    script.save()
    return folder


def test_overlays_drawn_in_rgb_share_one_island_and_match_the_rgb_path(tmp_path):
    # A half-transparent square (an RGBA photo) under the caption: both go through RGB, together.
    def square(folder):
        picture = make_image(folder / "media" / "square.png", (60, 60), (*BLUE, 128))
        return jy.VideoSegment(str(picture), jy.trange(0, SEC),
                               clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5, transform_y=-0.5))

    frame, rgb = composed(stacked_draft(tmp_path, square))
    assert isinstance(frame, av.VideoFrame)
    out = to_rgb(frame)
    half = [(a + b) / 2 for a, b in zip(ORANGE, BLUE, strict=True)]
    assert close(out[20, 20], ORANGE) and close(rgb[100, 130], half, 8) and close(out[100, 130], half, 8)
    diff = np.abs(out - rgb.astype(int))
    assert diff.mean() < 1.5 and np.percentile(diff, 99.5) <= 24


def test_a_full_frame_overlay_in_screen_mode_rewrites_the_whole_island(tmp_path):
    # A light-leak style overlay: a whole-frame clip in screen mode over the main clip, and a
    # caption. The overlay covers the island, so every pixel comes back without comparing.
    def leak(folder):
        segment = jy.VideoSegment(str(make_clip(folder / "media" / "leak.mp4", color=BLUE, bt709=True)),
                                  jy.trange(0, SEC))
        segment.set_mix_mode(jy.MixModeType.滤色)
        return segment

    frame, rgb = composed(stacked_draft(tmp_path, leak))
    assert isinstance(frame, av.VideoFrame)
    out = to_rgb(frame)
    screen = [255 - (255 - a) * (255 - b) / 255 for a, b in zip(ORANGE, BLUE, strict=True)]
    assert close(out[20, 20], screen, 8) and close(rgb[20, 20], screen, 8)
    # Off the caption, the two paths differ by the rounding of one more 4:2:0 round trip.
    diff = np.abs(out - rgb.astype(int))
    assert diff[:100].max() <= 4 and np.percentile(diff, 99.5) <= 24


def test_an_island_covered_whole_writes_back_every_pixel():
    canvas = YuvCanvas(8, 6)
    canvas.start(fill=(90, 90, 90))

    def grey_to_white(rgb, x0, y0):
        rgb[:] = 255

    canvas.draw_rgb((0, 0, 8, 6), grey_to_white, filled=(0, 0, 8, 6))
    assert {int(v) for v in np.unique(planes(canvas.frame)[0])} == {235}
    handed_over = canvas.frame  # to the encoder: what later frames do must not reach it
    canvas.start(fill=(90, 90, 90))
    canvas.draw_rgb((0, 0, 8, 6), lambda rgb, x0, y0: rgb.fill(0), filled=(0, 0, 8, 6))
    assert {int(v) for v in np.unique(planes(canvas.frame)[0])} == {16}
    assert {int(v) for v in np.unique(planes(handed_over)[0])} == {235}
    canvas.start(fill=(90, 90, 90))
    canvas.draw_rgb((0, 0, 8, 6), lambda rgb, x0, y0: None, filled=(0, 0, 4, 6))  # covers half: compared
    assert {int(v) for v in np.unique(planes(canvas.frame)[0])} == {yuv_colour((90, 90, 90))[0]}


def dissolve_draft(root: Path, transition) -> Path:
    script = jy.DraftFolder(str(root)).create_draft("cut", W, H, 30, allow_replace=True)
    folder = root / "cut"
    a = make_clip(folder / "media" / "a.mp4", color=ORANGE, bt709=True)
    b = make_clip(folder / "media" / "b.mp4", color=BLUE, bt709=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    first = jy.VideoSegment(str(a), jy.trange(0, SEC))
    first.add_transition(transition, duration=600_000)  # 0.7 s to 1.3 s, centred on the cut
    script.add_segment(first, "main")
    script.add_segment(jy.VideoSegment(str(b), jy.trange(SEC, SEC)), "main")
    script.save()
    return folder


def test_a_dissolve_between_two_plain_videos_is_mixed_in_yuv(tmp_path):
    folder = dissolve_draft(tmp_path, jy.TransitionType.叠化)
    frame, rgb = composed(folder, 1.0)  # halfway
    assert isinstance(frame, av.VideoFrame)
    middle = [(a + b) / 2 for a, b in zip(ORANGE, BLUE, strict=True)]
    assert close(to_rgb(frame)[90, 160], middle, 8)
    assert np.abs(to_rgb(frame) - rgb.astype(int)).max() <= 6
    early, _ = composed(folder, 0.75)
    assert close(to_rgb(early)[90, 160], [a + (b - a) * 0.083 for a, b in zip(ORANGE, BLUE, strict=True)], 10)


def test_other_transitions_go_through_rgb(tmp_path):
    frame, rgb = composed(dissolve_draft(tmp_path, jy.TransitionType.向左擦除), 1.0)
    assert isinstance(frame, np.ndarray) and np.array_equal(frame, rgb)


def test_a_landscape_video_on_a_portrait_canvas_fills_the_bars_with_the_background_colour(tmp_path):
    # 320×180 contained in 160×330: 160×90 at top 120, above and below it the background.
    frame, rgb = composed(clip_draft(tmp_path, canvas=(160, 330), background=("color", 0, "#3366CCFF"), caption=None))
    assert isinstance(frame, av.VideoFrame)
    y, u, v = planes(frame)
    assert (int(y[4, 4]), int(u[2, 2]), int(v[2, 2])) == yuv_colour((0x33, 0x66, 0xCC))
    out = to_rgb(frame)
    assert close(out[4, 80], (0x33, 0x66, 0xCC), 3) and close(out[325, 80], (0x33, 0x66, 0xCC), 3)
    assert close(out[121, 80], ORANGE) and close(out[208, 80], ORANGE) and close(out[165, 80], ORANGE)
    assert np.abs(out - rgb.astype(int)).max() <= 6


@pytest.mark.parametrize("why, clip, kwargs", [
    ("flipped", jy.ClipSettings(flip_horizontal=True), {}),
    ("an untagged SD source (BT.601)", None, {"bt709": False}),
    ("a blurred background", jy.ClipSettings(scale_x=0.5, scale_y=0.5), {"background": ("blur",)}),
])
def test_layers_the_yuv_path_cannot_take_go_through_rgb(tmp_path, why, clip, kwargs):
    frame, rgb = composed(clip_draft(tmp_path, clip, **kwargs))
    assert isinstance(frame, np.ndarray), why
    assert np.array_equal(frame, rgb)


def test_the_encoder_takes_yuv_frames_end_to_end(tmp_path):
    folder = clip_draft(tmp_path)
    result = draftrender.render(folder, tmp_path / "out.mp4")
    assert result.frames == 30
    with av.open(str(tmp_path / "out.mp4")) as f:
        frames = [to_rgb(fr) for fr in f.decode(video=0)]
    assert len(frames) == 30
    for out in frames[::10]:
        assert close(out[20, 20], ORANGE, 8)
        assert (out[int(H * 0.7):int(H * 0.9)].min(axis=2) > 200).sum() > 100


def test_the_yuv_canvas_pastes_clipped_at_the_edges_and_islands_leave_the_rest_alone():
    canvas = YuvCanvas(8, 6)
    canvas.start(fill=(0, 0, 0))
    picture = av.VideoFrame(4, 4, "yuv420p")
    for plane, value in zip(planes(picture), (200, 90, 160), strict=True):
        plane.fill(value)
    canvas.paste(picture, -2, 4)  # only its top-right 2×2 lands, at (0, 4)
    y, u, v = planes(canvas.frame)
    assert y[4:, :2].tolist() == [[200, 200]] * 2 and int(u[2, 0]) == 90 and int(v[2, 0]) == 160
    assert int(y[4, 2]) == 16 and int(y[3, 0]) == 16  # black around it
    before = [p.copy() for p in planes(canvas.frame)]

    def one_white_pixel(rgb, x0, y0):
        rgb[1 - y0, 3 - x0] = 255  # canvas pixel (3, 1)

    canvas.draw_rgb((3, 1, 4, 2), one_white_pixel)
    after = planes(canvas.frame)
    changed_y = np.argwhere(after[0] != before[0]).tolist()
    assert changed_y == [[1, 3]] and int(after[0][1, 3]) > 150
    assert np.array_equal(after[1][1:], before[1][1:])  # chroma outside the pixel's 2×2 block untouched


def test_yuv_colour_is_what_the_encoder_makes_of_rgb():
    assert yuv_colour((0, 0, 0)) == (16, 128, 128)
    assert yuv_colour((255, 255, 255)) == (235, 128, 128)


@pytest.mark.parametrize("size, tagged, expected", [
    ((320, 180), False, Colorspace.ITU601),
    ((1280, 720), False, Colorspace.ITU709),
    ((720, 1280), False, Colorspace.ITU709),
    ((320, 180), True, Colorspace.ITU709),
])
def test_source_matrix_reads_the_tag_or_guesses_as_players_do(size, tagged, expected):
    frame = av.VideoFrame(*size, "yuv420p")
    if tagged:
        frame.colorspace = Colorspace.ITU709
    assert source_matrix(frame) == expected


def test_an_untagged_hd_clip_is_read_as_bt709_and_is_yuv_ready(tmp_path):
    path = make_clip(tmp_path / "hd.mp4", width=1280, height=720, seconds=0.2, color=ORANGE)
    with av.open(str(path)) as f:
        first = next(f.decode(video=0))
    assert first.colorspace == 2  # unspecified
    with VideoReader(path) as reader:
        assert reader.yuv_ready
        assert np.array_equal(reader.frame_at(0), to_rgb(first))
        scaled, left, top = reader.yuv_at(0, (640, 360))
        assert (scaled.width, scaled.height, left, top) == (640, 360, 0, 0)


def test_an_overlay_mixed_at_part_opacity_is_the_overlay_of_the_fainter_picture():
    """A fade mixes the overlay made once at the layer's opacity: the same, within a level, as
    the overlay of the picture with its coverage scaled by that opacity."""
    rng = np.random.default_rng(7)
    picture = rng.integers(0, 256, (31, 41, 4), dtype=np.uint8)  # odd sides at an odd place
    faint = picture.copy()
    faint[..., 3] = np.round(picture[..., 3] * 0.6).astype(np.uint8)
    canvases = []
    for pic, opacity in ((picture, 0.6), (faint, 1.0)):
        canvas = YuvCanvas(64, 48)
        canvas.start((200, 60, 40))
        ready = overlay(pic, 9, 7, 64, 48, VideoReformatter())
        assert ready is not None
        canvas.mix(ready, opacity)
        canvases.append([p.astype(int) for p in planes(canvas.frame)])
    for name, a, b in zip("YUV", *canvases, strict=True):
        assert np.abs(a - b).max() <= 1, name
    assert np.ptp(canvases[0][0]) > 20  # it drew the picture


def gentle_picture(w: int, h: int) -> np.ndarray:
    """An RGB picture whose colour changes by a level or two a pixel: a chroma sample's
    half-pixel shift at an odd place changes it by less than a level."""
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    return np.dstack([200 - 2 * x, 60 + 2 * y, 40 + x]).astype(np.uint8)


def soft_coverage(w: int, h: int) -> np.ndarray:
    """0 at the picture's edges, rising to a partial 160 inside (mixing weights short of whole)."""
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    edge = np.minimum(np.minimum(x, w - 1 - x), np.minimum(y, h - 1 - y))
    return np.clip(edge * 60, 0, 160).astype(np.uint8)


def yuv420(rgb: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)


@pytest.mark.parametrize("left, top, size, rotation", [
    (7, 5, (40, 30), 0.0),  # odd
    (7, 5, (41, 31), 0.0),  # odd sides too
    (-9, -3, (40, 30), 0.0),  # negative and odd: clipped at the left and top
    (-10, 4, (41, 31), 0.0),
    (45, 33, (40, 30), 0.0),  # clipped at the right and bottom
    (30, -11, (41, 31), 0.0),
    (7, 5, (40, 30), 30.0),
    (-9, -3, (40, 30), 200.0),
    (45, 33, (40, 30), 30.0),
])
def test_the_yuv_canvas_draws_a_picture_by_its_opacity_and_coverage_as_rgb_drawing_does(left, top, size, rotation):
    """YuvCanvas.draw and draw_rotated against the RGB compositor's drawing of the same picture,
    converted: luma within 2 levels everywhere; chroma within 2 levels off the coverage's edges
    (there a chroma sample of a picture at an odd place lands half a pixel off: a fringe)."""
    w, h = size
    rgb, coverage = gentle_picture(w, h), soft_coverage(w, h)
    p = Placement(w, h, left + w / 2, top + h / 2, rotation)
    under = (40, 60, 90)
    for opacity, cover in ((1.0, coverage), (0.6, coverage), (0.6, None), (1.0, None)):
        drawn = np.empty((48, 64, 3), np.uint8)
        drawn[:] = under
        draw(drawn, rgb if cover is None else np.dstack([rgb, cover]), p, opacity)
        shown = np.zeros((48, 64, 3), np.uint8)  # where the picture shows, and how much
        white = np.full_like(rgb, 255)
        draw(shown, white if cover is None else np.dstack([white, cover]), p, opacity)
        canvas = YuvCanvas(64, 48)
        canvas.start(under)
        if rotation:
            canvas.draw_rotated(yuv420(rgb), p, opacity, cover)
        else:
            canvas.draw(yuv420(rgb), left, top, opacity, cover)
        mine = [plane.astype(int) for plane in planes(canvas.frame)]
        reference = [plane.astype(int) for plane in planes(yuv420(drawn))]
        assert np.abs(mine[0] - reference[0]).max() <= 2, (opacity, cover is not None)
        # A chroma sample is compared where the picture's coverage is the same over it and a pixel around.
        around = np.lib.stride_tricks.sliding_window_view(np.pad(shown[..., 0], 2, mode="edge"), (6, 6))[::2, ::2]
        inside = around.min(axis=(2, 3)) == around.max(axis=(2, 3))
        assert inside.mean() > 0.6
        for a, b in zip(mine[1:], reference[1:], strict=True):
            assert np.abs(a - b)[inside].max() <= 2, (opacity, cover is not None)
        assert np.abs(mine[0] - yuv_colour(under)[0]).max() > 10  # it drew the picture
