"""OpenAI's /v1/videos, as the `openai` package's client.videos calls it, with 易尚云's fields.

Routes: POST /v1/videos (JSON or multipart with an uploaded input_reference), GET /v1/videos
(after, limit, order → data, has_more, first_id, last_id), GET and DELETE /v1/videos/{id},
GET /v1/videos/{id}/content?variant=video|thumbnail|spritesheet, POST /v1/videos/{id}/remix.

易尚云 serves the same routes with the same body: its answers' extra fields (task_id, message,
video_url, thumbnail_url, width, height, file_size) ride along. Where the two disagree, the
answer is OpenAI's: statuses queued / in_progress / completed / failed, times as unix
seconds, `seconds` as the string asked for. Errors are {error{message, type, param, code}}
with 易尚云's codes; every answer carries openai-poll-after-ms.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from ..errors import DraftRenderError, TaskNotFound
from ..generate.base import VARIANTS
from ..service.accounts import InsufficientCredits
from ..service.generations import COMPLETED, FAILED, Generation, new_id, upload_name
from ..service.webhooks import check_callback_url
from .apis import (
    CONFIG,
    GENERATIONS,
    HTTP_URL,
    NOT_BLANK,
    Api,
    BadParameter,
    Upload,
    VideosApi,
    add_videos_routes,
    generation_request,
    generation_response,
    json_response,
    principal,
    public_base,
    query_int,
    read_body,
    register_api,
    register_videos_api,
    submit,
    take_rate,
)

API = "openai"
DEFAULT_MODEL, DEFAULT_SECONDS, DEFAULT_SIZE = "sora-2", "4", "720x1280"
SIZE = re.compile(r"^\d{2,5}x\d{2,5}$")
MESSAGES = {"queued": "视频生成任务已提交,正在处理中", "completed": "视频生成完成"}
# status → (type, code) in 易尚云's table; OpenAI's own clients read only message and type.
ERROR_KINDS = {
    400: ("invalid_request_error", "invalid_parameter"), 401: ("authentication_error", "invalid_api_key"),
    402: ("permission_error", "insufficient_quota"), 403: ("permission_error", "insufficient_quota"),
    404: ("not_found_error", "task_not_found"), 413: ("invalid_request_error", "request_too_large"),
    429: ("rate_limit_error", "rate_limit_exceeded"), 502: ("server_error", "provider_error"),
    503: ("server_error", "service_unavailable"), 504: ("server_error", "timeout"),
}


def error_body(e: DraftRenderError) -> dict:
    kind, code = ERROR_KINDS.get(e.status, ("server_error", "internal_error"))
    return {"error": {"message": e.message, "type": kind, "param": getattr(e, "param", None),
                      "code": getattr(e, "code", None) if isinstance(e, BadParameter) else code}}


def error_status(e: DraftRenderError) -> int:
    # Short of credits is 403 insufficient_quota here (402 is vibegen's).
    return 403 if isinstance(e, InsufficientCredits) else e.status


# ---------------------------------------------------------------- the video object


def video_json(gen: Generation, base: str) -> dict:
    p = gen.params
    done = gen.status == COMPLETED and not gen.files_removed
    files = f"{base}/files/generations/{gen.id}"
    doc = {
        "id": gen.id, "object": "video", "model": gen.model, "status": gen.status, "progress": gen.progress,
        "created_at": int(gen.created), "completed_at": int(gen.completed) if gen.completed else None,
        "expires_at": int(gen.expires) if gen.expires else None, "prompt": p.get("prompt"),
        "seconds": p.get("seconds"), "size": p.get("size"), "remixed_from_video_id": p.get("remixed_from"),
        "error": {"code": gen.error_code, "message": gen.error_message} if gen.status == FAILED else None,
        # 易尚云's fields
        "task_id": gen.id, "message": message(gen),
        "video_url": f"{files}.mp4" if done else None, "thumbnail_url": f"{files}.thumbnail.jpg" if done else None,
        "width": gen.width, "height": gen.height, "file_size": gen.file_size,
    }
    return doc


def message(gen: Generation) -> str:
    if gen.status == "in_progress":
        return f"视频生成中,已完成{gen.progress}%"
    if gen.status == FAILED:
        return f"视频生成失败: {gen.error_message}"
    return MESSAGES[gen.status]


def answer(request: web.Request, doc: dict, status: int = 200) -> web.Response:
    response = json_response(doc, status=status)
    response.headers["openai-poll-after-ms"] = str(request.app[CONFIG].poll_after_ms)
    return response


# ---------------------------------------------------------------- create


def _field(body: dict, name: str, default: str | None = None) -> str | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise BadParameter(f"{name} must be a string", name)
    return value.strip()


def _seed(body: dict) -> int | None:
    seed = body.get("seed")
    if seed is None or seed == "":
        return None
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise BadParameter(f"seed must be a whole number, not {seed!r}", "seed") from None


def _images(body: dict, gen_id: str) -> tuple[tuple[str, ...], dict[str, bytes]]:
    """input_reference: an uploaded file, {image_url}, a URL, or a list of URLs (易尚云). An
    upload is named in the request by its storage name, and kept there once the task is made."""
    ref = body.get("input_reference", body.get("input_reference[image_url]"))
    if ref is None or ref == "":
        return (), {}
    if isinstance(ref, Upload):
        name = upload_name(gen_id, "reference" + (Path(ref.filename).suffix.lower()[:8] or ".png"))
        return (name,), {name: ref.data}
    if isinstance(ref, dict) and isinstance(ref.get("image_url"), str):
        ref = ref["image_url"]
    refs = [ref] if isinstance(ref, str) else ref
    if not isinstance(refs, list) or not all(isinstance(r, str) and r.startswith(("http://", "https://"))
                                             for r in refs):
        raise BadParameter("input_reference must be an uploaded file, {\"image_url\": URL} or a list of http(s) URLs",
                           "input_reference")
    return tuple(refs), {}


async def create(request: web.Request, body: dict, *, remixed_from: Generation | None = None) -> web.Response:
    take_rate(request, "generations:create", request.app[CONFIG].rate_per_minute)
    prompt = _field(body, "prompt")
    uploads: dict[str, bytes] = {}
    if not prompt:
        raise BadParameter("prompt field is required", "prompt", missing=True)
    if remixed_from is not None:
        gen_id = new_id()
        images, uploads = request.app[GENERATIONS].remix_images(remixed_from, gen_id)
        req = remixed_from.generation_request().model_copy(update={"prompt": prompt, "images": images})
        params = {**remixed_from.params, "prompt": prompt, "remixed_from": remixed_from.id}
    else:
        model = _field(body, "model", DEFAULT_MODEL) or DEFAULT_MODEL
        seconds = _field(body, "seconds") or DEFAULT_SECONDS
        size = _field(body, "size") or DEFAULT_SIZE
        try:
            if not 0 < float(seconds) <= 120:
                raise ValueError
        except ValueError:
            raise BadParameter(f"seconds must be a number of seconds, like \"4\" (got {seconds!r})",
                               "seconds") from None
        if not SIZE.match(size):
            raise BadParameter(f"size must be WIDTHxHEIGHT, like 1280x720 (got {size!r})", "size")
        gen_id = new_id()
        images, uploads = _images(body, gen_id)
        req = generation_request({"prompt": "prompt", "seconds": "seconds", "images": "input_reference"},
                                 model=model, prompt=prompt, seconds=float(seconds), size=size, images=images,
                                 seed=_seed(body), negative_prompt=_field(body, "negative_prompt"))
        params = {"prompt": prompt, "seconds": seconds, "size": size}
    callback = body.get("callback_url")
    gen = submit(request, API, gen_id, req, params, callback_url=check_callback_url(callback) if callback else None,
                 uploads=uploads)
    return answer(request, video_json(gen, public_base(request)))


# ---------------------------------------------------------------- the other routes


def find(request: web.Request, video_id: str | None = None) -> Generation:
    take_rate(request, "generations:query", request.app[CONFIG].rate_per_minute)
    video_id = video_id or request.match_info["video_id"]
    return request.app[GENERATIONS].find(video_id, principal(request))


async def retrieve(request: web.Request, video_id: str) -> web.Response:
    return answer(request, video_json(find(request, video_id), public_base(request)))


async def list_videos(request: web.Request) -> web.Response:
    take_rate(request, "generations:query", request.app[CONFIG].rate_per_minute)
    order = request.query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadParameter(f"order must be asc or desc, not {order!r}", "order")
    limit = query_int(request, "limit", 20, 1, 100)
    after = request.query.get("after") or None
    gens, _ = request.app[GENERATIONS].page(principal(request), api=API, limit=limit + 1, after=after, order=order)
    base = public_base(request)
    data = [video_json(g, base) for g in gens[:limit]]
    return answer(request, {"object": "list", "data": data, "has_more": len(gens) > limit,
                            "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})


async def delete(request: web.Request) -> web.Response:
    gen = find(request)
    request.app[GENERATIONS].delete(gen)
    return answer(request, {"id": gen.id, "object": "video.deleted", "deleted": True})


async def content(request: web.Request) -> web.StreamResponse:
    gen = find(request)
    variant = request.query.get("variant", "video")
    if variant not in VARIANTS:
        raise BadParameter(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}", "variant")
    gens = request.app[GENERATIONS]
    if not gens.has_file(gen, variant):
        why = ("its files were deleted after the retention period" if gen.files_removed
               else f"it is {gen.status}" if gen.status != COMPLETED else f"the provider made no {variant}")
        raise TaskNotFound(f"video {gen.id} has no {variant} to download: {why}")
    return generation_response(gens, gen.id, variant)


async def remix(request: web.Request) -> web.Response:
    source = find(request)
    if source.api != API:
        raise TaskNotFound(f"video {source.id} was not made through /v1/videos")
    return await create(request, await read_body(request), remixed_from=source)


def owns(request: web.Request, video_id: str) -> bool:
    gen = request.app[GENERATIONS].get(video_id)
    return gen is not None


def callback_event(gen: Generation) -> tuple[str, dict]:
    """OpenAI's webhook event: {id, object: "event", created_at, type, data{id}}."""
    kind = "video.completed" if gen.status == COMPLETED else "video.failed"
    return kind, {"id": "evt_" + secrets.token_hex(12), "object": "event", "created_at": int(gen.completed or 0),
                  "type": kind, "data": {"id": gen.id}}


