"""The generation interface every provider speaks, and the gateway builds on.

Owns: the request (`GenerationRequest`), the job state (`Job`, `JobStatus`), the provider
protocol (submit, poll, download, cancel), the one table that maps each API's status words
onto the four states, and the errors a generation raises.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import DraftRenderError

log = logging.getLogger(__name__)

Variant = Literal["video", "thumbnail", "spritesheet"]
VARIANTS: tuple[Variant, ...] = ("video", "thumbnail", "spritesheet")

_SIZE = re.compile(r"^(\d{2,5})x(\d{2,5})$")


class GenerationRequest(BaseModel):
    """One clip to generate, in the terms every adapter translates from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="model name, e.g. local-title, sora-2, kling-v1")
    prompt: str = Field("", max_length=4000, description="what the clip shows")
    seconds: float | None = Field(None, gt=0, le=120, description="clip length; the provider's default when unset")
    size: str | None = Field(None, description="WxH in pixels, e.g. 1280x720")
    aspect_ratio: str | None = Field(None, description="e.g. 16:9, where the API takes a ratio")
    resolution: str | None = Field(None, description="e.g. 720p, where the API takes a resolution")
    images: tuple[str, ...] = Field((), description="reference images: URLs or local file paths")
    audio: bool = Field(False, description="ask for a clip with sound")
    seed: int | None = Field(None, ge=0,
                             description="the same seed and request give the same clip, where the provider allows")
    negative_prompt: str | None = Field(None, description="what the clip must not show")
    extra: dict[str, Any] = Field(default_factory=dict, description="provider-specific fields, passed through as given")

    @field_validator("size")
    @classmethod
    def _size(cls, v: str | None) -> str | None:
        if v is not None and not _SIZE.match(v):
            raise ValueError(f"size must be WxH in pixels, like 1280x720 (got {v!r})")
        return v

    def dimensions(self) -> tuple[int, int] | None:
        """(width, height) from `size`, or None when unset."""
        if self.size is None:
            return None
        w, h = self.size.split("x")
        return int(w), int(h)

    def digest(self) -> str:
        """A stable hash of the request: the cache key of its result.

        A local image is hashed by its bytes, so an edited file is a new request.
        """
        fields = self.model_dump(mode="json")
        fields["images"] = [_image_identity(i) for i in self.images]
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _image_identity(image: str) -> str:
    if is_url(image):
        return image
    path = Path(image)
    if not path.is_file():
        return image
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def is_url(s: str) -> bool:
    return s.startswith(("http://", "https://"))


class JobStatus(StrEnum):
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


# Every API's status word, lower-cased, onto the four states. Words not here stay
# non-terminal (the job keeps polling until its deadline) and are logged once.
STATUS_TABLE: dict[str, JobStatus] = {
    **dict.fromkeys(("queued", "pending", "submitted", "created", "queueing", "in_queue"), JobStatus.QUEUED),
    **dict.fromkeys(("in_progress", "processing", "running", "generating"), JobStatus.IN_PROGRESS),
    **dict.fromkeys(("completed", "succeeded", "succeed", "success", "done", "finished"), JobStatus.COMPLETED),
    **dict.fromkeys(("failed", "error", "cancelled", "canceled"), JobStatus.FAILED),
}

_unknown_logged: set[str] = set()


def normalise_status(raw: str | None, *, current: JobStatus = JobStatus.QUEUED) -> JobStatus:
    """The state a provider's status word means; `current` for a word the table lacks."""
    word = (raw or "").strip().lower()
    status = STATUS_TABLE.get(word)
    if status is None:
        if word not in _unknown_logged:
            _unknown_logged.add(word)
            log.warning("unknown generation status %r: treated as not finished", raw)
        return current
    return status


def now() -> datetime:
    return datetime.now(UTC)


class Job(BaseModel):
    """A generation job as draftrender sees it, whichever API runs it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="the provider's job id")
    provider: str = Field(description="the configured provider's name")
    model: str
    status: JobStatus = JobStatus.QUEUED
    provider_status: str | None = Field(None, description="the status word the provider gave")
    progress: int = Field(0, ge=0, le=100)
    video_url: str | None = None
    thumbnail_url: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    completed_at: datetime | None = None
    poll_after: float | None = Field(None, description="seconds the provider asked us to wait before the next poll")

    @property
    def terminal(self) -> bool:
        return self.status.terminal


@runtime_checkable
class Provider(Protocol):
    """One generation API. Every method may raise ProviderError; none retries forever."""

    name: str

    async def submit(self, request: GenerationRequest) -> Job:
        """Start a job; returns it with the provider's id (queued, or further along)."""
        ...

    async def poll(self, job_id: str) -> Job:
        """The job's current state."""
        ...

    async def download(self, job: Job, variant: Variant, dest: Path) -> Path:
        """Write a completed job's video (or thumbnail, spritesheet) to `dest`."""
        ...

    async def cancel(self, job_id: str) -> None:
        """Ask the provider to stop (or delete) the job; a provider without cancel does nothing."""
        ...


# ---------------------------------------------------------------- errors


class GenerationError(DraftRenderError):
    """A clip could not be generated. `code` is the provider's error code, when it gave one."""

    status, detail = 502, "视频生成失败"

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class ProviderError(GenerationError):
    """The provider refused or failed a call (after retries, where they apply)."""


class JobFailed(GenerationError):
    """The provider ran the job and reports it failed."""


class JobDeadline(GenerationError):
    """The job did not finish before its deadline."""

    status, detail = 504, "处理超时"


class InvalidGeneration(GenerationError):
    """The request asks for something the provider cannot make (a missing image, a bad size)."""

    status, detail = 400, "请求参数无效"


class UnknownModel(GenerationError):
    """No configured provider serves the model."""

    status, detail = 400, "请求参数无效"
