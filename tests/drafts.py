"""Real drafts for tests, written by pyJianYingDraft and pycapcut into a tmp draft folder.

The writers record absolute media paths (tmp paths at run time). Each `*_draft` function
makes its media under `<folder>/media/` with media_factory and returns the draft folder.
`edit_json` applies hand edits for what the writers cannot express (reverse, curve speed,
hidden segments, old-style fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pycapcut as cc
import pyJianYingDraft as jy
from media_factory import make_clip, make_image, make_tone

SEC = 1_000_000
# A sticker resource id as the editor writes it; only its id matters to the parser.
STICKER_ID = "7226264888031284538"


def draft_file(folder: Path) -> Path:
    return Path(folder) / "draft_content.json"


def read_json(folder: Path) -> dict:
    return json.loads(draft_file(folder).read_text(encoding="utf-8"))


def write_json(folder: Path, data: dict) -> Path:
    draft_file(folder).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return Path(folder)


def edit_json(folder: Path, edit: Callable[[dict], object]) -> dict:
    """Load the folder's draft, let `edit` change it in place, save it and return it."""
    data = read_json(folder)
    edit(data)
    write_json(folder, data)
    return data


def track_json(data: dict, name: str) -> dict:
    return next(t for t in data["tracks"] if t["name"] == name)


def material_json(data: dict, mid: str) -> tuple[str, dict]:
    """(kind, item) of the material with this id."""
    for kind, items in data["materials"].items():
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("id") == mid:
                return kind, item
    raise KeyError(mid)


def make_media(folder: Path) -> dict[str, Path]:
    """The media every full draft uses, under <folder>/media/."""
    media = Path(folder) / "media"
    return {
        "clip_a": make_clip(media / "clip_a.mp4", width=320, height=180, seconds=2.0, audio_hz=440),
        "clip_b": make_clip(media / "clip_b.mp4", width=180, height=320, seconds=2.0, audio_hz=660),
        "photo": make_image(media / "photo.png", (320, 180), (200, 60, 40)),
        "bgm": make_tone(media / "bgm.wav", hz=330, seconds=3.0),
    }


# ---------------------------------------------------------------- pyJianYingDraft


def pyjy_draft(root: Path, build: Callable[[jy.ScriptFile, dict[str, Path]], None], *, name: str = "draft",
               width: int = 1920, height: int = 1080, fps: int = 30) -> Path:
    """A draft folder written by pyJianYingDraft: `build(script, media)` adds tracks and segments."""
    script = jy.DraftFolder(str(root)).create_draft(name, width, height, fps, allow_replace=True)
    folder = Path(root) / name
    build(script, make_media(folder))
    script.save()
    return folder


def simple_pyjy_draft(root: Path, name: str = "simple") -> Path:
    """One 1 s clip, a caption and a tone: the smallest draft with every material kind that has a path."""

    def build(script: jy.ScriptFile, media: dict[str, Path]) -> None:
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.audio, "bgm"),
                              jy.TrackSpec(jy.TrackType.text, "caption")])
        script.add_segment(jy.VideoSegment(str(media["clip_a"]), jy.trange(0, SEC)), "main")
        script.add_segment(jy.AudioSegment(str(media["bgm"]), jy.trange(0, SEC), volume=0.5), "bgm")
        script.add_segment(jy.TextSegment("你好 World", jy.trange(0, SEC)), "caption")

    return pyjy_draft(root, build, name=name)


