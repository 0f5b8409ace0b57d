"""The VideoMatic API (apis/videomatic-templates.md): templates, videos, batches, webhooks.

Templates are drafts with `{{fields}}`. A video is one row of data for a template: it waits
as `pending` until the dispatcher gives it a render task, within its plan's concurrent renders
and its batch's `concurrent`, and then mirrors that task's status. The dispatcher runs in the
service's loop, keeps its state in the store (so a restart loses nothing) and announces each
status change once as a signed webhook. Errors answer {"error": {"code", "message", "field"}}.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import time
from dataclasses import replace
from pathlib import Path, PurePosixPath

from aiohttp import web

from ..http import FetchFailed, fetch_bytes
from ..errors import (
    DraftRenderError,
    InvalidData,
    InvalidParameter,
    ServiceBusy,
    TaskNotFound,
    TemplateNotFound,
    Unauthorized,
)
from ..render.pipeline import render_still, with_options
from ..service.accounts import Accounts, InsufficientCredits, Principal, RateLimited
from ..service.store import TaskStore
from ..service.tasks import COMPLETED, FAILED, PROCESSING, QUEUED, Task, iso
from ..service.templates import PENDING, TemplateStore, templates_dir
from ..service.webhooks import Webhooks, check_callback_url, register_signer
from ..timeline import parse
from ..timeline.load import check_draft, load_source, parse_draft
from ..timeline.rows import read_rows
from ..timeline.templates import PLACEHOLDER, fields, fill, preview
from .apis import (
    ACCOUNTS,
    CONFIG,
    NOT_BLANK,
    Api,
    Upload,
    VideosApi,
    json_response,
    principal,
    public_base,
    read_body,
    read_parts,
    register_api,
    register_videos_api,
    speak,
    take_rate,
)
from .intake import fetch_draft

log = logging.getLogger("draftrender.videomatic")

TEMPLATES = web.AppKey("vm_templates", TemplateStore)

TEMPLATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
QUALITY_CRF = {"low": 28, "medium": 23, "high": 18}
PREVIEW_SIDE = 480  # the preview still's longer side, in pixels
DAY = 86_400
MAX_PAGE = 100
MAX_ROWS = 10_000
TICK = 0.5  # seconds between the dispatcher's looks at the store when nothing wakes it
# What the caller sees of the statuses the store keeps.
SHOWN = {PENDING: QUEUED}
EVENTS = {PROCESSING: "video.processing", COMPLETED: "video.completed", FAILED: "video.failed"}


API = "videomatic"
PREFIXES = ("/v1/templates", "/v1/videos/batch", "/v1/auth/login")  # its own paths; /v1/videos is shared


def setup(app: web.Application) -> None:
    """Add the VideoMatic routes to the service, its error shape, and its share of /v1/videos
    (bodies with a template_id, and the ids it made)."""
    register_api(app, Api(API, lambda e: error_body(e)[1], PREFIXES, lambda e: error_body(e)[0]))
    # Renders may read the media of templates uploaded as folders, kept in the data dir.
    config = app[CONFIG]
    app[CONFIG] = replace(config, media_roots=(*config.media_roots, templates_dir(config.data_dir)))
    register_videos_api(app, VideosApi(API, lambda body: "template_id" in body, create_video, owns, get_video))
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    r = app.router
    r.add_post("/v1/auth/login", login)
    r.add_post("/v1/templates", create_template)
    r.add_get("/v1/templates", list_templates)
    r.add_get("/v1/templates/{template_id}", get_template)
    r.add_delete("/v1/templates/{template_id}", delete_template)
    r.add_get("/files/templates/{template_id}.png", template_preview)
    r.add_post("/v1/videos/batch", create_batch)
    r.add_get("/v1/videos/batch/{batch_id}", get_batch)


async def _start(app: web.Application) -> None:
    from .app import DRAFT_THREADS, POOL, STORE, WEBHOOKS  # the service starts these first

    store, config = app[STORE], app[CONFIG]
    templates = app[TEMPLATES] = TemplateStore(store.db, templates_dir(config.data_dir))
    app[DISPATCHER] = Dispatcher(templates, store, app[POOL], app[ACCOUNTS], app[WEBHOOKS], config,
                                 app[DRAFT_THREADS])
    app[DISPATCHER].start()


async def _stop(app: web.Application) -> None:
    await app[DISPATCHER].stop()


def localize(draft: dict, folder: Path) -> dict:
    """The draft with every medium found in its folder (as the renderer finds them) named by its
    absolute path, so a render from the saved draft alone finds it too."""
    found = {m.id: str(m.path) for m in parse(preview(draft), draft_dir=folder, origin=str(folder)).media()
             if m.path is not None}
    out = copy.deepcopy(draft)
    for section in ("videos", "audios"):
        for item in out.get("materials", {}).get(section) or []:
            if isinstance(item, dict) and item.get("id") in found and not PLACEHOLDER.search(str(item.get("path"))):
                item["path"] = found[item["id"]]
    return out


def signature(body: bytes, secret: str) -> str:
    """X-Videomatic-Signature: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def videomatic_signer(msg_id: str, event: str, at, body: bytes, secret: str) -> dict[str, str]:
    return {"X-Videomatic-Event": event, "X-Videomatic-Signature": signature(body, secret)}


