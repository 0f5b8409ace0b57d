"""The sound: what comes back out of the rendered MP4, measured on tones and clicks the tests make.

Drafts are written by pyJianYingDraft (hand edits only where it cannot express a feature).
Levels are read per 50 ms window and per frequency, timing from clicks and flash frames, true
peak by 4× FFT oversampling: none of it uses the renderer's own measuring code.
"""

from __future__ import annotations

import tracemalloc
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
import pytest
from drafts import edit_json, material_json, track_json
from media_factory import make_clip, make_tone

import draftrender
from draftrender.assets import prepare_media
from draftrender.cli import main as cli_main
from draftrender.render.audio import Soundtrack

SEC = 1_000_000
RATE = 48_000
WINDOW = RATE // 20  # 50 ms
# Encoders by file suffix: (audio codec, video codec for containers that carry a picture).
CONTAINERS = {".wav": ("pcm_s16le", None), ".mp3": ("libmp3lame", None), ".m4a": ("aac", None),
              ".flac": ("flac", None), ".ogg": ("libopus", None), ".webm": ("libopus", "libvpx"),
              ".mov": ("aac", "libx264"), ".mp4": ("aac", "libx264")}


# ---------------------------------------------------------------- media and drafts


def sine(hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate + phase)


def write_sound(path: Path, samples: np.ndarray, rate: int = RATE, layout: str | None = None) -> Path:
    """Write float samples (channels, n) with the codec the suffix names; video containers get
    a tiny black picture of the same length beside the sound."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec, video_codec = CONTAINERS[path.suffix]
    layout = layout or {1: "mono", 2: "stereo"}[samples.shape[0]]
    n = samples.shape[1]
    with av.open(str(path), "w") as out:
        audio = out.add_stream(codec, rate=rate, layout=layout)
        if video_codec:
            video = out.add_stream(video_codec, rate=10)
            video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
            for i in range(-(-n * 10 // rate)):
                frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, 10)
                out.mux(video.encode(frame))
            out.mux(video.encode())
        for start in range(0, n, 4800):
            block = np.ascontiguousarray(samples[:, start:start + 4800], np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


def two_tones(path: Path, first_hz: float = 440, second_hz: float = 880, seconds: float = 1.0) -> Path:
    """`seconds` of one tone, then as long of another: which half plays says where in the source we are."""
    mono = np.concatenate([sine(first_hz, seconds), sine(second_hz, seconds)])
    return write_sound(path, np.stack([mono, mono]))


def sound_draft(root: Path, build, *, fps: int = 30, name: str = "sound") -> Path:
    """A 32×32 draft: `build(script, media folder)` adds tracks and segments."""
    script = jy.DraftFolder(str(root)).create_draft(name, 32, 32, fps, allow_replace=True)
    build(script, root / name / "media")
    script.save()
    return root / name


def one_track_draft(root: Path, *segments: jy.AudioSegment) -> Path:
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.audio, "sound")])
        for seg in segments:
            script.add_segment(seg, "sound")

    return sound_draft(root, build)


def speed_material(data: dict, track: str, index: int = 0) -> dict:
    seg = track_json(data, track)["segments"][index]
    return next(item for ref in seg["extra_material_refs"]
                for kind, item in [material_json(data, ref)] if kind == "speeds")


# ---------------------------------------------------------------- reading the result


def decoded_audio(path: Path, rate: int = RATE) -> np.ndarray:
    """The MP4's sound as float (2, n); its first sample must sit at time 0."""
    with av.open(str(path)) as c:
        frames = list(c.decode(audio=0))
    assert frames[0].pts == 0 and frames[0].sample_rate == rate
    return np.concatenate([f.to_ndarray() for f in frames], axis=1)


def render(folder: Path, out: Path, **options) -> tuple[np.ndarray, draftrender.RenderResult]:
    result = draftrender.render(folder, out, preset="ultrafast", **options)
    return decoded_audio(result.output), result


