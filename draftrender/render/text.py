"""Text materials → one straight-alpha RGBA picture per distinct text.

Owns text layout (styles by character range, a font per character, line breaking with
Chinese rules, alignment, line and letter spacing, vertical columns) and rasterisation
(fill, synthetic bold and italic, underline, stroke, shadow, background box, global alpha),
and the cache that rasterises each distinct text once. The picture's centre is the text
frame's centre; placing, keyframing and animating it is the frame pipeline's work.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from PIL.Image import Resampling, Transform

from ..timeline.model import Text, TextBackground, TextStyle
from .fonts import SHAPING, Face, FontBook, is_extender

# ---------------------------------------------------------------- calibration (calibrate)
# One em = size × canvas_width / 160 px. Measured on a real 1080×1920 export: size 10 advanced
# 67.5 px per Chinese character, and the ink of that font was 60–63 px tall.
EM_PER_SIZE_PER_CANVAS_WIDTH = 1 / 160
# The baseline sits this far below the top of a line's em box: the ideographic em box of CJK
# fonts spans −0.12…0.88 em, so Chinese glyphs fill the line box evenly.
EM_BOX_ASCENT = 0.88
LETTER_SPACING_EM = 1.0  # extra advance = letter_spacing × this × em
STROKE_EM = 1.0  # stroke width = strokes[].width × this × em (the editor's 0–100 is written ×0.002)
SHADOW_DISTANCE_EM = 1 / 100  # shadow offset = distance × this × em, along the angle
SHADOW_BLUR_EM = 1.5  # Gaussian sigma = diffuse × this × em (the editor's 0–100 is written /600)
SYNTHETIC_BOLD_EM = 0.022  # outline grown on each side when the font has no bold face
SYNTHETIC_ITALIC_SHEAR = 0.21  # tan 12°: the slant when the font has no italic face
UNDERLINE_OFFSET_EM = 0.16  # underline centre below the baseline, just under the em box
UNDERLINE_THICKNESS_EM = 0.05
BACKGROUND_PADDING_EM = 2.0  # box padding = background_width (height) × this × em; 0.14 → 0.28 em
BACKGROUND_OFFSET = 0.5  # box shift = offset (−1…1) × this × box size; y up like the transform
EMOJI_EM = 1.0  # a colour emoji bitmap's full height, scaled to this many em, fills the em box
# ----------------------------------------------------------------

# Rasterised texts kept: the most recent CACHE_KEPT whatever their size (more than one frame
# shows, so drawing never waits on re-rasterising what is on screen), and older ones while
# all together take under CACHE_BYTES. A bound in bytes keeps memory flat over a long draft's
# hundreds of subtitles, each shown for seconds and rarely again.
CACHE_KEPT = 16
CACHE_BYTES = 4 << 20
# A hostile or broken draft must not cost unbounded memory: sizes above two canvas widths per
# em, and text blocks larger than the sheet limit, are cut (the cut is never on screen unscaled).
MAX_SIZE = 320.0
MAX_SHEET_SIDE = 8192
MEASURE_CHUNK = 32  # clusters measured as one shaped string
NOTDEF_PROBE = "\U0010FFFD"  # a private-use codepoint no font maps: it draws the .notdef glyph

# Line breaking (GB/T 15834 and the Japanese kinsoku rules): no line starts with a closing
# mark, no line ends with an opening one.
CLOSING = set("，。、；：？！）】》」』〉〕〗〙〛｝］’”…‥・ー〜～々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖ"
              "ァィゥェォッャュョヮヵヶ％‰°℃．,.;:!?)]}%>»›")
OPENING = set("（【《「『〈〔〖〘〚｛［‘“([{<«‹￥＄$£€¥")
NEWLINES = {"\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"}
# BMP characters whose default presentation is emoji (Unicode Emoji_Presentation=Yes).
EMOJI_BMP = [(0x231A, 0x231B), (0x23E9, 0x23EC), (0x23F0, 0x23F0), (0x23F3, 0x23F3), (0x25FD, 0x25FE),
             (0x2614, 0x2615), (0x2648, 0x2653), (0x267F, 0x267F), (0x2693, 0x2693), (0x26A1, 0x26A1),
             (0x26AA, 0x26AB), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26CE, 0x26CE), (0x26D4, 0x26D4),
             (0x26EA, 0x26EA), (0x26F2, 0x26F3), (0x26F5, 0x26F5), (0x26FA, 0x26FA), (0x26FD, 0x26FD),
             (0x2705, 0x2705), (0x270A, 0x270B), (0x2728, 0x2728), (0x274C, 0x274C), (0x274E, 0x274E),
             (0x2753, 0x2755), (0x2757, 0x2757), (0x2795, 0x2797), (0x27B0, 0x27B0), (0x27BF, 0x27BF),
             (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55)]


# ---------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class Glyph:
    """One placed cluster (a character with its combining marks, or one emoji sequence)."""

    cluster: str
    style: TextStyle  # the style covering it; its range is irrelevant here
    face: Face  # the face that draws it, bold or italic face included
    em: float  # px
    x: float  # left of the advance box, frame px
    baseline: float  # frame px
    advance: float
    line: int
    order: int = 0  # position in the layout: underlines join glyphs that follow each other
    synthetic_bold: bool = False
    synthetic_italic: bool = False
    vertical_forms: bool = False  # drawn with the font's 'vert' alternates (vertical text)


@dataclass(frozen=True, slots=True)
class Layout:
    """A text laid out in its frame: the frame is the box whose centre the transform places."""

    width: float
    height: float
    glyphs: tuple[Glyph, ...]
    em: float  # the largest em in the text


def em_px(size: float, canvas_width: int) -> float:
    return min(max(size, 0.0), MAX_SIZE) * canvas_width * EM_PER_SIZE_PER_CANVAS_WIDTH


def clusters(s: str) -> list[tuple[int, str]]:
    """(index, cluster): combining marks, variation selectors, skin tones, keycaps and ZWJ
    sequences stay with their base character; flags are pairs of regional indicators."""
    out, i, n = [], 0, len(s)
    while i < n:
        j = i + 1
        if s[i] == "\r" and j < n and s[j] == "\n":
            j += 1
        elif is_regional(s[i]) and j < n and is_regional(s[j]):
            j += 1
        elif s[i] not in NEWLINES:
            while j < n and (is_extender(s[j]) or unicodedata.combining(s[j]) or s[j - 1] == "\u200d"):
                j += 1
        out.append((i, s[i:j]))
        i = j
    return out


def is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def is_emoji(cluster: str) -> bool:
    cp = ord(cluster[0])
    if any(c in cluster for c in "\ufe0f\u200d\u20e3") or any(0x1F3FB <= ord(c) <= 0x1F3FF for c in cluster):
        return True
    return 0x1F000 <= cp <= 0x1FAFF or any(a <= cp <= b for a, b in EMOJI_BMP)


def is_wide(cluster: str) -> bool:
    """CJK and emoji: a line may break before or after any of them."""
    return unicodedata.east_asian_width(cluster[0]) in ("W", "F") or is_emoji(cluster)


def break_allowed(before: str, after: str) -> bool:
    """May a line break between these two clusters?"""
    if after[0] in CLOSING or before[-1] in OPENING or after.isspace():
        return False
    if before.isspace() or is_wide(before) or is_wide(after):
        return True
    return before[-1] in "-‐–—/" and after[0].isalnum()


def wrap(xl: Sequence[float], xr: Sequence[float], texts: Sequence[str], max_width: float) -> list[tuple[int, int]]:
    """Greedy line breaking of one paragraph: [start, end) cluster ranges whose ink advance
    fits max_width. A break goes at the last allowed place, pulling a closing mark's
    predecessor down with it; a word is split only when it alone is wider than a line."""
    n = len(texts)
    lines: list[tuple[int, int]] = []
    a = 0
    while a < n:
        k, last_ok = a, None
        while k < n:
            if k > a and break_allowed(texts[k - 1], texts[k]):
                last_ok = k
            if k > a and not texts[k].isspace() and xr[k] - xl[a] > max_width + 1e-6:
                break
            k += 1
        if k == n:
            lines.append((a, n))
            break
        cut = last_ok
        if cut is None:  # one word longer than the line: split it, keeping marks attached
            cut = k
            while cut > a + 1 and (texts[cut][0] in CLOSING or texts[cut - 1][-1] in OPENING):
                cut -= 1
        lines.append((a, cut))
        a = cut
        while a < n and texts[a].isspace():
            a += 1
    return lines or [(0, 0)]


def style_index(styles: Sequence[TextStyle], i: int) -> int:
    """The style covering character i: the last range that holds it, else the one ending
    nearest before it (ranges written by other tools may leave gaps), else the first."""
    covering = [k for k, s in enumerate(styles) if s.start <= i < s.end]
    if covering:
        return covering[-1]
    before = [k for k, s in enumerate(styles) if s.end <= i]
    return max(before, key=lambda k: styles[k].end) if before else 0


@dataclass(slots=True)
class _Cell:
    """A cluster being laid out."""

    text: str
    style: TextStyle
    face: Face
    em: float
    bold: bool
    italic: bool
    xl: float = 0.0
    advance: float = 0.0


def emoji_scale(face: Face, em: float) -> float:
    ascent, descent = face.font(em).getmetrics()
    return EMOJI_EM * em / max(1, ascent + descent)


def measure(cells: list[_Cell], spacing: float, vertical: bool) -> None:
    """Advance and pen position of each cell in one paragraph. Runs of one face and size are
    measured as whole strings, so kerning between their characters is kept."""
    pen = 0.0
    i = 0
    while i < len(cells):
        j = i + 1
        while j < len(cells) and same_run(cells[i], cells[j]):
            j += 1
        run = cells[i:j]
        c0 = run[0]
        if vertical:
            for c in run:
                c.advance = c.em
        elif c0.face.strike:
            scale = emoji_scale(c0.face, c0.em)
            font = c0.face.font(c0.em)
            for c in run:
                c.advance = font.getlength(c.text) * scale
        else:
            font = c0.face.font(c0.em)
            # Shaped in chunks: kerning is kept inside each, and the cost stays linear in length.
            for start in range(0, len(run), MEASURE_CHUNK):
                joined, prefix = "", 0.0
                for c in run[start:start + MEASURE_CHUNK]:
                    joined += c.text
                    total = font.getlength(joined)
                    c.advance = total - prefix
                    prefix = total
        for c in run:
            c.xl = pen
            pen += c.advance + spacing * c.em
        i = j


def same_run(a: _Cell, b: _Cell) -> bool:
    return a.face == b.face and a.em == b.em and a.style == b.style and a.bold == b.bold and a.italic == b.italic


def layout_text(text: Text, canvas_width: int, fonts: FontBook) -> Layout:
    """Where every cluster of the text goes, in frame pixels."""
    styles = text.styles or (TextStyle(0, len(text.text), 8.0, (1.0, 1.0, 1.0, 1.0)),)
    paragraphs: list[list[_Cell]] = [[]]
    paragraph_em: list[float] = []
    for index, cluster in clusters(text.text.replace("\t", "    ")):
        style = styles[style_index(styles, index)]
        em = em_px(style.size, canvas_width)
        if cluster in NEWLINES:
            paragraph_em.append(em)
            paragraphs.append([])
            continue
        primary = fonts.primary(style.font_path, style.font_name)
        face = fonts.face_for(cluster, fonts.chain(primary), is_emoji(cluster))
        face, bold, italic = fonts.styled(face, style.bold, style.italic)
        paragraphs[-1].append(_Cell(cluster, style, face, em, bold, italic))
    last_style = styles[style_index(styles, max(len(text.text) - 1, 0))]
    paragraph_em.append(em_px(last_style.size, canvas_width))
    for p in paragraphs:
        measure(p, text.letter_spacing * LETTER_SPACING_EM, text.vertical)
    if text.vertical:
        return vertical_layout(text, paragraphs, paragraph_em)
    return horizontal_layout(text, paragraphs, paragraph_em, text.line_max_width * canvas_width)


def line_pitch(em: float, line_spacing: float) -> float:
    # A negative line spacing may overlap lines, but never fold them onto each other.
    return em * max(1.0 + line_spacing, 0.2)


def strip_trailing_spaces(cells: list[_Cell]) -> list[_Cell]:
    end = len(cells)
    while end > 0 and cells[end - 1].text.isspace():
        end -= 1
    return cells[:end]


def horizontal_layout(text: Text, paragraphs: list[list[_Cell]], paragraph_em: list[float],
                      max_width: float) -> Layout:
    rows: list[tuple[list[_Cell], float]] = []  # (cells, em of an empty line)
    for cells, empty_em in zip(paragraphs, paragraph_em, strict=True):
        if not cells:
            rows.append(([], empty_em))
            continue
        if text.wrap and max_width > 0:
            xl = [c.xl for c in cells]
            xr = [c.xl + c.advance for c in cells]
            for a, b in wrap(xl, xr, [c.text for c in cells], max_width):
                rows.append((cells[a:b], empty_em))
        else:
            rows.append((cells, empty_em))

    # A line's trailing spaces take no room: they neither push it off centre nor get underlined.
    rows = [(strip_trailing_spaces(cells), em) for cells, em in rows]
    widths = [cells[-1].xl + cells[-1].advance - cells[0].xl if cells else 0.0 for cells, _ in rows]
    frame_w = max(widths, default=0.0)
    glyphs: list[Glyph] = []
    y = 0.0
    for n, ((cells, empty_em), w) in enumerate(zip(rows, widths, strict=True)):
        em = max((c.em for c in cells), default=empty_em)
        pitch = line_pitch(em, text.line_spacing)
        baseline = y + (pitch - em) / 2 + EM_BOX_ASCENT * em
        x0 = {0: 0.0, 2: frame_w - w}.get(text.alignment, (frame_w - w) / 2)
        for c in cells:
            glyphs.append(Glyph(c.text, c.style, c.face, c.em, x0 + c.xl - cells[0].xl, baseline, c.advance, n,
                                len(glyphs), c.bold, c.italic))
        y += pitch
    return Layout(frame_w, y, tuple(glyphs), max((g.em for g in glyphs), default=max(paragraph_em)))


def vertical_layout(text: Text, paragraphs: list[list[_Cell]], paragraph_em: list[float]) -> Layout:
    """Columns top to bottom, the first on the right; characters upright, CJK punctuation
    in the font's vertical forms. Alignment 0/1/2 is top/middle/bottom."""
    spacing = text.letter_spacing * LETTER_SPACING_EM
    columns = []
    for cells, empty_em in zip(paragraphs, paragraph_em, strict=True):
        em = max((c.em for c in cells), default=empty_em)
        height = sum(c.em for c in cells) + spacing * sum(c.em for c in cells[:-1])
        columns.append((cells, em, height))
    frame_h = max((h for _, _, h in columns), default=0.0)
    frame_w = sum(line_pitch(em, text.line_spacing) for _, em, _ in columns)
    glyphs: list[Glyph] = []
    right = frame_w
    for n, (cells, em, height) in enumerate(columns):
        pitch = line_pitch(em, text.line_spacing)
        centre = right - pitch / 2
        y = {0: 0.0, 2: frame_h - height}.get(text.alignment, (frame_h - height) / 2)
        for c in cells:
            width = c.face.font(c.em).getlength(c.text) * (emoji_scale(c.face, c.em) if c.face.strike else 1.0)
            glyphs.append(Glyph(c.text, c.style, c.face, c.em, centre - width / 2, y + EM_BOX_ASCENT * c.em, width,
                                n, len(glyphs), c.bold, c.italic, vertical_forms=not c.face.strike))
            y += c.em * (1 + spacing)
        right -= pitch
    return Layout(frame_w, frame_h, tuple(glyphs), max((g.em for g in glyphs), default=max(paragraph_em)))


