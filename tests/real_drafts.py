"""The real editor drafts in shared/real_drafts, staged with stand-in media, and measured.

The corpus (31 drafts copied from public repositories, INDEX.tsv says who wrote each) comes
without its media. `stage` copies one draft into a folder and writes, for every video, photo
and audio material (nested compound-clip drafts included), a stand-in with the material's
base name: a small clip keeping its aspect ratio, an image, or a tone, at most 20 s each.
The media locator's "same base name inside the draft folder" rule then finds them.

Run as a script, it renders every draft as tests/render/test_real_drafts.py does and prints
the measurements an issue's notes ask for: per draft, rendered or the error; frames black
where a picture should show; and the fidelity notes by feature, corpus-wide:

    .venv/bin/python tests/real_drafts.py [--json out.json]
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from media_factory import AUDIO_RATE, make_clip, make_image, tone
from shared import REAL_DRAFTS

CORPUS = REAL_DRAFTS
SEC = 1_000_000
WINDOW = 12.0  # seconds rendered of each draft
SCALE = 0.25
STAND_IN_SECONDS = 20.0
STAND_IN_SIDE = 96  # the long side of stand-in pictures, in pixels
STAND_IN_FPS = 10
# A frame counts as black when fewer than this share of its pixels are brighter than BLACK_LEVEL.
BLACK_LEVEL = 24
MIN_LIT_SHARE = 0.01


def index() -> list[dict]:
    """INDEX.tsv's rows, one per draft file."""
    with open(CORPUS / "INDEX.tsv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def is_editor(row: dict) -> bool:
    return row["class"].startswith("editor")


def base_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def materials_of(data: dict):
    """Every (kind, item) in the draft's materials, nested compound-clip drafts included."""
    mats = data.get("materials") if isinstance(data.get("materials"), dict) else {}
    for kind, items in mats.items():
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            yield kind, item
            if kind == "drafts" and isinstance(item.get("draft"), dict):
                yield from materials_of(item["draft"])


def stage(name: str, folder: Path) -> Path:
    """Copy the draft `name` into `folder` as draft_content.json, with stand-in media beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / name, folder / "draft_content.json")
    try:
        data = json.loads((CORPUS / name).read_text(encoding="utf-8-sig"))
    except ValueError:
        return folder  # encrypted or malformed: nothing to stand in for
    made: dict[tuple, Path] = {}  # one file per shape, linked to every name that needs it
    for kind, m in materials_of(data):
        if kind not in ("videos", "audios"):
            continue
        name_ = base_name(str(m.get("path") or ""))
        if not name_ or (folder / name_).exists():
            continue
        ext = Path(name_).suffix.lower()
        if kind == "audios" or ext in AUDIO_FORMATS:
            shape: tuple = ("audio", ext)
        else:
            shape = (str(m.get("type", "video")), ext, aspect(m))
        if shape not in made:
            made[shape] = write_stand_in(folder / f".stand-in-{len(made)}{ext}", shape)
        os.link(made[shape], folder / name_)  # one file under many names: cheap for 160 clips
    return folder


def aspect(m: dict) -> tuple[int, int]:
    """The stand-in's size: the material's aspect ratio, STAND_IN_SIDE on the long side, even sides."""
    w, h = m.get("width") or 16, m.get("height") or 9
    if not (isinstance(w, (int, float)) and isinstance(h, (int, float)) and w > 0 and h > 0):
        w, h = 16, 9
    k = STAND_IN_SIDE / max(w, h)
    return max(16, round(w * k / 2) * 2), max(16, round(h * k / 2) * 2)


AUDIO_FORMATS = {".mp3": ("mp3", "libmp3lame"), ".m4a": ("mp4", "aac"), ".aac": ("adts", "aac"),
                 ".ogg": ("ogg", "libopus"), ".wav": ("wav", "pcm_s16le"), ".flac": ("flac", "flac")}
PHOTO_EXTS = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def write_stand_in(path: Path, shape: tuple) -> Path:
    if shape[0] == "audio":
        return write_tone(path, *AUDIO_FORMATS.get(shape[1], ("wav", "pcm_s16le")))
    _, ext, size = shape
    color = (90 + size[0] % 120, 160, 200 - size[1] % 120)  # lit, and different per shape
    if ext == ".gif":
        frames = [Image.new("RGB", size, (c, 160, 200 - c)) for c in range(60, 220, 40)]
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
        return path
    if ext in PHOTO_EXTS:
        return make_image(path, size, color)
    return make_clip(path, width=size[0], height=size[1], fps=STAND_IN_FPS, seconds=STAND_IN_SECONDS,
                     color=color, audio_hz=330)


def write_tone(path: Path, container: str, codec: str) -> Path:
    rate = 48_000 if codec == "libopus" else AUDIO_RATE
    samples = tone(440, STAND_IN_SECONDS, rate)
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        step = stream.codec_context.frame_size or 1024  # the encoder converts fltp to its own format
        for start in range(0, samples.shape[1], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + step]),
                                               format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


# ---------------------------------------------------------------- what should show


def lit(frame: np.ndarray) -> bool:
    """Whether a frame shows anything: not (almost) all black."""
    return float((frame.max(axis=2) > BLACK_LEVEL).mean()) >= MIN_LIT_SHARE


def picture_times(data: dict, window: float = WINDOW) -> list[float]:
    """Seconds (one per half second of the window) at which the draft shows a video or photo:
    a segment of a video track whose pictures are not hidden (attribute bit 2), visible,
    opaque, on a video or photo material (a compound clip counts)."""
    mats = {m["id"]: m for kind, m in materials_of(data) if kind == "videos" and isinstance(m.get("id"), str)}
    spans = []
    for t in data.get("tracks") or []:
        if t.get("type") != "video" or int(t.get("attribute") or 0) & 2:
            continue
        for s in t.get("segments") or []:
            m = mats.get(s.get("material_id"))
            clip = s.get("clip") if isinstance(s.get("clip"), dict) else {}
            if m is None or m.get("type") not in ("video", "photo") or s.get("visible") is False:
                continue
            if float(clip.get("alpha", 1.0)) <= 0.05:
                continue
            tr = s.get("target_timerange") or {}
            start = float(tr.get("start") or 0) / SEC
            spans.append((start, start + float(tr.get("duration") or 0) / SEC))
    # Half a second in from each end of a span: fades and transitions darken the edges.
    return [t / 2 for t in range(int(window * 2))
            if any(a + 0.5 <= t / 2 <= b - 0.5 for a, b in spans)]


def frames_at(video: Path, times: list[float]) -> dict[float, np.ndarray]:
    """RGB frames of a rendered file nearest each time."""
    wanted = sorted(times)
    got: dict[float, np.ndarray] = {}
    with av.open(str(video)) as f:
        for frame in f.decode(video=0):
            t = float(frame.time or 0)
            while wanted and wanted[0] <= t + 1e-6:
                got[wanted.pop(0)] = frame.to_ndarray(format="rgb24")
            if not wanted:
                break
    return got


# ---------------------------------------------------------------- fidelity notes by feature

# The feature of a note, without the effect's name: "in animation Зум 1" → "in animation".
FEATURE_PREFIXES = ("transition", "in animation", "out animation", "group animation", "loop animation",
                    "filter", "video effect", "sticker", "text bubble", "text effect style (花字)", "material",
                    "keyframes", "mask", "blend mode", "font", "adjust", "lut")


def feature_of(note) -> str:
    feature = re.sub(r"^compound clip .*?: ", "", note.feature)  # nested drafts' notes count alike
    for prefix in FEATURE_PREFIXES:
        if feature == prefix or feature.startswith(prefix + " "):
            feature = prefix
            break
    if "the default" in note.reason:  # a name no keyword matched: the family's fallback
        feature += " (fallback)"
    return f"{feature} [{note.status}]"


def measure(name: str, work: Path) -> dict:
    """Stage, load and render one draft; what happened, and its fidelity notes by feature."""
    import draftrender
    from draftrender.errors import DraftRenderError

    folder = stage(name, work / Path(name).stem)
    row: dict = {"draft": name, "rendered": False, "error": "", "black": [], "notes": Counter()}
    try:
        tl = draftrender.load_draft(folder)
        row["notes"].update(feature_of(n) for n in tl.fidelity)
        result = draftrender.render(folder, work / f"{Path(name).stem}.mp4", end=WINDOW, scale=SCALE,
                                    preset="ultrafast")
    except DraftRenderError as e:
        row["error"] = f"{type(e).__name__}: {e}"
        return row
    row["rendered"] = True
    row["notes"].update("render: " + feature_of(n) for n in result.fidelity[len(tl.fidelity):])
    data = json.loads((folder / "draft_content.json").read_text(encoding="utf-8-sig"))
    times = picture_times(data, min(WINDOW, result.duration))
    frames = frames_at(result.output, times)
    row["black"] = [t for t in times if t in frames and not lit(frames[t])]
    return row


def main(argv: list[str]) -> None:
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in index():
            row = measure(entry["file"], Path(tmp))
            rows.append(row)
            state = "rendered" if row["rendered"] else row["error"][:150]
            black = f"  black at {row['black']}" if row["black"] else ""
            print(f"{entry['file']:40} {entry['class'][:12]:12} {state}{black}", flush=True)
    total: Counter = Counter()
    for row in rows:
        total.update(row["notes"])
    print("\nfidelity notes by feature (whole drafts; render: lines from the 12 s renders)")
    for feature, count in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"{count:6}  {feature}")
    if "--json" in argv:
        out = Path(argv[argv.index("--json") + 1])
        out.write_text(json.dumps([{**r, "notes": dict(r["notes"])} for r in rows], ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