register_signer("videomatic", videomatic_signer)


# ---------------------------------------------------------------- errors, callers, limits


def error_body(e: DraftRenderError) -> tuple[int, dict]:
    """The document's error shape, and its status, for any service error."""
    field = getattr(e, "field", None)
    if isinstance(e, InvalidData):
        code = "invalid_data"
    elif isinstance(e, TemplateNotFound):
        code = "template_not_found"
    elif isinstance(e, Unauthorized):
        code = "unauthorized"
    elif isinstance(e, InsufficientCredits):
        return 403, {"error": {"code": "quota_exceeded", "message": e.message, "field": None}}
    elif isinstance(e, RateLimited):
        return 429, {"error": {"code": "rate_limit_exceeded", "message": e.message, "retry_after": e.retry_after}}
    elif e.status < 500:
        code = "invalid_parameter"
    else:
        code = "render_failed"
    return e.status, {"error": {"code": code, "message": e.message, "field": field}}


def endpoint(handler):
    """A VideoMatic handler: the caller (set by the service's key check) is counted against its
    plan's requests per day; errors answer in this API's shape (registered in setup)."""

    @functools.wraps(handler)
    async def run(request: web.Request) -> web.StreamResponse:
        speak(request, API)
        caller = principal(request)
        if caller is not None:
            take_rate(request, "videomatic", caller.limits.requests_per_day, DAY)
        return await handler(request, caller)

    return run


def owner_of(caller: Principal | None) -> str | None:
    if caller is None:
        return None
    return caller.user_id or caller.key_id


def concurrency_of(caller: Principal | None) -> int | None:
    return None if caller is None else caller.limits.concurrent_renders


async def read_json(request: web.Request) -> dict:
    """The JSON object body; up to the draft cap, as a template or a batch's rows may be large."""
    return await read_body(request, request.app[DISPATCHER].config.max_draft_bytes)


def required_text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(f"{name} is required", name)
    return value.strip()