def db(x: float | np.ndarray) -> float | np.ndarray:
    return 20 * np.log10(np.maximum(x, 1e-9))


def window_rms(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1] // WINDOW
    return np.sqrt(np.mean(x[..., : n * WINDOW].reshape(-1, n, WINDOW) ** 2, axis=(0, 2)))


def amplitude(x: np.ndarray, hz: float) -> float:
    """Amplitude of the `hz` sine in a 1-D window (Hann-weighted projection)."""
    w = np.hanning(len(x))
    return float(2 * abs(np.sum(x * w * np.exp(-2j * np.pi * hz * np.arange(len(x)) / RATE))) / w.sum())


def dominant_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 18))
    return float(np.argmax(spectrum) * RATE / (1 << 18))


def true_peak_db(x: np.ndarray, factor: int = 4) -> float:
    """Peak of the signal oversampled 4× by band-limited (FFT) interpolation."""
    n = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    wide = np.zeros(x.shape[:-1] + (n * factor // 2 + 1,), complex)
    wide[..., : spectrum.shape[-1]] = spectrum
    return float(db(np.abs(np.fft.irfft(wide, n * factor, axis=-1) * factor).max()))


def mix_of(folder: Path) -> np.ndarray:
    """The limited mix before AAC, straight from the Soundtrack, for the whole draft."""
    tl = draftrender.load_draft(folder)
    sound = Soundtrack(tl, prepare_media(tl), RATE, 0, tl.duration)
    try:
        return sound.until(tl.duration)
    finally:
        sound.close()


# ---------------------------------------------------------------- levels


def test_rms_per_50ms_window_follows_volume_fades_and_keyframes(tmp_path):
    tone = make_tone(tmp_path / "media" / "tone.wav", hz=1000, seconds=3.0)  # amplitude 0.5
    faded = jy.AudioSegment(str(tone), jy.trange(0, 3 * SEC // 2), volume=0.5).add_fade(300_000, 400_000)
    keyed = jy.AudioSegment(str(tone), jy.trange(3 * SEC // 2, 3 * SEC // 2),
                            source_timerange=jy.trange(3 * SEC // 2, 3 * SEC // 2))
    keyed.add_keyframe(0, 1.0).add_keyframe(750_000, 0.2).add_keyframe(1_500_000, 1.0)
    x, result = render(one_track_draft(tmp_path, faded, keyed), tmp_path / "out.mp4")

    t = np.arange(3 * RATE) / RATE
    gain = np.where(t < 1.5, 0.5 * np.clip(t / 0.3, 0, 1) * np.clip((1.5 - t) / 0.4, 0, 1),
                    np.interp(t - 1.5, [0, 0.75, 1.5], [1.0, 0.2, 1.0]))
    expected = db(window_rms(gain * 0.5 * np.sin(2 * np.pi * 1000 * t)))
    measured = db(window_rms(x[:, : 3 * RATE]))
    audible = expected > -40
    assert audible.sum() > 50
    assert np.abs(measured - expected)[audible].max() < 0.5
    assert result.audio["peak_reduction_db"] == 0  # under the ceiling, the limiter leaves it alone


def test_pyjianyingdraft_bgm_fade_and_video_volume_keyframes_render_at_their_levels(tmp_path):
    def build(script, media):
        clip = make_clip(media / "clip.mp4", width=32, height=32, seconds=3.0, audio_hz=440)  # amplitude 0.5
        bgm = make_tone(media / "bgm.wav", hz=330, seconds=3.0)
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.audio, "bgm")])
        video = jy.VideoSegment(str(clip), jy.trange(0, 3 * SEC))
        video.add_keyframe(jy.KeyframeProperty.volume, 0, 0.2).add_keyframe(jy.KeyframeProperty.volume, 3 * SEC, 1.0)
        script.add_segment(video, "main")
        script.add_segment(jy.AudioSegment(str(bgm), jy.trange(0, 3 * SEC), volume=0.6).add_fade(SEC // 2, SEC), "bgm")

    x, result = render(sound_draft(tmp_path, build), tmp_path / "out.mp4")
    errors = []
    for start in range(0, 3 * RATE - 2 * WINDOW + 1, 2 * WINDOW):  # 100 ms windows: 10 Hz apart tones separate
        t = (start + WINDOW) / RATE
        for hz, want in ((440, 0.5 * (0.2 + 0.8 * t / 3)), (330, 0.5 * 0.6 * min(t / 0.5, 1, 3 - t))):
            if want > 0.01:
                errors.append(db(amplitude(x[0, start:start + 2 * WINDOW], hz)) - db(want))
    assert len(errors) > 50 and np.abs(errors).max() < 0.5, np.abs(errors).max()
    assert not any(n.feature == "audio" for n in result.fidelity)  # nothing about the sound is left out


# ---------------------------------------------------------------- timing


def click_clip(path: Path, flash: int, fps: Fraction, frames: int) -> Path:
    """Black frames but a white one at `flash`, and silence but a click where that frame starts."""
    clicks = np.zeros(round(frames / fps * RATE))
    clicks[int(flash / fps * RATE)] = 0.5
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12"}
        audio = out.add_stream("aac", rate=RATE, layout="stereo")
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 255 if i == flash else 0, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, 1 / fps
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for start in range(0, len(clicks), 1024):
            block = np.ascontiguousarray(np.stack([clicks[start:start + 1024]] * 2), np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


def test_clicks_and_flash_frames_stay_within_a_millisecond_after_200_segments(tmp_path):
    # At 59.94 fps two frames are 1601.6 samples: lengths rounded per segment would drift 80 samples.
    fps = Fraction(60000, 1001)
    frame_us = SEC / fps

    def build(script, media):
        clip = jy.VideoMaterial(str(click_clip(media / "clicks.mp4", flash=10, fps=fps, frames=20)))
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
        for j in range(200):
            start, end = round(2 * j * frame_us), round(2 * (j + 1) * frame_us)
            script.add_segment(jy.VideoSegment(clip, jy.trange(start, end - start),
                                               source_timerange=jy.trange(round(9 * frame_us), end - start)), "main")

    folder = sound_draft(tmp_path, build)
    edit_json(folder, lambda d: d.update(fps=59.94))
    x, result = render(folder, tmp_path / "out.mp4")
    with av.open(str(result.output)) as c:
        flashes = [float(f.time) for f in c.decode(video=0) if f.to_ndarray(format="gray").mean() > 128]
    loud = np.abs(x).max(axis=0)
    peaks = [i for i in np.flatnonzero(loud > 0.2) if loud[i] == loud[max(0, i - 100):i + 100].max()]
    clicks = [i / RATE for i in peaks]
    assert len(flashes) == len(clicks) == 200
    drift_ms = (np.array(clicks) - np.array(flashes)) * 1000
    assert abs(drift_ms[0]) < 1 and abs(drift_ms[-1]) < 1 and np.abs(drift_ms).max() < 1, drift_ms


@pytest.mark.parametrize("change_pitch, low, high", [(False, 440, 880), (True, 880, 1760)])
def test_double_speed_keeps_the_pitch_unless_tone_modify(tmp_path, change_pitch, low, high):
    source = two_tones(tmp_path / "media" / "tones.wav")  # 440 Hz for 1 s, then 880 Hz
    seg = jy.AudioSegment(str(source), jy.trange(0, SEC), source_timerange=jy.trange(0, 2 * SEC), speed=2.0,
                          change_pitch=change_pitch)
    x, result = render(one_track_draft(tmp_path, seg), tmp_path / "out.mp4")
    assert result.duration == 1.0
    assert abs(dominant_hz(x[0, int(0.05 * RATE):int(0.45 * RATE)]) - low) < 2
    assert abs(dominant_hz(x[0, int(0.55 * RATE):int(0.95 * RATE)]) - high) < 2


def switch_time(x: np.ndarray, first_hz: float, second_hz: float) -> float:
    """When the second tone takes over from the first, in seconds (10 ms windows, 1 ms apart)."""
    width = RATE // 100
    for start in range(0, x.shape[1] - width, RATE // 1000):
        w = x[0, start:start + width]
        if amplitude(w, second_hz) > amplitude(w, first_hz):
            return (start + width / 2) / RATE
    raise AssertionError("the second tone never came")


def test_reverse_plays_the_sound_backwards(tmp_path):
    source = two_tones(tmp_path / "media" / "tones.wav", seconds=0.6)
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, 1_200_000)))
    edit_json(folder, lambda d: track_json(d, "sound")["segments"][0].update(reverse=True))
    x, _ = render(folder, tmp_path / "out.mp4")
    assert abs(switch_time(x, 880, 440) - 0.6) < 0.01


def test_curve_speed_sound_follows_the_pictures_time_map(tmp_path):
    source = two_tones(tmp_path / "media" / "tones.wav")
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, 2 * SEC)))
    # Speed 0.5 rising to 1.5: half the source is played when u + u² = 1, at u = 0.618.
    edit_json(folder, lambda d: speed_material(d, "sound").update(
        mode=1, curve_speed={"speed_points": [{"x": 0.0, "y": 0.5}, {"x": 1.0, "y": 1.5}]}))
    x, _ = render(folder, tmp_path / "out.mp4")
    assert abs(switch_time(x, 440, 880) - 2 * 0.6180) < 0.02
    assert abs(dominant_hz(x[0, int(0.2 * RATE):int(1.0 * RATE)]) - 440) < 2  # the pitch holds while tempo glides
    assert abs(dominant_hz(x[0, int(1.4 * RATE):int(1.9 * RATE)]) - 880) < 2


def test_a_render_from_the_middle_starts_the_sound_there(tmp_path):
    source = two_tones(tmp_path / "media" / "tones.wav", seconds=1.5)
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, 3 * SEC)))
    x, result = render(folder, tmp_path / "out.mp4", start=1.0, end=2.0)
    assert result.frames == 30
    assert abs(switch_time(x, 440, 880) - 0.5) < 0.005


