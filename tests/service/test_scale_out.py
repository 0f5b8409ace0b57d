"""draftrender scaled out: `serve --broker` renders and generates nothing itself, two
`draftrender worker`s do everything: a template batch of 20 rows; a batch that outlives a
worker killed with SIGKILL, a service restart, and the database and the broker each gone for
a moment; a 2-minute draft renders in chunks on both workers and matches the single-process
render; a generation through OpenAI's API outlives its worker's SIGKILL and a service
restart, with one submit to the provider (a fake vibegen on loopback) and one charge; one
deleted while its worker waits has its provider's job cancelled once."""

from __future__ import annotations

import time
import uuid

import av
import numpy as np
import openai
import pytest
import redis
import sqlalchemy as sa
from cluster import Cluster, Worker
from drafts import draft_file
from generation_fakes import KEY as PROVIDER_KEY
from generation_fakes import FakeVibegen, FakeVideos, Script, provider_toml, serve
from long_draft import compare, long_draft
from media_factory import make_clip
from service_harness import publish, tiny_draft
from videomatic_harness import colours, frame_of, publish_catalogue

from draftrender import load_draft
from draftrender.render.pipeline import RenderOptions, render_timeline
from draftrender.service.accounts import Accounts
from draftrender.service.schema import api_keys, credit_holds
from draftrender.service.store import video_name
from draftrender.videomatic import VideoMatic

from draftrender.service.tasks import COMPLETED, PROCESSING

BATCH = 20


@pytest.fixture
def cluster(tmp_path, postgres, redis_server):
    c = Cluster(tmp_path, postgres, redis_server, f"scale_{uuid.uuid4().hex[:12]}")
    yield c
    c.close()


def colour(n: int) -> tuple[int, int, int]:
    return (20 + 11 * n, 200 - 7 * n, 60 + 5 * n)


def test_a_batch_survives_a_killed_worker_a_restart_and_outages(tmp_path, http_server, gates, cluster):
    gate = gates()
    urls = [publish(http_server, tiny_draft(tmp_path / "drafts", f"row{n}", seconds=0.5, color=colour(n)),
                    f"/row{n}", gate=gate if n == 0 else None) for n in range(BATCH)]
    service = cluster.start_service()
    workers = [cluster.add_worker(), cluster.add_worker()]
    ids = []
    for url in urls:
        reply = service.gen_video(url, wait=0)
        assert reply.status == 202, reply.body
        ids.append(reply.json["task_id"])

    # Row 0 is held in its download: its worker dies there, with the message unacknowledged.
    gate.wait_reached()
    held = cluster.wait_row(ids[0], lambda r: r.status == PROCESSING and r.worker_pid)
    victim = next(w for w in workers if w.owns(held.worker_pid))
    victim.kill()
    cluster.add_worker()  # what a supervisor does; the other worker goes on meanwhile

    cluster.restart_service()
    cluster.postgres.stop()
    time.sleep(2)
    cluster.postgres.start()
    cluster.redis.stop()
    time.sleep(2)
    cluster.redis.start()
    gate.open()

    for n, task_id in enumerate(ids):
        cluster.wait_row(task_id, lambda r: r.status == COMPLETED, timeout=120)
        task = service.task(task_id)
        assert task["status"] == COMPLETED and task["progress"] == 100
        reply = service.download(task["video_url"])
        assert reply.status == 200
        path = tmp_path / f"row{n}.mp4"
        path.write_bytes(reply.body)
        with av.open(str(path)) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == 15
        assert np.abs(frames[7][90, 160].astype(int) - colour(n)).max() <= 6, (n, frames[7][90, 160])
    assert cluster.row(ids[0]).attempts == 2  # the killed worker's start, then another's


def test_a_long_draft_renders_in_chunks_on_both_workers(tmp_path, http_server, cluster):
    folder = long_draft(tmp_path)
    url = http_server.serve("/long/draft_content.json", draft_file(folder).read_bytes(),
                            content_type="application/json")
    service = cluster.start_service("--chunk-seconds", "30", "--media-root", str(folder))
    workers = [cluster.add_worker(), cluster.add_worker()]
    task_id = service.gen_video(url, wait=0).json["task_id"]
    render_timeline(load_draft(folder), tmp_path / "single.mp4", RenderOptions())  # meanwhile, the reference
    cluster.wait_row(task_id, lambda r: r.status == COMPLETED, timeout=240)
    task = service.task(task_id)
    (tmp_path / "chunked.mp4").write_bytes(service.download(task["video_url"]).body)
    figures = compare(tmp_path / "single.mp4", tmp_path / "chunked.mp4")
    print(f"chunk equality over {len(workers)} workers: {figures}")
    assert task["frames"] == figures["frames"] == 3600 and figures["samples"] == 120 * 48000
    assert figures["worst_psnr_db"] >= 45
    for worker in workers:  # each rendered some of the parts
        assert "rendered part" in worker.log_path.read_text(), cluster.logs()
    assert not list((tmp_path / "storage" / "parts").glob(f"{task_id}/*"))  # the parts are gone once joined