def page_args(request: web.Request) -> tuple[int, int]:
    out = []
    for name, default, hi in (("page", 1, 10**6), ("limit", 20, MAX_PAGE)):
        raw = request.query.get(name, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= hi:
            raise InvalidParameter(f"{name} must be a whole number from 1 to {hi}, not {raw!r}", name)
        out.append(int(raw))
    return out[0], out[1]


# ---------------------------------------------------------------- auth


@endpoint
async def login(request: web.Request, caller) -> web.Response:
    body = await read_json(request)
    token, expires = request.app[DISPATCHER].accounts.login(required_text(body, "email"),
                                                            body.get("password") or "")
    return json_response({"token": token, "token_type": "Bearer", "expires_at": iso(expires),
                          "expires_in": int(expires - time.time())})


# ---------------------------------------------------------------- templates


@endpoint
async def create_template(request: web.Request, caller) -> web.Response:
    dispatcher: Dispatcher = request.app[DISPATCHER]
    upload = request.content_type.startswith("multipart/")
    body, files = await read_template_upload(request) if upload else (await read_json(request), {})
    name = required_text(body, "name")
    category = body.get("category") or "general"
    if not isinstance(category, str) or len(category) > 64:
        raise InvalidParameter("category must be a name of at most 64 characters", "category")
    template_id = body.get("id") or "template_" + secrets.token_hex(8)
    if not isinstance(template_id, str) or not TEMPLATE_ID.match(template_id):
        raise InvalidParameter("id must be 1-40 letters, digits, '_', '.' or '-'", "id")
    if dispatcher.templates.template(template_id) is not None:
        raise InvalidParameter(f"a template {template_id} exists already", "id")
    folder: Path | None
    if upload:
        folder = dispatcher.templates.folder(template_id) / "files"
        draft, base_url, source = save_upload(files, folder), None, "uploaded draft folder"
    else:
        draft, base_url, source, folder = await template_draft(body.get("config"), dispatcher)
    row = dict(id=template_id, owner=owner_of(caller), name=name, category=category, source=source,
               base_url=base_url)
    row = await dispatcher.add_template(row, draft, folder)
    return json_response(template_json(row, public_base(request)), status=201)


async def template_draft(config, dispatcher: Dispatcher) -> tuple[dict, str | None, str, Path | None]:
    """(draft, base URL of its media, where it came from, its folder on this machine) from a
    template's config: {"draft_url": URL}, {"draft": {...}, "base_url": URL of its media}, or
    {"draft_path": a draft folder or file under a --media-root}."""
    if not isinstance(config, dict) or not any(config.get(k) for k in ("draft_url", "draft", "draft_path")):
        raise InvalidParameter('config must hold "draft_url" (a draft JSON URL), "draft" (the draft JSON itself, '
                               'with "base_url" for its relative media) or "draft_path" (a draft folder on the '
                               "server, under a --media-root)", "config")
    if config.get("draft_url"):
        url = config["draft_url"]
        if not isinstance(url, str):
            raise InvalidParameter("config.draft_url must be an http(s) URL", "config.draft_url")
        fetched = await fetch_draft(url.strip(), dispatcher.config, dispatcher.threads)
        return fetched.data, fetched.base_url, url.strip(), None
    if config.get("draft_path"):
        path = Path(str(config["draft_path"])).resolve()
        if not any(path.is_relative_to(root) for root in dispatcher.config.media_roots):
            raise InvalidParameter("config.draft_path must be a draft folder under one of the service's "
                                   "--media-root folders", "config.draft_path")
        src = await asyncio.get_running_loop().run_in_executor(dispatcher.threads, load_source, path)
        return src.data, None, str(path), src.draft_dir
    base_url = config.get("base_url")
    if base_url is not None:
        base_url = check_callback_url(base_url, "config.base_url")
    return check_draft(config["draft"], "config.draft"), base_url, "uploaded draft", None


async def read_template_upload(request: web.Request) -> tuple[dict, dict[str, bytes]]:
    """A multipart template: fields name, category, id; the draft JSON as the part `draft`, and
    its media as parts `media`, each named by its path in the draft folder (media/photo.png)."""
    body: dict = {}
    files: dict[str, bytes] = {}
    for name, value in await read_parts(request):
        if name in ("draft", "media"):
            data = value.data if isinstance(value, Upload) else value.encode()
            files["draft_content.json" if name == "draft" else upload_path(getattr(value, "filename", None))] = data
        elif name in ("name", "category", "id") and isinstance(value, str):
            body[name] = value
    if "draft_content.json" not in files:
        raise InvalidParameter("a template upload needs the draft JSON as the part named draft", "draft")
    return body, files


def upload_path(filename: str | None) -> str:
    """A medium's path inside the template's folder, from its upload name; nothing may climb out."""
    path = PurePosixPath((filename or "").replace("\\", "/"))
    if not path.parts or path.is_absolute() or ".." in path.parts:
        raise InvalidParameter(f"media file name {filename!r} must be a path inside the draft folder, "
                               "such as media/photo.png", "media")
    return str(path)


def save_upload(files: dict[str, bytes], folder: Path) -> dict:
    """Write an uploaded draft folder; its draft, checked."""
    draft = parse_draft(files["draft_content.json"], "the uploaded draft")
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return draft


def template_json(row: dict, base: str) -> dict:
    has_preview = row["preview_error"] is None and row["frame_seconds"] is not None
    return {
        "id": row["id"], "name": row["name"], "category": row["category"], "fields": row["fields"],
        "width": row["canvas"]["width"], "height": row["canvas"]["height"], "duration": row["canvas"]["duration"],
        "preview_url": f"{base}/files/templates/{row['id']}.png" if has_preview else None,
        "preview_error": row["preview_error"], "source": row["source"], "created_at": iso(row["created"]),
    }


def find_template(request: web.Request, caller, template_id: str) -> dict:
    row = request.app[TEMPLATES].template(template_id)
    if row is None or (row["owner"] is not None and row["owner"] != owner_of(caller)):
        raise TemplateNotFound(f"no template {template_id}")
    return row


@endpoint
async def list_templates(request: web.Request, caller) -> web.Response:
    page, limit = page_args(request)
    rows, total = request.app[TEMPLATES].templates(owner_of(caller), request.query.get("category") or None,
                                                   limit, (page - 1) * limit)
    base = public_base(request)
    return json_response({"templates": [template_json(r, base) for r in rows], "total": total,
                          "page": page, "limit": limit})


@endpoint
async def get_template(request: web.Request, caller) -> web.Response:
    return json_response(template_json(find_template(request, caller, request.match_info["template_id"]),
                                       public_base(request)))


@endpoint
async def delete_template(request: web.Request, caller) -> web.Response:
    row = find_template(request, caller, request.match_info["template_id"])
    request.app[TEMPLATES].delete_template(row["id"])
    return json_response({"id": row["id"], "deleted": True})


async def template_preview(request: web.Request) -> web.StreamResponse:
    # Under /files/, open: a template id is needed to find it, and an <img> sends no key.
    speak(request, API)
    template_id = request.match_info["template_id"]
    path = request.app[TEMPLATES].preview_file(template_id)
    if not TEMPLATE_ID.match(template_id) or not path.is_file():
        raise TemplateNotFound(f"no preview for template {template_id}")
    return web.FileResponse(path, headers={"Content-Type": "image/png"})


# ---------------------------------------------------------------- videos


def render_options(options, canvas: dict) -> dict:
    """Render options from {resolution "WxH", format "mp4", quality low|medium|high}."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidParameter("options must be an object", "options")
    unknown = sorted(set(options) - {"resolution", "format", "quality", "concurrent"})
    if unknown:
        raise InvalidParameter(f"unknown option {unknown[0]}; known: resolution, format, quality",
                               f"options.{unknown[0]}")
    fmt = options.get("format") or "mp4"
    if fmt != "mp4":
        raise InvalidParameter(f"format {fmt!r} is not supported: videos are made as mp4", "options.format")
    quality = options.get("quality") or "medium"
    if quality not in QUALITY_CRF:
        raise InvalidParameter(f"quality must be low, medium or high, not {quality!r}", "options.quality")
    out: dict = {"crf": QUALITY_CRF[quality]}
    resolution = options.get("resolution")
    if resolution is not None:
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(resolution))
        if m is None:
            raise InvalidParameter(f"resolution must be WIDTHxHEIGHT such as 1080x1920, not {resolution!r}",
                                   "options.resolution")
        w, h = int(m.group(1)), int(m.group(2))
        cw, ch = canvas["width"], canvas["height"]
        if not w or not h or abs(w / h - cw / ch) > 0.01 * cw / ch:
            raise InvalidParameter(f"resolution {w}x{h} does not match the template's {cw}x{ch} shape",
                                   "options.resolution")
        scale = w / cw
        if not 0.05 <= scale <= 4:
            raise InvalidParameter(f"resolution {w}x{h} is out of range for a {cw}x{ch} template",
                                   "options.resolution")
        if scale != 1:
            out["scale"] = scale
    return out


def webhook_url_of(body: dict) -> str | None:
    url = body.get("webhook_url")
    return None if url in (None, "") else check_callback_url(url, "webhook_url")


async def create_video(request: web.Request, body: dict) -> web.Response:
    """POST /v1/videos with a template_id (the service's /v1/videos dispatch hands it here)."""

    async def handle(request: web.Request, caller) -> web.Response:
        dispatcher: Dispatcher = request.app[DISPATCHER]
        template = find_template(request, caller, required_text(body, "template_id"))
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise InvalidParameter("data must be an object of the template's fields", "data")
        options = render_options(body.get("options"), template["canvas"])
        fill(dispatcher.templates.draft(template["id"]), data)  # a bad value is the caller's 400, now
        video = dispatcher.new_video(request, template, caller, data=data, options=options,
                                     webhook_url=webhook_url_of(body))
        dispatcher.add_videos([video])
        return json_response({"id": video["id"], "status": QUEUED, "created_at": iso(video["created"]),
                              "estimated_time": dispatcher.estimated_time(template, options)}, status=201)

    return await endpoint(handle)(request)


def owns(request: web.Request, video_id: str) -> bool:
    """Whether this API made the video (OpenAI's ids start with video_ too)."""
    return request.app[TEMPLATES].video(video_id) is not None


async def get_video(request: web.Request, video_id: str) -> web.Response:
    """GET /v1/videos/{id} for an id this API made (video_…)."""

    async def handle(request: web.Request, caller) -> web.Response:
        dispatcher: Dispatcher = request.app[DISPATCHER]
        video = dispatcher.templates.video(video_id)
        if video is None or (video["owner"] is not None and video["owner"] != owner_of(caller)):
            raise TaskNotFound(f"no video {video_id}")
        return json_response(dispatcher.video_json(video))

    return await endpoint(handle)(request)


# ---------------------------------------------------------------- batches


@endpoint
async def create_batch(request: web.Request, caller) -> web.Response:
    dispatcher: Dispatcher = request.app[DISPATCHER]
    if request.content_type.startswith("multipart/"):
        body, upload = await read_upload(request)
    else:
        body, upload = await read_json(request), None
    template = find_template(request, caller, required_text(body, "template_id"))
    options = body.get("options") or {}
    concurrent = batch_concurrency(options, caller, dispatcher)
    render = render_options({k: v for k, v in options.items() if k != "concurrent"}, template["canvas"])
    webhook_url = webhook_url_of(body)
    items = upload if upload is not None else await data_items(body.get("data_source"), dispatcher)
    if len(items) > MAX_ROWS:
        raise InvalidParameter(f"a batch holds at most {MAX_ROWS} rows, not {len(items)}", "data_source")

    draft = dispatcher.templates.draft(template["id"])
    batch_id = "batch_" + secrets.token_hex(8)
    made = []
    for row, item in enumerate(items, 1):
        video = dispatcher.new_video(request, template, caller, data=item if isinstance(item, dict) else {},
                                     options=render, webhook_url=webhook_url, batch_id=batch_id, row=row)
        try:
            if not isinstance(item, dict):
                raise InvalidData(f"a row must be an object of the template's fields, not {type(item).__name__}")
            fill(draft, item)
        except InvalidData as e:
            video.update(status=FAILED, completed=video["created"],
                         error={**error_body(e)[1]["error"], "message": f"row {row}: {e.message}", "row": row})
        made.append(video)
    created = time.time()
    dispatcher.add_batch(dict(id=batch_id, owner=owner_of(caller), key_id=caller.key_id if caller else None,
                              template_id=template["id"], total=len(made), concurrent=concurrent,
                              webhook_url=webhook_url, created=created), made)
    return json_response({"batch_id": batch_id, "total_count": len(made), "status": "processing",
                          "created_at": iso(created)}, status=201)


def batch_concurrency(options, caller, dispatcher: Dispatcher) -> int:
    """options.concurrent, within the plan's concurrent renders (default: as many as it allows)."""
    if not isinstance(options, dict):
        raise InvalidParameter("options must be an object", "options")
    plan = concurrency_of(caller)
    wanted = options.get("concurrent")
    if wanted is None:
        return plan or dispatcher.config.workers
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        raise InvalidParameter(f"options.concurrent must be a whole number ≥ 1, not {wanted!r}", "options.concurrent")
    return min(wanted, plan) if plan else wanted


async def data_items(source, dispatcher: Dispatcher) -> list:
    """The rows of a data_source: {"type": "url", "url"} (CSV, JSON or XLSX), {"type": "list", "items"}."""
    if isinstance(source, str):
        source = {"type": "url", "url": source}
    if isinstance(source, list):
        source = {"type": "list", "items": source}
    if not isinstance(source, dict) or source.get("type") not in ("url", "list"):
        raise InvalidParameter('data_source must be {"type": "url", "url"} or {"type": "list", "items"}, '
                               "or a file uploaded as multipart/form-data", "data_source")
    if source["type"] == "list":
        if not isinstance(source.get("items"), list):
            raise InvalidParameter("data_source.items must be a list of objects", "data_source.items")
        return source["items"]
    url = check_callback_url(source.get("url"), "data_source.url")
    config = dispatcher.config
    try:
        raw = await fetch_bytes(url, timeout=30, deadline=120, max_bytes=config.max_draft_bytes,
                                allow_private_urls=config.allow_private_urls)
    except FetchFailed as e:
        raise InvalidParameter(f"cannot fetch data_source.url {url}: {e.reason}", "data_source.url") from None
    try:
        return await asyncio.get_running_loop().run_in_executor(dispatcher.threads, read_rows, raw, url)
    except InvalidData as e:
        raise InvalidData(e.message, "data_source") from None


async def read_upload(request: web.Request) -> tuple[dict, list]:
    """A multipart batch: fields template_id, options (JSON), webhook_url, and the table as `file`."""
    body: dict = {}
    rows: list | None = None
    for name, value in await read_parts(request):
        if name == "file" and isinstance(value, Upload):
            rows = await asyncio.get_running_loop().run_in_executor(
                request.app[DISPATCHER].threads, read_rows, value.data, value.filename or "the uploaded file")
        elif name in ("template_id", "webhook_url") and isinstance(value, str):
            body[name] = value
        elif name == "options" and isinstance(value, str) and value.strip():
            try:
                body["options"] = json.loads(value)
            except ValueError:
                raise InvalidParameter("options must be a JSON object", "options") from None
    if rows is None:
        raise InvalidParameter("a multipart batch needs its table as the part named file", "file")
    return body, rows


@endpoint
async def get_batch(request: web.Request, caller) -> web.Response:
    dispatcher: Dispatcher = request.app[DISPATCHER]
    batch = dispatcher.templates.batch(request.match_info["batch_id"])
    if batch is None or (batch["owner"] is not None and batch["owner"] != owner_of(caller)):
        raise TaskNotFound(f"no batch {request.match_info['batch_id']}")
    return json_response(dispatcher.batch_json(batch))


# ---------------------------------------------------------------- the dispatcher


class Dispatcher:
    """Turns pending videos into render tasks within the limits, and announces what changes."""

    def __init__(self, templates: TemplateStore, store: TaskStore, pool, accounts: Accounts, webhooks: Webhooks,
                 config, threads):
        self.templates, self.store, self.pool = templates, store, pool
        self.accounts, self.webhooks, self.config, self.threads = accounts, webhooks, config, threads
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wake(self) -> None:
        self._wake.set()

    # -- records --------------------------------------------------------------------

    async def add_template(self, row: dict, draft: dict, folder: Path | None) -> dict:
        """Store a template with its fields, canvas and preview still (rendered now, and timed:
        the time is the speed estimated_time starts from). A draft from a folder on this machine
        is kept with its media's paths found and made absolute (the folder is under a media root)."""
        loop = asyncio.get_running_loop()
        shown = fields(draft)  # defaults as the designer wrote them
        if folder is not None:
            draft = await loop.run_in_executor(self.threads, localize, draft, folder)
        sample = await loop.run_in_executor(self.threads, preview, draft)
        timeline = await loop.run_in_executor(self.threads, functools.partial(
            parse, sample, draft_dir=None, origin=row["source"], base_url=row["base_url"],
            media_roots=self.config.media_roots))
        canvas = {"width": timeline.canvas.width, "height": timeline.canvas.height, "fps": float(timeline.fps),
                  "duration": timeline.duration / 1e6}
        row.update(fields=[f.to_json() for f in shown], canvas=canvas, created=time.time(),
                   frame_seconds=None, preview_error=None)
        self.templates.add_template(row, draft)
        scale = min(1.0, PREVIEW_SIDE / max(canvas["width"], canvas["height"]))
        opts = with_options(scale=scale, cache_dir=self.store.cache_dir,
                            allow_private_urls=self.config.allow_private_urls)
        still = functools.partial(render_still, timeline, canvas["duration"] / 2, opts=opts)
        try:
            await loop.run_in_executor(self.threads, still, self.templates.preview_file(row["id"]))
            started = time.monotonic()  # timed once the media are fetched and the fonts loaded
            await loop.run_in_executor(self.threads, still)
            values: dict[str, object] = {"frame_seconds": (time.monotonic() - started) / scale ** 2}  # full size
        except DraftRenderError as e:
            values = {"preview_error": e.message}
        self.templates.update_template(row["id"], **values)
        return {**row, **values}

    def new_video(self, request: web.Request, template: dict, caller, *, data: dict, options: dict,
                  webhook_url: str | None, batch_id: str | None = None, row: int | None = None) -> dict:
        return dict(id="video_" + secrets.token_hex(8), owner=owner_of(caller), template_id=template["id"],
                    base=public_base(request),
                    batch_id=batch_id, row=row, task_id=None, status=PENDING, data=data, options=options,
                    error=None, webhook_url=webhook_url, created=time.time(), completed=None,
                    concurrency=concurrency_of(caller), key_id=caller.key_id if caller else None)

    def add_videos(self, videos: list[dict]) -> None:
        self.templates.add_videos(videos)
        self._created(videos)

    def add_batch(self, batch: dict, videos: list[dict]) -> None:
        self.templates.add_batch(batch, videos)
        self._created(videos)

    def _created(self, videos: list[dict]) -> None:
        for video in videos:
            self.announce(video, "video.created")
            if video["status"] == FAILED:
                self.announce(video, "video.failed")
        self.wake()

    def estimated_time(self, template: dict, options: dict) -> int:
        """Seconds until the video is ready: its render at the speed measured on recent renders
        (or on the template's preview still), times the renders queued ahead of it."""
        canvas = template["canvas"]
        pixels = options.get("scale", 1.0) ** 2
        speed = self.templates.render_speed()
        if speed is not None:
            one = speed * canvas["duration"]
        else:
            one = (template["frame_seconds"] or 0.0) * canvas["fps"] * canvas["duration"] * pixels
        waiting = len(self.templates.pending()) + sum(len(self.store.with_status(s)) for s in (QUEUED, PROCESSING))
        return max(1, math.ceil(one * (1 + waiting / self.config.workers)))

    # -- shapes ---------------------------------------------------------------------

    def video_json(self, video: dict) -> dict:
        task = self.store.get(video["task_id"]) if video["task_id"] else None
        status = SHOWN.get(video["status"], video["status"])
        doc = {"id": video["id"], "status": status, "progress": 0, "file_url": None, "duration": None,
               "file_size": None, "created_at": iso(video["created"]), "completed_at": iso(video["completed"]),
               "template_id": video["template_id"]}
        if video["batch_id"]:
            doc.update(batch_id=video["batch_id"], row=video["row"])
        if task is not None:
            doc["progress"] = 100 if status == COMPLETED else int(task.progress)
            if status == COMPLETED and task.result:
                doc.update(file_url=self.file_url(video), duration=task.result.get("duration"),
                           file_size=task.result.get("size_bytes"))
        if video["error"]:
            doc["error"] = video["error"]
        return doc

    def batch_json(self, batch: dict) -> dict:
        videos = self.templates.batch_videos(batch["id"])
        counts = {s: sum(v["status"] == s for v in videos) for s in (COMPLETED, FAILED)}
        total = batch["total"]
        return {
            "batch_id": batch["id"], "template_id": batch["template_id"],
            "status": "completed" if batch["finished"] else "processing",
            "total": total, "completed": counts[COMPLETED], "failed": counts[FAILED],
            "processing": total - counts[COMPLETED] - counts[FAILED],
            "progress": int(100 * (counts[COMPLETED] + counts[FAILED]) / total) if total else 100,
            "created_at": iso(batch["created"]), "completed_at": iso(batch["finished"]),
            "videos": [{"id": v["id"], "status": SHOWN.get(v["status"], v["status"]), "row": v["row"],
                        **({"error": v["error"]} if v["error"] else {})} for v in videos],
        }

    # -- the loop -------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                self.sync()
                self.dispatch()
            except Exception:  # one bad round must not end the dispatching: logged, and the next one runs
                log.exception("videomatic dispatch round failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), TICK)
            except TimeoutError:
                pass

    def sync(self) -> None:
        """Bring each dispatched video's status to its task's, announcing each change once."""
        for video in self.templates.dispatched():
            now = video.pop("task_status") or FAILED  # a task removed under it: failed
            if now == video["status"]:
                continue
            task = self.store.get(video["task_id"])
            values: dict = {"status": now}
            if now in (COMPLETED, FAILED):
                values["completed"] = (task.finished if task else None) or time.time()
            if now == FAILED:
                message = (task.error or {}).get("message") if task else "the render task is gone"
                values["error"] = {"code": "render_failed", "message": message or "the render failed",
                                   "field": None, "row": video["row"]}
            if not self.templates.move(video["id"], video["status"], **values):
                continue  # another dispatcher on the same store announced it
            if video["status"] == QUEUED and now != PROCESSING and task is not None and task.started:
                self.announce(video, EVENTS[PROCESSING])  # it ran between two looks
            video.update(values)
            self.announce(video, EVENTS[now])
            if video["batch_id"] and now in (COMPLETED, FAILED):
                self.finish_batch(video["batch_id"])

    def dispatch(self) -> None:
        """Give pending videos render tasks, oldest first, within their plan, batch and the pool."""
        pending = self.templates.pending()
        if not pending:
            return
        per_owner, per_batch = self.templates.running_counts()
        limits = self.templates.batch_concurrency()
        for video in pending:
            owner, batch_id = video["owner"], video["batch_id"]
            if video["concurrency"] is not None and per_owner.get(owner, 0) >= video["concurrency"]:
                continue
            if batch_id is not None and per_batch.get(batch_id, 0) >= limits.get(batch_id, 1):
                continue
            try:
                self.pool.check_capacity()
            except ServiceBusy:
                return
            if self.submit(video):
                per_owner[owner] = per_owner.get(owner, 0) + 1
                if batch_id is not None:
                    per_batch[batch_id] = per_batch.get(batch_id, 0) + 1

    def submit(self, video: dict) -> bool:
        template = self.templates.template(video["template_id"])
        try:
            if template is None:
                raise TemplateNotFound(f"template {video['template_id']} was deleted before this video started")
            draft = fill(self.templates.draft(template["id"]), video["data"])
        except DraftRenderError as e:
            error = {**error_body(e)[1]["error"], "row": video["row"]}
            if self.templates.move(video["id"], PENDING, status=FAILED, error=error, completed=time.time()):
                self.announce({**video, "status": FAILED, "error": error}, "video.failed")
                if video["batch_id"]:
                    self.finish_batch(video["batch_id"])
            return False
        task = Task(id=secrets.token_hex(16), key=f"videomatic:{video['id']}", draft_url=template["source"],
                    options=video["options"], base_url=template["base_url"])
        if not self.templates.move(video["id"], PENDING, status=QUEUED, task_id=task.id):
            return False
        self.store.add(task, draft)
        self.pool.submit(task)
        return True

    def finish_batch(self, batch_id: str) -> None:
        if self.templates.finish_batch(batch_id):
            batch = self.templates.batch(batch_id)
            if batch and batch["webhook_url"]:
                body = self.batch_json(batch)
                del body["videos"]
                self.send(batch["webhook_url"], batch["key_id"], batch_id, "batch.completed", body)

    # -- webhooks -------------------------------------------------------------------

    def announce(self, video: dict, event: str) -> None:
        url = video["webhook_url"]
        if not url:
            return
        data = {"id": video["id"], "status": SHOWN.get(video["status"], video["status"]),
                "created_at": iso(video["created"]), "completed_at": iso(video.get("completed"))}
        if video["batch_id"]:
            data.update(batch_id=video["batch_id"], row=video["row"])
        if event == "video.completed":
            data["file_url"] = self.file_url(video)
        if video.get("error"):
            data["error"] = video["error"]
        self.send(url, video["key_id"], video["id"], event, data)

    @staticmethod
    def file_url(video: dict) -> str | None:
        return f"{video['base']}/files/{video['task_id']}.mp4" if video.get("task_id") else None

    def send(self, url: str, key_id: str | None, subject: str, event: str, data: dict) -> None:
        payload = {"event": event, "data": data, "timestamp": int(time.time())}
        self.webhooks.enqueue(subject, url, event, payload, secret=self.secret_of(key_id), signer="videomatic")

    def secret_of(self, key_id: str | None) -> str:
        """The caller's key's webhook secret; the service's --webhook-secret for callers without a key."""
        info = self.accounts.key_info(key_id) if key_id else None
        return (info or {}).get("webhook_secret") or self.config.webhook_secret or ""


DISPATCHER = web.AppKey("vm_dispatcher", Dispatcher)


# ---------------------------------------------------------------- OpenAPI


def openapi_paths() -> dict:
    """This API's own routes for /openapi.json (the document's shapes, briefly). POST /v1/videos
    with a template_id and GET /v1/videos/video_… are described with the shared /v1/videos."""
    error = {"description": '{"error": {"code", "message", "field"}}', "content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "object", "properties": {
            "code": {"enum": ["invalid_parameter", "unauthorized", "quota_exceeded", "template_not_found",
                              "render_failed", "invalid_data", "rate_limit_exceeded"]},
            "message": {"type": "string"}, "field": {"type": ["string", "null"]},
            "retry_after": {"type": "integer"}}}}}}}}

    def op(summary: str, ok: str, *, status: str = "200", params: tuple[str, ...] = (), body: dict | None = None,
           required: tuple[str, ...] = (), public: bool = False) -> dict:
        out: dict = {"summary": summary, "tags": ["VideoMatic"],
                     "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                                    for p in params],
                     "responses": {status: {"description": ok}, "4XX": error}}
        if body is not None:
            out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": body, "required": list(required)}}}}
        if public:
            out["security"] = []
        return out

    obj, text = {"type": "object"}, {"type": "string", "pattern": NOT_BLANK}
    return {
        "/v1/auth/login": {"post": op("a JWT for a user", "{token, token_type, expires_at, expires_in}",
                                      body={"email": text, "password": text}, required=("email", "password"),
                                      public=True)},
        "/v1/templates": {
            "post": op("make a template from a draft with {{fields}}", "the template", status="201",
                       body={"name": text, "category": {**text, "maxLength": 64},
                             "id": {"type": "string", "pattern": TEMPLATE_ID.pattern},
                             "config": {"type": "object", "description": '{"draft_url"} or {"draft", "base_url"}'}},
                       required=("name", "config")),
            "get": op("list templates (?category=&page=&limit=)", "{templates, total, page, limit}")},
        "/v1/templates/{template_id}": {
            "get": op("a template: its fields with their types, and a preview still", "the template",
                      params=("template_id",)),
            "delete": op("delete a template", "{id, deleted}", params=("template_id",))},
        "/files/templates/{template_id}.png": {
            "get": op("a template's preview still", "image/png", params=("template_id",), public=True)},
        "/v1/videos/batch": {"post": op("videos from every row of a table (JSON, or multipart with the table as "
                                        "`file`)", "{batch_id, total_count, status, created_at}", status="201",
                                        body={"template_id": text, "data_source": obj, "options": obj,
                                              "webhook_url": text}, required=("template_id",))},
        "/v1/videos/batch/{batch_id}": {"get": op("a batch's progress", "{batch_id, total, completed, failed, "
                                                  "processing, progress, videos}", params=("batch_id",))},
    }

