"""Each blend mode against its formula (W3C Compositing and Blending) on known colours."""

from __future__ import annotations

import math

import numpy as np
import pytest

from draftrender.effects.blend import BLEND_MODES, blend_into
from draftrender.effects.names import resolve


def soft_light(b, s):
    d = ((16 * b - 12) * b + 4) * b if b <= 0.25 else math.sqrt(b)
    return b - (1 - 2 * s) * b * (1 - b) if s <= 0.5 else b + (2 * s - 1) * (d - b)


FORMULAS = {
    "multiply": lambda b, s: b * s,
    "screen": lambda b, s: b + s - b * s,
    "overlay": lambda b, s: 2 * b * s if b <= 0.5 else 1 - 2 * (1 - b) * (1 - s),
    "hard_light": lambda b, s: 2 * b * s if s <= 0.5 else 1 - 2 * (1 - b) * (1 - s),
    "soft_light": soft_light,
    "darken": min,
    "lighten": max,
    "color_dodge": lambda b, s: 0.0 if b == 0 else 1.0 if s >= 1 else min(1.0, b / (1 - s)),
    "color_burn": lambda b, s: 1.0 if b == 1 else 0.0 if s == 0 else 1 - min(1.0, (1 - b) / s),
    "linear_burn": lambda b, s: max(0.0, b + s - 1),
}
LEVELS = [0, 32, 64, 100, 128, 160, 200, 240, 255]


@pytest.mark.parametrize("mode", sorted(FORMULAS))
def test_blend_mode_matches_its_formula_on_every_pair_of_levels(mode):
    b, s = np.meshgrid(np.array(LEVELS, np.float32) / 255, np.array(LEVELS, np.float32) / 255)
    got = BLEND_MODES[mode](b, s)
    want = np.vectorize(FORMULAS[mode])(b.astype(float), s.astype(float))
    assert np.allclose(got, want, atol=1e-5), mode


def test_the_ten_editor_names_map_to_the_ten_modes():
    names = {"正片叠底": "multiply", "滤色": "screen", "叠加": "overlay", "柔光": "soft_light",
             "强光": "hard_light", "变暗": "darken", "变亮": "lighten", "颜色减淡": "color_dodge",
             "颜色加深": "color_burn", "线性加深": "linear_burn"}
    assert {name: resolve("mix_mode", name).effect for name in names} == names
    assert set(names.values()) == set(BLEND_MODES)


def test_blend_into_mixes_the_blended_colour_by_the_layer_alpha():
    dst = np.full((2, 2, 3), 200, np.uint8)
    src = np.full((2, 2, 3), 100, np.uint8)
    alpha = np.array([[1.0, 0.5], [0.0, 1.0]], np.float32)
    blend_into(dst, src, alpha, "multiply")
    full = round(200 * 100 / 255)
    assert dst[0, 0, 0] == full and dst[1, 0, 0] == 200
    assert abs(int(dst[0, 1, 0]) - round((200 + full) / 2)) <= 1


def test_blend_into_gives_the_same_pixels_in_bands_as_whole():
    from draftrender.effects.blend import BAND_ROWS, blend_band

    rng = np.random.default_rng(3)
    rows = 2 * BAND_ROWS + 7  # bands, and a short one at the end
    dst = rng.integers(0, 256, (rows, 12, 3), dtype=np.uint8)
    src = rng.integers(0, 256, (rows, 12, 3), dtype=np.uint8)
    alpha = rng.random((rows, 12), dtype=np.float32)
    banded, whole = dst.copy(), dst.copy()
    blend_into(banded, src, alpha, "screen")
    blend_band(whole, src, alpha, "screen")
    assert np.array_equal(banded, whole) and not np.array_equal(banded, dst)


@pytest.mark.parametrize("mode", ["multiply", "screen", "overlay", "hard_light", "darken", "lighten", "linear_burn"])
def test_integer_blends_equal_their_tables_for_every_pair_of_levels(mode):
    from draftrender.effects.blend import INTEGER_BLENDS, blend_table

    b, s = np.meshgrid(np.arange(256, dtype=np.uint16), np.arange(256, dtype=np.uint16), indexing="ij")
    assert np.array_equal(INTEGER_BLENDS[mode](b, s).astype(np.uint8).ravel(), blend_table(mode))


@pytest.mark.parametrize("mode", ["multiply", "screen"])
def test_uint8_blends_equal_their_tables_for_every_pair_of_levels(mode):
    from draftrender.effects.blend import UINT8_BLENDS, blend_table

    b, s = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8), indexing="ij")
    out = np.empty_like(b)
    UINT8_BLENDS[mode](b, s, out, np.empty(b.shape, np.uint16), np.empty(b.shape, np.uint16))
    assert np.array_equal(out.ravel(), blend_table(mode))


def test_a_fully_opaque_blend_over_a_frame_equals_the_blend_band_by_band():
    from draftrender.effects.blend import blend_band, blend_into

    rng = np.random.default_rng(3)
    dst, src = rng.integers(0, 256, (150, 40, 3), np.uint8), rng.integers(0, 256, (150, 40, 3), np.uint8)
    opaque = np.broadcast_to(np.float32(1), (150, 40))
    for mode in ("multiply", "screen"):
        fast, general = dst.copy(), dst.copy()
        blend_into(fast, src, opaque, mode)
        blend_band(general, src, opaque, mode)
        assert np.array_equal(fast, general), mode
