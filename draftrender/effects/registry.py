"""What the renderer does with each effect the draft names, for the fidelity report.

`support(family, name)` tells the truth per name: masks, chroma key and blend modes render
exactly (they are fully described in the draft); named transitions, animations, filters and
video effects are approximated by the parametric effect names.py maps them to, and the
reason says which, and whether a keyword chose it or the family's default did. Filters and
video effects that match nothing are left out (the picture is unchanged).
"""

from __future__ import annotations

from typing import Literal

from .names import MASK_SHAPES, resolve

Status = Literal["rendered", "approximated", "ignored"]

# Families with nothing to look up by name.
FAMILIES: dict[str, tuple[Status, str]] = {
    "chroma": ("rendered", ""),
    "lut": ("rendered", ""),  # a .cube file: exact when present (left out, with a warning, when missing)
    "adjust": ("ignored", "adjustment layers are not rendered yet"),
}
NOUNS = {"transition": "transition", "animation": "animation", "filter": "filter", "video_effect": "video effect"}


def support(family: str, name: str = "") -> tuple[Status, str]:
    """How the renderer treats an effect of this family and editor name."""
    if family in FAMILIES:
        return FAMILIES[family]
    if family == "mask":
        if not name or name in MASK_SHAPES:
            return "rendered", ""
        return "approximated", f"mask shape {name!r} is unknown: drawn as a rectangle"
    if family == "mix_mode":
        if resolve("mix_mode", name).effect:
            return "rendered", ""
        return "ignored", f"blend mode {name!r} is unknown: drawn as normal"
    if family in NOUNS:
        match = resolve(family, name)
        label = match.effect.replace("_", " ")
        if not match.effect:
            return "ignored", f"no parametric {NOUNS[family]} matches this name: the picture is left unchanged"
        if match.by_default:
            return "approximated", f"drawn as {label}: no keyword matched, the default {NOUNS[family]}"
        return "approximated", f"drawn as {label} (keyword {match.keyword!r})"
    return "ignored", f"{family} is not rendered"
