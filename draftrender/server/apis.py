"""What the API modules share: which API a request speaks (so errors answer in its shape),
the one dispatch of /v1/videos, the caller behind a request, rate limits, and request bodies.

An API registers its error shape with `register_api(app, Api(...))`, naming its path
prefixes; a handler that serves a path two APIs share names its API with `speak(request,
name)`. POST /v1/videos goes to the first registered VideosApi whose `claims(body)` is true
(OpenAI's claims every body, and is registered last); GET /v1/videos/{id} goes to the one
that `owns(id)`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from pydantic import ValidationError

from ..errors import DraftRenderError, InvalidRequest, RequestTooLarge, Unauthorized
from ..generate.base import GenerationRequest, Variant
from ..service.accounts import Accounts, Principal, RateLimited, RateWindow
from ..service.generations import Generation, Generations
from .config import ServerConfig

# A JSON schema pattern for a string with more than white space (as str.strip() sees it).
NOT_BLANK = r"[^\s\u001c-\u001f\u0085]"
HTTP_URL = r"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,4})?([/?#][!-~]*)?$"  # and a little less
ErrorShape = Callable[[DraftRenderError], dict]
Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Api:
    name: str
    error: ErrorShape  # the error's body in this API's shape
    prefixes: tuple[str, ...] = ()
    status: Callable[[DraftRenderError], int] = lambda e: e.status  # where the API's status differs


@dataclass(frozen=True)
class VideosApi:
    """An API that serves POST /v1/videos and GET /v1/videos/{id}."""

    name: str
    claims: Callable[[dict], bool]  # is this POST body this API's?
    create: Handler  # (request, body) → response
    owns: Callable[[web.Request, str], bool]  # was this id made by this API?
    retrieve: Handler  # (request, id) → response


CONFIG = web.AppKey("config", ServerConfig)
APIS = web.AppKey("apis", list)
VIDEOS_APIS = web.AppKey("videos_apis", list)
ACCOUNTS = web.AppKey("accounts", Accounts)
GENERATIONS = web.AppKey("generations", Generations)
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")  # the caller (None: no keys)
SPEAKS = web.RequestKey("api", str)  # the API whose error shape a request answers in
RATE_WINDOW = web.RequestKey("rate_window", RateWindow)
# UTF-8 as is: the contracts' phrases stay readable in logs and curl output.
json_response = functools.partial(web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False))


def register_api(app: web.Application, api: Api) -> None:
    app.setdefault(APIS, []).append(api)


def register_videos_api(app: web.Application, api: VideosApi, *, first: bool = True) -> None:
    """Add an API to the /v1/videos dispatch; `first` puts it before those registered already."""
    apis = app.setdefault(VIDEOS_APIS, [])
    apis.insert(0, api) if first else apis.append(api)


def speak(request: web.Request, name: str) -> None:
    """This request's errors answer in API `name`'s shape."""
    request[SPEAKS] = name


def api_of(request: web.Request) -> Api | None:
    apis = request.app.get(APIS, [])
    named = request.get(SPEAKS)
    if named:
        return next((a for a in apis if a.name == named), None)
    matches = [(len(p), a) for a in apis for p in a.prefixes if request.path.startswith(p)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


def error_headers(e: DraftRenderError) -> dict[str, str]:
    if isinstance(e, RateLimited):
        return {"Retry-After": str(e.retry_after), **e.window.headers()}
    if isinstance(e, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="draftrender"'}
    return {}


# ---------------------------------------------------------------- the /v1/videos dispatch


async def create_video(request: web.Request) -> web.StreamResponse:
    body = await read_body(request)
    for api in request.app[VIDEOS_APIS]:
        if api.claims(body):
            speak(request, api.name)
            return await api.create(request, body)
    raise InvalidRequest("no API takes this body")  # unreachable while OpenAI's claims everything


async def retrieve_video(request: web.Request) -> web.StreamResponse:
    video_id = request.match_info["video_id"]
    apis = request.app[VIDEOS_APIS]
    api = next((a for a in apis if a.owns(request, video_id)), apis[-1])
    speak(request, api.name)
    return await api.retrieve(request, video_id)


async def deliveries(request: web.Request) -> web.Response:
    """The callback deliveries of one of the caller's generations: each attempt's outcome."""
    task_id = request.match_info["task_id"]
    gens = request.app[GENERATIONS]
    gens.find(task_id, principal(request))
    return json_response({"task_id": task_id, "deliveries": gens.log(task_id)})


async def list_generations(request: web.Request) -> web.Response:
    """The caller's generations through every API, newest first: for the page at /."""
    limit = query_int(request, "limit", 20, 1, 100)
    gens, total = request.app[GENERATIONS].page(principal(request), api=None, limit=limit)
    base = public_base(request)
    return json_response({"total": total, "generations": [{
        "id": g.id, "api": g.api, "model": g.model, "prompt": g.request.get("prompt"), "status": g.status,
        "progress": g.progress, "error": g.error_message,
        "video_url": f"{base}/files/generations/{g.id}.mp4" if g.status == "completed" and not g.files_removed
        else None} for g in gens]})


