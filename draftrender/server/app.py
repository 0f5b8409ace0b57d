"""The aiohttp application: the gen_video routes, files, the page, and the guards around them.

Contract: POST /v1/gen_video {"draft_url"} → 200 {"message": "视频生成成功", "video_url"} or
{"detail"} with the status of draftrender.errors; 202 {"message": "视频生成中"} while it renders.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from aiohttp import web

from ..errors import (
    DraftRenderError,
    DraftUrlMissing,
    InvalidRequest,
    RequestTimeout,
    RequestTooLarge,
    ServiceBusy,
    TaskNotFound,
    Unauthorized,
)
from ..generate.base import Variant
from ..generate.providers import default_path, load_configs
from ..service.accounts import Accounts, read_prices
from ..service.generations import EventBody, Generations
from ..service.webhooks import Webhooks
from . import openai_videos, vibegen, zhaotou
from .apis import (
    ACCOUNTS,
    CONFIG,
    GENERATIONS,
    PRINCIPAL,
    api_of,
    deliveries,
    error_headers,
    generation_response,
    json_response,
    list_generations,
    principal,
    public_base,
    query_int,
    rate_headers,
)
from .config import ServerConfig
from .intake import DraftFetches, fetch_draft, read_request, task_key
from .openapi import add_common_refusals, openapi_spec
from .page import DOCS_HTML, INDEX_HTML
from . import videomatic
from .pool import RenderPool
from ..service.queue import LEASE, VISIBILITY_TIMEOUT, CeleryQueue
from ..service.storage import open_storage
from ..service.store import TaskStore, claim, video_name
from ..service.tasks import COMPLETED, FAILED, QUEUED, STATUSES, Task

log = logging.getLogger("draftrender.server")

STORE = web.AppKey("store", TaskStore)
# Where render tasks run: RenderPool (local processes) or CeleryQueue (scaled out); both have
# submit(task), wait(task_id, seconds), cancel(task_id), check_capacity().
POOL: web.AppKey[RenderPool | CeleryQueue] = web.AppKey("pool")
SWEEPER = web.AppKey("sweeper", asyncio.Task)
REQUEUER = web.AppKey("requeuer", asyncio.Task)
DRAFT_THREADS = web.AppKey("draft_threads", ThreadPoolExecutor)
DRAFT_FETCHES = web.AppKey("draft_fetches", DraftFetches)
STARTED = web.AppKey("started", float)  # time.time() when this service was made
LOCK = web.AppKey("lock", TextIO)  # the open lock file: closing it frees the data dir
WEBHOOKS = web.AppKey("webhooks", Webhooks)
SENDER = web.AppKey("sender", asyncio.Task)

TASK_ID = re.compile(r"^[0-9a-f]{32}$")
# Open without a key: the page and the spec carry no data, and video URLs are unguessable
# (a caller's player or downloader cannot send a Bearer header).
PUBLIC_PATHS = ("/", "/docs", "/openapi.json", "/favicon.ico", "/v1/auth/login")
PUBLIC_PREFIXES = ("/files/",)
MAX_PAGE = 100
PARSE_THREADS = 4  # drafts parsed and hashed at once, off the event loop


def create_app(config: ServerConfig | None = None) -> web.Application:
    """The gen_video service as an aiohttp application (start it with web.run_app or a runner)."""
    config = config or ServerConfig()
    app = web.Application(middlewares=[errors_as_json, require_key], client_max_size=config.max_request_bytes)
    app[CONFIG] = config
    app[STARTED] = time.time()
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    app.router.add_post("/v1/gen_video", gen_video)
    app.router.add_get("/v1/gen_video", list_tasks)
    app.router.add_get("/v1/gen_video_status", status_by_url)
    app.router.add_get("/v1/gen_video/{task_id}", get_task)
    app.router.add_delete("/v1/gen_video/{task_id}", delete_task)
    app.router.add_get("/files/{task_id}.mp4", video_file)
    app.router.add_get("/files/generations/{name}", generation_file)
    app.router.add_get("/v1/deliveries/{task_id}", deliveries)
    app.router.add_get("/v1/generations", list_generations)
    for api in (videomatic, vibegen, zhaotou, openai_videos):  # OpenAI's last: it takes every other /v1/videos body
        api.setup(app)
    app.on_response_prepare.append(rate_headers)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/", index_page)
    return app


# ---------------------------------------------------------------- life


async def _start(app: web.Application) -> None:
    config = app[CONFIG]
    app[LOCK] = claim(config.data_dir)
    storage = open_storage(config.storage) if config.storage else None
    store = app[STORE] = TaskStore(config.data_dir, config.store, storage)
    store.expire(time.time() - config.retention_s)
    if config.broker:  # scaled out: workers elsewhere run the renders; those running go on
        pool: RenderPool | CeleryQueue = CeleryQueue(config, store, config.broker)
        queued = store.with_status(QUEUED)
    else:
        pool = RenderPool(config, store)
        queued = store.recover(config.max_attempts)
    if queued:
        log.info("%d task(s) from before the last stop are queued again", len(queued))
    app[POOL] = pool
    await pool.start(queued)
    app[DRAFT_THREADS] = ThreadPoolExecutor(PARSE_THREADS, thread_name_prefix="draftrender-draft")
    app[DRAFT_FETCHES] = DraftFetches(config.draft_fetches)
    configs = load_configs(config.providers_file)
    accounts = app[ACCOUNTS] = Accounts(store.db, jwt_ttl=config.jwt_ttl, **_prices(config))
    accounts.ensure_keys(config.api_keys)
    accounts.ensure_keys(config.admin_keys, admin=True)
    # Scaled out, workers record callbacks too: the sender looks for them every few seconds.
    hooks = app[WEBHOOKS] = Webhooks(store.db, retry_base=config.webhook_retry_base,
                                     retry_max=config.webhook_retry_max, give_up_after=config.webhook_give_up_after,
                                     allow_private_urls=config.allow_private_urls,
                                     idle_s=2.0 if config.broker else 60.0)
    publish = pool.publish_generation if isinstance(pool, CeleryQueue) else None
    gens = app[GENERATIONS] = Generations(store.db, store.storage, config.data_dir / "generations" / "work", configs,
                                          accounts, hooks, cache_dir=store.cache_dir,
                                          retention_s=config.generation_retention_s, events=generation_events(),
                                          publish=publish)
    await gens.start()
    app[SENDER] = asyncio.create_task(hooks.run())
    app[SWEEPER] = asyncio.create_task(_sweep(app))
    if isinstance(pool, CeleryQueue):
        app[REQUEUER] = asyncio.create_task(_requeue_orphaned(pool, gens))


def generation_events() -> dict[str, EventBody]:
    """Each gateway API's callback (event name and body) for a finished generation."""
    return {api.API: api.callback_event for api in (openai_videos, vibegen, zhaotou)}


