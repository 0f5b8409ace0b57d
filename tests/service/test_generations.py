"""The generations core on a real PostgreSQL, its provider a fake vibegen on loopback: a
database blip while a generation polls its provider does not fail it; a bucket away when a
generation's upload is stored refuses it (503) with the credits refunded; a generation failed
by its deadline while its worker stores its files leaves none behind; one that no worker took
is published again."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from backends import start_bucket
from generation_fakes import KEY as PROVIDER_KEY
from generation_fakes import FakeVibegen, Script, provider_toml, serve
from media_factory import make_clip

from draftrender.generate.providers import load_configs
from draftrender.errors import ServiceBusy
from draftrender.service.accounts import Accounts, Principal
from draftrender.service.db import open_database
from draftrender.service.generations import COMPLETED, FAILED, IN_PROGRESS, Generation, Generations, new_id, upload_name
from draftrender.service.storage import FolderStorage
from draftrender.service.webhooks import Webhooks


@pytest.fixture
def fake(tmp_path, monkeypatch):
    fake = FakeVibegen(make_clip(tmp_path / "remote.mp4", seconds=1.0), Script(["pending", "processing"]))
    served = serve(fake)
    (tmp_path / "providers.toml").write_text(provider_toml("vibegen", served, key_env="FAKE_VIBEGEN_KEY"))
    monkeypatch.setenv("FAKE_VIBEGEN_KEY", PROVIDER_KEY)
    yield fake
    served.close()


def generations_on(engine, tmp_path, storage=None, *, work: str = "work", **options) -> Generations:
    return Generations(engine, storage or FolderStorage(tmp_path / "storage"), tmp_path / work,
                       load_configs(tmp_path / "providers.toml"), Accounts(engine), Webhooks(engine),
                       cache_dir=tmp_path / "cache", **options)


def a_generation(price: int = 0) -> Generation:
    return Generation(id=new_id(), api="openai", model="seedance 2.0", price=price,
                      request={"model": "seedance 2.0", "prompt": "一座未来城市", "seconds": 5}, params={})


async def until(check, what: str, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


def test_a_database_blip_while_polling_the_provider_does_not_fail_the_generation(tmp_path, postgres, fake):
    engine = open_database(postgres.create_database(f"gens_{uuid.uuid4().hex[:12]}"))
    gens = generations_on(engine, tmp_path)
    gen = a_generation()

    async def scenario() -> None:
        gens.create(gen, None)
        await until(lambda: (g := gens.get(gen.id)) is not None and g.status == IN_PROGRESS, "in progress")
        polls = fake.polls()
        await asyncio.to_thread(postgres.stop)  # its progress updates fail meanwhile
        try:
            await until(lambda: fake.polls() > polls + 3, "polled while the database is away")
        finally:
            await asyncio.to_thread(postgres.start)
        fake.release()
        await until(lambda: gens.get(gen.id).done, "finished")
        await gens.close()

    try:
        asyncio.run(scenario())
        done = gens.get(gen.id)
        assert (done.status, done.progress, done.error_message) == (COMPLETED, 100, None)
        assert len(fake.submits()) == 1
        assert gens.storage.read_bytes(gens.name(gen.id)) == fake.video.read_bytes()
    finally:
        engine.dispose()


def test_a_bucket_away_when_the_upload_is_stored_refuses_the_generation_and_refunds(tmp_path, postgres, fake,
                                                                                    monkeypatch):
    storage, bucket = start_bucket(monkeypatch)
    bucket.stop()
    engine = open_database(postgres.create_database(f"gens_{uuid.uuid4().hex[:12]}"))
    try:
        gens = generations_on(engine, tmp_path, storage)
        _, key_id = gens.accounts.create_key(credits=100)
        gen = a_generation(price=30)
        with pytest.raises(ServiceBusy, match="the storage is unreachable") as refused:
            gens.create(gen, Principal(key_id=key_id, user_id=None, plan="free"),
                        uploads={upload_name(gen.id, "reference.png"): b"\x89PNG"})
        assert refused.value.status == 503
        assert gens.accounts.credits(key_id) == 100 and gens.get(gen.id) is None
    finally:
        engine.dispose()


class SweptWhileStored(FolderStorage):
    """The service's deadline sweep runs as the worker puts the generation's first file."""

    def __init__(self, root: Path, gen_id: str):
        super().__init__(root)
        self.gen_id, self.service = gen_id, None

    def put_file(self, src: Path, name: str) -> None:
        if self.service is not None and name.startswith(f"generations/{self.gen_id}"):
            self.service.sweep(now=time.time() + 120)
            self.service = None
        super().put_file(src, name)


def test_a_generation_failed_by_its_deadline_while_its_files_are_stored_leaves_none(tmp_path, postgres, fake):
    engine = open_database(postgres.create_database(f"gens_{uuid.uuid4().hex[:12]}"))
    gen = a_generation(price=30)
    gen.deadline = time.time() + 60
    storage = SweptWhileStored(tmp_path / "storage", gen.id)
    try:
        service = generations_on(engine, tmp_path, storage, publish=lambda gen_id: None)  # scaled out
        worker = generations_on(engine, tmp_path, storage, work="worker")
        _, key_id = service.accounts.create_key(credits=100)
        service.create(gen, Principal(key_id=key_id, user_id=None, plan="free"))
        fake.release()  # the provider's job completes at its first poll
        storage.service = service
        asyncio.run(worker.run(worker.claim(gen.id, "worker:1", lease=10)))

        done = worker.get(gen.id)
        assert (done.status, done.error_code) == (FAILED, "timeout")
        assert storage.service is None  # the sweep ran, while the worker stored
        assert storage.names("generations/") == []
        assert service.accounts.credits(key_id) == 100
    finally:
        engine.dispose()


def test_a_generation_no_worker_took_is_published_again_once(tmp_path, postgres, fake):
    engine = open_database(postgres.create_database(f"gens_{uuid.uuid4().hex[:12]}"))
    published: list[str] = []
    try:
        service = generations_on(engine, tmp_path, publish=published.append)  # scaled out
        waiting, fresh = a_generation(), a_generation()
        waiting.created = time.time() - 120
        service.create(waiting, None)
        service.create(fresh, None)
        service.requeue_orphaned(lease=10, queued_for=60)
        assert published == [waiting.id, fresh.id, waiting.id]
        service.requeue_orphaned(lease=10, queued_for=60)  # just published: not again
        assert published == [waiting.id, fresh.id, waiting.id]
    finally:
        engine.dispose()
