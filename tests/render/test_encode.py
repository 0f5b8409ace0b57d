"""VideoEncoder: what comes back out of the MP4 it writes, and the file's life."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from draftrender.errors import EncodeFailed
from draftrender.render.encode import (
    X264_THREADS_MAX,
    EncodeSettings,
    VideoEncoder,
    even_size,
    nvenc_unavailable,
    nvidia_gpu_present,
    usable_cores,
    video_options,
    video_threads,
)

W, H = 320, 180


def mp4_box_order(path) -> list[str]:
    """Top-level MP4 box types in file order (e.g. ftyp, moov, mdat when faststart)."""
    boxes = []
    with open(path, "rb") as f:
        size_total = f.seek(0, 2)
        pos = 0
        while pos + 8 <= size_total:
            f.seek(pos)
            header = f.read(16)
            size = int.from_bytes(header[:4], "big")
            boxes.append(header[4:8].decode("latin-1"))
            if size == 1:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                break
            if size < 8:
                break
            pos += size
    return boxes


def colour(i: int) -> tuple[int, int, int]:
    return (40 + i * 8 % 180, 200 - i * 5 % 150, 30 + i * 11 % 200)


def flat(i: int) -> np.ndarray:
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = colour(i)
    return frame


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def decoded_video(path):
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        rate, tb = stream.average_rate, stream.time_base
        frames = [(fr.pts * tb, fr.to_ndarray(format="rgb24")) for fr in f.decode(stream)]
    return rate, frames


def test_round_trip_size_rate_count_and_colours(tmp_path):
    out = tmp_path / "out.mp4"
    with VideoEncoder(out, W, H, Fraction(25)) as encoder:
        for i in range(25):
            encoder.write_frame(flat(i))
        assert encoder.encoder_name == "libx264" and encoder.warnings == []
    rate, frames = decoded_video(out)
    assert rate == 25 and len(frames) == 25
    for i, (time, rgb) in enumerate(frames):
        assert rgb.shape == (H, W, 3)
        assert time == Fraction(i, 25)
        assert np.abs(rgb[H // 2, W // 2].astype(int) - colour(i)).max() <= 6, i
    with av.open(str(out)) as f:
        ctx = f.streams.video[0].codec_context
        assert ctx.pix_fmt == "yuv420p" and (ctx.width, ctx.height) == (W, H)
        assert int(ctx.colorspace) == 1  # tagged BT.709, the matrix it was converted with
    assert leftovers(tmp_path) == ["out.mp4"]


def x264_options(path) -> dict[str, str]:
    """The options x264 wrote into the stream (its SEI: "... options: cabac=1 ref=1 ...")."""
    data = open(path, "rb").read()
    text = data[data.index(b"options: ") + 9:].split(b"\x00")[0].decode("latin-1")
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


@pytest.mark.parametrize("threads, expected", [(0, min(usable_cores(), X264_THREADS_MAX)), (1, 1), (3, 3)])
def test_x264_encodes_with_frame_threads_bounded_by_the_cores(tmp_path, threads, expected):
    out = tmp_path / "threads.mp4"
    with VideoEncoder(out, W, H, Fraction(25), EncodeSettings(threads=threads)) as enc:
        for i in range(10):
            enc.write_frame(flat(i))
    options = x264_options(out)
    assert options["threads"] == str(expected) and options["sliced_threads"] == "0"
    assert len(decoded_video(out)[1]) == 10


def moving(i: int) -> np.ndarray:
    """A picture that changes every frame (a drifting gradient with a moving square), so that
    x264's lookahead and B-frames have work to do."""
    y, x = np.indices((H, W))
    frame = np.dstack([(x + 3 * i) % 256, (y * 2 + i) % 256, (x + y + 5 * i) % 256]).astype(np.uint8)
    frame[40:90, (7 * i) % (W - 50):(7 * i) % (W - 50) + 50] = 250
    return frame


def x264_run(options: dict[str, str], threads: int, count: int = 40):
    """libx264 opened with `options` and frame threads, fed as VideoEncoder feeds it (time
    base 1/fps, pts counting frames): (frames taken before its first packet came out, the
    pictures decoded from its packets, the packets' timestamps)."""
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = W, H, "yuv420p"
    ctx.time_base, ctx.framerate = Fraction(1, 25), Fraction(25)
    ctx.options = options
    ctx.thread_count, ctx.thread_type = threads, "FRAME"
    packets, held = [], None
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(moving(i), format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        out = ctx.encode(frame)
        if out and held is None:
            held = i
        packets += out
    packets += ctx.encode(None)
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for p in packets for f in decoder.decode(p)] + decoder.decode(None)
    pictures = [f.to_ndarray() for f in decoded]
    return held, pictures, [(p.pts, p.dts) for p in packets]


