"""The gallery: every transition and animation on one labelled contact sheet."""

from __future__ import annotations

import numpy as np
from PIL import Image

from draftrender.cli import main
from draftrender.effects.animations import STEPS
from draftrender.effects.gallery import TILE_H, TILE_W, animation_tile, transition_tile
from draftrender.effects.transitions import TRANSITIONS


def test_transition_tiles_show_both_pictures_at_the_midpoint():
    tile = transition_tile("wipe_right").astype(int)
    assert tile.shape == (TILE_H, TILE_W, 3)
    assert tile[TILE_H // 2, 5, 2] > tile[TILE_H // 2, 5, 0]  # B (blue) uncovered on the left
    assert tile[TILE_H // 2, TILE_W - 5, 0] > tile[TILE_H // 2, TILE_W - 5, 2]  # A (orange) still on the right


def test_animation_tiles_differ_from_the_settled_card():
    settled = animation_tile("fade")
    assert settled.shape == (TILE_H, TILE_W, 3)
    distinct = {animation_tile(k).tobytes() for k in STEPS}
    assert len(distinct) >= len(STEPS) - 2  # (shake and pulse may happen to sit near still)


def test_cli_writes_the_contact_sheet(tmp_path, capsys):
    out = tmp_path / "gallery.png"
    assert main(["effects", "--gallery", str(out)]) == 0
    assert f"{len(TRANSITIONS)} transitions, {len(STEPS)} animations" in capsys.readouterr().out
    sheet = np.asarray(Image.open(out))
    rows = -(-len(TRANSITIONS) // 6) + -(-len(STEPS) // 6)
    assert sheet.shape[0] > rows * TILE_H and sheet.shape[1] > 6 * TILE_W
    assert sheet.std() > 20  # not blank


def test_cli_lists_the_effects(capsys):
    assert main(["effects"]) == 0
    out = capsys.readouterr().out
    assert "dissolve" in out and "punch_zoom" in out
