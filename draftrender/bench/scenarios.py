"""The benchmark scenarios, each one tool-neutral composition.

A Composition is what every tool renders: visuals on layers, captions and music, in
integer µs with the draft's geometry (contain-fit, then scale; centre in half-canvas
units, y up; rotation clockwise). drafts.py writes it as a draft for draftrender;
peers_ffmpeg.py and peers_moviepy.py build the same thing in those tools; media.py makes
the media it names. All three encode with ENCODING.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

SEC = 1_000_000


@dataclass(frozen=True)
class Encoding:
    """The encoder settings every tool uses, so that only the rendering differs."""

    video_codec: str = "libx264"
    preset: str = "veryfast"
    crf: int = 20
    audio_codec: str = "aac"
    audio_bitrate: int = 192_000
    sample_rate: int = 48_000


ENCODING = Encoding()
# x264's presets, fastest first: `draftrender bench --preset` runs every tool with another one.
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class MediaSpec:
    """A medium media.py makes; the file name carries its parameters, so a changed spec
    never reuses a stale cached file."""

    # "clip" (video + a tone), "photo" (a JPEG), "sticker" (a PNG with transparency), "music"
    # or "voice" (speech-like bursts with pauses: speech_spans())
    kind: str
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    tone_hz: float = 440.0

    @property
    def name(self) -> str:
        if self.kind == "clip":
            return f"clip_{self.width}x{self.height}_{self.seconds:g}s_{self.tone_hz:g}hz.mp4"
        if self.kind == "photo":
            return f"photo_{self.width}x{self.height}.jpg"
        if self.kind == "sticker":
            return f"sticker_{self.width}x{self.height}.png"
        return f"{self.kind}_{self.seconds:g}s.m4a"

    @property
    def still(self) -> bool:
        """A picture rather than a clip: drawn the same at every instant."""
        return self.kind in ("photo", "sticker")


@dataclass(frozen=True)
class Visual:
    """A video clip or photo on a layer (0 is the main track, higher draws on top)."""

    media: MediaSpec
    start: int  # µs on the output timeline
    duration: int
    source_start: int = 0  # µs into the clip
    layer: int = 0
    scale: float = 1.0  # on top of the contain-fit
    x: float = 0.0  # centre, half-canvas units, y up
    y: float = 0.0
    rotation: float = 0.0  # degrees, clockwise
    alpha: float = 1.0
    volume: float = 1.0
    zoom_to: float | None = None  # keyframed scale: `scale` at the start → zoom_to at the end
    pan_to: tuple[float, float] | None = None  # keyframed position: (x, y) at the start → pan_to at the end
    fade_alpha: tuple[int, int] = (0, 0)  # alpha keyframes: 0→1 over the first µs, 1→0 over the last
    dissolve: int = 0  # µs of 叠化 into the next visual on this layer, centred on the cut
    mask_circle: float = 0.0  # a circle mask, its diameter a fraction of the picture's height
    blend: str = ""  # "screen" (滤色), or normal

    @property
    def end(self) -> int:
        return self.start + self.duration

    def at(self, k: float) -> tuple[float, float, float]:
        """(scale, x, y) a share k (0–1) of the way through: the keyframes are linear."""
        scale = self.scale + ((self.zoom_to or self.scale) - self.scale) * k
        x, y = self.pan_to or (self.x, self.y)
        return scale, self.x + (x - self.x) * k, self.y + (y - self.y) * k


@dataclass(frozen=True)
class Caption:
    text: str
    start: int
    duration: int
    size: float = 8.0  # the draft's text size: one em = size × canvas width / 160 px
    y: float = -0.7  # centre, half-canvas units, y up
    color: tuple[float, float, float] = (1.0, 0.85, 0.2)
    stroke: tuple[float, float, float] = (0.1, 0.1, 0.1)
    stroke_em: float = 0.08  # stroke width in em
    shadow_alpha: float = 0.7  # a black shadow down-right, 0.06 em away


@dataclass(frozen=True)
class Music:
    """A sound on an audio track of its own: music, or a voice recorded apart."""

    media: MediaSpec
    start: int
    duration: int
    volume: float = 0.3
    fade_in: int = 0
    fade_out: int = 0
    # Volume keyframes (µs from the start, linear gain), which replace `volume`: music ducked
    # under a voice, as editors write it.
    gains: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Composition:
    width: int
    height: int
    fps: int
    duration: int
    visuals: tuple[Visual, ...] = ()
    captions: tuple[Caption, ...] = ()
    music: tuple[Music, ...] = ()

    @property
    def media(self) -> list[MediaSpec]:
        specs = [v.media for v in self.visuals] + [m.media for m in self.music]
        return list(dict.fromkeys(specs))


@dataclass(frozen=True)
class Scenario:
    name: str
    about: str
    comp: Composition
    scale: float = 1.0  # resolution scale of the output (the preview renders at 0.5)
    features: tuple[str, ...] = field(default=(), compare=False)

    @property
    def size(self) -> tuple[int, int]:
        """The output size: the canvas times the scale, rounded down to even (yuv420p)."""
        w, h = round(self.comp.width * self.scale), round(self.comp.height * self.scale)
        return max(2, w - w % 2), max(2, h - h % 2)

    @property
    def seconds(self) -> float:
        return self.comp.duration / SEC


def clip(width: int, height: int, tone_hz: float, seconds: float = 21) -> MediaSpec:
    return MediaSpec("clip", width, height, seconds, tone_hz)


# Phone-like sources: 1080p and 720p, portrait and landscape, each with its own tone.
PORTRAIT_1080 = clip(1080, 1920, 440.0)
PORTRAIT_720 = clip(720, 1280, 554.37)
LANDSCAPE_1080 = clip(1920, 1080, 659.25)
LANDSCAPE_720 = clip(1280, 720, 329.63)
PHOTO = MediaSpec("photo", 3000, 2000)
MUSIC = MediaSpec("music", seconds=30)

KEN_BURNS_FEATURES = ("photo zoom keyframes", "photo pan keyframes", "dissolve", "music fades")
TALKING_HEAD_FEATURES = ("styled CJK caption", "picture-in-picture sticker", "voice track",
                         "music ducked by volume keyframes", "audio mix")
SHOWCASE_FEATURES = ("dissolve", "photo zoom keyframes", "styled CJK caption", "music fades", "audio mix")
LAYER_FEATURES = ("picture-in-picture", "rotation", "circle mask", "screen blend", "alpha keyframes")
PHRASES = ("清晨的阳光洒在街角", "城市在黄昏里慢慢亮起来", "风吹过湖面泛起涟漪", "我们沿着河岸一直走",
           "远处传来熟悉的歌声", "夜色中的灯火格外温暖", "这一刻值得被记住")


def showcase_block(offset: int, width: int, height: int, captions: bool) -> tuple[tuple, tuple, tuple]:
    """One 30 s showcase: three clips joined by two 1 s dissolves, a zooming photo, a caption
    throughout, and music at 0.3 with fades over the clips' own sound."""
    visuals = (
        Visual(PORTRAIT_1080, offset, 8 * SEC, source_start=1 * SEC, dissolve=1 * SEC),
        Visual(PORTRAIT_720, offset + 8 * SEC, 8 * SEC, source_start=1 * SEC, dissolve=1 * SEC),
        Visual(LANDSCAPE_1080, offset + 16 * SEC, 7 * SEC, source_start=1 * SEC),
        Visual(PHOTO, offset + 23 * SEC, 7 * SEC, zoom_to=1.3),
    )
    size = 8.0 if height > width else 5.0  # about the same in pixels: a 54 px em portrait, 60 px landscape
    texts = (Caption("春日漫步 · 城市的光影", offset, 30 * SEC, size=size),) if captions else ()
    music = (Music(MUSIC, offset, 30 * SEC, volume=0.3, fade_in=1 * SEC, fade_out=2 * SEC),)
    return visuals, texts, music


