"""Chroma key: the key colour goes, everything else stays."""

from __future__ import annotations

import numpy as np

from draftrender.effects.chroma import chroma_key

GREEN = (0.0, 1.0, 0.0, 1.0)


def row(*colours) -> np.ndarray:
    return np.array([colours], np.uint8)


def test_the_green_screen_goes_and_the_rest_stays():
    pic = row((0, 255, 0), (20, 230, 30), (40, 200, 40), (200, 30, 30), (30, 40, 220), (128, 128, 128),
              (0, 0, 0), (255, 255, 255), (240, 200, 160))
    out = chroma_key(pic, GREEN, intensity=0.2)
    assert list(out[0, :3, 3]) == [0, 0, 0], "greens near the key are removed"
    assert list(out[0, 3:, 3]) == [255] * 6, "other colours, greys, black and white stay"
    assert np.array_equal(out[0, 3:, :3], pic[0, 3:]), "and keep their colour"


def test_intensity_widens_the_key_and_edge_smooth_softens_it():
    pic = row((60, 160, 60))  # a dull green, about 0.2 from the key in Cb/Cr
    assert chroma_key(pic, GREEN, intensity=0.1)[0, 0, 3] == 255
    assert chroma_key(pic, GREEN, intensity=0.4)[0, 0, 3] == 0
    soft = chroma_key(pic, GREEN, intensity=0.1, edge_smooth=1.0)[0, 0, 3]
    assert 0 < soft < 255


def test_shadow_keeps_the_darkening_on_the_keyed_area():
    pic = row((0, 255, 0), (0, 128, 0))  # the screen, and the screen in shadow
    plain = chroma_key(pic, GREEN, intensity=0.5)
    shaded = chroma_key(pic, GREEN, intensity=0.5, shadow=1.0)
    assert plain[0, 1, 3] == 0
    assert shaded[0, 0, 3] == 0 and 100 < shaded[0, 1, 3] < 160  # about half as dark as the key
    assert tuple(shaded[0, 1, :3]) == (0, 0, 0)


def test_spill_takes_the_green_tint_out_of_what_stays():
    pic = row((150, 200, 150))  # a greenish grey that the key does not remove
    kept = chroma_key(pic, GREEN, intensity=0.1, spill=1.0)
    assert kept[0, 0, 3] == 255
    r, g, b = (int(v) for v in kept[0, 0, :3])
    assert g - max(r, b) < 10 < 200 - 150  # the green cast is (nearly) gone


def test_an_rgba_picture_keeps_its_own_transparency():
    pic = np.array([[[200, 30, 30, 100]]], np.uint8)
    assert chroma_key(pic, GREEN)[0, 0, 3] == 100
