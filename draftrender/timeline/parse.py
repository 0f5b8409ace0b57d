"""Draft JSON → Timeline. Every editor quirk is resolved here, and only here.

Defaults, the material id index, draw order, units, text content, media paths. What the
renderer will approximate or ignore is written into the fidelity report as it is met.
Nothing downstream reads draft JSON.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from collections.abc import Callable
from typing import Any, Literal, cast

from ..effects.names import editor_name, is_karaoke
from ..effects.registry import support
from ..errors import DraftEmpty, MalformedDraft
from .keyframes import PROPERTY_NAMES, Keyframe, Keyframes
from .media import MediaLocator, base_name
from .model import (
    RGBA,
    Animation,
    AudioFade,
    Background,
    Canvas,
    Chroma,
    Clip,
    Compound,
    Crop,
    EffectKind,
    FidelityNote,
    Mask,
    Media,
    NamedEffect,
    Segment,
    Shadow,
    SolidColor,
    SpeedCurve,
    Sticker,
    Stroke,
    Text,
    TextBackground,
    TextStyle,
    TimeRange,
    Timeline,
    Transition,
    Track,
    TrackType,
    Word,
)

# Limits that keep a hostile draft from costing unbounded time or memory.
MAX_SEGMENTS = 20_000
# draftrender's own field on a video or photo material: a clip to generate instead of a file
# (a generation request, see generate/drafts.py and the README).
GENERATION_FIELD = "draftrender_generation"
MAX_CANVAS_SIDE = 8192
MAX_TIME_US = 24 * 3600 * 1_000_000
MAX_NESTING = 4  # compound clips inside compound clips

TRACK_TYPES = ("video", "audio", "text", "sticker", "effect", "filter", "adjust")
EFFECT_TRACKS = ("effect", "filter", "adjust")  # their segments may name no material
# A track's `attribute` bits: 1 mutes its sound, 2 hides its pictures, 4 locks it in the editor.
TRACK_MUTED, TRACK_HIDDEN = 1, 2
# Older writers give each track type a base render_index instead of per-segment values.
TYPE_BASE_RENDER_INDEX = {"video": 0, "audio": 0, "effect": 10000, "filter": 11000, "adjust": 11000,
                          "sticker": 14000, "text": 15000}
# When an id appears in several lists (masks and common_mask share ids), the first wins:
# newer editors read common_mask.
MATERIAL_PREFERENCE = ("common_mask",)
# Materials every writer attaches with default values; they change nothing when left alone.
NEUTRAL_MATERIALS = {"speeds", "sound_channel_mappings", "vocal_separations", "placeholder_infos",
                     "placeholders", "beats", "material_colors", "loudnesses", "realtime_denoises",
                     "audio_balances", "smart_relights", "multi_language_refs", "digital_humans"}
MASK_SHAPES = {"line": "line", "mirror": "mirror", "circle": "circle", "rectangle": "rectangle",
               "geometric_shape": "rectangle", "heart": "heart", "star": "star",
               "线性": "line", "镜面": "mirror", "圆形": "circle", "矩形": "rectangle",
               "爱心": "heart", "星形": "star"}
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}  # stickers drawn from a local file
DEFAULT_TEXT_SIZE = {"landscape": 6.0, "portrait": 10.0}


def parse(data: Any, *, draft_dir: Path | None = None, origin: str = "", base_url: str | None = None,
          media_roots: tuple[Path, ...] | None = None) -> Timeline:
    """Build the typed timeline from draft JSON. Raises MalformedDraft / DraftEmpty."""
    return _Parser(data, MediaLocator(draft_dir, base_url, media_roots), origin).timeline()


class _Parser:
    def __init__(self, data: Any, locator: MediaLocator, origin: str, depth: int = 0):
        if not isinstance(data, dict):
            raise MalformedDraft(f"{origin or 'draft'}: the draft must be a JSON object, not {type_name(data)}")
        self.data = data
        self.locator = locator
        self.origin = origin or "draft"
        self.depth = depth  # how many compound clips this draft sits inside
        self.notes: list[FidelityNote] = []
        self.materials = self.index_materials()
        self.media_cache: dict[str, Media] = {}
        self.missing: list[tuple[int, TimeRange]] = []  # segments whose material is gone: (track, time)

    # ------------------------------------------------------------ top level

    def timeline(self) -> Timeline:
        d = self.data
        tracks_json = opt(d, "tracks", list, "tracks", self) or []
        if not tracks_json and not self.materials:
            raise DraftEmpty(f"{self.origin}: the draft has no tracks and no materials")
        canvas = self.canvas()
        fps = self.fps()
        total = sum(len(as_list(t.get("segments"))) for t in tracks_json if isinstance(t, dict))
        if total > MAX_SEGMENTS:
            raise MalformedDraft(f"{self.origin}: the draft has {total} segments; the limit is {MAX_SEGMENTS}")
        self.canvas_ = canvas
        tracks = tuple(self.track(i, t) for i, t in enumerate(tracks_json))
        if not any(t.segments for t in tracks) and not self.missing:
            raise DraftEmpty(f"{self.origin}: the draft's tracks hold no segments")
        ends = [s.target.end for t in tracks for s in t.segments if s.visible and shows_or_sounds(t)]
        ends += [target.end for ti, target in self.missing if shows_or_sounds(tracks[ti])]
        app = opt(d, "platform", dict, "platform", self) or {}
        return Timeline(
            canvas=canvas,
            fps=fps,
            duration=max(ends, default=0),
            tracks=tracks,
            declared_duration=as_int(d.get("duration", 0), "duration", self, default=0),
            app_source=str(app.get("app_source", "")),
            name=str(d.get("name", "") or ""),
            draft_dir=self.locator.draft_dir,
            origin=self.origin,
            fidelity=tuple(self.notes),
        )

    def canvas(self) -> Canvas:
        cfg = opt(self.data, "canvas_config", dict, "canvas_config", self)
        if not cfg:
            self.note(None, None, "canvas", "approximated", "the draft has no canvas_config: using 1920×1080")
            return Canvas(1920, 1080)
        w = as_int(cfg.get("width"), "canvas_config.width", self)
        h = as_int(cfg.get("height"), "canvas_config.height", self)
        if w == h == 0:
            # A compound clip's nested draft saved on its own (subdraft/…/draft_content.json).
            w, h = self.first_video_size()
            self.note(None, None, "canvas", "approximated",
                      f"canvas_config is 0×0 (a compound clip's draft saved on its own): "
                      f"using {w}×{h}, its first video's size")
        for side, name in ((w, "width"), (h, "height")):
            if not 2 <= side <= MAX_CANVAS_SIDE:
                raise MalformedDraft(
                    f"{self.origin}: canvas_config.{name} is {side}; it must be 2 to {MAX_CANVAS_SIDE}")
        return Canvas(w, h, str(cfg.get("ratio", "") or ""))

    def first_video_size(self) -> tuple[int, int]:
        for kind, m in self.materials.values():
            w, h = num(m.get("width")), num(m.get("height"))
            if kind == "videos" and 2 <= w <= MAX_CANVAS_SIDE and 2 <= h <= MAX_CANVAS_SIDE:
                return int(w), int(h)
        return 1920, 1080

    def fps(self) -> Fraction:
        raw = self.data.get("fps")
        if raw is None or isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 240:
            if raw is not None:
                self.note(None, None, "fps", "approximated", f"fps {raw!r} is not usable: using 30")
            return Fraction(30)
        # 29.97 and friends are NTSC rates: keep them exact. (limit_denominator alone gives
        # 2997/100 for 29.97, which drifts a frame from 30000/1001 every 5.5 minutes.)
        ntsc = Fraction(round(raw * 1.001) * 1000, 1001)
        if raw != int(raw) and abs(raw - float(ntsc)) < 0.005:
            return ntsc
        return Fraction(raw).limit_denominator(1001)

    def index_materials(self) -> dict[str, tuple[str, dict]]:
        mats = opt(self.data, "materials", dict, "materials", self) or {}
        index: dict[str, tuple[str, dict]] = {}
        kinds = sorted(mats, key=lambda k: k not in MATERIAL_PREFERENCE)
        for kind in kinds:
            items = mats[kind]
            if not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    index.setdefault(item["id"], (kind, item))
        return index

    # ------------------------------------------------------------ tracks and segments

    def track(self, index: int, t: Any) -> Track:
        where = f"tracks[{index}]"
        if not isinstance(t, dict):
            raise MalformedDraft(f"{self.origin}: {where} must be an object, not {type_name(t)}")
        ttype = str(t.get("type", ""))
        segs_json = opt(t, "segments", list, f"{where}.segments", self) or []
        if ttype not in TRACK_TYPES:
            self.note(index, None, f"track type {ttype!r}", "ignored", "unknown track type")
            return Track(index, str(t.get("id", "")), "video", str(t.get("name", "")), True, (), True)
        attribute = as_int(t.get("attribute", 0), f"{where}.attribute", self, default=0)
        muted, hidden = bool(attribute & TRACK_MUTED), bool(attribute & TRACK_HIDDEN)
        segments = []
        for i, s in enumerate(segs_json):
            seg = self.segment(index, i, ttype, s)
            if seg is not None:
                segments.append(seg)
        return Track(index, str(t.get("id", "")), cast(TrackType, ttype), str(t.get("name", "")), muted,
                     tuple(segments), hidden)

    def segment(self, ti: int, si: int, ttype: str, s: Any) -> Segment | None:
        where = f"tracks[{ti}].segments[{si}]"
        if not isinstance(s, dict):
            raise MalformedDraft(f"{self.origin}: {where} must be an object, not {type_name(s)}")
        target = self.timerange(s.get("target_timerange"), f"{where}.target_timerange")
        if target.duration == 0:
            self.note(ti, si, "empty segment", "ignored", "its duration is 0")
            return None
        raw_source = s.get("source_timerange")
        source = None if raw_source is None else self.timerange(raw_source, f"{where}.source_timerange")
        speed = as_float(s.get("speed", 1.0), f"{where}.speed", self, default=1.0)
        if not 0 < speed <= 100:
            raise MalformedDraft(f"{self.origin}: {where}.speed is {speed}; it must be above 0 and at most 100")
        volume = as_float(s.get("volume", 1.0), f"{where}.volume", self, default=1.0)
        if volume < 0:
            raise MalformedDraft(f"{self.origin}: {where}.volume is {volume}; it must not be negative")
        mid = s.get("material_id")
        if (mid or ttype not in EFFECT_TRACKS) and not (isinstance(mid, str) and mid in self.materials):
            # Drafts edited by tools may keep segments whose material is gone. The editor shows
            # such a segment as missing media over its time: here, nothing over its time.
            self.note(ti, si, "missing material", "ignored",
                      f"{where}.material_id {mid!r:.60} is in no materials list: its time is left empty")
            self.missing.append((ti, target))
            return None
        refs = s.get("extra_material_refs") or []
        if not isinstance(refs, list):
            raise MalformedDraft(f"{self.origin}: {where}.extra_material_refs must be a list")
        material = self.material(ti, si, ttype, mid, where, refs, target)
        if material is None:
            return None

        attached: dict[str, Any] = {"animations": [], "filters": [], "effects": []}
        for ref in refs:
            self.attach(ti, si, ref, attached)

        clip = self.clip(s, where)
        self.uniform_scale_on = clip.uniform_scale
        render_index = s.get("render_index")
        if not isinstance(render_index, int) or isinstance(render_index, bool):
            render_index = s.get("track_render_index")
            if not isinstance(render_index, int) or isinstance(render_index, bool) or not render_index:
                render_index = TYPE_BASE_RENDER_INDEX[ttype]
        visible = s.get("visible", True) is not False
        seg = Segment(
            id=str(s.get("id", "")),
            track_index=ti,
            index=si,
            kind=cast(TrackType, ttype),
            material=material,
            target=target,
            source=source,
            speed=speed,
            speed_curve=attached.get("speed_curve"),
            reverse=bool(s.get("reverse", False)),
            volume=volume,
            tone_modify=bool(s.get("is_tone_modify", False)),
            visible=visible,
            render_index=int(render_index) if isinstance(render_index, (int, float)) else 0,
            clip=clip,
            keyframes=self.keyframes(ti, si, s.get("common_keyframes"), f"{where}.common_keyframes"),
            fade=attached.get("fade"),
            background=attached.get("background"),
            mask=attached.get("mask"),
            chroma=attached.get("chroma"),
            mix_mode=attached.get("mix_mode"),
            transition=attached.get("transition"),
            animations=tuple(attached["animations"]),
            filters=tuple(attached["filters"]),
            effects=tuple(attached["effects"]),
        )
        if as_list(s.get("keyframe_refs")):
            # CapCut 1.x kept keyframes in top-level `keyframes` lists that segments point at.
            self.note(ti, si, "old keyframes", "ignored",
                      "keyframes in the top-level keyframes lists (CapCut 1.x) are not read: the static clip is drawn")
        if isinstance(material, Text) and material.words and any(is_karaoke(a.effect.name) for a in seg.animations):
            # Auto-captions carry word timings too; only a karaoke animation shows them.
            self.note(ti, si, "karaoke word timing", "approximated",
                      "the karaoke highlight sweeps at an even pace, not at each word's own time")
        return seg

    def timerange(self, tr: Any, where: str) -> TimeRange:
        if tr is None:
            raise MalformedDraft(f"{self.origin}: {where} is missing")
        if not isinstance(tr, dict):
            raise MalformedDraft(f"{self.origin}: {where} must be an object, not {type_name(tr)}")
        start = as_int(tr.get("start", 0), f"{where}.start", self, default=0)
        duration = as_int(tr.get("duration"), f"{where}.duration", self)
        if start < 0 or duration < 0:
            raise MalformedDraft(f"{self.origin}: {where} has a negative {'start' if start < 0 else 'duration'}")
        if start + duration > MAX_TIME_US:
            raise MalformedDraft(f"{self.origin}: {where} runs past the 24 h limit")
        return TimeRange(start, duration)

    def clip(self, s: dict, where: str) -> Clip:
        c = s.get("clip")
        uni = dig(s, "uniform_scale")
        if not isinstance(c, dict):
            return Clip(uniform_scale=bool(uni.get("on", True)))
        flip = dig(c, "flip")
        scale = dig(c, "scale")
        tr = dig(c, "transform")
        f = lambda v, k, d: as_float(v, f"{where}.clip.{k}", self, default=d)  # noqa: E731
        return Clip(
            alpha=min(max(f(c.get("alpha", 1.0), "alpha", 1.0), 0.0), 1.0),
            flip_horizontal=bool(flip.get("horizontal", False)),
            flip_vertical=bool(flip.get("vertical", False)),
            rotation=f(c.get("rotation", 0.0), "rotation", 0.0),
            scale_x=f(scale.get("x", 1.0), "scale.x", 1.0),
            scale_y=f(scale.get("y", 1.0), "scale.y", 1.0),
            x=f(tr.get("x", 0.0), "transform.x", 0.0),
            y=f(tr.get("y", 0.0), "transform.y", 0.0),
            uniform_scale=bool(uni.get("on", True)),
        )

    def keyframes(self, ti: int, si: int, raw: Any, where: str) -> tuple[Keyframes, ...]:
        if not raw:
            return ()
        if not isinstance(raw, list):
            raise MalformedDraft(f"{self.origin}: {where} must be a list")
        out = []
        for k, group in enumerate(raw):
            if not isinstance(group, dict):
                continue
            ptype = str(group.get("property_type", ""))
            points = []
            for j, kf in enumerate(as_list(group.get("keyframe_list"))):
                if not isinstance(kf, dict):
                    continue
                kw = f"{where}[{k}].keyframe_list[{j}]"
                values = kf.get("values")
                if not isinstance(values, list) or not values:
                    continue
                points.append(Keyframe(
                    offset=as_int(kf.get("time_offset", 0), f"{kw}.time_offset", self, default=0),
                    value=as_float(values[0], f"{kw}.values", self),
                    curve=str(kf.get("curveType", "Line") or "Line"),
                    left_control=control(kf.get("left_control")),
                    right_control=control(kf.get("right_control")),
                ))
            if not points:
                continue
            name = PROPERTY_NAMES.get(ptype)
            if name is None:
                self.note(ti, si, f"keyframes {ptype}", "ignored", "unknown keyframed property")
                name = ptype
            out.append(Keyframes(name, tuple(sorted(points, key=lambda p: p.offset))))
        return uniform_scale_keyframes(out, self.uniform_scale_on)

    # ------------------------------------------------------------ materials

    def material(self, ti: int, si: int, ttype: str, mid: Any, where: str, refs: list, target: TimeRange):
        if ttype in EFFECT_TRACKS and not mid:
            self.note(ti, si, f"{ttype} segment", "ignored", "it names no material")
            return None
        kind, m = self.materials[mid]
        if kind == "videos":
            mtype = str(m.get("type", "video"))
            pathless = mtype == "video" and not (m.get("path") or m.get("media_path"))
            nested = self.nested_draft(refs) if pathless else None
            if nested is not None:
                return self.compound(ti, si, m, nested, target)
            if mtype == "photo" or mtype == "video":
                return self.media(m, "photo" if mtype == "photo" else "video", where)
            color = m.get("color") or m.get("background_color")
            if isinstance(color, str):
                return SolidColor(mid, hex_color(color, self, f"{where} colour"))
            self.note(ti, si, f"video material type {mtype!r}", "ignored", "unknown video material type")
            return None
        if kind == "audios":
            return self.media(m, "audio", where)
        if kind == "texts":
            text = self.text(ti, si, m)
            return text
        if kind == "stickers":
            if Path(str(m.get("path") or "").replace("\\", "/")).suffix.lower() in PICTURE_SUFFIXES:
                return self.media(m, "photo", where)  # a local image or GIF: drawn like a photo
            sticker = Sticker(mid, str(m.get("name", "") or ""), str(m.get("resource_id", "") or ""),
                              str(m.get("path", "") or ""), str(m.get("preview_cover_url", "") or ""))
            self.note(ti, si, f"sticker {sticker.name or sticker.resource_id}", "ignored",
                      "stickers are editor resources known only by id")
            return sticker
        if kind in ("effects", "video_effects"):
            effect = self.named_effect(m, default_kind="video_effect" if kind == "video_effects" else "filter")
            self.note_effect(ti, si, effect)
            return effect
        self.note(ti, si, f"{ttype} segment material {kind!r}", "ignored", "unknown material kind")
        return None

    def nested_draft(self, refs: list) -> dict | None:
        """The nested draft a compound clip's segment refers to through a `drafts` material."""
        for ref in refs:
            kind, m = self.materials.get(ref, ("", {})) if isinstance(ref, str) else ("", {})
            if kind == "drafts" and isinstance(m.get("draft"), dict):
                return m["draft"]
        return None

    def compound(self, ti: int, si: int, m: dict, nested: dict, target: TimeRange) -> Compound | None:
        """A compound clip: its nested draft parsed like any draft, its notes carried up. One
        that cannot be rendered leaves its time empty, as a missing material does."""
        name = str(m.get("material_name") or "compound clip")
        if self.depth >= MAX_NESTING:
            self.note(ti, si, f"compound clip {name}", "ignored",
                      f"compound clips nest more than {MAX_NESTING} deep: its time is left empty")
            self.missing.append((ti, target))
            return None
        try:
            inner = _Parser(nested, self.locator, f"{self.origin} › {name}", self.depth + 1).timeline()
        except (MalformedDraft, DraftEmpty) as e:
            self.note(ti, si, f"compound clip {name}", "ignored", f"its nested draft cannot be rendered: {e}")
            self.missing.append((ti, target))
            return None
        self.notes += [replace(n, track=ti, segment=si, feature=f"compound clip {name}: {n.feature}")
                       for n in inner.fidelity]
        return Compound(m["id"], name, inner)

    def media(self, m: dict, kind: Literal["video", "photo", "audio"], where: str) -> Media:
        mid = m["id"]
        if mid in self.media_cache:
            return self.media_cache[mid]
        written = str(m.get("path") or m.get("media_path") or "")
        generation = m.get(GENERATION_FIELD)
        if generation is not None and (kind == "audio" or not isinstance(generation, dict)):
            raise MalformedDraft(f"{self.origin}: {where} {GENERATION_FIELD} must be an object on a video or photo "
                                 f"material, like {{\"model\": \"local-title\", \"prompt\": \"…\"}}")
        # A material that generates its clip needs no file: whatever path it names is ignored.
        path, url, looked = (None, None, ()) if generation is not None else self.locator.locate(written)
        media = Media(
            id=mid,
            kind=kind,
            name=str(m.get("material_name") or m.get("name") or written.replace("\\", "/").rsplit("/", 1)[-1]),
            written_path=written,
            path=path,
            url=url,
            width=as_int(m.get("width", 0), f"{where} material width", self, default=0),
            height=as_int(m.get("height", 0), f"{where} material height", self, default=0),
            duration=as_int(m.get("duration", 0), f"{where} material duration", self, default=0),
            crop=crop(m.get("crop")),
            looked_in=looked,
            generation=json.dumps(generation, ensure_ascii=False, sort_keys=True) if generation is not None else None,
        )
        self.media_cache[mid] = media
        return media

    def attach(self, ti: int, si: int, ref: Any, out: dict) -> None:
        """Resolve one extra_material_ref onto the segment. Dangling ids are tolerated."""
        if not isinstance(ref, str) or ref not in self.materials:
            return
        kind, m = self.materials[ref]
        if kind == "speeds":
            curve = m.get("curve_speed")
            if m.get("mode") == 1 and isinstance(curve, dict):
                pts = [(num(p.get("x")), num(p.get("y"), 1.0)) for p in as_list(curve.get("speed_points"))
                       if isinstance(p, dict)]
                if len(pts) >= 2:
                    out["speed_curve"] = SpeedCurve(tuple(sorted(pts)), str(curve.get("name", "") or ""))
        elif kind == "audio_fades":
            out["fade"] = AudioFade(max(0, int(num(m.get("fade_in_duration")))),
                                    max(0, int(num(m.get("fade_out_duration")))))
        elif kind == "canvases":
            out["background"] = self.background(ti, si, m)
        elif kind in ("masks", "common_mask"):
            out["mask"] = self.mask(m)
            self.note_family(ti, si, "mask", f"mask {out['mask'].shape}", out["mask"].shape)
        elif kind == "chromas":
            out["chroma"] = Chroma(
                hex_color(str(m.get("color", "#00ff00ff")), self, "chroma colour"),
                num(m.get("intensity_value")), num(m.get("shadow_value")),
                num(m.get("edge_smooth_value")), num(m.get("spill_value")))
            self.note_family(ti, si, "chroma", "chroma key")
        elif kind == "transitions":
            effect = named("transition", m.get("name"), m.get("effect_id"), m.get("resource_id"))
            out["transition"] = Transition(effect, max(0, int(num(m.get("duration")))), bool(m.get("is_overlap", True)))
            self.note_effect(ti, si, effect)
        elif kind == "material_animations":
            for a in as_list(m.get("animations")):
                if not isinstance(a, dict):
                    continue
                atype = str(a.get("type", "in"))
                effect = named("animation", a.get("name"), a.get("id"), a.get("resource_id"))
                kind = cast(Literal["in", "out", "group", "loop"],
                            atype if atype in ("in", "out", "group", "loop") else "in")
                out["animations"].append(Animation(effect, kind,
                                                   int(num(a.get("start"))), max(0, int(num(a.get("duration"))))))
                self.note_effect(ti, si, effect, f"{atype} animation")
        elif kind in ("effects", "video_effects"):
            effect = self.named_effect(m, default_kind="video_effect" if kind == "video_effects" else "filter")
            if effect.kind == "mix_mode":
                out["mix_mode"] = effect
            elif effect.kind == "lut" and not effect.path:
                self.note(ti, si, f"LUT {effect.name or effect.resource_id or '?'}", "ignored",
                          f"its .cube file {self.file_refusal(str(m.get('path', '') or ''))}")
                return
            elif effect.kind in ("filter", "lut"):
                out["filters"].append(effect)
            elif effect.kind == "text_shape":
                self.note(ti, si, f"text bubble {effect.name or effect.resource_id}", "ignored",
                          "text bubbles are editor resources known only by id")
                return
            elif effect.kind == "text_effect":
                self.note(ti, si, f"text effect style (花字) {effect.name or effect.resource_id}", "approximated",
                          "花字 is an editor resource: drawn with the text's own fill and stroke")
                return
            else:
                out["effects"].append(effect)
            self.note_effect(ti, si, effect)
        elif kind == "hsl":
            shifts = {k: num(m.get(k)) for k in ("hue", "saturation", "lightness")}
            if any(shifts.values()):  # all zero: the panel was opened and left alone
                self.note(ti, si, "hsl adjustment", "ignored", "HSL adjustments per colour range are not rendered yet")
        elif kind not in NEUTRAL_MATERIALS and kind != "drafts":  # drafts: read with the compound clip
            self.note(ti, si, f"material {kind}", "ignored", "this material kind is not rendered")

    def named_effect(self, m: dict, default_kind: str) -> NamedEffect:
        etype = str(m.get("type", ""))
        kind = etype if etype in ("mix_mode", "filter", "lut", "video_effect", "adjust", "text_shape",
                                  "text_effect") else default_kind
        params = tuple((str(p.get("name", "")), num(p.get("value"))) for p in as_list(m.get("adjust_params"))
                       if isinstance(p, dict))
        path = self.local_file(str(m.get("path", "") or "")) if kind == "lut" else ""
        return replace(named(cast(EffectKind, kind), m.get("name"), m.get("effect_id"), m.get("resource_id")),
                       intensity=num(m.get("value", 1.0), 1.0), params=params, path=path)

    def local_file(self, written: str) -> str:
        """A file the draft names besides its media (a LUT, a font): found through the same
        locator and roots as media, so a hostile draft reads nothing outside them. '' when
        it is not a readable local file."""
        path, _, _ = self.locator.locate(written) if written else (None, None, ())
        return str(path) if path is not None else ""

    def file_refusal(self, written: str) -> str:
        """Why local_file found nothing, for the fidelity report."""
        path, url, looked = self.locator.locate(written)
        if url is not None:
            return f"{url} is not a local file (only local LUT files are read)"
        return "was not found (looked in " + "; ".join(looked) + ")"

    def font_file(self, written: str) -> str:
        """A style's font: its file when the locator allows and finds it, else only the
        file's name (looked up among installed fonts), so that nothing outside the roots is
        opened and the warning is the same whether such a file exists or not. The editor's
        own default font (…/Resources/Font/SystemFont/zh-hans.ttf) is what the renderer's
        default font stands in for: ''."""
        if "/SystemFont/" in written.replace("\\", "/"):
            return ""
        return self.local_file(written) or (base_name(written) if written else "")

    def background(self, ti: int, si: int, m: dict) -> Background | None:
        ctype = str(m.get("type", ""))
        if ctype == "canvas_blur":
            return Background("blur", blur=num(m.get("blur"), 0.375))
        if ctype == "canvas_image":
            media = self.media({**m, "path": m.get("image", "")}, "photo", "canvas image")
            return Background("image", image=media)
        color = m.get("color")
        if isinstance(color, str) and color:
            return Background("color", color=hex_color(color, self, "canvas colour"))
        return None

    def mask(self, m: dict) -> Mask:
        cfg = dig(m, "config")
        rtype = str(m.get("resource_type", "") or "")
        # The name first: heart and star share the resource_type geometric_shape.
        shape = MASK_SHAPES.get(str(m.get("name", ""))) or MASK_SHAPES.get(rtype) or rtype or "rectangle"
        return Mask(
            shape=shape,
            name=str(m.get("name", "") or ""),
            center_x=num(cfg.get("centerX")),
            center_y=num(cfg.get("centerY")),
            width=num(cfg.get("width"), 1.0),
            height=num(cfg.get("height"), 1.0),
            aspect_ratio=num(cfg.get("aspectRatio"), 1.0),
            rotation=num(cfg.get("rotation")),
            feather=num(cfg.get("feather")),
            round_corner=num(cfg.get("roundCorner")),
            invert=bool(cfg.get("invert", False)),
        )

    # ------------------------------------------------------------ text

    def text(self, ti: int, si: int, m: dict) -> Text:
        content = m.get("content", "")
        body, styles_json, markup = "", [], ""
        try:
            parsed = json.loads(content) if isinstance(content, str) and content.strip().startswith("{") else None
        except (ValueError, RecursionError):  # deeply nested junk must not crash the parser
            parsed = None
        if isinstance(parsed, dict):
            body = str(parsed.get("text", ""))
            styles_json = [s for s in as_list(parsed.get("styles")) if isinstance(s, dict)]
        else:
            # Old drafts keep markup like <font ...>[text]</font> in content.
            markup = str(content or "")
            body = re.sub(r"<[^>]*>", "", markup)
            body = re.sub(r"^\[(.*)\]$", r"\1", body, flags=re.S)
        portrait = self.canvas_.height > self.canvas_.width
        default_size = num(m.get("font_size"), DEFAULT_TEXT_SIZE["portrait" if portrait else "landscape"])
        flags = as_int(m.get("check_flag", 0), "text check_flag", self, default=0)
        styles = tuple(self.text_style(s, len(body), default_size) for s in styles_json) \
            or (markup_style(self.flat_text_style(m, len(body), default_size, flags), markup, self.font_file),)

        background = None
        if ((flags & 16 or "check_flag" not in m) and num(m.get("background_alpha"), 0.0) > 0
                and m.get("background_style")):
            rgba = hex_color(str(m.get("background_color") or "#000000"), self, "text background colour")
            background = TextBackground(
                color=rgba[:3] + (num(m.get("background_alpha"), 1.0),),
                style=int(num(m.get("background_style"), 1)),
                round_radius=num(m.get("background_round_radius")),
                width=num(m.get("background_width"), 0.14),
                height=num(m.get("background_height"), 0.14),
                horizontal_offset=num(m.get("background_horizontal_offset")),
                vertical_offset=num(m.get("background_vertical_offset")),
            )
        text = Text(
            id=m["id"],
            text=body,
            styles=styles,
            alignment=int(num(m.get("alignment"), 1)) if int(num(m.get("alignment"), 1)) in (0, 1, 2) else 1,
            vertical=num(m.get("typesetting")) == 1,
            letter_spacing=num(m.get("letter_spacing")),
            line_spacing=num(m.get("line_spacing"), 0.02),
            line_max_width=num(m.get("line_max_width"), 0.82) or 0.82,
            wrap=m.get("type") == "subtitle" or bool(m.get("force_apply_line_max_width")),
            global_alpha=min(max(num(m.get("global_alpha"), 1.0), 0.0), 1.0),
            background=background,
            words=words(m.get("words")),
            glow=bool(flags & 64),
            effect_style=str(m["effectStyle"].get("id", "") if isinstance(m.get("effectStyle"), dict) else ""),
            bubble=str(m.get("text_shape", "") or "") if isinstance(m.get("text_shape"), str) else "",
        )
        if text.glow:
            self.note(ti, si, "text glow", "ignored", "glow is not rendered")
        if text.effect_style:
            self.note(ti, si, "text effect style (花字)", "approximated",
                      "花字 is an editor resource: drawn with the text's own fill and stroke")
        return text

    def text_style(self, s: dict, length: int, default_size: float) -> TextStyle:
        rng = s.get("range")
        if isinstance(rng, dict):
            start, end = int(num(rng.get("start"))), int(num(rng.get("end"), length))
        elif isinstance(rng, list) and len(rng) == 2:
            start, end = int(num(rng[0])), int(num(rng[1], length))
        else:
            start, end = 0, length
        fill = dig(s, "fill")
        solid = dig(fill, "content", "solid")
        color = rgb_list(solid.get("color"), (1.0, 1.0, 1.0)) + (num(solid.get("alpha"), num(fill.get("alpha"), 1.0)),)
        font = dig(s, "font")
        strokes = tuple(
            Stroke(rgb_list(dig(st, "content", "solid").get("color"), (0.0, 0.0, 0.0))
                   + (num(dig(st, "content", "solid").get("alpha"), 1.0),), num(st.get("width"), 0.08))
            for st in as_list(s.get("strokes")) if isinstance(st, dict))
        shadows = tuple(
            # The colour sits in content.solid (pyJianYingDraft) or flat on the shadow (older writers).
            Shadow(rgb_list(dig(sh, "content", "solid").get("color") or sh.get("color"), (0.0, 0.0, 0.0))
                   + (num(sh.get("alpha"), 1.0),),
                   num(sh.get("diffuse")), num(sh.get("distance")), num(sh.get("angle"), -45.0))
            for sh in as_list(s.get("shadows")) if isinstance(sh, dict))
        return TextStyle(
            start=max(0, start), end=min(max(end, start), length) if length else end,
            size=num(s.get("size"), default_size) or default_size,
            color=color,
            bold=bool(s.get("bold", False)),
            italic=bool(s.get("italic", False)),
            underline=bool(s.get("underline", False)),
            strokes=strokes,
            shadows=shadows,
            font_path=self.font_file(str(font.get("path", "") or "")),
            font_id=str(font.get("id", "") or ""),
            font_name=editor_name("font", "", (str(font.get("id", "") or ""),)),
        )

    def flat_text_style(self, m: dict, length: int, size: float, flags: int) -> TextStyle:
        """Older drafts keep one style in the material's flat fields."""
        strokes: tuple[Stroke, ...] = ()
        shadows: tuple[Shadow, ...] = ()
        if flags & 8 or num(m.get("border_width")) > 0:
            strokes = (Stroke(hex_color(str(m.get("border_color") or "#000000"), self, "text border colour"),
                              num(m.get("border_width"), 0.08)),)
        if m.get("has_shadow") or flags & 32:
            shadow_color = hex_color(str(m.get("shadow_color") or "#000000"), self, "text shadow colour")
            shadows = (Shadow(shadow_color[:3] + (num(m.get("shadow_alpha"), 0.9),), num(m.get("shadow_smoothing")),
                              num(m.get("shadow_distance"), 5.0), num(m.get("shadow_angle"), -45.0)),)
        color = hex_color(str(m.get("text_color") or "#FFFFFF"), self, "text colour")
        return TextStyle(0, length, size, color[:3] + (num(m.get("text_alpha"), 1.0),),
                         bold=bool(m.get("bold_width", 0)), italic=bool(m.get("italic_degree", 0)),
                         underline=bool(m.get("underline", False)), strokes=strokes, shadows=shadows,
                         font_path=self.font_file(str(m.get("font_path", "") or "")),
                         font_id=str(m.get("font_id", "") or ""),
                         font_name=str(m.get("font_name", "") or "") or editor_name(
                             "font", "", (str(m.get("font_resource_id", "") or ""), str(m.get("font_id", "") or ""))))

    # ------------------------------------------------------------ fidelity

    def note(self, ti, si, feature: str, status: Literal["approximated", "ignored"], reason: str) -> None:
        self.notes.append(FidelityNote(ti, si, feature, status, reason))

    def note_family(self, ti: int, si: int, family: str, feature: str, name: str = "") -> None:
        status, reason = support(family, name)
        if status != "rendered":
            self.note(ti, si, feature, status, reason)

    def note_effect(self, ti: int, si: int, effect: NamedEffect, label: str | None = None) -> None:
        feature = f"{label or effect.kind.replace('_', ' ')} {effect.label}"
        status, reason = support(effect.kind, effect.name)
        if status != "rendered":
            self.note(ti, si, feature, status, reason)


