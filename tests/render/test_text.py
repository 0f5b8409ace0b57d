"""draftrender.render.text_layout and text_raster: captions from drafts written by pyJianYingDraft and pycapcut,
rasterised and measured in pixels. Fonts come from fontconfig (scripts/setup installs Noto
CJK and Noto Color Emoji); font files the tests point at are copies under tmp_path."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pycapcut as cc
import pyJianYingDraft as jy
import pytest

import draftrender
from draftrender.render import fonts as fonts_module
from draftrender.render.text_layout import CLOSING, NOTDEF_PROBE, OPENING
from draftrender.render.text_raster import SYNTHETIC_ITALIC_SHEAR, TextRenderer
from draftrender.timeline.parse import parse

SEC = 1_000_000
EM_SIZE_10_AT_1080 = 67.5  # px: size 10 on a 1080-wide canvas


def text_draft(tmp_path: Path, items, *, writer=jy, width=1080, height=1920, seconds=1.0, edit=None,
               media_roots=None):
    """Write one text segment per item with a real draft writer, parse the draft, and return
    the Text materials in order. An item is (content, kwargs-factory taking the writer module)."""
    name = f"{writer.__name__}_{len(list(tmp_path.iterdir()))}"
    script = writer.DraftFolder(str(tmp_path)).create_draft(name, width, height, 30, allow_replace=True)
    if writer is jy:
        script.append_tracks([jy.TrackSpec(jy.TrackType.text, "caption")])
    else:
        script.add_track(cc.TrackType.text, "caption")
    dur = round(seconds * SEC)
    for i, (content, kwargs) in enumerate(items):
        segment = writer.TextSegment(content, writer.trange(i * dur, dur), **(kwargs(writer) if kwargs else {}))
        script.add_segment(segment, "caption")
    script.save()
    path = tmp_path / name / "draft_content.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    if edit is not None:
        for m in data["materials"]["texts"]:
            edit(m)
    tl = parse(data, media_roots=media_roots)
    return [s.material for s in tl.segments if s.kind == "text"]


def style(**kw):
    return lambda w: {"style": w.TextStyle(**kw)}


def edit_styles(change):
    """A draft edit that rewrites the styles inside each text material's content JSON."""
    def edit(material):
        content = json.loads(material["content"])
        content["styles"] = change(content["text"], content["styles"])
        material["content"] = json.dumps(content, ensure_ascii=False)
    return edit


def ink(picture: np.ndarray, threshold: int = 128) -> np.ndarray:
    return picture[..., 3] >= threshold


