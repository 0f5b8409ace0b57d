"""The MoviePy peer: a Composition as a MoviePy 2.x script, run as its own process.

    python -m draftrender.bench.peers_moviepy --scenario showcase --media DIR --output OUT.mp4

Written as a careful MoviePy user would: one reader per source file on the main track,
shared by its subclips, and one per upper layer; the photo scaled once to the largest
size its zoom needs, its zoom and pan by functions of time; dissolves with CrossFadeIn over
the outgoing clip; alpha keyframes with CrossFadeIn/Out; the circle mask as a mask clip.
MoviePy has no blend modes: the screen blend is a numpy transform of the frames below it,
which is user code, not a MoviePy feature (see UNSUPPORTED); nor volume keyframes: music
ducked under a voice is a numpy transform of its samples.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from .scenarios import (ENCODING, PRESETS, SCENARIOS, SEC, Caption, Encoding, Music, Scenario, Visual, caption_px,
                        centre, cjk_font, fitted, hex_color)

UNSUPPORTED = {
    "screen blend": "no blend modes in MoviePy: written as a per-frame numpy transform (user code)",
    "music ducked by volume keyframes": "no volume keyframes in MoviePy: written as a numpy transform of the "
                                        "samples (user code)",
}


class MoviePyComposition:
    def __init__(self, scenario: Scenario, media_dir: Path):
        import moviepy  # the bench extra; imported here so that importing this module never needs it

        self.mp = moviepy
        self.comp = scenario.comp
        self.width, self.height = scenario.size
        self.media_dir = media_dir
        self.readers: dict[str, object] = {}
        self.font = cjk_font()

    def reader(self, v: Visual):
        """The main track's one reader per source: its clips follow each other, so reads stay forward."""
        if v.media.name not in self.readers:
            self.readers[v.media.name] = self.open(v)
        return self.readers[v.media.name]

    def open(self, v: Visual):
        """A reader of its own, for a layer that plays alongside others from the same source."""
        return self.mp.VideoFileClip(str(self.media_dir / v.media.name))

    def build(self):
        mp = self.mp
        clips = []
        for layer in sorted({v.layer for v in self.comp.visuals}):
            visuals = [v for v in self.comp.visuals if v.layer == layer]
            if layer == min(v.layer for v in self.comp.visuals):
                clips += self.main_track(visuals)
                continue
            for v in visuals:
                if v.blend == "screen":
                    below = mp.CompositeVideoClip(clips, size=(self.width, self.height), bg_color=(0, 0, 0))
                    clips = [self.screen(below.with_duration(self.comp.duration / SEC), v)]
                else:
                    clips.append(self.upper_layer(v))
        for c in self.comp.captions:
            clips += self.caption(c)
        video = mp.CompositeVideoClip(clips, size=(self.width, self.height), bg_color=(0, 0, 0))
        video = video.with_duration(self.comp.duration / SEC)
        sounds = ([video.audio] if video.audio is not None else []) + [self.music(m) for m in self.comp.music]
        return video.with_audio(mp.CompositeAudioClip(sounds).with_duration(self.comp.duration / SEC))

    def main_track(self, visuals: list[Visual]) -> list:
        """A dissolve's window is centred on the cut: the outgoing clip runs on for half of it, the
        incoming one starts half of it early and fades in over it (its sound too)."""
        mp = self.mp
        out, before = [], 0
        for v in visuals:
            pre, post = before // 2, v.dissolve // 2
            start, span = (v.start - pre) / SEC, (v.duration + pre + post) / SEC
            if v.media.still:
                c = self.zooming_photo(v, span)
            else:
                src = v.source_start / SEC - pre / SEC
                c = self.reader(v).subclipped(src, src + span)
                fw, fh = fitted(v.media, self.width, self.height, v.scale)
                cx, cy = centre(v.x, v.y, self.width, self.height)
                c = c.resized((fw, fh)).with_position((cx - fw / 2, cy - fh / 2))
                c = self.with_volume(c, v.volume, fade_in=before, fade_out=v.dissolve)
            if before:
                c = c.with_effects([mp.vfx.CrossFadeIn(before / SEC)])
            out.append(c.with_start(start))
            before = v.dissolve
        return out

    def with_volume(self, c, gain: float, fade_in: int = 0, fade_out: int = 0):
        if gain == 0 or c.audio is None:
            return c.without_audio()
        fx = [self.mp.afx.MultiplyVolume(gain)] if gain != 1 else []
        if fade_in:
            fx.append(self.mp.afx.AudioFadeIn(fade_in / SEC))
        if fade_out:
            fx.append(self.mp.afx.AudioFadeOut(fade_out / SEC))
        return c.with_audio(c.audio.with_effects(fx)) if fx else c

    def zooming_photo(self, v: Visual, span: float):
        """A photo zooming or panning by its keyframes over `span` seconds."""
        mp = self.mp
        end = max(v.zoom_to or v.scale, v.scale)
        fw, fh = fitted(v.media, self.width, self.height, end)
        # Scaled once to the largest size the zoom reaches; each frame then shrinks that.
        photo = mp.ImageClip(str(self.media_dir / v.media.name)).resized((fw, fh)).with_duration(span)
        if v.zoom_to is None and v.pan_to is None:
            cx, cy = centre(v.x, v.y, self.width, self.height)
            return photo.with_position((cx - fw / 2, cy - fh / 2))

        def position(t: float) -> tuple[float, float]:
            scale, x, y = v.at(min(t / span, 1.0))
            cx, cy = centre(x, y, self.width, self.height)
            return cx - fw * scale / end / 2, cy - fh * scale / end / 2

        if v.zoom_to is not None:
            photo = photo.resized(lambda t: v.at(min(t / span, 1.0))[0] / end)
        return photo.with_position(position)

    def upper_layer(self, v: Visual):
        mp = self.mp
        fw, fh = fitted(v.media, self.width, self.height, v.scale)
        d = v.duration / SEC
        if v.media.still:
            c = mp.ImageClip(str(self.media_dir / v.media.name)).resized((fw, fh)).with_duration(d)
        else:
            c = self.open(v).subclipped(v.source_start / SEC, v.source_start / SEC + d).resized((fw, fh))
            c = self.with_volume(c, v.volume)
        if v.mask_circle:
            yy, xx = np.mgrid[0:fh, 0:fw]
            disc = (np.hypot(xx - fw / 2, yy - fh / 2) <= v.mask_circle * fh / 2).astype(np.float32)
            c = c.with_mask(mp.ImageClip(disc, is_mask=True).with_duration(d))
        if v.alpha < 1:
            c = c.with_opacity(v.alpha)
        fade_in, fade_out = v.fade_alpha
        fx = ([mp.vfx.CrossFadeIn(fade_in / SEC)] if fade_in else []) + (
            [mp.vfx.CrossFadeOut(fade_out / SEC)] if fade_out else [])
        if fx:
            c = c.with_effects(fx)
        w, h = float(fw), float(fh)
        if v.rotation:
            if c.mask is None:
                c = c.with_mask()  # so that the corners the rotation uncovers stay transparent
            c = c.rotated(-v.rotation, expand=True)  # MoviePy turns counter-clockwise; the draft clockwise
            a = math.radians(v.rotation)
            w = abs(fw * math.cos(a)) + abs(fh * math.sin(a))
            h = abs(fw * math.sin(a)) + abs(fh * math.cos(a))
        cx, cy = centre(v.x, v.y, self.width, self.height)
        return c.with_position((cx - w / 2, cy - h / 2)).with_start(v.start / SEC)

    def screen(self, below, v: Visual):
        """Screen-blend the layer onto the composite below it, inside the layer's box."""
        fw, fh = fitted(v.media, self.width, self.height, v.scale)
        cx, cy = centre(v.x, v.y, self.width, self.height)
        x0, y0 = round(cx - fw / 2), round(cy - fh / 2)
        src = v.source_start / SEC
        layer = self.open(v).subclipped(src, src + v.duration / SEC).resized((fw, fh))
        start, end = v.start / SEC, v.end / SEC

        def blend(get_frame, t):
            frame = get_frame(t)
            if not start <= t < end:
                return frame
            frame = frame.copy()
            top = layer.get_frame(t - start).astype(np.uint16)
            region = frame[y0:y0 + fh, x0:x0 + fw].astype(np.uint16)
            frame[y0:y0 + fh, x0:x0 + fw] = (255 - (255 - region) * (255 - top) // 255).astype(np.uint8)
            return frame

        return below.transform(blend, apply_to=[])

    def caption(self, c: Caption) -> list:
        mp = self.mp
        px = caption_px(c, self.width)
        common = dict(font=self.font, text=c.text, font_size=px["font_px"], stroke_width=px["stroke_px"],
                      margin=(px["stroke_px"] * 2, px["stroke_px"] * 2))
        text = mp.TextClip(color=hex_color(c.color), stroke_color=hex_color(c.stroke), **common)
        # MoviePy has no text shadow: a black copy, offset and translucent, under the text.
        shadow = mp.TextClip(color="#000000", stroke_color="#000000", **common).with_opacity(c.shadow_alpha)
        _, cy = centre(0, c.y, self.width, self.height)
        x, y = (self.width - text.w) / 2, cy - text.h / 2
        d, off = c.duration / SEC, px["shadow_px"]
        return [shadow.with_position((x + off, y + off)).with_start(c.start / SEC).with_duration(d),
                text.with_position((x, y)).with_start(c.start / SEC).with_duration(d)]

    def music(self, m: Music):
        mp = self.mp
        a = mp.AudioFileClip(str(self.media_dir / m.media.name)).subclipped(0, m.duration / SEC)
        if m.gains:
            a = self.ducked(a, m.gains)
        fx = [] if m.gains else [mp.afx.MultiplyVolume(m.volume)]
        if m.fade_in:
            fx.append(mp.afx.AudioFadeIn(m.fade_in / SEC))
        if m.fade_out:
            fx.append(mp.afx.AudioFadeOut(m.fade_out / SEC))
        return a.with_effects(fx).with_start(m.start / SEC)

    @staticmethod
    def ducked(a, gains: tuple[tuple[int, float], ...]):
        """The sound times its volume keyframes, interpolated at each sample's time."""
        times, values = np.array([t / SEC for t, _ in gains]), np.array([g for _, g in gains])

        def gain(get_frame, t):
            return get_frame(t) * np.interp(t, times, values)[..., None]

        return a.transform(gain, keep_duration=True)


def render(scenario: Scenario, media_dir: Path, output: Path, enc: Encoding = ENCODING) -> None:
    clip = MoviePyComposition(scenario, media_dir).build()
    clip.write_videofile(
        str(output), fps=scenario.comp.fps, codec=enc.video_codec, preset=enc.preset,
        audio_codec=enc.audio_codec, audio_bitrate=f"{enc.audio_bitrate // 1000}k",
        audio_fps=enc.sample_rate, ffmpeg_params=["-crf", str(enc.crf)], pixel_format="yuv420p",
        # MoviePy writes the sound to a temporary file in the working folder unless told where.
        temp_audiofile_path=str(output.parent), logger=None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m draftrender.bench.peers_moviepy")
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--media", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--preset", choices=PRESETS, default=ENCODING.preset)
    args = p.parse_args(argv)
    render(SCENARIOS[args.scenario], args.media, args.output, replace(ENCODING, preset=args.preset))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
