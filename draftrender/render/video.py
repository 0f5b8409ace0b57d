"""Video files as frames at any source time: frame-exact, upright, streaming forward and
seeking only on jumps, serving reverse playback from a bounded chunk. The video kind of
Source (sources.py).

Times are integer microseconds of source time; frames are numpy arrays or yuv420p frames
that the caller must not write to (they are cached and shared, so they are marked read-only).
"""

from __future__ import annotations

import bisect
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

from draftrender.errors import MaterialUnreachable, RenderFailed

from .yuv import Box, cropped, rgb_view, source_box

US = 1_000_000
# A forward jump longer than this seeks (to the keyframe before it) instead of decoding through.
FORWARD_DECODE_LIMIT = 1_500_000
# Frames the window keeps while reading forward: the one covering the play head and the next,
# whose start is where the first ends. With one, every read seeks (layers: 2.2 × the time).
FORWARD_KEEP = 2
# Decoding threads of a video of at least THREADED_PIXELS and more than twice the output's
# pixels: FFmpeg's frame threads, which decode without the GIL while the compositor works
# (PyAV holds it through a decode on the calling thread). Decoding is then much of a frame's
# work and encoding little: on a 0.5 preview of 1080×1920 clips the render took 12 % less
# time (7.98 / 9.16 s, 9.92 / 11.07 s, alternated). Where the output is as big, the encoder
# keeps the second core busy and the threads only held memory: 8 MB per 1080p decoder, and
# the showcase and layers renders were no faster with them (24.0 / 21.4 and 27.2 / 27.0 s;
# 35.6 / 39.9 and 34.6 / 32.4 s). FFmpeg's automatic count is the number of cores plus one,
# each thread holding frames of its own: 17 per decoder on a 16-core server.
DECODER_THREADS = 2
THREADED_PIXELS = 1920 * 1080
# Reverse playback decodes a chunk of about this much source time before the request...
REVERSE_SPAN = 1_000_000
# ...and keeps at most this many frames of it, fewer for big frames (bounded memory).
REVERSE_MAX_FRAMES = 64
REVERSE_MAX_BYTES = 256 * 1024 * 1024
# FFmpeg's AVColorSpace values that name no YUV matrix.
AVCOL_SPC_RGB, AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_RESERVED = 0, 2, 3

def frozen(array: np.ndarray) -> np.ndarray:
    # Frames are cached and handed out more than once: a caller writing into one would
    # corrupt the next read, so make that an error instead.
    array.flags.writeable = False
    return array


def clockwise_turns(degrees: float) -> int:
    """Quarter turns clockwise (0–3) nearest to an angle in degrees."""
    return round(degrees / 90) % 4


def upright(rgb: np.ndarray, turns: int) -> np.ndarray:
    """Rotate a frame clockwise by quarter turns, contiguous in memory."""
    if turns:
        rgb = np.rot90(rgb, k=-turns)  # np.rot90 turns counter-clockwise for positive k
    return np.ascontiguousarray(rgb)


def _stream_rotation(first: av.VideoFrame, stream) -> int:
    """Clockwise display rotation a file asks for: display matrix first, then `rotate` tag."""
    ccw = first.rotation  # display matrix side data; counter-clockwise, 0 when absent
    if ccw:
        return -int(ccw)
    try:
        return int(float(stream.metadata.get("rotate", 0)))
    except ValueError:
        return 0


def source_matrix(frame: av.VideoFrame) -> int:
    """The YUV matrix a video's frames are in: their tag, else what players assume for an
    untagged file (BT.709 from HD up, BT.601 below), so a render looks like its sources did."""
    if frame.colorspace not in (AVCOL_SPC_RGB, AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_RESERVED):
        return frame.colorspace
    return Colorspace.ITU709 if frame.width >= 1280 or frame.height > 576 else Colorspace.ITU601


