"""A layer's operation list: every operation draws the same on the YUV fast path (compose)
and on the general RGB path (render), and the fast path takes a layer only when every
operation in its list is one it draws.

Drafts are written by pyJianYingDraft on a 320×180 canvas: a plain orange clip, and above it
a photo of smooth gradients (colours that chroma subsampling keeps) with one operation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
import pytest
from av.video.reformatter import ColorRange, Colorspace
from media_factory import make_clip
from PIL import Image

import draftrender
from draftrender.assets import prepare_media
from draftrender.render import layers
from draftrender.render import frames as frames_module
from draftrender.render.frames import FrameRenderer
from draftrender.render.plan import frame_plan
from draftrender.render.yuv import planes

SEC = 1_000_000
W, H = 320, 180
ORANGE = (200, 60, 40)
# The photo at half size in the top-right quarter: its edges on whole chroma samples.
QUARTER = dict(scale_x=0.5, scale_y=0.5, transform_x=0.5, transform_y=0.5)


def gradient(path: Path) -> Path:
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([40 + x * 180 // W, 60 + y * 150 // H, 200 - (x + y) * 120 // (W + H)], axis=-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb.astype(np.uint8)).save(path, quality=98)
    return path


def sticker(folder: Path) -> jy.VideoSegment:
    """A PNG with transparency: the gradient, its coverage rising from 0 at the left to 255 at
    the right, and a clear hole in its middle."""
    y, x = np.mgrid[0:H, 0:W]
    alpha = np.where(np.hypot(x - W / 2, y - H / 2) < H / 5, 0, x * 255 // (W - 1))
    path = folder / "media" / "sticker.png"
    rgba = np.dstack([np.asarray(Image.open(gradient(folder / "media" / "photo.jpg"))), alpha.astype(np.uint8)])
    Image.fromarray(rgba).save(path)
    return jy.VideoSegment(str(path), jy.trange(0, SEC), clip_settings=jy.ClipSettings(**QUARTER))


def with_crop(folder: Path) -> jy.VideoSegment:
    crop = jy.CropSettings(upper_left_x=0.25, upper_right_x=1.0, lower_left_x=0.25, lower_right_x=1.0,
                           upper_left_y=0.0, upper_right_y=0.0, lower_left_y=1.0, lower_right_y=1.0)
    material = jy.VideoMaterial(str(gradient(folder / "media" / "photo.jpg")), crop_settings=crop)
    return jy.VideoSegment(material, jy.trange(0, SEC), clip_settings=jy.ClipSettings(**QUARTER))


def photo(folder: Path, **clip) -> jy.VideoSegment:
    return jy.VideoSegment(str(gradient(folder / "media" / "photo.jpg")), jy.trange(0, SEC),
                           clip_settings=jy.ClipSettings(**{**QUARTER, **clip}))


def keyframed(folder: Path) -> jy.VideoSegment:
    seg = photo(folder)
    seg.add_keyframe(jy.KeyframeProperty.brightness, 0, 0.3)
    seg.add_keyframe(jy.KeyframeProperty.brightness, SEC, 0.3)
    return seg


def text(folder: Path) -> jy.TextSegment:
    seg = jy.TextSegment("逐字出现", jy.trange(0, SEC), style=jy.TextStyle(size=12, color=(1, 1, 1)))
    seg.add_animation(jy.TextIntro.打字机_I, SEC)
    return seg


# name → (the overlay segment, the operation it adds, whether the fast path draws the layer)
CASES: dict[str, tuple[Callable[[Path], jy.VideoSegment | jy.TextSegment], type | None, bool]] = {
    "scale and position": (lambda f: photo(f), layers.PlaceOp, True),
    "a picture with transparency": (sticker, layers.PlaceOp, False),
    "opacity": (lambda f: photo(f, alpha=0.6), layers.OpacityOp, True),
    "rotation": (lambda f: photo(f, rotation=20.0), layers.PlaceOp, True),
    "rotation and opacity": (lambda f: photo(f, rotation=20.0, alpha=0.7),
                             layers.OpacityOp, True),
    "flip": (lambda f: photo(f, flip_horizontal=True), layers.PlaceOp, False),
    "crop": (with_crop, layers.CropOp, False),
    "mask": (lambda f: photo(f).add_mask(jy.MaskType.圆形, size=0.7), layers.MaskOp, True),
    "mask at half opacity": (lambda f: photo(f, alpha=0.5).add_mask(jy.MaskType.圆形, size=0.7, feather=40),
                             layers.MaskOp, True),
    "chroma": (lambda f: photo(f).add_chroma("#28A0C8FF", intensity=30), layers.ChromaOp, False),
    "colour": (keyframed, layers.AdjustOp, False),
    "filter": (lambda f: photo(f).add_filter(jy.FilterType.黑白记忆, 100), layers.GradeOp, False),
    "blend mode": (lambda f: photo(f).set_mix_mode(jy.MixModeType.滤色), layers.BlendOp, False),
    "wipe": (lambda f: photo(f).add_animation(jy.IntroType.画面擦除, SEC), layers.WipeOp, False),
    "blur": (lambda f: photo(f).add_animation(jy.IntroType.模糊聚焦, SEC), layers.BlurOp, False),
    "text reveal": (text, layers.RevealOp, False),
}


def draft(root: Path, overlay: Callable[[Path], jy.VideoSegment | jy.TextSegment]) -> Path:
    script = jy.DraftFolder(str(root)).create_draft("ops", W, H, 30, allow_replace=True)
    folder = root / "ops"
    main = make_clip(folder / "media" / "main.mp4", color=ORANGE, bt709=True)
    seg = overlay(folder)
    kind = jy.TrackType.text if isinstance(seg, jy.TextSegment) else jy.TrackType.video
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(kind, "overlay")])
    script.add_segment(jy.VideoSegment(str(main), jy.trange(0, SEC)), "main")
    script.add_segment(seg, "overlay")
    script.save()
    return folder


def yuv_planes(frame: av.VideoFrame | np.ndarray) -> list[np.ndarray]:
    """The frame as the encoder gets it: yuv420p, an RGB frame converted as the encoder does."""
    if isinstance(frame, np.ndarray):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(
            format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
    return [p.astype(int) for p in planes(frame)]


@pytest.mark.parametrize("case", list(CASES))
def test_every_operation_draws_the_same_on_the_fast_and_the_general_path(tmp_path, case):
    overlay, op, fast = CASES[case]
    tl = draftrender.load_draft(draft(tmp_path, overlay))
    frames = FrameRenderer(tl, prepare_media(tl), W, H)
    try:
        _, _, states = next(frame_plan(tl, tl.fps, SEC // 2, SEC // 2 + SEC // 30))
        top = states[-1]
        ops = frames.operations(top.segment)
        assert op in {type(o) for o in ops}, [type(o).__name__ for o in ops]
        assert (frames.yuv_layer(frames.instant(top)) is not None) == fast
        frames.compose(states)  # a picture shown again is mixed from its overlay (FrameRenderer.mixable)
        composed, general = frames.compose(states), frames.render(states)
    finally:
        frames.close()
    assert isinstance(composed, av.VideoFrame)  # the bottom clip keeps the frame in YUV
    mine, theirs = yuv_planes(composed), yuv_planes(general)
    # Across a sharp edge (the layer's border, a mask's, a glyph's) the encoder's conversion of
    # a whole RGB frame spreads chroma over the edge, and a YUV paste or an island's conversion
    # does not: there the two differ by more, by the conversion alone.
    luma_edges = near_edges(theirs[0])
    for plane in theirs[1:]:  # chroma edges, at luma resolution
        luma_edges |= np.repeat(np.repeat(near_edges(plane, reach=1), 2, axis=0), 2, axis=1)[:H, :W]
    chroma_edges = luma_edges[0::2, 0::2] | luma_edges[1::2, 0::2] | luma_edges[0::2, 1::2] | luma_edges[1::2, 1::2]
    for a, b, edges, name in zip(mine, theirs, (luma_edges, chroma_edges, chroma_edges), "YUV", strict=True):
        diff = np.abs(a - b)
        assert diff[~edges].max() <= 2, (name, np.argwhere((diff > 2) & ~edges)[:5].tolist())
        assert diff.max() <= 32, (name, diff.max())
    assert np.ptp(mine[0]) > 10  # the overlay drew something, not the flat clip alone


def near_edges(luma: np.ndarray, step: int = 12, reach: int = 2) -> np.ndarray:
    """Pixels within `reach` of a jump of more than `step` levels between neighbours."""
    jump = np.zeros(luma.shape, bool)
    jump[:, 1:] |= np.abs(np.diff(luma, axis=1)) > step
    jump[1:, :] |= np.abs(np.diff(luma, axis=0)) > step
    near = jump.copy()
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            near |= np.roll(np.roll(jump, dy, axis=0), dx, axis=1)
    return near


def test_every_operation_has_a_case():
    ops = {c for c in vars(layers).values() if isinstance(c, type) and c.__name__.endswith("Op")}
    assert ops == {op for _, op, _ in CASES.values()}


def test_overlays_made_for_the_yuv_path_stay_bounded_as_captions_change(tmp_path, monkeypatch):
    """Each caption is mixed into the YUV frame from an overlay made once; past the byte bound
    (here one byte), a caption gone off screen does not keep its overlay (nor its picture)
    for the rest of the render."""
    monkeypatch.setattr(frames_module, "OVERLAYS_BYTES", 1)
    script = jy.DraftFolder(str(tmp_path)).create_draft("captions", W, H, 30, allow_replace=True)
    main = make_clip(tmp_path / "captions" / "media" / "main.mp4", color=ORANGE, bt709=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.text, "captions")])
    script.add_segment(jy.VideoSegment(str(main), jy.trange(0, SEC)), "main")
    for n in range(10):
        script.add_segment(jy.TextSegment(f"第{n}句", jy.trange(n * SEC // 10, SEC // 10),
                                          style=jy.TextStyle(size=12, color=(1, 1, 1))), "captions")
    script.save()
    tl = draftrender.load_draft(tmp_path / "captions")
    frames = FrameRenderer(tl, prepare_media(tl), W, H)
    try:
        lumas = [planes(frames.compose(states))[0].copy() for _, _, states in frame_plan(tl, tl.fps, 0, SEC)]
        assert len(frames._overlays) == frames_module.OVERLAYS_KEPT < 10
    finally:
        frames.close()
    assert all(np.ptp(y) > 10 for y in lumas)  # every frame has its caption over the flat clip


def test_a_bottom_layer_at_half_opacity_is_drawn_in_yuv_over_its_background(tmp_path):
    """The bottom layer mixed at its opacity over the canvas fill (black), as the general path draws it."""
    script = jy.DraftFolder(str(tmp_path)).create_draft("faded", W, H, 30, allow_replace=True)
    folder = tmp_path / "faded"
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    script.add_segment(jy.VideoSegment(str(gradient(folder / "media" / "photo.jpg")), jy.trange(0, SEC),
                                       clip_settings=jy.ClipSettings(alpha=0.5)), "main")
    script.save()
    tl = draftrender.load_draft(folder)
    frames = FrameRenderer(tl, prepare_media(tl), W, H)
    try:
        _, _, states = next(frame_plan(tl, tl.fps, SEC // 2, SEC // 2 + SEC // 30))
        composed, general = frames.compose(states), frames.render(states)
    finally:
        frames.close()
    assert isinstance(composed, av.VideoFrame)
    for a, b in zip(yuv_planes(composed), yuv_planes(general), strict=True):
        assert np.abs(a - b).max() <= 2
    assert 30 < yuv_planes(general)[0].mean() < 100  # half the gradient's luma over black


def test_a_mask_on_a_picture_drawn_one_pixel_wide_covers_the_picture_its_source_gives():
    # Sources scale to 2 pixels at least: the coverage must be the picture's size, not the
    # drawn size, or mixing it fails.
    from draftrender.render.yuv import YuvCanvas
    from draftrender.timeline.model import Mask

    picture = av.VideoFrame(2, 2, "yuv420p")
    for plane in picture.planes:
        np.frombuffer(plane, np.uint8)[:] = 200
    drawn = layers.YuvLayer(picture, -1, -1, (1, 1), (0, 0))  # its first row and column off the canvas
    full = lambda mask, w, h: np.full((h, w), 255, np.uint8)  # noqa: E731 - the coverage callable
    whole = lambda mask, w, h: (0, 0, w, h)  # noqa: E731 - the covered box callable
    layers.MaskOp(Mask("rectangle"), full, whole).apply_yuv(drawn, None)  # type: ignore[arg-type]
    assert drawn.coverage.shape == (2, 2)
    canvas = YuvCanvas(8, 8)
    canvas.start((0, 0, 0))
    canvas.draw(drawn.picture, drawn.left, drawn.top, drawn.opacity, drawn.coverage)
    assert canvas.y[0, 0] == 200 and canvas.y[1, 1] == 16


@pytest.mark.parametrize("case", ["mask", "mask at half opacity"])
def test_a_masked_layer_is_mixed_in_yuv_only_over_the_box_its_mask_shows(tmp_path, case):
    """A circle in the picture: only its box is mixed in (its coverage around it is nil). That
    the frame then draws as the general path's is the "mask" cases of the test above."""
    overlay, _, _ = CASES[case]
    tl = draftrender.load_draft(draft(tmp_path, overlay))
    frames = FrameRenderer(tl, prepare_media(tl), W, H)
    try:
        _, _, states = next(frame_plan(tl, tl.fps, SEC // 2, SEC // 2 + SEC // 30))
        drawn = frames.yuv_layer(frames.instant(states[-1]))
        assert drawn is not None and drawn.coverage is not None
        assert drawn.picture.width < drawn.size[0] and drawn.picture.height < drawn.size[1]
        assert drawn.coverage.shape == (drawn.picture.height, drawn.picture.width)
        assert drawn.offset[0] % 2 == 0 and drawn.offset[1] % 2 == 0  # a chroma sample's two pixels kept together
        whole = frames.mask(tl.tracks[1].segments[0].mask, *drawn.size)
        x, y = drawn.offset
        assert np.array_equal(drawn.coverage, whole[y:y + drawn.picture.height, x:x + drawn.picture.width])
        outside = whole.copy()
        outside[y:y + drawn.picture.height, x:x + drawn.picture.width] = 0
        assert not outside.any()  # nothing the mask shows is left out
    finally:
        frames.close()
