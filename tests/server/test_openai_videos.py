"""OpenAI's /v1/videos driven by the official `openai` package, against the local provider:
only base_url and api_key changed. Every call the issue lists: create (JSON fields and a
multipart upload), create_and_poll, retrieve, list with auto-pagination, delete,
download_content for the three variants, remix; seeds; the error shape."""

from __future__ import annotations

import io
import time

import av
import numpy as np
import openai
import pytest
from aiohttp import web
from generation_fakes import KEY as PROVIDER_KEY
from generation_fakes import FakeVideos, Script, provider_toml, serve
from media_factory import make_clip
from PIL import Image

from draftrender.server.apis import ACCOUNTS, GENERATIONS

# The SDK warns that OpenAI's own Sora service is ending; the API it speaks is what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
KEY = "sk-test-openai"
TITLE = dict(model="local-title", seconds="1", size="320x180")


@pytest.fixture
def gateway(start_service):
    service = start_service(api_keys=frozenset({KEY}), poll_after_ms=50)
    client = openai.OpenAI(base_url=service.url + "/v1", api_key=KEY, max_retries=0)
    return service, client


def frames_of(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_create_poll_retrieve_download_and_seeds(gateway):
    service, client = gateway
    queued = client.videos.create(prompt="你好 draftrender 🎬", extra_body={"seed": 7}, **TITLE)
    assert (queued.object, queued.status, queued.model, queued.seconds, queued.size) == (
        "video", "queued", "local-title", "1", "320x180")
    done = client.videos.poll(queued.id, poll_interval_ms=50)
    assert (done.status, done.progress, done.error) == ("completed", 100, None)
    assert done.completed_at >= done.created_at and done.expires_at > done.completed_at
    again = client.videos.retrieve(done.id)
    assert again.id == done.id and again.status == "completed"
    # 易尚云's fields ride along; video_url points at this server, and needs no key.
    extra = again.model_extra
    assert (extra["task_id"], extra["width"], extra["height"]) == (done.id, 320, 180)
    assert extra["video_url"].startswith(service.url + "/files/generations/")
    video = client.videos.download_content(done.id, variant="video").read()
    assert service.download(extra["video_url"]).body == video and extra["file_size"] == len(video)
    frames = frames_of(video)
    assert len(frames) == 30 and frames[0].shape == (180, 320, 3)
    for variant in ("thumbnail", "spritesheet"):
        picture = Image.open(io.BytesIO(client.videos.download_content(done.id, variant=variant).read()))
        assert picture.format == "JPEG"
    assert picture.size[0] > 320  # the spritesheet: several frames side by side
    # The same request and seed give the same bytes; another seed, another video.
    same = client.videos.create_and_poll(prompt="你好 draftrender 🎬", extra_body={"seed": 7}, poll_interval_ms=50,
                                         **TITLE)
    other = client.videos.create_and_poll(prompt="你好 draftrender 🎬", extra_body={"seed": 8}, poll_interval_ms=50,
                                          **TITLE)
    assert same.status == other.status == "completed" and same.id != done.id
    assert client.videos.download_content(same.id).read() == video
    assert client.videos.download_content(other.id).read() != video


def test_list_pages_delete_and_remix(gateway):
    service, client = gateway
    made = [client.videos.create(prompt=f"video {i}", **TITLE).id for i in range(3)]
    first = client.videos.list(limit=2, order="asc")
    assert [v.id for v in first.data] == made[:2] and first.has_more and first.last_id == made[1]
    assert [v.id for v in client.videos.list(limit=2, order="asc")] == made  # auto-pagination: 2 pages
    assert [v.id for v in client.videos.list(limit=2)] == made[::-1]
    source = client.videos.poll(made[0], poll_interval_ms=50)
    remixed = client.videos.remix(source.id, prompt="video 0, remixed")
    assert (remixed.remixed_from_video_id, remixed.prompt) == (source.id, "video 0, remixed")
    remixed = client.videos.poll(remixed.id, poll_interval_ms=50)
    assert remixed.status == "completed" and remixed.seconds == "1"
    assert client.videos.download_content(remixed.id).read() != client.videos.download_content(source.id).read()
    gone = client.videos.delete(made[1])
    assert (gone.id, gone.object, gone.deleted) == (made[1], "video.deleted", True)
    with pytest.raises(openai.NotFoundError) as e:
        client.videos.retrieve(made[1])
    assert e.value.body["code"] == "task_not_found"
    raw = client.videos.with_raw_response.retrieve(made[2])
    assert raw.headers["openai-poll-after-ms"] == "50"


def gradient_photo(path):
    """A gradient (so that a zoom shows in the pixels) whose green is 90 everywhere."""
    ramp = np.linspace(0, 255, 640, dtype=np.uint8)
    Image.fromarray(np.stack([np.tile(ramp, (360, 1)), np.full((360, 640), 90, np.uint8),
                              np.tile(ramp[::-1], (360, 1))], axis=-1)).save(path)
    return path


def test_uploaded_input_reference_drives_ken_burns(gateway, tmp_path):
    service, client = gateway
    photo = gradient_photo(tmp_path / "photo.png")
    video = client.videos.create_and_poll(model="local-kenburns", prompt="slow zoom", seconds="1", size="320x180",
                                          input_reference=photo.open("rb"), poll_interval_ms=50)
    assert video.status == "completed", video.error
    frames = frames_of(client.videos.download_content(video.id).read())
    assert abs(int(frames[0][90, 160, 1]) - 90) < 8  # the uploaded picture's colour
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1  # and it moves
    # The upload is kept in storage with its task, only once the task is made, and goes with it.
    uploads = tmp_path / "data" / "generations" / "uploads"
    assert [p.name for p in (uploads / video.id).iterdir()] == ["reference.png"]
    with pytest.raises(openai.BadRequestError):
        client.videos.create(model="no-such-model", prompt="x", input_reference=photo.open("rb"))
    assert [p.name for p in uploads.iterdir()] == [video.id]
    client.videos.delete(video.id)
    assert [p for p in uploads.rglob("*") if p.is_file()] == []


def test_a_remix_keeps_its_reference_when_its_source_is_deleted(tmp_path, start_service):
    providers = tmp_path / "providers.toml"
    providers.write_text('[[price]]\nmodel = "local-*"\ncredits = 10\n', encoding="utf-8")
    service = start_service(api_keys=frozenset({KEY}), providers_file=providers, poll_after_ms=50)
    key, key_id = service.on_loop(lambda: service.app[ACCOUNTS].create_key(credits=40))
    client = openai.OpenAI(base_url=service.url + "/v1", api_key=key, max_retries=0)
    source = client.videos.create_and_poll(model="local-kenburns", prompt="slow zoom", seconds="1", size="320x180",
                                           input_reference=gradient_photo(tmp_path / "photo.png").open("rb"),
                                           poll_interval_ms=50)
    first = client.videos.poll(client.videos.remix(source.id, prompt="slow zoom, again").id, poll_interval_ms=50)
    client.videos.delete(source.id)  # with its upload; each remix has a copy of its own
    remix = client.videos.poll(client.videos.remix(first.id, prompt="slow zoom, thrice").id, poll_interval_ms=50)
    assert remix.status == "completed", remix.error
    assert abs(int(frames_of(client.videos.download_content(remix.id).read())[0][90, 160, 1]) - 90) < 8
    assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 10

    # Past retention the remix's files, its upload with them, are gone: a remix of it is refused, free.
    service.on_loop(lambda: service.app[GENERATIONS].sweep(time.time() + 10 * 86400))
    with pytest.raises(openai.BadRequestError) as e:
        client.videos.remix(remix.id, prompt="once more")
    assert (e.value.status_code, e.value.body["type"]) == (400, "invalid_request_error")
    assert e.value.body["message"] == (f"video {remix.id} cannot be remixed: its uploaded reference image was removed "
                                       "with its files after the retention period; create a new video with the "
                                       "image instead")
    assert service.on_loop(lambda: service.app[ACCOUNTS].credits(key_id)) == 10
    assert [v.id for v in client.videos.list()] == [remix.id, first.id]


def test_deleting_a_running_video_cancels_its_provider_job_once(tmp_path, start_service, monkeypatch):
    fake = FakeVideos(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(["queued", "in_progress"]))
    served = serve(fake)
    providers = tmp_path / "providers.toml"
    providers.write_text(provider_toml("openai", served, key_env="FAKE_OPENAI_KEY", models="sora*"), encoding="utf-8")
    monkeypatch.setenv("FAKE_OPENAI_KEY", PROVIDER_KEY)
    service = start_service(api_keys=frozenset({KEY}), providers_file=providers, poll_after_ms=50)
    client = openai.OpenAI(base_url=service.url + "/v1", api_key=KEY, max_retries=0)
    try:
        video = client.videos.create(model="sora-2", prompt="a running job", seconds="4", size="1280x720")
        end = time.monotonic() + 30
        while client.videos.retrieve(video.id).status != "in_progress":
            assert time.monotonic() < end, "the provider's job never ran"
            time.sleep(0.05)
        (job_id,) = fake.jobs
        assert client.videos.delete(video.id).deleted
        while not any(c.method == "DELETE" for c in fake.calls):
            assert time.monotonic() < end, "the provider's job was not cancelled"
            time.sleep(0.05)
        service.stop()
    finally:
        served.close()
    assert [c.path for c in fake.calls if c.method == "DELETE"] == [f"/v1/videos/{job_id}"]
    assert len(fake.submits()) == 1


def test_errors_in_openai_shape(gateway):
    service, client = gateway
    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=service.url + "/v1", api_key="sk-wrong", max_retries=0).videos.list()
    assert e.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.BadRequestError) as e:
        client.videos.create(prompt="x", model="no-such-model")
    assert "no-such-model" in e.value.body["message"]
    reply = service.call("POST", "/v1/videos", {"model": "local-title", "size": "big"},
                         headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status == 400
    assert reply.json == {"error": {"message": "prompt field is required", "type": "invalid_request_error",
                                    "param": "prompt", "code": "missing_parameter"}}
    reply = service.call("GET", "/v1/videos?order=sideways", headers={"Authorization": f"Bearer {KEY}"})
    assert (reply.status, reply.json["error"]["param"]) == (400, "order")


def test_callback_is_an_openai_webhook_event_the_sdk_verifies(gateway, http_server):
    service, client = gateway
    secret = service.on_loop(lambda: service.app[ACCOUNTS].authenticate(KEY).webhook_secret)
    events = []

    async def hook(request: web.Request) -> web.Response:
        # The SDK's own check: Standard Webhooks headers, HMAC-SHA256 with the key's secret.
        events.append(client.webhooks.unwrap(await request.read(), dict(request.headers), secret=secret))
        return web.Response(status=204)

    url = http_server.route("/openai-hook", hook)
    video = client.videos.create_and_poll(prompt="回调", extra_body={"callback_url": url}, poll_interval_ms=50, **TITLE)
    end = time.monotonic() + 20
    while not events:
        assert time.monotonic() < end, "no callback came"
        time.sleep(0.05)
    (event,) = events
    assert (event.type, event.data.id, event.object) == ("video.completed", video.id, "event")
