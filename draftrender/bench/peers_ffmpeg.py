"""The ffmpeg peer: a Composition as one filter graph, run with imageio-ffmpeg's binary.

What an expert would write by hand: each clip decoded from an input seeked with -ss/-t,
scaled and padded to the canvas; main-track clips joined by xfade (dissolves) or concat
(cuts), their sound following through acrossfade/concat; the photo's slow zoom by zoompan;
upper layers by overlay (rotate, alphamerge with a circle drawn once, fade on alpha) or
blend=screen; captions by drawtext with a CJK font; music and clip sound by amix.
"""

from __future__ import annotations

import math
from pathlib import Path

from .scenarios import (ENCODING, SEC, Caption, Music, Scenario, Visual, caption_px, centre, cjk_font,
                        fitted, hex_color)

# Features of the scenarios that this peer cannot express, with what it does instead.
UNSUPPORTED: dict[str, str] = {}
MAX_INPUTS = 16


def ffmpeg_exe() -> str:
    import imageio_ffmpeg  # the bench extra; imported late so that `draftrender render` never needs it

    return imageio_ffmpeg.get_ffmpeg_exe()


def s(us: float) -> str:
    """µs as ffmpeg seconds."""
    return f"{us / SEC:.6f}".rstrip("0").rstrip(".") or "0"


def quoted(value: str) -> str:
    """A filter option value, escaped for the option parser and then for the graph parser."""
    value = value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    return "".join("\\" + c if c in "\\'[],;" else c for c in value)


class Graph:
    """Inputs and labelled filter chains; `add` returns the labels of a chain's outputs."""

    def __init__(self):
        self.inputs: list[list[str]] = []
        self.chains: list[str] = []
        self.count = 0

    def input(self, *args: str) -> int:
        self.inputs.append(list(args))
        return len(self.inputs) - 1

    def add(self, sources: list[str], filters: str, outputs: int = 1) -> list[str]:
        labels = []
        for _ in range(outputs):
            self.count += 1
            labels.append(f"s{self.count}")
        self.chains.append("".join(f"[{x}]" for x in sources) + filters + "".join(f"[{x}]" for x in labels))
        return labels

    def one(self, sources: list[str], filters: str) -> str:
        return self.add(sources, filters)[0]


