"""What the remote adapters share: the API client built from a provider's config, reading
timestamps and error bodies, and turning a size into the ratio and resolution some APIs take."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from .base import GenerationRequest, Job, JobStatus, normalise_status, now
from .http import ApiClient
from .providers import ProviderConfig


class RemoteProvider:
    """A provider reached over HTTP. Subclasses write `submit`, `poll`, `download` and `cancel`
    from their API's document, and `read_error` for its error shape."""

    def __init__(self, config: ProviderConfig):
        self.name = config.name
        self.config = config
        self.client = ApiClient(config.name, self.api_root(config.base_url), config.api_key(), self.read_error,
                                timeout=config.timeout, retries=config.retries, backoff=config.backoff,
                                max_backoff=config.max_backoff)

    @staticmethod
    def api_root(base_url: str) -> str:
        return base_url.rstrip("/")

    @staticmethod
    def read_error(status: int, body: Any) -> tuple[str | None, str]:
        """(code, message) from `{"error": {"code", "message"}}`, `{"error": "..."}` or `{"message"}`."""
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                return _str(error.get("code") or error.get("type")), str(error.get("message") or "")
            if isinstance(error, str):
                return None, error
            if body.get("message"):
                return _str(body.get("code")), str(body["message"])
        return None, ""

    def job(self, job_id: str, model: str | None, raw_status: Any, *, previous: JobStatus = JobStatus.QUEUED,
            **fields: Any) -> Job:
        """A Job from an API's answer; the status word goes through the one table."""
        status = normalise_status(str(raw_status or ""), current=previous)
        progress = fields.pop("progress", None)
        fields = {k: v for k, v in fields.items() if v is not None}
        return Job(id=str(job_id), provider=self.name, model=str(model or ""), status=status,
                   provider_status=str(raw_status) if raw_status is not None else None,
                   progress=100 if status is JobStatus.COMPLETED else max(0, min(100, int(progress or 0))),
                   updated_at=now(), **fields)


def timestamp(value: Any) -> datetime | None:
    """A time from unix seconds or an ISO 8601 string; None when absent or unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def error_fields(error: Any) -> dict[str, Any]:
    """error_code and error_message from an error object or string."""
    if isinstance(error, dict):
        return {"error_code": _str(error.get("code") or error.get("type")),
                "error_message": _str(error.get("message"))}
    if error:
        return {"error_code": None, "error_message": str(error)}
    return {}


def ratio_and_resolution(request: GenerationRequest) -> tuple[str | None, str | None]:
    """The request's aspect ratio and resolution, from `size` where they are unset (1280x720 → 16:9, 720p)."""
    size = request.dimensions()
    ratio, resolution = request.aspect_ratio, request.resolution
    if size:
        w, h = size
        d = math.gcd(w, h)
        ratio = ratio or f"{w // d}:{h // d}"
        resolution = resolution or f"{min(w, h)}p"
    return ratio, resolution


def whole_seconds(seconds: float | None) -> int | None:
    return None if seconds is None else max(1, round(seconds))


def _str(v: Any) -> str | None:
    return None if v is None else str(v)
