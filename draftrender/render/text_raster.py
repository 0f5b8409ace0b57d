"""Text rasterising: a laid-out text → one straight-alpha RGBA picture, each distinct text once.

Fill, synthetic bold and italic, underline, stroke, shadow, background box and global alpha,
drawn from text_layout.py's `Layout`; `TextRenderer` keeps the pictures in a BoundedCache.
The picture's centre is the text frame's centre; placing, keyframing and animating it is the
frame pipeline's work.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from PIL.Image import Resampling, Transform

from ..effects.masks import nonzero_box
from ..timeline.model import Text, TextBackground, TextStyle
from .cache import BoundedCache
from .fonts import SHAPING, Face, FontBook
from .text_layout import EM_BOX_ASCENT, MEASURE_CHUNK, Glyph, Layout, emoji_scale, layout_text

# ---------------------------------------------------------------- calibration (calibrate)
STROKE_EM = 1.0  # stroke width = strokes[].width × this × em (the editor's 0–100 is written ×0.002)
SHADOW_DISTANCE_EM = 1 / 100  # shadow offset = distance × this × em, along the angle
SHADOW_BLUR_EM = 1.5  # Gaussian sigma = diffuse × this × em (the editor's 0–100 is written /600)
SYNTHETIC_BOLD_EM = 0.022  # outline grown on each side when the font has no bold face
SYNTHETIC_ITALIC_SHEAR = 0.21  # tan 12°: the slant when the font has no italic face
UNDERLINE_OFFSET_EM = 0.16  # underline centre below the baseline, just under the em box
UNDERLINE_THICKNESS_EM = 0.05
BACKGROUND_PADDING_EM = 2.0  # box padding = background_width (height) × this × em; 0.14 → 0.28 em
BACKGROUND_OFFSET = 0.5  # box shift = offset (−1…1) × this × box size; y up like the transform
# ----------------------------------------------------------------

# Rasterised texts kept: the most recent CACHE_KEPT whatever their size (more than one frame
# shows, so drawing never waits on re-rasterising what is on screen), and older ones while
# all together take under CACHE_BYTES. A bound in bytes keeps memory flat over a long draft's
# hundreds of subtitles, each shown for seconds and rarely again.
CACHE_KEPT = 16
CACHE_BYTES = 4 << 20
# A hostile or broken draft must not cost unbounded memory: text blocks larger than the sheet
# limit are cut (the cut is never on screen unscaled).
MAX_SHEET_SIDE = 8192


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


def overlap(into: np.ndarray, tile: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(the part of `into`, the part of `tile`) where the tile placed at (x, y) covers `into`;
    None where it covers nothing."""
    h, w = into.shape[:2]
    th, tw = tile.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + tw, w), min(y + th, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return into[y0:y1, x0:x1], tile[y0 - y:y1 - y, x0 - x:x1 - x]


def union(mask: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    """mask = max(mask, tile placed at (x, y)), clipped to the mask."""
    if (parts := overlap(mask, tile, x, y)) is not None:
        dst, src = parts
        np.maximum(dst, src, out=dst)


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
    box = nonzero_box(coverage)
    if box is None or rgba[3] <= 0:
        return
    x0, y0, x1, y1 = box
    a = coverage[y0:y1, x0:x1, None] * np.float32(rgba[3])
    sub = acc[y0:y1, x0:x1]
    sub *= 1.0 - a
    sub += a * np.array([rgba[0], rgba[1], rgba[2], 1.0], np.float32)


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
    """The premultiplied RGBA tile drawn over the layer at (x, y), clipped to the layer."""
    if (parts := overlap(layer, tile, x, y)) is not None:
        dst, src = parts
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

    def __init__(self, canvas_width: int, canvas_height: int, *, font_dirs: Sequence[Path] = (),
                 fonts: FontBook | None = None):
        self.canvas_width, self.canvas_height = canvas_width, canvas_height
        self.fonts = fonts if fonts is not None else FontBook(font_dirs)
        self.warnings: list[str] = self.fonts.warnings  # e.g. a named font that is not installed
        self._pictures: BoundedCache[np.ndarray] = BoundedCache(kept=CACHE_KEPT, max_bytes=CACHE_BYTES)

    @property
    def rasterized(self) -> int:
        """Texts actually shaped and rasterised: the cache's misses."""
        return self._pictures.misses

    @property
    def cached_bytes(self) -> int:
        return self._pictures.bytes

    def layout(self, text: Text) -> Layout:
        return layout_text(text, self.canvas_width, self.fonts)

    def picture(self, text: Text) -> np.ndarray:
        """HxWx4 uint8 straight alpha: the whole text block with stroke, shadow and background
        box, its frame's centre at the picture's centre. Read-only: it is shared between frames."""
        def rasterized() -> np.ndarray:
            # Twice the canvas lets a block scaled down by its keyframes still show whole.
            max_side = min(2 * max(self.canvas_width, self.canvas_height), MAX_SHEET_SIDE)
            picture = rasterize(text, self.layout(text), max_side)
            picture.flags.writeable = False
            return picture

        # The id and karaoke timing change no pixel: equal-looking texts share one picture.
        return self._pictures.get(dataclasses.replace(text, id="", words=()), rasterized)
