"""Every draft in shared/real_drafts renders, with stand-in media the test makes (real_drafts.py).

The first 12 s of each draft at scale 0.25: every parseable draft with segments renders; where
the draft shows a video or photo, the frame is not black; the encrypted and the malformed file
end in one clear line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import real_drafts
from real_drafts import CORPUS, SCALE, WINDOW, frames_at, lit, picture_times, stage
from shared import names, require

import draftrender
from draftrender.errors import DraftEmpty, EncryptedDraft, MalformedDraft



@pytest.fixture(autouse=True)
def _corpus() -> None:
    require(CORPUS)


ROWS = {row["file"]: row for row in real_drafts.index()} if CORPUS.is_dir() else {}
# Files that must be refused, and the one line that says why.
REFUSED = {"encrypted": (EncryptedDraft, "is encrypted (JianYing 6 and later encrypt saved drafts)"),
           "malformed": (MalformedDraft, "invalid JSON in draft"),
           "empty": (DraftEmpty, "has no tracks and no materials")}


def expected_refusal(row: dict) -> str | None:
    if row["class"] in ("encrypted", "malformed"):
        return row["class"]
    return "empty" if row["segments"] == "0" else None


@pytest.mark.parametrize("name", sorted(ROWS) or names(CORPUS))
def test_real_draft(name, tmp_path):
    row = ROWS[name]
    folder = stage(name, tmp_path / "draft")
    refusal = expected_refusal(row)
    if refusal is not None:
        error, message = REFUSED[refusal]
        with pytest.raises(error) as caught:
            draftrender.render(folder, tmp_path / "out.mp4", end=WINDOW, scale=SCALE)
        assert message in str(caught.value) and "\n" not in str(caught.value)
        assert not (tmp_path / "out.mp4").exists()
        return

    result = draftrender.render(folder, tmp_path / "out.mp4", end=WINDOW, scale=SCALE, preset="ultrafast")
    timeline = draftrender.load_draft(folder)
    assert result.duration == pytest.approx(min(WINDOW, timeline.duration / 1e6), abs=1 / result.fps)
    data = json.loads((folder / "draft_content.json").read_text(encoding="utf-8-sig"))
    times = picture_times(data, result.duration)
    frames = frames_at(Path(result.output), times)
    assert sorted(frames) == times
    black = [t for t in times if not lit(frames[t])]
    assert not black, f"black frames at {black} s where the draft shows a picture"