def setup(app: web.Application) -> None:
    register_api(app, Api(API, error_body, ("/v1/videos",), error_status))
    register_videos_api(app, VideosApi(API, lambda body: True, create, owns, retrieve), first=False)
    add_videos_routes(app)
    app.router.add_get("/v1/videos", list_videos)
    app.router.add_delete("/v1/videos/{video_id}", delete)
    app.router.add_get("/v1/videos/{video_id}/content", content)
    app.router.add_post("/v1/videos/{video_id}/remix", remix)


# ---------------------------------------------------------------- OpenAPI

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
    "code": {"type": ["string", "null"]}}}}}
VIDEO = {"type": "object", "description": "OpenAI's Video, with 易尚云's fields", "properties": {
    "id": {"type": "string"}, "object": {"const": "video"}, "model": {"type": "string"},
    "status": {"enum": ["queued", "in_progress", "completed", "failed"]}, "progress": {"type": "integer"},
    "created_at": {"type": "integer"}, "completed_at": {"type": ["integer", "null"]},
    "expires_at": {"type": ["integer", "null"]}, "prompt": {"type": ["string", "null"]},
    "seconds": {"type": "string"}, "size": {"type": "string"}, "remixed_from_video_id": {"type": ["string", "null"]},
    "error": {"type": ["object", "null"]}, "task_id": {"type": "string"}, "message": {"type": "string"},
    "video_url": {"type": ["string", "null"]}, "thumbnail_url": {"type": ["string", "null"]},
    "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
    "file_size": {"type": ["integer", "null"]}}}
