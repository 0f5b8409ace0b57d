"""Generation tasks behind the gateway: one record per clip asked for through any API.

Owns the generations table, the files of each generation in the task store's storage
(generations/<id>.mp4, <id>.thumbnail.jpg, <id>.spritesheet.jpg, put there only when
complete; an uploaded reference image under generations/uploads/<id>/, kept once the task
is made, a remix having its own copy), running each task on its model's provider
(generate.runner, whose journal keeps the provider's job id, and the row keeps it too, so a
restart or another worker polls that job and never submits it again; a task deleted while it
runs has that job cancelled), the terminal transition (a compare-and-set: the one caller
that wins settles the credits and sends the callback), and retention (files deleted after a
period, the record kept).

Where a task runs: in the service's event loop by default; scaled out (`publish` given), a
`draftrender worker` takes it from the broker (service/worker.py), claiming it with a lease
in the row so that two copies of a message never run it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import sqlalchemy as sa

from ..assets.probe import probe
from ..errors import DraftRenderError, InvalidRequest, ServiceBusy, TaskNotFound
from ..generate.base import GenerationError, GenerationRequest, Job, JobStatus, Provider, Variant, is_url
from ..generate.providers import ProviderConfig, build, config_for
from ..generate.runner import Timing, cancel_quietly, read_journal, run_job, write_journal
from .accounts import Accounts, Principal
from .schema import generations
from .storage import Storage
from .webhooks import Webhooks

log = logging.getLogger("draftrender.generations")

QUEUED, IN_PROGRESS, COMPLETED, FAILED = (s.value for s in JobStatus)
TERMINAL = (COMPLETED, FAILED)
EXTRAS: tuple[Variant, ...] = ("thumbnail", "spritesheet")


@dataclass
class Generation:
    """One generation task, as stored. `api` names the API that created it (its response shape)."""

    id: str
    api: str
    model: str
    request: dict  # GenerationRequest as JSON
    params: dict  # what the API's own responses echo (its field names and values)
    status: str = QUEUED
    progress: int = 0
    key_id: str | None = None
    provider: str | None = None
    provider_job_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    callback_url: str | None = None
    base_url: str = ""  # this server's public URL when the task was made: for callbacks' video_url
    price: int = 0
    created: float = 0.0
    started: float | None = None
    completed: float | None = None
    deadline: float | None = None  # unix time after which a task not finished is failed
    expires: float | None = None  # unix time its files go (set at completion)
    files_removed: bool = False
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    file_size: int | None = None
    worker: str | None = None  # scaled out: the claim of the worker that runs it
    heartbeat: float | None = None  # when that worker last renewed its lease
    attempts: int = 0  # workers that started it

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def generation_request(self) -> GenerationRequest:
        return GenerationRequest.model_validate(self.request)


COLUMNS = tuple(f.name for f in fields(Generation))
# (generation, event) → (event name, payload) of the API's callback, or None for no callback.
EventBody = Callable[[Generation], tuple[str, dict] | None]


def new_id(prefix: str = "video_") -> str:
    return prefix + secrets.token_hex(16)


class Stopped(Exception):
    """The task was deleted or finished elsewhere (its deadline) while it ran here."""


class Generations:
    """The gateway's tasks over the task store's engine and storage; `start()` resumes (or,
    scaled out, publishes again) what a stop left."""

    def __init__(self, engine: sa.Engine, storage: Storage, work: Path, configs: list[ProviderConfig],
                 accounts: Accounts, webhooks: Webhooks, *, cache_dir: Path, retention_s: float = 86400.0,
                 events: dict[str, EventBody] | None = None, publish: Callable[[str], None] | None = None):
        self.engine = engine
        self.storage = storage
        self.work = Path(work)  # this machine's: downloads in progress and the journals
        self.work.mkdir(parents=True, exist_ok=True)
        self.configs = configs
        self.accounts = accounts
        self.webhooks = webhooks
        self.cache_dir = Path(cache_dir)
        self.retention_s = retention_s
        self.events = events if events is not None else {}  # per API: its callback's event and body
        self.publish = publish  # scaled out: puts a task's id on the broker for a worker
        self.running: dict[str, asyncio.Task] = {}
        self.providers: dict[str, Provider] = {}

    # -- files ----------------------------------------------------------------------

    @staticmethod
    def name(gen_id: str, variant: Variant = "video") -> str:
        """The storage name of a generation's file."""
        return f"generations/{gen_id}.mp4" if variant == "video" else f"generations/{gen_id}.{variant}.jpg"

    def has_file(self, gen: Generation, variant: Variant = "video") -> bool:
        return gen.status == COMPLETED and not gen.files_removed and self.storage.exists(self.name(gen.id, variant))

    def _journal(self, gen_id: str) -> Path:
        return self.work / f"{gen_id}.job.json"

    # -- records --------------------------------------------------------------------

    def config_for(self, model: str) -> ProviderConfig:
        return config_for(model, self.configs)

    def create(self, gen: Generation, principal: Principal | None,
               uploads: dict[str, bytes] | None = None) -> Generation:
        """Store a new task, holding its price from the caller's credits, and start it.
        `uploads` (upload_name → bytes) go into storage once the credits are held."""
        gen.key_id = principal.key_id if principal else None
        gen.created = gen.created or time.time()
        gen.provider = self.config_for(gen.model).name
        self.accounts.reserve(gen.key_id, gen.id, gen.price)
        try:
            for name, data in (uploads or {}).items():
                self.storage.put_bytes(data, name)
        except Exception as e:  # noqa: BLE001 - any storage failure: refunded and forgotten, the caller may retry
            self.accounts.settle(gen.id, success=False)
            with contextlib.suppress(Exception):  # the uploads stored before it failed, if the storage lets
                self._remove_files(gen.id)
            raise ServiceBusy(f"the storage is unreachable ({type(e).__name__}: {e}); retry later") from None
        with self.engine.begin() as db:
            db.execute(generations.insert().values(**_row(gen)))
        try:
            self._launch(gen)
        except Exception as e:  # noqa: BLE001 - any broker failure: refunded and forgotten, the caller may retry
            self.delete(gen)
            raise ServiceBusy(f"the task broker is unreachable ({type(e).__name__}: {e}); retry later") from None
        return gen

    def remix_images(self, source: Generation, gen_id: str) -> tuple[tuple[str, ...], dict[str, bytes]]:
        """A remix's images and uploads for create(): the source's, its uploaded ones copied
        under `gen_id`, so that deleting the source leaves the remix whole. InvalidRequest when
        they went with the source's files (retention)."""
        images, uploads = [], {}
        for image in source.generation_request().images:
            if uploaded(image):
                name = upload_name(gen_id, Path(image).name)
                try:
                    uploads[name] = self.storage.read_bytes(image)
                except FileNotFoundError:
                    raise InvalidRequest(f"video {source.id} cannot be remixed: its uploaded reference image was "
                                         "removed with its files after the retention period; create a new video "
                                         "with the image instead") from None
                image = name
            images.append(image)
        return tuple(images), uploads

    def get(self, gen_id: str) -> Generation | None:
        with self.engine.begin() as db:
            row = db.execute(sa.select(generations).where(generations.c.id == gen_id)).mappings().first()
        return Generation(**row) if row else None

    def find(self, gen_id: str, principal: Principal | None, api: str | None = None) -> Generation:
        """The task, if it exists and the caller may see it; TaskNotFound otherwise."""
        gen = self.get(gen_id)
        if gen is None or (api and gen.api != api) or not visible(gen, principal):
            raise TaskNotFound(f"Task not found: {gen_id}")
        return gen

    def page(self, principal: Principal | None, *, api: str | None, status: str | None = None, limit: int = 20,
             offset: int = 0, after: str | None = None, order: str = "desc") -> tuple[list[Generation], int]:
        """A page of the caller's tasks of one API (None: every API), in creation order, and how
        many match in all."""
        where = [] if api is None else [generations.c.api == api]
        if principal is not None and not principal.admin:
            where.append(generations.c.key_id == principal.key_id)
        if status:
            where.append(generations.c.status == status)
        key = (generations.c.created, generations.c.id)
        with self.engine.begin() as db:
            total = db.execute(sa.select(sa.func.count()).select_from(generations).where(*where)).scalar() or 0
            if after:
                cursor = db.execute(sa.select(*key).where(generations.c.id == after)).first()
                if cursor is None:
                    raise TaskNotFound(f"no video {after} to list after")
                where.append(sa.tuple_(*key) > tuple(cursor) if order == "asc" else sa.tuple_(*key) < tuple(cursor))
            ordering = [c.asc() if order == "asc" else c.desc() for c in key]
            rows = db.execute(sa.select(generations).where(*where).order_by(*ordering).limit(limit).offset(offset)
                              ).mappings().all()
        return [Generation(**r) for r in rows], total

    def delete(self, gen: Generation) -> None:
        """Stop the task if it runs (its hold is refunded) and remove it with its files."""
        task = self.running.pop(gen.id, None)
        if task is not None:
            task.cancel()
        self.accounts.settle(gen.id, success=False)
        with self.engine.begin() as db:
            db.execute(generations.delete().where(generations.c.id == gen.id))
        self._remove_files(gen.id)

    def log(self, gen_id: str) -> list[dict]:
        return self.webhooks.log(gen_id)

    # -- running --------------------------------------------------------------------

    async def start(self) -> None:
        """Resume every task a stop left unfinished: a remote job is polled again (its journal
        has the job id), a local one runs again. Scaled out, each is published again (a stop
        between storing and publishing would leave it queued for ever); a worker skips a copy
        whose task another worker runs."""
        with self.engine.begin() as db:
            rows = db.execute(sa.select(generations).where(generations.c.status.not_in(TERMINAL))
                              .order_by(generations.c.created)).mappings().all()
        for row in rows:
            if self.publish is not None:
                await asyncio.to_thread(self.publish, row["id"])
            else:
                self._launch(Generation(**row))

    async def close(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        self.running.clear()

    def _launch(self, gen: Generation) -> None:
        if self.publish is not None:
            self.publish(gen.id)
            return
        self.running[gen.id] = asyncio.get_running_loop().create_task(self._run(gen), name=f"generation-{gen.id}")

    async def _run(self, gen: Generation) -> None:
        try:
            await self.run(gen)
        finally:
            self.running.pop(gen.id, None)

    async def run(self, gen: Generation) -> None:
        """Run the task to its end, here: completed with its files in storage, or failed with its error."""
        try:
            await self._generate(gen)
        except asyncio.CancelledError:
            raise
        except Stopped:
            log.info("generation %s was deleted or finished elsewhere; stopped", gen.id)
            self._journal(gen.id).unlink(missing_ok=True)
        except GenerationError as e:
            self.finish(gen.id, FAILED, error_code=e.code or "generation_failed", error_message=e.message)
        except DraftRenderError as e:
            self.finish(gen.id, FAILED, error_code="generation_failed", error_message=e.message)
        except Exception as e:  # a bug fails the task, never the service
            log.exception("generation %s failed", gen.id)
            self.finish(gen.id, FAILED, error_code="internal_error", error_message=f"{type(e).__name__}: {e}")
        finally:
            shutil.rmtree(self.work / gen.id, ignore_errors=True)

    async def _generate(self, gen: Generation) -> None:
        config = self.config_for(gen.model)
        provider = self.providers.get(config.name)
        if provider is None:
            provider = self.providers[config.name] = build(config, self.cache_dir)
        work = self.work / gen.id
        work.mkdir(parents=True, exist_ok=True)
        request = config.with_defaults(await asyncio.to_thread(self._local_images, gen.generation_request(), work))
        timing = config.timing()
        if gen.deadline is not None:
            timing = Timing(max(0.0, gen.deadline - time.time()), timing.poll_interval, timing.max_poll_interval)
        if not self._update(gen.id, started=gen.started or time.time()):
            raise Stopped(gen.id)
        journal = self._journal(gen.id)
        if gen.provider_job_id and config.kind != "local" and read_journal(journal, request, provider.name) is None:
            # Started on another machine (or its journal lost): the row has the job id, so the
            # remote job is polled again, never submitted twice. (A local job is this machine's
            # own: it runs again here.)
            write_journal(journal, request, Job(id=gen.provider_job_id, provider=provider.name, model=request.model,
                                                status=JobStatus.IN_PROGRESS))

        job_id = gen.provider_job_id

        def on_update(job: Job) -> None:
            nonlocal job_id
            job_id = job.id
            status = IN_PROGRESS if job.status is JobStatus.IN_PROGRESS or job.progress else QUEUED
            if job.terminal:
                return
            try:
                running = self._update(gen.id, provider_job_id=job.id, status=status, progress=min(job.progress, 99))
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as e:
                # Progress is best effort: the job goes on without the database (the journal has its id).
                log.warning("progress of generation %s not saved: %s", gen.id, e)
                return
            if not running:
                raise Stopped(gen.id)

        dest = work / f"{gen.id}.mp4"
        try:
            # run_job saves the extras as <id>.<variant>.jpg beside the video: self.name's names.
            await run_job(provider, request, dest, journal=journal, timing=timing, on_update=on_update, extras=EXTRAS)
        except (asyncio.CancelledError, Stopped):
            # Deleted (here: its task cancelled; scaled out: seen at the next update), not a
            # shutdown or its deadline: the provider's job is no longer wanted.
            if job_id is not None and self.get(gen.id) is None:
                await cancel_quietly(provider, job_id)
            raise
        facts = await asyncio.to_thread(probe, dest)
        size = dest.stat().st_size
        await asyncio.to_thread(self._store_files, gen.id, work)
        if self.finish(gen.id, COMPLETED, width=facts.width, height=facts.height,
                       seconds=round(facts.duration / 1e6, 3), file_size=size, progress=100):
            return
        # Deleted, or failed (its deadline), while its files were stored: nothing may stay behind.
        current = self.get(gen.id)
        if current is None:
            self._remove_files(gen.id)
        elif current.status != COMPLETED:
            self._remove_results(gen.id)

    def _local_images(self, request: GenerationRequest, work: Path) -> GenerationRequest:
        """The request with its uploaded images (storage names) copied into `work` as files."""
        images = []
        for image in request.images:
            if uploaded(image):
                local = work / Path(image).name
                self.storage.get_file(image, local)
                image = str(local)
            images.append(image)
        return request.model_copy(update={"images": tuple(images)})

    def _store_files(self, gen_id: str, work: Path) -> None:
        for variant in (*EXTRAS, "video"):  # the video last: it is what says the task has files
            local = work / self.name(gen_id, variant).rsplit("/", 1)[1]
            if local.is_file():
                self.storage.put_file(local, self.name(gen_id, variant))

    def finish(self, gen_id: str, status: str, **values) -> bool:
        """The terminal transition, once: True for the caller that made it. It settles the
        credits (charged on success, refunded on failure) and sends the API's callback."""
        now = time.time()
        values.update(status=status, completed=now)
        if status == COMPLETED:
            values["expires"] = now + self.retention_s
        with self.engine.begin() as db:
            won = db.execute(generations.update().where(generations.c.id == gen_id,
                                                        generations.c.status.not_in(TERMINAL))
                             .values(**values)).rowcount == 1
        if not won:
            return False
        self.accounts.settle(gen_id, success=status == COMPLETED)
        if status == FAILED:
            log.info("generation %s failed: %s", gen_id, values.get("error_message"))
            self._remove_results(gen_id)
        self._journal(gen_id).unlink(missing_ok=True)
        gen = self.get(gen_id)
        if gen is not None and gen.callback_url:
            self._callback(gen, gen.callback_url)
        return True

    def _callback(self, gen: Generation, url: str) -> None:
        event = self.events.get(gen.api)
        made = event(gen) if event else None
        if made is None:
            return
        name, payload = made
        secret = self.accounts.webhook_secret(gen.key_id)
        self.webhooks.enqueue(gen.id, url, name, payload, secret=secret)

    def _update(self, gen_id: str, **values) -> bool:
        """Change a running task's row; False when it is finished or gone."""
        with self.engine.begin() as db:
            return db.execute(generations.update().where(generations.c.id == gen_id,
                                                         generations.c.status.not_in(TERMINAL))
                              .values(**values)).rowcount == 1

    # -- a worker's side (scaled out) --------------------------------------------------

    def claim(self, gen_id: str, worker: str, *, lease: float) -> Generation | None:
        """Take a task that no worker holds, or whose worker has not renewed its lease for
        `lease` seconds (it died). None when another worker has it, or it is finished or gone."""
        now = time.time()
        free = (generations.c.worker == None) | (generations.c.heartbeat < now - lease)  # noqa: E711
        with self.engine.begin() as db:
            won = db.execute(generations.update().where(generations.c.id == gen_id,
                                                        generations.c.status.not_in(TERMINAL), free)
                             .values(worker=worker, heartbeat=now, attempts=generations.c.attempts + 1)).rowcount
        return self.get(gen_id) if won else None

    def beat(self, gen: Generation) -> bool:
        """Renew the lease of a task this worker claimed; False when it no longer holds it."""
        with self.engine.begin() as db:
            return db.execute(generations.update().where(generations.c.id == gen.id, generations.c.worker == gen.worker,
                                                         generations.c.status.not_in(TERMINAL))
                              .values(heartbeat=time.time())).rowcount == 1

    def requeue_orphaned(self, lease: float, queued_for: float) -> None:
        """Publish again each task whose worker let its lease run out (its claim dropped, so that
        the next worker takes it at once), or that no worker took `queued_for` seconds after it
        was published (an unclaimed task's heartbeat: when it was last published): its message
        may be lost, and the broker would hand a dead worker's out again only after the
        visibility timeout."""
        assert self.publish is not None
        now = time.time()
        orphaned = generations.c.status.not_in(TERMINAL) & (
            ((generations.c.worker != None) & (generations.c.heartbeat < now - lease))  # noqa: E711
            | ((generations.c.worker == None)  # noqa: E711
               & (sa.func.coalesce(generations.c.heartbeat, generations.c.created) < now - queued_for)))
        with self.engine.begin() as db:
            rows = db.execute(sa.select(generations.c.id, generations.c.heartbeat).where(orphaned)).all()
        for gen_id, heartbeat in rows:
            self.publish(gen_id)
            with self.engine.begin() as db:  # unless a worker took it meanwhile
                same = (generations.c.id == gen_id, generations.c.heartbeat.is_not_distinct_from(heartbeat))
                if db.execute(generations.update().where(*same, orphaned)
                              .values(worker=None, heartbeat=time.time())).rowcount:
                    log.info("generation %s: its message may be lost; published again", gen_id)

    # -- deadlines and retention ----------------------------------------------------

    def sweep(self, now: float | None = None) -> None:
        """Fail tasks past their deadline that nothing runs; remove files past their expiry
        (the record stays, its video answers 404)."""
        now = now or time.time()
        with self.engine.begin() as db:
            late = db.execute(sa.select(generations.c.id).where(
                generations.c.status.not_in(TERMINAL), generations.c.deadline < now)).scalars().all()
            old = db.execute(sa.select(generations.c.id).where(
                generations.c.expires < now, generations.c.files_removed.is_(False))).scalars().all()
        for gen_id in late:
            task = self.running.pop(gen_id, None)
            if task is not None:
                task.cancel()
            self.finish(gen_id, FAILED, error_code="timeout", error_message="the generation did not finish in time")
        for gen_id in old:
            self._remove_files(gen_id)
            with self.engine.begin() as db:
                db.execute(generations.update().where(generations.c.id == gen_id).values(files_removed=True))

    def _remove_results(self, gen_id: str) -> None:
        """The generated files: the video and its extras."""
        for variant in ("video", *EXTRAS):
            self.storage.delete(self.name(gen_id, variant))

    def _remove_files(self, gen_id: str) -> None:
        self._remove_results(gen_id)
        for name in self.storage.names(upload_name(gen_id, "")):
            self.storage.delete(name)
        self._journal(gen_id).unlink(missing_ok=True)
        shutil.rmtree(self.work / gen_id, ignore_errors=True)


def upload_name(gen_id: str, filename: str) -> str:
    """The storage name of a file uploaded with a task (its request names it so)."""
    return f"generations/uploads/{gen_id}/{filename}"


def uploaded(image: str) -> bool:
    """Whether a request's image is an upload (a storage name), not a URL or a local file."""
    return not is_url(image) and not Path(image).is_absolute()


def visible(gen: Generation, principal: Principal | None) -> bool:
    """A task is its key's; an admin key, or a service without keys, sees every one."""
    return principal is None or principal.admin or gen.key_id == principal.key_id


def _row(gen: Generation) -> dict:
    return {c: getattr(gen, c) for c in COLUMNS}