# ---------------------------------------------------------------- rasterisation


def paint_of(style: TextStyle) -> TextStyle:
    """A style without its range: ranges with equal paint share their masks."""
    return dataclasses.replace(style, start=0, end=0)


def draw_mask(mask: np.ndarray, text: str, font, x: float, baseline: float, grow: float = 0.0,
              shear: float = 0.0, vertical_forms: bool = False) -> None:
    """Union the coverage of `text` into `mask` (float 0–1), its baseline's left end at
    (x, baseline). `grow` widens the outline on every side (stroke or synthetic bold);
    `shear` slants it about the baseline (synthetic italic)."""
    feats = ["vert"] if vertical_forms and SHAPING else None
    box = font.getbbox(text, anchor="ls", stroke_width=grow, features=feats)
    left, top, right, bottom = math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])
    xi, yi = math.floor(x), math.floor(baseline)
    fx, fy = x - xi, baseline - yi
    pad = 2
    below = max(bottom, 0) + pad
    above = max(-top, 0) + pad + 1
    lean_right = math.ceil(shear * above) + 1 if shear else 0
    lean_left = math.ceil(shear * below) + 1 if shear else 0
    w = int(right - left) + 2 * pad + 2 + lean_left + lean_right
    h = int(bottom - top) + 2 * pad + 2
    ox, oy = lean_left + pad - left, pad - top  # where the anchor falls in the tile
    tile = Image.new("L", (max(w, 1), max(h, 1)))
    ImageDraw.Draw(tile).text((ox + fx, oy + fy), text, fill=255, font=font, anchor="ls",
                              stroke_width=grow, stroke_fill=255, features=feats)
    if shear:
        base = oy + fy
        # Output (u, v) samples the upright tile at (u - shear × (base - v), v).
        tile = tile.transform(tile.size, Transform.AFFINE, (1, shear, -shear * base, 0, 1, 0), Resampling.BILINEAR)
    union(mask, np.asarray(tile, dtype=np.float32) / 255.0, xi - ox, yi - oy)


