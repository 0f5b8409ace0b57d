"""Text layout: a text material's characters placed in its frame, in frame pixels.

Styles by character range, a font per character (fallbacks, emoji), line breaking with
Chinese and Japanese rules, alignment, line and letter spacing, vertical columns. The result
is a `Layout` of `Glyph`s that text_raster.py draws and the text animations read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass


from ..timeline.model import Text, TextStyle
from .fonts import Face, FontBook, is_extender

# ---------------------------------------------------------------- calibration (calibrate)
# One em = size × canvas_width / 160 px. Measured on a real 1080×1920 export: size 10 advanced
# 67.5 px per Chinese character, and the ink of that font was 60–63 px tall.
EM_PER_SIZE_PER_CANVAS_WIDTH = 1 / 160
# The baseline sits this far below the top of a line's em box: the ideographic em box of CJK
# fonts spans −0.12…0.88 em, so Chinese glyphs fill the line box evenly.
EM_BOX_ASCENT = 0.88
LETTER_SPACING_EM = 1.0  # extra advance = letter_spacing × this × em
EMOJI_EM = 1.0  # a colour emoji bitmap's full height, scaled to this many em, fills the em box
# ----------------------------------------------------------------

# A hostile or broken draft must not cost unbounded memory: sizes above two canvas widths per
# em are cut (the cut is never on screen unscaled).
MAX_SIZE = 320.0
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
