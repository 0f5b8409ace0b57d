"""Storage in a folder and in an S3-compatible bucket (moto's server on loopback): objects
appear under their final name only once complete; a bucket's URLs are presigned, and a
generation kept in a bucket downloads through OpenAI's client by its presigned URL."""

from __future__ import annotations

import urllib.error
import urllib.request

import openai
import pytest
from backends import start_bucket

from draftrender.service.storage import FolderStorage


@pytest.fixture
def bucket(monkeypatch):
    storage, server = start_bucket(monkeypatch)
    yield storage
    server.stop()


@pytest.mark.parametrize("kind", ["folder", "bucket"])
def test_objects_round_trip(kind, tmp_path, request):
    storage = FolderStorage(tmp_path / "shared") if kind == "folder" else request.getfixturevalue("bucket")
    src = tmp_path / "video.mp4"
    src.write_bytes(b"\x00mp4" * 1000)
    storage.put_file(src, "videos/a.mp4")
    storage.put_bytes(b'{"tracks": []}', "drafts/a.json")
    assert not src.exists()  # moved in
    assert storage.exists("videos/a.mp4") and not storage.exists("videos/b.mp4")
    assert storage.read_bytes("drafts/a.json") == b'{"tracks": []}'
    storage.get_file("videos/a.mp4", tmp_path / "back.mp4")
    assert (tmp_path / "back.mp4").read_bytes() == b"\x00mp4" * 1000
    assert storage.names("videos/") == ["videos/a.mp4"]
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("drafts/none.json")
    if kind == "bucket":
        with urllib.request.urlopen(storage.url("videos/a.mp4"), timeout=10) as reply:  # presigned: no credentials
            assert reply.read() == b"\x00mp4" * 1000
    else:
        assert storage.url("videos/a.mp4") is None and storage.path("videos/a.mp4").is_file()
    storage.delete("videos/a.mp4")
    assert not storage.exists("videos/a.mp4") and storage.names("videos/") == []


def test_a_folder_never_shows_a_partial_file(tmp_path):
    storage = FolderStorage(tmp_path / "shared")
    storage.put_bytes(b"x" * 10, "videos/a.mp4")
    assert [p.name for p in (tmp_path / "shared" / "videos").iterdir()] == ["a.mp4"]  # no .part left behind


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


@pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
def test_a_generation_in_a_bucket_is_downloaded_presigned(bucket, start_service):
    service = start_service(storage="s3://videos/render")
    client = openai.OpenAI(base_url=service.url + "/v1", api_key="none", max_retries=0)
    video = client.videos.create_and_poll(model="local-title", prompt="桶", seconds="1", size="320x180",
                                          poll_interval_ms=50)
    assert video.status == "completed"
    assert bucket.exists(f"generations/{video.id}.mp4") and bucket.exists(f"generations/{video.id}.thumbnail.jpg")
    with pytest.raises(urllib.error.HTTPError) as redirect:  # the redirect itself, not followed
        urllib.request.build_opener(NoRedirect).open(f"{service.url}/v1/videos/{video.id}/content", timeout=10)
    assert redirect.value.code == 302 and "Signature=" in redirect.value.headers["Location"]
    assert client.videos.download_content(video.id).read() == bucket.read_bytes(f"generations/{video.id}.mp4")