def showcase() -> Composition:
    v, t, m = showcase_block(0, 1080, 1920, captions=True)
    return Composition(1080, 1920, 30, 30 * SEC, v, t, m)


def long(blocks: int = 20) -> Composition:
    """The showcase's structure repeated to 10 minutes, landscape, a subtitle every 3 s."""
    visuals: list[Visual] = []
    music: list[Music] = []
    for k in range(blocks):
        v, _, m = showcase_block(k * 30 * SEC, 1920, 1080, captions=False)
        visuals += v
        music += m
    subtitles = tuple(Caption(f"第{n + 1}句 {PHRASES[n % len(PHRASES)]}", n * 3 * SEC, 3 * SEC, size=5.0, y=-0.8)
                      for n in range(blocks * 10))
    return Composition(1920, 1080, 30, blocks * 30 * SEC, tuple(visuals), subtitles, tuple(music))


def layers() -> Composition:
    """20 s of six overlapping layers: a full-frame clip and five above it."""
    d = 20 * SEC
    visuals = (
        Visual(LANDSCAPE_1080, 0, d),
        Visual(PORTRAIT_720, 0, d, layer=1, scale=0.45, x=0.72, y=0.45, volume=0.0),  # picture-in-picture
        Visual(LANDSCAPE_720, 0, d, layer=2, scale=0.35, x=-0.55, y=-0.45, rotation=15.0, volume=0.0),
        Visual(PORTRAIT_1080, 0, d, layer=3, scale=0.8, x=-0.1, y=0.1, mask_circle=0.55, volume=0.0),
        Visual(LANDSCAPE_720, 2 * SEC, 16 * SEC, source_start=2 * SEC, layer=4, blend="screen", volume=0.0),
        Visual(PHOTO, 4 * SEC, 12 * SEC, layer=5, scale=0.35, x=0.5, y=-0.5, fade_alpha=(2 * SEC, 2 * SEC)),
    )
    music = (Music(MUSIC, 0, d, volume=0.3, fade_in=1 * SEC, fade_out=2 * SEC),)
    return Composition(1920, 1080, 30, d, visuals, (), music)