@pytest.mark.parametrize("threads, fewer", [(1, 1), (2, 3)])
def test_x264_buffers_fewer_frames_and_encodes_the_same_pictures(threads, fewer):
    # Each frame x264 holds is a 6 MB block at 1080x1920: the options take some off its
    # queues (encode.X264_BUFFERING; sync-lookahead only with frame threads) and must leave
    # every picture as x264's defaults make it.
    settings = EncodeSettings(threads=threads)
    assert video_threads("libx264", settings) == (threads, "FRAME")
    ours = video_options("libx264", settings)
    defaults = {k: v for k, v in ours.items() if k != "x264-params"}
    held, pictures, stamps = x264_run(ours, threads)
    held_before, pictures_before, stamps_before = x264_run(defaults, threads)
    assert held <= held_before - fewer, (held, held_before)
    assert len(pictures) == len(pictures_before) == 40
    assert all(np.array_equal(a, b) for a, b in zip(pictures, pictures_before, strict=True))
    assert stamps == stamps_before  # force-cfr: our timestamps are already every 1/fps


def test_moov_box_precedes_media_data(tmp_path):
    out = tmp_path / "fast.mp4"
    with VideoEncoder(out, W, H, Fraction(25)) as encoder:
        for i in range(10):
            encoder.write_frame(flat(i))
    boxes = mp4_box_order(out)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")


def test_ntsc_rate_keeps_exact_frame_times(tmp_path):
    out = tmp_path / "ntsc.mp4"
    fps = Fraction(30000, 1001)
    with VideoEncoder(out, W, H, fps) as encoder:
        for i in range(30):
            encoder.write_frame(flat(i))
    rate, frames = decoded_video(out)
    assert rate == fps and len(frames) == 30
    assert [t for t, _ in frames] == [i / fps for i in range(30)]


