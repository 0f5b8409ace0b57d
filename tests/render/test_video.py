"""VideoReader on clips the tests make.

Every clip's frames carry their own index as eight bars (bit b lit when set), so a test
can read back which source frame it got, whatever the codec did to the pixels.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.codec.context import ThreadType
import numpy as np
import pytest

from draftrender.errors import MaterialUnreachable, RenderFailed
from draftrender.render import video
from draftrender.render.video import VideoReader

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


def test_a_big_video_decodes_on_frame_threads_only_into_a_much_smaller_output(tmp_path, monkeypatch):
    # A preview's decoding is most of its frames' work: threads take it off the compositor.
    # Into an output as big, the encoder keeps the other core busy and threads only hold memory.
    monkeypatch.setattr(video, "THREADED_PIXELS", W * H)
    path = constant_clip(tmp_path, n=10)
    for output_pixels, threads in ((W * H, 1), (W * H // 2, 1), (W * H // 2 - 1, 2)):
        with VideoReader(path, output_pixels=output_pixels) as reader:
            assert reader._stream.codec_context.thread_count == threads, output_pixels


@pytest.fixture(params=["calling-thread", "frame-threads"])
def decoding(request, monkeypatch):
    """Readers decode on the calling thread, or (the test's clips counting as big) on FFmpeg's
    frame threads, whose frames come out later: seeks, reverse reading and the ends must not care."""
    if request.param == "frame-threads":
        monkeypatch.setattr(video, "THREADED_PIXELS", W * H)
    return request.param


def test_jumps_backwards_and_forwards(tmp_path, decoding):
    with VideoReader(constant_clip(tmp_path, n=150, gop=12)) as reader:  # 6 s, keyframe every 12
        for i in (140, 3, 75, 76, 20, 149, 0, 100, 99, 60, 61, 145, 10):
            assert index_of(reader.frame_at(i * 40_000 + 1)) == i, i
        assert reader.seeks > 0


def test_a_small_video_decodes_on_the_calling_thread(tmp_path):
    with VideoReader(constant_clip(tmp_path, n=10)) as reader:  # 320x180: under THREADED_PIXELS
        assert reader._stream.codec_context.thread_count == 1


def test_a_big_video_decodes_on_frame_threads_and_stays_frame_exact(tmp_path, monkeypatch):
    # FFmpeg's frame threads decode without the GIL, beside the compositing thread: a frame
    # is still the one asked for after seeks both ways.
    monkeypatch.setattr(video, "THREADED_PIXELS", W * H)  # the test's clip counts as big
    with VideoReader(constant_clip(tmp_path, n=100, gop=12)) as reader:
        context = reader._stream.codec_context
        assert context.thread_count == 2 and context.thread_type & ThreadType.FRAME
        for i in (0, 1, 2, 50, 13, 12, 99, 98, 30):
            assert index_of(reader.frame_at(i * 40_000 + 1)) == i, i


@pytest.mark.parametrize("gop", [None, 10], ids=["one-gop", "gop10"])
def test_reverse_reading_is_descending_and_bounded(tmp_path, gop, decoding):
    n = 150
    with VideoReader(constant_clip(tmp_path, n=n, gop=gop)) as reader:
        reader.frame_at(reader.duration)  # start at the end, as a reversed segment does
        seen = []
        for i in reversed(range(n)):
            seen.append(index_of(reader.frame_at(i * 40_000 + 20_000)))
            assert len(reader._window) <= video.REVERSE_MAX_FRAMES  # decoded frames held
        assert seen == list(reversed(range(n)))
        assert reader.seeks <= n // 10  # chunks, not a seek per frame


def test_holds_first_and_last_frame_outside_the_clip(tmp_path, decoding):
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