# ---------------------------------------------------------------- peaks, channels and formats


def test_two_full_scale_sources_never_exceed_minus_1_dbtp(tmp_path):
    media = tmp_path / "media"
    # 12 kHz at 45°: samples peak at 0.71, the wave between them at 1.0 (an inter-sample peak).
    low = write_sound(media / "low.wav", np.stack([sine(997, 2, amplitude=1.0)] * 2))
    high = write_sound(media / "high.wav", np.stack([sine(12_000, 2, amplitude=1.0, phase=np.pi / 4)] * 2))

    def build(script, _):
        script.append_tracks([jy.TrackSpec(jy.TrackType.audio, "a"), jy.TrackSpec(jy.TrackType.audio, "b")])
        script.add_segment(jy.AudioSegment(str(low), jy.trange(0, 2 * SEC)), "a")
        script.add_segment(jy.AudioSegment(str(high), jy.trange(0, 2 * SEC)), "b")

    folder = sound_draft(tmp_path, build)
    mix = mix_of(folder)
    assert true_peak_db(mix) <= -1.0
    assert db(np.abs(mix).max()) > -3  # limited, not crushed
    x, result = render(folder, tmp_path / "out.mp4")
    assert result.audio["peak_reduction_db"] > 6
    assert np.abs(x).max() < 1.0  # and after AAC, nothing clips


