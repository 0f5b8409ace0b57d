"""Animations: the Motion each gives, at the ends and in the middle of intros, outros, groups
and loops, and the text reveals."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from draftrender.effects.animations import (GROUP_SPLIT, LOOPS, SLIDE, STEPS, STILL, Motion, TextLines, motion,
                                            revealed, wiped)


def same(a: Motion, b: Motion) -> bool:
    """Equal motions, up to rounding."""
    return all(x == pytest.approx(y, abs=1e-9) for x, y in zip(fields(a), fields(b), strict=True))


def fields(m: Motion) -> list:
    return [m.opacity, m.dx, m.dy, m.scale_x, m.scale_y, m.rotation, m.blur, m.chars, m.lines,
            *(m.wipe or ("-", 0, 0))[1:], (m.wipe or ("-",))[0] == "x"]


@pytest.mark.parametrize("effect", sorted(STEPS))
def test_every_intro_ends_settled_and_every_outro_starts_settled(effect):
    for text in (False, True):
        assert motion(effect, "in", 1.0, text=text) == STILL, effect
        assert motion(effect, "out", 0.0, text=text) == STILL, effect


@pytest.mark.parametrize("effect", sorted(set(STEPS) - {"bounce", "punch_zoom", "shake", "flip", "blink"}))
def test_every_intro_starts_hidden_or_away(effect):
    m = motion(effect, "in", 0.0, text=True)
    assert m != STILL
    away = (m.opacity == 0 or abs(m.dx) >= 0.1 or abs(m.dy) >= 0.1 or m.chars == 0 or m.lines == 0
            or (m.wipe is not None and m.wipe[2] - m.wipe[1] == 0) or m.scale_x < 0.5)
    assert away, (effect, m)


def test_fade_is_half_transparent_half_way_through_the_intro():
    assert motion("fade", "in", 0.5) == Motion(opacity=0.5)
    assert motion("fade", "out", 0.25).opacity == 0.75


def test_slides_arrive_and_leave_the_named_way():
    arriving = motion("slide_left", "in", 0.5)
    leaving = motion("slide_left", "out", 0.5)
    assert arriving.dx == pytest.approx(SLIDE / 2) and leaving.dx == pytest.approx(-SLIDE / 2)
    assert motion("slide_up", "in", 0.5).dy > 0 and motion("slide_up", "out", 0.5).dy < 0
    # Text slides a short way and fades as it goes.
    text = motion("slide_left", "in", 0.5, text=True)
    assert 0 < text.dx < SLIDE / 4 and text.opacity == 0.5


def test_zoom_in_grows_into_place_and_grows_away():
    assert motion("zoom_in", "in", 0.2).scale_x < 1 < motion("zoom_in", "out", 0.8).scale_x
    assert motion("zoom_out", "in", 0.2).scale_x > 1 > motion("zoom_out", "out", 0.8).scale_x


def test_rotate_turns_clockwise_into_place_and_bounce_overshoots():
    assert motion("rotate", "in", 0.5).rotation == pytest.approx(-180)
    assert motion("rotate_ccw", "in", 0.5).rotation == pytest.approx(180)
    sizes = [motion("bounce", "in", p).scale_x for p in np.linspace(0, 1, 21)]
    assert sizes[0] == 0 and max(sizes) > 1.05 and sizes[-1] == 1


def test_punch_zoom_snaps_from_small_to_full_size():
    sizes = [motion("punch_zoom", "in", p).scale_x for p in (0.0, 0.25, 0.5, 1.0)]
    assert sizes == sorted(sizes) and sizes[0] < 0.7 and sizes[2] > 0.9


def test_group_enters_holds_and_leaves():
    opaque = lambda m: replace(m, opacity=1.0)  # noqa: E731
    assert same(motion("zoom_in", "group", GROUP_SPLIT / 2), opaque(motion("zoom_in", "in", 0.5)))
    assert motion("zoom_in", "group", 0.5) == STILL
    assert same(motion("zoom_in", "group", 1 - GROUP_SPLIT / 2), opaque(motion("zoom_in", "out", 0.5)))


def test_a_group_animation_moves_the_picture_without_hiding_it_unless_it_is_a_fade():
    # A 30 s group zoom ("Зум 1" in shared/real_drafts/Rolik) must not start as a fade from black.
    start = motion("zoom_in", "group", 0.01)
    assert start.opacity == 1.0 and start.scale_x < 0.35
    assert motion("fade", "group", 0.01).opacity < 0.05


@pytest.mark.parametrize("effect", sorted(LOOPS))
def test_loops_repeat_each_cycle(effect):
    start, end = motion(effect, "loop", 0.0), motion(effect, "loop", 1.0)
    assert same(start, end) or (effect.startswith("rotate") and abs(end.rotation - start.rotation) == 360)
    assert not same(motion(effect, "loop", 0.3), STILL)


def test_typewriter_and_line_reveal_become_wipes_on_pictures():
    assert motion("typewriter", "in", 0.25) == Motion(wipe=("x", 0.0, 0.25))
    assert motion("typewriter", "in", 0.25, text=True) == Motion(chars=0.25)
    assert motion("line_reveal", "out", 0.25, text=True) == Motion(lines=0.75)


def test_wipes_keep_the_shown_span():
    pic = np.full((4, 10, 3), 200, np.uint8)
    out = wiped(pic, ("x", 0.0, 0.3))
    assert out.shape == (4, 10, 4) and list(out[0, :, 3]) == [255] * 3 + [0] * 7
    assert motion("wipe_left", "in", 0.25).wipe == ("x", 0.75, 1.0)  # uncovered from the right
    assert motion("wipe_right", "out", 0.25).wipe == ("x", 0.25, 1.0)  # covered from the left


def test_then_combines_two_motions():
    m = Motion(opacity=0.5, dx=0.1, scale_x=2).then(Motion(opacity=0.5, dx=0.1, rotation=10, chars=0.5))
    assert m == Motion(opacity=0.25, dx=0.2, scale_x=2, rotation=10, chars=0.5)


def text_picture() -> tuple[np.ndarray, TextLines]:
    pic = np.zeros((20, 30, 4), np.uint8)
    pic[..., 3] = 255
    # Two lines (rows 0–9 and 10–19), three characters each, ending at x = 10, 20, 30.
    return pic, TextLines(((0, 9, (10, 20, 30)), (10, 19, (10, 20, 30))))


def test_typewriter_reveals_whole_characters_in_reading_order():
    pic, lines = text_picture()
    half = revealed(pic, lines, chars=0.5, lines=1.0)  # 3 of 6 characters: the whole first line
    assert half[:10, :, 3].min() == 255 and half[10:, :, 3].max() == 0
    two = revealed(pic, lines, chars=2 / 6, lines=1.0)
    assert two[:10, :20, 3].min() == 255 and two[:10, 20:, 3].max() == 0


def test_line_reveal_fades_the_next_line_in():
    pic, lines = text_picture()
    out = revealed(pic, lines, chars=1.0, lines=0.75)  # line 1 shown, line 2 half faded in
    assert out[:10, :, 3].min() == 255 and abs(int(out[15, 5, 3]) - 128) <= 1


def test_vertical_text_reveals_columns_from_the_right():
    pic = np.zeros((30, 20, 4), np.uint8)
    pic[..., 3] = 255
    lines = TextLines(((0, 9, (10, 20, 30)), (10, 19, (10, 20, 30))), vertical=True)
    out = revealed(pic, lines, chars=1 / 6, lines=1.0)
    assert out[:10, 10:, 3].min() == 255  # the first character: top of the right column
    assert out[10:, 10:, 3].max() == 0 and out[:, :10, 3].max() == 0