class FilterGraph:
    def __init__(self, scenario: Scenario, media_dir: Path, work: Path):
        self.comp = scenario.comp
        self.width, self.height = scenario.size
        self.fps = self.comp.fps
        self.media_dir = media_dir
        self.work = work
        self.g = Graph()
        self.captions = 0
        self.font = cjk_font()
        self.audio_format = f"aresample={ENCODING.sample_rate},aformat=sample_fmts=fltp:channel_layouts=stereo"
        # ffmpeg decodes every input ahead of need into its queue, so a graph with many inputs holds
        # nearly all their frames at once (the long scenario would need tens of GB). Past
        # MAX_INPUTS the graph reads its media with movie= sources instead, decoded on demand.
        self.pull = len(self.comp.visuals) + len(self.comp.music) > MAX_INPUTS

    def build(self) -> tuple[str, str]:
        """(video label, audio label) of the whole composition."""
        layers = sorted({v.layer for v in self.comp.visuals})
        video, audio = self.main_track([v for v in self.comp.visuals if v.layer == layers[0]])
        sounds = [audio]
        for layer in layers[1:]:
            for v in (v for v in self.comp.visuals if v.layer == layer):
                video = self.upper_layer(video, v, sounds)
        for c in self.comp.captions:
            video = self.g.one([video], self.drawtext(c))
        sounds += [self.music(m) for m in self.comp.music]
        if len(sounds) > 1:
            audio = self.g.one(sounds, f"amix=inputs={len(sounds)}:normalize=0:duration=longest")
        return video, self.g.one([audio], f"apad,atrim=duration={s(self.comp.duration)}")

    # ------------------------------------------------------------ sources

    def clip(self, v: Visual, start: int, span: int, sound: bool) -> tuple[str, str | None]:
        """(video, sound) of the clip from `start` µs into it, `span` µs long, timed from 0."""
        path = str(self.media_dir / v.media.name)
        if not self.pull:
            k = self.g.input("-ss", s(start), "-t", s(span), "-i", path)
            return f"{k}:v", (f"{k}:a" if sound else None)
        # movie= seeks to the keyframe before `start` and keeps the source's timestamps: trim there.
        streams = "dv+da" if sound else "dv"
        outs = self.g.add([], f"movie=filename={quoted(path)}:seek_point={s(start)}:streams={streams}",
                          outputs=2 if sound else 1)
        video = self.g.one([outs[0]], f"trim=start={s(start)}:duration={s(span)},setpts=PTS-STARTPTS")
        if not sound:
            return video, None
        return video, self.g.one([outs[1]], f"atrim=start={s(start)}:duration={s(span)},asetpts=PTS-STARTPTS")

    def photo(self, v: Visual) -> str:
        path = str(self.media_dir / v.media.name)
        if self.pull:
            return self.g.one([], f"movie=filename={quoted(path)}")
        return f"{self.g.input('-i', path)}:v"

    # ------------------------------------------------------------ the main track

    def main_track(self, visuals: list[Visual]) -> tuple[str, str]:
        """Clips joined in order. A dissolve's window is centred on the cut, so the outgoing clip runs
        on for half of it and the incoming one starts half of it early: the length stays the sum."""
        video = audio = None
        length = 0  # µs of the joined stream so far
        before = 0  # the dissolve into the current clip
        for v in visuals:
            pre, post = before // 2, v.dissolve // 2
            span = v.duration + pre + post
            vl, al = self.main_clip(v, pre, span)
            if video is None:
                video, audio = vl, al
            elif before:
                video = self.g.one([video, vl], f"xfade=transition=fade:duration={s(before)}:offset={s(length - before)}")
                audio = self.g.one([audio, al], f"acrossfade=d={s(before)}")
            else:
                video, audio = self.g.add([video, audio, vl, al], "concat=n=2:v=1:a=1", outputs=2)
            length += span - before
            before = v.dissolve
        return video, audio

    def main_clip(self, v: Visual, pre: int, span: int) -> tuple[str, str]:
        """One main-track clip as canvas-sized frames and its sound, `span` µs long."""
        w, h = self.width, self.height
        fw, fh = fitted(v.media, w, h, v.scale)
        cx, cy = centre(v.x, v.y, w, h)
        frames = round(span * self.fps / SEC)
        # One time base for every joined stream: concat outputs 1/1000000, and xfade wants its
        # two inputs alike.
        tail = f"format=yuv420p,setsar=1,trim=end_frame={frames},setpts=PTS-STARTPTS,settb=AVTB"
        if v.media.kind == "photo":
            # zoompan zooms into its input: pad the fitted photo to the canvas, then zoom about the
            # centre from `scale` to `zoom_to` (fitted() already applied `scale`).
            end = (v.zoom_to or v.scale) / v.scale
            zoom = f"1+{end - 1:.6f}*on/{max(frames - 1, 1)}"
            video = self.g.one([self.photo(v)], (
                f"scale={fw}:{fh},pad={w}:{h}:{round(cx - fw / 2)}:{round(cy - fh / 2)},setsar=1,"
                f"zoompan=z='{zoom}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d={frames}:s={w}x{h}:fps={self.fps},"
                + tail))
            audio = self.g.one([], f"anullsrc=r={ENCODING.sample_rate}:cl=stereo,atrim=duration={s(span)}")
            return video, audio
        video, audio = self.clip(v, v.source_start - pre, span, sound=True)
        # A seek may land a frame short of the span: repeat the last frame rather than lose sync.
        video = self.g.one([video], f"scale={fw}:{fh},pad={w}:{h}:{round(cx - fw / 2)}:{round(cy - fh / 2)},"
                                       f"tpad=stop_mode=clone:stop=1,fps={self.fps},{tail}")
        audio = self.g.one([audio], f"{self.audio_format},{volume(v.volume)}apad,atrim=duration={s(span)},"
                                       "asetpts=PTS-STARTPTS")
        return video, audio

    # ------------------------------------------------------------ upper layers

    def upper_layer(self, base: str, v: Visual, sounds: list[str]) -> str:
        w, h = self.width, self.height
        fw, fh = fitted(v.media, w, h, v.scale)
        cx, cy = centre(v.x, v.y, w, h)
        frames = round(v.duration * self.fps / SEC)
        if v.media.kind == "photo":
            # Decode the photo once and repeat the scaled frame, rather than decoding it per frame.
            source = self.photo(v)
            chain = f"scale={fw}:{fh},format=rgba,loop=loop=-1:size=1,setpts=N/{self.fps}/TB,"
        else:
            source, sound = self.clip(v, v.source_start, v.duration, sound=v.volume > 0)
            chain = f"scale={fw}:{fh},tpad=stop_mode=clone:stop=1,fps={self.fps},format=rgba,"
            if sound is not None:
                sounds.append(self.g.one([sound], f"{self.audio_format},{volume(v.volume)}"
                                                  f"adelay={round(v.start / 1000)}:all=1"))
        chain += f"trim=end_frame={frames},setpts=PTS-STARTPTS"
        if v.blend == "screen":
            # Screen over black changes nothing, so the layer is padded to the canvas with black and
            # blended whole; before and after the layer, blend passes the base through.
            layer = self.g.one([source], chain + f",pad={w}:{h}:{round(cx - fw / 2)}:{round(cy - fh / 2)}:black,"
                                                   f"format=gbrp,setpts=PTS+{s(v.start)}/TB")
            base = self.g.one([base], "format=gbrp")
            mixed = self.g.one([base, layer], "blend=all_mode=screen:repeatlast=0")
            return self.g.one([mixed], "format=yuv420p")
        layer = self.g.one([source], chain)
        if v.mask_circle:
            radius = v.mask_circle * fh / 2
            mask = self.g.one([], (
                f"color=c=black:s={fw}x{fh}:r={self.fps}:d={1 / self.fps:.6f},format=gray,"
                f"geq=lum='255*lte(hypot(X-{fw / 2},Y-{fh / 2}),{radius:.2f})',"
                f"loop=loop=-1:size=1,setpts=N/{self.fps}/TB"))
            layer = self.g.one([layer, mask], "alphamerge")
        if v.alpha < 1:
            layer = self.g.one([layer], f"colorchannelmixer=aa={v.alpha}")
        fade_in, fade_out = v.fade_alpha
        fades = []
        if fade_in:
            fades.append(f"fade=t=in:st=0:d={s(fade_in)}:alpha=1")
        if fade_out:
            fades.append(f"fade=t=out:st={s(v.duration - fade_out)}:d={s(fade_out)}:alpha=1")
        if v.rotation:
            a = math.radians(v.rotation)  # rotate turns clockwise for a positive angle, as the draft does
            fades.append(f"rotate=a={a:.6f}:ow=rotw({a:.6f}):oh=roth({a:.6f}):c=none")
        fades.append(f"setpts=PTS+{s(v.start)}/TB")
        layer = self.g.one([layer], ",".join(fades))
        return self.g.one([base, layer], f"overlay=x={cx:.1f}-w/2:y={cy:.1f}-h/2:eof_action=pass")

    # ------------------------------------------------------------ captions and music

    def drawtext(self, c: Caption) -> str:
        px = caption_px(c, self.width)
        self.captions += 1
        text_file = self.work / f"caption_{self.captions}.txt"
        text_file.write_text(c.text, encoding="utf-8")
        _, cy = centre(0, c.y, self.width, self.height)
        return (
            f"drawtext=fontfile={quoted(self.font)}:textfile={quoted(str(text_file))}:expansion=none:"
            f"fontsize={px['font_px']}:fontcolor={hex_color(c.color)}:borderw={px['stroke_px']}:"
            f"bordercolor={hex_color(c.stroke)}:shadowcolor=black@{c.shadow_alpha}:"
            f"shadowx={px['shadow_px']}:shadowy={px['shadow_px']}:x=(w-text_w)/2:y={cy:.1f}-text_h/2:"
            f"enable='between(t,{s(c.start)},{s(c.start + c.duration)})'")

    def music(self, m: Music) -> str:
        path = str(self.media_dir / m.media.name)
        if self.pull:
            source = self.g.one([], f"amovie=filename={quoted(path)},atrim=duration={s(m.duration)}")
        else:
            source = f"{self.g.input('-t', s(m.duration), '-i', path)}:a"
        fades = ""
        if m.fade_in:
            fades += f"afade=t=in:d={s(m.fade_in)},"
        if m.fade_out:
            fades += f"afade=t=out:st={s(m.duration - m.fade_out)}:d={s(m.fade_out)},"
        return self.g.one([source], f"{self.audio_format},{volume(m.volume)}{fades}adelay={round(m.start / 1000)}:all=1")


def volume(gain: float) -> str:
    return "" if gain == 1 else f"volume={gain},"


def command(scenario: Scenario, media_dir: Path, work: Path, output: Path) -> list[str]:
    """The ffmpeg command line that renders the scenario to `output`; its filter graph goes to a file
    in `work` (a long composition's graph is too long for one argument)."""
    work.mkdir(parents=True, exist_ok=True)
    fg = FilterGraph(scenario, media_dir, work)
    video, audio = fg.build()
    script = work / "ffmpeg_graph.txt"
    script.write_text(";\n".join(fg.g.chains) + "\n", encoding="utf-8")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for args in fg.g.inputs:
        argv += args
    argv += ["-/filter_complex", str(script), "-map", f"[{video}]", "-map", f"[{audio}]",
             "-c:v", ENCODING.video_codec, "-preset", ENCODING.preset, "-crf", str(ENCODING.crf),
             "-pix_fmt", "yuv420p", "-r", str(fg.fps),
             "-c:a", ENCODING.audio_codec, "-b:a", str(ENCODING.audio_bitrate), "-ar", str(ENCODING.sample_rate),
             str(output)]
    return argv
