"""The one name table: the editor's names (叠化, 动感放大, 滤色, ...) → our parametric effects.

Transitions, animations, filters and video effects are editor resources known only by name.
Each family has an ordered list of keyword rules; the first rule whose keyword occurs in the
name wins (so specific rules, 向左擦除, come before general ones, 向左). A keyword written
"A+B" needs both parts. Latin keywords match case-insensitively (CapCut writes English names).
When nothing matches, transitions fall back to a dissolve and animations to a fade; filters
and video effects have no default and leave the picture unchanged. Blend modes and mask
shapes are a closed set, matched exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# ---------------------------------------------------------------- transitions
# Effect keys are the functions in transitions.py. Directions name where the motion goes:
# push_left moves both pictures leftwards (the new one enters from the right).
TRANSITION_RULES: tuple[tuple[str, str], ...] = (
    # wipes: the edge moves the named way
    ("向左+擦", "wipe_left"), ("向右+擦", "wipe_right"), ("向上+擦", "wipe_up"), ("向下+擦", "wipe_down"),
    ("wipe+left", "wipe_left"), ("wipe+up", "wipe_up"), ("wipe+down", "wipe_down"), ("擦", "wipe_right"),
    ("wipe", "wipe_right"), ("涂抹", "wipe_right"), ("扫光", "wipe_right"), ("流光", "wipe_right"),
    ("扫描", "clock_wipe"), ("雨刷", "clock_wipe"), ("钟", "clock_wipe"), ("日历", "clock_wipe"),
    ("clock", "clock_wipe"),
    # flashes through black and white
    ("闪黑", "fade_black"), ("黑场", "fade_black"), ("黑色", "fade_black"), ("眨眼", "fade_black"),
    ("快门", "fade_black"), ("关机", "fade_black"), ("black", "fade_black"), ("dip", "fade_black"),
    ("闪白", "fade_white"), ("白光", "fade_white"), ("泛白", "fade_white"), ("爆闪", "fade_white"),
    ("闪光", "fade_white"), ("泛光", "fade_white"), ("炫光", "fade_white"), ("曝光", "fade_white"),
    ("光斑", "fade_white"), ("光晕", "fade_white"), ("漏光", "fade_white"), ("荧光", "fade_white"),
    ("快闪", "fade_white"), ("频闪", "fade_white"), ("电光", "fade_white"), ("光束", "fade_white"),
    ("星光", "fade_white"), ("发光", "fade_white"), ("光", "fade_white"), ("white", "fade_white"),
    ("flash", "fade_white"),
    # glitches, shakes and pixels
    ("马赛克", "pixelate"), ("像素", "pixelate"), ("mosaic", "pixelate"), ("pixel", "pixelate"),
    ("故障", "glitch"), ("色差", "glitch"), ("信号", "glitch"), ("色散", "glitch"), ("电视", "glitch"),
    ("电流", "glitch"), ("负片", "glitch"), ("反转片", "glitch"), ("glitch", "glitch"), ("rgb", "glitch"),
    ("抖动", "shake"), ("震", "shake"), ("摇晃", "shake"), ("晃", "shake"), ("弹跳", "shake"),
    ("shake", "shake"),
    # shaped reveals
    ("百叶窗", "blinds"), ("窗格", "blinds"), ("横线", "blinds"), ("竖线", "blinds"), ("线条", "blinds"),
    ("blind", "blinds"),
    ("圆形遮罩", "circle_open"), ("圆形", "circle_open"), ("爱心", "circle_open"), ("心形", "circle_open"),
    ("星星", "circle_open"), ("聚光", "circle_open"), ("射灯", "circle_open"), ("放射", "circle_open"),
    ("circle", "circle_open"),
    ("吸入", "circle_close"), ("汇聚", "circle_close"), ("收缩", "circle_close"), ("吃掉", "circle_close"),
    ("分割", "split"), ("拉幕", "split"), ("开幕", "split"), ("切开", "split"), ("拉开", "split"),
    ("撕", "split"), ("分屏", "split"), ("split", "split"), ("open", "split"),
    # turns
    ("逆时针", "spin_ccw"), ("顺时针", "spin"), ("旋", "spin"), ("漩涡", "spin"), ("风车", "spin"),
    ("转", "spin"), ("spin", "spin"), ("rotat", "spin"), ("swirl", "spin"),
    # pushes and slides
    ("上移", "push_up"), ("下移", "push_down"), ("左移", "push_left"), ("右移", "push_right"),
    ("push", "push_left"), ("拉屏", "push_left"), ("冲屏", "push_left"), ("立方", "push_left"),
    ("cube", "push_left"), ("翻", "push_left"), ("flip", "push_left"), ("fold", "push_left"),
    ("向左", "slide_left"), ("向右", "slide_right"), ("向上", "slide_up"), ("向下", "slide_down"),
    ("上滑", "slide_up"), ("下滑", "slide_down"), ("上升", "slide_up"), ("掉落", "slide_down"),
    ("落下", "slide_down"), ("滑", "slide_left"), ("left", "slide_left"), ("right", "slide_right"),
    ("up", "slide_up"), ("down", "slide_down"), ("slide", "slide_left"),
    # zooms
    ("拉远", "zoom_out"), ("推远", "zoom_out"), ("缩小", "zoom_out"), ("压缩", "zoom_out"),
    ("远", "zoom_out"), ("zoom out", "zoom_out"),
    ("推近", "zoom_in"), ("放大", "zoom_in"), ("变焦", "zoom_in"), ("穿越", "zoom_in"), ("穿梭", "zoom_in"),
    ("近", "zoom_in"), ("缩放", "zoom_in"), ("拉伸", "zoom_in"), ("空间", "zoom_in"), ("3d", "zoom_in"),
    ("鱼眼", "zoom_in"), ("冲", "zoom_in"), ("镜头", "zoom_in"), ("摄像", "zoom_in"), ("zoom", "zoom_in"),
    # soft ones
    ("模糊", "blur_dissolve"), ("雾", "blur_dissolve"), ("虚", "blur_dissolve"), ("blur", "blur_dissolve"),
    ("叠化", "dissolve"), ("溶解", "dissolve"), ("叠加", "dissolve"), ("叠影", "dissolve"),
    ("水墨", "dissolve"), ("墨", "dissolve"), ("烟", "dissolve"), ("云", "dissolve"), ("粒子", "dissolve"),
    ("融化", "dissolve"), ("水", "dissolve"), ("波", "dissolve"), ("雪", "dissolve"), ("花", "dissolve"),
    ("dissolve", "dissolve"), ("fade", "dissolve"), ("mix", "dissolve"),
    # themed ones, by the motion they mostly make
    ("燃烧", "fade_white"), ("火", "fade_white"), ("胶片", "fade_white"), ("放映", "fade_white"),
    ("闪回", "fade_white"), ("回忆", "fade_white"), ("破碎", "split"), ("挤压", "zoom_out"),
    ("拍摄器", "zoom_out"), ("相片", "zoom_out"), ("拼贴", "zoom_out"), ("边框", "zoom_out"), ("框", "zoom_out"),
    ("弹", "zoom_in"), ("摇镜", "push_left"), ("倒影", "slide_up"), ("幻", "spin"), ("万花筒", "spin"),
    ("迷幻", "glitch"), ("热成像", "glitch"), ("闪切", "fade_white"), ("沙漏", "spin"), ("shuriken", "spin"),
    # other UI languages, for names whose id the table does not know (Russian, Vietnamese, Spanish)
    ("зум", "zoom_in"), ("приближ", "zoom_in"), ("отдал", "zoom_out"), ("размыт", "blur_dissolve"),
    ("раствор", "dissolve"), ("вспыш", "fade_white"), ("вращ", "spin"), ("сдвиг", "push_left"),
    ("thu nhỏ", "zoom_out"), ("kéo ra", "zoom_out"), ("thu phóng", "zoom_in"), ("phóng", "zoom_in"),
    ("mờ", "blur_dissolve"), ("hòa tan", "dissolve"), ("xoay", "spin"), ("trượt", "slide_left"),
    ("lắc", "shake"), ("desenfo", "blur_dissolve"), ("disolv", "dissolve"), ("giro", "spin"),
)
TRANSITION_DEFAULT = "dissolve"

# ---------------------------------------------------------------- animations
# Effect keys are in animations.py. One table serves intros, outros, group and loop
# animations: a motion is named by where it goes (slide_left moves leftwards, zoom_in grows),
# and animations.py turns it into an entrance or an exit.
ANIMATION_RULES: tuple[tuple[str, str], ...] = (
    # text reveals
    ("打字", "typewriter"), ("输入", "typewriter"), ("光标", "typewriter"), ("逐字", "typewriter"),
    ("卡拉ok", "typewriter"), ("karaoke", "typewriter"), ("typ", "typewriter"),
    ("露出", "line_reveal"), ("逐行", "line_reveal"), ("多行", "line_reveal"), ("排队", "line_reveal"),
    ("字幕滚动", "line_reveal"),
    # named motions first, so that 动感放大 is not a plain 放大
    ("动感放大", "punch_zoom"), ("冲屏", "punch_zoom"), ("冲撞", "punch_zoom"), ("砸", "punch_zoom"),
    ("钟摆", "pendulum"), ("摇摆", "pendulum"), ("荡", "pendulum"), ("摆", "pendulum"), ("海盗船", "pendulum"),
    ("swing", "pendulum"),
    ("心跳", "pulse"), ("跳动", "pulse"), ("呼吸", "pulse"), ("脉冲", "pulse"), ("放大缩小", "pulse"),
    ("悸动", "pulse"), ("pulse", "pulse"),
    ("闪烁", "blink"), ("频闪", "blink"), ("爆闪", "blink"), ("闪", "blink"), ("blink", "blink"),
    ("flash", "blink"),
    ("漂浮", "float"), ("飘", "float"), ("波浪", "float"), ("波动", "float"), ("float", "float"), ("wave", "float"),
    # wipes
    ("向左+擦", "wipe_left"), ("向右+擦", "wipe_right"), ("向上+擦", "wipe_up"), ("向下+擦", "wipe_down"),
    ("左+擦", "wipe_left"), ("擦", "wipe_right"), ("扫光", "wipe_right"), ("扫描", "wipe_right"),
    ("雨刷", "wipe_right"), ("开幕", "wipe_down"), ("闭幕", "wipe_up"), ("幕", "wipe_down"),
    ("画出", "wipe_right"), ("wip", "wipe_right"),
    # shakes, bounces, turns
    ("抖", "shake"), ("震", "shake"), ("晃", "shake"), ("颤", "shake"), ("故障", "shake"), ("色差", "shake"),
    ("乱码", "shake"), ("glitch", "shake"), ("shake", "shake"), ("shudder", "shake"),
    ("弹", "bounce"), ("跳", "bounce"), ("果冻", "bounce"), ("bounce", "bounce"), ("jelly", "bounce"),
    ("翻", "flip"), ("flip", "flip"), ("镜像", "flip"), ("折叠", "flip"), ("fold", "flip"),
    ("逆时针", "rotate_ccw"), ("旋", "rotate"), ("转", "rotate"), ("漩涡", "rotate"), ("绕", "rotate"),
    ("陀螺", "rotate"), ("spin", "rotate"), ("rotat", "rotate"), ("swirl", "rotate"),
    # blur
    ("模糊", "blur"), ("晕开", "blur"), ("虚影", "blur"), ("聚焦", "blur"), ("雾", "blur"), ("blur", "blur"),
    ("focus", "blur"),
    # slides
    ("向左", "slide_left"), ("向右", "slide_right"), ("向上", "slide_up"), ("向下", "slide_down"),
    ("左拉", "slide_left"), ("右拉", "slide_right"), ("侧滑", "slide_left"), ("横移", "slide_left"),
    ("上升", "slide_up"), ("升", "slide_up"), ("站起", "slide_up"), ("飞入", "slide_up"), ("飞出", "slide_up"),
    ("下降", "slide_down"), ("降落", "slide_down"), ("落", "slide_down"), ("坠", "slide_down"),
    ("躺下", "slide_down"), ("滑", "slide_left"), ("甩", "slide_right"), ("小火车", "slide_right"),
    ("过山车", "slide_right"), ("left", "slide_left"), ("right", "slide_right"), ("drop", "slide_down"),
    ("up", "slide_up"), ("down", "slide_down"), ("slide", "slide_left"),
    # zooms
    ("缩小", "zoom_out"), ("收", "zoom_out"), ("远", "zoom_out"), ("吸", "zoom_out"), ("shrink", "zoom_out"),
    ("放大", "zoom_in"), ("扩大", "zoom_in"), ("近", "zoom_in"), ("缩放", "zoom_in"), ("伸缩", "zoom_in"),
    ("拉伸", "zoom_in"), ("拉镜", "zoom_in"), ("聚合", "zoom_in"), ("生长", "zoom_in"), ("展开", "zoom_in"),
    ("炸", "zoom_in"), ("zoom", "zoom_in"), ("grow", "zoom_in"),
    # fades
    ("渐显", "fade"), ("渐隐", "fade"), ("溶解", "fade"), ("消散", "fade"), ("显影", "fade"), ("淡", "fade"),
    ("水墨", "fade"), ("粒子", "fade"), ("融化", "fade"), ("灼烧", "fade"), ("fade", "fade"),
    # themed ones, by the motion they mostly make
    ("分割", "wipe_right"), ("分屏", "wipe_right"), ("拆分", "wipe_right"), ("拼", "wipe_right"),
    ("遮罩", "wipe_down"), ("百叶窗", "wipe_down"), ("立方", "flip"), ("魔方", "flip"), ("滚", "rotate"),
    ("拖尾", "slide_right"), ("拉丝", "slide_right"), ("顶出", "slide_up"), ("汇聚", "zoom_in"),
    ("集合", "zoom_in"), ("叠影", "blur"), ("分身", "blur"), ("马赛克", "blur"),
    ("日出", "slide_up"), ("掀起", "slide_up"), ("斜切", "wipe_right"), ("便利贴", "flip"),
    ("spring", "bounce"), ("hop", "bounce"), ("slash", "wipe_right"), ("tesseract", "flip"),
    # other UI languages, for names whose id the table does not know (Russian, Vietnamese, Spanish)
    ("зум", "zoom_in"), ("увелич", "zoom_in"), ("уменьш", "zoom_out"), ("появлен", "fade"), ("исчезн", "fade"),
    ("затух", "fade"), ("размыт", "blur"), ("вращ", "rotate"), ("тряс", "shake"), ("качан", "pendulum"),
    ("прыж", "bounce"), ("вспыш", "blink"), ("сдвиг", "slide_left"),
    ("thu nhỏ", "zoom_out"), ("thu phóng", "zoom_in"), ("phóng", "zoom_in"), ("mờ dần", "fade"),
    ("mờ", "blur"), ("con lắc", "pendulum"), ("xoay", "rotate"), ("lắc", "shake"), ("trượt", "slide_left"),
    ("rơi", "slide_down"), ("nảy", "bounce"), ("nháy", "blink"), ("desvan", "fade"), ("desenfo", "blur"),
    ("giro", "rotate"),
)
ANIMATION_DEFAULT = "fade"

# ---------------------------------------------------------------- filters and video effects
# Preset keys are in filters.py. Filters are colour grades; video effects add spatial looks.
FILTER_RULES: tuple[tuple[str, str], ...] = (
    ("黑白", "mono"), ("默片", "mono"), ("灰调", "mono"), ("安塞尔", "mono"), ("bw", "mono"),
    ("b&w", "mono"), ("mono", "mono"), ("noir", "mono"),
    ("褪色", "faded"), ("淡", "faded"), ("去灰", "crisp"),
    ("复古", "vintage"), ("古早", "vintage"), ("胶片", "vintage"), ("胶卷", "vintage"), ("港风", "vintage"),
    ("怀旧", "vintage"), ("旧", "vintage"), ("老", "vintage"), ("宝丽来", "vintage"), ("拍立得", "vintage"),
    ("柯达", "vintage"), ("富士", "vintage"), ("vhs", "vintage"), ("ccd", "vintage"), ("retro", "vintage"),
    ("vintage", "vintage"), ("film", "vintage"), ("牛皮纸", "sepia"), ("棕", "sepia"), ("褐", "sepia"),
    ("咖", "sepia"), ("sepia", "sepia"),
    ("电影", "cinematic"), ("影视", "cinematic"), ("质感", "cinematic"), ("赛博", "cinematic"),
    ("暗调", "moody"), ("暗", "moody"), ("夜", "moody"), ("黑金", "moody"), ("深", "moody"), ("魅", "moody"),
    ("冷", "cool"), ("蓝", "cool"), ("冬", "cool"), ("雪", "cool"), ("冰", "cool"), ("清", "cool"),
    ("青", "cool"), ("海", "cool"), ("blue", "cool"), ("cold", "cool"), ("cool", "cool"),
    ("暖", "warm"), ("日落", "warm"), ("落日", "warm"), ("夕", "warm"), ("黄昏", "warm"), ("橘", "warm"),
    ("橙", "warm"), ("金", "warm"), ("秋", "warm"), ("晚", "warm"), ("暮", "warm"), ("黄", "warm"),
    ("warm", "warm"), ("sunset", "warm"), ("golden", "warm"),
    ("粉", "pink"), ("樱", "pink"), ("桃", "pink"), ("红", "pink"), ("pink", "pink"), ("peach", "pink"),
    ("绿", "green"), ("森", "green"), ("林", "green"), ("野", "green"), ("薄荷", "green"), ("green", "green"),
    ("高饱和", "vivid"), ("鲜", "vivid"), ("艳", "vivid"), ("增色", "vivid"), ("浓", "vivid"), ("亢奋", "vivid"),
    ("彩", "vivid"), ("多巴胺", "vivid"), ("vivid", "vivid"), ("party", "vivid"),
    ("柔", "soft"), ("雾", "soft"), ("梦", "soft"), ("奶", "soft"), ("朦胧", "soft"), ("soft", "soft"),
    ("dream", "soft"),
    ("高清", "crisp"), ("清晰", "crisp"), ("4k", "crisp"), ("8k", "crisp"), ("画质", "crisp"), ("锐", "crisp"),
    ("白", "bright"), ("亮", "bright"), ("晴", "bright"), ("透", "bright"), ("春", "bright"), ("夏", "bright"),
    ("肤", "bright"), ("光", "bright"), ("bright", "bright"), ("glow", "bright"),
)
VIDEO_EFFECT_RULES: tuple[tuple[str, str], ...] = (
    ("黑白", "mono"), ("b&w", "mono"), ("模糊", "blur"), ("虚化", "blur"), ("失焦", "blur"), ("毛玻璃", "blur"),
    ("blur", "blur"), ("暗角", "vignette"), ("vignette", "vignette"), ("锐化", "sharpen"), ("sharpen", "sharpen"),
    ("抖动", "shake"), ("震动", "shake"), ("颤抖", "shake"), ("摇晃", "shake"), ("shake", "shake"),
    ("噪点", "grain"), ("颗粒", "grain"), ("grain", "grain"), ("noise", "grain"),
    ("老电影", "old_film"), ("老照片", "old_film"), ("胶片", "old_film"), ("dv", "old_film"), ("vhs", "old_film"),
    ("录像", "old_film"), ("复古", "old_film"), ("放映", "old_film"), ("70s", "old_film"), ("90s", "old_film"),
    ("betamax", "old_film"), ("jvc", "old_film"), ("film", "old_film"),
    ("闪白", "flash"), ("曝光", "flash"), ("闪黑", "dim"), ("暗夜", "dim"), ("负片", "invert"),
    ("反转片", "invert"), ("invert", "invert"), ("噪音", "grain"), ("电视", "old_film"), ("闪烁", "flash"),
    ("flash", "flash"),
    # other UI languages (Russian, Vietnamese)
    ("размыт", "blur"), ("шум", "grain"), ("mờ", "blur"), ("nhiễu", "grain"), ("rung", "shake"), ("lắc", "shake"),
)

# ---------------------------------------------------------------- blend modes and masks
MIX_MODES: dict[str, str] = {
    "正片叠底": "multiply", "滤色": "screen", "叠加": "overlay", "柔光": "soft_light", "强光": "hard_light",
    "变暗": "darken", "变亮": "lighten", "颜色减淡": "color_dodge", "颜色加深": "color_burn", "线性加深": "linear_burn",
    "multiply": "multiply", "screen": "screen", "overlay": "overlay", "soft light": "soft_light",
    "hard light": "hard_light", "darken": "darken", "lighten": "lighten", "color dodge": "color_dodge",
    "color burn": "color_burn", "linear burn": "linear_burn",
}
MASK_SHAPES = ("line", "mirror", "circle", "rectangle", "heart", "star")

FAMILY_RULES = {"transition": TRANSITION_RULES, "animation": ANIMATION_RULES, "filter": FILTER_RULES,
                "video_effect": VIDEO_EFFECT_RULES}
DEFAULTS = {"transition": TRANSITION_DEFAULT, "animation": ANIMATION_DEFAULT}
# The editor's effect ids → the name the rules above resolve (scripts/make_editor_ids.py).
EDITOR_IDS = Path(__file__).with_name("editor_ids.tsv")


@dataclass(frozen=True, slots=True)
class Match:
    """What a name resolved to: an effect key ("" for none), and the keyword that chose it
    ("" when the family's default was taken)."""

    effect: str
    keyword: str = ""

    @property
    def by_default(self) -> bool:
        return bool(self.effect) and not self.keyword


def keyword_match(rules: tuple[tuple[str, str], ...], name: str) -> Match | None:
    """The first rule whose keyword (every "+" part of it) occurs in the name, any case."""
    folded = name.lower()
    for keyword, effect in rules:
        if all(part in folded for part in keyword.split("+")):
            return Match(effect, keyword)
    return None


@lru_cache(maxsize=4096)
def resolve(family: str, name: str) -> Match:
    """The effect an editor name maps to, in `family` (transition, animation, filter,
    video_effect, mix_mode)."""
    if family == "mix_mode":
        mode = MIX_MODES.get(name.strip().lower()) or MIX_MODES.get(name.strip())
        return Match(mode, name) if mode else Match("")
    return keyword_match(FAMILY_RULES.get(family, ()), name) or Match(DEFAULTS.get(family, ""))


def is_karaoke(animation_name: str) -> bool:
    """Whether a text animation is the editor's karaoke, which colours each word in turn."""
    return any(k in animation_name.lower() for k in ("卡拉ok", "karaoke"))


def editor_name(family: str, name: str, ids: tuple[str, ...]) -> str:
    """The name to resolve an effect by: the editor's own name for its id when the table
    knows the id (ids are the same in every UI language), else the name as written."""
    rows = editor_ids()
    for effect_id in ids:
        key = f"{family}\t{effect_id}\t"
        i = bisect.bisect_left(rows, key)
        if i < len(rows) and rows[i].startswith(key):
            return rows[i][len(key):]
    return name


@lru_cache(maxsize=1)
def editor_ids() -> list[str]:
    """The table's rows, "family<TAB>id<TAB>name", sorted for bisection: 1 MB held, where a
    dict of them held 5 MB for the few lookups a draft makes."""
    lines = EDITOR_IDS.read_text(encoding="utf-8").splitlines()
    return sorted(line for line in lines if line and not line.startswith("#"))
