"""The render plan's transitions and animations, on hand-made timelines: which layers show
around a cut, in which role and at what progress, and the animations under way."""

from __future__ import annotations

import pytest

from draftrender.render.plan import LOOP_PERIOD_US, LayerSchedule, layer_state
from draftrender.timeline.model import Animation, Media, NamedEffect, Segment, TimeRange, Transition

SEC = 1_000_000
DISSOLVE = NamedEffect("transition", "叠化")


def clip(index: int, start: int, duration: int, *, source_start: int = 0, transition: Transition | None = None,
         animations: tuple[Animation, ...] = (), track: int = 0) -> Segment:
    media = Media(f"m{index}", "video", f"clip{index}", f"clip{index}.mp4", duration=10 * SEC)
    return Segment(id=f"s{track}.{index}", track_index=track, index=index, kind="video", material=media,
                   target=TimeRange(start, duration), source=TimeRange(source_start, duration),
                   transition=transition, animations=animations)


def showing(segments, t):
    return [layer_state(span, t) for span in LayerSchedule(tuple(segments)).at(t)]


def test_the_window_is_centred_on_the_cut_and_both_layers_show_in_it():
    a = clip(0, 0, SEC, source_start=2 * SEC, transition=Transition(DISSOLVE, 400_000))
    b = clip(1, SEC, SEC, source_start=5 * SEC)
    assert [s.segment for s in showing([a, b], 790_000)] == [a]
    states = showing([a, b], 900_000)
    assert [(s.segment, s.transition.role) for s in states] == [(a, "out"), (b, "in")]
    assert states[0].transition.progress == pytest.approx(0.25)
    # The incoming clip shows its source from before its own start.
    assert states[1].offset == -100_000 and states[1].source_time == 5 * SEC - 100_000
    after = showing([a, b], 1_100_000)
    assert [s.transition.progress for s in after] == [pytest.approx(0.75)] * 2
    # The outgoing clip keeps showing its medium past its own end.
    assert after[0].offset == 1_100_000 and after[0].source_time == 2 * SEC + 1_100_000
    assert [s.segment for s in showing([a, b], 1_200_000)] == [b] and showing([a, b], 1_200_000)[0].transition is None


def test_an_incoming_clip_that_starts_its_medium_holds_the_first_frame():
    a = clip(0, 0, SEC, transition=Transition(DISSOLVE, 400_000))
    b = clip(1, SEC, SEC, source_start=0)
    assert showing([a, b], 850_000)[1].source_time == 0


def test_the_pair_is_named_by_cut_and_track():
    a = clip(0, 0, SEC, transition=Transition(DISSOLVE, 400_000))
    b = clip(1, SEC, SEC)
    out, into = (s.transition for s in showing([a, b], SEC))
    assert (out.cut, out.track, into.cut, into.track) == (SEC, 0, SEC, 0)
    assert out.effect == into.effect == DISSOLVE and out.progress == into.progress == 0.5


def test_a_transition_without_a_neighbour_or_across_a_gap_does_nothing():
    lone = clip(0, 0, SEC, transition=Transition(DISSOLVE, 400_000))
    assert showing([lone], 900_000)[0].transition is None
    gap = clip(1, SEC + 200_000, SEC)
    assert [s.transition for s in showing([lone, gap], 1_300_000)] == [None]


def test_a_window_longer_than_a_neighbour_is_cut_short():
    a = clip(0, 0, 2 * SEC, transition=Transition(DISSOLVE, 2 * SEC))
    b = clip(1, 2 * SEC, 500_000)
    assert [s.segment for s in showing([a, b], 2_400_000)] == [a, b]
    states = showing([a, b], 2_499_000)
    assert states[0].transition.progress == pytest.approx((2_499_000 - SEC) / 1_500_000)


def test_layers_keep_draw_order_through_a_transition():
    a = clip(0, 0, SEC, transition=Transition(DISSOLVE, 400_000))
    b = clip(1, SEC, SEC)
    top = clip(0, 0, 2 * SEC, track=1)
    assert [s.segment for s in showing([a, b, top], SEC)] == [a, b, top]


def anim(name: str, kind: str, start: int, duration: int) -> Animation:
    return Animation(NamedEffect("animation", name), kind, start, duration)


def test_animation_phases_in_out_group_and_loop():
    seg = clip(0, 0, 2 * SEC, animations=(anim("渐显", "in", 0, 500_000), anim("渐隐", "out", 1_500_000, 500_000),
                                          anim("钟摆", "loop", 500_000, 1_000_000)))
    at = lambda t: [(a.effect.name, a.type, round(a.progress, 3)) for a in layer_state(seg, t).animations]  # noqa: E731
    assert at(250_000) == [("渐显", "in", 0.5)]
    assert at(500_000 + LOOP_PERIOD_US // 4) == [("钟摆", "loop", 0.25)]
    assert at(1_750_000) == [("渐隐", "out", 0.5)]
    group = clip(0, 0, 2 * SEC, animations=(anim("三分割", "group", 0, 2 * SEC),))
    assert [a.progress for a in layer_state(group, 500_000).animations] == [0.25]


def test_animations_hold_their_end_state_in_a_transitions_overhang():
    a = clip(0, 0, SEC, transition=Transition(DISSOLVE, 400_000), animations=(anim("渐隐", "out", 500_000, 500_000),))
    b = clip(1, SEC, SEC, animations=(anim("渐显", "in", 0, 500_000),))
    out, into = showing([a, b], 1_100_000)
    assert [x.progress for x in out.animations] == [pytest.approx(1.0, abs=1e-5)]
    assert [x.progress for x in into.animations] == [pytest.approx(0.2)]
    out, into = showing([a, b], 900_000)
    assert [x.progress for x in into.animations] == [0.0]
