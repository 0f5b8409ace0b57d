"""The registry says truthfully what the renderer does with each named effect."""

from __future__ import annotations

from draftrender.effects.registry import support


def test_masks_chroma_and_blend_modes_render_exactly():
    assert support("mask", "circle") == ("rendered", "")
    assert support("mask", "heart") == ("rendered", "")
    assert support("chroma") == ("rendered", "")
    assert support("mix_mode", "滤色") == ("rendered", "")


def test_unknown_blend_modes_and_mask_shapes_say_what_is_drawn_instead():
    assert support("mix_mode", "溶解") == ("ignored", "blend mode '溶解' is unknown: drawn as normal")
    assert support("mask", "hexagon")[0] == "approximated"


def test_named_transitions_and_animations_say_what_they_are_drawn_as_and_why():
    assert support("transition", "叠化") == ("approximated", "drawn as dissolve (keyword '叠化')")
    assert support("transition", "某个新效果") == (
        "approximated", "drawn as dissolve: no keyword matched, the default transition")
    assert support("animation", "动感放大") == ("approximated", "drawn as punch zoom (keyword '动感放大')")
    assert support("animation", "2025") == ("approximated", "drawn as fade: no keyword matched, the default animation")


def test_filters_and_video_effects_without_a_match_are_left_out():
    assert support("filter", "亢奋") == ("approximated", "drawn as vivid (keyword '亢奋')")
    assert support("filter", "KE1") == (
        "ignored", "no parametric filter matches this name: the picture is left unchanged")
    assert support("video_effect", "DV界面")[0] == "approximated"
    assert support("video_effect", "爱心Kira")[0] == "ignored"