# The photos of a slideshow: phone and camera pictures, landscape and portrait, 2 to 12 megapixels.
SLIDESHOW_SIZES = ((4032, 3024), (3024, 4032), (3000, 2000), (1600, 1200), (1200, 1600), (2048, 1365))


def ken_burns(photos: int = 20, each: int = 3 * SEC, dissolve: int = SEC // 2) -> Composition:
    """A slideshow: `photos` photos of mixed sizes, `each` µs apiece, joined by dissolves, over
    music. By keyframes, every other photo zooms in about its centre (by 1.12 or 1.24) and the
    others pan across, enlarged by 1.2, left to right or right to left."""
    visuals = []
    for n in range(photos):
        media = MediaSpec("photo", *SLIDESHOW_SIZES[n % len(SLIDESHOW_SIZES)])
        into = dissolve if n < photos - 1 else 0
        if n % 2 == 0:
            visuals.append(Visual(media, n * each, each, zoom_to=1.12 + 0.06 * (n % 4), dissolve=into))
        else:
            side = 0.1 if n % 4 == 1 else -0.1
            visuals.append(Visual(media, n * each, each, scale=1.2, x=-side, pan_to=(side, 0.0), dissolve=into))
    d = photos * each
    music = (Music(MediaSpec("music", seconds=d / SEC), 0, d, volume=0.5, fade_in=SEC, fade_out=2 * SEC),)
    return Composition(1080, 1920, 30, d, tuple(visuals), (), music)


def speech_spans(seconds: float) -> list[tuple[int, int]]:
    """When the voice speaks (µs): 8 s of speech, then a 2 s pause, over and over."""
    return [(t * SEC, round(min(t + 8, seconds) * SEC)) for t in range(0, int(seconds), 10)]


def ducked(spans: list[tuple[int, int]], duration: int, low: float, high: float,
           ramp: int) -> tuple[tuple[int, float], ...]:
    """Volume keyframes that hold the music at `low` while the voice speaks and at `high` in
    its pauses, ramping over `ramp` µs around each span, as an editor ducks music by hand."""
    points: list[tuple[int, float]] = []
    for a, b in spans:
        if a > 0:
            points.append((max(a - ramp, 0), high))
        points += [(a, low), (b, low)]
        if b < duration:
            points.append((min(b + ramp, duration), high))
    return tuple(points)


def talking_head(seconds: int = 60) -> Composition:
    """A talking head: one portrait video (its camera sound muted), the voice on an audio track
    of its own (recorded apart, as with a clip-on microphone), a short styled subtitle every
    second, a sticker (a PNG with transparency) in a corner throughout, and music ducked under
    the voice by volume keyframes: 0.12 while it speaks, 0.5 in its pauses."""
    d = seconds * SEC
    camera = clip(1080, 1920, 220.0, seconds=seconds + 1)
    visuals = (Visual(camera, 0, d, volume=0.0),
               Visual(MediaSpec("sticker", 600, 600), 0, d, layer=1, scale=0.22, x=0.62, y=0.72))
    subtitles = tuple(Caption(PHRASES[n % len(PHRASES)], n * SEC, SEC, size=7.0, y=-0.62) for n in range(seconds))
    gains = ducked(speech_spans(seconds), d, low=0.12, high=0.5, ramp=SEC * 3 // 10)
    sound = (Music(MediaSpec("voice", seconds=seconds), 0, d, volume=1.0),
             Music(MediaSpec("music", seconds=seconds), 0, d, fade_in=SEC, fade_out=2 * SEC, gains=gains))
    return Composition(1080, 1920, 30, d, visuals, subtitles, sound)


def smoke() -> Composition:
    """A few seconds at 320×180 with the showcase's features, small enough for CI."""
    a, b = clip(480, 270, 440.0, seconds=3), clip(180, 320, 554.37, seconds=3)
    visuals = (
        Visual(a, 0, 1 * SEC, source_start=SEC // 2, dissolve=400_000),  # ±6 frames: on the frame grid
        Visual(b, 1 * SEC, 1 * SEC, source_start=SEC // 2),
        Visual(MediaSpec("photo", 400, 300), 2 * SEC, 1 * SEC, zoom_to=1.3),
    )
    return Composition(320, 180, 30, 3 * SEC, visuals,
                       (Caption("你好 smoke", 0, 3 * SEC, size=8.0, y=-0.6),),
                       (Music(MediaSpec("music", seconds=3), 0, 3 * SEC, 0.3, SEC // 2, SEC // 2),))


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("showcase", "30 s 1080×1920: 3 clips, 2 dissolves, photo zoom, caption, music", showcase(),
             features=SHOWCASE_FEATURES),
    Scenario("preview", "the showcase at resolution scale 0.5", showcase(), scale=0.5, features=SHOWCASE_FEATURES),
    Scenario("layers", "20 s 1920×1080: six overlapping layers", layers(), features=LAYER_FEATURES),
    Scenario("long", "the showcase's structure repeated to 10 min, 1920×1080, a subtitle every 3 s", long(),
             features=SHOWCASE_FEATURES),
    Scenario("kenburns", "60 s 1080×1920: 20 photos of mixed sizes zooming or panning, 19 dissolves, music",
             ken_burns(),
             features=KEN_BURNS_FEATURES),
    Scenario("talkinghead", "60 s 1080×1920: a video, 60 styled subtitles, a sticker, music ducked under a voice",
             talking_head(), features=TALKING_HEAD_FEATURES),
    Scenario("smoke", "3 s 320×180: the showcase's features, for CI", smoke(), features=SHOWCASE_FEATURES),
)}
# What `draftrender bench` runs when no scenario is named: every figure the targets need.
DEFAULT_SCENARIOS = ("showcase", "preview", "layers", "kenburns", "talkinghead", "long")




# ---------------------------------------------------------------- what the peers share


def fitted(spec: MediaSpec, width: int, height: int, scale: float = 1.0) -> tuple[int, int]:
    """The picture's size on a width×height canvas: fitted inside it, then scaled; even, for yuv420p."""
    k = min(width / spec.width, height / spec.height) * scale
    return max(2, round(spec.width * k / 2) * 2), max(2, round(spec.height * k / 2) * 2)


def centre(x: float, y: float, width: int, height: int) -> tuple[float, float]:
    """Pixel centre of a layer at (x, y) half-canvas units, y up."""
    return width / 2 + x * width / 2, height / 2 - y * height / 2


def caption_px(c: Caption, canvas_width: int) -> dict:
    """A caption's pixel sizes on a canvas `canvas_width` wide (the draft's em rule)."""
    em = c.size * canvas_width / 160
    return {"font_px": round(em), "stroke_px": max(1, round(c.stroke_em * em)), "shadow_px": max(1, round(0.06 * em))}


def hex_color(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(v * 255):02x}" for v in rgb)


def cjk_font() -> str:
    """A font file with Chinese glyphs, as fontconfig picks it (draftrender asks the same)."""
    out = subprocess.run(["fc-match", "-f", "%{file}", "sans-serif:lang=zh-cn"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout:
        raise RuntimeError("fc-match found no font for Chinese text: install fonts-noto-cjk")
    return out.stdout
