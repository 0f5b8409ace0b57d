"""The OpenAPI 3.1 description of every route, served at /openapi.json and shown at /docs.

gen_video's routes are written out below. Any other route describes itself where its handler
is defined, with pydantic models for what it reads and answers:

    @documented("POST", "/v1/videos", "Create a video", body=CreateVideo,
                responses={200: ("the video", Video), 400: ("a bad request", ApiError)})
    async def create_video(request: web.Request) -> web.Response: ...

Its models land in components/schemas, and the route shows in /openapi.json and /docs once
the app serves that path.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ..options import options_model
from .apis import NOT_BLANK
from .config import ServerConfig
from ..service.tasks import STAGES, STATUSES
from .intake import MAX_URL_LENGTH

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])
Answer = str | type[BaseModel] | tuple[str, type[BaseModel] | None]

ERROR = {"type": "object", "required": ["detail"], "properties": {
    "detail": {"type": "string", "description": "the contract's phrase; callers match on it"},
    "message": {"type": "string", "description": "one line in English: what went wrong and where"},
    "error": {"type": "string", "description": "the draftrender.errors class"},
    "task_id": {"type": "string"},
}}
TASK = {"type": "object", "properties": {
    "task_id": {"type": "string"}, "status": {"enum": list(STATUSES)},
    "progress": {"type": "number", "minimum": 0, "maximum": 100}, "stage": {"enum": list(STAGES) + [None]},
    "stages": {"type": "object", "additionalProperties": {"type": "number"}, "description": "seconds per stage"},
    "draft_url": {"type": "string"}, "options": {"$ref": "#/components/schemas/Options"},
    "created_at": {"type": "string"}, "started_at": {"type": ["string", "null"]},
    "finished_at": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
    "video_url": {"type": ["string", "null"]}, "duration": {"type": "number"}, "width": {"type": "integer"},
    "height": {"type": "integer"}, "fps": {"type": "number"}, "size_bytes": {"type": "integer"},
    "encoder": {"type": "string"}, "fidelity": {"type": "array", "items": {"type": "object"}},
    "error": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]},
}}


@dataclass(frozen=True)
class Operation:
    """One documented route: what it reads (path, query, body) and what it answers, by status."""

    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, Answer] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    public: bool = False  # needs no API key


OPERATIONS: list[Operation] = []


def documented(method: str, path: str, summary: str, *, body: type[BaseModel] | None = None,
               query: type[BaseModel] | None = None, responses: Mapping[int, Answer] | None = None,
               tags: Iterable[str] = (), public: bool = False) -> Callable[[Handler], Handler]:
    """Put the decorated handler's route in /openapi.json. `responses` maps a status to a
    description, a model, or both as (description, model); `query` is a model whose fields
    are the query parameters. The handler itself is returned unchanged."""
    def register(handler: Handler) -> Handler:
        OPERATIONS.append(Operation(method.lower(), path, summary, body, query, dict(responses or {}),
                                    tuple(tags), public))
        return handler
    return register


def operations_spec(operations: Iterable[Operation]) -> tuple[dict, dict]:
    """(paths, component schemas) for the operations, their models' schemas made by pydantic."""
    operations = list(operations)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(op.body, "validation") for op in operations if op.body]
    models += [(m, "serialization") for op in operations for m in map(_model, op.responses.values()) if m]
    refs, defs = models_json_schema(list(dict.fromkeys(models)), ref_template="#/components/schemas/{model}")
    paths: dict[str, dict] = {}
    for op in operations:
        spec: dict[str, Any] = {"summary": op.summary, "responses": {}}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", op.path)]
        if op.query:
            schema = op.query.model_json_schema()
            params += [{"name": name, "in": "query", "required": name in schema.get("required", ()),
                        "schema": prop, "description": prop.get("description", "")}
                       for name, prop in schema["properties"].items()]
        if params:
            spec["parameters"] = params
        if op.body:
            spec["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": refs[(op.body, "validation")]}}}
        for status, answer in sorted(op.responses.items()):
            model = _model(answer)
            description = answer if isinstance(answer, str) else answer[0] if isinstance(answer, tuple) else (
                (model.__doc__ or model.__name__).strip().splitlines()[0] if model else "")
            spec["responses"][str(status)] = {"description": description}
            if model:
                spec["responses"][str(status)]["content"] = {"application/json": {
                    "schema": refs[(model, "serialization")]}}
        if op.tags:
            spec["tags"] = list(op.tags)
        if op.public:
            spec["security"] = []
        paths.setdefault(op.path, {})[op.method] = spec
    return paths, defs.get("$defs", {})