def _prices(config: ServerConfig) -> dict:
    """Price rules from the providers file's [[price]] tables; vibegen's table when it has none."""
    path = config.providers_file or default_path()
    rules = tomllib.loads(path.read_text(encoding="utf-8")).get("price") if path.is_file() else None
    return {"prices": read_prices(rules)} if rules else {}


async def _stop(app: web.Application) -> None:
    app[SWEEPER].cancel()
    if REQUEUER in app:
        app[REQUEUER].cancel()
    app[SENDER].cancel()
    await asyncio.gather(app[SENDER], return_exceptions=True)  # its HTTP session closes before the loop does
    await app[GENERATIONS].close()
    await app[POOL].close()
    app[DRAFT_THREADS].shutdown(wait=False, cancel_futures=True)
    app[STORE].close()
    app[LOCK].close()


async def _sweep(app: web.Application) -> None:
    """Retention: finished tasks older than the period go, with their files."""
    config = app[CONFIG]
    every = min(max(min(config.retention_s, config.generation_retention_s) / 10, 0.2), 60.0)
    while True:
        await asyncio.sleep(every)
        try:
            gone = app[STORE].expire(time.time() - config.retention_s)
            if gone:
                log.info("retention removed %d task(s)", len(gone))
            app[GENERATIONS].sweep()
        except Exception:  # a failed sweep must not end the sweeping
            log.exception("retention sweep failed")