def test_a_template_batch_of_20_rows_renders_on_two_workers(tmp_path, http_server, cluster):
    shop = publish_catalogue(http_server, tmp_path / "shop")
    service = cluster.start_service()
    workers = [cluster.add_worker(), cluster.add_worker()]
    key, _ = Accounts(cluster.db).create_key(plan="unlimited")
    client = VideoMatic(key, base_url=service.url + "/v1")
    template = client.templates.create("商品", config={"draft_url": shop.template_url})
    rows = [{"product_name": f"Item {i}", "price": 10 + i, "product_image": shop.image_urls[rgb], "zoom": 0.5}
            for i, rgb in enumerate(colours(20), 1)]
    batch = client.videos.batch_create(template["id"], data=rows, concurrent=20)
    batch.wait_until_completed(timeout=240)
    done = batch.refresh()
    assert (done["total"], done["completed"], done["failed"]) == (20, 20, 0), done
    row_of = {v["id"]: v["row"] for v in done["videos"]}
    for video in batch.get_completed_videos():
        img = frame_of(video.download(tmp_path / f"{video.id}.mp4").read_bytes(), tmp_path / "frame.mp4")
        assert np.abs(img[90, 80] - colours(20)[row_of[video.id] - 1]).max() <= 12, (video.id, img[90, 80])
    for worker in workers:  # the rows went to both workers
        assert "draftrender.render" in worker.log_path.read_text()


@pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
def test_a_generation_outlives_a_killed_worker_and_a_restart_with_one_submit_one_charge(tmp_path, cluster, monkeypatch):
    fake = FakeVibegen(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(["pending", "processing"]))
    served = serve(fake)
    sora = FakeVideos(fake.video, Script(["queued", "in_progress"]))  # an API with a cancel
    served_sora = serve(sora)
    providers = tmp_path / "providers.toml"
    providers.write_text(provider_toml("vibegen", served, key_env="FAKE_VIBEGEN_KEY", models="seedance*")
                         + provider_toml("openai", served_sora, key_env="FAKE_VIBEGEN_KEY", models="sora*"))
    monkeypatch.setenv("FAKE_VIBEGEN_KEY", PROVIDER_KEY)  # the workers' environment: they call the provider
    try:
        service = cluster.start_service("--providers", str(providers))
        key, key_id = Accounts(cluster.db).create_key(credits=100)
        first = cluster.add_worker("--providers", str(providers), "--queues", "render,generate")
        client = openai.OpenAI(base_url=service.url + "/v1", api_key=key, max_retries=0)
        video = client.videos.create(model="seedance 2.0", prompt="一座未来城市", seconds="5", size="1280x720")
        assert video.status == "queued"

        # The job is submitted and running on the provider: its worker dies there.
        held = cluster.wait_row(video.id, lambda r: r.provider_job_id and r.status == "in_progress",
                                row=cluster.generation)
        assert first.owns(int(held.worker.split(":")[1]))  # a worker runs it, not the service
        first.kill()
        cluster.restart_service()  # it publishes the generation again: a copy the new worker must not run twice
        second = cluster.add_worker("--providers", str(providers))
        fake.release()

        done = cluster.wait_row(video.id, lambda r: r.status in ("completed", "failed"), timeout=90,
                                row=cluster.generation)
        assert done.status == "completed", (done.error_message, cluster.logs())
        assert second.owns(int(done.worker.split(":")[1])) and done.attempts == 2
        assert len(fake.submits()) == 1 and done.provider_job_id == held.provider_job_id  # polled, not resubmitted
        finished = client.videos.retrieve(video.id)
        assert (finished.status, finished.progress, finished.model_extra["width"]) == ("completed", 100, 320)
        assert client.videos.download_content(video.id).read() == fake.video.read_bytes()
        with cluster.db.connect() as db:  # charged once, the price of one generation
            credits = db.scalar(sa.select(api_keys.c.credits).where(api_keys.c.id == key_id))
            holds = db.execute(sa.select(credit_holds.c.state, credit_holds.c.amount)
                               .where(credit_holds.c.task_id == video.id)).all()
        assert [h.state for h in holds] == ["charged"] and credits == 100 - holds[0].amount == 100 - done.price
        assert done.price > 0

        # Deleted while its worker waits on the provider: the worker sees it at its next
        # update and cancels the provider's job, once.
        running = client.videos.create(model="sora-2", prompt="取消", seconds="4", size="1280x720")
        held = cluster.wait_row(running.id, lambda r: r.provider_job_id and r.status == "in_progress",
                                row=cluster.generation)
        client.videos.delete(running.id)
        end = time.monotonic() + 30
        while not any(c.method == "DELETE" for c in sora.calls):
            assert time.monotonic() < end, f"the provider's job was not cancelled\n{cluster.logs()}"
            time.sleep(0.1)
        cluster.close()  # nothing left running that could cancel it again
        assert [c.path for c in sora.calls if c.method == "DELETE"] == [f"/v1/videos/{held.provider_job_id}"]
    finally:
        served.close()
        served_sora.close()


@pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
def test_tasks_whose_messages_the_broker_lost_are_published_again(tmp_path, http_server, gates, cluster, monkeypatch):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts", seconds=0.5, color=colour(3)), "/held", gate=gate)
    fake = FakeVibegen(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(["pending", "processing"]))
    served = serve(fake)
    providers = tmp_path / "providers.toml"
    providers.write_text(provider_toml("vibegen", served, key_env="FAKE_VIBEGEN_KEY", models="seedance*"))
    monkeypatch.setenv("FAKE_VIBEGEN_KEY", PROVIDER_KEY)
    try:
        service = cluster.start_service("--providers", str(providers))
        renderer = cluster.add_worker("--queues", "render")
        generator = cluster.add_worker("--providers", str(providers), "--queues", "generate")
        task_id = service.gen_video(url, wait=0).json["task_id"]
        key, _ = Accounts(cluster.db).create_key(credits=100)
        client = openai.OpenAI(base_url=service.url + "/v1", api_key=key, max_retries=0)
        video = client.videos.create(model="seedance 2.0", prompt="一座未来城市", seconds="5", size="1280x720")
        gate.wait_reached()  # the render is in its download, the generation waits on its provider
        cluster.wait_row(video.id, lambda r: r.provider_job_id and r.status == "in_progress", row=cluster.generation)
        renderer.kill()
        generator.kill()
        broker = redis.Redis.from_url(cluster.redis.url())
        for key in broker.scan_iter():  # every message, queued or unacknowledged (kombu's bindings stay)
            if not key.startswith(b"_kombu"):
                broker.delete(key)
        cluster.add_worker("--providers", str(providers), "--queues", "render,generate")
        gate.open()
        fake.release()

        row = cluster.wait_row(task_id, lambda r: r.status == COMPLETED, timeout=90)
        assert row.attempts == 2
        done = cluster.wait_row(video.id, lambda r: r.status in ("completed", "failed"), timeout=90,
                                row=cluster.generation)
        assert (done.status, done.attempts) == ("completed", 2), (done.error_message, cluster.logs())
        assert len(fake.submits()) == 1  # the provider's job polled again, not submitted again
        assert "its message may be lost; published again" in (tmp_path / "service.log").read_text()
        with av.open(str(tmp_path / "storage" / video_name(task_id))) as c:
            frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
        assert np.abs(frame[90, 160].astype(int) - colour(3)).max() <= 6
    finally:
        served.close()


def test_a_killed_workers_partial_download_goes_when_it_starts_again(tmp_path, http_server, gates, cluster):
    gate = gates()
    url = publish(http_server, tiny_draft(tmp_path / "drafts", seconds=0.5), "/held", gate=gate)
    service = cluster.start_service()
    worker = cluster.add_worker()
    reply = service.gen_video(url, wait=0)
    assert reply.status == 202, reply.body
    gate.wait_reached()  # the worker is in the medium's download, writing its partial file
    parts = list((cluster.root / worker.name / "cache").glob(".*.part"))
    assert len(parts) == 1, parts
    worker.kill()
    assert parts[0].exists()  # nothing ran to remove it

    cluster.workers.append(Worker(cluster, worker.name))  # a supervisor starts it again, on its data dir
    gate.open()
    cluster.wait_row(reply.json["task_id"], lambda r: r.status == COMPLETED, timeout=120)
    assert not parts[0].exists()
    assert not list(parts[0].parent.glob(".*.part"))
