"""The ffmpeg peer: a Composition as one filter graph, run with imageio-ffmpeg's binary.

What an expert would write by hand: each clip decoded from an input seeked with -ss/-t,
scaled and padded to the canvas; main-track clips joined by xfade (dissolves) or concat
(cuts), their sound following through acrossfade/concat; a photo's slow zoom or pan by zoompan;
upper layers by overlay (rotate, alphamerge with a circle drawn once, fade on alpha) or
blend=screen; captions by drawtext with a CJK font; music (ducked by a volume expression
evaluated per audio frame) and clip sound by amix.
A composition longer than SINGLE_GRAPH_MAX is rendered in chunks, each its own graph, and
joined without re-encoding (`python -m draftrender.bench.peers_ffmpeg`).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

from .scenarios import (ENCODING, PRESETS, SCENARIOS, SEC, Caption, Composition, Encoding, Music, Scenario, Visual,
                        caption_px, centre, cjk_font, fitted, hex_color)

# Features of the scenarios that this peer cannot express, with what it does instead.
UNSUPPORTED: dict[str, str] = {}
# One graph's memory grows with its inputs: about 2 GB per 30 s of 1080p showcase structure in
# ffmpeg 9 (measured 3.0 GB for 1 min, 7.2 GB for 2 min), so 10 minutes would not fit in 23 GB.
# Longer compositions are rendered in chunks of about CHUNK seconds, cut where nothing spans
# the cut, and joined without re-encoding, as one would by hand.
SINGLE_GRAPH_MAX = 120 * SEC
CHUNK = 30 * SEC


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
    def __init__(self, scenario: Scenario, media_dir: Path, work: Path, name: str = "ffmpeg"):
        self.name = name  # the prefix of the files it writes into `work`
        self.comp = scenario.comp
        self.width, self.height = scenario.size
        self.fps = self.comp.fps
        self.media_dir = media_dir
        self.work = work
        self.g = Graph()
        self.captions = 0
        self.font = cjk_font()
        self.audio_format = f"aresample={ENCODING.sample_rate},aformat=sample_fmts=fltp:channel_layouts=stereo"

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
        k = self.g.input("-ss", s(start), "-t", s(span), "-i", str(self.media_dir / v.media.name))
        return f"{k}:v", (f"{k}:a" if sound else None)

    def photo(self, v: Visual) -> str:
        return f"{self.g.input('-i', str(self.media_dir / v.media.name))}:v"

    # ------------------------------------------------------------ the main track

    def main_track(self, visuals: list[Visual]) -> tuple[str, str]:
        """Clips joined in order. A dissolve's window is centred on the cut, so the outgoing clip runs
        on for half of it and the incoming one starts half of it early: the length stays the sum."""
        video: str | None = None
        audio: str | None = None
        length = 0  # µs of the joined stream so far
        before = 0  # the dissolve into the current clip
        for v in visuals:
            pre, post = before // 2, v.dissolve // 2
            span = v.duration + pre + post
            vl, al = self.main_clip(v, pre, span)
            if video is None or audio is None:
                video, audio = vl, al
            elif before:
                video = self.g.one([video, vl],
                                   f"xfade=transition=fade:duration={s(before)}:offset={s(length - before)}")
                audio = self.g.one([audio, al], f"acrossfade=d={s(before)}")
            else:
                video, audio = self.g.add([video, audio, vl, al], "concat=n=2:v=1:a=1", outputs=2)
            length += span - before
            before = v.dissolve
        assert video is not None and audio is not None, "a composition has at least one visual"
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
        if v.media.still:
            # zoompan shows a window of its input, enlarged by `zoom`: pad the contain-fitted photo
            # to the canvas, centred, then follow the keyframes' scale and position by the window.
            fw, fh = fitted(v.media, w, h)
            (s0, x0, y0), (s1, x1, y1) = v.at(0), v.at(1)
            k = f"on/{max(frames - 1, 1)}"
            zoom, x, y = f"{s0:.6f}+{s1 - s0:.6f}*{k}", f"{x0:.6f}+{x1 - x0:.6f}*{k}", f"{y0:.6f}+{y1 - y0:.6f}*{k}"
            video = self.g.one([self.photo(v)], (
                # A JPEG is full range: convert to the video range here, or the output gets tagged full range.
                f"scale={fw}:{fh}:out_range=tv,pad={w}:{h}:{(w - fw) // 2}:{(h - fh) // 2},setsar=1,"
                f"zoompan=z='{zoom}':x='iw/2-iw/2*(1+({x}))/zoom':y='ih/2-ih/2*(1-({y}))/zoom':d={frames}:"
                f"s={w}x{h}:fps={self.fps}," + tail))
            audio = self.g.one([], f"anullsrc=r={ENCODING.sample_rate}:cl=stereo,atrim=duration={s(span)}")
            return video, audio
        video, sound = self.clip(v, v.source_start - pre, span, sound=True)
        assert sound is not None  # asked for
        # A seek may land a frame short of the span: repeat the last frame rather than lose sync.
        video = self.g.one([video], f"scale={fw}:{fh},pad={w}:{h}:{round(cx - fw / 2)}:{round(cy - fh / 2)},"
                                       f"tpad=stop_mode=clone:stop=1,fps={self.fps},{tail}")
        audio = self.g.one([sound], f"{self.audio_format},{volume(v.volume)}apad,atrim=duration={s(span)},"
                                       "asetpts=PTS-STARTPTS")
        return video, audio

    # ------------------------------------------------------------ upper layers

    def upper_layer(self, base: str, v: Visual, sounds: list[str]) -> str:
        w, h = self.width, self.height
        fw, fh = fitted(v.media, w, h, v.scale)
        cx, cy = centre(v.x, v.y, w, h)
        frames = round(v.duration * self.fps / SEC)
        if v.media.still:
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
        text_file = self.work / f"{self.name}_caption_{self.captions}.txt"
        text_file.write_text(c.text, encoding="utf-8")
        _, cy = centre(0, c.y, self.width, self.height)
        return (
            f"drawtext=fontfile={quoted(self.font)}:textfile={quoted(str(text_file))}:expansion=none:"
            f"fontsize={px['font_px']}:fontcolor={hex_color(c.color)}:borderw={px['stroke_px']}:"
            f"bordercolor={hex_color(c.stroke)}:shadowcolor=black@{c.shadow_alpha}:"
            f"shadowx={px['shadow_px']}:shadowy={px['shadow_px']}:x=(w-text_w)/2:y={cy:.1f}-text_h/2:"
            f"enable='between(t,{s(c.start)},{s(c.start + c.duration)})'")

    def music(self, m: Music) -> str:
        source = f"{self.g.input('-t', s(m.duration), '-i', str(self.media_dir / m.media.name))}:a"
        gain = f"volume='{piecewise(m.gains)}':eval=frame," if m.gains else volume(m.volume)
        fades = ""
        if m.fade_in:
            fades += f"afade=t=in:d={s(m.fade_in)},"
        if m.fade_out:
            fades += f"afade=t=out:st={s(m.duration - m.fade_out)}:d={s(m.fade_out)},"
        return self.g.one([source], f"{self.audio_format},{gain}{fades}adelay={round(m.start / 1000)}:all=1")


def volume(gain: float) -> str:
    return "" if gain == 1 else f"volume={gain},"


def piecewise(points: tuple[tuple[int, float], ...]) -> str:
    """An ffmpeg expression of t: linear between the keyframes (µs, value), held outside them."""
    expr = f"{points[-1][1]:g}"
    for (t0, v0), (t1, v1) in reversed(list(pairwise(points))):
        expr = f"if(lt(t,{s(t1)}),{v0:g}+{v1 - v0:g}*(t-{s(t0)})/{s(t1 - t0)},{expr})"
    return f"if(lt(t,{s(points[0][0])}),{points[0][1]:g},{expr})"


def graph_command(scenario: Scenario, media_dir: Path, work: Path, output: Path, name: str = "ffmpeg",
                  enc: Encoding = ENCODING) -> list[str]:
    """The ffmpeg command that renders the scenario with one filter graph; the graph goes to
    <work>/<name>_graph.txt (a long graph is too long for one argument)."""
    work.mkdir(parents=True, exist_ok=True)
    fg = FilterGraph(scenario, media_dir, work, name)
    video, audio = fg.build()
    script = work / f"{name}_graph.txt"
    script.write_text(";\n".join(fg.g.chains) + "\n", encoding="utf-8")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for args in fg.g.inputs:
        argv += args
    argv += ["-/filter_complex", str(script), "-map", f"[{video}]", "-map", f"[{audio}]",
             "-c:v", enc.video_codec, "-preset", enc.preset, "-crf", str(enc.crf),
             "-pix_fmt", "yuv420p", "-r", str(fg.fps),
             "-c:a", enc.audio_codec, "-b:a", str(enc.audio_bitrate), "-ar", str(enc.sample_rate),
             str(output)]
    return argv


def command(scenario: Scenario, media_dir: Path, work: Path, output: Path, enc: Encoding = ENCODING) -> list[str]:
    """The command that renders the scenario: ffmpeg itself, or for a long composition this module
    rendering it in chunks."""
    if scenario.comp.duration <= SINGLE_GRAPH_MAX:
        return graph_command(scenario, media_dir, work, output, enc=enc)
    return [sys.executable, "-m", "draftrender.bench.peers_ffmpeg", "--scenario", scenario.name,
            "--media", str(media_dir), "--work", str(work), "--output", str(output), "--preset", enc.preset]


def chunks(comp: Composition, target: int = CHUNK) -> list[Composition]:
    """The composition cut into pieces of at least `target` µs, each cut where no visual, caption
    or music spans it and no dissolve crosses it."""
    items = [(v.start, v.end) for v in comp.visuals] + [(c.start, c.start + c.duration) for c in comp.captions] + [
        (m.start, m.start + m.duration) for m in comp.music]
    dissolving = {v.end for v in comp.visuals if v.dissolve}
    cuts = sorted({v.start for v in comp.visuals} - dissolving - {0})
    cuts = [t for t in cuts if not any(a < t < b for a, b in items)]
    bounds, last = [0], 0
    for t in cuts:
        if t - last >= target and comp.duration - t >= target // 2:
            bounds.append(t)
            last = t
    bounds.append(comp.duration)
    return [piece(comp, a, b) for a, b in pairwise(bounds)]


def piece(comp: Composition, a: int, b: int) -> Composition:
    inside = lambda start, end: a <= start and end <= b  # noqa: E731
    return replace(
        comp, duration=b - a,
        visuals=tuple(replace(v, start=v.start - a) for v in comp.visuals if inside(v.start, v.end)),
        captions=tuple(replace(c, start=c.start - a) for c in comp.captions if inside(c.start, c.start + c.duration)),
        music=tuple(replace(m, start=m.start - a) for m in comp.music if inside(m.start, m.start + m.duration)))


def render_in_chunks(scenario: Scenario, media_dir: Path, work: Path, output: Path, enc: Encoding = ENCODING) -> None:
    """Each chunk by its own graph, one after another, then joined by the concat demuxer."""
    parts = []
    for n, comp in enumerate(chunks(scenario.comp)):
        part = work / f"ffmpeg_chunk_{n:03d}.mp4"
        subprocess.run(graph_command(replace(scenario, comp=comp), media_dir, work, part, f"ffmpeg_chunk_{n:03d}", enc),
                       check=True)
        parts.append(part)
    listing = work / "ffmpeg_chunks.txt"
    listing.write_text("".join(f"file '{p.name}'\n" for p in parts), encoding="utf-8")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                    "-i", str(listing), "-c", "copy", str(output)], check=True)
    for p in parts:
        p.unlink()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m draftrender.bench.peers_ffmpeg")
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--media", type=Path, required=True)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--preset", choices=PRESETS, default=ENCODING.preset)
    args = p.parse_args(argv)
    try:
        render_in_chunks(SCENARIOS[args.scenario], args.media, args.work, args.output,
                         replace(ENCODING, preset=args.preset))
    except subprocess.CalledProcessError as e:
        print(f"ffmpeg failed: exit status {e.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