async def _requeue_orphaned(pool: CeleryQueue, gens: Generations) -> None:
    """Scaled out: tasks whose message may be lost are published again, a few times per lease."""
    while True:
        await asyncio.sleep(LEASE / 4)
        try:
            await asyncio.to_thread(pool.requeue_orphaned)
            await asyncio.to_thread(gens.requeue_orphaned, LEASE, VISIBILITY_TIMEOUT)
        except Exception as e:  # noqa: BLE001 - the database or the broker away: next time
            log.warning("orphaned tasks not queued again: %s", e)


# ---------------------------------------------------------------- guards


@web.middleware
async def errors_as_json(request: web.Request, handler):
    """Every error answers in its API's shape: gen_video's is {"detail", "message", "error"}
    (callers match on detail); the gateway's APIs register theirs (server/apis.py)."""
    try:
        return await handler(request)
    except RequestTimeout as e:
        response = error_response(request, e)
        response.force_close()  # the rest of the body is not waited for
        return response
    except ServiceBusy as e:
        return error_response(request, e, headers={"Retry-After": str(request.app[CONFIG].retry_after)})
    except DraftRenderError as e:
        return error_response(request, e)
    except web.HTTPRequestEntityTooLarge:
        return error_response(request, RequestTooLarge(
            f"the request body is larger than {request.app[CONFIG].max_request_bytes} bytes"))
    except web.HTTPException as e:
        if e.status < 400:
            raise
        allow = {k: v for k, v in e.headers.items() if k.lower() == "allow"}
        if api_of(request) is not None:
            return error_response(request, HttpError(e.status, f"{request.method} {request.path}: {e.reason}"),
                                  headers=allow)
        body = {"detail": e.reason, "message": f"{request.method} {request.path}: {e.reason}", "error": "HTTPError"}
        return json_response(body, status=e.status, headers=allow)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception as e:  # a bug answers 500 in the contract's shape, not a traceback
        log.exception("%s %s failed", request.method, request.path)
        if api_of(request) is not None:
            return error_response(request, HttpError(500, f"internal error: {type(e).__name__}: {e}"))
        return json_response({"detail": "服务器内部错误", "message": f"{type(e).__name__}: {e}",
                                  "error": type(e).__name__}, status=500)


class HttpError(DraftRenderError):
    """aiohttp's own refusals (no such route, wrong method), for an API's error shape."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def error_response(request: web.Request, e: DraftRenderError, headers: dict | None = None) -> web.Response:
    headers = {**(headers or {}), **error_headers(e)}
    api = api_of(request)
    if api is not None:
        return json_response(api.error(e), status=api.status(e), headers=headers)
    return json_response(e.to_json(), status=e.status, headers=headers)


@web.middleware
async def require_key(request: web.Request, handler):
    """The caller's API key or JWT, when the service has accounts: request["principal"]."""
    request[PRINCIPAL] = None
    accounts = request.app[ACCOUNTS]
    if request.path not in PUBLIC_PATHS and not request.path.startswith(PUBLIC_PREFIXES) and accounts.has_keys():
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Unauthorized("this service needs an API key: send Authorization: Bearer <key>")
        request[PRINCIPAL] = accounts.authenticate(given)
    return await handler(request)


# ---------------------------------------------------------------- gen_video


