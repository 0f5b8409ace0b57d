"""The encoder and muxer: RGB frames and float samples in, one finished MP4 out.

Owns the codec choice (libx264/libx265, or NVENC with a fallback), the RGB → yuv420p
conversion (BT.709, limited range, tagged as such), the output clocks (video pts = frame
index at time base 1/fps; audio pts = samples written at 1/rate) and the file's life: it
is written to a hidden temp file beside the output and renamed onto it only when complete,
so `output` is never left half-written.

yuv420p needs an even width and height; VideoEncoder refuses odd sizes rather than
silently changing the canvas: the caller rounds the canvas with `even_size` first.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import cast

import av
import av.logging
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc, VideoReformatter

from draftrender.errors import EncodeFailed
from draftrender.options import EncodeSettings

AAC_FRAME = 1024
CPU_ENCODERS = {"h264": "libx264", "h265": "libx265"}
NVENC_ENCODERS = {"h264": "h264_nvenc", "h265": "hevc_nvenc"}
# x264 presets and the NVENC presets (p1 fastest .. p7 best) closest to them.
NVENC_PRESETS = {
    "ultrafast": "p1", "superfast": "p1", "veryfast": "p2", "faster": "p3", "fast": "p4",
    "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7",
}
# An NVENC open that takes longer than this is treated as unavailable (a wedged driver).
NVENC_PROBE_TIMEOUT_S = 10.0
# x264's frame threads when the settings leave the count to us (threads 0): one per core, at
# most this many. Frame threads keep two cores busier than slice threads (1080x1920 at
# veryfast, encoded from memory on 2 cores: 11.2 s against 12.9 s; the talkinghead render
# 47 s against 55-62 s) but each holds frames and their references: +48 MB at 2 threads,
# about +20 MB a thread more. x264's own automatic count, 1.5 per core, would be 24 threads
# (some 650 MB) on a 16 core server, which renders 4 drafts at once
# (server.config.default_workers): 4 threads each fill its cores as they are. (x264's
# threaded lookahead is kept: without it, sync-lookahead=0, it saves 28 MB but runs the
# lookahead on the calling thread and loses most of the gain.)
X264_THREADS_MAX = 4
# Frames x264 buffers beyond what its lookahead and threads need, cut down; neither option
# changes a picture it encodes (tested). At 1080p each input frame is a 6 MB block of x264's.
# sync-lookahead: frames queued for the lookahead thread (x264's own choice, bframes + 1, is 4
# at veryfast); 2 took 19 MB off the layers benchmark's peak and 15-25 off the showcase's,
# which ran no slower; 1 would take 15 MB more but slowed the showcase by 16 % (the
# encoder waits on its lookahead). force-cfr: rate control by the frame rate, not by
# timestamps, which spares the frame kept to measure a variable rate: the same stream while
# VideoEncoder's time base is 1/fps and its pts count frames (tested), as they do.
X264_BUFFERING = {"sync-lookahead": "2", "force-cfr": "1"}


def part_file(output: Path, suffix: str = "") -> Path:
    """A new empty hidden file beside `output` (.NAME.part-XXXXXXXX), to be renamed onto it once
    complete. It gets the mode any new file gets, 0666 less the umask (mkstemp's 0600 would keep
    the finished video from other users and from a web server)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    while True:
        path = output.parent / f".{output.name}.part-{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return path
        except FileExistsError:
            continue


def even_size(width: int, height: int) -> tuple[int, int]:
    """The largest even size within (width, height), at least 2x2: what yuv420p can hold."""
    return max(2, width - width % 2), max(2, height - height % 2)


def nvidia_gpu_present() -> bool:
    """Whether an NVIDIA GPU looks usable here (a device node or the driver's tool)."""
    return Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi") is not None


@cache
def nvenc_unavailable(codec_name: str) -> str | None:
    """Why `codec_name` (h264_nvenc / hevc_nvenc) cannot open here, or None if it can.

    Opens the encoder on a tiny config once per process: without a GPU this fails in
    about a millisecond; a thread bounds the rare hang of a broken driver. The reason is
    the driver's own log line where there is one ("Cannot load libcuda.so.1", or
    "OpenEncodeSessionEx failed: unsupported device" on GPUs without NVENC such as the
    H100), not FFmpeg's generic error.
    """
    outcome: list[str | None] = []

    def attempt() -> None:
        with av.logging.Capture() as logs:  # per thread: keeps the lines off stderr
            try:
                ctx = cast(av.VideoCodecContext, av.CodecContext.create(codec_name, "w"))
                ctx.width, ctx.height, ctx.pix_fmt = 256, 256, "yuv420p"
                ctx.time_base = Fraction(1, 25)
                ctx.open()
                outcome.append(None)
            except Exception as e:  # noqa: BLE001 - any failure to open means "not here"
                said = [" ".join(message.split()) for _, name, message in logs if name == codec_name]
                outcome.append(f"{codec_name}: {'; '.join(said) if said else _reason(e)}")

    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)  # FFmpeg logs nothing to capture at PyAV's default (off)
    try:
        probe = threading.Thread(target=attempt, daemon=True, name=f"{codec_name}-probe")
        probe.start()
        probe.join(NVENC_PROBE_TIMEOUT_S)
    finally:
        av.logging.set_level(level)
    return outcome[0] if outcome else f"opening {codec_name} took over {NVENC_PROBE_TIMEOUT_S:g}s"