class VideoReader:
    """Frame-exact reader over one video file.

    `frame_at(t)` returns the frame whose presentation interval covers t (the last frame
    with start <= t), as HxWx3 uint8 RGB in display orientation. t is in µs of source
    time, 0 being the stream's start_time. Before the first frame gives the first frame;
    past the end holds the last one.

    `rotation` overrides the file's own display rotation; like the rest of the project it
    is in degrees clockwise (the legacy `rotate` tag's sense), rounded to quarter turns.
    """

    def __init__(self, path, *, rotation: int | None = None, output_pixels: int = 0):
        self.path = Path(path)
        try:
            self._container = av.open(str(self.path))
        except FileNotFoundError:
            raise MaterialUnreachable(f"video {self.path} does not exist", [str(self.path)]) from None
        except (av.FFmpegError, OSError) as e:
            raise MaterialUnreachable(f"video {self.path} cannot be opened: {reason(e)}", [str(self.path)]) from None
        try:
            self._open_stream(output_pixels)
            first = self._first_frame()
        except BaseException:
            self._container.close()
            raise
        self._origin: int = self._stream.start_time if self._stream.start_time is not None else (first.pts or 0)
        self.duration = self._duration()
        self._frame_us = self._nominal_frame_us()
        self._window: list[tuple[int, av.VideoFrame]] = []  # contiguous decoded frames, by start
        self._at_eof = False  # the window's last frame is the stream's last frame
        self._last_start: int | None = None  # start of the stream's last frame, once seen
        self._keep = FORWARD_KEEP
        self._push(first)
        self._first_start = self._window[0][0]
        self._converted: tuple[av.VideoFrame, dict] | None = None  # the last frame, by size asked
        self._rgb = VideoReformatter()
        self._scale = VideoReformatter()
        self.seeks = 0  # how often the reader had to seek: a cost worth watching

        turns = clockwise_turns(_stream_rotation(first, self._stream) if rotation is None else rotation)
        self.rotation = turns * 90
        self._turns = turns
        coded_w, coded_h = first.width, first.height
        self.width, self.height = (coded_h, coded_w) if turns % 2 else (coded_w, coded_h)
        self._matrix = source_matrix(first)
        self._bt709 = (first.format.name == "yuv420p" and self._matrix == Colorspace.ITU709
                       and first.color_range != ColorRange.JPEG)
        frame_bytes = max(1, coded_w * coded_h * 3 // 2)
        self._reverse_frames = max(4, min(REVERSE_MAX_FRAMES, REVERSE_MAX_BYTES // frame_bytes))

    # -- opening ---------------------------------------------------------------------

    def _open_stream(self, output_pixels: int) -> None:
        if not self._container.streams.video:
            raise MaterialUnreachable(f"video {self.path} has no video stream", [str(self.path)])
        self._stream = self._container.streams.video[0]
        context = self._stream.codec_context
        pixels = context.width * context.height
        if pixels >= THREADED_PIXELS and pixels > 2 * output_pixels:
            context.thread_type = "AUTO"  # frame threads where the codec has them
            context.thread_count = DECODER_THREADS
        else:
            context.thread_count = 1
        tb = self._stream.time_base
        if not tb:
            raise MaterialUnreachable(f"video {self.path} has no time base", [str(self.path)])
        self._tb = Fraction(tb.numerator, tb.denominator)
        self._frames = self._container.decode(self._stream)

    def _first_frame(self) -> av.VideoFrame:
        try:
            first = next(self._frames, None)
        except av.FFmpegError as e:
            raise MaterialUnreachable(f"video {self.path} cannot be decoded: {reason(e)}", [str(self.path)]) from None
        if first is None:
            raise MaterialUnreachable(f"video {self.path} has no decodable frames", [str(self.path)])
        if first.pts is None:
            first.pts = self._stream.start_time or 0
        return first

    def _duration(self) -> int:
        # From the container's header: good for planning, not exact (muxers disagree on
        # whether the last frame's length counts; VFR edit lists can be off). Reads never
        # depend on it beyond choosing where to seek.
        s = self._stream
        if s.duration:
            return int(s.duration * self._tb * US)
        if self._container.duration:
            return int(self._container.duration)  # container duration is in AV_TIME_BASE (µs)
        return 0

    def _nominal_frame_us(self) -> int:
        rate = self._stream.average_rate or self._stream.guessed_rate
        return int(US / rate) if rate else 40_000

    # -- time ------------------------------------------------------------------------

    def _start_us(self, pts: int) -> int:
        # Floor, so a caller's t for frame i at i/fps (floored or rounded to µs) is never
        # a hair before the frame it means.
        return (pts - self._origin) * self._tb.numerator * US // self._tb.denominator

    def _pts(self, t: int) -> int:
        return self._origin + t * self._tb.denominator // (self._tb.numerator * US)

    # -- window ----------------------------------------------------------------------

    def _push(self, frame: av.VideoFrame) -> None:
        w = self._window
        if frame.pts is None:  # some streams lose timestamps: step on from the last frame
            frame.pts = self._pts(w[-1][0] + self._frame_us) if w else self._origin
        start = self._start_us(frame.pts)
        if w and start <= w[-1][0]:
            if start < w[-1][0]:
                return  # out-of-order timestamp: the decoder's order is presentation order
            w.pop()  # same start: the later frame wins, as "last frame with pts <= t"
        w.append((start, frame))
        if len(w) > self._keep:
            del w[: len(w) - self._keep]

    def _covering(self, t: int) -> av.VideoFrame | None:
        """The window's frame covering t, when the window can tell."""
        w = self._window
        if not w or t < w[0][0]:
            return None
        i = bisect.bisect_right(w, t, key=lambda e: e[0]) - 1
        if i == len(w) - 1 and not self._at_eof:
            return None  # its interval end is not known until the next frame is decoded
        return w[i][1]

    def _decode_next(self, t: int) -> bool:
        """Decode one frame into the window; False at the end of the stream."""
        try:
            frame = next(self._frames, None)
        except av.FFmpegError as e:
            raise RenderFailed(f"decoding {self.path} near {t / US:.3f}s failed: {reason(e)}") from None
        if frame is None:
            self._at_eof = True
            if self._window:
                self._last_start = self._window[-1][0]
            return False
        self._push(frame)
        return True

    def _decode_through(self, t: int) -> None:
        while not self._at_eof and self._window[-1][0] <= t:
            self._decode_next(t)

    def _seek_fill(self, t: int, span: int) -> None:
        """Seek to the keyframe before t - span and decode forward until t is covered."""
        # Seeking past the end finds nothing in some demuxers; the target only needs to be early.
        target = min(t - span, self.duration - self._frame_us) if self.duration else t - span
        step = max(span, US)
        while True:
            target = max(target, self._first_start)
            # MPEG-TS seeks land late even at the very start: aim a second before it there.
            seek_pts = self._pts(target) if target > self._first_start else self._pts(self._first_start - US)
            self.seeks += 1
            self._window.clear()
            self._at_eof = False
            self._converted = None
            try:
                self._container.seek(seek_pts, stream=self._stream, backward=True, any_frame=False)
                self._frames = self._container.decode(self._stream)
            except av.FFmpegError as e:
                # Some demuxers refuse targets past their index: an earlier one may work.
                if target <= self._first_start:
                    raise RenderFailed(f"seeking {self.path} to {t / US:.3f}s failed: {reason(e)}") from None
            else:
                if not self._decode_next(t) and target <= self._first_start:
                    raise RenderFailed(f"decoding {self.path} near {t / US:.3f}s gave no frames")
            # Demuxers may land after the target (B-frame reordering, sparse index): go earlier.
            if self._window and (self._window[0][0] <= t or target <= self._first_start):
                self._decode_through(t)
                return
            target -= step
            step *= 2

    def frame_at(self, t: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """The frame covering source time t (µs), HxWx3 uint8 RGB, upright, read-only.

        With `size` (width, height, upright) the frame comes scaled to it: scaling the
        decoder's YUV before the RGB conversion costs a fraction of converting at full size
        and resizing the RGB afterwards.
        """
        return self._to_rgb(self._frame_covering(t), size)

    @property
    def native_size(self) -> tuple[int, int]:
        """(width, height) of the upright picture at the medium's own resolution."""
        return self.width, self.height

    @property
    def yuv_ready(self) -> bool:
        """Whether yuv_at gives frames the output can take as they are: upright 8-bit 4:2:0
        in BT.709 limited range, the output's own colours."""
        return self._turns == 0 and self._bt709

    def yuv_at(self, t: int, size: tuple[int, int], part: Box | None = None) -> tuple[av.VideoFrame, int, int]:
        """The frame covering source time t, as yuv420p scaled to `size` (width, height); only
        its `part` (a box of the scaled picture; None for all of it) is scaled, from the
        source pixels that cover it. Gives (picture, left, top): where the picture's top-left
        falls in the scaled frame. Shared with later calls, so read-only to the caller. Only
        when yuv_ready."""
        frame = self._frame_covering(t)
        size = (int(size[0]), int(size[1]))
        src, drawn = source_box((frame.width, frame.height), size, part or (0, 0, *size), step=2)
        memo = self._conversions(frame)
        key = ("yuv", size, drawn)
        scaled = memo.get(key)
        if scaled is None:
            whole = src == (0, 0, frame.width, frame.height)
            scaled = memo[key] = self._scaled(frame if whole else cropped(frame, src),
                                              (drawn[2] - drawn[0], drawn[3] - drawn[1]))
        return scaled, drawn[0], drawn[1]

    def _conversions(self, frame: av.VideoFrame) -> dict:
        """What the frame was converted to so far, by size asked: only the last frame's kept."""
        if self._converted is None or self._converted[0] is not frame:
            self._converted = (frame, {})
        return self._converted[1]

    def _scaled(self, frame: av.VideoFrame, size: tuple[int, int]) -> av.VideoFrame:
        w, h = (size[1], size[0]) if self._turns % 2 else size  # the coded frame is not yet upright
        if (frame.width, frame.height) == (w, h) and frame.format.name == "yuv420p":
            return frame
        try:
            return self._scale.reformat(frame, width=max(2, w), height=max(2, h), format="yuv420p",
                                        interpolation="BILINEAR")
        except av.FFmpegError as e:
            raise RenderFailed(f"scaling a frame of {self.path} failed: {reason(e)}") from None

    def _frame_covering(self, t: int) -> av.VideoFrame:
        t = max(int(t), self._first_start)
        if self._last_start is not None:
            t = min(t, self._last_start)  # holding the last frame needs no seek past the end
        frame = self._covering(t)
        if frame is None:
            w = self._window
            if w and w[0][0] <= t <= w[-1][0] + FORWARD_DECODE_LIMIT:
                self._keep = FORWARD_KEEP
                self._decode_through(t)
            elif w and t < w[0][0] and w[0][0] - t <= 2 * REVERSE_SPAN:
                # Just before what we hold: reverse playback. Decode a chunk and keep it.
                self._keep = self._reverse_frames
                self._seek_fill(t, REVERSE_SPAN)
            else:
                self._keep = FORWARD_KEEP
                self._seek_fill(t, 0)
            frame = self._covering(t)
            if frame is None:  # t past the end after all: hold the last frame
                frame = self._window[-1][1]
        return frame

    def _to_rgb(self, frame: av.VideoFrame, size: tuple[int, int] | None = None) -> np.ndarray:
        # Convert each frame at most once per size, and only the frames someone asks for.
        size = None if size is None or tuple(size) == (self.width, self.height) else (int(size[0]), int(size[1]))
        memo = self._conversions(frame)
        rgb = memo.get(size)
        if rgb is not None:
            return rgb
        if size is not None:
            # YUV → YUV scaling, then SwScale's unscaled YUV → RGB path: the fastest route.
            frame = self._scaled(frame, size)
        try:
            rgb = rgb_view(self._rgb.reformat(frame, format="rgb24", src_colorspace=self._matrix))
        except av.FFmpegError as e:
            raise RenderFailed(f"converting a frame of {self.path} to RGB failed: {reason(e)}") from None
        rgb = frozen(upright(rgb, self._turns))
        if len(memo) >= 4:  # a frame is asked for at one or two sizes: keep it bounded
            memo.clear()
        memo[size] = rgb
        return rgb

    def close(self) -> None:
        self._window.clear()
        self._converted = None
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def reason(e: BaseException) -> str:
    """FFmpeg/Pillow error text without the path (the message names the file itself)."""
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())
