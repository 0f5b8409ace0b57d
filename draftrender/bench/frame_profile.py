"""Where a frame's time goes: the frames of a draft composed (not encoded) under cProfile, and
the CPU milliseconds per frame of each step of the frame path (`python -m draftrender.bench.frame_profile`).

The steps are the functions that do one thing each: a source's decoding and scaling, each
layer operation (render/layers.py), the YUV canvas's pastes, mixes, dissolves and RGB islands, the
compositor's draws and the transitions. Their times are inclusive (a step's callees count in
it), so the rows do not add up to the total.
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import pstats
import time
from pathlib import Path

# (label, module path suffix, function name): the steps worth a row.
STEPS = (
    ("video: decode", "render/video.py", "_frame_covering"),
    ("video: scale to YUV", "render/video.py", "_scaled"),
    ("video: to RGB", "render/video.py", "_to_rgb"),
    ("photo: reduce once", "render/images.py", "_reduced"),
    ("photo: visible part to YUV", "render/images.py", "yuv_at"),
    ("text: rasterise (once per text)", "render/text_raster.py", "rasterize"),
    ("layer: operations (RGB path)", "render/frames.py", "layer"),
    ("  crop", "render/layers.py", "CropOp.apply"),
    ("  mask", "render/layers.py", "MaskOp.apply"),
    ("  chroma key", "render/layers.py", "ChromaOp.apply"),
    ("  colour", "render/layers.py", "AdjustOp.apply"),
    ("  filters and effects", "render/layers.py", "GradeOp.apply"),
    ("  text reveal", "render/layers.py", "RevealOp.apply"),
    ("  wipe", "render/layers.py", "WipeOp.apply"),
    ("  blur", "render/layers.py", "BlurOp.apply"),
    ("yuv: paste", "render/yuv.py", "paste"),
    ("yuv: drawn by opacity or coverage", "render/yuv.py", "draw"),
    ("yuv: rotated (warped, mixed)", "render/yuv.py", "draw_rotated"),
    ("  warp table made (once per placement)", "effects/warp.py", "warp_table"),
    ("  warped by its table", "effects/warp.py", "warp_padded"),
    ("yuv: dissolve", "render/yuv.py", "mix_from"),
    ("yuv: overlay made (once while it stays the same)", "render/yuv.py", "overlay"),
    ("yuv: overlay mixed", "render/yuv.py", "mix"),
    ("yuv: RGB island (convert, draw, convert back)", "render/yuv.py", "draw_rgb"),
    ("draw: place, scale, rotate, blend", "render/compositor.py", "draw"),
    ("transition (RGB)", "render/frames.py", "draw_transition"),
    ("RGB frame (whole)", "render/frames.py", "render"),
)


def profile(draft: str, first: int, last: int, scale: float = 1.0) -> tuple[int, float, list[tuple[str, float]]]:
    """(frames composed, CPU ms per frame in all, [(step, CPU ms per frame)])."""
    from draftrender import load_draft
    from draftrender.assets import prepare_media
    from draftrender.render.frames import FrameRenderer
    from draftrender.render.pipeline import RenderOptions, output_geometry
    from draftrender.render.plan import frame_plan, frame_time

    tl = load_draft(draft)
    probes = prepare_media(tl)
    width, height, fps = output_geometry(tl, RenderOptions(scale=scale))
    frames = FrameRenderer(tl, probes, width, height)
    plan = list(frame_plan(tl, fps, frame_time(first, fps), min(tl.duration, frame_time(last, fps))))
    profiler = cProfile.Profile(time.process_time)
    try:
        profiler.enable()
        for _, _, layers in plan:
            frames.compose(layers)
        profiler.disable()
    finally:
        frames.close()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    n = max(len(plan), 1)
    rows = []
    for label, suffix, name in STEPS:
        where = step_function(name)
        spent = sum(cum for (path, line, fn), (_, _, _, cum, _) in stats.items()
                    if path.endswith(suffix) and fn == where[0] and where[1] in (None, line))
        if spent > 0:
            rows.append((label, 1000 * spent / n))
    total = sum(cum for (path, _, fn), (_, _, _, cum, _) in stats.items()
                if fn == "compose" and path.endswith("frames.py"))
    return len(plan), 1000 * total / n, rows


def step_function(name: str) -> tuple[str, int | None]:
    """(function name, line) as cProfile keys it: a layer operation's apply() by the line of its
    class's method (cProfile names methods without their class); None for any line."""
    if "." not in name:
        return name, None
    from draftrender.render import layers

    method = getattr(layers, name.split(".")[0]).apply
    return "apply", inspect.getsourcelines(method)[1]


def frame_range(text: str) -> tuple[int, int]:
    """--frames' FIRST:LAST, two whole numbers, FIRST below LAST."""
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or int(parts[0]) >= int(parts[1]):
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST:LAST (two whole numbers, FIRST below LAST: 0:90)")
    return int(parts[0]), int(parts[1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m draftrender.bench.frame_profile", description=__doc__)
    p.add_argument("draft", help="a draft folder or draft_content.json (a bench scenario's, say)")
    p.add_argument("--frames", type=frame_range, default="0:90",
                   help="FIRST:LAST output frames to compose (default 0:90)")
    p.add_argument("--scale", type=float, default=1.0, help="resolution scale, as render --scale")
    args = p.parse_args(argv)
    first, last = args.frames
    n, total, rows = profile(str(Path(args.draft)), first, last, args.scale)
    print(f"{args.draft}: frames {first}–{first + n}, composed without encoding: {total:.1f} CPU ms a frame")
    for label, ms in rows:
        print(f"  {label:<48} {ms:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
