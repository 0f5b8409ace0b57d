"""A product template written by pyJianYingDraft, as a designer would make one.

320×180, 30 fps, 1 s:
- main (video): a 100×100 grey photo whose material_name is `{{product_image}}`, scaled by
  `{{zoom|0.5}}` (a number field, edited in) and moved to the left half (centre x = 80);
  the canvas behind it is `{{bg_color|#336699ff}}` (typed into the JSON: the writer checks colours).
- caption (text): "{{product_name}}\\n¥{{price|9.99}}" on the right half (centre x = 240), in two
  style runs: the name white, the price line yellow.
"""

from __future__ import annotations

from pathlib import Path

import pyJianYingDraft as jy
from drafts import edit_json, material_json, track_json
from media_factory import make_image

SEC = 1_000_000
WORDS = "{{product_name}}\n¥{{price|9.99}}"
WHITE, YELLOW = [1.0, 1.0, 1.0], [1.0, 1.0, 0.0]


def product_template(root: Path, name: str = "product") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    script = jy.DraftFolder(str(root)).create_draft(name, 320, 180, 30, allow_replace=True)
    folder = root / name
    placeholder = make_image(folder / "media" / "placeholder.png", (100, 100), (128, 128, 128))
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.text, "caption")])
    photo = jy.VideoSegment(jy.VideoMaterial(str(placeholder), material_name="{{product_image}}"),
                            jy.trange(0, SEC), clip_settings=jy.ClipSettings(transform_x=-0.5))
    photo.add_background_filling("color", color="#336699ff")
    script.add_segment(photo, "main")
    script.add_segment(jy.TextSegment(WORDS, jy.trange(0, SEC), style=jy.TextStyle(size=8, color=(1.0, 1.0, 1.0)),
                                      clip_settings=jy.ClipSettings(transform_x=0.5)), "caption")
    script.save()

    def edit(data: dict) -> None:
        clip = track_json(data, "main")["segments"][0]["clip"]
        clip["scale"] = {"x": "{{zoom|0.5}}", "y": "{{zoom|0.5}}"}
        # pyJianYingDraft checks colours, so the colour field is typed in afterwards.
        data["materials"]["canvases"][0]["color"] = "{{bg_color|#336699ff}}"
        text_id = track_json(data, "caption")["segments"][0]["material_id"]
        set_runs(material_json(data, text_id)[1], WORDS, WORDS.index("¥"))
        # The template's medium is named relatively, so a published copy finds it.
        data["materials"]["videos"][0]["path"] = "media/placeholder.png"

    edit_json(folder, edit)
    return folder


def set_runs(text_material: dict, words: str, split: int) -> None:
    """Two style runs on a text material: [0, split) white, [split, end) yellow."""
    import json

    content = json.loads(text_material["content"])
    style = content["styles"][0]
    white = {**style, "range": [0, split], "fill": {"content": {"solid": {"color": WHITE}}}}
    yellow = {**style, "range": [split, len(words)], "fill": {"content": {"solid": {"color": YELLOW}}}}
    text_material["content"] = json.dumps({"text": words, "styles": [white, yellow]}, ensure_ascii=False)


def text_template(root: Path, name: str = "card") -> Path:
    """320×180, 1 s: a blue clip under "{{product_name}} ¥{{price|9.99}}" (no media fields)."""
    from media_factory import make_clip

    root.mkdir(parents=True, exist_ok=True)
    script = jy.DraftFolder(str(root)).create_draft(name, 320, 180, 30, allow_replace=True)
    folder = root / name
    clip = make_clip(folder / "media" / "clip.mp4", seconds=1.0, color=(40, 90, 200))
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.text, "caption")])
    script.add_segment(jy.VideoSegment(jy.VideoMaterial(str(clip)), jy.trange(0, SEC)), "main")
    script.add_segment(jy.TextSegment("{{product_name}} ¥{{price|9.99}}", jy.trange(0, SEC),
                                      style=jy.TextStyle(size=8)), "caption")
    script.save()
    edit_json(folder, lambda d: d["materials"]["videos"][0].update(path="media/clip.mp4"))
    return folder
