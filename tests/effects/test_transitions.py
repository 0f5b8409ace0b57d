"""Transitions on synthetic stages: the pixels each one should give, from its definition."""

from __future__ import annotations

import numpy as np
import pytest

from draftrender.effects.transitions import TRANSITIONS, Stage, ease, transition_frame

H, W = 60, 100
RED = (200, 30, 30)
BLUE = (30, 40, 220)


def plate(color, h=H, w=W) -> Stage:
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = color
    return Stage.opaque(rgb)


def striped(color) -> Stage:
    """A plate with a white column at x = 10, so a move is measurable."""
    out = plate(color)
    out.rgb[:, 10] = 255
    return out


def rgba(stage: Stage) -> np.ndarray:
    """The stage as one HxWx4 array, for comparisons."""
    return np.dstack([stage.rgb, stage.alpha])


def run(effect: str, a: Stage, b: Stage, p: float) -> np.ndarray:
    out = transition_frame(effect, a, b, p)
    assert out.rgb.shape == a.rgb.shape and out.alpha.shape == a.alpha.shape
    assert out.rgb.dtype == out.alpha.dtype == np.uint8
    return rgba(out)


def test_there_are_at_least_24_transitions():
    assert len(TRANSITIONS) >= 24


def test_dissolve_at_its_midpoint_is_the_half_and_half_mix():
    out = run("dissolve", plate(RED), plate(BLUE), 0.5)
    expected = [(a + b) / 2 for a, b in zip(RED, BLUE, strict=True)]
    assert np.all(np.abs(out[..., :3].astype(int) - expected) <= 1)
    assert np.all(out[..., 3] == 255)


def test_dissolve_keeps_a_transparent_outgoing_half_transparent():
    empty = Stage.empty(H, W)
    out = run("dissolve", empty, plate(BLUE), 0.25)
    assert abs(int(out[0, 0, 3]) - 64) <= 1  # premultiplied: colour and alpha scale together
    assert abs(int(out[0, 0, 2]) - round(220 * 0.25)) <= 1


@pytest.mark.parametrize("effect", sorted(TRANSITIONS))
def test_every_transition_starts_on_the_outgoing_and_ends_on_the_incoming(effect):
    a, b = plate(RED), plate(BLUE)
    start, end = run(effect, a, b, 0.0), run(effect, a, b, 1.0)
    assert np.abs(start.astype(int) - rgba(a)).max() <= 2, effect
    assert np.abs(end.astype(int) - rgba(b)).max() <= 2, effect
    run(effect, a, b, 0.5)


@pytest.mark.parametrize("p", [0.25, 0.5, 0.8])
def test_push_left_moves_both_pictures_by_the_eased_share_of_the_width(p):
    out = run("push_left", striped(RED), striped(BLUE), p)
    moved = round(ease(p) * W)
    white = np.flatnonzero(np.all(out[H // 2, :, :3] == 255, axis=1)).tolist()
    # The outgoing column went left by `moved`, the incoming one sits a width to its right.
    assert white == [x for x in (10 - moved, 10 - moved + W) if 0 <= x < W]
    assert tuple(out[H // 2, W - 1, :3]) == BLUE  # the incoming picture fills in from the right


def test_push_up_moves_vertically_and_slide_leaves_the_outgoing_still():
    a, b = striped(RED), striped(BLUE)
    up = run("push_up", a, b, 0.5)
    assert tuple(up[0, 50, :3]) == RED and tuple(up[H - 1, 50, :3]) == BLUE
    slid = run("slide_left", a, b, 0.5)
    assert tuple(slid[H // 2, 10, :3]) == (255, 255, 255)  # the outgoing column has not moved
    assert tuple(slid[H // 2, W - 1, :3]) == BLUE


def test_wipe_right_uncovers_the_incoming_picture_from_the_left():
    out = run("wipe_right", plate(RED), plate(BLUE), 0.5)
    assert tuple(out[30, 5, :3]) == BLUE and tuple(out[30, W - 5, :3]) == RED
    edge = out[30, :, 2].astype(int)
    assert np.all(np.diff(edge) <= 0), "one soft edge, blue to the left of it"


def test_fades_pass_through_black_and_white_at_the_cut():
    assert np.all(run("fade_black", plate(RED), plate(BLUE), 0.5)[..., :3] == 0)
    assert np.all(run("fade_white", plate(RED), plate(BLUE), 0.5)[..., :3] == 255)
    quarter = run("fade_black", plate(RED), plate(BLUE), 0.25)
    assert abs(int(quarter[0, 0, 0]) - 100) <= 1  # half way down to black, still the outgoing one


def test_circle_open_shows_the_incoming_picture_in_the_middle_first():
    out = run("circle_open", plate(RED), plate(BLUE), 0.3)
    assert tuple(out[H // 2, W // 2, :3]) == BLUE and tuple(out[0, 0, :3]) == RED
    closing = run("circle_close", plate(RED), plate(BLUE), 0.7)
    assert tuple(closing[H // 2, W // 2, :3]) == RED and tuple(closing[0, 0, :3]) == BLUE


def test_clock_wipe_sweeps_clockwise_from_twelve():
    out = run("clock_wipe", plate(RED), plate(BLUE), 0.5)
    assert tuple(out[5, W - 5, :3]) == BLUE  # upper right: swept first
    assert tuple(out[5, 5, :3]) == RED  # upper left: swept last


def test_zoom_in_enlarges_the_outgoing_picture_about_the_centre():
    a = plate(RED)
    a.rgb[:, :W // 2] = (250, 250, 0)
    out = run("zoom_in", a, a, 0.5)
    # Scaled up about the centre, the yellow half's edge stays on the centre line.
    assert tuple(out[H // 2, W // 2 - 3, :3]) == (250, 250, 0)
    assert tuple(out[H // 2, W // 2 + 3, :3]) == RED


def test_an_unknown_transition_dissolves():
    out = run("no-such-thing", plate(RED), plate(BLUE), 0.5)
    assert np.array_equal(out, run("dissolve", plate(RED), plate(BLUE), 0.5))
