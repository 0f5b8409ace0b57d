"""兆投算力's API: POST /v1/video/generations and GET /v1/video/generations/{task_id}.

A request carries model, prompt, image, size, duration and per-family `metadata` (kling:
seed, negative_prompt, cfg_scale, camera_control; jimeng: req_key, aspect_ratio,
image_urls, duration; vidu: resolution, movement_amplitude, bgm, seed, callback_url).
Answers {task_id, status, url, ...} with its statuses: queued, in_progress, then succeeded
(with `url`) or failed (with error{message, code}). The video downloads from
GET /v1/videos/{task_id}/content (openai_videos.py). Errors are {error{message, type, code}}.
"""

from __future__ import annotations

from aiohttp import web

from ..service.generations import COMPLETED, FAILED, Generation, new_id
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
    read_body,
    register_api,
    submit,
    take_rate,
)
from .openai_videos import error_body, error_status, errors

API = "zhaotou"
PREFIX = "/v1/video/generations"
STATUSES = {"queued": "queued", "in_progress": "in_progress", "completed": "succeeded", "failed": "failed"}
# metadata fields that map onto the request; the rest pass to the provider as they are.
KNOWN = ("seed", "negative_prompt", "aspect_ratio", "image_urls", "duration", "resolution", "callback_url")


def task_json(gen: Generation, base: str) -> dict:
    done = gen.status == COMPLETED and not gen.files_removed
    return {"task_id": gen.id, "id": gen.id, "object": "video.generation", "model": gen.model,
            "status": STATUSES[gen.status], "progress": gen.progress, "prompt": gen.request.get("prompt"),
            "url": f"{base}/files/generations/{gen.id}.mp4" if done else None,
            "created_at": int(gen.created), "completed_at": int(gen.completed) if gen.completed else None,
            "error": {"code": gen.error_code, "message": gen.error_message} if gen.status == FAILED else None}


def _number(value, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadParameter(f"{name} must be a number of seconds, not {value!r}", name)
    return float(value)


def read_request(body: dict):
    for name in ("model", "prompt"):
        if not (isinstance(body.get(name), str) and body[name].strip()):
            raise BadParameter(f"{name} field is required", name, missing=True)
    meta = body.get("metadata") or {}
    if not isinstance(meta, dict):
        raise BadParameter("metadata must be an object", "metadata")
    images = [body["image"]] if body.get("image") else []
    images += [u for u in meta.get("image_urls") or [] if u not in images]
    if not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in images):
        raise BadParameter("image and metadata.image_urls must be http(s) URLs", "image")
    seed = meta.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadParameter(f"metadata.seed must be a whole number, not {seed!r}", "metadata.seed")
    return generation_request(
        {"seconds": "duration", "images": "image", "seed": "metadata.seed", "size": "size"},
        model=body["model"].strip(), prompt=body["prompt"], size=body.get("size"),
        seconds=_number(body.get("duration", meta.get("duration")), "duration"),
        aspect_ratio=meta.get("aspect_ratio"), resolution=meta.get("resolution"), images=tuple(images), seed=seed,
        negative_prompt=meta.get("negative_prompt"), extra={k: v for k, v in meta.items() if k not in KNOWN})


async def create(request: web.Request) -> web.Response:
    take_rate(request, "generations:create", request.app[CONFIG].rate_per_minute)
    body = await read_body(request)
    req = read_request(body)
    callback = (body.get("metadata") or {}).get("callback_url")
    gen = submit(request, API, new_id("task_"), req, {},
                 callback_url=check_callback_url(callback, "metadata.callback_url") if callback else None)
    return json_response(task_json(gen, public_base(request)))


async def get_task(request: web.Request) -> web.Response:
    take_rate(request, "generations:query", request.app[CONFIG].rate_per_minute)
    gen = request.app[GENERATIONS].find(request.match_info["task_id"], principal(request), api=API)
    return json_response(task_json(gen, public_base(request)))


def callback_event(gen: Generation) -> tuple[str, dict]:
    return f"video.{STATUSES[gen.status]}", task_json(gen, gen.base_url)


def setup(app: web.Application) -> None:
    register_api(app, Api(API, error_body, (PREFIX,), error_status))
    app.router.add_post(PREFIX, create)
    app.router.add_get(f"{PREFIX}/{{task_id}}", get_task)


# ---------------------------------------------------------------- OpenAPI

TASK = {"type": "object", "properties": {
    "task_id": {"type": "string"}, "status": {"enum": list(STATUSES.values())}, "model": {"type": "string"},
    "progress": {"type": "integer"}, "url": {"type": ["string", "null"]}, "created_at": {"type": "integer"},
    "completed_at": {"type": ["integer", "null"]}, "error": {"type": ["object", "null"]}}}
CREATE = {"type": "object", "required": ["model", "prompt"], "properties": {
    "model": {"type": "string", "pattern": NOT_BLANK}, "prompt": {"type": "string", "pattern": NOT_BLANK},
    "image": {"type": "string", "pattern": f"{HTTP_URL}|^$"},
    "size": {"type": "string", "pattern": r"^\d{2,5}x\d{2,5}$"},
    "duration": {"type": "number", "exclusiveMinimum": 0, "maximum": 120}, "metadata": {"type": "object"}}}


def openapi_paths() -> dict:
    ok = {"description": "the task", "content": {"application/json": {"schema": TASK}}}
    return {
        PREFIX: {"post": {"summary": "兆投算力: create a generation", "requestBody": {"required": True, "content": {
            "application/json": {"schema": CREATE}}}, "responses": {"200": ok, **errors(400, 401, 403, 429)}}},
        f"{PREFIX}/{{task_id}}": {"get": {
            "summary": "兆投算力: one task (succeeded with url, or failed)", "parameters": [
                {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": ok, **errors(401, 404, 429)}}},
    }
