"""Sources: one per material kind, opened when a segment first shows, shared along a track,
closed when no segment uses them."""

from __future__ import annotations

import numpy as np
import pyJianYingDraft as jy
from drafts import pyjy_draft

import draftrender
from draftrender.assets import prepare_media
from draftrender.render.images import ImageSource
from draftrender.render.frames import FrameRenderer
from draftrender.render.sources import SolidSource, TextSource
from draftrender.render.video import VideoReader
from draftrender.timeline.model import SolidColor

SEC = 1_000_000


def cut_clip_draft(root):
    """clip_a cut in two on the main track (0–0.5 s, 0.5–1 s), the photo from 1 s, a caption
    and a tone."""

    def build(script: jy.ScriptFile, media) -> None:
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.text, "caption"),
                              jy.TrackSpec(jy.TrackType.audio, "bgm")])
        material = jy.VideoMaterial(str(media["clip_a"]))
        script.add_segment(jy.VideoSegment(material, jy.trange(0, SEC // 2)), "main")
        script.add_segment(jy.VideoSegment(material, jy.trange(SEC // 2, SEC // 2),
                                           source_timerange=jy.trange(SEC // 2, SEC // 2)), "main")
        script.add_segment(jy.VideoSegment(str(media["photo"]), jy.trange(SEC, SEC)), "main")
        script.add_segment(jy.TextSegment("字幕", jy.trange(0, 2 * SEC)), "caption")
        script.add_segment(jy.AudioSegment(str(media["bgm"]), jy.trange(0, SEC)), "bgm")

    return pyjy_draft(root, build, width=320, height=180)


def test_each_material_kind_has_its_source_and_a_cut_clip_keeps_its_decoder(tmp_path):
    tl = draftrender.load_draft(cut_clip_draft(tmp_path))
    sources = FrameRenderer(tl, prepare_media(tl), 320, 180).sources
    by_track = {t.type: t.segments for t in tl.tracks}
    first, second, photo = by_track["video"]
    try:
        reader = sources.of(first)
        assert isinstance(reader, VideoReader) and sources.of(second) is reader
        assert isinstance(sources.of(photo), ImageSource)
        text = sources.of(by_track["text"][0])
        assert isinstance(text, TextSource) and text.native_size is None
        assert text.frame_at(0).shape[2] == 4
        assert sources.of(by_track["audio"][0]) is None  # a sound draws nothing
        assert reader.native_size == (320, 180) and sources.of(photo).native_size == (320, 180)

        sources.close_unused()  # every one above was asked for since the last call: all kept
        sources.of(photo)
        sources.close_unused()  # only the photo was: the clip's decoder is closed
        reopened = sources.of(first)
        assert reopened is not reader and isinstance(reopened, VideoReader)
    finally:
        sources.close()


def test_a_colour_plate_is_opaque_and_fitted_by_its_placement():
    plate = SolidSource(SolidColor("c", (1.0, 0.0, 0.0, 0.5))).frame_at(0)
    assert plate.shape[2] == 3 and (plate == np.array([128, 0, 0], np.uint8)).all()  # its alpha over black