def choose_encoder(settings: EncodeSettings) -> tuple[str, list[str]]:
    """(FFmpeg encoder name, warnings) for the settings on this machine."""
    if settings.codec not in CPU_ENCODERS:
        raise EncodeFailed(f"unknown video codec {settings.codec!r}; expected one of {', '.join(CPU_ENCODERS)}")
    cpu = CPU_ENCODERS[settings.codec]
    if settings.encoder == "nvenc" or (settings.encoder == "auto" and nvidia_gpu_present()):
        nvenc = NVENC_ENCODERS[settings.codec]
        reason = nvenc_unavailable(nvenc)
        if reason is None:
            return nvenc, []
        return cpu, [f"NVENC unavailable ({reason}); fell back to {cpu}"]
    if settings.encoder in ("auto", "libx264", "libx265", "cpu"):
        return cpu, []
    raise EncodeFailed(f"unknown encoder {settings.encoder!r}; expected libx264, nvenc or auto")


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def video_threads(encoder: str, settings: EncodeSettings) -> tuple[int, str]:
    """(thread count, thread type) the video encoder opens with.

    libx264: frame threads, settings.threads of them, or (0) one per core up to
    X264_THREADS_MAX. libx265 takes the count as its frame threads whatever the type (0: x265
    picks 1 to 6 by the core count, beside a pool of row threads on every core), and NVENC
    ignores both: those keep FFmpeg's count and PyAV's slice type as they always had.
    """
    if encoder == "libx264":
        return settings.threads or min(usable_cores(), X264_THREADS_MAX), "FRAME"
    return settings.threads, "SLICE"


def video_options(encoder: str, settings: EncodeSettings) -> dict[str, str]:
    """Encoder private options for quality/speed."""
    if encoder.endswith("_nvenc"):
        options = {"preset": NVENC_PRESETS.get(settings.preset, "p4"), "tune": "hq"}
        if settings.bitrate is None:
            options |= {"rc": "vbr", "cq": str(settings.crf), "b": "0"}
        return options
    options = {"preset": settings.preset}
    if settings.bitrate is None:
        options["crf"] = str(settings.crf)
    if encoder == "libx265":
        options["x265-params"] = "log-level=error"
    if encoder == "libx264":
        options["x264-params"] = ":".join(f"{k}={v}" for k, v in X264_BUFFERING.items())
    return options


