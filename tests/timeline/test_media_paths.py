"""Where the media a draft names are found, and which paths are refused.

The draft is written by pyJianYingDraft; each test rewrites its video material's path to one
of the forms seen in real drafts and puts a real clip where that form should lead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from drafts import read_json, simple_pyjy_draft
from media_factory import make_clip

from draftrender.timeline.model import Media
from draftrender.timeline.parse import parse
from draftrender.timeline.summary import describe

GUID = "0E685133-18CE-45ED-8CB8-2904A212EC80"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    return simple_pyjy_draft(tmp_path_factory.mktemp("written"))


@pytest.fixture
def folder(tmp_path) -> Path:
    """An empty draft folder; each test puts media where its path form should find them."""
    d = tmp_path / "draft"
    d.mkdir()
    return d


def clip(path: Path) -> Path:
    return make_clip(path, width=64, height=36, seconds=0.2)


def video_at(written_draft: Path, path: str, folder: Path | None, **kw) -> Media:
    """The clip material as parsed when the draft writes `path` for it."""
    data = read_json(written_draft)
    data["materials"]["videos"][0]["path"] = path
    tl = parse(data, draft_dir=folder, origin="draft_content.json", **kw)
    return tl.tracks[0].segments[0].material


def test_absolute_path_as_pyjianyingdraft_writes_it(written):
    data = read_json(written)
    assert Path(data["materials"]["videos"][0]["path"]).is_absolute()
    tl = parse(data, draft_dir=written)
    m = tl.tracks[0].segments[0].material
    assert (m.path, m.missing, m.looked_in) == (written / "media" / "clip_a.mp4", False, ())
    assert tl.tracks[1].segments[0].material.path == written / "media" / "bgm.wav"


@pytest.mark.parametrize("path, place", [
    ("clip.mp4", "clip.mp4"),
    ("sub/clip.mp4", "sub/clip.mp4"),
    ("sub\\clip.mp4", "sub/clip.mp4"),
    ("clip.mp4", "materials/clip.mp4"),
    ("clip.mp4", "media/clip.mp4"),
    ("media/clip.mp4", "media/clip.mp4"),
    (f"##_draftpath_placeholder_{GUID}_##/media/clip.mp4", "media/clip.mp4"),
    (f"##_draftpath_placeholder_{GUID}_##\\clip.mp4", "clip.mp4"),
])
def test_paths_relative_to_the_draft_folder(written, folder, path, place):
    target = clip(folder / place)
    m = video_at(written, path, folder)
    assert m.path == target.resolve()
    assert (m.written_path, m.missing, m.location) == (path, False, str(target.resolve()))


@pytest.mark.parametrize("path", [
    "/Users/someone/Movies/clip.mp4",
    "C:\\Users\\x\\clip.mp4",
    "D:/剪映草稿/素材/clip.mp4",
])
def test_found_once_by_base_name_inside_the_folder(written, folder, path):
    target = clip(folder / "deep" / "er" / "clip.mp4")
    m = video_at(written, path, folder)
    assert m.path == target.resolve()


def test_a_base_name_found_twice_is_not_guessed(written, folder):
    clip(folder / "a" / "clip.mp4")
    clip(folder / "b" / "clip.mp4")
    m = video_at(written, "C:\\Users\\x\\clip.mp4", folder)
    assert m.missing
    # A Windows drive path means nothing on Linux: only the name search is tried.
    assert m.looked_in == (f"files named 'clip.mp4' inside {folder}",)


def test_missing_medium_says_where_it_looked(written, folder):
    m = video_at(written, "media/gone.mp4", folder)
    assert (m.missing, m.path, m.url, m.location) == (True, None, None, "media/gone.mp4")
    assert m.looked_in == (
        str(folder / "media" / "gone.mp4"), str(folder / "materials" / "media" / "gone.mp4"),
        str(folder / "media" / "media" / "gone.mp4"), f"files named 'gone.mp4' inside {folder}")


def test_missing_medium_in_the_description(written, folder):
    data = read_json(written)
    data["materials"]["videos"][0]["path"] = "C:\\Users\\x\\gone.mp4"
    info = describe(parse(data, draft_dir=folder))
    video = next(x for x in info["materials"] if x["kind"] == "video")
    assert video == {"id": data["materials"]["videos"][0]["id"], "kind": "video", "name": "clip_a.mp4",
                     "location": "C:\\Users\\x\\gone.mp4", "missing": True,
                     "looked_in": [f"files named 'gone.mp4' inside {folder}"]}


def test_urls_are_kept_as_urls(written, folder):
    url = "https://cdn.example.com/v/clip.mp4?sig=abc"
    m = video_at(written, url, folder)
    assert (m.url, m.path, m.missing, m.location) == (url, None, False, url)


def test_relative_path_of_a_draft_fetched_by_url(written):
    m = video_at(written, "media/clip.mp4", None, base_url="https://drafts.example.com/d/123/draft_content.json")
    assert m.url == "https://drafts.example.com/d/123/media/clip.mp4"


def test_relative_path_with_nowhere_to_resolve_it(written):
    m = video_at(written, "media/clip.mp4", None)
    assert m.missing
    assert m.looked_in == ("media/clip.mp4 (a relative path, and the draft has no folder to resolve it in)",)


def test_file_url_is_a_local_path(written, folder):
    target = clip(folder / "my clip.mp4")
    m = video_at(written, "file://" + str(target).replace(" ", "%20"), folder)
    assert m.path == target.resolve()


def test_empty_path(written, folder):
    m = video_at(written, "  ", folder)
    assert m.missing and m.looked_in == ("the material has no path",)


# ---------------------------------------------------------------- refusals


def test_climbing_out_of_the_draft_folder_is_refused(written, folder):
    m = video_at(written, "../../etc/passwd", folder)
    assert m.missing
    refused = [x for x in m.looked_in if x.endswith("(refused: it climbs out of the draft folder)")]
    assert len(refused) == 3  # the folder itself, materials/ and media/
    assert m.looked_in[-1] == f"files named 'passwd' inside {folder}"


def test_climbing_to_a_file_that_exists_is_still_refused(written, folder):
    secret = clip(folder.parent / "outside" / "secret.mp4")
    for path in ("../outside/secret.mp4", f"##_draftpath_placeholder_{GUID}_##/../outside/secret.mp4"):
        m = video_at(written, path, folder)
        assert m.missing, path
        assert f"{folder / path.split('##/')[-1]} (refused: it climbs out of the draft folder)" in m.looked_in
    assert secret.is_file()


def test_a_symlink_pointing_outside_is_refused(written, folder):
    secret = clip(folder.parent / "outside" / "secret.mp4")
    (folder / "media").mkdir()
    os.symlink(secret, folder / "media" / "link.mp4")
    m = video_at(written, "media/link.mp4", folder)
    assert m.missing
    assert f"{folder / 'media' / 'link.mp4'} (refused: it climbs out of the draft folder)" in m.looked_in
    # Nor is it found by its name.
    assert video_at(written, "C:\\x\\link.mp4", folder).missing


def test_a_symlink_inside_the_folder_is_followed(written, folder):
    target = clip(folder / "media" / "real.mp4")
    os.symlink(target, folder / "alias.mp4")
    assert video_at(written, "alias.mp4", folder).path == target.resolve()


def test_media_roots_confine_absolute_paths(written, folder, tmp_path):
    inside = clip(tmp_path / "library" / "clip.mp4")
    outside = clip(tmp_path / "elsewhere" / "clip2.mp4")
    in_draft = clip(folder / "media" / "own.mp4")
    roots = (tmp_path / "library",)
    assert video_at(written, str(inside), folder, media_roots=roots).path == inside.resolve()
    assert video_at(written, "media/own.mp4", folder, media_roots=roots).path == in_draft.resolve()
    m = video_at(written, str(outside), folder, media_roots=roots)
    assert m.missing
    assert f"{outside} (refused: it is outside the allowed media folders)" in m.looked_in


def test_hostile_path_strings_do_not_crash(written, folder):
    m = video_at(written, "media/a\x00b.mp4", folder)
    assert m.missing and m.looked_in == ("'media/a\\x00b.mp4' (refused: it contains a NUL byte)",)
    long_path = "a/" * 5000 + "clip.mp4"
    m = video_at(written, long_path, folder)
    assert m.missing and m.looked_in[-1] == f"files named 'clip.mp4' inside {folder}"