async def gen_video(request: web.Request) -> web.Response:
    config, store, pool = request.app[CONFIG], request.app[STORE], request.app[POOL]
    try:
        async with asyncio.timeout(config.request_timeout):
            raw = await request.read()
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {config.request_timeout:g} s") from None
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("the request body must be JSON: {\"draft_url\": \"…\"}") from None
    req = read_request(body, config)
    draft = await fetch_draft(req.draft_url, config, request.app[DRAFT_THREADS], request.app[DRAFT_FETCHES])
    owner = owner_of(request)
    key = task_key(req, draft, owner)
    # No await between looking up and adding: two identical requests cannot both add.
    # A failure is replayed for a while, but never one from before this start: flags may have changed.
    task = store.joinable(key, failed_since=max(time.time() - config.failed_memory, request.app[STARTED]))
    replayed = task is not None and task.status == FAILED
    if task is None:
        pool.check_capacity()
        task = store.add(Task(id=secrets.token_hex(16), key=key, draft_url=req.draft_url, options=req.options,
                              base_url=draft.base_url, owner=owner), draft.data)
        pool.submit(task)
    if not task.done and req.wait > 0:
        await pool.wait(task.id, req.wait)
        task = store.get(task.id) or task
    if replayed:
        return replayed_failure(task, config.failed_memory)
    return gen_video_answer(task, public_base(request))


def replayed_failure(task: Task, memory: float) -> web.Response:
    """An identical request's earlier failure, saying that it is one and how to try again."""
    error = task.error or {"status": 500, "detail": "视频生成失败"}
    age = time.time() - (task.finished or time.time())
    message = (f"{error.get('message', '')} [replayed: task {task.id} failed {age:.0f} s ago; an identical "
               f"request gets that answer for {memory:g} s after a failure; to try again now, change the draft "
               f"or the options, or restart the service]")
    return json_response({**error, "message": message, "task_id": task.id, "replayed": True},
                         status=error.get("status", 500))


def gen_video_answer(task: Task, base: str) -> web.Response:
    if task.status == COMPLETED:
        return json_response({"message": "视频生成成功", **task.to_json(base)})
    if task.status == FAILED:
        error = task.error or {"status": 500, "detail": "视频生成失败"}
        return json_response({**error, "task_id": task.id}, status=error.get("status", 500))
    doc = task.to_json(base)
    return json_response({"message": "视频生成中", **{k: doc[k] for k in
                              ("task_id", "status", "progress", "stage", "stages")}}, status=202)


async def get_task(request: web.Request) -> web.Response:
    return json_response(find_task(request).to_json(public_base(request)))


async def status_by_url(request: web.Request) -> web.Response:
    known_query(request, "draft_url")
    url = request.query.get("draft_url", "").strip()
    if not url:
        raise DraftUrlMissing("draft_url is required")
    task = request.app[STORE].latest_for_url(url, owner=viewer_of(request))
    if task is None:
        raise TaskNotFound(f"no task for draft_url {url}")
    return json_response(task.to_json(public_base(request)))


async def list_tasks(request: web.Request) -> web.Response:
    known_query(request, "status", "limit", "offset")
    statuses = tuple(s for s in request.query.get("status", "").split(",") if s)
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidRequest(f"unknown status {', '.join(bad)}; known: {', '.join(STATUSES)}")
    limit, offset = query_int(request, "limit", 20, 1, MAX_PAGE), query_int(request, "offset", 0, 0, 10**9)
    tasks, total = request.app[STORE].page(statuses, limit, offset, owner=viewer_of(request))
    base = public_base(request)
    return json_response({"tasks": [t.to_json(base) for t in tasks], "total": total,
                              "limit": limit, "offset": offset})


async def delete_task(request: web.Request) -> web.Response:
    task = find_task(request)
    cancelled = request.app[POOL].cancel(task.id)
    request.app[STORE].remove(task.id)
    return json_response({"task_id": task.id, "deleted": True, "cancelled": cancelled})


async def video_file(request: web.Request) -> web.StreamResponse:
    task_id = request.match_info["task_id"]
    storage = request.app[STORE].storage
    if not TASK_ID.match(task_id) or not storage.exists(video_name(task_id)):
        raise TaskNotFound(f"no video {task_id}.mp4 (unknown, not finished, or removed after retention)")
    url = storage.url(video_name(task_id))
    if url is not None:  # a bucket: the caller fetches it there, presigned
        raise web.HTTPFound(url)
    path = storage.path(video_name(task_id))
    assert path is not None  # storage is a folder when it has no URLs
    # FileResponse answers Range requests (206 + Content-Range), so players can seek.
    return web.FileResponse(path, headers={"Content-Type": "video/mp4", "Cache-Control": "private, max-age=3600"})


