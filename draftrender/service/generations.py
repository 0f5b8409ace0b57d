"""Generation tasks behind the gateway: one record per clip asked for through any API.

Owns the generations table, the files of each generation (<id>.mp4, <id>.thumbnail.jpg,
<id>.spritesheet.jpg under the data dir's generations/ folder, renamed into place when
complete), running each task on its model's provider (generate.runner, whose journal keeps
the provider's job id so a restart polls that job and never submits it again), the terminal
transition (a compare-and-set: the one caller that wins settles the credits and sends the
callback), and retention (files deleted after a period, the record kept).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import sqlalchemy as sa

from ..assets.probe import probe
from ..errors import DraftRenderError, TaskNotFound
from ..generate.base import GenerationError, GenerationRequest, Job, JobStatus, Provider, Variant
from ..generate.providers import ProviderConfig, build, config_for
from ..generate.runner import Timing, run_job
from .accounts import Accounts, Principal
from .schema import generations
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


class Generations:
    """The gateway's tasks over the task store's engine; `start()` resumes what a stop left."""

    def __init__(self, engine: sa.Engine, root: Path, configs: list[ProviderConfig], accounts: Accounts,
                 webhooks: Webhooks, *, cache_dir: Path, retention_s: float = 86400.0,
                 events: dict[str, EventBody] | None = None):
        self.engine = engine
        self.root = Path(root)
        (self.root / "work").mkdir(parents=True, exist_ok=True)
        self.configs = configs
        self.accounts = accounts
        self.webhooks = webhooks
        self.cache_dir = Path(cache_dir)
        self.retention_s = retention_s
        self.events = events if events is not None else {}  # per API: its callback's event and body
        self.running: dict[str, asyncio.Task] = {}
        self.providers: dict[str, Provider] = {}

    # -- files ----------------------------------------------------------------------

    def file(self, gen_id: str, variant: Variant = "video") -> Path:
        return self.root / (f"{gen_id}.mp4" if variant == "video" else f"{gen_id}.{variant}.jpg")

    def upload_dir(self, gen_id: str) -> Path:
        return self.root / "work" / gen_id

    def _journal(self, gen_id: str) -> Path:
        return self.root / "work" / f"{gen_id}.job.json"

    # -- records --------------------------------------------------------------------

    def config_for(self, model: str) -> ProviderConfig:
        return config_for(model, self.configs)

    def create(self, gen: Generation, principal: Principal | None) -> Generation:
        """Store a new task, holding its price from the caller's credits, and start it."""
        gen.key_id = principal.key_id if principal else None
        gen.created = gen.created or time.time()
        gen.provider = self.config_for(gen.model).name
        self.accounts.reserve(gen.key_id, gen.id, gen.price)
        with self.engine.begin() as db:
            db.execute(generations.insert().values(**_row(gen)))
        self._launch(gen)
        return gen

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
        has the job id), a local one runs again."""
        with self.engine.begin() as db:
            rows = db.execute(sa.select(generations).where(generations.c.status.not_in(TERMINAL))
                              .order_by(generations.c.created)).mappings().all()
        for row in rows:
            self._launch(Generation(**row))

    async def close(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        self.running.clear()

    def _launch(self, gen: Generation) -> None:
        self.running[gen.id] = asyncio.get_running_loop().create_task(self._run(gen), name=f"generation-{gen.id}")

    async def _run(self, gen: Generation) -> None:
        try:
            await self._generate(gen)
        except asyncio.CancelledError:
            raise
        except GenerationError as e:
            self.finish(gen.id, FAILED, error_code=e.code or "generation_failed", error_message=e.message)
        except DraftRenderError as e:
            self.finish(gen.id, FAILED, error_code="generation_failed", error_message=e.message)
        except Exception as e:  # a bug fails the task, never the service
            log.exception("generation %s failed", gen.id)
            self.finish(gen.id, FAILED, error_code="internal_error", error_message=f"{type(e).__name__}: {e}")
        finally:
            self.running.pop(gen.id, None)

    async def _generate(self, gen: Generation) -> None:
        config = self.config_for(gen.model)
        provider = self.providers.get(config.name)
        if provider is None:
            provider = self.providers[config.name] = build(config, self.cache_dir)
        request = config.with_defaults(gen.generation_request())
        timing = config.timing()
        if gen.deadline is not None:
            timing = Timing(max(0.0, gen.deadline - time.time()), timing.poll_interval, timing.max_poll_interval)
        self._update(gen.id, started=gen.started or time.time())

        def on_update(job: Job) -> None:
            status = IN_PROGRESS if job.status is JobStatus.IN_PROGRESS or job.progress else QUEUED
            if not job.terminal:
                self._update(gen.id, provider_job_id=job.id, status=status, progress=min(job.progress, 99))

        dest = self.file(gen.id)
        # run_job saves the extras as <id>.<variant>.jpg beside the video: self.file's names.
        await run_job(provider, request, dest, journal=self._journal(gen.id), timing=timing,
                      on_update=on_update, extras=EXTRAS)
        facts = await asyncio.to_thread(probe, dest)
        self.finish(gen.id, COMPLETED, width=facts.width, height=facts.height, seconds=round(facts.duration / 1e6, 3),
                    file_size=dest.stat().st_size, progress=100)

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
            for variant in ("video", *EXTRAS):
                self.file(gen_id, variant).unlink(missing_ok=True)
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

    def _update(self, gen_id: str, **values) -> None:
        with self.engine.begin() as db:
            db.execute(generations.update().where(generations.c.id == gen_id,
                                                  generations.c.status.not_in(TERMINAL)).values(**values))

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

    def _remove_files(self, gen_id: str) -> None:
        for variant in ("video", *EXTRAS):
            self.file(gen_id, variant).unlink(missing_ok=True)
        self._journal(gen_id).unlink(missing_ok=True)
        shutil.rmtree(self.upload_dir(gen_id), ignore_errors=True)


def visible(gen: Generation, principal: Principal | None) -> bool:
    """A task is its key's; an admin key, or a service without keys, sees every one."""
    return principal is None or principal.admin or gen.key_id == principal.key_id


def _row(gen: Generation) -> dict:
    return {c: getattr(gen, c) for c in COLUMNS}
