"""vibegen's API: POST /api/v1/generations, GET /api/v1/tasks/{id}, GET /api/v1/tasks.

Answers {success, data}; errors {error{code, message}} with its codes (INVALID_API_KEY,
INVALID_PARAMETER, INSUFFICIENT_CREDITS, TASK_NOT_FOUND, RATE_LIMIT_EXCEEDED, PROVIDER_ERROR,
INTERNAL_ERROR). Its limits: a prompt of at most 2000 characters, 5 or 10 s, its aspect
ratios and resolutions, and a 10-minute timeout after which the task is failed. Its
statuses: pending, processing, completed, failed. callback_url gets task.completed or
task.failed.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

from aiohttp import web

from ..errors import DraftRenderError
from ..service.generations import COMPLETED, FAILED, Generation
from ..service.webhooks import check_callback_url
from .apis import (
    CONFIG,
    GENERATIONS,
    HTTP_URL,
    NOT_BLANK,
    Api,
    BadParameter,
    generation_request,
    json_response,
    principal,
    public_base,
    query_int,
    read_body,
    register_api,
    submit,
    take_rate,
)

API = "vibegen"
PREFIX = "/api/v1"
MAX_PROMPT = 2000
DURATIONS = (5, 10)
ASPECT_RATIOS = ("16:9", "9:16", "1:1", "21:9", "4:3", "3:4", "9:21", "adaptive", "keep_ratio")
RESOLUTIONS = ("480p", "720p", "1080p")
STATUSES = {"queued": "pending", "in_progress": "processing", "completed": "completed", "failed": "failed"}
CODES = {400: "INVALID_PARAMETER", 401: "INVALID_API_KEY", 402: "INSUFFICIENT_CREDITS", 404: "TASK_NOT_FOUND",
         429: "RATE_LIMIT_EXCEEDED", 502: "PROVIDER_ERROR"}


def error_body(e: DraftRenderError) -> dict:
    return {"error": {"code": CODES.get(e.status, "INTERNAL_ERROR"), "message": e.message}}


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def task_type(gen: Generation) -> str:
    return "image_to_video" if gen.request.get("images") else "text_to_video"


def task_json(gen: Generation, base: str) -> dict:
    done = gen.status == COMPLETED
    video_url = f"{base}/files/generations/{gen.id}.mp4" if done else None
    return {"id": gen.id, "status": STATUSES[gen.status], "model": gen.model, "task_type": task_type(gen),
            "prompt": gen.request.get("prompt"), "video_url": video_url,
            "created_at": iso(gen.created), "completed_at": iso(gen.completed) if done else None,
            "error": gen.error_message if gen.status == FAILED else None}


def read_request(body: dict):
    missing = [k for k in ("model", "prompt") if not (isinstance(body.get(k), str) and body[k].strip())]
    if missing:
        raise BadParameter(f"Missing required parameters: {', '.join(missing)}", missing[0], missing=True)
    prompt = body["prompt"]
    if len(prompt) > MAX_PROMPT:
        raise BadParameter(f"prompt is {len(prompt)} characters; at most {MAX_PROMPT}", "prompt")
    duration = body.get("duration", 5)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration not in DURATIONS:
        raise BadParameter(f"duration must be 5 or 10 (seconds), not {duration!r}", "duration")
    ratio = body.get("aspect_ratio", "16:9")
    if ratio not in ASPECT_RATIOS:
        raise BadParameter(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}, not {ratio!r}", "aspect_ratio")
    resolution = body.get("resolution", "480p")
    if resolution not in RESOLUTIONS:
        raise BadParameter(f"resolution must be one of {', '.join(RESOLUTIONS)}, not {resolution!r}", "resolution")
    images = body.get("image_urls") or []
    if not isinstance(images, list) or not all(isinstance(u, str) and u.startswith(("http://", "https://"))
                                               for u in images):
        raise BadParameter("image_urls must be a list of http(s) URLs", "image_urls")
    audio = body.get("generate_audio", False)
    if not isinstance(audio, bool):
        raise BadParameter(f"generate_audio must be true or false, not {audio!r}", "generate_audio")
    seed = body.get("seed")
    if isinstance(seed, float) and seed.is_integer():  # 7.0 is a whole number in JSON (and its schema)
        seed = int(seed)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadParameter(f"seed must be a whole number, not {seed!r}", "seed")
    # adaptive and keep_ratio are vibegen's own words: passed on to a vibegen provider as they are.
    ratio_fields = {"aspect_ratio": ratio} if ":" in ratio else {"extra": {"aspect_ratio": ratio}}
    return generation_request({"images": "image_urls", "seconds": "duration", "audio": "generate_audio"},
                              model=body["model"].strip(), prompt=prompt, seconds=float(duration),
                              resolution=resolution, images=tuple(images), audio=audio, seed=seed, **ratio_fields)


async def create(request: web.Request) -> web.Response:
    take_rate(request, "generations:create", request.app[CONFIG].rate_per_minute)
    body = await read_body(request)
    req = read_request(body)
    callback = body.get("callback_url")
    gen = submit(request, API, str(uuid.uuid4()), req, {},
                 callback_url=check_callback_url(callback) if callback else None,
                 deadline_s=request.app[CONFIG].generation_timeout)
    data = {k: v for k, v in task_json(gen, public_base(request)).items()
            if k in ("id", "status", "model", "task_type", "created_at")}
    return json_response({"success": True, "data": data}, status=201)


async def get_task(request: web.Request) -> web.Response:
    take_rate(request, "generations:query", request.app[CONFIG].rate_per_minute)
    gen = request.app[GENERATIONS].find(request.match_info["task_id"], principal(request), api=API)
    return json_response({"success": True, "data": task_json(gen, public_base(request))})


async def list_tasks(request: web.Request) -> web.Response:
    take_rate(request, "generations:query", request.app[CONFIG].rate_per_minute)
    status = request.query.get("status") or None
    ours = {v: k for k, v in STATUSES.items()}
    if status is not None and status not in ours:
        raise BadParameter(f"status must be one of {', '.join(ours)}, not {status!r}", "status")
    limit, offset = query_int(request, "limit", 20, 1, 100), query_int(request, "offset", 0, 0, 10**9)
    gens, total = request.app[GENERATIONS].page(principal(request), api=API, status=ours[status] if status else None,
                                                limit=limit, offset=offset)
    base = public_base(request)
    return json_response({"success": True, "data": {
        "tasks": [task_json(g, base) for g in gens],
        "pagination": {"page": offset // limit + 1, "pageSize": limit, "total": total,
                       "total_pages": math.ceil(total / limit)}}})


def callback_event(gen: Generation) -> tuple[str, dict]:
    if gen.status == COMPLETED:
        return "task.completed", {"event": "task.completed", "task_id": gen.id, "status": "completed",
                                  "video_url": f"{gen.base_url}/files/generations/{gen.id}.mp4",
                                  "created_at": iso(gen.created), "completed_at": iso(gen.completed)}
    return "task.failed", {"event": "task.failed", "task_id": gen.id, "status": "failed",
                           "error_message": gen.error_message, "created_at": iso(gen.created),
                           "failed_at": iso(gen.completed)}


def setup(app: web.Application) -> None:
    register_api(app, Api(API, error_body, (PREFIX,)))
    app.router.add_post(f"{PREFIX}/generations", create)
    app.router.add_get(f"{PREFIX}/tasks", list_tasks)
    app.router.add_get(f"{PREFIX}/tasks/{{task_id}}", get_task)


# ---------------------------------------------------------------- OpenAPI

_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"enum": [*CODES.values(), "INTERNAL_ERROR"]}, "message": {"type": "string"}}}}}
TASK = {"type": "object", "properties": {
    "id": {"type": "string"}, "status": {"enum": list(STATUSES.values())}, "model": {"type": "string"},
    "task_type": {"enum": ["text_to_video", "image_to_video"]}, "prompt": {"type": "string"},
    "video_url": {"type": ["string", "null"]}, "created_at": {"type": "string"},
    "completed_at": {"type": ["string", "null"]}, "error": {"type": ["string", "null"]}}}
CREATE = {"type": "object", "required": ["model", "prompt"], "properties": {
    "model": {"type": "string", "pattern": NOT_BLANK},
    "prompt": {"type": "string", "pattern": NOT_BLANK, "maxLength": MAX_PROMPT},
    "image_urls": {"type": "array", "items": {"type": "string", "pattern": HTTP_URL}},
    "duration": {"enum": list(DURATIONS)},
    "aspect_ratio": {"enum": list(ASPECT_RATIOS)}, "resolution": {"enum": list(RESOLUTIONS)},
    "generate_audio": {"type": "boolean"}, "seed": {"type": "integer", "minimum": 0},
    "callback_url": {"type": "string", "pattern": HTTP_URL}}}


def _ok(description: str, data: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"success": {"const": True}, "data": data}}}}}


def _errors(*statuses: int) -> dict:
    return {str(s): {"description": CODES.get(s, "INTERNAL_ERROR"),
                     "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


def openapi_paths() -> dict:
    return {
        f"{PREFIX}/generations": {"post": {
            "summary": "vibegen: create a generation", "requestBody": {"required": True, "content": {
                "application/json": {"schema": CREATE}}},
            "responses": {"201": _ok("created, pending", TASK), **_errors(400, 401, 402, 429)}}},
        f"{PREFIX}/tasks": {"get": {
            "summary": "vibegen: list tasks", "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": list(STATUSES.values())}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10**9}}],
            "responses": {"200": _ok("a page", {"type": "object", "properties": {
                "tasks": {"type": "array", "items": TASK}, "pagination": {"type": "object", "properties": {
                    "page": {"type": "integer"}, "pageSize": {"type": "integer"}, "total": {"type": "integer"},
                    "total_pages": {"type": "integer"}}}}}), **_errors(400, 401, 429)}}},
        f"{PREFIX}/tasks/{{task_id}}": {"get": {
            "summary": "vibegen: one task", "parameters": [
                {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _ok("the task", TASK), **_errors(401, 404, 429)}}},
    }
