"""A long 320×180 draft for the chunked render tests (2 minutes in the scale-out test), and
how two renders are compared: a 2 s clip whose frames all differ, played over and over, a
caption, and a tone under it all (the clip's own sound plus a looped 3 s tone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pyJianYingDraft as jy
from drafts import SEC, pyjy_draft

def long_draft(root: Path, seconds: int = 120) -> Path:
    """`seconds` (a multiple of 6) of draft at 30 fps."""

    def build(script: jy.ScriptFile, media: dict[str, Path]) -> None:
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.audio, "bgm"),
                              jy.TrackSpec(jy.TrackType.text, "caption")])
        for k in range(seconds // 2):
            script.add_segment(jy.VideoSegment(str(media["clip_a"]), jy.trange(2 * k * SEC, 2 * SEC)), "main")
        for k in range(seconds // 3):
            script.add_segment(jy.AudioSegment(str(media["bgm"]), jy.trange(3 * k * SEC, 3 * SEC), volume=0.5), "bgm")
        script.add_segment(jy.TextSegment("你好 World", jy.trange(SEC, seconds // 3 * SEC)), "caption")

    return pyjy_draft(root, build, name="long", width=320, height=180)


def frames(path: Path) -> Iterator[tuple[int, float, np.ndarray]]:
    """(pts, seconds, RGB) of every frame, decoded one at a time."""
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.pts, float(f.time), f.to_ndarray(format="rgb24")


def samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def compare(single: Path, chunked: Path) -> dict:
    """The figures the chunked render must meet against the single-process one; asserts
    equal frame counts and timestamps and equal audio samples, returns the worst PSNR."""
    count, worst = 0, float("inf")
    for (pts1, t1, f1), (pts2, t2, f2) in zip(frames(single), frames(chunked), strict=True):
        assert (pts1, t1) == (pts2, t2), f"frame {count}: {pts1} at {t1} s against {pts2} at {t2} s"
        worst = min(worst, psnr(f1, f2))
        count += 1
    a, b = samples(single), samples(chunked)
    assert a.shape == b.shape and np.array_equal(a, b), f"audio differs: {a.shape} against {b.shape}"
    return {"frames": count, "samples": a.shape[1], "worst_psnr_db": worst}
