"""A Composition written as a JianYing draft (draft_content.json), the input draftrender reads.

Plain JSON with the fields pyJianYingDraft 0.3.1 writes for the same edits (see the samples
and DRAFT_FORMAT.md): materials videos/audios/texts/transitions/speeds/audio_fades/masks/
effects, one track per layer, segments with clip and common_keyframes. Ids come from a
counter, so the same composition always gives the same file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .scenarios import SEC, Caption, Composition, Music, Visual

PHOTO_DURATION = 10_800 * SEC  # editors give photos 3 h
# The editor's own resource ids for the effects the scenarios use (from pyJianYingDraft's tables).
DISSOLVE = {"name": "叠化", "effect_id": "322577", "resource_id": "6724845717472416269"}
SCREEN = {"name": "滤色", "effect_id": "871339", "resource_id": "6758325170760323597"}
CIRCLE = {"name": "圆形", "resource_type": "circle", "resource_id": "6791700663249146381"}


class DraftWriter:
    def __init__(self, comp: Composition, media_dir: Path):
        self.comp = comp
        self.media_dir = media_dir
        self.counter = 0
        self.materials: dict[str, list] = {k: [] for k in (
            "videos", "audios", "texts", "speeds", "transitions", "audio_fades", "masks", "common_mask",
            "effects", "canvases", "material_animations")}
        self.media_ids: dict[str, str] = {}

    def new_id(self) -> str:
        self.counter += 1
        return hashlib.md5(f"draftrender-bench/{self.counter}".encode()).hexdigest()

    def add(self, kind: str, item: dict) -> str:
        item.setdefault("id", self.new_id())
        self.materials[kind].append(item)
        return item["id"]

    def draft(self) -> dict:
        c = self.comp
        tracks: list[dict] = []
        for layer in sorted({v.layer for v in c.visuals}):
            segs = [v for v in c.visuals if v.layer == layer]
            tracks.append(self.track("video", f"layer{layer}", [self.visual(v, segs, len(tracks)) for v in segs]))
        if c.captions:
            tracks.append(self.track("text", "captions", [self.caption(t, len(tracks)) for t in c.captions]))
        for kind in dict.fromkeys(m.media.kind for m in c.music):  # a track each: the voice runs under the music
            tracks.append(self.track("audio", kind, [self.music(m, len(tracks)) for m in c.music
                                                     if m.media.kind == kind]))
        app = {"app_id": 3704, "app_source": "lv", "app_version": "5.9.0", "os": "windows"}
        return {
            "canvas_config": {"width": c.width, "height": c.height, "ratio": "original"},
            "color_space": 0, "duration": c.duration, "fps": c.fps, "id": self.new_id().upper(),
            "materials": self.materials, "name": "", "new_version": "110.0.0", "platform": app,
            "last_modified_platform": app, "render_index_track_mode_on": False, "source": "default",
            "tracks": tracks, "version": 360000,
        }

    def track(self, ttype: str, name: str, segments: list[dict]) -> dict:
        return {"attribute": 0, "flag": 0, "id": self.new_id(), "is_default_name": False, "name": name,
                "type": ttype, "segments": segments}

    def segment(self, material_id: str, start: int, duration: int, source: dict | None, refs: list[str],
                render_index: int, volume: float = 1.0, clip: dict | None = None, keyframes=()) -> dict:
        speed = self.add("speeds", {"type": "speed", "mode": 0, "speed": 1.0, "curve_speed": None})
        return {
            "enable_adjust": True, "enable_color_curves": True, "enable_color_wheels": True, "enable_lut": True,
            "last_nonzero_volume": 1.0, "reverse": False, "track_attribute": 0, "track_render_index": render_index,
            "visible": True, "id": self.new_id(), "material_id": material_id,
            "target_timerange": {"start": start, "duration": duration}, "source_timerange": source,
            "common_keyframes": list(keyframes), "keyframe_refs": [], "speed": 1.0, "volume": volume,
            "extra_material_refs": [speed, *refs], "is_tone_modify": False, "clip": clip,
            "uniform_scale": {"on": True, "value": 1.0}, "render_index": render_index,
        }

    def video_material(self, v: Visual) -> str:
        spec = v.media
        if spec.name not in self.media_ids:
            photo = spec.still
            self.media_ids[spec.name] = self.add("videos", {
                "type": "photo" if photo else "video", "material_name": spec.name,
                "path": str(self.media_dir / spec.name), "width": spec.width, "height": spec.height,
                "duration": PHOTO_DURATION if photo else round(spec.seconds * SEC),
                "crop": {"upper_left_x": 0.0, "upper_left_y": 0.0, "upper_right_x": 1.0, "upper_right_y": 0.0,
                         "lower_left_x": 0.0, "lower_left_y": 1.0, "lower_right_x": 1.0, "lower_right_y": 1.0},
                "crop_ratio": "free", "crop_scale": 1.0, "category_name": "local", "check_flag": 63487})
        return self.media_ids[spec.name]

    def visual(self, v: Visual, layer: list[Visual], render_index: int) -> dict:
        refs = []
        if v.dissolve:
            refs.append(self.add("transitions", {"type": "transition", **DISSOLVE, "duration": v.dissolve,
                                                 "is_overlap": True, "platform": "all", "category_id": "",
                                                 "category_name": ""}))
        if v.mask_circle:
            refs.append(self.mask(v))
        if v.blend:
            refs.append(self.add("effects", {"type": "mix_mode", **SCREEN, "value": 1.0, "apply_target_type": 0,
                                             "platform": "all", "source_platform": 0, "category_id": "",
                                             "category_name": "", "sub_type": "none", "time_range": None}))
        clip = {"alpha": v.alpha, "flip": {"horizontal": False, "vertical": False}, "rotation": v.rotation,
                "scale": {"x": v.scale, "y": v.scale}, "transform": {"x": v.x, "y": v.y}}
        keyframes = []
        if v.zoom_to is not None:
            keyframes.append(self.keyframes("KFTypeScaleX", [(0, v.scale), (v.duration, v.zoom_to)]))
        if v.pan_to is not None:
            keyframes += [self.keyframes("KFTypePositionX", [(0, v.x), (v.duration, v.pan_to[0])]),
                          self.keyframes("KFTypePositionY", [(0, v.y), (v.duration, v.pan_to[1])])]
        fade_in, fade_out = v.fade_alpha
        if fade_in or fade_out:
            keyframes.append(self.keyframes("KFTypeAlpha", [(0, 0.0), (fade_in, v.alpha),
                                                            (v.duration - fade_out, v.alpha), (v.duration, 0.0)]))
        source = None if v.media.still else {"start": v.source_start, "duration": v.duration}
        if source is None:
            source = {"start": 0, "duration": v.duration}
        return self.segment(self.video_material(v), v.start, v.duration, source, refs, render_index,
                            volume=v.volume, clip=clip, keyframes=keyframes)

    def mask(self, v: Visual) -> str:
        # The editor keeps the mask in both lists under one id; newer versions read common_mask.
        size = v.mask_circle
        config = {"aspectRatio": 1.0, "centerX": 0.0, "centerY": 0.0, "feather": 0.0, "height": size,
                  "width": size * v.media.height / v.media.width, "invert": False, "rotation": 0.0,
                  "roundCorner": 0.0}
        item = {"type": "mask", **CIRCLE, "config": config, "platform": "all", "position_info": ""}
        mask_id = self.add("masks", item)
        self.materials["common_mask"].append({**item, "config": {**config, "expansion": 0.0}, "category": "video"})
        return mask_id

    def keyframes(self, prop: str, points: list[tuple[int, float]]) -> dict:
        return {"id": self.new_id(), "material_id": "", "property_type": prop, "keyframe_list": [
            {"curveType": "Line", "graphID": "", "id": self.new_id(), "time_offset": t, "values": [value],
             "left_control": {"x": 0.0, "y": 0.0}, "right_control": {"x": 0.0, "y": 0.0}} for t, value in points]}

    def caption(self, t: Caption, render_index: int) -> dict:
        style = {
            "fill": {"alpha": 1.0,
                     "content": {"render_type": "solid", "solid": {"alpha": 1.0, "color": list(t.color)}}},
            "range": [0, len(t.text)], "size": t.size, "bold": False, "italic": False, "underline": False,
            "strokes": [{"content": {"solid": {"alpha": 1.0, "color": list(t.stroke)}}, "width": t.stroke_em}],
            "shadows": [{"diffuse": 0.025, "alpha": t.shadow_alpha, "distance": 6,
                         "content": {"solid": {"color": [0.0, 0.0, 0.0]}}, "angle": -45}],
        }
        text_id = self.add("texts", {
            "type": "text", "content": json.dumps({"styles": [style], "text": t.text}, ensure_ascii=False),
            "typesetting": 0, "alignment": 1, "letter_spacing": 0.0, "line_spacing": 0.02, "line_feed": 1,
            "line_max_width": 0.82, "force_apply_line_max_width": False, "check_flag": 47, "global_alpha": 1.0})
        clip = {"alpha": 1.0, "flip": {"horizontal": False, "vertical": False}, "rotation": 0.0,
                "scale": {"x": 1.0, "y": 1.0}, "transform": {"x": 0.0, "y": t.y}}
        return self.segment(text_id, t.start, t.duration, None, [], render_index, clip=clip)

    def music(self, m: Music, render_index: int) -> dict:
        if m.media.name not in self.media_ids:
            self.media_ids[m.media.name] = self.add("audios", {
                "type": "extract_music", "name": m.media.name, "path": str(self.media_dir / m.media.name),
                "duration": round(m.media.seconds * SEC), "category_name": "local", "check_flag": 3})
        refs = []
        if m.fade_in or m.fade_out:
            refs.append(self.add("audio_fades", {"type": "audio_fade", "fade_in_duration": m.fade_in,
                                                 "fade_out_duration": m.fade_out, "fade_type": 0}))
        # Volume keyframes replace the segment's volume.
        keyframes = [self.keyframes("KFTypeVolume", list(m.gains))] if m.gains else []
        seg = self.segment(self.media_ids[m.media.name], m.start, m.duration, {"start": 0, "duration": m.duration},
                           refs, render_index, volume=1.0 if m.gains else m.volume, keyframes=keyframes)
        seg["uniform_scale"] = None
        return seg


def write_draft(comp: Composition, media_dir: Path, folder: Path) -> Path:
    """Write the composition's draft_content.json into `folder`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "draft_content.json"
    text = json.dumps(DraftWriter(comp, media_dir.resolve()).draft(), ensure_ascii=False, indent=1)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