def bbox_from_centre(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Ink box (left, top, right, bottom) relative to the picture's centre."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return cols[0] - w / 2, rows[0] - h / 2, cols[-1] + 1 - w / 2, rows[-1] + 1 - h / 2


def bands(profile: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs where a 1-D profile is true."""
    edges = np.diff(np.concatenate([[0], profile.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def line_texts(renderer: TextRenderer, text) -> list[str]:
    lines: dict[int, str] = {}
    for g in renderer.layout(text).glyphs:
        lines[g.line] = lines.get(g.line, "") + g.cluster
    return [lines[k] for k in sorted(lines)]


def system_font(pattern: str) -> Path:
    out = subprocess.run(["fc-match", "--format", "%{file}", pattern], capture_output=True, text=True, check=True)
    return Path(out.stdout)


@pytest.fixture(scope="module")
def renderer():
    return TextRenderer(1080, 1920)


# ---------------------------------------------------------------- fonts: no tofu, emoji, fallbacks


@pytest.mark.parametrize("writer", [jy, cc], ids=["pyjianyingdraft", "pycapcut"])
@pytest.mark.parametrize("content", ["字幕测试，你好！", "Hello, World", "混合 Mixed 文本 123", "表情😀👍🏽❤️🇨🇳"],
                         ids=["chinese", "english", "mixed", "emoji"])
def test_every_glyph_is_drawn_by_a_font_that_has_it(tmp_path, renderer, writer, content):
    (text,) = text_draft(tmp_path, [(content, style(size=10))], writer=writer)
    assert text.text == content
    picture = renderer.picture(text)
    assert picture.dtype == np.uint8 and picture.shape[2] == 4 and ink(picture).any()
    for g in renderer.layout(text).glyphs:
        if g.cluster.isspace():
            continue
        font = g.face.font(g.em)
        if g.face.color:
            continue  # colour emoji are checked on the picture below
        notdef = font.getmask(NOTDEF_PROBE)
        glyph = font.getmask(g.cluster)
        assert (glyph.size, bytes(glyph)) != (notdef.size, bytes(notdef)), f"{g.cluster!r} is tofu in {g.face.family}"
    if "😀" in content:
        emoji = [g for g in renderer.layout(text).glyphs if g.face.color]
        assert [g.cluster for g in emoji] == ["😀", "👍🏽", "❤️", "🇨🇳"]
        # Colour, not a grey outline: saturated opaque pixels where the emoji are.
        rgb = picture[..., :3].astype(int)
        saturated = (rgb.max(axis=2) - rgb.min(axis=2) > 80) & ink(picture, 250)
        assert saturated.sum() > 0.2 * EM_SIZE_10_AT_1080 ** 2 * len(emoji)


def test_a_latin_font_from_the_draft_falls_back_per_glyph_for_chinese(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    latin = shutil.copy(system_font("DejaVu Sans"), fonts / "MyLatin.ttf")

    def set_font(text, styles):
        for s in styles:
            s["font"] = {"id": "1", "path": str(latin)}
        return styles

    (text,) = text_draft(tmp_path, [("Price 价格 9.9元", style(size=10))], edit=edit_styles(set_font))
    r = TextRenderer(1080, 1920)
    faces = {g.cluster: g.face for g in r.layout(text).glyphs}
    assert Path(faces["P"].path).name == "MyLatin.ttf"  # the draft's own font file
    for ch in "价格元":
        assert Path(faces[ch].path).name != "MyLatin.ttf" and faces[ch].covers(ord(ch))
        font = faces[ch].font(EM_SIZE_10_AT_1080)
        assert bytes(font.getmask(ch)) != bytes(font.getmask(NOTDEF_PROBE))
    assert r.warnings == []


def test_each_missing_font_falls_back_and_is_listed_once_by_name(tmp_path):
    # pyJianYingDraft writes editor fonts as an id with the placeholder path "D:": the id names it.
    (by_id,) = text_draft(tmp_path, [("占位字体", lambda w: {"font": w.FontType.文轩体})])
    assert by_id.styles[0].font_path == "D:" and by_id.styles[0].font_name == "文轩体"
    r = TextRenderer(1080, 1920)
    assert r.picture(by_id)[..., 3].any()
    default = r.fonts.default.family
    assert r.fonts.replaced == {"文轩体": default}

    def named(material):  # an older draft: one flat style naming its font
        material["content"] = "<font>[有名字的字体]</font>"
        material["font_name"] = "NoSuchFont Sans"
        material["font_path"] = "C:/Windows/Fonts/NoSuchFont.ttf"

    texts = text_draft(tmp_path, [("x", None), ("y", None)], edit=named)
    for t in texts:
        assert r.picture(t)[..., 3].any()
    assert r.fonts.replaced == {"文轩体": default, "NoSuchFont Sans": default}
    assert r.warnings == []


def test_the_render_report_lists_each_replaced_font_once(tmp_path):
    script = jy.DraftFolder(str(tmp_path)).create_draft("fonts", 320, 180, 30, allow_replace=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.text, "caption")])
    for i in range(2):
        script.add_segment(jy.TextSegment("字", jy.trange(i * SEC // 2, SEC // 2), font=jy.FontType.文轩体), "caption")
    script.save()
    result = draftrender.render(tmp_path / "fonts", tmp_path / "out.mp4", preset="ultrafast", audio=False)
    fonts = [n for n in result.fidelity if n.feature.startswith("font ")]
    assert [(n.feature, n.status) for n in fonts] == [("font 文轩体", "approximated")]
    assert fonts[0].reason == f"not installed here: drawn with {TextRenderer(8, 8).fonts.default.family}"


def test_the_editors_own_default_font_is_not_a_replacement(tmp_path):
    def system(material):
        material["content"] = "<font>[系统字体]</font>"
        material["font_path"] = "C:/Program Files/JianyingPro/Resources/Font/SystemFont/zh-hans.ttf"

    (text,) = text_draft(tmp_path, [("x", None)], edit=system)
    r = TextRenderer(1080, 1920)
    assert r.picture(text)[..., 3].any()
    assert r.fonts.replaced == {}


def test_a_font_file_outside_the_media_roots_is_never_opened(tmp_path):
    fonts, library = tmp_path / "fonts", tmp_path / "library"
    fonts.mkdir(), library.mkdir()
    outside = shutil.copy(system_font("DejaVu Sans"), fonts / "MyLatin.ttf")
    inside = shutil.copy(system_font("DejaVu Sans"), library / "Inside.ttf")
    seen = {}
    for name, path in (("exists", outside), ("absent", fonts / "Absent.ttf"), ("inside", inside)):
        def set_font(text, styles, path=path):
            for s in styles:
                s["font"] = {"id": "1", "path": str(path)}
            return styles

        (text,) = text_draft(tmp_path, [("Font", style(size=10))], edit=edit_styles(set_font), media_roots=(library,))
        r = TextRenderer(1080, 1920)
        seen[name] = (text.styles[0].font_path, {g.face.path for g in r.layout(text).glyphs}, r.fonts.replaced)
    assert seen["inside"] == (str(inside.resolve()), {str(inside.resolve())}, {})
    # Outside the roots: only the name is looked up (among installed fonts), and the report
    # is the same whether such a file exists or not.
    assert seen["exists"][0] == "MyLatin.ttf" and str(outside) not in seen["exists"][1]
    assert seen["exists"][2] == {"MyLatin.ttf": TextRenderer(8, 8).fonts.default.family}
    assert seen["absent"][2] == {"Absent.ttf": TextRenderer(8, 8).fonts.default.family}


def test_a_font_name_is_never_an_fc_match_option(monkeypatch):
    calls = []
    real_run = subprocess.run

    def run(argv, **kw):
        calls.append(argv)
        return real_run(argv, **kw)

    monkeypatch.setattr(fonts_module.subprocess, "run", run)
    book = fonts_module.FontBook()
    calls.clear()
    assert book.primary("", "-s") == book.default
    (argv,) = [a for a in calls if a[0] == "fc-match"]
    assert argv[-2:] == ["--", "-s:lang=zh-cn"]


# ---------------------------------------------------------------- size and layout


def test_chinese_ink_height_and_advance_follow_the_em_rule(tmp_path, renderer):
    (one, two) = text_draft(tmp_path, [("中", style(size=10)), ("丨丨", style(size=10))])
    rows = np.flatnonzero(ink(renderer.picture(one)).any(axis=1))
    ink_height = rows[-1] - rows[0] + 1
    assert 0.88 * EM_SIZE_10_AT_1080 <= ink_height <= 0.95 * EM_SIZE_10_AT_1080  # 63 px with Noto Sans CJK
    # Two identical glyphs: their ink starts one em apart.
    (first, _), (second, _) = bands(ink(renderer.picture(two)).any(axis=0))
    assert abs((second - first) - EM_SIZE_10_AT_1080) <= 1


def test_landscape_size_6_is_the_same_absolute_size(tmp_path):
    (text,) = text_draft(tmp_path, [("中", style(size=6))], width=1920, height=1080)
    rows = np.flatnonzero(ink(TextRenderer(1920, 1080).picture(text)).any(axis=1))
    assert abs((rows[-1] - rows[0] + 1) - 0.933 * 72) <= 2  # one em = 6 × 1920 / 160 = 72 px


SUBTITLE = "今天我们来聊一聊，如何制作字（幕）才能让观众一眼就看懂！最后别忘了点赞、关注和收藏。我们下期再见「再见」"


def test_long_chinese_subtitle_wraps_at_line_max_width_with_chinese_rules(tmp_path, renderer):
    (text,) = text_draft(tmp_path, [(SUBTITLE, style(size=10, auto_wrapping=True, max_line_width=0.5))])
    assert text.wrap and text.line_max_width == 0.5
    lines = line_texts(renderer, text)
    # 540 px holds 8 ideographs of 67.5 px. "，" may not start line 2, so "聊" goes down with
    # it; "（" may not end line 2, so it goes down to line 3 with "幕".
    assert lines == ["今天我们来聊一", "聊，如何制作字", "（幕）才能让观众", "一眼就看懂！最后",
                     "别忘了点赞、关注", "和收藏。我们下期", "再见「再见」"]
    for line in lines:
        assert line[0] not in CLOSING and line[-1] not in OPENING, line
    picture = renderer.picture(text)
    assert len(bands(ink(picture).any(axis=1))) == len(lines)
    cols = np.flatnonzero(ink(picture).any(axis=0))
    assert cols[-1] - cols[0] + 1 <= 0.5 * 1080
    assert cols[-1] - cols[0] + 1 >= 7.5 * EM_SIZE_10_AT_1080  # full lines are 8 ideographs wide


def test_latin_words_are_not_split_unless_longer_than_a_line(tmp_path, renderer):
    content = "Subtitles wrap between words Pneumonoultramicroscopicsilicovolcanoconiosis ok"
    (text,) = text_draft(tmp_path, [(content, style(size=10, auto_wrapping=True, max_line_width=0.6))])
    lines = line_texts(renderer, text)
    words = content.split()
    for line in lines:
        for word in line.split():
            assert word in words or word in words[4], (line, lines)
    assert "".join(lines).replace(" ", "") == content.replace(" ", "")
    assert any(w == "Subtitles" for line in lines for w in line.split())
    width = 0.6 * 1080
    for g in renderer.layout(text).glyphs:
        assert g.x + g.advance <= width + 1


@pytest.mark.parametrize("align", [0, 1, 2], ids=["left", "centre", "right"])
def test_alignment_positions_lines_in_the_block(tmp_path, renderer, align):
    (text,) = text_draft(tmp_path, [("一\n一一一\n一一一一一", style(size=10, align=align))])
    picture = ink(renderer.picture(text))
    rows = bands(picture.any(axis=1))
    assert len(rows) == 3
    spans = []
    for top, bottom in rows:
        cols = np.flatnonzero(picture[top:bottom].any(axis=0))
        spans.append((cols[0], cols[-1] + 1))
    lefts, rights = [s[0] for s in spans], [s[1] for s in spans]
    centres = [(a + b) / 2 for a, b in spans]
    if align == 0:
        assert max(lefts) - min(lefts) <= 1
    elif align == 2:
        assert max(rights) - min(rights) <= 1
    else:
        assert max(centres) - min(centres) <= 1
    widths = [b - a for a, b in spans]
    assert abs((widths[2] - widths[0]) - 4 * EM_SIZE_10_AT_1080) <= 2
    # Line height ≈ em × (1 + line_spacing), pyJianYingDraft's line_spacing 0 being the editor's 0.02.
    assert abs((rows[1][0] - rows[0][0]) - EM_SIZE_10_AT_1080 * 1.02) <= 1


def test_letter_and_line_spacing_widen_the_block(tmp_path, renderer):
    plain, spaced = text_draft(tmp_path, [("一一\n一一", style(size=10)),
                                          ("一一\n一一", style(size=10, letter_spacing=2, line_spacing=4))])
    assert (spaced.letter_spacing, spaced.line_spacing) == pytest.approx((0.1, 0.22))
    a, b = ink(renderer.picture(plain)), ink(renderer.picture(spaced))
    (l0, _), (l1, _) = bands(a[: a.shape[0] // 2].any(axis=0))
    (m0, _), (m1, _) = bands(b[: b.shape[0] // 2].any(axis=0))
    assert abs((m1 - m0) - (l1 - l0) - 0.1 * EM_SIZE_10_AT_1080) <= 1
    (t0, _), (t1, _) = bands(a.any(axis=1))
    (u0, _), (u1, _) = bands(b.any(axis=1))
    assert abs((u1 - u0) - (t1 - t0) - 0.2 * EM_SIZE_10_AT_1080) <= 1


def test_vertical_text_runs_in_columns_right_to_left(tmp_path, renderer):
    (text,) = text_draft(tmp_path, [("口田日\n中", style(size=10, vertical=True))])
    assert text.vertical
    picture = ink(renderer.picture(text))
    columns = bands(picture.any(axis=0))
    assert len(columns) == 2
    (left_a, left_b), (right_a, right_b) = columns
    right_rows = bands(picture[:, right_a:right_b].any(axis=1))
    left_rows = bands(picture[:, left_a:left_b].any(axis=1))
    assert len(right_rows) == 3 and len(left_rows) == 1  # the first line is the right column
    assert right_rows[0][0] < right_rows[1][0] < right_rows[2][0]  # top to bottom
    assert picture.shape[0] > picture.shape[1]


def test_mixed_sizes_and_colours_by_range(tmp_path, renderer):
    def split(text, styles):
        small, big = dict(styles[0]), json.loads(json.dumps(styles[0]))
        small["range"], big["range"] = [0, 2], [2, len(text)]
        small["fill"]["content"]["solid"]["color"] = [1.0, 0.0, 0.0]
        big["fill"]["content"]["solid"]["color"] = [0.0, 0.0, 1.0]
        big["size"] = 20
        return [small, big]

    (text,) = text_draft(tmp_path, [("中中中中", style(size=10))], edit=edit_styles(split))
    assert [s.size for s in text.styles] == [10, 20]
    picture = renderer.picture(text)
    solid = ink(picture, 250)
    red = solid & (picture[..., 0] > 200) & (picture[..., 2] < 50)
    blue = solid & (picture[..., 2] > 200) & (picture[..., 0] < 50)
    red_cols, blue_cols = np.flatnonzero(red.any(axis=0)), np.flatnonzero(blue.any(axis=0))
    assert red_cols[-1] < blue_cols[0]  # red first, then blue
    red_rows, blue_rows = np.flatnonzero(red.any(axis=1)), np.flatnonzero(blue.any(axis=1))
    ratio = (blue_rows[-1] - blue_rows[0] + 1) / (red_rows[-1] - red_rows[0] + 1)
    assert 1.9 <= ratio <= 2.1
    # One baseline: the bottoms of the ideographs line up within the em box's descent.
    assert abs(blue_rows[-1] - red_rows[-1]) <= 0.12 * 2 * EM_SIZE_10_AT_1080


# ---------------------------------------------------------------- stroke, shadow, box, styles


def test_stroke_lies_just_outside_the_fill(tmp_path, renderer):
    plain, stroked = text_draft(tmp_path, [
        ("中", style(size=10)),
        ("中", lambda w: {"style": w.TextStyle(size=10), "border": w.TextBorder(color=(1.0, 0.0, 0.0), width=40)}),
    ])
    assert stroked.styles[0].strokes[0].width == pytest.approx(0.08)
    fill_box = bbox_from_centre(ink(renderer.picture(plain)))
    picture = renderer.picture(stroked)
    box = bbox_from_centre(ink(picture))
    grow = 0.08 * EM_SIZE_10_AT_1080  # 5.4 px
    for a, b, sign in zip(fill_box, box, (-1, -1, 1, 1), strict=True):
        assert abs((b - a) * sign - grow) <= 1.5
    # Where the plain glyph has no ink but the stroked one does, the pixels are the stroke colour.
    # Both pictures share their centre, so padding the smaller one evenly aligns them.
    (h, w), p0 = picture.shape[:2], renderer.picture(plain)
    fill = np.pad(p0[..., 3], (((h - p0.shape[0]) // 2,), ((w - p0.shape[1]) // 2,)))
    ring = ink(picture, 250) & (fill == 0)
    assert ring.sum() > 1000
    assert (picture[ring][:, 0] > 240).all() and (picture[ring][:, 1:3] < 15).all()
    core = fill == 255
    assert core.sum() > 500 and (picture[core][:, :3] > 240).all()  # the fill stays white on top


@pytest.mark.parametrize("angle, direction", [(-45, (1, 1)), (135, (-1, -1)), (90, (0, -1))])
def test_shadow_is_offset_along_its_angle(tmp_path, renderer, angle, direction):
    plain, shadowed = text_draft(tmp_path, [
        ("中", style(size=10)),
        ("中", lambda w: {"style": w.TextStyle(size=10),
                          "shadow": w.TextShadow(color=(0.0, 0.0, 0.0), alpha=1.0, distance=20, angle=angle,
                                                 diffuse=0)}),
    ])
    offset = 20 / 100 * EM_SIZE_10_AT_1080  # 13.5 px
    dx = offset * math.cos(math.radians(angle))
    dy = -offset * math.sin(math.radians(angle))
    fill_box = bbox_from_centre(ink(renderer.picture(plain)))
    picture = renderer.picture(shadowed)
    box = bbox_from_centre(ink(picture))
    # The ink grows on the shadow's side only, by the offset.
    for k, (a, b) in enumerate(zip(fill_box, box, strict=True)):
        d = dx if k % 2 == 0 else dy
        expected = d if (d > 0) == (k >= 2) and abs(d) > 0.5 else 0.0
        assert abs((b - a) - expected) <= 1.5, (k, a, b, expected)
    dark = ink(picture, 250) & (picture[..., :3].max(axis=2) < 20)
    ys, xs = np.nonzero(dark)
    h, w = dark.shape
    cx, cy = xs.mean() - w / 2, ys.mean() - h / 2
    assert np.sign(round(cx / 3)) == direction[0] and np.sign(round(cy / 3)) == direction[1]


def test_background_box_global_alpha_and_rounded_corners(tmp_path, renderer):
    square, rounded = text_draft(tmp_path, [
        ("一二三", lambda w: {"style": w.TextStyle(size=10, alpha=0.5),
                           "background": w.TextBackground(color="#204060", alpha=0.8)}),
        ("一二三", lambda w: {"style": w.TextStyle(size=10),
                           "background": w.TextBackground(color="#204060", alpha=0.8, round_radius=1.0)}),
    ])
    assert square.global_alpha == 0.5 and square.background is not None
    picture = renderer.picture(square)
    h, w = picture.shape[:2]
    pad = 0.14 * 2.0 * EM_SIZE_10_AT_1080  # background_width 0.14 → 0.28 em
    assert abs(w - (3 * EM_SIZE_10_AT_1080 + 2 * pad)) <= 3
    corner = picture[1, 1]
    assert tuple(corner[:3]) == pytest.approx((0x20, 0x40, 0x60), abs=2)
    assert corner[3] == pytest.approx(0.8 * 0.5 * 255, abs=2)  # box alpha × global alpha
    white = (picture[..., :3] > 250).all(axis=2)
    assert white.sum() > 500 and picture[white][:, 3].max() == pytest.approx(0.5 * 255, abs=2)
    round_picture = renderer.picture(rounded)
    assert round_picture[0, 0, 3] == 0 and round_picture[round_picture.shape[0] // 2, 3, 3] > 150


def test_bold_italic_and_underline(tmp_path, renderer):
    regular, bold, italic, underline = text_draft(tmp_path, [
        ("中", style(size=10)), ("中", style(size=10, bold=True)), ("中", style(size=10, italic=True)),
        ("一一", style(size=10, underline=True)),
    ])
    area = ink(renderer.picture(regular)).sum()
    assert ink(renderer.picture(bold)).sum() > 1.3 * area  # Noto Sans CJK Bold, a real bold face
    # Synthetic italic: the top of the glyph leans right of its bottom by the shear.
    slanted = ink(renderer.picture(italic))
    upright = ink(renderer.picture(regular))
    rows = np.flatnonzero(slanted.any(axis=1))
    top, bottom = rows[0] + 8, rows[-1] - 8

    def lean(mask):
        return np.flatnonzero(mask[top])[0] - np.flatnonzero(mask[bottom])[0]

    assert abs((lean(slanted) - lean(upright)) - SYNTHETIC_ITALIC_SHEAR * (bottom - top)) <= 2.5
    lines = bands(ink(renderer.picture(underline)).any(axis=1))
    assert len(lines) == 2  # the strokes of 一 and, below them, the underline
    u = ink(renderer.picture(underline))[lines[1][0]:lines[1][1]]
    assert len(bands(u.any(axis=0))) == 1  # one continuous line under both characters


def test_synthetic_bold_when_the_family_has_no_bold_face(tmp_path):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    math_font = shutil.copy(system_font("DejaVu Math TeX Gyre"), fonts / "OnlyRegular.ttf")

    def set_font(text, styles):
        for s in styles:
            s["font"] = {"id": "1", "path": str(math_font)}
        return styles

    regular, bold = text_draft(tmp_path, [("Hello", style(size=10)), ("Hello", style(size=10, bold=True))],
                               edit=edit_styles(set_font))
    r = TextRenderer(1080, 1920)
    glyphs = r.layout(bold).glyphs
    assert all(g.synthetic_bold and Path(g.face.path).name == "OnlyRegular.ttf" for g in glyphs)
    assert ink(r.picture(bold)).sum() > 1.2 * ink(r.picture(regular)).sum()


# ---------------------------------------------------------------- caching


def test_sixty_second_draft_rasterises_each_subtitle_once(tmp_path):
    items = [(f"第{i + 1}句字幕，内容各不相同。", style(size=10, auto_wrapping=True)) for i in range(30)]
    texts = text_draft(tmp_path, items, seconds=2.0)
    assert len(texts) == 30 and len(set(texts)) == 30
    r = TextRenderer(1080, 1920)
    fps = 30
    for frame in range(60 * fps):
        t = frame * SEC // fps
        picture = r.picture(texts[t // (2 * SEC)])
        assert picture[..., 3].any()
    assert r.rasterized == 30
    # The same array comes back, and nobody can write into the shared picture.
    assert r.picture(texts[-1]) is r.picture(texts[-1]) and not r.picture(texts[-1]).flags.writeable
    assert r.rasterized == 30


def test_cache_is_bounded_in_bytes_and_keeps_the_latest(tmp_path):
    from draftrender.render.text_raster import CACHE_BYTES, CACHE_KEPT

    big = text_draft(tmp_path, [(f"大字{i}", style(size=40)) for i in range(24)])
    r = TextRenderer(1080, 1920)
    sizes = [r.picture(t).nbytes for t in big]
    assert sum(sizes) > 2 * CACHE_BYTES  # so the bound must bite
    assert r.cached_bytes <= max(CACHE_BYTES, sum(sizes[-CACHE_KEPT:]))
    assert r.cached_bytes == sum(p.nbytes for p in r._pictures._entries.values())
    # The latest CACHE_KEPT stay, however large: a frame's texts never re-rasterise each other.
    for t in big[-CACHE_KEPT:]:
        r.picture(t)
    assert r.rasterized == 24
    r.picture(big[0])  # long evicted
    assert r.rasterized == 25
    # Small texts: many more than CACHE_KEPT fit in the byte budget.
    small = text_draft(tmp_path, [(f"{i}", style(size=2)) for i in range(70)])
    r = TextRenderer(320, 180)
    for t in small + small:
        r.picture(t)
    assert r.rasterized == 70