def test_rgba_frames_and_yuv_frames_are_accepted(tmp_path):
    out = tmp_path / "mixed.mp4"
    rgba = np.dstack([flat(3), np.full((H, W, 1), 255, np.uint8)])
    yuv = av.VideoFrame.from_ndarray(flat(9), format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU709")
    with VideoEncoder(out, W, H, Fraction(25)) as encoder:
        encoder.write_frame(rgba)
        encoder.write_frame(yuv)
    _, frames = decoded_video(out)
    assert np.abs(frames[0][1][90, 160].astype(int) - colour(3)).max() <= 6
    assert np.abs(frames[1][1][90, 160].astype(int) - colour(9)).max() <= 6


def test_audio_tone_keeps_its_length_and_pitch(tmp_path):
    out = tmp_path / "tone.mp4"
    rate, n = 48_000, 72_000  # 1.5 s, not a whole number of AAC frames
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
    with VideoEncoder(out, W, H, Fraction(25), audio_rate=rate) as encoder:
        for i in range(38):
            encoder.write_frame(flat(i))
        for start in range(0, n, 1000):  # odd chunk sizes: the encoder regroups them
            encoder.write_audio(np.stack([tone[start : start + 1000]] * 2))
    with av.open(str(out)) as f:
        stream = f.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.rate == rate and stream.channels == 2
        decoded = np.concatenate([fr.to_ndarray() for fr in f.decode(stream)], axis=1)
    assert abs(decoded.shape[1] - n) <= 1024
    spectrum = np.abs(np.fft.rfft(decoded[0]))
    peak = np.fft.rfftfreq(decoded.shape[1], 1 / rate)[spectrum.argmax()]
    assert abs(peak - 440) < 2


def test_abort_leaves_nothing_and_keeps_an_older_output(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous render")
    encoder = VideoEncoder(out, W, H, Fraction(25))
    encoder.write_frame(flat(0))
    encoder.abort()
    assert out.read_bytes() == b"the previous render"
    assert leftovers(tmp_path) == ["out.mp4"]


def test_exception_inside_with_block_aborts(tmp_path):
    out = tmp_path / "new" / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoEncoder(out, W, H, Fraction(25)) as encoder:
            encoder.write_frame(flat(0))
            raise RuntimeError("the compositor broke")
    assert leftovers(out.parent) == []  # the missing folder was made; nothing left in it


def test_wrong_frame_shape_fails_cleanly(tmp_path):
    out = tmp_path / "out.mp4"
    encoder = VideoEncoder(out, W, H, Fraction(25))
    with pytest.raises(EncodeFailed, match=r"frame 0 .*\(180, 320, 3\)"):
        encoder.write_frame(np.zeros((H, W + 2, 3), np.uint8))
    encoder.abort()
    assert leftovers(tmp_path) == []


def test_odd_size_is_refused_with_the_fix_named(tmp_path):
    with pytest.raises(EncodeFailed, match="even") as caught:
        VideoEncoder(tmp_path / "odd.mp4", 321, 180, Fraction(25))
    assert "\n" not in str(caught.value)
    assert leftovers(tmp_path) == []
    assert even_size(321, 181) == (320, 180) and even_size(1080, 1920) == (1080, 1920)


def test_closing_without_frames_fails_and_leaves_nothing(tmp_path):
    encoder = VideoEncoder(tmp_path / "empty.mp4", W, H, Fraction(25))
    with pytest.raises(EncodeFailed, match="no frames"):
        encoder.close()
    assert leftovers(tmp_path) == []


def test_nvenc_falls_back_to_libx264_with_a_warning(tmp_path):
    if nvenc_unavailable("h264_nvenc") is None:
        pytest.skip("NVENC works on this machine")
    out = tmp_path / "gpu.mp4"
    with VideoEncoder(out, W, H, Fraction(25), EncodeSettings(encoder="nvenc")) as encoder:
        encoder.write_frame(flat(0))
    assert encoder.encoder_name == "libx264"
    assert len(encoder.warnings) == 1 and encoder.warnings[0].startswith("NVENC unavailable (")
    assert encoder.warnings[0].endswith("fell back to libx264")
    # The driver's own words, not FFmpeg's "Generic error in an external library".
    assert "Generic error" not in encoder.warnings[0]
    assert len(decoded_video(out)[1]) == 1


needs_nvenc = pytest.mark.skipif(
    nvenc_unavailable("h264_nvenc") is not None, reason="NVENC does not open on this machine"
)


@needs_nvenc
@pytest.mark.parametrize("codec, encoder_name, decoded_as",
                         [("h264", "h264_nvenc", "h264"), ("h265", "hevc_nvenc", "hevc")])
def test_nvenc_round_trip_on_a_gpu(tmp_path, codec, encoder_name, decoded_as):
    out = tmp_path / "gpu.mp4"
    with VideoEncoder(out, W, H, Fraction(25), EncodeSettings(codec=codec, encoder="nvenc")) as encoder:
        for i in range(25):
            encoder.write_frame(flat(i))
        assert (encoder.encoder_name, encoder.warnings) == (encoder_name, [])
    rate, frames = decoded_video(out)
    assert rate == 25 and len(frames) == 25
    for i, (time, rgb) in enumerate(frames):
        assert time == Fraction(i, 25)
        assert np.abs(rgb[H // 2, W // 2].astype(int) - colour(i)).max() <= 6, i
    with av.open(str(out)) as f:
        assert f.streams.video[0].codec_context.name == decoded_as


@needs_nvenc
def test_auto_with_a_working_gpu_picks_nvenc(tmp_path):
    with VideoEncoder(tmp_path / "a.mp4", W, H, Fraction(25), EncodeSettings(encoder="auto")) as encoder:
        encoder.write_frame(flat(0))
    assert (encoder.encoder_name, encoder.warnings) == ("h264_nvenc", [])


def test_auto_without_a_gpu_is_silent_libx264(tmp_path):
    if nvidia_gpu_present():
        pytest.skip("an NVIDIA GPU is present")
    with VideoEncoder(tmp_path / "a.mp4", W, H, Fraction(25), EncodeSettings(encoder="auto")) as encoder:
        encoder.write_frame(flat(0))
    assert (encoder.encoder_name, encoder.warnings) == ("libx264", [])


def test_h265_with_a_bitrate(tmp_path):
    out = tmp_path / "hevc.mp4"
    settings = EncodeSettings(codec="h265", encoder="libx265", bitrate=400_000)
    with VideoEncoder(out, W, H, Fraction(25), settings) as encoder:
        for i in range(5):
            encoder.write_frame(flat(i))
    with av.open(str(out)) as f:
        stream = f.streams.video[0]
        assert stream.codec_context.name == "hevc" and stream.codec_tag == "hvc1"
    assert len(decoded_video(out)[1]) == 5