def union(mask: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    """mask = max(mask, tile placed at (x, y)), clipped to the mask."""
    h, w = mask.shape[:2]
    th, tw = tile.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + tw, w), min(y + th, h)
    if x1 <= x0 or y1 <= y0:
        return
    np.maximum(mask[y0:y1, x0:x1], tile[y0 - y:y1 - y, x0 - x:x1 - x], out=mask[y0:y1, x0:x1])


def fill_rect(mask: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> None:
    """Union an antialiased axis-aligned rectangle into the mask."""
    h, w = mask.shape
    cols = np.clip(np.minimum(np.arange(w) + 1, x1) - np.maximum(np.arange(w), x0), 0, 1)
    rows = np.clip(np.minimum(np.arange(h) + 1, y1) - np.maximum(np.arange(h), y0), 0, 1)
    np.maximum(mask, np.outer(rows, cols).astype(np.float32), out=mask)


def rounded_rect(h: int, w: int, x0: float, y0: float, x1: float, y1: float, radius: float) -> np.ndarray:
    """Antialiased coverage of a rounded rectangle, from its signed distance."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2, (y1 - y0) / 2
    r = min(max(radius, 0.0), hx, hy)
    px = np.abs(np.arange(w, dtype=np.float32) + 0.5 - cx)[None, :] - (hx - r)
    py = np.abs(np.arange(h, dtype=np.float32) + 0.5 - cy)[:, None] - (hy - r)
    outside = np.hypot(np.maximum(px, 0), np.maximum(py, 0))
    inside = np.minimum(np.maximum(px, py), 0)
    return np.clip(0.5 - (outside + inside - r), 0, 1).astype(np.float32)


@functools.lru_cache(maxsize=128)
def emoji_tile(face: Face, cluster: str, em: float) -> np.ndarray:
    """The colour emoji as premultiplied float RGBA, scaled so its bitmap spans EMOJI_EM em.
    Read-only: tiles are shared between texts."""
    font = face.font(em)
    ascent, descent = font.getmetrics()
    size = (max(1, math.ceil(font.getlength(cluster))), ascent + descent)
    # Drawn over black and over white, the two results give colour and alpha exactly, whatever
    # Pillow does with a colour bitmap on a transparent image.
    on_black, on_white = (emoji_over(cluster, font, size, bg) for bg in ((0, 0, 0), (255, 255, 255)))
    alpha = np.clip(1.0 - (on_white - on_black).mean(axis=2), 0, 1)
    straight = np.where(alpha[..., None] > 0, on_black / np.maximum(alpha[..., None], 1e-6), 0)
    rgba = np.dstack([np.clip(straight, 0, 1), alpha])
    scale = emoji_scale(face, em)
    out = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    # Pillow premultiplies RGBA while resampling, so the edges keep their colour.
    im = Image.fromarray((rgba * 255 + 0.5).astype(np.uint8)).resize(out, Resampling.LANCZOS)
    small = np.asarray(im, dtype=np.float32) / 255.0
    small[..., :3] *= small[..., 3:]
    small.flags.writeable = False
    return small


def emoji_over(cluster: str, font, size: tuple[int, int], background: tuple[int, int, int]) -> np.ndarray:
    im = Image.new("RGB", size, background)
    ImageDraw.Draw(im).text((0, 0), cluster, font=font, anchor="la", embedded_color=True)
    return np.asarray(im, dtype=np.float32) / 255.0


def over(acc: np.ndarray, rgba: tuple[float, float, float, float], coverage: np.ndarray) -> None:
    """Composite a flat colour through a coverage mask over the premultiplied accumulator,
    inside the mask's bounding box only."""
    box = bounds(coverage)
    if box is None or rgba[3] <= 0:
        return
    y0, y1, x0, x1 = box
    a = coverage[y0:y1, x0:x1, None] * np.float32(rgba[3])
    sub = acc[y0:y1, x0:x1]
    sub *= 1.0 - a
    sub += a * np.array([rgba[0], rgba[1], rgba[2], 1.0], np.float32)


def bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the nonzero part of a mask, or None when it is empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def over_premultiplied(acc: np.ndarray, layer: np.ndarray) -> None:
    acc *= 1.0 - layer[..., 3:]
    acc += layer


def gaussian(mask: np.ndarray, sigma: float) -> np.ndarray:
    """The coverage blurred with a Gaussian of this sigma (8-bit precision is plenty for a shadow)."""
    if sigma < 0.3:
        return mask
    im = Image.fromarray((np.clip(mask, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(sigma)), dtype=np.float32) / 255.0


def shift(mask: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """The mask moved by (dx, dy) px, bilinear for the fraction."""
    im = Image.fromarray(mask.astype(np.float32, copy=False))
    moved = im.transform(im.size, Transform.AFFINE, (1, 0, -dx, 0, 1, -dy), Resampling.BILINEAR)
    return np.asarray(moved, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The work canvas a text is drawn on: its size, and the text frame's top-left corner on
    it, chosen so that the frame's centre is exactly the sheet's centre."""

    x: float
    y: float
    width: int
    height: int


def work_sheet(layout: Layout, margin: float, max_side: int) -> Sheet:
    cx = min(math.ceil(layout.width / 2 + margin), max_side // 2)
    cy = min(math.ceil(layout.height / 2 + margin), max_side // 2)
    return Sheet(cx - layout.width / 2, cy - layout.height / 2, 2 * cx, 2 * cy)


def stroke_px(stroke_width: float, em: float) -> float:
    return max(stroke_width, 0.0) * STROKE_EM * em


def shadow_offset(distance: float, angle: float, em: float) -> tuple[float, float]:
    # The angle turns counter-clockwise from +x with y up; picture rows grow downwards.
    d = distance * SHADOW_DISTANCE_EM * em
    return d * math.cos(math.radians(angle)), -d * math.sin(math.radians(angle))


def margin_for(text: Text, layout: Layout) -> float:
    """Room around the frame for ink past the em box, strokes, shadows and the background box."""
    em = layout.em
    grow = max((stroke_px(s.width, em) for st in text.styles for s in st.strokes), default=0.0)
    reach = 0.0
    for st in text.styles:
        for sh in st.shadows:
            dx, dy = shadow_offset(sh.distance, sh.angle, em)
            reach = max(reach, math.hypot(dx, dy) + 3 * sh.diffuse * SHADOW_BLUR_EM * em)
    box = 0.0
    if text.background is not None:
        bg = text.background
        pad = BACKGROUND_PADDING_EM * em * max(bg.width, bg.height, 0.0)
        shift_x = abs(bg.horizontal_offset) * (layout.width + 2 * pad)
        shift_y = abs(bg.vertical_offset) * (layout.height + 2 * pad)
        box = pad + BACKGROUND_OFFSET * max(shift_x, shift_y)
    # Latin descenders, accents and italic slant reach up to about half an em past the em box.
    return max(0.6 * em + grow + SYNTHETIC_BOLD_EM * em + reach, box) + 2


def background_box(bg: TextBackground, layout: Layout, sheet: Sheet) -> tuple[float, float, float, float, float]:
    """(x0, y0, x1, y1, radius) of the background box on the work canvas."""
    pad_x = bg.width * BACKGROUND_PADDING_EM * layout.em
    pad_y = bg.height * BACKGROUND_PADDING_EM * layout.em
    w, h = layout.width + 2 * pad_x, layout.height + 2 * pad_y
    dx = bg.horizontal_offset * BACKGROUND_OFFSET * w
    dy = -bg.vertical_offset * BACKGROUND_OFFSET * h
    x0, y0 = sheet.x - pad_x + dx, sheet.y - pad_y + dy
    return x0, y0, x0 + w, y0 + h, max(bg.round_radius, 0.0) * min(w, h) / 2


def rasterize(text: Text, layout: Layout, max_side: int = MAX_SHEET_SIDE) -> np.ndarray:
    """The laid-out text as HxWx4 uint8 straight alpha, centred on the frame's centre; at most
    max_side pixels each way, cut around the centre."""
    sheet = work_sheet(layout, margin_for(text, layout), max_side)
    H, W = sheet.height, sheet.width
    acc = np.zeros((H, W, 4), np.float32)  # premultiplied

    if text.background is not None and text.background.color[3] > 0:
        x0, y0, x1, y1, r = background_box(text.background, layout, sheet)
        over(acc, text.background.color, rounded_rect(H, W, x0, y0, x1, y1, r))

    # Spaces stay in their paint's runs so that shaping and underlines run through them.
    paints: dict[TextStyle, list[Glyph]] = {}
    paint_for: dict[TextStyle, TextStyle] = {}
    for g in layout.glyphs:
        if g.style not in paint_for:
            paint_for[g.style] = paint_of(g.style)
        paints.setdefault(paint_for[g.style], []).append(g)

    fills: list[tuple[TextStyle, np.ndarray, np.ndarray | None]] = []
    strokes: list[tuple[float, tuple, np.ndarray]] = []  # (width px, colour, coverage)
    shadows: list[tuple[tuple, np.ndarray]] = []
    for paint, glyphs in paints.items():
        em = glyphs[0].em  # one paint is one size
        fill, emoji = paint_masks(glyphs, sheet, grow=0.0, with_emoji=True)
        silhouette = fill if emoji is None else np.maximum(fill, emoji[..., 3])
        outline = silhouette
        for s in paint.strokes:
            grow = stroke_px(s.width, em)
            if grow <= 0 or s.color[3] <= 0:
                continue
            grown, _ = paint_masks(glyphs, sheet, grow=grow, with_emoji=False)
            np.maximum(grown, silhouette, out=grown)
            strokes.append((grow, s.color, grown))
            outline = np.maximum(outline, grown)
        # The shadow is cast by everything the text draws: fill, emoji and strokes.
        silhouette = outline
        for sh in paint.shadows:
            if sh.color[3] <= 0:
                continue
            dx, dy = shadow_offset(sh.distance, sh.angle, em)
            shadows.append((sh.color, shift(gaussian(silhouette, sh.diffuse * SHADOW_BLUR_EM * em), dx, dy)))
        fills.append((paint, fill, emoji))

    for color, mask in shadows:
        over(acc, color, mask)
    for _, color, mask in sorted(strokes, key=lambda s: -s[0]):  # the widest stroke lies lowest
        over(acc, color, mask)
    for paint, fill, emoji in fills:
        over(acc, paint.color, fill)
        if emoji is not None:
            over_premultiplied(acc, emoji * paint.color[3])

    acc *= min(max(text.global_alpha, 0.0), 1.0)
    return straight_uint8(crop_centred(acc, sheet, layout))


def paint_masks(glyphs: Sequence[Glyph], sheet: Sheet, grow: float, with_emoji: bool
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """Coverage of one paint's glyphs (and underlines), grown by `grow` px; and its colour
    emoji as a premultiplied layer."""
    mask = np.zeros((sheet.height, sheet.width), np.float32)
    emoji = None
    i = 0
    while i < len(glyphs):
        g = glyphs[i]
        if g.face.strike:
            top = sheet.y + g.baseline - EM_BOX_ASCENT * g.em
            if with_emoji:
                if emoji is None:
                    emoji = np.zeros((sheet.height, sheet.width, 4), np.float32)
                place_premultiplied(emoji, emoji_tile(g.face, g.cluster, g.em), round(sheet.x + g.x), round(top))
            else:  # strokes follow the emoji's silhouette
                alpha = emoji_tile(g.face, g.cluster, g.em)[..., 3]
                union(mask, dilate(alpha, grow), round(sheet.x + g.x) - math.ceil(grow), round(top) - math.ceil(grow))
            i += 1
            continue
        # A run: consecutive glyphs of one line, face and size, spaced by their own shaping.
        j = i + 1
        while j < len(glyphs) and j - i < MEASURE_CHUNK and joins(glyphs[j - 1], glyphs[j]):
            j += 1
        run = glyphs[i:j]
        if not on_sheet(run, sheet):
            i = j
            continue
        bold = SYNTHETIC_BOLD_EM * g.em if g.synthetic_bold else 0.0
        draw_mask(mask, "".join(r.cluster for r in run), g.face.font(g.em), sheet.x + g.x, sheet.y + g.baseline,
                  grow=bold + grow, shear=SYNTHETIC_ITALIC_SHEAR if g.synthetic_italic else 0.0,
                  vertical_forms=g.vertical_forms)
        i = j
    for line_glyphs in underlined_spans(glyphs):
        first, last = line_glyphs[0], line_glyphs[-1]
        em = max(g.em for g in line_glyphs)
        y = sheet.y + first.baseline + UNDERLINE_OFFSET_EM * em
        half = max(UNDERLINE_THICKNESS_EM * em, 1.0) / 2 + grow
        fill_rect(mask, sheet.x + first.x - grow, y - half, sheet.x + last.x + last.advance + grow, y + half)
    return mask, emoji


def on_sheet(run: Sequence[Glyph], sheet: Sheet) -> bool:
    """Whether any of the run can land on the sheet (a block cut at MAX_SHEET_SIDE may not)."""
    x0, x1 = sheet.x + run[0].x, sheet.x + run[-1].x + run[-1].advance
    y = sheet.y + run[0].baseline
    reach = 2 * run[0].em
    return x1 + reach > 0 and x0 - reach < sheet.width and y + reach > 0 and y - reach < sheet.height


def joins(a: Glyph, b: Glyph) -> bool:
    """Whether b follows a in one shaped run: same line, face, size and slant, and placed
    exactly where a's shaping puts it (no letter spacing, not vertical)."""
    return (a.line == b.line and a.face == b.face and a.em == b.em and a.synthetic_bold == b.synthetic_bold
            and a.synthetic_italic == b.synthetic_italic and not a.vertical_forms and not b.vertical_forms
            and abs(a.x + a.advance - b.x) < 1e-3)


def underlined_spans(glyphs: Sequence[Glyph]) -> list[list[Glyph]]:
    """Consecutive underlined glyphs of one horizontal line, for one continuous underline."""
    spans: list[list[Glyph]] = []
    for g in glyphs:
        if not g.style.underline or g.vertical_forms:
            continue
        if spans and spans[-1][-1].line == g.line and spans[-1][-1].order == g.order - 1:
            spans[-1].append(g)
        else:
            spans.append([g])
    return spans


def dilate(alpha: np.ndarray, r: float) -> np.ndarray:
    """The coverage grown by r px on every side (alternating square and cross steps: an octagon)."""
    n = math.ceil(r)
    im = Image.fromarray(np.pad(alpha, n).astype(np.float32, copy=False))
    for step in range(n):
        im = im.filter(ImageFilter.MaxFilter(3)) if step % 2 == 0 else cross_max(im)
    return np.asarray(im, dtype=np.float32)


def cross_max(im: Image.Image) -> Image.Image:
    a = np.asarray(im, dtype=np.float32)
    out = a.copy()
    out[1:] = np.maximum(out[1:], a[:-1])
    out[:-1] = np.maximum(out[:-1], a[1:])
    out[:, 1:] = np.maximum(out[:, 1:], a[:, :-1])
    out[:, :-1] = np.maximum(out[:, :-1], a[:, 1:])
    return Image.fromarray(out)


def place_premultiplied(layer: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    h, w = layer.shape[:2]
    th, tw = tile.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + tw, w), min(y + th, h)
    if x1 <= x0 or y1 <= y0:
        return
    src = tile[y0 - y:y1 - y, x0 - x:x1 - x]
    dst = layer[y0:y1, x0:x1]
    dst *= 1.0 - src[..., 3:]
    dst += src


def crop_centred(acc: np.ndarray, sheet: Sheet, layout: Layout) -> np.ndarray:
    """The smallest part of the work canvas that holds every drawn pixel and the frame, with
    the frame's centre still at its centre."""
    H, W = acc.shape[:2]
    cx, cy = W // 2, H // 2
    half_w = math.ceil(layout.width / 2)
    half_h = math.ceil(layout.height / 2)
    drawn = acc[..., 3] > 0.5 / 255
    cols, rows = np.flatnonzero(drawn.any(axis=0)), np.flatnonzero(drawn.any(axis=1))
    if cols.size:
        half_w = max(half_w, cx - cols[0], cols[-1] + 1 - cx)
        half_h = max(half_h, cy - rows[0], rows[-1] + 1 - cy)
    half_w, half_h = max(half_w, 1), max(half_h, 1)
    return acc[max(cy - half_h, 0):cy + half_h, max(cx - half_w, 0):cx + half_w]


def straight_uint8(premultiplied: np.ndarray) -> np.ndarray:
    a = premultiplied[..., 3:]
    rgb = premultiplied[..., :3] / np.maximum(a, np.float32(1e-6))
    out = np.concatenate([np.clip(rgb, 0, 1), np.clip(a, 0, 1)], axis=2)
    out *= 255
    out += 0.5
    return out.astype(np.uint8)


# ---------------------------------------------------------------- the renderer


class TextRenderer:
    """Rasterises text materials for one output size, each distinct text once."""

    def __init__(self, canvas_width: int, canvas_height: int, *, font_dirs: Sequence[Path] = ()):
        self.canvas_width, self.canvas_height = canvas_width, canvas_height
        self.fonts = FontBook(font_dirs)
        self.warnings: list[str] = self.fonts.warnings  # e.g. a named font that is not installed
        self.rasterized = 0  # texts actually shaped and rasterised: the cache's misses
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.cached_bytes = 0

    def layout(self, text: Text) -> Layout:
        return layout_text(text, self.canvas_width, self.fonts)

    def picture(self, text: Text) -> np.ndarray:
        """HxWx4 uint8 straight alpha: the whole text block with stroke, shadow and background
        box, its frame's centre at the picture's centre. Read-only: it is shared between frames."""
        # The id and karaoke timing change no pixel: equal-looking texts share one picture.
        key = (dataclasses.replace(text, id="", words=()), self.canvas_width, self.canvas_height)
        picture = self._cache.get(key)
        if picture is not None:
            self._cache.move_to_end(key)
            return picture
        # Twice the canvas lets a block scaled down by its keyframes still show whole.
        max_side = min(2 * max(self.canvas_width, self.canvas_height), MAX_SHEET_SIDE)
        picture = rasterize(text, self.layout(text), max_side)
        picture.flags.writeable = False
        self.rasterized += 1
        self._cache[key] = picture
        self.cached_bytes += picture.nbytes
        while len(self._cache) > CACHE_KEPT and self.cached_bytes > CACHE_BYTES:
            self.cached_bytes -= self._cache.popitem(last=False)[1].nbytes
        return picture
