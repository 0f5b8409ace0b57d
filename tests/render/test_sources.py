"""VideoReader, ImageSource and solid_color on media the tests make.

Every clip's frames carry their own index as eight bars (bit b lit when set), so a test
can read back which source frame it got, whatever the codec did to the pixels.
"""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from draftrender.errors import MaterialUnreachable, RenderFailed
from draftrender.render import sources
from draftrender.render.sources import ImageSource, VideoReader, solid_color

W, H = 320, 180
BAR = W // 8


def bars(index: int) -> np.ndarray:
    frame = np.full((H, W, 3), 40, np.uint8)
    for bit in range(8):
        if index >> bit & 1:
            frame[:, bit * BAR + 4 : (bit + 1) * BAR - 4] = 220
    return frame


def index_of(rgb: np.ndarray) -> int:
    return sum(1 << bit for bit in range(8) if rgb[H // 2, bit * BAR + BAR // 2].mean() > 130)


def write_clip(path, pts: list[int], time_base: Fraction, *, gop: int | None = None, fmt: str | None = None,
               images=None, rotation: int | None = None, size=(W, H)):
    """Frame i (bars(i), or images[i]) at pts[i] in time_base."""
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream("libx264", rate=round(1 / time_base) if time_base.numerator == 1 else None,
                                options={"crf": "16", **({"g": str(gop)} if gop else {})})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(images[i] if images is not None else bars(i), format="rgb24")
            frame.pts, frame.time_base = p, time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def constant_clip(tmp_path, fps=25, n=50, gop=None, name="clip.mp4", fmt=None):
    return write_clip(tmp_path / name, list(range(n)), Fraction(1, fps), gop=gop, fmt=fmt)


# -- frame-exact reads ------------------------------------------------------------------


def test_each_frame_covers_its_interval_start_middle_and_end(tmp_path):
    with VideoReader(constant_clip(tmp_path)) as reader:
        assert (reader.width, reader.height, reader.rotation) == (W, H, 0)
        assert reader.duration == 2_000_000
        for i in range(50):
            start = i * 40_000
            for t in (start, start + 20_000, start + 39_999):
                assert index_of(reader.frame_at(t)) == i, (i, t)
        assert reader.seeks == 0  # a forward read never seeks


def test_frames_are_rgb_uint8_read_only_and_converted_once(tmp_path):
    with VideoReader(constant_clip(tmp_path)) as reader:
        a = reader.frame_at(100_000)
        assert a.shape == (H, W, 3) and a.dtype == np.uint8 and a.flags.c_contiguous
        assert not a.flags.writeable
        assert reader.frame_at(110_000) is a  # same frame: no second conversion


def test_25fps_source_read_at_30fps_output_times(tmp_path):
    with VideoReader(constant_clip(tmp_path)) as reader:
        for k in range(60):
            t = Fraction(k, 30)  # output frame k, exactly
            assert index_of(reader.frame_at(int(t * 1_000_000))) == int(t * 25), k


@pytest.mark.parametrize("to_us", [int, round, lambda x: -(-x // 1)], ids=["floor", "round", "ceil"])
def test_same_rate_times_land_on_their_frame_however_rounded(tmp_path, to_us):
    # 1/30 s is not a whole number of µs: a caller's rounding must not pick the frame before.
    with VideoReader(constant_clip(tmp_path, fps=30, n=60)) as reader:
        for k in range(60):
            assert index_of(reader.frame_at(to_us(Fraction(k * 1_000_000, 30)))) == k


def test_variable_frame_rate_uses_actual_timestamps(tmp_path):
    pts_ms = [0, 40, 50, 120, 130, 300, 310, 333, 500, 720, 730, 1000]
    path = write_clip(tmp_path / "vfr.mp4", pts_ms, Fraction(1, 1000))
    with VideoReader(path) as reader:
        for i, p in enumerate(pts_ms):
            assert index_of(reader.frame_at(p * 1000)) == i
            assert index_of(reader.frame_at(p * 1000 + 999)) == i
        for i, p in reversed(list(enumerate(pts_ms))):
            if i:
                assert index_of(reader.frame_at(p * 1000 - 1)) == i - 1


def test_nonzero_stream_start_is_source_time_zero(tmp_path):
    path = constant_clip(tmp_path, name="clip.ts", fmt="mpegts")
    with av.open(str(path)) as probe:
        assert probe.streams.video[0].start_time > 0  # MPEG-TS starts its clock late
    with VideoReader(path) as reader:
        assert index_of(reader.frame_at(0)) == 0
        for i in (1, 7, 30, 49, 12):
            assert index_of(reader.frame_at(i * 40_000 + 5_000)) == i


# -- seeking ----------------------------------------------------------------------------


def test_jumps_backwards_and_forwards(tmp_path):
    with VideoReader(constant_clip(tmp_path, n=150, gop=12)) as reader:  # 6 s, keyframe every 12
        for i in (140, 3, 75, 76, 20, 149, 0, 100, 99, 60, 61, 145, 10):
            assert index_of(reader.frame_at(i * 40_000 + 1)) == i, i
        assert reader.seeks > 0


@pytest.mark.parametrize("gop", [None, 10], ids=["one-gop", "gop10"])
def test_reverse_reading_is_descending_and_bounded(tmp_path, gop):
    n = 150
    with VideoReader(constant_clip(tmp_path, n=n, gop=gop)) as reader:
        reader.frame_at(reader.duration)  # start at the end, as a reversed segment does
        seen = []
        for i in reversed(range(n)):
            seen.append(index_of(reader.frame_at(i * 40_000 + 20_000)))
            assert reader.held_frames <= sources.REVERSE_MAX_FRAMES
        assert seen == list(reversed(range(n)))
        assert reader.seeks <= n // 10  # chunks, not a seek per frame


def test_holds_first_and_last_frame_outside_the_clip(tmp_path):
    with VideoReader(constant_clip(tmp_path)) as reader:
        assert index_of(reader.frame_at(-500_000)) == 0
        assert index_of(reader.frame_at(10_000_000)) == 49
        assert index_of(reader.frame_at(2_500_000)) == 49
        assert index_of(reader.frame_at(1_960_000)) == 49
        assert index_of(reader.frame_at(1_959_999)) == 48


# -- rotation ---------------------------------------------------------------------------


def quadrants() -> np.ndarray:
    image = np.zeros((H, W, 3), np.uint8)
    image[: H // 2, : W // 2] = (255, 0, 0)  # top-left red
    image[: H // 2, W // 2 :] = (0, 255, 0)  # top-right green
    image[H // 2 :, : W // 2] = (0, 0, 255)  # bottom-left blue
    image[H // 2 :, W // 2 :] = (255, 255, 255)  # bottom-right white
    return image


def corners(rgb: np.ndarray) -> tuple[str, str, str, str]:
    """Colour names at top-left, top-right, bottom-left, bottom-right."""
    names = {(1, 0, 0): "red", (0, 1, 0): "green", (0, 0, 1): "blue", (1, 1, 1): "white"}
    h, w = rgb.shape[:2]
    pick = [rgb[h // 8, w // 8], rgb[h // 8, -w // 8], rgb[-h // 8, w // 8], rgb[-h // 8, -w // 8]]
    return tuple(names[tuple(int(c > 128) for c in p)] for p in pick)


def rotated_clip(tmp_path, ccw: int):
    return write_clip(tmp_path / f"rot{ccw}.mp4", list(range(10)), Fraction(1, 25),
                      images=[quadrants()] * 10, rotation=ccw)


def test_phone_portrait_clip_comes_out_upright(tmp_path):
    # A phone's `rotate=90` tag: the display matrix turns the picture 90° clockwise.
    with VideoReader(rotated_clip(tmp_path, -90)) as reader:
        assert (reader.width, reader.height, reader.rotation) == (H, W, 90)
        frame = reader.frame_at(0)
        assert frame.shape == (W, H, 3)
        assert corners(frame) == ("blue", "red", "white", "green")


def test_counter_clockwise_matrix_and_override(tmp_path):
    path = rotated_clip(tmp_path, 90)
    with VideoReader(path) as reader:
        assert reader.rotation == 270
        assert corners(reader.frame_at(0)) == ("green", "white", "red", "blue")
    with VideoReader(path, rotation=0) as reader:
        assert (reader.width, reader.height) == (W, H)
        assert corners(reader.frame_at(0)) == ("red", "green", "blue", "white")
    with VideoReader(path, rotation=180) as reader:
        assert corners(reader.frame_at(0)) == ("white", "blue", "green", "red")


# -- failures ---------------------------------------------------------------------------


def test_corrupt_file_is_unreachable_and_named(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(MaterialUnreachable) as caught:
        VideoReader(path)
    assert "broken.mp4" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.materials == [str(path)]


def test_truncated_file_is_unreachable(tmp_path):
    whole = constant_clip(tmp_path).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(MaterialUnreachable, match="cut.mp4"):
        VideoReader(path)


def test_damage_mid_stream_fails_naming_file_and_time(tmp_path):
    path = constant_clip(tmp_path, n=100)
    data = bytearray(path.read_bytes())
    third = len(data) // 3  # inside the media data: this muxer writes moov at the end
    data[third : third + 3000] = np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with VideoReader(path) as reader, pytest.raises(RenderFailed, match=r"clip\.mp4 near \d+\.\d{3}s"):
        for i in range(100):
            reader.frame_at(i * 40_000)


def test_missing_file_is_unreachable(tmp_path):
    with pytest.raises(MaterialUnreachable, match="nowhere.mp4"):
        VideoReader(tmp_path / "nowhere.mp4")


# -- images -----------------------------------------------------------------------------


def test_still_png_is_rgba_and_the_same_array_every_time(tmp_path):
    pixels = np.zeros((30, 40, 4), np.uint8)
    pixels[..., 0], pixels[..., 3] = 200, 128
    Image.fromarray(pixels).save(tmp_path / "still.png")
    image = ImageSource(tmp_path / "still.png")
    assert (image.width, image.height, image.animated, image.duration) == (40, 30, False, 0)
    first = image.frame_at(0)
    assert first.shape == (30, 40, 4) and first.dtype == np.uint8
    assert np.array_equal(first, pixels)
    assert image.frame_at(5_000_000) is first


def test_a_photo_is_copied_out_of_pillow_without_a_second_copy_at_the_peak(tmp_path, monkeypatch):
    # 1201×900 RGB is 3.1 MB: np.asarray(image) holds it twice at the peak (tobytes() joining
    # its chunks); copied in bands of 256 KB it is held once, and a band twice.
    y, x = np.mgrid[0:900, 0:1201]
    noise = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)  # compresses: a small file
    Image.fromarray(noise).save(tmp_path / "photo.png")
    monkeypatch.setattr(sources, "PIXELS_BAND_BYTES", 256 * 1024)
    tracemalloc.start()
    try:
        picture = ImageSource(tmp_path / "photo.png").frame_at(0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(picture, noise)
    assert peak < 1.3 * noise.nbytes, f"{peak / noise.nbytes:.2f}× the picture at the peak"


def test_jpeg_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    pixels[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = ImageSource(tmp_path / "phone.jpg")
    assert (image.width, image.height) == (20, 40)
    frame = image.frame_at(0)
    assert frame[5, 10, 0] > 200 and frame[5, 10, 2] < 60  # the left edge is now the top
    assert frame[35, 10, 2] > 200 and frame.shape[2] == 3  # a JPEG has no alpha: it stays RGB


def test_a_large_still_comes_reduced_but_never_below_the_size_asked(tmp_path):
    Image.new("RGB", (400, 300), (10, 200, 30)).save(tmp_path / "big.png")
    image = ImageSource(tmp_path / "big.png")
    assert image.frame_at(0).shape == (300, 400, 3)
    reduced = image.frame_at(0, (90, 70))
    assert reduced.shape == (75, 100, 3) and tuple(reduced[30, 40]) == (10, 200, 30)
    assert image.frame_at(0, (90, 70)) is reduced  # each reduction is made once
    assert image.frame_at(0, (300, 200)) is image.frame_at(0)  # not big enough to reduce


def test_a_large_jpeg_is_decoded_at_the_reduced_size_only(tmp_path):
    # Left half red, right half blue, turned by EXIF: the reduction keeps both right.
    pixels = np.zeros((600, 800, 3), np.uint8)
    pixels[:, :400] = (230, 20, 20)
    pixels[:, 400:] = (20, 20, 230)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display: 600×800 upright
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", exif=exif, quality=95)
    image = ImageSource(tmp_path / "photo.jpg")
    assert (image.width, image.height) == (600, 800)
    reduced = image.frame_at(0, (140, 190))  # a quarter is still at least that big
    assert reduced.shape == (200, 150, 3)
    red, blue = reduced[20, 75].astype(int), reduced[180, 75].astype(int)  # top red, bottom blue
    assert np.abs(red - (230, 20, 20)).max() <= 8 and np.abs(blue - (20, 20, 230)).max() <= 8
    assert 1 not in image._stills  # the full-size picture was never decoded
    assert image.frame_at(0).shape == (800, 600, 3)


def test_a_truncated_jpeg_is_unreachable_when_opened(tmp_path):
    Image.new("RGB", (400, 300), (10, 200, 30)).save(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:200])
    with pytest.raises(MaterialUnreachable, match="cut.jpg"):
        ImageSource(tmp_path / "cut.jpg")


COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def write_gif(path):
    frames = [Image.new("RGB", (16, 12), c) for c in COLOURS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 0], loop=0)
    return path


@pytest.mark.parametrize("cache_bytes", [sources.IMAGE_CACHE_BYTES, 1], ids=["kept", "on-demand"])
def test_animated_gif_loops_with_its_delays(tmp_path, monkeypatch, cache_bytes):
    monkeypatch.setattr(sources, "IMAGE_CACHE_BYTES", cache_bytes)
    image = ImageSource(write_gif(tmp_path / "anim.gif"))
    assert image.animated and (image.width, image.height) == (16, 12)
    assert image.duration == 400_000  # a 0 ms delay plays as 100 ms
    for t, expected in [(0, 0), (99_999, 0), (100_000, 1), (299_999, 1), (300_000, 2), (400_000, 0), (950_000, 1)]:
        frame = image.frame_at(t)
        assert frame.shape == (12, 16, 4)
        assert tuple(frame[6, 8, :3]) == COLOURS[expected], t
    image.close()


def test_animated_webp(tmp_path):
    frames = [Image.new("RGBA", (16, 12), c + (255,)) for c in COLOURS]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], duration=50, lossless=True)
    image = ImageSource(tmp_path / "anim.webp")
    assert image.animated and image.duration == 150_000
    assert tuple(image.frame_at(60_000)[0, 0]) == (0, 255, 0, 255)


def test_broken_image_is_unreachable_and_named(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"nonsense" * 20)
    with pytest.raises(MaterialUnreachable, match="bad.png"):
        ImageSource(tmp_path / "bad.png")


def test_solid_color():
    plate = solid_color(6, 4, (1.0, 0.0, 0.5, 0.5))
    assert plate.shape == (4, 6, 4) and plate.dtype == np.uint8
    assert (plate == np.array([255, 0, 128, 128], np.uint8)).all()