def full_pyjy_draft(root: Path, name: str = "full") -> Path:
    """A 3 s 1920×1080 draft using every feature pyJianYingDraft writes.

    Tracks, bottom first: main (video: 3 segments), pip (video), bgm (audio), caption (text: 2),
    stickers, fx (effect), grade (filter).
    - main[0] 0–1 s: clip_a from 0.5 s; 叠化 0.4 s; blur background 0.375; intro 渐显 0.5 s; audio
      fade 0.2/0.3 s; keyframes on every visual property plus volume (offsets 0 and 1 s).
    - main[1] 1–2 s: clip_a at speed 2; colour background #336699ff; outro 渐隐; filter 亢奋 60 %;
      video effect DV界面.
    - main[2] 2–3 s: the photo cropped to x 0.1–0.9, y 0.2–0.8; group animation 三分割; flipped vertically.
    - pip[0] 0–2 s: clip_b; alpha 0.6, rotation 30, scale 0.4, transform (0.5, 0.25), flipped horizontally;
      circle mask; chroma #00ff00ff; mix mode 滤色; separate scale_x / scale_y keyframes.
    - bgm[0] 0–3 s: the tone at volume 0.3, fades 0.5/1 s, volume keyframes 1 → 0, an echo effect.
    - caption[0] 0–2 s: "你好 World" styled; caption[1] 2–3 s: vertical "竖排", right aligned.
    """

    def build(script: jy.ScriptFile, media: dict[str, Path]) -> None:
        script.append_tracks([
            jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.video, "pip"),
            jy.TrackSpec(jy.TrackType.audio, "bgm"), jy.TrackSpec(jy.TrackType.text, "caption"),
            jy.TrackSpec(jy.TrackType.sticker, "stickers"), jy.TrackSpec(jy.TrackType.effect, "fx"),
            jy.TrackSpec(jy.TrackType.filter, "grade"),
        ])
        clip_a = jy.VideoMaterial(str(media["clip_a"]))

        s0 = jy.VideoSegment(clip_a, jy.trange(0, SEC), source_timerange=jy.trange(SEC // 2, SEC))
        s0.add_transition(jy.TransitionType.叠化, duration=400_000)
        s0.add_background_filling("blur", 0.375)
        s0.add_animation(jy.IntroType.渐显, 500_000)
        s0.add_fade(200_000, 300_000)
        kp = jy.KeyframeProperty
        for prop, a, b in ((kp.position_x, -0.5, 0.5), (kp.position_y, 0.0, 1.0), (kp.rotation, 0.0, 90.0),
                           (kp.alpha, 0.0, 1.0), (kp.brightness, -0.5, 0.5), (kp.contrast, 0.0, 1.0),
                           (kp.saturation, -1.0, 0.0), (kp.volume, 0.0, 2.0), (kp.uniform_scale, 1.0, 2.0)):
            s0.add_keyframe(prop, 0, a)
            s0.add_keyframe(prop, SEC, b)
        script.add_segment(s0, "main")

        s1 = jy.VideoSegment(clip_a, jy.trange(SEC, SEC), speed=2.0)
        s1.add_background_filling("color", color="#336699ff")
        s1.add_animation(jy.OutroType.渐隐)
        s1.add_filter(jy.FilterType.亢奋, 60)
        s1.add_effect(jy.VideoSceneEffectType.DV界面)
        script.add_segment(s1, "main")

        crop = jy.CropSettings(upper_left_x=0.1, upper_left_y=0.2, upper_right_x=0.9, upper_right_y=0.2,
                               lower_left_x=0.1, lower_left_y=0.8, lower_right_x=0.9, lower_right_y=0.8)
        s2 = jy.VideoSegment(jy.VideoMaterial(str(media["photo"]), crop_settings=crop), jy.trange(2 * SEC, SEC),
                             clip_settings=jy.ClipSettings(flip_vertical=True))
        s2.add_animation(jy.GroupAnimationType.三分割)
        script.add_segment(s2, "main")

        pip = jy.VideoSegment(str(media["clip_b"]), jy.trange(0, 2 * SEC), clip_settings=jy.ClipSettings(
            alpha=0.6, rotation=30, scale_x=0.4, scale_y=0.4, transform_x=0.5, transform_y=0.25,
            flip_horizontal=True))
        pip.add_mask(jy.MaskType.圆形, size=0.5, feather=20)
        pip.add_chroma("#00FF00FF", intensity=40, shadow=10)
        pip.set_mix_mode(jy.MixModeType.滤色)
        pip.add_keyframe(kp.scale_x, 0, 0.4).add_keyframe(kp.scale_x, 2 * SEC, 0.8)
        pip.add_keyframe(kp.scale_y, 0, 0.4).add_keyframe(kp.scale_y, 2 * SEC, 0.6)
        script.add_segment(pip, "pip")

        bgm = jy.AudioSegment(str(media["bgm"]), jy.trange(0, 3 * SEC), volume=0.3)
        bgm.add_fade(500_000, SEC)
        bgm.add_keyframe(0, 1.0).add_keyframe(3 * SEC, 0.0)
        bgm.add_effect(jy.AudioSceneEffectType.回音)
        script.add_segment(bgm, "bgm")

        caption = jy.TextSegment(
            "你好 World", jy.trange(0, 2 * SEC), font=jy.FontType.文轩体,
            style=jy.TextStyle(size=12, bold=True, italic=True, underline=True, color=(1.0, 0.8, 0.0), alpha=0.9,
                               align=1, letter_spacing=2, line_spacing=4, auto_wrapping=True, max_line_width=0.6),
            clip_settings=jy.ClipSettings(transform_y=-0.8),
            border=jy.TextBorder(color=(0.0, 0.0, 0.5), width=50),
            background=jy.TextBackground(color="#102030", alpha=0.5, round_radius=0.2),
            shadow=jy.TextShadow(color=(0.2, 0.3, 0.4), alpha=0.8, distance=8, angle=-60))
        caption.add_animation(jy.TextIntro.复古打字机)
        caption.add_animation(jy.TextOutro.向上溶解)
        script.add_segment(caption, "caption")
        script.add_segment(jy.TextSegment("竖排", jy.trange(2 * SEC, SEC),
                                          style=jy.TextStyle(vertical=True, align=2)), "caption")

        script.add_segment(jy.StickerSegment(STICKER_ID, jy.trange(0, SEC)), "stickers")
        script.add_effect(jy.VideoSceneEffectType.DV界面, jy.trange(SEC // 2, SEC), "fx")
        script.add_filter(jy.FilterType.亢奋, jy.trange(SEC, 2 * SEC), "grade", intensity=70)

    return pyjy_draft(root, build, name=name)


# ---------------------------------------------------------------- pycapcut


def full_capcut_draft(root: Path, name: str = "capcut") -> Path:
    """A 2 s 1080×1920 draft written by pycapcut, which gives each track type a base render_index.

    Tracks as pycapcut orders them (by render_index): main (video, 0), over (video, 0),
    bgm (audio, 0), stickers (14000), caption (text, 15000).
    - main[0] 0–1 s clip_a with 叠化 and a blur background; main[1] 1–2 s the photo with intro 渐显.
    - over[0] 0–2 s clip_b, scale 0.5 and a rectangle mask; bgm[0] 0–2 s, fades; caption "CapCut 字幕".
    """
    script = cc.DraftFolder(str(root)).create_draft(name, 1080, 1920, allow_replace=True)
    folder = Path(root) / name
    media = make_media(folder)
    for ttype, tname in ((cc.TrackType.video, "main"), (cc.TrackType.video, "over"), (cc.TrackType.audio, "bgm"),
                         (cc.TrackType.sticker, "stickers"), (cc.TrackType.text, "caption")):
        script.add_track(ttype, tname)

    v0 = cc.VideoSegment(cc.VideoMaterial(str(media["clip_a"])), cc.trange(0, SEC))
    v0.add_transition(cc.TransitionType.叠化)
    v0.add_background_filling("blur", 0.0625)
    script.add_segment(v0, "main")
    v1 = cc.VideoSegment(cc.VideoMaterial(str(media["photo"])), cc.trange(SEC, SEC))
    v1.add_animation(cc.IntroType.渐显)
    script.add_segment(v1, "main")

    over = cc.VideoSegment(cc.VideoMaterial(str(media["clip_b"])), cc.trange(0, 2 * SEC),
                           clip_settings=cc.ClipSettings(scale_x=0.5, scale_y=0.5))
    over.add_mask(cc.MaskType.矩形, size=0.5)
    script.add_segment(over, "over")

    bgm = cc.AudioSegment(cc.AudioMaterial(str(media["bgm"])), cc.trange(0, 2 * SEC), volume=0.8)
    bgm.add_fade(200_000, 400_000)
    script.add_segment(bgm, "bgm")
    script.add_segment(cc.StickerSegment(STICKER_ID, cc.trange(0, SEC)), "stickers")
    script.add_segment(cc.TextSegment("CapCut 字幕", cc.trange(0, 2 * SEC),
                                      style=cc.TextStyle(size=8, color=(0.0, 1.0, 0.0))), "caption")
    script.save()
    return folder