def _model(answer: Answer) -> type[BaseModel] | None:
    if isinstance(answer, tuple):
        return answer[1]
    return None if isinstance(answer, str) else answer


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ONE_STATUS = "|".join(STATUSES)
# What the server takes for a draft URL, and a little less: a host name or IPv4 address, a port, a path.
URL_PATTERN = r"^\s*[hH][tT][tT][pP][sS]?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,4})?([/?#][!-~]*)?\s*$"
TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_spec(server_url: str, served: Iterable[str] | None = None) -> dict:
    """The whole description; with `served` (the app's route paths), only the documented
    routes that the app serves are added to gen_video's."""
    served = None if served is None else set(served)
    paths, schemas = operations_spec(op for op in OPERATIONS if served is None or op.path in served)
    options = options_model().model_json_schema(ref_template="#/components/schemas/{model}")
    task_ref = {"$ref": "#/components/schemas/Task"}
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "draftrender gen_video", "version": "1",
                 "description": "Render JianYing / CapCut drafts to MP4: the gen_video contract."},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "needed when the service runs with API keys"}},
            "schemas": {
                **schemas, "Error": ERROR, "Task": TASK, "Options": options,
            },
        },
        "security": [{"bearer": []}, {}],
        "paths": {
            "/v1/gen_video": {
                "post": {
                    "summary": "Render a draft; an identical request joins the same task",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["draft_url"], "properties": {
                            "draft_url": {"type": "string", "minLength": 1, "maxLength": MAX_URL_LENGTH,
                                          "pattern": URL_PATTERN,
                                          "description": "http(s) URL of the draft JSON, or a wrapper URL carrying it"},
                            "wait": {"type": "number", "minimum": 0, "default": ServerConfig.default_wait,
                                     "description": "seconds to wait for the video before answering 202"},
                            "options": {"$ref": "#/components/schemas/Options"},
                        }}}}},
                    "responses": {
                        "200": _json("视频生成成功: the video is ready", {"allOf": [task_ref, {"properties": {
                            "message": {"const": "视频生成成功"}}}]}),
                        "202": _json("视频生成中: still rendering; call again to poll", {
                            "type": "object", "properties": {
                            "message": {"const": "视频生成中"}, "task_id": {"type": "string"},
                            "status": {"type": "string"}, "progress": {"type": "number"},
                            "stage": {"type": ["string", "null"]}}}),
                        "400": _error("draft_url是必填项 | draft_url格式无效 | 草稿内容为空 | 素材无法访问 | "
                                      "草稿格式错误 | 请求参数无效"),
                        "401": _error("未授权"),
                        "404": _error("草稿不存在"),
                        "413": _error("请求体过大"),
                        "500": _error("render, audio or encode failure"),
                        "503": _error("服务繁忙 (with Retry-After)"),
                        "504": _error("处理超时"),
                    },
                },
                "get": {
                    "summary": "List tasks, newest first",
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {
                            "type": "string", "pattern": f"^,*(({ONE_STATUS})(,+({ONE_STATUS}))*)?,*$"},
                         "description": "comma-separated: " + ", ".join(STATUSES)},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20, "minimum": 1,
                                                                          "maximum": 100}},
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "default": 0, "minimum": 0,
                                                                     "maximum": 10**9}},
                    ],
                    "responses": {"200": _json("a page of tasks", {"type": "object", "properties": {
                        "tasks": {"type": "array", "items": task_ref}, "total": {"type": "integer"},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}}}),
                        "400": _error("请求参数无效"), "401": _error("未授权")},
                },
            },
            "/v1/gen_video/{task_id}": {
                "get": {"summary": "One task: status, progress, stage timings, error, fidelity report",
                        "parameters": [TASK_ID],
                        "responses": {"200": _json("the task", task_ref), "401": _error("未授权"),
                                      "404": _error("任务不存在")}},
                "delete": {"summary": "Cancel a queued or running task, or remove a finished one with its video",
                           "parameters": [TASK_ID],
                           "responses": {"200": _json("removed", {"type": "object", "properties": {
                               "task_id": {"type": "string"}, "deleted": {"type": "boolean"},
                               "cancelled": {"type": "boolean"}}}),
                               "401": _error("未授权"), "404": _error("任务不存在")}},
            },
            "/v1/gen_video_status": {
                "get": {"summary": "The newest task for a draft_url",
                        "parameters": [{"name": "draft_url", "in": "query", "required": True,
                                        "schema": {"type": "string", "pattern": NOT_BLANK}}],
                        "responses": {"200": _json("the task", task_ref), "400": _error("draft_url是必填项"),
                                      "401": _error("未授权"), "404": _error("任务不存在")}},
            },
            "/files/{task_id}.mp4": {
                "get": {"summary": "A finished video (Range requests supported); no key needed: the URL is "
                                   "unguessable", "security": [], "parameters": [TASK_ID],
                        "responses": {"200": {"description": "the MP4", "content": {"video/mp4": {}}},
                                      "206": {"description": "the requested byte range"},
                                      "404": _error("任务不存在")}},
            },
            "/openapi.json": {"get": {"summary": "This description", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}},
            "/docs": {"get": {"summary": "This description as a page", "security": [],
                              "responses": {"200": {"description": "HTML"}}}},
            "/": {"get": {"summary": "Recent tasks with live progress; finished videos play in the page",
                          "security": [], "responses": {"200": {"description": "HTML"}}}},
        },
    }
    for path, ops in paths.items():
        spec["paths"].setdefault(path, {}).update(ops)
    return spec


BUSY = {"description": "服务繁忙, with Retry-After: past the connection limit (any route; gen_video's error body), "
                       "or a full queue or fetch pool (the route's own error body)"}


def add_common_refusals(paths: dict) -> None:
    """The refusals any route may answer, added where a route's own description leaves them out:
    503 on every route, 401 on every route that needs a key, 413 on every route with a body.
    An added 401 or 413 carries the route's error body (an API's errors share one shape)."""
    for ops in paths.values():
        for op in ops.values():
            responses = op["responses"]
            shape: dict = next((responses[s] for s in ("400", "401", "404", "4XX") if s in responses), {})
            responses.setdefault("503", BUSY)
            if op.get("security") != []:
                responses.setdefault("401", {**shape, "description": "未授权: no valid API key"})
            if "requestBody" in op:
                responses.setdefault("413", {**shape, "description": "请求体过大: the body is over the size limit"})
