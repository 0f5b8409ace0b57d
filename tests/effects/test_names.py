"""The name table: every transition and animation name the writers know resolves to an effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from draftrender.effects.animations import STEPS
from draftrender.effects.names import EDITOR_IDS, editor_name, resolve
from draftrender.effects.transitions import TRANSITIONS

KNOWN = {"transition": TRANSITIONS, "animation": STEPS}


def test_every_writer_name_resolves_to_a_known_effect(name_coverage):
    for c in name_coverage:
        unknown = {n: m.effect for n, m in c.matches.items() if m.effect not in KNOWN[c.family]}
        assert not unknown, c.line()


def test_most_names_resolve_by_keyword_rather_than_by_default(name_coverage):
    shares = {(c.writer, c.family): c for c in name_coverage}
    # The report line is the assertion message, so a regression shows the numbers.
    for (writer, family), floor in {("pyJianYingDraft", "transition"): 0.85, ("pyJianYingDraft", "animation"): 0.75,
                                    ("pycapcut", "transition"): 0.6, ("pycapcut", "animation"): 0.6}.items():
        c = shares[(writer, family)]
        assert c.share >= floor, c.line()


def test_every_default_is_the_familys_fallback(name_coverage):
    for c in name_coverage:
        for name, m in c.matches.items():
            if m.by_default:
                assert m.effect == {"transition": "dissolve", "animation": "fade"}[c.family], name


@pytest.mark.parametrize("name, effect", [
    ("叠化", "dissolve"), ("闪黑", "fade_black"), ("闪白", "fade_white"), ("上移", "push_up"), ("下移", "push_down"),
    ("左移", "push_left"), ("右移", "push_right"), ("向左", "slide_left"), ("向右擦除", "wipe_right"),
    ("向上擦除", "wipe_up"), ("拉远", "zoom_out"), ("推近", "zoom_in"), ("顺时针旋转", "spin"),
    ("逆时针旋转", "spin_ccw"), ("圆形遮罩", "circle_open"), ("模糊", "blur_dissolve"), ("故障", "glitch"),
    ("抖动", "shake"), ("百叶窗", "blinds"), ("马赛克", "pixelate"), ("White Flash", "fade_white"),
    ("Cutout Flip", "push_left"),
])
def test_sample_transition_names(name, effect):
    assert resolve("transition", name).effect == effect


@pytest.mark.parametrize("name, effect", [
    ("渐显", "fade"), ("渐隐", "fade"), ("放大", "zoom_in"), ("缩小", "zoom_out"), ("向左滑动", "slide_left"),
    ("向右滑动", "slide_right"), ("向上滑动", "slide_up"), ("向下滑动", "slide_down"), ("旋转", "rotate"),
    ("动感放大", "punch_zoom"), ("动感缩小", "zoom_out"), ("弹入", "bounce"), ("左右抖动", "shake"),
    ("打字机 I", "typewriter"), ("复古打字机", "typewriter"), ("向上露出", "line_reveal"), ("钟摆", "pendulum"),
    ("心跳", "pulse"), ("闪烁", "blink"), ("向右擦除", "wipe_right"), ("模糊", "blur"), ("翻入", "flip"),
])
def test_sample_animation_names(name, effect):
    assert resolve("animation", name).effect == effect


def test_a_match_records_its_keyword_and_a_fallback_records_none():
    assert (resolve("transition", "叠化").keyword, resolve("transition", "叠化").by_default) == ("叠化", False)
    fallback = resolve("transition", "完全陌生的名字")
    assert (fallback.effect, fallback.keyword, fallback.by_default) == ("dissolve", "", True)
    assert resolve("animation", "").effect == "fade"


def test_filters_and_effects_match_by_keyword_or_not_at_all():
    assert resolve("filter", "黑白记忆").effect == "mono"
    assert resolve("filter", "BW 2").effect == "mono"
    assert resolve("filter", "亢奋").effect == "vivid"
    assert resolve("filter", "KE1").effect == ""
    assert resolve("video_effect", "老电影").effect == "old_film"
    assert resolve("video_effect", "爱心Kira").effect == ""


# ---------------------------------------------------------------- ids and other UI languages
# Names and ids as real CapCut drafts write them (shared/real_drafts: Rolik, catcuttool, Temp).


@pytest.mark.parametrize("family, written, ids, editor", [
    ("animation", "Зум 1", ("6759078592740594184",), "缩放"),
    ("transition", "Размытие (шар)", ("7159450506648097281",), "泡泡模糊"),
    ("transition", "Bên trái", ("6726711499676455435",), "左移"),
    ("video_effect", "Chuyển động máy ảnh", ("7399472023874948357",), "摇晃运镜"),
    ("transition", "Black Fade", ("6724239388189921806", "4381461"), "闪黑"),
    ("animation", "Fade In", ("6724916044072227332", "672023"), "渐显"),
])
def test_an_effect_id_gives_the_editors_own_name_in_any_ui_language(family, written, ids, editor):
    assert editor_name(family, written, ids) == editor
    assert resolve(family, editor).keyword


def test_an_unknown_id_keeps_the_written_name_and_ids_are_per_family():
    assert editor_name("animation", "Mini Zoom", ("1",)) == "Mini Zoom"
    # The same id is a text intro and a video effect: each family reads its own.
    assert editor_name("animation", "x", ("7026674824537707038",)) == "滚入"
    assert editor_name("video_effect", "x", ("7026674824537707038",)) == "x"


@pytest.mark.parametrize("family, name, effect", [
    ("animation", "Зум 2", "zoom_in"), ("animation", "Mini Zoom", "zoom_in"), ("animation", "Thu phóng 3", "zoom_in"),
    ("transition", "Размытие", "blur_dissolve"), ("transition", "Xoay tròn", "spin"),
    ("video_effect", "Размытие (шар)", "blur"),
])
def test_names_in_other_languages_resolve_by_keyword_without_an_id(family, name, effect):
    assert resolve(family, name).effect == effect


def test_the_id_table_is_what_the_script_writes_from_the_writers_metadata(tmp_path, monkeypatch):
    import runpy

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_editor_ids.py"
    module = runpy.run_path(str(script))
    monkeypatch.setitem(module["main"].__globals__, "OUT", tmp_path / "ids.tsv")
    module["main"]()
    assert (tmp_path / "ids.tsv").read_text(encoding="utf-8") == EDITOR_IDS.read_text(encoding="utf-8")