# ---------------------------------------------------------------- value readers


def named(kind: EffectKind, name: Any, effect_id: Any, resource_id: Any) -> NamedEffect:
    """An editor effect, named as the editor names it in Chinese when its id is known."""
    written, ids = str(name or ""), (str(resource_id or ""), str(effect_id or ""))
    editor = editor_name(kind, written, ids)
    return NamedEffect(kind, editor, ids[1], ids[0], written_name=written if editor != written else "")


def shows_or_sounds(t: Track) -> bool:
    """Whether the track's segments reach the output: pictures not hidden, or sound not muted."""
    shows = not t.hidden and t.type in ("video", "text", "sticker")
    return shows or (not t.muted and t.type in ("video", "audio"))


def type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(v), "a number" if isinstance(v, (int, float)) else type(v).__name__)


def opt(d: dict, key: str, kind: type, where: str, p: _Parser):
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, kind):
        raise MalformedDraft(f"{p.origin}: {where} must be {type_name(kind())}, not {type_name(v)}")
    return v


_MISSING = object()


def as_int(v: Any, where: str, p: _Parser, default: Any = _MISSING) -> int:
    if v is None and default is not _MISSING:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        if v is None:
            raise MalformedDraft(f"{p.origin}: {where} is missing")
        raise MalformedDraft(f"{p.origin}: {where} must be {wanted_number(v)}")
    return int(round(v))