def test_a_51_input_and_an_8khz_mono_input_mix_to_stereo(tmp_path):
    media = tmp_path / "media"
    tones = {"FL": 500, "FR": 700, "FC": 1000, "LFE": 60, "BL": 1300, "BR": 1700}
    surround = write_sound(media / "surround.flac", np.stack([sine(hz, 1, amplitude=0.25) for hz in tones.values()]),
                           layout="5.1")
    mono = write_sound(media / "mono.wav", sine(440, 1, rate=8000)[None], rate=8000)
    x, _ = render(one_track_draft(tmp_path, jy.AudioSegment(str(surround), jy.trange(0, SEC)),
                                  jy.AudioSegment(str(mono), jy.trange(SEC, SEC))), tmp_path / "out.mp4")
    left, right = x[0, RATE // 10:RATE * 9 // 10], x[1, RATE // 10:RATE * 9 // 10]
    side, centre = db(0.25), db(0.25 * np.sqrt(0.5))  # fronts at full level; centre and surrounds at -3 dB
    for channel, own, other in ((left, ("FL", "BL"), ("FR", "BR")), (right, ("FR", "BR"), ("FL", "BL"))):
        assert abs(db(amplitude(channel, tones[own[0]])) - side) < 0.5
        assert abs(db(amplitude(channel, tones[own[1]])) - centre) < 0.5
        assert abs(db(amplitude(channel, tones["FC"])) - centre) < 0.5
        for name in other + ("LFE",):
            assert db(amplitude(channel, tones[name])) < side - 40
    mono_part = x[:, RATE * 11 // 10:RATE * 19 // 10]
    for channel in mono_part:  # dual mono: full level on both sides
        assert abs(db(amplitude(channel, 440)) - db(0.5)) < 0.5
        assert abs(dominant_hz(channel) - 440) < 2


@pytest.mark.parametrize("suffix", list(CONTAINERS))
def test_every_format_plays_in_time_and_at_level(tmp_path, suffix):
    # Silence, then a 1 kHz tone from 0.25 s; the segment plays the source from 0.1 s at 0.5 s.
    t = np.arange(RATE) / RATE
    mono = np.where(t >= 0.25, 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0)
    source = write_sound(tmp_path / "media" / f"tone{suffix}", np.stack([mono, mono]))

    def build(script, _):
        script.append_tracks([jy.TrackSpec(jy.TrackType.audio, "sound")])
        material = jy.AudioMaterial(str(source)) if suffix not in (".webm", ".mov", ".mp4") else None
        if material is None:  # a video file: its sound comes with the video segment
            script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
            script.add_segment(jy.VideoSegment(str(source), jy.trange(SEC // 2, 800_000),
                                               source_timerange=jy.trange(100_000, 800_000)), "main")
        else:
            script.add_segment(jy.AudioSegment(material, jy.trange(SEC // 2, 800_000),
                                               source_timerange=jy.trange(100_000, 800_000)), "sound")

    x, _ = render(sound_draft(tmp_path, build), tmp_path / "out.mp4")
    onset = np.argmax(np.abs(x[0]) > 0.05) / RATE
    assert abs(onset - 0.65) < 0.0015, onset
    assert abs(db(amplitude(x[0, int(0.8 * RATE):int(1.2 * RATE)], 1000)) - db(0.5)) < 0.5


# ---------------------------------------------------------------- drafts without sound, options


def test_no_audio_gives_no_audio_stream(tmp_path):
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(make_tone(tmp_path / "t.wav")), jy.trange(0, SEC)))
    out = tmp_path / "out.mp4"
    assert cli_main(["render", str(folder), "-o", str(out), "--no-audio", "-q", "--preset", "ultrafast"]) == 0
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 0 and len(c.streams.video) == 1


def test_a_draft_without_sound_gets_a_silent_track_as_long_as_the_video(tmp_path):
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
        script.add_segment(jy.VideoSegment(str(make_clip(media / "mute.mp4", seconds=1.0)), jy.trange(0, SEC)), "main")

    x, result = render(sound_draft(tmp_path, build), tmp_path / "out.mp4")
    assert result.audio["sounds"] == 0
    assert not x.any()
    assert abs(x.shape[1] - RATE * result.duration) < 1024  # within one AAC frame


@pytest.mark.parametrize("attribute", [1, 2])
def test_a_muted_video_track_shows_its_pictures_silently_and_a_hidden_one_plays_unseen(tmp_path, attribute):
    # attribute bit 1 mutes a track's sound only; bit 2 hides its pictures only.
    def build(script, media):
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "camera")])
        clip = make_clip(media / "camera.mp4", width=32, height=32, seconds=1.0, color=(200, 40, 40), audio_hz=440)
        script.add_segment(jy.VideoSegment(str(clip), jy.trange(0, SEC)), "camera")

    folder = sound_draft(tmp_path, build)
    edit_json(folder, lambda d: track_json(d, "camera").update(attribute=attribute))
    x, result = render(folder, tmp_path / "out.mp4")
    with av.open(str(result.output)) as c:
        middle = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)][15]
    if attribute == 1:
        assert np.abs(middle[8:24, 8:24].astype(int) - (200, 40, 40)).max() < 12
        assert not x.any()
    else:
        assert middle.max() < 20
        assert abs(db(amplitude(x[0, RATE // 4:3 * RATE // 4], 440)) - db(0.5)) < 1.0
    assert result.duration == 1.0


def test_a_draft_with_only_sound_renders_black_frames_for_its_length(tmp_path):
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(make_tone(tmp_path / "t.wav", seconds=2)),
                                                       jy.trange(0, 1_500_000)))
    x, result = render(folder, tmp_path / "out.mp4")
    with av.open(str(result.output)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 45 and max(f.max() for f in frames) < 20
    assert abs(x.shape[1] - RATE * 1.5) < 1024
    assert abs(db(amplitude(x[0, RATE // 2:RATE], 440)) - db(0.5)) < 0.5


def test_the_audio_rate_option_sets_the_sample_clock(tmp_path):
    source = write_sound(tmp_path / "media" / "tone.wav", np.stack([sine(440, 1)] * 2))
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, SEC)))
    result = draftrender.render(folder, tmp_path / "out.mp4", preset="ultrafast", audio_rate=44_100)
    x = decoded_audio(result.output, rate=44_100)
    assert abs(x.shape[1] - 44_100) < 1024
    spectrum = np.abs(np.fft.rfft(x[0, 4410:39690] * np.hanning(35280), 1 << 18))
    assert abs(np.argmax(spectrum) * 44_100 / (1 << 18) - 440) < 2
    with pytest.raises(draftrender.DraftRenderError, match="option audio_rate 44000"):
        draftrender.render(folder, tmp_path / "bad.mp4", audio_rate=44_000)


def test_loudness_normalises_to_the_target(tmp_path):
    # A stereo 997 Hz sine of amplitude A measures 20·log10(A) LUFS (BS.1770's calibration):
    # at -14 LUFS its amplitude is 0.2.
    source = write_sound(tmp_path / "media" / "tone.wav", np.stack([sine(997, 3)] * 2))
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, 3 * SEC)))
    out = tmp_path / "out.mp4"
    assert cli_main(["render", str(folder), "-o", str(out), "--loudness", "-14", "-q", "--preset", "ultrafast"]) == 0
    x = decoded_audio(out)
    assert abs(db(amplitude(x[0, RATE:2 * RATE], 997)) - -14) < 0.5


def test_a_long_reversed_stretched_sound_mixes_in_flat_memory(tmp_path):
    # 40 s of stereo float at 48 kHz would be 15 MB; the mix holds only blocks of it.
    source = write_sound(tmp_path / "media" / "long.wav", sine(440, 60, rate=8000)[None], rate=8000)
    folder = one_track_draft(tmp_path, jy.AudioSegment(str(source), jy.trange(0, 40 * SEC),
                                                       source_timerange=jy.trange(0, 60 * SEC), speed=1.5))
    edit_json(folder, lambda d: track_json(d, "sound")["segments"][0].update(reverse=True))
    tl = draftrender.load_draft(folder)
    sound = Soundtrack(tl, prepare_media(tl), RATE, 0, tl.duration)
    tracemalloc.start()
    try:
        n = 0
        for i in range(1, 40 * 30 + 1):
            n += sound.until(i * SEC // 30).shape[1]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        sound.close()
    assert n == 40 * RATE
    assert peak < 8 * 1024 * 1024, peak