def generation_response(gens: Generations, gen_id: str, variant: Variant) -> web.StreamResponse:
    """A generation's stored file: from a folder, served (with Range); from a bucket, a
    redirect to a presigned URL."""
    name = gens.name(gen_id, variant)
    url = gens.storage.url(name)
    if url is not None:
        raise web.HTTPFound(url)
    path = gens.storage.path(name)
    assert path is not None  # storage is a folder when it has no URLs
    return web.FileResponse(path, headers={"Content-Type": "video/mp4" if variant == "video" else "image/jpeg",
                                           "Cache-Control": "private, max-age=3600"})


def add_videos_routes(app: web.Application) -> None:
    app.router.add_post("/v1/videos", create_video)
    app.router.add_get("/v1/videos/{video_id}", retrieve_video)


# ---------------------------------------------------------------- the caller and the task


def public_base(request: web.Request) -> str:
    """The base of the URLs the service hands out: --public-url, else the address this
    connection reached (never the Host header, which the caller writes)."""
    config = request.app[CONFIG]
    if config.public_url:
        return config.public_url
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    host, port = sockname[:2] if sockname else (config.host, config.port)
    return f"{request.scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def principal(request: web.Request) -> Principal | None:
    """The caller, or None on a service that runs without keys."""
    return request.get(PRINCIPAL)


def take_rate(request: web.Request, scope: str, limit: int | None, window_s: int = 60) -> None:
    """Count one request of `scope` for the caller's key; RateLimited (429) when its window is full.
    The window's standing goes out as X-RateLimit-* headers on the answer."""
    who = principal(request)
    window = request.app[ACCOUNTS].take(who.key_id if who else None, scope, limit, window_s)
    if window is not None:
        request[RATE_WINDOW] = window


async def rate_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the X-RateLimit-* headers of a counted request."""
    window = request.get(RATE_WINDOW)
    if window is not None and "X-RateLimit-Limit" not in response.headers:
        response.headers.update(window.headers())


def submit(request: web.Request, api: str, gen_id: str, req: GenerationRequest, params: dict, *,
           callback_url: str | None = None, deadline_s: float | None = None,
           uploads: dict[str, bytes] | None = None) -> Generation:
    """Price the request, hold the caller's credits, store the task with its uploads and start it."""
    price = request.app[ACCOUNTS].price(req.model, size=req.size, resolution=req.resolution, seconds=req.seconds,
                                        audio=req.audio)
    gen = Generation(id=gen_id, api=api, model=req.model, request=req.model_dump(mode="json"), params=params,
                     callback_url=callback_url, base_url=public_base(request), price=price, created=time.time())
    if deadline_s is not None:
        gen.deadline = gen.created + deadline_s
    return request.app[GENERATIONS].create(gen, principal(request), uploads)


# ---------------------------------------------------------------- bodies


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, not {raw!r}", name) from None
    if not lo <= value <= hi:
        raise BadParameter(f"{name} must be between {lo} and {hi}", name)
    return value


class BadParameter(InvalidRequest):
    """A request field that is missing or wrong: `param` names it for the APIs that say which."""

    def __init__(self, message: str, param: str, *, missing: bool = False):
        super().__init__(message)
        self.param = param
        self.code = "missing_parameter" if missing else "invalid_parameter"


def generation_request(param_names: dict[str, str], **fields) -> GenerationRequest:
    """A GenerationRequest, its validation errors as BadParameter naming the API's own field
    (`param_names` maps the request's field names to the API's)."""
    try:
        return GenerationRequest(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "body"
        param = param_names.get(name, name)
        raise BadParameter(f"{param}: {first['msg']}", param) from None


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


async def read_parts(request: web.Request) -> list[tuple[str, str | Upload]]:
    """A flat multipart form's parts in order (a name may repeat): fields as text, files as
    Upload; the whole body bounded by max_upload_bytes as it arrives."""
    cap, total = request.app[CONFIG].max_upload_bytes, 0
    parts: list[tuple[str, str | Upload]] = []
    try:
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or not part.name:
                raise InvalidRequest("a multipart body must be flat, each part with a name")
            data = bytearray()
            while chunk := await part.read_chunk():
                data += chunk
                total += len(chunk)
                if total > cap:
                    raise RequestTooLarge(f"the multipart body is larger than {cap} bytes")
            parts.append((part.name, data.decode("utf-8", "replace") if part.filename is None else
                          Upload(part.filename, part.headers.get("Content-Type", ""), bytes(data))))
    except (BadHttpMessage, ValueError) as e:  # aiohttp's refusals of a malformed form (a header, a boundary)
        raise InvalidRequest(f"the multipart body is malformed: {e}") from None
    return parts


async def read_body(request: web.Request, max_json_bytes: int | None = None) -> dict[str, Any]:
    """A JSON object (up to `max_json_bytes`; default: the service's request size limit), or a
    multipart form (fields as strings, files as Upload; a repeated name keeps its last part)."""
    ctype = request.content_type
    if ctype == "multipart/form-data":
        return dict(await read_parts(request))
    if ctype in ("application/x-www-form-urlencoded",):
        return dict(await request.post())
    cap = max_json_bytes or request.app[CONFIG].max_request_bytes
    raw = bytearray()
    while chunk := await request.content.read(1 << 16):  # read() gives what has arrived, not all
        raw += chunk
        if len(raw) > cap:
            raise RequestTooLarge(f"the request body is larger than {cap} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidRequest("the request body must be JSON (or multipart/form-data)") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object")
    return body