def as_float(v: Any, where: str, p: _Parser, default: Any = _MISSING) -> float:
    if v is None and default is not _MISSING:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise MalformedDraft(f"{p.origin}: {where} must be {wanted_number(v)}")
    return float(v)


def wanted_number(v: Any) -> str:
    # NaN and inf are floats to Python: say "finite" so the message does not contradict itself.
    if isinstance(v, float):
        return f"a finite number, not {v!r}"
    return f"a number, not {type_name(v)} {v!r:.40}"


def as_list(v: Any) -> list:
    """An optional list field; anything else written there counts as empty."""
    return v if isinstance(v, list) else []


def num(v: Any, default: float = 0.0) -> float:
    """A lenient number for optional style fields, where a wrong type means 'default'."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return default
    return float(v)


def dig(d: Any, *keys: str) -> dict:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d if isinstance(d, dict) else {}


def control(v: Any) -> tuple[float, float]:
    return (num(v.get("x")), num(v.get("y"))) if isinstance(v, dict) else (0.0, 0.0)


def rgb_list(v: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if isinstance(v, list) and len(v) >= 3:
        return tuple(min(max(num(c), 0.0), 1.0) for c in v[:3])  # type: ignore[return-value]
    return default


def hex_color(s: str, p: _Parser, where: str) -> RGBA:
    """'#RRGGBB' or '#RRGGBBAA' → RGBA floats. A bad colour is reported, not fatal."""
    h = s.strip().lstrip("#")
    if re.fullmatch(r"[0-9a-fA-F]{6}([0-9a-fA-F]{2})?", h):
        vals = [int(h[i:i + 2], 16) / 255 for i in range(0, len(h), 2)]
        return tuple(vals + [1.0] * (4 - len(vals)))  # type: ignore[return-value]
    p.note(None, None, where, "approximated", f"colour {s!r:.20} is not #RRGGBB[AA]: using black")
    return (0.0, 0.0, 0.0, 1.0)


def crop(c: Any) -> Crop:
    if not isinstance(c, dict):
        return Crop()
    xs = [num(c.get(k), d)
          for k, d in (("upper_left_x", 0), ("lower_left_x", 0), ("upper_right_x", 1), ("lower_right_x", 1))]
    ys = [num(c.get(k), d)
          for k, d in (("upper_left_y", 0), ("upper_right_y", 0), ("lower_left_y", 1), ("lower_right_y", 1))]
    left, right = max(0.0, min(xs[:2])), min(1.0, max(xs[2:]))
    top, bottom = max(0.0, min(ys[:2])), min(1.0, max(ys[2:]))
    if right <= left or bottom <= top:
        return Crop()
    return Crop(left, top, right, bottom)


MARKUP_COLOR = re.compile(r"<color=\(([^)]*)\)>")
MARKUP_SIZE = re.compile(r"<size=([0-9.]+)>")
MARKUP_OUTLINE = re.compile(r"<outline color=\(([^)]*)\) width=([0-9.]+)>")
MARKUP_FONT_PATH = re.compile(r'<font [^>]*path="([^"]*)"')


def markup_style(style: TextStyle, markup: str, font_file: Callable[[str], str]) -> TextStyle:
    """The style as the old rich-text markup (JianYing 3.x, CapCut 2.x) overrides it:
    <color=(r, g, b, a)>, <size=n>, <outline color=(r, g, b, a) width=w>, <font path="...">."""
    def rgba(text: str) -> RGBA | None:
        parts = [num(float(p)) if re.fullmatch(r"\s*[0-9.]+\s*", p) else -1.0 for p in text.split(",")]
        if len(parts) != 4 or min(parts) < 0:
            return None
        return (min(parts[0], 1.0), min(parts[1], 1.0), min(parts[2], 1.0), min(parts[3], 1.0))

    changes: dict[str, Any] = {}
    if (m := MARKUP_COLOR.search(markup)) and (color := rgba(m.group(1))):
        changes["color"] = color
    if (m := MARKUP_SIZE.search(markup)) and float(m.group(1)) > 0:
        changes["size"] = float(m.group(1))
    if (m := MARKUP_OUTLINE.search(markup)) and (color := rgba(m.group(1))):
        changes["strokes"] = (Stroke(color, float(m.group(2))),)
    if (m := MARKUP_FONT_PATH.search(markup)) and m.group(1):
        changes["font_path"] = font_file(m.group(1))
    return replace(style, **changes) if changes else style


def uniform_scale_keyframes(kfs: list[Keyframes], uniform: bool) -> tuple[Keyframes, ...]:
    """With uniform scale on, ScaleX keyframes (or the editor's UniformScale) drive both axes."""
    by_prop = {k.property: k for k in kfs}
    drive = by_prop.get("uniform_scale") or (by_prop.get("scale_x") if uniform else None)
    if drive is not None:
        for prop in ("scale_x", "scale_y"):
            if prop not in by_prop or by_prop.get("uniform_scale") is drive:
                by_prop[prop] = Keyframes(prop, drive.points)
        by_prop.pop("uniform_scale", None)
    return tuple(by_prop.values())


def words(w: Any) -> tuple[Word, ...]:
    """Per-word timing, written either as parallel lists or as a list of objects."""
    if isinstance(w, dict):
        texts, starts, ends = w.get("text") or [], w.get("start_time") or [], w.get("end_time") or []
        if isinstance(texts, list) and isinstance(starts, list) and isinstance(ends, list):
            return tuple(Word(str(t), int(num(s)), int(num(e))) for t, s, e in zip(texts, starts, ends, strict=True))
    if isinstance(w, list):
        return tuple(Word(str(x.get("text", "")), int(num(x.get("start_time"))), int(num(x.get("end_time"))))
                     for x in w if isinstance(x, dict))
    return ()
