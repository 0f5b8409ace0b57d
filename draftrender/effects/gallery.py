"""The effects gallery: a labelled contact sheet of every transition at its midpoint and every
animation half way through its intro, drawn on synthetic layers, so a person can check them
all at a glance (`draftrender effects --gallery OUT.png`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.Image import Resampling

from .animations import STEPS, Motion, TextLines, motion, revealed, softened, wiped
from .transitions import TRANSITIONS, Stage, transition_frame

TILE_W, TILE_H = 192, 108
LABEL_H = 18
COLUMNS = 6
GAP = 6
BACKDROP = (52, 52, 60)


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def card(width: int, height: int, color: tuple[int, int, int], letter: str) -> np.ndarray:
    """An opaque picture with a letter and a corner mark, so turns, flips and moves show."""
    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    for i in range(0, width + height, max(8, width // 12)):  # diagonal stripes show motion and blur
        draw.line([(i, 0), (i - height, height)], fill=tuple(min(255, c + 30) for c in color), width=2)
    draw.rectangle([0, 0, width // 5, height // 5], fill=(250, 250, 250))
    draw.text((width / 2, height / 2), letter, fill=(255, 255, 255), font=font(int(height * 0.6)), anchor="mm")
    return np.asarray(img)


def stage(picture: np.ndarray) -> np.ndarray:
    return np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])


def transition_tile(effect: str) -> np.ndarray:
    a = Stage.opaque(card(TILE_W, TILE_H, (200, 80, 40), "A"))
    b = Stage.opaque(card(TILE_W, TILE_H, (40, 90, 200), "B"))
    mixed = transition_frame(effect, a, b, 0.5)
    backdrop = np.empty((TILE_H, TILE_W, 3), np.uint16)
    backdrop[:] = BACKDROP
    out = mixed.rgb + backdrop * (255 - mixed.alpha[..., None].astype(np.uint16)) // 255
    return np.minimum(out, 255).astype(np.uint8)


def text_card() -> tuple[np.ndarray, TextLines]:
    """Two lines of text on a transparent picture, with where each character ends."""
    lines = ["Text line", "second"]
    f = font(22)
    w, h, pitch = 150, 64, 30
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    layout = []
    for n, line in enumerate(lines):
        x0 = (w - draw.textlength(line, font=f)) / 2
        top = 2 + n * pitch
        draw.text((x0, top), line, fill=(255, 230, 80, 255), font=f)
        edges = tuple(x0 + draw.textlength(line[:k + 1], font=f) for k in range(len(line)))
        layout.append((top, top + pitch - 4, edges))
    return np.asarray(img), TextLines(tuple(layout))


def animation_tile(effect: str) -> np.ndarray:
    """The effect half way through its intro, on a card (or, for text reveals, a text)."""
    text = effect in ("typewriter", "line_reveal")
    move = motion(effect, "in", 0.5, text=text)
    if text:
        picture, lines = text_card()
        picture = revealed(picture, lines, move.chars, move.lines)
    else:
        picture = stage(card(TILE_W // 2, TILE_H // 2, (220, 120, 40), "F"))
    tile = Image.new("RGB", (TILE_W, TILE_H), BACKDROP)
    place_moved(tile, picture, move)
    return np.asarray(tile)


def place_moved(tile: Image.Image, picture: np.ndarray, move: Motion) -> None:
    """Draw the picture centred on the tile, changed by the motion."""
    if move.wipe is not None:
        picture = wiped(picture, move.wipe)
    if move.blur > 0:
        picture = softened(picture, move.blur)
    img = Image.fromarray(np.ascontiguousarray(picture)).convert("RGBA")
    w, h = max(1, round(img.width * abs(move.scale_x))), max(1, round(img.height * abs(move.scale_y)))
    img = img.resize((w, h), Resampling.BILINEAR).rotate(-move.rotation, Resampling.BILINEAR, expand=True)
    if move.opacity < 1:
        alpha = np.asarray(img.getchannel("A"), np.float32) * max(move.opacity, 0.0)
        img.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    cx = TILE_W / 2 + move.dx * TILE_W
    cy = TILE_H / 2 + move.dy * TILE_H
    tile.paste(img, (round(cx - img.width / 2), round(cy - img.height / 2)), img)


def contact_sheet() -> Image.Image:
    """Every transition at its midpoint, then every animation at mid-intro, labelled."""
    sections = [("transitions at their midpoint, from A to B", [(k, transition_tile(k)) for k in TRANSITIONS]),
                ("animations half way through the intro", [(k, animation_tile(k)) for k in STEPS])]
    title_h = 24
    rows = sum(math.ceil(len(tiles) / COLUMNS) for _, tiles in sections)
    width = COLUMNS * (TILE_W + GAP) + GAP
    height = rows * (TILE_H + LABEL_H + GAP) + len(sections) * title_h + GAP
    sheet = Image.new("RGB", (width, height), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    label_font, title_font = font(12), font(15)
    y = GAP
    for title, tiles in sections:
        draw.text((GAP, y + 3), title, fill=(240, 240, 240), font=title_font)
        y += title_h
        for i, (name, tile) in enumerate(tiles):
            col, row = i % COLUMNS, i // COLUMNS
            x = GAP + col * (TILE_W + GAP)
            top = y + row * (TILE_H + LABEL_H + GAP)
            sheet.paste(Image.fromarray(tile), (x, top))
            draw.text((x + 2, top + TILE_H + 2), name.replace("_", " "), fill=(210, 210, 210), font=label_font)
        y += math.ceil(len(tiles) / COLUMNS) * (TILE_H + LABEL_H + GAP)
    return sheet
