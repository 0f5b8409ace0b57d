"""What the renderer does with each family of effects the editor knows only by name.

One table, read by the fidelity report and by the render plan, so the report always says
what the renderer really does. Families without a renderer yet say so.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["rendered", "approximated", "ignored"]

# family -> (status, reason). Updated as each family gains a parametric renderer.
FAMILIES: dict[str, tuple[Status, str]] = {
    "transition": ("ignored", "transitions are not rendered yet: the cut is hard"),
    "animation": ("ignored", "animations are not rendered yet"),
    "filter": ("ignored", "named filters are not rendered yet"),
    "video_effect": ("ignored", "named video effects are not rendered yet"),
    "mix_mode": ("ignored", "blend modes are not rendered yet: drawn as normal"),
    "lut": ("ignored", "LUTs are not rendered yet"),
    "adjust": ("ignored", "adjustment layers are not rendered yet"),
    "mask": ("ignored", "masks are not rendered yet"),
    "chroma": ("ignored", "chroma key is not rendered yet"),
}


def support(family: str, name: str = "") -> tuple[Status, str]:
    """How the renderer treats an effect of this family and editor name."""
    status, reason = FAMILIES.get(family, ("ignored", f"{family} is not rendered"))
    return status, reason
