"""Sources: one per material kind, opened when a segment first shows, shared along a track,
closed when no segment uses them."""

from __future__ import annotations

import shutil

import av
import numpy as np
import pyJianYingDraft as jy
from drafts import pyjy_draft
from media_factory import frame_index, make_clip

import draftrender
from draftrender.assets import prepare_media
from draftrender.render.images import ImageSource
from draftrender.render.frames import FrameRenderer
from draftrender.render.sources import SolidSource, TextSource, duplicates
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


def duplicated_clip_draft(root, name: str, duplicate_of: str):
    """A 2 s index-pattern clip on the main track; on a second track, at half size, the file
    `duplicate_of` from 0.5 s to 1.5 s, from 0.5 s of it (the clip itself: a duplicate, at the
    same source time); on a third, at a quarter size in the bottom-right corner, the clip
    from 0.5 s, from its start."""

    def build(script: jy.ScriptFile, media) -> None:
        script.append_tracks([jy.TrackSpec(jy.TrackType.video, "main"), jy.TrackSpec(jy.TrackType.video, "copy"),
                              jy.TrackSpec(jy.TrackType.video, "late")])
        script.add_segment(jy.VideoSegment(str(root / "clip.mp4"), jy.trange(0, 2 * SEC)), "main")
        script.add_segment(jy.VideoSegment(str(root / duplicate_of), jy.trange(SEC // 2, SEC),
                                           source_timerange=jy.trange(SEC // 2, SEC),
                                           clip_settings=jy.ClipSettings(scale_x=0.5, scale_y=0.5)), "copy")
        script.add_segment(jy.VideoSegment(str(root / "clip.mp4"), jy.trange(SEC // 2, SEC),
                                           source_timerange=jy.trange(0, SEC),
                                           clip_settings=jy.ClipSettings(scale_x=0.25, scale_y=0.25,
                                                                         transform_x=0.75, transform_y=-0.75)), "late")

    return pyjy_draft(root, build, name=name, width=320, height=180)


def test_a_clip_duplicated_onto_another_track_reads_through_the_originals_decoder(tmp_path):
    make_clip(tmp_path / "clip.mp4", seconds=2.0)
    shutil.copy(tmp_path / "clip.mp4", tmp_path / "clip copy.mp4")
    tl = draftrender.load_draft(duplicated_clip_draft(tmp_path, "shared", "clip.mp4"))
    (main,), (copy,), (late,) = (t.segments for t in tl.tracks)
    assert duplicates(tl.segments, prepare_media(tl)) == {copy.id: main}  # not `late`: it reads other times
    sources = FrameRenderer(tl, prepare_media(tl), 320, 180).sources
    try:
        assert sources.of(copy) is sources.of(main) and sources.of(late) is not sources.of(main)
    finally:
        sources.close()

    # Frame for frame what the same draft makes when the duplicate reads a file of its own.
    shared = draftrender.render(tl.origin, tmp_path / "shared.mp4", crf=0)
    apart = draftrender.render(duplicated_clip_draft(tmp_path, "apart", "clip copy.mp4"), tmp_path / "apart.mp4", crf=0)
    assert shared.frames == apart.frames == 60
    with av.open(str(shared.output)) as a, av.open(str(apart.output)) as b:
        for n, (x, y) in enumerate(zip(a.decode(video=0), b.decode(video=0), strict=True)):
            x, y = x.to_ndarray(format="rgb24"), y.to_ndarray(format="rgb24")
            assert np.array_equal(x, y), f"frame {n}"
            if n in (20, 40):  # the duplicate (the middle) shows the main clip's frame; `late` its own
                assert frame_index(x[:45]) == frame_index(x[45:135, 80:240]) == n
                assert frame_index(x[135:, 240:]) == n - 15
