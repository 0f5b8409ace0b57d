"""The one exception hierarchy.

Every error the library raises is a DraftRenderError. Each subclass knows the HTTP status
and the `detail` phrase that the gen_video contract gives it; `str(error)` is a one-line
English message that says what went wrong and where.
"""

from __future__ import annotations


class DraftRenderError(Exception):
    """Base of every error a user may see. Never shown as a traceback."""

    status: int = 500
    detail: str = "视频生成失败"
    # Set by draftrender.client on an error that a service answered.
    task_id: str | None = None
    retry_after: int | None = None  # seconds, from a 503's Retry-After

    def __init__(self, message: str):
        # One line, always: multi-line messages break CLI output and HTTP details.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)

    def to_json(self) -> dict:
        return {"detail": self.detail, "message": self.message, "error": type(self).__name__}


class DraftUrlMissing(DraftRenderError):
    status, detail = 400, "draft_url是必填项"


class InvalidDraftUrl(DraftRenderError):
    status, detail = 400, "draft_url格式无效"


class DraftNotFound(DraftRenderError):
    status, detail = 404, "草稿不存在"


class DraftEmpty(DraftRenderError):
    status, detail = 400, "草稿内容为空"


class MalformedDraft(DraftRenderError):
    """The JSON cannot be read, or a field has a type or value no editor writes."""

    status, detail = 400, "草稿格式错误"


class EncryptedDraft(DraftRenderError):
    status, detail = 400, "草稿已加密"


class AmbiguousDraft(DraftRenderError):
    """A draft folder holds several timelines and nothing says which is active."""

    status, detail = 400, "草稿包含多个时间线"


class UnsafeSource(DraftRenderError):
    """A path or URL that leaves the places we may read: climbing out of the draft folder,
    or a private address when private URLs are not allowed."""

    status, detail = 400, "素材无法访问"


class MaterialUnreachable(DraftRenderError):
    status, detail = 400, "素材无法访问"

    def __init__(self, message: str, materials: list[str] | None = None, *, reason: str = ""):
        super().__init__(message)
        self.materials = list(materials or [])
        self.reason = reason or message  # lets the fetcher name a download by its URL, not its cache file

    def to_json(self) -> dict:
        return {**super().to_json(), "materials": self.materials}


class InvalidOption(DraftRenderError):
    """A render option that is unknown, of the wrong type or out of its range (draftrender/options.py)."""

    status, detail = 400, "请求参数无效"


class RenderFailed(DraftRenderError):
    status, detail = 500, "视频渲染失败"


class EncodeFailed(DraftRenderError):
    status, detail = 500, "视频编码失败"


class ServiceBusy(DraftRenderError):
    status, detail = 503, "服务繁忙"


class RenderTimeout(DraftRenderError):
    status, detail = 504, "处理超时"


# ---------------------------------------------------------------- the gen_video service


class InvalidRequest(DraftRenderError):
    """A request body or query the service cannot use (not JSON, a bad option or wait)."""

    status, detail = 400, "请求参数无效"


class Unauthorized(DraftRenderError):
    status, detail = 401, "未授权"


class TaskNotFound(DraftRenderError):
    status, detail = 404, "任务不存在"


class RequestTooLarge(DraftRenderError):
    status, detail = 413, "请求体过大"


class RequestTimeout(DraftRenderError):
    """The client did not send its whole request body in time."""

    status, detail = 408, "请求超时"


# ---------------------------------------------------------------- templates


class InvalidData(DraftRenderError):
    """A template's data row lacks a field, or gives one a value its type refuses."""

    status, detail = 400, "数据格式错误"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field

    def to_json(self) -> dict:
        return {**super().to_json(), "field": self.field}


class InvalidParameter(InvalidRequest):
    """A request parameter the service cannot use, naming it (for APIs whose errors carry a field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class TemplateNotFound(DraftRenderError):
    status, detail = 404, "模板不存在"