CREATE: dict[str, Any] = {"type": "object", "required": ["prompt"], "properties": {
    "prompt": {"type": "string", "pattern": NOT_BLANK}, "model": {"type": "string", "default": DEFAULT_MODEL},
    "seconds": {"type": "string", "default": DEFAULT_SECONDS, "pattern": r"^([1-9]|[1-9][0-9]|1[01][0-9]|120)$",
                "description": "1 to 120"},
    "size": {"type": "string", "default": DEFAULT_SIZE, "pattern": SIZE.pattern},
    "input_reference": {"description": "{image_url}, a URL, or a list of URLs (易尚云)", "anyOf": [
        {"type": "string", "pattern": HTTP_URL},
        {"type": "object", "required": ["image_url"],
         "properties": {"image_url": {"type": "string", "pattern": HTTP_URL}}},
        {"type": "array", "items": {"type": "string", "pattern": HTTP_URL}}]},
    "seed": {"type": "integer", "minimum": 0}, "negative_prompt": {"type": "string"},
    "callback_url": {"type": "string", "pattern": HTTP_URL,
                     "description": "gets video.completed / video.failed, Standard Webhooks signed"}},
    "additionalProperties": False}
# A multipart body uploads its input_reference image.
UPLOAD = {**CREATE, "properties": {**CREATE["properties"], "input_reference": {
    "type": "string", "format": "binary", "description": "an image"}}}
