"""Multi-timeline projects (Timelines/<id>/draft_content.json beside timeline_layout.json):
the active timeline renders by default, and any one by its id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyJianYingDraft as jy
from drafts import SEC
from media_factory import make_image

import draftrender

RED, BLUE = (220, 30, 30), (30, 30, 220)


def one_photo_draft(root: Path, name: str, color) -> Path:
    script = jy.DraftFolder(str(root)).create_draft(name, 64, 36, 30, allow_replace=True)
    script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main")])
    photo = make_image(root / "project" / f"{name}.png", (64, 36), color)
    script.add_segment(jy.VideoSegment(str(photo), jy.trange(0, SEC)), "main")
    script.save()
    return root / name / "draft_content.json"


def test_the_active_timeline_renders_by_default_and_another_by_its_id(tmp_path):
    project = tmp_path / "project"
    for timeline, color in (("main-id", RED), ("second-id", BLUE)):
        target = project / "Timelines" / timeline / "draft_content.json"
        target.parent.mkdir(parents=True)
        shutil.copyfile(one_photo_draft(tmp_path, timeline, color), target)
    (project / "timeline_layout.json").write_text(json.dumps({"activeTimeline": "main-id"}), encoding="utf-8")

    def colour(**kw) -> np.ndarray:
        return draftrender.render_frame(project, 0.5, **kw)[18, 32].astype(int)

    assert np.abs(colour() - RED).max() < 12
    assert np.abs(colour(timeline="second-id") - BLUE).max() < 12