class VideoEncoder:
    """Encodes frames (and optionally AAC audio) into an MP4, atomically.

    write_frame takes HxWx3 (or HxWx4, alpha ignored) uint8 RGB, or an av.VideoFrame.
    write_audio takes float32 (channels, n) on the output sample clock. close() finishes
    and renames the temp file onto `output`; abort() deletes it. As a context manager,
    a clean exit closes and an exception aborts.
    """

    def __init__(
        self,
        output: Path,
        width: int,
        height: int,
        fps: Fraction,
        settings: EncodeSettings = EncodeSettings(),
        *,
        audio_rate: int | None = None,
        audio_layout: str = "stereo",
    ):
        self.output = Path(output)
        self.width, self.height = int(width), int(height)
        self.fps = Fraction(fps)
        self.settings = settings
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise EncodeFailed(
                f"output size {width}x{height} for {self.output.name} must be positive and even "
                f"for yuv420p (round the canvas with even_size)"
            )
        if self.fps <= 0:
            raise EncodeFailed(f"output frame rate {fps} for {self.output.name} must be positive")
        self.warnings: list[str] = []
        self.frames_written = 0
        self.samples_written = 0
        self._audio_rate = audio_rate
        self._audio_layout = audio_layout
        self._pending: np.ndarray | None = None  # audio samples not yet filling an AAC frame
        self._done = False
        self._container: av.container.OutputContainer | None = None
        self._tmp = self._make_temp()
        try:
            self.encoder_name, self.warnings = choose_encoder(settings)
            self._open(self.encoder_name)
        except EncodeFailed:
            self.abort()
            raise
        except (av.FFmpegError, ValueError, TypeError) as e:
            if not self.encoder_name.endswith("_nvenc") or not isinstance(e, av.FFmpegError):
                self.abort()
                raise EncodeFailed(
                    f"opening encoder {self.encoder_name} for {self.output} failed: {_reason(e)}") from None
            # NVENC opened on the probe but not on the real size/options: the CPU encoder will.
            self._close_container()
            cpu = CPU_ENCODERS[settings.codec]
            self.warnings.append(f"NVENC unavailable ({_reason(e)}); fell back to {cpu}")
            self.encoder_name = cpu
            try:
                self._open(cpu)
            except av.FFmpegError as e2:
                self.abort()
                raise EncodeFailed(f"opening encoder {cpu} for {self.output} failed: {_reason(e2)}") from None
        self._to_yuv = VideoReformatter()

    # -- setup -----------------------------------------------------------------------

    def _make_temp(self) -> Path:
        try:
            return part_file(self.output)
        except OSError as e:
            raise EncodeFailed(f"cannot write into {self.output.parent}: {_reason(e)}") from None

    def _open(self, encoder: str) -> None:
        try:
            # container_options go to the muxer only (plain options would also reach the codecs).
            container = av.open(str(self._tmp), "w", format="mp4", container_options={"movflags": "+faststart"})
        except (av.FFmpegError, OSError) as e:
            raise EncodeFailed(f"cannot create {self._tmp}: {_reason(e)}") from None
        self._container = container
        video = cast(av.VideoStream,
                     container.add_stream(encoder, rate=self.fps, options=video_options(encoder, self.settings)))
        video.width, video.height, video.pix_fmt = self.width, self.height, "yuv420p"
        ctx = video.codec_context
        ctx.time_base = 1 / self.fps
        ctx.thread_count, ctx.thread_type = video_threads(encoder, self.settings)
        # Tag BT.709 limited range: the matrix _yuv_frame converts with (1 is AVCOL_*_BT709).
        ctx.colorspace, ctx.color_primaries, ctx.color_trc = 1, ColorPrimaries.BT709, ColorTrc.BT709
        ctx.color_range = ColorRange.MPEG
        if self.settings.bitrate is not None:
            ctx.bit_rate = int(self.settings.bitrate)
        if encoder == "libx265" or encoder == "hevc_nvenc":
            ctx.codec_tag = "hvc1"  # Apple players only accept HEVC in MP4 tagged hvc1
        self._video = video
        self._audio: av.AudioStream | None = None
        if self._audio_rate:
            audio = container.add_stream("aac", rate=int(self._audio_rate), layout=self._audio_layout)
            audio.codec_context.time_base = Fraction(1, int(self._audio_rate))
            audio.bit_rate = int(self.settings.audio_bitrate)
            self._audio = audio
            self._channels = audio.codec_context.layout.nb_channels
        # Opens the codecs and writes the header now, so a codec that cannot open fails here.
        container.start_encoding()

    # -- video -----------------------------------------------------------------------

    def _yuv_frame(self, image) -> av.VideoFrame:
        if isinstance(image, av.VideoFrame):
            if (image.width, image.height) != (self.width, self.height):
                raise EncodeFailed(f"frame {self.frames_written} is {image.width}x{image.height}, "
                                   f"expected {self.width}x{self.height}")
            if image.format.name == "yuv420p":
                return image
            return self._to_yuv.reformat(image, format="yuv420p", dst_colorspace=Colorspace.ITU709,
                                         dst_color_range=ColorRange.MPEG)
        pixels = np.asarray(image)
        if (pixels.dtype != np.uint8 or pixels.shape[:2] != (self.height, self.width) or pixels.ndim != 3
                or pixels.shape[2] not in (3, 4)):
            raise EncodeFailed(
                f"frame {self.frames_written} for {self.output.name} has shape {pixels.shape} {pixels.dtype}, "
                f"expected ({self.height}, {self.width}, 3) uint8"
            )
        # from_numpy_buffer wraps the array without copying (3x faster than from_ndarray at
        # 1080x1920); rgba is read straight by swscale, as dropping alpha in numpy would copy.
        frame = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(pixels),
                                                format="rgb24" if pixels.shape[2] == 3 else "rgba")
        return self._to_yuv.reformat(frame, format="yuv420p", dst_colorspace=Colorspace.ITU709,
                                     dst_color_range=ColorRange.MPEG)

    def write_frame(self, rgb) -> None:
        """Append one frame; its pts is its index (time base 1/fps)."""
        self._check_open()
        frame = self._yuv_frame(rgb)
        frame.pts = self.frames_written
        frame.time_base = self._video.codec_context.time_base
        self.mux(self._encoded(self._video, frame, f"frame {self.frames_written}"))
        self.frames_written += 1

    # -- audio -----------------------------------------------------------------------

    def write_audio(self, samples: np.ndarray) -> None:
        """Append float samples shaped (channels, n); encoded in whole AAC frames."""
        self.mux(self.encode_audio(samples))

    def encode_audio(self, samples: np.ndarray) -> list[av.Packet]:
        """The AAC packets of float samples shaped (channels, n), for mux(): whole AAC frames,
        the rest waits for the next call. It touches the audio encoder only, so it may run on
        a thread of its own beside write_frame."""
        self._check_open()
        if self._audio is None:
            raise EncodeFailed(f"{self.output.name} was opened without audio (pass audio_rate)")
        block = np.asarray(samples, dtype=np.float32)
        if block.ndim == 1 and self._channels == 1:
            block = block[None, :]
        if block.ndim != 2 or block.shape[0] != self._channels:
            raise EncodeFailed(f"audio for {self.output.name} has shape {block.shape}, expected ({self._channels}, n)")
        if self._pending is not None:
            block = np.concatenate([self._pending, block], axis=1)
        whole = block.shape[1] - block.shape[1] % AAC_FRAME
        packets = []
        for start in range(0, whole, AAC_FRAME):
            packets += self._encode_audio(block[:, start : start + AAC_FRAME])
        self._pending = block[:, whole:] if whole < block.shape[1] else None
        return packets

    def _encode_audio(self, chunk: np.ndarray) -> list[av.Packet]:
        assert self._audio is not None and self._audio_rate  # encode_audio checked
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self._audio_layout)
        frame.sample_rate = self._audio_rate
        frame.pts = self.samples_written  # counted in samples: no float time drifts in
        frame.time_base = self._audio.codec_context.time_base
        packets = self._encoded(self._audio, frame, f"audio at sample {self.samples_written}")
        self.samples_written += chunk.shape[1]
        return packets

    # -- muxing and the file's life --------------------------------------------------
    # A failure while encoding or muxing does not abort: the sound may be encoding on another
    # thread, so the owner aborts once that has stopped (EncodeThread.abort, a with block).

    def _encoded(self, stream, frame, what: str) -> list[av.Packet]:
        try:
            return stream.encode(frame)
        except (av.FFmpegError, OSError, ValueError) as e:
            raise EncodeFailed(f"encoding {what} of {self.output} failed: {_reason(e)}") from None

    def mux(self, packets: list[av.Packet]) -> None:
        """Write encoded packets into the file (from the thread that writes the frames)."""
        if self._container is None:
            raise EncodeFailed(f"{self.output} is closed")
        try:
            for packet in packets:
                self._container.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as e:
            raise EncodeFailed(f"writing {self.output} failed: {_reason(e)}") from None

    def _check_open(self) -> None:
        if self._done:
            raise EncodeFailed(f"encoder for {self.output} is already closed")

    def close(self) -> None:
        """Flush the encoders, finish the MP4 and move it onto `output`."""
        if self._done:
            return
        if self.frames_written == 0:
            self.abort()
            raise EncodeFailed(f"no frames were written to {self.output}")
        try:
            if self._pending is not None:
                # The AAC encoder takes a short last frame, so the audio ends where the samples do.
                self.mux(self._encode_audio(self._pending))
                self._pending = None
            for stream, what in ((self._video, "the video tail"), (self._audio, "the audio tail")):
                if stream is not None:
                    self.mux(self._encoded(stream, None, what))
        except EncodeFailed:
            self.abort()
            raise
        try:
            container, self._container = self._container, None
            if container is not None:
                container.close()
            os.replace(self._tmp, self.output)
        except (av.FFmpegError, OSError) as e:
            self.abort()
            raise EncodeFailed(f"finishing {self.output} failed: {_reason(e)}") from None
        self._done = True

    def _close_container(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away; its trailer does not matter
                pass

    def abort(self) -> None:
        """Throw the output away: the temp file is deleted and `output` is left untouched."""
        self._done = True
        self._close_container()
        try:
            self._tmp.unlink(missing_ok=True)
        except OSError:
            pass

    def __del__(self):
        # An encoder dropped without close() or abort() must not leave its temp file behind.
        if not getattr(self, "_done", True) and hasattr(self, "_tmp"):
            self.abort()

    def __enter__(self) -> VideoEncoder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())