VIDEO_ID = {"name": "video_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict:
    return {str(s): _ok(ERROR_KINDS.get(s, ("server_error", "internal_error"))[1], _ERROR) for s in statuses}


def openapi_paths() -> dict:
    return {
        "/v1/videos": {
            "post": {"summary": "OpenAI / 易尚云: create a video (JSON or multipart); a body with template_id is "
                                "VideoMatic's", "requestBody": {"required": True, "content": {
                                    "application/json": {"schema": CREATE}, "multipart/form-data": {"schema": UPLOAD}}},
                     "responses": {"200": _ok("the video, queued", VIDEO), **errors(400, 401, 403, 413, 429)}},
            "get": {"summary": "OpenAI: list videos", "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "order", "in": "query", "schema": {"enum": ["asc", "desc"]}}],
                "responses": {"200": _ok("a page", {"type": "object", "properties": {
                    "object": {"const": "list"}, "data": {"type": "array", "items": VIDEO},
                    "has_more": {"type": "boolean"}, "first_id": {"type": ["string", "null"]},
                    "last_id": {"type": ["string", "null"]}}}), **errors(400, 401, 404, 429)}},
        },
        "/v1/videos/{video_id}": {
            "get": {"summary": "A video, in the shape of the API that created it", "parameters": [VIDEO_ID],
                    "responses": {"200": _ok("the video", VIDEO), **errors(401, 404, 429)}},
            "delete": {"summary": "Delete a video (a running one is stopped, its credits refunded)",
                       "parameters": [VIDEO_ID], "responses": {"200": _ok("deleted", {"type": "object", "properties": {
                           "id": {"type": "string"}, "object": {"const": "video.deleted"},
                           "deleted": {"const": True}}}), **errors(401, 404, 429)}},
        },
        "/v1/videos/{video_id}/content": {
            "get": {"summary": "Download a video (any API's), its thumbnail or its spritesheet", "parameters": [
                VIDEO_ID, {"name": "variant", "in": "query", "schema": {"enum": list(VARIANTS)}}],
                "responses": {"200": {"description": "the file", "content": {"video/mp4": {}, "image/jpeg": {}}},
                              **errors(400, 401, 404, 429)}},
        },
        "/v1/videos/{video_id}/remix": {
            "post": {"summary": "OpenAI: a new video from a finished one, with a new prompt", "parameters": [VIDEO_ID],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["prompt"], "properties": {"prompt": {"type": "string"}}}}}},
                     "responses": {"200": _ok("the new video, queued", VIDEO), **errors(400, 401, 403, 404, 429)}},
        },
    }