async def openapi(request: web.Request) -> web.Response:
    served = {resource.canonical for resource in request.app.router.resources()}
    spec = openapi_spec(public_base(request), served)
    for api in (openai_videos, vibegen, zhaotou, videomatic):
        spec["paths"].update(api.openapi_paths())
    spec["paths"]["/v1/deliveries/{task_id}"] = {"get": {
        "summary": "The callback deliveries of a generation: url, event, body, status and each attempt",
        "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the log", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"task_id": {"type": "string"}, "deliveries": {"type": "array"}}}}}},
            "401": {"description": "未授权"}, "404": {"description": "任务不存在"}}}}
    spec["paths"]["/v1/generations"] = {"get": {
        "summary": "The caller's generations through every API, newest first (the page's list)",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
        "responses": {"200": {"description": "a page", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"total": {"type": "integer"}, "generations": {"type": "array"}}}}}},
            "401": {"description": "未授权"}}}}
    spec["paths"]["/files/generations/{name}"] = {"get": {
        "summary": "A generated video (<id>.mp4) or picture (<id>.thumbnail.jpg, <id>.spritesheet.jpg); no key "
                   "needed: the name is unguessable", "security": [],
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the file", "content": {"video/mp4": {}, "image/jpeg": {}}},
                      "404": {"description": "unknown, not finished, or deleted after the retention period"}}}}
    add_common_refusals(spec["paths"])
    return json_response(spec)


async def index_page(request: web.Request) -> web.Response:
    return web.Response(text=INDEX_HTML, content_type="text/html")


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=DOCS_HTML, content_type="text/html")


# ---------------------------------------------------------------- helpers


def find_task(request: web.Request) -> Task:
    task_id = request.match_info["task_id"]
    task = request.app[STORE].get(task_id) if TASK_ID.match(task_id) else None
    if task is None or viewer_of(request) not in (None, task.owner):  # another key's: as if not there
        raise TaskNotFound(f"no task {task_id}")
    return task


def known_query(request: web.Request, *names: str) -> None:
    """InvalidRequest for a query parameter the route does not take (a typo is not ignored),
    or one given more than once."""
    unknown = sorted(set(request.query) - set(names))
    if unknown:
        raise InvalidRequest(f"unknown query parameter(s) {', '.join(unknown)}; known: {', '.join(names)}")
    repeated = sorted(n for n in names if len(request.query.getall(n, [])) > 1)
    if repeated:
        raise InvalidRequest(f"query parameter(s) {', '.join(repeated)} given more than once")


def owner_of(request: web.Request) -> str | None:
    """Whose a new task is: the caller's key id; None on a service without keys."""
    who = principal(request)
    return who.key_id if who else None


def viewer_of(request: web.Request) -> str | None:
    """Whose tasks the caller sees: its own key's; None (all) for an admin key or without keys."""
    who = principal(request)
    return None if who is None or who.admin else who.key_id


async def generation_file(request: web.Request) -> web.StreamResponse:
    """A generation's video or picture: unguessable names, so open like /files/{task_id}.mp4."""
    name = request.match_info["name"]
    gen_id, _, kind = name.partition(".")
    variants: dict[str, Variant] = {"mp4": "video", "thumbnail.jpg": "thumbnail", "spritesheet.jpg": "spritesheet"}
    gens = request.app[GENERATIONS]
    gen = gens.get(gen_id) if kind in variants else None
    if gen is None or not gens.has_file(gen, variants[kind]):
        raise TaskNotFound(f"no file {name} (unknown, not finished, or deleted after the retention period)")
    return generation_response(gens, gen.id, variants[kind])
